//! Small helpers shared by the SIMD128 kernels: f16 scales, horizontal sums, raw loads.

use core::arch::wasm32::*;

pub(crate) use crate::quant::f16::f16_to_f32;

/// Reads the little-endian f16 at `p` and converts it.
///
/// # Safety
/// `p` must point at 2 readable bytes.
#[inline(always)]
pub(crate) unsafe fn load_f16(p: *const u8) -> f32 {
    // SAFETY: the caller guarantees 2 readable bytes at `p`; no alignment is assumed.
    let b = unsafe { [*p, *p.add(1)] };
    f16_to_f32(u16::from_le_bytes(b))
}

/// Reads a little-endian u32 at `p` (any alignment).
///
/// # Safety
/// `p` must point at 4 readable bytes.
#[inline(always)]
pub(crate) unsafe fn load_u32(p: *const u8) -> u32 {
    // SAFETY: the caller guarantees 4 readable bytes; read_unaligned has no alignment demand.
    u32::from_le(unsafe { (p as *const u32).read_unaligned() })
}

#[inline(always)]
pub(crate) fn hsum_i32x4(v: v128) -> i32 {
    let s = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let s = i32x4_add(s, i32x4_shuffle::<1, 0, 3, 2>(s, s));
    i32x4_extract_lane::<0>(s)
}

/// `[Σa, Σb, Σa, Σb]` of two i32x4 vectors.
#[inline(always)]
pub(crate) fn hsum2_i32x4(a: v128, b: v128) -> v128 {
    // [a0+a2, b0+b2, a1+a3, b1+b3]
    let t = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    i32x4_add(t, i32x4_shuffle::<2, 3, 0, 1>(t, t))
}

/// `[Σa, Σb, Σc, Σd]` of four i32x4 vectors (a 4×4 transpose-and-add).
#[inline(always)]
pub(crate) fn hsum4_i32x4(a: v128, b: v128, c: v128, d: v128) -> v128 {
    // [a0+a2, b0+b2, a1+a3, b1+b3]
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// The 32 activation quants of a block as four i16x8 vectors (elements 0-7, 8-15, 16-23, 24-31).
///
/// # Safety
/// `p` must point at 32 readable bytes.
#[inline(always)]
pub(crate) unsafe fn load_i8x32_as_i16(p: *const i8) -> [v128; 4] {
    // SAFETY: the caller guarantees 32 readable bytes; each load reads 8 of them.
    unsafe {
        [
            i16x8_load_extend_i8x8(p),
            i16x8_load_extend_i8x8(p.add(8)),
            i16x8_load_extend_i8x8(p.add(16)),
            i16x8_load_extend_i8x8(p.add(24)),
        ]
    }
}

/// Σ_i dot(w[i], x[i]) over four i16x8 pairs, as i32x4 lanes.
#[inline(always)]
pub(crate) fn dot4(w: &[v128; 4], x: &[v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(i32x4_dot_i16x8(w[0], x[0]), i32x4_dot_i16x8(w[1], x[1])),
        i32x4_add(i32x4_dot_i16x8(w[2], x[2]), i32x4_dot_i16x8(w[3], x[3])),
    )
}

/// Four f16 values held in the low 16 bits of each u32 lane → f32x4, exact for every finite
/// value (subnormals included): the bits are moved into place and rebiased by a multiply with
/// 2^112. Infinities and NaNs are not preserved (they read as ±2^16·(1 + m)); GGUF scales
/// are finite.
#[inline(always)]
pub(crate) fn f16x4_finite_to_f32(h: v128) -> v128 {
    let em = i32x4_shl(v128_and(h, u32x4_splat(0x7fff)), 13);
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    f32x4_mul(
        v128_or(em, sign),
        f32x4_splat(f32::from_bits((127 + 112) << 23)),
    )
}

/// The little-endian f16 at byte offset `off` of four blocks, as f32x4 (see
/// [`f16x4_finite_to_f32`]).
///
/// # Safety
/// Each `p[i] + off` must point at 2 readable bytes.
#[inline(always)]
pub(crate) unsafe fn gather_f16x4(p: [*const u8; 4], off: usize) -> v128 {
    // SAFETY: the caller guarantees 2 readable bytes at each address; read_unaligned has no
    // alignment demand.
    let h = unsafe { p.map(|q| u16::from_le((q.add(off) as *const u16).read_unaligned())) };
    // Each f16 in the top half of its i32 lane; an arithmetic shift by 3 puts exponent and
    // mantissa where f32 has them (and copies the sign into bits 28-30, cleared by the mask).
    let v = u16x8(0, h[0], 0, h[1], 0, h[2], 0, h[3]);
    let bits = v128_and(i32x4_shr(v, 3), u32x4_splat(0x8fff_e000));
    f32x4_mul(bits, f32x4_splat(f32::from_bits((127 + 112) << 23)))
}

/// Returns `v` after storing it to a dead stack slot with a volatile store.
///
/// A scheduling fence for V8: TurboFan keeps wasm memory accesses in program order but
/// places pure SIMD arithmetic as late as possible, so a loop body that decodes several
/// blocks issues every load first and then all the arithmetic, with more live vectors than
/// the 16 xmm registers — and spills. A store of a block's result sits on the memory-access
/// chain, so the arithmetic that produces it runs before the loads that follow, and only one
/// block's values are live at a time. Costs one store to L1. (Observed with V8 11, Node 20;
/// Chromium 156's V8 runs the unpacking kernels as fast either way.)
#[inline(always)]
pub(crate) fn fence(v: v128) -> v128 {
    let mut slot = core::mem::MaybeUninit::<v128>::uninit();
    // SAFETY: `slot` is a valid, aligned, writable local.
    unsafe { core::ptr::write_volatile(slot.as_mut_ptr(), v) };
    v
}

/// Sixteen i8 scales (one v128) as i16x8 ×2 and i32x4 ×4.
#[inline(always)]
pub(crate) fn widen_scales(v: v128) -> ([v128; 2], [v128; 4]) {
    let s16 = [i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v)];
    let s32 = [
        i32x4_extend_low_i16x8(s16[0]),
        i32x4_extend_high_i16x8(s16[0]),
        i32x4_extend_low_i16x8(s16[1]),
        i32x4_extend_high_i16x8(s16[1]),
    ];
    (s16, s32)
}

/// Scale `idx` of four-per-vector i32 scales (e.g. [`widen_scales`]'), broadcast to all four
/// lanes.
#[inline(always)]
pub(crate) fn scale_splat<const N: usize>(s32: &[v128; N], idx: usize) -> v128 {
    let v = s32[idx / 4];
    match idx % 4 {
        0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
        1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
        2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
        _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
    }
}

/// The two v128 of a Q8_K block's 16 block sums.
#[inline(always)]
pub(crate) fn load_bsums(y: &crate::quant::blocks::BlockQ8K) -> [v128; 2] {
    let bp = y.bsums.as_ptr() as *const v128;
    // SAFETY: bsums is 16 i16 = two v128.
    unsafe { [v128_load(bp), v128_load(bp.add(1))] }
}
