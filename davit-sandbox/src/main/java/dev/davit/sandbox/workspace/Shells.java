package dev.davit.sandbox.workspace;

import dev.davit.oci.store.FileLocking;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Json;
import dev.davit.oci.store.Fs;
import dev.davit.sandbox.Sandboxes;
import dev.davit.sandbox.Spawned;
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

/**
 * The shells of one workspace: interactive programs on a PTY, started detached in its sandbox
 * ({@link Sandboxes#spawn} with a terminal), each in {@code <workspace state>/shells/<id>/}: {@code shell.json},
 * {@code input} (a FIFO to the terminal), {@code output} (all the terminal showed), {@code offset} (how far
 * {@link #read} has read) and {@code exit}. See docs/WORKSPACES.md, Shells.
 */
public final class Shells {
    static final String DIR = "shells";
    static final String FILE = "shell.json";
    private static final String OFFSET = Spawned.OFFSET;
    /** The line util-linux script writes at the top of its output file, which is not the program's. */
    private static final byte[] HEADER = "Script started on ".getBytes(StandardCharsets.US_ASCII);
    private static final Duration WRITE_WAIT = Duration.ofSeconds(10);

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
     * @param state    {@code running} or {@code exited}
     * @param exitCode its exit code once it ended, else null
     */
    public record Shell(String id, List<String> command, String state, Integer exitCode, long pid,
                        Instant startedAt) {
        public String label() {
            return state.equals("exited") ? "exited(" + (exitCode == null ? "?" : exitCode) + ")" : state;
        }

        public ObjectNode toJson() {
            return Held.describe("id", id, command, state, exitCode, pid, startedAt);
        }
    }

    /**
     * Opens a shell: {@code argv} (null: the image's {@code /bin/sh}, interactive) on a PTY, in /workspace, with
     * {@code TERM=xterm} and {@code env} on top of the sandbox's environment. Returns at once.
     */
    public Shell open(List<String> argv, Map<String, String> env) {
        return open(argv, env, Map.of());
    }

    /**
     * {@link #open(List, Map)} with {@code secretEnv} (variable to secret name) set from the workspace's secrets;
     * its reads show every secret value redacted.
     */
    public Shell open(List<String> argv, Map<String, String> env, Map<String, String> secretEnv) {
        List<String> cmd = argv == null || argv.isEmpty() ? List.of("/bin/sh") : argv;
        List<String> run = secrets.command(cmd, secretEnv, env, "--secret-env");
        String id = "sh-" + dev.davit.oci.RandomHex.of(4);
        Path d = dir.resolve(id);
        Map<String, String> e = new java.util.LinkedHashMap<>();
        e.put("TERM", "xterm");
        if (env != null) {
            e.putAll(env);
        }
        Instant started = Instant.now();
        Spawned p;
        try {
            p = sandboxes.spawn(sandboxId, run, e, Workspaces.MOUNT, d, true);
        } catch (DavitException x) {
            throw SecretUse.redacted(x, secrets.redactor());
        }
        ObjectNode o = Json.object();
        o.put("id", id);
        ArrayNode c = o.putArray("command");
        cmd.forEach(c::add);
        o.set("process", p.toJson());
        o.put("started_at", started.toString());
        Held.write(d, FILE, o);
        return get(id);
    }

    /** Shell {@code id}; NOT_FOUND when there is none. */
    public Shell get(String id) {
        return shell(id, record(id));
    }

    private JsonNode record(String id) {
        if (id == null || !id.matches("sh-[0-9a-f]{8}")) {
            throw new DavitException(Kind.USAGE, "bad shell id '" + id + "'; shell ids look like sh-0123abcd (see"
                    + " 'davit workspace shell ls " + workspace + "')");
        }
        JsonNode o = Held.read(dir.resolve(id), FILE);
        if (o == null) {
            throw new DavitException(Kind.NOT_FOUND, "workspace " + workspace + " has no shell " + id
                    + "; see 'davit workspace shell ls " + workspace + "'");
        }
        return o;
    }

    private Shell shell(String id, JsonNode o) {
        Spawned p = Spawned.fromJson(o.path("process"));
        boolean alive = sandboxes.alive(p);
        if (!alive && p.inGuest() && Held.exitCode(dir.resolve(id)) == null) {
            sandboxes.collect(p, dir.resolve(id)); // its exit code, from the guest
        }
        List<String> cmd = new ArrayList<>();
        o.path("command").forEach(a -> cmd.add(a.asText()));
        return new Shell(id, secrets.redactor().redact(cmd), alive ? "running" : "exited", alive ? null : Held.exitCode(dir.resolve(id)),
                p.leaderPid(), Instant.parse(o.path("started_at").asText()));
    }

    /** The shells, by id. */
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

    /** Writes {@code data} to the shell's terminal, as typed (a {@code \n} is Enter, {@code \u0003} Ctrl-C). */
    public void write(String id, byte[] data) {
        JsonNode o = record(id);
        if (!sandboxes.alive(Spawned.fromJson(o.path("process")))) {
            throw ended(id);
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
            throw new DavitException(Kind.INTERNAL, "shell " + id + " did not take its input within "
                    + WRITE_WAIT.toSeconds() + " s (is the program reading? 'davit workspace shell read " + workspace
                    + " " + id + "')");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new DavitException(Kind.STORE, "cannot write to shell " + id + ": " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
    }

    /**
     * The terminal's output since the last read (raw bytes: echoed input, control sequences, {@code \r\n} line ends);
     * waits up to {@code wait} for some when there is none yet. Reads of one shell take turns (a file lock).
     */
    public byte[] read(String id, Duration wait) {
        record(id);
        Path d = dir.resolve(id);
        Path out = d.resolve(Spawned.OUTPUT);
        try (FileChannel lock = FileChannel.open(d.resolve("read.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            FileLocking.await(lock);
            long deadline = System.nanoTime() + (wait == null ? 0 : wait.toNanos());
            Redactor r = secrets.redactor();
            while (true) {
                // with secrets, what may start a value is left for a later read, unless nothing more can come
                boolean ended = !r.isEmpty() && !sandboxes.alive(Spawned.fromJson(record(id).path("process")));
                byte[] b = next(d, out, r, ended);
                if (b != null) {
                    return b;
                }
                if (System.nanoTime() >= deadline || !sandboxes.alive(Spawned.fromJson(record(id).path("process")))) {
                    return new byte[0];
                }
                Thread.sleep(20);
            }
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read the output of shell " + id + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DavitException(Kind.INTERNAL, "interrupted");
        }
    }

    /**
     * What the terminal showed after the read offset (at most 16 MiB), with the offset moved past it; null when there
     * is nothing new. The offset is {@code POS INODE}: a position in the file with that inode, {@code output} or,
     * once the capper renamed it, {@code output.1} (read to its end first); when neither has that inode any more (more
     * than half the cap came between two reads) the read goes on at the oldest byte kept. Without an inode (a shell's
     * first read) it is a position in {@code output}. A vm's shell has links to its console's files instead (kept
     * the same way by the VM's capper, {@code out/shN.out} and {@code .1}), and an offset with an inode from the
     * start.
     */
    private static byte[] next(Path d, Path out, Redactor r, boolean ended) throws IOException {
        String[] state = offsetState(d);
        long pos = Long.parseLong(state[0]);
        Object ino = state.length > 1 ? Long.valueOf(state[1]) : null;
        // a vm's console: davit's link to the file the VM's capper keeps (its older half beside it)
        Path now = own(out);
        Path old = now.resolveSibling(now.getFileName() + ".1");
        for (int attempt = 0; attempt < 5; attempt++) {
            Object cur = CappedLog.inode(now);
            Object prev = CappedLog.inode(old);
            Path file;
            long from;
            if (ino == null && pos == 0) { // the first read: from the oldest byte kept, after script's line
                file = prev != null ? old : now;
                from = start(file);
            } else if (ino == null || ino.equals(cur)) {
                file = now;
                from = pos;
            } else if (ino.equals(prev) && pos < size(old)) {
                file = old;
                from = pos;
            } else if (ino.equals(prev)) {
                file = now;
                from = 0;
            } else {
                file = prev != null ? old : now;
                from = 0;
            }
            Object expected = file == old ? prev : cur;
            // where a read does not go on from the last one (a rotation passed it), it may begin inside a value;
            // the older file never grows, so what it ends with is decided too
            boolean gap = from == 0 && (ino != null || pos != 0);
            byte[] b = chunk(d, file, from, expected, r, ended || file == old || gap, gap);
            if (Objects.equals(expected, CappedLog.inode(file))) {
                return b;
            }
        }
        return null;
    }

    /**
     * The bytes of {@code file} from {@code from} (at most 16 MiB; -1: not yet readable), with the offset saved as
     * {@code END INODE} ({@code inode} null: {@code END} alone); null when there are none.
     */
    private static byte[] chunk(Path d, Path file, long from, Object inode, Redactor redactor, boolean last,
                                boolean gap) throws IOException {
        long size = size(file);
        if (from < 0 || size <= from) {
            return null;
        }
        byte[] b = new byte[Math.toIntExact(Math.min(size - from, 16L << 20))];
        try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
            while (buf.hasRemaining() && r.read(buf, from + buf.position()) > 0) {
                // until the bytes the size promised are in (the file only grows)
            }
        }
        int consumed = b.length;
        if (!redactor.isEmpty()) {
            if (gap) {
                b = redactor.redactAfterCut(b, false);
            } else {
                Redactor.Part p = redactor.redactPart(b, last);
                b = p.bytes();
                consumed = p.consumed();
            }
        }
        if (consumed == 0) {
            return null;
        }
        Fs.writeAtomically(d.resolve(OFFSET), ((from + consumed) + (inode == null ? "" : " " + inode))
                .getBytes(StandardCharsets.US_ASCII), d);
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

    /** The read offset: {@code {POS}} or {@code {POS, INODE}} ({@code {"0"}} before the first read). */
    private static String[] offsetState(Path d) throws IOException {
        try {
            String[] f = Files.readString(d.resolve(OFFSET)).strip().split(" ");
            for (String x : f) {
                Long.parseLong(x);
            }
            return f.length <= 2 ? f : new String[] {"0"};
        } catch (java.nio.file.NoSuchFileException | NumberFormatException e) {
            return new String[] {"0"};
        }
    }

    /** Where the program's output starts: after script's header line; -1 while that line is incomplete. */
    private static long start(Path out) throws IOException {
        if (size(out) < 0) {
            return -1;
        }
        byte[] head;
        try (var in = Files.newInputStream(own(out), LinkOption.NOFOLLOW_LINKS)) {
            head = in.readNBytes(4096);
        }
        for (int i = 0; i < head.length && i < HEADER.length; i++) {
            if (head[i] != HEADER[i]) {
                return 0;
            }
        }
        if (head.length < HEADER.length) {
            return -1;
        }
        for (int i = 0; i < head.length; i++) {
            if (head[i] == '\n') {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * Sends {@code signal} ({@code INT}, {@code TERM}, {@code KILL}, ...) to the foreground process group of the
     * shell's terminal, as a key such as Ctrl-C would (also when the program turned such keys off).
     */
    public void signal(String id, String signal) {
        JsonNode o = record(id);
        if (!sandboxes.signal(Spawned.fromJson(o.path("process")), signal, true)) {
            throw ended(id);
        }
    }

    /** Ends the shell (TERM, then KILL after a grace period) and removes its state. */
    public void close(String id) {
        JsonNode o = record(id);
        sandboxes.terminate(Spawned.fromJson(o.path("process")), Services.GRACE);
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
        return new DavitException(Kind.USAGE, "shell " + id + " has ended (exit code " + (rc == null ? "?" : rc)
                + "); read what is left with 'davit workspace shell read', or open another");
    }

    /**
     * {@code s} with C-like escapes understood: {@code \n \r \t \e \a \b \0 \\} and {@code \xHH}; any other
     * character (and an incomplete escape) as it is. For {@code shell write DATA}.
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
