//! The gate's HTTP/1.x request head reader (the Host) and its first-flight helpers on arbitrary bytes
//! (`cargo +nightly fuzz run gate_http_head`); the corpus it keeps in fuzz/corpus/gate_http_head, seeded from
//! davit-network's Jazzer corpus, is replayed by `cargo test` (tests/gate_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = davit_agent::gate::fuzz::http_head(data);
});
