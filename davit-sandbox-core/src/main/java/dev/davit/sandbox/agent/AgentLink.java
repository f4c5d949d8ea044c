package dev.davit.sandbox.agent;

import dev.davit.sandbox.agent.AgentWire.Fields;
import dev.davit.sandbox.agent.AgentWire.Frame;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connection to a davit-agent (docs/reference/AGENT.md) over a backend's stream. The agent runs where the
 * sandbox's code runs and may have been replaced by it: every frame is checked against the wire format and the order
 * of its process's frames, waits are bounded (HELLO, and a process's end after its timeout's kill), and anything else
 * is {@link Broken}. Writes are serialised; frames are read by the thread that awaits a process, so one process
 * at a time is awaited on a link.
 */
public final class AgentLink implements Closeable {
    /** How long a HELLO may take after the connection is made. */
    public static final Duration HELLO_WAIT = Duration.ofSeconds(5);
    /** How long a process may take to report its end after it was killed (its timeout) before the link is closed. */
    public static final Duration KILL_WAIT = Duration.ofSeconds(5);
    /** The longest ERROR message kept, in bytes. */
    private static final int MAX_MESSAGE = 4096;
    private static final int SIGKILL = 9;

    private final InputStream in;
    private final OutputStream out;
    private final Closeable closer;
    private final AtomicInteger ids = new AtomicInteger();
    private final int agentPid;
    /** The unix socket under a {@link #connect}ed link, for {@link #reusable}; null over other streams. */
    private final SocketChannel channel;
    private volatile boolean closed;

    private AgentLink(InputStream in, OutputStream out, Closeable closer, int agentPid, SocketChannel channel) {
        this.in = in;
        this.out = out;
        this.closer = closer;
        this.agentPid = agentPid;
        this.channel = channel;
    }

    /** The agent broke the protocol, ended, or did not answer in time: what it was doing is unknown. */
    public static final class Broken extends IOException {
        private static final long serialVersionUID = 1L;
        private final boolean silent;

        Broken(String message) {
            this(message, false);
        }

        Broken(String message, boolean silent) {
            super(message);
            this.silent = silent;
        }

        Broken(String message, Throwable cause) {
            super(message, cause);
            this.silent = false;
        }

        /** Whether the agent said nothing wrong but did not answer within the wait (it may be slow, not absent). */
        public boolean silent() {
            return silent;
        }
    }

    /**
     * The host's own input for a process or a file request (its stdin, a put's tar) could not be read to its end: the
     * link was closed (the agent ends what it started), and nothing the agent said is wrong.
     */
    public static final class InputFailed extends IOException {
        private static final long serialVersionUID = 1L;

        InputFailed(IOException cause) {
            super(cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
        }
    }

    /**
     * Opens a link over a stream and reads the agent's HELLO, within {@link #HELLO_WAIT} (else the stream is closed).
     *
     * @param in     what the agent writes
     * @param out    what the agent reads
     * @param closer closes both (and unblocks a read)
     * @return the link
     * @throws IOException when the agent did not say HELLO in the protocol's version in time
     */
    public static AgentLink over(InputStream in, OutputStream out, Closeable closer) throws IOException {
        return over(in, out, closer, null);
    }

    private static AgentLink over(InputStream in, OutputStream out, Closeable closer, SocketChannel channel)
            throws IOException {
        return withinHelloWait(closer, () -> {
            Frame f = AgentWire.read(in);
            if (f == null) {
                throw new Broken("the agent closed the connection before its HELLO");
            }
            if (f.type() != AgentWire.HELLO || f.id() != 0) {
                throw new Broken("the agent's first frame is not a HELLO");
            }
            Fields p = new Fields(f.payload());
            long version = p.u32();
            long pid = p.u32();
            p.end();
            if (version != AgentWire.VERSION) {
                throw new Broken("the agent speaks protocol " + version + ", davit " + AgentWire.VERSION);
            }
            return new AgentLink(in, out, closer, (int) Math.min(pid, Integer.MAX_VALUE), channel);
        });
    }

    /** A step that reads from the agent. */
    private interface Step<T> {
        T run() throws IOException;
    }

    /**
     * {@code step} within {@link #HELLO_WAIT}: past it {@code closer} is closed (which ends a blocked read) and the
     * step fails as silent; a step that fails closes it too.
     */
    private static <T> T withinHelloWait(Closeable closer, Step<T> step) throws IOException {
        Watchdog w = Watchdog.after(HELLO_WAIT, () -> quietly(closer));
        try {
            T t = step.run();
            w.cancel();
            if (w.fired()) { // the wait ran out as the answer came: the stream is closed already
                throw new Broken("the agent did not answer within " + HELLO_WAIT.toSeconds() + " s", true);
            }
            return t;
        } catch (IOException e) {
            quietly(closer);
            throw w.fired() ? new Broken("the agent did not answer within " + HELLO_WAIT.toSeconds() + " s", true)
                    : e;
        } finally {
            w.cancel();
        }
    }

    /**
     * Connects to an agent's unix socket.
     *
     * @param socket its path (at most 107 bytes)
     * @return the link, HELLO read
     * @throws IOException when nothing listens there ({@link java.net.ConnectException}, or
     *                     {@link java.nio.file.NoSuchFileException}-like failures) or the agent did not answer
     */
    public static AgentLink connect(Path socket) throws IOException {
        SocketChannel ch = open(socket);
        return over(new ChannelIn(ch), new ChannelOut(ch), ch, ch);
    }

    /**
     * Connects to a unix socket within {@link #HELLO_WAIT}: a full backlog (a listener that does not accept) would
     * block a connect for good.
     *
     * @param socket its path (at most 107 bytes)
     * @return the connected channel
     * @throws IOException when nothing listens there, or it did not take the connection in time ({@link Broken},
     *                     silent)
     */
    public static SocketChannel open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        // a full backlog (an agent that does not accept) blocks a connect: within the HELLO's wait too
        Watchdog w = Watchdog.after(HELLO_WAIT, () -> quietly(ch));
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException | RuntimeException e) {
            w.cancel();
            ch.close();
            if (w.fired()) {
                throw new Broken("the agent did not take the connection within " + HELLO_WAIT.toSeconds() + " s",
                        true);
            }
            throw e;
        }
        w.cancel();
        if (w.fired()) {
            throw new Broken("the agent did not take the connection within " + HELLO_WAIT.toSeconds() + " s",
                    true);
        }
        return ch;
    }

    /** The most bytes a port's new host skips before the HELLO that answers its SYNC: a previous host's leftovers. */
    static final int MAX_SKIPPED = 4 << 20;

    /**
     * Opens a link over a port's stream (a microVM's virtio-serial port, reached through QEMU's socket): one host at
     * a time, with no connection of its own, so the host sends a SYNC with a fresh nonce and takes the link from the
     * HELLO that carries it back; what comes before it (a previous host's leftovers, at most {@link #MAX_SKIPPED}
     * bytes) is skipped, all within {@link #HELLO_WAIT}.
     *
     * @param ch a connected channel to the port (checked by the caller: never a byte to a socket not the port's)
     * @return the link, HELLO read
     * @throws IOException when the agent did not answer in time, or answered out of turn (the channel is closed)
     */
    public static AgentLink synced(SocketChannel ch) throws IOException {
        byte[] nonce = new byte[AgentWire.NONCE];
        NONCES.nextBytes(nonce);
        InputStream in = new ChannelIn(ch);
        OutputStream out = new ChannelOut(ch);
        return withinHelloWait(ch, () -> {
            AgentWire.write(out, new Frame(AgentWire.SYNC, 0, AgentWire.sync(nonce)));
            return new AgentLink(in, out, ch, helloAfter(in, nonce), ch);
        });
    }

    private static final java.security.SecureRandom NONCES = new java.security.SecureRandom();

    /**
     * Reads up to the HELLO that carries {@code nonce} (length, type, id 0, version, pid, nonce) and returns its pid;
     * bytes before it are skipped, nothing may follow it.
     */
    static int helloAfter(InputStream in, byte[] nonce) throws IOException {
        int len = 4 + 5 + 8 + AgentWire.NONCE;
        byte[] head = ByteBuffer.allocate(13).putInt(len - 4).put((byte) AgentWire.HELLO).putInt(0)
                .putInt(AgentWire.VERSION).array();
        byte[] window = new byte[len];
        int filled = 0;
        long skipped = 0;
        byte[] buf = new byte[4096];
        while (true) {
            int n = in.read(buf, 0, buf.length);
            if (n < 0) {
                throw new Broken("the agent's port closed before its HELLO");
            }
            for (int i = 0; i < n; i++) {
                if (filled == len) {
                    System.arraycopy(window, 1, window, 0, len - 1);
                    filled--;
                    if (++skipped > MAX_SKIPPED) {
                        throw new Broken("the agent's port sent more than " + MAX_SKIPPED + " bytes before its HELLO");
                    }
                }
                window[filled++] = buf[i];
                if (filled == len && java.util.Arrays.equals(window, 0, 13, head, 0, 13)
                        && java.util.Arrays.equals(window, 17, len, nonce, 0, nonce.length)) {
                    if (i != n - 1) {
                        throw new Broken("the agent sent more after its HELLO than it was asked");
                    }
                    return (int) Math.min(new Fields(java.util.Arrays.copyOfRange(window, 13, 17)).u32(),
                            Integer.MAX_VALUE);
                }
            }
        }
    }

    /**
     * Whether this idle link (no process of it running, none fed stdin) can carry another command: not closed and,
     * for a {@link #connect}ed one, its agent neither closed its end (it ended: a stop, a restart, the sandbox's
     * kill) nor wrote anything out of turn. A link that cannot is closed. Asks the socket without waiting.
     *
     * @return whether it can
     */
    public synchronized boolean reusable() {
        if (closed) {
            return false;
        }
        if (channel == null) {
            return true;
        }
        try {
            channel.configureBlocking(false);
            int n = channel.read(ByteBuffer.allocate(1));
            channel.configureBlocking(true);
            if (n == 0) {
                return true;
            }
        } catch (IOException | RuntimeException e) {
            // closed meanwhile
        }
        close();
        return false;
    }

    /** The agent's pid in the sandbox, as its HELLO says. */
    public int agentPid() {
        return agentPid;
    }

    /** Whether this link was closed (by its user, a timeout's last resort, or an interrupt). */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Starts a process.
     *
     * @param argv    the command and its arguments
     * @param env     its whole environment
     * @param workdir its working directory, absolute
     * @param stdin   whether its stdin is fed by {@link Running#await}'s stream (else /dev/null)
     * @return the process, not yet awaited
     * @throws IOException when the request cannot be sent
     */
    public Running start(List<String> argv, Map<String, String> env, String workdir, boolean stdin)
            throws IOException {
        int id = ids.incrementAndGet();
        request(new Frame(AgentWire.EXEC, id, AgentWire.exec(stdin, argv, env, workdir)));
        return new Running(id, false, true);
    }

    /**
     * Sends a new request's frame within {@link #HELLO_WAIT}: an agent that reads nothing would hold a request larger
     * than the stream's buffers here for good, so past the wait the link is closed and the send fails as silent.
     */
    private void request(Frame f) throws IOException {
        Watchdog w = Watchdog.after(HELLO_WAIT, this::close);
        try {
            send(f);
        } catch (IOException e) {
            throw w.fired() ? new Broken("the agent did not take the request within " + HELLO_WAIT.toSeconds()
                    + " s", true) : e;
        } finally {
            w.cancel();
        }
    }

    /**
     * Starts a file request (AGENT.md, "Files"): its DATA goes to {@link Running#await}'s output as stdout, its input
     * (a put's tar) comes from await's stdin, its end is DONE ({@link Outcome#value}) or an ERROR with a file code.
     *
     * @param op    the operation ({@code AgentWire.OP_*})
     * @param n     a read's most bytes (0: all); 0 for the others
     * @param paths its absolute guest paths
     * @return the request, not yet awaited
     * @throws IOException when the request cannot be sent
     */
    public Running file(int op, long n, List<String> paths) throws IOException {
        int id = ids.incrementAndGet();
        request(new Frame(AgentWire.FILE, id, AgentWire.file(op, n, paths)));
        return new Running(id, true, op == AgentWire.OP_READ || op == AgentWire.OP_GET_TAR);
    }

    /**
     * Starts a request answered, as a file request is, by DONE (its value) or ERROR, with data only for a PROC_OUTPUT:
     * a SPAWN (a detached process, its DONE the pid) or a PROC (an operation on one's record; AGENT.md).
     *
     * @param type    {@code AgentWire.SPAWN} or {@code AgentWire.PROC}
     * @param payload its payload ({@code AgentWire.spawn}, or {@code AgentWire.file}'s layout)
     * @return the request, not yet awaited
     * @throws IOException when the request cannot be sent
     */
    public Running control(int type, byte[] payload) throws IOException {
        int id = ids.incrementAndGet();
        request(new Frame(type, id, payload));
        return new Running(id, true, type == AgentWire.PROC && payload[3] == AgentWire.PROC_OUTPUT);
    }

    /** What a process wrote: {@code b[0..n)} of its stdout, or its stderr when {@code stderr}. */
    @FunctionalInterface
    public interface Output {
        /**
         * @param stderr whether it is stderr
         * @param b      the bytes
         * @param n      how many
         */
        void write(boolean stderr, byte[] b, int n);
    }

    /**
     * How a process ended.
     *
     * @param exitCode its exit code (128 + N for signal N), or -1 when the agent refused it
     * @param signal   the signal that ended it, or 0
     * @param timedOut whether its timeout killed it
     * @param error    the agent's ERROR code (AgentWire.E_*), or 0
     * @param message  the agent's ERROR message (one line, bounded), or ""
     * @param value    a file request's DONE value (a read's file size), else 0
     * @param oomKilled whether the kernel's OOM killer killed in the sandbox's memory cgroup while it ran (where the
     *                 agent can read the cgroup's count)
     */
    public record Outcome(int exitCode, int signal, boolean timedOut, int error, String message, long value,
                          boolean oomKilled) {
    }

    /** A process (or a file request) started on this link. */
    public final class Running {
        private final int id;
        /** Whether it is a file request: DATA and DONE in place of STARTED, output and EXIT. */
        private final boolean file;
        /** Whether it may send output (a file request: a read's or a tar's DATA). */
        private final boolean data;
        /** Why the host's input could not be read to its end, once it could not (the link is closed then). */
        private volatile IOException inputFailed;
        /** STDIN chunks this side may still send before the agent acknowledges one (AgentWire.STDIN_WINDOW). */
        private volatile java.util.concurrent.Semaphore window;
        private final java.util.concurrent.atomic.AtomicInteger unacknowledged = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        private Watchdog lastResort;
        /** When the kill was sent, and the time spent in output's calls by then ({@link #lastResort}). */
        private long killedAt;
        private long deliveredAtKill;
        /** The nanoseconds spent in output's calls, and when the one under way began (0: none is). */
        private final java.util.concurrent.atomic.AtomicLong delivering = new java.util.concurrent.atomic.AtomicLong();
        private volatile long deliveringSince;
        /** Whether {@link #await} returned: a kill after it (a late output limit's) must not touch the link, which
         * may carry another command by then. */
        private boolean finished;

        private Running(int id, boolean file, boolean data) {
            this.id = id;
            this.file = file;
            this.data = data;
        }

        /**
         * Sends SIGKILL to the process's group, and closes the link when the process has not ended {@link #KILL_WAIT}
         * later. Returns at once: the signal goes out on a thread of its own (a write may wait for an agent that does
         * not read), and the last resort closes the link whatever the agent does.
         */
        public void kill() {
            synchronized (this) {
                if (finished) {
                    return; // it ended: its id is spent, and the link may be another command's now
                }
                if (lastResort == null) {
                    killedAt = System.nanoTime();
                    deliveredAtKill = delivered(killedAt);
                    lastResort = Watchdog.after(KILL_WAIT, this::lastResort);
                }
            }
            Thread.ofPlatform().daemon().name("davit-agent-kill-" + id).start(() -> {
                try {
                    send(new Frame(AgentWire.SIGNAL, id, AgentWire.u32(SIGKILL)));
                } catch (IOException | RuntimeException e) {
                    // the link is gone (a stream's own exception too): the agent kills what a closed connection
                    // started
                }
            });
        }

        /**
         * Closes the link when the agent has had {@link #KILL_WAIT} since the kill to end the process: only the time
         * the reader waited for it counts, not the time output's calls took (a slow pager's is the host's own).
         */
        private void lastResort() {
            synchronized (this) {
                if (finished) {
                    return;
                }
                long now = System.nanoTime();
                long waited = now - killedAt - (delivered(now) - deliveredAtKill);
                if (waited < KILL_WAIT.toNanos()) {
                    lastResort = Watchdog.after(Duration.ofNanos(Math.max(KILL_WAIT.toNanos() - waited,
                            java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(10))), this::lastResort);
                    return;
                }
            }
            if (!closed) {
                quietly(AgentLink.this);
            }
        }

        /** The time spent in output's calls by {@code now}, the one under way's too. */
        private long delivered(long now) {
            long since = deliveringSince;
            return delivering.get() + (since == 0 ? 0 : now - since);
        }

        /**
         * Feeds {@code stdin} (may be null), passes the process's output to {@code output} as it comes and returns
         * how it ended. With a {@code timeout}, the process is killed when it runs longer, and the link is closed
         * when it still has not ended {@link #KILL_WAIT} later.
         *
         * @param output  where its output goes
         * @param stdin   its stdin (null: none)
         * @param timeout how long it may run, or null
         * @return how it ended
         * @throws IOException when the link broke ({@link Broken}) or was closed (an interrupt)
         */
        public Outcome await(Output output, InputStream stdin, Duration timeout) throws IOException {
            if (stdin != null) {
                window = new java.util.concurrent.Semaphore(AgentWire.STDIN_WINDOW);
            }
            Thread feeder = stdin == null ? null : feed(stdin);
            Watchdog w = timeout == null ? Watchdog.NONE : Watchdog.after(timeout, () -> {
                timedOut.set(true);
                kill();
            });
            try {
                return read(output);
            } finally {
                w.cancel();
                synchronized (this) {
                    finished = true;
                    if (lastResort != null) {
                        lastResort.cancel();
                    }
                }
                if (feeder != null) {
                    feeder.interrupt();
                }
            }
        }

        private Outcome read(Output output) throws IOException {
            boolean started = file; // a file request has no STARTED: its answers may come at once
            while (true) {
                Frame f;
                try {
                    f = AgentWire.read(in);
                } catch (AgentWire.Malformed e) {
                    throw new Broken("the agent sent a malformed frame: " + e.getMessage(), e);
                } catch (EOFException e) {
                    throw ended();
                } catch (IOException e) {
                    if (closed) {
                        throw ended();
                    }
                    throw e;
                }
                if (f == null) {
                    throw ended();
                }
                if (f.type() == AgentWire.HELLO && f.id() == 0) {
                    // a port's agent that started again says so to the host that holds the port (AGENT.md)
                    throw new Broken("davit-agent started again while the process ran (code in the sandbox may have"
                            + " ended it), and the process with it");
                }
                if (f.id() != id) {
                    throw new Broken("the agent answered for process " + Integer.toUnsignedString(f.id())
                            + " while process " + id + " was awaited");
                }
                try {
                    Outcome o = frame(f, output, started, timedOut.get());
                    if (o != null) {
                        return o;
                    }
                } catch (AgentWire.Malformed e) {
                    throw new Broken("the agent sent a malformed payload: " + e.getMessage(), e);
                }
                started = true;
            }
        }

        /** Takes one frame of this process's; its outcome when it is the last, else null (it started, or output). */
        private Outcome frame(Frame f, Output output, boolean started, boolean timedOut) throws IOException {
            Fields p = new Fields(f.payload());
            switch (f.type()) {
                case AgentWire.STARTED -> {
                    if (started || file) {
                        throw new Broken("the agent said twice that a process started");
                    }
                    p.u32();
                    p.end();
                    return null;
                }
                case AgentWire.STDOUT, AgentWire.STDERR, AgentWire.DATA -> {
                    if (!started || file != (f.type() == AgentWire.DATA) || !data) {
                        throw new Broken(file ? "the agent sent a process's output for a file request"
                                : "the agent sent output of a process it had not started");
                    }
                    int n = f.payload().length;
                    if (n == 0 || n > AgentWire.MAX_CHUNK) {
                        throw new Broken("the agent sent an output chunk of " + n + " bytes");
                    }
                    long t = System.nanoTime();
                    deliveringSince = t;
                    try {
                        output.write(f.type() == AgentWire.STDERR, f.payload(), n);
                    } finally {
                        delivering.addAndGet(System.nanoTime() - t);
                        deliveringSince = 0;
                    }
                    return null;
                }
                case AgentWire.DONE -> {
                    if (!file) {
                        throw new Broken("the agent said a process was done as a file request is");
                    }
                    long value = p.u64();
                    p.end();
                    return new Outcome(0, 0, timedOut, 0, "", value, false);
                }
                case AgentWire.STDIN_ACK -> {
                    java.util.concurrent.Semaphore w = window;
                    if (!started || w == null || f.payload().length != 0 || unacknowledged.decrementAndGet() < 0) {
                        throw new Broken("the agent acknowledged stdin it was not sent");
                    }
                    w.release();
                    return null;
                }
                case AgentWire.EXIT -> {
                    if (!started || file) {
                        throw new Broken("the agent said a process ended that it had not started");
                    }
                    int code = p.i32();
                    long signal = p.u32();
                    long flags = f.payload().length == 12 ? p.u32() : 0; // an older agent's has none
                    p.end();
                    if (code < 0 || code > 255 || signal > 64 || (signal != 0 && code != 128 + signal)
                            || (flags & ~AgentWire.EXIT_OOM) != 0) {
                        throw new Broken("the agent reported exit code " + code + ", signal " + signal
                                + " and flags " + flags);
                    }
                    return new Outcome(code, (int) signal, timedOut, 0, "", 0,
                            (flags & AgentWire.EXIT_OOM) != 0);
                }
                case AgentWire.ERROR -> {
                    if (started && !file) { // a file request's may end it after some DATA
                        throw new Broken("the agent sent an error for a process it had started");
                    }
                    long code = p.u32();
                    String message = oneLine(p.bytes(AgentWire.MAX_PAYLOAD));
                    p.end();
                    if (code < AgentWire.E_MALFORMED || code > (file ? AgentWire.E_FAILED : AgentWire.E_AGENT)) {
                        throw new Broken("the agent sent error code " + code);
                    }
                    return new Outcome(-1, 0, timedOut, (int) code, message, 0, false);
                }
                default -> throw new Broken("the agent sent a frame of type " + f.type());
            }
        }

        private IOException ended() {
            IOException failed = inputFailed;
            if (failed != null) {
                return new InputFailed(failed);
            }
            return brokenEnd();
        }

        private Broken brokenEnd() {
            return new Broken(lastResort != null ? "the agent did not end the process within " + KILL_WAIT.toSeconds()
                    + " s of its kill" : "the agent's connection ended while a process ran", lastResort != null);
        }

        /**
         * A read of the host's input; one that fails closes the link (the agent ends what it started: a truncated
         * input must not pass for a whole one) and makes {@link #await} throw {@link InputFailed}.
         */
        private int readInput(InputStream stdin, byte[] buf) throws IOException {
            try {
                return stdin.read(buf);
            } catch (IOException | RuntimeException e) {
                inputFailed = e instanceof IOException io ? io : new IOException(e.toString(), e);
                close();
                throw inputFailed;
            }
        }

        private Thread feed(InputStream stdin) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[AgentWire.MAX_CHUNK];
                try (stdin) {
                    int n;
                    while ((n = readInput(stdin, buf)) >= 0) {
                        if (n > 0) {
                            window.acquire(); // at most the window unacknowledged: the agent never waits for us
                            unacknowledged.incrementAndGet();
                            send(new Frame(AgentWire.STDIN, id, java.util.Arrays.copyOf(buf, n)));
                        }
                    }
                    send(new Frame(AgentWire.STDIN_CLOSE, id, new byte[0]));
                } catch (IOException | RuntimeException e) {
                    // the process or the link is gone (a stream's own exception too): nothing more to feed
                } catch (InterruptedException e) {
                    // the process ended: nothing more to feed
                }
            }, "davit-agent-stdin-" + id);
            t.setDaemon(true);
            t.start();
            return t;
        }
    }

    private synchronized void send(Frame f) throws IOException {
        AgentWire.write(out, f);
    }

    /** Closes the connection: the agent kills every process this link started that has not ended. */
    @Override
    public void close() {
        closed = true;
        quietly(closer);
    }

    /** The agent's message as one line of at most {@link #MAX_MESSAGE} bytes, control characters replaced. */
    private static String oneLine(byte[] b) {
        String s = new String(b, 0, Math.min(b.length, MAX_MESSAGE), StandardCharsets.UTF_8);
        StringBuilder o = new StringBuilder(s.length());
        // no control, format (bidi), line or paragraph separator character: the line shows what it says
        s.codePoints().forEach(c -> o.appendCodePoint(Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                || Character.getType(c) == Character.LINE_SEPARATOR
                || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? '?' : c));
        return o.toString().strip();
    }

    private static void quietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closed already
        }
    }

    /** A unix socket's reading side, straight on the channel (its writes go on from other threads meanwhile). */
    private static final class ChannelIn extends InputStream {
        private final SocketChannel ch;

        ChannelIn(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return len == 0 ? 0 : ch.read(ByteBuffer.wrap(b, off, len));
        }
    }

    /** A unix socket's writing side. */
    private static final class ChannelOut extends OutputStream {
        private final SocketChannel ch;

        ChannelOut(SocketChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    /**
     * An action run once a wait has passed, unless cancelled first: on one daemon thread that every link shares, so a
     * bounded wait costs no thread of its own (an action must not block: a kill sends its signal on a thread of its
     * own).
     */
    private static final class Watchdog {
        static final Watchdog NONE = new Watchdog();
        private static final java.util.concurrent.ScheduledThreadPoolExecutor TIMER = timer();
        private volatile java.util.concurrent.Future<?> next;
        private volatile boolean fired;
        private volatile boolean cancelled;

        private static java.util.concurrent.ScheduledThreadPoolExecutor timer() {
            java.util.concurrent.ScheduledThreadPoolExecutor t = new java.util.concurrent.ScheduledThreadPoolExecutor(1,
                    r -> Thread.ofPlatform().daemon().name("davit-agent-watchdog").unstarted(r));
            t.setRemoveOnCancelPolicy(true);
            return t;
        }

        static Watchdog after(Duration wait, Runnable action) {
            Watchdog w = new Watchdog();
            w.next = TIMER.schedule(() -> {
                if (!w.cancelled) {
                    w.fired = true;
                    action.run();
                }
            }, wait.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
            return w;
        }

        boolean fired() {
            return fired;
        }

        void cancel() {
            cancelled = true;
            java.util.concurrent.Future<?> f = next;
            if (f != null) {
                f.cancel(false);
            }
        }
    }
}
