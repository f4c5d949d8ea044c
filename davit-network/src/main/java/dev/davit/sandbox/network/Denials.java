package dev.davit.sandbox.network;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The gate's record of what it refused, one JSON object per line in {@value #FILE} of its directory, bounded on
 * disk: past {@value #MAX_BYTES} bytes the file becomes {@value #FILE}.1 (replacing the one before) and a new one is
 * started, so at most twice that is kept. Each line: {@code time} (ISO-8601 UTC, milliseconds), {@code kind}
 * ({@code dns} for a name refused an answer, {@code connect} for a connection refused), {@code name} (the name
 * asked for, or the TLS SNI or HTTP Host a connection carried; absent when none), {@code address} and {@code port}
 * (of a connection; absent for a name), {@code rule} (the policy entry that decided, absent when nothing matched)
 * and {@code reason}. Read by {@link GateControl#denials}.
 */
final class Denials {
    static final String FILE = "denials.jsonl";
    static final long MAX_BYTES = 1 << 20;
    private final Path file;

    Denials(Path dir) {
        this.file = dir.resolve(FILE);
    }

    synchronized void record(String kind, String name, InetAddress address, int port, String rule, String reason) {
        StringBuilder b = new StringBuilder(160).append("{\"time\":\"").append(Instant.now()
                .truncatedTo(java.time.temporal.ChronoUnit.MILLIS)).append("\",\"kind\":\"").append(kind).append('"');
        if (name != null) {
            b.append(",\"name\":");
            quote(b, name);
        }
        if (address != null) {
            b.append(",\"address\":\"").append(address.getHostAddress()).append("\",\"port\":").append(port);
        }
        if (rule != null) {
            b.append(",\"rule\":");
            quote(b, rule);
        }
        b.append(",\"reason\":");
        quote(b, reason);
        b.append("}\n");
        try {
            if (Files.exists(file) && Files.size(file) > MAX_BYTES) {
                Files.move(file, file.resolveSibling(FILE + ".1"), StandardCopyOption.REPLACE_EXISTING);
            }
            Files.write(file, b.toString().getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println("davit-gate: cannot record a denial: " + e.getMessage());
        }
    }

    /** A JSON string of {@code s}; every control character and non-ASCII code point escaped. */
    static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        b.append('"');
    }
}
