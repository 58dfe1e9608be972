//! Scalar reference dot products of a weight row with an activation row, written after ggml's
//! `ggml_vec_dot_*_generic` (ggml-cpu/quants.c) and `ggml_vec_dot_f16`/`_f32` (scalar path).
//!
//! Shape of every quantized kernel: the products of the integer quants are summed exactly in
//! i32 per (sub-)block, multiplied by the integer sub-block scales, and only then turned into
//! f32 with the block's float scales. Minimum (offset) terms never touch the individual
//! quants: they use the activation block's quant sum (Q8_K's `bsums`, or the sum of a Q8_0
//! block's quants), because `Σ (d·q + m)·a = d·Σ q·a + m·Σ a`.
//!
//! Differences from ggml, all in float rounding only:
//! * Q4_1/Q5_1 take Q8_0 quants with ggml's Q8_1 sums `s = f16(d·Σq)` (unrounded `d`) passed
//!   alongside, which is exactly ggml's Q8_1 block; the min term is `m · s` as there.
//! * For Q3_K..Q6_K, ggml's generic code spreads each super-block's integer sum over 8 lanes
//!   and scales every lane separately; we scale the whole super-block sum once.
//! * F16/BF16 weights are dotted with f32 activations (ggml converts the activations to the
//!   weight type first). As in ggml's scalar path, f32 products are accumulated in f64.

use crate::error::{Error, Result};
use crate::quant::blocks::*;
use crate::quant::types::{QK32, QK_K};

use super::dequant::bf16_le;

fn check_blocks(what: &'static str, weights: usize, acts: usize) -> Result<()> {
    if weights == acts {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            left: weights,
            right: acts,
        })
    }
}

fn dot_f64<W: Copy>(
    what: &'static str,
    w: &[W],
    x: &[f32],
    to_f32: impl Fn(W) -> f32,
) -> Result<f32> {
    check_blocks(what, w.len(), x.len())?;
    let sum: f64 = w
        .iter()
        .zip(x)
        .map(|(&w, &x)| f64::from(to_f32(w) * x))
        .sum();
    Ok(sum as f32)
}

/// Little-endian f32 weights · f32 activations.
pub fn vec_dot_f32(w: &[[u8; 4]], x: &[f32]) -> Result<f32> {
    dot_f64(
        "vec_dot F32: weight vs activation elements",
        w,
        x,
        f32::from_le_bytes,
    )
}

/// Little-endian f16 weights · f32 activations.
pub fn vec_dot_f16(w: &[[u8; 2]], x: &[f32]) -> Result<f32> {
    dot_f64("vec_dot F16: weight vs activation elements", w, x, f16_le)
}

/// Little-endian bf16 weights · f32 activations.
pub fn vec_dot_bf16(w: &[[u8; 2]], x: &[f32]) -> Result<f32> {
    dot_f64("vec_dot BF16: weight vs activation elements", w, x, bf16_le)
}

/// Σ over the block of `wq[j] · aq[j]`, where `wq` yields the 32 signed weight quants in
/// element order.
#[inline]
fn isum32(wq: impl Iterator<Item = i32>, a: &BlockQ8_0) -> i32 {
    wq.zip(&a.qs).map(|(w, &q)| w * i32::from(q)).sum()
}

/// Weight quants of a 4-bit block in element order: low nibbles, then high nibbles.
#[inline]
fn nibbles(qs: &[u8; QK32 / 2]) -> impl Iterator<Item = i32> + '_ {
    let lo = qs.iter().map(|&q| i32::from(q & 0x0F));
    let hi = qs.iter().map(|&q| i32::from(q >> 4));
    lo.chain(hi)
}

/// 5-bit quants: nibble plus bit `j` of `qh` as bit 4.
#[inline]
fn five_bit(qs: &[u8; QK32 / 2], qh: u32) -> impl Iterator<Item = i32> + '_ {
    nibbles(qs)
        .enumerate()
        .map(move |(j, n)| n | ((((qh >> j) & 1) as i32) << 4))
}

pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> Result<f32> {
    check_blocks(
        "vec_dot Q4_0·Q8_0: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        let sumi = isum32(nibbles(&x.qs).map(|q| q - 8), y);
        sumf += sumi as f32 * f16_le(x.d) * f16_le(y.d);
    }
    Ok(sumf)
}

pub fn vec_dot_q4_1_q8_1(w: &[BlockQ4_1], a: &[BlockQ8_0], s: &[f32]) -> Result<f32> {
    check_blocks(
        "vec_dot Q4_1·Q8_1: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    check_blocks(
        "vec_dot Q4_1·Q8_1: activation blocks vs sums",
        a.len(),
        s.len(),
    )?;
    let mut sumf = 0.0f32;
    for ((x, y), &sy) in w.iter().zip(a).zip(s) {
        let sumi = isum32(nibbles(&x.qs), y);
        sumf += (f16_le(x.d) * f16_le(y.d)) * sumi as f32 + f16_le(x.m) * sy;
    }
    Ok(sumf)
}

pub fn vec_dot_q5_0_q8_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> Result<f32> {
    check_blocks(
        "vec_dot Q5_0·Q8_0: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        let sumi = isum32(five_bit(&x.qs, x.qh_bits()).map(|q| q - 16), y);
        sumf += (f16_le(x.d) * f16_le(y.d)) * sumi as f32;
    }
    Ok(sumf)
}

pub fn vec_dot_q5_1_q8_1(w: &[BlockQ5_1], a: &[BlockQ8_0], s: &[f32]) -> Result<f32> {
    check_blocks(
        "vec_dot Q5_1·Q8_1: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    check_blocks(
        "vec_dot Q5_1·Q8_1: activation blocks vs sums",
        a.len(),
        s.len(),
    )?;
    let mut sumf = 0.0f32;
    for ((x, y), &sy) in w.iter().zip(a).zip(s) {
        let sumi = isum32(five_bit(&x.qs, x.qh_bits()), y);
        sumf += (f16_le(x.d) * f16_le(y.d)) * sumi as f32 + f16_le(x.m) * sy;
    }
    Ok(sumf)
}

pub fn vec_dot_q8_0_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> Result<f32> {
    check_blocks(
        "vec_dot Q8_0·Q8_0: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        let sumi = isum32(x.qs.iter().map(|&q| i32::from(q)), y);
        sumf += sumi as f32 * (f16_le(x.d) * f16_le(y.d));
    }
    Ok(sumf)
}

/// Σ_j bsums[j] · m[j / per], the activation-side half of a K-quant min term.
#[inline]
fn bsum_dot(y: &BlockQ8K, mins: &[u8], per: usize) -> i32 {
    y.bsums
        .iter()
        .enumerate()
        .map(|(j, &s)| i32::from(s) * mins.get(j / per).map_or(0, |&m| i32::from(m)))
        .sum()
}

/// Σ over 16 elements starting at `start` of `q(i) · act[i]`.
#[inline]
fn isum16(y: &BlockQ8K, start: usize, q: impl Fn(usize) -> i32) -> i32 {
    (start..start + 16)
        .zip(&y.qs[start..start + 16])
        .map(|(i, &a)| q(i) * i32::from(a))
        .sum()
}

pub fn vec_dot_q2_k_q8_k(w: &[BlockQ2K], a: &[BlockQ8K]) -> Result<f32> {
    check_blocks(
        "vec_dot Q2_K·Q8_K: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        let mins: [u8; 16] = x.scales.map(|s| s >> 4);
        let summs = bsum_dot(y, &mins, 1);
        // Element i sits in byte 32*(i/128) + i%32, at bit shift 2*((i%128)/32).
        let quant =
            |i: usize| i32::from((x.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3);
        let isum: i32 = (0..QK_K / 16)
            .map(|s| i32::from(x.scales[s] & 0x0F) * isum16(y, 16 * s, quant))
            .sum();
        let dall = y.d * f16_le(x.d);
        let dmin = y.d * f16_le(x.dmin);
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    Ok(sumf)
}

pub fn vec_dot_q3_k_q8_k(w: &[BlockQ3K], a: &[BlockQ8K]) -> Result<f32> {
    check_blocks(
        "vec_dot Q3_K·Q8_K: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        let scales = x.scales_i8();
        // Same 2-bit placement as Q2_K; the hmask bit plane is i/32, and a clear bit means -4.
        let quant = |i: usize| {
            let low = i32::from((x.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3);
            let high_set = x.hmask[i % 32] & (1 << (i / 32)) != 0;
            low - if high_set { 0 } else { 4 }
        };
        let isum: i32 = (0..QK_K / 16)
            .map(|s| i32::from(scales[s]) * isum16(y, 16 * s, quant))
            .sum();
        sumf += (f16_le(x.d) * y.d) * isum as f32;
    }
    Ok(sumf)
}

/// Shared by Q4_K and Q5_K, which differ only in how a quant is read.
fn dot_k4(
    d: [u8; 2],
    dmin: [u8; 2],
    (sc, mn): ([u8; 8], [u8; 8]),
    y: &BlockQ8K,
    quant: impl Fn(usize) -> i32,
) -> f32 {
    let summs = bsum_dot(y, &mn, 2);
    let isum: i32 = (0..QK_K / 16)
        .map(|s| i32::from(sc[s / 2]) * isum16(y, 16 * s, &quant))
        .sum();
    let d = f16_le(d) * y.d;
    let dmin = f16_le(dmin) * y.d;
    d * isum as f32 - dmin * summs as f32
}

pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> Result<f32> {
    check_blocks(
        "vec_dot Q4_K·Q8_K: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        // Element i: byte 32*(i/64) + i%32, low nibble in the first 32 of each 64.
        let quant = |i: usize| {
            let byte = x.qs[32 * (i / 64) + i % 32];
            i32::from(if i % 64 < 32 { byte & 0x0F } else { byte >> 4 })
        };
        sumf += dot_k4(x.d, x.dmin, x.scales_mins(), y, quant);
    }
    Ok(sumf)
}

pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], a: &[BlockQ8K]) -> Result<f32> {
    check_blocks(
        "vec_dot Q5_K·Q8_K: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        // As Q4_K, plus bit i/32 of qh[i%32] worth 16.
        let quant = |i: usize| {
            let byte = x.qs[32 * (i / 64) + i % 32];
            let low = if i % 64 < 32 { byte & 0x0F } else { byte >> 4 };
            let high = if x.qh[i % 32] & (1 << (i / 32)) != 0 {
                16
            } else {
                0
            };
            i32::from(low) + high
        };
        sumf += dot_k4(x.d, x.dmin, x.scales_mins(), y, quant);
    }
    Ok(sumf)
}

pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> Result<f32> {
    check_blocks(
        "vec_dot Q6_K·Q8_K: weight vs activation blocks",
        w.len(),
        a.len(),
    )?;
    let mut sumf = 0.0f32;
    for (x, y) in w.iter().zip(a) {
        // Element i = 128h + 32k + l: nibble of ql[64h + l + 32*(k%2)] (low for k < 2) and
        // bits 2k..2k+2 of qh[32h + l].
        let quant = |i: usize| {
            let (h, k, l) = (i / 128, (i % 128) / 32, i % 32);
            let lb = x.ql[64 * h + l + 32 * (k % 2)];
            let low = if k < 2 { lb & 0x0F } else { lb >> 4 };
            let high = (x.qh[32 * h + l] >> (2 * k)) & 3;
            i32::from(low | (high << 4)) - 32
        };
        let isum: i32 = (0..QK_K / 16)
            .map(|s| i32::from(x.scales[s]) * isum16(y, 16 * s, quant))
            .sum();
        sumf += (f16_le(x.d) * y.d) * isum as f32;
    }
    Ok(sumf)
}
