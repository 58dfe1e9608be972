//! Scalar dequantization, one function per type, each the transcription of ggml's
//! `dequantize_row_*` (ggml-quants.c).
//!
//! Bit-exactness: every output element is computed with the same f32 operations in the same
//! order as ggml (e.g. Q2_K is `(d * sc) * q - (dmin * m)`, Q6_K `(d * sc) * q`), each rounded
//! separately. Rust never contracts `a * b + c` into an FMA, which matches ggml built without
//! FP contraction and gguf-py's numpy port; a C build that fuses them may differ in the last
//! bit for the types with a min (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K).

use crate::error::{Error, Result};
use crate::quant::blocks::*;
use crate::quant::types::{QK32, QK_K};

/// Runs `f` over each block and its `N`-element slot of `out`, after checking that `out` holds
/// exactly the elements of `blocks`.
fn per_block<B, const N: usize>(
    what: &'static str,
    blocks: &[B],
    out: &mut [f32],
    f: impl Fn(&B, &mut [f32; N]),
) -> Result<()> {
    // Saturates instead of overflowing on 32-bit targets; `out` can never be that long.
    let expected = blocks.len().saturating_mul(N);
    if out.len() != expected {
        return Err(Error::LengthMismatch {
            what,
            left: out.len(),
            right: expected,
        });
    }
    for (b, y) in blocks.iter().zip(out.chunks_exact_mut(N)) {
        // chunks_exact_mut yields exactly N elements, so this conversion always succeeds.
        if let Ok(y) = <&mut [f32; N]>::try_from(y) {
            f(b, y);
        }
    }
    Ok(())
}

/// Little-endian f32 elements (a GGUF F32 tensor viewed at any alignment).
pub fn dequantize_f32(x: &[[u8; 4]], out: &mut [f32]) -> Result<()> {
    per_block::<_, 1>(
        "dequantize F32: output vs input elements",
        x,
        out,
        |b, y| {
            y[0] = f32::from_le_bytes(*b);
        },
    )
}

/// Little-endian IEEE half elements. Exact (every f16 is an f32); a NaN keeps its payload
/// with the quiet bit set, as F16C hardware does.
pub fn dequantize_f16(x: &[[u8; 2]], out: &mut [f32]) -> Result<()> {
    per_block::<_, 1>(
        "dequantize F16: output vs input elements",
        x,
        out,
        |b, y| {
            y[0] = f16_le(*b);
        },
    )
}

/// Little-endian bfloat16 elements: the top half of an f32, so the conversion is a shift.
pub fn dequantize_bf16(x: &[[u8; 2]], out: &mut [f32]) -> Result<()> {
    per_block::<_, 1>(
        "dequantize BF16: output vs input elements",
        x,
        out,
        |b, y| {
            y[0] = bf16_le(*b);
        },
    )
}

#[inline(always)]
pub(crate) fn bf16_le(b: [u8; 2]) -> f32 {
    f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16)
}

/// Element `j` of a 32-element block lives in byte `j % 16`: the low nibble for the first
/// half of the block, the high nibble for the second.
pub fn dequantize_q4_0(x: &[BlockQ4_0], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK32>(
        "dequantize Q4_0: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            for j in 0..QK32 / 2 {
                let x0 = i32::from(b.qs[j] & 0x0F) - 8;
                let x1 = i32::from(b.qs[j] >> 4) - 8;
                y[j] = x0 as f32 * d;
                y[j + QK32 / 2] = x1 as f32 * d;
            }
        },
    )
}

pub fn dequantize_q4_1(x: &[BlockQ4_1], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK32>(
        "dequantize Q4_1: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let m = f16_le(b.m);
            for j in 0..QK32 / 2 {
                let x0 = b.qs[j] & 0x0F;
                let x1 = b.qs[j] >> 4;
                y[j] = f32::from(x0) * d + m;
                y[j + QK32 / 2] = f32::from(x1) * d + m;
            }
        },
    )
}

pub fn dequantize_q5_0(x: &[BlockQ5_0], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK32>(
        "dequantize Q5_0: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let qh = b.qh_bits();
            for j in 0..QK32 / 2 {
                let h0 = ((qh >> j) << 4) & 0x10;
                let h1 = (qh >> (j + 12)) & 0x10;
                let x0 = (u32::from(b.qs[j] & 0x0F) | h0) as i32 - 16;
                let x1 = (u32::from(b.qs[j] >> 4) | h1) as i32 - 16;
                y[j] = x0 as f32 * d;
                y[j + QK32 / 2] = x1 as f32 * d;
            }
        },
    )
}

pub fn dequantize_q5_1(x: &[BlockQ5_1], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK32>(
        "dequantize Q5_1: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let m = f16_le(b.m);
            let qh = b.qh_bits();
            for j in 0..QK32 / 2 {
                let h0 = ((qh >> j) << 4) & 0x10;
                let h1 = (qh >> (j + 12)) & 0x10;
                let x0 = u32::from(b.qs[j] & 0x0F) | h0;
                let x1 = u32::from(b.qs[j] >> 4) | h1;
                y[j] = x0 as f32 * d + m;
                y[j + QK32 / 2] = x1 as f32 * d + m;
            }
        },
    )
}

pub fn dequantize_q8_0(x: &[BlockQ8_0], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK32>(
        "dequantize Q8_0: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            for (o, &q) in y.iter_mut().zip(&b.qs) {
                *o = f32::from(q) * d;
            }
        },
    )
}

/// Each 128-element half of the super-block reads 32 bytes of `qs` four times, at bit shifts
/// 0, 2, 4, 6; every 16 elements switch to the next 4-bit scale / 4-bit min pair.
pub fn dequantize_q2_k(x: &[BlockQ2K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q2_K: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let dmin = f16_le(b.dmin);
            for half in 0..2 {
                let q = &b.qs[32 * half..32 * half + 32];
                for pass in 0..4 {
                    let shift = 2 * pass;
                    for sub in 0..2 {
                        let is = 8 * half + 2 * pass + sub;
                        let sc = b.scales[is];
                        let dl = d * f32::from(sc & 0x0F);
                        let ml = dmin * f32::from(sc >> 4);
                        let base = 128 * half + 32 * pass + 16 * sub;
                        for l in 0..16 {
                            let v = (q[16 * sub + l] >> shift) & 3;
                            y[base + l] = dl * f32::from(v) - ml;
                        }
                    }
                }
            }
        },
    )
}

/// Same 2-bit walk as Q2_K; the third bit comes from `hmask` (one bit plane per 32 elements)
/// and a *clear* bit means "subtract 4", so quants span -4..=3.
pub fn dequantize_q3_k(x: &[BlockQ3K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q3_K: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let scales = b.scales_i8();
            for half in 0..2 {
                let q = &b.qs[32 * half..32 * half + 32];
                for pass in 0..4 {
                    let shift = 2 * pass;
                    let m = 1u8 << (4 * half + pass);
                    for sub in 0..2 {
                        let is = 8 * half + 2 * pass + sub;
                        let dl = d * f32::from(scales[is]);
                        let base = 128 * half + 32 * pass + 16 * sub;
                        for l in 0..16 {
                            let i = 16 * sub + l;
                            let low = ((q[i] >> shift) & 3) as i8;
                            let v = low - if b.hmask[i] & m != 0 { 0 } else { 4 };
                            y[base + l] = dl * f32::from(v);
                        }
                    }
                }
            }
        },
    )
}

/// Four 64-element chunks, each 32 bytes of `qs`: low nibbles first (sub-block 2c), then high
/// nibbles (sub-block 2c+1), each with its own 6-bit scale and min.
pub fn dequantize_q4_k(x: &[BlockQ4K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q4_K: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let dmin = f16_le(b.dmin);
            let (sc, mn) = b.scales_mins();
            for c in 0..4 {
                let q = &b.qs[32 * c..32 * c + 32];
                let d1 = d * f32::from(sc[2 * c]);
                let m1 = dmin * f32::from(mn[2 * c]);
                let d2 = d * f32::from(sc[2 * c + 1]);
                let m2 = dmin * f32::from(mn[2 * c + 1]);
                for l in 0..32 {
                    y[64 * c + l] = d1 * f32::from(q[l] & 0x0F) - m1;
                    y[64 * c + 32 + l] = d2 * f32::from(q[l] >> 4) - m2;
                }
            }
        },
    )
}

/// Q4_K plus a fifth bit: chunk `c` takes bits `2c` (low nibbles) and `2c+1` (high nibbles)
/// of `qh[l]`.
pub fn dequantize_q5_k(x: &[BlockQ5K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q5_K: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            let dmin = f16_le(b.dmin);
            let (sc, mn) = b.scales_mins();
            for c in 0..4 {
                let ql = &b.qs[32 * c..32 * c + 32];
                let u1 = 1u8 << (2 * c);
                let u2 = 2u8 << (2 * c);
                let d1 = d * f32::from(sc[2 * c]);
                let m1 = dmin * f32::from(mn[2 * c]);
                let d2 = d * f32::from(sc[2 * c + 1]);
                let m2 = dmin * f32::from(mn[2 * c + 1]);
                for l in 0..32 {
                    let h1 = if b.qh[l] & u1 != 0 { 16 } else { 0 };
                    let h2 = if b.qh[l] & u2 != 0 { 16 } else { 0 };
                    y[64 * c + l] = d1 * f32::from((ql[l] & 0x0F) + h1) - m1;
                    y[64 * c + 32 + l] = d2 * f32::from((ql[l] >> 4) + h2) - m2;
                }
            }
        },
    )
}

/// Each 128-element half uses 64 bytes of `ql` and 32 of `qh`: element `l + 32k` (k = 0..4)
/// takes the low or high nibble of `ql[l]` / `ql[l + 32]` and bits `2k..2k+2` of `qh[l]`.
/// The scale is signed 8-bit, one per 16 elements.
pub fn dequantize_q6_k(x: &[BlockQ6K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q6_K: output vs block elements",
        x,
        out,
        |b, y| {
            let d = f16_le(b.d);
            for half in 0..2 {
                let ql = &b.ql[64 * half..64 * half + 64];
                let qh = &b.qh[32 * half..32 * half + 32];
                let sc = &b.scales[8 * half..8 * half + 8];
                let yh = &mut y[128 * half..128 * half + 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i8 - 32;
                    let q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
                    yh[l] = d * f32::from(sc[is]) * f32::from(q1);
                    yh[l + 32] = d * f32::from(sc[is + 2]) * f32::from(q2);
                    yh[l + 64] = d * f32::from(sc[is + 4]) * f32::from(q3);
                    yh[l + 96] = d * f32::from(sc[is + 6]) * f32::from(q4);
                }
            }
        },
    )
}

/// Q8_K carries a plain f32 scale; the block sums are not needed to dequantize.
pub fn dequantize_q8_k(x: &[BlockQ8K], out: &mut [f32]) -> Result<()> {
    per_block::<_, QK_K>(
        "dequantize Q8_K: output vs block elements",
        x,
        out,
        |b, y| {
            for (o, &q) in y.iter_mut().zip(&b.qs) {
                *o = b.d * f32::from(q);
            }
        },
    )
}
