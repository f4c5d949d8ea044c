//! The name an HTTP/1.x request is for, read from the head a client sends (RFC 9112; davit-network's
//! HttpRequestHead): its request line and header fields up to the empty line, `MAX_HEAD` bytes at most. And what the
//! gate makes of a first flight that gave no name (GateRelay's hidesName and mayBecomeRequestLine).
//!
//! The reading is strict where a lenient one would let the gate and the server behind it disagree about the request:
//! lines end in CRLF only (a bare CR or LF is `NotHttp`), the request line has single spaces, no header field is folded
//! (obs-fold) or has white space before its colon, and there is at most one Host field. The name is, in this order:
//! the authority of an absolute-form target (`GET http://a.test/ HTTP/1.1`, as sent to proxies), the authority-form
//! target of CONNECT (`CONNECT a.test:443 HTTP/1.1`), else the Host field; a Host field that names another host than
//! the target (or another port, when both give one) is `Invalid`.
//!
//! Never panics on bad input; loops are bounded by the head's length, and nothing is allocated but the name.

use super::hostname;

/// The longest head read; a longer one is `NotHttp`.
pub const MAX_HEAD: usize = 16 * 1024;
const METHODS: [&[u8]; 9] = [
    b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE",
];
const MAX_METHOD: usize = 7;

/// What the bytes so far say about the request's host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// The bytes so far are the start of a request head: read more and ask again.
    NeedMore,
    /// Not an HTTP/1.x request head davit reads: another protocol, a malformed head, or one over `MAX_HEAD`.
    NotHttp,
    /// A well-formed head that names no host (an origin-form request without a Host field, as HTTP/1.0 allows).
    NoHost,
    /// The host a well-formed head names.
    Host {
        /// Lower-case, no trailing dot: a DNS host name (a dotted IPv4 literal passes as one), or an IPv6 literal
        /// without its brackets.
        name: String,
        /// The port it gives (1 to 65535), or None when it gives none (then the connection's port applies).
        port: Option<u16>,
    },
    /// A well-formed head whose host the gate cannot accept: several Host fields, a Host field naming another host
    /// than the request target, userinfo in the target, or a host or port that is not valid. The reason is a few
    /// words for the denial log (never the client's bytes).
    Invalid(&'static str),
}

/// Where the head in `buf` (the bytes the client sent, from the first) ends: the offset just after the first
/// CRLFCRLF, or None when there is none in the first `MAX_HEAD` bytes.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let n = buf.len().min(MAX_HEAD);
    buf[..n]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Reads the host from the start of a client's stream, `buf`: `NeedMore` while the bytes so far could start a
/// request head.
pub fn host(buf: &[u8]) -> Head {
    let len = buf.len();
    let Some(end) = head_end(buf) else {
        return if len >= MAX_HEAD || !plausible_prefix(&buf[..len.min(MAX_HEAD)]) {
            Head::NotHttp
        } else {
            Head::NeedMore
        };
    };
    // the request line
    let (Some(sp1), Some(eol)) = (index_of(buf, 0, end, b' '), index_of(buf, 0, end, b'\r')) else {
        return Head::NotHttp;
    };
    if eol < sp1 || buf[eol + 1] != b'\n' {
        return Head::NotHttp;
    }
    let Some(method) = method(&buf[..sp1]) else {
        return Head::NotHttp;
    };
    let sp2 = match index_of(buf, sp1 + 1, eol, b' ') {
        Some(sp2) if sp2 != sp1 + 1 && version(&buf[sp2 + 1..eol]) => sp2,
        _ => return Head::NotHttp,
    };
    if buf[sp1 + 1..sp2].iter().any(|&c| c <= 0x20 || c >= 0x7f) {
        return Head::NotHttp;
    }
    let target = target(&buf[sp1 + 1..sp2], method == b"CONNECT");
    if matches!(target, Head::NotHttp | Head::Invalid(_)) {
        return target;
    }
    // the header fields: each pass consumes one line (at least 2 bytes)
    let mut p = eol + 2;
    let mut host: Option<Head> = None;
    while p < end - 2 {
        let line_end = match index_of(buf, p, end, b'\r') {
            Some(e) if buf[e + 1] == b'\n' => e,
            _ => return Head::NotHttp,
        };
        let mut colon = None;
        for (i, &c) in buf.iter().enumerate().take(line_end).skip(p) {
            if c == b'\n' {
                return Head::NotHttp; // a bare LF
            }
            if colon.is_none() {
                if c == b':' {
                    colon = Some(i);
                } else if !tchar(c) {
                    return Head::NotHttp; // also white space before the colon, and obs-fold
                }
            } else if (c < 0x20 && c != b'\t') || c == 0x7f {
                return Head::NotHttp;
            }
        }
        let colon = match colon {
            Some(c) if c > p => c,
            _ => return Head::NotHttp,
        };
        if buf[p..colon].eq_ignore_ascii_case(b"host") {
            if host.is_some() {
                return Head::Invalid("several Host fields");
            }
            let value = trim_blanks(&buf[colon + 1..line_end]);
            let h = authority(value);
            if let Head::Invalid(_) = h {
                return h;
            }
            host = Some(h);
        }
        p = line_end + 2;
    }
    if let Head::Host {
        name: ref t_name,
        port: t_port,
    } = target
    {
        if let Some(Head::Host { name, port }) = &host {
            if name != t_name || port.is_some() && t_port.is_some() && *port != t_port {
                return Head::Invalid("the Host field names another host than the request target");
            }
        }
        return target;
    }
    host.unwrap_or(Head::NoHost)
}

/// `b` without the spaces and tabs at either end.
fn trim_blanks(b: &[u8]) -> &[u8] {
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    let start = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !blank(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

/// The host of the request target `t`: a `Host` for absolute-form and CONNECT's authority-form, `NoHost` for
/// origin-form and `*`.
fn target(t: &[u8], connect: bool) -> Head {
    if connect {
        return match authority(t) {
            Head::Host { port: None, .. } => Head::Invalid("CONNECT without a port"),
            r => r,
        };
    }
    if t[0] == b'/' || t == b"*" {
        return Head::NoHost;
    }
    let scheme_end = if starts_with_ignore_case(t, b"http://") {
        7
    } else if starts_with_ignore_case(t, b"https://") {
        8
    } else {
        return Head::NotHttp;
    };
    let rest = &t[scheme_end..];
    let e = rest
        .iter()
        .position(|&c| c == b'/' || c == b'?' || c == b'#')
        .unwrap_or(rest.len());
    authority(&rest[..e])
}

/// Reads `host[:port]` or `[v6][:port]`.
fn authority(b: &[u8]) -> Head {
    if b.is_empty() {
        return Head::Invalid("no host");
    }
    if b.contains(&b'@') {
        return Head::Invalid("userinfo in the host");
    }
    let (name, name_to) = if b[0] == b'[' {
        let Some(close) = b.iter().position(|&c| c == b']') else {
            return Head::Invalid("an IPv6 literal without its ]");
        };
        match ipv6(&b[1..close]) {
            Some(name) => (name, close + 1),
            None => return Head::Invalid("not an IPv6 literal"),
        }
    } else {
        let name_to = b.iter().position(|&c| c == b':').unwrap_or(b.len());
        match hostname(&b[..name_to]) {
            Some(name) => (name, name_to),
            None => return Head::Invalid("not a DNS host name"),
        }
    };
    if name_to == b.len() {
        return Head::Host { name, port: None };
    }
    if b[name_to] != b':' {
        return Head::Invalid("not a DNS host name");
    }
    let digits = &b[name_to + 1..];
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return Head::Invalid("not a port");
    }
    let port = digits.iter().fold(0u32, |p, &c| p * 10 + (c - b'0') as u32);
    match u16::try_from(port) {
        Ok(p) if p >= 1 => Head::Host {
            name,
            port: Some(p),
        },
        _ => Head::Invalid("not a port"),
    }
}

/// The IPv6 literal `b` lower-cased, or None unless it is one (hex digits, colons, a dotted tail).
fn ipv6(b: &[u8]) -> Option<String> {
    if !(2..=45).contains(&b.len()) {
        return None;
    }
    let mut colons = 0;
    for &c in b {
        if c == b':' {
            colons += 1;
        } else if !(c.is_ascii_hexdigit() || c == b'.') {
            return None; // also a zone id: never in a Host (RFC 9110 4.2.4 keeps the URI's syntax without it)
        }
    }
    if !(2..=7).contains(&colons) {
        return None;
    }
    Some(b.iter().map(|c| c.to_ascii_lowercase() as char).collect())
}

/// Whether `b` (no CRLFCRLF in it) could still become a request head.
fn plausible_prefix(b: &[u8]) -> bool {
    let n = b.len();
    let sp = b.iter().position(|&c| c == b' ');
    let method_end = sp.unwrap_or(n);
    if method_end > MAX_METHOD {
        return false;
    }
    let prefix_of_one = METHODS.iter().any(|m| {
        m.len() >= method_end
            && (sp.is_none() || m.len() == method_end)
            && m.starts_with(&b[..method_end])
    });
    if !prefix_of_one {
        return false;
    }
    for i in 0..n {
        let c = b[i];
        if (c == b'\n' && (i == 0 || b[i - 1] != b'\r'))
            || (c == b'\r' && i + 1 < n && b[i + 1] != b'\n')
        {
            return false; // a bare LF or CR
        }
    }
    true
}

fn method(m: &[u8]) -> Option<&'static [u8]> {
    METHODS.iter().copied().find(|&known| known == m)
}

fn version(v: &[u8]) -> bool {
    v.len() == 8 && v.starts_with(b"HTTP/1.") && v[7].is_ascii_digit()
}

fn starts_with_ignore_case(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A token character of RFC 9110 5.6.2.
fn tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn index_of(b: &[u8], from: usize, to: usize, c: u8) -> Option<usize> {
    b[from..to].iter().position(|&x| x == c).map(|i| from + i)
}

/// Why a first flight `b` that gave no name still looks like one that carries a name the gate cannot read, or None:
/// a TLS handshake record without a readable SNI (none, or one the reader refuses), an SSLv2-compatible ClientHello
/// (which has no SNI), or a first line a lenient HTTP server may take as a request (after any number of empty lines
/// or white space, which servers skip: a token of any length, white space and a target; or any `HTTP/` version,
/// HTTP/2's preface among them). Such a connection is not let through as "no name" to an address that only an
/// allowed name's resolution opened: the server behind it may read a name from it that the gate did not check.
/// (GateRelay.hidesName.)
pub fn hides_name(b: &[u8]) -> Option<&'static str> {
    if b.len() >= 2 && b[0] == 22 && b[1] == 3 {
        return Some("a TLS handshake without a server name (SNI) the gate can read");
    }
    if b.len() >= 3 && b[0] & 0x80 != 0 && b[2] == 1 {
        return Some("an SSLv2-compatible TLS ClientHello (it has no server name)");
    }
    let start = b.iter().position(|&c| !blank(c)).unwrap_or(b.len());
    let line = &b[start..];
    let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
    if looks_like_request_line(line) || has_http_version(line) {
        return Some("an HTTP request the gate does not read (its form, method or version)");
    }
    None
}

/// Whether `b` may still grow into a request line that `hides_name` would refuse: nothing but blank bytes so far, or
/// a first line of printable bytes whose line feed has not come yet. Then the gate reads on (within the head's time)
/// rather than judge a prefix. (GateRelay.mayBecomeRequestLine.)
pub fn may_become_request_line(b: &[u8]) -> bool {
    let start = b.iter().position(|&c| !blank(c)).unwrap_or(b.len());
    for &c in &b[start..] {
        if c == b'\n' {
            return false; // the line is whole: judged as it is
        }
        if c != b' ' && c != b'\t' && c != b'\r' && !(0x21..=0x7e).contains(&c) {
            return false; // no request line holds that byte
        }
    }
    true
}

fn blank(c: u8) -> bool {
    c == b'\r' || c == b'\n' || c == b' ' || c == b'\t'
}

/// Whether `line` starts as a request line a lenient server may take (GateRelay's REQUEST_LINE, looked for at its
/// start): `[!#$%&'*+.^_`|~0-9A-Za-z-]+[ \t\x0b\f]+(/|\*|[A-Za-z][A-Za-z0-9+.-]{0,16}://)`. The token and the white
/// space are runs of classes that share no byte, so each is taken whole, as the regular expression would.
fn looks_like_request_line(line: &[u8]) -> bool {
    let token = line.iter().take_while(|&&c| tchar(c)).count();
    if token == 0 {
        return false;
    }
    let rest = &line[token..];
    let space = rest
        .iter()
        .take_while(|&&c| matches!(c, b' ' | b'\t' | 0x0b | 0x0c))
        .count();
    if space == 0 {
        return false;
    }
    let target = &rest[space..];
    match target.first() {
        Some(b'/' | b'*') => true,
        Some(c) if c.is_ascii_alphabetic() => {
            let scheme = target[1..]
                .iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
                .count();
            scheme <= 16 && target[1 + scheme..].starts_with(b"://")
        }
        _ => false,
    }
}

/// Whether `line` holds `HTTP/` and a digit anywhere, in any case of ASCII letters (GateRelay's HTTP_VERSION).
fn has_http_version(line: &[u8]) -> bool {
    line.windows(6)
        .any(|w| w[..5].eq_ignore_ascii_case(b"HTTP/") && w[5].is_ascii_digit())
}

#[cfg(test)]
mod tests;
