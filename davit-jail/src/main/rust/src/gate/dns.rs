//! The sandbox's DNS, answered by the gate (GateDns.java): a name the policy allows resolves as the host's own
//! programs resolve it (the resolver: the hosts file, then the host's name servers), without the addresses the
//! sandbox may not reach (anti-rebinding) nor those a deny rule of every port holds; every other name is NXDOMAIN,
//! recorded in the denials. Only A queries get addresses (the sandbox's network is IPv4); other types of an allowed
//! name get an empty answer. Over UDP on the sandbox's 127.0.0.1:53 and over TCP on a redirected connection to port
//! 53 (length-prefixed messages).

use super::denials::Denial;
use super::dns_msg::{self, NXDOMAIN, SERVFAIL, TYPE_A};
use super::state::Gate;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// Queries answered at once; more are dropped (the client asks again).
pub const IN_FLIGHT: usize = 64;
/// How long a DNS-over-TCP client has for each message.
const TCP_WAIT: Duration = Duration::from_secs(30);

/// The answer to the query `q`, or None for no answer at all.
pub async fn answer(gate: &Gate, q: &[u8]) -> Option<Vec<u8>> {
    let Some(qu) = dns_msg::parse_query(q) else {
        return dns_msg::form_err(q);
    };
    let policy = gate.policy(); // one policy for the whole answer, whatever a reload does meanwhile
    let v = policy.name(&qu.name, 0);
    if !v.allowed {
        gate.deny(&Denial {
            kind: "dns",
            name: Some(&qu.name),
            address: None,
            rule: v.rule.map(|r| r.to_string()),
            reason: &v.reason,
        });
        return Some(dns_msg::error(&qu, q, NXDOMAIN));
    }
    if qu.qtype != TYPE_A {
        return Some(dns_msg::answer_a(&qu, q, &[], 60));
    }
    let r = gate.resolver.resolve(&qu.name).await;
    if r.nxdomain {
        return Some(dns_msg::error(&qu, q, NXDOMAIN));
    }
    if r.error.is_some() {
        return Some(dns_msg::error(&qu, q, SERVFAIL));
    }
    let (reachable, refused): (Vec<Ipv4Addr>, Vec<Ipv4Addr>) = r
        .addresses
        .iter()
        .partition(|a| gate.reachable(&policy, **a, 0));
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(Ipv4Addr::to_string).collect();
        gate.deny(&Denial {
            kind: "dns",
            name: Some(&qu.name),
            address: None,
            rule: None,
            reason: &format!(
                "resolves to [{}], an address the sandbox may not reach (a special block or the host's own) unless an \
                 address entry allows it explicitly",
                list.join(", ")
            ),
        });
    }
    // an address a deny rule of every port holds is in no answer either: a connection there is refused anyway, and
    // the program would try it first (the same test the relay makes of a connection)
    let mut ok = Vec::with_capacity(reachable.len());
    for a in reachable {
        let by_address = policy.address(a.into(), 0);
        match by_address.rule {
            Some(rule) if !by_address.allowed => gate.deny(&Denial {
                kind: "dns",
                name: Some(&qu.name),
                address: Some((a, 0)),
                rule: Some(rule.to_string()),
                reason: &format!("resolves to {a}, {}", by_address.reason),
            }),
            _ => ok.push(a),
        }
    }
    if ok.is_empty() {
        return Some(dns_msg::error(&qu, q, NXDOMAIN));
    }
    gate.resolved(&qu.name, &ok);
    let ttl = r.ttl_seconds.clamp(1, 300) as i32;
    Some(dns_msg::answer_a(&qu, q, &ok, ttl))
}

/// Answers the queries that reach `sock` (the sandbox's 127.0.0.1:53), each in a task of its own, `IN_FLIGHT` at
/// most: one that waits for a slow name server never holds up the others.
pub async fn serve_udp(gate: Arc<Gate>, sock: UdpSocket) {
    let sock = Arc::new(sock);
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut buf = vec![0u8; 1500];
    loop {
        let (n, from) = match sock.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                super::denials::log(format_args!(
                    "davit-gate: the DNS socket was closed ({e}); no more DNS over UDP\n"
                ));
                return;
            }
            Err(_) => continue, // that datagram's problem
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let q = buf[..n].to_vec();
        let (gate, sock) = (gate.clone(), sock.clone());
        tokio::spawn(async move {
            if let Some(a) = answer(&gate, &q).await {
                let _ = sock.send_to(&a, from).await;
            }
            drop(permit);
        });
    }
}

/// DNS over TCP on a redirected connection to port 53: length-prefixed queries, each answered as over UDP, until
/// the client ends or says nothing for 30 s.
pub async fn serve_tcp(gate: &Gate, mut c: TcpStream) {
    loop {
        let mut len = [0u8; 2];
        if !read_fully(&mut c, &mut len).await {
            return;
        }
        let n = u16::from_be_bytes(len) as usize;
        let mut msg = vec![0u8; n];
        if n == 0 || !read_fully(&mut c, &mut msg).await {
            return;
        }
        let Some(a) = answer(gate, &msg).await else {
            return;
        };
        let Some(framed) = dns_msg::tcp_frame(&a) else {
            return;
        };
        if c.write_all(&framed).await.is_err() {
            return;
        }
    }
}

async fn read_fully(c: &mut TcpStream, buf: &mut [u8]) -> bool {
    matches!(
        tokio::time::timeout(TCP_WAIT, c.read_exact(buf)).await,
        Ok(Ok(_))
    )
}
