//! DNS messages (RFC 1035) as the egress gate reads and writes them (davit-network's DnsMessage): the sandbox's
//! queries in, davit's answers out, and, as a stub resolver's client, queries for A records to the host's name
//! servers and their answers.
//!
//! Every parser takes the message's bytes, checks every offset against their length, bounds every loop (a compression
//! pointer must point backwards, at most `MAX_POINTERS` of them per name, and a name is 255 bytes at most) and answers
//! bad input with None, never a panic.
//!
//! Names are compared in the form `name` gives: lower-case, no trailing dot, labels of 1 to 63 printable ASCII bytes
//! other than the dot (`0x21..=0x7e`), 255 bytes at most on the wire. The root name (zero labels) is not a name the
//! gate answers for.

use super::u16_at;
use std::net::Ipv4Addr;

/// Type A (an IPv4 address).
pub const TYPE_A: u16 = 1;
/// Type CNAME (an alias).
pub const TYPE_CNAME: u16 = 5;
/// Type AAAA (an IPv6 address).
pub const TYPE_AAAA: u16 = 28;
/// Query type ANY.
pub const TYPE_ANY: u16 = 255;
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// Query class ANY.
pub const CLASS_ANY: u16 = 255;
/// Response code: no error.
pub const NOERROR: u8 = 0;
/// Response code: the message could not be read.
pub const FORMERR: u8 = 1;
/// Response code: the server failed.
pub const SERVFAIL: u8 = 2;
/// Response code: the name does not exist.
pub const NXDOMAIN: u8 = 3;
/// Response code: the kind of query is not implemented.
pub const NOTIMP: u8 = 4;
/// Response code: refused by policy.
pub const REFUSED: u8 = 5;
/// The length of a header.
pub const HEADER: usize = 12;
/// The largest message over UDP without EDNS (RFC 1035 4.2.1): davit's answers stay within it.
pub const MAX_UDP: usize = 512;
/// The most compression pointers followed in one name.
pub const MAX_POINTERS: usize = 32;
/// The longest CNAME chain followed in an answer.
pub const MAX_CHAIN: usize = 16;

const QR: u16 = 0x8000;
const TC: u16 = 0x0200;
const RD: u16 = 0x0100;
const RA: u16 = 0x0080;

/// A standard query's one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The query's ID.
    pub id: u16,
    /// The query's flags (the header's second 16 bits).
    pub flags: u16,
    /// The name asked for, lower-case, no trailing dot.
    pub name: String,
    /// The type asked for (`TYPE_A`, `TYPE_AAAA`, ...).
    pub qtype: u16,
    /// The class asked for (`CLASS_IN` or `CLASS_ANY`).
    pub qclass: u16,
    /// The offset just after the question in the query (the answers copy the question from it).
    pub question_end: usize,
}

/// A name server's answer to `query_a`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The response code (`NOERROR`, `NXDOMAIN`, ...).
    pub rcode: u8,
    /// The A records of the name the CNAME chain from the asked name ends at, in the answer's order.
    pub addresses: Vec<Ipv4Addr>,
    /// The smallest TTL, in seconds, of the records used (the chain's CNAMEs and the addresses); 0 when none was
    /// used. A TTL with the top bit set counts as 0 (RFC 2181 8), so this is at most 2^31 - 1.
    pub min_ttl: u32,
    /// Whether the server set TC (the answer did not fit: ask again over TCP).
    pub truncated: bool,
}

fn flags_of(b: &[u8]) -> u16 {
    u16_at(b, 2) as u16
}

/// Reads a query from a sandbox: its question, or None unless it is a standard query (QR 0, OPCODE 0, no answer or
/// authority records; additional records such as EDNS's OPT are allowed and ignored) with exactly one question, of
/// class IN or ANY, for a valid name; a query's name has no compression pointers (there is nothing before it to point
/// to).
pub fn parse_query(buf: &[u8]) -> Option<Question> {
    if buf.len() < HEADER {
        return None;
    }
    let flags = flags_of(buf);
    if flags & QR != 0 || (flags >> 11) & 0xf != 0 {
        return None;
    }
    if u16_at(buf, 4) != 1 || u16_at(buf, 6) != 0 || u16_at(buf, 8) != 0 {
        return None;
    }
    let mut name = String::with_capacity(64);
    let end = read_name(buf, HEADER, &mut name, false)?;
    if name.is_empty() || end + 4 > buf.len() {
        return None;
    }
    let qtype = u16_at(buf, end) as u16;
    let qclass = u16_at(buf, end + 2) as u16;
    if qclass != CLASS_IN && qclass != CLASS_ANY {
        return None;
    }
    Some(Question {
        id: u16_at(buf, 0) as u16,
        flags,
        name,
        qtype,
        qclass,
        question_end: end + 4,
    })
}

/// The answer to `q` with `addrs` as A records (NOERROR; none is NODATA): as many of them as fit in `MAX_UDP` bytes,
/// in order, each owned by the question's name (a pointer to it), with the TTL `ttl_seconds` (negative counts as 0).
///
/// `query` is the message `q` was parsed from (the question is copied from it); it panics if it is shorter than
/// `q.question_end`.
pub fn answer_a(q: &Question, query: &[u8], addrs: &[Ipv4Addr], ttl_seconds: i32) -> Vec<u8> {
    let qlen = q.question_end - HEADER;
    let n = addrs.len().min(MAX_UDP.saturating_sub(HEADER + qlen) / 16);
    let mut out = response(q, query, NOERROR, n);
    let ttl = ttl_seconds.max(0) as u32;
    for a in &addrs[..n] {
        out.extend_from_slice(&(0xc000 | HEADER as u16).to_be_bytes());
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&a.octets());
    }
    out
}

/// An answer to `q` with no records and `rcode` (`NXDOMAIN`, `SERVFAIL`, `REFUSED`, `NOTIMP`, ...); `query` as for
/// `answer_a`.
pub fn error(q: &Question, query: &[u8], rcode: u8) -> Vec<u8> {
    response(q, query, rcode, 0)
}

/// The FORMERR answer to a message `parse_query` refused: its header (ID, OPCODE, RD) and no question; None when
/// there is nothing to answer: fewer than 12 bytes, or the message is itself a response (QR set; answering it could
/// start a loop between two servers).
pub fn form_err(buf: &[u8]) -> Option<Vec<u8>> {
    if buf.len() < HEADER || flags_of(buf) & QR != 0 {
        return None;
    }
    let mut out = vec![0u8; HEADER];
    out[..2].copy_from_slice(&buf[..2]);
    let flags = QR | RA | (flags_of(buf) & (0x7800 | RD)) | FORMERR as u16;
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    Some(out)
}

/// The header and question of a response to `q` with `answers` records to follow (the caller appends them).
fn response(q: &Question, query: &[u8], rcode: u8, answers: usize) -> Vec<u8> {
    let qlen = q.question_end - HEADER;
    let mut out = Vec::with_capacity(HEADER + qlen + 16 * answers);
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&(QR | RA | (q.flags & RD) | (rcode & 0xf) as u16).to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers as u16).to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&query[HEADER..q.question_end]);
    out
}

/// A recursive query (RD set) for the A records of `name`, or None if `name` is not valid for `name`.
pub fn query_a(id: u16, name: &str) -> Option<Vec<u8>> {
    let n = self::name(name)?;
    let mut out = Vec::with_capacity(HEADER + n.len() + 2 + 4);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&RD.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in n.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&TYPE_A.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Some(out)
}

/// One record of an answer section, as `parse_answer` keeps it.
struct Record {
    owner: String,
    /// Its type, or None when its class is not IN.
    rtype: Option<u16>,
    ttl: u32,
    /// Where its data starts, and how long it is.
    rdata: usize,
    rdlen: usize,
}

/// Reads a name server's answer to `query_a(expected_id, name)`: follows the CNAME chain in the answer section from
/// `name` (at most `MAX_CHAIN` links, never round a loop) and takes the A records of the name it ends at. Records of
/// any other owner, the authority and the additional sections are ignored: a server (or a spoofer) cannot slip in
/// addresses for a name that was not asked for. None when the message is malformed, is not a response to a standard
/// query, or its ID or question (name, type A, class IN) is not the query's.
pub fn parse_answer(buf: &[u8], expected_id: u16, name: &str) -> Option<Answer> {
    let want = self::name(name)?;
    let len = buf.len();
    if len < HEADER {
        return None;
    }
    let flags = flags_of(buf);
    if u16_at(buf, 0) != expected_id as usize
        || flags & QR == 0
        || (flags >> 11) & 0xf != 0
        || u16_at(buf, 4) != 1
    {
        return None;
    }
    let mut sb = String::with_capacity(64);
    let mut p = read_name(buf, HEADER, &mut sb, true)?;
    if p + 4 > len
        || u16_at(buf, p) != TYPE_A as usize
        || u16_at(buf, p + 2) != CLASS_IN as usize
        || sb != want
    {
        return None;
    }
    p += 4;
    let ancount = u16_at(buf, 6);
    // each record takes at least 11 bytes: a count beyond what the message holds is a lie
    if ancount > (len - p) / 11 {
        return None;
    }
    let mut records = Vec::with_capacity(ancount);
    for _ in 0..ancount {
        let mut owner = String::new();
        p = read_name(buf, p, &mut owner, true)?;
        if p + 10 > len {
            return None;
        }
        let rdlen = u16_at(buf, p + 8);
        if p + 10 + rdlen > len {
            return None;
        }
        let ttl = (u16_at(buf, p + 4) << 16 | u16_at(buf, p + 6)) as u32;
        records.push(Record {
            owner,
            rtype: (u16_at(buf, p + 2) == CLASS_IN as usize).then(|| u16_at(buf, p) as u16),
            ttl: if ttl > i32::MAX as u32 { 0 } else { ttl }, // RFC 2181 8: a TTL with the top bit set is 0
            rdata: p + 10,
            rdlen,
        });
        p += 10 + rdlen;
    }
    let rcode = (flags & 0xf) as u8;
    let truncated = flags & TC != 0;
    let mut min_ttl: Option<u32> = None;
    let mut owner = want;
    let mut seen: Vec<String> = vec![owner.clone()];
    for _ in 0..MAX_CHAIN {
        let Some(c) = records
            .iter()
            .find(|r| r.rtype == Some(TYPE_CNAME) && r.owner == owner)
        else {
            break;
        };
        sb.clear();
        let end = read_name(buf, c.rdata, &mut sb, true);
        if end != Some(c.rdata + c.rdlen) || sb.is_empty() {
            return None;
        }
        min_ttl = Some(min_ttl.map_or(c.ttl, |m| m.min(c.ttl)));
        if seen.contains(&sb) {
            // a loop leads nowhere
            return Some(Answer {
                rcode,
                addresses: Vec::new(),
                min_ttl: 0,
                truncated,
            });
        }
        seen.push(sb.clone());
        owner = sb.clone();
    }
    let mut addresses = Vec::new();
    for r in &records {
        if r.rtype == Some(TYPE_A) && r.owner == owner && r.rdlen == 4 {
            let d = &buf[r.rdata..r.rdata + 4];
            addresses.push(Ipv4Addr::new(d[0], d[1], d[2], d[3]));
            min_ttl = Some(min_ttl.map_or(r.ttl, |m| m.min(r.ttl)));
        }
    }
    Some(Answer {
        rcode,
        addresses,
        min_ttl: min_ttl.unwrap_or(0),
        truncated,
    })
}

/// A message framed for DNS over TCP: its length as two bytes, then the message; None if it is longer than 65535
/// bytes.
pub fn tcp_frame(msg: &[u8]) -> Option<Vec<u8>> {
    let n = u16::try_from(msg.len()).ok()?;
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(msg);
    Some(out)
}

/// The length of the message a DNS-over-TCP frame starting at `buf[0]` holds (0 to 65535), or None while fewer than
/// two bytes are there.
pub fn tcp_frame_length(buf: &[u8]) -> Option<usize> {
    (buf.len() >= 2).then(|| u16_at(buf, 0))
}

/// A name as DNS messages here compare it: lower-cased without the trailing dot, or None unless it has 1 to 127
/// labels of 1 to 63 printable ASCII characters other than the dot and fits in 255 bytes on the wire.
pub fn name(name: &str) -> Option<String> {
    super::labels(name.as_bytes(), |c| (0x21..=0x7e).contains(&c))
}

/// Reads the name at `off` into `sb` (lower-case, labels joined by dots): the offset just after the name where it
/// starts (after its first pointer, if any), or None when it is malformed: it runs past the end, a label is longer
/// than 63 bytes or holds a dot or a byte outside printable ASCII, the name is longer than 255 bytes, or a pointer is
/// refused (`pointers` false), does not point backwards or is one too many.
fn read_name(b: &[u8], off: usize, sb: &mut String, pointers: bool) -> Option<usize> {
    let len = b.len();
    let mut pos = off;
    let mut end = None;
    let mut wire = 1; // the root's zero byte
    let mut jumps = 0;
    // each pass either consumes a label (wire grows by at least 2, at most 255) or jumps backwards
    for _ in 0..128 + MAX_POINTERS + 1 {
        if pos >= len {
            return None;
        }
        let l = b[pos] as usize;
        if l == 0 {
            return Some(end.unwrap_or(pos + 1));
        }
        if l & 0xc0 == 0xc0 {
            jumps += 1;
            if !pointers || pos + 1 >= len || jumps > MAX_POINTERS {
                return None;
            }
            let target = (l & 0x3f) << 8 | b[pos + 1] as usize;
            if target >= pos || target < HEADER {
                return None;
            }
            end.get_or_insert(pos + 2);
            pos = target;
            continue;
        }
        if l & 0xc0 != 0 {
            return None; // the extended label types of RFC 6891 and the obsolete ones
        }
        wire += l + 1;
        if wire > 255 || pos + 1 + l > len {
            return None;
        }
        if !sb.is_empty() {
            sb.push('.');
        }
        for &c in &b[pos + 1..=pos + l] {
            if !(0x21..=0x7e).contains(&c) || c == b'.' {
                return None;
            }
            sb.push(c.to_ascii_lowercase() as char);
        }
        pos += 1 + l;
    }
    None
}

#[cfg(test)]
mod tests;
