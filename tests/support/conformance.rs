//! Teacher-forced and greedy comparison with llama.cpp fixtures, shared by the native
//! conformance tests and the same checks in the wasm build under Node.

use std::sync::Arc;

use super::engine::{Oracle, OracleCase};
use super::synthetic_models::{sha256_hex, Variant};
use wasm_chord::gguf::LoadedGguf;
use wasm_chord::model::{KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::sampler::argmax;
use wasm_chord::tokenizer::Tokenizer;

/// All-F32 synthetic model: only float rounding differs.
pub const SYNTHETIC_F32_MAX_DELTA: f32 = 1e-4;
/// Quantized synthetic models: random weights amplify one activation quantum further.
pub const SYNTHETIC_Q_MAX_DELTA: f32 = 0.75;

pub fn session(model: &Arc<Model>, n_ctx: usize, kv_type: KvType) -> Session {
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
pub struct Forced {
    /// Largest |our logit − llama.cpp's| over the top-10 ids of every step.
    pub max_delta: f32,
    /// Sum and count of those |Δ|.
    pub sum_delta: f64,
    pub n_delta: usize,
    /// Our argmax at every step.
    pub argmax: Vec<u32>,
}

/// Runs prompt + greedy_tokens[..steps-1] and compares every step's logits.
pub fn teacher_forced(s: &mut Session, case: &OracleCase) -> Forced {
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
pub fn comparable_steps(case: &OracleCase, tol: f32) -> usize {
    (0..case.steps.len())
        .find(|&i| case.gap(i) < tol)
        .unwrap_or(case.steps.len())
}

/// Checks `r` against `case` with tolerance `tol` (2 × the max |Δ|): the argmax must be
/// llama.cpp's at every step whose gap exceeds `tol`. Returns (top-1 agreements, steps,
/// length of the identical greedy prefix, steps comparable before the first small gap).
pub fn check_case(
    name: &str,
    case: &OracleCase,
    r: &Forced,
    tol: f32,
) -> (usize, usize, usize, usize) {
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

/// One synthetic variant against its fixture: the generator still makes llama.cpp's file,
/// tokenization is identical, teacher-forced logits within the bound, greedy identical up to
/// the first step whose gap is below 2 × the measured max |Δ|.
pub fn check_synthetic(v: &Variant, fx: &Oracle) {
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
