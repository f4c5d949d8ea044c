package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;

/**
 * A port of a long-lived sandbox published on the host ({@code --publish}): TCP connections to
 * {@code hostAddress:hostPort} on the host are forwarded to {@code port} in the sandbox.
 *
 * @param hostAddress the host address to listen on; 127.0.0.1 unless one is given
 * @param hostPort    the host port, 1 to 65535
 * @param port        the sandbox's port, 1 to 65535
 */
public record PortMapping(String hostAddress, int hostPort, int port) {
    /** The host address a mapping listens on when none is given. */
    public static final String LOOPBACK = "127.0.0.1";

    /**
     * Checks the mapping.
     *
     * @throws DavitException USAGE for a port outside 1..65535 or a host address that is not a dotted IPv4 address
     */
    public PortMapping {
        check(hostPort);
        check(port);
        if (hostAddress == null || !hostAddress.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            throw new DavitException(Kind.USAGE, "a PortMapping needs an IPv4 host address, not '" + hostAddress + "'");
        }
    }

    /**
     * Parses a {@code --publish} value: {@code HOST_PORT:PORT} (on 127.0.0.1) or {@code ADDR:HOST_PORT:PORT}.
     *
     * @param s the value, e.g. {@code 8080:80} or {@code 0.0.0.0:8080:80}
     * @return the mapping
     * @throws DavitException USAGE for any other form, or ports or an address the mapping refuses
     */
    public static PortMapping parse(String s) {
        String[] p = s.split(":", -1);
        try {
            if (p.length == 2) {
                return new PortMapping(LOOPBACK, Integer.parseInt(p[0]), Integer.parseInt(p[1]));
            }
            if (p.length == 3) {
                return new PortMapping(p[0], Integer.parseInt(p[1]), Integer.parseInt(p[2]));
            }
        } catch (NumberFormatException e) {
            // the usage error below
        }
        throw new DavitException(Kind.USAGE, "PortMapping.parse cannot read '" + s + "'; use HOST_PORT:PORT (on"
                + " 127.0.0.1) or ADDR:HOST_PORT:PORT, e.g. 8080:80");
    }

    private static void check(int port) {
        if (port < 1 || port > 65535) {
            throw new DavitException(Kind.USAGE, "a PortMapping port must be between 1 and 65535, not " + port);
        }
    }

    @Override
    public String toString() {
        return hostAddress + ":" + hostPort + ":" + port;
    }
}
