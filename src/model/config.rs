//! Model hyper-parameters, read only from GGUF metadata (`{arch}.*` keys), with llama.cpp's
//! defaults and per-architecture constants where the file does not carry a value.

use crate::error::{Error, Result};
use crate::gguf::Metadata;

/// The graphs this crate can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama 1/2/3.x, TinyLlama, SmolLM, Mistral-style GQA: RMSNorm, normal RoPE, SwiGLU.
    Llama,
    /// Gemma (1): the Llama block with a GELU(tanh) gate, NEOX RoPE, pre-scaled queries,
    /// embeddings scaled by √n_embd and the output head tied to them.
    Gemma,
    /// Gemma 2: Gemma with post-attention and post-FFN norms, soft-capped attention scores and
    /// logits, and sliding-window attention on every other layer.
    Gemma2,
    /// Gemma 3 (text): q/k norms, post-attention and post-FFN norms, GELU(tanh) gate,
    /// embeddings scaled by √n_embd, interleaved sliding-window attention.
    Gemma3,
    /// Qwen2 and Qwen2.5: the Llama block with biases on the q/k/v projections, NEOX RoPE.
    Qwen2,
    /// Qwen3 (dense): the Llama block with RMS norms on each query and key head, NEOX RoPE,
    /// a head size of its own (`attention.key_length`, not `n_embd / n_head`).
    Qwen3,
    /// Phi-3, 3.5 and 4-mini: the Llama block with fused gate+up (`ffn_up` holds both), NEOX
    /// RoPE (often partial), pre-scaled queries and LongRoPE factors for long contexts.
    Phi3,
}

impl Arch {
    /// Every architecture, in the order the error for an unsupported one lists them.
    pub const ALL: [Arch; 7] = [
        Arch::Llama,
        Arch::Gemma,
        Arch::Gemma2,
        Arch::Gemma3,
        Arch::Phi3,
        Arch::Qwen2,
        Arch::Qwen3,
    ];

    pub fn from_name(name: &str) -> Result<Arch> {
        match name {
            "llama" => Ok(Arch::Llama),
            "gemma" => Ok(Arch::Gemma),
            "gemma2" => Ok(Arch::Gemma2),
            "gemma3" => Ok(Arch::Gemma3),
            "qwen2" => Ok(Arch::Qwen2),
            "qwen3" => Ok(Arch::Qwen3),
            "phi3" => Ok(Arch::Phi3),
            _ => Err(Error::UnsupportedArchitecture {
                arch: name.to_owned(),
                supported: Arch::ALL.map(Arch::name).join(", "),
            }),
        }
    }

    /// The metadata key prefix (`general.architecture`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Gemma => "gemma",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
        }
    }
}

/// The gated FFN activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfnActivation {
    /// SiLU(gate) · up (Llama).
    Silu,
    /// GELU-tanh(gate) · up (Gemma).
    GeluTanh,
}

/// Everything the forward pass needs to know about a model's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// Per-head size of queries and keys.
    pub head_dim: usize,
    /// Per-head size of values.
    pub head_dim_v: usize,
    /// The context the model was trained with (`{arch}.context_length`).
    pub n_ctx_train: usize,
    pub rms_eps: f32,
    /// Rotated dimensions per head (`{arch}.rope.dimension_count`, default `head_dim`).
    pub n_rot: usize,
    /// RoPE base of the full-attention layers.
    pub rope_base: f32,
    /// RoPE base of the sliding-window layers (Gemma 3: 10000, hardcoded as in llama.cpp).
    pub rope_base_swa: f32,
    /// Positions are multiplied by this (linear RoPE scaling: 1 / factor).
    pub rope_freq_scale: f32,
    /// NEOX-style RoPE (rotate the two halves of a head) instead of adjacent pairs.
    pub rope_neox: bool,
    /// Multiplies RoPE's cos and sin (`rope.scaling.attn_factor`, default 1).
    pub rope_attn_factor: f32,
    /// The context the RoPE factors were trained for
    /// (`rope.scaling.original_context_length`, default `n_ctx_train`).
    pub n_ctx_orig: usize,
    /// Phi-3: `rope_factors_long` / `rope_factors_short` (LongRoPE) are read when present.
    pub longrope: bool,
    /// Sliding-window size for the layers marked in `swa_layers`; `None`: all global.
    pub sliding_window: Option<usize>,
    /// Per layer: true when the layer uses the sliding window.
    pub swa_layers: Vec<bool>,
    /// Multiplies the attention scores: 1/√head_dim (Gemma 3 27B: 1/√(n_embd/n_head)).
    pub attn_scale: f32,
    /// Apply `attn_scale` to the queries themselves, before their f16 rounding (Gemma, as
    /// llama.cpp's graph does), rather than to the scores (Llama).
    pub scale_queries: bool,
    /// Multiplies the embedding rows (Gemma: √n_embd).
    pub embed_scale: Option<f32>,
    /// `c · tanh(logit / c)` on the output when set.
    pub final_logit_softcap: Option<f32>,
    /// `c · tanh(score / c)` on every attention score when set (Gemma 2).
    pub attn_softcap: Option<f32>,
    /// The output head is `token_embd` even when the file has an `output.weight` (Gemma 1/2:
    /// llama.cpp never reads one).
    pub tied_head: bool,
    pub ffn_act: FfnActivation,
    /// Gemma, Qwen3: RMS norms on each query and key head (before RoPE).
    pub qk_norm: bool,
    /// Qwen2: the q/k/v projections have biases (`attn_{q,k,v}.bias`), which the file must
    /// then hold; elsewhere they are used when present, as llama.cpp does.
    pub qkv_bias: bool,
    /// Gemma: RMS norms on the attention and FFN outputs before the residual add.
    pub post_norms: bool,
    /// Phi-3: `ffn_up` has `2 · n_ff` rows, the gate's then the up projection's, and there is
    /// no `ffn_gate` (llama.cpp's `LLM_FFN_SWIGLU` with one matrix).
    pub fused_gate_up: bool,
}

/// Gemma 3 hard-codes these in llama.cpp (`llama_model::load_hparams`, LLM_ARCH_GEMMA3): one
/// global layer after every five sliding ones, and base 10000 on the sliding layers.
const GEMMA3_SWA_PATTERN: usize = 6;
const GEMMA3_ROPE_BASE_SWA: f32 = 10_000.0;

impl ModelConfig {
    /// Reads the configuration. `n_vocab` comes from the embedding tensor (the caller knows
    /// its shape); everything else from metadata.
    /// `n_tensors` (the file's tensor count) bounds the layer count before anything is sized
    /// by it: every layer needs tensors of its own.
    pub fn from_metadata(meta: &Metadata, n_vocab: usize, n_tensors: usize) -> Result<ModelConfig> {
        let arch = Arch::from_name(meta.get_str("general.architecture")?)?;
        let k = Keys {
            meta,
            a: arch.name(),
        };
        let mut cfg = ModelConfig::sizes(&k, arch, n_vocab, n_tensors)?;
        let rms_eps = k
            .opt_f32("attention.layer_norm_rms_epsilon")?
            .ok_or(Error::MissingKey {
                key: k.key("attention.layer_norm_rms_epsilon"),
            })?;
        if !(rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(bad_f32(&k.key("attention.layer_norm_rms_epsilon"), rms_eps));
        }
        cfg.rms_eps = rms_eps;
        let rope_base = k.opt_f32("rope.freq_base")?.unwrap_or(10_000.0);
        if !(rope_base.is_finite() && rope_base > 0.0) {
            return Err(bad_f32(&k.key("rope.freq_base"), rope_base));
        }
        cfg.rope_base = rope_base;
        cfg.rope_base_swa = rope_base;
        cfg.rope_freq_scale = rope_scaling(meta, k.a)?;
        // Read for every architecture, as llama.cpp's loader does.
        cfg.rope_attn_factor = k.positive_f32("rope.scaling.attn_factor", 1.0)?;
        cfg.n_ctx_orig = match k.opt("rope.scaling.original_context_length")? {
            Some(0) | None => cfg.n_ctx_train,
            Some(n) => n,
        };
        if let Some(n) = k.opt("expert_count")? {
            if n > 0 {
                return Err(Error::UnsupportedModelFeature {
                    feature: format!("mixture of experts ({}.expert_count = {n})", k.a),
                });
            }
        }
        match arch {
            Arch::Llama => {}
            Arch::Gemma => cfg.gemma(),
            Arch::Gemma2 => cfg.gemma2(&k)?,
            Arch::Gemma3 => cfg.gemma3(&k)?,
            // llama.cpp: LLAMA_ROPE_TYPE_NEOX for both; biases are Qwen2's, head norms Qwen3's.
            Arch::Qwen2 => {
                cfg.rope_neox = true;
                cfg.qkv_bias = true;
            }
            Arch::Qwen3 => {
                cfg.rope_neox = true;
                cfg.qk_norm = true;
            }
            Arch::Phi3 => cfg.phi3(),
        }
        Ok(cfg)
    }

    /// The dimensions, checked to be positive, consistent and small enough that every
    /// product the forward pass forms fits in 32 bits (wasm32's usize); the rest defaults.
    fn sizes(k: &Keys<'_>, arch: Arch, n_vocab: usize, n_tensors: usize) -> Result<ModelConfig> {
        let n_embd = k.get("embedding_length")?;
        let n_layer = k.get("block_count")?;
        let n_ff = k.get("feed_forward_length")?;
        let n_head = k.get("attention.head_count")?;
        let n_head_kv = k.opt("attention.head_count_kv")?.unwrap_or(n_head);
        let n_ctx_train = k.get("context_length")?;
        for (name, v) in [
            ("embedding_length", n_embd),
            ("block_count", n_layer),
            ("feed_forward_length", n_ff),
            ("attention.head_count", n_head),
            ("attention.head_count_kv", n_head_kv),
            ("context_length", n_ctx_train),
        ] {
            positive(&k.key(name), v)?;
        }
        positive("vocabulary size (token_embd rows)", n_vocab)?;
        if n_layer > n_tensors {
            return Err(Error::BadModelConfig {
                key: k.key("block_count"),
                value: n_layer.to_string(),
                reason: "more layers than the file has tensors",
            });
        }
        if n_head_kv > n_head {
            return Err(Error::BadModelConfig {
                key: k.key("attention.head_count_kv"),
                value: n_head_kv.to_string(),
                reason: "more key/value heads than attention.head_count",
            });
        }
        if n_head % n_head_kv != 0 {
            return Err(Error::BadModelConfig {
                key: k.key("attention.head_count_kv"),
                value: n_head_kv.to_string(),
                reason: "must divide attention.head_count",
            });
        }
        let default_hd = n_embd / n_head;
        let head_dim = k.opt("attention.key_length")?.unwrap_or(default_hd);
        let head_dim_v = k.opt("attention.value_length")?.unwrap_or(default_hd);
        if default_hd == 0 && (head_dim == 0 || head_dim_v == 0) {
            // The head size was not given and n_embd / n_head rounds to nothing.
            return Err(Error::BadModelConfig {
                key: k.key("attention.head_count"),
                value: n_head.to_string(),
                reason: "larger than embedding_length, and no attention.key_length / value_length",
            });
        }
        positive(&k.key("attention.key_length"), head_dim)?;
        positive(&k.key("attention.value_length"), head_dim_v)?;
        // Products of two sizes that shape a tensor or a scratch buffer; the error names the
        // larger factor's key and its own value.
        for ((a, va), (b, vb)) in [
            (
                ("attention.key_length", head_dim),
                ("attention.head_count", n_head),
            ),
            (
                ("attention.value_length", head_dim_v),
                ("attention.head_count", n_head),
            ),
            (("embedding_length", n_embd), ("vocabulary size", n_vocab)),
            (("feed_forward_length", n_ff), ("embedding_length", n_embd)),
        ] {
            if va.checked_mul(vb).is_none_or(|p| p > u32::MAX as usize) {
                let (name, v) = if va >= vb { (a, va) } else { (b, vb) };
                return Err(Error::BadModelConfig {
                    key: if name == "vocabulary size" {
                        "vocabulary size (token_embd rows)".into()
                    } else {
                        k.key(name)
                    },
                    value: v.to_string(),
                    reason: "too large for the other dimensions",
                });
            }
        }
        let n_rot = k.opt("rope.dimension_count")?.unwrap_or(head_dim);
        if n_rot == 0 || n_rot % 2 != 0 || n_rot > head_dim {
            return Err(Error::BadModelConfig {
                key: k.key("rope.dimension_count"),
                value: n_rot.to_string(),
                reason: "must be even, non-zero and at most the key head size",
            });
        }
        Ok(ModelConfig {
            arch,
            n_vocab,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            head_dim_v,
            n_ctx_train,
            rms_eps: 0.0,
            n_rot,
            rope_base: 10_000.0,
            rope_base_swa: 10_000.0,
            rope_freq_scale: 1.0,
            rope_neox: false,
            rope_attn_factor: 1.0,
            n_ctx_orig: n_ctx_train,
            longrope: false,
            sliding_window: None,
            swa_layers: vec![false; n_layer],
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            scale_queries: false,
            embed_scale: None,
            final_logit_softcap: None,
            attn_softcap: None,
            tied_head: false,
            ffn_act: FfnActivation::Silu,
            qk_norm: false,
            qkv_bias: false,
            post_norms: false,
            fused_gate_up: false,
        })
    }

    /// Phi-3 as llama.cpp's `llama_model_phi3` runs it: queries scaled by 1/√head_dim before
    /// the attention (which then scales by 1). A sliding window in the file is ignored: llama.cpp
    /// disables Phi's SWA (its converters do not record which layers use it).
    fn phi3(&mut self) {
        self.rope_neox = true;
        self.scale_queries = true;
        self.attn_scale = 1.0 / (self.head_dim_v as f32).sqrt();
        self.fused_gate_up = true;
        self.longrope = true;
    }

    /// Gemma's block (llama.cpp's `llm_build_gemma`): queries scaled by 1/√head_dim_v
    /// before the attention, which then scales the scores by 1.
    fn gemma(&mut self) {
        self.rope_neox = true;
        self.ffn_act = FfnActivation::GeluTanh;
        self.scale_queries = true;
        self.tied_head = true;
        self.embed_scale = Some((self.n_embd as f32).sqrt());
        self.attn_scale = 1.0 / (self.head_dim_v as f32).sqrt();
    }

    /// Gemma 2, as llama.cpp's loader sets it up: a window of 4096 and both soft-caps (50
    /// for the scores, 30 for the logits) unless the file says otherwise, layer `il` sliding
    /// when `il % pattern < pattern - 1` (pattern 2: the even layers).
    fn gemma2(&mut self, k: &Keys<'_>) -> Result<()> {
        self.gemma();
        self.post_norms = true;
        // llama.cpp: 1/√(n_embd/n_head) only for the 27B (46 layers), else 1/√head_dim.
        self.attn_scale = if self.n_layer == 46 {
            1.0 / ((self.n_embd / self.n_head) as f32).sqrt()
        } else {
            1.0 / (self.head_dim as f32).sqrt()
        };
        self.attn_softcap = Some(k.positive_f32("attn_logit_softcapping", 50.0)?);
        self.final_logit_softcap = Some(k.positive_f32("final_logit_softcapping", 30.0)?);
        self.sliding_window = Some(k.opt("attention.sliding_window")?.unwrap_or(4096));
        let pattern = k.opt("attention.sliding_window_pattern")?.unwrap_or(2);
        for (il, swa) in self.swa_layers.iter_mut().enumerate() {
            *swa = pattern == 0 || il % pattern < pattern - 1;
        }
        if let Some(base) = k.opt_f32("rope.freq_base_swa")? {
            if !(base.is_finite() && base > 0.0) {
                return Err(bad_f32(&k.key("rope.freq_base_swa"), base));
            }
            self.rope_base_swa = base;
        }
        Ok(())
    }

    /// Gemma 3's block and attention, as llama.cpp's loader sets them up.
    fn gemma3(&mut self, k: &Keys<'_>) -> Result<()> {
        self.rope_neox = true;
        self.ffn_act = FfnActivation::GeluTanh;
        self.qk_norm = true;
        self.scale_queries = true;
        self.post_norms = true;
        self.embed_scale = Some((self.n_embd as f32).sqrt());
        // llama.cpp: 1/√(n_embd/n_head) only for the 27B (62 layers), else 1/√head_dim.
        self.attn_scale = if self.n_layer == 62 {
            1.0 / ((self.n_embd / self.n_head) as f32).sqrt()
        } else {
            1.0 / (self.head_dim as f32).sqrt()
        };
        match k.opt("attention.sliding_window")? {
            Some(w) if w > 0 => {
                self.sliding_window = Some(w);
                self.rope_base_swa = GEMMA3_ROPE_BASE_SWA;
                // Layer il is global when il % 6 == 5 (llama_hparams::set_swa_pattern).
                for (il, swa) in self.swa_layers.iter_mut().enumerate() {
                    *swa = il % GEMMA3_SWA_PATTERN < GEMMA3_SWA_PATTERN - 1;
                }
                // llama.cpp applies the final soft-capping only in the non-SWA graph.
            }
            _ => {
                self.final_logit_softcap = k
                    .opt_f32("final_logit_softcapping")?
                    .filter(|&c| c > 0.0 && c.is_finite());
            }
        }
        Ok(())
    }

    /// The number of query/key/value features: `n_head · head_dim` etc.
    pub fn q_dim(&self) -> usize {
        self.n_head * self.head_dim
    }
    pub fn k_dim(&self) -> usize {
        self.n_head_kv * self.head_dim
    }
    pub fn v_dim(&self) -> usize {
        self.n_head_kv * self.head_dim_v
    }
    /// Query heads per key/value head.
    pub fn gqa_group(&self) -> usize {
        self.n_head / self.n_head_kv
    }
    /// The sliding window of layer `il`, `None` for a global layer.
    pub fn window(&self, il: usize) -> Option<usize> {
        match self.swa_layers.get(il) {
            Some(true) => self.sliding_window,
            _ => None,
        }
    }
}

/// The `{arch}.*` keys of one file.
struct Keys<'a> {
    meta: &'a Metadata,
    a: &'static str,
}

impl Keys<'_> {
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.a)
    }

    fn get(&self, k: &str) -> Result<usize> {
        let key = self.key(k);
        to_usize(&key, self.meta.get_uint(&key)?)
    }

    fn opt(&self, k: &str) -> Result<Option<usize>> {
        if self.meta.contains_key(&self.key(k)) {
            self.get(k).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A float (`default` when absent), which must be positive and finite.
    fn positive_f32(&self, k: &str, default: f32) -> Result<f32> {
        let c = self.opt_f32(k)?.unwrap_or(default);
        if c.is_finite() && c > 0.0 {
            Ok(c)
        } else {
            Err(bad_f32(&self.key(k), c))
        }
    }

    fn opt_f32(&self, k: &str) -> Result<Option<f32>> {
        match self.meta.get(&self.key(k)) {
            None => Ok(None),
            Some(v) => v
                .as_float()
                .map(|x| Some(x as f32))
                .ok_or_else(|| Error::WrongValueType {
                    key: self.key(k),
                    expected: "float",
                    found: v.type_name(),
                }),
        }
    }
}

/// Linear scaling (`rope.scaling.type = linear`, `rope.scaling.factor`) is a position
/// multiplier; YaRN and the others change the rotation itself and are refused.
fn rope_scaling(meta: &Metadata, a: &str) -> Result<f32> {
    let ty_key = format!("{a}.rope.scaling.type");
    let factor_key = format!("{a}.rope.scaling.factor");
    let factor = match meta.get(&factor_key) {
        None => None,
        Some(v) => Some(v.as_float().ok_or_else(|| Error::WrongValueType {
            key: factor_key.clone(),
            expected: "float",
            found: v.type_name(),
        })? as f32),
    };
    let ty = meta.opt_str(&ty_key)?;
    match (ty, factor) {
        (None | Some("none"), _) => Ok(1.0),
        (Some("linear"), None) => Ok(1.0),
        (Some("linear"), Some(f)) if f == 0.0 || f == 1.0 => Ok(1.0),
        (Some("linear"), Some(f)) if f.is_finite() && f > 0.0 => Ok(1.0 / f),
        (Some("linear"), Some(f)) => Err(bad_f32(&factor_key, f)),
        (Some(other), _) => Err(Error::UnsupportedModelFeature {
            feature: format!("RoPE scaling type '{other}' ({ty_key})"),
        }),
    }
}

fn to_usize(key: &str, v: u64) -> Result<usize> {
    // Every size we accept must also be small enough to allocate; 2^31 is far beyond any
    // real model dimension and keeps products of two sizes inside u64.
    if v > (1 << 31) {
        return Err(Error::BadModelConfig {
            key: key.to_owned(),
            value: v.to_string(),
            reason: "too large",
        });
    }
    Ok(v as usize)
}

fn positive(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(Error::BadModelConfig {
            key: key.to_owned(),
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    Ok(())
}

fn bad_f32(key: &str, v: f32) -> Error {
    Error::BadModelConfig {
        key: key.to_owned(),
        value: v.to_string(),
        reason: "must be a finite positive number",
    }
}
