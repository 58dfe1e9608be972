//! Four f32 lanes: `v128` (SIMD128) on wasm32, `[f32; 4]` elsewhere — the same arithmetic,
//! lane by lane, in both. Attention keeps its tiles, queries and accumulators as slices of
//! these so its inner loops are plain vector loads and FMAs-by-parts without `unsafe`
//! (LLVM does not vectorize the equivalent f32 loops for wasm32 by itself).

#[cfg(target_arch = "wasm32")]
mod imp {
    use core::arch::wasm32::*;

    pub type F4 = v128;

    #[inline(always)]
    pub fn zero() -> F4 {
        f32x4_splat(0.0)
    }
    #[inline(always)]
    pub fn splat(x: f32) -> F4 {
        f32x4_splat(x)
    }
    /// `acc + a · b`
    #[inline(always)]
    pub fn mul_add(acc: F4, a: F4, b: F4) -> F4 {
        f32x4_add(acc, f32x4_mul(a, b))
    }
    #[inline(always)]
    pub fn add(a: F4, b: F4) -> F4 {
        f32x4_add(a, b)
    }
    #[inline(always)]
    pub fn mul(a: F4, b: F4) -> F4 {
        f32x4_mul(a, b)
    }
    #[inline(always)]
    pub fn from_array(x: [f32; 4]) -> F4 {
        f32x4(x[0], x[1], x[2], x[3])
    }
    #[inline(always)]
    pub fn to_array(v: F4) -> [f32; 4] {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    }
    /// Four f16 bit patterns → f32, exactly (see `ops::f16_to_f32`).
    #[inline(always)]
    pub fn from_f16(h: [u16; 4]) -> F4 {
        let h = u32x4(h[0].into(), h[1].into(), h[2].into(), h[3].into());
        let em = v128_and(h, u32x4_splat(0x7fff));
        let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
        let v = f32x4_mul(i32x4_shl(em, 13), f32x4_splat(f32::from_bits(0x7780_0000)));
        let inf = v128_and(u32x4_ge(em, u32x4_splat(0x7c00)), u32x4_splat(0x7f80_0000));
        v128_or(v128_or(v, inf), sign)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    pub type F4 = [f32; 4];

    #[inline(always)]
    pub fn zero() -> F4 {
        [0.0; 4]
    }
    #[inline(always)]
    pub fn splat(x: f32) -> F4 {
        [x; 4]
    }
    #[inline(always)]
    pub fn mul_add(acc: F4, a: F4, b: F4) -> F4 {
        [
            acc[0] + a[0] * b[0],
            acc[1] + a[1] * b[1],
            acc[2] + a[2] * b[2],
            acc[3] + a[3] * b[3],
        ]
    }
    #[inline(always)]
    pub fn add(a: F4, b: F4) -> F4 {
        [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
    }
    #[inline(always)]
    pub fn mul(a: F4, b: F4) -> F4 {
        [a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]]
    }
    #[inline(always)]
    pub fn from_array(x: [f32; 4]) -> F4 {
        x
    }
    #[inline(always)]
    pub fn to_array(v: F4) -> [f32; 4] {
        v
    }
    #[inline(always)]
    pub fn from_f16(h: [u16; 4]) -> F4 {
        h.map(super::super::ops::f16_to_f32)
    }
}

pub use imp::*;

/// Horizontal sum, `(l0 + l1) + (l2 + l3)`.
#[inline(always)]
pub fn hsum(v: F4) -> f32 {
    let a = to_array(v);
    (a[0] + a[1]) + (a[2] + a[3])
}

/// `Σ a · b` over lanes: two accumulators, then a horizontal sum.
#[inline(always)]
pub fn dot(a: &[F4], b: &[F4]) -> f32 {
    let mut acc0 = zero();
    let mut acc1 = zero();
    let mut ca = a.chunks_exact(2);
    let mut cb = b.chunks_exact(2);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc0 = mul_add(acc0, x[0], y[0]);
        acc1 = mul_add(acc1, x[1], y[1]);
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        acc0 = mul_add(acc0, *x, *y);
    }
    hsum(add(acc0, acc1))
}

/// `y += a · x`.
#[inline(always)]
pub fn axpy(y: &mut [F4], a: f32, x: &[F4]) {
    let av = splat(a);
    for (yy, xx) in y.iter_mut().zip(x) {
        *yy = mul_add(*yy, av, *xx);
    }
}

/// `y *= a`.
#[inline(always)]
pub fn scale(y: &mut [F4], a: f32) {
    let av = splat(a);
    for yy in y {
        *yy = mul(*yy, av);
    }
}

/// f32 values → lanes, the last one padded with zeros.
#[inline]
pub fn pack(src: &[f32], dst: &mut [F4]) {
    let mut c = src.chunks_exact(4);
    let mut d = dst.iter_mut();
    for (s, o) in (&mut c).zip(&mut d) {
        *o = from_array([s[0], s[1], s[2], s[3]]);
    }
    let r = c.remainder();
    if !r.is_empty() {
        if let Some(o) = d.next() {
            let mut a = [0.0; 4];
            a[..r.len()].copy_from_slice(r);
            *o = from_array(a);
        }
    }
}

/// f16 bit patterns → lanes, the last one padded with zeros.
#[inline]
pub fn pack_f16(src: &[u16], dst: &mut [F4]) {
    let mut c = src.chunks_exact(4);
    let mut d = dst.iter_mut();
    for (s, o) in (&mut c).zip(&mut d) {
        *o = from_f16([s[0], s[1], s[2], s[3]]);
    }
    let r = c.remainder();
    if !r.is_empty() {
        if let Some(o) = d.next() {
            let mut a = [0u16; 4];
            a[..r.len()].copy_from_slice(r);
            *o = from_f16(a);
        }
    }
}

/// Lanes → f32 values (`dst.len()` of them), times `a`.
#[inline]
pub fn unpack_scaled(src: &[F4], a: f32, dst: &mut [f32]) {
    for (s, d) in src.iter().zip(dst.chunks_mut(4)) {
        let v = to_array(mul(*s, splat(a)));
        d.copy_from_slice(&v[..d.len()]);
    }
}

/// Number of lanes for `n` values.
#[inline]
pub fn lanes(n: usize) -> usize {
    n.div_ceil(4)
}
