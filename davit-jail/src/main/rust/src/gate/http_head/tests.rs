//! HttpRequestHeadTest's cases (the host read from HTTP/1.x request heads: the usual ones, proxies' forms, and those
//! that try to mislead) and GateRelayTest's (what the gate takes for a first flight that hides a name).

use super::*;

/// A string's chars as ISO-8859-1 bytes, as the Java tests write heads.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(c).unwrap()).collect()
}

fn of(s: &str) -> Head {
    host(&latin1(s))
}

fn at(name: &str, port: Option<u16>) -> Head {
    Head::Host {
        name: name.into(),
        port,
    }
}

#[test]
fn curls_request_names_its_host_and_each_prefix_needs_more() {
    let head = "GET /simple/jq/ HTTP/1.1\r\nHost: allowed.test\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
    let b = format!("{head}body").into_bytes();
    assert_eq!(host(&b), at("allowed.test", None));
    assert_eq!(head_end(&b), Some(head.len()));
    for i in 0..head.len() {
        assert_eq!(host(&b[..i]), Head::NeedMore, "first {i} bytes");
        assert_eq!(head_end(&b[..i]), None);
    }
}

#[test]
fn host_variants() {
    assert_eq!(
        of("GET / HTTP/1.1\r\nhOsT:   Allowed.Test.:8080 \t\r\n\r\n"),
        at("allowed.test", Some(8080))
    );
    assert_eq!(
        of("GET / HTTP/1.1\r\nHost:allowed.test\r\n\r\n"),
        at("allowed.test", None)
    );
    assert_eq!(
        of("HEAD / HTTP/1.0\r\nHost: [2001:DB8::1]:443\r\n\r\n"),
        at("2001:db8::1", Some(443))
    );
    assert_eq!(of("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n"), at("::1", None));
    assert_eq!(
        of("GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n\r\n"),
        at("203.0.113.7", None)
    );
    assert_eq!(
        of("OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        at("a.test", None)
    );
    assert_eq!(of("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n"), Head::NoHost);
    assert_eq!(of("GET / HTTP/1.0\r\n\r\n"), Head::NoHost);
    assert_eq!(
        of("GET / HTTP/1.1\r\nX-Host: denied.test\r\nHostile: denied.test\r\n\r\n"),
        Head::NoHost
    );
    assert_eq!(
        of("POST /x HTTP/1.1\r\nX: \u{e9}\r\nHost: a.test\r\n\r\n"),
        at("a.test", None),
        "obs-text in another field"
    );
}

#[test]
fn bad_hosts_are_invalid() {
    let long = format!("{}.test", "x".repeat(64));
    let cases = [
        ("", "no host"),
        ("a..test", "not a DNS host name"),
        ("a.test:", "not a port"),
        ("a.test:0", "not a port"),
        ("a.test:65536", "not a port"),
        ("a.test:123456", "not a port"),
        ("a.test:8o", "not a port"),
        ("a test", "not a DNS host name"),
        ("user@a.test", "userinfo in the host"),
        ("[::1", "an IPv6 literal without its ]"),
        ("[::1]x", "not a DNS host name"),
        ("[fe80::1%25eth0]", "not an IPv6 literal"),
        ("[a.test]", "not an IPv6 literal"),
        ("a.test:80:81", "not a port"),
        ("d\u{e9}nied.test", "not a DNS host name"),
        (&long, "not a DNS host name"),
    ];
    for (bad, why) in cases {
        assert_eq!(
            of(&format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n")),
            Head::Invalid(why),
            "{bad}"
        );
    }
}

#[test]
fn two_host_fields_conflict() {
    let several = Head::Invalid("several Host fields");
    assert_eq!(
        of("GET / HTTP/1.1\r\nHost: allowed.test\r\nHost: denied.test\r\n\r\n"),
        several
    );
    assert_eq!(
        of("GET / HTTP/1.1\r\nHost: allowed.test\r\nhost: allowed.test\r\n\r\n"),
        several
    );
}

#[test]
fn absolute_form_and_connect_name_the_targets_host() {
    assert_eq!(
        of("GET http://Allowed.Test/x?y HTTP/1.1\r\n\r\n"),
        at("allowed.test", None)
    );
    assert_eq!(
        of("GET HTTP://allowed.test:8080 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"),
        at("allowed.test", Some(8080))
    );
    assert_eq!(
        of("GET https://allowed.test/ HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n"),
        at("allowed.test", None)
    );
    assert_eq!(
        of("CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n"),
        at("allowed.test", Some(443))
    );
    assert_eq!(
        of("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n"),
        at("2001:db8::1", Some(443))
    );

    let another = Head::Invalid("the Host field names another host than the request target");
    assert_eq!(
        of("GET http://allowed.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n"),
        another
    );
    assert_eq!(
        of("GET http://allowed.test:80/ HTTP/1.1\r\nHost: allowed.test:8080\r\n\r\n"),
        another
    );
    assert_eq!(
        of("CONNECT allowed.test:443 HTTP/1.1\r\nHost: denied.test:443\r\n\r\n"),
        another
    );
    assert_eq!(
        of("CONNECT allowed.test HTTP/1.1\r\n\r\n"),
        Head::Invalid("CONNECT without a port"),
        "no port"
    );
    assert_eq!(
        of("GET http://allowed.test@denied.test/ HTTP/1.1\r\n\r\n"),
        Head::Invalid("userinfo in the host")
    );
    assert_eq!(
        of("GET http:///x HTTP/1.1\r\nHost: a.test\r\n\r\n"),
        Head::Invalid("no host")
    );
    assert_eq!(of("GET ftp://a.test/ HTTP/1.1\r\n\r\n"), Head::NotHttp);
}

#[test]
fn malformed_heads_are_not_http() {
    for bad in [
        "GET / HTTP/1.1\nHost: a.test\n\n",                     // bare LF
        "GET / HTTP/1.1\r\nHost: a.test\n\r\n\r\n",             // a bare LF in a field
        "GET / HTTP/1.1\r\nHost: a.test\rX: y\r\n\r\n",         // a bare CR
        "GET / HTTP/1.1\r\nHost : denied.test\r\n\r\n",         // white space before the colon
        "GET / HTTP/1.1\r\nX: y\r\n Host: denied.test\r\n\r\n", // obs-fold
        "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n", // two spaces
        "GET / HTTP/1.1 \r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "get / HTTP/1.1\r\n\r\n",
        "BREW / HTTP/1.1\r\n\r\n",
        "GET /\u{7f} HTTP/1.1\r\n\r\n",
        "GET\r\n\r\n",
        "\r\n\r\n",
    ] {
        assert_eq!(of(bad), Head::NotHttp, "{bad:?}");
    }
    // known at once, before the head ends
    assert_eq!(of("\u{16}\u{3}\u{1}"), Head::NotHttp);
    assert_eq!(of("BREW"), Head::NotHttp);
    assert_eq!(of("GETS"), Head::NotHttp);
    assert_eq!(of("GET / HTTP/1.1\nHost"), Head::NotHttp);
    assert_eq!(of("CONN"), Head::NeedMore);
}

#[test]
fn a_head_over_16_kib_is_not_http() {
    let start = b"GET / HTTP/1.1\r\nHost: a.test\r\nX: ";
    let mut b = vec![b'a'; MAX_HEAD + 10];
    b[..start.len()].copy_from_slice(start);
    assert_eq!(host(&b[..MAX_HEAD - 1]), Head::NeedMore);
    assert_eq!(host(&b), Head::NotHttp);
    // a head that ends just within the bound is read; one byte later is not
    b[MAX_HEAD - 4..MAX_HEAD].copy_from_slice(b"\r\n\r\n");
    assert_eq!(host(&b), at("a.test", None));
    assert_eq!(head_end(&b), Some(MAX_HEAD));
    b[MAX_HEAD - 4..].fill(b'a');
    b[MAX_HEAD - 3..MAX_HEAD + 1].copy_from_slice(b"\r\n\r\n");
    assert_eq!(host(&b), Head::NotHttp);
}

#[test]
fn nothing_yet_needs_more() {
    assert_eq!(host(&[]), Head::NeedMore);
    assert_eq!(head_end(&[]), None);
}

// ---- GateRelayTest: hides_name and may_become_request_line

fn hides(first: &str) -> Option<&'static str> {
    hides_name(&latin1(first))
}

#[test]
fn requests_a_lenient_server_may_take_hide_their_name() {
    let many_empty_lines = format!(
        "{}GET / HTTP/1.1\r\nHost: denied.test\r\n\r\n",
        "\r\n".repeat(2000)
    );
    let long_method = format!("{} /x\r\n", "A".repeat(40));
    let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
    for s in [
        "\r\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n", // an empty line first, which servers skip
        "\n\nGET / HTTP/1.1\r\nHost: denied.test\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: denied.test\r\n\r\n", // two spaces
        "GET\t/ HTTP/1.1\r\nHost: denied.test\r\n\r\n",
        "GET / HTTP/1.1\nHost: denied.test\n\n", // bare LF
        "PROPFIND /dav HTTP/1.1\r\nHost: denied.test\r\n\r\n", // a method the strict reader does not take
        "get http://denied.test/ HTTP/1.1\r\n\r\n",
        "GET /\r\n", // HTTP/0.9: no Host, the server's default site
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", // HTTP/2 with prior knowledge
        "X / http/1.1\r\n",
        &many_empty_lines, // more empty lines than 1 KiB
        &long_method,      // a method of any length
        &long_line,        // a line over 8 KiB
    ] {
        assert_eq!(
            hides(s),
            Some("an HTTP request the gate does not read (its form, method or version)"),
            "{s:?}"
        );
    }
}

#[test]
fn a_prefix_of_a_request_line_is_read_on() {
    for s in ["", "\r\n", "\r\n\r\n", "X", "PR", "ge", "GET\t", "PROPFIND"] {
        assert!(may_become_request_line(&latin1(s)), "{s:?}");
        assert_eq!(hides(s), None, "{s:?}"); // nothing to refuse yet: the gate reads on
    }
    for s in [
        "SSH-2.0-OpenSSH_9.2\r\n",
        "hello\n",
        "\u{0}\u{1}binary",
        "PING\r\n",
    ] {
        assert!(!may_become_request_line(&latin1(s)), "{s:?}");
    }
}

#[test]
fn ssl_v2_hello_hides_a_name() {
    assert!(hides_name(&[0x80, 0x2e, 1, 3, 1])
        .unwrap()
        .contains("SSLv2"));
}

#[test]
fn tls_without_a_readable_name_hides_one() {
    assert!(hides_name(&[22, 3, 1, 0, 5, 1, 0, 0, 1, 0])
        .unwrap()
        .contains("TLS"));
    assert!(hides_name(&[22, 3]).unwrap().contains("TLS"));
}

#[test]
fn other_protocols_hide_none() {
    for s in [
        "SSH-2.0-OpenSSH_9.2\r\n",
        "hello\n",
        "\u{0}\u{1}binary",
        "*1\r\n$4\r\nPING\r\n",
        "EHLO client.test\r\n",
        "",
        "\r\n\r\n",
        "GETX\r\n",
    ] {
        assert_eq!(hides(s), None, "{s:?}");
    }
}

/// The request-line pattern's edges, as Java's regular expression takes them.
#[test]
fn the_request_line_pattern_and_the_version_anywhere() {
    for s in [
        "A\x0b/",
        "A \x0c*",
        "A a://",
        "M http://x",
        "M a+b.c-d://",
        "M abcdefghijklmnopq://", // a letter and 16 more
        "x hTtP/9",
        "nothing but HTTP/0 at the end",
    ] {
        assert!(hides(s).is_some(), "{s:?}");
    }
    for s in [
        "M abcdefghijklmnopqr://", // a letter and 17 more
        "M 1a://",
        "M a:/",
        " /",
        "A/",
        "A \u{a0}/",
        "HTTP/x",
        "M a\n/",
        "\u{e9} /",
    ] {
        assert_eq!(hides(s), None, "{s:?}");
    }
}
