//! Q2_K weights (`scales: [u8; 16]` (4-bit scale, 4-bit min per 16 elements),
//! `qs: [u8; 64], d, dmin: f16`) · Q8_K activations. Element 128n + 32j + l: bits 2j..2j+2 of
//! `qs[32n + l]`.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::superblock::{Meta, SuperBlock};
use super::util::{hsum_i32x4, load_bsums, load_f16, scale_splat, widen_scales};
use crate::quant::blocks::BlockQ8K;

pub(super) struct Q2K;

impl SuperBlock for Q2K {
    const BYTES: usize = GgmlType::Q2_K.block_bytes();
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta {
        // SAFETY: the scales are bytes 0..16 (one v128), d and dmin bytes 80..84.
        let (scales, d, dmin) = unsafe {
            (
                v128_load(p as *const v128),
                load_f16(p.add(80)),
                load_f16(p.add(82)),
            )
        };
        let sc = v128_and(scales, u8x16_splat(0x0F));
        let mn = u8x16_shr(scales, 4);
        let mut s = [0u8; 16];
        // SAFETY: `s` is 16 writable bytes.
        unsafe { v128_store(s.as_mut_ptr() as *mut v128, sc) };
        let three = u16x8_splat(3);
        for n in 0..2 {
            for j in 0..4 {
                for g in 0..4 {
                    // SAFETY: qs is bytes 16..80; this reads 16 + 32n + 8g .. +8 ≤ 80.
                    let v = unsafe { u16x8_load_extend_u8x8(p.add(16 + 32 * n + 8 * g)) };
                    let val = v128_and(u16x8_shr(v, 2 * j as u32), three);
                    let k = i16x8_splat(i16::from(s[8 * n + 2 * j + g / 2]));
                    q[16 * n + 4 * j + g] = i16x8_mul(val, k);
                }
            }
        }
        Meta {
            d,
            dmin,
            mins: [u16x8_extend_low_u8x16(mn), u16x8_extend_high_u8x16(mn)],
        }
    }
}

/// Fused decode GEMV for Q2_K: 2-bit quants in i16 lanes, the 16 four-bit scales multiply the
/// i32 partial sums, the 16 four-bit mins meet the activation's block sums. Bit-identical to
/// the reference.
pub(super) fn gemv(w: &[u8], nb: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let row_bytes = nb * <Q2K as SuperBlock>::BYTES;
    let three = u16x8_splat(3);
    for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
        let mut sumf = 0.0f32;
        for (pb, yb) in row.chunks_exact(<Q2K as SuperBlock>::BYTES).zip(y) {
            let p = pb.as_ptr();
            // SAFETY: the block is 84 bytes: scales 0..16 (one v128), d and dmin 80..84.
            let (scales, d, dmin) = unsafe {
                (
                    v128_load(p as *const v128),
                    load_f16(p.add(80)),
                    load_f16(p.add(82)),
                )
            };
            let (_, sc32) = widen_scales(v128_and(scales, u8x16_splat(0x0F)));
            let mn = u8x16_shr(scales, 4);
            let xp = yb.qs.as_ptr();
            let mut isum = i32x4_splat(0);
            for n in 0..2 {
                // SAFETY: qs is bytes 16..80 (reads 16 + 32n + 8g .. +8).
                let qv = [0, 1, 2, 3]
                    .map(|g| unsafe { u16x8_load_extend_u8x8(p.add(16 + 32 * n + 8 * g)) });
                let mut part = [i32x4_splat(0); 8];
                for j in 0..4 {
                    for g in 0..4 {
                        let val = v128_and(u16x8_shr(qv[g], 2 * j as u32), three);
                        // SAFETY: element 128n + 32j + 8g .. +8 of the 256 activation quants.
                        let x = unsafe { i16x8_load_extend_i8x8(xp.add(128 * n + 32 * j + 8 * g)) };
                        part[2 * j + g / 2] =
                            i32x4_add(part[2 * j + g / 2], i32x4_dot_i16x8(val, x));
                    }
                }
                for (s, &ps) in part.iter().enumerate() {
                    isum = i32x4_add(isum, i32x4_mul(ps, scale_splat(&sc32, 8 * n + s)));
                }
            }
            let [b0, b1] = load_bsums(yb);
            let m = [u16x8_extend_low_u8x16(mn), u16x8_extend_high_u8x16(mn)];
            let summs = hsum_i32x4(i32x4_add(
                i32x4_dot_i16x8(m[0], b0),
                i32x4_dot_i16x8(m[1], b1),
            ));
            let isum = hsum_i32x4(isum);
            sumf += (d * yb.d) * isum as f32 - (dmin * yb.d) * summs as f32;
        }
        *o = sumf;
    }
}
