package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.Input;
import dev.davit.oci.Message;

/**
 * A port of a long-lived sandbox published on the host ({@code --publish}): TCP connections to
 * {@code hostAddress:hostPort} on the host are forwarded to {@code port} in the sandbox.
 *
 * @param hostAddress the host address to listen on; 127.0.0.1 unless one is given
 * @param hostPort    the host port, 1 to 65535; 0: a free one, chosen when the sandbox is created
 *                    ({@code Sandboxes.create}; the sandbox's spec then records the port chosen)
 * @param port        the sandbox's port, 1 to 65535
 */
public record PortMapping(String hostAddress, int hostPort, int port) {
    /** The host address a mapping listens on when none is given. */
    public static final String LOOPBACK = "127.0.0.1";

    /**
     * Checks the mapping.
     *
     * @throws DavitException USAGE for a port outside 1..65535 (a host port of 0 aside) or a host address that is
     *                        not a dotted IPv4 address
     */
    public PortMapping {
        if (hostPort != 0) {
            check(hostPort);
        }
        check(port);
        if (hostAddress == null || !hostAddress.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            throw new DavitException(Kind.USAGE, Message.of(Input.PORT_MAPPING, " needs an IPv4 host address,"
                    + " not '" + hostAddress + "'").value(hostAddress));
        }
    }

    /**
     * Parses a {@code --publish} value: {@code HOST_PORT:PORT} (on 127.0.0.1) or {@code ADDR:HOST_PORT:PORT};
     * a {@code HOST_PORT} of 0 is a free port, chosen at creation.
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
        throw new DavitException(Kind.USAGE, Message.of("invalid ", Input.PORT_MAPPING, " '" + s + "'; use HOST_PORT:PORT"
                + " (on 127.0.0.1) or ADDR:HOST_PORT:PORT, e.g. ", Input.PORT_MAPPING, " 8080:80").value(s));
    }

    /**
     * Checks that each host port of {@code ports} (0 aside) is free now on its host address, by binding it for a
     * moment as slirp4netns will: a taken port fails at once, in davit's words, not after the sandbox started. Another
     * process may still take it before slirp4netns does; davit's NAT then says the same.
     *
     * @param ports the mappings to check
     * @throws DavitException USAGE naming the first port in use and the fix
     */
    public static void checkFree(java.util.List<PortMapping> ports) {
        for (PortMapping m : ports) {
            if (m.hostPort() != 0 && m.inUse()) {
                throw m.busy();
            }
        }
    }

    /**
     * Whether this mapping's host port is in use now on its host address: a bind fails with EADDRINUSE (any other
     * failure, such as an address not of this host, is left to slirp4netns to report).
     */
    boolean inUse() {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(true); // as a listener does: a port with connections in TIME_WAIT only is free
            s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getByName(hostAddress), hostPort), 1);
            return false;
        } catch (java.net.BindException e) {
            return String.valueOf(e.getMessage()).contains("already in use");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** The error of a host port in use: one line naming the port and the fix. */
    DavitException busy() {
        return new DavitException(Kind.USAGE, Message.of("cannot publish " + this + ": host port " + hostPort
                + " is in use on " + hostAddress + "; choose a free host port, or 0 for any free one (", Input.PUBLISH,
                ")"));
    }

    private static void check(int port) {
        if (port < 1 || port > 65535) {
            throw new DavitException(Kind.USAGE, Message.of("a ", Input.PORT_MAPPING, " port must be between 1 and"
                    + " 65535, not " + port).value(port));
        }
    }

    @Override
    public String toString() {
        return hostAddress + ":" + hostPort + ":" + port;
    }
}
