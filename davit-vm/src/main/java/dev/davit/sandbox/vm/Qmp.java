package dev.davit.sandbox.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A client of a long-lived VM's QEMU Machine Protocol socket ({@code vmm/qmp.sock}): one JSON object a line, the
 * greeting, {@code qmp_capabilities}, then commands each answered by {@code return} or {@code error} (events between
 * them are skipped). QEMU is the VMM davit jails and does not trust: every line is bounded ({@link #MAX_LINE}) and
 * every call has a deadline, and what it answers is read as data, never followed.
 */
final class Qmp implements AutoCloseable {
    /** The longest line QEMU may send: its answers to the commands davit sends are short. */
    static final int MAX_LINE = 1 << 20;

    private final SocketChannel channel;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final ByteBuffer buf = ByteBuffer.allocate(8192);

    private Qmp(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects to {@code socket} (retrying until {@code deadline}, a nanoTime), reads the greeting, negotiates. */
    static Qmp connect(Path socket, long deadline) throws IOException {
        IOException last = null;
        while (System.nanoTime() < deadline) {
            SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                Peers.check(c, socket); // QEMU's, not a socket a link put there leads to
                c.configureBlocking(false);
                Qmp q = new Qmp(c);
                JsonNode greeting = q.readLine(deadline);
                if (!greeting.has("QMP")) {
                    throw new IOException("QEMU's monitor did not greet as QMP does");
                }
                q.execute("qmp_capabilities", null, deadline);
                return q;
            } catch (IOException e) {
                c.close();
                last = e;
                sleep(20);
            }
        }
        throw last != null ? last : new IOException("QEMU's monitor did not answer in time");
    }

    /**
     * Runs {@code command} with {@code arguments} (null: none) and returns its {@code return} value.
     *
     * @throws IOException when QEMU answers with an error (its class and description), closes, or the deadline
     *                     passes
     */
    JsonNode execute(String command, ObjectNode arguments, long deadline) throws IOException {
        ObjectNode req = Json.object().put("execute", command);
        if (arguments != null) {
            req.set("arguments", arguments);
        }
        byte[] line = Json.bytes(req);
        ByteBuffer out = ByteBuffer.allocate(line.length + 1).put(line).put((byte) '\n').flip();
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("QEMU's monitor took no command within the time allowed");
                }
                sleep(5);
            }
        }
        while (true) {
            JsonNode answer = readLine(deadline);
            if (answer.has("return")) {
                return answer.get("return");
            }
            if (answer.has("error")) {
                JsonNode e = answer.get("error");
                throw new IOException("QEMU refused " + command + ": " + e.path("class").asText() + ": "
                        + e.path("desc").asText());
            }
            // an event: skipped
        }
    }

    private JsonNode readLine(long deadline) throws IOException {
        int scanned = 0; // the bytes of pending looked at already: each is looked at once
        while (true) {
            byte[] have = pending.toByteArray();
            for (int i = scanned; i < have.length; i++) {
                if (have[i] == '\n') {
                    pending.reset();
                    pending.write(have, i + 1, have.length - i - 1);
                    return Json.read(java.util.Arrays.copyOf(have, i));
                }
            }
            scanned = have.length;
            if (have.length > MAX_LINE) {
                throw new IOException("QEMU's monitor sent a line of more than " + MAX_LINE + " bytes");
            }
            buf.clear();
            int n = channel.read(buf);
            if (n < 0) {
                throw new IOException("QEMU's monitor closed");
            }
            if (n == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("QEMU's monitor did not answer in time");
                }
                sleep(5);
                continue;
            }
            pending.write(buf.array(), 0, n);
        }
    }

    /** Sleeps {@code ms}; an interrupt is an IOException (with the flag set again). */
    static void sleep(long ms) throws IOException {
        try {
            TimeUnit.MILLISECONDS.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closed
        }
    }
}
