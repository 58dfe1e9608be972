//! Activation quantizers f32 → Q8_0 and f32 → Q8_K in SIMD128, bit-exact with the reference
//! (`crate::quant::reference::quantize`): the same scale computation in f32, Q8_0 rounding
//! half away from zero (`roundf`), Q8_K rounding half to even (`nearest_int`).

use core::arch::wasm32::*;

use crate::quant::blocks::{f16_bytes, BlockQ8K, BlockQ8_0};
use crate::quant::{QK32, QK_K};

use super::util::hsum_i32x4;

/// Largest lane of a vector of non-negative floats.
#[inline(always)]
fn hmax_f32x4(v: v128) -> f32 {
    let m = f32x4_pmax(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
    f32x4_extract_lane::<0>(m)
}

/// `roundf`: round half away from zero, exactly (`p - trunc(p)` is exact in f32).
#[inline(always)]
fn round_half_away(p: v128) -> v128 {
    let t = f32x4_trunc(p);
    let frac = f32x4_abs(f32x4_sub(p, t));
    let away = f32x4_ge(frac, f32x4_splat(0.5));
    // ±1.0 with the sign of p
    let one = v128_or(f32x4_splat(1.0), v128_and(p, u32x4_splat(0x8000_0000)));
    f32x4_add(t, v128_and(away, one))
}

/// Sixteen rounded floats (already within ±128) → sixteen i8, saturating like the reference's
/// `as i8` / `clamp(-128, 127)`.
#[inline(always)]
fn narrow16(a: v128, b: v128, c: v128, d: v128) -> v128 {
    let ab = i16x8_narrow_i32x4(i32x4_trunc_sat_f32x4(a), i32x4_trunc_sat_f32x4(b));
    let cd = i16x8_narrow_i32x4(i32x4_trunc_sat_f32x4(c), i32x4_trunc_sat_f32x4(d));
    i8x16_narrow_i16x8(ab, cd)
}

/// # Safety
/// `p` must point at `N` readable f32 values (`N` a multiple of 4).
#[inline(always)]
unsafe fn load_f32s<const N: usize>(p: *const f32) -> [v128; N] {
    // SAFETY: the caller guarantees 4·N readable floats; v128_load has no alignment demand.
    core::array::from_fn(|i| unsafe { v128_load(p.add(4 * i) as *const v128) })
}

pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, o) in x.chunks_exact(QK32).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 32 floats, read as eight v128.
        let v: [v128; 8] = unsafe { load_f32s::<8>(xb.as_ptr()) };
        let mut m = f32x4_abs(v[0]);
        for &vi in &v[1..] {
            m = f32x4_pmax(m, f32x4_abs(vi));
        }
        let amax = hmax_f32x4(m);
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let idv = f32x4_splat(id);
        let r: [v128; 8] = core::array::from_fn(|i| round_half_away(f32x4_mul(v[i], idv)));
        let lo = narrow16(r[0], r[1], r[2], r[3]);
        let hi = narrow16(r[4], r[5], r[6], r[7]);
        o.d = f16_bytes(d);
        let q = o.qs.as_mut_ptr() as *mut v128;
        // SAFETY: `o.qs` is 32 writable bytes: two v128 stores at offsets 0 and 16.
        unsafe {
            v128_store(q, lo);
            v128_store(q.add(1), hi);
        }
    }
}

pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, o) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 256 floats, read as 64 v128.
        let v: [v128; 64] = unsafe { load_f32s::<64>(xb.as_ptr()) };
        let mut m = f32x4_abs(v[0]);
        for &vi in &v[1..] {
            m = f32x4_pmax(m, f32x4_abs(vi));
        }
        let amax = hmax_f32x4(m);
        if amax == 0.0 {
            *o = bytemuck::Zeroable::zeroed();
            continue;
        }
        // The signed element of largest magnitude, first one on ties (as the reference).
        let target = f32x4_splat(amax);
        let mut max = amax;
        for (i, &vi) in v.iter().enumerate() {
            if v128_any_true(f32x4_eq(f32x4_abs(vi), target)) {
                if let Some(&s) = xb[4 * i..4 * i + 4].iter().find(|s| s.abs() == amax) {
                    max = s;
                }
                break;
            }
        }
        let iscale = -127.0 / max;
        let isv = f32x4_splat(iscale);
        let qp = o.qs.as_mut_ptr() as *mut v128;
        for g in 0..QK_K / 16 {
            let r: [v128; 4] =
                core::array::from_fn(|i| f32x4_nearest(f32x4_mul(v[4 * g + i], isv)));
            let q = narrow16(r[0], r[1], r[2], r[3]);
            // SAFETY: `o.qs` is 256 writable bytes; group g writes bytes 16g..16g+16.
            unsafe { v128_store(qp.add(g), q) };
            let s = i32x4_extadd_pairwise_i16x8(i16x8_extadd_pairwise_i8x16(q));
            // 16 quants of magnitude ≤ 128: fits i16.
            o.bsums[g] = hsum_i32x4(s) as i16;
        }
        o.d = 1.0 / iscale;
    }
}
