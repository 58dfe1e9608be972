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
//! * Synthetic llama models (tests/common/synthetic_models.rs): the same, 16 steps each.
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

mod engine_support;

use std::sync::{Arc, OnceLock};

use engine_support::synthetic_models::{self, sha256_hex};
use engine_support::{gemma_gguf, oracle, OracleCase};
use wasm_chord::engine::{generate, FinishReason, GenerateOptions};
use wasm_chord::gguf::LoadedGguf;
use wasm_chord::model::{KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::sampler::argmax;
use wasm_chord::tokenizer::Tokenizer;

/// Regression bounds around the measured values (printed by the tests).
const GEMMA_MAX_DELTA: f32 = 3.0;
/// Teacher-forced top-1 agreement with llama.cpp over all Gemma steps (measured 190/192).
const GEMMA_MIN_AGREEMENT: f64 = 0.97;
/// All-F32 synthetic model: only float rounding differs.
const SYNTHETIC_F32_MAX_DELTA: f32 = 1e-4;
/// Quantized synthetic models: random weights amplify one activation quantum further.
const SYNTHETIC_Q_MAX_DELTA: f32 = 0.75;

fn gemma() -> &'static (Arc<Model>, Arc<Tokenizer>) {
    static M: OnceLock<(Arc<Model>, Arc<Tokenizer>)> = OnceLock::new();
    M.get_or_init(|| {
        let g = gemma_gguf();
        let tok = Tokenizer::from_metadata(g.metadata()).expect("tokenizer");
        let model = Model::load(g, &ModelOptions::default()).expect("Gemma loads");
        (Arc::new(model), Arc::new(tok))
    })
}

fn session(model: &Arc<Model>, n_ctx: usize, kv_type: KvType) -> Session {
    Session::new(
        Arc::clone(model),
        &SessionOptions {
            n_ctx,
            kv_type,
            ..SessionOptions::default()
        },
    )
    .expect("session")
}

/// Per-case result of teacher forcing.
#[derive(Debug, Default)]
struct Forced {
    /// Largest |our logit − llama.cpp's| over the top-10 ids of every step.
    max_delta: f32,
    /// Sum and count of those |Δ|.
    sum_delta: f64,
    n_delta: usize,
    /// Our argmax at every step.
    argmax: Vec<u32>,
}

/// Runs prompt + greedy_tokens[..steps-1] and compares every step's logits.
fn teacher_forced(s: &mut Session, case: &OracleCase) -> Forced {
    let steps = case.steps.len();
    let n_vocab = s.model().config().n_vocab;
    s.clear();
    let mut out = Forced::default();
    let check = |logits: &[f32], i: usize, out: &mut Forced| {
        for &(id, l) in &case.steps[i] {
            let d = (logits[id as usize] - l).abs();
            out.max_delta = out.max_delta.max(d);
            out.sum_delta += f64::from(d);
            out.n_delta += 1;
        }
        out.argmax.push(argmax(logits).unwrap());
    };
    let first = s.prefill(&case.prompt_tokens).expect("prefill").to_vec();
    check(&first, 0, &mut out);
    if steps > 1 {
        let all = s
            .prefill_logits_all(&case.greedy_tokens[..steps - 1])
            .expect("teacher-forced prefill")
            .to_vec();
        for i in 1..steps {
            check(&all[(i - 1) * n_vocab..i * n_vocab], i, &mut out);
        }
    }
    out
}

/// The first step whose top-1/top-2 gap is below `tol` (steps from there on may legitimately
/// differ), or the number of steps.
fn comparable_steps(case: &OracleCase, tol: f32) -> usize {
    (0..case.steps.len())
        .find(|&i| case.gap(i) < tol)
        .unwrap_or(case.steps.len())
}

/// Checks `r` against `case` with tolerance `tol` (2 × the max |Δ|): the argmax must be
/// llama.cpp's at every step whose gap exceeds `tol`. Returns (top-1 agreements, steps,
/// length of the identical greedy prefix, steps comparable before the first small gap).
fn check_case(name: &str, case: &OracleCase, r: &Forced, tol: f32) -> (usize, usize, usize, usize) {
    for (i, (&ours, &theirs)) in r.argmax.iter().zip(&case.greedy_tokens).enumerate() {
        assert!(
            ours == theirs || case.gap(i) <= tol,
            "{name} {:?} step {i}: argmax {ours}, llama.cpp {theirs} with gap {:.4} > 2·max|Δ| = {tol:.4}",
            case.prompt,
            case.gap(i)
        );
    }
    let same = r
        .argmax
        .iter()
        .zip(&case.greedy_tokens)
        .filter(|(a, b)| a == b)
        .count();
    let prefix = r
        .argmax
        .iter()
        .zip(&case.greedy_tokens)
        .take_while(|(a, b)| a == b)
        .count();
    let k = comparable_steps(case, tol);
    // Teacher-forced argmax agreement up to step k means our greedy continuation (same prefix
    // at every step) is identical for k tokens.
    assert!(
        prefix >= k,
        "{name} {:?}: greedy differs at step {prefix}",
        case.prompt
    );
    (same, case.steps.len(), prefix, k)
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
    let w = model.weights();
    assert_eq!(w.output, w.token_embd);
    assert_eq!(w.output.ty, wasm_chord::quant::GgmlType::Q8_0);
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
fn synthetic_llama_models_match_llama_cpp() {
    for v in &synthetic_models::VARIANTS {
        let fx = oracle(&v.fixture_name());
        let bytes = (v.build)();
        assert_eq!(
            sha256_hex(&bytes),
            fx.model_sha256,
            "{}: the generator no longer produces the file llama.cpp saw",
            v.name
        );
        let g = LoadedGguf::from_bytes(bytes).expect("parses");
        let tok = Tokenizer::from_metadata(g.metadata()).expect("tokenizer");
        let model = Arc::new(Model::load(g, &ModelOptions::default()).expect("loads"));
        let mut s = session(&model, fx.n_ctx, KvType::F32);
        let mut results = Vec::new();
        for case in &fx.cases {
            assert_eq!(
                tok.encode(&case.prompt, true, true),
                case.prompt_tokens,
                "{:?}",
                case.prompt
            );
            results.push(teacher_forced(&mut s, case));
        }
        let max_delta = results.iter().map(|r| r.max_delta).fold(0.0, f32::max);
        let tol = 2.0 * max_delta;
        let (mut agree, mut total, mut greedy_same) = (0, 0, 0);
        for (case, r) in fx.cases.iter().zip(&results) {
            let (same, n, _, k) = check_case(v.name, case, r, tol);
            agree += same;
            total += n;
            // Greedy through the decode path.
            s.clear();
            let mut logits = s.prefill(&case.prompt_tokens).expect("prefill").to_vec();
            let mut ours = Vec::new();
            for _ in 0..case.greedy_tokens.len() {
                let t = argmax(&logits).unwrap();
                ours.push(t);
                logits = s.decode(t).expect("decode").to_vec();
            }
            assert_eq!(
                ours[..k],
                case.greedy_tokens[..k],
                "{} {:?}: greedy",
                v.name,
                case.prompt
            );
            if ours == case.greedy_tokens {
                greedy_same += 1;
            }
        }
        println!(
            "synthetic-{}: max |Δ| logits {max_delta:.6}; teacher-forced top-1 {agree}/{total}; greedy 16/16 identical in {greedy_same}/{} cases",
            v.name,
            fx.cases.len()
        );
        let bound = if v.name == "f32" {
            SYNTHETIC_F32_MAX_DELTA
        } else {
            SYNTHETIC_Q_MAX_DELTA
        };
        assert!(max_delta < bound, "{}: max |Δ| {max_delta}", v.name);
    }
}
