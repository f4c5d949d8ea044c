package dev.davit.sandbox.workspace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.Subject;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Fs;
import dev.davit.sandbox.backend.GuestTerminal;
import dev.davit.sandbox.backend.Machinery;
import dev.davit.sandbox.engine.Sandboxes;
import dev.davit.sandbox.internal.Spawned;
import dev.davit.sandbox.internal.SandboxJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The shells of one workspace: interactive programs on a PTY, started detached in its sandbox
 * ({@link Machinery#spawn} with a terminal), each in {@code <workspace state>/shells/<id>/}: {@code shell.json},
 * {@code input} (a FIFO to the terminal), {@code output} (all the terminal showed), {@code offset} (how far
 * {@link #read} has read) and {@code exit}. See docs/reference/workspaces/PROCESSES.md, Shells.
 */
public final class Shells {
    static final String DIR = "shells";
    static final String FILE = "shell.json";
    private static final String OFFSET = Spawned.OFFSET;
    /**
     * The most shells open at once in one workspace (running or ended, until {@link #close}d): each is a terminal on
     * the host and, in a workspace with secrets, a log filter there too (see docs/reference/workspaces/PROCESSES.md, Shells);
     * {@link #open} refuses one more.
     */
    public static final int MAX_OPEN = 16;
    private static final Duration WRITE_WAIT = Duration.ofSeconds(10);
    /** How long {@link #close} gives a shell's processes after the hang-up and TERM before it kills them. */
    static final Duration GRACE = Duration.ofSeconds(1);

    private final Sandboxes sandboxes;
    private final Path dir;
    private final String workspace;
    private final String sandboxId;
    private final SecretUse secrets;

    Shells(Sandboxes sandboxes, Path workspaceDir, String workspace, String sandboxId, SecretUse secrets) {
        this.sandboxes = sandboxes;
        this.dir = workspaceDir.resolve(DIR);
        this.workspace = workspace;
        this.sandboxId = sandboxId;
        this.secrets = secrets;
    }

    /**
     * One shell.
     *
     * @param id        its id: {@code sh-} and 8 hex digits
     * @param command   the program it runs on the terminal (argv; in a workspace with secrets, each value redacted)
     * @param state     {@code running} or {@code exited}
     * @param exitCode  its exit code once it ended, else null
     * @param pid       the pid of its process-group leader: on the host for a container workspace, in the guest for
     *                  a microVM's; 0 when it ended before it was seen
     * @param startedAt when it was opened
     */
    public record Shell(String id, List<String> command, String state, Integer exitCode, long pid,
                        Instant startedAt) {
        /**
         * The state as {@code davit workspace shell ls} shows it.
         *
         * @return {@code running} or {@code exited(CODE)} ({@code ?} for an unknown code)
         */
        public String label() {
            return state.equals("exited") ? "exited(" + (exitCode == null ? "?" : exitCode) + ")" : state;
        }
    }

    /**
     * Opens a shell: {@code argv} (null: the image's {@code /bin/sh}, interactive) on a PTY, in /workspace, with
     * {@code TERM=xterm} and {@code env} on top of the sandbox's environment. Returns at once.
     *
     * @param argv the program to run; null or empty: {@code /bin/sh}
     * @param env  variables on top of the sandbox's and {@code TERM=xterm} (which it may replace); null: none
     * @return the new shell, {@code running} (or {@code exited} when it ended at once)
     * @throws DavitException {@link Kind#STATE} when the workspace is not running or {@link #MAX_OPEN} shells are
     *                        open already
     */
    public Shell open(List<String> argv, Map<String, String> env) {
        return open(argv, env, Map.of());
    }

    /**
     * {@link #open(List, Map)} with {@code secretEnv} (variable to secret name) set from the workspace's secrets;
     * its reads show every secret value redacted.
     *
     * @param argv      the program to run; null or empty: {@code /bin/sh}
     * @param env       variables on top of the sandbox's and {@code TERM=xterm}; null: none. It must not set a
     *                  variable of {@code secretEnv}
     * @param secretEnv environment variable to the name of one of the workspace's secrets; null or empty: none
     * @return the new shell
     * @throws DavitException {@link Kind#USAGE} when a secret is unknown or a variable is set twice;
     *                        {@link Kind#STATE} when the workspace is not running or {@link #MAX_OPEN} shells are
     *                        open already
     */
    public Shell open(List<String> argv, Map<String, String> env, Map<String, String> secretEnv) {
        List<String> cmd = argv == null || argv.isEmpty() ? List.of("/bin/sh") : argv;
        dev.davit.oci.internal.ProcessArgs.check(cmd, env, null);
        List<String> run = secrets.command(cmd, secretEnv, env, Secrets.SECRET_ENV);
        String id = "sh-" + dev.davit.oci.internal.RandomHex.of(4);
        Path d = dir.resolve(id);
        Map<String, String> e = new java.util.LinkedHashMap<>();
        e.put("TERM", "xterm");
        if (env != null) {
            e.putAll(env);
        }
        Instant started = Instant.now();
        Held.requireRunning(sandboxes, sandboxId, workspace);
        Held.startsLocked(dir, () -> {
            int open = Held.dirs(dir, FILE).size();
            if (open >= MAX_OPEN) {
                throw new DavitException(Kind.STATE, Message.of("workspace " + workspace + " has " + open
                        + " shells open (the most); close one first with ", Action.CLOSE_SHELL.fix(workspace))
                        .about(Subject.Type.WORKSPACE, workspace));
            }
            Spawned p;
            try {
                RedactPipe.install(d, dir.getParent(), secrets.redactor()); // what it shows, redacted before the disk
                p = Machinery.of(sandboxes).spawn(sandboxId, run, e, Workspaces.MOUNT, d, true);
            } catch (DavitException x) {
                throw SecretUse.redacted(x, secrets.redactor());
            }
            ObjectNode o = Json.object();
            o.put("id", id);
            ArrayNode c = o.putArray("command");
            secrets.redactor().redact(cmd).forEach(c::add); // at rest as shown: no value outside secrets/values.json
            o.set("process", SandboxJson.spawned(p));
            o.put("started_at", started.toString());
            Held.write(d, FILE, o);
            return p;
        });
        return get(id);
    }

    /**
     * Shell {@code id}; NOT_FOUND when there is none.
     *
     * @param id the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @return the shell, its state as it is now
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell
     */
    public Shell get(String id) {
        return shell(id, record(id));
    }

    private JsonNode record(String id) {
        if (id == null || !id.matches("sh-[0-9a-f]{8}")) {
            throw new DavitException(Kind.USAGE, Message.of("bad shell id '" + id + "'; shell ids look like"
                    + " sh-0123abcd (see ", Action.LIST_SHELLS.fix(workspace), ")").value(id));
        }
        JsonNode o = Held.read(dir.resolve(id), FILE);
        if (o == null) {
            throw new DavitException(Kind.NOT_FOUND, Message.of("workspace " + workspace + " has no shell " + id
                    + "; see ", Action.LIST_SHELLS.fix(workspace)).about(Subject.Type.SHELL, id));
        }
        return o;
    }

    private Shell shell(String id, JsonNode o) {
        Spawned p = SandboxJson.spawned(o.path("process"));
        boolean alive = Machinery.of(sandboxes).alive(p);
        if (!alive && p.inGuest() && Held.exitCode(dir.resolve(id)) == null) {
            Machinery.of(sandboxes).collect(p, dir.resolve(id)); // its exit code, from the guest
        }
        List<String> cmd = new ArrayList<>();
        o.path("command").forEach(a -> cmd.add(a.asText()));
        return new Shell(id, secrets.redactor().redact(cmd), alive ? "running" : "exited",
                alive ? null : Held.exitCode(dir.resolve(id)),
                p.leaderPid(), Instant.parse(o.path("started_at").asText()));
    }

    /**
     * The shells, by id.
     *
     * @return every shell not closed yet (running or ended), each as it is now
     */
    public List<Shell> list() {
        List<Shell> out = new ArrayList<>();
        for (Path d : Held.dirs(dir, FILE)) {
            JsonNode o = Held.read(d, FILE);
            if (o != null) {
                out.add(shell(d.getFileName().toString(), o));
            }
        }
        return out;
    }

    /**
     * Writes {@code data} to the shell's terminal, as typed (a {@code \n} is Enter, {@code \u0003} Ctrl-C).
     *
     * @param id   the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @param data the bytes to type (see {@link #unescape} for C-like escapes)
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell, or it
     *                        has ended; {@link Kind#INTERNAL} when the terminal did not take the input within 10 s
     */
    public void write(String id, byte[] data) {
        JsonNode o = record(id);
        Spawned p = SandboxJson.spawned(o.path("process"));
        if (!Machinery.of(sandboxes).alive(p)) {
            throw ended(id);
        }
        GuestTerminal guest = Machinery.of(sandboxes).terminal(p);
        if (guest != null) { // a pod's: typed through its agent
            long took = guest.input(data, WRITE_WAIT);
            if (took < 0) {
                throw ended(id);
            }
            if (took < data.length) {
                throw notTaken(id);
            }
            return;
        }
        Path fifo = dir.resolve(id).resolve(Spawned.INPUT);
        // opening a FIFO blocks until it has a reader (the holder keeps one open while it runs); a full terminal
        // blocks the write: both are bounded
        CompletableFuture<Void> done = CompletableFuture.runAsync(() -> {
            try (OutputStream out = Files.newOutputStream(own(fifo), StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                out.write(data);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, r -> {
            Thread t = new Thread(r, "shell-write-" + id);
            t.setDaemon(true);
            t.start();
        });
        try {
            done.get(WRITE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw notTaken(id);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new DavitException(Kind.STORE, "cannot write to shell " + id + ": " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }

    private DavitException notTaken(String id) {
        return new DavitException(Kind.INTERNAL, Message.of("shell " + id + " did not take its input within "
                + WRITE_WAIT.toSeconds() + " s (is the program reading? ", Action.READ_SHELL.fix(workspace, id),
                ")").about(Subject.Type.SHELL, id));
    }

    /**
     * How to read a shell's output.
     *
     * @param waitFor  how long to wait for output (zero: take what is there and return)
     * @param quiet    once there was output, return when none came for this long (not with {@code until})
     * @param until    null, or return as soon as the text read matches this (found anywhere in it; the text as a
     *                 clean read shows it, also with {@code raw}); then {@code quiet} does not apply
     * @param maxBytes the most bytes one read takes (1 to {@link #MAX_BYTES_LIMIT}); the rest waits for the next
     * @param raw      the bytes exactly as the terminal got them, else the text ({@link TerminalText})
     */
    public record ReadOptions(Duration waitFor, Duration quiet, Pattern until, int maxBytes, boolean raw) {
        /**
         * Checks the options; null times become their defaults.
         *
         * @throws DavitException {@link Kind#USAGE} for a negative time or {@code maxBytes} out of range
         */
        public ReadOptions {
            waitFor = waitFor == null ? Duration.ZERO : waitFor;
            quiet = quiet == null ? QUIET : quiet;
            if (waitFor.isNegative() || quiet.isNegative()) {
                throw new DavitException(Kind.USAGE, "a shell read's wait and quiet times must be 0 or more");
            }
            if (maxBytes < 1 || maxBytes > MAX_BYTES_LIMIT) {
                throw new DavitException(Kind.USAGE, "a shell read takes 1 to " + MAX_BYTES_LIMIT + " bytes at once,"
                        + " not " + maxBytes);
            }
        }

        /**
         * Text, at most {@link #MAX_BYTES}, waiting up to {@code wait} (then until the output settles).
         *
         * @param wait how long to wait for output; null or zero: take what is there
         * @return options of a text read, quiet after {@link #QUIET}, no {@code until}
         */
        public static ReadOptions text(Duration wait) {
            return new ReadOptions(wait, null, null, MAX_BYTES, false);
        }
    }

    /**
     * What a read took.
     *
     * @param bytes     the bytes read, as the terminal got them
     * @param text      what they say ({@link TerminalText}); null for a raw read
     * @param truncated whether more output was there than the read took ({@code maxBytes}): the next read goes on
     * @param matched   whether the read's {@link ReadOptions#until} pattern matched (false without one)
     * @param timedOut  whether the read returned because its {@link ReadOptions#waitFor} time was over (with
     *                  {@code until}: the pattern did not match within it), not because its output settled, matched,
     *                  filled {@code maxBytes} or the shell ended
     */
    public record Output(byte[] bytes, String text, boolean truncated, boolean matched, boolean timedOut) {
    }

    /** The default of {@link ReadOptions#maxBytes}: 64 KiB. */
    public static final int MAX_BYTES = 64 << 10;
    /** The most a read takes at once: 16 MiB. */
    public static final int MAX_BYTES_LIMIT = 16 << 20;
    /** The default of {@link ReadOptions#quiet}: 200 ms. */
    public static final Duration QUIET = Duration.ofMillis(200);
    /** The longest one match of {@link ReadOptions#until} may take. */
    private static final Duration UNTIL_BUDGET = Duration.ofMillis(250);
    /** How long a read of a terminal in the sandbox may go on taking more, past its wait and quiet times. */
    private static final Duration GUEST_MORE = Duration.ofSeconds(5);
    /** How far before the new text a match of {@code until} may start. */
    private static final int UNTIL_OVERLAP = 4096;

    /**
     * The terminal's output since the last read, raw, at most {@link #MAX_BYTES_LIMIT}; see
     * {@link #read(String, ReadOptions)}.
     *
     * @param id   the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @param wait how long to wait for output when there is none yet; null or zero: take what is there
     * @return the bytes as the terminal got them (redacted in a workspace with secrets); empty when none came
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell
     */
    public byte[] read(String id, Duration wait) {
        return read(id, new ReadOptions(wait, null, null, MAX_BYTES_LIMIT, true)).bytes();
    }

    /**
     * The terminal's output since the last read: when there is none yet, waits up to {@code o.waitFor()} for some, then
     * until none came for {@code o.quiet()} (or {@code o.until()} appears), the wait's end, the shell's end or
     * {@code o.maxBytes()}. A text read leaves the start of a sequence that the next bytes may complete (an escape
     * sequence, a UTF-8 character, a {@code \r} before {@code \n}) for the next read while the shell runs. Reads of
     * one shell take turns (a lock of this JVM and a file lock); memory is bounded by {@code o.maxBytes()}.
     *
     * @param id the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @param o  how to read
     * @return what the read took (redacted in a workspace with secrets); also after the shell ended, until all its
     *         output was read
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell
     */
    public Output read(String id, ReadOptions o) {
        JsonNode rec = record(id);
        Spawned p = SandboxJson.spawned(rec.path("process"));
        Path d = dir.resolve(id);
        try {
            // one JVM's reads take turns too (a file lock cannot be taken twice by one JVM: FileLocks)
            return dev.davit.sandbox.backend.FileLocks.holding(d.resolve("read.lock"), () -> readHolding(id, o, p, d));
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the output of shell " + id + ": " + e.getMessage());
        }
    }

    /** {@link #read(String, ReadOptions)}, holding the shell's read lock. */
    private Output readHolding(String id, ReadOptions o, Spawned p, Path d) {
        Path out = d.resolve(Spawned.OUTPUT);
        GuestTerminal guest = Machinery.of(sandboxes).terminal(p); // a pod's, in the pod; else the files of d
        try {
            Cursor c = Cursor.load(d);
            Cursor start = c;
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            TerminalText text = new TerminalText(o.maxBytes());
            long t0 = System.nanoTime();
            long deadline = t0 + o.waitFor().toNanos();
            long lastNew = -1;
            int checked = 0;
            int lastLength = 0;
            boolean ended = false;
            boolean matched = false;
            boolean timedOut = false;
            Redactor r = secrets.redactor();
            while (true) {
                // with secrets, what may start a value is left for a later read, unless nothing more can come
                boolean over = ended || !r.isEmpty() && !Machinery.of(sandboxes).alive(p);
                Piece piece = take(guest, out, c, o.maxBytes() - buf.size(), r, over);
                if (piece != null) {
                    c = piece.after();
                    buf.write(piece.bytes());
                    lastLength = piece.bytes().length;
                    lastNew = System.nanoTime();
                    if (!o.raw() || o.until() != null) {
                        text.feed(piece.bytes(), 0, piece.bytes().length);
                    }
                    if (o.until() != null && found(o.until(), text, checked)) {
                        matched = true;
                        break;
                    }
                    if (buf.size() >= o.maxBytes()) {
                        break;
                    }
                    checked = text.length();
                    if (guest != null && System.nanoTime() - t0 > o.waitFor().plus(o.quiet()).plus(GUEST_MORE)
                            .toNanos()) {
                        break; // an agent that trickles a byte per answer does not hold the read past its times
                    }
                    continue; // more may be there at once (the capper's next file; the agent's next answer)
                }
                if (ended) {
                    break;
                }
                long now = System.nanoTime();
                if (!Machinery.of(sandboxes).alive(p)) {
                    ended = true; // its holder is gone: all its output is in the files; read what is left
                } else if (lastNew >= 0 && o.until() == null && now - lastNew >= o.quiet().toNanos()) {
                    break;
                } else if (now >= deadline) {
                    timedOut = true;
                    break;
                } else {
                    Thread.sleep(20);
                }
            }
            byte[] b = buf.toByteArray();
            boolean truncated = b.length >= o.maxBytes() && take(guest, out, c, 1, Redactor.NONE, true) != null;
            int hold = 0;
            if (!o.raw()) {
                // the start of a sequence is left for the next read, unless the shell ended, it is all this read
                // took of a full read (it would never get further), or it began in the file before
                hold = text.held();
                // with secrets the text's lengths are not the file's (a value became its marker): nothing is held
                if (ended || hold > lastLength || hold == b.length && b.length >= o.maxBytes() || !r.isEmpty()) {
                    text.end();
                    hold = 0;
                }
            }
            if (hold > 0) {
                c = new Cursor(c.pos() - hold, c.inode());
                b = java.util.Arrays.copyOf(b, b.length - hold);
            }
            if (!c.equals(start)) {
                c.save(d);
            }
            return new Output(b, o.raw() ? null : text.text(), truncated, matched, timedOut);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the output of shell " + id + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.CANCELLED, "interrupted");
        }
    }

    /**
     * Whether {@code until} matches the text from a little before {@code checked} (what an earlier check saw);
     * USAGE when one match takes longer than {@link #UNTIL_BUDGET} (a pattern that backtracks without end).
     */
    private static boolean found(Pattern until, TerminalText text, int checked) {
        String t = text.textFrom(Math.max(0, checked - UNTIL_OVERLAP));
        long deadline = System.nanoTime() + UNTIL_BUDGET.toNanos();
        try {
            return until.matcher(new Bounded(t, deadline)).find();
        } catch (Bounded.TooLong e) {
            throw new DavitException(Kind.USAGE, "the until pattern took more than " + UNTIL_BUDGET.toMillis()
                    + " ms to match the output: give a simpler one (the prompt's last characters, for example)");
        }
    }

    /** A text whose reads fail past a deadline: a regular expression cannot take longer than that on it. */
    private record Bounded(String s, long deadline, int[] reads) implements CharSequence {
        static final class TooLong extends RuntimeException {
            TooLong() {
                super(null, null, false, false);
            }
        }

        Bounded(String s, long deadline) {
            this(s, deadline, new int[1]);
        }

        @Override
        public char charAt(int index) {
            if ((++reads[0] & 0xfff) == 0 && System.nanoTime() > deadline) {
                throw new TooLong();
            }
            return s.charAt(index);
        }

        @Override
        public int length() {
            return s.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new Bounded(s.substring(start, end), deadline, reads);
        }

        @Override
        public String toString() {
            return s;
        }
    }

    /**
     * Where a shell's reads are: a position in the file with that inode, {@code output} or, once the capper renamed it,
     * {@code output.1}; without an inode (a shell's first read) a position in {@code output}. Kept in {@code offset}
     * as {@code POS INODE} or {@code POS}.
     */
    private record Cursor(long pos, Object inode) {
        static Cursor load(Path d) throws IOException {
            try {
                String[] f = Files.readString(d.resolve(OFFSET)).strip().split(" ");
                if (f.length > 2) {
                    return new Cursor(0, null);
                }
                return new Cursor(Long.parseLong(f[0]), f.length > 1 ? Long.valueOf(f[1]) : null);
            } catch (java.nio.file.NoSuchFileException | NumberFormatException e) {
                return new Cursor(0, null);
            }
        }

        void save(Path d) throws IOException {
            Fs.writeAtomically(d.resolve(OFFSET), (pos + (inode == null ? "" : " " + inode))
                    .getBytes(StandardCharsets.US_ASCII), d);
        }
    }

    /** Bytes read from a shell's output, and where the next read starts. */
    private record Piece(byte[] bytes, Cursor after) {
    }

    /**
     * At most {@code max} bytes of what the terminal showed after {@code c}: from {@code guest} when the terminal is
     * in the sandbox (a pod's: the cursor is a position in all it showed, without an inode), else from the files of
     * {@code out}; null when there is nothing new.
     */
    private static Piece take(GuestTerminal guest, Path out, Cursor c, int max, Redactor r, boolean ended)
            throws IOException {
        if (guest == null) {
            return take(out, c, max, r, ended);
        }
        GuestTerminal.Chunk got = guest.output(c.pos(), r.isEmpty() ? max : Math.max(max, r.maxLength() + 1));
        byte[] b = got.bytes();
        if (b.length == 0) {
            return null;
        }
        int consumed = b.length;
        if (!r.isEmpty()) {
            if (got.start() > c.pos()) { // older output was dropped: the read may begin inside a value
                b = r.redactAfterCut(b, false);
            } else {
                Redactor.Part part = r.redactPart(b, ended);
                b = part.bytes();
                consumed = part.consumed();
            }
        }
        return consumed == 0 ? null : new Piece(b, new Cursor(got.start() + consumed, null));
    }

    /**
     * At most {@code max} bytes of what the terminal showed after {@code c}; null when there is nothing new. After
     * {@code output.1} (read to its end first) comes {@code output}; when neither has the cursor's inode any more
     * (more than half the cap came between two reads) the read goes on at the oldest byte kept, as it does at a
     * shell's first read. A vm's shell has links to its console's files instead (kept the same way by the VM's
     * capper, {@code out/shN.out} and {@code .1}), and an offset with an inode from the start.
     */
    private static Piece take(Path out, Cursor c, int max, Redactor r, boolean ended) throws IOException {
        // a vm's console: davit's link to the file the VM's capper keeps (its older half beside it)
        Path now = own(out);
        Path old = now.resolveSibling(now.getFileName() + ".1");
        for (int attempt = 0; attempt < 5; attempt++) {
            Object cur = CappedLog.inode(now);
            Object prev = CappedLog.inode(old);
            Path file;
            long from;
            if (c.inode() == null && c.pos() == 0) { // the first read: from the oldest byte kept
                file = prev != null ? old : now;
                from = 0;
            } else if (c.inode() == null || c.inode().equals(cur)) {
                file = now;
                from = c.pos();
            } else if (c.inode().equals(prev) && c.pos() < size(old)) {
                file = old;
                from = c.pos();
            } else if (c.inode().equals(prev)) {
                file = now;
                from = 0;
            } else {
                file = prev != null ? old : now;
                from = 0;
            }
            Object expected = file == old ? prev : cur;
            // with secrets, enough to hold a whole value: a read that could only take part of one would never move
            byte[] b;
            try {
                b = chunk(file, from, r.isEmpty() ? max : Math.max(max, r.maxLength() + 1));
            } catch (java.nio.file.NoSuchFileException renamed) {
                continue; // the capper turned it over between its size and its open: looked at again
            }
            if (Objects.equals(expected, CappedLog.inode(file))) {
                if (b == null) {
                    return null;
                }
                int consumed = b.length;
                if (!r.isEmpty()) {
                    // where a read does not go on from the last one (a rotation passed it), it may begin inside a
                    // value; the older file never grows, so what it ends with is decided too
                    boolean gap = from == 0 && (c.inode() != null || c.pos() != 0);
                    if (gap) {
                        b = r.redactAfterCut(b, false);
                    } else {
                        Redactor.Part part = r.redactPart(b, ended || file == old);
                        b = part.bytes();
                        consumed = part.consumed();
                    }
                }
                return consumed == 0 ? null : new Piece(b, new Cursor(from + consumed, expected));
            }
        }
        return null;
    }

    /** At most {@code max} bytes of {@code file} from {@code from}; null when there are none (or no file). */
    private static byte[] chunk(Path file, long from, int max) throws IOException {
        long size = size(file);
        if (size <= from) {
            return null;
        }
        byte[] b = new byte[Math.toIntExact(Math.min(size - from, max))];
        try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
            while (buf.hasRemaining() && r.read(buf, from + buf.position()) > 0) {
                // until the bytes the size promised are in (the file only grows)
            }
        }
        return b;
    }

    /**
     * The file a shell's {@code input} or {@code output} names: itself, or (a vm's shell) where davit's link to the
     * VM's console file points, one step, never further: the input FIFO is in {@code vmm/}, which the VMM's uid owns
     * and could put a link in, so the file is opened without following one (a link there is an error, never a host
     * file); the output is in davit's own {@code out/}.
     */
    private static Path own(Path p) throws IOException {
        return Files.isSymbolicLink(p) ? p.resolveSibling(Files.readSymbolicLink(p)) : p;
    }

    /** The size of a shell's output file ({@link #own}); -1 while it is missing or when it is not a regular file. */
    private static long size(Path out) throws IOException {
        try {
            var a = Files.readAttributes(own(out), java.nio.file.attribute.BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile() ? a.size() : -1;
        } catch (java.nio.file.NoSuchFileException e) {
            return -1;
        }
    }

    /**
     * Sends {@code signal} ({@code INT}, {@code TERM}, {@code KILL}, ...) to the foreground process group of the
     * shell's terminal, as a key such as Ctrl-C would (also when the program turned such keys off).
     *
     * @param id     the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @param signal the signal's name without {@code SIG}: {@code INT}, {@code TERM}, {@code KILL}, {@code HUP},
     *               {@code QUIT}, {@code USR1} or {@code USR2}
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell, an
     *                        unknown signal or a shell that has ended
     */
    public void signal(String id, String signal) {
        JsonNode o = record(id);
        if (!Machinery.of(sandboxes).signal(SandboxJson.spawned(o.path("process")), signal, true)) {
            throw ended(id);
        }
    }

    /**
     * Ends the shell (a hang-up and TERM to its processes, then KILL to what is left after {@link #GRACE}) and removes
     * its state.
     *
     * @param id the shell's id ({@code sh-} and 8 hex digits, as {@link #open} returns it)
     * @throws DavitException {@link Kind#USAGE} for a malformed id, {@link Kind#NOT_FOUND} when the workspace has no
     *                        such shell
     */
    public void close(String id) {
        JsonNode o = record(id);
        Machinery.of(sandboxes).terminate(SandboxJson.spawned(o.path("process")), GRACE);
        Path gone = dir.resolve("." + id + ".rm");
        try {
            Files.move(dir.resolve(id), gone, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot remove shell " + id + ": " + e.getMessage());
        }
        Held.delete(gone);
    }

    /** Closes every shell (for the workspace's stop, reset and rm). */
    public void closeAll() {
        for (Shell s : list()) {
            close(s.id());
        }
    }

    private DavitException ended(String id) {
        Integer rc = Held.exitCode(dir.resolve(id));
        return new DavitException(Kind.USAGE, Message.of("shell " + id + " has ended (exit code "
                + (rc == null ? "?" : rc) + "); read what is left with ", Action.READ_SHELL.fix(workspace, id),
                ", or open another").about(Subject.Type.SHELL, id));
    }

    /**
     * {@code s} with C-like escapes understood: {@code \n \r \t \e \a \b \0 \\} and {@code \xHH}; any other
     * character (and an incomplete escape) as it is. For {@code shell write DATA}.
     *
     * @param s text with escapes, e.g. {@code ls\n} (ls, then Enter)
     * @return its bytes (UTF-8), the escapes replaced by the bytes they stand for
     */
    public static byte[] unescape(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i++) {
            if (b[i] != '\\' || i + 1 >= b.length) {
                out.write(b[i]);
                continue;
            }
            byte c = b[++i];
            switch (c) {
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case 'e' -> out.write(0x1b);
                case 'a' -> out.write(7);
                case 'b' -> out.write(8);
                case '0' -> out.write(0);
                case '\\' -> out.write('\\');
                case 'x' -> {
                    if (i + 2 < b.length && hex(b[i + 1]) >= 0 && hex(b[i + 2]) >= 0) {
                        out.write(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                        i += 2;
                    } else {
                        out.write('\\');
                        out.write('x');
                    }
                }
                default -> {
                    out.write('\\');
                    out.write(c);
                }
            }
        }
        return out.toByteArray();
    }

    private static int hex(byte c) {
        return Character.digit(c, 16);
    }
}
