package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.Locale;

/**
 * A sandbox's network (see docs/reference/sandbox/NETWORK.md, "Network"). Immutable; {@link #NONE}, {@link #NAT} and {@link #HOST} are
 * the only instances of their modes (so {@code ==} compares them), a policy network is made by {@link #policy}.
 * <ul>
 *   <li>{@link #NONE}: its own network namespace with only {@code lo} (the default).</li>
 *   <li>{@link #NAT}: its own network namespace whose default route leads through slirp4netns to the outside, with
 *       the host's loopback and link-local addresses (169.254.0.0/16) out of reach (see {@code Nat}).</li>
 *   <li>{@link #policy}: its own network namespace whose only way out is davit's enforcement point outside the
 *       sandbox, which lets through what an {@link EgressPolicy} allows and nothing else.</li>
 *   <li>{@link #HOST}: the host's network namespace (containers) or QEMU's user-mode network on the host (vm), so
 *       everything the host can reach, its loopback included: an explicit opt-in.</li>
 * </ul>
 */
public final class Network {
    /** What kind of network a sandbox has. */
    public enum Mode {
        /** Its own network namespace with only {@code lo}. */
        NONE,
        /** Its own network namespace with NAT to the outside. */
        NAT,
        /** The host's network. */
        HOST,
        /** Its own network namespace with an egress policy. */
        POLICY
    }

    /** Its own network namespace with only {@code lo}: no network at all (the default). */
    public static final Network NONE = new Network(Mode.NONE, EgressPolicy.DENY_ALL);
    /** Its own network namespace with NAT to the outside through slirp4netns; the host's loopback out of reach. */
    public static final Network NAT = new Network(Mode.NAT, null);
    /** The host's network (containers) or QEMU's user-mode network on the host (vm), the host's loopback included. */
    public static final Network HOST = new Network(Mode.HOST, null);

    private final Mode mode;
    private final EgressPolicy egress;

    private Network(Mode mode, EgressPolicy egress) {
        this.mode = mode;
        this.egress = egress;
    }

    /**
     * A network of the sandbox's own whose only way out is davit's enforcement point, which allows what {@code p}
     * allows.
     *
     * @param p the policy; null is {@link EgressPolicy#DENY_ALL}
     * @return the network, of mode {@link Mode#POLICY}
     */
    public static Network policy(EgressPolicy p) {
        return new Network(Mode.POLICY, p == null ? EgressPolicy.DENY_ALL : p);
    }

    /**
     * The kind of network.
     *
     * @return its mode
     */
    public Mode mode() {
        return mode;
    }

    /**
     * What the sandbox may reach.
     *
     * @return the policy of a {@link Mode#POLICY} network; {@link EgressPolicy#DENY_ALL} for {@link #NONE}; null for
     *         {@link #NAT} and {@link #HOST}, which no policy limits
     */
    public EgressPolicy egress() {
        return egress;
    }

    /**
     * Whether the sandbox has a network namespace of its own that davit connects to the outside (through slirp4netns
     * for {@link #NAT}, through the enforcement point for a policy).
     *
     * @return true for {@link Mode#NAT} and {@link Mode#POLICY}
     */
    public boolean ownNamespace() {
        return mode == Mode.NAT || mode == Mode.POLICY;
    }

    /** slirp4netns's (and QEMU user-mode networking's) DNS forwarder. */
    public static final String NAT_RESOLVER = "10.0.2.3";

    /**
     * The network's name as the CLI and the JSON spell it.
     *
     * @return {@code none}, {@code nat}, {@code host} or {@code policy}
     */
    public String label() {
        return mode.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Whether the sandbox can reach anything beyond its own {@code lo}.
     *
     * @return false only for {@link #NONE}
     */
    public boolean enabled() {
        return mode != Mode.NONE;
    }

    /**
     * Parses a {@link #label()} of a network without a policy (a policy network comes of its entries:
     * {@link #policy}).
     *
     * @param s {@code none}, {@code nat} or {@code host} (lower case)
     * @return the network of that label
     * @throws DavitException USAGE for anything else, naming the choices
     */
    public static Network parse(String s) {
        for (Network n : new Network[] {NONE, NAT, HOST}) {
            if (n.label().equals(s)) {
                return n;
            }
        }
        throw new DavitException(Kind.USAGE, dev.davit.oci.Message.of("unknown network '" + s + "'; ",
                dev.davit.oci.Action.CHOOSE_NETWORK.fix()).value(s));
    }

    /**
     * The {@code /etc/resolv.conf} content a sandbox on this network gets: with NAT, the forwarder of slirp4netns
     * (and of QEMU's user-mode network), {@value #NAT_RESOLVER}; with a policy the same address, where the enforcement
     * point answers; with the host's network, the host's
     * /etc/resolv.conf; null without network (or an unreadable host file).
     *
     * @return the file's content, or null when the sandbox gets none
     */
    public String resolvConf() {
        if (!enabled()) {
            return null;
        }
        if (ownNamespace()) {
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

    @Override
    public boolean equals(Object o) {
        return o instanceof Network n && mode == n.mode && java.util.Objects.equals(egress, n.egress);
    }

    @Override
    public int hashCode() {
        return mode.hashCode() * 31 + java.util.Objects.hashCode(egress);
    }

    /**
     * The network in words.
     *
     * @return its {@link #label()}, and for a policy the policy: {@code policy allow [pypi.org:443] deny [] presets []}
     */
    @Override
    public String toString() {
        return mode == Mode.POLICY ? label() + " " + egress : label();
    }
}
