//! The server name (SNI, RFC 6066) a TLS client asks for, read from the first bytes it sends (davit-network's
//! TlsClientHello): TLS records of content type 22 (handshake) with a record version from 0x0300 to 0x0304, carrying a
//! ClientHello that may span several records (reassembled up to `MAX_HELLO` bytes). A ClientHello with an
//! `encrypted_client_hello` extension (ECH) is `Invalid`: its outer SNI need not be the name the server behind it
//! serves, which is encrypted, so the name it carries is not one the gate can check (GREASE ECH, which some browsers
//! send with no ECH key, cannot be told apart from the real one and is refused alike).
//!
//! Never panics on bad input; every length is checked against the bytes there are and against the length that
//! contains it, and nothing is allocated but the reassembled ClientHello (at most `MAX_HELLO` + 4 bytes) and the name.

use super::{hostname, u16_at};

/// The largest ClientHello reassembled (its handshake body); a longer one is `NotTls`.
pub const MAX_HELLO: usize = 64 * 1024;
const MAX_RECORD: usize = 1 << 14;
const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_NAME: usize = 0;
const ENCRYPTED_CLIENT_HELLO: usize = 0xfe0d;
const HOST_NAME: u8 = 0;

/// What the bytes so far say about the server name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hello {
    /// The bytes so far are the start of a ClientHello (or nothing yet): read more and ask again.
    NeedMore,
    /// Not the start of a TLS connection: another protocol, a malformed record or ClientHello, a record longer than
    /// 2^14 bytes, or a ClientHello longer than `MAX_HELLO`.
    NotTls,
    /// A well-formed ClientHello without a host_name.
    NoSni,
    /// A well-formed ClientHello's host_name: lower-case, without a trailing dot, a valid DNS host name (letters,
    /// digits, hyphens, underscores).
    Sni(String),
    /// A well-formed ClientHello whose server_name the gate cannot accept: not a DNS host name (an IP literal in any
    /// form other than dotted decimal, a byte outside the host-name alphabet, an empty or overlong label), several
    /// host_names, several server_name extensions, a server_name extension whose inner lengths disagree, or an
    /// encrypted ClientHello (ECH) whose inner name is hidden. The reason is a few words for the denial log (never
    /// the client's bytes).
    Invalid(&'static str),
}

/// Reads the SNI from the start of a client's stream, `buf` (the bytes it sent, from the first): `NeedMore` while
/// they are a valid prefix of a ClientHello.
pub fn sni(buf: &[u8]) -> Hello {
    let len = buf.len();
    // first pass: the records' headers, and where the handshake message's 4-byte header and body are
    let mut pos = 0;
    let mut hello_len: Option<usize> = None; // the ClientHello body's length, once its handshake header is read
    let mut have = 0; // handshake bytes seen so far
    let mut first_fragment: Option<(usize, usize)> = None; // where the first record's fragment is, and its length
    let mut hs4 = [0u8; 4];
    // each pass consumes one record of at least one byte: at most MAX_HELLO + 4 of them before the cap is hit
    loop {
        if pos >= len {
            return Hello::NeedMore;
        }
        if buf[pos] != HANDSHAKE {
            return Hello::NotTls;
        }
        if (pos + 1 < len && buf[pos + 1] != 3) || (pos + 2 < len && buf[pos + 2] > 4) {
            return Hello::NotTls;
        }
        if pos + 5 > len {
            return Hello::NeedMore;
        }
        let rlen = u16_at(buf, pos + 3);
        if rlen == 0 || rlen > MAX_RECORD {
            return Hello::NotTls;
        }
        let frag = pos + 5;
        let avail = rlen.min(len - frag);
        let (first, first_len) = *first_fragment.get_or_insert((frag, rlen));
        if have < 4 {
            let head = avail.min(4 - have); // the handshake header's bytes in this record
            hs4[have..have + head].copy_from_slice(&buf[frag..frag + head]);
        }
        let before = have;
        have += avail;
        if hello_len.is_none() && have >= 4 {
            if hs4[0] != CLIENT_HELLO {
                return Hello::NotTls;
            }
            let n = (hs4[1] as usize) << 16 | (hs4[2] as usize) << 8 | hs4[3] as usize;
            if !(38..=MAX_HELLO).contains(&n) {
                return Hello::NotTls;
            }
            hello_len = Some(n);
        } else if hello_len.is_none() && have > 0 && hs4[0] != CLIENT_HELLO {
            return Hello::NotTls;
        }
        if let Some(n) = hello_len {
            if have >= 4 + n {
                if before == 0 && first_len >= 4 + n {
                    return parse_hello(&buf[first + 4..first + 4 + n]); // one record holds it all: no copy
                }
                return parse_hello(&reassemble(buf, 4 + n)[4..]);
            }
        }
        if avail < rlen {
            return Hello::NeedMore;
        }
        pos = frag + rlen;
    }
}

/// The first `total` handshake bytes of the records in `buf` (already checked by the caller).
fn reassemble(buf: &[u8], total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total);
    let mut pos = 0;
    while out.len() < total {
        let rlen = u16_at(buf, pos + 3);
        let n = rlen.min(buf.len() - pos - 5).min(total - out.len());
        out.extend_from_slice(&buf[pos + 5..pos + 5 + n]);
        pos += 5 + rlen;
    }
    out
}

/// Reads a complete ClientHello body.
fn parse_hello(b: &[u8]) -> Hello {
    let end = b.len();
    let mut p = 2 + 32; // legacy_version, random
    if p + 1 > end {
        return Hello::NotTls;
    }
    let sid = b[p] as usize;
    if sid > 32 {
        return Hello::NotTls;
    }
    p += 1 + sid;
    if p + 2 > end {
        return Hello::NotTls;
    }
    let suites = u16_at(b, p);
    if suites < 2 || suites & 1 != 0 {
        return Hello::NotTls;
    }
    p += 2 + suites;
    if p + 1 > end {
        return Hello::NotTls;
    }
    let comp = b[p] as usize;
    if comp < 1 {
        return Hello::NotTls;
    }
    p += 1 + comp;
    if p == end {
        return Hello::NoSni; // an old ClientHello with no extensions at all
    }
    if p + 2 > end || p + 2 + u16_at(b, p) != end {
        return Hello::NotTls;
    }
    p += 2;
    let mut sni: Option<&[u8]> = None;
    // each pass consumes at least 4 bytes
    while p < end {
        if p + 4 > end {
            return Hello::NotTls;
        }
        let ext = u16_at(b, p);
        let elen = u16_at(b, p + 2);
        p += 4;
        if p + elen > end {
            return Hello::NotTls;
        }
        if ext == ENCRYPTED_CLIENT_HELLO {
            return Hello::Invalid("an encrypted ClientHello (ECH) hides the name it is for");
        }
        if ext == SERVER_NAME {
            if sni.is_some() {
                return Hello::Invalid("several server_name extensions");
            }
            sni = Some(&b[p..p + elen]);
        }
        p += elen;
    }
    sni.map_or(Hello::NoSni, server_name)
}

/// Reads a server_name extension's data.
fn server_name(b: &[u8]) -> Hello {
    let len = b.len();
    if len == 0 {
        return Hello::NoSni; // what a server sends back; a client that sends it names nothing
    }
    if len < 2 || u16_at(b, 0) != len - 2 {
        return Hello::Invalid("server_name lengths disagree");
    }
    let mut p = 2;
    let mut host = None;
    // each pass consumes at least 3 bytes
    while p < len {
        if p + 3 > len {
            return Hello::Invalid("server_name lengths disagree");
        }
        let name_type = b[p];
        let nlen = u16_at(b, p + 1);
        p += 3;
        if p + nlen > len {
            return Hello::Invalid("server_name lengths disagree");
        }
        if name_type == HOST_NAME {
            if host.is_some() {
                return Hello::Invalid("several host_names");
            }
            match hostname(&b[p..p + nlen]) {
                Some(h) => host = Some(h),
                None => return Hello::Invalid("host_name is not a DNS host name"),
            }
        }
        p += nlen;
    }
    host.map_or(Hello::NoSni, Hello::Sni)
}

#[cfg(test)]
mod tests;
