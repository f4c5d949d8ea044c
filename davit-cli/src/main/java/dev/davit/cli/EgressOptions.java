package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.sandbox.EgressPolicy;
import dev.davit.sandbox.Network;
import dev.davit.sandbox.SandboxOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The egress policy options of {@code davit run}, {@code sandbox create} and {@code workspace create}, and of the
 * {@code network} commands that change a policy: {@code --allow-host}, {@code --allow-cidr}, {@code --allow-preset},
 * {@code --deny-host}, {@code --deny-cidr} (each repeatable, values comma-separated too). Any of them gives the
 * sandbox a {@link Network#policy policy network}; the entries are checked by {@link EgressPolicy}, whose errors
 * name the option in CLI words.
 */
final class EgressOptions {
    static final String ALLOW_HOST_TEXT = "Give the sandbox an egress policy (deny all, allow what is listed) and"
            + " allow this name: pypi.org, registry.npmjs.org:443, or *.example.com (a wildcard matches subdomains"
            + " only). Repeatable; comma-separated values too.";
    static final String ALLOW_CIDR_TEXT = "Egress policy: allow this IPv4 address or network, optionally on one"
            + " port: 203.0.113.0/24, 203.0.113.7:22. Repeatable; comma-separated values too.";
    static final String ALLOW_PRESET_TEXT = "Egress policy: allow a named set of package mirrors (debian, github,"
            + " maven, npm, pypi; see 'davit sandbox network presets'). Repeatable; comma-separated values too.";
    static final String DENY_HOST_TEXT = "Egress policy: deny this name (a wildcard: its subdomains), whatever is"
            + " allowed: a deny entry wins. Repeatable; comma-separated values too.";
    static final String DENY_CIDR_TEXT = "Egress policy: deny this IPv4 address or network, whatever is allowed."
            + " Repeatable; comma-separated values too.";

    /** The operator's knob for the names an egress gate resolves: a directory with resolv.conf and hosts. */
    static final String EGRESS_DNS_ENV = "DAVIT_EGRESS_DNS";

    @Option(names = "--allow-host", split = ",", paramLabel = "HOST[:PORT][,...]", hideParamSyntax = true,
            description = ALLOW_HOST_TEXT)
    List<String> allowHosts = new ArrayList<>();

    @Option(names = "--allow-cidr", split = ",", paramLabel = "CIDR[:PORT][,...]", hideParamSyntax = true,
            description = ALLOW_CIDR_TEXT)
    List<String> allowCidrs = new ArrayList<>();

    @Option(names = "--allow-preset", split = ",", paramLabel = "NAME", description = ALLOW_PRESET_TEXT)
    List<String> presets = new ArrayList<>();

    @Option(names = "--deny-host", split = ",", paramLabel = "HOST[:PORT][,...]", hideParamSyntax = true,
            description = DENY_HOST_TEXT)
    List<String> denyHosts = new ArrayList<>();

    @Option(names = "--deny-cidr", split = ",", paramLabel = "CIDR[:PORT][,...]", hideParamSyntax = true,
            description = DENY_CIDR_TEXT)
    List<String> denyCidrs = new ArrayList<>();

    /** Whether any policy option was given. */
    boolean given() {
        return !(allowHosts.isEmpty() && allowCidrs.isEmpty() && presets.isEmpty() && denyHosts.isEmpty()
                && denyCidrs.isEmpty());
    }

    /**
     * The sandbox's network: a policy of these options when any is given (refused together with {@code --network}),
     * else {@code --network}'s ({@code network}: its value, null when not given).
     */
    Network network(String network) {
        if (!given()) {
            return NetworkOption.parse(network);
        }
        if (network != null) {
            throw new DavitException(Kind.USAGE, "--network and the egress policy options (--allow-host,"
                    + " --allow-cidr, --allow-preset, --deny-host, --deny-cidr) exclude each other; give --network"
                    + " for the whole network, or the policy options alone for a policy");
        }
        return Network.policy(EgressPolicy.parse(allowHosts, allowCidrs, presets, denyHosts, denyCidrs));
    }

    /** These options and {@code remove} as a change to a policy. */
    EgressPolicy.Change change(List<String> remove) {
        return EgressPolicy.Change.of(allowHosts, allowCidrs, presets, denyHosts, denyCidrs, remove);
    }

    /**
     * {@code o} with the egress gate resolving names through {@code DAVIT_EGRESS_DNS} (a directory with
     * {@code resolv.conf} and {@code hosts}) when the environment sets it, else unchanged (the host's /etc).
     */
    static SandboxOptions withDns(SandboxOptions o, Map<String, String> env) {
        String dir = env.get(EGRESS_DNS_ENV);
        SandboxOptions d = dir == null || dir.isEmpty() ? o : o.withEgressDns(Path.of(dir));
        // the operator's CA certificates (DAVIT_TRUST_CA), unless a command's --trust-ca set its own
        return d.trustedCas().isEmpty() ? d.withTrustedCas(dev.davit.sandbox.TrustedCas.fromEnv(env)) : d;
    }

    /** A short description of {@code n} for a notice: {@code policy, 3 entries}, else its label. */
    static String brief(Network n) {
        if (n.mode() != Network.Mode.POLICY) {
            return n.label();
        }
        int rules = n.egress().rules().size();
        return "policy, " + rules + (rules == 1 ? " entry" : " entries");
    }
}
