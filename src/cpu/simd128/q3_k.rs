//! Q3_K weights (`hmask: [u8; 32], qs: [u8; 64], scales: [u8; 12], d: f16`) · Q8_K
//! activations. Element 128n + 32j + l: bits 2j..2j+2 of `qs[32n + l]`, minus 4 unless bit
//! 4n + j of `hmask[l]` is set, times the (re-centred 6-bit) scale of its 16 elements.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::superblock::{Meta, SuperBlock};
use super::util::{hsum_i32x4, load_bsums, load_f16, load_u32, scale_splat, widen_scales};
use crate::quant::blocks::BlockQ8K;

pub(super) struct Q3K;

/// The 16 six-bit scales re-centred to −32..=31, as one i8x16 (ggml's kmask unpacking: four
/// u32 operations instead of a loop per scale).
///
/// # Safety
/// `p` must point at the 12 scale bytes.
#[inline(always)]
unsafe fn scales(p: *const u8) -> v128 {
    // SAFETY: the caller guarantees 12 readable bytes.
    let (a0, a1, t) = unsafe { (load_u32(p), load_u32(p.add(4)), load_u32(p.add(8))) };
    const K1: u32 = 0x0303_0303;
    const K2: u32 = 0x0f0f_0f0f;
    let r0 = (a0 & K2) | ((t & K1) << 4);
    let r1 = (a1 & K2) | (((t >> 2) & K1) << 4);
    let r2 = ((a0 >> 4) & K2) | (((t >> 4) & K1) << 4);
    let r3 = ((a1 >> 4) & K2) | (((t >> 6) & K1) << 4);
    i8x16_sub(u32x4(r0, r1, r2, r3), i8x16_splat(32))
}

impl SuperBlock for Q3K {
    const BYTES: usize = GgmlType::Q3_K.block_bytes();
    const HAS_MIN: bool = false;
    #[inline(always)]
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta {
        // SAFETY: the scales are bytes 96..108, d bytes 108..110.
        let (scv, d) = unsafe { (scales(p.add(96)), load_f16(p.add(108))) };
        let mut sc = [0i8; 16];
        // SAFETY: `sc` is 16 writable bytes.
        unsafe { v128_store(sc.as_mut_ptr() as *mut v128, scv) };
        let three = u16x8_splat(3);
        let one = u16x8_splat(1);
        let four = i16x8_splat(4);
        for n in 0..2 {
            for j in 0..4 {
                for g in 0..4 {
                    // SAFETY: qs is bytes 32..96 (reads 32 + 32n + 8g .. +8), hmask bytes
                    // 0..32 (reads 8g .. +8).
                    let (v, hm) = unsafe {
                        (
                            u16x8_load_extend_u8x8(p.add(32 + 32 * n + 8 * g)),
                            u16x8_load_extend_u8x8(p.add(8 * g)),
                        )
                    };
                    let low = v128_and(u16x8_shr(v, 2 * j as u32), three);
                    let high = i16x8_shl(v128_and(u16x8_shr(hm, (4 * n + j) as u32), one), 2);
                    let val = i16x8_sub(i16x8_add(low, high), four);
                    let s = i16x8_splat(i16::from(sc[8 * n + 2 * j + g / 2]));
                    q[16 * n + 4 * j + g] = i16x8_mul(val, s);
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

/// Fused decode GEMV for Q3_K: the 2-bit quants and the `hmask` bit are rebuilt in i16 lanes
/// as `low + 4·bit` (0..7), the 16 signed sub-block scales multiply the i32 partial sums, and
/// the −4 offset is applied once per super-block through the activation's block sums.
/// Bit-identical to the reference.
pub(super) fn gemv(w: &[u8], nb: usize, y: &[BlockQ8K], out: &mut [f32]) {
    let row_bytes = nb * <Q3K as SuperBlock>::BYTES;
    let three = u16x8_splat(3);
    let four = u16x8_splat(4);
    for (o, row) in out.iter_mut().zip(w.chunks_exact(row_bytes)) {
        let mut sumf = 0.0f32;
        for (pb, yb) in row.chunks_exact(<Q3K as SuperBlock>::BYTES).zip(y) {
            let p = pb.as_ptr();
            // SAFETY: the block is 110 bytes: hmask 0..32 (four 8-byte loads), scales 96..108,
            // d 108..110.
            let (scv, d, hm2) = unsafe {
                (
                    scales(p.add(96)),
                    load_f16(p.add(108)),
                    [0, 1, 2, 3].map(|g| i16x8_shl(u16x8_load_extend_u8x8(p.add(8 * g)), 2)),
                )
            };
            let (sc16, sc32) = widen_scales(scv);
            let xp = yb.qs.as_ptr();
            let mut isum = i32x4_splat(0);
            for n in 0..2 {
                // SAFETY: qs is bytes 32..96 (reads 32 + 32n + 8g .. +8).
                let qv = [0, 1, 2, 3]
                    .map(|g| unsafe { u16x8_load_extend_u8x8(p.add(32 + 32 * n + 8 * g)) });
                let mut part = [i32x4_splat(0); 8];
                for j in 0..4 {
                    for g in 0..4 {
                        let val = v128_or(
                            v128_and(u16x8_shr(qv[g], 2 * j as u32), three),
                            v128_and(u16x8_shr(hm2[g], (4 * n + j) as u32), four),
                        );
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
            let offset = i32x4_add(i32x4_dot_i16x8(sc16[0], b0), i32x4_dot_i16x8(sc16[1], b1));
            let isum = hsum_i32x4(isum) - 4 * hsum_i32x4(offset);
            sumf += (d * yb.d) * isum as f32;
        }
        *o = sumf;
    }
}
