//! HostResolverTest's cases: the resolver against real name servers on loopback addresses (DnsFixture: UDP and TCP,
//! on threads of their own), real hosts and resolv.conf files: answers, caches, silence, spoofed replies, truncation,
//! CNAME chains; and the parsers and the cache's bound on their own.

mod fixture;

use super::*;
use crate::gate::dns_msg::{REFUSED, SERVFAIL};
use fixture::*;
use std::io::Write;
use std::net::UdpSocket as StdUdpSocket;
use std::sync::atomic::Ordering;

/// A resolver asking `servers` with this time per try and 2 attempts, with the hosts file of `dir` (written with
/// localhost alone unless it is there).
fn resolver(dir: &TempDir, timeout_ms: u64, servers: &[&DnsFixture]) -> Resolver {
    let hosts = dir.join("hosts");
    if !hosts.exists() {
        std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    }
    Resolver::with_servers(
        hosts,
        servers.iter().map(|f| f.address).collect(),
        timeout_ms,
        2,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn resolves_through_the_server_and_caches_the_answer() {
    let dir = TempDir::new();
    let f = DnsFixture::start(answering(60, 1));
    let r = resolver(&dir, 2000, &[&f]);
    let got = r.resolve("Allowed.Test.").await;
    assert_eq!(got.error, None);
    assert_eq!(got.addresses, [ip("192.0.2.1")]);
    assert!((1..=60).contains(&got.ttl_seconds), "{got:?}");
    assert!(!got.nxdomain);
    assert_eq!(r.resolve("allowed.test").await.addresses, [ip("192.0.2.1")]);
    assert_eq!(f.udp_queries.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn ttls_are_capped_and_floored() {
    let dir = TempDir::new();
    let big = DnsFixture::start(answering(100_000, 1));
    let zero = DnsFixture::start(answering(0, 2));
    let got = resolver(&dir, 2000, &[&big]).resolve("a.test").await;
    assert_eq!(got.ttl_seconds, MAX_TTL);
    let got = resolver(&dir, 2000, &[&zero]).resolve("a.test").await;
    assert_eq!(got.ttl_seconds, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn nxdomain_and_nodata_are_cached_negatively() {
    let dir = TempDir::new();
    let nx = DnsFixture::start(code(NXDOMAIN));
    let nodata = DnsFixture::start(|q, query, _, _| vec![dns_msg::answer_a(q, query, &[], 60)]);
    let r = resolver(&dir, 2000, &[&nx]);
    for _ in 0..3 {
        let got = r.resolve("denied.test").await;
        assert!(got.nxdomain);
        assert_eq!(got.error, None);
        assert!(got.addresses.is_empty());
        assert!((1..=NEGATIVE_TTL).contains(&got.ttl_seconds), "{got:?}");
    }
    assert_eq!(nx.udp_queries.load(Ordering::SeqCst), 1);
    let r2 = resolver(&dir, 2000, &[&nodata]);
    let want = Resolved {
        addresses: vec![],
        ttl_seconds: 30,
        nxdomain: false,
        error: None,
    };
    assert_eq!(r2.resolve("v6.test").await, want);
    r2.resolve("v6.test").await;
    assert_eq!(nodata.udp_queries.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_never_answers_ends_in_an_error_and_the_next_server_is_asked() {
    let dir = TempDir::new();
    let silent = DnsFixture::start(|_, _, _, _| vec![]);
    let ok = DnsFixture::start(answering(60, 3));
    let got = resolver(&dir, 200, &[&silent])
        .resolve("allowed.test")
        .await;
    assert!(got.addresses.is_empty());
    assert!(!got.nxdomain);
    let e = got.error.unwrap();
    let port = silent.address.port();
    assert!(
        e.starts_with(&format!("no answer from 127.0.0.1:{port} within ")),
        "{e}"
    );
    assert!(e.ends_with(" ms"), "{e}");
    assert_eq!(silent.udp_queries.load(Ordering::SeqCst), 2, "attempts:2");
    let again = resolver(&dir, 200, &[&silent])
        .resolve("allowed.test")
        .await;
    assert!(again.error.is_some(), "failures are not cached");

    let got = resolver(&dir, 200, &[&silent, &ok])
        .resolve("allowed.test")
        .await;
    assert_eq!(got.addresses, [ip("192.0.2.3")]);
}

#[tokio::test(flavor = "current_thread")]
async fn servfail_and_refused_go_on_to_the_next_server() {
    let dir = TempDir::new();
    let fail = DnsFixture::start(code(SERVFAIL));
    let refuse = DnsFixture::start(code(REFUSED));
    let ok = DnsFixture::start(answering(60, 4));
    let got = resolver(&dir, 2000, &[&fail, &refuse, &ok])
        .resolve("allowed.test")
        .await;
    assert_eq!(got.addresses, [ip("192.0.2.4")]);
    let got = resolver(&dir, 2000, &[&fail, &refuse])
        .resolve("allowed.test")
        .await;
    let port = refuse.address.port();
    assert_eq!(
        got.error,
        Some(format!("127.0.0.1:{port} answered with response code 5"))
    );
    assert!(!got.nxdomain);
}

#[tokio::test(flavor = "current_thread")]
async fn spoofed_replies_are_ignored() {
    let dir = TempDir::new();
    let spoofer = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    let f = DnsFixture::start(move |q, query, client, _| {
        // another ID, another question, a reply from another port with the right ID: then the answer
        let mut wrong_id = answer(q, query, 60, &[66]);
        wrong_id[1] ^= 1;
        let other = dns_msg::query_a(q.id, "denied.test").unwrap();
        let oq = dns_msg::parse_query(&other).unwrap();
        let wrong_question = answer(&oq, &other, 60, &[67]);
        spoofer
            .send_to(&answer(q, query, 60, &[68]), client)
            .unwrap();
        vec![wrong_id, wrong_question, answer(q, query, 60, &[5])]
    });
    for i in 0..5 {
        let got = resolver(&dir, 2000, &[&f])
            .resolve(&format!("allowed{i}.test"))
            .await;
        assert_eq!(got.addresses, [ip("192.0.2.5")], "{got:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let dir = TempDir::new();
    let f = DnsFixture::start(|q, query, _, tcp| {
        if tcp {
            vec![answer(q, query, 60, &[6, 7])]
        } else {
            vec![truncated(q, query)]
        }
    });
    let got = resolver(&dir, 2000, &[&f]).resolve("many.test").await;
    assert_eq!(got.addresses, [ip("192.0.2.6"), ip("192.0.2.7")]);
    assert_eq!(f.tcp_queries.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_tcp_server_that_hangs_ends_in_an_error_too() {
    let dir = TempDir::new();
    let f = DnsFixture::start(|q, query, _, tcp| {
        if tcp {
            std::thread::sleep(Duration::from_secs(5));
            vec![]
        } else {
            vec![truncated(q, query)]
        }
    });
    let got = resolver(&dir, 300, &[&f]).resolve("many.test").await;
    assert_no_tcp_answer(&got, &f);
}

#[tokio::test(flavor = "current_thread")]
async fn a_tcp_server_that_trickles_its_answer_has_no_more_time_than_one_try() {
    let dir = TempDir::new();
    let f = DnsFixture::start(|q, query, _, tcp| {
        if tcp {
            vec![answer(q, query, 60, &[11])]
        } else {
            vec![truncated(q, query)]
        }
    });
    // each byte well within the time per try, the whole answer (46 bytes) not
    f.trickle_millis.store(150, Ordering::SeqCst);
    let hosts = dir.write("hosts", "");
    let got = Resolver::with_servers(hosts, vec![f.address], 1000, 1)
        .resolve("many.test")
        .await;
    assert_no_tcp_answer(&got, &f);
}

#[tokio::test(flavor = "current_thread")]
async fn a_closed_port_is_an_error() {
    let dir = TempDir::new();
    let gone = {
        let c = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        let SocketAddr::V4(a) = c.local_addr().unwrap() else {
            unreachable!()
        };
        a
    };
    let hosts = dir.write("hosts", "");
    let got = Resolver::with_servers(hosts, vec![gone], 2000, 1)
        .resolve("allowed.test")
        .await;
    assert!(got.addresses.is_empty());
    let e = got.error.unwrap();
    let want = format!("cannot ask 127.0.0.1:{}: ", gone.port());
    assert!(e.starts_with(&want), "{e}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cname_chain_is_followed() {
    let dir = TempDir::new();
    let f = DnsFixture::start(|q, _, _, _| {
        vec![
            DnsBytes::header(q.id, 0x8180, 1, 3, 0, 0)
                .name(&q.name)
                .u16(1)
                .u16(1)
                .name("evil.test")
                .a(60, 6, 6, 6, 6)
                .pointer(12)
                .cname(120, "cdn.test")
                .name("cdn.test")
                .a(40, 192, 0, 2, 8)
                .0,
        ]
    });
    let got = resolver(&dir, 2000, &[&f])
        .resolve("www.allowed.test")
        .await;
    assert_eq!(got.addresses, [ip("192.0.2.8")]);
    assert!((1..=40).contains(&got.ttl_seconds), "{got:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_hosts_file_comes_first_and_is_read_again_when_it_changes() {
    let dir = TempDir::new();
    let hosts = dir.write(
        "hosts",
        "# a comment\n\
         127.0.0.1\tlocalhost\n\
         192.0.2.10  Host-A.test alias.test   # a trailing comment\n\
         ::1 v6only.test localhost6\n\
         192.0.2.11 host-a.test.\n\
         not-an-address b.test\n\
         192.0.2 c.test\n\
         #192.0.2.12 commented.test\n",
    );
    let f = DnsFixture::start(answering(60, 99));
    let r = resolver(&dir, 2000, &[&f]);
    let want = Resolved {
        addresses: vec![ip("192.0.2.10"), ip("192.0.2.11")],
        ttl_seconds: HOSTS_TTL,
        nxdomain: false,
        error: None,
    };
    assert_eq!(r.resolve("HOST-A.test.").await, want);
    assert_eq!(r.resolve("alias.test").await.addresses, [ip("192.0.2.10")]);
    assert_eq!(r.resolve("localhost").await.addresses, [ip("127.0.0.1")]);
    assert_eq!(f.udp_queries.load(Ordering::SeqCst), 0);
    let v6 = r.resolve("v6only.test").await;
    assert_eq!(v6.addresses, [ip("192.0.2.99")], "an IPv6 entry only: DNS");
    let commented = r.resolve("commented.test").await;
    assert_eq!(commented.addresses, [ip("192.0.2.99")]);

    std::fs::write(&hosts, "192.0.2.20 new.test host-a.test\n").unwrap();
    touch_ahead(&hosts);
    assert_eq!(r.resolve("host-a.test").await.addresses, [ip("192.0.2.20")]);
    assert_eq!(r.resolve("new.test").await.addresses, [ip("192.0.2.20")]);
    assert_eq!(r.resolve("alias.test").await.addresses, [ip("192.0.2.99")]);
}

#[test]
fn resolv_conf_is_read_as_glibc_reads_it_and_again_when_it_changes() {
    let s = parse_resolv_conf(
        "# generated\n\
         search corp.example\n\
         nameserver 192.0.2.53 # first\n\
         nameserver 2001:db8::53\n\
         ; a comment\n\
         nameserver\t198.51.100.53\n\
         nameserver not-an-address\n\
         nameserver 203.0.113.53\n\
         nameserver 203.0.113.54\n\
         options ndots:5 timeout:99 attempts:0 rotate\n",
    );
    let ns = |a: &str| SocketAddrV4::new(ip(a), 53);
    assert_eq!(
        s.addresses,
        [ns("192.0.2.53"), ns("198.51.100.53"), ns("203.0.113.53")]
    );
    assert_eq!(s.timeout_ms, 30_000);
    assert_eq!(s.attempts, 1);
    let servers = |a: &str, timeout_ms, attempts| Servers {
        addresses: vec![ns(a)],
        timeout_ms,
        attempts,
    };
    assert_eq!(parse_resolv_conf(""), servers("127.0.0.1", 2000, 2));
    assert_eq!(
        parse_resolv_conf("options timeout:3 attempts:4\nnameserver 192.0.2.1\n"),
        servers("192.0.2.1", 3000, 4)
    );

    let dir = TempDir::new();
    let conf = dir.write("resolv.conf", "nameserver 192.0.2.1\n");
    let r = Resolver::new(dir.join("no-hosts"), conf.clone());
    assert_eq!(r.servers().addresses, [ns("192.0.2.1")]);
    std::fs::write(&conf, "nameserver 192.0.2.2\noptions timeout:1\n").unwrap();
    touch_ahead(&conf);
    assert_eq!(r.servers(), servers("192.0.2.2", 1000, 2));
    std::fs::remove_file(&conf).unwrap();
    assert_eq!(
        r.servers(),
        servers("127.0.0.1", 2000, 2),
        "gone: the defaults"
    );
}

#[test]
fn options_take_one_to_four_digits_within_their_bounds() {
    let opts = |o: &str| {
        let s = parse_resolv_conf(&format!("options {o}\n"));
        (s.timeout_ms, s.attempts)
    };
    assert_eq!(opts("timeout:7 attempts:3"), (7000, 3));
    assert_eq!(opts("timeout:0030 attempts:0005"), (30_000, 5));
    for bad in [
        "timeout: attempts:",
        "timeout:12345",
        "timeout:-1",
        "timeout:1x",
        "timeout:١",
    ] {
        assert_eq!(opts(bad), (2000, 2), "{bad}");
    }
    assert_eq!(
        opts("timeout:1;0 attempts:9"),
        (1000, 2),
        "';' starts a comment"
    );
    assert_eq!(
        opts("timeout:3 timeout:4 attempts:1"),
        (4000, 1),
        "the last one wins"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_file_based_resolver_asks_the_server_resolv_conf_names() {
    // resolv.conf has no port: a server on port 53 of a loopback address of its own (binding it needs root)
    let [a, b] = random_id().to_be_bytes();
    let at = SocketAddrV4::new(Ipv4Addr::new(127, 53, a.max(1), b.max(1)), 53);
    let f = match DnsFixture::start_at(at, answering(60, 9)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("skipped: cannot bind {at}: {e}");
            return;
        }
    };
    let dir = TempDir::new();
    let conf = dir.write(
        "resolv.conf",
        &format!(
            "search example.org\noptions ndots:9\nnameserver {}\n",
            at.ip()
        ),
    );
    let r = Resolver::new(dir.join("missing-hosts"), conf);
    assert_eq!(r.resolve("allowed.test").await.addresses, [ip("192.0.2.9")]);
    drop(f);
}

#[tokio::test(flavor = "current_thread")]
async fn bad_names_and_many_tasks_and_threads() {
    let dir = TempDir::new();
    let f = DnsFixture::start(answering(60, 10));
    let r = Arc::new(resolver(&dir, 2000, &[&f]));
    for bad in ["a..test", "", ".", "a b.test", &"x".repeat(64)] {
        assert_eq!(
            r.resolve(bad).await,
            Resolved::failed("not a DNS name".into()),
            "{bad}"
        );
    }
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move { r.resolve(&format!("n{}.test", i % 8)).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().addresses, [ip("192.0.2.10")]);
    }
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let r = r.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                (0..8)
                    .map(|j| rt.block_on(r.resolve(&format!("t{}.test", (i + j) % 8))))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for got in t.join().unwrap() {
            assert_eq!(got.addresses, [ip("192.0.2.10")]);
        }
    }
}

#[test]
fn the_resolver_and_its_futures_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let r = Resolver::new(PathBuf::from("/nonexistent"), PathBuf::from("/nonexistent"));
    send_sync(&r);
    send(&r.resolve("a.test"));
}

#[test]
fn ipv4_takes_dotted_quads_only() {
    for (s, want) in [
        ("192.0.2.1", Ipv4Addr::new(192, 0, 2, 1)),
        ("0.0.0.0", Ipv4Addr::UNSPECIFIED),
        ("255.255.255.255", Ipv4Addr::BROADCAST),
        ("001.02.3.004", Ipv4Addr::new(1, 2, 3, 4)),
    ] {
        assert_eq!(ipv4(s), Some(want), "{s}");
    }
    for bad in [
        "",
        ".",
        "1.2.3",
        "1.2.3.4.5",
        "1..2.3",
        ".1.2.3",
        "1.2.3.",
        "256.0.0.1",
        "1.2.3.300",
        "0001.2.3.4",
        "1.2.3.4 ",
        "+1.2.3.4",
        "1.2.3.-4",
        "0x7f.0.0.1",
        "١.2.3.4",
        "::1",
    ] {
        assert_eq!(ipv4(bad), None, "{bad}");
    }
}

#[test]
fn hosts_entries_keep_the_file_order_once_each() {
    let m = parse_hosts(
        "192.0.2.2 b.test A.test\r\n\
         192.0.2.1 a.test\n\
         192.0.2.2\ta.test. a.test\n\
         192.0.2.3\n\
         192.0.2.4 bad..name ok.test#c.test\n\
         \u{e9}.0.2.5 e.test\n",
    );
    assert_eq!(m["a.test"], [ip("192.0.2.2"), ip("192.0.2.1")]);
    assert_eq!(m["b.test"], [ip("192.0.2.2")]);
    assert_eq!(m["ok.test"], [ip("192.0.2.4")]);
    assert_eq!(m.len(), 3, "{m:?}");
}

#[test]
fn files_are_read_up_to_one_mebibyte() {
    let dir = TempDir::new();
    let p = dir.join("hosts");
    let mut f = File::create(&p).unwrap();
    f.write_all(b"192.0.2.1 early.test\n").unwrap();
    let filler = MAX_FILE as usize - 21 - 21;
    f.write_all(&vec![b'#'; filler - 1]).unwrap();
    f.write_all(b"\n192.0.2.2 edge.test\n192.0.2.3 late.test\n")
        .unwrap();
    drop(f);
    let text = read(&p);
    assert_eq!(text.len() as u64, MAX_FILE);
    let m = parse_hosts(&text);
    assert_eq!(m["early.test"], [ip("192.0.2.1")]);
    assert_eq!(m["edge.test"], [ip("192.0.2.2")]);
    assert!(!m.contains_key("late.test"), "beyond the first MiB");
    assert_eq!(read(&dir.join("missing")), "");
    assert_eq!(read(&dir.0), "", "a directory");
    std::fs::write(&p, b"192.0.2.9 caf\xe9.test x.test\n").unwrap();
    assert_eq!(
        parse_hosts(&read(&p)).len(),
        1,
        "ISO-8859-1, and é is no DNS name"
    );
}

#[test]
fn the_cache_drops_the_expired_names_when_full_and_else_all() {
    let now = Instant::now();
    let r = |n: u32| Resolved {
        addresses: vec![Ipv4Addr::from(n)],
        ttl_seconds: 60,
        nxdomain: false,
        error: None,
    };
    let mut cache = HashMap::new();
    for i in 0..MAX_CACHE as u32 {
        let expires = if i % 2 == 0 {
            now
        } else {
            now + Duration::from_secs(60)
        };
        store(&mut cache, format!("n{i}.test"), r(i), now, expires);
    }
    assert_eq!(cache.len(), MAX_CACHE);
    store(
        &mut cache,
        "new.test".into(),
        r(1),
        now,
        now + Duration::from_secs(60),
    );
    assert_eq!(cache.len(), MAX_CACHE / 2 + 1, "the expired ones went");
    assert!(cache.contains_key("n1.test") && !cache.contains_key("n0.test"));
    for i in 0..MAX_CACHE as u32 {
        store(
            &mut cache,
            format!("m{i}.test"),
            r(i),
            now,
            now + Duration::from_secs(60),
        );
    }
    assert!(cache.len() < MAX_CACHE, "none expired: all went");
    assert!(cache.contains_key(&format!("m{}.test", MAX_CACHE - 1)));
}

/// Asserts that `got` is the failure of a TCP try to `f` that ran out of time.
fn assert_no_tcp_answer(got: &Resolved, f: &DnsFixture) {
    assert!(got.addresses.is_empty());
    let e = got.error.as_deref().unwrap_or_default();
    let port = f.address.port();
    assert!(
        e.starts_with(&format!("no answer over TCP from 127.0.0.1:{port} within ")),
        "{e}"
    );
}
