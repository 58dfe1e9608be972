//! The CPU products on every weight tensor kind of the real Gemma 3 270M file (full tensors,
//! including the 262144×640 output head), against dequantize-then-f64: NMSE ≤ 5e-4 (ggml's
//! test-backend-ops bound; the error is the activation quantization). Natively `cpu::matmul`
//! is the scalar reference; the SIMD kernels meet the same oracle in node_kernels/web_kernels
//! on real blocks from this file (tests/fixtures/kernels/).

// Native only: reads the model file.
#![cfg(not(target_arch = "wasm32"))]

mod support;
use support::gemma_path;

use std::collections::BTreeSet;

use wasm_chord::cpu;
use wasm_chord::gguf::GgufFile;
use wasm_chord::quant::{reference, GgmlType};

use gemma_path::gemma_path as model_path;

#[test]
fn every_tensor_kind_matches_dequantized_f64() {
    let bytes = std::fs::read(model_path()).unwrap();
    let file = GgufFile::parse(&bytes).unwrap();
    let mut seen = BTreeSet::new();
    let n = 2;
    for t in file.tensors() {
        let info = t.info;
        if info.dims.len() != 2 || !info.ty.is_quantized() {
            continue;
        }
        let (cols, rows) = (info.dims[0] as usize, info.dims[1] as usize);
        // One tensor per (type, shape).
        if !seen.insert((info.ty.name(), cols, rows)) {
            continue;
        }
        let x: Vec<f32> = (0..n)
            .flat_map(|t| (0..cols).map(move |i| (0.1 + 2.0 * ((i + t) as f64).cos()) as f32))
            .collect();
        let act = cpu::quantize_activations(info.ty, &x, n).unwrap();
        let mut out = vec![0f32; n * rows];
        cpu::matmul(info.ty, t.bytes, rows, cols, &act, &mut out).unwrap();
        let row_bytes = t.bytes.len() / rows;
        let mut deq = vec![0f32; cols];
        let (mut err, mut norm) = (0f64, 0f64);
        for (r, row) in t.bytes.chunks_exact(row_bytes).enumerate() {
            reference::dequantize(info.ty, row, &mut deq).unwrap();
            for tok in 0..n {
                let want: f64 = deq
                    .iter()
                    .zip(&x[tok * cols..][..cols])
                    .map(|(&w, &v)| f64::from(w) * f64::from(v))
                    .sum();
                err += (f64::from(out[tok * rows + r]) - want).powi(2);
                norm += want * want;
            }
        }
        let nmse = err / norm;
        eprintln!("{} {}: {cols}→{rows} NMSE {nmse:.2e}", t.name(), info.ty);
        assert!(nmse <= 5e-4, "{}: NMSE {nmse:e}", t.name());
    }
    let kinds: BTreeSet<_> = seen.iter().map(|k| k.0).collect();
    for ty in [
        GgmlType::Q8_0,
        GgmlType::Q5_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ] {
        assert!(kinds.contains(ty.name()), "no {ty} tensor checked");
    }
}
