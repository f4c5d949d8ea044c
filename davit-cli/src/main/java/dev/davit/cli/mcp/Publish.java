package dev.davit.cli.mcp;

import dev.davit.oci.internal.Text;
import java.util.Map;

/**
 * What a model may publish ({@code workspace_create}'s {@code publish}): only with {@code network}, only on
 * 127.0.0.1 (the model serves to this host, never to the network, nor on another loopback address where a local
 * service may expect its own), and only host ports the operator allows ({@code --publish-ports}, by default 1024 to
 * 65535: a privileged port of this host is not the model's to take). A host port of 0 is always allowed: davit picks
 * a free one and the result's {@code ports} says which.
 */
final class Publish {
    private Publish() {
    }

    /** Refuses a call's {@code publish} that breaks these rules, as an invalid-params error naming the fix. */
    static void check(Map<String, Object> arguments, int low, int high) {
        if (!(arguments.get("publish") instanceof java.util.List<?> ports)) {
            return;
        }
        if (!Boolean.TRUE.equals(arguments.get("network"))) {
            throw Tool.invalid("'publish' needs 'network': true (published ports reach the workspace through its own"
                    + " network); add it, or leave 'publish' out");
        }
        for (Object p : ports) {
            String given = Text.shorten(String.valueOf(p), 60);
            String[] parts = String.valueOf(p).split(":", -1);
            if (parts.length == 3 && !parts[0].equals("127.0.0.1")) {
                throw Tool.invalid("'publish': " + given + " would listen on " + Text.shorten(parts[0], 40)
                        + "; published ports are on 127.0.0.1 only: give \"HOST_PORT:PORT\"");
            }
            if (parts.length < 2 || parts.length > 3) {
                continue; // the command says what it cannot read
            }
            int host;
            try {
                host = Integer.parseInt(parts[parts.length - 2]);
            } catch (NumberFormatException e) {
                continue; // likewise
            }
            if (host != 0 && (host < low || host > high)) {
                throw Tool.invalid("'publish': " + given + " asks for host port " + host + ", outside the host ports"
                        + " this server allows (" + low + "-" + high + (low == 1024 ? "; those below 1024 are the"
                        + " host's privileged ports" : "") + "); give one of those, or 0 for any free port (the"
                        + " result's 'ports' says which)");
            }
        }
    }
}
