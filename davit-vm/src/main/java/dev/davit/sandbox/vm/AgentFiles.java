package dev.davit.sandbox.vm;

import dev.davit.sandbox.backend.GuestFiles;
import dev.davit.oci.Action;
import dev.davit.oci.Message;
import dev.davit.sandbox.Sandbox;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.internal.Text;
import dev.davit.oci.unpack.TarExtractor;
import dev.davit.oci.unpack.UnpackResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@link GuestFiles} through a running vm sandbox's guest agent (the file verbs of {@link Protocol}). The agent
 * refuses {@code .}, {@code ..} and a symbolic link on the way (USAGE). Each call holds the sandbox's agent lock, so
 * it waits for a running exec.
 *
 * <p>What the guest sends is untrusted (root in the guest can replace the agent): a {@code read} answer may announce
 * no more than was asked for ({@value #MAX_WHOLE_FILE} bytes when the whole file was), else the call fails before
 * anything is allocated; a tree arrives as a tar that is extracted as it arrives with the rules for untrusted tars
 * ({@link TarExtractor#extractUntrusted}) within {@link #treeLimits()}; and every call has an overall deadline,
 * {@link #timeout()}. An agent that breaks the protocol or misses the deadline gets its microVM killed
 * ({@link VmLifecycle#withAgent}).
 */
public final class AgentFiles implements GuestFiles {
    /**
     * Where the agent's connections come from: a microVM's port ({@link VmLifecycle}), or a pod's exec stream (the
     * k8s backend). One call's work gets one connection, held by the caller alone while it runs.
     */
    public interface Agents {
        /**
         * Runs {@code work} with a connection to sandbox {@code s}'s agent.
         *
         * @param s    the running sandbox
         * @param work what to do with the connection
         * @param <T>  its result
         * @return what {@code work} returned
         */
        <T> T withAgent(Sandbox s, VmLifecycle.AgentWork<T> work);
    }

    /** The most a read of a whole file takes: 64 MiB; read less with a maximum. */
    static final int MAX_WHOLE_FILE = dev.davit.sandbox.agent.LinkFiles.MAX_WHOLE_FILE;
    /** The most bytes a guest may send after the end of a tree's tar (an honest tar pads to 10 KiB records). */
    static final long MAX_TRAILER = 1 << 20;
    /** What an error over a tree's cap adds: how to raise it. */
    public static final String RAISE = dev.davit.sandbox.agent.LinkFiles.RAISE;

    private final Agents vm;
    private final Sandbox sandbox;

    /**
     * The files of running sandbox {@code sandbox}, through the agents of {@code agents}.
     *
     * @param agents  where connections to its agent come from
     * @param sandbox the sandbox
     */
    public AgentFiles(Agents agents, Sandbox sandbox) {
        this.vm = agents;
        this.sandbox = sandbox;
    }

    /**
     * See {@link dev.davit.sandbox.agent.LinkFiles#timeoutSetting}.
     *
     * @return the timeout
     */
    public static Duration timeout() {
        return dev.davit.sandbox.agent.LinkFiles.timeoutSetting();
    }

    /**
     * See {@link dev.davit.sandbox.agent.LinkFiles#treeLimits}.
     *
     * @return the caps
     */
    public static TarExtractor.Limits treeLimits() {
        return dev.davit.sandbox.agent.LinkFiles.treeLimits();
    }

    @Override
    public void putTar(String dir, Path tar) {
        long size;
        try {
            size = Files.size(tar);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + tar + ": " + e.getMessage());
        }
        String what = "put into " + dir;
        work(what, (c, deadline) -> {
            String rid = Protocol.newId();
            try {
                return expect(c.call(Protocol.put(rid, dir, size), tar, rid, deadline), Protocol.Done.class,
                        sandbox.id(), what);
            } catch (UncheckedIOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + tar + ": " + e.getCause().getMessage());
            }
        });
    }

    @Override
    public List<UnpackResult.Skipped> copyTree(String dir, Path into) {
        return work("archive " + dir, (c, deadline) -> copyTree(c, sandbox.id(), dir, into, treeLimits(), deadline));
    }

    @Override
    public Content read(String file, long maxBytes) {
        return work("read " + file, (c, deadline) -> read(c, sandbox.id(), file, maxBytes, deadline));
    }

    @Override
    public void remove(List<String> paths) {
        if (!paths.isEmpty()) {
            simple("remove " + String.join(" ", paths), rid -> Protocol.rm(rid, paths));
        }
    }

    @Override
    public void move(String from, String to) {
        simple("rename " + from + " to " + to, rid -> Protocol.mv(rid, from, to));
    }

    @Override
    public void swap(String dir, String fresh, String old) {
        simple("swap " + fresh + " into " + dir, rid -> Protocol.swap(rid, dir, fresh, old));
    }

    @Override
    public void sync() {
        work("sync", (c, deadline) -> {
            String rid = Protocol.newId();
            return expect(c.call(Protocol.sync(rid), rid, deadline), Protocol.Synced.class, sandbox.id(), "sync");
        });
    }

    /**
     * Reads the first {@code maxBytes} (0: all, at most {@value #MAX_WHOLE_FILE}) of guest file {@code file} through
     * connection {@code c}. The answer may announce no more than that, else nothing is allocated and the call fails
     * ({@link AgentClient.ProtocolException}); a whole file over the cap is a USAGE error.
     */
    static Content read(AgentClient c, String sandbox, String file, long maxBytes, long deadline) {
        long max = maxBytes > 0 ? Math.min(maxBytes, Integer.MAX_VALUE - 16) : MAX_WHOLE_FILE;
        String rid = Protocol.newId();
        String what = "read " + file;
        Protocol.Data d = expect(c.call(Protocol.read(rid, file, max), rid, deadline), Protocol.Data.class, sandbox,
                what);
        if (d.size() > max) {
            throw new AgentClient.ProtocolException("it announced " + d.size() + " bytes for a read of at most " + max);
        }
        if (maxBytes <= 0 && d.total() > max) {
            c.skip(d.size(), deadline);
            throw new DavitException(Kind.USAGE, Message.of(file + " in sandbox " + sandbox + " has " + d.total()
                    + " bytes, more than the " + (MAX_WHOLE_FILE >> 20) + " MiB a read of a whole file takes; read its"
                    + " first bytes with a maximum (", Action.READ_FILE_PART.fix(), ")"));
        }
        return new Content(c.bytes((int) d.size(), deadline), d.total());
    }

    /**
     * Copies the content of guest directory {@code dir} into the empty host directory {@code into} through
     * connection {@code c}: the guest's tar is extracted as it arrives ({@link TarExtractor#extractUntrusted}), so
     * nothing lands outside {@code into} and a cap stops it at once. A tar announced over the byte cap is refused
     * before any of it is read. On failure {@code into} holds part of the tree: the caller deletes it.
     */
    static List<UnpackResult.Skipped> copyTree(AgentClient c, String sandbox, String dir, Path into,
                                               TarExtractor.Limits limits, long deadline) {
        String rid = Protocol.newId();
        String what = "the tar of " + dir + " that sandbox " + sandbox + " sent";
        Protocol.Data d = expect(c.call(Protocol.get(rid, dir), rid, deadline), Protocol.Data.class, sandbox,
                "archive " + dir);
        if (d.size() > limits.maxBytes()) {
            throw new DavitException(Kind.VERIFICATION, what + " has " + d.size() + " bytes, more than the limit of "
                    + limits.maxBytes() + RAISE);
        }
        InputStream body = c.body(d.size(), deadline);
        List<UnpackResult.Skipped> skipped = TarExtractor.extractUntrusted(body, into, limits, what, RAISE);
        try {
            if (body.skip(MAX_TRAILER) == MAX_TRAILER && body.read() >= 0) {
                throw new AgentClient.ProtocolException(what + " goes on for over " + MAX_TRAILER + " bytes after"
                        + " the end of the archive");
            }
        } catch (IOException e) {
            throw new AgentClient.GoneException("the agent connection failed: " + e.getMessage());
        }
        return skipped;
    }

    /** Sends the request {@code request} makes of a fresh id and expects {@code done}. */
    private void simple(String what, java.util.function.Function<String, String> request) {
        work(what, (c, deadline) -> {
            String rid = Protocol.newId();
            return expect(c.call(request.apply(rid), rid, deadline), Protocol.Done.class, sandbox.id(), what);
        });
    }

    /** One call's work with a connection and its deadline, {@link #timeout()} from now. */
    private interface Work<T> {
        T apply(AgentClient c, long deadline);
    }

    private <T> T work(String what, Work<T> work) {
        return vm.withAgent(sandbox, (c, t) -> {
            try {
                return work.apply(c, System.nanoTime() + timeout().toNanos());
            } catch (AgentClient.TimeoutException e) {
                throw new AgentClient.TimeoutException("did not " + Text.shorten(what, 200) + " within "
                        + timeout().toSeconds() + " s (-Ddavit.vm.fileTimeoutSeconds=N)");
            }
        });
    }

    /**
     * Answer {@code a} as a {@code type}; an error answer becomes a DavitException (NOT_FOUND for {@code missing},
     * USAGE for {@code path}, {@code notfile} and {@code isdir}), any other answer breaks the protocol.
     */
    static <T extends Protocol.Answer> T expect(Protocol.Answer a, Class<T> type, String sandbox, String what) {
        if (type.isInstance(a)) {
            return type.cast(a);
        }
        if (a instanceof Protocol.Failure f) {
            throw new DavitException(switch (f.code()) {
                case "missing" -> Kind.NOT_FOUND;
                case "path", "notfile", "isdir" -> Kind.USAGE;
                default -> Kind.INTERNAL;
            }, "cannot " + what + " in sandbox " + sandbox + ": " + f.message());
        }
        throw new AgentClient.ProtocolException("it answered '" + a.getClass().getSimpleName().toLowerCase(
                java.util.Locale.ROOT) + "' to " + Text.shorten(what, 200));
    }
}
