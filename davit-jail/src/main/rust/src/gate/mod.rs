//! The egress gate (issue 71): `davit-agent gate` (`serve`; `pod` for a Kubernetes pod's sidecar), one per sandbox
//! with an egress policy, ported from davit's JVM gate (removed once every egress test passed against this one; the
//! policy's meaning is davit-sandbox-api's EgressPolicy) with its behaviour and words: the policy file and its
//! verdicts (`policy`), DNS messages (`dns_msg`), the server name of a TLS ClientHello (`tls_hello`), the host of an
//! HTTP/1.x request head (`http_head`), the host's way of resolving names (`resolver`), the sandbox's DNS (`dns`), its
//! TCP connections (`relay`), the denial record (`denials`), the secrets it adds to requests (`inject`, `injected`)
//! and what a running gate knows (`state`). davit starts it for every sandbox with an egress policy on a host
//! (Egress.java) and in every such pod (PodGates.java).
//!
//! Every parser takes the bytes it has and checks each offset against them and each length against the one that
//! contains it before it allocates; bad input is a result, never a panic.

pub mod denials;
mod dns;
pub mod dns_msg;
#[doc(hidden)]
pub mod fuzz;
pub mod http_head;
mod inject;
pub mod injected;
pub mod pod;
pub mod policy;
mod relay;
pub mod resolver;
mod seccomp;
pub mod serve;
pub mod state;
pub mod tls_hello;

/// The longest name in text form (RFC 1035's 255 octets on the wire, less the length bytes and the root).
pub const MAX_NAME: usize = 253;
/// The longest label.
pub const MAX_LABEL: usize = 63;

/// The big-endian 16 bits at `b[off..off + 2]` (the caller has checked they are there).
fn u16_at(b: &[u8], off: usize) -> usize {
    (b[off] as usize) << 8 | b[off + 1] as usize
}

/// The host name in `b` as the policy compares it (lower-case, one trailing dot removed), or None unless it is a DNS
/// host name: labels of 1 to 63 letters, digits, hyphens or underscores, 253 characters at most. IP address literals
/// in dotted form pass (they are labels of digits); the caller tells them apart. (Names.hostname.)
pub(crate) fn hostname(b: &[u8]) -> Option<String> {
    labels(b, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_'
    })
}

/// `b` lower-cased with one trailing dot removed, or None unless it is 1 to 253 bytes of labels of 1 to 63 bytes,
/// each byte (lower-cased) one `ok` takes: the shape of a host name (`hostname`) and of a DNS name (`dns_msg::name`).
pub(crate) fn labels(b: &[u8], ok: impl Fn(u8) -> bool) -> Option<String> {
    let b = b.strip_suffix(b".").unwrap_or(b);
    if b.is_empty() || b.len() > MAX_NAME {
        return None;
    }
    let mut out = String::with_capacity(b.len());
    let mut label = 0;
    for &c in b {
        let c = c.to_ascii_lowercase();
        if c == b'.' {
            if label == 0 {
                return None;
            }
            label = 0;
        } else {
            label += 1;
            if !ok(c) || label > MAX_LABEL {
                return None;
            }
        }
        out.push(c as char);
    }
    (label > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_lower_cased_and_lose_one_trailing_dot() {
        assert_eq!(hostname(b"Allowed.TEST."), Some("allowed.test".into()));
        assert_eq!(
            hostname(b"_svc._tcp.a-b.test"),
            Some("_svc._tcp.a-b.test".into())
        );
        assert_eq!(hostname(b"203.0.113.7"), Some("203.0.113.7".into()));
        let longest = format!(
            "{}{}",
            format!("{}.", "a".repeat(63)).repeat(3),
            "a".repeat(61)
        );
        assert_eq!(hostname(longest.as_bytes()), Some(longest.clone()));
        for bad in [
            &b""[..],
            b".",
            b"..",
            b"a..b",
            b".a",
            b"a b",
            b"a\xe9",
            b"a.test\x00.x",
            &[b'x'; 64],
            format!("{longest}a").as_bytes(),
        ] {
            assert_eq!(hostname(bad), None, "{bad:?}");
        }
    }
}
