//! Small synthetic GGUF models of every supported architecture (llama, qwen2, qwen3, gemma,
//! gemma2, phi3; Llama 3 as llama with `rope_freqs` and the llama-bpe tokenizer), generated
//! deterministically, for the engine's conformance tests against llama.cpp
//! (tests/fixtures/oracle/synthetic-*.json).
//!
//! Part of `tests/support` (`support::synthetic_models`); tests/fixture_writers.rs writes the
//! files for llama.cpp.
//!
//! Every model has the same shape ([`N_EMBD`], [`N_HEAD`], [`N_HEAD_KV`], [`N_FF`],
//! [`N_CTX`]) and differs in architecture (what [`Arch`] adds to the llama block: Qwen2's
//! q/k/v biases, Qwen3's head norms and wider heads, …; its vocabulary, [`Arch::vocab`]),
//! layer count, tensor types and whether the output head is tied to `token_embd`; see
//! [`VARIANTS`]. The bytes are a pure function of this file
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
pub use super::synthetic_vocab::{sha256_hex, vocab, vocab_with_controls, Vocab};
use super::vocabs::{bpe_kvs, bpe_tokens, BpeVocab, LLAMA3_BPE};

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

    /// What the model adds to the llama block (the Llama 3 variant is arch `llama`).
    pub fn family(&self) -> Arch {
        if self.name == "llama3" {
            Arch::Llama3
        } else {
            Arch::from_name(self.arch)
        }
    }

    pub fn fixture_name(&self) -> String {
        format!("synthetic-{}.json", self.name)
    }
}

pub const VARIANTS: [Variant; 11] = [
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
    Variant {
        name: "phi3",
        arch: "phi3",
        n_layer: 4,
        tied: false,
        build: synthetic_phi3,
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

/// Llama 3.x (arch `llama`): Llama 3's byte-level BPE tokenizer (`llama-bpe`, BOS
/// `<|begin_of_text|>` added), per-frequency RoPE factors (`rope_freqs.weight`,
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

/// Phi-3 (arch `phi3`): fused `attn_qkv` and gate+up `ffn_up`, NEOX RoPE over
/// [`PHI3_N_ROT`] of the 32 head dimensions (Phi-4-mini's 3/4), LongRoPE factors
/// ([`phi3_rope_factors`]) with an original context of [`PHI3_N_CTX_ORIG`] and an attention
/// factor of [`PHI3_ATTN_FACTOR`], and a sliding window of [`PHI3_WINDOW`] declared (llama.cpp
/// ignores it). Weights spread over [`PHI3_LAYERS`] (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
/// Q4_K, Q6_K), F16 `token_embd`, separate Q6_K `output.weight` (4 layers).
pub fn synthetic_phi3() -> Vec<u8> {
    build(&Recipe {
        arch: Arch::Phi3,
        name: "phi3",
        n_layer: 4,
        tied: false,
        token_embd: GgmlType::F16,
        output: GgmlType::Q6_K,
        layer: |role, il| PHI3_LAYERS[il][role as usize],
    })
}

/// Per layer, in [`Role`] order; only `AttnQ` (the fused `attn_qkv`), `AttnOutput`, `FfnUp` (the
/// fused gate+up) and `FfnDown` exist in a Phi-3 file.
pub const PHI3_LAYERS: [[GgmlType; 7]; 4] = {
    use GgmlType::*;
    [
        [Q4_0, F32, F32, Q4_1, F32, Q5_0, Q6_K],
        [Q4_K, F32, F32, BF16, F32, Q8_0, Q4_0],
        [Q5_0, F32, F32, Q6_K, F32, Q4_K, F16],
        [F16, F32, F32, Q8_0, F32, Q4_1, Q4_K],
    ]
};

/// Phi-3's control tokens, appended to the vocabulary in this order.
pub const PHI3_CONTROLS: [&str; 5] = [
    "<|endoftext|>",
    "<|assistant|>",
    "<|system|>",
    "<|end|>",
    "<|user|>",
];

/// Phi-3's rotated dimensions per head.
pub const PHI3_N_ROT: usize = 24;
/// `rope.scaling.original_context_length`: below the fixtures' n_ctx of 512, so llama.cpp (and
/// we) rotate with the long factors there.
pub const PHI3_N_CTX_ORIG: usize = 256;
pub const PHI3_ATTN_FACTOR: f32 = 1.25;
pub const PHI3_WINDOW: usize = 8;

/// Phi-3's LongRoPE factors, one per rotated pair: (short, long). The long ones rise to 24,
/// larger than real files' so that they matter within these short prompts.
pub fn phi3_rope_factors() -> (Vec<f32>, Vec<f32>) {
    let n = PHI3_N_ROT / 2;
    let short = (0..n).map(|i| 1.0 + i as f32 / 8.0).collect();
    let long = (0..n).map(|i| 1.0 + 2.0 * i as f32).collect();
    (short, long)
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
    Phi3,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama | Arch::Llama3 => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma => "gemma",
            Arch::Gemma2 => "gemma2",
            Arch::Phi3 => "phi3",
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

    /// Tensors per layer: the llama block's nine, plus biases or head norms, or Phi-3's six
    /// (fused q/k/v and gate/up).
    pub fn layer_tensors(self) -> usize {
        match self {
            Arch::Llama | Arch::Llama3 | Arch::Gemma => 9,
            Arch::Qwen2 => 12,
            Arch::Qwen3 | Arch::Gemma2 => 11,
            Arch::Phi3 => 6,
        }
    }

    /// Tensors outside the layers beyond `token_embd` and `output_norm`: RoPE factors.
    pub fn rope_tensors(self) -> usize {
        match self {
            Arch::Llama3 => 1,
            Arch::Phi3 => 2,
            _ => 0,
        }
    }

    /// The vocabulary: [`vocab`], plus Phi-3's chat markers for Phi-3 (llama.cpp requires
    /// `<|endoftext|>` in a model whose name says Phi-3: it sets its attributes by name), and
    /// Llama 3's byte-level BPE (`llama-bpe`, [`LLAMA3_BPE`]) for Llama 3.
    pub fn vocab(self) -> ModelVocab {
        match self {
            Arch::Phi3 => ModelVocab::Spm(vocab_with_controls(&PHI3_CONTROLS)),
            Arch::Llama3 => ModelVocab::Bpe(bpe_tokens(LLAMA3_BPE)),
            _ => ModelVocab::Spm(vocab()),
        }
    }

    pub fn from_name(name: &str) -> Arch {
        match name {
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma" => Arch::Gemma,
            "gemma2" => Arch::Gemma2,
            "phi3" => Arch::Phi3,
            _ => Arch::Llama,
        }
    }
}

/// A synthetic model's tokenizer: SentencePiece ([`vocab`]) or byte-level BPE.
pub enum ModelVocab {
    Spm(Vocab),
    Bpe(BpeVocab),
}

impl ModelVocab {
    pub fn len(&self) -> usize {
        match self {
            ModelVocab::Spm(v) => v.tokens.len(),
            ModelVocab::Bpe(v) => v.tokens.len(),
        }
    }

    /// `tokenizer.ggml.model`.
    pub fn model(&self) -> &'static str {
        match self {
            ModelVocab::Spm(_) => "llama",
            ModelVocab::Bpe(_) => "gpt2",
        }
    }

    pub fn bos(&self) -> u32 {
        match self {
            ModelVocab::Spm(_) => TOKEN_BOS,
            ModelVocab::Bpe(v) => v.first_special,
        }
    }

    /// The `tokenizer.ggml.*` keys.
    fn write(self, w: &mut GgufWriter) {
        let v = match self {
            ModelVocab::Bpe(v) => return bpe_kvs(w, LLAMA3_BPE, &v),
            ModelVocab::Spm(v) => v,
        };
        w.kv("tokenizer.ggml.model", "llama")
            .kv("tokenizer.ggml.tokens", Array::from(v.tokens))
            .kv("tokenizer.ggml.scores", Array::from(v.scores))
            .kv("tokenizer.ggml.token_type", Array::from(v.types))
            .kv("tokenizer.ggml.bos_token_id", TOKEN_BOS)
            .kv("tokenizer.ggml.eos_token_id", TOKEN_EOS)
            .kv("tokenizer.ggml.unknown_token_id", TOKEN_UNK)
            .kv("tokenizer.ggml.add_bos_token", true)
            .kv("tokenizer.ggml.add_eos_token", false)
            .kv("tokenizer.ggml.add_space_prefix", true);
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
    let vocab = r.arch.vocab();
    let n_vocab = vocab.len();
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
    if r.arch == Arch::Phi3 {
        w.kv(
            &format!("{a}.rope.scaling.original_context_length"),
            PHI3_N_CTX_ORIG as u32,
        )
        .kv(&format!("{a}.rope.scaling.attn_factor"), PHI3_ATTN_FACTOR)
        .kv(&format!("{a}.attention.sliding_window"), PHI3_WINDOW as u32);
    }
    let n_rot = if r.arch == Arch::Phi3 { PHI3_N_ROT } else { hd };
    w.kv(&format!("{a}.rope.dimension_count"), n_rot as u32)
        .kv(&format!("{a}.rope.freq_base"), ROPE_FREQ_BASE)
        .kv(&format!("{a}.attention.layer_norm_rms_epsilon"), RMS_EPS)
        .kv(&format!("{a}.vocab_size"), n_vocab as u32);
    vocab.write(&mut w);

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
    if r.arch == Arch::Phi3 {
        let (short, long) = phi3_rope_factors();
        for (name, f) in [
            ("rope_factors_long.weight", long),
            ("rope_factors_short.weight", short),
        ] {
            let bytes: Vec<u8> = f.iter().flat_map(|x| x.to_le_bytes()).collect();
            w.tensor(name, GgmlType::F32, &[f.len() as u64], bytes);
        }
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
        let (tensor, dims) = if r.arch == Arch::Phi3 {
            match role {
                Role::AttnK | Role::AttnV | Role::FfnGate => continue,
                Role::AttnQ => ("attn_qkv", [N_EMBD, (N_HEAD + 2 * N_HEAD_KV) * hd]),
                Role::FfnUp => ("ffn_up", [N_EMBD, 2 * N_FF]),
                _ => (role.tensor_name(), role.dims(hd)),
            }
        } else {
            (role.tensor_name(), role.dims(hd))
        };
        let name = format!("blk.{il}.{tensor}.weight");
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
