//! Resolves a name to IPv4 addresses as the host's own programs do (glibc's `files dns`), ported one to one from
//! davit-network's HostResolver: first the hosts file, then the name servers of resolv.conf.
//!
//! - The hosts file: IPv4 entries only (a name with only IPv6 entries goes on to DNS, as an IPv4 lookup does), `#`
//!   comments, aliases, names compared case-insensitively; read again when it changes (its modification time, size,
//!   device or inode). Its answers have a TTL of `HOSTS_TTL` seconds.
//! - resolv.conf: up to three `nameserver` lines with an IPv4 address (others are skipped; none means 127.0.0.1, as
//!   resolv.conf(5) says), `options timeout:N` (seconds per try, default 2, 1 to 30) and `attempts:N` (rounds over the
//!   servers, default 2, 1 to 5). `search`, `domain` and `ndots` are not applied: the names asked are fully
//!   qualified. Read again when it changes.
//! - Each try sends a query for the A records over UDP, from a new socket on an ephemeral port, with a random 16-bit
//!   ID, to one server in turn; it takes only a reply from that server's address and port whose ID and question are
//!   the query's (anything else is dropped and the wait goes on), and asks again over TCP when the reply is truncated.
//!   NXDOMAIN and NOERROR are final; SERVFAIL, REFUSED, other codes, malformed replies and timeouts go on to the next
//!   server. A resolution takes at most the time per try times the attempts times the servers, and never more than
//!   `MAX_TOTAL_MILLIS`.
//! - A cache: answers with addresses for their TTL (at least 1 s, at most `MAX_TTL` s), NXDOMAIN and empty answers for
//!   `NEGATIVE_TTL` s; failures are not cached. At most `MAX_CACHE` names (then the expired ones go, and if that is
//!   not enough, all). Concurrent calls for one name that is not cached each ask.
//!
//! Both files are read with std::fs, at most `MAX_FILE` bytes of each, as ISO-8859-1 text. `Resolver` is Send and
//! Sync, the future of `resolve` is Send; its locks (std's) are never held across an await.

use super::dns_msg::{self, Answer, HEADER, NOERROR, NXDOMAIN};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

/// The TTL, in seconds, of an answer from the hosts file.
pub const HOSTS_TTL: u32 = 5;
/// The longest time, in seconds, an answer is cached.
pub const MAX_TTL: u32 = 300;
/// How long, in seconds, a name that does not exist (or has no A record) is cached.
pub const NEGATIVE_TTL: u32 = 30;
/// The longest a resolution takes, whatever resolv.conf says.
pub const MAX_TOTAL_MILLIS: u64 = 30_000;
/// The most names cached.
pub const MAX_CACHE: usize = 4096;
/// The most bytes read of the hosts file and of resolv.conf.
pub const MAX_FILE: u64 = 1 << 20;
const DNS_PORT: u16 = 53;

/// What a name resolved to (HostResolver.Result).
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Its IPv4 addresses (empty when none, or on failure).
    pub addresses: Vec<Ipv4Addr>,
    /// How long, in seconds, the answer may be kept (0 on failure).
    pub ttl_seconds: u32,
    /// Whether the name does not exist.
    pub nxdomain: bool,
    /// None on success (addresses, no addresses or NXDOMAIN), else why there is no answer: for the denial log and the
    /// operator, not for the sandbox (which sees SERVFAIL).
    pub error: Option<String>,
}

impl Resolved {
    fn failed(error: String) -> Resolved {
        Resolved {
            addresses: Vec::new(),
            ttl_seconds: 0,
            nxdomain: false,
            error: Some(error),
        }
    }
}

/// The name servers and options in effect (HostResolver.Servers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Servers {
    /// The servers, in order.
    pub(crate) addresses: Vec<SocketAddrV4>,
    /// The time per try.
    pub(crate) timeout_ms: u64,
    /// The rounds over the servers.
    pub(crate) attempts: u32,
}

/// A cached answer and when it expires.
struct Cached {
    result: Resolved,
    expires: Instant,
}

/// What tells one version of a file from another: its device and inode (Java's file key), modification time and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileState {
    dev: u64,
    ino: u64,
    mtime: i64,
    mtime_nsec: i64,
    size: u64,
}

/// The files as last read: their states (None: missing, or not read yet) and what was read from them.
#[derive(Default)]
struct Files {
    hosts_state: Option<FileState>,
    hosts: Arc<HashMap<String, Vec<Ipv4Addr>>>,
    resolv_state: Option<FileState>,
    servers: Option<Servers>,
}

/// A resolver reading a hosts file and a resolv.conf, or asking fixed servers (HostResolver). See the module.
pub struct Resolver {
    hosts_file: PathBuf,
    resolv_conf: PathBuf,
    fixed_servers: Option<Servers>,
    cache: Mutex<HashMap<String, Cached>>,
    files: Mutex<Files>,
}

/// Why one try over TCP failed.
enum TcpFailure {
    /// The connection or the answer did not come within the time of the try.
    Timeout,
    /// The connection or a write or read failed.
    Io(io::Error),
}

impl From<io::Error> for TcpFailure {
    fn from(e: io::Error) -> TcpFailure {
        TcpFailure::Io(e)
    }
}

impl Resolver {
    /// A resolver reading the given files (the gate passes `/etc/hosts` and `/etc/resolv.conf`): a missing hosts file
    /// has no entries, a missing resolv.conf means 127.0.0.1 and the default options.
    pub fn new(hosts: PathBuf, resolv_conf: PathBuf) -> Resolver {
        Resolver {
            hosts_file: hosts,
            resolv_conf,
            fixed_servers: None,
            cache: Mutex::new(HashMap::new()),
            files: Mutex::new(Files::default()),
        }
    }

    /// A resolver asking the given servers, ports included, in order, with `timeout_ms` per try and `attempts`
    /// rounds over them (the test seam: resolv.conf has no port syntax).
    pub fn with_servers(
        hosts: PathBuf,
        servers: Vec<SocketAddrV4>,
        timeout_ms: u64,
        attempts: u32,
    ) -> Resolver {
        Resolver {
            fixed_servers: Some(Servers {
                addresses: servers,
                timeout_ms,
                attempts,
            }),
            ..Resolver::new(hosts, PathBuf::new())
        }
    }

    /// Resolves `name`, a fully qualified name (a trailing dot is optional): what it resolved to, never a panic.
    pub async fn resolve(&self, name: &str) -> Resolved {
        let Some(n) = dns_msg::name(name) else {
            return Resolved::failed("not a DNS name".into());
        };
        if let Some(from_hosts) = self.hosts_entries().get(&n) {
            return Resolved {
                addresses: from_hosts.clone(),
                ttl_seconds: HOSTS_TTL,
                nxdomain: false,
                error: None,
            };
        }
        let now = Instant::now();
        if let Some(r) = self.cached(&n, now) {
            return r;
        }
        let servers = self.servers();
        let mut r = ask(&n, &servers).await;
        if r.error.is_none() {
            r.ttl_seconds = if r.addresses.is_empty() {
                NEGATIVE_TTL
            } else {
                r.ttl_seconds.clamp(1, MAX_TTL)
            };
            let expires = now + Duration::from_secs(r.ttl_seconds.into());
            store(&mut lock(&self.cache), n, r.clone(), now, expires);
        }
        r
    }

    /// The cached answer for `n`, its TTL what is left of it (at least 1 s), or None (an expired one goes).
    fn cached(&self, n: &str, now: Instant) -> Option<Resolved> {
        let mut cache = lock(&self.cache);
        let c = cache.get(n)?;
        if c.expires > now {
            let left = (c.expires - now).as_secs();
            return Some(Resolved {
                addresses: c.result.addresses.clone(),
                ttl_seconds: left.clamp(1, u32::MAX.into()) as u32,
                nxdomain: c.result.nxdomain,
                error: None,
            });
        }
        cache.remove(n);
        None
    }

    /// The hosts file's entries, read again if it changed since it was last read.
    fn hosts_entries(&self) -> Arc<HashMap<String, Vec<Ipv4Addr>>> {
        let now = state(&self.hosts_file);
        let mut f = lock(&self.files);
        if now != f.hosts_state {
            f.hosts = Arc::new(parse_hosts(&read(&self.hosts_file)));
            f.hosts_state = now;
        }
        f.hosts.clone()
    }

    /// The servers and options in effect: the fixed ones, or resolv.conf's, read again if it changed.
    pub(crate) fn servers(&self) -> Servers {
        if let Some(s) = &self.fixed_servers {
            return s.clone();
        }
        let now = state(&self.resolv_conf);
        let mut f = lock(&self.files);
        match &f.servers {
            Some(s) if now == f.resolv_state => s.clone(),
            _ => {
                let s = parse_resolv_conf(&read(&self.resolv_conf));
                f.servers = Some(s.clone());
                f.resolv_state = now;
                s
            }
        }
    }
}

/// The lock's data, even if a thread panicked holding it (what it guards is never left half-written).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Caches `r` for `n` until `expires`, making room first when the cache is full: the entries expired at `now` go, and
/// if that is not enough, all.
fn store(
    cache: &mut HashMap<String, Cached>,
    n: String,
    r: Resolved,
    now: Instant,
    expires: Instant,
) {
    if cache.len() >= MAX_CACHE {
        cache.retain(|_, c| c.expires > now);
        if cache.len() >= MAX_CACHE {
            cache.clear();
        }
    }
    cache.insert(n, Cached { result: r, expires });
}

/// The whole milliseconds from now to `deadline` (0 when it has passed).
fn millis_left(deadline: Instant) -> u64 {
    deadline
        .saturating_duration_since(Instant::now())
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// Asks the servers for the A records of `name` (valid), in turn, round after round, within the total bound.
async fn ask(name: &str, s: &Servers) -> Resolved {
    let total = MAX_TOTAL_MILLIS.min(
        s.timeout_ms
            .saturating_mul(s.attempts.into())
            .saturating_mul(s.addresses.len() as u64),
    );
    let deadline = Instant::now() + Duration::from_millis(total);
    let mut error = String::from("no name server");
    for _ in 0..s.attempts {
        for &server in &s.addresses {
            let left = millis_left(deadline);
            if left == 0 {
                return Resolved::failed(error);
            }
            let mut timeout = left.min(s.timeout_ms);
            let a = match udp(server, name, timeout).await {
                Ok(Some(a)) if a.truncated => {
                    timeout = millis_left(deadline).min(s.timeout_ms).max(1);
                    match tcp(server, name, timeout).await {
                        Ok(Some(a)) => a,
                        Ok(None) => {
                            error = format!("a malformed answer over TCP from {server}");
                            continue;
                        }
                        Err(TcpFailure::Timeout) => {
                            error = format!("no answer over TCP from {server} within {timeout} ms");
                            continue;
                        }
                        Err(TcpFailure::Io(e)) => {
                            error = format!("cannot ask {server}: {e}");
                            continue;
                        }
                    }
                }
                Ok(Some(a)) => a,
                Ok(None) => {
                    error = format!("no answer from {server} within {timeout} ms");
                    continue;
                }
                Err(e) => {
                    error = format!("cannot ask {server}: {e}");
                    continue;
                }
            };
            if a.rcode == NOERROR {
                return Resolved {
                    addresses: a.addresses,
                    ttl_seconds: a.min_ttl,
                    nxdomain: false,
                    error: None,
                };
            }
            if a.rcode == NXDOMAIN {
                return Resolved {
                    addresses: Vec::new(),
                    ttl_seconds: NEGATIVE_TTL,
                    nxdomain: true,
                    error: None,
                };
            }
            error = format!("{server} answered with response code {}", a.rcode);
        }
    }
    Resolved::failed(error)
}

/// One try over UDP, from a new socket connected to `server` (the kernel drops datagrams from anyone else, and a
/// closed port fails at once, by ICMP): the first valid answer, or None when none came within `timeout_ms`.
async fn udp(server: SocketAddrV4, name: &str, timeout_ms: u64) -> io::Result<Option<Answer>> {
    let id = random_id();
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let query = dns_msg::query_a(id, name).ok_or_else(|| io::Error::other("not a DNS name"))?;
    let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).await?;
    sock.connect(server).await?;
    sock.send(&query).await?;
    let mut buf = vec![0u8; 4096];
    loop {
        if millis_left(deadline) == 0 {
            return Ok(None);
        }
        let Ok(got) = timeout_at(deadline, sock.recv_from(&mut buf)).await else {
            return Ok(None);
        };
        let (n, from) = got?;
        if from != SocketAddr::V4(server) {
            continue; // not from the server asked
        }
        if let Some(a) = dns_msg::parse_answer(&buf[..n], id, name) {
            return Ok(Some(a));
        }
    }
}

/// One try over TCP, all of it (connecting, writing, reading) within `timeout_ms`: the valid answer, or None when the
/// reply is not one (it ends early, is shorter than a header, or does not answer the query).
async fn tcp(
    server: SocketAddrV4,
    name: &str,
    timeout_ms: u64,
) -> Result<Option<Answer>, TcpFailure> {
    let id = random_id();
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let exchange = async {
        let query = dns_msg::query_a(id, name).ok_or_else(|| io::Error::other("not a DNS name"))?;
        let frame = dns_msg::tcp_frame(&query).ok_or_else(|| io::Error::other("query too long"))?;
        let mut ch = TcpStream::connect(server).await?;
        ch.write_all(&frame).await?;
        ch.flush().await?;
        let Some(head) = read_fully(&mut ch, 2).await? else {
            return Ok(None);
        };
        let n = dns_msg::tcp_frame_length(&head).unwrap_or(0);
        if n < HEADER {
            return Ok(None);
        }
        let msg = read_fully(&mut ch, n).await?;
        Ok::<_, io::Error>(msg.and_then(|m| dns_msg::parse_answer(&m, id, name)))
    };
    match timeout_at(deadline, exchange).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(TcpFailure::Timeout),
    }
}

/// `n` bytes, or None at the end of the stream (the caller bounds the time it takes).
async fn read_fully(ch: &mut TcpStream, n: usize) -> io::Result<Option<Vec<u8>>> {
    let mut b = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let r = ch.read(&mut b[got..]).await?;
        if r == 0 {
            return Ok(None);
        }
        got += r;
    }
    Ok(Some(b))
}

/// A random 16-bit query ID, from getrandom(2), else /dev/urandom, else std's randomly keyed hasher.
fn random_id() -> u16 {
    let mut b = [0u8; 2];
    // SAFETY: getrandom writes at most the two bytes of `b`, which it is given with their length.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 2 {
        return u16::from_ne_bytes(b);
    }
    if File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return u16::from_ne_bytes(b);
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(t.map_or(0, |d| d.as_nanos()));
    h.finish() as u16
}

/// The state of the file at `p`, or None when it cannot be had (missing).
fn state(p: &Path) -> Option<FileState> {
    let m = std::fs::metadata(p).ok()?;
    Some(FileState {
        dev: m.dev(),
        ino: m.ino(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
        size: m.size(),
    })
}

/// The file's first `MAX_FILE` bytes as ISO-8859-1 text, or "" when it cannot be read.
fn read(p: &Path) -> String {
    let mut b = Vec::new();
    match File::open(p).and_then(|f| f.take(MAX_FILE).read_to_end(&mut b)) {
        Ok(_) => b.iter().map(|&c| c as char).collect(),
        Err(_) => String::new(),
    }
}

/// The IPv4 entries of a hosts file: each name (lower-case, as `dns_msg::name` gives it) to its addresses in the
/// file's order, each once.
pub fn parse_hosts(text: &str) -> HashMap<String, Vec<Ipv4Addr>> {
    let mut m: HashMap<String, Vec<Ipv4Addr>> = HashMap::new();
    for line in text.split('\n') {
        let words = words(line);
        if words.len() < 2 {
            continue;
        }
        let Some(a) = ipv4(words[0]) else {
            continue;
        };
        for w in &words[1..] {
            if let Some(n) = dns_msg::name(w) {
                let v = m.entry(n).or_default();
                if !v.contains(&a) {
                    v.push(a);
                }
            }
        }
    }
    m
}

/// The name servers and options of a resolv.conf, as glibc reads them (see the module).
pub(crate) fn parse_resolv_conf(text: &str) -> Servers {
    let mut ns = Vec::new();
    let mut timeout = 2;
    let mut attempts = 2;
    for line in text.split('\n') {
        let line = line.replace(';', "#");
        let words = words(&line);
        let Some(&first) = words.first() else {
            continue;
        };
        if first == "nameserver" && words.len() >= 2 && ns.len() < 3 {
            if let Some(a) = ipv4(words[1]) {
                ns.push(SocketAddrV4::new(a, DNS_PORT));
            }
        } else if first == "options" {
            for o in &words[1..] {
                if let Some(v) = o.strip_prefix("timeout:") {
                    timeout = option(v, timeout, 30);
                } else if let Some(v) = o.strip_prefix("attempts:") {
                    attempts = option(v, attempts, 5);
                }
            }
        }
    }
    if ns.is_empty() {
        ns.push(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DNS_PORT));
    }
    Servers {
        addresses: ns,
        timeout_ms: u64::from(timeout) * 1000,
        attempts,
    }
}

/// The value of an option, 1 to `max`, or `fallback` unless it is 1 to 4 decimal digits.
fn option(v: &str, fallback: u32, max: u32) -> u32 {
    if v.is_empty() || v.len() > 4 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return fallback;
    }
    let n = v.bytes().fold(0, |n, c| n * 10 + u32::from(c - b'0'));
    n.clamp(1, max)
}

/// The white-space (space, tab, CR) separated words of a line before any `#`.
fn words(line: &str) -> Vec<&str> {
    let line = line.split('#').next().unwrap_or("");
    line.split([' ', '\t', '\r'])
        .filter(|w| !w.is_empty())
        .collect()
}

/// A dotted-quad IPv4 address (four decimal numbers 0 to 255 of 1 to 3 digits each), or None.
pub fn ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut b = [0u8; 4];
    let mut part = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for c in s.chars().chain(std::iter::once('.')) {
        if c == '.' {
            if digits == 0 || part > 3 {
                return None;
            }
            b[part] = value as u8;
            part += 1;
            value = 0;
            digits = 0;
        } else if c.is_ascii_digit() && digits < 3 {
            value = value * 10 + (c as u32 - '0' as u32);
            digits += 1;
            if value > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    (part == 4).then(|| Ipv4Addr::from(b))
}

#[cfg(test)]
mod tests;
