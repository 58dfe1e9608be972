//! Each architecture-specific part of the synthetic models matters: with it removed (biases
//! zeroed, a soft-cap or the sliding window made ineffective, head norms or RoPE factors set
//! to 1, Phi-3's RoPE attention factor set to 1) the greedy
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
    greedy_ctx(bytes, fixture, None)
}

/// [`greedy`] in a session of `n_ctx` positions (default: the fixture's).
fn greedy_ctx(bytes: Vec<u8>, fixture: &str, n_ctx: Option<usize>) -> (Vec<u32>, Vec<u32>) {
    let fx = oracle(fixture);
    let case = &fx.cases[0];
    let g = LoadedGguf::from_bytes(bytes).expect("parses");
    let model = Arc::new(Model::load(g, &ModelOptions::default()).expect("loads"));
    let opts = SessionOptions {
        n_ctx: n_ctx.unwrap_or(fx.n_ctx),
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

/// GGUF value type ids of the scalar keys edited here.
const TYPE_U32: u32 = 4;
const TYPE_F32: u32 = 6;

/// The variant's file with the 4-byte value of metadata key `key` (of type `ty`) replaced.
fn with_key(name: &str, key: &str, ty: u32, value: [u8; 4]) -> Vec<u8> {
    let mut bytes = (variant(name).expect("variant").build)();
    let at = find(&bytes, key.as_bytes()).unwrap_or_else(|| panic!("{key} not in the file"));
    // The key's bytes, then its u32 value type, then the value.
    let t = at + key.len();
    assert_eq!(bytes[t..t + 4], ty.to_le_bytes(), "{key}: value type");
    bytes[t + 4..t + 8].copy_from_slice(&value);
    bytes
}

/// Sets every f32 of a tensor's data to 1.
fn fill_ones(d: &mut [u8]) {
    for c in d.chunks_exact_mut(4) {
        c.copy_from_slice(&1.0f32.to_le_bytes());
    }
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
    for name in ["qwen2", "qwen3", "gemma2", "llama3", "phi3"] {
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
        fill_ones,
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
    let key = "gemma2.attn_logit_softcapping";
    let no_cap = with_key("gemma2", key, TYPE_F32, 1e30f32.to_le_bytes());
    assert_differs("gemma2 without the attention soft-cap", no_cap, fx);
    let key = "gemma2.attention.sliding_window";
    let no_window = with_key("gemma2", key, TYPE_U32, (1u32 << 20).to_le_bytes());
    assert_differs("gemma2 without the sliding window", no_window, fx);
}

#[test]
fn llama3_rope_factors_matter() {
    let ones = with_tensors("llama3", |n| n == "rope_freqs.weight", fill_ones);
    assert_differs(
        "llama3 with unit RoPE factors",
        ones,
        "synthetic-llama3.json",
    );
}

#[test]
fn phi3_longrope_matters() {
    let fx = "synthetic-phi3.json";
    let ones = with_tensors("phi3", |n| n == "rope_factors_long.weight", fill_ones);
    assert_differs("phi3 with unit long RoPE factors", ones, fx);
    let key = "phi3.rope.scaling.attn_factor";
    let unit = with_key("phi3", key, TYPE_F32, 1f32.to_le_bytes());
    assert_differs("phi3 with RoPE attention factor 1", unit, fx);
}

/// LongRoPE's factors follow the session's context, as llama.cpp picks them by `n_ctx`: within
/// the original context (256) the short factors rotate, so a 256-position session gives what
/// the fixture's 512-position one gives with the long factors replaced by the short ones.
#[test]
fn phi3_short_factors_within_the_original_context() {
    let fx = "synthetic-phi3.json";
    let file = (variant("phi3").unwrap().build)();
    let (short, _) = support::synthetic_models::phi3_rope_factors();
    let short: Vec<u8> = short.iter().flat_map(|x| x.to_le_bytes()).collect();
    let long_is_short = with_tensors(
        "phi3",
        |n| n == "rope_factors_long.weight",
        |d| d.copy_from_slice(&short),
    );
    let (at_256, theirs) = greedy_ctx(file, fx, Some(256));
    let (replaced, _) = greedy(long_is_short, fx);
    assert_eq!(at_256, replaced);
    assert_ne!(
        at_256, theirs,
        "the factors in force did not change with n_ctx"
    );
}
