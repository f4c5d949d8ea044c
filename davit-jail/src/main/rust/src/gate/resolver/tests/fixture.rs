//! The fixtures of the resolver's tests (HostResolverTest's DnsFixture and DnsBytes): a tiny name server on threads
//! of its own, DNS messages written byte by byte, temporary directories.

use crate::gate::dns_msg::{self, Question, HEADER, NOERROR};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket as StdUdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What to send back to a query (nothing: stay silent): the question, the query, the client, whether over TCP.
pub(super) type Handler = dyn Fn(&Question, &[u8], SocketAddr, bool) -> Vec<Vec<u8>> + Send + Sync;

/// A tiny name server on a loopback address, UDP and TCP on the same port, answering as its handler says (a test
/// fixture: what is under test is the resolver asking it). Dropping it stops it.
pub(super) struct DnsFixture {
    pub(super) address: SocketAddrV4,
    pub(super) udp_queries: Arc<AtomicUsize>,
    pub(super) tcp_queries: Arc<AtomicUsize>,
    /// When positive, the TCP answers are written one byte per this many milliseconds.
    pub(super) trickle_millis: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl DnsFixture {
    /// A server on 127.0.0.1 on a free port.
    pub(super) fn start(
        handler: impl Fn(&Question, &[u8], SocketAddr, bool) -> Vec<Vec<u8>> + Send + Sync + 'static,
    ) -> DnsFixture {
        let handler: Arc<Handler> = Arc::new(handler);
        for i in 0.. {
            let u = StdUdpSocket::bind("127.0.0.1:0").unwrap();
            match DnsFixture::start_on(u, handler.clone()) {
                Ok(f) => return f,
                Err(e) if i == 20 => panic!("{e}"),
                Err(_) => {}
            }
        }
        unreachable!()
    }

    /// A server on `address` (its port given).
    pub(super) fn start_at(
        address: SocketAddrV4,
        handler: impl Fn(&Question, &[u8], SocketAddr, bool) -> Vec<Vec<u8>> + Send + Sync + 'static,
    ) -> io::Result<DnsFixture> {
        DnsFixture::start_on(StdUdpSocket::bind(address)?, Arc::new(handler))
    }

    fn start_on(udp: StdUdpSocket, handler: Arc<Handler>) -> io::Result<DnsFixture> {
        let SocketAddr::V4(address) = udp.local_addr()? else {
            unreachable!()
        };
        let tcp = TcpListener::bind(address)?;
        let f = DnsFixture {
            address,
            udp_queries: Arc::default(),
            tcp_queries: Arc::default(),
            trickle_millis: Arc::default(),
            stop: Arc::default(),
        };
        let (h, count, stop) = (handler.clone(), f.udp_queries.clone(), f.stop.clone());
        std::thread::spawn(move || serve_udp(udp, &*h, &count, &stop));
        let (count, trickle, stop) = (
            f.tcp_queries.clone(),
            f.trickle_millis.clone(),
            f.stop.clone(),
        );
        std::thread::spawn(move || serve_tcp(tcp, &*handler, &count, &trickle, &stop));
        Ok(f)
    }
}

impl Drop for DnsFixture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // wake both threads up: they see the stop and end (the TCP one after what it is doing)
        if let Ok(s) = StdUdpSocket::bind("127.0.0.1:0") {
            let _ = s.send_to(b"stop", self.address);
        }
        let _ = std::net::TcpStream::connect(self.address);
    }
}

pub(super) fn serve_udp(
    udp: StdUdpSocket,
    handler: &Handler,
    count: &AtomicUsize,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 4096];
    loop {
        let got = udp.recv_from(&mut buf);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((n, from)) = got else {
            continue; // a client gone: go on
        };
        let q = &buf[..n];
        let Some(question) = dns_msg::parse_query(q) else {
            continue;
        };
        count.fetch_add(1, Ordering::SeqCst);
        for r in handler(&question, q, from, false) {
            let _ = udp.send_to(&r, from);
        }
    }
}

pub(super) fn serve_tcp(
    tcp: TcpListener,
    handler: &Handler,
    count: &AtomicUsize,
    trickle: &AtomicU64,
    stop: &AtomicBool,
) {
    loop {
        let got = tcp.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok((mut c, from)) = got else {
            continue;
        };
        let _ = (|| -> io::Result<()> {
            c.set_read_timeout(Some(Duration::from_secs(5)))?;
            let mut len = [0u8; 2];
            c.read_exact(&mut len)?;
            let mut q = vec![0u8; dns_msg::tcp_frame_length(&len).unwrap_or(0)];
            c.read_exact(&mut q)?;
            let Some(question) = dns_msg::parse_query(&q) else {
                return Ok(());
            };
            count.fetch_add(1, Ordering::SeqCst);
            for r in handler(&question, &q, from, true) {
                let frame = dns_msg::tcp_frame(&r).unwrap();
                let t = trickle.load(Ordering::SeqCst);
                if t == 0 {
                    c.write_all(&frame)?;
                    continue;
                }
                for b in frame {
                    c.write_all(&[b])?;
                    c.flush()?;
                    std::thread::sleep(Duration::from_millis(t));
                }
            }
            c.flush()
        })();
    }
}

/// DNS messages written byte by byte, as a name server (or an attacker) would send them.
#[derive(Default)]
pub(super) struct DnsBytes(pub(super) Vec<u8>);

impl DnsBytes {
    pub(super) fn header(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> DnsBytes {
        let mut m = DnsBytes::default();
        for v in [id, flags, qd, an, ns, ar] {
            m = m.u16(v);
        }
        m
    }

    pub(super) fn u16(mut self, v: u16) -> DnsBytes {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    fn bytes(mut self, b: &[u8]) -> DnsBytes {
        self.0.extend_from_slice(b);
        self
    }

    /// A name as labels, ending in the root.
    pub(super) fn name(mut self, n: &str) -> DnsBytes {
        for l in n.split('.').filter(|l| !l.is_empty()) {
            self.0.push(l.len() as u8);
            self.0.extend_from_slice(l.as_bytes());
        }
        self.0.push(0);
        self
    }

    pub(super) fn pointer(self, off: u16) -> DnsBytes {
        self.u16(0xc000 | off)
    }

    /// A record's type, class IN, TTL and data, after its owner name.
    fn rr(self, rtype: u16, ttl: u32, data: &[u8]) -> DnsBytes {
        self.u16(rtype)
            .u16(1)
            .bytes(&ttl.to_be_bytes())
            .u16(data.len() as u16)
            .bytes(data)
    }

    /// An A record's type onwards.
    pub(super) fn a(self, ttl: u32, a: u8, b: u8, c: u8, d: u8) -> DnsBytes {
        self.rr(1, ttl, &[a, b, c, d])
    }

    /// A CNAME record's type onwards, its target written in full.
    pub(super) fn cname(self, ttl: u32, target: &str) -> DnsBytes {
        let t = DnsBytes::default().name(target).0;
        self.rr(5, ttl, &t)
    }
}

/// The answer with these A records (192.0.2.N, the question's name as owner) and this TTL.
pub(super) fn answer(q: &Question, query: &[u8], ttl: u32, last_octets: &[u8]) -> Vec<u8> {
    let mut m = DnsBytes::header(q.id, 0x8180, 1, last_octets.len() as u16, 0, 0)
        .bytes(&query[HEADER..q.question_end]);
    for &o in last_octets {
        m = m.pointer(12).a(ttl, 192, 0, 2, o);
    }
    m.0
}

pub(super) fn answering(
    ttl: u32,
    last_octet: u8,
) -> impl Fn(&Question, &[u8], SocketAddr, bool) -> Vec<Vec<u8>> {
    move |q, query, _, _| vec![answer(q, query, ttl, &[last_octet])]
}

pub(super) fn code(rcode: u8) -> impl Fn(&Question, &[u8], SocketAddr, bool) -> Vec<Vec<u8>> {
    move |q, query, _, _| vec![dns_msg::error(q, query, rcode)]
}

/// An empty answer with TC set, as a server sends when the answer does not fit.
pub(super) fn truncated(q: &Question, query: &[u8]) -> Vec<u8> {
    let mut tc = dns_msg::error(q, query, NOERROR);
    tc[2] |= 0x02;
    tc
}

pub(super) fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A directory of its own under the system's temporary one, removed when dropped.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("davit-resolver-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub(super) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to the file `name` in it: its path.
    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sets the file's modification time 10 s ahead, as a change the resolver must see whatever the clock's grain.
pub(super) fn touch_ahead(p: &Path) {
    let f = File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
}
