package dev.davit.sandbox.agent;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * davit-agent's wire format (docs/reference/AGENT.md): frames of a length, a type, an id and a payload, and the
 * payloads' fields. Every bound is checked before anything is allocated for what a frame claims; a frame or payload
 * that breaks one is {@link Malformed}.
 */
public final class AgentWire {
    /** The protocol version this side speaks (HELLO's first field). */
    public static final int VERSION = 1;
    /** The largest payload a frame may carry. */
    public static final int MAX_PAYLOAD = 1 << 20;
    /** The largest STDIN, STDOUT or STDERR chunk. */
    public static final int MAX_CHUNK = 1 << 16;
    /** The most entries of a list (argv, environment). */
    public static final int MAX_LIST = 65_536;
    /** The type and id that follow a frame's length. */
    private static final int HEADER = 5;

    /** Agent to host: the first frame of a connection. */
    public static final int HELLO = 0x01;
    /** Host to agent: start a process. */
    public static final int EXEC = 0x10;
    /** Host to agent: bytes for a process's stdin. */
    public static final int STDIN = 0x11;
    /** Host to agent: close a process's stdin. */
    public static final int STDIN_CLOSE = 0x12;
    /** Host to agent: a signal for a process's group. */
    public static final int SIGNAL = 0x13;
    /** Host to agent, on a port (a microVM's): a new host's first frame, answered by a HELLO with its nonce. */
    public static final int SYNC = 0x14;
    /** The length of SYNC's nonce, which the HELLO that answers it carries back. */
    public static final int NONCE = 16;
    /** Agent to host: a process started. */
    public static final int STARTED = 0x20;
    /** Agent to host: a process's stdout bytes. */
    public static final int STDOUT = 0x21;
    /** Agent to host: a process's stderr bytes. */
    public static final int STDERR = 0x22;
    /** Agent to host: a process ended. */
    public static final int EXIT = 0x23;
    /** EXIT's flag: the kernel's OOM killer killed in the agent's memory cgroup while the process ran. */
    public static final long EXIT_OOM = 1;
    /** Agent to host: one STDIN chunk was taken (written to the process's stdin, or dropped: stdin is closed). */
    public static final int STDIN_ACK = 0x24;
    /** The STDIN chunks the host may have sent a process that the agent has not acknowledged yet. */
    public static final int STDIN_WINDOW = 16;
    /** Agent to host: a request failed. */
    public static final int ERROR = 0x2F;
    /** Host to agent: a file request (an operation on guest paths). */
    public static final int FILE = 0x15;
    /** Agent to host: a file request's data (raw bytes, 1 to {@link #MAX_CHUNK}). */
    public static final int DATA = 0x25;
    /** Agent to host: a file request is done ({@code u64} its value: a read's file size, else 0). */
    public static final int DONE = 0x26;

    /** FILE's operation: the first bytes of a regular file (path). */
    public static final int OP_READ = 1;
    /** FILE's operation: a tar fed as STDIN extracted into a directory (path). */
    public static final int OP_PUT_TAR = 2;
    /** FILE's operation: a tar of a directory's content as DATA (path). */
    public static final int OP_GET_TAR = 3;
    /** FILE's operation: paths removed (one or more). */
    public static final int OP_REMOVE = 4;
    /** FILE's operation: a rename (from, to). */
    public static final int OP_MOVE = 5;
    /** FILE's operation: a directory swapped for another (dir, fresh, old). */
    public static final int OP_SWAP = 6;
    /** FILE's operation: the file systems flushed (no path). */
    public static final int OP_SYNC = 7;

    /** Host to agent: start a detached process below a holder, recorded in a directory of the sandbox. */
    public static final int SPAWN = 0x16;
    /** Host to agent: an operation on a detached process's record, or on every process (FILE's layout). */
    public static final int PROC = 0x17;
    /** PROC's operation: whether the recorded process runs (DONE: {@link #RUNNING}, {@link #GONE}, or
     * {@link #ENDED} + its exit code). */
    public static final int PROC_STATUS = 1;
    /** PROC's operation: a signal (n: its number, with {@link #FOREGROUND}) to the process; DONE 1 when sent. */
    public static final int PROC_SIGNAL = 2;
    /** PROC's operation: TERM, then KILL after n seconds of grace; DONE its status after. */
    public static final int PROC_STOP = 3;
    /** PROC's operation: DONE the virtio consoles held open (bit N: /dev/hvcN). */
    public static final int PROC_CONSOLES = 4;
    /** PROC's operation: every process killed but the agent, what it runs under and pid 1. */
    public static final int PROC_KILL_ALL = 5;
    /** PROC's operation on a process's own terminal ({@link #PTY}): DATA what it showed from position n (at most
     * {@link #MAX_OUTPUT_READ} bytes), DONE the position of the first byte sent. */
    public static final int PROC_OUTPUT = 6;
    /** PROC's operation on a process's own terminal: the second path's bytes (at most {@link #MAX_INPUT}) typed
     * within n seconds (1 to 60); DONE how many it took. */
    public static final int PROC_INPUT = 7;
    /** SPAWN's terminal for a pseudo-terminal of the process's own, kept by its holder (a sandbox without
     * virtio consoles). */
    public static final String PTY = "pty";
    /** The most bytes one PROC_OUTPUT sends. */
    public static final int MAX_OUTPUT_READ = 256 << 10;
    /** The most bytes one PROC_INPUT types. */
    public static final int MAX_INPUT = 64 << 10;
    /** PROC_SIGNAL's bit: the terminal's foreground process group instead. */
    public static final long FOREGROUND = 1 << 8;
    /** PROC_STATUS's values: it runs. */
    public static final long RUNNING = 0;
    /** PROC_STATUS's values: not seen, or started before the last boot. */
    public static final long GONE = 1;
    /** PROC_STATUS's values: it ended, with the exit code added. */
    public static final long ENDED = 256;

    /** EXEC's flag: stdin is a pipe fed by STDIN frames (else /dev/null). */
    public static final int FLAG_STDIN = 1;

    /** ERROR's codes (AGENT.md). */
    public static final int E_MALFORMED = 1;
    /** The id is in use or names no process. */
    public static final int E_ID = 2;
    /** The working directory is not there or not a directory. */
    public static final int E_WORKDIR = 3;
    /** The command is not found. */
    public static final int E_NOT_FOUND = 4;
    /** The command cannot be executed. */
    public static final int E_CANNOT_EXECUTE = 5;
    /** Too many processes. */
    public static final int E_TOO_MANY = 6;
    /** The agent failed. */
    public static final int E_AGENT = 7;
    /** A file request's path is missing. */
    public static final int E_MISSING = 8;
    /** A file request's path is refused: not absolute, a . or .. component, a symbolic link on the way. */
    public static final int E_PATH = 9;
    /** A file request's path is not a regular file. */
    public static final int E_NOT_FILE = 10;
    /** A file request's path is a directory. */
    public static final int E_IS_DIR = 11;
    /** A file request failed (an I/O error, named in its message). */
    public static final int E_FAILED = 12;

    private AgentWire() {
    }

    /** A frame or payload that breaks the wire format: the peer is not a davit-agent speaking it. */
    public static final class Malformed extends IOException {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    /**
     * One frame.
     *
     * @param type    its type (one of this class's constants)
     * @param id      the process it is about (0: the connection)
     * @param payload its payload, at most {@link #MAX_PAYLOAD} bytes
     */
    public record Frame(int type, int id, byte[] payload) {
    }

    /**
     * Reads one frame.
     *
     * @param in the stream
     * @return the frame, or null when the stream ends where a frame would start
     * @throws Malformed when the length is out of bounds, {@link EOFException} when the stream ends inside a frame
     */
    public static Frame read(InputStream in) throws IOException {
        byte[] head = new byte[4 + HEADER];
        int got = in.readNBytes(head, 0, head.length);
        if (got == 0) {
            return null;
        }
        if (got < head.length) {
            throw new EOFException("the agent's connection ended inside a frame");
        }
        long length = u32(head, 0);
        if (length < HEADER || length > HEADER + MAX_PAYLOAD) {
            throw new Malformed("a frame of " + length + " bytes");
        }
        // into an array of its length (bounded above): readNBytes(int) would end with a read of 0 bytes, which some
        // streams (fabric8's exec stream) block in until more comes
        byte[] payload = new byte[(int) length - HEADER];
        if (in.readNBytes(payload, 0, payload.length) < payload.length) {
            throw new EOFException("the agent's connection ended inside a frame");
        }
        return new Frame(head[4] & 0xff, (int) u32(head, 5), payload);
    }

    /**
     * Writes one frame in one write.
     *
     * @param out   the stream
     * @param frame the frame
     * @throws IOException when the stream fails
     */
    public static void write(OutputStream out, Frame frame) throws IOException {
        if (frame.payload().length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("a payload of " + frame.payload().length + " bytes");
        }
        byte[] b = new byte[4 + HEADER + frame.payload().length];
        put32(b, 0, HEADER + frame.payload().length);
        b[4] = (byte) frame.type();
        put32(b, 5, frame.id());
        System.arraycopy(frame.payload(), 0, b, 4 + HEADER, frame.payload().length);
        out.write(b);
        out.flush();
    }

    /**
     * EXEC's payload.
     *
     * @param stdin   whether STDIN frames feed the process (else its stdin is /dev/null)
     * @param argv    the command and its arguments (at least one)
     * @param env     the whole environment of the command
     * @param workdir its working directory, absolute
     * @return the payload
     */
    public static byte[] exec(boolean stdin, List<String> argv, Map<String, String> env, String workdir) {
        if (argv.isEmpty() || argv.size() > MAX_LIST || env.size() > MAX_LIST) {
            throw new IllegalArgumentException("an argv of " + argv.size() + " or an environment of " + env.size());
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put32(b, stdin ? FLAG_STDIN : 0);
        put32(b, argv.size());
        argv.forEach(a -> putBytes(b, a.getBytes(StandardCharsets.UTF_8)));
        put32(b, env.size());
        env.forEach((k, v) -> putBytes(b, (k + "=" + v).getBytes(StandardCharsets.UTF_8)));
        putBytes(b, workdir.getBytes(StandardCharsets.UTF_8));
        if (b.size() > MAX_PAYLOAD) {
            throw new IllegalArgumentException("the command, its environment and working directory take "
                    + b.size() + " bytes, more than the agent takes (" + MAX_PAYLOAD + ")");
        }
        return b.toByteArray();
    }

    /**
     * SPAWN's payload: flags (terminal), the record's directory, the terminal's device (or empty), then as EXEC's.
     *
     * @param dir      the record's absolute directory in the sandbox
     * @param terminal the terminal's device ({@code /dev/hvcN}), or null
     * @param argv     the command and its arguments
     * @param env      its whole environment
     * @param workdir  its working directory, absolute
     * @return the payload
     * @throws IllegalArgumentException when it would not fit a frame
     */
    public static byte[] spawn(String dir, String terminal, List<String> argv, Map<String, String> env,
                               String workdir) {
        byte[] rest = exec(false, argv, env, workdir);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put32(b, terminal != null ? 1 : 0);
        putBytes(b, dir.getBytes(StandardCharsets.UTF_8));
        putBytes(b, terminal != null ? terminal.getBytes(StandardCharsets.UTF_8) : new byte[0]);
        b.write(rest, 4, rest.length - 4);
        if (b.size() > MAX_PAYLOAD) {
            throw new IllegalArgumentException("the command, its environment and working directory take "
                    + b.size() + " bytes, more than the agent takes (" + MAX_PAYLOAD + ")");
        }
        return b.toByteArray();
    }

    /**
     * FILE's payload.
     *
     * @param op    the operation ({@code OP_*})
     * @param n     a read's most bytes (0: all); 0 for the others
     * @param paths its absolute guest paths
     * @return the payload
     */
    public static byte[] file(int op, long n, List<String> paths) {
        return fileBytes(op, n, paths.stream().map(a -> a.getBytes(StandardCharsets.UTF_8)).toList());
    }

    /**
     * FILE's (and PROC's) payload, its paths as bytes (PROC_INPUT's second: the bytes to type).
     *
     * @param op    the operation
     * @param n     its number
     * @param paths its paths
     * @return the payload
     */
    public static byte[] fileBytes(int op, long n, List<byte[]> paths) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        put32(b, op);
        put32(b, (int) (n >>> 32));
        put32(b, (int) n);
        put32(b, paths.size());
        paths.forEach(a -> putBytes(b, a));
        if (b.size() > MAX_PAYLOAD) {
            throw new IllegalArgumentException("the paths take " + b.size() + " bytes, more than the agent takes ("
                    + MAX_PAYLOAD + ")");
        }
        return b.toByteArray();
    }

    /**
     * SYNC's payload: the magic {@code davitsyn}, then the nonce.
     *
     * @param nonce {@link #NONCE} bytes
     * @return the payload
     */
    public static byte[] sync(byte[] nonce) {
        if (nonce.length != NONCE) {
            throw new IllegalArgumentException("a nonce of " + nonce.length + " bytes");
        }
        byte[] b = new byte[8 + NONCE];
        System.arraycopy("davitsyn".getBytes(StandardCharsets.US_ASCII), 0, b, 0, 8);
        System.arraycopy(nonce, 0, b, 8, NONCE);
        return b;
    }

    /** A payload of one u32. */
    public static byte[] u32(int v) {
        byte[] b = new byte[4];
        put32(b, 0, v);
        return b;
    }

    /**
     * A payload read field by field; {@link #end} checks that nothing is left over.
     */
    public static final class Fields {
        private final byte[] b;
        private int at;

        /**
         * @param payload the payload
         */
        public Fields(byte[] payload) {
            this.b = payload;
        }

        /**
         * @return the next u32, as a long
         * @throws Malformed when fewer than 4 bytes are left
         */
        public long u32() throws Malformed {
            need(4);
            long v = AgentWire.u32(b, at);
            at += 4;
            return v;
        }

        /**
         * @return the next u64 (as a long: one past 2^63 is negative)
         * @throws Malformed when fewer than 8 bytes are left
         */
        public long u64() throws Malformed {
            return u32() << 32 | u32();
        }

        /**
         * @return the next i32
         * @throws Malformed when fewer than 4 bytes are left
         */
        public int i32() throws Malformed {
            return (int) u32();
        }

        /**
         * @param max the most bytes allowed
         * @return the next {@code bytes} field
         * @throws Malformed when its count is over {@code max} or past the payload
         */
        public byte[] bytes(int max) throws Malformed {
            long n = u32();
            if (n > max) {
                throw new Malformed("a field of " + n + " bytes");
            }
            need((int) n);
            byte[] v = java.util.Arrays.copyOfRange(b, at, at + (int) n);
            at += (int) n;
            return v;
        }

        /**
         * @throws Malformed when bytes are left over
         */
        public void end() throws Malformed {
            if (at != b.length) {
                throw new Malformed((b.length - at) + " bytes left over in a payload");
            }
        }

        private void need(int n) throws Malformed {
            if (b.length - at < n) {
                throw new Malformed("a payload ends inside a field");
            }
        }
    }

    private static long u32(byte[] b, int at) {
        return ((b[at] & 0xffL) << 24) | ((b[at + 1] & 0xffL) << 16) | ((b[at + 2] & 0xffL) << 8) | (b[at + 3] & 0xffL);
    }

    private static void put32(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static void put32(ByteArrayOutputStream b, int v) {
        b.write(v >>> 24);
        b.write(v >>> 16);
        b.write(v >>> 8);
        b.write(v);
    }

    private static void putBytes(ByteArrayOutputStream b, byte[] v) {
        put32(b, v.length);
        b.writeBytes(v);
    }
}
