//! DnsMessageTest's cases: DNS queries as dig sends them (and broken or hostile ones), davit's answers, and name
//! servers' answers, with DnsBytes's way of writing them byte by byte.

use super::*;

const OK_FLAGS: u16 = 0x8180; // QR RD RA

/// DNS messages written byte by byte, as `dig` or a name server (or an attacker) would send them.
#[derive(Default)]
struct DnsBytes(Vec<u8>);

impl DnsBytes {
    fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> DnsBytes {
        DnsBytes::default()
            .u16(id)
            .u16(flags)
            .u16(qd)
            .u16(an)
            .u16(ns)
            .u16(ar)
    }

    fn u8(mut self, v: u8) -> DnsBytes {
        self.0.push(v);
        self
    }

    fn u16(mut self, v: u16) -> DnsBytes {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn u32(mut self, v: u32) -> DnsBytes {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn bytes(mut self, b: &[u8]) -> DnsBytes {
        self.0.extend_from_slice(b);
        self
    }

    /// A name as labels, ending in the root (an empty string is the root alone).
    fn name(self, n: &str) -> DnsBytes {
        self.labels(n).u8(0)
    }

    /// Labels without the root (to end in a pointer).
    fn labels(mut self, n: &str) -> DnsBytes {
        if !n.is_empty() {
            for l in n.split('.') {
                self = self.u8(l.len() as u8).bytes(l.as_bytes());
            }
        }
        self
    }

    fn pointer(self, off: u16) -> DnsBytes {
        self.u16(0xc000 | off)
    }

    /// A record's type, class IN, TTL and data, after its owner name.
    fn rr(self, rtype: u16, ttl: u32, data: &[u8]) -> DnsBytes {
        self.u16(rtype)
            .u16(1)
            .u32(ttl)
            .u16(data.len() as u16)
            .bytes(data)
    }

    /// An A record's type onwards.
    fn a(self, ttl: u32, a: u8, b: u8, c: u8, d: u8) -> DnsBytes {
        self.rr(1, ttl, &[a, b, c, d])
    }

    /// A CNAME record's type onwards, its target written in full.
    fn cname(self, ttl: u32, target: &str) -> DnsBytes {
        let t = DnsBytes::default().name(target).0;
        self.rr(5, ttl, &t)
    }

    fn size(&self) -> u16 {
        self.0.len() as u16
    }
}

/// `dig a.test`'s query: RD and AD set, one question, an EDNS OPT record with a cookie.
fn dig_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    DnsBytes::header(id, 0x0120, 1, 0, 0, 1)
        .name(name)
        .u16(qtype)
        .u16(1)
        .u8(0)
        .u16(41)
        .u16(1232)
        .u32(0)
        .u16(12)
        .u16(10)
        .u16(8)
        .bytes(&[0; 8])
        .0
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn digs_query_is_read() {
    let q = dig_query(0xbeef, "Allowed.TEST", TYPE_A);
    let got = parse_query(&q).unwrap();
    assert_eq!(got.id, 0xbeef);
    assert_eq!(got.name, "allowed.test");
    assert_eq!(got.qtype, TYPE_A);
    assert_eq!(got.qclass, CLASS_IN);
    assert_eq!(got.question_end, 12 + 14 + 4);
    assert_eq!(
        parse_query(&dig_query(1, "a.test", TYPE_AAAA))
            .unwrap()
            .qtype,
        28
    );
    let any = DnsBytes::header(1, 0, 1, 0, 0, 0)
        .name("a.test")
        .u16(255)
        .u16(255)
        .0;
    assert_eq!(parse_query(&any).unwrap().qclass, CLASS_ANY);
    // 253 characters, 255 bytes on the wire
    let longest = format!(
        "{}{}",
        format!("{}.", "a".repeat(63)).repeat(3),
        "a".repeat(61)
    );
    assert_eq!(
        parse_query(&dig_query(1, &longest, 1)).unwrap().name,
        longest
    );
    assert_eq!(
        parse_query(&dig_query(1, "_svc._tcp.a-b.test", 1))
            .unwrap()
            .name,
        "_svc._tcp.a-b.test"
    );
}

#[test]
fn what_is_not_one_standard_query_is_refused() {
    let ok = DnsBytes::header(7, 0x0100, 1, 0, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .0;
    assert!(parse_query(&ok).is_some());
    assert_eq!(parse_query(&ok[..ok.len() - 1]), None, "cut short");
    assert_eq!(parse_query(&[]), None);
    assert_eq!(parse_query(&ok[..11]), None);
    let q = |flags: u16, qd: u16, an: u16| DnsBytes::header(7, flags, qd, an, 0, 0);
    let long = format!("{}.", "a".repeat(63)).repeat(4)[..255].to_string();
    for bad in [
        q(0x8100, 1, 0).name("a.test").u16(1).u16(1).0, // a response
        q(0x2800, 1, 0).name("a.test").u16(1).u16(1).0, // UPDATE
        q(0x0800, 1, 0).name("a.test").u16(1).u16(1).0, // IQUERY
        q(0x0100, 2, 0)
            .name("a.test")
            .u16(1)
            .u16(1)
            .name("b.test")
            .u16(1)
            .u16(1)
            .0,
        q(0x0100, 0, 0).0,
        q(0x0100, 1, 1).name("a.test").u16(1).u16(1).0,
        q(0x0100, 1, 0).name("a.test").u16(1).u16(3).0, // CHAOS
        q(0x0100, 1, 0).name("").u16(2).u16(1).0,       // the root
        q(0x0100, 1, 0).labels("a").pointer(12).u16(1).u16(1).0,
        q(0x0100, 1, 0).name("a.test").u16(1).0,
        q(0x0100, 1, 0).u8(3).bytes(b"a.b").u8(0).u16(1).u16(1).0,
        q(0x0100, 1, 0).u8(3).bytes(b"a b").u8(0).u16(1).u16(1).0,
        q(0x0100, 1, 0).u8(1).u8(0xe9).u8(0).u16(1).u16(1).0,
        q(0x0100, 1, 0).u8(0x40).0,       // an extended label type
        q(0x0100, 1, 0).u8(5).u8(b'a').0, // a label past the end
        q(0x0100, 1, 0).labels(&long).u8(0).u16(1).u16(1).0, // 257 bytes on the wire
    ] {
        assert_eq!(parse_query(&bad), None, "{bad:?}");
    }
}

#[test]
fn answers_echo_the_question_and_carry_the_addresses() {
    let q = dig_query(0x4242, "Allowed.test", 1);
    let question = parse_query(&q).unwrap();
    let r = answer_a(&question, &q, &[ip("192.0.2.1"), ip("192.0.2.2")], 60);
    let want = DnsBytes::header(0x4242, 0x8180, 1, 2, 0, 0)
        .name("Allowed.test")
        .u16(1)
        .u16(1)
        .pointer(12)
        .a(60, 192, 0, 2, 1)
        .pointer(12)
        .a(60, 192, 0, 2, 2)
        .0;
    assert_eq!(r, want);
    // and a stub resolver reads it back
    let back = parse_answer(&r, 0x4242, "allowed.test").unwrap();
    assert_eq!(back.addresses, [ip("192.0.2.1"), ip("192.0.2.2")]);
    assert_eq!(back.min_ttl, 60);

    let nodata = answer_a(&question, &q, &[], 60);
    assert_eq!(
        nodata,
        DnsBytes::header(0x4242, 0x8180, 1, 0, 0, 0)
            .name("Allowed.test")
            .u16(1)
            .u16(1)
            .0
    );
    let no_rd = DnsBytes::header(9, 0, 1, 0, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .0;
    assert_eq!(
        error(&parse_query(&no_rd).unwrap(), &no_rd, NXDOMAIN),
        DnsBytes::header(9, 0x8083, 1, 0, 0, 0)
            .name("a.test")
            .u16(1)
            .u16(1)
            .0
    );
    assert_eq!(error(&question, &q, REFUSED)[3], 0x85);

    let many = [ip("192.0.2.9"); 100];
    let big = answer_a(&question, &q, &many, -5);
    assert!(big.len() <= MAX_UDP);
    let capped = parse_answer(&big, 0x4242, "allowed.test").unwrap();
    assert_eq!(capped.addresses.len(), (512 - 30) / 16);
    assert_eq!(capped.min_ttl, 0);
}

#[test]
fn form_err_answers_what_cannot_be_read() {
    let junk = [0x12, 0x34, 0x01, 0x00, 9, 9, 9, 9, 9, 9, 9, 9, 9];
    assert_eq!(
        form_err(&junk),
        Some(DnsBytes::header(0x1234, 0x8181, 0, 0, 0, 0).0)
    );
    assert_eq!(form_err(&junk[..11]), None);
    let mut response = junk;
    response[2] = 0x81;
    assert_eq!(form_err(&response), None, "never answer an answer");
}

#[test]
fn a_cname_chain_is_followed_and_unrelated_records_are_ignored() {
    // www.allowed.test CNAME cdn.allowed.test CNAME edge.cdn.test A 192.0.2.7; the rest is poison
    let mut m = DnsBytes::header(77, OK_FLAGS, 1, 6, 1, 1)
        .name("www.allowed.test")
        .u16(1)
        .u16(1);
    m = m.pointer(12).a(9, 203, 0, 113, 66); // an address beside a CNAME: not where the chain ends
    m = m.pointer(12).cname(300, "cdn.allowed.test");
    let cdn = m.size();
    let edge = DnsBytes::default()
        .labels("edge")
        .labels("cdn")
        .labels("test")
        .u8(0)
        .0;
    m = m.labels("cdn").pointer(16).rr(5, 120, &edge);
    m = m.labels("denied").pointer(24).a(3600, 198, 51, 100, 1); // denied.test A: unrelated
    m = m
        .labels("edge")
        .labels("cdn")
        .labels("test")
        .u8(0)
        .a(60, 192, 0, 2, 7);
    m = m.pointer(cdn).a(30, 198, 51, 100, 2); // cdn.allowed.test A: a name in the chain, not its end
    m = m.name("allowed.test").a(1, 6, 6, 6, 6); // authority
    m = m.pointer(12).a(1, 7, 7, 7, 7); // additional, for the very name asked
    let a = parse_answer(&m.0, 77, "WWW.allowed.test.").unwrap();
    assert_eq!(a.rcode, 0);
    assert_eq!(a.addresses, [ip("192.0.2.7")]);
    assert_eq!(a.min_ttl, 60);
    assert!(!a.truncated);
}

#[test]
fn cname_loops_and_long_chains_end_without_addresses() {
    let lp = DnsBytes::header(1, OK_FLAGS, 1, 3, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .name("a.test")
        .cname(60, "b.test")
        .name("b.test")
        .cname(60, "a.test")
        .name("a.test")
        .a(60, 1, 2, 3, 4)
        .0;
    let a = parse_answer(&lp, 1, "a.test").unwrap();
    assert!(a.addresses.is_empty());

    let mut chain = DnsBytes::header(1, OK_FLAGS, 1, 21, 0, 0)
        .name("c0.test")
        .u16(1)
        .u16(1);
    for i in 0..20 {
        chain = chain
            .name(&format!("c{i}.test"))
            .cname(60, &format!("c{}.test", i + 1));
    }
    chain = chain.name("c20.test").a(60, 1, 2, 3, 4);
    assert!(
        parse_answer(&chain.0, 1, "c0.test")
            .unwrap()
            .addresses
            .is_empty(),
        "longer than MAX_CHAIN"
    );
}

#[test]
fn compression_loops_and_pointers_out_of_range_are_malformed() {
    let head = || {
        DnsBytes::header(1, OK_FLAGS, 1, 1, 0, 0)
            .name("a.test")
            .u16(1)
            .u16(1)
    };
    // a label then a pointer back to it: the name goes round until the bounds stop it
    let lp = head();
    let at = lp.size();
    let lp = lp.labels("x").pointer(at).a(60, 1, 2, 3, 4).0;
    assert_eq!(parse_answer(&lp, 1, "a.test"), None);
    let own = head().pointer(24).a(60, 1, 2, 3, 4).0;
    assert_eq!(parse_answer(&own, 1, "a.test"), None, "a pointer to itself");
    let forward = head().pointer(200).a(60, 1, 2, 3, 4).0;
    assert_eq!(parse_answer(&forward, 1, "a.test"), None, "out of range");
    let header = head().pointer(2).a(60, 1, 2, 3, 4).0;
    assert_eq!(parse_answer(&header, 1, "a.test"), None, "into the header");
    let cut = head().u8(0xc0).0;
    assert_eq!(parse_answer(&cut, 1, "a.test"), None, "half a pointer");
    let rdata = head().pointer(12).u16(1).u16(1).u32(60).u16(400).u32(0).0;
    assert_eq!(
        parse_answer(&rdata, 1, "a.test"),
        None,
        "rdata past the end"
    );
    let count = DnsBytes::header(1, OK_FLAGS, 1, 65535, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .pointer(12)
        .a(60, 1, 2, 3, 4)
        .0;
    assert_eq!(
        parse_answer(&count, 1, "a.test"),
        None,
        "a count the message cannot hold"
    );
}

#[test]
fn an_answer_to_another_query_is_refused() {
    let ok = DnsBytes::header(5, OK_FLAGS, 1, 1, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .pointer(12)
        .a(0x8000_0000, 1, 2, 3, 4)
        .0;
    let a = parse_answer(&ok, 5, "a.test").unwrap();
    assert_eq!(a.addresses, [ip("1.2.3.4")]);
    assert_eq!(a.min_ttl, 0, "a TTL with the top bit set is 0");
    assert_eq!(parse_answer(&ok, 6, "a.test"), None, "another ID");
    assert_eq!(parse_answer(&ok, 5, "b.test"), None, "another name");
    assert_eq!(
        parse_answer(&ok[..ok.len() - 1], 5, "a.test"),
        None,
        "cut short"
    );
    let mut query = ok.clone();
    query[2] = 0x01;
    assert_eq!(parse_answer(&query, 5, "a.test"), None, "QR 0");
    let aaaa = DnsBytes::header(5, OK_FLAGS, 1, 0, 0, 0)
        .name("a.test")
        .u16(28)
        .u16(1)
        .0;
    assert_eq!(parse_answer(&aaaa, 5, "a.test"), None, "another type");

    let nx = DnsBytes::header(5, 0x8183, 1, 0, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .0;
    assert_eq!(
        parse_answer(&nx, 5, "a.test"),
        Some(Answer {
            rcode: 3,
            addresses: vec![],
            min_ttl: 0,
            truncated: false
        })
    );
    let tc = DnsBytes::header(5, 0x8380, 1, 0, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .0;
    assert!(parse_answer(&tc, 5, "a.test").unwrap().truncated);
    let wrong_length = DnsBytes::header(5, OK_FLAGS, 1, 1, 0, 0)
        .name("a.test")
        .u16(1)
        .u16(1)
        .pointer(12)
        .rr(1, 60, &[0; 16])
        .0;
    assert!(
        parse_answer(&wrong_length, 5, "a.test")
            .unwrap()
            .addresses
            .is_empty(),
        "an A record of 16 bytes"
    );
}

#[test]
fn queries_and_tcp_frames() {
    let q = query_a(0x1234, "Allowed.Test.").unwrap();
    assert_eq!(
        q,
        DnsBytes::header(0x1234, 0x0100, 1, 0, 0, 0)
            .name("allowed.test")
            .u16(1)
            .u16(1)
            .0
    );
    assert_eq!(parse_query(&q).unwrap().name, "allowed.test");
    assert_eq!(query_a(1, "a..test"), None);
    assert_eq!(tcp_frame(&[1, 2, 3]), Some(vec![0, 3, 1, 2, 3]));
    assert_eq!(tcp_frame_length(&[1, 2]), Some(258));
    assert_eq!(tcp_frame_length(&[1]), None);
    assert_eq!(tcp_frame(&[0; 65536]), None);
    assert_eq!(tcp_frame(&[0; 65535]).map(|f| f.len()), Some(65537));
}

#[test]
fn names() {
    assert_eq!(name("A.Test.").as_deref(), Some("a.test"));
    assert_eq!(name("*.test").as_deref(), Some("*.test"));
    let long = "x".repeat(64);
    let many = "a.".repeat(128);
    for bad in ["", ".", "a..b", ".a", "a b", "a\u{e9}", &long, &many] {
        assert_eq!(name(bad), None, "{bad}");
    }
}
