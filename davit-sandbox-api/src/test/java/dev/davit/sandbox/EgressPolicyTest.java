package dev.davit.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.davit.oci.DavitException;
import dev.davit.oci.Input;
import dev.davit.oci.internal.Json;
import dev.davit.sandbox.EgressPolicy.Change;
import dev.davit.sandbox.EgressPolicy.Kind;
import dev.davit.sandbox.EgressPolicy.Rule;
import dev.davit.sandbox.EgressPolicy.Verdict;
import dev.davit.sandbox.internal.SandboxJson;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@link EgressPolicy}: entries parsed and refused in one line each, names and wildcards, ports, deny over allow,
 * DNS lookups (port 0), networks, the anti-rebinding helpers, changes, an operator's bound, presets and JSON; and
 * {@link Network} carrying a policy into a sandbox's state and back.
 */
class EgressPolicyTest {
    private static EgressPolicy allowHosts(String... hosts) {
        return EgressPolicy.parse(java.util.Arrays.asList(hosts), null, null, null, null);
    }

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static DavitException refused(Runnable r) {
        DavitException e = catchThrowableOfType(DavitException.class, r::run);
        assertThat(e).as("refused").isNotNull();
        assertThat(e.kind()).isEqualTo(DavitException.Kind.USAGE);
        assertThat(e.getMessage()).doesNotContain("\n");
        return e;
    }

    @Test
    void entriesAreParsedIntoCanonicalRulesInOrderOnce() {
        EgressPolicy p = EgressPolicy.parse(List.of("PyPI.org.", "registry.npmjs.org:443", "*.githubusercontent.com",
                        "pypi.org"), List.of("203.0.113.0/24", "203.0.113.7:22", "198.51.100.9/32:8080"), null,
                List.of("*.evil.test"), List.of("203.0.113.128/25"));
        assertThat(p.rules()).extracting(Rule::toString).containsExactly("pypi.org", "registry.npmjs.org:443",
                "*.githubusercontent.com", "203.0.113.0/24", "203.0.113.7/32:22", "198.51.100.9/32:8080",
                "*.evil.test", "203.0.113.128/25");
        assertThat(p.rules().get(1)).isEqualTo(new Rule(true, Kind.HOST, "registry.npmjs.org", 443));
        assertThat(p.rules().get(4)).isEqualTo(new Rule(true, Kind.CIDR, "203.0.113.7/32", 22));
        assertThat(p.rules().get(6).allow()).isFalse();
        assertThat(p.presets()).isEmpty();
        assertThat(p.isEmpty()).isFalse();
        assertThat(EgressPolicy.DENY_ALL.isEmpty()).isTrue();
        assertThat(EgressPolicy.parse(null, null, null, null, null)).isEqualTo(EgressPolicy.DENY_ALL);
        assertThat(new Rule(true, Kind.HOST, "x.example.com", 0).toString()).isEqualTo("x.example.com");
    }

    @Test
    void badEntriesAreRefusedInOneLineNamingTheCauseAndTheFix() {
        assertThat(refused(() -> allowHosts("1.2.3.4")).getMessage())
                .isEqualTo("invalid allowHosts entry '1.2.3.4': an address; use an address entry (allowCidrs)");
        assertThat(refused(() -> EgressPolicy.parse(null, null, null, List.of("10.0.0.1:22"), null)).getMessage())
                .isEqualTo("invalid denyHosts entry '10.0.0.1': an address; use an address entry (denyCidrs)");
        assertThat(refused(() -> allowHosts("*")).getMessage()).contains("'*' alone would allow every name");
        assertThat(refused(() -> allowHosts("*.com")).getMessage()).contains("at least two labels after '*.'");
        assertThat(refused(() -> allowHosts("a.*.example.com")).getMessage()).contains("only as a whole first label");
        assertThat(refused(() -> allowHosts("*example.com")).getMessage()).contains("only as a whole first label");
        assertThat(refused(() -> allowHosts("-bad.example.com")).getMessage()).contains("not starting or ending");
        assertThat(refused(() -> allowHosts("a..b")).getMessage()).contains("each label");
        assertThat(refused(() -> allowHosts("under_score.example.com")).getMessage()).contains("each label");
        assertThat(refused(() -> allowHosts("x".repeat(64) + ".com")).getMessage()).contains("1 to 63");
        assertThat(refused(() -> allowHosts(("a".repeat(60) + ".").repeat(5) + "com")).getMessage())
                .contains("at most 253");
        assertThat(refused(() -> allowHosts("")).getMessage()).contains("give a name");
        assertThat(refused(() -> allowHosts("example.123")).getMessage()).contains("last label is never all digits");
        assertThat(refused(() -> allowHosts("pypi.org:0")).getMessage()).contains("between 1 and 65535, not '0'");
        assertThat(refused(() -> allowHosts("pypi.org:65536")).getMessage()).contains("not '65536'");
        assertThat(refused(() -> allowHosts("pypi.org:http")).getMessage()).contains("not 'http'");
        assertThat(refused(() -> allowHosts("::1")).getMessage()).contains("sandboxes have IPv4 only");
        DavitException cidr = refused(() -> EgressPolicy.parse(null, List.of("203.0.113.7/24"), null, null, null));
        assertThat(cidr.getMessage()).isEqualTo("invalid allowCidrs entry '203.0.113.7/24': its host bits are set;"
                + " the network is 203.0.113.0/24");
        assertThat(cidr.message().input()).contains(Input.ALLOW_CIDR);
        assertThat(cidr.message().value()).contains("203.0.113.7/24");
        for (String bad : List.of("2001:db8::/32", "[::1]:80", "fe80::1")) {
            assertThat(refused(() -> EgressPolicy.parse(null, List.of(bad), null, null, null)).getMessage())
                    .as(bad).contains("IPv6 is not available: sandboxes have IPv4 only");
        }
        assertThat(refused(() -> EgressPolicy.parse(null, List.of("pypi.org"), null, null, null)).getMessage())
                .isEqualTo("invalid allowCidrs entry 'pypi.org': not an IPv4 address (a.b.c.d or a.b.c.d/n); for a"
                        + " name use a name entry (allowHosts)");
        assertThat(refused(() -> EgressPolicy.parse(null, List.of("1.2.3"), null, null, null)).getMessage())
                .contains("four numbers");
        assertThat(refused(() -> EgressPolicy.parse(null, List.of("1.2.3.256"), null, null, null)).getMessage())
                .contains("0 to 255");
        assertThat(refused(() -> EgressPolicy.parse(null, List.of("010.0.0.1"), null, null, null)).getMessage())
                .contains("without leading zeros");
        assertThat(refused(() -> EgressPolicy.parse(null, List.of("10.0.0.0/33"), null, null, null)).getMessage())
                .contains("0 to 32, not '33'");
        assertThat(refused(() -> EgressPolicy.parse(null, null, null, null, List.of("10.0.0.1/8"))).getMessage())
                .startsWith("invalid denyCidrs entry");
        assertThat(refused(() -> new Rule(true, Kind.HOST, "PyPI.org", 0)).getMessage())
                .isEqualTo("invalid allowHosts entry 'PyPI.org': write it as pypi.org");
        assertThat(refused(() -> new Rule(true, Kind.CIDR, "10.0.0.1", 0)).getMessage()).contains("10.0.0.1/32");
        assertThat(refused(() -> new Rule(true, Kind.HOST, "pypi.org", 70000)).getMessage()).contains("70000");
        assertThat(refused(() -> allowHosts((String) null)).getMessage()).contains("give a name");
    }

    @Test
    void aWildcardMatchesSubdomainsAtAnyDepthAndNeverTheApex() {
        EgressPolicy p = allowHosts("*.example.com");
        assertThat(p.name("a.example.com", 443).allowed()).isTrue();
        assertThat(p.name("a.b.c.example.com", 443).allowed()).isTrue();
        assertThat(p.name("A.Example.COM.", 443).allowed()).isTrue();
        assertThat(p.name("example.com", 443).allowed()).isFalse();
        assertThat(p.name("badexample.com", 443).allowed()).isFalse();
        assertThat(p.name("example.com.evil.test", 443).allowed()).isFalse();
        assertThat(p.name(".example.com", 443).allowed()).isFalse();
        EgressPolicy exact = allowHosts("example.com");
        assertThat(exact.name("example.com", 80).allowed()).isTrue();
        assertThat(exact.name("www.example.com", 80).allowed()).isFalse();
        Verdict v = exact.name("evil.test", 80);
        assertThat(v.allowed()).isFalse();
        assertThat(v.rule()).isNull();
        assertThat(v.reason()).isEqualTo("not in the allow-list");
        assertThat(exact.name("example.com\u0000.evil", 80).reason()).isEqualTo("not a valid name");
        assertThat(exact.name(null, 80).allowed()).isFalse();
    }

    @Test
    void portsDenyWinsAndADnsLookupAsksForAnyPort() {
        EgressPolicy p = EgressPolicy.parse(List.of("pypi.org:443", "*.example.com", "files.example.com:443"), null,
                null, List.of("bad.example.com", "ssh.example.com:22"), null);
        Verdict ok = p.name("pypi.org", 443);
        assertThat(ok.allowed()).isTrue();
        assertThat(ok.rule()).isEqualTo(p.rules().getFirst());
        assertThat(ok.reason()).isEqualTo("allowed by pypi.org:443");
        Verdict port = p.name("pypi.org", 80);
        assertThat(port.allowed()).isFalse();
        assertThat(port.rule()).isNull();
        assertThat(port.reason()).isEqualTo("port 80 not in the allow-list (pypi.org:443 is)");
        Verdict deny = p.name("bad.example.com", 443);
        assertThat(deny.allowed()).isFalse();
        assertThat(deny.rule().toString()).isEqualTo("bad.example.com");
        assertThat(deny.reason()).isEqualTo("denied by deny-host bad.example.com");
        assertThat(p.name("ssh.example.com", 22).reason()).isEqualTo("denied by deny-host ssh.example.com:22");
        assertThat(p.name("ssh.example.com", 443).allowed()).isTrue(); // a deny of one port denies only that port
        // port 0: a DNS lookup, allowed when some allow rule names it on any port, unless a deny of every port does
        assertThat(p.name("pypi.org", 0).allowed()).isTrue();
        assertThat(p.name("ssh.example.com", 0).allowed()).isTrue();
        assertThat(p.name("bad.example.com", 0).allowed()).isFalse();
        assertThat(p.name("files.pythonhosted.org", 0).reason()).isEqualTo("not in the allow-list");
        assertThat(EgressPolicy.parse(List.of("*.evil.test"), null, null, List.of("*.evil.test"), null)
                .name("x.evil.test", 443).reason()).isEqualTo("denied by deny-host *.evil.test");
    }

    @Test
    void networksHoldTheirAddressesFromSlash0ToSlash32() {
        EgressPolicy p = EgressPolicy.parse(null, List.of("203.0.113.0/24", "198.51.100.7:22"), null, null,
                List.of("203.0.113.128/25:443"));
        assertThat(p.address(ip("203.0.113.1"), 443).allowed()).isTrue();
        assertThat(p.address(ip("203.0.113.255"), 80).allowed()).isTrue();
        Verdict d = p.address(ip("203.0.113.200"), 443);
        assertThat(d.allowed()).isFalse();
        assertThat(d.reason()).isEqualTo("denied by deny-cidr 203.0.113.128/25:443");
        assertThat(p.address(ip("203.0.113.200"), 80).allowed()).isTrue();
        assertThat(p.address(ip("203.0.114.1"), 443).allowed()).isFalse();
        assertThat(p.address(ip("198.51.100.7"), 22).reason()).isEqualTo("allowed by 198.51.100.7/32:22");
        assertThat(p.address(ip("198.51.100.7"), 23).allowed()).isFalse();
        assertThat(p.address(ip("198.51.100.8"), 22).allowed()).isFalse();
        assertThat(p.address(ip("2001:db8::1"), 22).reason()).isEqualTo("not an IPv4 address");
        assertThat(p.name("203.0.113.1", 443).allowed()).as("names ask name rules only").isFalse();
        EgressPolicy all = EgressPolicy.parse(null, List.of("0.0.0.0/0"), null, null, null);
        assertThat(all.address(ip("8.8.8.8"), 53).allowed()).isTrue();
        assertThat(all.address(ip("255.255.255.255"), 1).allowed()).isTrue();
        assertThat(all.address(ip("0.0.0.0"), 1).allowed()).isTrue();
        assertThat(allowHosts("pypi.org").address(ip("8.8.8.8"), 443).allowed()).as("addresses ask CIDRs only")
                .isFalse();
    }

    @Test
    void onlyANarrowEnoughAllowOpensASpecialAddress() {
        assertThat(EgressPolicy.isSpecial(ip("127.0.0.1"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("169.254.169.254"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("10.1.2.3"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("172.31.255.255"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("172.32.0.1"))).isFalse();
        assertThat(EgressPolicy.isSpecial(ip("192.168.1.1"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("100.64.0.1"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("100.128.0.1"))).isFalse();
        assertThat(EgressPolicy.isSpecial(ip("0.0.0.0"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("224.0.0.251"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("255.255.255.255"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("::1"))).isTrue();
        assertThat(EgressPolicy.isSpecial(ip("203.0.113.7"))).isFalse();
        assertThat(EgressPolicy.isSpecial(ip("8.8.8.8"))).isFalse();
        EgressPolicy p = EgressPolicy.parse(null, List.of("10.1.0.0/16:5432", "0.0.0.0/0", "127.0.0.0/8"), null,
                null, List.of("127.0.0.53/32"));
        assertThat(p.explicitlyAllows(ip("10.1.2.3"), 5432, Set.of())).isTrue();
        assertThat(p.explicitlyAllows(ip("10.1.2.3"), 22, Set.of())).as("0.0.0.0/0 is wider than 10.0.0.0/8").isFalse();
        assertThat(p.explicitlyAllows(ip("10.2.0.1"), 5432, Set.of())).isFalse();
        assertThat(p.explicitlyAllows(ip("169.254.169.254"), 80, Set.of())).isFalse();
        assertThat(p.explicitlyAllows(ip("127.0.0.1"), 80, Set.of())).isTrue();
        assertThat(p.explicitlyAllows(ip("127.0.0.53"), 53, Set.of())).as("deny wins").isFalse();
        assertThat(p.explicitlyAllows(ip("8.8.8.8"), 53, Set.of())).isTrue();
        assertThat(allowHosts("pypi.org").explicitlyAllows(ip("10.0.0.1"), 443, Set.of())).isFalse();
    }

    /** Each documented special block: its first and last address special, the addresses just outside it not. */
    @Test
    void everySpecialBlockOfTheOneListAndNothingBesideIt() {
        List<String> documented = List.of("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
                "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.88.99.0/24", "192.168.0.0/16", "224.0.0.0/4",
                "240.0.0.0/4");
        assertThat(EgressPolicy.specialBlocks()).extracting(EgressPolicy.SpecialBlock::cidr)
                .containsExactlyElementsOf(documented);
        for (String b : documented) {
            long net = ipv4(b.substring(0, b.indexOf('/')));
            long size = 1L << (32 - Integer.parseInt(b.substring(b.indexOf('/') + 1)));
            assertThat(EgressPolicy.isSpecial(ip(dotted(net)))).as(b + " first").isTrue();
            assertThat(EgressPolicy.isSpecial(ip(dotted(net + size - 1)))).as(b + " last").isTrue();
            assertThat(EgressPolicy.special(ip(dotted(net + size / 2))).cidr()).isEqualTo(b);
            // just outside, unless a neighbouring block of the list holds it
            for (long out : new long[] {net - 1, net + size}) {
                if (out >= 0 && out <= 0xffffffffL && documented.stream().noneMatch(o -> inside(o, out))) {
                    assertThat(EgressPolicy.isSpecial(ip(dotted(out)))).as(b + " neighbour " + dotted(out)).isFalse();
                }
            }
        }
        // on purpose not special: documentation and benchmarking blocks (mirrors, fake-IP proxies, the test Internet)
        for (String a : List.of("192.0.2.1", "198.51.100.255", "203.0.113.7", "198.18.0.1", "198.19.255.254",
                "192.31.196.1", "192.175.48.1", "192.52.193.1", "8.8.8.8")) {
            assertThat(EgressPolicy.isSpecial(ip(a))).as(a).isFalse();
            assertThat(EgressPolicy.specialWords(ip(a), Set.of())).isNull();
        }
        assertThat(EgressPolicy.specialWords(ip("127.0.0.1"), Set.of())).isEqualTo("loopback (127.0.0.0/8), which"
                + " only an address entry within 127.0.0.0/8 opens");
        assertThat(EgressPolicy.specialWords(ip("203.0.113.9"), Set.of(ip("203.0.113.9")))).isEqualTo("the host's"
                + " own, which only the address entry 203.0.113.9/32 opens");
        assertThat(EgressPolicy.specialWords(ip("127.0.0.1"), Set.of(ip("127.0.0.1")))).isEqualTo("loopback"
                + " (127.0.0.0/8) and the host's own, which only the address entry 127.0.0.1/32 opens");
        assertThat(EgressPolicy.specialWords(ip("::1"), Set.of())).startsWith("not IPv4");
    }

    /** A host's own address is a /32 block: no wider entry opens it, for the gate nor within an operator's bound. */
    @Test
    void theHostsOwnAddressOpensOnlyByAnEntryNamingExactlyIt() {
        InetAddress host = ip("192.0.2.2");
        Set<InetAddress> own = Set.of(host);
        for (String wide : List.of("0.0.0.0/0:8080", "128.0.0.0/1:8080", "192.0.2.0/24:8080", "192.0.2.2/31:8080")) {
            EgressPolicy p = EgressPolicy.parse(null, List.of(wide), null, null, null);
            assertThat(p.explicitlyAllows(host, 8080, own)).as(wide).isFalse();
            assertThat(p.explicitlyAllows(host, 8080, Set.of())).as(wide + ", not the host's").isTrue();
            assertThat(p.explicitlyAllows(ip("192.0.2.3"), 8080, own)).as("a neighbour").isTrue();
        }
        // 0.0.0.0 reaches the connecting host itself: no entry opens this network
        EgressPolicy zero = EgressPolicy.parse(null, List.of("0.0.0.0/32:8080", "0.0.0.0/8"), null, null, null);
        assertThat(zero.explicitlyAllows(ip("0.0.0.0"), 8080, own)).isFalse();
        assertThat(zero.explicitlyAllows(ip("0.1.2.3"), 80, own)).isFalse();
        assertThat(EgressPolicy.specialWords(ip("0.0.0.0"), Set.of())).contains("which no entry opens");
        EgressPolicy exact = EgressPolicy.parse(null, List.of("192.0.2.2/32:8080"), null, null, null);
        assertThat(exact.explicitlyAllows(host, 8080, own)).isTrue();
        assertThat(exact.explicitlyAllows(host, 8081, own)).isFalse();
        // an operator's bound of 0.0.0.0/0:8080 does not let a model ask for the host's address
        EgressPolicy bound = EgressPolicy.parse(null, List.of("0.0.0.0/0:8080"), null, null, null);
        assertThat(exact.beyond(bound, own)).extracting(Rule::toString).containsExactly("192.0.2.2/32:8080");
        assertThat(exact.beyond(bound, Set.of())).as("another host's address").isEmpty();
        assertThat(EgressPolicy.parse(null, List.of("192.0.2.0/24:8080"), null, null, null).beyond(bound, own))
                .hasSize(1);
        assertThat(exact.beyond(EgressPolicy.parse(null, List.of("0.0.0.0/0:8080", "192.0.2.2/32:8080"), null, null,
                null), own)).as("the operator named it").isEmpty();
    }

    @Test
    void aLiftedDenyIsOneAnAllowTouches() {
        EgressPolicy before = EgressPolicy.parse(List.of("*.wild.test", "pypi.org:443"), List.of("203.0.113.0/24"),
                null, List.of("bad.wild.test", "evil.test", "pypi.org:80"), List.of("203.0.113.7", "8.8.8.8"));
        EgressPolicy after = before.with(EgressPolicy.Change.of(null, null, null, null, null, List.of(
                "bad.wild.test", "evil.test", "pypi.org:80", "203.0.113.7/32", "8.8.8.8/32")));
        assertThat(after.denialsLifted(before)).extracting(Rule::toString, Rule::allow)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("bad.wild.test", true),
                        org.assertj.core.groups.Tuple.tuple("203.0.113.7/32", true));
        assertThat(before.denialsLifted(before)).isEmpty();
        assertThat(EgressPolicy.DENY_ALL.denialsLifted(before)).as("nothing allowed, nothing widened").isEmpty();
    }

    private static long ipv4(String dotted) {
        long v = 0;
        for (String part : dotted.split("\\.")) {
            v = v << 8 | Long.parseLong(part);
        }
        return v;
    }

    private static String dotted(long v) {
        return (v >> 24 & 255) + "." + (v >> 16 & 255) + "." + (v >> 8 & 255) + "." + (v & 255);
    }

    private static boolean inside(String cidr, long a) {
        int prefix = Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
        long mask = prefix == 0 ? 0 : 0xffffffffL << (32 - prefix) & 0xffffffffL;
        return (a & mask) == ipv4(cidr.substring(0, cidr.indexOf('/')));
    }

    @Test
    void aChangeRemovesThenAddsAndAPresetStaysListedOnlyWhileWhole() {
        EgressPolicy p = EgressPolicy.parse(List.of("a.example.com", "b.example.com:443"), List.of("203.0.113.0/24"),
                List.of("pypi"), List.of("bad.example.com"), null);
        EgressPolicy q = p.with(new Change(List.of("c.example.com"), null, null, List.of("*.evil.test"),
                List.of("198.51.100.0/24"), List.of("A.example.com", "b.example.com", "bad.example.com"), null));
        assertThat(q.rules()).extracting(Rule::toString).containsExactly("b.example.com:443", "203.0.113.0/24",
                "pypi.org:443", "files.pythonhosted.org:443", "c.example.com", "*.evil.test", "198.51.100.0/24");
        assertThat(q.presets()).containsExactly("pypi");
        assertThat(p.rules()).as("p unchanged").hasSize(6);
        EgressPolicy r = q.with(new Change(null, null, null, null, null, List.of("files.pythonhosted.org:443"),
                List.of("203.0.113.0/24", "198.51.100.0/24")));
        assertThat(r.rules()).extracting(Rule::toString).containsExactly("b.example.com:443", "pypi.org:443",
                "c.example.com", "*.evil.test");
        assertThat(r.presets()).as("pypi is no longer whole").isEmpty();
        assertThat(r.with(new Change(null, null, List.of("PyPI"), null, null, null, null)).presets())
                .containsExactly("pypi");
        assertThat(refused(() -> p.with(new Change(null, null, null, null, null, List.of("*"), null))).getMessage())
                .startsWith("invalid entry to remove '*': ");
        assertThat(refused(() -> p.with(new Change(List.of("1.2.3.4"), null, null, null, null, null, null)))
                .message().input()).contains(Input.ALLOW_HOST);
    }

    @Test
    void beyondListsTheAllowRulesTheBoundDoesNotCover() {
        EgressPolicy bound = EgressPolicy.parse(List.of("*.example.com", "pypi.org:443", "api.test"),
                List.of("203.0.113.0/24"), List.of("npm"), List.of("secret.example.com"), List.of("203.0.113.64/26"));
        // within: names under the wildcard, the same port, a narrower network, a preset's name, deny rules
        EgressPolicy within = EgressPolicy.parse(List.of("a.example.com:443", "*.b.example.com", "pypi.org:443",
                        "api.test:8443", "registry.npmjs.org:443"), List.of("203.0.113.0/27:80"), null,
                List.of("anything.else"), List.of("8.8.8.8"));
        assertThat(within.beyond(bound, Set.of())).isEmpty();
        assertThat(EgressPolicy.DENY_ALL.beyond(bound, Set.of())).isEmpty();
        // beyond: by name, by port, by wildcard (the apex, a wider one), by network, by a bound's deny
        EgressPolicy wide = EgressPolicy.parse(List.of("evil.test", "pypi.org", "pypi.org:80", "example.com",
                        "*.api.test", "secret.example.com:443", "registry.npmjs.org:80"),
                List.of("203.0.112.0/23", "198.51.100.1", "203.0.113.0/24"), null, null, null);
        assertThat(wide.beyond(bound, Set.of())).extracting(Rule::toString).containsExactly("evil.test", "pypi.org",
                "pypi.org:80", "example.com", "*.api.test", "secret.example.com:443", "registry.npmjs.org:80",
                "203.0.112.0/23", "198.51.100.1/32", "203.0.113.0/24");
        // a wildcard over a bound's deny is within only when the policy denies that too
        EgressPolicy star = allowHosts("*.example.com");
        assertThat(star.beyond(bound, Set.of())).extracting(Rule::toString).containsExactly("*.example.com");
        EgressPolicy starDeny = EgressPolicy.parse(List.of("*.example.com"), null, null,
                List.of("secret.example.com"), null);
        assertThat(starDeny.beyond(bound, Set.of())).isEmpty();
        assertThat(EgressPolicy.parse(null, List.of("203.0.113.0/25"), null, null, List.of("203.0.113.64/26"))
                .beyond(bound, Set.of())).isEmpty();
        assertThat(EgressPolicy.parse(null, List.of("203.0.113.0/25"), null, null, null).beyond(bound, Set.of()))
                .hasSize(1);
        assertThat(allowHosts("x.example.com").beyond(EgressPolicy.DENY_ALL, Set.of())).hasSize(1);
    }

    @Test
    void everyPresetParsesAndAnUnknownOneNamesTheKnown() {
        var known = EgressPolicy.presetsKnown();
        assertThat(known).containsOnlyKeys("debian", "github", "maven", "npm", "pypi");
        assertThat(known.get("debian")).extracting(Rule::toString).containsExactly("deb.debian.org:80",
                "deb.debian.org:443", "security.debian.org:80", "security.debian.org:443");
        assertThat(known.get("pypi")).extracting(Rule::toString).containsExactly("pypi.org:443",
                "files.pythonhosted.org:443");
        assertThat(known.get("npm")).extracting(Rule::toString).containsExactly("registry.npmjs.org:443");
        assertThat(known.get("maven")).extracting(Rule::toString).containsExactly("repo.maven.apache.org:443",
                "repo1.maven.org:443");
        assertThat(known.get("github")).extracting(Rule::toString).contains("github.com:443", "github.com:22",
                "*.githubusercontent.com:443", "codeload.github.com:443");
        for (String name : known.keySet()) {
            EgressPolicy p = EgressPolicy.parse(null, null, List.of(name), null, null);
            assertThat(p.presets()).containsExactly(name);
            assertThat(p.rules()).isEqualTo(known.get(name));
            assertThat(p.rules()).allMatch(Rule::allow);
        }
        EgressPolicy pip = EgressPolicy.parse(null, null, List.of("pypi"), null, null);
        assertThat(pip.name("files.pythonhosted.org", 443).allowed()).isTrue();
        assertThat(pip.name("files.pythonhosted.org", 80).allowed()).isFalse();
        DavitException e = refused(() -> EgressPolicy.parse(null, null, List.of("pip"), null, null));
        assertThat(e.getMessage()).isEqualTo("no preset 'pip' (presets); the presets are debian, github, maven, npm,"
                + " pypi");
        assertThat(e.message().input()).contains(Input.ALLOW_PRESET);
    }

    @Test
    void jsonRoundTripsAndIsValidatedAgain() {
        EgressPolicy p = EgressPolicy.parse(List.of("*.githubusercontent.com:443", "x.test"),
                List.of("203.0.113.0/24:8080", "198.51.100.7"), List.of("pypi"), List.of("bad.x.test"),
                List.of("203.0.113.9"));
        String json = p.toJson();
        assertThat(json).isEqualTo("{\"allow\":[\"*.githubusercontent.com:443\",\"x.test\",\"203.0.113.0/24:8080\","
                + "\"198.51.100.7/32\",\"pypi.org:443\",\"files.pythonhosted.org:443\"],\"deny\":[\"bad.x.test\","
                + "\"203.0.113.9/32\"],\"presets\":[\"pypi\"]}");
        EgressPolicy back = EgressPolicy.fromJson(json);
        assertThat(back).isEqualTo(p).hasSameHashCodeAs(p);
        assertThat(back.rules()).isEqualTo(p.rules());
        assertThat(back.presets()).isEqualTo(p.presets());
        assertThat(EgressPolicy.fromJson("{}")).isEqualTo(EgressPolicy.DENY_ALL);
        assertThat(EgressPolicy.DENY_ALL.toJson()).isEqualTo("{\"allow\":[],\"deny\":[],\"presets\":[]}");
        assertThat(refused(() -> EgressPolicy.fromJson("{\"allow\":[\"*\"]}")).getMessage())
                .contains("'*' alone would allow every name");
        assertThat(refused(() -> EgressPolicy.fromJson("{\"deny\":[\"10.0.0.1/8\"]}")).getMessage())
                .startsWith("invalid denyCidrs entry '10.0.0.1/8'");
        assertThat(refused(() -> EgressPolicy.fromJson("{\"allow\":\"pypi.org\"}")).getMessage())
                .contains("'allow' must be an array of strings");
        assertThat(refused(() -> EgressPolicy.fromJson("{\"presets\":[\"nope\"]}")).getMessage())
                .contains("no preset 'nope'");
        assertThat(refused(() -> EgressPolicy.fromJson("[]")).getMessage()).contains("must be a JSON object");
        assertThat(refused(() -> EgressPolicy.fromJson("{")).getMessage()).contains("no valid JSON");
        // order aside, the same rules are the same policy
        assertThat(allowHosts("a.test", "b.test")).isEqualTo(allowHosts("b.test", "a.test"));
        assertThat(allowHosts("a.test")).isNotEqualTo(allowHosts("a.test:443"));
        assertThat(p.toString()).startsWith("allow [*.githubusercontent.com:443, x.test,")
                .endsWith("deny [bad.x.test, 203.0.113.9/32] presets [pypi]");
    }

    @Test
    void aNetworkCarriesItsPolicy() {
        EgressPolicy pip = EgressPolicy.parse(null, null, List.of("pypi"), null, null);
        Network a = Network.policy(pip);
        assertThat(a).isEqualTo(Network.policy(EgressPolicy.fromJson(pip.toJson()))).isNotEqualTo(Network.NAT)
                .isNotEqualTo(Network.policy(null));
        assertThat(a.hashCode()).isEqualTo(Network.policy(pip).hashCode());
        assertThat(a.mode()).isEqualTo(Network.Mode.POLICY);
        assertThat(a.egress()).isSameAs(pip);
        assertThat(a.label()).isEqualTo("policy");
        assertThat(a.enabled()).isTrue();
        assertThat(a.ownNamespace()).isTrue();
        assertThat(a.resolvConf()).isEqualTo("nameserver 10.0.2.3\n");
        assertThat(a.toString()).startsWith("policy allow [pypi.org:443");
        assertThat(Network.policy(null).egress()).isEqualTo(EgressPolicy.DENY_ALL);
        assertThat(Network.NONE.egress()).isEqualTo(EgressPolicy.DENY_ALL);
        assertThat(Network.NAT.egress()).isNull();
        assertThat(Network.HOST.egress()).isNull();
        assertThat(List.of(Network.NONE, Network.NAT, Network.HOST)).extracting(Network::label)
                .containsExactly("none", "nat", "host");
        assertThat(List.of(Network.NONE, Network.NAT, Network.HOST)).extracting(Network::ownNamespace)
                .containsExactly(false, true, false);
        assertThat(Network.parse("nat")).isSameAs(Network.NAT);
        assertThat(Network.NAT.toString()).isEqualTo("nat");
        assertThatThrownBy(() -> Network.parse("policy")).isInstanceOf(DavitException.class)
                .hasMessageContaining("unknown network 'policy'");
        // publishing needs a namespace of the sandbox's own: NAT or a policy
        assertThat(CreateSpec.builder(Path.of("/r")).network(a).publish(List.of(PortMapping.parse("8080:80")))
                .build().publish()).hasSize(1);
    }

    @Test
    void aSandboxsStateKeepsItsPolicyAndOldStateStillReads() throws Exception {
        EgressPolicy p = EgressPolicy.parse(List.of("x.test:443"), List.of("203.0.113.0/24"), List.of("npm"),
                List.of("bad.x.test"), null);
        CreateSpec spec = CreateSpec.builder(Path.of("/r")).network(Network.policy(p)).build();
        Sandbox s = new Sandbox("sbx-0123456789ab", SandboxStatus.STOPPED, spec, Instant.parse("2026-01-01T00:00:00Z"),
                null, 0, 0, 0, 0);
        var json = SandboxJson.sandbox(s);
        assertThat(json.path("network").asText()).isEqualTo("policy");
        assertThat(json.path("egress").path("presets").get(0).asText()).isEqualTo("npm");
        Sandbox back = SandboxJson.sandbox(Json.read(Json.bytes(json)));
        assertThat(back.spec().network()).isEqualTo(Network.policy(p));
        assertThat(back.spec().network().egress().rules()).isEqualTo(p.rules());
        assertThat(back.spec()).isEqualTo(spec);
        // no egress object in a NAT sandbox's state; one without the egress key reads as a policy that allows nothing
        var nat = SandboxJson.sandbox(new Sandbox("sbx-0123456789ab", SandboxStatus.STOPPED,
                CreateSpec.builder(Path.of("/r")).network(Network.NAT).build(), Instant.parse("2026-01-01T00:00:00Z"),
                null, 0, 0, 0, 0));
        assertThat(nat.has("egress")).isFalse();
        assertThat(SandboxJson.sandbox(Json.read(Json.bytes(nat))).spec().network()).isSameAs(Network.NAT);
        json.remove("egress");
        assertThat(SandboxJson.sandbox(Json.read(Json.bytes(json))).spec().network())
                .isEqualTo(Network.policy(EgressPolicy.DENY_ALL));
    }
}
