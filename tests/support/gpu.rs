//! GPU kernel tests shared by the native runner (tests/gpu_kernels.rs: wgpu on Vulkan,
//! lavapipe in CI) and the browser runner (tests/web_gpu.rs: Chromium's WebGPU on
//! SwiftShader). Each test is an `async fn(&Gpu)`; the runners open the device.
//!
//! The CPU side is the independent reference: `quant::dequantize` (checked bit-for-bit
//! against gguf-py) and f64 sums.

#![allow(dead_code)]

use super::kernels::{fixtures, nmse, random_weights, Rng};
use wasm_chord::gpu::{ops, Batch, Gpu, GpuBuffer, GpuMatrix, GpuOptions};
use wasm_chord::quant::{self, GgmlType};

/// Weight types the GPU kernels take: every weight type of the type table that has a
/// decoder (the tests assert below that this covers the list).
pub fn gpu_types() -> Vec<GgmlType> {
    GgmlType::weight_types()
        .filter(|&t| wasm_chord::gpu::supports(t))
        .collect()
}

pub async fn read_f32(gpu: &Gpu, b: Batch<'_>, buf: &GpuBuffer, len: usize) -> Vec<f32> {
    let mut b = b;
    let i = b.read(buf, 0, (4 * len) as u64);
    let out = b.submit().unwrap().wait().await.unwrap();
    let _ = gpu;
    bytemuck::cast_slice::<u8, f32>(&out[i]).to_vec()
}

pub async fn gpu_dequantize(
    gpu: &Gpu,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    w: &[u8],
) -> Vec<f32> {
    let m = GpuMatrix::upload(gpu, "test", ty, rows, cols, w).unwrap();
    let y = GpuBuffer::zeros(gpu, rows * cols, "test output").unwrap();
    let mut b = Batch::new(gpu);
    ops::dequantize(&mut b, &m, &y).unwrap();
    read_f32(gpu, b, &y, rows * cols).await
}

pub async fn gpu_matmul(
    gpu: &Gpu,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    w: &[u8],
    x: &[f32],
    n: usize,
) -> Vec<f32> {
    let m = GpuMatrix::upload(gpu, "test", ty, rows, cols, w).unwrap();
    let xb = GpuBuffer::from_f32(gpu, x, "test x").unwrap();
    let y = GpuBuffer::zeros(gpu, n * rows, "test y").unwrap();
    let mut b = Batch::new(gpu);
    ops::matmul(
        &mut b,
        &m,
        ops::Rows::new(&xb, 0, cols),
        ops::Rows::new(&y, 0, rows),
        n,
    )
    .unwrap();
    read_f32(gpu, b, &y, n * rows).await
}

/// `W · x` in f64 from the CPU reference dequantization, and Σ|w·x| per output (the scale
/// of a sum's rounding error).
pub fn reference_matmul(
    ty: GgmlType,
    rows: usize,
    cols: usize,
    w: &[u8],
    x: &[f32],
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut deq = vec![0f32; rows * cols];
    quant::dequantize(ty, w, &mut deq).unwrap();
    let mut want = Vec::with_capacity(n * rows);
    let mut mag = Vec::with_capacity(n * rows);
    for t in 0..n {
        let xt = &x[t * cols..(t + 1) * cols];
        for r in 0..rows {
            let wr = &deq[r * cols..(r + 1) * cols];
            want.push(
                wr.iter()
                    .zip(xt)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum(),
            );
            mag.push(
                wr.iter()
                    .zip(xt)
                    .map(|(&a, &b)| (f64::from(a) * f64::from(b)).abs())
                    .sum(),
            );
        }
    }
    (want, mag)
}

fn assert_close(got: &[f32], want: &[f64], mag: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: output length");
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(mag).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= tol * m.max(1e-30),
            "{what}: output {i} = {g:e}, reference {w:e} (error {err:e}, allowed {:e})",
            tol * m
        );
    }
}

// ---- tests --------------------------------------------------------------------------------

/// The GPU takes every type the issue lists (and the model tests need).
pub async fn covers_required_types(_gpu: &Gpu) {
    use GgmlType as T;
    for ty in [
        T::Q4_0,
        T::Q4_1,
        T::Q5_0,
        T::Q5_1,
        T::Q8_0,
        T::Q4_K,
        T::Q5_K,
        T::Q6_K,
        T::F16,
        T::F32,
    ] {
        assert!(wasm_chord::gpu::supports(ty), "no GPU decoder for {ty}");
    }
}

/// Each type's WGSL decoder against the CPU reference, bit for bit, on random blocks.
pub async fn dequantize_matches_reference(gpu: &Gpu) {
    assert_dequantize_exact(gpu, 7, false).await;
}

/// The same with any finite f16 as scales (and as F16 weights): subnormal halves, which
/// `unpack2x16float` must not flush, and scales up to 65504, whose products must still be
/// rounded as the reference rounds them.
pub async fn dequantize_wild_scales_match_reference(gpu: &Gpu) {
    assert_dequantize_exact(gpu, 17, true).await;
}

async fn assert_dequantize_exact(gpu: &Gpu, seed: u64, wild: bool) {
    let mut rng = Rng::new(seed);
    for ty in gpu_types() {
        let (rows, cols) = (3, 2 * ty.block_len().max(256));
        let w = random_weights(&mut rng, ty, rows, cols, wild);
        let got = gpu_dequantize(gpu, ty, rows, cols, &w).await;
        let mut want = vec![0f32; rows * cols];
        quant::dequantize(ty, &w, &mut want).unwrap();
        for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.to_bits() == r.to_bits() || (g == 0.0 && r == 0.0),
                "{ty}: weight {i} (row {}, col {}) = {g:e}, reference {r:e}",
                i / cols,
                i % cols
            );
        }
    }
}

/// Every GPU type at each `(rows, cols, n)` (skipping widths that are not whole blocks or
/// 8-weight units): within 1e-5 of Σ|w·x| of the f64 product (the GPU multiplies f32
/// activations by exactly dequantized weights).
async fn products_match_reference(gpu: &Gpu, seed: u64, shapes: &[(usize, usize, usize)]) {
    let mut rng = Rng::new(seed);
    for ty in gpu_types() {
        for &(rows, cols, n) in shapes {
            if cols % ty.block_len() != 0 || cols % 8 != 0 {
                continue;
            }
            let w = random_weights(&mut rng, ty, rows, cols, false);
            let x: Vec<f32> = (0..n * cols).map(|_| rng.unit()).collect();
            let got = gpu_matmul(gpu, ty, rows, cols, &w, &x, n).await;
            let (want, mag) = reference_matmul(ty, rows, cols, &w, &x, n);
            let what = format!("{ty} {rows}x{cols} n={n}");
            assert_close(&got, &want, &mag, 1e-5, &what);
        }
    }
}

/// GEMV (and the few-row GEMV of short prefills) on random blocks.
pub async fn matvec_matches_reference(gpu: &Gpu) {
    products_match_reference(gpu, 11, &[(37, 256, 1), (5, 512, 3), (64, 768, 1)]).await;
}

/// The tiled GEMM of prefills (n > 4) on random blocks: activation counts below, at and
/// above one 32-row tile, weight row counts that end mid-tile, and (for the 8-weight units of
/// F32/F16) K that ends mid-step.
pub async fn matmul_matches_reference(gpu: &Gpu) {
    let shapes = [(37, 256, 5), (64, 512, 32), (33, 256, 67), (13, 40, 67)];
    products_match_reference(gpu, 13, &shapes).await;
}

/// Both matmul kernels through strided, offset views and a matrix split into several
/// buffers: the products land in their rows and nothing between them is written.
pub async fn matmul_views_and_splits(gpu: &Gpu) {
    // Parts of 361 rows: the split falls mid-tile, and the activations and outputs still fit
    // a binding.
    let small = Gpu::new(&GpuOptions {
        max_binding: Some(96 * 1024),
        ..GpuOptions::default()
    })
    .await
    .unwrap();
    let mut rng = Rng::new(5);
    let (ty, rows, cols) = (GgmlType::Q8_0, 501, 256);
    let w = random_weights(&mut rng, ty, rows, cols, false);
    let parts = GpuMatrix::upload(&small, "split", ty, rows, cols, &w)
        .unwrap()
        .parts
        .len();
    assert!(parts >= 2, "expected a split, got {parts} parts");
    let (x_off, x_stride, y_off, y_stride) = (3, cols + 5, 2, rows + 3);
    for n in [3, 9, 40] {
        let x: Vec<f32> = (0..n * cols).map(|_| rng.unit()).collect();
        let mut xv = vec![f32::NAN; x_off + n * x_stride];
        for t in 0..n {
            xv[x_off + t * x_stride..][..cols].copy_from_slice(&x[t * cols..(t + 1) * cols]);
        }
        let (want, mag) = reference_matmul(ty, rows, cols, &w, &x, n);
        let mut outs = Vec::new();
        for g in [gpu, &small] {
            let m = GpuMatrix::upload(g, "views", ty, rows, cols, &w).unwrap();
            let xb = GpuBuffer::from_f32(g, &xv, "test x").unwrap();
            let ylen = y_off + n * y_stride;
            let yb = GpuBuffer::from_f32(g, &vec![-7.0; ylen], "test y").unwrap();
            let mut b = Batch::new(g);
            ops::matmul(
                &mut b,
                &m,
                ops::Rows::new(&xb, x_off, x_stride),
                ops::Rows::new(&yb, y_off, y_stride),
                n,
            )
            .unwrap();
            let y = read_f32(g, b, &yb, ylen).await;
            let mut got = Vec::with_capacity(n * rows);
            for (i, &v) in y.iter().enumerate() {
                let inside = i >= y_off && (i - y_off) % y_stride < rows;
                if inside {
                    got.push(v);
                } else {
                    assert_eq!(
                        v, -7.0,
                        "n={n}: element {i} outside the output rows was written"
                    );
                }
            }
            assert_close(&got, &want, &mag, 1e-5, &format!("views n={n}"));
            outs.push(got);
        }
        assert_eq!(outs[0], outs[1], "n={n}: split and whole matrices differ");
    }
}

/// Both GEMV variants — threads sharing a row with a shared-memory reduction (real GPUs)
/// and one thread per row without barriers (software adapters) — on every type, whichever
/// one the test adapter picks by default.
pub async fn matvec_variants_match_reference(_gpu: &Gpu) {
    for barrier_free in [false, true] {
        let g = Gpu::new(&GpuOptions {
            barrier_free_gemv: Some(barrier_free),
            ..GpuOptions::default()
        })
        .await
        .unwrap();
        assert_eq!(g.barrier_free_gemv(), barrier_free);
        matvec_matches_reference(&g).await;
    }
}

/// Real Gemma 3 270M blocks (Q8_0, Q5_0, Q4_K, Q6_K) and random blocks of the other types,
/// against the gguf-py f64 oracle of tests/fixtures/kernels (computed with the activations
/// the fixture holds): NMSE ≤ 5e-4 as the issue asks, and in practice far below.
pub async fn real_blocks_match_oracle(gpu: &Gpu) {
    for f in fixtures() {
        // F32 fixtures of odd widths (100) are not a whole number of 8-weight units; model
        // tensors always are.
        if !wasm_chord::gpu::supports(f.ty) || f.cols % 8 != 0 {
            continue;
        }
        let x = super::kernels::test_activations(f.cols, f.n);
        let got = gpu_matmul(gpu, f.ty, f.rows, f.cols, f.weights, &x, f.n).await;
        let e = nmse(&got, &f.expected);
        assert!(e <= 5e-4, "{}: NMSE {e:e}", f.name);
    }
}

/// The same real blocks through the prefill GEMM: the fixture's activation rows repeated to
/// 7 × n rows (a ragged tile), each copy held to the oracle.
pub async fn real_blocks_gemm_match_oracle(gpu: &Gpu) {
    for f in fixtures() {
        if !wasm_chord::gpu::supports(f.ty) || f.cols % 8 != 0 {
            continue;
        }
        let reps = 7;
        let x = super::kernels::test_activations(f.cols, f.n).repeat(reps);
        let got = gpu_matmul(gpu, f.ty, f.rows, f.cols, f.weights, &x, reps * f.n).await;
        for (i, copy) in got.chunks_exact(f.n * f.rows).enumerate() {
            let e = nmse(copy, &f.expected);
            assert!(e <= 5e-4, "{} (copy {i}): NMSE {e:e}", f.name);
        }
    }
}

/// A matrix larger than the storage-binding cap is split by rows into several buffers and
/// still computes the same product (the default model's 178 MB head on a 128 MiB adapter).
pub async fn split_matrix_matches_whole(gpu: &Gpu) {
    let small = Gpu::new(&GpuOptions {
        max_binding: Some(8192),
        ..GpuOptions::default()
    })
    .await
    .unwrap();
    let mut rng = Rng::new(3);
    let (ty, rows, cols) = (GgmlType::Q8_0, 301, 640);
    let w = random_weights(&mut rng, ty, rows, cols, false);
    let x: Vec<f32> = (0..2 * cols).map(|_| rng.unit()).collect();
    let m = GpuMatrix::upload(&small, "split", ty, rows, cols, &w).unwrap();
    assert!(
        m.parts.len() >= 5,
        "expected a split, got {} parts",
        m.parts.len()
    );
    let whole = gpu_matmul(gpu, ty, rows, cols, &w, &x, 2).await;
    let split = gpu_matmul(&small, ty, rows, cols, &w, &x, 2).await;
    assert_eq!(whole, split);
}

/// Types without a decoder are refused with a typed error naming the tensor and the type.
pub async fn unsupported_type_is_typed_error(gpu: &Gpu) {
    // Every weight type has a decoder; Q8_K (an activation format) is the one GGML type
    // a tensor may carry that the GPU refuses.
    let w = vec![0u8; GgmlType::Q8_K.block_bytes()];
    let e = GpuMatrix::upload(gpu, "blk.0.ffn_up.weight", GgmlType::Q8_K, 1, 256, &w).unwrap_err();
    assert_eq!(e.code(), "BACKEND_UNAVAILABLE");
    let msg = e.to_string();
    assert!(
        msg.contains("blk.0.ffn_up.weight") && msg.contains("Q8_K"),
        "{msg}"
    );
    assert_eq!(
        gpu_types().len(),
        GgmlType::weight_types().count(),
        "a weight type without a GPU decoder"
    );
}

/// Expands every test above for a runner: `gpu_tests!(attr, |f| body)` where the body opens
/// a device and awaits `f(&gpu)`.
#[macro_export]
macro_rules! gpu_tests {
    ($runner:ident) => {
        gpu_tests!(@each $runner,
            covers_required_types,
            dequantize_matches_reference,
            dequantize_wild_scales_match_reference,
            matvec_matches_reference,
            matvec_variants_match_reference,
            matmul_matches_reference,
            matmul_views_and_splits,
            real_blocks_match_oracle,
            real_blocks_gemm_match_oracle,
            split_matrix_matches_whole,
            unsupported_type_is_typed_error,
        );
    };
    (@each $runner:ident, $($name:ident),* $(,)?) => {
        $( $runner!($name); )*
    };
}
