//! Writers of the files llama.cpp reads when it records our fixtures: the synthetic models
//! (`support::synthetic_models`) and the synthetic tokenizer vocabularies (`support::vocabs`).
//! They are test code, so they live here as ignored tests rather than as examples including test
//! sources; the oracle scripts run them:
//!
//!     WASM_CHORD_FIXTURE_DIR=DIR cargo test --test fixture_writers -- --ignored --exact synthetic_models
//!     WASM_CHORD_FIXTURE_DIR=DIR cargo test --test fixture_writers -- --ignored --exact tokenizer_vocabs
//!
//! `synthetic_models` writes `DIR/manifest.jsonl`, one line per model:
//! `{"variant", "file", "path", "bytes", "sha256", "tokenizer"}` (`tokenizer.ggml.model`); with `WASM_CHORD_FIXTURE_STATS=1` it also
//! prints, per tensor, its type and the mean and standard deviation of its dequantized values (to
//! check the generators' scaling). `tokenizer_vocabs` defaults to tests/fixtures/tokenizer.
//! Both are deterministic: rerunning rewrites identical bytes.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use wasm_chord::gguf::GgufFile;
use wasm_chord::quant::dequantize;

fn out_dir(default: Option<&str>) -> PathBuf {
    match (std::env::var_os("WASM_CHORD_FIXTURE_DIR"), default) {
        (Some(d), _) => PathBuf::from(d),
        (None, Some(d)) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d),
        (None, None) => panic!("set WASM_CHORD_FIXTURE_DIR to the output directory"),
    }
}

#[test]
#[ignore = "writes fixture inputs; run by scripts/oracle/model-fixtures.mjs"]
fn synthetic_models() {
    let dir = out_dir(None);
    let stats = std::env::var_os("WASM_CHORD_FIXTURE_STATS").is_some();
    let written = support::synthetic_models::write_all(&dir)
        .unwrap_or_else(|e| panic!("writing to {}: {e}", dir.display()));
    let mut manifest = String::new();
    for (variant, path, sha) in &written {
        let bytes = std::fs::read(path).expect("file just written");
        let line = serde_json::json!({
            "variant": variant.name,
            "file": variant.file_name(),
            "path": path.display().to_string(),
            "bytes": bytes.len(),
            "sha256": sha,
            "tokenizer": variant.family().vocab().model(),
        });
        writeln!(manifest, "{line}").expect("writing to a String");
        if stats {
            print_stats(variant.name, &bytes);
        }
    }
    let path = dir.join("manifest.jsonl");
    std::fs::write(&path, manifest).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

#[test]
#[ignore = "writes fixture inputs; run by scripts/oracle/make_tokenizer_fixtures.mjs"]
fn tokenizer_vocabs() {
    let dir = out_dir(Some("tests/fixtures/tokenizer"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    for (name, bytes) in support::vocabs::all() {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}

fn print_stats(name: &str, bytes: &[u8]) {
    let file = GgufFile::parse(bytes).expect("generated file parses");
    eprintln!("== {name}");
    for info in &file.header().tensors {
        let view = file
            .tensor(&info.name)
            .expect("tensor listed in the header");
        let n: u64 = info.dims.iter().product();
        let mut out = vec![0f32; n as usize];
        dequantize(info.ty, view.bytes, &mut out).expect("valid tensor data");
        let mean = out.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let var = out
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        eprintln!(
            "  {:<28} {:<5} {:>12} mean {:+.5} std {:.5}",
            info.name,
            info.ty.name(),
            format!("{:?}", info.dims),
            mean,
            var.sqrt()
        );
    }
}

/// Seeds for the fuzz targets (`npm run fuzz` writes them to fuzz/seeds before a run): tiny
/// models of each graph family for `model_load` (n_embd 32 so a mutation costs microseconds),
/// and the same files for `gguf_stream`.
#[test]
#[ignore = "writes fuzz seeds; run by scripts/fuzz.sh"]
fn fuzz_seeds() {
    let dir = out_dir(None);
    for target in ["model_load", "gguf_stream"] {
        std::fs::create_dir_all(dir.join(target)).expect("seed dir");
    }
    let small = |t: support::engine::Tiny| support::engine::Tiny {
        n_embd: 32,
        n_head: 2,
        n_head_kv: 1,
        n_ff: 64,
        n_ctx_train: 64,
        ..t
    };
    let tinies = [
        ("llama", small(support::engine::Tiny::llama())),
        ("gemma3", small(support::engine::Tiny::gemma3())),
        ("gemma2", small(support::engine::Tiny::gemma2())),
        ("qwen2", small(support::engine::Tiny::qwen2())),
        ("qwen3", small(support::engine::Tiny::qwen3())),
    ];
    for (name, t) in tinies {
        let bytes = t.writer().to_bytes();
        wasm_chord::gguf::LoadedGguf::from_bytes(bytes.clone()).expect("seed parses");
        std::fs::write(dir.join("model_load").join(name), &bytes).expect("seed written");
        let mut chunked = vec![7u8];
        chunked.extend_from_slice(&bytes);
        std::fs::write(dir.join("gguf_stream").join(name), &chunked).expect("seed written");
        println!("{name}: {} bytes", bytes.len());
    }
}
