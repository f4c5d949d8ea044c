package dev.davit.sandbox.vm;

import dev.davit.sandbox.GuestFiles;
import dev.davit.sandbox.Sandbox;
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
 * {@link GuestFiles} through a running vm sandbox's guest agent (the file verbs of {@link Protocol}). The agent
 * refuses {@code .}, {@code ..} and a symbolic link on the way (USAGE). Each call holds the sandbox's agent lock, so
 * it waits for a running exec.
 */
final class AgentFiles implements GuestFiles {
    /** How long one call may take: transfers on TCG move a few MB/s. */
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private final VmLifecycle vm;
    private final Sandbox sandbox;

    AgentFiles(VmLifecycle vm, Sandbox sandbox) {
        this.vm = vm;
        this.sandbox = sandbox;
    }

    @Override
    public void putTar(String dir, Path tar) {
        try {
            long size = Files.size(tar);
            call("put into " + dir, Protocol.put(id(), dir, size), tar, null);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot read " + tar + ": " + e.getMessage());
        }
    }

    @Override
    public void getTar(String dir, Path tar) {
        try (OutputStream out = Files.newOutputStream(tar, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            call("archive " + dir, Protocol.get(id(), dir), null, out);
        } catch (IOException e) {
            throw new DavitException(Kind.STORE, "cannot write " + tar + ": " + e.getMessage());
        }
    }

    @Override
    public Content read(String file, long maxBytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Protocol.Data d = call("read " + file, Protocol.read(id(), file, Math.max(0, maxBytes)), null, out);
        return new Content(out.toByteArray(), d.total());
    }

    @Override
    public void remove(List<String> paths) {
        if (!paths.isEmpty()) {
            call("remove " + String.join(" ", paths), Protocol.rm(id(), paths), null, null);
        }
    }

    @Override
    public void move(String from, String to) {
        call("rename " + from + " to " + to, Protocol.mv(id(), from, to), null, null);
    }

    @Override
    public void swap(String dir, String fresh, String old) {
        call("swap " + fresh + " into " + dir, Protocol.swap(id(), dir, fresh, old), null, null);
    }

    @Override
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
