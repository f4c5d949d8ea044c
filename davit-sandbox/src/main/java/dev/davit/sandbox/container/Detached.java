package dev.davit.sandbox.container;

import dev.davit.sandbox.Host;
import dev.davit.sandbox.Capper;
import dev.davit.sandbox.Cgroups;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.Sandboxes;
import dev.davit.sandbox.Spawned;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Detached processes in running container sandboxes ({@link Sandboxes#spawn}): the command is entered as an exec is
 * (nsenter into the namespaces, the cgroup, the image's user) below a small holder on the host:
 *
 * <pre>
 * setsid sh -c HOLDER holder DIR TOOLS CAP 0 setsid [cgroup join] nsenter ... -- ARGV  (output to DIR/output.pipe)
 * setsid sh -c HOLDER holder DIR TOOLS CAP 1 script -qfec 'exec /bin/sh DIR/command.sh' DIR/output.pipe (a terminal)
 *   where DIR/command.sh is: exec [cgroup join] nsenter ... -- ARGV
 * </pre>
 *
 * The holder has its own session (no terminal, so no hangup reaches it), waits for the command and writes its exit
 * code to {@code DIR/exit}; the output reaches {@code DIR/output} through the holder's capper (at most CAP bytes
 * on disk, see {@link #HOLDER}); the command leads a session and process group of its own (util-linux {@code setsid}, or
 * {@code script}'s child, which owns the terminal). A terminal's PTY is made by util-linux {@code script} on the host;
 * its input is the FIFO {@code DIR/input}, which the holder keeps open for reading and writing, so writers never
 * meet an end of file. Neither the holder nor {@code script} is in the sandbox: they outlive davit, and the sandbox's
 * processes only see the terminal's slave side (see docs/WORKSPACES.md, Shells).
 */
public final class Detached {
    /**
     * The holder: its first part (a subshell, started first) is the {@link Capper}, which copies the FIFO
     * {@code DIR/output.pipe} into {@code DIR/output} (at half the cap the file becomes {@code output.1}, the one
     * before is dropped and counted in {@code output.dropped}, and a new one starts). It ignores the signals a stop
     * sends (a service's last words are kept) and ends when every writer is gone. The holder holds the FIFO's
     * writing end itself while the command runs (so the capper never waits for a writer that failed to start), then
     * gives the capper up to 1 s to write what is left before it records the exit code.
     */
    private static final String HOLDER = Capper.FUNCTION + """
            d=$1; mv=$2; dd=$3; stat=$4; sleep=$5; cap=$6; tty=$7; shift 7
            (
              trap '' HUP INT QUIT TERM USR1 USR2
              exec <"$d/output.pipe" >/dev/null 2>&1
              cap "$d/output" $((cap / 2)) 0
            ) &
            c=$!
            exec 4>"$d/output.pipe"
            if [ "$tty" = 1 ]; then exec 3<>"$d/input"; "$@" <&3 3<&- 4>&- >/dev/null 2>&1
            else "$@" >&4 2>&4 4>&- </dev/null; fi
            r=$?
            exec 4>&-
            i=0; while [ $i -lt 50 ] && kill -0 $c 2>/dev/null; do "$sleep" 0.02; i=$((i + 1)); done
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
        Cgroups.Cgroup cg = s.spec().limits().any() ? Cgroups.existing(s.id()) : null;
        ProcessBuilder pb = containers.enter(s, argv, env, workdir, cg, terminal);
        List<String> cmd = new ArrayList<>(List.of(tool("setsid").toString(), "/bin/sh", "-c", HOLDER, "holder",
                dir.toString(), tool("mv").toString(), tool("dd").toString(), tool("stat").toString(),
                tool("sleep").toString(), Long.toString(Spawned.logCap()), terminal ? "1" : "0"));
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
            String line = (shell == null ? "unset SHELL; " : "SHELL=" + quote(shell) + "; export SHELL; ") + "exec "
                    + String.join(" ", pb.command().stream().map(Detached::quote).toList());
            pb.environment().put("SHELL", "/bin/sh");
            // in a file, so that the line script writes atop its output (naming the command) stays one short line
            Path file = dir.resolve("command.sh");
            try {
                Files.writeString(file, line + "\n");
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot write " + file + ": " + e.getMessage());
            }
            cmd.addAll(List.of(tool("script").toString(), "-q", "-f", "-e", "-c", "exec /bin/sh " + quote(
                    file.toString()), dir.resolve(PIPE).toString()));
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
     * Sends {@code signal} (one of {@link Spawned#SIGNALS}) to the command's process group and every process below the
     * holder; with {@code foreground}, to the foreground process group of its terminal only (as a key such as
     * Ctrl-C would). Returns whether anything was signalled.
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
            victims(p).keySet().forEach(pid -> targets.add(Long.toString(pid)));
            if (Host.alive(p.leaderPid(), p.leaderStart())) {
                targets.add("-" + p.leaderPid());
            }
        }
        if (targets.isEmpty()) {
            return false;
        }
        List<String> cmd = new ArrayList<>(List.of(tool("kill").toString(), "-s", signal, "--"));
        cmd.addAll(targets);
        try {
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(10, TimeUnit.SECONDS); // a target gone meanwhile is no error
        } catch (IOException e) {
            throw new DavitException(Kind.INTERNAL, "cannot run kill: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
        return true;
    }

    /**
     * Ends the command: TERM to its process group and tree, KILL to what is left after {@code grace}; returns when
     * they and the holder are gone (the holder writes the exit code first).
     */
    public void terminate(Spawned p, Duration grace) {
        List<ProcessHandle> all = new ArrayList<>(victims(p).values());
        ProcessHandle.of(p.holderPid()).filter(h -> alive(p)).ifPresent(all::add);
        signal(p, "TERM", false);
        if (!waitGone(all, grace)) {
            signal(p, "KILL", false);
            if (!waitGone(all, Duration.ofSeconds(5))) {
                all.forEach(ProcessHandle::destroyForcibly); // the holder too, as a last resort
                waitGone(all, Duration.ofSeconds(5));
            }
        }
    }

    /** The live processes below the holder and in the leader's process group, by pid. */
    private static Map<Long, ProcessHandle> victims(Spawned p) {
        Map<Long, ProcessHandle> out = new LinkedHashMap<>();
        if (alive(p)) {
            ProcessHandle.of(p.holderPid()).ifPresent(h -> h.descendants().forEach(d -> out.put(d.pid(), d)));
        }
        if (Host.alive(p.leaderPid(), p.leaderStart())) {
            ProcessHandle.allProcesses().forEach(h -> {
                String[] f = Host.stat(h.pid());
                if (f != null && Long.parseLong(f[2]) == p.leaderPid()) {
                    out.put(h.pid(), h);
                }
            });
        }
        return out;
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
        return Host.tool(options, name);
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static void sleep(long ms) {
        java.util.concurrent.locks.LockSupport.parkNanos(ms * 1_000_000);
        if (Thread.interrupted()) {
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
    }
}
