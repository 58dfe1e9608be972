//! The WGSL sources (`shaders/*.wgsl`) and how kernels are composed from them.
//!
//! WGSL has no includes, so a kernel's module is the concatenation of
//! 1. constants from the host — block geometry from the one type table
//!    ([`crate::quant::GgmlType`]), workgroup-shape choices;
//! 2. `common.wgsl` (byte loaders for raw GGUF blocks);
//! 3. for kernels that read weights, the type's decoder `shaders/quant/<type>.wgsl`, which
//!    defines `dq8(block_byte, part) -> D8`: eight consecutive weights; types with a block
//!    min (Q4_1, Q5_1) also `dq8_scaled` (q·d without the min) and `block_min`, which the
//!    matmuls use with Q8_1 activation sums; the others get [`NO_MIN`];
//! 4. the kernel itself.

use crate::quant::GgmlType;

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");
pub const GEMV: &str = include_str!("../../shaders/gemv.wgsl");
pub const DEQUANT: &str = include_str!("../../shaders/dequant.wgsl");
/// f32 → f16 rounding (prepended to the kernels that store or round to f16).
pub const F16: &str = include_str!("../../shaders/f16.wgsl");
pub const ACT_QUANT: &str = include_str!("../../shaders/act_quant.wgsl");
pub const EMBED: &str = include_str!("../../shaders/embed.wgsl");
pub const RMSNORM: &str = include_str!("../../shaders/rmsnorm.wgsl");
pub const ROPE: &str = include_str!("../../shaders/rope.wgsl");
pub const SCALE: &str = include_str!("../../shaders/scale.wgsl");
pub const ADD: &str = include_str!("../../shaders/add.wgsl");
pub const GLU: &str = include_str!("../../shaders/glu.wgsl");
pub const KV_STORE: &str = include_str!("../../shaders/kv_store.wgsl");
pub const ATTN_SCORES: &str = include_str!("../../shaders/attn_scores.wgsl");
pub const SOFTMAX: &str = include_str!("../../shaders/softmax.wgsl");
pub const ATTN_VALUES: &str = include_str!("../../shaders/attn_values.wgsl");
pub const ARGMAX_PARTIAL: &str = include_str!("../../shaders/argmax_partial.wgsl");
pub const ARGMAX_FINAL: &str = include_str!("../../shaders/argmax_final.wgsl");
pub const TOPK: &str = include_str!("../../shaders/topk.wgsl");
/// The greedy order and workgroup reduction shared by argmax and top-k.
pub const BEST: &str = include_str!("../../shaders/best.wgsl");
/// Largest k the GPU top-k selects (`K_MAX` in topk.wgsl); larger top-k reads back the logits.
pub const TOPK_MAX: usize = 64;
/// Values per stage-1 argmax workgroup (`CHUNK` in argmax_partial.wgsl).
pub const ARGMAX_CHUNK: usize = 4096;
pub const GEMM: &str = include_str!("../../shaders/gemm.wgsl");

/// The WGSL decoder of each weight type the GPU kernels take: the file defining `dq8`, after
/// the helpers it shares with other types.
pub fn decoder(ty: GgmlType) -> Option<&'static [&'static str]> {
    use GgmlType as T;
    const K4: &str = include_str!("../../shaders/quant/k4_scales.wgsl");
    macro_rules! quant {
        ($($part:expr),+) => {{
            const PARTS: &[&str] = &[$($part),+];
            PARTS
        }};
    }
    Some(match ty {
        T::F32 => quant!(include_str!("../../shaders/quant/f32.wgsl")),
        T::F16 => quant!(include_str!("../../shaders/quant/f16.wgsl")),
        T::BF16 => quant!(include_str!("../../shaders/quant/bf16.wgsl")),
        T::Q4_0 => quant!(include_str!("../../shaders/quant/q4_0.wgsl")),
        T::Q4_1 => quant!(include_str!("../../shaders/quant/q4_1.wgsl")),
        T::Q5_0 => quant!(include_str!("../../shaders/quant/q5_0.wgsl")),
        T::Q5_1 => quant!(include_str!("../../shaders/quant/q5_1.wgsl")),
        T::Q8_0 => quant!(include_str!("../../shaders/quant/q8_0.wgsl")),
        T::Q2_K => quant!(include_str!("../../shaders/quant/q2_k.wgsl")),
        T::Q3_K => quant!(include_str!("../../shaders/quant/q3_k.wgsl")),
        T::Q4_K => quant!(K4, include_str!("../../shaders/quant/q4_k.wgsl")),
        T::Q5_K => quant!(K4, include_str!("../../shaders/quant/q5_k.wgsl")),
        T::Q6_K => quant!(include_str!("../../shaders/quant/q6_k.wgsl")),
        _ => return None,
    })
}

/// The Q8_1 hooks for decoders without a min: named by the matmul kernels, never reached
/// (their `Q8_1_SUMS` is 0 for these types).
pub const NO_MIN: &str = "
fn dq8_scaled(b: u32, part: u32) -> D8 { return dq8(b, part); }
fn block_min(b: u32) -> f32 { return 0.0; }
";

/// Weights per decoding block as the kernels see it: the type's block, or eight scalars for
/// F32/F16 (the kernels work in units of eight weights).
pub fn unit_block(ty: GgmlType) -> (usize, usize) {
    let (len, bytes) = (ty.block_len(), ty.block_bytes());
    if len >= 8 {
        (len, bytes)
    } else {
        (8, bytes * (8 / len))
    }
}

/// A kernel over weights of type `ty`: host constants, common helpers, decoder, kernel.
/// `consts` are extra `name = value` u32 constants (workgroup shapes).
pub fn with_weights(ty: GgmlType, kernel: &str, consts: &[(&str, u32)]) -> Option<String> {
    let dec = decoder(ty)?;
    let (len, bytes) = unit_block(ty);
    let mut s = format!(
        "// {} weights\nconst BLOCK_ELEMS: u32 = {len}u;\nconst BLOCK_BYTES: u32 = {bytes}u;\n",
        ty.name()
    );
    push_consts(&mut s, consts);
    s.push_str(COMMON);
    for part in dec {
        s.push_str(part);
    }
    if !ty.needs_q8_1_sums() {
        s.push_str(NO_MIN);
    }
    s.push_str(kernel);
    Some(s)
}

/// A kernel that reads no weights.
pub fn plain(kernel: &str, consts: &[(&str, u32)]) -> String {
    let mut s = String::new();
    push_consts(&mut s, consts);
    s.push_str(kernel);
    s
}

/// A kernel that picks the best values (the shared order first).
pub fn with_best(kernel: &str) -> String {
    format!("{BEST}\n{kernel}")
}

/// A kernel that rounds to f16 (the shared rounding helpers first).
pub fn with_f16(kernel: &str) -> String {
    format!("{F16}\n{kernel}")
}

fn push_consts(s: &mut String, consts: &[(&str, u32)]) {
    for (name, v) in consts {
        s.push_str(&format!("const {name}: u32 = {v}u;\n"));
    }
}
