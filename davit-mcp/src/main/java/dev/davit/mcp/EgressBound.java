package dev.davit.mcp;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The operator's outer bound on the egress policies a model may ask for ({@code davit mcp serve --allow-egress
 * ENTRY}): a model's policy ({@code allow_hosts}, {@code allow_cidrs}, {@code allow_presets}, {@code deny_hosts},
 * {@code deny_cidrs} of {@code run}, {@code workspace_create} and {@code workspace_network}) is refused, before
 * anything is made or changed, when one of its allow entries is beyond the bound ({@link EgressPolicy#beyond}); its
 * deny entries are always fine. Without {@code --allow-egress} there is no bound and every policy request is refused:
 * the default stays no network. {@code --allow-network} (the whole network through NAT) is another, separate grant.
 */
final class EgressBound {
    /** No {@code --allow-egress}: no policy may be asked for. */
    static final EgressBound NONE = new EgressBound(List.of(), null);

    /** The environment variable naming the directory (resolv.conf, hosts) the gate resolves names with (tests). */
    static final String DNS_ENV = "DAVIT_EGRESS_DNS";

    /** The policy arguments, in the order a refusal lists them. */
    static final List<String> ARGS = List.of("allow_hosts", "allow_cidrs", "allow_presets", "deny_hosts",
            "deny_cidrs");

    /** The entries as the operator gave them, for a refusal to name. */
    private final List<String> entries;
    /** The bound; null without {@code --allow-egress}. */
    private final EgressPolicy bound;

    private EgressBound(List<String> entries, EgressPolicy bound) {
        this.entries = List.copyOf(entries);
        this.bound = bound;
    }

    /**
     * The bound of {@code --allow-egress} values (each comma-separated): a known preset name is a preset, an entry
     * that is an IPv4 address or network ({@code 203.0.113.0/24[:PORT]}) an address entry, any other a name entry
     * ({@code pypi.org}, {@code *.githubusercontent.com}, {@code registry.npmjs.org:443}).
     * Other library words in the error are worded by {@code words} (the operator's: the CLI's flags).
     *
     * @throws DavitException USAGE naming {@code --allow-egress} and the entry for an invalid one
     */
    static EgressBound of(List<String> given, java.util.function.Function<dev.davit.oci.Message, String> words) {
        List<String> entries = new ArrayList<>(new LinkedHashSet<>(given.stream()
                .flatMap(g -> java.util.Arrays.stream(g.split(","))).map(String::trim).filter(e -> !e.isEmpty())
                .toList()));
        if (entries.isEmpty()) {
            if (!given.isEmpty()) {
                throw new DavitException(Kind.USAGE, "--allow-egress needs a name, an IPv4 network or a preset"
                        + " (e.g. pypi.org, 203.0.113.0/24, pypi)");
            }
            return NONE;
        }
        List<String> hosts = new ArrayList<>();
        List<String> cidrs = new ArrayList<>();
        List<String> presets = new ArrayList<>();
        for (String e : entries) {
            (EgressPolicy.presetsKnown().containsKey(e) ? presets : isAddress(e) ? cidrs : hosts).add(e);
        }
        try {
            return new EgressBound(entries, EgressPolicy.parse(hosts, cidrs, presets, List.of(), List.of()));
        } catch (DavitException e) {
            // the entry's kind as the operator gave it: an --allow-egress entry, never another option's
            throw new DavitException(Kind.USAGE, "--allow-egress: " + e.message().render(i -> switch (i) {
                case ALLOW_HOST -> "--allow-egress name";
                case ALLOW_CIDR -> "--allow-egress address";
                case ALLOW_PRESET -> "--allow-egress preset";
                default -> words.apply(dev.davit.oci.Message.of(i));
            }, f -> words.apply(dev.davit.oci.Message.of(f))));
        }
    }

    /** Whether {@code entry} ({@code A.B.C.D[/N][:PORT]}) is an address entry rather than a name. */
    private static boolean isAddress(String entry) {
        int colon = entry.indexOf(':');
        String e = colon < 0 ? entry : entry.substring(0, colon);
        return e.contains("/") || e.matches("[0-9.]+");
    }

    /** Whether the operator gave a bound. */
    boolean any() {
        return bound != null;
    }

    /** Whether {@code p} allows nothing beyond the bound (nothing at all, without one). */
    boolean covers(EgressPolicy p) {
        return bound == null ? p.rules().stream().noneMatch(EgressPolicy.Rule::allow)
                : p.beyond(bound, EgressPolicy.hostAddresses()).isEmpty();
    }

    /** The allow entries of {@code p} beyond the bound (all of them, without one). */
    List<EgressPolicy.Rule> beyond(EgressPolicy p) {
        return bound == null ? p.rules().stream().filter(EgressPolicy.Rule::allow).toList()
                : p.beyond(bound, EgressPolicy.hostAddresses());
    }

    /** The bound as the operator wrote it: {@code pypi.org, *.githubusercontent.com}. */
    String describe() {
        return String.join(", ", entries);
    }

    /** The policy a call's arguments ask for, or null when it names none (no policy argument). */
    static EgressPolicy requested(Map<String, Object> a) {
        if (ARGS.stream().noneMatch(a::containsKey)) {
            return null;
        }
        return EgressPolicy.parse(strings(a, "allow_hosts"), strings(a, "allow_cidrs"), strings(a, "allow_presets"),
                strings(a, "deny_hosts"), strings(a, "deny_cidrs"));
    }

    /** The change a {@code workspace_network} call asks for ({@code remove}: entries to drop). */
    static EgressPolicy.Change change(Map<String, Object> a) {
        return EgressPolicy.Change.of(strings(a, "allow_hosts"), strings(a, "allow_cidrs"), strings(a,
                "allow_presets"), strings(a, "deny_hosts"), strings(a, "deny_cidrs"), strings(a, "remove"));
    }

    /** Whether a {@code workspace_network} call asks for a change (else it shows the policy). */
    static boolean changes(Map<String, Object> a) {
        return ARGS.stream().anyMatch(a::containsKey) || a.containsKey("remove");
    }

    /**
     * The network a {@code run} or {@code workspace_create} call asks for: a policy of its policy arguments, else NAT
     * with {@code network: true}, else none.
     */
    static Network network(Map<String, Object> a) {
        EgressPolicy p = requested(a);
        return p != null ? Network.policy(p) : Boolean.TRUE.equals(a.get("network")) ? Network.NAT : Network.NONE;
    }

    /**
     * Refuses a {@code run} or {@code workspace_create} call whose policy arguments are invalid, come with
     * {@code network: true}, or allow anything beyond the bound.
     */
    void check(Map<String, Object> a) {
        EgressPolicy p = requested(a);
        if (p == null) {
            return;
        }
        if (Boolean.TRUE.equals(a.get("network"))) {
            throw Tool.invalid("give either 'network' (the whole network) or a policy (" + String.join(", ", ARGS)
                    + "), not both");
        }
        within(p, List.of(), a);
    }

    /**
     * Refuses {@code p}, a workspace's policy after a change from {@code current}, when it allows anything beyond the
     * bound that {@code current} did not already allow (adding a deny is always fine; a rule the workspace had is
     * kept), or when it drops a deny entry that an allow entry touches ({@link EgressPolicy#denialsLifted}): removing
     * a deny widens as an allow does. On the server's own workspace such a removal is held to the bound as that
     * allow; on an operator's workspace shared {@code :rw} ({@code shared}) no deny entry is ever removed, whether
     * an allow touches it or not (an allow removed first and added back after would lift it in steps).
     */
    void checkChange(EgressPolicy current, EgressPolicy p, Map<String, Object> a, String shared) {
        if (shared != null) {
            // every deny entry stays, whatever allows it touches now: an allow removed first and added back after
            // would lift one that touched nothing at the time
            for (EgressPolicy.Rule r : current.rules()) {
                if (!r.allow() && !p.rules().contains(r)) {
                    throw Tool.invalid("removing the deny entry " + r + " would let workspace " + shared + " reach"
                            + " what its operator denied; the operator's workspace (--share-workspace) keeps its"
                            + " deny entries: keep it, or ask the operator to remove it");
                }
            }
        }
        for (EgressPolicy.Rule lifted : p.denialsLifted(current)) {
            EgressPolicy asAllow = lifted.kind() == EgressPolicy.Kind.HOST
                    ? EgressPolicy.parse(List.of(lifted.toString()), null, null, null, null)
                    : EgressPolicy.parse(null, List.of(lifted.toString()), null, null, null);
            if (bound == null || !asAllow.beyond(bound, EgressPolicy.hostAddresses()).isEmpty()) {
                throw Tool.invalid("removing the deny entry " + lifted + " would let the workspace reach what it"
                        + " denies, beyond the operator's egress bound (--allow-egress: "
                        + (bound == null ? "none" : describe()) + "); keep it, or ask the operator");
            }
        }
        // what was beyond the bound already (the operator's own shared workspace) may stay; nothing else may be
        // beyond it now, also a rule the change did not add (a removed deny the bound needs makes its allow beyond)
        within(p, bound == null ? current.rules() : current.beyond(bound, EgressPolicy.hostAddresses()), a);
    }

    private void within(EgressPolicy p, List<EgressPolicy.Rule> had, Map<String, Object> a) {
        List<EgressPolicy.Rule> beyond = new ArrayList<>(bound == null ? p.rules().stream()
                .filter(EgressPolicy.Rule::allow).toList() : p.beyond(bound, EgressPolicy.hostAddresses()));
        beyond.removeAll(had);
        if (beyond.isEmpty()) {
            return;
        }
        if (bound == null) {
            throw Tool.invalid("egress is off: this server was started without --allow-egress, so no policy may allow"
                    + " anything (" + what(beyond.getFirst(), a) + "); leave the allow entries out (no network), or"
                    + " ask the user to restart the server with --allow-egress naming what you need");
        }
        List<String> said = beyond.stream().map(r -> what(r, a)).distinct().toList();
        throw Tool.invalid(String.join(", ", said) + (said.size() == 1 ? " is" : " are") + " beyond the operator's"
                + " egress bound (--allow-egress: " + describe() + "); ask the operator, or allow only names within"
                + " it");
    }

    /** The argument and entry that gave allow rule {@code r}: {@code allow_hosts entry evil.test}. */
    private static String what(EgressPolicy.Rule r, Map<String, Object> a) {
        if (r.kind() == EgressPolicy.Kind.HOST) {
            for (String h : strings(a, "allow_hosts")) {
                if (EgressPolicy.parse(List.of(h), null, null, null, null).rules().contains(r)) {
                    return "allow_hosts entry " + h;
                }
            }
            for (String p : strings(a, "allow_presets")) {
                if (EgressPolicy.presetsKnown().getOrDefault(p, List.of()).contains(r)) {
                    return "allow_presets entry " + p + " (" + r + ")";
                }
            }
        } else {
            for (String c : strings(a, "allow_cidrs")) {
                if (EgressPolicy.parse(null, List.of(c), null, null, null).rules().contains(r)) {
                    return "allow_cidrs entry " + c;
                }
            }
        }
        return "the workspace's entry " + r;
    }

    /**
     * The sandbox options of the server's sandboxes: the davit home's, with the gate resolving names through
     * {@value #DNS_ENV} when the environment sets it (a directory with resolv.conf and hosts; as the CLI's).
     */
    static SandboxOptions sandboxOptions(Path davitHome, Map<String, String> env) {
        // with the operator's CA certificates (mcp serve --trust-ca, DAVIT_TRUST_CA): never a model's to set
        SandboxOptions o = SandboxOptions.under(davitHome).withTrustedCas(dev.davit.sandbox.TrustedCas.fromEnv(env));
        String dir = env == null ? null : env.get(DNS_ENV);
        return dir == null || dir.isEmpty() ? o : o.withEgressDns(Path.of(dir));
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(Map<String, Object> a, String arg) {
        return a.get(arg) == null ? List.of() : List.copyOf((List<String>) a.get(arg));
    }
}
