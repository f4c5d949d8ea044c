package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.Captured;
import dev.davit.sandbox.OutputExcerpt;
import dev.davit.sandbox.ExecResult;
import dev.davit.sandbox.internal.Spawned;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The exec history of a workspace: one JSON line per exec in {@code logs.jsonl}, appended with one {@code write}
 * on a file opened {@code O_APPEND} (rewriting a growing file per exec would make execs slower and slower), not
 * synced: an {@code fdatasync} per exec was the largest single cost of a fast exec, and what a host's crash can take
 * is the newest lines of a record, never the workspace (its files and state are written and synced apart); a line
 * torn by a crash is skipped when read. Bounded on disk: {@link #append} keeps the newest entries,
 * about {@link Spawned#logCap()} bytes in {@code logs.jsonl.1} and {@code logs.jsonl}.
 */
final class ExecLog {
    static final String FILE = "logs.jsonl";
    /** How much of the start and of the end of each stream an entry keeps. */
    static final int KEEP = 2048;
    private static final String LOCK = ".lock";

    private ExecLog() {
    }

    static ExecEntry entry(List<String> argv, String cwd, Instant start, long durationMs, ExecResult r) {
        return new ExecEntry(argv, cwd, start, durationMs, r.exitCode(), r.timedOut(), null,
                stream(r.capturedStdout()), stream(r.capturedStderr()));
    }

    /** {@link #entry(List, String, Instant, long, ExecResult)} of an exec whose output is in excerpts. */
    static ExecEntry entry(List<String> argv, String cwd, Instant start, long durationMs, ExecResult r,
                           String execId, OutputExcerpt out, OutputExcerpt err) {
        return new ExecEntry(argv, cwd, start, durationMs, r.exitCode(), r.timedOut(), execId, stream(out),
                stream(err));
    }

    /** {@link #stream(Captured)} of an excerpt. */
    private static ExecEntry.Stream stream(OutputExcerpt x) {
        if (!x.cut()) {
            return stream(Captured.of(x.whole()));
        }
        byte[] t = x.tail();
        return new ExecEntry.Stream(x.total(), new String(x.head(), 0, Math.min(KEEP, x.head().length),
                StandardCharsets.UTF_8), new String(t, Math.max(0, t.length - KEEP), Math.min(KEEP, t.length),
                StandardCharsets.UTF_8));
    }

    /** Its size, its first 2 KiB and its last 2 KiB (null when the head has all). */
    private static ExecEntry.Stream stream(Captured b) {
        int n = b.size();
        return new ExecEntry.Stream(n, new String(b.range(0, Math.min(n, KEEP)), StandardCharsets.UTF_8),
                n <= KEEP ? null : new String(b.range(Math.max(KEEP, n - KEEP), n), StandardCharsets.UTF_8));
    }

    /**
     * Appends {@code entry} to {@code file}; first, when the line would take the file past half of
     * {@link Spawned#logCap()}, the file becomes {@code file.1} (replacing the one before: the oldest entries go) and
     * a new one starts, so the two hold about the cap at most. Appends take turns under a lock ({@code file.lock}).
     */
    static void append(Path file, ExecEntry entry) {
        byte[] json = Json.bytes(StateJson.execEntry(entry));
        byte[] line = Arrays.copyOf(json, json.length + 1);
        line[json.length] = '\n';
        try {
            // one JVM's execs take turns too (a file lock cannot be taken twice by one JVM: FileLocks)
            dev.davit.sandbox.backend.FileLocks.holding(file.resolveSibling(file.getFileName() + LOCK), () -> {
                try {
                    if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && Files.size(file) > 0
                            && Files.size(file) + line.length > Spawned.logCap() / 2) {
                        Files.move(file, old(file), StandardCopyOption.REPLACE_EXISTING,
                                StandardCopyOption.ATOMIC_MOVE);
                    }
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS)) {
                        ByteBuffer buf = ByteBuffer.wrap(line);
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                    }
                    return null;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw new DavitException(Kind.STORE, "cannot append to " + file + ": " + e.getCause().getMessage());
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot append to " + file + ": " + e.getMessage());
        }
    }

    /** The entries of {@code file.1}, then of {@code file}, oldest first. */
    static List<ExecEntry> read(Path file) {
        List<ExecEntry> out = new ArrayList<>();
        for (Path f : List.of(old(file), file)) {
            if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            try {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    try {
                        out.add(StateJson.execEntry(Json.read(line.getBytes(StandardCharsets.UTF_8))));
                    } catch (RuntimeException | IOException torn) {
                        // a line a crash cut short: skipped
                    }
                }
            } catch (IOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static Path old(Path file) {
        return file.resolveSibling(file.getFileName() + ".1");
    }
}
