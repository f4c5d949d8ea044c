package dev.davit.sandbox.vm;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.agent.AgentWire;
import dev.davit.sandbox.agent.LinkFiles;
import dev.davit.sandbox.agent.LinkProcesses;
import dev.davit.sandbox.backend.GuestFiles;
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
import java.util.function.Function;

/**
 * Detached processes (services, shells) in running vm sandboxes and pods, through davit-agent: its SPAWN and PROC
 * requests ({@link LinkProcesses}) start each below a holder that records it in a directory {@code /.davit/procs/KEY}
 * of the guest, and answer whether it runs, signal and stop it; a sandbox an older davit started (no davit-agent to
 * ask) is refused in one line. A terminal is one of the VM's {@link Machine#CONSOLES} virtio consoles: a TTY in the guest
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
    private final boolean consoles;
    private final Function<Sandbox, LinkFiles.Links> links;
    private final Function<Sandbox, GuestFiles> files;

    /**
     * Detached processes through davit-agent's links; with {@code consoles} a terminal is a virtio console (a
     * microVM's), else a pty davit-agent's holder keeps (a pod's).
     *
     * @param options  the sandboxes' options
     * @param consoles whether the sandboxes have {@link Machine#CONSOLES} consoles for terminals
     * @param links    a sandbox's links to davit-agent (a sandbox an older davit started is refused there)
     * @param files    a sandbox's files, which {@link #collect} reads
     */
    public VmProcesses(SandboxOptions options, boolean consoles, Function<Sandbox, LinkFiles.Links> links,
                       Function<Sandbox, GuestFiles> files) {
        this.options = options;
        this.consoles = consoles;
        this.links = links;
        this.files = files;
    }

    /** {@code call} through davit-agent in sandbox {@code s}. */
    private <T> T agent(Sandbox s, Function<LinkProcesses, T> call) {
        return call.apply(new LinkProcesses(links.apply(s), s.id(), HELPER_TIMEOUT));
    }

    /**
     * The refusal of sandbox {@code id}, started by a davit before davit-agent served it: nothing in it speaks the
     * only protocol this davit has.
     *
     * @param id the sandbox
     * @return the error, one line naming the fix
     */
    static DavitException olderDavit(String id) {
        return new DavitException(Kind.USAGE, "sandbox " + id + " was started by an older davit, without davit-agent;"
                + " stop and start it (or its workspace)");
    }

    /**
     * Starts {@code argv} detached in running vm sandbox {@code s} (see {@code Machinery.spawn}). With
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
        try {
            Files.createDirectories(dir);
            for (String f : List.of(Spawned.EXIT, Spawned.OUTPUT, Spawned.INPUT, Spawned.OFFSET)) {
                Files.deleteIfExists(dir.resolve(f));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + dir + ": " + e.getMessage());
        }
        long pid = agent(s, lp -> {
            // a pod's terminal is a pty its holder keeps, read and typed through the agent (terminal())
            String tty = !terminal ? null : consoles ? console(s, state, dir, lp.consoles()) : AgentWire.PTY;
            return lp.spawn(guestDir, tty, argv, merged, wd);
        });
        return new Spawned(0, 0, pid, 0, s.id(), guestDir);
    }

    /**
     * The first virtio console not in {@code busy} (bit N: {@code /dev/hvcN} held open) for a process recorded in
     * host directory {@code dir}: its {@link Spawned#INPUT} and {@link Spawned#OUTPUT} linked to the console's
     * files, {@link Spawned#OFFSET} where its output starts in them.
     */
    private static String console(Sandbox s, Path state, Path dir, long busy) {
        if (!Files.exists(Machine.consoleInput(state, 1), LinkOption.NOFOLLOW_LINKS)) {
            throw new DavitException(Kind.USAGE, "the microVM of sandbox " + s.id() + " was started without"
                    + " consoles for shells (by an older davit); stop and start it (or its workspace)");
        }
        int free = -1;
        for (int i = 0; i < Machine.CONSOLES && free < 0; i++) {
            if ((busy & (1L << i)) == 0) {
                free = i;
            }
        }
        if (free < 0) {
            throw new DavitException(Kind.USAGE, "all " + Machine.CONSOLES + " terminals of the microVM of"
                    + " sandbox " + s.id() + " are taken; close a shell first (a microVM has "
                    + Machine.CONSOLES + ")");
        }
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
        return "/dev/hvc" + free;
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

    /**
     * The terminal of process {@code p} of sandbox {@code s}, where it is not on the host: a pod's (a pty its holder
     * keeps); null for a microVM's (a virtio console, whose files are on the host) and without davit-agent.
     *
     * @param s the sandbox when it runs, else null (then nothing is read and nothing taken)
     * @param p the process
     * @return the terminal, or null
     */
    public dev.davit.sandbox.backend.GuestTerminal terminal(Sandbox s, Spawned p) {
        if (consoles) {
            return null;
        }
        if (s == null) {
            return new dev.davit.sandbox.backend.GuestTerminal() {
                @Override
                public Chunk output(long pos, int max) {
                    return new Chunk(pos, new byte[0]);
                }

                @Override
                public long input(byte[] data, Duration wait) {
                    return -1;
                }
            };
        }
        return agent(s, lp -> lp.terminal(p.guestDir()));
    }

    /** Whether the process runs (no exit code recorded, started since the guest's last boot). */
    public boolean alive(Sandbox s, Spawned p) {
        return agent(s, lp -> lp.status(p.guestDir()) == AgentWire.RUNNING);
    }

    /** See {@code Sandboxes.signal}: to the group and session, or with {@code foreground} the terminal's. */
    public boolean signal(Sandbox s, Spawned p, String signal, boolean foreground) {
        return agent(s, lp -> lp.signal(p.guestDir(), signal, foreground));
    }

    /** TERM to the group and session, KILL after {@code grace}; returns once its exit code is recorded. */
    public void terminate(Sandbox s, Spawned p, Duration grace) {
        agent(s, lp -> lp.stop(p.guestDir(), grace));
    }

    /** Kills every process of the guest but its agent (what execs left behind too). */
    public void killAll(Sandbox s) {
        agent(s, lp -> {
            lp.killAll();
            return null;
        });
    }

    /**
     * Copies what the guest recorded of the process to host directory {@code dir}: {@link Spawned#EXIT} once it
     * ended, and (without a terminal, whose output is on the host already) the first {@link #MAX_OUTPUT} bytes of
     * {@link Spawned#OUTPUT}.
     */
    public void collect(Sandbox s, Spawned p, Path dir) {
        GuestFiles guest = files.apply(s);
        try {
            Files.createDirectories(dir);
            if (!Files.isSymbolicLink(dir.resolve(Spawned.OUTPUT))) {
                copy(guest, p.guestDir() + "/" + Spawned.OUTPUT, dir.resolve(Spawned.OUTPUT), MAX_OUTPUT);
            }
            copy(guest, p.guestDir() + "/" + Spawned.EXIT, dir.resolve(Spawned.EXIT), 64);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write into " + dir + ": " + e.getMessage());
        }
    }

    private static void copy(GuestFiles files, String from, Path to, long max) throws IOException {
        try {
            Fs.writeAtomically(to, files.read(from, max).bytes(), to.getParent());
        } catch (DavitException e) {
            if (e.kind() != Kind.NOT_FOUND) {
                throw e;
            }
        }
    }
}
