//! Q4_K weights (`d, dmin: f16, scales: [u8; 12]` (8 six-bit scales and mins),
//! `qs: [u8; 128]`) · Q8_K activations. y = d·sc·q − dmin·m per 32 elements.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::superblock::{Meta, SuperBlock};
use super::util::{
    f16x4_finite_to_f32, fence, hsum2_i32x4, load_bsums, load_f16, load_u32, scale_splat,
};
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

/// The Q4_K / Q5_K header as the GEMVs use it, all in vectors.
pub(super) struct K4Head {
    /// f32 `[d, dmin, 0, 0]`.
    pub dd: v128,
    /// The 8 sub-block scales as i32: sub-blocks 0-3, 4-7.
    pub sc: [v128; 2],
    /// The 8 sub-block mins as u16.
    pub mn: v128,
}

/// Reads the header at `p` without scalar per-scale work or branches: the 6-bit fields are
/// unpacked four at a time in 32-bit words (ggml's kmask trick), then widened in one vector.
/// Same values as [`k4_header`] for every finite `d`/`dmin` (see `f16x4_finite_to_f32`).
///
/// # Safety
/// `p` must point at the first of at least 16 readable bytes.
#[inline(always)]
pub(super) unsafe fn k4_head(p: *const u8) -> K4Head {
    // SAFETY: bytes 0..16, as the caller guarantees.
    let (h, a, b, c) = unsafe {
        (
            load_u32(p),
            load_u32(p.add(4)),
            load_u32(p.add(8)),
            load_u32(p.add(12)),
        )
    };
    // Sub-blocks 0-3: the low 6 bits of bytes 0-3 (scales) and 4-7 (mins). Sub-blocks 4-7:
    // the low / high nibble of bytes 8-11 plus, as bits 4-5, the top 2 bits of bytes 0-3 / 4-7.
    let sc_lo = a & 0x3F3F_3F3F;
    let mn_lo = b & 0x3F3F_3F3F;
    let sc_hi = (c & 0x0F0F_0F0F) | ((a >> 2) & 0x3030_3030);
    let mn_hi = ((c >> 4) & 0x0F0F_0F0F) | ((b >> 2) & 0x3030_3030);
    let v = u32x4(sc_lo, sc_hi, mn_lo, mn_hi);
    let sc16 = u16x8_extend_low_u8x16(v);
    K4Head {
        dd: f16x4_finite_to_f32(u32x4(h, h >> 16, 0, 0)),
        sc: [u32x4_extend_low_u16x8(sc16), u32x4_extend_high_u16x8(sc16)],
        mn: u16x8_extend_high_u8x16(v),
    }
}

/// Adds one super-block's float term to `sumf` as the reference does:
/// `(d·y.d)·isum − (dmin·y.d)·summs`, from `s = [isum, summs, …]`.
#[inline(always)]
pub(super) fn k4_term(sumf: f32, dd: v128, s: v128, yd: f32) -> f32 {
    let t = f32x4_mul(f32x4_mul(dd, f32x4_splat(yd)), f32x4_convert_i32x4(s));
    sumf + (f32x4_extract_lane::<0>(t) - f32x4_extract_lane::<1>(t))
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

/// Σ_j mn[j] · (bsums[2j] + bsums[2j+1]) as i32x4 lanes: the min term of Q4_K / Q5_K
/// (`m16`: the 8 mins as u16).
#[inline(always)]
pub(super) fn mins_dot(m16: v128, y: &BlockQ8K) -> v128 {
    let [b0, b1] = load_bsums(y);
    // Sum of each pair of 16-element sums: the 32-element sums, as i16 (|.| ≤ 4064).
    let pairs = i16x8_narrow_i32x4(
        i32x4_extadd_pairwise_i16x8(b0),
        i32x4_extadd_pairwise_i16x8(b1),
    );
    i32x4_dot_i16x8(m16, pairs)
}

impl SuperBlock for Q4K {
    const BYTES: usize = GgmlType::Q4_K.block_bytes();
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
            let hd = unsafe { k4_head(p) };
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
