package dev.davit.sandbox;

import dev.davit.sandbox.vm.AgentClient;
import dev.davit.sandbox.vm.Protocol;
import dev.davit.sandbox.vm.VmLifecycle;
import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * The files of a running vm sandbox, reached through its guest agent (the file verbs of {@link Protocol}), for a
 * layer above sandboxes (workspaces). Paths are absolute guest paths; the agent refuses {@code .}, {@code ..} and a
 * symbolic link on the way ({@link DavitException} of kind USAGE). Each call holds the sandbox's agent lock, so it
 * waits for a running exec. Got from {@link Sandboxes#guestFiles}.
 */
public final class GuestFiles {
    /** How long one call may take: transfers on TCG move a few MB/s. */
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private final VmLifecycle vm;
    private final Sandbox sandbox;

    public GuestFiles(VmLifecycle vm, Sandbox sandbox) {
        this.vm = vm;
        this.sandbox = sandbox;
    }

    /** Extracts tar file {@code tar} (made on the host) into guest directory {@code dir}, made when missing. */
    public void putTar(String dir, Path tar) {
        try {
            long size = Files.size(tar);
            call("put into " + dir, Protocol.put(id(), dir, size), tar, null);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + tar + ": " + e.getMessage());
        }
    }

    /**
     * Writes a tar of the content of guest directory {@code dir} (entries {@code ./...}) to host file {@code tar}.
     * Made by the guest: extract it only with davit's safe unpack rules.
     */
    public void getTar(String dir, Path tar) {
        try (OutputStream out = Files.newOutputStream(tar, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            call("archive " + dir, Protocol.get(id(), dir), null, out);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + tar + ": " + e.getMessage());
        }
    }

    /** What {@link #read} read: the first bytes of a file of {@code size} bytes. */
    public record Content(byte[] bytes, long size) {
    }

    /** The first {@code maxBytes} (0: all) of regular file {@code file}; NOT_FOUND when it is missing. */
    public Content read(String file, long maxBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Protocol.Data d = call("read " + file, Protocol.read(id(), file, Math.max(0, maxBytes)), null, out);
        return new Content(out.toByteArray(), d.total());
    }

    /** Removes each path (a directory with all it holds, a link itself); a missing one is no error. */
    public void remove(List<String> paths) {
        if (!paths.isEmpty()) {
            call("remove " + String.join(" ", paths), Protocol.rm(id(), paths), null, null);
        }
    }

    /**
     * Renames {@code from} to {@code to}, making {@code to}'s missing parents (0755); an existing {@code to} is
     * replaced (a file or link atomically; a directory is removed first).
     */
    public void move(String from, String to) {
        call("rename " + from + " to " + to, Protocol.mv(id(), from, to), null, null);
    }

    /**
     * Makes guest directory {@code fresh} the new {@code dir} by two renames, with the disk flushed before and after
     * them, and removes the old one (renamed to {@code old} meanwhile). A crash leaves {@code dir} old or new; one
     * between the renames leaves only {@code old}, which the next swap moves back first.
     */
    public void swap(String dir, String fresh, String old) {
        call("swap " + fresh + " into " + dir, Protocol.swap(id(), dir, fresh, old), null, null);
    }

    /** Flushes the guest's file systems to its disk. */
    public void sync() {
        String rid = id();
        vm.withAgent(sandbox, (c, t) -> c.call(Protocol.sync(rid), rid, deadline()));
    }

    private static String id() {
        return Protocol.newId();
    }

    private static long deadline() {
        return System.nanoTime() + TIMEOUT.toNanos();
    }

    /**
     * Sends {@code request} (then the bytes of {@code body}, if any) and maps the answer: a data answer's bytes go
     * to {@code out}, an error becomes a DavitException.
     */
    private Protocol.Data call(String what, String request, Path body, OutputStream out) {
        String rid = request.split(" ", 3)[1];
        Protocol.Answer a = vm.withAgent(sandbox, (c, t) -> {
            long deadline = deadline();
            Protocol.Answer answer;
            try {
                answer = c.call(request, body, rid, deadline);
            } catch (UncheckedIOException e) {
                throw new DavitException(Kind.STORE, "cannot read " + body + ": " + e.getCause().getMessage());
            } catch (AgentClient.TimeoutException e) {
                throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + sandbox.id()
                        + " did not " + what + " within " + TIMEOUT.toMinutes() + " min");
            }
            if (answer instanceof Protocol.Data d) {
                c.readBody(d.size(), out == null ? OutputStream.nullOutputStream() : out, deadline);
            }
            return answer;
        });
        return switch (a) {
            case Protocol.Data d -> d;
            case Protocol.Done d -> null;
            case Protocol.Failure f -> throw new DavitException(switch (f.code()) {
                case "missing" -> Kind.NOT_FOUND;
                case "path", "notfile", "isdir" -> Kind.USAGE;
                default -> Kind.INTERNAL;
            }, "cannot " + what + " in sandbox " + sandbox.id() + ": "
                    + f.message().strip().replace('\n', ' '));
            default -> throw new DavitException(Kind.INTERNAL, "the guest agent of sandbox " + sandbox.id()
                    + " answered " + a + " to " + what);
        };
    }
}
