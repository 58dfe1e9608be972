//! Scalar reference of the f32 ops the model needs. Native builds run these; on wasm32 they
//! are the baseline the SIMD128 versions (`simd128::ops`) are tested against. The formulas
//! are written so both compute the same thing: sums that the SIMD code splits into lanes are
//! accumulated in f64 here and there, and the transcendental parts share their definitions
//! (`sigmoid(t) = 1 / (1 + e^{-t})`; RoPE's angles come from [`rope_angles`]).

/// √(2/π), the GELU tanh-approximation constant.
pub const GELU_K: f32 = 0.797_884_6;
/// The cubic coefficient of the GELU tanh approximation.
pub const GELU_C: f32 = 0.044_715;

/// Σ a·b (products in f32, sum in f64).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x * y))
        .sum::<f64>() as f32
}

/// y += alpha · x
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// out = x · w / √(mean(x²) + eps)   (the scale computed once, in f64, then rounded to f32).
pub fn rmsnorm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let ss: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
    let scale = rms_scale(ss, x.len(), eps);
    for ((o, &xi), &wi) in out.iter_mut().zip(x).zip(w) {
        *o = xi * scale * wi;
    }
}

/// 1 / √(sum_sq / n + eps), shared by both implementations.
pub fn rms_scale(sum_sq: f64, n: usize, eps: f32) -> f32 {
    (1.0 / (sum_sq / n as f64 + f64::from(eps)).sqrt()) as f32
}

/// In-place softmax: e^{x − max} / Σ (the sum in f64).
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += f64::from(*v);
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// GELU, tanh approximation (as PyTorch `gelu(approximate="tanh")` and ggml):
/// `0.5·x·(1 + tanh(u)) = x · sigmoid(2u)`, `u = √(2/π)·(x + 0.044715·x³)`. The sigmoid form
/// avoids the cancellation of `1 + tanh(u)` for negative x.
pub fn gelu(x: &mut [f32]) {
    for v in x.iter_mut() {
        let u = GELU_K * (*v + GELU_C * *v * *v * *v);
        *v *= sigmoid(2.0 * u);
    }
}

/// SiLU: x · sigmoid(x).
pub fn silu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v *= sigmoid(*v);
    }
}

#[inline]
pub fn sigmoid(t: f32) -> f32 {
    1.0 / (1.0 + (-t).exp())
}

/// cos and sin of RoPE angle i of a head of `head_dim` at position `pos`:
/// θ_i = pos · freq_scale · base^(−2i / head_dim), computed in f64 and rounded to f32.
pub fn rope_angles(
    head_dim: usize,
    pos: usize,
    base: f32,
    freq_scale: f32,
) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let mut cos = Vec::with_capacity(half);
    let mut sin = Vec::with_capacity(half);
    for i in 0..half {
        let theta = pos as f64
            * f64::from(freq_scale)
            * f64::from(base).powf(-2.0 * i as f64 / head_dim as f64);
        cos.push(theta.cos() as f32);
        sin.push(theta.sin() as f32);
    }
    (cos, sin)
}

/// Rotary position embedding of every head in `x` (`x.len()` a multiple of `head_dim`).
/// `neox`: pairs are (i, i + head_dim/2) (GPT-NeoX / Gemma / Qwen); otherwise (2i, 2i + 1)
/// (original LLaMA). Each pair (a, b) becomes (a·cos − b·sin, a·sin + b·cos).
pub fn rope(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32], neox: bool) {
    let half = head_dim / 2;
    for head in x.chunks_exact_mut(head_dim) {
        for i in 0..half {
            let (ia, ib) = if neox {
                (i, i + half)
            } else {
                (2 * i, 2 * i + 1)
            };
            let (a, b) = (head[ia], head[ib]);
            head[ia] = a * cos[i] - b * sin[i];
            head[ib] = a * sin[i] + b * cos[i];
        }
    }
}
