package dev.davit.sandbox;

import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.sandbox.EgressPolicy.Kind;
import dev.davit.sandbox.EgressPolicy.Rule;
import java.net.InetAddress;
import java.util.Locale;

/**
 * The entries of an {@link EgressPolicy} as a user writes them: a name or address entry with its port, parsed and
 * validated into a {@link Rule} in canonical form, refused with the words naming the input, why and the fix; and the
 * IPv4 arithmetic (masks, networks, dotted quads) the policy's rules and its special blocks share.
 */
final class EgressEntries {
    private EgressEntries() {
    }

    /** Whether a stored entry is an address entry: one with a {@code /}, or whose name is all digits and dots. */
    static boolean isAddressEntry(String e) {
        String s = e.contains(":") && e.indexOf(':') == e.lastIndexOf(':') ? e.substring(0, e.indexOf(':')) : e;
        return s.contains("/") || s.matches("[0-9.]+");
    }

    static Input input(boolean allow, Kind kind) {
        return kind == Kind.HOST ? (allow ? Input.ALLOW_HOST : Input.DENY_HOST)
                : (allow ? Input.ALLOW_CIDR : Input.DENY_CIDR);
    }

    private static DavitException bad(Input input, String entry, Object... why) {
        Object[] parts = new Object[why.length + 1];
        parts[0] = input == null ? "invalid entry to remove '" + entry + "': "
                : Message.of("invalid ", input, " entry '", entry, "': ");
        System.arraycopy(why, 0, parts, 1, why.length);
        return new DavitException(DavitException.Kind.USAGE, Message.of(parts).value(entry));
    }

    /** A name entry {@code NAME[:PORT]}; {@code input} null for an entry to remove. */
    static Rule hostEntry(boolean allow, String entry, Input input) {
        return entry(allow, Kind.HOST, entry, input);
    }

    /** An address entry {@code A.B.C.D[/N][:PORT]}; {@code input} null for an entry to remove. */
    static Rule cidrEntry(boolean allow, String entry, Input input) {
        return entry(allow, Kind.CIDR, entry, input);
    }

    private static Rule entry(boolean allow, Kind kind, String entry, Input input) {
        String e = entry == null ? "" : entry.trim();
        if (e.startsWith("[") || e.indexOf(':') != e.lastIndexOf(':')) {
            throw bad(input, e, "IPv6 is not available: sandboxes have IPv4 only");
        }
        int colon = e.indexOf(':');
        int port = colon < 0 ? 0 : port(e.substring(colon + 1), e, input);
        String value = colon < 0 ? e : e.substring(0, colon);
        return new Rule(allow, kind, kind == Kind.HOST ? host(value, input) : cidr(value, input), port);
    }

    private static int port(String s, String entry, Input input) {
        int p = s.matches("[0-9]{1,5}") ? Integer.parseInt(s) : -1;
        if (p < 1 || p > 65535) {
            throw bad(input, entry, "a port must be between 1 and 65535, not '", s, "' (no port: every port)");
        }
        return p;
    }

    static void checkPort(int port, String value, Input input) {
        if (port < 0 || port > 65535) {
            throw bad(input, value, "a port must be between 1 and 65535 (0: every port), not " + port);
        }
    }

    /**
     * The canonical form of a name or wildcard, or the error naming {@code input} (null: an entry to remove), and for
     * an address the address input of its kind.
     */
    static String host(String given, Input input) {
        String n = given.toLowerCase(Locale.ROOT);
        n = n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
        Input address = input == Input.DENY_HOST ? Input.DENY_CIDR : Input.ALLOW_CIDR;
        if (n.isEmpty()) {
            throw bad(input, given, "give a name such as pypi.org");
        }
        boolean wild = n.startsWith("*.");
        String name = wild ? n.substring(2) : n;
        if (n.equals("*")) {
            throw bad(input, given, "'*' alone would allow every name; name the domain, e.g. *.example.com");
        }
        if (name.contains("*")) {
            throw bad(input, given, "'*' is allowed only as a whole first label, e.g. *.example.com");
        }
        if (name.matches("[0-9.]+") || name.contains("/")) {
            throw bad(input, given, "an address; use an address entry (", address, ")");
        }
        if (name.length() > 253) {
            throw bad(input, given, "a name has at most 253 characters");
        }
        String[] labels = name.split("\\.", -1);
        for (String l : labels) {
            if (l.isEmpty() || l.length() > 63 || !l.matches("[a-z0-9-]+") || l.startsWith("-") || l.endsWith("-")) {
                throw bad(input, given, "each label of a name is 1 to 63 letters, digits or '-', not starting or"
                        + " ending with '-'");
            }
        }
        if (labels[labels.length - 1].matches("[0-9]+")) {
            throw bad(input, given, "a name's last label is never all digits (an address? use an address entry, ",
                    address, ")");
        }
        if (wild && labels.length < 2) {
            throw bad(input, given, "a wildcard needs at least two labels after '*.' (*.", name, " would match a"
                    + " whole top-level domain); name the domain, e.g. *.example.com");
        }
        return n;
    }

    /** The canonical form {@code a.b.c.d/n} of an address or network, or the error naming {@code input}. */
    static String cidr(String given, Input input) {
        Input name = input == Input.DENY_CIDR ? Input.DENY_HOST : Input.ALLOW_HOST;
        int slash = given.indexOf('/');
        String addr = slash < 0 ? given : given.substring(0, slash);
        if (!addr.matches("[0-9.]+")) {
            throw bad(input, given, "not an IPv4 address (a.b.c.d or a.b.c.d/n); for a name use a name entry (", name,
                    ")");
        }
        String[] parts = addr.split("\\.", -1);
        int a = 0;
        if (parts.length != 4) {
            throw bad(input, given, "an IPv4 address has four numbers, a.b.c.d");
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || p.length() > 1 && p.startsWith("0") || Integer.parseInt(p) > 255) {
                throw bad(input, given, "each number of an address is 0 to 255, in decimal without leading zeros");
            }
            a = a << 8 | Integer.parseInt(p);
        }
        int prefix = 32;
        if (slash >= 0) {
            String s = given.substring(slash + 1);
            prefix = s.matches("[0-9]{1,2}") ? Integer.parseInt(s) : -1;
            if (prefix < 0 || prefix > 32) {
                throw bad(input, given, "a prefix length is 0 to 32, not '", s, "'");
            }
        }
        String canonical = dotted(a & mask(prefix)) + "/" + prefix;
        if ((a & mask(prefix)) != a) {
            throw bad(input, given, "its host bits are set; the network is ", canonical);
        }
        return canonical;
    }

    static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    static int ipv4(InetAddress a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    static int ipv4(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8
                | Integer.parseInt(p[3]);
    }

    private static String dotted(int a) {
        return (a >>> 24) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
    }

    /** Whether {@code n} is a name a query may ask about: labels of letters, digits, '-' and '_'. */
    static boolean validQueryName(String n) {
        if (n.isEmpty() || n.length() > 253) {
            return false;
        }
        for (String l : n.split("\\.", -1)) {
            if (l.isEmpty() || l.length() > 63 || !l.matches("[a-z0-9_-]+")) {
                return false;
            }
        }
        return true;
    }

    /** The network of a canonical {@code a.b.c.d/n}, as an int. */
    static int netOf(String cidr) {
        return ipv4(cidr.substring(0, cidr.indexOf('/')));
    }

    /** The prefix length of a canonical {@code a.b.c.d/n}. */
    static int prefixOf(String cidr) {
        return Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
    }
}
