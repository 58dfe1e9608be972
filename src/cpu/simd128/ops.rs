//! SIMD128 versions of the f32 ops (see `cpu::ops_reference` for the definitions). Sums run
//! in f64 lanes like the reference's; `exp` is a Cephes-style polynomial (≤ 2 ulp on the
//! range that matters, flushing to 0 below e^−87.3).

use core::arch::wasm32::*;

use crate::cpu::ops_reference::{self as reference, GELU_C, GELU_K};

/// # Safety
/// `p` must point at 4 readable f32.
#[inline(always)]
unsafe fn ld(p: *const f32) -> v128 {
    // SAFETY: the caller guarantees 16 readable bytes; v128_load has no alignment demand.
    unsafe { v128_load(p as *const v128) }
}

/// # Safety
/// `p` must point at 4 writable f32.
#[inline(always)]
unsafe fn st(p: *mut f32, v: v128) {
    // SAFETY: the caller guarantees 16 writable bytes.
    unsafe { v128_store(p as *mut v128, v) }
}

#[inline(always)]
fn add_f64(acc: v128, v: v128) -> v128 {
    f64x2_add(
        f64x2_add(acc, f64x2_promote_low_f32x4(v)),
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(v, v)),
    )
}

#[inline(always)]
fn hsum_f64(a: v128) -> f64 {
    f64x2_extract_lane::<0>(a) + f64x2_extract_lane::<1>(a)
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let main = n / 4 * 4;
    let mut acc = [f64x2_splat(0.0); 2];
    let mut i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n ≤ both lengths.
        let p = unsafe { f32x4_mul(ld(a.as_ptr().add(i)), ld(b.as_ptr().add(i))) };
        acc[(i / 4) % 2] = add_f64(acc[(i / 4) % 2], p);
        i += 4;
    }
    let mut s = hsum_f64(f64x2_add(acc[0], acc[1]));
    for j in main..n {
        s += f64::from(a[j] * b[j]);
    }
    s as f32
}

pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    let main = n / 4 * 4;
    let av = f32x4_splat(alpha);
    let mut i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n ≤ both lengths.
        unsafe {
            let yp = y.as_mut_ptr().add(i);
            st(yp, f32x4_add(ld(yp), f32x4_mul(av, ld(x.as_ptr().add(i)))));
        }
        i += 4;
    }
    reference::axpy(alpha, &x[main..n], &mut y[main..n]);
}

pub fn rmsnorm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len();
    let main = n / 4 * 4;
    let mut acc = f64x2_splat(0.0);
    let mut i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n.
        let v = unsafe { ld(x.as_ptr().add(i)) };
        acc = add_f64(acc, f32x4_mul(v, v));
        i += 4;
    }
    let mut ss = hsum_f64(acc);
    for &v in &x[main..] {
        ss += f64::from(v * v);
    }
    let scale = reference::rms_scale(ss, n, eps);
    let sv = f32x4_splat(scale);
    i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n = w.len() = out.len() (checked by the caller).
        unsafe {
            let v = f32x4_mul(f32x4_mul(ld(x.as_ptr().add(i)), sv), ld(w.as_ptr().add(i)));
            st(out.as_mut_ptr().add(i), v);
        }
        i += 4;
    }
    for j in main..n {
        out[j] = x[j] * scale * w[j];
    }
}

/// e^x for four lanes.
#[inline(always)]
pub(crate) fn exp4(x: v128) -> v128 {
    let x = f32x4_pmin(
        f32x4_pmax(x, f32x4_splat(-87.336_54)),
        f32x4_splat(88.376_26),
    );
    let n = f32x4_floor(f32x4_add(
        f32x4_mul(x, f32x4_splat(core::f32::consts::LOG2_E)),
        f32x4_splat(0.5),
    ));
    let r = f32x4_sub(
        f32x4_sub(x, f32x4_mul(n, f32x4_splat(0.693_359_4))),
        f32x4_mul(n, f32x4_splat(-2.121_944_4e-4)),
    );
    let mut p = f32x4_splat(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3f32,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
    }
    let y = f32x4_add(
        f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r),
        f32x4_splat(1.0),
    );
    // × 2^n through the exponent field (n in −126..=127 after the clamp).
    let pow2 = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
    let res = f32x4_mul(y, pow2);
    // Below the clamp, e^x is (sub)normal-small: flush to 0 as documented.
    v128_bitselect(f32x4_splat(0.0), res, f32x4_lt(x, f32x4_splat(-87.3)))
}

pub fn softmax(x: &mut [f32]) {
    let n = x.len();
    let main = n / 4 * 4;
    let mut m = f32x4_splat(f32::NEG_INFINITY);
    let mut i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n.
        m = f32x4_pmax(m, unsafe { ld(x.as_ptr().add(i)) });
        i += 4;
    }
    let mut max = f32x4_extract_lane::<0>(m)
        .max(f32x4_extract_lane::<1>(m))
        .max(f32x4_extract_lane::<2>(m).max(f32x4_extract_lane::<3>(m)));
    for &v in &x[main..] {
        max = max.max(v);
    }
    let mv = f32x4_splat(max);
    let mut acc = f64x2_splat(0.0);
    i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let e = exp4(f32x4_sub(ld(p), mv));
            st(p, e);
            acc = add_f64(acc, e);
        }
        i += 4;
    }
    let mut sum = hsum_f64(acc);
    for v in &mut x[main..] {
        let e = exp4(f32x4_splat(*v - max));
        *v = f32x4_extract_lane::<0>(e);
        sum += f64::from(*v);
    }
    let inv = f32x4_splat((1.0 / sum) as f32);
    i = 0;
    while i < main {
        // SAFETY: i + 4 ≤ n.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            st(p, f32x4_mul(ld(p), inv));
        }
        i += 4;
    }
    let inv = f32x4_extract_lane::<0>(inv);
    for v in &mut x[main..] {
        *v *= inv;
    }
}

/// v · sigmoid(t) for four lanes.
#[inline(always)]
fn mul_sigmoid(v: v128, t: v128) -> v128 {
    let one = f32x4_splat(1.0);
    f32x4_mul(v, f32x4_div(one, f32x4_add(one, exp4(f32x4_neg(t)))))
}

fn map4(x: &mut [f32], f: impl Fn(v128) -> v128) {
    let mut chunks = x.chunks_exact_mut(4);
    for c in &mut chunks {
        // SAFETY: the chunk is 4 floats.
        unsafe { st(c.as_mut_ptr(), f(ld(c.as_ptr()))) };
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut buf = [0f32; 4];
        buf[..rest.len()].copy_from_slice(rest);
        // SAFETY: `buf` is 4 floats.
        unsafe { st(buf.as_mut_ptr(), f(ld(buf.as_ptr()))) };
        let n = rest.len();
        rest.copy_from_slice(&buf[..n]);
    }
}

pub fn gelu(x: &mut [f32]) {
    map4(x, |v| {
        let cube = f32x4_mul(f32x4_mul(f32x4_mul(f32x4_splat(GELU_C), v), v), v);
        let u = f32x4_mul(f32x4_splat(GELU_K), f32x4_add(v, cube));
        mul_sigmoid(v, f32x4_add(u, u))
    });
}

pub fn silu(x: &mut [f32]) {
    map4(x, |v| mul_sigmoid(v, v));
}

pub fn rope(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32], neox: bool) {
    let half = head_dim / 2;
    if !neox || half % 4 != 0 {
        // Interleaved pairs (or odd sizes): the scalar loop is already cheap next to the
        // matrix products around it.
        reference::rope(x, head_dim, cos, sin, neox);
        return;
    }
    for head in x.chunks_exact_mut(head_dim) {
        let hp = head.as_mut_ptr();
        let mut i = 0;
        while i < half {
            // SAFETY: i + 4 ≤ half: elements i.., i + half.. are inside the head; cos/sin
            // hold `half` values (checked by the caller).
            unsafe {
                let (pa, pb) = (hp.add(i), hp.add(i + half));
                let (a, b) = (ld(pa), ld(pb));
                let (c, s) = (ld(cos.as_ptr().add(i)), ld(sin.as_ptr().add(i)));
                st(pa, f32x4_sub(f32x4_mul(a, c), f32x4_mul(b, s)));
                st(pb, f32x4_add(f32x4_mul(a, s), f32x4_mul(b, c)));
            }
            i += 4;
        }
    }
}
