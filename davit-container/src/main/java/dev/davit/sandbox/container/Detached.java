package dev.davit.sandbox.container;

import dev.davit.sandbox.host.Host;
import dev.davit.sandbox.backend.Capper;
import dev.davit.sandbox.backend.Cgroups;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Detached processes in running container sandboxes ({@code Machinery.spawn}): the command is entered as an exec is
 * (nsenter into the namespaces, the cgroup, the image's user) below a small holder on the host:
 *
 * <pre>
 * setsid sh -c HOLDER holder DIR TOOLS CAP 0 setsid [cgroup join] nsenter ... -- ARGV  (output to DIR/output.pipe)
 * setsid sh -c HOLDER holder DIR TOOLS CAP 1 script -qfec 'exec /bin/sh DIR/command.sh' /dev/null  (a terminal;
 *                                                   script's standard output to DIR/output.pipe)
 *   where DIR/command.sh is: exec [cgroup join] nsenter ... -- ARGV
 * </pre>
 *
 * The holder has its own session (no terminal, so no hangup reaches it), waits for the command and writes its exit
 * code to {@code DIR/exit}; the output reaches {@code DIR/output} through the holder's capper (at most CAP bytes
 * on disk, see {@link #HOLDER}); the command leads a session and process group of its own (util-linux {@code setsid}, or
 * {@code script}'s child, which owns the terminal). A terminal's PTY is made by util-linux {@code script} on the host;
 * its input is the FIFO {@code DIR/input}, which the holder keeps open for reading and writing, so writers never
 * meet an end of file. Neither the holder nor {@code script} is in the sandbox: they outlive davit, and the sandbox's
 * processes only see the terminal's slave side (see docs/reference/workspaces/PROCESSES.md, Shells).
 */
public final class Detached {
    /**
     * The holder: its first part (a subshell, started first) is the {@link Capper}, which copies the FIFO
     * {@code DIR/output.pipe} (through {@link Spawned#OUTPUT_FILTER} when the caller put one in {@code DIR})
     * into {@code DIR/output} (at half the cap the file becomes {@code output.1}, the one
     * before is dropped and counted in {@code output.dropped}, and a new one starts). It ignores the signals a stop
     * sends (a service's last words are kept) and ends when every writer is gone. The holder holds the FIFO's
     * writing end itself while the command runs (so the capper never waits for a writer that failed to start), then
     * gives the capper up to 1 s (30 s with a filter) to write what is left before it records the exit code. With
     * a filter, the command starts once the filter says it is ready ({@code DIR/output.filter.up}), so that what
     * the command writes first reaches the log as soon as later output does; a filter not ready within 30 s means the
     * command does not run (exit code 125): its output would have nowhere to go.
     */
    private static final String HOLDER = Capper.FUNCTION + """
            d=$1; mv=$2; dd=$3; stat=$4; sleep=$5; cap=$6; tty=$7; join=${8:-'exec "$@"'}; shift 8
            (
              trap '' HUP INT QUIT TERM USR1 USR2
              exec <"$d/output.pipe" >/dev/null 2>&1
              if [ -f "$d/output.filter" ]; then /bin/sh -c "$join" sh /bin/sh "$d/output.filter" |
                cap "$d/output" $((cap / 2)) 0
              else cap "$d/output" $((cap / 2)) 0; fi
            ) &
            c=$!
            exec 4>"$d/output.pipe"
            r=125
            if [ -f "$d/output.filter" ]; then
              i=0; while [ ! -e "$d/output.filter.up" ] && [ $i -lt 1500 ] && kill -0 $c 2>/dev/null; do
                "$sleep" 0.02; i=$((i + 1)); done
            fi
            if [ -f "$d/output.filter" ] && [ ! -e "$d/output.filter.up" ]; then :
            elif [ "$tty" = 1 ]; then exec 3<>"$d/input"; "$@" <&3 3<&- >&4 2>/dev/null 4>&-; r=$?
            else "$@" >&4 2>&4 4>&- </dev/null; r=$?; fi
            exec 4>&-
            n=50; [ -f "$d/output.filter" ] && n=1500
            i=0; while [ $i -lt $n ] && kill -0 $c 2>/dev/null; do "$sleep" 0.02; i=$((i + 1)); done
            echo $r >"$d/exit.tmp" && "$mv" -f "$d/exit.tmp" "$d/exit"
            """;
    /** In the spawn's directory: the FIFO the command's output goes through to the capper. */
    static final String PIPE = "output.pipe";
    private static final Duration LEADER_WAIT = Duration.ofSeconds(10);

    private final SandboxOptions options;
    private final ContainerLifecycle containers;

    public Detached(SandboxOptions options, ContainerLifecycle containers) {
        this.options = options;
        this.containers = containers;
    }

    public Spawned spawn(Sandbox s, List<String> argv, Map<String, String> env, String workdir, Path dir,
                  boolean terminal) {
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.existing(s.id(), options.stateDir().resolve(s.id()),
                s.spec().limits()) : null;
        ProcessBuilder pb = containers.enter(s, argv, env, workdir, cg, terminal);
        List<String> cmd = new ArrayList<>(List.of(tool("setsid").toString(), "/bin/sh", "-c", HOLDER, "holder",
                dir.toString(), tool("mv").toString(), tool("dd").toString(), tool("stat").toString(),
                tool("sleep").toString(), Long.toString(Spawned.logCap()), terminal ? "1" : "0", filterJoin(s, cg)));
        try {
            Files.createDirectories(dir);
            for (String f : List.of(Spawned.EXIT, Spawned.OUTPUT, Spawned.OUTPUT_OLD, Spawned.OUTPUT_DROPPED)) {
                Files.deleteIfExists(dir.resolve(f));
            }
            List<String> fifos = terminal ? List.of(PIPE, Spawned.INPUT) : List.of(PIPE);
            for (String f : fifos) {
                Files.deleteIfExists(dir.resolve(f));
                run(List.of(tool("mkfifo").toString(), "-m", "600", dir.resolve(f).toString()));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot prepare " + dir + ": " + e.getMessage());
        }
        if (terminal) {
            // script runs its command with $SHELL -c on the host: the host's sh, then the sandbox's own SHELL again
            String shell = pb.environment().get("SHELL");
            // the file removes itself first: its command line (which may hold a value the caller gave) rests on
            // disk only until the shell has read it
            String line = quote(tool("rm").toString()) + " -f -- \"$0\"; "
                    + (shell == null ? "unset SHELL; " : "SHELL=" + quote(shell) + "; export SHELL; ") + "exec "
                    + String.join(" ", pb.command().stream().map(Detached::quote).toList());
            pb.environment().put("SHELL", "/bin/sh");
            // in a file: script's -c takes one string. What the terminal shows is script's standard output (its
            // typescript file, /dev/null, would start and end with lines of script's own: "Script started on ...")
            Path file = dir.resolve("command.sh");
            try {
                Files.writeString(file, line + "\n");
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot write " + file + ": " + e.getMessage());
            }
            cmd.addAll(List.of(tool("script").toString(), "-q", "-f", "-e", "-c", "exec /bin/sh " + quote(
                    file.toString()), "/dev/null"));
        } else {
            cmd.add(tool("setsid").toString());
            cmd.addAll(pb.command());
        }
        pb.command(cmd);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot start a process in sandbox " + s.id() + ": "
                    + e.getMessage());
        }
        long holderStart = Host.startTime(p.pid());
        long deadline = System.nanoTime() + LEADER_WAIT.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            long leader = leader(p.toHandle());
            if (leader > 0) {
                return new Spawned(p.pid(), holderStart, leader, Host.startTime(leader));
            }
            sleep(5);
        }
        return new Spawned(p.pid(), holderStart, 0, 0); // it ended at once (its exit code says why)
    }

    /**
     * The step that moves the output filter (a JVM on the host, see {@link Spawned#OUTPUT_FILTER}) into the
     * sandbox's cgroups before it starts, as an exec joins them: its memory, CPU and processes count against the
     * sandbox's limits and davit's totals, not against nothing; empty without cgroups.
     */
    private String filterJoin(Sandbox s, Cgroups.Cgroup cg) {
        String join = cg == null ? null
                : cg.joinScript(options.stateDir().resolve(s.id()).resolve(Cgroups.JOIN_FAILED));
        return join == null ? "" : join;
    }

    /** The first process below {@code holder}, breadth first, that leads its own process group. */
    private static long leader(ProcessHandle holder) {
        Deque<ProcessHandle> todo = new ArrayDeque<>(holder.children().toList());
        while (!todo.isEmpty()) {
            ProcessHandle h = todo.poll();
            String[] f = Host.stat(h.pid());
            if (f != null && Long.parseLong(f[2]) == h.pid()) {
                return h.pid();
            }
            todo.addAll(h.children().toList());
        }
        return 0;
    }

    public static boolean alive(Spawned p) {
        return Host.alive(p.holderPid(), p.holderStart());
    }

    /**
     * Sends {@code signal} (one of {@link Spawned#SIGNALS}) to the command's processes ({@link #command}); with
     * {@code foreground}, to the foreground process group of its terminal only (as a key such as Ctrl-C would).
     * Returns whether anything was signalled.
     */
    public boolean signal(Spawned p, String signal, boolean foreground) {
        Spawned.checkSignal(signal);
        List<String> targets = new ArrayList<>();
        if (foreground) {
            String[] f = Host.alive(p.leaderPid(), p.leaderStart()) ? Host.stat(p.leaderPid()) : null;
            long tpgid = f == null ? -1 : Long.parseLong(f[5]);
            if (tpgid > 0) {
                targets.add("-" + tpgid);
            }
        } else {
            targets = targets(p, command(p, Procs.now()));
        }
        return send(List.of(signal), targets);
    }

    /** {@code pids} as kill(1) targets, with the leader's process group while the leader runs. */
    private static List<String> targets(Spawned p, Set<Long> pids) {
        List<String> targets = new ArrayList<>();
        pids.forEach(pid -> targets.add(Long.toString(pid)));
        if (Host.alive(p.leaderPid(), p.leaderStart())) {
            targets.add("-" + p.leaderPid());
        }
        return targets;
    }

    /** Sends each of {@code signals} in turn to {@code targets} (one process started); false when there are none. */
    private boolean send(List<String> signals, List<String> targets) {
        if (targets.isEmpty()) {
            return false;
        }
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", "for s in $SIGNALS; do \"$0\" -s $s -- \"$@\";"
                + " done", tool("kill").toString()));
        cmd.addAll(targets);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("SIGNALS", String.join(" ", signals));
        try {
            pb.start().waitFor(10, TimeUnit.SECONDS); // a target gone meanwhile is no error
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot run kill: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
        return true;
    }

    /**
     * Ends the command: TERM to its processes ({@link #command}; HUP first when it has a terminal: an interactive
     * shell ignores TERM but ends when its terminal hangs up), and after {@code grace} KILL to what is left of them
     * and to every process below the holder; returns when they and the holder are gone (the holder writes the exit
     * code first). The holder's own helpers are not signalled before the KILL: they end by themselves once the
     * command has (util-linux {@code script}, sent TERM, would wait 2 s before it kills its child; the capper keeps
     * the last words).
     */
    public void terminate(Spawned p, Duration grace) {
        Procs procs = Procs.now();
        Set<Long> command = command(p, procs);
        Set<Long> everything = new LinkedHashSet<>(command);
        if (alive(p)) {
            everything.addAll(procs.below(p.holderPid()));
        }
        List<ProcessHandle> all = new ArrayList<>();
        everything.forEach(pid -> ProcessHandle.of(pid).ifPresent(all::add));
        ProcessHandle.of(p.holderPid()).filter(h -> alive(p)).ifPresent(all::add);
        String[] leader = Host.alive(p.leaderPid(), p.leaderStart()) ? Host.stat(p.leaderPid()) : null;
        send(leader != null && !leader[4].equals("0") ? List.of("HUP", "TERM") : List.of("TERM"),
                targets(p, command));
        if (!waitGone(all, grace)) {
            Procs now = Procs.now();
            everything.addAll(command(p, now));
            if (alive(p)) {
                everything.addAll(now.below(p.holderPid()));
            }
            send(List.of("KILL"), targets(p, everything));
            if (!waitGone(all, Duration.ofSeconds(5))) {
                all.forEach(ProcessHandle::destroyForcibly); // the holder too, as a last resort
                waitGone(all, Duration.ofSeconds(5));
            }
        }
    }

    /**
     * The command's live processes: while its leader runs, the leader, the processes below it and those in its
     * process group or session (a shell's jobs); never the holder's own helpers.
     */
    private static Set<Long> command(Spawned p, Procs procs) {
        Set<Long> out = new LinkedHashSet<>();
        if (Host.alive(p.leaderPid(), p.leaderStart())) {
            out.add(p.leaderPid());
            out.addAll(procs.below(p.leaderPid()));
            procs.stat().forEach((pid, f) -> {
                if (f[1] == p.leaderPid() || f[2] == p.leaderPid()) {
                    out.add(pid);
                }
            });
        }
        return out;
    }

    /** The processes of the host at one time: each one's parent, process group and session, from one pass. */
    private record Procs(Map<Long, long[]> stat) {
        static Procs now() {
            Map<Long, long[]> m = new HashMap<>();
            ProcessHandle.allProcesses().forEach(h -> {
                String[] f = Host.stat(h.pid());
                if (f != null) {
                    m.put(h.pid(), new long[] {Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3])});
                }
            });
            return new Procs(m);
        }

        /** The processes below {@code pid}. */
        Set<Long> below(long pid) {
            Map<Long, List<Long>> children = new HashMap<>();
            stat.forEach((c, f) -> children.computeIfAbsent(f[0], k -> new ArrayList<>()).add(c));
            Set<Long> out = new LinkedHashSet<>();
            Deque<Long> todo = new ArrayDeque<>(children.getOrDefault(pid, List.of()));
            while (!todo.isEmpty()) {
                long c = todo.poll();
                if (out.add(c)) {
                    todo.addAll(children.getOrDefault(c, List.of()));
                }
            }
            return out;
        }
    }

    private static boolean waitGone(List<ProcessHandle> all, Duration d) {
        long deadline = System.nanoTime() + d.toNanos();
        while (all.stream().anyMatch(Host::running)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(10);
        }
        return true;
    }

    private void run(List<String> cmd) throws IOException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    private Path tool(String name) {
        return Host.tool(options.searchPath(), name);
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static void sleep(long ms) {
        java.util.concurrent.locks.LockSupport.parkNanos(ms * 1_000_000);
        if (Thread.currentThread().isInterrupted()) { // the status stays set for the caller
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }
}
