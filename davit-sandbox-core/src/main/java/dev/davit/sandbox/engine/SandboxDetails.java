package dev.davit.sandbox.engine;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.PortMapping;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.SandboxStatus;
import dev.davit.sandbox.backend.Lifecycle;

/**
 * The details behind {@link Sandboxes}' methods on running sandboxes: whether a port listens ({@code /proc/net/tcp}),
 * a change of variables, free host ports picked at create.
 */
final class SandboxDetails {
    private SandboxDetails() {
    }

    /** {@code Sandboxes.killAll}: of a running sandbox only (a container's backend refuses). */
    static void killAll(Lifecycle lifecycle, Sandbox s) {
        if (s.status() == SandboxStatus.RUNNING) {
            lifecycle.of(s).killAll(s);
        }
    }

    /** Whether {@code /proc/net/tcp}-format {@code text} has a socket in state LISTEN on {@code port}. */
    static boolean listensIn(String text, int port) {
        String[] lines = text.split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] c = lines[i].trim().split("\\s+");
            // sl local_address rem_address st ...; st 0A is LISTEN; the address ends in :PORT (hex)
            if (c.length > 3 && c[3].equals("0A")
                    && Integer.parseInt(c[1].substring(c[1].lastIndexOf(':') + 1), 16) == port) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code ports} with each host port 0 replaced by a port free now on its host address (the kernel's choice; all
     * chosen at once, so two are never the same); the others as they are.
     */
    static java.util.List<PortMapping> pickFree(java.util.List<PortMapping> ports) {
        java.util.List<java.net.ServerSocket> held = new java.util.ArrayList<>();
        try {
            java.util.List<PortMapping> out = new java.util.ArrayList<>();
            for (PortMapping m : ports) {
                if (m.hostPort() != 0) {
                    out.add(m);
                    continue;
                }
                java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(
                        m.hostAddress()));
                held.add(s);
                out.add(new PortMapping(m.hostAddress(), s.getLocalPort(), m.port()));
            }
            return java.util.List.copyOf(out);
        } catch (java.io.IOException e) {
            throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("cannot find a free host port on " + ports.stream()
                    .filter(m -> m.hostPort() == 0).findFirst().map(PortMapping::hostAddress).orElse("?") + ": "
                    + e.getMessage() + "; give a host address of this host (", dev.davit.oci.Input.PUBLISH, ")"));
        } finally {
            for (java.net.ServerSocket s : held) {
                try {
                    s.close();
                } catch (java.io.IOException ignored) {
                    // closed enough
                }
            }
        }
    }

    /**
     * Whether a TCP socket listens on {@code port} in sandbox {@code s}'s network ({@link Sandboxes#listening}): its
     * {@code /proc/net/tcp} and {@code tcp6}, read through its backend.
     */
    static boolean listening(Lifecycle lifecycle, Sandbox s, int port) {
        if (s.status() != SandboxStatus.RUNNING) {
            return false;
        }
        for (String f : java.util.List.of("tcp", "tcp6")) {
            String text;
            try {
                text = lifecycle.of(s).procNet(s, f);
            } catch (java.io.IOException | DavitException e) {
                continue; // no IPv6 here
            }
            if (listensIn(text, port)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The change {@link Sandboxes#env} makes to a sandbox's variables: {@code remove} dropped, then {@code set} put.
     *
     * @throws DavitException USAGE for a name both set and removed
     */
    static java.util.function.UnaryOperator<java.util.Map<String, String>> envChange(
            java.util.Map<String, String> set, java.util.List<String> remove) {
        java.util.Map<String, String> add = set == null ? java.util.Map.of() : set;
        java.util.List<String> drop = remove == null ? java.util.List.of() : remove;
        for (String k : drop) {
            if (add.containsKey(k)) {
                throw new DavitException(Kind.USAGE, "variable " + dev.davit.oci.internal.Text.printable(k)
                        + " is both set and removed; give one");
            }
        }
        return now -> {
            drop.forEach(now::remove);
            now.putAll(add);
            return now;
        };
    }
}
