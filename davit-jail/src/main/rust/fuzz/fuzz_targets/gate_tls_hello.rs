//! The gate's TLS ClientHello reader (the SNI) on arbitrary bytes (`cargo +nightly fuzz run gate_tls_hello`); the
//! corpus it keeps in fuzz/corpus/gate_tls_hello, seeded from davit-network's Jazzer corpus, is replayed by
//! `cargo test` (tests/gate_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = davit_agent::gate::fuzz::tls_hello(data);
});
