//! Round-to-nearest reference quantizers, transcribed from ggml's `quantize_row_*_ref`
//! (ggml-quants.c): the activation formats Q8_0 and Q8_K that the dot products consume, and
//! the simple 32-element weight formats plus F16/BF16 (for building synthetic models).
//!
//! They reproduce ggml's results bit for bit, including its choices of rounding: `roundf`
//! (half away from zero) for Q8_0, `nearest_int` (half to even) for Q8_K, truncation of
//! `x + 0.5` style offsets for Q4_0..Q5_1, and f16 scales rounded to nearest even. The scale
//! used to quantize is the unrounded f32 one; only the stored copy is rounded to f16.

use bytemuck::Zeroable;
use half::f16;

use crate::error::{Error, Result};
use crate::quant::blocks::*;
use crate::quant::types::{GgmlType, QK32, QK_K};

/// Fills `out[i]` from the `i`-th `N`-element chunk of `x`, after checking that `x` is whole
/// blocks and that `out` has one slot per block.
fn per_block<B, const N: usize>(
    what: &'static str,
    ty: GgmlType,
    x: &[f32],
    out: &mut [B],
    f: impl Fn(&[f32; N]) -> B,
) -> Result<()> {
    let n_blocks = whole_blocks(ty, x.len(), N)?;
    if out.len() != n_blocks {
        return Err(Error::LengthMismatch {
            what,
            left: out.len(),
            right: n_blocks,
        });
    }
    for (xb, o) in x.chunks_exact(N).zip(out.iter_mut()) {
        // chunks_exact yields exactly N elements, so this conversion always succeeds.
        if let Ok(xb) = <&[f32; N]>::try_from(xb) {
            *o = f(xb);
        }
    }
    Ok(())
}

fn whole_blocks(ty: GgmlType, len: usize, block_len: usize) -> Result<usize> {
    if len % block_len == 0 {
        Ok(len / block_len)
    } else {
        Err(Error::PartialBlockElements {
            what: input_what(ty),
            type_name: ty.name(),
            len,
            block_len,
        })
    }
}

/// Names the input in a `PartialBlockElements` error, by the quantizer that rejected it.
const fn input_what(ty: GgmlType) -> &'static str {
    use GgmlType as T;
    match ty {
        T::F32 => "quantize F32: input elements",
        T::F16 => "quantize_f16: input elements",
        T::BF16 => "quantize_bf16: input elements",
        T::Q4_0 => "quantize_q4_0: input elements",
        T::Q4_1 => "quantize_q4_1: input elements",
        T::Q5_0 => "quantize_q5_0: input elements",
        T::Q5_1 => "quantize_q5_1: input elements",
        T::Q8_0 => "quantize_q8_0: input elements",
        T::Q8_K => "quantize_q8_k: input elements",
        T::Q2_K | T::Q3_K | T::Q4_K | T::Q5_K | T::Q6_K => "quantize: input elements",
    }
}

fn to_vec<B: Zeroable + Clone, const N: usize>(
    ty: GgmlType,
    x: &[f32],
    fill: impl Fn(&[f32], &mut [B]) -> Result<()>,
) -> Result<Vec<B>> {
    let mut out = vec![B::zeroed(); whole_blocks(ty, x.len(), N)?];
    fill(x, &mut out)?;
    Ok(out)
}

/// ggml's `nearest_int`: adding 1.5·2^23 pushes the value into the range where the f32 ulp
/// is 1, so the FPU's round-half-to-even does the rounding. For the |v| ≤ 2^22 it is used on
/// that is exactly `round_ties_even`; out-of-range and NaN inputs saturate instead of being
/// undefined behaviour.
#[inline(always)]
fn nearest_int(v: f32) -> i32 {
    v.round_ties_even() as i32
}

/// ggml's `MAX(a, b)` macro (`a > b ? a : b`), kept as written so a NaN in the input
/// propagates the way it does in ggml instead of being skipped like `f32::max` would.
#[inline(always)]
fn c_max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// The element with the largest magnitude, with its sign (first one wins on ties), as ggml's
/// "signed max" scans do. Zero for an all-zero block.
#[inline]
fn signed_absmax(x: &[f32]) -> (f32, f32) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    (amax, max)
}

#[inline(always)]
fn inv_or_zero(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

fn q8_0_block(x: &[f32; QK32]) -> BlockQ8_0 {
    let amax = x.iter().fold(0.0f32, |m, v| c_max(m, v.abs()));
    let d = amax / 127.0;
    let id = inv_or_zero(d);
    BlockQ8_0 {
        d: f16_bytes(d),
        // |x·id| ≤ 127 up to rounding, so the saturating cast never clips a real value.
        qs: x.map(|v| (v * id).round() as i8),
    }
}

/// f32 → Q8_0: `d = amax / 127`, `q = roundf(x / d)` (half away from zero), `d` stored as f16.
/// This is both the activation format of the 32-element weight types and a weight format.
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) -> Result<()> {
    per_block(
        "quantize_q8_0: output blocks vs input blocks",
        GgmlType::Q8_0,
        x,
        out,
        q8_0_block,
    )
}

pub fn quantize_q8_0_vec(x: &[f32]) -> Result<Vec<BlockQ8_0>> {
    to_vec::<_, QK32>(GgmlType::Q8_0, x, quantize_q8_0)
}

/// The `s` of ggml's Q8_1 activation blocks (what Q4_1/Q5_1 rows are dotted with; its quants
/// are Q8_0's): `f16(Σq · d)` with the unrounded `d = amax / 127`, per block of `x`, pushed
/// onto `out`. `blocks` are `x`'s Q8_0 blocks.
pub fn q8_1_sums(x: &[f32], blocks: &[BlockQ8_0], out: &mut Vec<f32>) {
    for (xb, b) in x.chunks_exact(QK32).zip(blocks) {
        let amax = xb.iter().fold(0.0f32, |m, v| c_max(m, v.abs()));
        let d = amax / 127.0;
        out.push(f16::from_f32(b.qs_sum() as f32 * d).to_f32());
    }
}

fn q8_k_block(x: &[f32; QK_K]) -> BlockQ8K {
    let (amax, max) = signed_absmax(x);
    if amax == 0.0 {
        // ggml leaves bsums unwritten here; zero is the sum of the zero quants.
        return BlockQ8K::zeroed();
    }
    // ggml used -128/max originally and switched to -127/max (for IQ2_XXS's AVX kernel), so
    // quants lie in -127..=127 with the largest-magnitude element at ∓127. `d` may be
    // negative: it carries the sign of -max.
    let iscale = -127.0 / max;
    let qs = x.map(|v| nearest_int(iscale * v).clamp(-128, 127) as i8);
    let mut bsums = [0i16; QK_K / 16];
    for (s, group) in bsums.iter_mut().zip(qs.chunks_exact(16)) {
        // 16 quants of at most 128 in magnitude: at most 2048, fits i16.
        *s = group.iter().map(|&q| i16::from(q)).sum();
    }
    BlockQ8K {
        d: 1.0 / iscale,
        qs,
        bsums,
    }
}

/// f32 → Q8_K (activations of the K-quant dot products): `iscale = -127 / max` where `max` is
/// the signed element of largest magnitude, `q = nearest_int(iscale · x)` (half to even),
/// `d = 1 / iscale` kept as f32, plus the sum of each group of 16 quants.
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) -> Result<()> {
    per_block(
        "quantize_q8_k: output blocks vs input blocks",
        GgmlType::Q8_K,
        x,
        out,
        q8_k_block,
    )
}

pub fn quantize_q8_k_vec(x: &[f32]) -> Result<Vec<BlockQ8K>> {
    to_vec::<_, QK_K>(GgmlType::Q8_K, x, quantize_q8_k)
}

/// ggml's `MIN(cap, (int8_t)(x + offset))`: the offset turns truncation toward zero into
/// rounding, and the cap catches the one value (x/d = +8 or +16 exactly) that lands past it.
#[inline(always)]
fn trunc_q(v: f32, offset: f32, cap: i8) -> u8 {
    ((v + offset) as i8).min(cap) as u8
}

/// Q4_0: `d = max / -8` (signed max), `q = min(15, trunc(x/d + 8.5))`.
pub fn quantize_q4_0(x: &[f32], out: &mut [BlockQ4_0]) -> Result<()> {
    per_block(
        "quantize_q4_0: output blocks vs input blocks",
        GgmlType::Q4_0,
        x,
        out,
        |x: &[f32; QK32]| {
            let (_, max) = signed_absmax(x);
            let d = max / -8.0;
            let id = inv_or_zero(d);
            let mut qs = [0u8; QK32 / 2];
            for (j, q) in qs.iter_mut().enumerate() {
                let q0 = trunc_q(x[j] * id, 8.5, 15);
                let q1 = trunc_q(x[j + QK32 / 2] * id, 8.5, 15);
                *q = q0 | (q1 << 4);
            }
            BlockQ4_0 {
                d: f16_bytes(d),
                qs,
            }
        },
    )
}

/// The (min, max) scan of the asymmetric formats, starting from ±FLT_MAX as ggml does.
#[inline]
fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

/// Q4_1: `d = (max - min) / 15`, `m = min`, `q = min(15, trunc((x - min)/d + 0.5))`.
pub fn quantize_q4_1(x: &[f32], out: &mut [BlockQ4_1]) -> Result<()> {
    per_block(
        "quantize_q4_1: output blocks vs input blocks",
        GgmlType::Q4_1,
        x,
        out,
        |x: &[f32; QK32]| {
            let (min, max) = min_max(x);
            let d = (max - min) / 15.0;
            let id = inv_or_zero(d);
            let mut qs = [0u8; QK32 / 2];
            for (j, q) in qs.iter_mut().enumerate() {
                let q0 = trunc_q((x[j] - min) * id, 0.5, 15);
                let q1 = trunc_q((x[j + QK32 / 2] - min) * id, 0.5, 15);
                *q = q0 | (q1 << 4);
            }
            BlockQ4_1 {
                d: f16_bytes(d),
                m: f16_bytes(min),
                qs,
            }
        },
    )
}

/// Splits 32 five-bit quants into nibbles (element j and j+16 share byte j) and the bit-4
/// plane (bit j for element j).
fn pack5(q: impl Fn(usize) -> u8) -> ([u8; QK32 / 2], [u8; 4]) {
    let mut qs = [0u8; QK32 / 2];
    let mut qh = 0u32;
    for (j, byte) in qs.iter_mut().enumerate() {
        let (q0, q1) = (q(j), q(j + QK32 / 2));
        *byte = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
        qh |= u32::from((q0 & 0x10) >> 4) << j;
        qh |= u32::from((q1 & 0x10) >> 4) << (j + QK32 / 2);
    }
    (qs, qh.to_le_bytes())
}

/// Q5_0: `d = max / -16` (signed max), `q = min(31, trunc(x/d + 16.5))`.
pub fn quantize_q5_0(x: &[f32], out: &mut [BlockQ5_0]) -> Result<()> {
    per_block(
        "quantize_q5_0: output blocks vs input blocks",
        GgmlType::Q5_0,
        x,
        out,
        |x: &[f32; QK32]| {
            let (_, max) = signed_absmax(x);
            let d = max / -16.0;
            let id = inv_or_zero(d);
            let (qs, qh) = pack5(|j| trunc_q(x[j] * id, 16.5, 31));
            BlockQ5_0 {
                d: f16_bytes(d),
                qh,
                qs,
            }
        },
    )
}

/// Q5_1: `d = (max - min) / 31`, `m = min`, `q = trunc((x - min)/d + 0.5)` (ggml does not
/// cap it; it cannot exceed 31 for finite input).
pub fn quantize_q5_1(x: &[f32], out: &mut [BlockQ5_1]) -> Result<()> {
    per_block(
        "quantize_q5_1: output blocks vs input blocks",
        GgmlType::Q5_1,
        x,
        out,
        |x: &[f32; QK32]| {
            let (min, max) = min_max(x);
            let d = (max - min) / 31.0;
            let id = inv_or_zero(d);
            let (qs, qh) = pack5(|j| ((x[j] - min) * id + 0.5) as u8);
            BlockQ5_1 {
                d: f16_bytes(d),
                m: f16_bytes(min),
                qh,
                qs,
            }
        },
    )
}

/// f32 → f16, round to nearest even (ggml's `GGML_FP32_TO_FP16`); overflow gives ±inf.
pub fn quantize_f16(x: &[f32], out: &mut [[u8; 2]]) -> Result<()> {
    per_block(
        "quantize_f16: output vs input elements",
        GgmlType::F16,
        x,
        out,
        |x: &[f32; 1]| f16::from_f32(x[0]).to_bits().to_le_bytes(),
    )
}

/// f32 → bf16 as ggml's `ggml_compute_fp32_to_bf16`: round to nearest even on the dropped 16
/// bits; a NaN is truncated and forced quiet (rounding could otherwise carry it into inf).
pub fn quantize_bf16(x: &[f32], out: &mut [[u8; 2]]) -> Result<()> {
    per_block(
        "quantize_bf16: output vs input elements",
        GgmlType::BF16,
        x,
        out,
        |x: &[f32; 1]| bf16_bits(x[0]).to_le_bytes(),
    )
}

#[inline]
fn bf16_bits(x: f32) -> u16 {
    let u = x.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    // u64 so the rounding carry out of the largest finite values cannot wrap.
    ((u64::from(u) + 0x7fff + u64::from((u >> 16) & 1)) >> 16) as u16
}

/// Reference quantization of an f32 row into the bytes of a `ty` row, for the types that
/// have a simple round-to-nearest reference quantizer: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
/// Q5_1, Q8_0 and Q8_K (Q8_K bytes are in host byte order, like ggml's). K-quant weight
/// formats need ggml's search-based quantizers and are refused with `TypeRole`.
pub fn quantize(ty: GgmlType, x: &[f32]) -> Result<Vec<u8>> {
    fn bytes<B: bytemuck::Pod + Zeroable, const N: usize>(
        ty: GgmlType,
        x: &[f32],
        fill: impl Fn(&[f32], &mut [B]) -> Result<()>,
    ) -> Result<Vec<u8>> {
        let blocks = to_vec::<B, N>(ty, x, fill)?;
        Ok(bytemuck::cast_slice(&blocks).to_vec())
    }
    use GgmlType as T;
    match ty {
        T::F32 => Ok(x.iter().flat_map(|v| v.to_le_bytes()).collect()),
        T::F16 => bytes::<_, 1>(ty, x, quantize_f16),
        T::BF16 => bytes::<_, 1>(ty, x, quantize_bf16),
        T::Q4_0 => bytes::<_, QK32>(ty, x, quantize_q4_0),
        T::Q4_1 => bytes::<_, QK32>(ty, x, quantize_q4_1),
        T::Q5_0 => bytes::<_, QK32>(ty, x, quantize_q5_0),
        T::Q5_1 => bytes::<_, QK32>(ty, x, quantize_q5_1),
        T::Q8_0 => bytes::<_, QK32>(ty, x, quantize_q8_0),
        T::Q8_K => bytes::<_, QK_K>(ty, x, quantize_q8_k),
        T::Q2_K | T::Q3_K | T::Q4_K | T::Q5_K | T::Q6_K => Err(Error::TypeRole {
            type_name: ty.name(),
            role: "a reference quantization target (K-quant weights need ggml's search-based quantizers)",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_matches_ggml_magic_number_trick() {
        // ggml: bits of (v + 12582912.0f), low 23 bits, minus 0x400000.
        let ggml = |v: f32| ((v + 12_582_912.0f32).to_bits() & 0x007f_ffff) as i32 - 0x0040_0000;
        for v in [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            126.5,
            -127.5,
            0.499_999_97,
            3.7,
            -3.7,
            4_194_303.0,
            -4_194_303.0,
        ] {
            assert_eq!(nearest_int(v), ggml(v), "{v}");
        }
    }

    #[test]
    fn bf16_rounding() {
        assert_eq!(bf16_bits(1.0), 0x3f80);
        // halfway: 1 + 2^-8 rounds to even (down), 1 + 3·2^-8 up
        assert_eq!(bf16_bits(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(bf16_bits(1.0 + 3.0 / 256.0), 0x3f82);
        assert_eq!(bf16_bits(f32::MAX), 0x7f80); // rounds up to inf, as in ggml
        assert_eq!(bf16_bits(f32::from_bits(0x7f80_0001)), 0x7fc0);
    }
}
