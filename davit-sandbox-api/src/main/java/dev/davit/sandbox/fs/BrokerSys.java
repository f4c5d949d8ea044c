package dev.davit.sandbox.fs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * {@link Sys} on Java 21, which cannot call {@code openat2} or hold a directory descriptor: a child process,
 * davit's static helper in its {@code files} mode (src/main/c/mode-files.c), makes the calls and holds the
 * descriptors; this JVM reaches each through {@code /proc/PID/fd/N}. The same guarantees as {@link LinuxSys}, one
 * pipe round trip slower per call. Calls are serialised.
 *
 * <p>An <em>acting</em> broker ({@link #acting}) also makes every change and reads every byte for the JVM: it runs
 * where it may do what the JVM's user may not (a rootless user's namespace that maps its subordinate ids, as root
 * there), so {@link Dir} asks it instead of using {@code /proc/PID/fd/N} paths. Its owners are translated by
 * {@link IdMap}: the JVM sees host ids.
 */
final class BrokerSys implements Sys {
    private final Process process;
    private final OutputStream to;
    private final InputStream from;
    private final long pid;
    private final IdMap ids;
    private final boolean endsWhenUnused;
    /** Descriptors it gave that are not closed yet. */
    private int held;
    private long next;
    private String broken;

    BrokerSys(Path helper) throws IOException {
        this(List.of(helper.toString(), "files"), null, null);
    }

    /**
     * A broker started by {@code command} (which ends by running {@code davit-exec files}); acting when {@code ids}
     * is not null. With {@code cwd}, this JVM's user opens that directory as the broker's descriptor 3 before the
     * command runs (see {@link #TREE}), and the broker ends once every descriptor it gave is closed again: one
     * broker per tree opened.
     */
    BrokerSys(List<String> command, IdMap ids, Path cwd) throws IOException {
        ProcessBuilder pb;
        if (cwd == null) {
            pb = new ProcessBuilder(command);
        } else {
            // the directory opened as fd 3 by this JVM's user, then nothing runs inside it: the command (unshare,
            // which runs newuidmap and newgidmap) starts in / with an environment of its own, never searching the
            // tree for a program or library
            List<String> a = new java.util.ArrayList<>(List.of("/bin/sh", "-c",
                    "exec 3<\"$1\" || exit 125; cd / || exit 125; shift; exec \"$@\"", "sh", cwd.toString()));
            a.addAll(command);
            pb = new ProcessBuilder(a).directory(new java.io.File("/"));
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        }
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        process = pb.start();
        to = process.getOutputStream();
        from = process.getInputStream();
        pid = process.pid();
        this.ids = ids;
        this.endsWhenUnused = cwd != null;
    }

    /** Whether it makes every change for the JVM ({@link Dir} then never acts on its paths itself). */
    boolean acting() {
        return ids != null;
    }

    /** The tree a broker started with a directory holds, as it opens it. */
    static final Path TREE = Path.of("/proc/self/fd/3");

    /** Whether it still answers. */
    synchronized boolean alive() {
        return broken == null && process.isAlive();
    }

    @Override
    public Path fdPath(int fd) {
        return Path.of("/proc/" + pid + "/fd/" + fd);
    }

    @Override
    public synchronized int openat2(int dirfd, byte[] p, long flags, long resolve) throws ErrnoException {
        if (p.length >= PATH_MAX) {
            throw new ErrnoException("openat2", ENAMETOOLONG);
        }
        int fd = (int) call("openat2", "o " + dirfd + " " + flags + " " + resolve + " " + p.length, p)[0];
        held++;
        return fd;
    }

    /** openat2 with O_CREAT's {@code mode}. */
    synchronized int create(int dirfd, String name, long flags, int mode) throws ErrnoException {
        byte[] p = name(name);
        int fd = (int) call("openat2", "o " + dirfd + " " + flags + " " + Sys.STRICT + " " + p.length + " " + mode,
                p)[0];
        held++;
        return fd;
    }

    @Override
    public synchronized void close(int fd) {
        try {
            call("close", "c " + fd, null);
        } catch (ErrnoException ignored) {
            // the descriptor is released either way
        }
        if (--held <= 0 && endsWhenUnused) {
            stop();
            broken = "it ended with the last descriptor it gave";
        }
    }

    @Override
    public synchronized Stat stat(int fd) throws ErrnoException {
        long[] v = call("statx", "s " + fd, null);
        int uid = ids == null ? (int) v[4] : ids.hostUid(v[4]);
        int gid = ids == null ? (int) v[5] : ids.hostGid(v[5]);
        return new Stat((int) v[0], v[1], v[2], (int) v[3], uid, gid, v[6], (v[7] << 32) | v[8],
                v[9] * 1_000_000_000L + v[10], v.length > 12 ? (v[11] << 32) | v[12] : 0);
    }

    @Override
    public synchronized void link(int fd, int dirfd, String name) throws ErrnoException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length >= PATH_MAX) {
            throw new ErrnoException("linkat", ENAMETOOLONG);
        }
        call("linkat", "l " + fd + " " + dirfd + " " + n.length, n);
    }

    @Override
    public synchronized long seek(int fd, long offset, int whence) throws ErrnoException {
        try {
            return call("lseek", "k " + fd + " " + offset + " " + whence, null)[0];
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENXIO) {
                return -1;
            }
            throw e;
        }
    }

    @Override
    public synchronized byte[] xattr(int dirfd, String name, String attr) throws ErrnoException {
        byte[] n = name(name);
        byte[] x = attr.getBytes(StandardCharsets.UTF_8);
        return bytes("lgetxattr", call("lgetxattr", "x " + dirfd + " " + n.length + " " + x.length, concat(n, x)));
    }

    @Override
    public synchronized void setXattr(int dirfd, String name, String attr, byte[] value) throws ErrnoException {
        byte[] n = name(name);
        byte[] x = attr.getBytes(StandardCharsets.UTF_8);
        call("lsetxattr", "z " + dirfd + " " + n.length + " " + x.length + " " + value.length, concat(concat(n, x),
                value));
    }

    // ---- an acting broker's calls (see mode-files.c): names are one name each, checked by Dir ----

    synchronized void mkdir(int dirfd, String name, int mode) throws ErrnoException {
        byte[] n = name(name);
        call("mkdirat", "m " + dirfd + " " + mode + " " + n.length, n);
    }

    synchronized void symlink(int dirfd, String name, String target) throws ErrnoException {
        byte[] t = target.getBytes(StandardCharsets.UTF_8);
        byte[] n = name(name);
        if (t.length >= PATH_MAX) {
            throw new ErrnoException("symlinkat", ENAMETOOLONG);
        }
        call("symlinkat", "y " + dirfd + " " + t.length + " " + n.length, concat(t, n));
    }

    synchronized byte[] readLink(int dirfd, String name) throws ErrnoException {
        byte[] n = name(name);
        return bytes("readlinkat", call("readlinkat", "r " + dirfd + " " + n.length, n));
    }

    /** The next names of directory {@code fd} (open for reading), NUL-ended each; empty at its end. */
    synchronized byte[] names(int fd) throws ErrnoException {
        return bytes("getdents64", call("getdents64", "d " + fd, null));
    }

    /** At most {@code len} bytes of {@code fd} from {@code offset} (fewer at its end, none past it). */
    synchronized byte[] read(int fd, long offset, int len) throws ErrnoException {
        return bytes("pread", call("pread", "p " + fd + " " + offset + " " + len, null));
    }

    synchronized void chmod(int fd, int mode) throws ErrnoException {
        call("chmod", "h " + fd + " " + mode, null);
    }

    synchronized void setModified(int fd, long nanos) throws ErrnoException {
        call("utimensat", "t " + fd + " " + Math.floorDiv(nanos, 1_000_000_000L) + " "
                + Math.floorMod(nanos, 1_000_000_000L), null);
    }

    /** Gives entry {@code name} host owner {@code uid:gid} (as this broker's namespace names them). */
    synchronized void chown(int dirfd, String name, int uid, int gid) throws ErrnoException {
        byte[] n = name(name);
        call("fchownat", "w " + dirfd + " " + ids.innerUid(uid) + " " + ids.innerGid(gid) + " " + n.length, n);
    }

    synchronized void rename(int fd, String name, int toFd, String toName) throws ErrnoException {
        rename(fd, name(name), toFd, name(toName));
    }

    /** {@link #rename(int, String, int, String)} of names as bytes (a name need not be UTF-8). */
    synchronized void rename(int fd, byte[] a, int toFd, byte[] b) throws ErrnoException {
        call("renameat", "n " + fd + " " + toFd + " " + a.length + " " + b.length, concat(a, b));
    }

    synchronized void unlink(int dirfd, String name, boolean dir) throws ErrnoException {
        unlink(dirfd, name(name), dir);
    }

    /** {@link #unlink(int, String, boolean)} of a name as bytes (a name need not be UTF-8). */
    synchronized void unlink(int dirfd, byte[] n, boolean dir) throws ErrnoException {
        call(dir ? "rmdir" : "unlink", "u " + dirfd + " " + (dir ? AT_REMOVEDIR : 0) + " " + n.length, n);
    }

    synchronized void fsync(int fd) throws ErrnoException {
        call("fsync", "f " + fd, null);
    }

    private static byte[] name(String name) throws ErrnoException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length >= PATH_MAX) {
            throw new ErrnoException("a name", ENAMETOOLONG);
        }
        return n;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** The bytes an answer "ok ID N" ({@code answer}: its numbers) announced, read after its line. */
    private byte[] bytes(String what, long[] answer) throws ErrnoException {
        long n = answer.length == 1 ? answer[0] : -1;
        if (n < 0 || n > MAX_BYTES) {
            throw fail(what, "an answer announcing " + n + " bytes");
        }
        try {
            byte[] b = from.readNBytes((int) n);
            if (b.length != n) {
                throw fail(what, "it ended");
            }
            return b;
        } catch (IOException e) {
            throw fail(what, e.getMessage());
        }
    }

    /** Ends the helper (its descriptors are closed with it). */
    void stop() {
        try {
            to.close();
        } catch (IOException ignored) {
            // it ends at end of input, or is killed below
        }
        process.destroyForcibly();
    }

    /**
     * One request and its answer's numbers; {@code ErrnoException} for "err ID N". An answer that is not this
     * request's (wrong number, malformed, the helper gone) ends the helper for good: every later call fails, and no
     * descriptor number it gave is ever used again.
     */
    private long[] call(String what, String request, byte[] data) throws ErrnoException {
        if (broken != null) {
            throw new ErrnoException(what + " (davit-exec files stopped: " + broken + ")", EIO);
        }
        long id = ++next;
        String reply;
        try {
            to.write((request.charAt(0) + " " + id + request.substring(1) + "\n").getBytes(StandardCharsets.US_ASCII));
            if (data != null) {
                to.write(data);
            }
            to.flush();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int c = from.read(); c != '\n'; c = from.read()) {
                if (c < 0 || line.size() > 512) {
                    throw new IOException(c < 0 ? "it ended" : "an answer too long");
                }
                line.write(c);
            }
            reply = line.toString(StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw fail(what, e.getMessage());
        }
        String[] w = reply.split(" ");
        try {
            if (w.length < 2 || Long.parseLong(w[1]) != id || !w[0].equals("ok") && !w[0].equals("err")) {
                throw fail(what, "an answer out of step: " + reply);
            }
            if (w[0].equals("err")) {
                throw new ErrnoException(what, Integer.parseInt(w[2]));
            }
            long[] out = new long[w.length - 2];
            for (int i = 2; i < w.length; i++) {
                out[i - 2] = Long.parseLong(w[i]);
            }
            return out;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw fail(what, "a malformed answer: " + reply);
        }
    }

    private ErrnoException fail(String what, String why) {
        broken = why;
        stop();
        return new ErrnoException(what + " (davit-exec files stopped: " + why + ")", EIO);
    }

    private static final int PATH_MAX = 4096;
    private static final int AT_REMOVEDIR = 0x200;
    /** The most bytes one answer brings (a pread's 1 MiB; a getdents64 or readlink answer is smaller). */
    private static final long MAX_BYTES = 1 << 20;
    private static final int ENAMETOOLONG = 36;
    private static final int EIO = 5;
}
