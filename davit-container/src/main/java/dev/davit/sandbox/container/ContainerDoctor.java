package dev.davit.sandbox.container;

import dev.davit.oci.Message;
import dev.davit.sandbox.elf.Elf;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.Limits;
import dev.davit.sandbox.RunSpec;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.jail.Rootless;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The container backend's {@code doctor} entries: bubblewrap present and able to run {@code true} in new namespaces
 * ({@code container}); crun and runc present and able to run {@code true} in an OCI container; how the jail
 * ({@code container/jail}) confines sandboxes here.
 */
final class ContainerDoctor {
    private final SandboxOptions options;

    ContainerDoctor(SandboxOptions options) {
        this.options = options;
    }

    /** The entries, in order container, container/crun, container/runc, container/jail. */
    List<Doctor.Backend> check() {
        return List.of(container(), ociRuntime(OciRuntimeBackend.CRUN), ociRuntime(OciRuntimeBackend.RUNC),
                jail());
    }

    /**
     * What confines a container sandbox here (see {@link dev.davit.sandbox.jail.Jail}): as root, whether sandbox
     * root can be an unprivileged host uid (the idmapped mount needs Java 22+, the tools util-linux) and its range;
     * without root, which guarantees hold and which do not.
     */
    private Doctor.Backend jail() {
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("capabilities", String.join(",", dev.davit.sandbox.jail.Capabilities.DEFAULT));
        facts.put("seccomp", "davit's filter (Docker's default profile without io_uring), x86-64");
        if (!Jail.active()) {
            return rootlessJail(facts);
        }
        String problem = Jail.problem(options);
        if (problem != null) {
            return new Doctor.Backend(Doctor.JAIL, false, "sandboxes cannot be confined as root here: " + problem, facts);
        }
        try {
            dev.davit.sandbox.jail.IdRange r = Jail.range();
            facts.put("uids", r.uid() + "-" + (r.uid() + r.count() - 1));
            facts.put("gids", r.gid() + "-" + (r.gid() + r.count() - 1));
            return new Doctor.Backend(Doctor.JAIL, true, "sandbox root is host uid " + r.uid() + " (davit's range in /etc/subuid),"
                    + " with an idmapped rootfs, the default capabilities, masked /proc and the seccomp filter", facts);
        } catch (dev.davit.oci.DavitException e) {
            return new Doctor.Backend(Doctor.JAIL, false, e.message(), facts);
        }
    }

    private Doctor.Backend container() {
        Map<String, String> facts = new LinkedHashMap<>();
        Path bwrap = options.bwrapOrNull();
        if (bwrap == null) {
            return new Doctor.Backend("container", false, "bwrap (bubblewrap) is not installed; install the bubblewrap"
                    + " package", facts);
        }
        facts.put("bwrap", bwrap.toString());
        Doctor.Probe v = Doctor.probe(List.of(bwrap.toString(), "--version"));
        facts.put("bwrap_version", v.ok() ? v.output().replace("bubblewrap", "").strip() : "unknown");
        Path tru = options.which("true");
        if (tru == null) {
            return new Doctor.Backend("container", false, "cannot probe bwrap: no 'true' on the PATH", facts);
        }
        List<String> base = List.of(bwrap.toString(), "--unshare-all", "--die-with-parent", "--new-session",
                "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev");
        Doctor.Probe run = Doctor.probe(Doctor.concat(base, List.of("--", tru.toString())));
        facts.put("probe_namespaces", run.ok() ? "ok" : "failed: " + run.output());
        Doctor.Probe user = Doctor.probe(Doctor.concat(base, List.of("--unshare-user", "--uid", "1000", "--gid", "1000", "--",
                tru.toString())));
        facts.put("probe_user_namespace", user.ok() ? "ok" : "failed: " + user.output());
        facts.put("agent", dev.davit.sandbox.jail.Jail.agentState());
        if (!run.ok()) {
            return new Doctor.Backend("container", false, "bwrap cannot create namespaces here (" + run.output()
                    + "); unprivileged user namespaces may be disabled (kernel.unprivileged_userns_clone,"
                    + " kernel.apparmor_restrict_unprivileged_userns) or a container runtime forbids them", facts);
        }
        return new Doctor.Backend("container", true, "bubblewrap " + facts.get("bwrap_version") + " runs commands in new"
                + " namespaces" + (user.ok() ? "" : " (user namespaces failed: images with a non-root User will not"
                + " run)"), facts);
    }

    /**
     * One OCI runtime of the container backend: installed, its version, how davit handles cgroups with it here,
     * and whether it runs the host's {@code true} in a bundle whose root is the host's / (read-only), with the
     * namespaces, mounts and options davit's runs use.
     */
    private Doctor.Backend ociRuntime(String runtime) {
        String name = RunSpec.CONTAINER + "/" + runtime;
        Map<String, String> facts = new LinkedHashMap<>();
        Path bin = options.which(runtime);
        if (bin == null) {
            facts.put(runtime, "not installed");
            return new Doctor.Backend(name, false, runtime + " is not installed; install the " + runtime + " package",
                    facts);
        }
        facts.put(runtime, bin.toString());
        Doctor.Probe v = Doctor.probe(List.of(bin.toString(), "--version"));
        String version = v.ok() ? v.output().replaceFirst("^" + runtime + " version ([^ ]+).*$", "$1") : "unknown";
        facts.put(runtime + "_version", version);
        facts.put("user", Jail.AS_ROOT ? "root" : "rootless: the runtime runs as root of a user namespace (unshare"
                + " --map-root-user)");
        facts.put("cgroups", cgroups(runtime));
        Path tru = options.which("true");
        if (tru == null) {
            return new Doctor.Backend(name, false, "cannot probe " + runtime + ": no 'true' on the PATH", facts);
        }
        Message failure = probeRun(runtime, tru, facts);
        facts.put("probe_run", failure == null ? "ok" : "failed: " + failure);
        if (failure != null) {
            return new Doctor.Backend(name, false, Message.of(runtime + " " + version + " cannot run a container here (",
                    failure, ")"), facts);
        }
        return new Doctor.Backend(name, true, runtime + " " + version + " runs commands in OCI containers"
                + (runtime.equals(OciRuntimeBackend.CRUN) ? " (cgroups disabled)" : ""), facts);
    }

    /** How davit runs {@code runtime} with this host's cgroups. */
    private static String cgroups(String runtime) {
        String mode;
        if (Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))) {
            mode = "v2 (unified)";
        } else if (OciRuntimeBackend.hybridControllers() != null) {
            mode = "hybrid (v2 controllers: " + OciRuntimeBackend.hybridControllers() + ")";
        } else if (Files.isDirectory(Path.of("/sys/fs/cgroup"))) {
            mode = "v1";
        } else {
            mode = "none";
        }
        if (runtime.equals(OciRuntimeBackend.CRUN)) {
            return mode + "; davit runs crun with --cgroup-manager=disabled"
                    + (mode.startsWith("hybrid") ? " and hides /sys/fs/cgroup/unified in a private mount namespace"
                    + " (crun refuses hybrid cgroups with v2 controllers)" : "");
        }
        return mode + (Jail.AS_ROOT ? "; runc (root) puts each container in a cgroup of its own (below the"
                + " sandbox's limits cgroup when it has limits), removed with it" : "; runc (rootless) skips the cgroups it cannot create; no limits are set");
    }

    /**
     * Runs {@code true} with the runtime as a davit run does; null when it worked. The root is a temporary one
     * holding a statically linked busybox when the host has one (with the sandbox's overlay, as real runs), else
     * the host's / (read-only) with the host's {@code true}.
     */
    private Message probeRun(String runtime, Path tru, Map<String, String> facts) {
        Message failure = probeRunOn(runtime, tru, facts);
        if (failure != null && facts.getOrDefault("probe_root", "").startsWith("the host's /")) {
            failure = Message.of(failure, "; a statically linked busybox on the PATH gives the probe a root of its own");
        }
        return failure;
    }

    private Message probeRunOn(String runtime, Path tru, Map<String, String> facts) {
        Path dir;
        try {
            dir = Files.createTempDirectory("davit-doctor-");
        } catch (IOException e) {
            return Message.of("cannot create a temporary directory: " + e.getMessage());
        }
        try {
            SandboxOptions o = SandboxOptions.of(dir.resolve("state")).withBwrap(options.bwrap())
                    .withSearchPath(options.searchPath());
            Path busybox = options.which("busybox");
            RunSpec.Builder spec;
            boolean overlay;
            if (busybox != null && Elf.isStatic(busybox)) {
                Path rootfs = dir.resolve("rootfs");
                Files.createDirectories(rootfs.resolve("bin"));
                for (String d : List.of("proc", "dev", "sys", "tmp")) {
                    Files.createDirectories(rootfs.resolve(d));
                }
                Files.copy(busybox, rootfs.resolve("bin/busybox"));
                Files.createSymbolicLink(rootfs.resolve("bin/true"), Path.of("busybox"));
                spec = RunSpec.builder(rootfs).command("/bin/true").limits(Limits.NONE);
                overlay = true;
                facts.put("probe_root", "a static busybox in a temporary directory, with an overlay");
            } else {
                spec = RunSpec.builder(Path.of("/")).command(tru.toString()).limits(Limits.NONE);
                overlay = false;
                facts.put("probe_root", "the host's / (read-only; no static busybox on the PATH)");
            }
            ExecResult r = new OciRuntimeBackend(o, runtime, overlay).run(spec.timeout(
                    java.time.Duration.ofSeconds(Doctor.PROBE_SECONDS)).build(), null, null);
            if (r.timedOut()) {
                return Message.of("timed out after " + Doctor.PROBE_SECONDS + " s");
            }
            String err = r.stderrText().strip().replace('\n', ' ');
            return r.exitCode() == 0 ? null : Message.of("exit " + r.exitCode() + (err.isEmpty() ? "" : ": " + err));
        } catch (IOException e) {
            return Message.of("cannot prepare the probe's root filesystem in " + dir + ": " + e.getMessage());
        } catch (dev.davit.oci.DavitException e) {
            return e.message();
        } finally {
            Host.deleteTree(dir);
        }
    }

    /**
     * The jail without root: each guarantee of {@link Rootless} as a fact ({@code holds}, or
     * {@code missing: } why and the fix); available when none is missing that every sandbox needs.
     */
    private Doctor.Backend rootlessJail(Map<String, String> facts) {
        facts.put("user", "rootless: sandbox root is this user, in a user namespace of bubblewrap's or the runtime's");
        List<String> missing = new ArrayList<>();
        boolean usable = true;
        for (Rootless.Guarantee g : Rootless.check(options)) {
            facts.put(g.name(), g.holds() ? "holds: " + g.what() : "missing: " + g.missing());
            if (!g.holds()) {
                missing.add(g.name());
                usable &= !g.name().equals(Rootless.USER_NAMESPACES);
            }
        }
        return new Doctor.Backend(Doctor.JAIL, usable, dev.davit.oci.Message.of("sandbox root is this user, never"
                + " host root; one-shot runs and execs get the seccomp filter, no_new_privs and no more than the default"
                + " capabilities", missing.isEmpty() ? "" : dev.davit.oci.Message.of("; missing here: "
                + String.join(", ", missing) + " (see the facts for each fix; a sandbox that needs one is refused"
                + " unless ", Rootless.OPT_OUT, ")")), facts);
    }
}
