package dev.davit.sandbox.jail;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.sandbox.SandboxOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How davit, as root, confines a container sandbox so that its root is never host root:
 *
 * <ol>
 *   <li>A user namespace of its own ({@link UserNamespace}) maps sandbox ids to davit's subordinate range
 *       ({@link IdRange}): sandbox root is an unprivileged host uid that owns no host file.</li>
 *   <li>On a thread of its own, davit unshares a private mount namespace and mounts there, invisible to the host:
 *       a tmpfs on {@link #DIR}; the shared root filesystem as an <em>idmapped</em>, read-only mount at
 *       {@code DIR/lower} (a file owned by {@code n} appears owned by the range's {@code n}, so the image works as
 *       it is, without a copy); the sandbox's overlay at {@code DIR/root} with its upper layer in the state
 *       directory (files the sandbox writes land there owned by range ids); and bind mounts of the few host paths
 *       the sandbox gets ({@code DIR/NAME}). The thread also joins a new, empty session key ring. Everything the
 *       thread starts inherits that namespace and key ring.</li>
 *   <li>The sandbox's process chain is started from that thread; its last step ({@link #launcher}) opens the user
 *       namespace and the seccomp filter as file descriptors 4 and 5, drops to the range's first uid with
 *       {@code setpriv} and runs bubblewrap, which joins the namespace ({@code --userns 4}), makes the sandbox's
 *       other namespaces, keeps {@link Capabilities#DEFAULT}, masks /proc ({@link ProcMasks}) and loads the filter
 *       ({@code --seccomp 5}) just before the command.</li>
 * </ol>
 *
 * The mounts need the FFM API (Java 22 or later); on Java 21 a sandbox as root is refused with a one-line error.
 * Without root the sandbox's root is davit's own user (an unprivileged user namespace); see docs/reference/sandbox/JAIL.md.
 *
 * <p>This class keeps the jail's API and the bubblewrap launch; the package's {@link MountNamespace} makes the
 * private mount namespace ({@link #run}, {@link #runWithBinds}), {@link ExecHelper} finds and installs davit-exec
 * ({@link #execHelper}) and {@link VmmConfinement} confines a VMM ({@link #vmmLauncher}).
 */
public final class Jail {
    /** Where the jail's mounts are, inside the sandbox's private mount namespace only. */
    public static final Path DIR = Path.of("/run/davit");
    /** The file descriptors the launcher opens for bubblewrap. */
    public static final int USERNS_FD = 4;
    public static final int SECCOMP_FD = 5;
    /** The overlay's mount point, {@code DIR/root}. */
    public static final Path ROOT = DIR.resolve("root");

    /** The launcher's script: fd 4 the user namespace, 5 the filter, 6 (when given, else /dev/null) a pid namespace. */
    static final String LAUNCH = "ns=$1 filter=$2 pidns=$3; shift 3\n"
            + "exec \"$@\" 4<\"$ns\" 5<\"$filter\" 6<\"$pidns\"\n";
    /** The fd of a pid namespace to join ({@link #launcher} with one). */
    public static final int PIDNS_FD = 6;

    private Jail() {
    }

    /** Whether davit runs as root (else overlays and the OCI runtimes need a user namespace of davit's user). */
    public static final boolean AS_ROOT = dev.davit.sandbox.host.Host.AS_ROOT;

    /** Whether sandboxes are jailed this way: davit runs as root. */
    public static boolean active() {
        return AS_ROOT;
    }

    /** Whether the jail can work here (for doctor): null when it can, else why not. */
    public static String problem(SandboxOptions options) {
        try {
            if (execHelper(options) == null) {
                MountNamespace.mounts(); // without davit-exec in the jar, the FFM way
            }
        } catch (DavitException e) {
            return e.getMessage();
        }
        for (String t : List.of("setpriv", "unshare", "cat", "nsenter")) {
            if (options.which(t) == null) {
                return t + " (util-linux/coreutils) is not installed";
            }
        }
        return null;
    }

    /** The id range sandbox ids map to. */
    public static IdRange range() {
        return IdRange.forRoot();
    }

    /**
     * The filter's program file for bubblewrap, cached per build beside the sandboxes' state directory
     * ({@code $DAVIT_HOME/cache/seccomp}).
     */
    public static Path seccompFile(SandboxOptions options) {
        Path state = options.stateDir().toAbsolutePath();
        Path home = state.getParent() == null ? state : state.getParent();
        return Seccomp.programFile(home.resolve("cache").resolve("seccomp"));
    }

    /**
     * A new user namespace for one sandbox whose user is {@code ids} (sandbox uid and gid; null is root); close it
     * once the sandbox's bubblewrap has joined it.
     */
    public static Namespace newNamespace(SandboxOptions options, int[] ids) {
        return newNamespace(options, range(), ids);
    }

    /** {@link #newNamespace(SandboxOptions, int[])} mapping to {@code r} instead of the containers' range. */
    public static Namespace newNamespace(SandboxOptions options, IdRange r, int[] ids) {
        Path helper = execHelper(options);
        return new Namespace(UserNamespace.create(r, ids == null ? new int[] {0, 0} : ids, helper,
                helper != null ? null : tool(options, "setpriv"), helper != null ? null : tool(options, "unshare"),
                helper != null ? null : tool(options, "cat")), r);
    }

    /** One sandbox's user namespace, held open by its helper until {@link #close}. */
    public static final class Namespace implements AutoCloseable {
        private final UserNamespace ns;
        private final IdRange range;

        Namespace(UserNamespace ns, IdRange range) {
            this.ns = ns;
            this.range = range;
        }

        public Path path() {
            return ns.path();
        }

        public IdRange range() {
            return range;
        }

        @Override
        public void close() {
            ns.close();
        }
    }

    /**
     * What a command needs to run in the jail's mount namespace: as davit-exec's {@code jail} step puts it before
     * the command (the fast way, no FFM), or the identity where the calling thread is in that namespace already
     * (the FFM way, when the jar has no helper).
     */
    public interface Wrap extends java.util.function.UnaryOperator<List<String>> {
    }

    /** An action run with the jail's mount namespace at hand (see {@link Wrap}). */
    public interface Action<T> {
        T run(Wrap jail) throws Exception;
    }

    /**
     * Runs {@code action} with a private mount namespace holding the sandbox's root at {@link #ROOT} (the overlay of
     * idmapped {@code rootfs} and the upper layer {@code upper}, see the class comment) and each of {@code binds} at
     * {@code DIR/NAME} (a directory or a file, read-only when its name ends in {@code :ro}, which is not part of the
     * mount point's name): every command the action starts must go through the {@link Wrap} it gets. With the
     * jar's davit-exec (src/main/c) that is its {@code jail} step in front of the command; without it, a new thread
     * of davit's makes the namespace through the FFM API (Java 22+) and runs the action there.
     */
    public static <T> T run(SandboxOptions options, Namespace ns, Path rootfs, Path upper, Path work,
                            Map<String, Path> binds, Action<T> action) {
        return MountNamespace.run(options, ns, rootfs, upper, work, binds, action);
    }

    /**
     * Waits (at most 10 s) until process {@code p}, started through a {@link Wrap}, is past davit-exec's jail step
     * (it runs another program, or ended): its mounts are made then, and the user namespace they were idmapped
     * through may go. For callers that do not wait for their process otherwise.
     */
    public static void awaitJailed(Process p) {
        Path proc = Path.of("/proc", Long.toString(p.pid()));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (p.isAlive() && System.nanoTime() < deadline) {
            try {
                // in a mount namespace of its own (the jail step's unshare), and running what followed it
                if (!Files.readSymbolicLink(proc.resolve("ns/mnt")).equals(Files.readSymbolicLink(
                        Path.of("/proc/self/ns/mnt"))) && !Files.readSymbolicLink(proc.resolve("exe")).getFileName()
                        .toString().startsWith("davit-exec")) {
                    return;
                }
            } catch (IOException e) {
                return; // gone meanwhile
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * A one-line error when a command started through the {@link Wrap} of davit-exec failed in its jail step
     * (exit 125 and one {@code davit-exec: } line on stderr), else null.
     */
    public static DavitException jailFailure(int rc, String stderr) {
        if (rc == 125 && stderr.startsWith("davit-exec: ") && stderr.indexOf('\n') == stderr.length() - 1) {
            return new DavitException(Kind.INTERNAL, Message.of("the sandbox could not be set up: " + stderr.strip()
                    + " (see ", dev.davit.oci.Action.DOCTOR.fix(), ")"));
        }
        return null;
    }

    /**
     * The command that runs {@code bwrap} (its arguments, with {@link #bwrapOptions}) as the range's root joined
     * to {@code userns}, with {@code filter} as bubblewrap's seccomp program.
     */
    public static List<String> launcher(SandboxOptions options, IdRange r, Path userns, Path filter, int[] ids,
                                        List<String> bwrap) {
        return launcher(options, r, userns, null, filter, ids, bwrap);
    }

    /**
     * {@link #launcher}, with {@code pidns} (not null) open as {@link #PIDNS_FD} for bubblewrap's {@code --pidns}:
     * an exec joins the keeper's pid namespace that way, and bubblewrap then finds its processes in the /proc of
     * that namespace.
     */
    public static List<String> launcher(SandboxOptions options, IdRange r, Path userns, Path pidns, Path filter,
                                        int[] ids, List<String> bwrap) {
        // as the sandbox's user already (the namespace's owner, so that bubblewrap may join it): bubblewrap 0.8
        // changes ids without keeping its capabilities, and would lose them before its set-up is done
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", LAUNCH, "sh", userns.toString(),
                filter.toString(), pidns == null ? "/dev/null" : pidns.toString(), tool(options, "setpriv").toString(), "--reuid=" + r.hostUid(ids == null ? 0
                        : ids[0]), "--regid=" + r.hostGid(ids == null ? 0 : ids[1]), "--clear-groups", "--"));
        a.addAll(bwrap);
        return a;
    }

    /**
     * bubblewrap's options for the jail: join the user namespace, become {@code ids} (sandbox uid and gid; null is
     * root), keep the default capabilities (none for a non-root user) and load the filter.
     */
    public static List<String> bwrapOptions(IdRange r, int[] ids) {
        int uid = ids == null ? 0 : ids[0];
        int gid = ids == null ? 0 : ids[1];
        // --gid names the host gid the launcher already has (see launcher): bubblewrap then leaves it alone
        List<String> a = new ArrayList<>(List.of("--userns", Integer.toString(USERNS_FD), "--uid",
                Integer.toString(uid), "--gid", Long.toString(r.hostGid(gid)), "--seccomp",
                Integer.toString(SECCOMP_FD)));
        a.addAll(capabilityOptions(uid));
        return a;
    }

    /**
     * {@code bwrap} (its arguments) run with {@code filter} open as {@link #SECCOMP_FD}, for a bubblewrap that is
     * not started by {@link #launcher} (without root): add {@code --seccomp 5} to its arguments.
     */
    public static List<String> withFilter(Path filter, List<String> bwrap) {
        List<String> a = new ArrayList<>(List.of("/bin/sh", "-c", "f=$1; shift; exec \"$@\" 5<\"$f\"", "sh",
                filter.toString()));
        a.addAll(bwrap);
        return a;
    }

    /**
     * QEMU's own seccomp filter ({@code -sandbox}): no obsolete system calls, no privilege changes (it also sets
     * no_new_privs), no new processes, no scheduler or resource changes.
     */
    public static final List<String> VMM_SANDBOX = List.of("-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");

    /**
     * One entry of a VMM's own root ({@link #vmmLauncher}): a symbolic link at {@code at} to {@code source}, or
     * {@code source} (a path of the jail step's mount namespace) bound at {@code at}: read-only (nosuid, nodev),
     * writable (nosuid, nodev, noexec), or a device node (nosuid, noexec).
     */
    public record RootEntry(Kind kind, String at, String source) {
        public enum Kind {
            LINK("--link"), RO("--ro"), RW("--rw"), DEV("--dev");

            final String option;

            Kind(String option) {
                this.option = option;
            }
        }

        public RootEntry {
            if (!at.startsWith("/") || at.contains("/../") || at.contains("/./") || at.endsWith("/..")) {
                throw new IllegalArgumentException("not a normal absolute path: " + at);
            }
        }

        /** {@code path} bound at the same path, read-only. */
        public static RootEntry readOnly(Path path) {
            return new RootEntry(Kind.RO, path.toString(), path.toString());
        }
    }

    /**
     * The command that runs a VMM ({@code vmm}, QEMU's or qemu-img's command line) confined as Firecracker's
     * jailer runs its VMM. As root, with davit-exec (its {@code vmm} step, started inside the jail step's mount
     * namespace): a mount namespace of its own whose root is a read-only tmpfs holding only {@code root} (see
     * {@link RootEntry}; the old root detached), as a uid of its own ({@link #vmmIds}: it owns nothing of the host's
     * nor of any other sandbox; the kvm group kept where /dev/kvm has one), with no capabilities and no_new_privs.
     * As root without the helper (a jar built without gcc): the same uid and capabilities through {@code setpriv},
     * in the jail step's namespace (no root of its own). Without root: davit's own user with no_new_privs. QEMU
     * adds its own filter ({@link #VMM_SANDBOX}).
     */
    public static List<String> vmmLauncher(SandboxOptions options, String sandboxId, List<RootEntry> root,
                                           List<String> vmm) {
        return VmmConfinement.launcher(options, sandboxId, root, vmm);
    }

    /** Whether {@link #vmmLauncher} gives the VMM a root of its own here (as root, with davit-exec). */
    public static boolean vmmHasOwnRoot(SandboxOptions options) {
        return active() && execHelper(options) != null;
    }

    /**
     * The host uid and gid the VMM of sandbox {@code sandboxId} runs as (as root): its own of {@link IdRange#forVmm},
     * outside the containers' range, so that it owns no container's user namespace and no other VM's files.
     */
    public static long[] vmmIds(String sandboxId) {
        IdRange r = IdRange.forVmm();
        long n = r.offsetOf(sandboxId);
        return new long[] {r.uid() + n, r.gid() + n};
    }

    /**
     * Runs {@code action} with a private mount namespace holding each of {@code binds} at {@code DIR/NAME} (as
     * {@link #run}, without a root filesystem) and each of {@code idmapped} read-only at {@code DIR/NAME} as an
     * idmapped mount through a new user namespace mapping to {@code idmapTo} (owner {@code n} appears as its {@code n}:
     * a root-owned file is the jail's root's to read, whatever its mode): as root, the VMM's files are reached there
     * by an unprivileged uid that could not walk davit's home. Without root, {@code action} runs as it is.
     */
    public static <T> T runWithBinds(SandboxOptions options, Map<String, Path> binds, Map<String, Path> idmapped,
                                     IdRange idmapTo, Action<T> action) {
        return MountNamespace.runWithBinds(options, binds, idmapped, idmapTo, action);
    }
    /**
     * davit-exec (src/main/c): a static program, built with the jar when gcc was there, that enters a jailed
     * long-lived sandbox's keeper's namespaces and confines a command there (capabilities, no_new_privs, a new
     * session key ring, the seccomp filter, the user, the working directory), in place of nsenter and a bubblewrap. Extracted once to
     * {@code $DAVIT_HOME/cache/jail/davit-exec-CRC} (root's, 0755). Null when the jar has none for this machine.
     */
    public static Path execHelper(SandboxOptions options) {
        return ExecHelper.installed(options);
    }

    /**
     * What {@code davit doctor} says of the sandbox agent ({@link #agentProgram}), without installing it.
     *
     * @return one line: the agent serves commands, or the jar has none (and commands in sandboxes are refused)
     */
    public static String agentState() {
        return hasAgent() ? "davit-agent: one resident process per sandbox, each command a request to it"
                : "none in this jar (built without cargo): commands in sandboxes are refused; build davit with cargo";
    }

    /** {@return whether this jar has davit-agent for this machine's architecture} (without installing it) */
    public static boolean hasAgent() {
        return Jail.class.getResource(ExecHelper.AGENT + "-" + System.getProperty("os.arch")) != null;
    }

    /**
     * davit-agent (src/main/rust, docs/reference/AGENT.md): davit's static sandbox agent, built with the jar when
     * cargo was there, installed as {@link #execHelper} is ({@code $DAVIT_HOME/cache/jail/davit-agent-CRC}). Null
     * when the jar has none for this machine (built without cargo): the only way into a sandbox is then closed.
     *
     * @param options the sandbox options (their state directory says where it is installed)
     * @return the installed program's path, or null
     */
    public static Path agentProgram(SandboxOptions options) {
        return ExecHelper.installed(options, ExecHelper.AGENT);
    }

    /**
     * davit-agent's bytes for this machine's architecture, as the jar has them (a microVM's initrd carries them), or
     * null when the jar has none.
     *
     * @return the program's bytes, or null
     */
    public static byte[] agentBytes() {
        return agentBytes(System.getProperty("os.arch"));
    }

    /**
     * davit-agent's bytes for architecture {@code arch} (Java's names: {@code amd64}, {@code aarch64}), as the jar has
     * them (the k8s backend's gate image is made for both), or null when the jar has none for it (built without cargo,
     * or without the other architecture's target: davit-jail/src/main/rust/build.sh).
     *
     * @param arch the architecture, as {@code os.arch} names it
     * @return the program's bytes, or null
     */
    public static byte[] agentBytes(String arch) {
        try {
            return ExecHelper.resourceBytes(ExecHelper.AGENT + "-" + arch);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /**
     * Whether {@code cmd} starts davit's exec helper in its {@code jail} or {@code exec} mode (with steps before it or
     * not): it can then take the host's steps itself (see {@link #withSteps}), and it resets every signal's
     * disposition before it runs its command.
     *
     * @param cmd a command and its arguments
     * @return whether it is {@code davit-exec-… jail|exec|with …}
     */
    public static boolean isHelperMode(List<String> cmd) {
        if (cmd.size() < 2) {
            return false;
        }
        String file = cmd.get(0);
        String mode = cmd.get(1);
        return file.substring(file.lastIndexOf('/') + 1).startsWith("davit-exec-")
                && (mode.equals("jail") || mode.equals("exec") || mode.equals("with"));
    }

    /**
     * {@code cmd} (see {@link #isHelperMode}) with {@code steps} taken by davit-exec before its mode, ahead of any it
     * has: {@code --session} (setsid), {@code --cgroup-failed MARKER}, {@code --cgroup PROCS} (the cgroup join's
     * sh), {@code --cpus LIST} (taskset) — the same steps in the same process, without a program started for each.
     *
     * @param cmd   the helper's command
     * @param steps its steps, in the order they are taken
     * @return {@code HELPER with STEPS... -- MODE ARGS...}
     */
    public static List<String> withSteps(List<String> cmd, List<String> steps) {
        if (!isHelperMode(cmd)) {
            throw new IllegalArgumentException("not davit-exec's jail or exec mode: " + cmd.get(0));
        }
        List<String> a = new ArrayList<>(List.of(cmd.get(0), "with"));
        a.addAll(steps);
        if (cmd.get(1).equals("with")) {
            a.addAll(cmd.subList(2, cmd.size()));
        } else {
            a.add("--");
            a.addAll(cmd.subList(1, cmd.size()));
        }
        return a;
    }

    /**
     * The command that execs {@code argv} into a keeper through the helper: it joins every namespace of the
     * keeper's {@code init} (as root the user namespace last: it becomes sandbox root with every capability there;
     * rootless the user's user namespaces first, down to the keeper's, each followed by the namespaces it owns),
     * forks into its pid namespace, confines the child and execs the command as {@code ids} (null: root) in
     * {@code workdir} (see src/main/c/mode-exec.c).
     */
    public static List<String> execLauncher(SandboxOptions options, long init, Path helperFile, int[] ids,
                                            String workdir, List<String> argv) {
        int uid = ids == null ? 0 : ids[0];
        int gid = ids == null ? 0 : ids[1];
        List<String> a = new ArrayList<>(List.of(helperFile.toString(), "exec", Long.toString(init),
                seccompFile(options).toString(), Integer.toString(uid), Integer.toString(gid),
                Long.toHexString(uid == 0 ? Capabilities.mask() : 0), workdir, "--"));
        a.addAll(argv);
        return a;
    }

    /** The PATH of the host programs that start davit-exec (the cgroup join's sh, setsid, script). */
    public static final String HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /**
     * A host program that davit runs by its path ({@code cp}, {@code taskset}, {@code prlimit}): the first executable
     * file of that name in the system's directories, never one found through the JVM's PATH, which its caller chose.
     *
     * @param name the program's name
     * @return its path, or null when it is not installed
     */
    public static Path hostProgram(String name) {
        for (String dir : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * The environment of the host processes that start {@link #execLauncher}'s davit-exec for a command whose
     * environment is {@code command}: a fixed {@link #HOST_PATH} and each of the command's variables as
     * {@code DAVIT_ENV_NAME}, which davit-exec alone turns back into {@code NAME} for the command. The host's
     * programs on the way (dynamically linked, as root) never see a sandbox's LD_PRELOAD, BASH_ENV or SHELL.
     */
    public static Map<String, String> execEnvironment(Map<String, String> command) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("PATH", HOST_PATH);
        command.forEach((k, v) -> env.put("DAVIT_ENV_" + k, v));
        return env;
    }

    /** Root keeps {@link Capabilities#DEFAULT}; any other user none (bubblewrap would make them ambient). */
    public static List<String> capabilityOptions(int uid) {
        return uid == 0 ? Capabilities.bwrapArguments() : List.of("--cap-drop", "ALL");
    }

    /**
     * Makes the upper layer's own directory look like the root filesystem's {@code /} to the sandbox (its owner
     * mapped into the range, its mode): overlayfs shows the upper directory's attributes for /, and a directory
     * owned by host root would be read-only to sandbox root.
     */
    public static void prepareUpper(Path upper, Path rootfs, IdRange r) {
        try {
            Map<String, Object> a = Files.readAttributes(rootfs, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(upper, "unix:gid", (int) r.hostGid((Integer) a.get("gid")),
                    LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(upper, "unix:uid", (int) r.hostUid((Integer) a.get("uid")),
                    LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(upper, "unix:mode", (Integer) a.get("mode") & 07777, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare the sandbox's upper layer " + upper + ": "
                    + e.getMessage());
        }
    }

    /** Gives {@code p} (not following a link) the owner {@code uid:gid} of the sandbox, as host ids of {@code r}. */
    public static void own(Path p, IdRange r, int uid, int gid) throws IOException {
        Files.setAttribute(p, "unix:gid", (int) r.hostGid(gid), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:uid", (int) r.hostUid(uid), LinkOption.NOFOLLOW_LINKS);
    }

    /** {@code binds} as an ordered map (for callers building it). */
    public static Map<String, Path> binds() {
        return new LinkedHashMap<>();
    }

    /** Host program {@code name} as {@code options} find it; refused when it is not installed. */
    static Path tool(SandboxOptions options, String name) {
        Path p = options.which(name);
        if (p == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, name + " (util-linux or coreutils) is not installed; davit needs"
                    + " it to confine sandboxes as root");
        }
        return p;
    }

    private static volatile List<String> defaultSignals;

    /**
     * {@code cmd} run with every signal's default disposition: a process inherits the signals its parent ignores
     * (davit started under {@code nohup}, or in a background job of a shell, ignores HUP, INT or QUIT), and a
     * sandbox's command must not. Through coreutils {@code env --default-signal} (8.31 or later, where there is
     * one); {@code cmd} as it is when it starts davit-exec's jail or exec mode, which resets them itself, or otherwise.
     *
     * @param cmd the command and its arguments
     * @return {@code env --default-signal -- cmd...}, or {@code cmd}
     */
    public static List<String> withDefaultSignals(List<String> cmd) {
        if (isHelperMode(cmd)) {
            return cmd; // davit-exec resets them itself before its command (and nothing before it runs)
        }
        List<String> d = defaultSignals;
        if (d == null) {
            d = List.of();
            for (String env : List.of("/usr/bin/env", "/bin/env")) {
                try {
                    Process p = new ProcessBuilder(env, "--help").redirectErrorStream(true).start();
                    String help = new String(p.getInputStream().readAllBytes(),
                            java.nio.charset.StandardCharsets.UTF_8);
                    if (p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && help.contains("--default-signal")) {
                        d = List.of(env, "--default-signal");
                        break;
                    }
                } catch (IOException e) {
                    // not this one
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            defaultSignals = d;
        }
        if (d.isEmpty()) {
            return cmd;
        }
        List<String> a = new java.util.ArrayList<>(d);
        a.add("--");
        a.addAll(cmd);
        return a;
    }
}
