//! The fuzz target's stored corpus (fuzz/corpus/frames), replayed without libFuzzer: no input panics the decoders.

#[test]
fn the_fuzz_corpus_decodes_without_a_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frames");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        davit_agent::read_all(&data);
        n += 1;
    }
    assert!(n >= 5, "only {n} inputs in {}", dir.display());
}
