package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a sandbox on {@link Network#policy a policy network} may reach (see docs/reference/SANDBOX.md, "Egress policy"): deny
 * everything, then allow what is listed; a deny entry wins over an allow entry. Immutable; the enforcement point
 * outside the sandbox asks it about each name ({@link #name}) and address ({@link #address}).
 *
 * <p>Entries are written as a user writes them:
 * <ul>
 *   <li>a name, {@code pypi.org}, optionally with a port, {@code registry.npmjs.org:443}; or a wildcard,
 *       {@code *.githubusercontent.com}, which matches every subdomain at any depth and never the name itself
 *       ({@code githubusercontent.com}). Names are lower-cased and lose a trailing dot; each label is 1 to 63 of
 *       {@code a-z 0-9 -} (not starting or ending with {@code -}), 253 characters at most; a wildcard needs at least
 *       two labels after {@code *.}. An address given as a name is refused: it is an address entry.</li>
 *   <li>an IPv4 address or network, {@code 203.0.113.7} (a /32) or {@code 203.0.113.0/24}, optionally with a port,
 *       {@code 203.0.113.0/24:8080}; the host bits of a network must be zero. IPv6 is refused: sandboxes have IPv4
 *       only.</li>
 *   <li>a preset: a name of a set of name entries kept in {@code egress-presets.json} (see {@link #presetsKnown()}),
 *       expanded into allow rules.</li>
 * </ul>
 * A port of 0 means every port. Repeated entries count once; the order given is kept. Two policies are equal when
 * they hold the same rules and presets, in whatever order.
 */
public final class EgressPolicy {
    /** What a rule matches. */
    public enum Kind {
        /** A DNS name or a wildcard of names. */
        HOST,
        /** An IPv4 network. */
        CIDR
    }

    /**
     * One entry of a policy.
     *
     * @param allow whether it allows (else it denies)
     * @param kind  whether {@code value} is a name or a network
     * @param value for {@link Kind#HOST} a lower-case name without a trailing dot, or a wildcard {@code *.example.com}
     *              (its subdomains only); for {@link Kind#CIDR} a canonical {@code a.b.c.d/n}
     * @param port  0 for every port, else 1 to 65535
     */
    public record Rule(boolean allow, Kind kind, String value, int port) {
        /**
         * A rule; {@code value} must be in its canonical form (as {@link EgressPolicy#parse} writes it).
         *
         * @param allow whether it allows
         * @param kind  a name or a network
         * @param value the canonical name, wildcard or network
         * @param port  0 for every port, else 1 to 65535
         * @throws DavitException USAGE for a value or port that is not
         */
        public Rule {
            if (kind == null || value == null) {
                throw new DavitException(DavitException.Kind.USAGE, "a rule needs a kind and a value");
            }
            Input input = input(allow, kind);
            String canonical = kind == Kind.HOST ? host(value, input) : cidr(value, input);
            if (!canonical.equals(value)) {
                throw new DavitException(DavitException.Kind.USAGE, Message.of("invalid ", input, " entry '", value,
                        "': write it as ", canonical).value(value));
            }
            checkPort(port, value, input);
        }

        /** The entry as a user writes it: {@code pypi.org}, {@code *.githubusercontent.com:443}, {@code 203.0.113.0/24:8080}. */
        @Override
        public String toString() {
            return port == 0 ? value : value + ":" + port;
        }

        /** Whether the rule holds for {@code port} (0: a rule of every port only). */
        private boolean onPort(int p) {
            return port == 0 || port == p;
        }

        /** Whether this rule's port and {@code p} share a port (0: every port). */
        private boolean sharesPort(int p) {
            return port == 0 || p == 0 || port == p;
        }

        /** Whether this host rule matches the (normalised) name {@code n}. */
        private boolean matchesName(String n) {
            if (value.startsWith("*.")) {
                return n.length() > value.length() - 1 && n.endsWith(value.substring(1));
            }
            return n.equals(value);
        }

        private int net() {
            return netOf(value);
        }

        private int prefix() {
            return prefixOf(value);
        }

        /** Whether this CIDR rule's network holds the address {@code a}. */
        private boolean holds(int a) {
            return (a & mask(prefix())) == net();
        }

        /** Whether this CIDR rule's network holds all of {@code other}'s. */
        private boolean holds(Rule other) {
            return prefix() <= other.prefix() && holds(other.net());
        }

        /** The words of a verdict this rule decides. */
        private String reason() {
            return allow ? "allowed by " + this : "denied by " + (kind == Kind.HOST ? "deny-host " : "deny-cidr ") + this;
        }
    }

    /**
     * The answer to a question about a name or an address.
     *
     * @param allowed whether the policy allows it
     * @param rule    the rule that decided, or null when none matched (then it is denied)
     * @param reason  a short text for a log or a caller: {@code allowed by pypi.org:443}, {@code denied by deny-host
     *                *.evil.test}, {@code not in the allow-list}
     */
    public record Verdict(boolean allowed, Rule rule, String reason) {
    }

    /**
     * A change to a running policy ({@link #with}): the entries to remove, then those to add, each list as
     * {@link EgressPolicy#parse} takes it (null is empty).
     *
     * @param allowHosts  names to allow
     * @param allowCidrs  addresses to allow
     * @param presets     presets to allow
     * @param denyHosts   names to deny
     * @param denyCidrs   addresses to deny
     * @param removeHosts name entries to drop, allow or deny, as written ({@code pypi.org:443} drops only that rule;
     *                    an entry the policy does not hold is no error)
     * @param removeCidrs address entries to drop likewise
     */
    public record Change(List<String> allowHosts, List<String> allowCidrs, List<String> presets,
                         List<String> denyHosts, List<String> denyCidrs, List<String> removeHosts,
                         List<String> removeCidrs) {
        /**
         * A change; null lists are empty.
         *
         * @param allowHosts  names to allow
         * @param allowCidrs  addresses to allow
         * @param presets     presets to allow
         * @param denyHosts   names to deny
         * @param denyCidrs   addresses to deny
         * @param removeHosts name entries to drop
         * @param removeCidrs address entries to drop
         */
        public Change {
            allowHosts = copy(allowHosts);
            allowCidrs = copy(allowCidrs);
            presets = copy(presets);
            denyHosts = copy(denyHosts);
            denyCidrs = copy(denyCidrs);
            removeHosts = copy(removeHosts);
            removeCidrs = copy(removeCidrs);
        }

        /**
         * A change whose removals are given as one list of entries, each a name or an address entry as the policy
         * shows it ({@code pypi.org:443}, {@code 203.0.113.0/24}): an entry of four numbers or with a {@code /} is
         * an address entry, any other a name entry.
         *
         * @param allowHosts names to allow
         * @param allowCidrs addresses to allow
         * @param presets    presets to allow
         * @param denyHosts  names to deny
         * @param denyCidrs  addresses to deny
         * @param remove     entries to drop, allow or deny (one the policy does not hold is no error); null: none
         * @return the change
         */
        public static Change of(List<String> allowHosts, List<String> allowCidrs, List<String> presets,
                                List<String> denyHosts, List<String> denyCidrs, List<String> remove) {
            List<String> hosts = new ArrayList<>();
            List<String> cidrs = new ArrayList<>();
            for (String e : remove == null ? List.<String>of() : remove) {
                (e != null && isAddressEntry(e.trim()) ? cidrs : hosts).add(e);
            }
            return new Change(allowHosts, allowCidrs, presets, denyHosts, denyCidrs, hosts, cidrs);
        }

        private static List<String> copy(List<String> l) {
            return l == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(l)); // a null entry: its error
        }
    }

    /** The policy that allows nothing: no rules. */
    public static final EgressPolicy DENY_ALL = new EgressPolicy(List.of(), List.of());

    private final List<Rule> rules;
    private final List<String> presets;

    private EgressPolicy(List<Rule> rules, List<String> presets) {
        this.rules = List.copyOf(new LinkedHashSet<>(rules));
        this.presets = List.copyOf(new LinkedHashSet<>(presets));
    }

    /**
     * A policy of entries as a user writes them (see the class comment); each list may be null (empty).
     *
     * @param allowHosts names to allow: {@code pypi.org}, {@code registry.npmjs.org:443}, {@code *.githubusercontent.com}
     * @param allowCidrs addresses to allow: {@code 203.0.113.0/24}, {@code 203.0.113.7:22}
     * @param presets    presets to allow ({@link #presetsKnown()}): {@code pypi}
     * @param denyHosts  names to deny, whatever is allowed
     * @param denyCidrs  addresses to deny, whatever is allowed
     * @return the policy: allow rules (names, addresses, then presets' names), then deny rules
     * @throws DavitException USAGE for an invalid entry or an unknown preset, naming it, why, and the fix
     */
    public static EgressPolicy parse(List<String> allowHosts, List<String> allowCidrs, List<String> presets,
                                     List<String> denyHosts, List<String> denyCidrs) {
        return DENY_ALL.with(new Change(allowHosts, allowCidrs, presets, denyHosts, denyCidrs, null, null));
    }

    /**
     * This policy changed: {@code c}'s removals first, then its additions, each entry validated as {@link #parse}
     * does.
     *
     * @param c the change
     * @return the new policy; a preset stays listed in {@link #presets()} only while all its rules are in it
     * @throws DavitException USAGE for an invalid entry or an unknown preset
     */
    public EgressPolicy with(Change c) {
        List<Rule> out = new ArrayList<>(rules);
        for (String e : c.removeHosts()) {
            String shown = hostEntry(true, e, null).toString();
            out.removeIf(r -> r.kind == Kind.HOST && r.toString().equals(shown));
        }
        for (String e : c.removeCidrs()) {
            String shown = cidrEntry(true, e, null).toString();
            out.removeIf(r -> r.kind == Kind.CIDR && r.toString().equals(shown));
        }
        List<Rule> allow = new ArrayList<>(out.stream().filter(Rule::allow).toList());
        List<Rule> deny = new ArrayList<>(out.stream().filter(r -> !r.allow).toList());
        c.allowHosts().forEach(e -> allow.add(hostEntry(true, e, Input.ALLOW_HOST)));
        c.allowCidrs().forEach(e -> allow.add(cidrEntry(true, e, Input.ALLOW_CIDR)));
        List<String> names = new ArrayList<>(presets);
        for (String p : c.presets()) {
            String name = p == null ? "" : p.trim().toLowerCase(Locale.ROOT);
            allow.addAll(preset(name));
            names.add(name);
        }
        c.denyHosts().forEach(e -> deny.add(hostEntry(false, e, Input.DENY_HOST)));
        c.denyCidrs().forEach(e -> deny.add(cidrEntry(false, e, Input.DENY_CIDR)));
        allow.addAll(deny);
        Set<Rule> held = Set.copyOf(allow);
        names.removeIf(n -> !held.containsAll(preset(n)));
        return new EgressPolicy(allow, names);
    }

    /**
     * The rules, presets expanded: allow rules first, then deny rules, each in the order given.
     *
     * @return the rules
     */
    public List<Rule> rules() {
        return rules;
    }

    /**
     * The presets this policy was given and still holds in full, for display (their rules are in {@link #rules()}).
     *
     * @return the preset names, in the order given
     */
    public List<String> presets() {
        return presets;
    }

    /**
     * Whether the policy has no rules (it allows nothing).
     *
     * @return true for a policy like {@link #DENY_ALL}
     */
    public boolean isEmpty() {
        return rules.isEmpty();
    }

    /**
     * The verdict on a name, by the name rules only. With a port: a deny rule of the name on that port (or every
     * port) denies it; else an allow rule of the name on that port allows it. With port 0, for a DNS lookup: the
     * name resolves when some allow rule matches it, on any port, unless a deny rule of every port matches it (a
     * deny rule of one port denies only connections to that port).
     *
     * @param host a name as asked: lower-cased and a trailing dot dropped here; a name that is not a valid DNS name
     *             is denied
     * @param port the port, 1 to 65535, or 0 for a DNS lookup
     * @return the verdict
     */
    public Verdict name(String host, int port) {
        String n = host == null ? "" : host.toLowerCase(Locale.ROOT);
        n = n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
        if (!validQueryName(n)) {
            return new Verdict(false, null, "not a valid name");
        }
        String name = n;
        for (Rule r : rules) {
            if (!r.allow && r.kind == Kind.HOST && r.matchesName(name) && (port == 0 ? r.port == 0 : r.onPort(port))) {
                return new Verdict(false, r, r.reason());
            }
        }
        return allowed(r -> r.kind == Kind.HOST && r.matchesName(name), port);
    }

    /**
     * The verdict on an address, by the address rules only, as {@link #name} decides for a port (0: any port).
     *
     * @param a    the address; anything but IPv4 is denied (sandboxes have IPv4 only)
     * @param port the port, or 0 for any
     * @return the verdict
     */
    public Verdict address(InetAddress a, int port) {
        if (!(a instanceof Inet4Address)) {
            return new Verdict(false, null, "not an IPv4 address");
        }
        int x = ipv4(a);
        for (Rule r : rules) {
            if (!r.allow && r.kind == Kind.CIDR && r.holds(x) && (port == 0 ? r.port == 0 : r.onPort(port))) {
                return new Verdict(false, r, r.reason());
            }
        }
        return allowed(r -> r.kind == Kind.CIDR && r.holds(x), port);
    }

    /** The allow rule of the matching kind that allows {@code port} (0: any), or the denial. */
    private Verdict allowed(java.util.function.Predicate<Rule> matches, int port) {
        Rule other = null;
        for (Rule r : rules) {
            if (r.allow && matches.test(r)) {
                if (port == 0 || r.onPort(port)) {
                    return new Verdict(true, r, r.reason());
                }
                other = other == null ? r : other;
            }
        }
        return new Verdict(false, null, other == null ? "not in the allow-list"
                : "port " + port + " not in the allow-list (" + other + " is)");
    }

    /**
     * Whether an address rule explicitly allows {@code a} on {@code port}, for the enforcement point to let an
     * operator open an address it otherwise refuses to names that resolve to it and to connections that go to it:
     * the address is allowed ({@link #address}, deny rules win), and when it is special ({@link #special}), by a rule
     * no wider than the special block it lies in ({@code 10.1.0.0/16} opens {@code 10.1.2.3}; {@code 0.0.0.0/0} does
     * not open loopback or {@code 169.254.169.254}). One of the host's own addresses is a block of its own, a /32:
     * only an entry naming exactly it opens it ({@code 0.0.0.0/0} or the host's /24 never do). {@code 0.0.0.0/8} is
     * never opened: a connection to {@code 0.0.0.0} reaches the connecting host itself.
     *
     * @param a       the address
     * @param port    the port, or 0 for any
     * @param hostOwn the host's own addresses (of the enforcement point's network namespace: {@link #hostAddresses})
     * @return true when so allowed
     */
    public boolean explicitlyAllows(InetAddress a, int port, Set<InetAddress> hostOwn) {
        Verdict v = address(a, port);
        if (!v.allowed()) {
            return false;
        }
        int x = ipv4(a);
        if (x >>> 24 == 0) {
            return false; // 0.0.0.0/8, "this network": a connection there reaches the connecting host itself
        }
        int block = specialIndex(x); // the blocks do not overlap: at most one holds it
        int widest = Math.max(hostOwn.contains(a) ? 32 : 0, block < 0 ? 0 : SPECIAL_BITS[block][1]);
        for (Rule r : rules) {
            if (r.allow && r.kind == Kind.CIDR && r.holds(x) && (port == 0 || r.onPort(port)) && r.prefix() >= widest) {
                return true;
            }
        }
        return false;
    }

    /**
     * A special IPv4 block: one a name of the outside should never resolve to and a wide address entry never opens.
     *
     * @param cidr its network, {@code 127.0.0.0/8}
     * @param name what it is, for a refusal: {@code loopback}
     */
    public record SpecialBlock(String cidr, String name) {
    }

    /** The network of a canonical {@code a.b.c.d/n}, as an int. */
    private static int netOf(String cidr) {
        return ipv4(cidr.substring(0, cidr.indexOf('/')));
    }

    /** The prefix length of a canonical {@code a.b.c.d/n}. */
    private static int prefixOf(String cidr) {
        return Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
    }

    /**
     * The special blocks, the one list every enforcement point and doc uses (docs/reference/SANDBOX.md, "Special addresses"):
     * IANA's IPv4 special-purpose registry's blocks that are not globally reachable, with multicast and the reserved
     * block; not the documentation blocks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) nor benchmarking
     * (198.18.0.0/15), which real hosts use for reachable services (package mirrors, a proxy's fake-IP answers).
     */
    private static final List<SpecialBlock> SPECIAL = List.of(
            new SpecialBlock("0.0.0.0/8", "this network"),
            new SpecialBlock("10.0.0.0/8", "private"),
            new SpecialBlock("100.64.0.0/10", "shared (carrier-grade NAT)"),
            new SpecialBlock("127.0.0.0/8", "loopback"),
            new SpecialBlock("169.254.0.0/16", "link-local (cloud metadata)"),
            new SpecialBlock("172.16.0.0/12", "private"),
            new SpecialBlock("192.0.0.0/24", "IETF protocol assignments"),
            new SpecialBlock("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
            new SpecialBlock("192.168.0.0/16", "private"),
            new SpecialBlock("224.0.0.0/4", "multicast"),
            new SpecialBlock("240.0.0.0/4", "reserved and limited broadcast"));

    /**
     * {@link #SPECIAL}'s blocks as {network, prefix}, in the same order, parsed once: the gate asks about every
     * address it answers or connects to.
     */
    private static final int[][] SPECIAL_BITS = SPECIAL.stream()
            .map(b -> new int[] {netOf(b.cidr()), prefixOf(b.cidr())}).toArray(int[][]::new);

    /** The index in {@link #SPECIAL} of the block holding {@code x}, or -1. */
    private static int specialIndex(int x) {
        for (int i = 0; i < SPECIAL_BITS.length; i++) {
            if ((x & mask(SPECIAL_BITS[i][1])) == SPECIAL_BITS[i][0]) {
                return i;
            }
        }
        return -1;
    }

    /** {@return the special blocks, in address order} */
    public static List<SpecialBlock> specialBlocks() {
        return SPECIAL;
    }

    /**
     * The special block {@code a} lies in (see {@link #specialBlocks}), or null; an address that is not IPv4 is
     * special too, with no block ({@link #isSpecial}).
     *
     * @param a the address
     * @return its block, or null
     */
    public static SpecialBlock special(InetAddress a) {
        if (a instanceof Inet4Address) {
            int i = specialIndex(ipv4(a));
            if (i >= 0) {
                return SPECIAL.get(i);
            }
        }
        return null;
    }

    /**
     * Whether {@code a} is an address a name of the outside should never resolve to (anti-rebinding): one in a
     * special block ({@link #specialBlocks}), or anything that is not IPv4. The host's own addresses are the
     * enforcement point's to add ({@link #hostAddresses}).
     *
     * @param a the address
     * @return true when special
     */
    public static boolean isSpecial(InetAddress a) {
        return !(a instanceof Inet4Address) || special(a) != null;
    }

    /**
     * What makes {@code a} special, and what opens it, for a refusal: {@code loopback (127.0.0.0/8), which only an
     * address entry within 127.0.0.0/8 opens}, {@code the host's own, which only the address entry 192.0.2.2/32
     * opens}, {@code loopback (127.0.0.0/8) and the host's own, ...}; null when it is not special.
     *
     * @param a       the address
     * @param hostOwn the host's own addresses
     * @return the words, or null
     */
    public static String specialWords(InetAddress a, Set<InetAddress> hostOwn) {
        if (!(a instanceof Inet4Address)) {
            return "not IPv4, which sandboxes never reach";
        }
        SpecialBlock b = special(a);
        if (hostOwn.contains(a)) {
            return (b == null ? "" : b.name() + " (" + b.cidr() + ") and ") + "the host's own, which only the address"
                    + " entry " + a.getHostAddress() + "/32 opens";
        }
        if (b != null && b.cidr().equals("0.0.0.0/8")) {
            return b.name() + " (" + b.cidr() + "), which no entry opens: a connection there reaches the host itself";
        }
        return b == null ? null : b.name() + " (" + b.cidr() + "), which only an address entry within " + b.cidr()
                + " opens";
    }

    private static final HostAddresses HOST_ADDRESSES = new HostAddresses();

    /**
     * The host's own addresses, of the calling thread's network namespace, at most 5 s old: special at every
     * enforcement point, each a /32 block of its own ({@link #explicitlyAllows}, {@link #beyond}).
     *
     * @return the addresses
     */
    public static Set<InetAddress> hostAddresses() {
        return HOST_ADDRESSES.get();
    }

    /**
     * The allow rules of this policy that {@code bound} does not cover, for an operator's outer bound: a name rule is
     * covered when the bound allows that name on its port (a bound rule of port 0 covers every port), a wildcard when
     * a bound wildcard holds all its names ({@code *.a.example.com} within {@code *.example.com}), an address rule when
     * a bound network holds its network; and a deny rule of the bound that touches it must be one this policy denies
     * too ({@code *.example.com} is within a bound that allows {@code *.example.com} and denies {@code x.example.com}
     * only when this policy denies {@code x.example.com} as well). Deny rules are never beyond. An address rule
     * that reaches into a special block, or holds one of the host's own addresses, is covered only when the bound
     * opens that block as {@link #explicitlyAllows} would: a bound of {@code 0.0.0.0/0:8080} lets a model ask for
     * neither {@code 127.0.0.1/32:8080} nor the host's own address; only a bound entry naming exactly the host's
     * address does.
     *
     * @param bound   the outer bound
     * @param hostOwn the host's own addresses ({@link #hostAddresses})
     * @return the rules beyond it, in order; empty when this policy is within it
     */
    public List<Rule> beyond(EgressPolicy bound, Set<InetAddress> hostOwn) {
        List<Rule> out = new ArrayList<>();
        for (Rule r : rules) {
            if (r.allow && !bound.covers(r, this, hostOwn)) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * The deny rules of {@code before} that this policy, a change of it, no longer has while one of its allow rules
     * of the same kind touches them (on a shared port): removing them widened the policy, as much as allowing what
     * they denied would. A lifted deny no allow rule touches widens nothing and is not listed.
     *
     * @param before the policy before the change
     * @return the lifted deny rules, each as the allow rule that widens as much ({@code allow} true), in order
     */
    public List<Rule> denialsLifted(EgressPolicy before) {
        List<Rule> out = new ArrayList<>();
        for (Rule d : before.rules) {
            if (d.allow || rules.contains(d)) {
                continue;
            }
            for (Rule a : rules) {
                if (a.allow && a.kind == d.kind && a.sharesPort(d.port) && (holds(a, d) || holds(d, a))) {
                    out.add(new Rule(true, d.kind, d.value, d.port));
                    break;
                }
            }
        }
        return out;
    }

    /** Whether this bound covers {@code r}, a rule of {@code policy}. */
    private boolean covers(Rule r, EgressPolicy policy, Set<InetAddress> hostOwn) {
        boolean allowed = false;
        for (Rule b : rules) {
            if (b.kind != r.kind) {
                continue;
            }
            if (b.allow && !allowed) {
                allowed = (b.port == 0 || b.port == r.port) && holds(b, r);
            } else if (!b.allow && b.sharesPort(r.port) && (holds(b, r) || holds(r, b))
                    && policy.rules.stream().noneMatch(o -> !o.allow && o.kind == b.kind && holds(o, b)
                            && (o.port == 0 || o.port == b.port))) {
                return false; // the bound denies some of it, and the policy does not
            }
        }
        return allowed && (r.kind != Kind.CIDR || !r.allow || specialsCovered(r, hostOwn));
    }

    /**
     * Whether every special block (see {@link #isSpecial}) that the address rule {@code r} reaches into, and every
     * host's own address it holds (a /32 block), is opened by this bound as {@link #explicitlyAllows} opens it: by an
     * allow rule no wider than that block. A bound of {@code 0.0.0.0/0} holds {@code 127.0.0.0/8} but opens no
     * loopback, so a policy asking for it is beyond it.
     */
    private boolean specialsCovered(Rule r, Set<InetAddress> hostOwn) {
        List<int[]> blocks = new ArrayList<>(List.of(SPECIAL_BITS));
        for (InetAddress a : hostOwn) {
            if (a instanceof Inet4Address) {
                blocks.add(new int[] {ipv4(a), 32});
            }
        }
        for (int[] b : blocks) {
            int rp = r.prefix();
            boolean inside = rp >= b[1] && (r.net() & mask(b[1])) == b[0]; // r within the block
            boolean around = rp < b[1] && (b[0] & mask(rp)) == r.net(); // the block within r
            if (!inside && !around) {
                continue;
            }
            int net = inside ? r.net() : b[0];
            int prefix = inside ? rp : b[1];
            boolean opened = false;
            for (Rule o : rules) {
                if (o.allow && o.kind == Kind.CIDR && o.prefix() >= b[1] && o.prefix() <= prefix
                        && (net & mask(o.prefix())) == o.net() && (o.port == 0 || o.port == r.port)) {
                    opened = true;
                    break;
                }
            }
            if (!opened) {
                return false;
            }
        }
        return true;
    }

    /** Whether rule {@code outer}'s names or network hold all of {@code inner}'s (ports aside). */
    private static boolean holds(Rule outer, Rule inner) {
        if (outer.kind == Kind.CIDR) {
            return outer.holds(inner);
        }
        String name = inner.value.startsWith("*.") ? inner.value.substring(2) : inner.value;
        boolean wild = inner.value.startsWith("*.");
        // a wildcard holds another when it is the same or holds the other's suffix as a subdomain
        return wild ? outer.value.startsWith("*.") && (outer.value.equals(inner.value) || outer.matchesName(name))
                : outer.matchesName(name);
    }

    // ---- presets

    /** The presets' file, beside this class. */
    static final String PRESETS = "egress-presets.json";

    private static final class Presets {
        static final SortedMap<String, List<Rule>> ALL = load();

        private static SortedMap<String, List<Rule>> load() {
            try (InputStream in = EgressPolicy.class.getResourceAsStream(PRESETS)) {
                if (in == null) {
                    throw new IllegalStateException(PRESETS + " is missing");
                }
                JsonNode doc = Json.read(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                SortedMap<String, List<Rule>> all = new TreeMap<>();
                doc.path("presets").properties().forEach(e -> {
                    List<Rule> rs = new ArrayList<>();
                    e.getValue().path("allow").forEach(h -> rs.add(hostEntry(true, h.asText(), Input.ALLOW_HOST)));
                    all.put(e.getKey(), List.copyOf(rs));
                });
                return Collections.unmodifiableSortedMap(all);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + PRESETS + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The presets davit knows (the file {@code dev/davit/sandbox/egress-presets.json}, documented in docs/reference/SANDBOX.md),
     * by name: {@code debian}, {@code github}, {@code maven}, {@code npm}, {@code pypi}.
     *
     * @return each preset's allow rules, by name
     */
    public static SortedMap<String, List<Rule>> presetsKnown() {
        return Presets.ALL;
    }

    private static List<Rule> preset(String name) {
        List<Rule> rs = Presets.ALL.get(name);
        if (rs == null) {
            throw new DavitException(DavitException.Kind.USAGE, Message.of("no preset '", name, "' (", Input.ALLOW_PRESET,
                    "); the presets are ", String.join(", ", Presets.ALL.keySet())).value(name));
        }
        return rs;
    }

    // ---- JSON

    /**
     * The policy as JSON: {@code {"allow": [entries], "deny": [entries], "presets": [names]}}, entries as
     * {@link Rule#toString()} writes them, presets' rules among the allow entries (docs/reference/JSON.md).
     *
     * @return the compact JSON document
     */
    public String toJson() {
        ObjectNode o = Json.object();
        var allow = o.putArray("allow");
        var deny = o.putArray("deny");
        rules.forEach(r -> (r.allow ? allow : deny).add(r.toString()));
        var names = o.putArray("presets");
        presets.forEach(names::add);
        return new String(Json.bytes(o), StandardCharsets.UTF_8);
    }

    /**
     * The policy of {@link #toJson()}'s document, every entry validated as {@link #parse} does (an entry with a
     * {@code /} or of four numbers is an address entry, any other a name entry).
     *
     * @param json the document
     * @return the policy
     * @throws DavitException USAGE for a document that is no such object or holds an invalid entry
     */
    public static EgressPolicy fromJson(String json) {
        JsonNode o;
        try {
            o = Json.read(json);
        } catch (IOException e) {
            throw new DavitException(DavitException.Kind.USAGE, "an egress policy is no valid JSON: " + e.getMessage());
        }
        if (!o.isObject()) {
            throw new DavitException(DavitException.Kind.USAGE, "an egress policy must be a JSON object");
        }
        List<Rule> rs = new ArrayList<>();
        for (String key : List.of("allow", "deny")) {
            boolean allow = key.equals("allow");
            for (String e : strings(o, key)) {
                rs.add(isAddressEntry(e) ? cidrEntry(allow, e, allow ? Input.ALLOW_CIDR : Input.DENY_CIDR)
                        : hostEntry(allow, e, allow ? Input.ALLOW_HOST : Input.DENY_HOST));
            }
        }
        List<Rule> allow = new ArrayList<>(rs.stream().filter(Rule::allow).toList());
        List<String> names = strings(o, "presets");
        names.forEach(n -> allow.addAll(preset(n)));
        allow.addAll(rs.stream().filter(r -> !r.allow).toList());
        return new EgressPolicy(allow, names);
    }

    private static List<String> strings(JsonNode o, String key) {
        JsonNode a = o.path(key);
        if (a.isMissingNode() || a.isNull()) {
            return List.of();
        }
        if (!a.isArray()) {
            throw new DavitException(DavitException.Kind.USAGE, "an egress policy's '" + key + "' must be an array of"
                    + " strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : a) {
            if (!e.isTextual()) {
                throw new DavitException(DavitException.Kind.USAGE, "an egress policy's '" + key + "' must be an"
                        + " array of strings");
            }
            out.add(e.asText());
        }
        return out;
    }

    /** Whether a stored entry is an address entry: one with a {@code /}, or whose name is all digits and dots. */
    private static boolean isAddressEntry(String e) {
        String s = e.contains(":") && e.indexOf(':') == e.lastIndexOf(':') ? e.substring(0, e.indexOf(':')) : e;
        return s.contains("/") || s.matches("[0-9.]+");
    }

    // ---- entries

    private static Input input(boolean allow, Kind kind) {
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
    private static Rule hostEntry(boolean allow, String entry, Input input) {
        return entry(allow, Kind.HOST, entry, input);
    }

    /** An address entry {@code A.B.C.D[/N][:PORT]}; {@code input} null for an entry to remove. */
    private static Rule cidrEntry(boolean allow, String entry, Input input) {
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

    private static void checkPort(int port, String value, Input input) {
        if (port < 0 || port > 65535) {
            throw bad(input, value, "a port must be between 1 and 65535 (0: every port), not " + port);
        }
    }

    /**
     * The canonical form of a name or wildcard, or the error naming {@code input} (null: an entry to remove), and for
     * an address the address input of its kind.
     */
    private static String host(String given, Input input) {
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
    private static String cidr(String given, Input input) {
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

    private static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    private static int ipv4(InetAddress a) {
        byte[] b = a.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    private static int ipv4(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8
                | Integer.parseInt(p[3]);
    }

    private static String dotted(int a) {
        return (a >>> 24) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
    }

    /** Whether {@code n} is a name a query may ask about: labels of letters, digits, '-' and '_'. */
    private static boolean validQueryName(String n) {
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

    @Override
    public boolean equals(Object o) {
        return o instanceof EgressPolicy p && Set.copyOf(rules).equals(Set.copyOf(p.rules))
                && Set.copyOf(presets).equals(Set.copyOf(p.presets));
    }

    @Override
    public int hashCode() {
        return Set.copyOf(rules).hashCode() * 31 + Set.copyOf(presets).hashCode();
    }

    /**
     * The policy in a user's words.
     *
     * @return e.g. {@code allow [pypi.org:443, files.pythonhosted.org:443] deny [*.evil.test] presets [pypi]}
     */
    @Override
    public String toString() {
        return "allow " + rules.stream().filter(Rule::allow).toList() + " deny "
                + rules.stream().filter(r -> !r.allow).toList() + " presets " + presets;
    }
}
