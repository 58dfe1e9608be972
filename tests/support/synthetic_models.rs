//! Small synthetic GGUF models of the llama, qwen2 and qwen3 architectures, generated
//! deterministically, for the engine's conformance tests against llama.cpp
//! (tests/fixtures/oracle/synthetic-*.json).
//!
//! Part of `tests/support` (`support::synthetic_models`); tests/fixture_writers.rs writes the
//! files for llama.cpp.
//!
//! Every model has the same shape ([`N_EMBD`], [`N_HEAD`], [`N_HEAD_KV`], [`N_FF`],
//! [`N_CTX`], [`vocab`]) and differs in architecture (what [`Arch`] adds to the llama block:
//! Qwen2's q/k/v biases, Qwen3's head norms and wider heads), layer count, tensor types and
//! whether the output head is tied to `token_embd`; see [`VARIANTS`]. The bytes are a pure function of this file
//! (and of the crate's reference quantizers for the legacy types): only integer arithmetic
//! and IEEE-exact f32 operations (+, −, ×, ÷, sqrt) are used, never `ln`/`cos`, so every
//! platform produces the same file. `tests/oracle_fixtures.rs` checks the sha256 of each
//! file against the one the llama.cpp fixtures were recorded for.
//!
//! Regenerate the files (and the llama.cpp fixtures): `node scripts/oracle/model-fixtures.mjs`.

#![allow(dead_code)]

use wasm_chord::gguf::{Array, GgufWriter};
use wasm_chord::quant::reference::quantize;
use wasm_chord::quant::{GgmlType, QK_K};

use super::synthetic_blocks::{q2_k_block, q3_k_block, q4_k_block, q5_k_block, q6_k_block, Rng};

pub const N_EMBD: usize = 256;
pub const N_HEAD: usize = 8;
pub const N_HEAD_KV: usize = 2;
pub const HEAD_DIM: usize = N_EMBD / N_HEAD;
pub const N_EMBD_KV: usize = HEAD_DIM * N_HEAD_KV;
pub const N_FF: usize = 512;
pub const N_CTX: usize = 512;
pub const ROPE_FREQ_BASE: f32 = 10000.0;
pub const RMS_EPS: f32 = 1e-5;

pub const TOKEN_UNK: u32 = 0;
pub const TOKEN_BOS: u32 = 1;
pub const TOKEN_EOS: u32 = 2;

/// SentencePiece token types (`tokenizer.ggml.token_type`).
pub const TYPE_NORMAL: i32 = 1;
pub const TYPE_UNKNOWN: i32 = 2;
pub const TYPE_CONTROL: i32 = 3;
pub const TYPE_BYTE: i32 = 6;

/// One synthetic model.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// Short name: the file is `synthetic-<name>.gguf`, its fixture `synthetic-<name>.json`.
    pub name: &'static str,
    /// `general.architecture`, the metadata key prefix.
    pub arch: &'static str,
    pub n_layer: usize,
    /// No `output.weight`: llama.cpp reuses `token_embd.weight` as the output head.
    pub tied: bool,
    pub build: fn() -> Vec<u8>,
}

impl Variant {
    pub fn file_name(&self) -> String {
        format!("synthetic-{}.gguf", self.name)
    }

    pub fn fixture_name(&self) -> String {
        format!("synthetic-{}.json", self.name)
    }
}

pub const VARIANTS: [Variant; 10] = [
    Variant {
        name: "f32",
        arch: "llama",
        n_layer: 3,
        tied: false,
        build: synthetic_f32,
    },
    Variant {
        name: "q8_0",
        arch: "llama",
        n_layer: 4,
        tied: true,
        build: synthetic_q8_0,
    },
    Variant {
        name: "q4_0",
        arch: "llama",
        n_layer: 4,
        tied: false,
        build: synthetic_q4_0,
    },
    Variant {
        name: "kquant",
        arch: "llama",
        n_layer: 4,
        tied: true,
        build: synthetic_kquant,
    },
    Variant {
        name: "mixed",
        arch: "llama",
        n_layer: 4,
        tied: false,
        build: synthetic_mixed,
    },
    Variant {
        name: "qwen2",
        arch: "qwen2",
        n_layer: 3,
        tied: true,
        build: synthetic_qwen2,
    },
    Variant {
        name: "qwen3",
        arch: "qwen3",
        n_layer: 3,
        tied: false,
        build: synthetic_qwen3,
    },
    Variant {
        name: "gemma",
        arch: "gemma",
        n_layer: 3,
        tied: true,
        build: synthetic_gemma,
    },
    Variant {
        name: "gemma2",
        arch: "gemma2",
        n_layer: 4,
        tied: true,
        build: synthetic_gemma2,
    },
    Variant {
        name: "llama3",
        arch: "llama",
        n_layer: 3,
        tied: true,
        build: synthetic_llama3,
    },
];

pub fn variant(name: &str) -> Option<&'static Variant> {
    VARIANTS.iter().find(|v| v.name == name)
}

/// Every tensor F32 (3 layers, separate `output.weight`). About 8 MB: F32 at these
/// dimensions cannot be smaller.
pub fn synthetic_f32() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama,
        name: "f32",
        n_layer: 3,
        tied: false,
        token_embd: GgmlType::F32,
        output: GgmlType::F32,
        layer: |_, _| GgmlType::F32,
    })
}

/// Q8_0 weights, output head tied to a Q8_0 `token_embd` (4 layers).
pub fn synthetic_q8_0() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama,
        name: "q8_0",
        n_layer: 4,
        tied: true,
        token_embd: GgmlType::Q8_0,
        output: GgmlType::Q8_0,
        layer: |_, _| GgmlType::Q8_0,
    })
}

/// Q4_0 weights, Q4_0 `token_embd` and a separate Q4_0 `output.weight` (4 layers).
pub fn synthetic_q4_0() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama,
        name: "q4_0",
        n_layer: 4,
        tied: false,
        token_embd: GgmlType::Q4_0,
        output: GgmlType::Q4_0,
        layer: |_, _| GgmlType::Q4_0,
    })
}

/// K-quant weights (random valid blocks): every layer matrix cycles through Q2_K, Q3_K,
/// Q4_K, Q5_K and Q6_K, so each type appears in several roles; output head tied to a Q6_K
/// `token_embd` (4 layers).
pub fn synthetic_kquant() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama,
        name: "kquant",
        n_layer: 4,
        tied: true,
        token_embd: GgmlType::Q6_K,
        output: GgmlType::Q6_K,
        layer: |role, il| KQUANTS[(role as usize + il) % KQUANTS.len()],
    })
}

/// The other legacy and float types: F16, BF16, Q4_1, Q5_0, Q5_1 and Q8_0 spread over the
/// layer matrices ([`MIXED_LAYERS`]), F16 `token_embd`, separate Q5_0 `output.weight`
/// (4 layers).
pub fn synthetic_mixed() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama,
        name: "mixed",
        n_layer: 4,
        tied: false,
        token_embd: GgmlType::F16,
        output: GgmlType::Q5_0,
        layer: |role, il| MIXED_LAYERS[il][role as usize],
    })
}

/// Qwen2 (arch `qwen2`): biases on the q/k/v projections, NEOX RoPE (llama.cpp's graph);
/// Q4_K weights with Q6_K for `attn_v` and `ffn_down` (a Q4_K_M-like mix), output head tied to
/// a Q6_K `token_embd` (3 layers).
pub fn synthetic_qwen2() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Qwen2,
        name: "qwen2",
        n_layer: 3,
        tied: true,
        token_embd: GgmlType::Q6_K,
        output: GgmlType::Q6_K,
        layer: |role, _| match role {
            Role::AttnV | Role::FfnDown => GgmlType::Q6_K,
            _ => GgmlType::Q4_K,
        },
    })
}

/// Qwen3 (arch `qwen3`): RMS norms on every query and key head, NEOX RoPE, and a head size of
/// [`QWEN3_HEAD_DIM`] (`attention.key_length`), twice `n_embd / n_head`; Q8_0 weights with a
/// separate Q8_0 `output.weight` (3 layers).
pub fn synthetic_qwen3() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Qwen3,
        name: "qwen3",
        n_layer: 3,
        tied: false,
        token_embd: GgmlType::Q8_0,
        output: GgmlType::Q8_0,
        layer: |_, _| GgmlType::Q8_0,
    })
}

/// Gemma (arch `gemma`): GELU gate, NEOX RoPE, pre-scaled queries, embeddings × √n_embd,
/// output head tied to a Q8_0 `token_embd` (llama.cpp never reads an `output.weight` here);
/// Q4_0 weights (3 layers).
pub fn synthetic_gemma() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Gemma,
        name: "gemma",
        n_layer: 3,
        tied: true,
        token_embd: GgmlType::Q8_0,
        output: GgmlType::Q8_0,
        layer: |_, _| GgmlType::Q4_0,
    })
}

/// Gemma 2 (arch `gemma2`): Gemma plus post-attention and post-FFN norms, attention scores
/// soft-capped at [`GEMMA2_ATTN_SOFTCAP`], logits at [`GEMMA2_FINAL_SOFTCAP`], and a window of
/// [`GEMMA2_WINDOW`] on the even layers; K-quant weights as in [`synthetic_kquant`], tied Q6_K
/// `token_embd` (4 layers).
pub fn synthetic_gemma2() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Gemma2,
        name: "gemma2",
        n_layer: 4,
        tied: true,
        token_embd: GgmlType::Q6_K,
        output: GgmlType::Q6_K,
        layer: |role, il| KQUANTS[(role as usize + il) % KQUANTS.len()],
    })
}

/// Llama 3.x (arch `llama`): per-frequency RoPE factors (`rope_freqs.weight`,
/// [`llama3_rope_factors`]), output head tied to a Q8_0 `token_embd` (as Llama 3.2 1B/3B);
/// Q4_K weights with Q6_K `attn_v`/`ffn_down` (3 layers).
pub fn synthetic_llama3() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Llama3,
        name: "llama3",
        n_layer: 3,
        tied: true,
        token_embd: GgmlType::Q8_0,
        output: GgmlType::Q8_0,
        layer: |role, _| match role {
            Role::AttnV | Role::FfnDown => GgmlType::Q6_K,
            _ => GgmlType::Q4_K,
        },
    })
}

/// The synthetic Llama 3's RoPE factors, one per rotated pair: 1 for the fastest quarter, then
/// rising to 16 (real Llama 3 files rise to 8 over the slow half; larger here so that they
/// matter within these short prompts).
pub fn llama3_rope_factors() -> Vec<f32> {
    let n = HEAD_DIM / 2;
    (0..n)
        .map(|i| if i < n / 4 { 1.0 } else { (i + 1) as f32 })
        .collect()
}

/// Gemma 2's caps and window, small enough to matter for these models and prompts.
pub const GEMMA2_ATTN_SOFTCAP: f32 = 5.0;
pub const GEMMA2_FINAL_SOFTCAP: f32 = 15.0;
pub const GEMMA2_WINDOW: usize = 8;

/// Qwen3's head size (both keys and values).
pub const QWEN3_HEAD_DIM: usize = 64;
/// Standard deviation of the Qwen2 q/k/v biases (real Qwen2 key biases are large too).
const BIAS_STD: f32 = 0.5;

/// What the architectures of the synthetic models add to the llama block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma,
    Gemma2,
    /// The llama architecture with `rope_freqs.weight`.
    Llama3,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama | Arch::Llama3 => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma => "gemma",
            Arch::Gemma2 => "gemma2",
        }
    }

    pub fn head_dim(self) -> usize {
        match self {
            Arch::Qwen3 => QWEN3_HEAD_DIM,
            _ => HEAD_DIM,
        }
    }

    /// What the forward pass multiplies the embeddings by.
    pub fn embed_scale(self) -> f32 {
        match self {
            Arch::Gemma | Arch::Gemma2 => (N_EMBD as f32).sqrt(),
            _ => 1.0,
        }
    }

    /// Tensors per layer beyond the llama block's nine.
    pub fn extra_layer_tensors(self) -> usize {
        match self {
            Arch::Llama | Arch::Llama3 | Arch::Gemma => 0,
            Arch::Qwen2 => 3,
            Arch::Qwen3 | Arch::Gemma2 => 2,
        }
    }

    pub fn from_name(name: &str) -> Arch {
        match name {
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma" => Arch::Gemma,
            "gemma2" => Arch::Gemma2,
            _ => Arch::Llama,
        }
    }
}

const KQUANTS: [GgmlType; 5] = [
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// Per layer, in [`Role`] order (q, k, v, output, gate, up, down).
pub const MIXED_LAYERS: [[GgmlType; 7]; 4] = {
    use GgmlType::*;
    [
        [F16, Q5_0, Q5_1, Q4_1, Q5_0, Q4_1, Q5_1],
        [Q4_1, BF16, F16, Q5_0, Q5_1, Q8_0, Q4_1],
        [Q5_1, Q4_1, Q5_0, BF16, Q4_1, Q5_0, Q8_0],
        [Q5_0, F16, BF16, Q5_1, BF16, Q5_1, Q5_0],
    ]
};

/// The layer matrices, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    AttnQ,
    AttnK,
    AttnV,
    AttnOutput,
    FfnGate,
    FfnUp,
    FfnDown,
}

const ROLES: [Role; 7] = [
    Role::AttnQ,
    Role::AttnK,
    Role::AttnV,
    Role::AttnOutput,
    Role::FfnGate,
    Role::FfnUp,
    Role::FfnDown,
];

impl Role {
    pub fn tensor_name(self) -> &'static str {
        match self {
            Role::AttnQ => "attn_q",
            Role::AttnK => "attn_k",
            Role::AttnV => "attn_v",
            Role::AttnOutput => "attn_output",
            Role::FfnGate => "ffn_gate",
            Role::FfnUp => "ffn_up",
            Role::FfnDown => "ffn_down",
        }
    }

    /// GGUF dims `[ne0 (input, contiguous), ne1 (output)]` with heads of `head_dim`.
    pub fn dims(self, head_dim: usize) -> [usize; 2] {
        match self {
            Role::AttnQ => [N_EMBD, N_HEAD * head_dim],
            Role::AttnOutput => [N_HEAD * head_dim, N_EMBD],
            Role::AttnK | Role::AttnV => [N_EMBD, N_HEAD_KV * head_dim],
            Role::FfnGate | Role::FfnUp => [N_EMBD, N_FF],
            Role::FfnDown => [N_FF, N_EMBD],
        }
    }

    /// Weight standard deviation × sqrt(fan-in): 1 keeps unit-scale activations at unit
    /// scale; queries are a little larger so attention is not uniform.
    fn gain(self) -> f32 {
        match self {
            Role::AttnQ => 2.0,
            Role::AttnK => 1.0,
            Role::AttnV | Role::AttnOutput => 1.0,
            Role::FfnGate | Role::FfnUp => 1.0,
            Role::FfnDown => 1.5,
        }
    }
}

struct Recipe {
    arch: Arch,
    name: &'static str,
    n_layer: usize,
    tied: bool,
    token_embd: GgmlType,
    output: GgmlType,
    layer: fn(Role, usize) -> GgmlType,
}

/// Standard deviation of `token_embd` when the output head is separate (the residual stream
/// starts at this scale; each layer adds ~1, so the context matters more than the current token).
const EMBD_STD: f32 = 0.5;
/// Standard deviation of a tied `token_embd`: smaller, or the current token's own embedding
/// dominates the logits and the model repeats its input.
const TIED_EMBD_STD: f32 = 0.1;
/// Standard deviation of the logits (set through the mean of `output_norm.weight`).
const LOGIT_STD: f32 = 4.0;
/// Seed shared by all variants: a tensor of the same name has the same underlying f32
/// weights in every variant that quantizes it with a reference quantizer.
pub const SEED: u64 = 0x5EED_C0DE_11A3_A000;

fn build(r: &Recipe) -> Vec<u8> {
    let vocab = vocab();
    let n_vocab = vocab.tokens.len();
    let mut w = GgufWriter::new();
    let a = r.arch.name();
    let hd = r.arch.head_dim();
    w.kv("general.architecture", a)
        .kv("general.name", format!("wasm-chord synthetic {}", r.name))
        .kv("general.alignment", 32u32)
        .kv(&format!("{a}.context_length"), N_CTX as u32)
        .kv(&format!("{a}.embedding_length"), N_EMBD as u32)
        .kv(&format!("{a}.block_count"), r.n_layer as u32)
        .kv(&format!("{a}.feed_forward_length"), N_FF as u32)
        .kv(&format!("{a}.attention.head_count"), N_HEAD as u32)
        .kv(&format!("{a}.attention.head_count_kv"), N_HEAD_KV as u32);
    if hd != HEAD_DIM {
        w.kv(&format!("{a}.attention.key_length"), hd as u32)
            .kv(&format!("{a}.attention.value_length"), hd as u32);
    }
    if r.arch == Arch::Gemma2 {
        w.kv(
            &format!("{a}.attention.sliding_window"),
            GEMMA2_WINDOW as u32,
        )
        .kv(&format!("{a}.attn_logit_softcapping"), GEMMA2_ATTN_SOFTCAP)
        .kv(
            &format!("{a}.final_logit_softcapping"),
            GEMMA2_FINAL_SOFTCAP,
        );
    }
    w.kv(&format!("{a}.rope.dimension_count"), hd as u32)
        .kv(&format!("{a}.rope.freq_base"), ROPE_FREQ_BASE)
        .kv(&format!("{a}.attention.layer_norm_rms_epsilon"), RMS_EPS)
        .kv(&format!("{a}.vocab_size"), n_vocab as u32)
        .kv("tokenizer.ggml.model", "llama")
        .kv("tokenizer.ggml.tokens", Array::from(vocab.tokens))
        .kv("tokenizer.ggml.scores", Array::from(vocab.scores))
        .kv("tokenizer.ggml.token_type", Array::from(vocab.types))
        .kv("tokenizer.ggml.bos_token_id", TOKEN_BOS)
        .kv("tokenizer.ggml.eos_token_id", TOKEN_EOS)
        .kv("tokenizer.ggml.unknown_token_id", TOKEN_UNK)
        .kv("tokenizer.ggml.add_bos_token", true)
        .kv("tokenizer.ggml.add_eos_token", false)
        .kv("tokenizer.ggml.add_space_prefix", true);

    let embd = [N_EMBD, n_vocab];
    // logit std ≈ output_norm mean × output row std × sqrt(n_embd)
    let (embd_std, output_norm_mean) = if r.tied {
        (TIED_EMBD_STD, LOGIT_STD / (TIED_EMBD_STD * 16.0))
    } else {
        (EMBD_STD, LOGIT_STD)
    };
    // Gemma multiplies the embeddings by √n_embd: store them that much smaller, so the residual
    // stream starts where the llama models' does (else the current token's own embedding
    // dominates a tied head and the model repeats its input).
    let embd_scale = r.arch.embed_scale();
    let (embd_std, output_norm_mean) = (embd_std / embd_scale, output_norm_mean * embd_scale);
    w.tensor(
        "token_embd.weight",
        r.token_embd,
        &dims64(embd),
        weights(r.token_embd, "token_embd.weight", embd, embd_std),
    );
    if r.arch == Arch::Llama3 {
        let f: Vec<u8> = llama3_rope_factors()
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        w.tensor(
            "rope_freqs.weight",
            GgmlType::F32,
            &[(HEAD_DIM / 2) as u64],
            f,
        );
    }
    w.tensor(
        "output_norm.weight",
        GgmlType::F32,
        &[N_EMBD as u64],
        norm_weights("output_norm.weight", output_norm_mean),
    );
    if !r.tied {
        let std = 1.0 / (N_EMBD as f32).sqrt();
        w.tensor(
            "output.weight",
            r.output,
            &dims64(embd),
            weights(r.output, "output.weight", embd, std),
        );
    }
    for il in 0..r.n_layer {
        layer_tensors(&mut w, r, il);
    }
    w.to_bytes()
}

/// Layer `il`'s norms and matrices (and the architecture's biases or head norms).
fn layer_tensors(w: &mut GgufWriter, r: &Recipe, il: usize) {
    let hd = r.arch.head_dim();
    let name = format!("blk.{il}.attn_norm.weight");
    w.tensor(
        &name,
        GgmlType::F32,
        &[N_EMBD as u64],
        norm_weights(&name, 1.0),
    );
    for role in ROLES {
        if role == Role::FfnGate {
            let name = format!("blk.{il}.ffn_norm.weight");
            w.tensor(
                &name,
                GgmlType::F32,
                &[N_EMBD as u64],
                norm_weights(&name, 1.0),
            );
        }
        let ty = (r.layer)(role, il);
        let dims = role.dims(hd);
        let name = format!("blk.{il}.{}.weight", role.tensor_name());
        let std = role.gain() / (dims[0] as f32).sqrt();
        let data = weights(ty, &name, dims, std);
        w.tensor(&name, ty, &dims64(dims), data);
        let biased = matches!(role, Role::AttnQ | Role::AttnK | Role::AttnV);
        if r.arch == Arch::Qwen2 && biased {
            let name = format!("blk.{il}.{}.bias", role.tensor_name());
            let data = weights(GgmlType::F32, &name, [dims[1], 1], BIAS_STD);
            w.tensor(&name, GgmlType::F32, &[dims[1] as u64], data);
        }
        if r.arch == Arch::Gemma2 && matches!(role, Role::AttnOutput | Role::FfnDown) {
            let norm = if role == Role::AttnOutput {
                "post_attention_norm"
            } else {
                "post_ffw_norm"
            };
            let name = format!("blk.{il}.{norm}.weight");
            w.tensor(
                &name,
                GgmlType::F32,
                &[N_EMBD as u64],
                norm_weights(&name, 1.0),
            );
        }
        if r.arch == Arch::Qwen3 && role == Role::AttnK {
            for norm in ["attn_q_norm", "attn_k_norm"] {
                let name = format!("blk.{il}.{norm}.weight");
                let data = norm_weights_n(&name, 1.0, hd);
                w.tensor(&name, GgmlType::F32, &[hd as u64], data);
            }
        }
    }
}

fn dims64(d: [usize; 2]) -> [u64; 2] {
    [d[0] as u64, d[1] as u64]
}

/// `mean` × U[0.8, 1.2), per element of an `n_embd` vector.
fn norm_weights(name: &str, mean: f32) -> Vec<u8> {
    norm_weights_n(name, mean, N_EMBD)
}

/// `mean` × U[0.8, 1.2), per element of a `len` vector.
fn norm_weights_n(name: &str, mean: f32, len: usize) -> Vec<u8> {
    let mut rng = Rng::for_tensor(name);
    (0..len)
        .flat_map(|_| (mean * (0.8 + 0.4 * rng.unit())).to_le_bytes())
        .collect()
}

/// A `dims` matrix of `ty` whose dequantized values have standard deviation ≈ `std`.
fn weights(ty: GgmlType, name: &str, dims: [usize; 2], std: f32) -> Vec<u8> {
    let n = dims[0] * dims[1];
    let mut rng = Rng::for_tensor(name);
    let kquant = |f: fn(&mut Rng, f32) -> Vec<u8>, rng: &mut Rng| -> Vec<u8> {
        (0..n / QK_K).flat_map(|_| f(rng, std)).collect()
    };
    match ty {
        GgmlType::Q2_K => kquant(q2_k_block, &mut rng),
        GgmlType::Q3_K => kquant(q3_k_block, &mut rng),
        GgmlType::Q4_K => kquant(q4_k_block, &mut rng),
        GgmlType::Q5_K => kquant(q5_k_block, &mut rng),
        GgmlType::Q6_K => kquant(q6_k_block, &mut rng),
        _ => {
            let x: Vec<f32> = (0..n).map(|_| std * rng.normal()).collect();
            quantize(ty, &x).expect("reference quantizer accepts whole rows of this type")
        }
    }
}

// ---- vocabulary -----------------------------------------------------------------------------

/// A SentencePiece-style vocabulary: `<unk>`, `<s>`, `</s>` (control), the 256 byte tokens
/// `<0x00>`…`<0xFF>`, every printable ASCII character and `▁`, then `▁`-prefixed word
/// pieces (every prefix of each word, so SentencePiece merges can reach it) and a few
/// suffix pieces, scored so shorter pieces merge first.
pub struct Vocab {
    pub tokens: Vec<String>,
    pub scores: Vec<f32>,
    pub types: Vec<i32>,
}

const WORDS: &str = "the of and to a in is it you that he was for on are with as I his they \
be at one have this from or had by hot word but what some we can out other were all there \
when up use your how said an each she which do their time if will way about many then them \
write would like so these her long make thing see him two has look more day could go come \
did number sound no most people my over know water than call first who may down side been \
now find any new work part take get place made live where after back little only round man \
year came show every good me give our under name very through just form sentence great \
think say help low line differ turn cause much mean before move right boy old too same tell \
does set three want air well also play small end put home read hand port large spell add \
even land here must big high such follow act why ask men change went light kind off need \
house picture try us again animal point mother world near build self earth father once \
upon story robot quick brown fox jumps lazy dog hello def return fn let main print true \
false none self class import function var const temperature boils degrees list items";

const SUFFIXES: &[&str] = &[
    "s", "ed", "ing", "er", "ly", "es", "en", "ion", "tion", "ment", "est", "th", "he", "in", "an",
    "re", "on", "at", "nd", "ou", "it", "or", "is", "ar", "te", "st", "al", "le",
];

pub fn vocab() -> Vocab {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![TYPE_UNKNOWN, TYPE_CONTROL, TYPE_CONTROL];
    let mut scores = vec![0.0f32; 3];
    for b in 0..=255u32 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(TYPE_BYTE);
        scores.push(0.0);
    }
    // Multi-character pieces, deduplicated, in first-seen order, then stably sorted by length
    // so shorter pieces get higher scores (merge first), like a BPE-trained vocabulary.
    let mut pieces: Vec<String> = Vec::new();
    let add = |p: String, pieces: &mut Vec<String>| {
        if p.chars().count() >= 2 && !pieces.contains(&p) {
            pieces.push(p);
        }
    };
    add("\u{2581}\u{2581}".into(), &mut pieces);
    add("\u{2581}\u{2581}\u{2581}\u{2581}".into(), &mut pieces);
    for word in WORDS.split_whitespace() {
        let piece = format!("\u{2581}{word}");
        let chars: Vec<char> = piece.chars().collect();
        for len in 2..=chars.len() {
            add(chars[..len].iter().collect(), &mut pieces);
        }
    }
    for s in SUFFIXES {
        let chars: Vec<char> = s.chars().collect();
        for len in 2..=chars.len() {
            add(chars[..len].iter().collect(), &mut pieces);
        }
    }
    pieces.sort_by_key(|p| p.chars().count());
    for (rank, p) in pieces.into_iter().enumerate() {
        tokens.push(p);
        types.push(TYPE_NORMAL);
        scores.push(-(rank as f32));
    }
    // Single characters last, with the lowest scores (they are never merge results).
    let singles = std::iter::once('\u{2581}').chain((0x21u8..0x7F).map(char::from));
    for (i, c) in singles.enumerate() {
        tokens.push(c.to_string());
        types.push(TYPE_NORMAL);
        scores.push(-10000.0 - i as f32);
    }
    Vocab {
        tokens,
        scores,
        types,
    }
}

// ---- sha256 (no dependency) -----------------------------------------------------------------

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// Writes every variant into `dir` as `synthetic-<name>.gguf`; returns (variant, path,
/// sha256) per file.
pub fn write_all(
    dir: &std::path::Path,
) -> std::io::Result<Vec<(&'static Variant, std::path::PathBuf, String)>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for v in &VARIANTS {
        let bytes = (v.build)();
        let path = dir.join(v.file_name());
        std::fs::write(&path, &bytes)?;
        out.push((v, path, sha256_hex(&bytes)));
    }
    Ok(out)
}
