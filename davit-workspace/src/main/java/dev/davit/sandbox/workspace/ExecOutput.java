package dev.davit.sandbox.workspace;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.host.Host;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The whole output of a workspace's execs, kept on the host so that a caller shown only an excerpt can read the rest
 * in pages: {@code output/EXEC.stdout} and {@code .stderr} in the workspace's state directory, each up to
 * {@link #CAP} bytes (the rest counted, not written), for the newest {@link #KEEP} execs whose output was cut, {@link #BUDGET} bytes in all.
 */
public final class ExecOutput {
    static final String DIR = "output";
    /** The most bytes of one stream kept on disk. */
    static final long CAP = 16L << 20;
    /** How many execs' output is kept. */
    static final int KEEP = 16;
    /** The most bytes of kept output of one workspace: older files go first when the newest pass it. */
    static final long BUDGET = 96L << 20;
    /** What an exec id looks like. */
    static final Pattern ID = Pattern.compile("e-[0-9a-f]{12}");
    static final List<String> STREAMS = List.of("stdout", "stderr");

    private ExecOutput() {
    }

    /** A stream's file of exec {@code id} in workspace state directory {@code state}. */
    static Path file(Path state, String id, String stream) {
        return state.resolve(DIR).resolve(id + "." + stream);
    }

    /** A tee writing one stream to its file, up to {@link #CAP} bytes; a write that fails drops the rest. */
    static final class Spool extends OutputStream {
        private final FileChannel ch;
        private long written;
        private boolean broken;

        Spool(Path file) throws IOException {
            Files.createDirectories(file.getParent());
            ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int n) {
            int m = (int) Math.min(n, CAP - written);
            if (broken || m <= 0) {
                return;
            }
            try {
                ByteBuffer buf = ByteBuffer.wrap(b, off, m);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                written += m;
            } catch (IOException e) {
                broken = true; // the excerpt is still whole; only paging past this point is lost
            }
        }

        @Override
        public synchronized void close() throws IOException {
            ch.close();
        }
    }

    /**
     * Marks exec {@code id}'s output as being written ({@code output/ID.running}, naming this process): no prune,
     * by any davit, deletes it meanwhile, however long the exec stays quiet (its files' times are those of its last
     * write). {@link #end} removes the mark.
     */
    static void begin(Path state, String id) throws IOException {
        Path mark = state.resolve(DIR).resolve(id + RUNNING);
        Files.createDirectories(mark.getParent());
        // its temp file beside the state, not among the output files a prune deletes
        Host.record(mark, ProcessHandle.current().pid(), state);
    }

    /** Removes exec {@code id}'s mark (see {@link #begin}). */
    static void end(Path state, String id) {
        try {
            Files.deleteIfExists(state.resolve(DIR).resolve(id + RUNNING));
        } catch (IOException e) {
            // its process's end makes it stale: the next prune removes it
        }
    }

    private static final String RUNNING = ".running";

    /** Whether mark {@code f} names a live process (a mark that does not read as one is stale). */
    private static boolean live(Path f) {
        long[] owner = Host.recorded(f);
        return owner != null && Host.alive(owner[0], owner[1]);
    }

    /**
     * Deletes the output of all but the newest {@link #KEEP} execs, and the oldest files past {@link #BUDGET} bytes
     * in all (the newest file always stays): a workspace's kept output is bounded on the host's disk. The output of
     * an exec still running (see {@link #begin}) is left alone.
     */
    static void prune(Path state) {
        Path dir = state.resolve(DIR);
        List<Path> files = new ArrayList<>();
        java.util.Set<String> running = new java.util.HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                if (!name.endsWith(RUNNING)) {
                    files.add(f);
                } else if (live(f)) {
                    running.add(name.substring(0, name.length() - RUNNING.length()));
                } else {
                    delete(f);
                }
            }
        } catch (IOException e) {
            return; // nothing kept yet
        }
        files.removeIf(f -> {
            String name = f.getFileName().toString();
            int dot = name.indexOf('.');
            return dot > 0 && running.contains(name.substring(0, dot));
        });
        files.sort(Comparator.comparing(ExecOutput::modified).reversed());
        long total = 0;
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            long size;
            try {
                size = Files.size(f);
            } catch (IOException e) {
                continue; // gone
            }
            total += size;
            if (i >= KEEP * STREAMS.size() || (i > 0 && total > BUDGET)) {
                delete(f);
            }
        }
    }

    private static void delete(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            // the next exec's prune tries again
        }
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }

    /**
     * Up to {@code limit} bytes of {@code stream} of exec {@code id} from {@code offset}, and the size kept.
     */
    static Page read(Path state, String id, String stream, long offset, int limit) {
        if (!ID.matcher(id).matches()) {
            throw new DavitException(Kind.USAGE, "'" + id + "' is not an exec id (e- and 12 hex digits, as an exec's"
                    + " result gives it)");
        }
        if (!STREAMS.contains(stream)) {
            throw new DavitException(Kind.USAGE, "the stream is stdout or stderr, not '" + stream + "'");
        }
        if (offset < 0 || limit < 1) {
            throw new DavitException(Kind.USAGE, "the offset must be 0 or more and the limit 1 or more");
        }
        Path f = file(state, id, stream);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            long from = Math.min(offset, size);
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(limit, size - from));
            while (buf.hasRemaining()) {
                if (ch.read(buf, from + buf.position()) < 0) {
                    break;
                }
            }
            return new Page(from, java.util.Arrays.copyOf(buf.array(), buf.position()), size,
                    size < CAP ? 0 : Math.max(0, total(state, id, stream) - size));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new DavitException(Kind.NOT_FOUND, "no output of exec " + id + " is kept: only the newest " + KEEP
                    + " execs whose output was cut keep it (an exec whose output came whole has nothing more)");
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + f + ": " + e.getMessage());
        }
    }

    /**
     * How many bytes {@code stream} of exec {@code id} had in all, as its entry in the exec history says (the spool
     * stops at {@link #CAP}; the history counts them all); -1 while it has no entry (it still runs).
     */
    private static long total(Path state, String id, String stream) {
        List<ExecEntry> entries = ExecLog.read(state.resolve(ExecLog.FILE));
        for (int i = entries.size() - 1; i >= 0; i--) {
            ExecEntry e = entries.get(i);
            if (id.equals(e.execId())) {
                return (stream.equals("stdout") ? e.stdout() : e.stderr()).bytes();
            }
        }
        return -1;
    }

    /**
     * A page of an exec's kept output: its bytes from {@code offset}, how many bytes are kept in all, and how many
     * more the stream had that are not.
     *
     * @param offset  where the page starts in the kept stream, in bytes: the offset asked for, or {@code kept} when
     *                that was past the end
     * @param bytes   the page's bytes (as the exec wrote them, redacted in a workspace with secrets); empty at the end
     * @param kept    how many bytes of the stream are kept (at most {@link #CAP}): read on from
     *                {@code offset + bytes.length} while that is less
     * @param dropped how many bytes the stream had after the kept ones, which were not kept (past {@link #CAP});
     *                0 when none were (or, while the exec still runs, none are known yet)
     */
    public record Page(long offset, byte[] bytes, long kept, long dropped) {
    }
}
