package dev.davit.sandbox.agent;

import dev.davit.oci.Action;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Message;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.oci.unpack.UnpackResult;
import dev.davit.sandbox.backend.GuestFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * {@link GuestFiles} through davit-agent's file requests (docs/reference/AGENT.md, "Files"), on links a backend
 * gives: the agent checks the paths (absolute, no {@code .} or {@code ..}, no symbolic link on the way: USAGE) and
 * does the work where the sandbox's files are.
 *
 * <p>What the agent sends is untrusted (the sandbox's code can replace it): a read may bring no more than it asked
 * for, a tree arrives as a tar extracted as it comes with the rules for untrusted tars
 * ({@link TarExtractor#extractUntrusted}) within the backend's caps, and every call has its timeout.
 */
public final class LinkFiles implements GuestFiles {
    /** The most a read of a whole file takes: 64 MiB; read less with a maximum. */
    public static final int MAX_WHOLE_FILE = 64 << 20;
    /** The most bytes the agent may send after the end of a tree's tar. */
    static final long MAX_TRAILER = 1 << 20;

    /** Where a call's link comes from: one per call, held by it alone; the backend words what breaks. */
    public interface Links {
        /**
         * Runs {@code use} on a link to the sandbox's agent, closed after it.
         *
         * @param <T> what it returns
         * @param use the call's work
         * @return what {@code use} returned
         */
        <T> T withLink(Use<T> use);
    }

    /** A call's work on a link. */
    @FunctionalInterface
    public interface Use<T> {
        /**
         * @param link the link, the call's alone
         * @return the call's result
         * @throws IOException when the link broke ({@link AgentLink.Broken}) or failed
         */
        T apply(AgentLink link) throws IOException;
    }

    private final Links links;
    private final String sandbox;
    private final Duration timeout;
    private final TarExtractor.Limits limits;
    private final String raise;

    /** The most bytes of names in a tree's tar, which the extraction holds while it runs. */
    static final long MAX_TREE_NAME_BYTES = 256L << 20;
    /** What an error over a tree's cap adds: how to raise it. */
    public static final String RAISE = "; if the tree is really that large, raise -Ddavit.vm.maxTreeBytes=N or"
            + " -Ddavit.vm.maxTreeEntries=N";

    /**
     * How long one file call may take: 10 minutes ({@code -Ddavit.vm.fileTimeoutSeconds=N}), enough for a tree of
     * several GiB.
     *
     * @return the timeout
     */
    public static Duration timeoutSetting() {
        return Duration.ofSeconds(Math.max(1, Long.getLong("davit.vm.fileTimeoutSeconds", 600)));
    }

    /**
     * The caps on a tree the agent sends: 4 GiB ({@code -Ddavit.vm.maxTreeBytes=N}), a million entries
     * ({@code -Ddavit.vm.maxTreeEntries=N}) and {@value #MAX_TREE_NAME_BYTES} bytes of names.
     *
     * @return the caps
     */
    public static TarExtractor.Limits treeLimits() {
        return new TarExtractor.Limits(Math.max(1, Long.getLong("davit.vm.maxTreeBytes", 4L << 30)),
                Math.max(1, Long.getLong("davit.vm.maxTreeEntries", 1_000_000)), MAX_TREE_NAME_BYTES);
    }

    /**
     * The files of a sandbox whose agent {@code links} reach, with davit's settings ({@link #timeoutSetting},
     * {@link #treeLimits}): a microVM's and a pod's.
     *
     * @param links   where links to the sandbox's agent come from
     * @param sandbox the sandbox's id, for errors
     * @return its files
     */
    public static LinkFiles of(Links links, String sandbox) {
        return new LinkFiles(links, sandbox, timeoutSetting(), treeLimits(), RAISE);
    }

    /**
     * @param links   where links to the sandbox's agent come from
     * @param sandbox the sandbox's id, for errors
     * @param timeout how long one call may take
     * @param limits  the caps on a tree the agent sends (null: no tree is asked for)
     * @param raise   what an error over a cap adds: how to raise it (null as limits)
     */
    public LinkFiles(Links links, String sandbox, Duration timeout, TarExtractor.Limits limits, String raise) {
        this.links = links;
        this.sandbox = sandbox;
        this.timeout = timeout;
        this.limits = limits;
        this.raise = raise;
    }

    @Override
    public void putTar(String dir, Path tar) {
        String what = "put into " + dir;
        InputStream in;
        try {
            in = Files.newInputStream(tar);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + tar + ": " + e.getMessage());
        }
        try (in) {
            call(what, link -> link.file(AgentWire.OP_PUT_TAR, 0, List.of(dir)).await((e, b, n) -> {
            }, in, timeout));
        } catch (IOException e) {
            // closing the host's own file: nothing was lost
        }
    }

    @Override
    public List<UnpackResult.Skipped> copyTree(String dir, Path into) {
        String what = "the tar of " + dir + " that sandbox " + sandbox + " sent";
        return links.withLink(link -> timed("archive " + dir, () -> {
            Pipe pipe = new Pipe();
            AgentLink.Running r = link.file(AgentWire.OP_GET_TAR, 0, List.of(dir));
            // the agent's answers are read on a thread of their own while the tar is extracted here as it comes
            CompletableFuture<AgentLink.Outcome> answer = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("davit-agent-tar").start(() -> {
                try {
                    answer.complete(r.await((e, b, n) -> pipe.put(b, n), null, timeout));
                } catch (IOException | RuntimeException e) {
                    answer.completeExceptionally(e);
                } finally {
                    pipe.end(); // after the answer: an extraction that finds the end early finds why, too
                }
            });
            List<UnpackResult.Skipped> skipped;
            try {
                skipped = TarExtractor.extractUntrusted(pipe, into, limits, what, raise);
                if (pipe.skip(MAX_TRAILER) == MAX_TRAILER && pipe.read() >= 0) {
                    throw new AgentLink.Broken(what + " goes on for over " + MAX_TRAILER + " bytes after the end"
                            + " of the archive");
                }
            } catch (Throwable e) {
                if (answer.isDone()) {
                    // the agent ended first (an ERROR, a broken or closed link): the tar stopped with it
                    check(await(answer), "archive " + dir);
                }
                pipe.abandon();
                link.close();
                throw e;
            }
            check(await(answer), "archive " + dir);
            return skipped;
        }));
    }

    @Override
    public Content read(String file, long maxBytes) {
        long max = maxBytes > 0 ? Math.min(maxBytes, Integer.MAX_VALUE - 16) : MAX_WHOLE_FILE;
        String what = "read " + file;
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        AgentLink.Outcome o = call(what, link -> {
            AgentLink.Outcome done;
            try {
                done = link.file(AgentWire.OP_READ, max, List.of(file)).await((e, b, n) -> {
                    if (got.size() + (long) n > max) {
                        throw new UncheckedIOException(new AgentLink.Broken("the agent sent more than the " + max
                                + " bytes of " + file + " asked for"));
                    }
                    got.write(b, 0, n);
                }, null, timeout);
            } catch (UncheckedIOException e) {
                link.close();
                throw e.getCause();
            }
            if (done.error() == 0 && got.size() > done.value()) {
                throw new AgentLink.Broken("the agent sent " + got.size() + " bytes of " + file + ", which has "
                        + done.value());
            }
            return done;
        });
        if (maxBytes <= 0 && o.value() > max) {
            throw new DavitException(Kind.USAGE, Message.of(file + " in sandbox " + sandbox + " has " + o.value()
                    + " bytes, more than the " + (MAX_WHOLE_FILE >> 20) + " MiB a read of a whole file takes; read"
                    + " its first bytes with a maximum (", Action.READ_FILE_PART.fix(), ")"));
        }
        return new Content(got.toByteArray(), o.value());
    }

    @Override
    public void remove(List<String> paths) {
        // in requests a frame takes (the paths' bytes, and a list's count)
        int from = 0;
        long bytes = 0;
        for (int i = 0; i < paths.size(); i++) {
            bytes += 4 + paths.get(i).length() * 3L;
            if (i - from == REMOVE_BATCH || bytes > AgentWire.MAX_PAYLOAD / 2) {
                removeNow(paths.subList(from, i));
                from = i;
                bytes = 4 + paths.get(i).length() * 3L;
            }
        }
        if (from < paths.size()) {
            removeNow(paths.subList(from, paths.size()));
        }
    }

    /** The most paths one REMOVE request carries. */
    static final int REMOVE_BATCH = 4096;

    private void removeNow(List<String> paths) {
        simple("remove " + String.join(" ", paths), AgentWire.OP_REMOVE, paths);
    }

    @Override
    public void move(String from, String to) {
        simple("rename " + from + " to " + to, AgentWire.OP_MOVE, List.of(from, to));
    }

    @Override
    public void swap(String dir, String fresh, String old) {
        simple("swap " + fresh + " into " + dir, AgentWire.OP_SWAP, List.of(dir, fresh, old));
    }

    @Override
    public void sync() {
        simple("sync", AgentWire.OP_SYNC, List.of());
    }

    private void simple(String what, int op, List<String> paths) {
        call(what, link -> link.file(op, 0, paths).await((e, b, n) -> {
        }, null, timeout));
    }

    /** How long one call may take. */
    Duration timeout() {
        return timeout;
    }

    /** One request on a link of its own; its outcome checked ({@link #check}). */
    AgentLink.Outcome call(String what, Use<AgentLink.Outcome> request) {
        return links.withLink(link -> timed(what, () -> check(request.apply(link), what)));
    }

    /** A step of a call that may break. */
    private interface Step<T> {
        T run() throws IOException;
    }

    /** {@code step}, with a link it left silent past the call's timeout worded as the call not done in time. */
    private <T> T timed(String what, Step<T> step) throws IOException {
        long t0 = System.nanoTime();
        try {
            return step.run();
        } catch (AgentLink.Broken e) {
            if (e.silent() && System.nanoTime() - t0 >= timeout.toNanos()) {
                throw new AgentLink.Broken("did not " + dev.davit.oci.internal.Text.shorten(what, 200) + " within "
                        + timeout.toSeconds() + " s", true);
            }
            throw e;
        }
    }

    /**
     * Outcome {@code o} of {@code what}, or the DavitException its ERROR makes (NOT_FOUND for a missing path, USAGE
     * for a refused one, not a file, a directory); an ERROR no file request has is the agent's breach.
     */
    private AgentLink.Outcome check(AgentLink.Outcome o, String what) throws AgentLink.Broken {
        if (o.error() == 0) {
            return o;
        }
        if (o.timedOut()) { // the agent stopped it at the timeout's kill, and said so
            throw new DavitException(Kind.INTERNAL, "sandbox " + sandbox + " did not "
                    + dev.davit.oci.internal.Text.shorten(what, 200) + " within " + timeout.toSeconds() + " s ("
                    + o.message() + ")");
        }
        Kind kind = switch (o.error()) {
            case AgentWire.E_MISSING -> Kind.NOT_FOUND;
            case AgentWire.E_PATH, AgentWire.E_NOT_FILE, AgentWire.E_IS_DIR -> Kind.USAGE;
            case AgentWire.E_TOO_MANY -> Kind.FAILED;
            case AgentWire.E_FAILED, AgentWire.E_AGENT -> Kind.INTERNAL;
            default -> null;
        };
        if (kind == null) {
            throw new AgentLink.Broken("the agent refused a file request with code " + o.error() + " (" + o.message()
                    + ")");
        }
        throw new DavitException(kind, "cannot " + dev.davit.oci.internal.Text.shorten(what, 200) + " in sandbox "
                + sandbox + ": " + o.message());
    }

    /** The answer, once the agent's reader is done. */
    private static AgentLink.Outcome await(CompletableFuture<AgentLink.Outcome> answer) throws IOException {
        try {
            return answer.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e;
        }
    }

    /**
     * The DATA of a tree's tar, from the agent's reader to the extraction: a few chunks queued, the reader waits for
     * room; once the extraction gave up, what comes is dropped.
     */
    private static final class Pipe extends InputStream {
        private static final byte[] END = new byte[0];
        private final ArrayBlockingQueue<byte[]> chunks = new ArrayBlockingQueue<>(16);
        private volatile boolean abandoned;
        private byte[] chunk = new byte[0];
        private int at;
        private boolean ended;

        void put(byte[] b, int n) {
            offer(java.util.Arrays.copyOf(b, n));
        }

        void end() {
            offer(END);
        }

        void abandon() {
            abandoned = true;
            chunks.clear();
        }

        private void offer(byte[] b) {
            try {
                while (!abandoned && !chunks.offer(b, 100, TimeUnit.MILLISECONDS)) {
                    // the extraction is slower than the agent: it waits
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abandoned = true;
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (at == chunk.length) {
                if (ended) {
                    return -1;
                }
                try {
                    chunk = chunks.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while the tar came");
                }
                at = 0;
                ended = chunk == END;
            }
            int n = Math.min(len, chunk.length - at);
            System.arraycopy(chunk, at, b, off, n);
            at += n;
            return n;
        }
    }
}
