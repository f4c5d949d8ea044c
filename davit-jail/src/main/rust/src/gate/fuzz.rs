//! What the gate's fuzz targets (fuzz/fuzz_targets/gate_*.rs) run on one input, and the corpus test
//! (tests/gate_corpus.rs) on each stored one: the parser on the bytes, and the invariants davit-network's
//! NetworkFuzzTest asserts of its result. Whatever the bytes: no panic, a name in the form the policy compares, a
//! result within its bounds, and the same answer for a prefix (or "need more") once a prefix has decided. A violated
//! invariant panics, which is what a fuzzer reports.

use super::{dns_msg, http_head, policy, tls_hello};
use std::net::{IpAddr, Ipv4Addr};

/// The address the DNS answers carry.
const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Whether `s` is a host name in the policy's form: 1 to 253 characters, labels of 1 to 63 of `a-z 0-9 _ -`
/// (NetworkFuzzTest's HOSTNAME).
pub fn is_policy_hostname(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
        })
}

/// The DNS message parsers on `input`, as a query from the sandbox and as a name server's answer.
pub fn dns(input: &[u8]) {
    let q = dns_msg::parse_query(input);
    if let Some(q) = &q {
        assert_eq!(dns_msg::name(&q.name).as_deref(), Some(q.name.as_str()));
        assert!((dns_msg::HEADER + 6..=input.len()).contains(&q.question_end));
        let a = dns_msg::answer_a(q, input, &[ADDRESS, ADDRESS], 60);
        assert!(a.len() <= dns_msg::MAX_UDP);
        assert_eq!(dns_msg::parse_query(&a), None, "an answer is no query");
        let back = dns_msg::parse_answer(&a, q.id, &q.name);
        if q.qtype == dns_msg::TYPE_A && q.qclass == dns_msg::CLASS_IN {
            assert_eq!(
                back.expect("davit's answer reads back").addresses,
                [ADDRESS, ADDRESS]
            );
        }
        assert_eq!(
            dns_msg::error(q, input, dns_msg::NXDOMAIN).len(),
            q.question_end
        );
    } else if let Some(f) = dns_msg::form_err(input) {
        assert_eq!(f.len(), dns_msg::HEADER);
    }
    let id = if input.len() >= 2 {
        u16::from_be_bytes([input[0], input[1]])
    } else {
        0
    };
    for name in ["a.test", q.as_ref().map_or("b.test", |q| q.name.as_str())] {
        if let Some(a) = dns_msg::parse_answer(input, id, name) {
            assert!(a.rcode <= 15);
            assert!(a.min_ttl <= i32::MAX as u32);
            assert!(a.addresses.len() <= input.len() / 14);
        }
    }
}

/// The ClientHello reader on `input`, and on its first half once the whole has decided.
pub fn tls_hello(input: &[u8]) -> tls_hello::Hello {
    let r = tls_hello::sni(input);
    if let tls_hello::Hello::Sni(s) = &r {
        assert!(is_policy_hostname(s), "{s:?}");
    }
    if !matches!(r, tls_hello::Hello::NotTls | tls_hello::Hello::NeedMore) {
        let half = tls_hello::sni(&input[..input.len() / 2]);
        assert!(
            half == r || half == tls_hello::Hello::NeedMore,
            "{half:?} then {r:?}"
        );
    }
    r
}

/// The request head reader on `input`, and on the head's prefixes once it has decided; and the first flight's
/// helpers, which must not panic.
pub fn http_head(input: &[u8]) -> http_head::Head {
    let r = http_head::host(input);
    if let http_head::Head::Host { name, port } = &r {
        assert_ne!(*port, Some(0));
        if name.contains(':') {
            assert!(name.bytes().all(|c| c.is_ascii_digit()
                || (b'a'..=b'f').contains(&c)
                || c == b':'
                || c == b'.'));
        } else {
            assert!(is_policy_hostname(name), "{name:?}");
        }
    }
    let end = http_head::head_end(input);
    if matches!(r, http_head::Head::Host { .. } | http_head::Head::NoHost) {
        let end = end.expect("a head that named its host ends");
        assert!(end > 0);
        assert_eq!(
            http_head::host(&input[..end - 1]),
            http_head::Head::NeedMore
        );
        assert_eq!(http_head::host(&input[..end]), r);
    }
    if let Some(why) = http_head::hides_name(input) {
        assert!(!why.is_empty());
    }
    let _ = http_head::may_become_request_line(input);
    r
}

/// The policy file up to the first NUL byte of `input`, read as the gate reads it; after the NUL, a port (two bytes)
/// and a name asked about, and the name's first four bytes as an address. A policy reads back from its own text, and
/// each verdict is one its rule or its words explain.
pub fn policy(input: &[u8]) {
    let nul = input.iter().position(|&c| c == 0).unwrap_or(input.len());
    let (file, rest) = (&input[..nul], input.get(nul + 1..).unwrap_or(&[]));
    let p = match policy::Policy::read(file) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.is_empty() && !e.contains('\n'), "{e:?}");
            return;
        }
    };
    assert_eq!(
        policy::Policy::read(p.text().as_bytes()).as_ref(),
        Ok(&p),
        "a policy reads back from its text"
    );
    let port = u16::from_be_bytes([
        rest.first().copied().unwrap_or(0),
        rest.get(1).copied().unwrap_or(0),
    ]);
    let asked = rest.get(2..).unwrap_or(&[]);
    let name = String::from_utf8_lossy(asked);
    let mut quad = [0u8; 4];
    for (q, b) in quad.iter_mut().zip(asked) {
        *q = *b;
    }
    let address = IpAddr::V4(Ipv4Addr::from(quad));
    let own = [address];
    for (v, kind) in [
        (p.name(&name, port), policy::Kind::Host),
        (p.address(address, port), policy::Kind::Cidr),
    ] {
        match &v.rule {
            Some(r) => {
                assert_eq!(r.allow(), v.allowed);
                assert_eq!(r.kind(), kind);
                assert!(p.rules().contains(r));
                assert!(
                    v.reason.starts_with(if v.allowed {
                        "allowed by "
                    } else {
                        "denied by "
                    }),
                    "{v:?}"
                );
            }
            None => {
                assert!(!v.allowed);
                assert!(
                    ["not a valid name", "not in the allow-list"].contains(&v.reason.as_str())
                        || v.reason.starts_with("port "),
                    "{v:?}"
                );
            }
        }
    }
    for host_own in [&own[..], &[]] {
        if p.explicitly_allows(address, port, host_own) {
            assert!(p.address(address, port).allowed);
            assert!(p.reachable(address, port, host_own));
        }
        let words = policy::special_words(address, host_own);
        assert_eq!(
            words.is_some(),
            policy::is_special(address) || !host_own.is_empty()
        );
    }
}
