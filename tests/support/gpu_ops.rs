//! The non-matmul GPU kernels (norms, RoPE, activations, attention, argmax, embedding)
//! against the CPU path's own functions (`model::ops`) or f64 references. Shared by the
//! native and browser runners like tests/support/gpu.rs.

#![allow(dead_code)]

use super::gpu::read_f32;
use super::kernels::{random_weights, Rng};
use wasm_chord::gpu::ops::{self, AttnDims, NormOut, Rows};
use wasm_chord::gpu::{Batch, Gpu, GpuBuffer, GpuMatrix};
use wasm_chord::model::ops as cpu_ops;
use wasm_chord::quant::{self, GgmlType};

fn rand_vec(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.unit() * scale).collect()
}

fn max_rel(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(1e-30f32, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

pub async fn rms_norm_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(5);
    let (rows, dim) = (5, 640);
    let x = rand_vec(&mut rng, rows * dim, 3.0);
    let w = rand_vec(&mut rng, dim, 2.0);
    let y0 = rand_vec(&mut rng, rows * dim, 1.0);
    let mut want = x.clone();
    cpu_ops::rms_norm_rows(&mut want, &w, 1e-6);
    for mode in 0..3 {
        let xb = GpuBuffer::from_f32(gpu, &x, "x").unwrap();
        let yb = GpuBuffer::from_f32(gpu, &y0, "y").unwrap();
        let nb = GpuBuffer::from_f32(gpu, &w, "w").unwrap();
        let mut b = Batch::new(gpu);
        let out = match mode {
            0 => NormOut::Into(Rows::new(&yb, 0, dim)),
            1 => NormOut::InPlace,
            _ => NormOut::Add(Rows::new(&yb, 0, dim)),
        };
        ops::rms_norm(&mut b, Rows::new(&xb, 0, dim), rows, dim, &nb, 0, 1e-6, out).unwrap();
        let (buf, expect): (&GpuBuffer, Vec<f32>) = match mode {
            0 => (&yb, want.clone()),
            1 => (&xb, want.clone()),
            _ => (&yb, want.iter().zip(&y0).map(|(a, b)| a + b).collect()),
        };
        let got = read_f32(gpu, b, buf, rows * dim).await;
        let e = max_rel(&got, &expect);
        assert!(e < 2e-6, "rms_norm mode {mode}: max rel error {e:e}");
    }
}

pub async fn rope_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(6);
    let (n, heads, hd, n_rot) = (3, 4, 64, 48);
    let half = n_rot / 2;
    for neox in [false, true] {
        let x = rand_vec(&mut rng, n * heads * hd, 2.0);
        let mut table = vec![0f32; 2 * n * half];
        let mut want = x.clone();
        for t in 0..n {
            let (cos, sin) = table.split_at_mut(n * half);
            let r = t * half..(t + 1) * half;
            cpu_ops::rope_angles(
                100 + t * 37,
                &cpu_ops::RopeParams::plain(n_rot, 10000.0),
                &mut cos[r.clone()],
                &mut sin[r.clone()],
            );
            for h in 0..heads {
                let o = (t * heads + h) * hd;
                cpu_ops::rope_head(&mut want[o..o + hd], &cos[r.clone()], &sin[r.clone()], neox);
            }
        }
        let xb = GpuBuffer::from_f32(gpu, &x, "x").unwrap();
        let tb = GpuBuffer::from_f32(gpu, &table, "table").unwrap();
        let mut b = Batch::new(gpu);
        ops::rope(&mut b, &xb, 0, n, heads, hd, half, neox, &tb, 0, n * half).unwrap();
        let got = read_f32(gpu, b, &xb, x.len()).await;
        let e = max_rel(&got, &want);
        assert!(e < 1e-6, "rope neox={neox}: {e:e}");
    }
}

/// GELU (f16-rounded like ggml's table) and SiLU gating against `model::ops::geglu/swiglu`.
pub async fn glu_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(8);
    let n = 4096;
    let mut gate = rand_vec(&mut rng, n, 12.0);
    gate[0] = -10.0;
    gate[1] = 10.0;
    gate[2] = 0.0;
    let up = rand_vec(&mut rng, n, 2.0);
    for gelu in [true, false] {
        let mut want = gate.clone();
        if gelu {
            cpu_ops::geglu(&mut want, &up);
        } else {
            cpu_ops::swiglu(&mut want, &up);
        }
        let gb = GpuBuffer::from_f32(gpu, &gate, "gate").unwrap();
        let ub = GpuBuffer::from_f32(gpu, &up, "up").unwrap();
        let mut b = Batch::new(gpu);
        // Two calls meeting at an odd offset: `off` moves both inputs.
        let half = n / 2 + 1;
        ops::glu(&mut b, &gb, &ub, 0, half, gelu).unwrap();
        ops::glu(&mut b, &gb, &ub, half, n - half, gelu).unwrap();
        let got = read_f32(gpu, b, &gb, n).await;
        let e = max_rel(&got, &want);
        // GELU: the f16 rounding of a tanh that differs in its last bit can move a value by
        // one f16 step (2^-11 relative).
        let tol = if gelu { 1e-3 } else { 2e-6 };
        assert!(e < tol, "glu gelu={gelu}: {e:e}");
    }
}

/// Queries scaled and rounded to f16 exactly like `model::ops::round_to_f16`, ties included.
pub async fn f16_rounding_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(9);
    let mut x = rand_vec(&mut rng, 4096, 100.0);
    // Ties, subnormals, overflow, tiny values.
    x.extend_from_slice(&[
        1.0 + 1.0 / 2048.0,
        1.0 + 3.0 / 2048.0,
        6.0e-8,
        3.0e-8,
        2.9e-8,
        1.0e-5,
        65519.0,
        65520.0,
        -70000.0,
        0.0,
        -0.0,
    ]);
    let mut want = x.clone();
    cpu_ops::round_to_f16(&mut want);
    let xb = GpuBuffer::from_f32(gpu, &x, "x").unwrap();
    let mut b = Batch::new(gpu);
    ops::scale(&mut b, &xb, 0, x.len(), 1.0, true).unwrap();
    let got = read_f32(gpu, b, &xb, x.len()).await;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        // f16 subnormals may be flushed by the adapter's unpack; everything else is exact.
        let ok = g.to_bits() == w.to_bits() || (w.abs() < 6.2e-5 && *g == 0.0);
        assert!(ok, "value {i} ({}): {g:e} vs CPU {w:e}", x[i]);
    }
}

/// A bias added to every row (`add_rows`), against the CPU sum.
pub async fn bias_rows_match_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(13);
    let (rows, len, at) = (5, 24, 7);
    let y = rand_vec(&mut rng, 3 + rows * len, 2.0);
    let bias = rand_vec(&mut rng, at + len, 2.0);
    let mut want = y.clone();
    for r in 0..rows {
        for i in 0..len {
            want[3 + r * len + i] += bias[at + i];
        }
    }
    let yb = GpuBuffer::from_f32(gpu, &y, "y").unwrap();
    let bb = GpuBuffer::from_f32(gpu, &bias, "bias").unwrap();
    let mut b = Batch::new(gpu);
    ops::add_rows(&mut b, &bb, at, len, &yb, 3, rows * len).unwrap();
    let got = read_f32(gpu, b, &yb, y.len()).await;
    assert_eq!(got, want);
}

/// Causal GQA attention with a sliding window (and with a score soft-cap) over an f16 cache,
/// against an f64 reference computed from the same f16-rounded keys and values.
pub async fn attention_matches_reference(gpu: &Gpu) {
    let mut rng = Rng::new(10);
    let (n_head, n_head_kv, hd) = (4, 2, 32);
    let group = n_head / n_head_kv;
    let (p0, n) = (9, 6);
    let n_kv = p0 + n;
    for (window, softcap) in [(0usize, 0.0f32), (5, 0.0), (0, 1.5)] {
        let d = AttnDims {
            n_head,
            n_head_kv,
            head_dim: hd,
            head_dim_v: hd,
            window,
            kq_scale: 0.3,
            softcap,
        };
        let kd = n_head_kv * hd;
        let keys = rand_vec(&mut rng, n_kv * kd, 1.0);
        let vals = rand_vec(&mut rng, n_kv * kd, 1.0);
        let q = rand_vec(&mut rng, n * n_head * hd, 1.0);
        let kc = GpuBuffer::zeros(gpu, n_kv * kd / 2, "kc").unwrap();
        let vc = GpuBuffer::zeros(gpu, n_kv * kd / 2, "vc").unwrap();
        let kb = GpuBuffer::from_f32(gpu, &keys, "k").unwrap();
        let vb = GpuBuffer::from_f32(gpu, &vals, "v").unwrap();
        let qb = GpuBuffer::from_f32(gpu, &q, "q").unwrap();
        let sb = GpuBuffer::zeros(gpu, n * n_head * n_kv, "scores").unwrap();
        let ob = GpuBuffer::zeros(gpu, n * n_head * hd, "out").unwrap();
        let mut b = Batch::new(gpu);
        // All positions' keys in one store (as a prefill of p0 + n tokens would).
        ops::kv_store(&mut b, &d, &kb, &vb, n_kv, 0, &kc, &vc).unwrap();
        ops::attention(&mut b, &d, &qb, &kc, &vc, n, p0, &sb, &ob).unwrap();
        let got = read_f32(gpu, b, &ob, n * n_head * hd).await;
        let r16 = |v: f32| f64::from(half::f16::from_f32(v).to_f32());
        let mut want = vec![0f32; n * n_head * hd];
        for t in 0..n {
            let pos = p0 + t;
            let first = if window > 0 {
                (pos + 1).saturating_sub(window)
            } else {
                0
            };
            for h in 0..n_head {
                let g = h / group;
                let qh = &q[(t * n_head + h) * hd..][..hd];
                let sc: Vec<f64> = (first..=pos)
                    .map(|j| {
                        let k = &keys[j * kd + g * hd..][..hd];
                        let s = qh
                            .iter()
                            .zip(k)
                            .map(|(&a, &b)| f64::from(a) * r16(b))
                            .sum::<f64>();
                        // Capped before the scaling (llama.cpp's order).
                        0.3 * if softcap > 0.0 {
                            f64::from(softcap) * (s / f64::from(softcap)).tanh()
                        } else {
                            s
                        }
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = sc.iter().map(|s| (s - m).exp()).sum();
                for dd in 0..hd {
                    let o: f64 = (first..=pos)
                        .zip(&sc)
                        .map(|(j, s)| (s - m).exp() / z * r16(vals[j * kd + g * hd + dd]))
                        .sum();
                    want[(t * n_head + h) * hd + dd] = o as f32;
                }
            }
        }
        let e = max_rel(&got, &want);
        assert!(
            e < 1e-5,
            "attention window={window} softcap={softcap}: {e:e}"
        );
    }
}

/// Greedy argmax over a vocabulary-sized vector: ties go to the lowest index, NaN never wins.
pub async fn argmax_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(12);
    let n = 262_144 + 17;
    let mut x = rand_vec(&mut rng, n, 5.0);
    x[1000] = f32::NAN;
    x[200_000] = 9.0;
    x[150_000] = 9.0;
    x[5] = f32::NAN;
    let xb = GpuBuffer::from_f32(gpu, &x, "logits").unwrap();
    let pb = GpuBuffer::zeros(gpu, 2 * n.div_ceil(4096), "partials").unwrap();
    let rb = GpuBuffer::zeros(gpu, 2, "result").unwrap();
    let mut b = Batch::new(gpu);
    ops::argmax(&mut b, &xb, 0, n, &pb, &rb, 1).unwrap();
    let i = b.read(&rb, 0, 8);
    let out = b.submit().unwrap().wait().await.unwrap();
    let got = u32::from_le_bytes(out[i][4..8].try_into().unwrap());
    assert_eq!(got, wasm_chord::sampler::argmax(&x).unwrap());
    assert_eq!(got, 150_000);
}

/// Embedding rows straight from a quantized (and split) table, scaled, against the CPU's
/// dequantized rows.
pub async fn embed_matches_cpu(gpu: &Gpu) {
    let mut rng = Rng::new(13);
    let (ty, rows, cols) = (GgmlType::Q8_0, 97, 640);
    let w = random_weights(&mut rng, ty, rows, cols, false);
    let m = GpuMatrix::upload(gpu, "token_embd", ty, rows, cols, &w).unwrap();
    let toks = [3u32, 96, 0, 50, 3];
    let tb = GpuBuffer::zeros(gpu, toks.len(), "tokens").unwrap();
    tb.write_u32(gpu, 0, &toks);
    let yb = GpuBuffer::zeros(gpu, toks.len() * cols, "y").unwrap();
    let mut b = Batch::new(gpu);
    ops::embed(&mut b, &m, &tb, toks.len(), 25.3, &yb, 0).unwrap();
    let got = read_f32(gpu, b, &yb, toks.len() * cols).await;
    let rb = cols / 32 * 34;
    for (t, &tok) in toks.iter().enumerate() {
        let mut want = vec![0f32; cols];
        quant::dequantize(ty, &w[tok as usize * rb..][..rb], &mut want).unwrap();
        cpu_ops::scale(&mut want, 25.3);
        assert_eq!(&got[t * cols..(t + 1) * cols], &want[..], "token {tok}");
    }
}

/// Activations rounded as the CPU quantizes them (Q8_0 for 32-blocks, Q8_K for K-quants),
/// against the CPU quantizers followed by the reference dequantization.
pub async fn activation_rounding_matches_cpu(gpu: &Gpu) {
    use wasm_chord::quant::reference::quantize;
    let mut rng = Rng::new(14);
    let (n, cols) = (3, 512);
    let mut x = rand_vec(&mut rng, n * cols, 4.0);
    x[40..72].fill(0.0);
    x[300] = 55.0;
    let xb = GpuBuffer::from_f32(gpu, &x, "x").unwrap();
    for (weight, act) in [
        (GgmlType::Q5_0, GgmlType::Q8_0),
        (GgmlType::Q4_K, GgmlType::Q8_K),
    ] {
        let mut b = Batch::new(gpu);
        let yb = GpuBuffer::zeros(gpu, n * cols + n * cols / 32, "y").unwrap();
        assert!(ops::quantize_activations(&mut b, weight, &xb, 0, n, cols, &yb, n * cols).unwrap());
        let got = read_f32(gpu, b, &yb, n * cols).await;
        let bytes: Vec<u8> = if act == GgmlType::Q8_0 {
            bytemuck::cast_slice(&quantize::quantize_q8_0_vec(&x).unwrap()).to_vec()
        } else {
            bytemuck::cast_slice(&quantize::quantize_q8_k_vec(&x).unwrap()).to_vec()
        };
        let mut want = vec![0f32; n * cols];
        quant::dequantize(act, &bytes, &mut want).unwrap();
        // WGSL division is only within 2.5 ULP: a scale may differ in its last bit (so every
        // value of that block by about 1e-7 relative), and a value a hair from a rounding
        // boundary may land one quantum apart. Anything else is a bug.
        let block = if act == GgmlType::Q8_0 { 32 } else { 256 };
        let mut off_by_quantum = 0;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let blk = &want[i / block * block..][..block];
            let quantum = blk.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            let err = (g - w).abs();
            if err > 1e-6 * w.abs() {
                assert!(
                    err <= 1.01 * quantum,
                    "{act}: value {i}: {g} vs CPU {w} (quantum {quantum})"
                );
                off_by_quantum += 1;
            }
        }
        assert!(
            off_by_quantum <= n * cols / 200,
            "{act}: {off_by_quantum} values a quantum apart"
        );
    }
    // Float weights take the activations as they are.
    let mut b = Batch::new(gpu);
    let yb = GpuBuffer::zeros(gpu, 1, "y").unwrap();
    assert!(!ops::quantize_activations(&mut b, GgmlType::F16, &xb, 0, 1, cols, &yb, 0).unwrap());
}

/// Q4_1/Q5_1 matmuls on quantized activations compute ggml's dot: q·d·x per block plus the
/// block min times the activation block's Q8_1 sum `f16(Σq · d)`, not the min times the sum
/// of the dequantized activations. The reference is the CPU's `vec_dot` on `Activation::Q8_1`
/// (checked against ggml in tests/quant_reference.rs); the GEMV (n ≤ 4) and the GEMM both.
pub async fn q8_1_matmuls_match_ggml_dot(gpu: &Gpu) {
    use wasm_chord::quant::reference::{quantize_activation, vec_dot};
    let mut rng = Rng::new(16);
    let (rows, cols) = (37, 256);
    for ty in [GgmlType::Q4_1, GgmlType::Q5_1] {
        for n in [1usize, 3, 40] {
            let w = random_weights(&mut rng, ty, rows, cols, false);
            // Positive offsets make Σx large, so the min term carries weight.
            let x: Vec<f32> = (0..n * cols).map(|_| 1.5 + rng.unit() * 2.0).collect();
            let m = GpuMatrix::upload(gpu, "w", ty, rows, cols, &w).unwrap();
            let xb = GpuBuffer::from_f32(gpu, &x, "x").unwrap();
            let xq = GpuBuffer::zeros(gpu, n * cols + n * cols / 32, "xq").unwrap();
            let (y, y_plain) = (
                GpuBuffer::zeros(gpu, n * rows, "y").unwrap(),
                GpuBuffer::zeros(gpu, n * rows, "y plain").unwrap(),
            );
            let mut b = Batch::new(gpu);
            assert!(ops::quantize_activations(&mut b, ty, &xb, 0, n, cols, &xq, n * cols).unwrap());
            ops::matmul(
                &mut b,
                &m,
                Rows::quantized(&xq, cols, n * cols),
                Rows::new(&y, 0, rows),
                n,
            )
            .unwrap();
            // The same activations without their sums: the min times Σ dequantized x.
            ops::matmul(
                &mut b,
                &m,
                Rows::new(&xq, 0, cols),
                Rows::new(&y_plain, 0, rows),
                n,
            )
            .unwrap();
            let got = read_f32(gpu, b, &y, n * rows).await;
            let mut b = Batch::new(gpu);
            let i = b.read(&y_plain, 0, (4 * n * rows) as u64);
            let plain: Vec<f32> =
                bytemuck::cast_slice(&b.submit().unwrap().wait().await.unwrap()[i]).to_vec();
            let row_bytes = w.len() / rows;
            let (mut worst, mut worst_plain) = (0f32, 0f32);
            for t in 0..n {
                let act = quantize_activation(ty, &x[t * cols..(t + 1) * cols]).unwrap();
                for r in 0..rows {
                    let want = vec_dot(
                        ty,
                        &w[r * row_bytes..(r + 1) * row_bytes],
                        act.as_activation(),
                    )
                    .unwrap();
                    let scale = want.abs().max(1.0);
                    worst = worst.max((got[t * rows + r] - want).abs() / scale);
                    worst_plain = worst_plain.max((plain[t * rows + r] - want).abs() / scale);
                }
            }
            eprintln!("{ty} n={n}: max relative error vs ggml's dot {worst:.2e} (without the Q8_1 sums {worst_plain:.2e})");
            // f32 sums in another order: a few ULP of the row's magnitude.
            assert!(
                worst < 5e-5,
                "{ty} n={n}: relative error {worst} vs ggml's dot"
            );
            assert!(worst_plain > 10.0 * worst, "{ty} n={n}: without sums {worst_plain}, with {worst}: the check must see the min term");
        }
    }
}

/// GPU top-k against a full sort by (value desc, index asc), with ties, NaN and −∞ present.
pub async fn top_k_matches_sort(gpu: &Gpu) {
    let mut rng = Rng::new(15);
    let n = 262_144 + 5;
    let mut x = rand_vec(&mut rng, n, 10.0);
    x[7] = f32::NAN;
    x[99] = f32::NEG_INFINITY;
    x[100] = f32::INFINITY;
    for i in [5000, 70_000, 262_000] {
        x[i] = 12.0;
    }
    let xb = GpuBuffer::from_f32(gpu, &x, "logits").unwrap();
    for k in [1usize, 40, 64] {
        let rb = GpuBuffer::zeros(gpu, 2 * k, "top-k").unwrap();
        let mut b = Batch::new(gpu);
        ops::top_k(&mut b, &xb, 0, n, k, &rb).unwrap();
        let i = b.read(&rb, 0, (8 * k) as u64);
        let out = b.submit().unwrap().wait().await.unwrap();
        let words: Vec<u32> = bytemuck::pod_collect_to_vec(&out[i]);
        let got: Vec<(f32, u32)> = words
            .chunks(2)
            .map(|c| (f32::from_bits(c[0]), c[1]))
            .collect();
        let mut want: Vec<(f32, u32)> = x
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (v, i as u32))
            .collect();
        want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        want.truncate(k);
        assert_eq!(got, want, "k = {k}");
    }
    let mut b = Batch::new(gpu);
    let rb = GpuBuffer::zeros(gpu, 200, "top-k").unwrap();
    assert_eq!(
        ops::top_k(&mut b, &xb, 0, n, 65, &rb).unwrap_err().code(),
        "INVALID_OPTION"
    );
}

#[macro_export]
macro_rules! gpu_op_tests {
    ($runner:ident) => {
        $runner!(gpu_ops, rms_norm_matches_cpu);
        $runner!(gpu_ops, rope_matches_cpu);
        $runner!(gpu_ops, glu_matches_cpu);
        $runner!(gpu_ops, f16_rounding_matches_cpu);
        $runner!(gpu_ops, attention_matches_reference);
        $runner!(gpu_ops, bias_rows_match_cpu);
        $runner!(gpu_ops, argmax_matches_cpu);
        $runner!(gpu_ops, embed_matches_cpu);
        $runner!(gpu_ops, activation_rounding_matches_cpu);
        $runner!(gpu_ops, q8_1_matmuls_match_ggml_dot);
        $runner!(gpu_ops, top_k_matches_sort);
    };
}
