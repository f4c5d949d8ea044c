package dev.davit.sandbox.container;

import dev.davit.sandbox.backend.Users;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Backend;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.oci.Action;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.backend.Nat;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Capabilities;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Subids;
import dev.davit.sandbox.jail.ProcMasks;
import dev.davit.sandbox.jail.Seccomp;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The {@code container} backend's OCI runtimes, crun and runc: one {@code RUNTIME run} per run, over an OCI bundle
 * (a runtime-spec 1.0.2 {@code config.json}) generated from the {@link RunSpec}, whose root is the sandbox's own
 * writable overlay of the shared root filesystem (see {@link Overlay}).
 *
 * <pre>
 * [unshare [--user --map-root-user] --mount --propagation private -- sh -c 'mount overlay | hide cgroup2; exec "$@"']
 *     RUNTIME --root STATE/runtime --log STATE/runtime.log --log-format json [--cgroup-manager=disabled]
 *             run --bundle STATE ID
 * </pre>
 *
 * <ul>
 *   <li><b>No cgroups.</b> crun runs with {@code --cgroup-manager=disabled}. crun 1.8 still refuses a host with
 *       hybrid cgroups whose v2 hierarchy has controllers ("cgroups in hybrid mode not supported"), so there the
 *       runtime runs in a private mount namespace in which an empty tmpfs hides {@code /sys/fs/cgroup/unified}.
 *       runc has no way to run without cgroups: as root it puts each container in a cgroup of its own (no limits
 *       are set), which it removes with the container; rootless, it ignores the cgroups it cannot create.</li>
 *   <li><b>Rootless.</b> As a non-root user the runtime runs as root of a user namespace made by {@code unshare
 *       --map-root-user} (the one that also mounts the overlay), so the container's root is the calling user. An
 *       image's non-root User: where the user has subordinate ids the runtime is root of NS1 instead (made with
 *       them, see {@link Subids}), which it maps into the container as it is, so the User is one of those ids and
 *       gets the owners a rootless unpack recorded; without them a nested user namespace maps that uid and gid to
 *       the caller (crun only: runc insists on a mapping for uid 0).</li>
 *   <li><b>Exit codes.</b> The runtime's own failures are exit 1 with an error in its JSON log: an executable that
 *       is not found becomes 127 and one that cannot be executed 126; any other is a one-line
 *       {@link Kind#INTERNAL} error. A missing working directory is checked beforehand (both runtimes would create
 *       it) and is a usage error.</li>
 *   <li><b>Timeout.</b> The runtime and everything under it are killed, then {@code RUNTIME delete --force} removes
 *       what the runtime left (state, runc's cgroups).</li>
 * </ul>
 */
public final class OciRuntimeBackend implements Backend {
    public static final String CRUN = "crun";
    public static final String RUNC = "runc";

    /** The capabilities a root process keeps (as runc's default spec): no admin, no raw network, no chown/mknod. */
    static final List<String> CAPABILITIES = List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");
    /** RLIMIT_NOFILE soft and hard (as runc's default spec; never above a rootless caller's own hard limit). */
    static final int NOFILE = 1024;
    static final List<String> MASKED = ProcMasks.MASKED;
    static final List<String> READONLY = ProcMasks.READONLY;
    /** The modes of the tmpfs mounts (on those of {@link MountPoints#OCI} that are not proc, dev or sys). */
    private static final Map<String, String> TMPFS = Map.of("tmp", "1777", "run", "755", "var/tmp", "1777");

    /** Hides the v2 hierarchy of a hybrid cgroup host from crun (in the private mount namespace it runs in). */
    private static final String HIDE_CGROUP2 = "mount -t tmpfs -o ro,nosuid,nodev,noexec,mode=0555,size=4k"
            + " davit-no-cgroup2 /sys/fs/cgroup/unified 2>/dev/null\nexec \"$@\"\n";
    private static final Path CGROUP2_CONTROLLERS = Path.of("/sys/fs/cgroup/unified/cgroup.controllers");

    private static final Pattern CRUN_NOT_FOUND = Pattern.compile(
            "executable file `.*` not found in \\$PATH: No such file or directory");
    private static final Pattern CRUN_NOT_EXECUTABLE = Pattern.compile(
            "open executable: (Permission denied|Operation not permitted)");
    private static final String RUNC_START = "runc run failed: unable to start container process: ";
    private static final Pattern RUNC_NOT_FOUND = Pattern.compile(Pattern.quote(RUNC_START)
            + "exec: \".*\": (executable file not found in \\$PATH|stat .*: no such file or directory)");
    private static final Pattern RUNC_NOT_EXECUTABLE = Pattern.compile(Pattern.quote(RUNC_START)
            + "exec: \".*\": permission denied");


    private final SandboxOptions options;
    private final String runtime;
    private final boolean overlayAllowed;
    /** Set when an overlay mount failed on this host: later runs of this instance use the read-only root. */
    private volatile boolean overlayBroken;

    public OciRuntimeBackend(SandboxOptions options, String runtime) {
        this(options, runtime, true);
    }

    /** {@code overlay} false always uses the read-only root (the doctor's probe over the host's /). */
    public OciRuntimeBackend(SandboxOptions options, String runtime, boolean overlay) {
        if (!runtime.equals(CRUN) && !runtime.equals(RUNC)) {
            throw new IllegalArgumentException("not an OCI runtime: " + runtime);
        }
        this.options = options;
        this.runtime = runtime;
        this.overlayAllowed = overlay;
    }

    @Override
    public String name() {
        return BwrapBackend.NAME;
    }

    @Override
    public String runtime() {
        return runtime;
    }

    @Override
    public boolean installed() {
        return options.which(runtime) != null;
    }

    @Override
    public ExecResult run(RunSpec spec, java.io.InputStream stdin, OutputStream stdoutTee, OutputStream stderrTee) {
        long t0 = System.nanoTime();
        ContainerDriver.refuseWeaker(options, false, spec.rootfs(), spec.image());
        Path bin = options.which(runtime);
        if (bin == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of(runtime + " is not installed; install the " + runtime
                    + " package or choose another runtime with ", Input.RUNTIME, " (see ", Action.DOCTOR.fix(), ")"));
        }
        Path rootfs = Host.realRootfs(spec.rootfs());
        List<String> argv = spec.effectiveCommand();
        int[] resolved = Users.resolve(rootfs, spec.image().user());
        int[] user = resolved != null ? resolved : new int[] {0, 0};
        boolean nonRootUser = user[0] != 0 || user[1] != 0;
        // rootless, an image User other than root: the runtime runs as root of NS1 (the user's subordinate ids, see
        // Subids) and maps NS1's ids into the container as they are
        Subids sub = !Overlay.ROOT && nonRootUser ? Subids.forUserOrRefuse(options) : null;
        if (sub != null) {
            sub.check(user);
        }
        if (!Overlay.ROOT && nonRootUser && runtime.equals(RUNC) && sub == null) {
            throw new DavitException(Kind.USAGE, Message.of("runc cannot run the image's non-root user '"
                    + spec.image().user() + "' without root privileges (it needs uid 0 mapped in the user namespace); ",
                    Action.USE_RUNTIMES.fix("crun", "bwrap"), ", or run davit as root"));
        }
        checkWorkdir(rootfs, spec.effectiveWorkdir());
        boolean hideCgroup2 = runtime.equals(CRUN) && hybridControllers() != null;
        Path unshare = options.which("unshare");
        if (unshare == null && (!Overlay.ROOT || hideCgroup2)) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, Message.of("unshare (util-linux) is not installed; " + runtime
                    + " needs it" + (Overlay.ROOT ? " on this host with hybrid cgroups" : " to run without root")
                    + "; install util-linux or ", Action.USE_RUNTIME.fix(runtime.equals(CRUN) ? "runc" : "bwrap")));
        }
        Nat.Tools nat = spec.network().ownNamespace() ? Nat.tools(options, spec.network()) : null;
        if (Jail.active() && overlayAllowed) {
            return runJailed(t0, bin, rootfs, argv, spec, user, hideCgroup2, unshare, nat, stdin, stdoutTee,
                    stderrTee);
        }
        // the user namespace the runtime is root of: NS1 (made by the NAT step when there is one), else one mapping
        // the user alone
        List<String> userns = sub == null ? List.of("--user", "--map-root-user")
                : nat == null ? sub.unshareOptions() : List.of();
        return BwrapBackend.inState(options, spec.limits(), (id, state, cg) -> {
            Overlay.Dirs dirs = Overlay.Dirs.under(state);
            Path log = state.resolve("runtime.log");
            // on a mount failure: the read-only root, and no more overlays here
            BwrapBackend.Raw raw = Overlay.runWithFallback(overlayAllowed && !overlayBroken && unshare != null
                    && Overlay.usable(rootfs, dirs), dirs, stdin, () -> overlayBroken = true, merged -> {
                        Files.deleteIfExists(log); // a failed overlay attempt's
                        writeConfig(state, config(rootfs, MountPoints.prepare(rootfs, MountPoints.OCI, dirs, merged)
                                        .withDns(rootfs, spec.network(), state),
                                id, spec, argv, user, sub));
                        List<String> run = runArgs(bin, state, id, cg != null && runtime.equals(RUNC));
                        List<String> natUser = sub == null ? null : sub.unshareOptions();
                        return merged == null
                                ? BwrapBackend.execute(nat, natUser, Cgroups.wrap(cg, wrapped(unshare, userns, run,
                                        hideCgroup2), state), Map.of(), state, spec, id, stdin, stdoutTee, stderrTee)
                                : BwrapBackend.execute(nat, natUser, Cgroups.wrap(cg, Overlay.wrap(unshare, userns,
                                        rootfs, dirs, Subids.givingOwners(options, sub == null ? null
                                                : sub.writeOwners(rootfs, merged, state.resolve("owners")),
                                                hideCgroup2 ? hidden(run) : run)), state), Overlay.environment(),
                                        state, spec, id, stdin, stdoutTee, stderrTee);
                    });
            // the forced delete kills what is left of the container, whose processes NS1's root may signal
            return finish(raw, cg, state, id, unshare, sub == null ? userns : sub.unshareOptions(), bin, hideCgroup2,
                    log, t0);
        });
    }

    /**
     * A run as root: the runtime makes the sandbox's user namespace from the bundle's mappings (sandbox ids to the
     * jail's range), over the sandbox's overlay of the idmapped rootfs mounted by {@link Jail} (the runtime is
     * started in that mount namespace), with the default capabilities and davit's seccomp filter in the config.
     */
    private ExecResult runJailed(long t0, Path bin, Path rootfs, List<String> argv, RunSpec spec, int[] user,
                                 boolean hideCgroup2, Path unshare, Nat.Tools nat, java.io.InputStream stdin,
                                 OutputStream stdoutTee, OutputStream stderrTee) {
        return BwrapBackend.inState(options, spec.limits(), (id, state, cg) -> {
            try (Jail.Namespace ns = Jail.newNamespace(options, null)) {
                Overlay.Dirs dirs = Overlay.Dirs.under(state);
                java.util.Map<String, Path> binds = Jail.binds();
                MountPoints.Root root = MountPoints.prepareJailed(rootfs, MountPoints.OCI, dirs, spec.network(), state,
                        ns.range(), binds);
                Path log = state.resolve("runtime.log");
                BwrapBackend.Raw raw = Jail.run(options, ns, rootfs, dirs.upper(), dirs.work(), binds, jail -> {
                    ObjectNode config = config(rootfs, root, id, spec, argv, user);
                    jail(config, ns.range(), user, spec.network().enabled());
                    writeConfig(state, config);
                    List<String> run = runArgs(bin, state, id, cg != null && runtime.equals(RUNC));
                    // the jail's mount namespace is private already: crun's hidden cgroup v2 needs no unshare
                    return BwrapBackend.execute(nat, Cgroups.wrap(cg, jail.apply(hideCgroup2 ? hidden(run) : run),
                            state), Map.of(), state, spec, id, stdin, stdoutTee, stderrTee);
                });
                raw.throwIfJailFailed();
                return finish(raw, cg, state, id, unshare, List.of(), bin, hideCgroup2, log, t0);
            }
        });
    }

    /**
     * After the runtime ended: its OOM count (read before runc deletes its container's cgroup), what it left
     * removed ({@code delete --force} when it was killed, died or kept the container), the cgroups removed, and the
     * result with the runtime's own failures interpreted.
     */
    private ExecResult finish(BwrapBackend.Raw raw, Cgroups.Cgroup cg, Path state, String id, Path unshare,
                              List<String> userns, Path bin, boolean hideCgroup2, Path log, long t0) {
        boolean oom = cg != null && cg.oomKills() > 0;
        if (raw.timedOut() || raw.outputLimited() || Files.exists(state.resolve("runtime").resolve(id))) {
            forceDelete(unshare, userns, bin, state, id, hideCgroup2);
        }
        oom |= Cgroups.finish(cg, state);
        return raw.result(id, runtime, raw.timedOut() || raw.outputLimited() ? raw.rc()
                : interpret(runtime, raw.rc(), errors(log)), oom, t0, state);
    }

    /**
     * The jail's part of a root config: a user namespace mapping the sandbox's ids to {@code range}, the default
     * capabilities for root (none for another user), davit's seccomp filter, and /sys bound read-only where the
     * sandbox shares a network namespace it does not own (a user namespace may mount sysfs only for its own).
     */
    static void jail(ObjectNode config, dev.davit.sandbox.jail.IdRange range, int[] user, boolean network) {
        ObjectNode linux = (ObjectNode) config.get("linux");
        ArrayNode ns = (ArrayNode) linux.get("namespaces");
        ns.addObject().put("type", "user");
        for (String m : List.of("uidMappings", "gidMappings")) {
            ObjectNode map = linux.putArray(m).addObject();
            map.put("containerID", 0);
            map.put("hostID", m.startsWith("uid") ? range.uid() : range.gid());
            map.put("size", range.count());
        }
        ObjectNode caps = (ObjectNode) config.get("process").get("capabilities");
        boolean root = user[0] == 0;
        for (String set : List.of("bounding", "effective", "permitted")) {
            ArrayNode a = caps.putArray(set);
            if (root || set.equals("bounding")) {
                Capabilities.DEFAULT.forEach(a::add);
            }
        }
        if (network) {
            for (JsonNode m : config.get("mounts")) {
                if (m.path("destination").asText().equals("/sys")) {
                    ObjectNode o = (ObjectNode) m;
                    o.put("type", "none");
                    o.put("source", "/sys");
                    ArrayNode opts = o.putArray("options");
                    List.of("rbind", "nosuid", "noexec", "nodev", "ro").forEach(opts::add);
                }
            }
        }
    }

    /** {@code RUNTIME [global options] run [--keep] --bundle STATE ID}; the runtime's state and log stay in STATE. */
    private List<String> runArgs(Path bin, Path state, String id, boolean keep) {
        List<String> a = globalArgs(bin, state);
        a.add("run");
        if (keep) {
            a.add("--keep"); // its cgroup (with the OOM count) stays until davit read it and deletes the container
        }
        a.addAll(List.of("--bundle", state.toString(), id));
        return a;
    }

    private List<String> globalArgs(Path bin, Path state) {
        List<String> a = new ArrayList<>();
        a.add(bin.toString());
        a.addAll(List.of("--root", state.resolve("runtime").toString()));
        Path log = state.resolve("runtime.log");
        if (runtime.equals(CRUN)) {
            a.addAll(List.of("--log=file:" + log, "--log-format=json", "--cgroup-manager=disabled"));
        } else {
            a.addAll(List.of("--log", log.toString(), "--log-format", "json"));
        }
        return a;
    }

    /** {@code cmd} run after the cgroup2 hierarchy is hidden (in the mount namespace {@code cmd} runs in). */
    private static List<String> hidden(List<String> cmd) {
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", HIDE_CGROUP2, "sh"));
        a.addAll(cmd);
        return a;
    }

    /**
     * {@code cmd} in a private mount namespace (and, without root, as root of a new user namespace) when it needs
     * one; as root with runc, {@code cmd} itself.
     */
    private static List<String> wrapped(Path unshare, List<String> userns, List<String> cmd, boolean hideCgroup2) {
        if (Overlay.ROOT && !hideCgroup2) {
            return cmd;
        }
        List<String> a = new ArrayList<>();
        a.add(unshare.toString());
        if (!Overlay.ROOT) {
            a.addAll(userns);
        }
        a.addAll(List.of("--mount", "--propagation", "private", "--"));
        a.addAll(hideCgroup2 ? hidden(cmd) : cmd);
        return a;
    }

    /** {@code RUNTIME delete --force ID}: kills what is left of the container and removes its state. */
    private void forceDelete(Path unshare, List<String> userns, Path bin, Path state, String id,
                             boolean hideCgroup2) {
        List<String> cmd = globalArgs(bin, state);
        cmd.addAll(List.of("delete", "--force", id));
        ProcessBuilder pb = new ProcessBuilder(wrapped(unshare, userns, cmd, hideCgroup2))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .directory(state.toFile());
        pb.environment().clear();
        try {
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                Host.killTree(p);
            }
        } catch (IOException e) {
            // best effort: the state directory is deleted anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The runtime's failures are exit 1 with an error in its log (the command's own exit 1 leaves the log empty).
     * Only the runtimes' exact exec errors are mapped to 127 and 126 (as a shell does).
     */
    static int interpret(String runtime, int rc, List<String> errors) {
        if (rc != 1 || errors.isEmpty()) {
            return rc;
        }
        String msg = errors.get(errors.size() - 1).strip();
        if (CRUN_NOT_FOUND.matcher(msg).matches() || RUNC_NOT_FOUND.matcher(msg).matches()) {
            return 127;
        }
        if (CRUN_NOT_EXECUTABLE.matcher(msg).matches() || RUNC_NOT_EXECUTABLE.matcher(msg).matches()) {
            return 126;
        }
        String line = msg.replaceAll("\\s+", " ");
        if (line.contains("cgroups in hybrid mode not supported")) {
            throw new DavitException(Kind.INTERNAL, Message.of(runtime + " refuses this host's hybrid cgroups ("
                    + line + "); ", Action.USE_RUNTIMES.fix("runc", "bwrap")));
        }
        throw new DavitException(Kind.INTERNAL, Message.of(runtime + " could not set up the sandbox: " + line
                + " (see ", Action.DOCTOR.fix(), ")"));
    }

    /** The messages of the error entries of the runtime's JSON log, oldest first; none when it has none. */
    static List<String> errors(Path log) {
        List<String> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return out;
        }
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = Json.read(line.getBytes(StandardCharsets.UTF_8));
                String level = n.path("level").asText("");
                if (level.equals("error") || level.equals("fatal") || level.equals("panic")) {
                    out.add(n.path("msg").asText(""));
                }
            } catch (IOException e) {
                out.add(line); // not JSON: keep it, it is the runtime's
            }
        }
        return out;
    }

    /**
     * The working directory must exist in the root filesystem (as a directory, symbolic links followed inside
     * it): the runtimes would create a missing one, on the read-only root in the shared root filesystem itself.
     * Under the mounts the sandbox gets (/proc, /dev, /sys, whether or not the rootfs has them) the runtime
     * decides; under the tmpfs mounts only their mount point exists.
     */
    static void checkWorkdir(Path rootfs, String workdir) {
        List<String> parts = new ArrayList<>();
        for (String c : workdir.split("/")) {
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (!parts.isEmpty()) {
                    parts.remove(parts.size() - 1);
                }
            } else {
                parts.add(c);
            }
        }
        String rel = String.join("/", parts);
        if (!parts.isEmpty() && List.of("proc", "dev", "sys").contains(parts.get(0))
                && MountPoints.mounted(rootfs, parts.get(0))) {
            return;
        }
        for (String t : TMPFS.keySet()) {
            if ((rel.equals(t) || rel.startsWith(t + "/")) && MountPoints.mounted(rootfs, t)) {
                if (rel.equals(t)) {
                    return; // the mount point itself, made where it is missing
                }
                throw new DavitException(Kind.USAGE, "the working directory " + workdir + " does not exist in the"
                        + " sandbox (/" + t + " is an empty tmpfs there)");
            }
        }
        if (!isDirectoryInRoot(rootfs, workdir)) {
            throw new DavitException(Kind.USAGE, "the working directory " + workdir + " does not exist in the sandbox");
        }
    }

    /** Whether {@code path} names a directory in {@code rootfs}, resolving symbolic links as if it were /. */
    static boolean isDirectoryInRoot(Path rootfs, String path) {
        Path p = Host.inRoot(rootfs, path, true);
        return p != null && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
    }

    /** The v2 controllers of a hybrid cgroup host (what crun 1.8 refuses), or null when there are none. */
    public static String hybridControllers() {
        try {
            String s = Files.readString(CGROUP2_CONTROLLERS).strip();
            return s.isEmpty() ? null : s;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void writeConfig(Path bundle, ObjectNode config) {
        try {
            Files.write(bundle.resolve("config.json"), Json.bytes(config));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write the sandbox's config.json in " + bundle + ": "
                    + e.getMessage());
        }
    }

    /**
     * The bundle's config.json (runtime-spec 1.0.2) over {@code root} (see {@link MountPoints#prepare}): the
     * sandbox's writable overlay, or the read-only rootfs or skeleton with read-only binds of the rootfs.
     */
    ObjectNode config(Path rootfs, MountPoints.Root root, String id, RunSpec spec, List<String> argv, int[] user) {
        return config(rootfs, root, id, spec, argv, user, null);
    }

    /** As above; rootless with {@code sub} (not null), the runtime is root of NS1 and maps its ids as they are. */
    ObjectNode config(Path rootfs, MountPoints.Root root, String id, RunSpec spec, List<String> argv, int[] user,
                      Subids sub) {
        boolean rootless = !Overlay.ROOT;
        boolean nonRootUser = user[0] != 0 || user[1] != 0;
        ObjectNode c = Json.object();
        c.put("ociVersion", "1.0.2");

        ObjectNode process = c.putObject("process");
        process.put("terminal", false);
        ObjectNode u = process.putObject("user");
        u.put("uid", user[0]);
        u.put("gid", user[1]);
        ArrayNode args = process.putArray("args");
        argv.forEach(args::add);
        ArrayNode env = process.putArray("env");
        spec.effectiveEnv().forEach((k, v) -> env.add(k + "=" + v));
        process.put("cwd", spec.effectiveWorkdir());
        ObjectNode caps = process.putObject("capabilities");
        for (String set : List.of("bounding", "effective", "permitted")) {
            ArrayNode a = caps.putArray(set);
            CAPABILITIES.forEach(a::add);
        }
        ObjectNode nofile = process.putArray("rlimits").addObject();
        nofile.put("type", "RLIMIT_NOFILE");
        nofile.put("hard", NOFILE);
        nofile.put("soft", NOFILE);
        process.put("noNewPrivileges", true);

        ObjectNode r = c.putObject("root");
        r.put("path", root.path().toString());
        r.put("readonly", root.readOnly());
        c.put("hostname", id);

        ArrayNode mounts = c.putArray("mounts");
        for (String b : root.binds()) {
            mount(mounts, "/" + b, "bind", rootfs.resolve(b).toString(), "rbind", "ro");
        }
        if (root.resolv() != null) {
            mount(mounts, "/etc/resolv.conf", "bind", root.resolv().toString(), "rbind", "ro");
        }
        boolean proc = MountPoints.mounted(rootfs, "proc");
        boolean sys = MountPoints.mounted(rootfs, "sys");
        if (proc) {
            mount(mounts, "/proc", "proc", "proc");
        }
        if (MountPoints.mounted(rootfs, "dev")) {
            mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
            List<String> pts = new ArrayList<>(List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666",
                    "mode=0620"));
            if (!rootless) {
                pts.add("gid=5"); // the tty group; not mapped in a rootless user namespace
            }
            mount(mounts, "/dev/pts", "devpts", "devpts", pts.toArray(String[]::new));
            mount(mounts, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
            mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev");
        }
        if (sys) {
            if (rootless) {
                // a user namespace may not mount a new sysfs: bind the host's, read-only (as runc's rootless spec)
                mount(mounts, "/sys", "none", "/sys", "rbind", "nosuid", "noexec", "nodev", "ro");
            } else {
                mount(mounts, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
            }
        }
        for (String dir : MountPoints.OCI) {
            if (TMPFS.containsKey(dir) && MountPoints.mounted(rootfs, dir)) {
                // each no larger than the disk limit (and, as tmpfs, charged to the memory limit)
                long disk = dev.davit.sandbox.jail.Disk.tmpfsMiB(spec.limits());
                if (disk > 0) {
                    mount(mounts, "/" + dir, "tmpfs", "tmpfs", "nosuid", "nodev", "mode=" + TMPFS.get(dir),
                            "size=" + disk + "m");
                } else {
                    mount(mounts, "/" + dir, "tmpfs", "tmpfs", "nosuid", "nodev", "mode=" + TMPFS.get(dir));
                }
            }
        }

        ObjectNode linux = c.putObject("linux");
        ArrayNode ns = linux.putArray("namespaces");
        for (String type : List.of("pid", "ipc", "uts", "mount")) {
            ns.addObject().put("type", type);
        }
        if (!spec.network().enabled()) {
            // NAT: the runtime's own namespace, which the wrapper made (see Nat); host: the host's
            ns.addObject().put("type", "network");
        }
        if (rootless && nonRootUser && sub != null) {
            // the runtime is root of NS1: the user's subordinate ids, the image's user one of them (Subids)
            ns.addObject().put("type", "user");
            for (String m : List.of("uidMappings", "gidMappings")) {
                ArrayNode a = linux.putArray(m);
                for (long[] e : sub.runtimeMappings()) {
                    a.addObject().put("containerID", e[0]).put("hostID", e[1]).put("size", e[2]);
                }
            }
        } else if (rootless && nonRootUser) {
            // the runtime is root of davit's user namespace (the caller); the image's user is mapped to it
            ns.addObject().put("type", "user");
            idMapping(linux.putArray("uidMappings"), user[0]);
            idMapping(linux.putArray("gidMappings"), user[1]);
        }
        if (!rootless && runtime.equals(RUNC)) {
            // runc puts a root container in a devices cgroup: allow only the default devices (as runc's spec)
            ObjectNode deny = linux.putObject("resources").putArray("devices").addObject();
            deny.put("allow", false);
            deny.put("access", "rwm");
            if (spec.limits().any()) {
                // relative to runc's own cgroup, which is the sandbox's (davit's join step put runc there): the
                // container lands below the cgroup that holds the limits, never beside it
                linux.put("cgroupsPath", id);
            }
        }
        // davit's seccomp filter, also without root (the jail adds the rest as root)
        linux.set("seccomp", Seccomp.oci());
        ArrayNode masked = linux.putArray("maskedPaths");
        MASKED.stream().filter(p -> p.startsWith("/proc/") ? proc : sys).forEach(masked::add);
        ArrayNode readonly = linux.putArray("readonlyPaths");
        READONLY.stream().filter(p -> proc).forEach(readonly::add);
        return c;
    }

    private static void mount(ArrayNode mounts, String destination, String type, String source, String... options) {
        ObjectNode m = mounts.addObject();
        m.put("destination", destination);
        m.put("type", type);
        m.put("source", source);
        if (options.length > 0) {
            ArrayNode o = m.putArray("options");
            for (String s : options) {
                o.add(s);
            }
        }
    }

    private static void idMapping(ArrayNode mappings, int containerId) {
        ObjectNode m = mappings.addObject();
        m.put("containerID", containerId);
        m.put("hostID", 0);
        m.put("size", 1);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
