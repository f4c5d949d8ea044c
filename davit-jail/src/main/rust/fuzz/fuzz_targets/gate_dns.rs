//! The gate's DNS message parsers on arbitrary bytes, as a sandbox's query and as a name server's answer
//! (`cargo +nightly fuzz run gate_dns`); the corpus it keeps in fuzz/corpus/gate_dns, seeded from davit-network's
//! Jazzer corpus, is replayed by `cargo test` (tests/gate_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| davit_agent::gate::fuzz::dns(data));
