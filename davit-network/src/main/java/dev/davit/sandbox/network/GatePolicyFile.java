package dev.davit.sandbox.network;

import dev.davit.sandbox.EgressPolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy as the gate reads it: one entry per line, {@code allow-host}, {@code allow-cidr}, {@code deny-host} or
 * {@code deny-cidr}, a space, and the entry as {@link EgressPolicy.Rule#toString} writes it (presets are expanded
 * by davit, so the gate needs no preset file and no JSON library, and starts sooner).
 */
public final class GatePolicyFile {
    private GatePolicyFile() {
    }

    /**
     * The file's content for {@code p}.
     *
     * @param p the policy
     * @return its lines
     */
    public static String text(EgressPolicy p) {
        StringBuilder b = new StringBuilder();
        for (EgressPolicy.Rule r : p.rules()) {
            b.append(r.allow() ? "allow-" : "deny-").append(r.kind() == EgressPolicy.Kind.HOST ? "host " : "cidr ")
                    .append(r).append('\n');
        }
        return b.toString();
    }

    static EgressPolicy read(Path f) throws IOException {
        List<String> ah = new ArrayList<>();
        List<String> ac = new ArrayList<>();
        List<String> dh = new ArrayList<>();
        List<String> dc = new ArrayList<>();
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            int sp = line.indexOf(' ');
            String kind = sp < 0 ? line : line.substring(0, sp);
            String v = sp < 0 ? "" : line.substring(sp + 1).strip();
            switch (kind) {
                case "allow-host" -> ah.add(v);
                case "allow-cidr" -> ac.add(v);
                case "deny-host" -> dh.add(v);
                case "deny-cidr" -> dc.add(v);
                default -> throw new IOException("bad policy line: " + line);
            }
        }
        return EgressPolicy.parse(ah, ac, List.of(), dh, dc);
    }
}
