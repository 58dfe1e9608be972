//! Replays the fuzz regression corpus (fuzz/regressions/<target>/*: inputs that once crashed
//! or hung a target, and hand-made hostile ones) through the same target bodies cargo-fuzz
//! runs (fuzz/src/targets.rs), so a fixed crash stays fixed on the stable toolchain.

#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        let data = std::fs::read(&path).expect("regression input");
        let t0 = std::time::Instant::now();
        body(&data);
        // libFuzzer's -timeout is 10 s; a regression replayed here must be far faster.
        assert!(
            t0.elapsed().as_secs() < 5,
            "{} took {:?}",
            path.display(),
            t0.elapsed()
        );
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

#[test]
fn gguf_stream() {
    replay("gguf_stream", targets::gguf_stream);
}

#[test]
fn model_load() {
    replay("model_load", targets::model_load);
}

#[test]
fn tokenizer() {
    replay("tokenizer", targets::tokenizer);
}

#[test]
fn sampler() {
    replay("sampler", targets::sampler);
}

#[test]
fn chat_template() {
    replay("chat_template", targets::chat_template);
}
