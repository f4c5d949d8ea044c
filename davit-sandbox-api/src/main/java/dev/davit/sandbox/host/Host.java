package dev.davit.sandbox.host;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Facts about the host every backend needs: processes by pid and start time (a pid that was reused is never taken
 * for the process it once was), tools on the PATH, root filesystems, best-effort deletion.
 */
public final class Host {
    private Host() {
    }

    /**
     * This process's uid and gid (effective).
     *
     * @return {uid, gid}
     * @throws DavitException INTERNAL when /proc/self cannot be read
     */
    public static int[] ownIds() {
        try {
            return new int[] {(Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"),
                    "unix:uid"), (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"),
                    "unix:gid")};
        } catch (java.io.IOException e) {
            throw new dev.davit.oci.DavitException(dev.davit.oci.DavitException.Kind.INTERNAL,
                    "cannot read this process's ids: " + e.getMessage());
        }
    }

    /** Whether davit runs as root: read once (the jail, disks and the NAT's per-sandbox owners depend on it). */
    public static final boolean AS_ROOT = uid() == 0;

    /**
     * This process's user id.
     *
     * @return the id; -1 when {@code /proc/self} cannot be read
     */
    public static int uid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Alive and not a zombie (a killed process waiting for the host's init to reap it counts as gone).
     *
     * @param p the process
     * @return true while it runs
     */
    public static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            int i = stat.lastIndexOf(')');
            return i < 0 || i + 2 >= stat.length() || stat.charAt(i + 2) != 'Z';
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    /**
     * Executable {@code name} in the first directory of {@code searchPath} that holds one.
     *
     * @param searchPath the {@code :}-separated directories looked in, or null for the process's {@code PATH} (or,
     *                   without one, the usual system directories)
     * @param name       the program's name
     * @return its path, or null when none is found
     */
    public static Path which(String searchPath, String name) {
        String path = searchPath != null ? searchPath : System.getenv("PATH");
        if (path == null) {
            path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
        }
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * Tool {@code name} on the host, for long-lived sandboxes.
     *
     * @param searchPath the {@code :}-separated directories looked in, or null for the process's {@code PATH}
     * @param name       a util-linux or coreutils program's name, e.g. {@code nsenter}
     * @return its path
     * @throws DavitException HOST_UNSUPPORTED naming its package when it is missing
     */
    public static Path tool(String searchPath, String name) {
        Path p = which(searchPath, name);
        if (p == null) {
            throw new DavitException(Kind.HOST_UNSUPPORTED, name + " (util-linux or coreutils) is not installed; long-lived"
                    + " sandboxes need it");
        }
        return p;
    }

    /**
     * A root filesystem directory with links resolved.
     *
     * @param p the directory
     * @return its real path
     * @throws DavitException NOT_FOUND when it does not exist or is not a directory
     */
    public static Path realRootfs(Path p) {
        Path r;
        try {
            r = p.toRealPath();
        } catch (IOException e) {
            throw new DavitException(Kind.NOT_FOUND, "root filesystem " + p + " does not exist");
        }
        if (!Files.isDirectory(r)) {
            throw new DavitException(Kind.NOT_FOUND, "root filesystem " + r + " is not a directory");
        }
        return r;
    }

    /**
     * Where {@code path} (absolute or not, taken from {@code root}) is on the host, resolved inside {@code root} as
     * if it were / (a link to {@code /} leads to {@code root}, {@code ..} stops there), never through a host link:
     * every component but the last is a directory of {@code root} reached without following a link on the host;
     * the last one's link is followed (the same way) only with {@code followLast}. Null when a component on the way
     * is missing or not a directory, or after 40 links. What it names may be missing; checked by path, so a sandbox
     * that swaps a directory for a link meanwhile can only change the answer, not where a later open leads (none
     * here).
     *
     * @param root       the host directory that is the tree's {@code /}
     * @param path       a path in the tree, absolute or relative
     * @param followLast whether a link as the last component is followed (inside {@code root})
     * @return the host path under {@code root}, or null
     */
    public static Path inRoot(Path root, String path, boolean followLast) {
        java.util.Deque<String> todo = new java.util.ArrayDeque<>(List.of(path.split("/")));
        List<String> done = new java.util.ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String c = todo.pollFirst();
            if (c.isEmpty() || c.equals(".")) {
                continue;
            }
            if (c.equals("..")) {
                if (!done.isEmpty()) {
                    done.remove(done.size() - 1);
                }
                continue;
            }
            Path p = root.resolve(String.join("/", done)).resolve(c);
            boolean last = todo.stream().allMatch(t -> t.isEmpty() || t.equals("."));
            if (Files.isSymbolicLink(p) && (followLast || !last)) {
                if (++links > 40) {
                    return null;
                }
                String target;
                try {
                    target = Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    return null;
                }
                if (target.startsWith("/")) {
                    done.clear();
                }
                List<String> tc = List.of(target.split("/"));
                for (int i = tc.size() - 1; i >= 0; i--) {
                    todo.addFirst(tc.get(i));
                }
                continue;
            }
            if (last) {
                return p;
            }
            if (!Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                return null;
            }
            done.add(c);
        }
        return root.resolve(String.join("/", done));
    }

    /**
     * Whether {@code pid} is a live (not zombie) process started at {@code start}.
     *
     * @param pid   a host pid; 0 or less is never alive
     * @param start its recorded start time ({@link #startTime})
     * @return true when that very process still runs
     */
    public static boolean alive(long pid, long start) {
        if (pid <= 0) {
            return false;
        }
        String[] f = stat(pid);
        return f != null && !f[0].equals("Z") && !f[0].equals("X") && Long.parseLong(f[19]) == start;
    }

    /**
     * Whether {@code path} was last modified before this system booted ({@code btime} of /proc/stat): nothing of
     * an earlier boot can still be running.
     *
     * @param path a file or directory
     * @return true when it is older than this boot; false also when either time is unknown
     */
    public static boolean beforeBoot(Path path) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (line.startsWith("btime ")) {
                    long boot = Long.parseLong(line.substring(6).strip());
                    return Files.getLastModifiedTime(path).toMillis() / 1000 < boot;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown: not before
        }
        return false;
    }

    /**
     * Records process {@code pid} in {@code file} as {@code "PID START"} (its start time, see {@link #startTime}), so
     * that a later reader can tell whether that very process still runs ({@link #recorded}, {@link #alive}):
     * written atomically (a temp file in {@code tmpDir}, then a rename), not forced to disk (it means nothing after a
     * reboot).
     *
     * @param file   the record to write
     * @param pid    the process's host pid
     * @param tmpDir a directory on {@code file}'s file system for the temp file
     * @throws IOException when it cannot be written
     */
    public static void record(Path file, long pid, Path tmpDir) throws IOException {
        dev.davit.oci.internal.Fs.writeAtomicallyUntilReboot(file, (pid + " " + startTime(pid) + "\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), tmpDir);
    }

    /**
     * What a {@link #record} holds.
     *
     * @param file the record
     * @return {pid, start time}, or null when it is missing or does not read as one
     */
    public static long[] recorded(Path file) {
        try {
            String[] w = Files.readString(file).strip().split(" ");
            return new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * A process's start time: field 22 of /proc/PID/stat.
     *
     * @param pid a host pid
     * @return clock ticks since boot; 0 when the process is gone
     */
    public static long startTime(long pid) {
        String[] f = stat(pid);
        return f == null ? 0 : Long.parseLong(f[19]);
    }

    /**
     * The fields of /proc/PID/stat after the command name (field 3, the state, onwards).
     *
     * @param pid a host pid
     * @return the fields, or null when the process is gone or the file does not read
     */
    public static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Deletes {@code dir} and everything in it; best effort (a later run's directory has another id).
     *
     * @param dir the directory; a missing one is no error
     */
    public static void deleteTree(Path dir) {
        try {
            dev.davit.oci.internal.Fs.deleteTree(dir);
        } catch (IOException e) {
            // best effort
        }
    }

    /**
     * Copies directory {@code from} to {@code to} (made when missing, merged into when not) with {@code cp -a}:
     * owners (as davit's user may give them), modes, times, hard links, links as links, special files and extended
     * attributes; a copy-on-write clone of each file where the filesystem can make one. Only for a tree nothing
     * changes meanwhile: a directory swapped for a link during the copy would be followed.
     *
     * @param searchPath where {@code cp} is looked up ({@link #which}), or null for the process's {@code PATH}
     * @param from       the directory copied
     * @param to         the copy
     * @throws DavitException STORE when the copy fails
     */
    public static void copyTree(String searchPath, Path from, Path to) {
        copyTree(searchPath, from, to, false);
    }

    /**
     * {@link #copyTree(String, Path, Path)}; with {@code link}, each file of the copy is a hard link to the
     * original's (for trees never written, e.g. a workspace's baseline and snapshots); {@code from} may be a file.
     *
     * @param searchPath where {@code cp} is looked up ({@link #which}), or null for the process's {@code PATH}
     * @param from       the directory (or file) copied
     * @param to         the copy
     * @param link       whether the copy's files are hard links to the original's
     */
    public static void copyTree(String searchPath, Path from, Path to, boolean link) {
        run(List.of(tool(searchPath, "cp").toString(), "-a", link ? "--link" : "--reflink=auto",
                "--no-target-directory", "--", from.toString(), to.toString()), from, to);
    }

    /** Runs copy command {@code cmd} of {@code from} to {@code to}; its first line of output is the error. */
    private static void run(List<String> cmd, Path from, Path to) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new DavitException(Kind.STORE, "cannot copy " + from + " to " + to + ": "
                        + out.strip().lines().findFirst().orElse("cp failed"));
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot copy " + from + " to " + to + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted while copying " + from);
        }
    }

    /**
     * Copies file {@code from} (links followed: e.g. a {@code /proc/self/fd} entry) to {@code to} with {@code cp
     * --sparse=always --reflink=auto}: holes stay holes, a clone where the filesystem makes one.
     *
     * @param searchPath where {@code cp} is looked up ({@link #which}), or null for the process's {@code PATH}
     * @param from       the file copied
     * @param to         the copy
     * @throws DavitException STORE when the copy fails
     */
    public static void copyFile(String searchPath, Path from, Path to) {
        run(List.of(tool(searchPath, "cp").toString(), "--sparse=always", "--reflink=auto", "--",
                from.toString(), to.toString()), from, to);
    }

    /**
     * The bytes of disk {@code paths} take together, each file counted once (GNU {@code du -s -B1 -x}); a missing path
     * counts 0.
     *
     * @param paths the files and directories counted
     * @return their bytes on disk
     * @throws IOException when du fails
     */
    public static long diskUsage(Path... paths) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("du", "-s", "-c", "-B1", "-x", "--"));
        for (Path p : paths) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                cmd.add(p.toString());
            }
        }
        if (cmd.size() == 6) {
            return 0;
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while counting " + paths[0]);
        }
        // the last line is the total; file names may hold anything, so it is read from the end
        String[] lines = out.strip().split("\n");
        String last = lines[lines.length - 1];
        try {
            return Long.parseLong(last.substring(0, last.indexOf('\t')));
        } catch (RuntimeException e) {
            throw new IOException("du printed no total for " + paths[0]);
        }
    }

    /**
     * Sends {@code signal} (e.g. {@code STOP}, {@code CONT}) to process {@code pid} when it is still the one that
     * started at {@code start} (field 22 of its stat).
     *
     * @param pid    the process
     * @param start  its start time, as {@link #startTime} read it
     * @param signal the signal's name
     * @return whether it was sent
     */
    public static boolean signal(long pid, long start, String signal) {
        if (!alive(pid, start)) {
            return false;
        }
        try {
            Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Kills {@code p} and everything under it (a sandbox's processes are its descendants in the host's view), and
     * waits up to 10 seconds for them to end (see {@link #awaitEnd}).
     *
     * @param p the process
     */
    public static void killTree(Process p) {
        List<ProcessHandle> all = new java.util.ArrayList<>(p.descendants().toList());
        p.destroyForcibly();
        all.forEach(ProcessHandle::destroyForcibly);
        all.add(p.toHandle());
        awaitEnd(all, java.time.Duration.ofSeconds(10));
    }

    /**
     * Waits until none of {@code processes} runs any more ({@link #running}: a zombie is gone), or {@code limit}
     * passed. It polls /proc every few milliseconds: {@link ProcessHandle#onExit} of a process that is not this
     * JVM's child polls too, but first after 300 ms and one process after the other, which made a killed run's
     * return late by a second or more.
     *
     * @param processes the processes, e.g. a tree just killed
     * @param limit     how long to wait at most
     * @return true when all ended, false when some still ran at the limit. An interrupt does not cut the wait
     *         short (a cancelled run's processes must still end first); the thread's interrupt status is kept
     */
    public static boolean awaitEnd(java.util.Collection<ProcessHandle> processes, java.time.Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        List<ProcessHandle> left = new java.util.ArrayList<>(processes);
        long pause = 1;
        boolean interrupted = false;
        try {
            while (true) {
                left.removeIf(h -> !running(h));
                if (left.isEmpty()) {
                    return true;
                }
                if (System.nanoTime() > deadline) {
                    return false;
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
                pause = Math.min(pause * 2, 20);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
