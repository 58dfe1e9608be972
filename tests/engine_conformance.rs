//! The engine against llama.cpp (fixtures from scripts/oracle/model-fixtures.mjs: llama.cpp on
//! the CPU, greedy, F32 KV cache, flash attention off).
//!
//! * Teacher forcing: feed the prompt and llama.cpp's greedy tokens, compare our logits with
//!   its top-10 at every step; report the largest and the mean |Δ| and the top-1 agreement.
//! * Greedy: our argmax must be llama.cpp's token at every step whose top-1/top-2 gap exceeds
//!   2 × the measured max |Δ| (two logits can each move by Δ), and our own generation must
//!   reproduce llama.cpp's tokens up to the first step below that gap. Natively the prefill
//!   (GEMM) and decode (GEMV) paths compute each row identically, so teacher-forced argmax
//!   agreement *is* greedy agreement; one Gemma case also runs the real generate loop.
//! * Synthetic llama, qwen2 and qwen3 models (tests/support/synthetic_models.rs): the same, 16
//!   steps each.
//!
//! Where the error comes from. Our graph reproduces llama.cpp's exactly: the all-F32 synthetic
//! model agrees to 1e-5, and with llama.cpp's x86 (AVX) rounding of the Q8_0 activations
//! (`127/amax`, ties to even; the crate's kernels use ggml's portable `_ref` formula, `1/d`,
//! ties away) Gemma's logits agree to 2e-6 — until the first activation whose quantized value
//! lands one step apart because a float sum was added in another order. From there that
//! position's keys and values differ by one quantum and the logits by ~0.1–2 (Gemma's
//! activations have large outliers, so one quantum is large). The bounds below are
//! regression guards around the measured values.
//!
//! Natively the kernels are the scalar reference, so the Gemma test takes about a minute.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::{Arc, OnceLock};

use support::engine::conformance::{
    check_case, check_synthetic, comparable_steps, session, teacher_forced,
};
use support::engine::synthetic_models;
use support::engine::{gemma_gguf, oracle};
use wasm_chord::engine::{generate, FinishReason, GenerateOptions};
use wasm_chord::model::{KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::tokenizer::Tokenizer;

/// Regression bounds around the measured values (printed by the tests).
const GEMMA_MAX_DELTA: f32 = 3.0;
/// Teacher-forced top-1 agreement with llama.cpp over all Gemma steps (measured 190/192).
const GEMMA_MIN_AGREEMENT: f64 = 0.97;

fn gemma() -> &'static (Arc<Model>, Arc<Tokenizer>) {
    static M: OnceLock<(Arc<Model>, Arc<Tokenizer>)> = OnceLock::new();
    M.get_or_init(|| {
        let g = gemma_gguf();
        let tok = Tokenizer::from_metadata(g.metadata()).expect("tokenizer");
        let model = Model::load(g, &ModelOptions::default()).expect("Gemma loads");
        (Arc::new(model), Arc::new(tok))
    })
}

#[test]
fn gemma_config_from_metadata() {
    let (model, _) = gemma();
    let c = model.config();
    assert_eq!(
        (c.n_layer, c.n_embd, c.n_ff, c.n_vocab),
        (18, 640, 2048, 262144)
    );
    assert_eq!(
        (c.n_head, c.n_head_kv, c.head_dim, c.head_dim_v),
        (4, 1, 256, 256)
    );
    assert_eq!((c.rms_eps, c.n_rot, c.n_ctx_train), (1e-6, 256, 32768));
    assert_eq!(
        (c.rope_base, c.rope_base_swa, c.rope_freq_scale),
        (1e6, 1e4, 1.0)
    );
    assert_eq!(c.attn_scale, 1.0 / 16.0);
    assert_eq!(c.embed_scale, Some(640f32.sqrt()));
    assert_eq!(c.final_logit_softcap, None);
    assert!(c.rope_neox && c.qk_norm && c.post_norms);
    let global: Vec<usize> = (0..18).filter(|&il| c.window(il).is_none()).collect();
    assert_eq!(global, [5, 11, 17]);
    assert_eq!(c.window(0), Some(512));
    // Tied head: the output is the Q8_0 embedding table.
    let g = model.graph();
    let head = g.head().unwrap();
    assert_eq!(Some(head), g.embedding());
    assert_eq!(head.ty, wasm_chord::quant::GgmlType::Q8_0);
    // One matrix entry for the tied table, 7 per layer.
    assert_eq!(g.matrices.len(), 1 + 7 * 18);
    // Default session: 4096 positions, 3 full layers + 15 rings of 512 + 64 - 1 slots, f16.
    let s = Session::new(Arc::clone(model), &SessionOptions::default()).unwrap();
    assert_eq!(s.n_ctx(), 4096);
    assert_eq!(s.kv_bytes(), (3 * 4096 + 15 * 575) * 512 * 2);
}

#[test]
fn gemma_matches_llama_cpp() {
    let (model, tok) = gemma();
    let fx = oracle("gemma3-270m-q4_k_m.json");
    assert_eq!(fx.model, "gemma-3-270m-q4_k_m.gguf");
    let mut s = session(model, fx.n_ctx, KvType::F32);

    let mut results = Vec::new();
    for case in &fx.cases {
        // Our tokenizer must agree with llama.cpp's for the comparison to mean anything.
        assert_eq!(
            tok.encode(&case.prompt, true, true),
            case.prompt_tokens,
            "{:?}",
            case.prompt
        );
        results.push(teacher_forced(&mut s, case));
    }
    let max_delta = results.iter().map(|r| r.max_delta).fold(0.0, f32::max);
    let mean_delta = results.iter().map(|r| r.sum_delta).sum::<f64>()
        / results.iter().map(|r| r.n_delta).sum::<usize>() as f64;
    let tol = 2.0 * max_delta;
    let (mut agree, mut total) = (0, 0);
    for (case, r) in fx.cases.iter().zip(&results) {
        let (same, n, prefix, k) = check_case("gemma", case, r, tol);
        println!(
            "gemma {:>3} prompt tokens: max |Δ| {:.4}, mean {:.4}; top-1 {same}/{n}; identical greedy prefix {prefix} (first gap < {tol:.3} at step {k}); {:?}",
            case.prompt_tokens.len(),
            r.max_delta,
            r.sum_delta / r.n_delta as f64,
            case.prompt.chars().take(32).collect::<String>()
        );
        agree += same;
        total += n;
    }
    println!(
        "gemma: {} cases: max |Δ| logits {max_delta:.4}, mean |Δ| {mean_delta:.4}; teacher-forced top-1 agreement {agree}/{total}",
        fx.cases.len()
    );
    assert!(
        max_delta < GEMMA_MAX_DELTA,
        "max |Δ| {max_delta} ≥ {GEMMA_MAX_DELTA}"
    );
    assert!(
        agree as f64 >= GEMMA_MIN_AGREEMENT * total as f64,
        "top-1 agreement {agree}/{total}"
    );

    // The real generate loop (decode path, sampler, streaming text) on the first case.
    let case = &fx.cases[0];
    assert_eq!(case.prompt, "Water boils at a temperature of");
    let mut s = session(model, fx.n_ctx, KvType::F32);
    let mut streamed = String::new();
    let res = generate(
        &mut s,
        tok,
        &case.prompt_tokens,
        &GenerateOptions {
            max_tokens: case.greedy_tokens.len(),
            ..GenerateOptions::default()
        },
        |ev| {
            streamed.push_str(ev.text);
            true
        },
    )
    .expect("generate");
    let k = comparable_steps(case, tol).min(res.tokens.len());
    assert_eq!(res.tokens[..k], case.greedy_tokens[..k]);
    if res.finish_reason == FinishReason::Eos {
        let eos_at = case.greedy_tokens.iter().position(|&t| tok.is_eog(t));
        assert_eq!(Some(res.tokens.len() - 1), eos_at);
    }
    assert_eq!(streamed, res.text);
    assert!(
        res.text.starts_with(" 100 degrees Celsius."),
        "{:?}",
        res.text
    );
    let same = res
        .tokens
        .iter()
        .zip(&case.greedy_tokens)
        .take_while(|(a, b)| a == b)
        .count();
    println!(
        "gemma greedy generate: {same}/{} tokens as llama.cpp: {:?}",
        res.tokens.len(),
        res.text
    );
}

/// The default f16 cache is llama.cpp's default too, but the fixtures were recorded with an f32
/// cache: this reports the error with the f16 cache on the first case.
#[test]
fn gemma_f16_cache_stays_close() {
    let (model, _) = gemma();
    let fx = oracle("gemma3-270m-q4_k_m.json");
    let mut s = session(model, fx.n_ctx, KvType::F16);
    let case = &fx.cases[0];
    let r = teacher_forced(&mut s, case);
    let (same, n, prefix, _) = check_case("gemma f16 cache", case, &r, 2.0 * r.max_delta);
    println!(
        "gemma with the f16 KV cache: max |Δ| {:.4}, mean {:.4}; top-1 {same}/{n}; identical greedy prefix {prefix}",
        r.max_delta,
        r.sum_delta / r.n_delta as f64
    );
    assert!(r.max_delta < GEMMA_MAX_DELTA, "max |Δ| {}", r.max_delta);
}

#[test]
fn synthetic_models_match_llama_cpp() {
    for v in &synthetic_models::VARIANTS {
        check_synthetic(v, &oracle(&v.fixture_name()));
    }
}
