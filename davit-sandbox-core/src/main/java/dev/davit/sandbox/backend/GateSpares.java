package dev.davit.sandbox.backend;

import dev.davit.sandbox.jail.Jail;
import dev.davit.sandbox.network.Gate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Spare egress gates (as root): a gate's JVM takes about 100 ms to start, most of a policy sandbox's start, so from
 * the second gate a davit process starts for one state directory on, it keeps one gate started ahead for the next
 * sandbox of that state directory ({@code Gate --spare}; one at most: a spare of another state directory is ended). A spare waits, as root in no sandbox's namespace with only the capabilities it
 * needs to make its two sockets in one (sys_admin, sys_ptrace, net_bind_service, dac_read_search) and to become its
 * user (setuid, setgid), and no_new_privs, for its orders on its standard input, a pipe from this process: when
 * this process ends first, the pipe does and so does the spare. Once told its sandbox it makes its sockets there,
 * becomes the user a gate of that sandbox is (every thread: the kernel clears all their capabilities, which it checks) and
 * only then reads anything of its directory or the sandbox's. A one-shot davit (the CLI's run) starts one gate and
 * never a spare. The system property {@code davit.gate.spares=false} turns spares off.
 */
final class GateSpares {
    /** The spares' directory in the sandboxes' state directory (davit's, 0700): their working directory and logs. */
    static final String DIR = ".gate-spares";
    private static final boolean ENABLED = !"false".equals(System.getProperty("davit.gate.spares"));
    /** The one spare of this process (of the state directory whose gate started last), or null. */
    private static Spare spare;
    /** How many gates this process started, by state directory. */
    private static final java.util.Map<Path, AtomicInteger> STARTED = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A spare gate.
     *
     * @param process  its process (its input the pipe of its orders)
     * @param stateDir the state directory it serves a sandbox of (its log is there, to be renamed into the sandbox's)
     * @param log      its output's file, in {@link #DIR}
     * @param key      what it was started with ({@link #key})
     */
    record Spare(Process process, Path stateDir, Path log, String key) {
    }

    private GateSpares() {
    }

    /** What a spare must have been started with to serve a gate of class path {@code cp} and AOT cache {@code aot}. */
    static String key(List<String> cp, Path aot) {
        return String.join(java.io.File.pathSeparator, cp) + "|" + aot + "|" + Egress.java();
    }

    /**
     * The spare if there is one alive for {@code stateDir} and {@code key} (taken: no one else gets it), or null (a
     * spare of another state directory or key is ended).
     */
    static Spare take(Path stateDir, String key) {
        Spare s;
        synchronized (GateSpares.class) {
            s = spare;
            spare = null;
        }
        if (s == null) {
            return null;
        }
        if (!s.stateDir().equals(stateDir.toAbsolutePath()) || !s.key().equals(key) || !s.process().isAlive()) {
            discard(s);
            return null;
        }
        return s;
    }

    /**
     * After a gate of {@code stateDir} started: from the second in this process on, a spare is started for the next,
     * in the background (one at most: a spare of another state directory is ended).
     */
    static void started(Nat.Tools t, Path stateDir, List<String> cp, Path aot, String key) {
        Path at = stateDir.toAbsolutePath();
        if (!ENABLED || !Jail.AS_ROOT || STARTED.computeIfAbsent(at, d -> new AtomicInteger()).incrementAndGet() < 2) {
            return;
        }
        Thread.ofVirtual().start(() -> {
            synchronized (GateSpares.class) {
                if (spare != null && spare.stateDir().equals(at) && spare.key().equals(key)
                        && spare.process().isAlive()) {
                    return;
                }
                if (spare != null) {
                    discard(spare);
                    spare = null;
                }
                try {
                    spare = spawn(t, at, cp, aot, key);
                } catch (RuntimeException e) {
                    // no spare: the next gate starts as the first did
                }
            }
        });
    }

    /** The spare, if any (for tests). */
    static synchronized Spare spare() {
        return spare;
    }

    private static void discard(Spare s) {
        try {
            s.process().getOutputStream().close(); // its end
        } catch (IOException e) {
            // ending anyway
        }
        s.process().destroyForcibly();
        try {
            Files.deleteIfExists(s.log());
        } catch (IOException e) {
            // an old log is removed by a later spawn
        }
    }

    private static Spare spawn(Nat.Tools t, Path stateDir, List<String> cp, Path aot, String key) {
        Path dir = stateDir.resolve(DIR);
        try {
            Files.createDirectories(dir);
            Files.setAttribute(dir, "unix:mode", 0700, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            clean(dir);
            Path log = dir.resolve("spare-" + dev.davit.oci.internal.RandomHex.of(6) + ".log");
            List<String> opened = new ArrayList<>(cp);
            if (aot != null) {
                opened.add(aot.toString());
            }
            List<String> cmd = new ArrayList<>();
            Path setsid = Path.of("/usr/bin/setsid");
            cmd.add(Files.isExecutable(setsid) ? setsid.toString() : "setsid");
            cmd.addAll(Egress.opening(opened));
            cmd.addAll(List.of(t.setpriv().toString(), "--clear-groups", "--no-new-privs",
                    "--bounding-set=-all,+sys_admin,+sys_ptrace,+net_bind_service,+dac_read_search,+setuid,+setgid",
                    "--inh-caps=-all", "--"));
            cmd.addAll(Egress.jvm(cp, aot == null ? null : "/proc/self/fd/" + (3 + cp.size())));
            cmd.addAll(List.of(Gate.class.getName(), "--spare"));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.environment().clear();
            pb.directory(dir.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.PIPE);
            pb.redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
            pb.redirectErrorStream(true);
            return new Spare(pb.start(), stateDir, log, key);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Removes the logs of spares gone long ago: not written for a day (a spare idle that long loses its log's name,
     * which {@link Egress} bears).
     */
    private static void clean(Path dir) throws IOException {
        FileTime old = FileTime.fromMillis(System.currentTimeMillis() - 86_400_000L);
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().endsWith(".log")
                        && Files.getLastModifiedTime(p, java.nio.file.LinkOption.NOFOLLOW_LINKS).compareTo(old) < 0) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
