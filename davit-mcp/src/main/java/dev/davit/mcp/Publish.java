package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.PortMapping;
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
            PortMapping m;
            try {
                m = PortMapping.parse(String.valueOf(p));
            } catch (DavitException e) {
                continue; // the command says what it cannot read, in its words
            }
            if (!m.hostAddress().equals(PortMapping.LOOPBACK)) {
                throw Tool.invalid("'publish': " + given + " would listen on " + m.hostAddress() + "; published"
                        + " ports are on 127.0.0.1 only: give \"HOST_PORT:PORT\"");
            }
            int host = m.hostPort();
            if (host != 0 && (host < low || host > high)) {
                throw Tool.invalid("'publish': " + given + " asks for host port " + host + ", outside the host ports"
                        + " this server allows (" + low + "-" + high + (low == 1024 ? "; those below 1024 are the"
                        + " host's privileged ports" : "") + "); give one of those, or 0 for any free port (the"
                        + " result's 'ports' says which)");
            }
        }
    }
}
