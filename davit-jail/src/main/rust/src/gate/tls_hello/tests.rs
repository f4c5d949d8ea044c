//! TlsClientHelloTest's cases: the SNI read from real ClientHellos (the JDK's own TLS client, as the Jazzer corpus
//! keeps them) and from hand-made, broken and hostile ones.

use super::*;

/// The first bytes a JDK TLS 1.3 client sends for `allowed.test` (NetworkFuzzTestInputs/fuzzTlsClientHello).
const JDK_TLS13: &[u8] = include_bytes!("../../../fuzz/corpus/gate_tls_hello/jdk-tls13");
/// The same for TLS 1.2.
const JDK_TLS12: &[u8] = include_bytes!("../../../fuzz/corpus/gate_tls_hello/jdk-tls12");
/// The TLS 1.3 one cut into two records.
const JDK_TLS13_TWO_RECORDS: &[u8] =
    include_bytes!("../../../fuzz/corpus/gate_tls_hello/jdk-tls13-two-records");

fn u16be(b: &[u8], p: usize) -> usize {
    (b[p] as usize) << 8 | b[p + 1] as usize
}

/// The handshake bytes of the records in `hello`.
fn handshake_bytes(hello: &[u8]) -> Vec<u8> {
    let mut hs = Vec::new();
    let mut p = 0;
    while p < hello.len() {
        let len = u16be(hello, p + 3);
        hs.extend_from_slice(&hello[p + 5..p + 5 + len]);
        p += 5 + len;
    }
    hs
}

/// The handshake bytes of the records in `hello` re-cut into records at `cuts` (offsets in them).
fn recut(hello: &[u8], cuts: &[usize]) -> Vec<u8> {
    records(&handshake_bytes(hello), cuts)
}

/// Handshake bytes cut into records at `cuts`.
fn records(h: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut from = 0;
    for i in 0..=cuts.len() {
        let to = if i < cuts.len() { cuts[i] } else { h.len() };
        out.extend_from_slice(&[22, 3, 1, ((to - from) >> 8) as u8, (to - from) as u8]);
        out.extend_from_slice(&h[from..to]);
        from = to;
    }
    out
}

/// A minimal ClientHello record with these extensions (each: type, then data).
fn hand_hello(exts: &[(u16, &[u8])]) -> Vec<u8> {
    record(&hand_hello_handshake(exts))
}

/// The handshake message of `hand_hello`.
fn hand_hello_handshake(exts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut e = Vec::new();
    for (t, d) in exts {
        e.extend_from_slice(&[
            (t >> 8) as u8,
            *t as u8,
            (d.len() >> 8) as u8,
            d.len() as u8,
        ]);
        e.extend_from_slice(d);
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]); // no session id, one suite, null compression
    body.extend_from_slice(&[(e.len() >> 8) as u8, e.len() as u8]);
    body.extend_from_slice(&e);
    handshake(&body)
}

fn handshake(body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut h = vec![1, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    h.extend_from_slice(body);
    h
}

fn record(hs: &[u8]) -> Vec<u8> {
    let mut r = vec![22, 3, 1, (hs.len() >> 8) as u8, hs.len() as u8];
    r.extend_from_slice(hs);
    r
}

/// A server_name extension's data listing these (type, name) entries.
fn server_names(entries: &[(u8, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (t, n) in entries {
        list.extend_from_slice(&[*t, (n.len() >> 8) as u8, n.len() as u8]);
        list.extend_from_slice(n);
    }
    let mut d = vec![(list.len() >> 8) as u8, list.len() as u8];
    d.extend_from_slice(&list);
    d
}

/// A one-record `hello` without its server_name extension, its lengths made right again: what the JDK client sends
/// with no server names.
fn without_sni(hello: &[u8]) -> Vec<u8> {
    let hs = handshake_bytes(hello);
    let body = &hs[4..];
    let mut p = 2 + 32;
    p += 1 + body[p] as usize;
    p += 2 + u16be(body, p);
    p += 1 + body[p] as usize;
    let mut exts = Vec::new();
    let mut q = p + 2;
    while q < body.len() {
        let len = u16be(body, q + 2);
        if u16be(body, q) != 0 {
            exts.extend_from_slice(&body[q..q + 4 + len]);
        }
        q += 4 + len;
    }
    let mut out = body[..p].to_vec();
    out.extend_from_slice(&[(exts.len() >> 8) as u8, exts.len() as u8]);
    out.extend_from_slice(&exts);
    record(&handshake(&out))
}

fn allowed() -> Hello {
    Hello::Sni("allowed.test".into())
}

#[test]
fn the_jdk_clients_hello_names_its_server_and_each_prefix_needs_more() {
    for hello in [JDK_TLS13, JDK_TLS12, JDK_TLS13_TWO_RECORDS] {
        assert_eq!(sni(hello), allowed());
        for i in 0..hello.len() {
            assert_eq!(sni(&hello[..i]), Hello::NeedMore, "first {i} bytes");
        }
        // bytes after the hello (as a client would not send, but a buffer may hold) change nothing
        let mut more = hello.to_vec();
        more.extend_from_slice(&[0; 100]);
        assert_eq!(sni(&more), allowed());
    }
}

#[test]
fn no_server_name_is_no_sni() {
    assert_eq!(sni(&without_sni(JDK_TLS13)), Hello::NoSni);
    assert_eq!(sni(&without_sni(JDK_TLS12)), Hello::NoSni);
    assert_eq!(sni(&hand_hello(&[])), Hello::NoSni);
    assert_eq!(
        sni(&hand_hello(&[(0, &[])])),
        Hello::NoSni,
        "an empty server_name"
    );
}

#[test]
fn a_hello_split_over_records_is_reassembled() {
    let hello = JDK_TLS13;
    let hs_len = hello.len() - 5;
    for cut in [1, 2, 3, 4, 5, 40, hs_len / 2, hs_len - 1] {
        let two = recut(hello, &[cut]);
        assert_eq!(sni(&two), allowed(), "cut at {cut}");
        for i in 0..two.len() {
            assert_eq!(
                sni(&two[..i]),
                Hello::NeedMore,
                "cut at {cut}, first {i} bytes"
            );
        }
    }
    let every_byte: Vec<usize> = (1..hs_len).collect();
    assert_eq!(
        sni(&recut(hello, &every_byte)),
        allowed(),
        "one byte per record"
    );
}

#[test]
fn a_large_hello_over_several_records_is_read_up_to_64_kib() {
    let pad = vec![0; MAX_HELLO - 200];
    let names = server_names(&[(0, b"allowed.test")]);
    let hs = hand_hello_handshake(&[(21, &pad), (0, &names)]);
    let recs = records(&hs, &[16384, 32768, 49152]);
    assert!(hs.len() - 4 <= MAX_HELLO);
    assert_eq!(sni(&recs), allowed());
    assert_eq!(sni(&recs[..recs.len() - 1]), Hello::NeedMore);

    let too_big = hand_hello_handshake(&[(21, &vec![0; MAX_HELLO]), (0, &names)]);
    let recs = records(&too_big, &[16384, 32768, 49152, 65536]);
    assert_eq!(
        sni(&recs[..9]),
        Hello::NotTls,
        "known from the handshake header"
    );
}

#[test]
fn names_are_lower_cased_and_lose_their_trailing_dot() {
    assert_eq!(
        sni(&hand_hello(&[(0, &server_names(&[(0, b"Allowed.TEST.")]))])),
        allowed()
    );
    let other_first = server_names(&[(1, b"other-type"), (0, b"a.test")]);
    assert_eq!(
        sni(&hand_hello(&[(0, &other_first)])),
        Hello::Sni("a.test".into())
    );
    assert_eq!(
        sni(&hand_hello(&[(0, &server_names(&[(1, b"other-type")]))])),
        Hello::NoSni
    );
}

fn is_invalid(h: &Hello) -> bool {
    matches!(h, Hello::Invalid(_))
}

#[test]
fn bad_or_several_names_are_invalid() {
    let two = server_names(&[(0, b"allowed.test"), (0, b"denied.test")]);
    assert_eq!(
        sni(&hand_hello(&[(0, &two)])),
        Hello::Invalid("several host_names")
    );
    let one = server_names(&[(0, b"allowed.test")]);
    assert_eq!(
        sni(&hand_hello(&[(0, &one), (0, &one)])),
        Hello::Invalid("several server_name extensions"),
        "two server_name extensions"
    );
    let long_label = format!("{}.test", "x".repeat(64));
    let long_name = format!("{}test", "a.".repeat(127));
    let bads: [&[u8]; 11] = [
        b"",
        b".",
        b"a..test",
        b".a.test",
        b"a b.test",
        b"a.test\x00.denied.test",
        b"allowed.test/x",
        b"[::1]",
        long_label.as_bytes(),
        long_name.as_bytes(),
        b"d\xe9nied.test",
    ];
    for bad in bads {
        let h = sni(&hand_hello(&[(0, &server_names(&[(0, bad)]))]));
        assert_eq!(
            h,
            Hello::Invalid("host_name is not a DNS host name"),
            "{bad:?}"
        );
    }
    let mut d = server_names(&[(0, b"allowed.test")]);
    d[1] += 1;
    assert_eq!(
        sni(&hand_hello(&[(0, &d)])),
        Hello::Invalid("server_name lengths disagree"),
        "list length off by one"
    );
    let mut d = server_names(&[(0, b"allowed.test")]);
    d[4] += 1;
    assert_eq!(
        sni(&hand_hello(&[(0, &d)])),
        Hello::Invalid("server_name lengths disagree"),
        "name length off by one"
    );
}

#[test]
fn an_encrypted_client_hello_hides_its_name_and_is_invalid() {
    let ech: &[u8] = &[0, 1, 0, 1, 7, 0, 0, 0]; // outer, a cipher suite, a config id, empty enc and payload
    let names = server_names(&[(0, b"allowed.test")]);
    let outer_allowed = sni(&hand_hello(&[(0, &names), (0xfe0d, ech)]));
    match outer_allowed {
        Hello::Invalid(reason) => assert!(reason.contains("ECH"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        is_invalid(&sni(&hand_hello(&[(0xfe0d, ech), (0, &names)]))),
        "ECH first"
    );
    assert!(
        is_invalid(&sni(&hand_hello(&[(0xfe0d, ech)]))),
        "ECH without an outer name"
    );
    assert_eq!(
        sni(&hand_hello(&[(0xfe0e, ech), (0, &names)])),
        allowed(),
        "another extension"
    );
}

#[test]
fn corrupt_lengths_and_other_protocols_are_not_tls() {
    assert_eq!(sni(b"GET / HTTP/1.1\r\n"), Hello::NotTls);
    assert_eq!(sni(&[0x16, 2]), Hello::NotTls, "record version 2.x");
    assert_eq!(sni(&[0x16, 3, 5]), Hello::NotTls, "record version 3.5");
    assert_eq!(sni(&[0x16, 3, 1, 0, 0]), Hello::NotTls, "empty record");
    assert_eq!(sni(&[0x16, 3, 1, 0x40, 1]), Hello::NotTls, "record > 2^14");
    assert_eq!(sni(&[0x16, 3, 1, 0, 4, 2]), Hello::NotTls, "a ServerHello");
    assert_eq!(
        sni(&[0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff]),
        Hello::NotTls,
        "a 16 MiB ClientHello"
    );
    assert_eq!(
        sni(&[0x16, 3, 1, 0, 4, 1, 0, 0, 0]),
        Hello::NotTls,
        "an empty ClientHello"
    );
    assert_eq!(sni(&[0x80, 0x2e, 1]), Hello::NotTls, "SSLv2");

    let mut next = recut(JDK_TLS13, &[50]);
    next[5 + 50] = 23; // the second record is application data
    assert_eq!(sni(&next), Hello::NotTls);

    // each length of the hello made one larger or one smaller: never a name but a host name, never a panic
    let h = hand_hello(&[(0, &server_names(&[(0, b"allowed.test")]))]);
    for i in 0..h.len() - 1 {
        for delta in [0xff, 1, 0] {
            let mut c = h.clone();
            c[i] = c[i].wrapping_add(delta);
            if let Hello::Sni(s) = sni(&c) {
                assert!(
                    s.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b"._-".contains(&b)),
                    "byte {i} changed: {s}"
                );
            }
        }
    }
    let mut ext = hand_hello(&[(0, &server_names(&[(0, b"allowed.test")]))]);
    ext[5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 1] += 1; // the extensions' length
    assert_eq!(sni(&ext), Hello::NotTls);
    // the Jazzer corpus's mangled hello: a copied run of its extensions holds a second server_name (as the JVM
    // gate reads it too)
    let mangled = include_bytes!("../../../fuzz/corpus/gate_tls_hello/mangled-extensions");
    assert_eq!(
        sni(mangled),
        Hello::Invalid("several server_name extensions")
    );
}

#[test]
fn nothing_yet_needs_more() {
    assert_eq!(sni(&[]), Hello::NeedMore);
    assert_eq!(sni(&[22]), Hello::NeedMore);
    assert_eq!(sni(&[22, 3]), Hello::NeedMore);
}
