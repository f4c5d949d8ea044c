//! EgressPolicyTest's cases for what the gate asks (entries, verdicts, special blocks, explicitlyAllows,
//! specialWords), with the same inputs and words; and the policy file as GatePolicyFile reads and writes it.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn parse(ah: &[&str], ac: &[&str], dh: &[&str], dc: &[&str]) -> Policy {
    Policy::parse(ah, ac, dh, dc).unwrap()
}

fn allow_hosts(hosts: &[&str]) -> Policy {
    parse(hosts, &[], &[], &[])
}

fn allow_cidrs(cidrs: &[&str]) -> Policy {
    parse(&[], cidrs, &[], &[])
}

fn refused(r: Result<Policy, String>) -> String {
    let e = r.expect_err("refused");
    assert!(!e.contains('\n'), "{e}");
    e
}

fn refused_hosts(hosts: &[&str]) -> String {
    refused(Policy::parse(hosts, &[], &[], &[]))
}

fn refused_cidrs(cidrs: &[&str]) -> String {
    refused(Policy::parse(&[], cidrs, &[], &[]))
}

fn shown(p: &Policy) -> Vec<String> {
    p.rules().iter().map(Rule::to_string).collect()
}

#[test]
fn entries_are_parsed_into_canonical_rules_in_order_once() {
    let p = parse(
        &[
            "PyPI.org.",
            "registry.npmjs.org:443",
            "*.githubusercontent.com",
            "pypi.org",
        ],
        &["203.0.113.0/24", "203.0.113.7:22", "198.51.100.9/32:8080"],
        &["*.evil.test"],
        &["203.0.113.128/25"],
    );
    assert_eq!(
        shown(&p),
        [
            "pypi.org",
            "registry.npmjs.org:443",
            "*.githubusercontent.com",
            "203.0.113.0/24",
            "203.0.113.7/32:22",
            "198.51.100.9/32:8080",
            "*.evil.test",
            "203.0.113.128/25"
        ]
    );
    assert_eq!(
        p.rules()[1],
        Rule::new(true, Kind::Host, "registry.npmjs.org", 443).unwrap()
    );
    assert_eq!(
        p.rules()[4],
        Rule::new(true, Kind::Cidr, "203.0.113.7/32", 22).unwrap()
    );
    assert!(!p.rules()[6].allow());
    assert!(!p.is_empty());
    assert!(Policy::default().is_empty());
    assert_eq!(
        Policy::parse::<&str>(&[], &[], &[], &[]).unwrap(),
        Policy::default()
    );
    assert_eq!(
        Rule::new(true, Kind::Host, "x.example.com", 0)
            .unwrap()
            .to_string(),
        "x.example.com"
    );
}

#[test]
fn bad_entries_are_refused_in_one_line_naming_the_cause_and_the_fix() {
    assert_eq!(
        refused_hosts(&["1.2.3.4"]),
        "invalid allowHosts entry '1.2.3.4': an address; use an address entry (allowCidrs)"
    );
    assert_eq!(
        refused(Policy::parse(&[], &[], &["10.0.0.1:22"], &[])),
        "invalid denyHosts entry '10.0.0.1': an address; use an address entry (denyCidrs)"
    );
    let contains = [
        ("*", "'*' alone would allow every name"),
        ("*.com", "at least two labels after '*.'"),
        ("a.*.example.com", "only as a whole first label"),
        ("*example.com", "only as a whole first label"),
        ("-bad.example.com", "not starting or ending"),
        ("a..b", "each label"),
        ("under_score.example.com", "each label"),
        ("", "give a name"),
        ("example.123", "last label is never all digits"),
        ("pypi.org:0", "between 1 and 65535, not '0'"),
        ("pypi.org:65536", "not '65536'"),
        ("pypi.org:http", "not 'http'"),
        ("::1", "sandboxes have IPv4 only"),
    ];
    for (entry, words) in contains {
        assert!(
            refused_hosts(&[entry]).contains(words),
            "{entry}: {}",
            refused_hosts(&[entry])
        );
    }
    assert!(refused_hosts(&[&format!("{}.com", "x".repeat(64))]).contains("1 to 63"));
    let long = format!("{}com", format!("{}.", "a".repeat(60)).repeat(5));
    assert!(refused_hosts(&[&long]).contains("at most 253"));
    assert_eq!(
        refused_cidrs(&["203.0.113.7/24"]),
        "invalid allowCidrs entry '203.0.113.7/24': its host bits are set; the network is 203.0.113.0/24"
    );
    for bad in ["2001:db8::/32", "[::1]:80", "fe80::1"] {
        assert!(
            refused_cidrs(&[bad]).contains("IPv6 is not available: sandboxes have IPv4 only"),
            "{bad}"
        );
    }
    assert_eq!(
        refused_cidrs(&["pypi.org"]),
        "invalid allowCidrs entry 'pypi.org': not an IPv4 address (a.b.c.d or a.b.c.d/n); for a name use a name \
         entry (allowHosts)"
    );
    assert!(refused_cidrs(&["1.2.3"]).contains("four numbers"));
    assert!(refused_cidrs(&["1.2.3.256"]).contains("0 to 255"));
    assert!(refused_cidrs(&["010.0.0.1"]).contains("without leading zeros"));
    assert!(refused_cidrs(&["10.0.0.0/33"]).contains("0 to 32, not '33'"));
    assert!(refused(Policy::parse(&[], &[], &[], &["10.0.0.1/8"]))
        .starts_with("invalid denyCidrs entry"));
    assert_eq!(
        Rule::new(true, Kind::Host, "PyPI.org", 0).unwrap_err(),
        "invalid allowHosts entry 'PyPI.org': write it as pypi.org"
    );
    assert!(Rule::new(true, Kind::Cidr, "10.0.0.1", 0)
        .unwrap_err()
        .contains("10.0.0.1/32"));
    // the entry is trimmed as Java's trim() does (controls and spaces), the port kept out of a name's refusal
    assert_eq!(
        shown(&allow_hosts(&[" \tPyPI.org:443\u{1} "])),
        ["pypi.org:443"]
    );
}

#[test]
fn a_wildcard_matches_subdomains_at_any_depth_and_never_the_apex() {
    let p = allow_hosts(&["*.example.com"]);
    assert!(p.name("a.example.com", 443).allowed);
    assert!(p.name("a.b.c.example.com", 443).allowed);
    assert!(p.name("A.Example.COM.", 443).allowed);
    assert!(!p.name("example.com", 443).allowed);
    assert!(!p.name("badexample.com", 443).allowed);
    assert!(!p.name("example.com.evil.test", 443).allowed);
    assert!(!p.name(".example.com", 443).allowed);
    let exact = allow_hosts(&["example.com"]);
    assert!(exact.name("example.com", 80).allowed);
    assert!(!exact.name("www.example.com", 80).allowed);
    let v = exact.name("evil.test", 80);
    assert!(!v.allowed);
    assert_eq!(v.rule, None);
    assert_eq!(v.reason, "not in the allow-list");
    assert_eq!(
        exact.name("example.com\u{0}.evil", 80).reason,
        "not a valid name"
    );
    assert!(!exact.name("", 80).allowed); // Java's null is the empty name
}

#[test]
fn ports_deny_wins_and_a_dns_lookup_asks_for_any_port() {
    let p = parse(
        &["pypi.org:443", "*.example.com", "files.example.com:443"],
        &[],
        &["bad.example.com", "ssh.example.com:22"],
        &[],
    );
    let ok = p.name("pypi.org", 443);
    assert!(ok.allowed);
    assert_eq!(ok.rule.as_ref(), p.rules().first());
    assert_eq!(ok.reason, "allowed by pypi.org:443");
    let port = p.name("pypi.org", 80);
    assert!(!port.allowed);
    assert_eq!(port.rule, None);
    assert_eq!(
        port.reason,
        "port 80 not in the allow-list (pypi.org:443 is)"
    );
    let deny = p.name("bad.example.com", 443);
    assert!(!deny.allowed);
    assert_eq!(deny.rule.unwrap().to_string(), "bad.example.com");
    assert_eq!(deny.reason, "denied by deny-host bad.example.com");
    assert_eq!(
        p.name("ssh.example.com", 22).reason,
        "denied by deny-host ssh.example.com:22"
    );
    assert!(p.name("ssh.example.com", 443).allowed); // a deny of one port denies only that port
                                                     // port 0: a DNS lookup, allowed when some allow rule names it on any port, unless a deny of every port does
    assert!(p.name("pypi.org", 0).allowed);
    assert!(p.name("ssh.example.com", 0).allowed);
    assert!(!p.name("bad.example.com", 0).allowed);
    assert_eq!(
        p.name("files.pythonhosted.org", 0).reason,
        "not in the allow-list"
    );
    let both = parse(&["*.evil.test"], &[], &["*.evil.test"], &[]);
    assert_eq!(
        both.name("x.evil.test", 443).reason,
        "denied by deny-host *.evil.test"
    );
}

#[test]
fn networks_hold_their_addresses_from_slash0_to_slash32() {
    let p = parse(
        &[],
        &["203.0.113.0/24", "198.51.100.7:22"],
        &[],
        &["203.0.113.128/25:443"],
    );
    assert!(p.address(ip("203.0.113.1"), 443).allowed);
    assert!(p.address(ip("203.0.113.255"), 80).allowed);
    let d = p.address(ip("203.0.113.200"), 443);
    assert!(!d.allowed);
    assert_eq!(d.reason, "denied by deny-cidr 203.0.113.128/25:443");
    assert!(p.address(ip("203.0.113.200"), 80).allowed);
    assert!(!p.address(ip("203.0.114.1"), 443).allowed);
    assert_eq!(
        p.address(ip("198.51.100.7"), 22).reason,
        "allowed by 198.51.100.7/32:22"
    );
    assert!(!p.address(ip("198.51.100.7"), 23).allowed);
    assert!(!p.address(ip("198.51.100.8"), 22).allowed);
    assert_eq!(
        p.address(ip("2001:db8::1"), 22).reason,
        "not an IPv4 address"
    );
    assert!(
        !p.name("203.0.113.1", 443).allowed,
        "names ask name rules only"
    );
    let all = allow_cidrs(&["0.0.0.0/0"]);
    assert!(all.address(ip("8.8.8.8"), 53).allowed);
    assert!(all.address(ip("255.255.255.255"), 1).allowed);
    assert!(all.address(ip("0.0.0.0"), 1).allowed);
    assert!(
        !allow_hosts(&["pypi.org"])
            .address(ip("8.8.8.8"), 443)
            .allowed,
        "addresses ask CIDRs only"
    );
    // an IPv4-mapped IPv6 address is the IPv4 address, as Java's InetAddress reads it
    assert!(all.address(ip("::ffff:8.8.8.8"), 53).allowed);
}

#[test]
fn only_a_narrow_enough_allow_opens_a_special_address() {
    for a in [
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "255.255.255.255",
        "::1",
    ] {
        assert!(is_special(ip(a)), "{a}");
    }
    for a in ["172.32.0.1", "100.128.0.1", "203.0.113.7", "8.8.8.8"] {
        assert!(!is_special(ip(a)), "{a}");
    }
    let p = parse(
        &[],
        &["10.1.0.0/16:5432", "0.0.0.0/0", "127.0.0.0/8"],
        &[],
        &["127.0.0.53/32"],
    );
    assert!(p.explicitly_allows(ip("10.1.2.3"), 5432, &[]));
    assert!(
        !p.explicitly_allows(ip("10.1.2.3"), 22, &[]),
        "0.0.0.0/0 is wider than 10.0.0.0/8"
    );
    assert!(!p.explicitly_allows(ip("10.2.0.1"), 5432, &[]));
    assert!(!p.explicitly_allows(ip("169.254.169.254"), 80, &[]));
    assert!(p.explicitly_allows(ip("127.0.0.1"), 80, &[]));
    assert!(!p.explicitly_allows(ip("127.0.0.53"), 53, &[]), "deny wins");
    assert!(p.explicitly_allows(ip("8.8.8.8"), 53, &[]));
    assert!(!allow_hosts(&["pypi.org"]).explicitly_allows(ip("10.0.0.1"), 443, &[]));
}

fn dotted(v: u64) -> String {
    Ipv4Addr::from(v as u32).to_string()
}

fn inside(cidr: &str, a: u64) -> bool {
    let (net, prefix) = net_and_prefix(cidr);
    a as u32 & mask(prefix) == net
}

/// Each documented special block: its first and last address special, the addresses just outside it not.
#[test]
fn every_special_block_of_the_one_list_and_nothing_beside_it() {
    let documented = [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ];
    let cidrs: Vec<&str> = special_blocks().iter().map(SpecialBlock::cidr).collect();
    assert_eq!(cidrs, documented);
    for (b, cidr) in special_blocks().iter().zip(documented) {
        assert_eq!(
            (b.net, b.prefix),
            net_and_prefix(cidr),
            "{cidr}: the table's bits"
        );
    }
    for b in documented {
        let (net, prefix) = net_and_prefix(b);
        let (net, size) = (net as u64, 1u64 << (32 - prefix));
        assert!(is_special(ip(&dotted(net))), "{b} first");
        assert!(is_special(ip(&dotted(net + size - 1))), "{b} last");
        assert_eq!(special(ip(&dotted(net + size / 2))).unwrap().cidr(), b);
        // just outside, unless a neighbouring block of the list holds it
        for out in [net.wrapping_sub(1), net + size] {
            if out <= 0xffff_ffff && !documented.iter().any(|o| inside(o, out)) {
                assert!(
                    !is_special(ip(&dotted(out))),
                    "{b} neighbour {}",
                    dotted(out)
                );
            }
        }
    }
    // on purpose not special: documentation and benchmarking blocks (mirrors, fake-IP proxies, the test Internet)
    for a in [
        "192.0.2.1",
        "198.51.100.255",
        "203.0.113.7",
        "198.18.0.1",
        "198.19.255.254",
        "192.31.196.1",
        "192.175.48.1",
        "192.52.193.1",
        "8.8.8.8",
    ] {
        assert!(!is_special(ip(a)), "{a}");
        assert_eq!(special_words(ip(a), &[]), None);
    }
    assert_eq!(
        special_words(ip("127.0.0.1"), &[]).unwrap(),
        "loopback (127.0.0.0/8), which only an address entry within 127.0.0.0/8 opens"
    );
    assert_eq!(
        special_words(ip("203.0.113.9"), &[ip("203.0.113.9")]).unwrap(),
        "the host's own, which only the address entry 203.0.113.9/32 opens"
    );
    assert_eq!(
        special_words(ip("127.0.0.1"), &[ip("127.0.0.1")]).unwrap(),
        "loopback (127.0.0.0/8) and the host's own, which only the address entry 127.0.0.1/32 opens"
    );
    assert!(special_words(ip("::1"), &[])
        .unwrap()
        .starts_with("not IPv4"));
    assert_eq!(
        special(ip("169.254.169.254")).unwrap().name(),
        "link-local (cloud metadata)"
    );
}

/// A host's own address is a /32 block: no wider entry opens it.
#[test]
fn the_hosts_own_address_opens_only_by_an_entry_naming_exactly_it() {
    let host = ip("192.0.2.2");
    let own = [host];
    for wide in [
        "0.0.0.0/0:8080",
        "128.0.0.0/1:8080",
        "192.0.2.0/24:8080",
        "192.0.2.2/31:8080",
    ] {
        let p = allow_cidrs(&[wide]);
        assert!(!p.explicitly_allows(host, 8080, &own), "{wide}");
        assert!(
            p.explicitly_allows(host, 8080, &[]),
            "{wide}, not the host's"
        );
        assert!(
            p.explicitly_allows(ip("192.0.2.3"), 8080, &own),
            "a neighbour"
        );
    }
    // 0.0.0.0 reaches the connecting host itself: no entry opens this network
    let zero = allow_cidrs(&["0.0.0.0/32:8080", "0.0.0.0/8"]);
    assert!(!zero.explicitly_allows(ip("0.0.0.0"), 8080, &own));
    assert!(!zero.explicitly_allows(ip("0.1.2.3"), 80, &own));
    assert!(special_words(ip("0.0.0.0"), &[])
        .unwrap()
        .contains("which no entry opens"));
    let exact = allow_cidrs(&["192.0.2.2/32:8080"]);
    assert!(exact.explicitly_allows(host, 8080, &own));
    assert!(!exact.explicitly_allows(host, 8081, &own));
}

/// Gate.reachable: an ordinary address is reachable; a special or the host's own only when explicitly allowed.
#[test]
fn reachable_is_every_ordinary_address_and_an_explicitly_allowed_special_one() {
    let p = allow_cidrs(&["127.0.0.0/8:8080", "0.0.0.0/0"]);
    let own = [ip("203.0.113.9")];
    assert!(p.reachable(ip("8.8.8.8"), 0, &own));
    assert!(
        allow_hosts(&["a.test"]).reachable(ip("8.8.8.8"), 0, &own),
        "no address rule needed"
    );
    assert!(!p.reachable(ip("203.0.113.9"), 0, &own));
    assert!(p.reachable(ip("127.0.0.1"), 8080, &own));
    assert!(!p.reachable(ip("127.0.0.1"), 22, &own));
    assert!(!p.reachable(ip("10.0.0.1"), 0, &own));
    assert!(!p.reachable(ip("2001:db8::1"), 0, &own));
}

#[test]
fn the_policy_file_is_read_as_the_gate_reads_it() {
    let file = b"allow-host allowed.test\n\
                 deny-cidr 198.18.0.7/32\r\n\
                 \n   \t\n\
                 allow-cidr 203.0.113.0/24:8080\r\
                 deny-host *.bad.allowed.test\n\
                 allow-host *.x.test:443  \n\
                 allow-host allowed.test";
    let p = Policy::read(file).unwrap();
    // allow names, allow addresses, deny names, deny addresses, whatever the lines' order; each rule once
    assert_eq!(
        p.text(),
        "allow-host allowed.test\nallow-host *.x.test:443\nallow-cidr 203.0.113.0/24:8080\n\
         deny-host *.bad.allowed.test\ndeny-cidr 198.18.0.7/32\n"
    );
    assert_eq!(Policy::read(p.text().as_bytes()).unwrap(), p);
    assert_eq!(p.name("a.x.test", 443).reason, "allowed by *.x.test:443");
    assert_eq!(
        p.address(ip("198.18.0.7"), 443).reason,
        "denied by deny-cidr 198.18.0.7/32"
    );
    assert_eq!(Policy::read(b"").unwrap(), Policy::default());
    assert_eq!(
        Policy::read(b"allow-host\n").unwrap_err(),
        "invalid allowHosts entry '': give a name such as pypi.org"
    );
    assert_eq!(
        Policy::read(b"allow-hosts a.test\n").unwrap_err(),
        "bad policy line: allow-hosts a.test"
    );
    assert_eq!(
        Policy::read(b"allow-host a.test\nALLOW-HOST b.test").unwrap_err(),
        "bad policy line: ALLOW-HOST b.test"
    );
    assert_eq!(
        Policy::read(b"\tallow-host a.test").unwrap_err(),
        "bad policy line: \tallow-host a.test"
    );
    assert_eq!(
        Policy::read(b"allow-cidr 10.0.0.1/8").unwrap_err(),
        "invalid allowCidrs entry '10.0.0.1/8': its host bits are set; the network is 10.0.0.0/8"
    );
    // a no-break space is no white space to Java: the entry keeps it, and it is no name
    assert!(Policy::read("allow-host a.test\u{a0}".as_bytes())
        .unwrap_err()
        .contains("each label"));
    assert!(Policy::read(b"allow-host \xff")
        .unwrap_err()
        .contains("not UTF-8"));
}

/// The special blocks are one list: the gate's and davit's own (davit-sandbox-api's SpecialBlocks.java, which the
/// host side's checks, the docs and the refusals use), read from its source, the same blocks and words in order.
#[test]
fn the_special_blocks_are_davits_own_list() {
    let java =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../../../davit-sandbox-api/src/main/java/dev/davit/sandbox/SpecialBlocks.java",
        ))
        .unwrap();
    let theirs: Vec<(String, String)> = java
        .lines()
        .filter_map(|l| l.trim().strip_prefix("new SpecialBlock(\""))
        .map(|rest| {
            let (cidr, rest) = rest.split_once("\", \"").unwrap();
            let name = rest.split_once('"').unwrap().0;
            (cidr.to_string(), name.to_string())
        })
        .collect();
    let ours: Vec<(String, String)> = special_blocks()
        .iter()
        .map(|b| (b.cidr.to_string(), b.name.to_string()))
        .collect();
    assert_eq!(ours.len(), 11);
    assert_eq!(ours, theirs);
}
