//! Small synthetic llama-architecture GGUF models, generated deterministically, for the
//! engine's conformance tests against llama.cpp (tests/fixtures/oracle/synthetic-*.json).
//!
//! Part of `tests/support` (`support::synthetic_models`); tests/fixture_writers.rs writes the
//! files for llama.cpp.
//!
//! Every model has the same shape ([`N_EMBD`], [`N_HEAD`], [`N_HEAD_KV`], [`N_FF`],
//! [`N_CTX`], [`vocab`]) and differs in layer count, tensor types and whether the output
//! head is tied to `token_embd`; see [`VARIANTS`]. The bytes are a pure function of this file
//! (and of the crate's reference quantizers for the legacy types): only integer arithmetic
//! and IEEE-exact f32 operations (+, −, ×, ÷, sqrt) are used, never `ln`/`cos`, so every
//! platform produces the same file. `tests/oracle_fixtures.rs` checks the sha256 of each
//! file against the one the llama.cpp fixtures were recorded for.
//!
//! Regenerate the files (and the llama.cpp fixtures): `node scripts/oracle/model-fixtures.mjs`.

#![allow(dead_code)]

use half::f16;
use wasm_chord::gguf::{Array, GgufWriter};
use wasm_chord::quant::reference::quantize;
use wasm_chord::quant::{GgmlType, QK_K};

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

pub const VARIANTS: [Variant; 5] = [
    Variant {
        name: "f32",
        n_layer: 3,
        tied: false,
        build: synthetic_f32,
    },
    Variant {
        name: "q8_0",
        n_layer: 4,
        tied: true,
        build: synthetic_q8_0,
    },
    Variant {
        name: "q4_0",
        n_layer: 4,
        tied: false,
        build: synthetic_q4_0,
    },
    Variant {
        name: "kquant",
        n_layer: 4,
        tied: true,
        build: synthetic_kquant,
    },
    Variant {
        name: "mixed",
        n_layer: 4,
        tied: false,
        build: synthetic_mixed,
    },
];

pub fn variant(name: &str) -> Option<&'static Variant> {
    VARIANTS.iter().find(|v| v.name == name)
}

/// Every tensor F32 (3 layers, separate `output.weight`). About 8 MB: F32 at these
/// dimensions cannot be smaller.
pub fn synthetic_f32() -> Vec<u8> {
    build(&Recipe {
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
        name: "mixed",
        n_layer: 4,
        tied: false,
        token_embd: GgmlType::F16,
        output: GgmlType::Q5_0,
        layer: |role, il| MIXED_LAYERS[il][role as usize],
    })
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

    /// GGUF dims `[ne0 (input, contiguous), ne1 (output)]`.
    pub fn dims(self) -> [usize; 2] {
        match self {
            Role::AttnQ | Role::AttnOutput => [N_EMBD, N_EMBD],
            Role::AttnK | Role::AttnV => [N_EMBD, N_EMBD_KV],
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
const SEED: u64 = 0x5EED_C0DE_11A3_A000;

fn build(r: &Recipe) -> Vec<u8> {
    let vocab = vocab();
    let n_vocab = vocab.tokens.len();
    let mut w = GgufWriter::new();
    w.kv("general.architecture", "llama")
        .kv("general.name", format!("wasm-chord synthetic {}", r.name))
        .kv("general.alignment", 32u32)
        .kv("llama.context_length", N_CTX as u32)
        .kv("llama.embedding_length", N_EMBD as u32)
        .kv("llama.block_count", r.n_layer as u32)
        .kv("llama.feed_forward_length", N_FF as u32)
        .kv("llama.attention.head_count", N_HEAD as u32)
        .kv("llama.attention.head_count_kv", N_HEAD_KV as u32)
        .kv("llama.rope.dimension_count", HEAD_DIM as u32)
        .kv("llama.rope.freq_base", ROPE_FREQ_BASE)
        .kv("llama.attention.layer_norm_rms_epsilon", RMS_EPS)
        .kv("llama.vocab_size", n_vocab as u32)
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
    w.tensor(
        "token_embd.weight",
        r.token_embd,
        &dims64(embd),
        weights(r.token_embd, "token_embd.weight", embd, embd_std),
    );
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
            let dims = role.dims();
            let name = format!("blk.{il}.{}.weight", role.tensor_name());
            let std = role.gain() / (dims[0] as f32).sqrt();
            let data = weights(ty, &name, dims, std);
            w.tensor(&name, ty, &dims64(dims), data);
        }
    }
    w.to_bytes()
}

fn dims64(d: [usize; 2]) -> [u64; 2] {
    [d[0] as u64, d[1] as u64]
}

/// `mean` × U[0.8, 1.2), per element.
fn norm_weights(name: &str, mean: f32) -> Vec<u8> {
    let mut rng = Rng::for_tensor(name);
    (0..N_EMBD)
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

// ---- random valid K-quant blocks ----------------------------------------------------------
//
// ggml has search-based K-quantizers only; a random block with small positive f16 super-block
// scales, random sub-block scales and random quants is just as valid. Mins are chosen to
// centre each sub-block on ~0. The `d` of each type is `std` / (rms of scale × quant).

fn f16le(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_bits().to_le_bytes()
}

fn random_bytes(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    out.extend((0..n).map(|_| rng.byte()));
}

/// Q4_K/Q5_K 6-bit scales and mins (8 each) packed into 12 bytes, as `get_scale_min_k4`
/// unpacks them.
fn pack_scale_min_k4(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
    let mut q = [0u8; 12];
    for j in 0..4 {
        q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        q[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
        q[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4);
    }
    q
}

/// `d`·sc·q − `dmin`·m with q in [0, 2^bits): sc in [24, 63], dmin = 2^(bits−1)·d and
/// m = round(sc·(2^bits − 1)/2^bits) so each sub-block's mean is ~0.
fn k4_scales(rng: &mut Rng, bits: u32) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    let levels = 1u32 << bits;
    for j in 0..8 {
        let s = 24 + (rng.next_u64() % 40) as u32;
        sc[j] = s as u8;
        // round(s * (levels - 1) / levels) in integers
        m[j] = ((2 * s * (levels - 1) + levels) / (2 * levels)) as u8;
    }
    (sc, m)
}

fn q4_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // rms(sc) ≈ 45, std(q) = sqrt(255/12)
    let d = std / (45.0 * 4.61);
    let (sc, m) = k4_scales(rng, 4);
    let mut b = Vec::with_capacity(144);
    b.extend(f16le(d));
    b.extend(f16le(d * 8.0));
    b.extend(pack_scale_min_k4(&sc, &m));
    random_bytes(rng, &mut b, QK_K / 2);
    b
}

fn q5_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // rms(sc) ≈ 45, std(q) = sqrt(1023/12)
    let d = std / (45.0 * 9.23);
    let (sc, m) = k4_scales(rng, 5);
    let mut b = Vec::with_capacity(176);
    b.extend(f16le(d));
    b.extend(f16le(d * 16.0));
    b.extend(pack_scale_min_k4(&sc, &m));
    random_bytes(rng, &mut b, QK_K / 8 + QK_K / 2);
    b
}

fn q6_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·sc·(q − 32): |sc| in [24, 63] (rms ≈ 45) with a random sign, std(q) = sqrt(4095/12)
    let d = std / (45.0 * 18.47);
    let mut b = Vec::with_capacity(210);
    random_bytes(rng, &mut b, QK_K / 2 + QK_K / 4);
    for _ in 0..QK_K / 16 {
        let r = rng.next_u64();
        let mag = 24 + (r % 40) as i8;
        let s = if (r >> 32) & 1 == 1 { -mag } else { mag };
        b.push(s as u8);
    }
    b.extend(f16le(d));
    b
}

fn q3_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·(sc − 32)·(q − 4·!hbit), q − 4·!hbit uniform in [−4, 3]; |sc − 32| in [12, 31]
    // (rms ≈ 22.7) with a random sign
    let d = std / (22.7 * 2.35);
    let mut b = Vec::with_capacity(110);
    random_bytes(rng, &mut b, QK_K / 8 + QK_K / 4);
    let mut scales = [0u8; 12];
    for j in 0..16 {
        let r = rng.next_u64();
        let mag = 12 + (r % 20) as u8;
        let l = if (r >> 32) & 1 == 1 {
            32 - mag
        } else {
            32 + mag
        };
        if j < 8 {
            scales[j] = l & 0xF;
        } else {
            scales[j - 8] |= (l & 0xF) << 4;
        }
        scales[j % 4 + 8] |= (l >> 4) << (2 * (j / 4));
    }
    b.extend(scales);
    b.extend(f16le(d));
    b
}

fn q2_k_block(rng: &mut Rng, std: f32) -> Vec<u8> {
    // d·sc·q − dmin·m, q in [0, 3], sc in [4, 15] (rms ≈ 10.1), dmin = 2d, m = round(0.75·sc)
    let d = std / (10.1 * 1.118);
    let mut b = Vec::with_capacity(84);
    for _ in 0..QK_K / 16 {
        let sc = 4 + (rng.next_u64() % 12) as u8;
        let m = (3 * sc + 2) / 4;
        b.push(sc | (m << 4));
    }
    random_bytes(rng, &mut b, QK_K / 4);
    b.extend(f16le(d));
    b.extend(f16le(2.0 * d));
    b
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

// ---- deterministic randomness ---------------------------------------------------------------

/// SplitMix64 seeded from a tensor name; `normal` is an Irwin–Hall(4) approximation of a
/// unit normal, so no transcendental function (whose last bit may vary by platform) is used.
struct Rng(u64);

impl Rng {
    fn for_tensor(name: &str) -> Rng {
        // FNV-1a of the name, mixed with the global seed.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for &b in name.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h ^ SEED)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }

    /// Uniform in [0, 1), 24 random bits (exact in f32).
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    /// Mean 0, standard deviation 1, support (−2√3, 2√3).
    fn normal(&mut self) -> f32 {
        let s = self.unit() + self.unit() + self.unit() + self.unit();
        (s - 2.0) * 1.732_050_8
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
