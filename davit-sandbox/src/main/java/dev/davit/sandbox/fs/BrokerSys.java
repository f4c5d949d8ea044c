package dev.davit.sandbox.fs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@link Sys} on Java 21, which cannot call {@code openat2} or hold a directory descriptor: a child process,
 * davit's static helper in its {@code files} mode (src/main/c/davit-exec.c), makes the calls and holds the
 * descriptors; this JVM reaches each through {@code /proc/PID/fd/N}. The same guarantees as {@link LinuxSys}, one
 * pipe round trip slower per call. Calls are serialised.
 */
final class BrokerSys implements Sys {
    private final Process process;
    private final OutputStream to;
    private final InputStream from;
    private final long pid;
    private long next;
    private String broken;

    BrokerSys(Path helper) throws IOException {
        process = new ProcessBuilder(helper.toString(), "files").redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        to = process.getOutputStream();
        from = process.getInputStream();
        pid = process.pid();
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
        return (int) call("openat2", "o " + dirfd + " " + flags + " " + resolve + " " + p.length, p)[0];
    }

    @Override
    public synchronized void close(int fd) {
        try {
            call("close", "c " + fd, null);
        } catch (ErrnoException ignored) {
            // the descriptor is released either way
        }
    }

    @Override
    public synchronized Stat stat(int fd) throws ErrnoException {
        long[] v = call("statx", "s " + fd, null);
        return new Stat((int) v[0], v[1], v[2], (int) v[3], (int) v[4], (int) v[5], v[6], (v[7] << 32) | v[8],
                v[9] * 1_000_000_000L + v[10]);
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
    private static final int ENAMETOOLONG = 36;
    private static final int EIO = 5;
}
