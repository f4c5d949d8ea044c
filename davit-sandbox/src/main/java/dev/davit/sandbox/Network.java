package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import java.util.Locale;

/**
 * A sandbox's network (see docs/SANDBOX.md, "Network").
 * <ul>
 *   <li>{@link #NONE}: its own network namespace with only {@code lo} (the default).</li>
 *   <li>{@link #NAT}: its own network namespace whose default route leads through slirp4netns to the outside, with
 *       the host's loopback and link-local addresses (169.254.0.0/16) out of reach (see {@link Nat}).</li>
 *   <li>{@link #HOST}: the host's network namespace (containers) or QEMU's user-mode network on the host (vm), so
 *       everything the host can reach, its loopback included: an explicit opt-in.</li>
 * </ul>
 */
public enum Network {
    NONE, NAT, HOST;

    /** {@code none}, {@code nat} or {@code host}, as the CLI and the JSON spell it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the sandbox can reach anything beyond its own {@code lo}. */
    public boolean enabled() {
        return this != NONE;
    }

    /** Parses a {@link #label()}; anything else is a usage error naming the choices. */
    public static Network parse(String s) {
        for (Network n : values()) {
            if (n.label().equals(s)) {
                return n;
            }
        }
        throw new DavitException(Kind.USAGE, "unknown network '" + s + "'; use --network (nat: the outside only),"
                + " --network=host (the host's network, loopback included) or --network=none");
    }
}
