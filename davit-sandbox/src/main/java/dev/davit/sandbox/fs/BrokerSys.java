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

    BrokerSys(Path helper) throws IOException {
        process = new ProcessBuilder(helper.toString(), "files").redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        to = process.getOutputStream();
        from = process.getInputStream();
        pid = process.pid();
    }

    @Override
    public long oDirectory() {
        return arm() ? 040000 : 0200000;
    }

    @Override
    public long oNofollow() {
        return arm() ? 0100000 : 0400000;
    }

    private static boolean arm() {
        return System.getProperty("os.arch").equals("aarch64");
    }

    @Override
    public Path fdPath(int fd) {
        return Path.of("/proc/" + pid + "/fd/" + fd);
    }

    @Override
    public synchronized int openat2(int dirfd, String path, long flags, long resolve) throws ErrnoException {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
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

    /** One request and its answer's numbers; {@code ErrnoException} for "err N". */
    private long[] call(String what, String request, byte[] data) throws ErrnoException {
        String reply;
        try {
            to.write((request + "\n").getBytes(StandardCharsets.US_ASCII));
            if (data != null) {
                to.write(data);
            }
            to.flush();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            for (int c = from.read(); c != '\n'; c = from.read()) {
                if (c < 0) {
                    throw new IOException("davit-exec files ended");
                }
                line.write(c);
            }
            reply = line.toString(StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ErrnoException(what + " (through davit-exec files: " + e.getMessage() + ")", 5); // EIO
        }
        String[] w = reply.split(" ");
        if (w[0].equals("err")) {
            throw new ErrnoException(what, Integer.parseInt(w[1]));
        }
        long[] out = new long[w.length - 1];
        for (int i = 1; i < w.length; i++) {
            out[i - 1] = Long.parseLong(w[i]);
        }
        return out;
    }
}
