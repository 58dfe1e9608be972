//! Writes the synthetic tokenizer vocabularies (vocab-only GGUF files) that llama.cpp and our
//! conformance tests both read: `cargo run --example make_tokenizer_fixtures [-- DIR]`
//! (default tests/fixtures/tokenizer). Then `node scripts/oracle/make_tokenizer_fixtures.mjs`
//! records llama.cpp's answers for them. Deterministic: rerunning rewrites identical bytes.

#[path = "../tests/support/vocabs.rs"]
mod vocabs;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/fixtures/tokenizer".into());
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {dir}: {e}"));
    for (name, bytes) in vocabs::all() {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
