//! Each architecture-specific part of the synthetic models matters: with it removed (biases
//! zeroed, a soft-cap or the sliding window made ineffective, head norms set to 1) the greedy
//! tokens are no longer llama.cpp's, while the unmodified file reproduces them
//! (tests/engine_conformance.rs). So the conformance of these parts is not vacuous.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::Arc;

use support::engine::oracle;
use support::synthetic_models::variant;
use wasm_chord::gguf::{GgufFile, LoadedGguf};
use wasm_chord::model::{KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::sampler::argmax;

/// Greedy tokens of the fixture's first case on `bytes` (as many as the fixture has).
fn greedy(bytes: Vec<u8>, fixture: &str) -> (Vec<u32>, Vec<u32>) {
    let fx = oracle(fixture);
    let case = &fx.cases[0];
    let g = LoadedGguf::from_bytes(bytes).expect("parses");
    let model = Arc::new(Model::load(g, &ModelOptions::default()).expect("loads"));
    let opts = SessionOptions {
        n_ctx: fx.n_ctx,
        kv_type: KvType::F32,
        ..SessionOptions::default()
    };
    let mut s = Session::new(model, &opts).expect("session");
    let mut logits = s.prefill(&case.prompt_tokens).expect("prefill").to_vec();
    let mut out = Vec::new();
    for _ in 0..case.greedy_tokens.len() {
        let t = argmax(&logits).unwrap();
        out.push(t);
        logits = s.decode(t).expect("decode").to_vec();
    }
    (out, case.greedy_tokens.clone())
}

/// The variant's file with `edit` applied to the data of every tensor whose name matches.
fn with_tensors(name: &str, matches: impl Fn(&str) -> bool, edit: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut bytes = (variant(name).expect("variant").build)();
    let ranges: Vec<_> = {
        let file = GgufFile::parse(&bytes).expect("parses");
        let start = file.header().data_start;
        file.header()
            .tensors
            .iter()
            .filter(|t| matches(&t.name))
            .map(|t| t.abs_range(start))
            .collect()
    };
    assert!(!ranges.is_empty(), "{name}: no tensor matched");
    for r in ranges {
        edit(&mut bytes[r.start as usize..r.end as usize]);
    }
    bytes
}

/// The variant's file with the f32 value of metadata key `key` replaced by `v`.
fn with_f32_key(name: &str, key: &str, v: f32) -> Vec<u8> {
    let mut bytes = (variant(name).expect("variant").build)();
    let at = find(&bytes, key.as_bytes()).unwrap_or_else(|| panic!("{key} not in the file"));
    // key bytes, then the u32 value type (6: f32), then the value.
    let ty = at + key.len();
    assert_eq!(bytes[ty..ty + 4], 6u32.to_le_bytes(), "{key} is an f32");
    bytes[ty + 4..ty + 8].copy_from_slice(&v.to_le_bytes());
    bytes
}

/// The variant's file with the u32 value of metadata key `key` replaced by `v`.
fn with_u32_key(name: &str, key: &str, v: u32) -> Vec<u8> {
    let mut bytes = (variant(name).expect("variant").build)();
    let at = find(&bytes, key.as_bytes()).unwrap_or_else(|| panic!("{key} not in the file"));
    let ty = at + key.len();
    assert_eq!(bytes[ty..ty + 4], 4u32.to_le_bytes(), "{key} is a u32");
    bytes[ty + 4..ty + 8].copy_from_slice(&v.to_le_bytes());
    bytes
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn assert_differs(what: &str, bytes: Vec<u8>, fixture: &str) {
    let (ours, theirs) = greedy(bytes, fixture);
    let same = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    println!(
        "{what}: greedy agrees with llama.cpp for {same}/{} tokens",
        theirs.len()
    );
    assert_ne!(ours, theirs, "{what}: the greedy tokens did not change");
}

#[test]
fn unmodified_files_reproduce_llama_cpp() {
    for name in ["qwen2", "qwen3", "gemma2"] {
        let bytes = (variant(name).unwrap().build)();
        let (ours, theirs) = greedy(bytes, &format!("synthetic-{name}.json"));
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
fn qwen2_biases_matter() {
    let zeroed = with_tensors("qwen2", |n| n.ends_with(".bias"), |d| d.fill(0));
    assert_differs(
        "qwen2 with zeroed q/k/v biases",
        zeroed,
        "synthetic-qwen2.json",
    );
}

#[test]
fn qwen3_head_norm_weights_matter() {
    let ones = with_tensors(
        "qwen3",
        |n| n.ends_with("attn_q_norm.weight") || n.ends_with("attn_k_norm.weight"),
        |d| {
            for c in d.chunks_exact_mut(4) {
                c.copy_from_slice(&1.0f32.to_le_bytes());
            }
        },
    );
    assert_differs(
        "qwen3 with unit head-norm weights",
        ones,
        "synthetic-qwen3.json",
    );
}

#[test]
fn gemma2_soft_caps_and_window_matter() {
    let fx = "synthetic-gemma2.json";
    let no_cap = with_f32_key("gemma2", "gemma2.attn_logit_softcapping", 1e30);
    assert_differs("gemma2 without the attention soft-cap", no_cap, fx);
    let no_window = with_u32_key("gemma2", "gemma2.attention.sliding_window", 1 << 20);
    assert_differs("gemma2 without the sliding window", no_window, fx);
}
