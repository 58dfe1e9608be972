//! Q6_K weights (`ql: [u8; 128], qh: [u8; 64], scales: [i8; 16], d: f16`) · Q8_K activations.
//! Element 128h + 32k + l: nibble of `ql[64h + l + 32(k % 2)]` (low for k < 2) plus bits
//! 2k..2k+2 of `qh[32h + l]` as bits 4-5, minus 32, times the scale of its 16 elements.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::superblock::{Meta, SuperBlock};
use super::util::{hsum_i32x4, load_bsums, load_f16, scale_splat, widen_scales};
use crate::quant::blocks::BlockQ8K;

pub(super) struct Q6K;

impl SuperBlock for Q6K {
    const BYTES: usize = GgmlType::Q6_K.block_bytes();
    const HAS_MIN: bool = false;
    #[inline(always)]
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta {
        // SAFETY: d is bytes 208..210.
        let d = unsafe { load_f16(p.add(208)) };
        let sc = p.wrapping_add(192) as *const i8;
        let m4 = u16x8_splat(0x0F);
        let m30 = u16x8_splat(0x30);
        let three = u16x8_splat(3);
        let c = u16x8_splat(0x0C);
        let off = i16x8_splat(32);
        for h in 0..2 {
            for g in 0..4 {
                // SAFETY: ql is bytes 0..128 (reads 64h + 8g .. +8 and 64h + 32 + 8g .. +8),
                // qh bytes 128..192 (reads 128 + 32h + 8g .. +8).
                let (a, b, hb) = unsafe {
                    (
                        u16x8_load_extend_u8x8(p.add(64 * h + 8 * g)),
                        u16x8_load_extend_u8x8(p.add(64 * h + 32 + 8 * g)),
                        u16x8_load_extend_u8x8(p.add(128 + 32 * h + 8 * g)),
                    )
                };
                let v = [
                    v128_or(v128_and(a, m4), i16x8_shl(v128_and(hb, three), 4)),
                    v128_or(v128_and(b, m4), i16x8_shl(v128_and(hb, c), 2)),
                    v128_or(u16x8_shr(a, 4), v128_and(hb, m30)),
                    v128_or(u16x8_shr(b, 4), v128_and(u16x8_shr(hb, 2), m30)),
                ];
                for (k, vk) in v.into_iter().enumerate() {
                    // SAFETY: the scales are bytes 192..208; index 8h + 2k + g/2 < 16.
                    let s = unsafe { *sc.add(8 * h + 2 * k + g / 2) };
                    q[16 * h + 4 * k + g] =
                        i16x8_mul(i16x8_sub(vk, off), i16x8_splat(i16::from(s)));
                }
            }
        }
        Meta {
            d,
            dmin: 0.0,
            mins: [i16x8_splat(0); 2],
        }
    }
}

/// Fused decode GEMV for Q6_K: the 6-bit quants are rebuilt in i16 lanes and dotted at once;
/// the 16 sub-block scales multiply the i32 partial sums, and the −32 offset is applied once
/// per super-block through the activation's block sums (Σ sc·(Σq·x − 32·Σx)). Bit-identical
/// to the reference: the integer sum is exact and the float expression the same.
pub(super) fn gemv(w: &[u8], nb: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let row_bytes = nb * <Q6K as SuperBlock>::BYTES;
    let m4 = u16x8_splat(0x0F);
    let m30 = u16x8_splat(0x30);
    let three = u16x8_splat(3);
    let c = u16x8_splat(0x0C);
    for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
        let mut sumf = 0.0f32;
        for (pb, yb) in row.chunks_exact(<Q6K as SuperBlock>::BYTES).zip(y) {
            let p = pb.as_ptr();
            let xp = yb.qs.as_ptr();
            // SAFETY: the block is 210 bytes: scales at 192..208 (one v128), d at 208..210.
            let (scv, d) = unsafe { (v128_load(p.add(192) as *const v128), load_f16(p.add(208))) };
            let (sc16, sc32) = widen_scales(scv);
            let mut isum = i32x4_splat(0);
            for h in 0..2 {
                // Partial sums per sub-block of this half: part[2k + g/2].
                let mut part = [i32x4_splat(0); 8];
                for g in 0..4 {
                    // SAFETY: ql is bytes 0..128 (reads 64h + 8g and 64h + 32 + 8g, +8), qh
                    // bytes 128..192 (reads 128 + 32h + 8g, +8); activation quants 256 bytes.
                    let (a, b, hb) = unsafe {
                        (
                            u16x8_load_extend_u8x8(p.add(64 * h + 8 * g)),
                            u16x8_load_extend_u8x8(p.add(64 * h + 32 + 8 * g)),
                            u16x8_load_extend_u8x8(p.add(128 + 32 * h + 8 * g)),
                        )
                    };
                    let v = [
                        v128_or(v128_and(a, m4), i16x8_shl(v128_and(hb, three), 4)),
                        v128_or(v128_and(b, m4), i16x8_shl(v128_and(hb, c), 2)),
                        v128_or(u16x8_shr(a, 4), v128_and(hb, m30)),
                        v128_or(u16x8_shr(b, 4), v128_and(u16x8_shr(hb, 2), m30)),
                    ];
                    for (k, vk) in v.into_iter().enumerate() {
                        // SAFETY: element 128h + 32k + 8g .. +8 of the 256 activation quants.
                        let x = unsafe { i16x8_load_extend_i8x8(xp.add(128 * h + 32 * k + 8 * g)) };
                        part[2 * k + g / 2] =
                            i32x4_add(part[2 * k + g / 2], i32x4_dot_i16x8(vk, x));
                    }
                }
                for (s, &ps) in part.iter().enumerate() {
                    isum = i32x4_add(isum, i32x4_mul(ps, scale_splat(&sc32, 8 * h + s)));
                }
            }
            let [b0, b1] = load_bsums(yb);
            let offset = i32x4_add(i32x4_dot_i16x8(sc16[0], b0), i32x4_dot_i16x8(sc16[1], b1));
            let isum = hsum_i32x4(isum) - 32 * hsum_i32x4(offset);
            sumf += (d * yb.d) * isum as f32;
        }
        *o = sumf;
    }
}
