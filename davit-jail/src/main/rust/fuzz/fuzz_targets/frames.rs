//! The agent's frame and payload decoders on arbitrary bytes (`cargo +nightly fuzz run frames`); the corpus it keeps
//! in fuzz/corpus/frames is replayed by `cargo test` (tests/corpus.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| davit_agent::read_all(data));
