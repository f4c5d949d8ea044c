//! The gate's policy file reader and its verdicts on arbitrary bytes: a policy file, a NUL, then a port and a name
//! asked about (`cargo +nightly fuzz run gate_policy`); the corpus it keeps in fuzz/corpus/gate_policy is replayed by
//! `cargo test` (tests/gate_corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| davit_agent::gate::fuzz::policy(data));
