package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.Locale;

/**
 * A sandbox's network (see docs/SANDBOX.md, "Network").
 * <ul>
 *   <li>{@link #NONE}: its own network namespace with only {@code lo} (the default).</li>
 *   <li>{@link #NAT}: its own network namespace whose default route leads through slirp4netns to the outside, with
 *       the host's loopback and link-local addresses (169.254.0.0/16) out of reach (see {@code Nat}).</li>
 *   <li>{@link #HOST}: the host's network namespace (containers) or QEMU's user-mode network on the host (vm), so
 *       everything the host can reach, its loopback included: an explicit opt-in.</li>
 * </ul>
 */
public enum Network {
    /** Its own network namespace with only {@code lo}: no network at all (the default). */
    NONE,
    /** Its own network namespace with NAT to the outside through slirp4netns; the host's loopback out of reach. */
    NAT,
    /** The host's network (containers) or QEMU's user-mode network on the host (vm), the host's loopback included. */
    HOST;

    /** slirp4netns's (and QEMU user-mode networking's) DNS forwarder. */
    public static final String NAT_RESOLVER = "10.0.2.3";

    /**
     * The network's name as the CLI and the JSON spell it.
     *
     * @return {@code none}, {@code nat} or {@code host}
     */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Whether the sandbox can reach anything beyond its own {@code lo}.
     *
     * @return false only for {@link #NONE}
     */
    public boolean enabled() {
        return this != NONE;
    }

    /**
     * Parses a {@link #label()}.
     *
     * @param s {@code none}, {@code nat} or {@code host} (lower case)
     * @return the network of that label
     * @throws DavitException USAGE for anything else, naming the choices
     */
    public static Network parse(String s) {
        for (Network n : values()) {
            if (n.label().equals(s)) {
                return n;
            }
        }
        throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("unknown network '" + s + "'; ",
                dev.davit.oci.Action.CHOOSE_NETWORK.fix()).value(s));
    }

    /**
     * The {@code /etc/resolv.conf} content a sandbox on this network gets: with NAT, the forwarder of slirp4netns
     * (and of QEMU's user-mode network), {@value #NAT_RESOLVER}; with the host's network, the host's
     * /etc/resolv.conf; null without network (or an unreadable host file).
     *
     * @return the file's content, or null when the sandbox gets none
     */
    public String resolvConf() {
        if (!enabled()) {
            return null;
        }
        if (this == NAT) {
            return "nameserver " + NAT_RESOLVER + "\n";
        }
        java.nio.file.Path host = java.nio.file.Path.of("/etc/resolv.conf");
        if (!java.nio.file.Files.isReadable(host)) {
            return null;
        }
        try {
            return java.nio.file.Files.readString(host, java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return null;
        }
    }
}
