//! InjectedRequestTest's cases: the request heads the gate rewrites with a secret's header, and those it refuses;
//! then the refusals' words, and `rewrite` on heads mutated at random.

use super::*;

fn rw(head: &str) -> Rewrite {
    rewrite(head.as_bytes(), "api.test", "Authorization", b"Bearer real")
}

/// The rewritten head as text (the tests' heads are ASCII), and its body's length.
fn rewritten(r: &Rewrite) -> (String, i64) {
    match r {
        Rewrite::Rewritten {
            head,
            content_length,
        } => (String::from_utf8_lossy(head).into_owned(), *content_length),
        other => panic!("not rewritten: {other:?}"),
    }
}

fn head(r: &Rewrite) -> String {
    rewritten(r).0
}

fn status(r: &Rewrite) -> u16 {
    match r {
        Rewrite::Refused { status, .. } => *status,
        other => panic!("not refused: {other:?}"),
    }
}

fn refusal(head: &str) -> (u16, String) {
    match rw(head) {
        Rewrite::Refused { status, reason } => (status, reason),
        other => panic!("not refused: {head:?}: {other:?}"),
    }
}

#[test]
fn the_clients_header_is_replaced_by_the_secrets() {
    let r = rw(
        "GET /x HTTP/1.1\r\nHost: api.test\r\nauthorization: Bearer placeholder\r\nAccept: */*\r\n\
         AUTHORIZATION: again\r\n\r\n",
    );
    assert_eq!(
        head(&r),
        "GET /x HTTP/1.1\r\nHost: api.test\r\nAccept: */*\r\nConnection: close\r\nAuthorization: Bearer real\r\n\r\n"
    );
    // one request per connection to the server: the client's own Connection and Keep-Alive go
    assert_eq!(
        head(&rw(
            "GET /x HTTP/1.1\r\nHost: api.test\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
             Proxy-Connection: keep-alive\r\n\r\n"
        )),
        "GET /x HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\nAuthorization: Bearer real\r\n\r\n"
    );
    assert_eq!(rewritten(&r).1, 0);
    assert!(head(&rw("GET /x HTTP/1.1\r\nHost: API.test:443\r\n\r\n")).contains("Bearer real"));
    assert!(head(&rw(
        "GET https://api.test/x HTTP/1.1\r\nHost: api.test\r\n\r\n"
    ))
    .contains("Bearer real"));
}

#[test]
fn bodies_are_framed_one_way_only() {
    let r = rw("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 12\r\n\r\n");
    assert_eq!(rewritten(&r).1, 12);
    let r = rw("POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(rewritten(&r).1, -1);
    for bad in [
        "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: +1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ] {
        assert_eq!(status(&rw(bad)), 400, "{bad:?}");
    }
}

#[test]
fn methods_that_echo_or_tunnel_are_refused() {
    for m in ["TRACE", "TRACK", "CONNECT"] {
        let target = if m == "CONNECT" { "api.test:443" } else { "/" };
        let r = rw(&format!("{m} {target} HTTP/1.1\r\nHost: api.test\r\n\r\n"));
        assert!(matches!(r, Rewrite::Refused { .. }), "{m}: {r:?}");
    }
}

#[test]
fn another_host_or_an_unreadable_head_is_refused() {
    for other in [
        "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.test:8443\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: api.test.evil.test\r\n\r\n",
        "GET https://other.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n",
    ] {
        assert_eq!(status(&rw(other)), 403, "{other:?}");
    }
    for bad in [
        "GET / HTTP/1.1\r\nHost: api.test\r\nHost: other.test\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.1\nHost: api.test\n\n",
        "GET / HTTP/1.1\r\nHost: api.test\r\n folded\r\n\r\n",
        "\u{16}\u{3}\u{1}",
    ] {
        assert!(
            matches!(rw(bad), Rewrite::Refused { .. }),
            "{bad:?}: {:?}",
            rw(bad)
        );
    }
}

// beyond InjectedRequestTest: the words of each refusal, and the edges of the rules

#[test]
fn refusals_say_why_in_the_gates_words() {
    let reasons = [
        (
            "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n",
            403,
            "a request for other.test on the connection of api.test, whose secret goes to api.test only",
        ),
        (
            "GET / HTTP/1.1\r\nHost: api.test:8443\r\n\r\n",
            403,
            "a request for api.test:8443 on the connection of api.test, whose secret goes to api.test only",
        ),
        (
            "TRACE / HTTP/1.1\r\nHost: api.test\r\n\r\n",
            403,
            "TRACE on the connection of api.test, whose secret the gate adds",
        ),
        (
            "CONNECT api.test:443 HTTP/1.1\r\nHost: api.test\r\n\r\n",
            403,
            "CONNECT on the connection of api.test, whose secret the gate adds",
        ),
        (
            "TRACK / HTTP/1.1\r\nHost: api.test\r\n\r\n",
            400,
            "not an HTTP/1.x request head the gate reads",
        ),
        (
            "GET / HTTP/1.0\r\n\r\n",
            400,
            "an HTTP request without a Host",
        ),
        (
            "GET / HTTP/1.1\r\nHost: api.test\r\nHost: api.test\r\n\r\n",
            400,
            "several Host fields",
        ),
        (
            "GET / HTTP/1.1\r\nHost: api.test\r\n",
            400,
            "not an HTTP/1.x request head the gate reads",
        ),
        (
            "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            400,
            "a Content-Length the gate does not take (several, or not digits)",
        ),
        (
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
            "a Transfer-Encoding other than one 'chunked' of HTTP/1.1",
        ),
        (
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
            400,
            "both Content-Length and Transfer-Encoding",
        ),
        (
            "GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: h2c\r\n\r\n",
            400,
            "a request to switch protocols (Upgrade) on the connection of api.test, whose secret the gate adds",
        ),
    ];
    for (h, status, reason) in reasons {
        assert_eq!(refusal(h), (status, reason.to_string()), "{h:?}");
    }
}

#[test]
fn a_content_length_is_at_most_fifteen_digits_and_may_be_padded() {
    let r = rw("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length:\t 999999999999999 \t\r\n\r\n");
    assert_eq!(rewritten(&r).1, 999_999_999_999_999);
    assert!(head(&r).contains("\r\nContent-Length:\t 999999999999999 \t\r\n"));
    let r = rw("POST / HTTP/1.1\r\nHost: api.test\r\ncontent-length: 000\r\n\r\n");
    assert_eq!(rewritten(&r).1, 0);
    for bad in ["1000000000000000", "", "1 2", "-1", "0x1", "1,1", "\u{b2}"] {
        let h = format!("POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: {bad}\r\n\r\n");
        assert_eq!(status(&rw(&h)), 400, "{bad:?}");
    }
}

#[test]
fn chunked_is_read_in_any_case_and_only_of_http_1_1() {
    let r = rw("POST / HTTP/1.1\r\nHost: api.test\r\nTRANSFER-ENCODING: ChUnKeD \r\n\r\n");
    assert_eq!(rewritten(&r).1, -1);
    assert!(head(&r).contains("\r\nTRANSFER-ENCODING: ChUnKeD \r\n"));
    for bad in ["chunked, chunked", "identity", "chunked;x", ""] {
        let h = format!("POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: {bad}\r\n\r\n");
        assert_eq!(status(&rw(&h)), 400, "{bad:?}");
    }
    // HTTP/1.0 has no chunked framing; its Content-Length is taken
    let r = rw("POST / HTTP/1.0\r\nHost: api.test\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(rewritten(&r).1, 3);
}

#[test]
fn the_rest_of_the_head_goes_on_as_the_client_sent_it() {
    let h = b"PUT /a?b=c HTTP/1.1\r\nX-Odd: \xe9t\xe9 \t\r\nhost: API.TEST.\r\nX-Empty:\r\n\r\n";
    let r = rewrite(h, "api.test", "X-Key", b"s\xe9cret");
    let Rewrite::Rewritten {
        head,
        content_length,
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(content_length, 0);
    assert_eq!(
        head,
        b"PUT /a?b=c HTTP/1.1\r\nX-Odd: \xe9t\xe9 \t\r\nhost: API.TEST.\r\nX-Empty:\r\n\
          Connection: close\r\nX-Key: s\xe9cret\r\n\r\n"
    );
}

#[test]
fn the_secrets_header_name_is_matched_in_any_case_and_written_as_given() {
    let h =
        b"GET / HTTP/1.1\r\nHost: api.test\r\nx-api-KEY: placeholder\r\nX-Api-Key-2: kept\r\n\r\n";
    let (out, _) = rewritten(&rewrite(h, "api.test", "X-API-Key", b"v"));
    assert_eq!(
        out,
        "GET / HTTP/1.1\r\nHost: api.test\r\nX-Api-Key-2: kept\r\nConnection: close\r\nX-API-Key: v\r\n\r\n"
    );
    // a header of the gate's own name is dropped as the client's, then written once
    let h = b"GET / HTTP/1.1\r\nHost: api.test\r\nConnection: keep-alive\r\n\r\n";
    let (out, _) = rewritten(&rewrite(h, "api.test", "Content-Length", b"0"));
    assert_eq!(
        out,
        "GET / HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
}

#[test]
fn bytes_after_the_empty_line_are_no_heads() {
    for tail in ["x", "\r\n", "GET / HTTP/1.1\r\nHost: api.test\r\n\r\n"] {
        let h = format!("GET / HTTP/1.1\r\nHost: api.test\r\n\r\n{tail}");
        assert_eq!(
            refusal(&h),
            (400, "not an HTTP/1.x request head the gate reads".into()),
            "{tail:?}"
        );
    }
}

#[test]
fn a_head_over_max_head_is_refused() {
    let long = format!(
        "GET / HTTP/1.1\r\nHost: api.test\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(MAX_HEAD)
    );
    assert_eq!(status(&rw(&long)), 400);
    let fits = format!(
        "GET / HTTP/1.1\r\nHost: api.test\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(MAX_HEAD - 100)
    );
    assert!(head(&rw(&fits)).ends_with("Authorization: Bearer real\r\n\r\n"));
    assert_eq!(status(&rw("")), 400);
}

/// A deterministic xorshift64 generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The bytes a mutation inserts: the ones the rules turn on, and any byte.
fn interesting_byte(rng: &mut XorShift) -> u8 {
    const BYTES: &[u8] = b"\r\n :\t0123456789-/.,;@[]chunkedHhTt\x00\x7f\x80\xa0\xff";
    if rng.below(4) == 0 {
        rng.next() as u8
    } else {
        BYTES[rng.below(BYTES.len())]
    }
}

/// Checks one result: a rewritten head ends with its empty line, names the header on exactly one line, holds no CR or
/// LF inside a line, says `Connection: close` once, and has a body length of -1 or more.
fn check(input: &[u8], r: &Rewrite) {
    match r {
        Rewrite::Rewritten {
            head,
            content_length,
        } => {
            assert!(head.ends_with(b"\r\n\r\n"), "{input:?}");
            assert!(*content_length >= -1, "{input:?}");
            assert!(head.len() <= input.len() + 64, "{input:?}");
            // the lines before the empty line, each with its CRLF: no CR or LF left inside one
            let body = &head[..head.len() - 2];
            let mut lines = body.split(|&c| c == b'\n');
            assert_eq!(lines.next_back(), Some(&b""[..]), "{input:?}");
            let mut named = 0;
            let mut close = 0;
            let mut first = true;
            for line in lines {
                let line = line
                    .strip_suffix(b"\r")
                    .unwrap_or_else(|| panic!("a line without its CR: {input:?} -> {head:?}"));
                assert!(!line.contains(&b'\r'), "{input:?} -> {head:?}");
                if first {
                    first = false;
                    continue;
                }
                assert!(!line.is_empty(), "an empty line inside: {input:?}");
                let colon = line.iter().position(|&c| c == b':').expect("a colon");
                if line[..colon].eq_ignore_ascii_case(b"authorization") {
                    named += 1;
                    assert_eq!(line, b"Authorization: Bearer real");
                }
                if line[..colon].eq_ignore_ascii_case(b"connection") {
                    close += 1;
                    assert_eq!(line, b"Connection: close");
                }
            }
            assert_eq!(named, 1, "{input:?} -> {head:?}");
            assert_eq!(close, 1, "{input:?} -> {head:?}");
        }
        Rewrite::Refused { status, reason } => {
            assert!(*status == 400 || *status == 403, "{input:?}");
            assert!(!reason.is_empty() && reason.is_ascii(), "{input:?}");
        }
    }
}

#[test]
fn mutated_heads_never_panic_and_rewrite_to_one_clean_head() {
    let seeds: [&[u8]; 8] = [
        b"GET /x HTTP/1.1\r\nHost: api.test\r\nauthorization: Bearer placeholder\r\nAccept: */*\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: api.test:443\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET https://api.test/x HTTP/1.1\r\nHost: api.test\r\nKeep-Alive: 5\r\n\r\n",
        b"PUT /a HTTP/1.0\r\nHost: API.TEST\r\nContent-Length: 0\r\nAUTHORIZATION: x\r\n\r\n",
        b"DELETE /z HTTP/1.1\r\nhost:api.test\r\nX-A: \xe9\t\r\nProxy-Connection: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: api.test\r\nUpgrade: websocket\r\n\r\n",
        b"TRACE / HTTP/1.1\r\nHost: api.test\r\n\r\n",
    ];
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut rewritten = 0;
    for seed in seeds {
        check(seed, &rw_bytes(seed));
    }
    for _ in 0..6000 {
        let mut b = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() + 1);
            match rng.below(5) {
                0 if at < b.len() => b[at] ^= 1 << rng.below(8),
                1 if at < b.len() => {
                    b.remove(at);
                }
                2 if at < b.len() => b[at] = interesting_byte(&mut rng),
                3 => {
                    let len = rng.below(b.len() + 1 - at);
                    let piece = b[at..at + len].to_vec();
                    let to = rng.below(b.len() + 1);
                    b.splice(to..to, piece);
                }
                _ => b.insert(at, interesting_byte(&mut rng)),
            }
        }
        let r = rw_bytes(&b);
        if matches!(r, Rewrite::Rewritten { .. }) {
            rewritten += 1;
        }
        check(&b, &r);
        // a prefix, and the head with bytes after it
        let cut = rng.below(b.len() + 1);
        check(&b[..cut], &rw_bytes(&b[..cut]));
        let mut longer = b.clone();
        longer.extend_from_slice(&b[..cut]);
        check(&longer, &rw_bytes(&longer));
    }
    assert!(
        rewritten > 100,
        "the mutations kept too few heads whole: {rewritten}"
    );
}

fn rw_bytes(head: &[u8]) -> Rewrite {
    rewrite(head, "api.test", "Authorization", b"Bearer real")
}
