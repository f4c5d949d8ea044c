//! The sandbox's TCP connections, each redirected to the gate's listener (GateRelay.java): where it was going is read
//! from the kernel (`SO_ORIGINAL_DST`), then its first bytes (up to `PEEK_BYTES`) for a name: a TLS ClientHello's
//! SNI or an HTTP request's Host. A client that sends nothing for `PEEK` waits for the server (no name); one that
//! began a ClientHello or a request head has `HEAD` to complete it, however it splits it, or it is refused. Then:
//! a name the policy denies, or that is not in it while no address entry allows the address: refused; an allowed
//! name: only to an address that name resolved to for this sandbox (or resolves to now), or one an address entry
//! allows; no name: allowed when an address entry allows the address and port, or a name the sandbox resolved to
//! that address is allowed at that port; port 53: DNS over TCP, answered by the gate. A refused connection is reset
//! at once (a plain HTTP request gets a 403 saying why first) and recorded. An allowed one is connected from the
//! host's namespace and relayed both ways until both ends are done; a policy change does not touch it.

use super::denials::Denial;
use super::http_head::{self, Head};
use super::policy::{Policy, Verdict};
use super::state::Gate;
use super::tls_hello::{self, Hello};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// The most of a connection's first bytes read for its name.
pub const PEEK_BYTES: usize = 16 * 1024;
/// How long a client may wait before it says anything (then it waits for the server: no name).
pub const PEEK: Duration = Duration::from_millis(1000);
/// How long a client that began a ClientHello or request head has to complete it.
pub const HEAD: Duration = Duration::from_secs(10);
const CONNECT: Duration = Duration::from_secs(10);
/// How long the gate's own 403 may take to write.
const REFUSAL: Duration = Duration::from_secs(10);
/// How many connections it relays at once; more are reset (and recorded).
pub const MAX_CONNECTIONS: usize = 512;
/// Whether a trim of the allocator's free memory is to come.
static TRIM: AtomicBool = AtomicBool::new(false);

/// Accepts the sandbox's connections on `listener` until it is gone; each one is a task of its own.
pub async fn accept_loop(gate: Arc<Gate>, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let c = match listener.accept().await {
            Ok((c, _)) => c,
            Err(e) => match e.raw_os_error() {
                Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK) => return, // no listener
                // EMFILE or ENFILE: let some close; ECONNABORTED and the like: the next one. The sandbox must not
                // be able to stop the gate from accepting
                Some(libc::EMFILE | libc::ENFILE) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                _ => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            gate.deny(&Denial {
                kind: "connect",
                name: None,
                address: original_destination(&c).map(|d| (*d.ip(), d.port())),
                rule: None,
                reason: &format!("more than {MAX_CONNECTIONS} connections at once"),
            });
            reset(c);
            continue;
        };
        let gate = gate.clone();
        let idle = slots.clone();
        tokio::spawn(async move {
            handle(&gate, c).await;
            drop(permit);
            if idle.available_permits() == MAX_CONNECTIONS && !TRIM.swap(true, Ordering::Relaxed) {
                // the last connection ended: what a flood of them took goes back to the system, 2 s later if the
                // gate is idle still (one trim however many connections come and go meanwhile)
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    TRIM.store(false, Ordering::Relaxed);
                    if idle.available_permits() == MAX_CONNECTIONS {
                        // SAFETY: malloc_trim only releases free memory of the allocator
                        unsafe { libc::malloc_trim(0) };
                    }
                });
            }
        });
    }
}

/// What the first bytes said: a name (or none), whether it came of HTTP, why they are refused (an unfinished head),
/// what name they hide, or that the client said nothing.
#[derive(Default)]
struct Peeked {
    name: Option<String>,
    http: bool,
    incomplete: Option<String>,
    hidden: Option<String>,
    silent: bool,
}

impl Peeked {
    fn silent() -> Peeked {
        Peeked {
            silent: true,
            ..Peeked::default()
        }
    }

    fn named(name: String, http: bool) -> Peeked {
        Peeked {
            name: Some(name),
            http,
            ..Peeked::default()
        }
    }

    fn nameless(hidden: Option<String>) -> Peeked {
        Peeked {
            hidden,
            ..Peeked::default()
        }
    }
}

async fn handle(gate: &Gate, mut c: TcpStream) {
    let Some(dst) = original_destination(&c) else {
        reset(c); // made to the gate's own port, not redirected
        return;
    };
    let (ip, port) = (*dst.ip(), dst.port());
    if port == 53 {
        super::dns::serve_tcp(gate, c).await;
        return;
    }
    let by_address = gate.policy().address(ip.into(), port);
    if !by_address.allowed && by_address.rule.is_some() {
        let rule = by_address.rule.as_ref().map(|r| r.to_string());
        refuse(gate, c, None, dst, rule, &by_address.reason, false).await;
        return;
    }
    // where no address entry allows the address, a name hidden in what follows matters: read on for it
    let read_on = !by_address.allowed;
    let mut first = Vec::new();
    let mut up = None;
    let Ok(mut pk) = peek(&mut c, &mut first, read_on).await else {
        reset(c);
        return;
    };
    if pk.silent {
        // no name (yet): allowed as for any nameless connection, the server is asked to speak first; a client that
        // speaks first after all is judged by what it sends, as if it had not waited
        if let Some((rule, why)) = judge(gate, ip, port, &by_address, &pk).await {
            refuse(gate, c, None, dst, rule, &why, false).await;
            return;
        }
        let Some(mut u) = connect(dst).await else {
            reset(c);
            return;
        };
        match who_speaks_first(&mut c, &mut u).await {
            Err(_) => {
                reset(c);
                return;
            }
            Ok(None) => {
                // the server closed before anyone spoke: so does the gate, in order
                drop(u);
                let _ = c.shutdown().await;
                return;
            }
            Ok(Some(said)) if !said.is_empty() => {
                // the server: what it said goes to the client, then both ways
                if c.write_all(&said).await.is_err() {
                    reset(c);
                    return;
                }
                relay(c, u, Vec::new()).await;
                return;
            }
            Ok(Some(_)) => {}
        }
        first.clear();
        pk = match peek(&mut c, &mut first, read_on).await {
            Ok(p) => p,
            Err(_) => {
                reset(c);
                return;
            }
        };
        if pk.silent {
            relay(c, u, first).await; // the client closed without a byte
            return;
        }
        up = Some(u);
    }
    if let Some(why) = &pk.incomplete {
        drop(up);
        refuse(gate, c, None, dst, None, why, pk.http).await;
        return;
    }
    if let Some((rule, why)) = judge(gate, ip, port, &by_address, &pk).await {
        drop(up);
        refuse(gate, c, pk.name.as_deref(), dst, rule, &why, pk.http).await;
        return;
    }
    let inj = gate.injections();
    if let (Some(name), false, 443) = (&pk.name, pk.http, port) {
        if inj.rule(name).is_some() {
            drop(up); // the injecting relay makes a TLS connection of its own
            super::inject::serve(gate, c, dst, first, name, &inj).await;
            return;
        }
    }
    let u = match up {
        Some(u) => u,
        None => match connect(dst).await {
            Some(u) => u,
            None => {
                reset(c); // refused or unreachable out there: the same to the sandbox
                return;
            }
        },
    };
    relay(c, u, first).await;
}

/// Why a connection to `ip:port` whose first flight is `pk` is refused (the rule that did, if any, and the reason),
/// or None (GateRelay.judge).
async fn judge(
    gate: &Gate,
    ip: Ipv4Addr,
    port: u16,
    by_address: &Verdict,
    pk: &Peeked,
) -> Option<(Option<String>, String)> {
    let p = gate.policy();
    if let Some(name) = &pk.name {
        let v = p.name(name, port);
        if !v.allowed && (v.rule.is_some() || !by_address.allowed) {
            return Some((v.rule.map(|r| r.to_string()), v.reason));
        }
        if v.allowed && !by_address.allowed && !resolves_to(gate, name, ip).await {
            return Some((
                None,
                format!("the address {ip} is not one {name} resolved to for this sandbox"),
            ));
        }
    } else if !by_address.allowed && !resolved_name_allows(gate, &p, ip, port) {
        return Some((None, by_address.reason.clone()));
    } else if let (false, Some(hidden)) = (by_address.allowed, &pk.hidden) {
        // opened only by a name that resolved to it: what hides another name may not use it
        return Some((None, format!("{hidden} to an address only a name opened")));
    }
    if gate.reachable(&p, ip, port) {
        None
    } else {
        Some((
            None,
            format!("the address {ip} is {}", gate.special_words(ip)),
        ))
    }
}

async fn resolves_to(gate: &Gate, name: &str, ip: Ipv4Addr) -> bool {
    if gate.resolved_to(name, ip) {
        return true;
    }
    let r = gate.resolver.resolve(name).await;
    r.addresses.contains(&ip) && gate.reachable(&gate.policy(), ip, 0)
}

fn resolved_name_allows(gate: &Gate, p: &Policy, ip: Ipv4Addr, port: u16) -> bool {
    gate.names_of(ip).iter().any(|n| p.name(n, port).allowed)
}

/// Reads the connection's first bytes into `buf` until they give a name, or say there is none (GateRelay.peek).
async fn peek(c: &mut TcpStream, buf: &mut Vec<u8>, read_on: bool) -> std::io::Result<Peeked> {
    let start = Instant::now();
    let (mut tls, mut http) = (true, true);
    while buf.len() < PEEK_BYTES {
        let limit = if buf.is_empty() { PEEK } else { HEAD };
        let left = (start + limit).saturating_duration_since(Instant::now());
        let had = buf.len();
        // a chunk at a time: a ClientHello or a head takes what it needs of the 16 KiB, not all of it
        let mut chunk = [0u8; 4096];
        let room = (PEEK_BYTES - had).min(chunk.len());
        let n = match tokio::time::timeout(left, c.read(&mut chunk[..room])).await {
            Ok(r) => r?,
            Err(_) => {
                return Ok(if had == 0 {
                    Peeked::silent() // the client waits for the server: no name yet
                } else {
                    unfinished(tls, http, &format!("within {} s", HEAD.as_secs()))
                });
            }
        };
        if n == 0 {
            return Ok(if had == 0 {
                Peeked::silent()
            } else {
                unfinished(tls, http, "before the client closed")
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if tls {
            match tls_hello::sni(buf) {
                Hello::Sni(s) => return Ok(Peeked::named(s, false)),
                Hello::NeedMore => {}
                Hello::NotTls => tls = false,
                Hello::Invalid(why) => {
                    // TLS whose name the gate cannot take
                    return Ok(Peeked::nameless(Some(format!(
                        "a TLS ClientHello whose name the gate cannot check ({why})"
                    ))));
                }
                Hello::NoSni => {
                    return Ok(Peeked::nameless(
                        http_head::hides_name(buf).map(str::to_string),
                    ))
                }
            }
        }
        if http {
            match http_head::host(buf) {
                Head::Host { name, .. } => return Ok(Peeked::named(name, true)),
                Head::NeedMore => {}
                Head::NotHttp => http = false,
                // an HTTP request without a usable Host (none, two, or one that contradicts its target)
                Head::NoHost | Head::Invalid(_) => return Ok(Peeked::named(String::new(), true)),
            }
        }
        if !tls && !http {
            let hidden = http_head::hides_name(buf);
            if hidden.is_some() || !read_on || !http_head::may_become_request_line(buf) {
                return Ok(Peeked::nameless(hidden.map(str::to_string)));
            }
            // a prefix of what may yet be a request line: read on, within the head's time
        }
    }
    Ok(unfinished(tls, http, &format!("within {PEEK_BYTES} bytes")))
}

/// A head that could still be a ClientHello or a request head, cut short `how`: refused.
fn unfinished(tls: bool, http: bool, how: &str) -> Peeked {
    let what = if tls {
        "a TLS ClientHello"
    } else {
        "an HTTP request head"
    };
    Peeked {
        http: http && !tls,
        incomplete: Some(format!("{what} not complete {how}")),
        ..Peeked::default()
    }
}

/// Waits until the client or the server `u` sends first: the server's first bytes, nothing when the client's come
/// first (or it closed), or None when the server closed first. The client is looked at first (what it sends is
/// judged).
async fn who_speaks_first(
    c: &mut TcpStream,
    u: &mut TcpStream,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut b = vec![0u8; 4096];
    tokio::select! {
        biased;
        r = c.readable() => r.map(|_| Some(Vec::new())),
        r = u.read(&mut b) => r.map(|n| {
            (n > 0).then(|| {
                b.truncate(n);
                b
            })
        }),
    }
}

/// Refuses a connection: recorded, then reset (a plain HTTP request gets the gate's 403 first, then an orderly end).
async fn refuse(
    gate: &Gate,
    mut c: TcpStream,
    name: Option<&str>,
    dst: SocketAddrV4,
    rule: Option<String>,
    reason: &str,
    http: bool,
) {
    let shown = name.filter(|n| !n.is_empty());
    let why = if name == Some("") {
        "an HTTP request without one clear Host"
    } else {
        reason
    };
    gate.deny(&Denial {
        kind: "connect",
        name: shown,
        address: Some((*dst.ip(), dst.port())),
        rule,
        reason: why,
    });
    if http {
        let target = shown.map_or_else(|| dst.ip().to_string(), str::to_string);
        let r = denied(
            403,
            &format!("egress denied: {target}:{}: {why}", dst.port()),
        );
        let sent = tokio::time::timeout(REFUSAL, async {
            c.write_all(&r).await?;
            c.shutdown().await
        })
        .await;
        if matches!(sent, Ok(Ok(()))) {
            return;
        }
    }
    reset(c);
}

/// The gate's own HTTP response to a request it does not send on: `status` (403, 400 or 502) with a one-line
/// plain-text body `davit: WHY`, marked `X-Davit-Egress: denied`, closing the connection.
pub fn denied(status: u16, why: &str) -> Vec<u8> {
    let body = format!("davit: {why}\n");
    let text = match status {
        403 => "Forbidden",
        400 => "Bad Request",
        _ => "Bad Gateway",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nX-Davit-Egress: denied\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// A connection from the host's namespace to `to`, or None when it cannot be made within 10 s.
async fn connect(to: SocketAddrV4) -> Option<TcpStream> {
    let u = tokio::time::timeout(CONNECT, TcpStream::connect(to))
        .await
        .ok()?
        .ok()?;
    let _ = u.set_nodelay(true);
    Some(u)
}

/// Sends `first` to `u`, then copies both ways: each side's end shuts the other's writing; an error on either
/// resets the client and ends both.
async fn relay(mut c: TcpStream, mut u: TcpStream, first: Vec<u8>) {
    // what either side sends goes on at once (Nagle's wait for an ACK the other side delays would add 40 ms to a
    // handshake's small flights)
    let _ = c.set_nodelay(true);
    if u.write_all(&first).await.is_err() {
        reset(c);
        return;
    }
    drop(first);
    let copied = {
        let (mut cr, mut cw) = c.split();
        let (mut ur, mut uw) = u.split();
        tokio::try_join!(pump(&mut cr, &mut uw), pump(&mut ur, &mut cw))
    };
    if copied.is_err() {
        reset(c);
    }
}

/// How much one read of a relayed connection takes at most.
const PUMP: usize = 64 * 1024;

/// Copies `r` to `w` until `r` ends, then shuts `w` for writing. Its buffer (`PUMP` bytes: a fast download moves in
/// few system calls) exists only while bytes flow: a connection idle between them holds none.
async fn pump(
    r: &mut tokio::net::tcp::ReadHalf<'_>,
    w: &mut tokio::net::tcp::WriteHalf<'_>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        r.readable().await?;
        if buf.is_empty() {
            buf = vec![0u8; PUMP];
        }
        match r.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => w.write_all(&buf[..n]).await?,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => buf = Vec::new(),
            Err(e) => return Err(e),
        }
    }
    w.shutdown().await
}

/// Where a connection redirected by the namespace's netfilter rules was going, or None when it was not.
fn original_destination(c: &TcpStream) -> Option<SocketAddrV4> {
    const SO_ORIGINAL_DST: libc::c_int = 80;
    // SAFETY: getsockopt writes at most `len` bytes into `sa`
    unsafe {
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let r = libc::getsockopt(
            c.as_raw_fd(),
            libc::SOL_IP,
            SO_ORIGINAL_DST,
            (&mut sa as *mut libc::sockaddr_in).cast(),
            &mut len,
        );
        (r == 0 && i32::from(sa.sin_family) == libc::AF_INET).then(|| {
            SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                u16::from_be(sa.sin_port),
            )
        })
    }
}

/// Closes `c` with a TCP RST (SO_LINGER 0), not an orderly end.
pub(super) fn reset(c: TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `l` only
    unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(c);
}
