//! Shared by the engine tests: the Gemma model path, the llama.cpp fixtures (read with
//! serde_json), and tiny deterministic llama/gemma3 models built in memory.
//!

pub use super::{conformance, synthetic_models};

use std::path::PathBuf;

use wasm_chord::gguf::{Array, GgufWriter, KvPayload, LoadedGguf, StringArray, Value};
use wasm_chord::quant::reference::quantize;
use wasm_chord::quant::GgmlType;

// ---- the real model -------------------------------------------------------------------------

pub use super::gemma_path::gemma_path;

pub fn gemma_gguf() -> LoadedGguf {
    let path = gemma_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    LoadedGguf::from_bytes(bytes).expect("the Gemma file parses")
}

// ---- the llama.cpp fixtures ----------------------------------------------------------------

/// One llama.cpp fixture case.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OracleCase {
    pub prompt: String,
    pub prompt_tokens: Vec<u32>,
    pub greedy_tokens: Vec<u32>,
    /// Per step: the top-10 `(id, logit)` after prompt + greedy_tokens[..i].
    #[serde(deserialize_with = "top_lists")]
    pub steps: Vec<Vec<(u32, f32)>>,
}

/// The fixture's `steps: [{"top": [[id, logit], …]}, …]` as the top lists.
fn top_lists<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<(u32, f32)>>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Step {
        top: Vec<(u32, f32)>,
    }
    let steps: Vec<Step> = serde::Deserialize::deserialize(d)?;
    Ok(steps.into_iter().map(|s| s.top).collect())
}

impl OracleCase {
    /// Top-1 minus top-2 logit at step `i`.
    pub fn gap(&self, i: usize) -> f32 {
        self.steps[i][0].1 - self.steps[i][1].1
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Oracle {
    pub model: String,
    pub model_sha256: String,
    pub n_ctx: usize,
    pub cases: Vec<OracleCase>,
}

/// Reads tests/fixtures/oracle/`name`.
pub fn oracle(name: &str) -> Oracle {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oracle")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "oracle fixture {} missing ({e}); regenerate with `node scripts/oracle/model-fixtures.mjs`",
            path.display()
        )
    });
    oracle_from_json(&text)
}

/// Parses an oracle fixture's text (for builds without a file system: include_str!).
pub fn oracle_from_json(text: &str) -> Oracle {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("oracle fixture: {e}"))
}

// ---- tiny models ----------------------------------------------------------------------------

/// A small model with random weights; every size is a multiple of 32 so Q8_0/Q4_0 fit.
#[derive(Debug, Clone)]
pub struct Tiny {
    pub arch: &'static str,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub n_ctx_train: usize,
    /// gemma3 only: `attention.sliding_window`.
    pub window: Option<usize>,
    pub weight_ty: GgmlType,
    /// No `output.weight` (the head is `token_embd`).
    pub tied: bool,
    pub eos: u32,
    pub seed: u64,
}

impl Tiny {
    pub fn llama() -> Tiny {
        Tiny {
            arch: "llama",
            n_layer: 2,
            n_embd: 64,
            n_head: 4,
            n_head_kv: 2,
            head_dim: 16,
            n_ff: 96,
            n_ctx_train: 256,
            window: None,
            weight_ty: GgmlType::Q8_0,
            tied: false,
            eos: synthetic_models::TOKEN_EOS,
            seed: 1,
        }
    }

    pub fn gemma3() -> Tiny {
        Tiny {
            arch: "gemma3",
            n_layer: 2,
            n_embd: 64,
            n_head: 4,
            n_head_kv: 1,
            head_dim: 32,
            n_ff: 96,
            n_ctx_train: 256,
            window: Some(8),
            weight_ty: GgmlType::Q8_0,
            tied: true,
            eos: synthetic_models::TOKEN_EOS,
            seed: 2,
        }
    }

    /// Gemma 2: post-norms, soft-capped scores (llama.cpp's default cap, 50) and logits (30),
    /// a window of 4 on the even layers, tied head.
    pub fn gemma2() -> Tiny {
        Tiny {
            arch: "gemma2",
            window: Some(4),
            seed: 6,
            ..Tiny::gemma3()
        }
    }

    /// Qwen2: the llama block with q/k/v biases and NEOX RoPE.
    pub fn qwen2() -> Tiny {
        Tiny {
            arch: "qwen2",
            seed: 3,
            ..Tiny::llama()
        }
    }

    /// Qwen3: head norms and heads wider than `n_embd / n_head`.
    pub fn qwen3() -> Tiny {
        Tiny {
            arch: "qwen3",
            head_dim: 32,
            seed: 5,
            ..Tiny::llama()
        }
    }

    pub fn n_vocab(&self) -> usize {
        synthetic_models::vocab().tokens.len()
    }

    /// The GGUF as a writer, so tests can remove or reshape a tensor before writing.
    /// The metadata: the `{arch}.*` sizes and the synthetic models' vocabulary.
    fn metadata(&self) -> GgufWriter {
        let a = self.arch;
        let v = synthetic_models::vocab();
        let mut w = GgufWriter::new();
        let key = |k: &str| format!("{a}.{k}");
        w.kv("general.architecture", a);
        w.kv(&key("context_length"), self.n_ctx_train as u32);
        w.kv(&key("embedding_length"), self.n_embd as u32);
        w.kv(&key("block_count"), self.n_layer as u32);
        w.kv(&key("feed_forward_length"), self.n_ff as u32);
        w.kv(&key("attention.head_count"), self.n_head as u32);
        w.kv(&key("attention.head_count_kv"), self.n_head_kv as u32);
        w.kv(&key("attention.key_length"), self.head_dim as u32);
        w.kv(&key("attention.value_length"), self.head_dim as u32);
        w.kv(&key("attention.layer_norm_rms_epsilon"), 1e-6f32);
        w.kv(&key("rope.freq_base"), 10000.0f32);
        if let Some(win) = self.window {
            w.kv(&key("attention.sliding_window"), win as u32);
        }
        w.kv("tokenizer.ggml.model", "llama");
        let mut sa = StringArray::new();
        for t in &v.tokens {
            sa.push(t);
        }
        w.kv("tokenizer.ggml.tokens", Value::array(Array::String(sa)));
        w.kv(
            "tokenizer.ggml.scores",
            Value::array(Array::F32(v.scores.clone())),
        );
        w.kv(
            "tokenizer.ggml.token_type",
            Value::array(Array::I32(v.types.clone())),
        );
        w.kv("tokenizer.ggml.bos_token_id", synthetic_models::TOKEN_BOS);
        w.kv("tokenizer.ggml.eos_token_id", self.eos);
        w.kv(
            "tokenizer.ggml.unknown_token_id",
            synthetic_models::TOKEN_UNK,
        );
        w.kv("tokenizer.ggml.add_bos_token", true);
        w
    }

    pub fn writer(&self) -> GgufWriter {
        let a = self.arch;
        let n_vocab = self.n_vocab();
        let mut w = self.metadata();
        let mut rng = Rng(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x1234_5678);
        let e = self.n_embd;
        let qd = self.n_head * self.head_dim;
        let kd = self.n_head_kv * self.head_dim;
        let mut mat = |w: &mut GgufWriter, name: &str, cols: usize, rows: usize, ty: GgmlType| {
            let s = 1.0 / (cols as f32).sqrt();
            let x: Vec<f32> = (0..cols * rows).map(|_| rng.normal() * s).collect();
            w.tensor(
                name,
                ty,
                &[cols as u64, rows as u64],
                quantize(ty, &x).unwrap(),
            );
        };
        let norm = |w: &mut GgufWriter, name: &str, n: usize, rng: &mut Rng| {
            let x: Vec<f32> = (0..n).map(|_| 1.0 + 0.1 * rng.normal()).collect();
            w.tensor(
                name,
                GgmlType::F32,
                &[n as u64],
                quantize(GgmlType::F32, &x).unwrap(),
            );
        };
        let mut nrng = Rng(self.seed ^ 0xdead_beef);
        // Embeddings with unit-scale rows so a tied head gives logits of a few units.
        mat(&mut w, "token_embd.weight", e, n_vocab, GgmlType::Q8_0);
        norm(&mut w, "output_norm.weight", e, &mut nrng);
        if !self.tied {
            mat(&mut w, "output.weight", e, n_vocab, self.weight_ty);
        }
        let t = self.weight_ty;
        for il in 0..self.n_layer {
            let n = |s: &str| format!("blk.{il}.{s}.weight");
            norm(&mut w, &n("attn_norm"), e, &mut nrng);
            mat(&mut w, &n("attn_q"), e, qd, t);
            mat(&mut w, &n("attn_k"), e, kd, t);
            mat(&mut w, &n("attn_v"), e, kd, t);
            mat(&mut w, &n("attn_output"), qd, e, t);
            norm(&mut w, &n("ffn_norm"), e, &mut nrng);
            mat(&mut w, &n("ffn_gate"), e, self.n_ff, t);
            mat(&mut w, &n("ffn_up"), e, self.n_ff, t);
            mat(&mut w, &n("ffn_down"), self.n_ff, e, t);
            if a == "qwen2" {
                for (name, len) in [("attn_q", qd), ("attn_k", kd), ("attn_v", kd)] {
                    let x: Vec<f32> = (0..len).map(|_| 0.5 * nrng.normal()).collect();
                    let bias = quantize(GgmlType::F32, &x).unwrap();
                    let name = format!("blk.{il}.{name}.bias");
                    w.tensor(&name, GgmlType::F32, &[len as u64], bias);
                }
            }
            if a == "gemma3" || a == "qwen3" {
                norm(&mut w, &n("attn_q_norm"), self.head_dim, &mut nrng);
                norm(&mut w, &n("attn_k_norm"), self.head_dim, &mut nrng);
            }
            if a == "gemma3" || a == "gemma2" {
                norm(&mut w, &n("post_attention_norm"), e, &mut nrng);
                norm(&mut w, &n("post_ffw_norm"), e, &mut nrng);
            }
        }
        w
    }

    pub fn gguf(&self) -> LoadedGguf {
        LoadedGguf::from_bytes(self.writer().to_bytes()).expect("tiny model parses")
    }
}

/// Sets a metadata value, replacing the key's entry or appending one.
pub fn set_kv(w: &mut GgufWriter, key: &str, v: Value) {
    match w
        .kvs
        .iter_mut()
        .find(|(k, _)| k.as_slice() == key.as_bytes())
    {
        Some(e) => e.1 = KvPayload::Value(v),
        None => {
            w.kv(key, v);
        }
    }
}

pub fn remove_kv(w: &mut GgufWriter, key: &str) {
    w.kvs.retain(|(k, _)| k.as_slice() != key.as_bytes());
}

/// Builds a file from `w` after `edit` changed it.
pub fn edited(w: &GgufWriter, edit: impl FnOnce(&mut GgufWriter)) -> LoadedGguf {
    let mut w = w.clone();
    edit(&mut w);
    LoadedGguf::from_bytes(w.to_bytes()).expect("edited model parses")
}

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }
    fn normal(&mut self) -> f32 {
        (self.unit() + self.unit() + self.unit() + self.unit() - 2.0) * 1.732_050_8
    }
}
