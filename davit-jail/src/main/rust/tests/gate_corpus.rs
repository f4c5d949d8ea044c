//! The gate's fuzz targets' stored corpora (fuzz/corpus/gate_*, seeded from davit-network's Jazzer corpus),
//! replayed without libFuzzer: every input through its parser and NetworkFuzzTest's invariants (davit_agent::gate::fuzz),
//! and no more memory allocated than the input and the parsers' caps allow, as NetworkFuzzTest measures it.

use davit_agent::gate::{fuzz, tls_hello};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

/// The system allocator, counting what the calling thread allocates (each test runs on a thread of its own).
struct Counting;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size() as u64));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size as u64));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocated() -> u64 {
    ALLOCATED.with(Cell::get)
}

#[test]
fn the_counter_counts_this_threads_allocations() {
    let before = allocated();
    let v = std::hint::black_box(vec![0u8; 4096]);
    assert!(allocated() - before >= 4096);
    drop(v);
}

/// Each stored input of `fuzz/corpus/<target>`, after `at_least` of them are there.
fn corpus(target: &str, at_least: usize) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= at_least,
        "only {} inputs in {}",
        inputs.len(),
        dir.display()
    );
    inputs
}

/// Runs `check` on each input of `target`, and on each of its prefixes (a flight the gate reads as it comes), within
/// `bound(input length)` bytes allocated each time.
fn replay(target: &str, at_least: usize, bound: fn(u64) -> u64, check: fn(&[u8])) {
    for (name, data) in corpus(target, at_least) {
        for n in 0..=data.len() {
            let before = allocated();
            check(&data[..n]);
            let spent = allocated() - before;
            assert!(
                spent < bound(n as u64),
                "{name}, first {n} bytes: {spent} bytes allocated"
            );
        }
    }
}

#[test]
fn the_dns_corpus_keeps_the_invariants() {
    // each name read is at most 253 characters and each record takes at least 11 bytes of input
    replay("gate_dns", 4, |n| (1 << 20) + 256 * n, fuzz::dns);
}

#[test]
fn the_tls_hello_corpus_keeps_the_invariants() {
    replay(
        "gate_tls_hello",
        4,
        |n| 4 * tls_hello::MAX_HELLO as u64 + 16 * n,
        |b| {
            let _ = fuzz::tls_hello(b);
        },
    );
}

#[test]
fn the_http_head_corpus_keeps_the_invariants() {
    replay(
        "gate_http_head",
        5,
        |n| (64 << 10) + 16 * n,
        |b| {
            let _ = fuzz::http_head(b);
        },
    );
}

#[test]
fn the_policy_corpus_keeps_the_invariants() {
    replay("gate_policy", 4, |n| (1 << 20) + 256 * n, fuzz::policy);
}

/// What the Jazzer corpus's inputs are, so a parser that stopped reading them is noticed.
#[test]
fn the_seeds_read_as_they_did_in_the_jvm_gate() {
    use davit_agent::gate::{dns_msg, http_head};
    let seed = |target: &str, name: &str| {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus")
                .join(target)
                .join(name),
        )
        .unwrap()
    };
    assert_eq!(
        dns_msg::parse_query(&seed("gate_dns", "dig-query"))
            .unwrap()
            .name,
        "allowed.test"
    );
    assert_eq!(
        dns_msg::parse_query(&seed("gate_dns", "pointer-in-query")),
        None
    );
    let cname = seed("gate_dns", "cname-answer");
    let a = dns_msg::parse_answer(&cname, 7, "www.allowed.test").unwrap();
    assert_eq!(a.addresses, [std::net::Ipv4Addr::new(192, 0, 2, 7)]);
    assert_eq!(
        dns_msg::parse_answer(&seed("gate_dns", "pointer-loop"), 1, "a.test"),
        None
    );
    for name in ["jdk-tls12", "jdk-tls13", "jdk-tls13-two-records"] {
        assert_eq!(
            tls_hello::sni(&seed("gate_tls_hello", name)),
            tls_hello::Hello::Sni("allowed.test".into())
        );
    }
    assert_eq!(
        http_head::host(&seed("gate_http_head", "bare-lf")),
        http_head::Head::NotHttp
    );
    assert_eq!(
        http_head::host(&seed("gate_http_head", "curl")),
        http_head::Head::Host {
            name: "allowed.test".into(),
            port: None
        }
    );
    assert!(matches!(
        http_head::host(&seed("gate_http_head", "two-hosts")),
        http_head::Head::Invalid(_)
    ));
    assert!(matches!(
        http_head::host(&seed("gate_http_head", "absolute-conflict")),
        http_head::Head::Invalid(_)
    ));
    assert_eq!(
        http_head::host(&seed("gate_http_head", "connect-v6")),
        http_head::Head::Host {
            name: "2001:db8::1".into(),
            port: Some(443)
        }
    );
}
