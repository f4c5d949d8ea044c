package dev.davit.mcp;

import dev.davit.sandbox.EgressDenial;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The egress gate's refusals in a progress notification's words: what was refused, briefly. */
final class Denials {
    /** The most destinations one notification names. */
    private static final int MAX_NAMED = 3;

    private Denials() {
    }

    /** {@code fresh} (oldest first, not empty) as "3 connections: registry.npmjs.org:443, 10.0.0.1:80 ...". */
    static String brief(List<EgressDenial> fresh) {
        Set<String> where = new LinkedHashSet<>();
        for (int i = fresh.size() - 1; i >= 0 && where.size() < MAX_NAMED; i--) {
            EgressDenial d = fresh.get(i);
            String host = d.name() != null ? d.name() : d.address() != null ? d.address() : "?";
            where.add(d.port() != 0 ? host + ":" + d.port() : host);
        }
        return fresh.size() + " " + (fresh.size() == 1 ? "attempt" : "attempts") + " (" + String.join(", ", where)
                + (fresh.size() > where.size() ? ", ..." : "") + ")";
    }
}
