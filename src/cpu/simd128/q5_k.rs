//! Q5_K weights (`d, dmin: f16, scales: [u8; 12], qh: [u8; 32], qs: [u8; 128]`) · Q8_K
//! activations: Q4_K plus a fifth bit (bit 2j / 2j+1 of `qh[l]` for the two 32-element halves
//! of 64-element chunk j).

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::q4_k::{k4_head, k4_header, k4_term, mins16_from_8, mins_dot};
use super::superblock::{Meta, SuperBlock};
use super::util::{fence, hsum2_i32x4, scale_splat};
use crate::quant::blocks::BlockQ8K;

pub(super) struct Q5K;

impl SuperBlock for Q5K {
    const BYTES: usize = GgmlType::Q5_K.block_bytes();
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta {
        // SAFETY: `p` points at a whole block (SuperBlock::decode's contract).
        let (d, dmin, sc, mn) = unsafe { k4_header(p) };
        let mask = u16x8_splat(0x0F);
        let one = u16x8_splat(1);
        for j in 0..4 {
            let s_lo = i16x8_splat(i16::from(sc[2 * j]));
            let s_hi = i16x8_splat(i16::from(sc[2 * j + 1]));
            for h in 0..4 {
                // SAFETY: qh is bytes 16..48 (this reads 16 + 8h .. +8), qs bytes 48..176
                // (this reads 48 + 32j + 8h .. +8 ≤ 176).
                let (hb, v) = unsafe {
                    (
                        u16x8_load_extend_u8x8(p.add(16 + 8 * h)),
                        u16x8_load_extend_u8x8(p.add(48 + 32 * j + 8 * h)),
                    )
                };
                let b_lo = i16x8_shl(v128_and(u16x8_shr(hb, 2 * j as u32), one), 4);
                let b_hi = i16x8_shl(v128_and(u16x8_shr(hb, 2 * j as u32 + 1), one), 4);
                q[8 * j + h] = i16x8_mul(v128_or(v128_and(v, mask), b_lo), s_lo);
                q[8 * j + 4 + h] = i16x8_mul(v128_or(u16x8_shr(v, 4), b_hi), s_hi);
            }
        }
        Meta {
            d,
            dmin,
            mins: mins16_from_8(mn),
        }
    }
}

/// Fused decode GEMV for Q5_K (as Q4_K's, plus the fifth bit): the `qh` bytes are loaded once
/// per super-block, shifted so that bit 2j / 2j + 1 lands on bit 4 with one shift and mask.
/// Bit-identical to the reference.
pub(super) fn gemv(w: &[u8], nb: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let row_bytes = nb * <Q5K as SuperBlock>::BYTES;
    let mask = u16x8_splat(0x0F);
    let b4 = u16x8_splat(16);
    for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
        let mut sumf = 0.0f32;
        for (pb, yb) in row.chunks_exact(<Q5K as SuperBlock>::BYTES).zip(y) {
            let p = pb.as_ptr();
            // SAFETY: `pb` is one whole 176-byte super-block: the header at 0..16, qh at
            // 16..48 (four 8-byte loads).
            let (hd, qh4) = unsafe {
                (
                    k4_head(p),
                    [0, 1, 2, 3].map(|h| i16x8_shl(u16x8_load_extend_u8x8(p.add(16 + 8 * h)), 4)),
                )
            };
            let xp = yb.qs.as_ptr();
            let mut isum = i32x4_splat(0);
            for j in 0..4 {
                let mut lo = i32x4_splat(0);
                let mut hi = i32x4_splat(0);
                for (h, &qh) in qh4.iter().enumerate() {
                    // SAFETY: qs is bytes 48..176 (reads 48 + 32j + 8h .. +8); the activation
                    // quants are 256 bytes (reads 64j + 8h and 64j + 32 + 8h, +8).
                    let (v, xl, xh) = unsafe {
                        (
                            u16x8_load_extend_u8x8(p.add(48 + 32 * j + 8 * h)),
                            i16x8_load_extend_i8x8(xp.add(64 * j + 8 * h)),
                            i16x8_load_extend_i8x8(xp.add(64 * j + 32 + 8 * h)),
                        )
                    };
                    let ql = v128_or(v128_and(v, mask), v128_and(u16x8_shr(qh, 2 * j as u32), b4));
                    let qhi = v128_or(
                        u16x8_shr(v, 4),
                        v128_and(u16x8_shr(qh, 2 * j as u32 + 1), b4),
                    );
                    lo = i32x4_add(lo, i32x4_dot_i16x8(ql, xl));
                    hi = i32x4_add(hi, i32x4_dot_i16x8(qhi, xh));
                }
                isum = i32x4_add(isum, i32x4_mul(lo, scale_splat(&hd.sc, 2 * j)));
                isum = i32x4_add(isum, i32x4_mul(hi, scale_splat(&hd.sc, 2 * j + 1)));
                // One 64-element chunk's values live at a time (see `fence`).
                isum = fence(isum);
            }
            let s = hsum2_i32x4(isum, mins_dot(hd.mn, yb));
            sumf = k4_term(sumf, hd.dd, s, yb.d);
        }
        *o = sumf;
    }
}
