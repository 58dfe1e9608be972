//! The f32 operations of the forward pass: RMS norm, RoPE, gated activations, dot products,
//! f16 conversion for the KV cache.
//!
//! The crate's one f32-op library (`crate::cpu` holds the quantized kernels). The ops are
//! written so LLVM vectorizes them natively without `unsafe`: fixed 8-lane accumulator
//! arrays updated lane by lane; `dot` and `axpy`, which LLVM leaves scalar on wasm32, are
//! spelled out in SIMD128 there (the tests compare both builds against f64).
//!
//! Numerics follow ggml's CPU backend where it matters for matching llama.cpp's logits:
//! RMS norm sums squares in f64; RoPE builds its angles by repeated multiplication in f32;
//! GELU goes through f16 on input and output (ggml's `GGML_GELU_FP16` table).

use half::f16;

#[cfg(not(target_arch = "wasm32"))]
const LANES: usize = 8;

/// `Σ a[i] · b[i]` with eight independent f32 accumulators. Lengths must match (the shorter
/// one bounds the sum).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "wasm32")]
    {
        simd::dot(a, b)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0.0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for i in 0..LANES {
                acc[i] += x[i] * y[i];
            }
        }
        let mut s =
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s += x * y;
        }
        s
    }
}

/// `y[i] += a · x[i]`.
#[inline]
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(target_arch = "wasm32")]
    {
        simd::axpy(y, a, x)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        for (yy, xx) in y.iter_mut().zip(x) {
            *yy += a * xx;
        }
    }
}

/// SIMD128 versions of the attention inner loops. LLVM does not turn the portable 8-lane
/// loops into `f32x4` code for wasm32 (it keeps them scalar), so they are spelled out; no
/// `unsafe` is needed: the vectors are built from array elements, which LLVM merges into
/// `v128.load`s, and the arithmetic intrinsics are safe.
#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    #[inline(always)]
    fn load(x: &[f32]) -> v128 {
        f32x4(x[0], x[1], x[2], x[3])
    }

    #[inline(always)]
    fn store(y: &mut [f32], v: v128) {
        y[0] = f32x4_extract_lane::<0>(v);
        y[1] = f32x4_extract_lane::<1>(v);
        y[2] = f32x4_extract_lane::<2>(v);
        y[3] = f32x4_extract_lane::<3>(v);
    }

    #[inline]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc0 = f32x4_splat(0.0);
        let mut acc1 = f32x4_splat(0.0);
        let mut ca = a.chunks_exact(8);
        let mut cb = b.chunks_exact(8);
        for (x, y) in (&mut ca).zip(&mut cb) {
            acc0 = f32x4_add(acc0, f32x4_mul(load(&x[..4]), load(&y[..4])));
            acc1 = f32x4_add(acc1, f32x4_mul(load(&x[4..]), load(&y[4..])));
        }
        let acc = f32x4_add(acc0, acc1);
        let mut s = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
            + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s += x * y;
        }
        s
    }

    #[inline]
    pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
        let n = y.len().min(x.len());
        let (y, x) = (&mut y[..n], &x[..n]);
        let av = f32x4_splat(a);
        let mut cy = y.chunks_exact_mut(4);
        let mut cx = x.chunks_exact(4);
        for (yy, xx) in (&mut cy).zip(&mut cx) {
            store(yy, f32x4_add(load(yy), f32x4_mul(av, load(xx))));
        }
        for (yy, xx) in cy.into_remainder().iter_mut().zip(cx.remainder()) {
            *yy += a * xx;
        }
    }
}

/// `y[i] *= a`.
#[inline]
pub fn scale(y: &mut [f32], a: f32) {
    for v in y {
        *v *= a;
    }
}

/// `y[i] += x[i]`.
#[inline]
pub fn add_assign(y: &mut [f32], x: &[f32]) {
    for (a, b) in y.iter_mut().zip(x) {
        *a += b;
    }
}

/// RMS norm of each `w.len()`-long row of `x` in place, times `w` (ggml `rms_norm` then
/// `mul`: the sum of squares in f64, the scale `1/√(mean + eps)` in f32).
pub fn rms_norm_rows(x: &mut [f32], w: &[f32], eps: f32) {
    let n = w.len();
    if n == 0 {
        return;
    }
    for row in x.chunks_exact_mut(n) {
        let mut sum = 0.0f64;
        for &v in row.iter() {
            sum += f64::from(v) * f64::from(v);
        }
        let mean = (sum / n as f64) as f32;
        let s = 1.0 / (mean + eps).sqrt();
        for (v, &g) in row.iter_mut().zip(w) {
            *v = (*v * s) * g;
        }
    }
}

/// [`rms_norm_rows`] from `x` into `out` (same lengths).
pub fn rms_norm_rows_into(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(out.len());
    out[..n].copy_from_slice(&x[..n]);
    rms_norm_rows(&mut out[..n], w, eps);
}

/// What fixes the RoPE angles of a position (llama.cpp's `ggml_rope_ext` arguments without
/// YaRN: `ext_factor = 0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeParams<'a> {
    /// Rotated dimensions per head.
    pub n_rot: usize,
    pub base: f32,
    /// Positions are multiplied by this (linear scaling).
    pub freq_scale: f32,
    /// Per-frequency divisors of the angle (Llama 3 `rope_freqs`, Phi-3 LongRoPE factors).
    pub factors: Option<&'a [f32]>,
    /// Multiplies cos and sin (`attn_factor`, ggml's `mscale`; LongRoPE's attention factor).
    pub mscale: f32,
}

impl RopeParams<'_> {
    /// Plain RoPE of `n_rot` dimensions with base `base`.
    pub fn plain(n_rot: usize, base: f32) -> RopeParams<'static> {
        RopeParams {
            n_rot,
            base,
            freq_scale: 1.0,
            factors: None,
            mscale: 1.0,
        }
    }
}

/// cos/sin of the RoPE angles of one position, `n_rot / 2` pairs, as ggml's
/// `rope_cache_init` computes them (no YaRN: `ext_factor = 0`).
pub fn rope_angles(pos: usize, p: &RopeParams<'_>, cos: &mut [f32], sin: &mut [f32]) {
    let theta_scale = p.base.powf(-2.0 / p.n_rot as f32);
    let mut theta = pos as f32;
    for i in 0..p.n_rot / 2 {
        let ff = p.factors.and_then(|f| f.get(i)).copied().unwrap_or(1.0);
        let t = p.freq_scale * (theta / ff);
        if let (Some(c), Some(s)) = (cos.get_mut(i), sin.get_mut(i)) {
            *c = t.cos() * p.mscale;
            *s = t.sin() * p.mscale;
        }
        theta *= theta_scale;
    }
}

/// Rotates the first `2 · cos.len()` values of one head. `neox`: pairs `(i, i + n/2)`
/// (GPT-NeoX / Gemma); otherwise adjacent pairs `(2i, 2i + 1)` (Llama).
pub fn rope_head(x: &mut [f32], cos: &[f32], sin: &[f32], neox: bool) {
    let half = cos.len().min(sin.len());
    if x.len() < 2 * half {
        return;
    }
    if neox {
        let (lo, hi) = x.split_at_mut(half);
        for i in 0..half {
            let (x0, x1) = (lo[i], hi[i]);
            lo[i] = x0 * cos[i] - x1 * sin[i];
            hi[i] = x0 * sin[i] + x1 * cos[i];
        }
    } else {
        for i in 0..half {
            let (x0, x1) = (x[2 * i], x[2 * i + 1]);
            x[2 * i] = x0 * cos[i] - x1 * sin[i];
            x[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_COEF_A: f32 = 0.044_715;

/// ggml's tanh-approximated GELU in f32.
#[inline]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

/// GELU of every f16 value, rounded to f16 and stored as f32: ggml's `ggml_table_gelu_f16`.
fn gelu_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|h| f16::from_f32(gelu_tanh(f16_to_f32(h))).to_f32())
            .collect()
    })
}

/// `gate[i] = GELU(gate[i]) · up[i]`. ggml's CPU backend (`GGML_GELU_FP16`) looks GELU up in
/// an f16 table: the input is rounded to f16 and so is the result. We do the same, so our
/// activations match llama.cpp's rather than the exact formula — and a lookup is also much
/// cheaper than `tanh` on wasm32.
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    let table = gelu_table();
    for (g, &u) in gate.iter_mut().zip(up) {
        let x = *g;
        *g = if x <= -10.0 {
            0.0
        } else if x >= 10.0 {
            x * u
        } else {
            table
                .get(usize::from(f32_to_f16(x)))
                .copied()
                .unwrap_or(0.0)
                * u
        };
    }
}

/// `gate[i] = SiLU(gate[i]) · up[i]` (ggml `swiglu`, f32).
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        let x = *g;
        *g = x / (1.0 + (-x).exp()) * u;
    }
}

/// `c · tanh(x / c)` on every value.
pub fn softcap(x: &mut [f32], c: f32) {
    for v in x {
        *v = softcap_one(*v, c);
    }
}

/// `c · tanh(x / c)`, rounded as ggml's graph does it: `scale(tanh(scale(x, 1/c)), c)`.
#[inline]
pub fn softcap_one(x: f32, c: f32) -> f32 {
    (x * (1.0 / c)).tanh() * c
}

pub use crate::quant::f16::{f16_to_f32, f32_to_f16};

/// A row of f16 bits → f32.
#[inline]
pub fn f16_row_to_f32(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16_to_f32(s);
    }
}

/// A row of f32 → f16 bits.
#[inline]
pub fn f32_row_to_f16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f32_to_f16(s);
    }
}

/// Rounds every value to the nearest f16 (ggml converts the queries to f16 before the
/// `K·q` product against an f16 cache).
#[inline]
pub fn round_to_f16(x: &mut [f32]) {
    for v in x {
        *v = f16_to_f32(f32_to_f16(*v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geglu_is_ggmls_f16_table() {
        let xs = [-12.0f32, -3.3, -0.001, 0.0, 0.7, 2.5, 9.99, 11.0];
        let mut g = xs.to_vec();
        geglu(&mut g, &[2.0; 8]);
        for (x, y) in xs.iter().zip(&g) {
            let want = if *x <= -10.0 {
                0.0
            } else if *x >= 10.0 {
                x * 2.0
            } else {
                let xh = f16::from_f32(*x).to_f32();
                f16::from_f32(gelu_tanh(xh)).to_f32() * 2.0
            };
            assert_eq!(*y, want, "{x}");
        }
    }

    #[test]
    fn dot_and_axpy_match_naive() {
        let a: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-5);
        let mut y = b.clone();
        axpy(&mut y, 0.5, &a);
        for i in 0..37 {
            assert!((y[i] - (b[i] + 0.5 * a[i])).abs() < 1e-6);
        }
    }

    #[test]
    fn rms_norm_unit_weights_gives_unit_rms() {
        let mut x: Vec<f32> = (0..64).map(|i| i as f32 - 20.0).collect();
        rms_norm_rows(&mut x, &[1.0; 64], 0.0);
        let ms: f32 = x.iter().map(|v| v * v).sum::<f32>() / 64.0;
        assert!((ms - 1.0).abs() < 1e-5);
    }

    #[test]
    fn rope_position_zero_is_identity_and_rotation_preserves_norm() {
        let mut cos = [0.0; 4];
        let mut sin = [0.0; 4];
        let x0: Vec<f32> = (0..8).map(|i| i as f32 + 1.0).collect();
        for neox in [false, true] {
            rope_angles(0, &RopeParams::plain(8, 10000.0), &mut cos, &mut sin);
            let mut x = x0.clone();
            rope_head(&mut x, &cos, &sin, neox);
            assert_eq!(x, x0);
            rope_angles(17, &RopeParams::plain(8, 10000.0), &mut cos, &mut sin);
            rope_head(&mut x, &cos, &sin, neox);
            let n0: f32 = x0.iter().map(|v| v * v).sum();
            let n1: f32 = x.iter().map(|v| v * v).sum();
            assert!((n0 - n1).abs() < 1e-3);
        }
    }
}
