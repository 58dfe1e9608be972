//! Q4_K weights (`d, dmin: f16, scales: [u8; 12]` (8 six-bit scales and mins),
//! `qs: [u8; 128]`) · Q8_K activations. y = d·sc·q − dmin·m per 32 elements.

use core::arch::wasm32::*;

use super::superblock::{Meta, SuperBlock};
use super::util::{hsum_i32x4, load_bsums, load_f16};
use crate::quant::blocks::BlockQ8K;
use crate::quant::unpack::unpack_scale_min_k4;

pub(super) struct Q4K;

/// The header Q4_K and Q5_K share: f16 `d`, f16 `dmin`, then 8 six-bit scales and mins
/// packed in 12 bytes.
///
/// # Safety
/// `p` must point at the first of at least 16 readable bytes.
#[inline(always)]
pub(super) unsafe fn k4_header(p: *const u8) -> (f32, f32, [u8; 8], [u8; 8]) {
    // SAFETY: d, dmin are bytes 0..4, scales 4..16, all within the 16 bytes the caller
    // guarantees; [u8; 12] has alignment 1.
    let (d, dmin, packed) = unsafe {
        (
            load_f16(p),
            load_f16(p.add(2)),
            &*(p.add(4) as *const [u8; 12]),
        )
    };
    let (sc, mn) = unpack_scale_min_k4(packed);
    (d, dmin, sc, mn)
}

/// `[m0, m0, m1, m1, …]`: the min of each 16 elements from the 8 per-32 mins.
#[inline(always)]
pub(super) fn mins16_from_8(mn: [u8; 8]) -> [v128; 2] {
    let m = mn.map(i16::from);
    [
        i16x8(m[0], m[0], m[1], m[1], m[2], m[2], m[3], m[3]),
        i16x8(m[4], m[4], m[5], m[5], m[6], m[6], m[7], m[7]),
    ]
}

/// Σ_j mn[j] · (bsums[2j] + bsums[2j+1]) as i32x4 lanes: the min term of Q4_K / Q5_K.
#[inline(always)]
pub(super) fn mins_dot(mn: [u8; 8], y: &BlockQ8K) -> v128 {
    // SAFETY: `[u8; 8]` is 8 readable bytes.
    let m16 = unsafe { u16x8_load_extend_u8x8(mn.as_ptr()) };
    let [b0, b1] = load_bsums(y);
    // Sum of each pair of 16-element sums: the 32-element sums, as i16 (|.| ≤ 4064).
    let pairs = i16x8_narrow_i32x4(
        i32x4_extadd_pairwise_i16x8(b0),
        i32x4_extadd_pairwise_i16x8(b1),
    );
    i32x4_dot_i16x8(m16, pairs)
}

impl SuperBlock for Q4K {
    const BYTES: usize = 144;
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta {
        // SAFETY: `p` points at a whole block (SuperBlock::decode's contract).
        let (d, dmin, sc, mn) = unsafe { k4_header(p) };
        let mask = u16x8_splat(0x0F);
        for j in 0..4 {
            let s_lo = i16x8_splat(i16::from(sc[2 * j]));
            let s_hi = i16x8_splat(i16::from(sc[2 * j + 1]));
            for h in 0..4 {
                // SAFETY: qs is bytes 16..144; this reads bytes 16 + 32j + 8h .. +8 ≤ 144.
                let v = unsafe { u16x8_load_extend_u8x8(p.add(16 + 32 * j + 8 * h)) };
                q[8 * j + h] = i16x8_mul(v128_and(v, mask), s_lo);
                q[8 * j + 4 + h] = i16x8_mul(u16x8_shr(v, 4), s_hi);
            }
        }
        Meta {
            d,
            dmin,
            mins: mins16_from_8(mn),
        }
    }
}

/// Fused decode GEMV for Q4_K: each super-block is unpacked in registers and dotted at once;
/// the sub-block scales multiply the i32 partial sums (8 `i32x4.mul` per super-block) and the
/// mins use the activation's block sums. Bit-identical to the reference (exact integers, the
/// same float expression per super-block, the same order).
pub(super) fn gemv(w: &[u8], nb: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let row_bytes = nb * <Q4K as SuperBlock>::BYTES;
    let mask = u16x8_splat(0x0F);
    for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
        let mut sumf = 0.0f32;
        for (pb, yb) in row.chunks_exact(<Q4K as SuperBlock>::BYTES).zip(y) {
            let p = pb.as_ptr();
            // SAFETY: `pb` is one whole 144-byte super-block.
            let (d, dmin, sc, mn) = unsafe { k4_header(p) };
            let xp = yb.qs.as_ptr();
            let mut isum = i32x4_splat(0);
            for j in 0..4 {
                let mut lo = i32x4_splat(0);
                let mut hi = i32x4_splat(0);
                for h in 0..4 {
                    // SAFETY: qs is bytes 16..144 of the block (this reads 16 + 32j + 8h .. +8);
                    // the activation quants are 256 bytes (reads 64j + 8h and 64j + 32 + 8h, +8).
                    let (v, xl, xh) = unsafe {
                        (
                            u16x8_load_extend_u8x8(p.add(16 + 32 * j + 8 * h)),
                            i16x8_load_extend_i8x8(xp.add(64 * j + 8 * h)),
                            i16x8_load_extend_i8x8(xp.add(64 * j + 32 + 8 * h)),
                        )
                    };
                    lo = i32x4_add(lo, i32x4_dot_i16x8(v128_and(v, mask), xl));
                    hi = i32x4_add(hi, i32x4_dot_i16x8(u16x8_shr(v, 4), xh));
                }
                isum = i32x4_add(isum, i32x4_mul(lo, i32x4_splat(i32::from(sc[2 * j]))));
                isum = i32x4_add(isum, i32x4_mul(hi, i32x4_splat(i32::from(sc[2 * j + 1]))));
            }
            let summs = hsum_i32x4(mins_dot(mn, yb)) as f32;
            let isum = hsum_i32x4(isum) as f32;
            sumf += (d * yb.d) * isum - (dmin * yb.d) * summs;
        }
        *o = sumf;
    }
}
