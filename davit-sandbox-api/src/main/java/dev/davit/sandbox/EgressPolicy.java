package dev.davit.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.Message;
import dev.davit.oci.internal.Json;
import java.io.IOException;
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

/**
 * What a sandbox on {@link Network#policy a policy network} may reach (see docs/reference/sandbox/NETWORK.md, "Egress policy"): deny
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
            Input input = EgressEntries.input(allow, kind);
            String canonical = kind == Kind.HOST ? EgressEntries.host(value, input) : EgressEntries.cidr(value, input);
            if (!canonical.equals(value)) {
                throw new DavitException(DavitException.Kind.USAGE, Message.of("invalid ", input, " entry '", value,
                        "': write it as ", canonical).value(value));
            }
            EgressEntries.checkPort(port, value, input);
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
            return EgressEntries.netOf(value);
        }

        private int prefix() {
            return EgressEntries.prefixOf(value);
        }

        /** Whether this CIDR rule's network holds the address {@code a}. */
        private boolean holds(int a) {
            return (a & EgressEntries.mask(prefix())) == net();
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
                (e != null && EgressEntries.isAddressEntry(e.trim()) ? cidrs : hosts).add(e);
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
            String shown = EgressEntries.hostEntry(true, e, null).toString();
            out.removeIf(r -> r.kind == Kind.HOST && r.toString().equals(shown));
        }
        for (String e : c.removeCidrs()) {
            String shown = EgressEntries.cidrEntry(true, e, null).toString();
            out.removeIf(r -> r.kind == Kind.CIDR && r.toString().equals(shown));
        }
        List<Rule> allow = new ArrayList<>(out.stream().filter(Rule::allow).toList());
        List<Rule> deny = new ArrayList<>(out.stream().filter(r -> !r.allow).toList());
        c.allowHosts().forEach(e -> allow.add(EgressEntries.hostEntry(true, e, Input.ALLOW_HOST)));
        c.allowCidrs().forEach(e -> allow.add(EgressEntries.cidrEntry(true, e, Input.ALLOW_CIDR)));
        List<String> names = new ArrayList<>(presets);
        for (String p : c.presets()) {
            String name = p == null ? "" : p.trim().toLowerCase(Locale.ROOT);
            allow.addAll(EgressPresets.preset(name));
            names.add(name);
        }
        c.denyHosts().forEach(e -> deny.add(EgressEntries.hostEntry(false, e, Input.DENY_HOST)));
        c.denyCidrs().forEach(e -> deny.add(EgressEntries.cidrEntry(false, e, Input.DENY_CIDR)));
        allow.addAll(deny);
        Set<Rule> held = Set.copyOf(allow);
        names.removeIf(n -> !held.containsAll(EgressPresets.preset(n)));
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
        if (!EgressEntries.validQueryName(n)) {
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
        int x = EgressEntries.ipv4(a);
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
        int x = EgressEntries.ipv4(a);
        if (x >>> 24 == 0) {
            return false; // 0.0.0.0/8, "this network": a connection there reaches the connecting host itself
        }
        int block = SpecialBlocks.specialIndex(x); // the blocks do not overlap: at most one holds it
        int widest = Math.max(hostOwn.contains(a) ? 32 : 0, block < 0 ? 0 : SpecialBlocks.SPECIAL_BITS[block][1]);
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

    /** {@return the special blocks, in address order} */
    public static List<SpecialBlock> specialBlocks() {
        return SpecialBlocks.SPECIAL;
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
            int i = SpecialBlocks.specialIndex(EgressEntries.ipv4(a));
            if (i >= 0) {
                return SpecialBlocks.SPECIAL.get(i);
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
        List<int[]> blocks = new ArrayList<>(List.of(SpecialBlocks.SPECIAL_BITS));
        for (InetAddress a : hostOwn) {
            if (a instanceof Inet4Address) {
                blocks.add(new int[] {EgressEntries.ipv4(a), 32});
            }
        }
        for (int[] b : blocks) {
            int rp = r.prefix();
            boolean inside = rp >= b[1] && (r.net() & EgressEntries.mask(b[1])) == b[0]; // r within the block
            boolean around = rp < b[1] && (b[0] & EgressEntries.mask(rp)) == r.net(); // the block within r
            if (!inside && !around) {
                continue;
            }
            int net = inside ? r.net() : b[0];
            int prefix = inside ? rp : b[1];
            boolean opened = false;
            for (Rule o : rules) {
                if (o.allow && o.kind == Kind.CIDR && o.prefix() >= b[1] && o.prefix() <= prefix
                        && (net & EgressEntries.mask(o.prefix())) == o.net() && (o.port == 0 || o.port == r.port)) {
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

    /**
     * The presets davit knows (the file {@code dev/davit/sandbox/egress-presets.json}, documented in docs/reference/SANDBOX.md),
     * by name: {@code debian}, {@code github}, {@code maven}, {@code npm}, {@code pypi}.
     *
     * @return each preset's allow rules, by name
     */
    public static SortedMap<String, List<Rule>> presetsKnown() {
        return EgressPresets.ALL;
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
                rs.add(EgressEntries.isAddressEntry(e)
                        ? EgressEntries.cidrEntry(allow, e, allow ? Input.ALLOW_CIDR : Input.DENY_CIDR)
                        : EgressEntries.hostEntry(allow, e, allow ? Input.ALLOW_HOST : Input.DENY_HOST));
            }
        }
        List<Rule> allow = new ArrayList<>(rs.stream().filter(Rule::allow).toList());
        List<String> names = strings(o, "presets");
        names.forEach(n -> allow.addAll(EgressPresets.preset(n)));
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
