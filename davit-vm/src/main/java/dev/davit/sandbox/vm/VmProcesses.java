package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Spawned;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Detached processes (services, shells) in running vm sandboxes: the guest agent's {@code spawn} starts them below a
 * holder in the guest, which records each in a directory {@code /.davit/procs/KEY} of the guest's disk (see
 * {@link Protocol}); the agent's helpers ({@code sh /.davit/agent proc ...}, run as execs) say whether they run,
 * signal and stop them. A terminal is one of the VM's {@link Machine#CONSOLES} virtio consoles: a TTY in the guest
 * whose host side is in the sandbox's state directory: {@code vmm/shN.in} (a FIFO QEMU holds open for reading
 * and writing, so writers never block on opening it) and {@code out/shN.out} (the output of every shell the console
 * had, which the VM's capper keeps under the log cap, its older half in {@code shN.out.1}; see
 * {@link Machine#capped}). No davit process holds anything: a later davit reaches them all through the agent and
 * those files.
 */
public final class VmProcesses {
    /** Where the guest keeps the directories of detached processes. */
    static final String GUEST_DIR = "/.davit/procs";
    /** How much of a service's guest log {@link #collect} copies to the host. */
    static final long MAX_OUTPUT = 64L << 20;
    private static final Duration HELPER_TIMEOUT = Duration.ofSeconds(30);

    private final SandboxOptions options;
    private final AgentFiles.Agents vm;
    private final boolean consoles;

    VmProcesses(SandboxOptions options, VmLifecycle vm) {
        this(options, vm, true);
    }

    /**
     * Detached processes through {@code agents} (a microVM's, or a pod's agent over its exec stream); without
     * {@code consoles} (a pod has no virtio consoles) a process with a terminal is refused.
     *
     * @param options  the sandboxes' options
     * @param agents   where the agent connections come from
     * @param consoles whether the sandboxes have {@link Machine#CONSOLES} consoles for terminals
     */
    public VmProcesses(SandboxOptions options, AgentFiles.Agents agents, boolean consoles) {
        this.options = options;
        this.vm = agents;
        this.consoles = consoles;
    }

    /**
     * Starts {@code argv} detached in running vm sandbox {@code s} (see {@code Sandboxes.spawn}). With
     * {@code terminal} it gets the first free virtio console, and host directory {@code dir} gets {@link Spawned#INPUT}
     * and {@link Spawned#OUTPUT} as links to the console's files and {@link Spawned#OFFSET} where this process's output
     * starts in them.
     */
    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                         boolean terminal) {
        Path state = options.stateDir().resolve(s.id());
        String guestDir = GUEST_DIR + "/" + key(dir);
        Map<String, String> merged = new LinkedHashMap<>(s.spec().env());
        if (env != null) {
            merged.putAll(env);
        }
        String wd = workdir != null ? workdir : s.spec().workdir() != null ? s.spec().workdir() : "/";
        merged.putIfAbsent("PWD", wd);
        if (terminal && !consoles) {
            throw new DavitException(Kind.USAGE, "sandbox " + s.id() + " runs on the " + s.spec().backend()
                    + " backend, which has no terminals for shells yet; start the command without a terminal, or"
                    + " use the container or vm backend for shells");
        }
        try {
            Files.createDirectories(dir);
            for (String f : List.of(Spawned.EXIT, Spawned.OUTPUT, Spawned.INPUT, Spawned.OFFSET)) {
                Files.deleteIfExists(dir.resolve(f));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + dir + ": " + e.getMessage());
        }
        long pid = vm.withAgent(s, (c, t) -> {
            String tty = null;
            if (terminal) {
                if (!Files.exists(Machine.consoleInput(state, 1), LinkOption.NOFOLLOW_LINKS)) {
                    throw new DavitException(Kind.USAGE, "the microVM of sandbox " + s.id() + " was started without"
                            + " consoles for shells (by an older davit); stop and start it (or its workspace)");
                }
                String busy = helper(c, s, "consoles");
                int free = -1;
                for (int i = 0; i < Machine.CONSOLES && free < 0; i++) {
                    if (!(" " + busy + " ").contains(" /dev/hvc" + i + " ")) {
                        free = i;
                    }
                }
                if (free < 0) {
                    throw new DavitException(Kind.USAGE, "all " + Machine.CONSOLES + " terminals of the microVM of"
                            + " sandbox " + s.id() + " are taken; close a shell first (a microVM has "
                            + Machine.CONSOLES + ")");
                }
                tty = "/dev/hvc" + free;
                Path out = Machine.consoleOutput(state, free + 1);
                try {
                    // where the shell's output starts: the end of what the console's capper kept so far
                    Map<String, Object> a = Files.readAttributes(out, "unix:size,ino", LinkOption.NOFOLLOW_LINKS);
                    Fs.writeAtomically(dir.resolve(Spawned.OFFSET), (a.get("size") + " " + a.get("ino"))
                            .getBytes(StandardCharsets.US_ASCII), dir);
                    Files.createSymbolicLink(dir.resolve(Spawned.OUTPUT), out);
                    Files.createSymbolicLink(dir.resolve(Spawned.INPUT), Machine.consoleInput(state, free + 1));
                } catch (IOException e) {
                    throw new DavitException(Kind.STORE, "cannot prepare " + dir + ": " + e.getMessage());
                }
            }
            String rid = Protocol.newId();
            String request;
            try {
                request = Protocol.spawn(rid, guestDir, tty, wd, merged, argv);
            } catch (IllegalArgumentException e) {
                throw new DavitException(Kind.USAGE, "cannot pass the command to sandbox " + s.id() + ": "
                        + e.getMessage());
            }
            Protocol.Answer a = c.call(request, rid, System.nanoTime() + HELPER_TIMEOUT.toNanos());
            return switch (a) {
                case Protocol.Started st -> st.pid();
                case Protocol.Failure f when f.code().equals("workdir") -> throw new DavitException(Kind.USAGE,
                        "the working directory " + wd + " does not exist in the sandbox");
                default -> throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + s.id()
                        + " did not start the command: " + a);
            };
        });
        return new Spawned(0, 0, pid, 0, s.id(), guestDir);
    }

    /** A guest directory name for host directory {@code dir}: the same one for a process started again there. */
    private static String key(Path dir) {
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(dir.toAbsolutePath().toString()
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether the process runs (no exit code recorded, started since the guest's last boot). */
    public boolean alive(Sandbox s, Spawned p) {
        return helper(s, "status", p.guestDir()).equals("running");
    }

    /** See {@code Sandboxes.signal}: to the group and session, or with {@code foreground} the terminal's. */
    public boolean signal(Sandbox s, Spawned p, String signal, boolean foreground) {
        return helper(s, "signal", p.guestDir(), signal, foreground ? "1" : "0").equals("sent");
    }

    /** TERM to the group and session, KILL after {@code grace}; returns once its exit code is recorded. */
    public void terminate(Sandbox s, Spawned p, Duration grace) {
        helper(s, "stop", p.guestDir(), Long.toString(Math.max(1, (grace.toMillis() + 999) / 1000)));
    }

    /** Kills every process of the guest but its agent (what execs left behind too). */
    public void killAll(Sandbox s) {
        helper(s, "killall");
    }

    /**
     * Copies what the guest recorded of the process to host directory {@code dir}: {@link Spawned#EXIT} once it
     * ended, and (without a terminal, whose output is on the host already) the first {@link #MAX_OUTPUT} bytes of
     * {@link Spawned#OUTPUT}.
     */
    public void collect(Sandbox s, Spawned p, Path dir) {
        dev.davit.sandbox.backend.GuestFiles files = new AgentFiles(vm, s);
        try {
            Files.createDirectories(dir);
            if (!Files.isSymbolicLink(dir.resolve(Spawned.OUTPUT))) {
                copy(files, p.guestDir() + "/" + Spawned.OUTPUT, dir.resolve(Spawned.OUTPUT), MAX_OUTPUT);
            }
            copy(files, p.guestDir() + "/" + Spawned.EXIT, dir.resolve(Spawned.EXIT), 64);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + dir + ": " + e.getMessage());
        }
    }

    private static void copy(dev.davit.sandbox.backend.GuestFiles files, String from, Path to, long max) throws IOException {
        try {
            Fs.writeAtomically(to, files.read(from, max).bytes(), to.getParent());
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                throw e;
            }
        }
    }

    private String helper(Sandbox s, String... args) {
        return vm.withAgent(s, (c, t) -> helper(c, s, args));
    }

    /** Runs {@code sh /.davit/agent proc ARGS} in the guest and returns the line it printed. */
    private String helper(AgentClient c, Sandbox s, String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of("/" + VmImages.GUEST_DIR + "/busybox", "sh",
                "/" + VmImages.GUEST_DIR + "/agent", "proc"));
        argv.addAll(List.of(args));
        QemuBackend.Outcome x = QemuBackend.execute(c, argv, Map.of(), "/", HELPER_TIMEOUT, s.id(),
                options.stateDir().resolve(s.id()));
        String out = head(x.stdout());
        if (x.code() != 0) {
            throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + s.id() + " could not " + args[0]
                    + " (exit " + x.code() + "): " + dev.davit.oci.internal.Text.shorten(head(x.stderr()), 300)
                    + " (a sandbox started by an older davit: stop and start it)");
        }
        return out;
    }

    /** The first 4 KiB of {@code output} as text, stripped (a helper prints one short line). */
    private static String head(dev.davit.sandbox.Captured output) {
        return new String(output.range(0, Math.min(output.size(), 4096)), StandardCharsets.UTF_8).strip();
    }
}
