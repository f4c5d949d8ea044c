//! The one HTTP/1.x request head of a connection whose TLS the gate terminates to add a secret's header
//! (davit-network's InjectedRequest): checked strictly (as `http_head` reads heads: CRLF only, no folding, one Host)
//! and rewritten with the header set to the secret's value, every header of that name the client sent removed, and
//! `Connection: close` in place of the client's `Connection` and `Keep-Alive`: one request per connection to the
//! server, so nothing the server might read as a second request (a body it does not expect) can take the next
//! request's head, secret and all. Only a request for the secret's own host is rewritten: a Host (or absolute-form
//! target) naming any other host, even one served at the same address, is refused, so the value never goes to another
//! site behind a shared front end; so are TRACE and TRACK (a server that allows them echoes the request, secret and
//! all), a request to switch protocols (`Upgrade`), and CONNECT. Its body's framing is read from the head, so the gate
//! sends the body and no more: a `Content-Length` (one, digits only), `Transfer-Encoding: chunked` (alone, HTTP/1.1
//! only, and never with a `Content-Length`: a request that could be framed two ways is refused), or none.
//!
//! Bytes are worked on as they are (the JVM gate reads them as ISO-8859-1 characters, one per byte). Never panics on
//! bad input: every offset is one `http_head` checked, or is looked up with a bounds-checked search.

use super::http_head::{self, Head};

/// The longest head read.
pub const MAX_HEAD: usize = http_head::MAX_HEAD;

/// What a head became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// The head to send on (up to and including its empty line), and the body's length (-1: chunked).
    Rewritten { head: Vec<u8>, content_length: i64 },
    /// A head the gate does not send on: the HTTP status to answer with (400, 403) and a few words for the denial
    /// log and the response (never the client's bytes).
    Refused { status: u16, reason: String },
}

fn refused(status: u16, reason: impl Into<String>) -> Rewrite {
    Rewrite::Refused {
        status,
        reason: reason.into(),
    }
}

/// Checks and rewrites `head`: the head's bytes up to and including CRLFCRLF, for `host` (the secret's host,
/// lower-case, the only one a request may name), with the header `header` set to `value` (no CR, LF or NUL: the
/// caller's rule guarantees it, as Injections does when it reads the rules).
pub fn rewrite(head: &[u8], host: &str, header: &str, value: &[u8]) -> Rewrite {
    let (name, port) = match http_head::host(head) {
        Head::Invalid(reason) => return refused(400, reason),
        Head::NoHost => return refused(400, "an HTTP request without a Host"),
        Head::Host { name, port } => (name, port),
        Head::NeedMore | Head::NotHttp => {
            return refused(400, "not an HTTP/1.x request head the gate reads")
        }
    };
    if name != host || port.is_some_and(|p| p != 443) {
        let port = port.map_or(String::new(), |p| format!(":{p}"));
        return refused(
            403,
            format!(
                "a request for {name}{port} on the connection of {host}, whose secret goes to {host} only"
            ),
        );
    }
    // http_head found a well-formed head: a request line of METHOD SP TARGET SP VERSION CRLF, then header lines of
    // NAME ":" VALUE CRLF up to the empty line that ends at `end`; the searches below are bounded all the same
    let Some(end) = http_head::head_end(head) else {
        return refused(400, "not an HTTP/1.x request head the gate reads");
    };
    let Some(sp) = head.iter().position(|&c| c == b' ') else {
        return refused(400, "not an HTTP/1.x request head the gate reads");
    };
    let method = &head[..sp];
    if method == b"CONNECT" || method == b"TRACE" || method == b"TRACK" {
        return refused(
            403,
            format!(
                "{} on the connection of {host}, whose secret the gate adds",
                latin1(method)
            ),
        );
    }
    let Some(eol) = crlf(head, 0, end) else {
        return refused(400, "not an HTTP/1.x request head the gate reads");
    };
    let http10 = head[..eol].ends_with(b" HTTP/1.0");
    let mut out = Vec::with_capacity(head.len() + header.len() + value.len() + 4 + 19);
    out.extend_from_slice(&head[..eol + 2]);
    let header_lower = header.to_lowercase();
    let mut length: i64 = 0;
    let mut length_seen = false;
    let mut chunked = false;
    let mut p = eol + 2;
    while p < end - 2 {
        let Some(e) = crlf(head, p, end) else {
            return refused(400, "not an HTTP/1.x request head the gate reads");
        };
        let line = &head[p..e];
        p = e + 2;
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return refused(400, "not an HTTP/1.x request head the gate reads");
        };
        let field = &line[..colon];
        let v = strip(&line[colon + 1..]);
        let lower = field.to_ascii_lowercase();
        if lower == header_lower.as_bytes() {
            continue; // the client's own (a placeholder): the secret's replaces it
        }
        match lower.as_slice() {
            b"content-length" => {
                if length_seen || v.is_empty() || v.len() > 15 || !v.iter().all(u8::is_ascii_digit)
                {
                    return refused(
                        400,
                        "a Content-Length the gate does not take (several, or not digits)",
                    );
                }
                length_seen = true;
                length = v.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'));
            }
            b"transfer-encoding" => {
                if chunked || !v.eq_ignore_ascii_case(b"chunked") || http10 {
                    return refused(
                        400,
                        "a Transfer-Encoding other than one 'chunked' of HTTP/1.1",
                    );
                }
                chunked = true;
            }
            b"upgrade" => {
                return refused(
                    400,
                    format!(
                        "a request to switch protocols (Upgrade) on the connection of {host}, whose secret the \
                         gate adds"
                    ),
                );
            }
            b"connection" | b"keep-alive" | b"proxy-connection" => {
                continue; // the gate's own: Connection: close
            }
            _ => {}
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    if end != head.len() {
        // bytes after the empty line: no head's (the JVM gate's loop fails on them here and drops the connection)
        return refused(400, "not an HTTP/1.x request head the gate reads");
    }
    if chunked && length_seen {
        return refused(400, "both Content-Length and Transfer-Encoding");
    }
    out.extend_from_slice(b"Connection: close\r\n");
    out.extend(header.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n\r\n");
    Rewrite::Rewritten {
        head: out,
        content_length: if chunked { -1 } else { length },
    }
}

/// The offset of the first CRLF in `b[from..to]`, or None.
fn crlf(b: &[u8], from: usize, to: usize) -> Option<usize> {
    b.get(from..to)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

/// `b` without Java's white space (`String.strip` on ISO-8859-1 characters) at either end.
fn strip(b: &[u8]) -> &[u8] {
    let white = |c: &u8| matches!(c, 0x09..=0x0d | 0x1c..=0x20);
    let start = b.iter().position(|c| !white(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !white(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

/// `b` as ISO-8859-1 characters.
fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

#[cfg(test)]
mod tests;
