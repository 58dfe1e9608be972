//! The llama.cpp golden fixtures (tests/fixtures/oracle/*.json, written by
//! scripts/oracle/model-fixtures.mjs) are well-formed, and the synthetic models
//! (tests/support/synthetic_models.rs) still generate byte for byte the files llama.cpp ran:
//! a fixture recorded for other bytes would silently test the engine against the wrong model.
#![cfg(not(target_arch = "wasm32"))]

mod support;
use support::{json, synthetic_models};

use std::path::PathBuf;

use json::{Json, JsonExt};
use synthetic_models::{sha256_hex, Variant, VARIANTS};
use wasm_chord::gguf::{GgufFile, Value};

const REGEN: &str = "node scripts/oracle/model-fixtures.mjs";
const GEMMA_FIXTURE: &str = "gemma3-270m-q4_k_m.json";
const GEMMA_FILE: &str = "gemma-3-270m-q4_k_m.gguf";
/// scripts/fetch-model.sh verifies the file against the same digest.
const GEMMA_SHA256: &str = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818";
const GEMMA_VOCAB: usize = 262_144;
const GEMMA_BOS: u64 = 2;
const TOP_K: usize = 10;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oracle")
        .join(name)
}

fn load_fixture(name: &str) -> Json {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nregenerate the llama.cpp fixtures with `{REGEN}`",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

/// What a fixture must look like, whatever the model.
struct Expect<'a> {
    model: &'a str,
    n_vocab: usize,
    bos: u64,
    min_cases: usize,
    steps: usize,
}

/// Checks the documented shape; returns `model_sha256`.
fn check_shape(name: &str, fx: &Json, want: &Expect) -> String {
    let ctx = |what: &str| format!("{name}: {what}");
    assert_eq!(fx.key("model").str(), want.model, "{}", ctx("model"));
    let sha = fx.key("model_sha256").str().to_owned();
    assert!(
        sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{}",
        ctx("model_sha256 is not 64 lower-case hex digits")
    );
    assert!(
        !fx.key("llama_cpp").str().is_empty(),
        "{}",
        ctx("llama_cpp is empty")
    );
    let n_ctx = fx.key("n_ctx").u64() as usize;
    assert!(n_ctx > 0, "{}", ctx("n_ctx"));
    let cases = fx.key("cases").arr();
    assert!(
        cases.len() >= want.min_cases,
        "{}",
        ctx(&format!(
            "{} cases, want at least {}",
            cases.len(),
            want.min_cases
        ))
    );
    for (ci, case) in cases.iter().enumerate() {
        let ctx = |what: &str| format!("{name}: case {ci}: {what}");
        assert!(
            !case.key("prompt").str().is_empty(),
            "{}",
            ctx("empty prompt")
        );
        let prompt: Vec<u64> = case
            .key("prompt_tokens")
            .arr()
            .iter()
            .map(JsonExt::u64)
            .collect();
        let greedy: Vec<u64> = case
            .key("greedy_tokens")
            .arr()
            .iter()
            .map(JsonExt::u64)
            .collect();
        let steps = case.key("steps").arr();
        assert_eq!(
            prompt.first(),
            Some(&want.bos),
            "{}",
            ctx("prompt must start with BOS")
        );
        assert_eq!(greedy.len(), want.steps, "{}", ctx("greedy_tokens length"));
        assert_eq!(
            steps.len(),
            want.steps,
            "{}",
            ctx("one step per greedy token")
        );
        assert!(
            prompt.len() + steps.len() <= n_ctx,
            "{}",
            ctx("longer than n_ctx")
        );
        for &t in prompt.iter().chain(&greedy) {
            assert!(
                (t as usize) < want.n_vocab,
                "{}",
                ctx(&format!("token {t} out of vocab"))
            );
        }
        for (si, step) in steps.iter().enumerate() {
            let ctx = |what: &str| format!("{name}: case {ci}: step {si}: {what}");
            check_step(step, greedy[si], want.n_vocab, &ctx);
        }
    }
    sha
}

/// One step's top list: TOP_K distinct in-vocabulary [id, finite logit] pairs sorted by logit
/// (desc) then id (asc), headed by the step's greedy token.
fn check_step(step: &Json, greedy: u64, n_vocab: usize, ctx: &dyn Fn(&str) -> String) {
    let top = step.key("top").arr();
    assert_eq!(top.len(), TOP_K, "{}", ctx("top list length"));
    let mut prev: Option<(u64, f64)> = None;
    let mut ids = Vec::with_capacity(TOP_K);
    for entry in top {
        let pair = entry.arr();
        assert_eq!(pair.len(), 2, "{}", ctx("top entries are [id, logit]"));
        let (id, logit) = (pair[0].u64(), pair[1].f64());
        assert!((id as usize) < n_vocab, "{}", ctx("id out of vocab"));
        assert!(logit.is_finite(), "{}", ctx("logit not finite"));
        if let Some((pid, plogit)) = prev {
            assert!(
                plogit > logit || (plogit == logit && pid < id),
                "{}",
                ctx("top list not sorted by logit (desc), then id (asc)")
            );
        }
        assert!(!ids.contains(&id), "{}", ctx("duplicate id in top list"));
        ids.push(id);
        prev = Some((id, logit));
    }
    assert_eq!(
        top[0].arr()[0].u64(),
        greedy,
        "{}",
        ctx("greedy token is not the argmax of the step's logits")
    );
}

fn synthetic_fixture(v: &Variant) -> (Json, String) {
    let name = v.fixture_name();
    let fx = load_fixture(&name);
    let vocab = v.family().vocab();
    let sha = check_shape(
        &name,
        &fx,
        &Expect {
            model: &v.file_name(),
            n_vocab: vocab.len(),
            bos: u64::from(vocab.bos()),
            min_cases: 2,
            steps: 16,
        },
    );
    (fx, sha)
}

#[test]
fn synthetic_models_match_the_files_llama_cpp_ran() {
    let mut drift = Vec::new();
    for v in &VARIANTS {
        let (_, recorded) = synthetic_fixture(v);
        let bytes = (v.build)();
        let now = sha256_hex(&bytes);
        if now != recorded {
            drift.push(format!(
                "  {}: generator now {now}, fixture {} recorded {recorded}",
                v.file_name(),
                v.fixture_name()
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "the synthetic models no longer match the files the llama.cpp fixtures were recorded \
         for:\n{}\nThe generator (tests/support/synthetic_models.rs) or a reference quantizer it \
         uses changed. If that was intended, regenerate the fixtures with \
         `{REGEN} --only synthetic` and review the diff.",
        drift.join("\n")
    );
}

#[test]
fn synthetic_fixtures_are_well_formed() {
    for v in &VARIANTS {
        let (fx, _) = synthetic_fixture(v);
        assert!(
            fx.key("n_ctx").u64() as usize <= synthetic_models::N_CTX,
            "{}: n_ctx above the model's context length",
            v.fixture_name()
        );
    }
}

#[test]
fn every_synthetic_fixture_belongs_to_a_variant() {
    let dir = fixture_path("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with("synthetic-") && n.ends_with(".json"))
        .collect();
    names.sort();
    let mut known: Vec<String> = VARIANTS.iter().map(Variant::fixture_name).collect();
    known.sort();
    assert_eq!(
        names,
        known,
        "synthetic fixtures in {} vs synthetic_models::VARIANTS (regenerate with `{REGEN} --only synthetic`)",
        dir.display()
    );
}

#[test]
fn synthetic_models_are_the_documented_models() {
    for v in &VARIANTS {
        let bytes = (v.build)();
        let file = GgufFile::parse(&bytes)
            .unwrap_or_else(|e| panic!("{}: our reader rejects it: {e}", v.file_name()));
        let h = file.header();
        let get = |k: &str| {
            h.metadata
                .get(k)
                .unwrap_or_else(|| panic!("{}: no {k}", v.file_name()))
        };
        let a = v.arch;
        let arch = v.family();
        assert_eq!(arch.name(), a, "{}: a documented architecture", v.name);
        assert_eq!(get("general.architecture"), &Value::from(a));
        let vocab = arch.vocab();
        assert_eq!(get("tokenizer.ggml.model"), &Value::from(vocab.model()));
        if a == "llama" && vocab.model() == "gpt2" {
            assert_eq!(get("tokenizer.ggml.pre"), &Value::from("llama-bpe"));
        }
        assert_eq!(
            get("tokenizer.ggml.bos_token_id"),
            &Value::U32(vocab.bos()),
            "{}",
            v.name
        );
        assert_eq!(
            get(&format!("{a}.block_count")),
            &Value::U32(v.n_layer as u32)
        );
        assert_eq!(
            get(&format!("{a}.embedding_length")),
            &Value::U32(synthetic_models::N_EMBD as u32)
        );
        assert_eq!(
            get(&format!("{a}.attention.head_count_kv")),
            &Value::U32(synthetic_models::N_HEAD_KV as u32)
        );
        let hd = arch.head_dim() as u64;
        let (n_head, n_kv) = (
            synthetic_models::N_HEAD as u64,
            synthetic_models::N_HEAD_KV as u64,
        );
        let (q, q_rows) = match file.tensor("blk.0.attn_q.weight") {
            Some(q) => (q, n_head * hd),
            None => (
                file.tensor("blk.0.attn_qkv.weight")
                    .expect("attn_q or attn_qkv"),
                (n_head + 2 * n_kv) * hd,
            ),
        };
        assert_eq!(q.info.dims, [synthetic_models::N_EMBD as u64, q_rows]);
        assert_eq!(
            file.tensor("output.weight").is_some(),
            !v.tied,
            "{}: output.weight present iff not tied",
            v.file_name()
        );
        // 2 (+ RoPE factors) + the layers' (+ output.weight)
        assert_eq!(
            file.tensor("rope_freqs.weight").is_some(),
            v.name == "llama3"
        );
        let want =
            2 + arch.rope_tensors() + arch.layer_tensors() * v.n_layer + usize::from(!v.tied);
        assert_eq!(h.tensors.len(), want, "{}: tensor count", v.file_name());
    }
}

#[test]
fn gemma_fixture_is_well_formed() {
    let fx = load_fixture(GEMMA_FIXTURE);
    let sha = check_shape(
        GEMMA_FIXTURE,
        &fx,
        &Expect {
            model: GEMMA_FILE,
            n_vocab: GEMMA_VOCAB,
            bos: GEMMA_BOS,
            min_cases: 4,
            steps: 32,
        },
    );
    assert_eq!(
        sha, GEMMA_SHA256,
        "{GEMMA_FIXTURE} was recorded for another file"
    );
}
