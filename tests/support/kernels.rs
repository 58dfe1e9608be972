//! Kernel tests shared by the wasm runners (tests/node_kernels.rs under Node, tests/web_kernels.rs
//! in headless Chromium) and the native runner (tests/cpu_kernels.rs). In wasm, `cpu::matmul`
//! runs the SIMD128 kernels and `cpu::matmul_reference` the scalar reference; natively both
//! are the reference, so there these tests check the dispatch, validation and the oracle.
//!
//! `kernel_tests!(attr)` expands every test below into a function carrying `#[attr]`.

#![allow(dead_code)]

use wasm_chord::cpu::{self, Activations};
use wasm_chord::quant::blocks::{BlockQ8K, BlockQ8_0};
use wasm_chord::quant::reference;
use wasm_chord::quant::{GgmlType, QK32, QK_K};
use wasm_chord::Error;

/// xorshift64*: deterministic, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    /// A finite f16 bit pattern (any sign, exponent < 31: normals, subnormals, zeros).
    pub fn finite_f16(&mut self) -> [u8; 2] {
        let mut h = (self.next_u64() >> 48) as u16;
        if h & 0x7c00 == 0x7c00 {
            h &= !0x4000;
        }
        h.to_le_bytes()
    }
    /// A "typical" scale: small positive or negative f16.
    pub fn scale_f16(&mut self) -> [u8; 2] {
        half::f16::from_f32(self.unit() * 0.02)
            .to_bits()
            .to_le_bytes()
    }
}

/// Byte offsets of the f16 scale fields inside a block (ggml-common.h).
fn scale_fields(ty: GgmlType) -> &'static [usize] {
    use GgmlType as T;
    match ty {
        T::Q4_0 | T::Q5_0 | T::Q8_0 => &[0],
        T::Q4_1 | T::Q5_1 | T::Q4_K | T::Q5_K => &[0, 2],
        T::Q2_K => &[80, 82],
        T::Q3_K => &[108],
        T::Q6_K => &[208],
        _ => &[],
    }
}

/// Random weights: random quant bytes; scales random finite f16 (`wild`: any finite bit
/// pattern including subnormals and huge values) or typical small ones.
pub fn random_weights(
    rng: &mut Rng,
    ty: GgmlType,
    rows: usize,
    cols: usize,
    wild: bool,
) -> Vec<u8> {
    let nb = rows * cols / ty.block_len();
    let bb = ty.block_bytes();
    let mut w = vec![0u8; nb * bb];
    match ty {
        GgmlType::F32 => {
            for c in w.chunks_exact_mut(4) {
                c.copy_from_slice(&(rng.unit() * 3.0).to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for c in w.chunks_exact_mut(2) {
                let b = if wild {
                    rng.finite_f16()
                } else {
                    half::f16::from_f32(rng.unit()).to_bits().to_le_bytes()
                };
                c.copy_from_slice(&b);
            }
        }
        GgmlType::BF16 => {
            for c in w.chunks_exact_mut(2) {
                c.copy_from_slice(&((rng.unit().to_bits() >> 16) as u16).to_le_bytes());
            }
        }
        _ => {
            for b in w.iter_mut() {
                *b = rng.byte();
            }
            for blk in w.chunks_exact_mut(bb) {
                for &off in scale_fields(ty) {
                    let s = if wild {
                        rng.finite_f16()
                    } else {
                        rng.scale_f16()
                    };
                    blk[off..off + 2].copy_from_slice(&s);
                }
            }
        }
    }
    w
}

/// ggml's test vector `0.1 + 2·cos(i + t)`, row t of n.
pub fn test_activations(cols: usize, n: usize) -> Vec<f32> {
    (0..n)
        .flat_map(|t| (0..cols).map(move |i| (0.1 + 2.0 * ((i + t) as f64).cos()) as f32))
        .collect()
}

pub fn random_activations(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let scale = [1e-3f32, 0.1, 1.0, 30.0][i / 256 % 4];
            rng.unit() * scale
        })
        .collect()
}

/// Bitwise equality, NaN equal to NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `cpu::matmul` against `cpu::matmul_reference`. Quantized types must agree bit for bit
/// (the kernels add the same block terms in the same order); float types, whose SIMD sums
/// run in f64 lanes, within 1e-6 relative of Σ|w·x|.
pub fn check_against_reference(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    x: &[f32],
    n: usize,
    what: &str,
) {
    let act = cpu::quantize_activations(ty, x, n).unwrap();
    let mut got = vec![f32::NAN; n * rows];
    let mut want = vec![f32::NAN; n * rows];
    cpu::matmul(ty, w, rows, cols, &act, &mut got).unwrap();
    cpu::matmul_reference(ty, w, rows, cols, &act, &mut want).unwrap();
    for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
        let ok = if ty.is_quantized() {
            same(g, r)
        } else {
            let (t, row) = (i / rows, i % rows);
            let mut deq = vec![0f32; cols];
            reference::dequantize(
                ty,
                &w[row * cols * ty.block_bytes()..][..cols * ty.block_bytes()],
                &mut deq,
            )
            .unwrap();
            let mag: f64 = deq
                .iter()
                .zip(&x[t * cols..][..cols])
                .map(|(a, b)| f64::from(a * b).abs())
                .sum();
            same(g, r) || f64::from(g - r).abs() <= 1e-6 * mag.max(f64::MIN_POSITIVE)
        };
        assert!(ok, "{what}: {ty} rows={rows} cols={cols} n={n}: output {i} (token {}, row {}) = {g:e}, reference {r:e}", i / rows, i % rows);
    }
}

// ---- activation quantizers ----------------------------------------------------------------

/// Inputs that exercise rounding: ties under d = 1 (max 127), zeros, tiny and huge scales.
fn quantizer_inputs(rng: &mut Rng, len: usize) -> Vec<f32> {
    let mut x = random_activations(rng, len);
    // One 256-block of exact halves with max 127: ties for both roundings.
    if len >= 256 {
        for (i, v) in x[..256].iter_mut().enumerate() {
            *v = (i % 254) as f32 - 126.5;
        }
        x[0] = 127.0;
    }
    // An all-zero block and a single-value block.
    if len >= 768 {
        x[256..512].fill(0.0);
        x[512..768].fill(0.0);
        x[600] = -3.25;
    }
    x
}

pub fn quantize_q8_0_matches_reference() {
    let mut rng = Rng::new(1);
    for len in [32, 64, 256, 1024, 2048 + 32, 4096] {
        let x = quantizer_inputs(&mut rng, len);
        let mut got = vec![
            BlockQ8_0 {
                d: [0; 2],
                qs: [0; 32]
            };
            len / QK32
        ];
        let mut want = got.clone();
        cpu::quantize_q8_0(&x, &mut got).unwrap();
        reference::quantize_q8_0(&x, &mut want).unwrap();
        for (b, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "len {len} block {b}");
        }
    }
}

pub fn quantize_q8_k_matches_reference() {
    let mut rng = Rng::new(2);
    for len in [256, 512, 1024, 2048, 4096] {
        let x = quantizer_inputs(&mut rng, len);
        let zero = BlockQ8K {
            d: 0.0,
            qs: [0; 256],
            bsums: [0; 16],
        };
        let mut got = vec![zero; len / QK_K];
        let mut want = got.clone();
        cpu::quantize_q8_k(&x, &mut got).unwrap();
        reference::quantize_q8_k(&x, &mut want).unwrap();
        for (b, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.d.to_bits(), w.d.to_bits(), "len {len} block {b} d");
            assert_eq!(g.qs, w.qs, "len {len} block {b} qs");
            assert_eq!(g.bsums, w.bsums, "len {len} block {b} bsums");
        }
    }
}

pub fn activations_hold_every_row() {
    let mut rng = Rng::new(3);
    let (n, k) = (3, 512);
    let x = quantizer_inputs(&mut rng, n * k);
    let a = cpu::quantize_activations(GgmlType::Q5_0, &x, n).unwrap();
    assert_eq!((a.ty(), a.n(), a.k()), (Some(GgmlType::Q8_0), n, k));
    assert_eq!(
        a.q8_0(),
        reference::quantize_q8_0_vec(&x).unwrap().as_slice()
    );
    let a = cpu::quantize_activations(GgmlType::Q6_K, &x, n).unwrap();
    assert_eq!((a.ty(), a.n(), a.k()), (Some(GgmlType::Q8_K), n, k));
    assert_eq!(
        a.q8_k(),
        reference::quantize_q8_k_vec(&x).unwrap().as_slice()
    );
    let a = cpu::quantize_activations(GgmlType::F16, &x, n).unwrap();
    assert_eq!((a.ty(), a.f32()), (Some(GgmlType::F32), x.as_slice()));
}

// ---- products on random blocks --------------------------------------------------------------

pub fn matmul_random_blocks_match_reference() {
    let mut rng = Rng::new(4);
    for ty in GgmlType::weight_types() {
        let bl = ty.block_len().max(8);
        for (rows, nblk) in [(1, 1), (3, 2), (4, 3), (5, 5), (9, 20), (13, 8)] {
            let cols = if ty.is_quantized() {
                nblk * ty.block_len()
            } else {
                nblk * bl + 3
            };
            let w = random_weights(&mut rng, ty, rows, cols, false);
            for n in [1, 2, 3, 5] {
                let x = random_activations(&mut rng, n * cols);
                check_against_reference(ty, &w, rows, cols, &x, n, "random blocks");
            }
        }
    }
}

/// Any finite f16 scale, including subnormal and huge ones, and (for F16) every class of
/// value: the kernels' own f16 conversion must agree with the reference's.
pub fn matmul_wild_scales_match_reference() {
    let mut rng = Rng::new(5);
    for ty in GgmlType::weight_types() {
        let cols = if ty.is_quantized() {
            2 * ty.block_len()
        } else {
            40
        };
        let rows = 7;
        let w = random_weights(&mut rng, ty, rows, cols, true);
        for n in [1, 2] {
            let x = random_activations(&mut rng, n * cols);
            check_against_reference(ty, &w, rows, cols, &x, n, "wild scales");
        }
    }
}

/// Every f16 bit pattern through the F16 kernels (SIMD lanes and the scalar tail), against
/// unit activations so each output is exactly one weight.
pub fn f16_weights_every_bit_pattern() {
    for cols in [8usize, 1] {
        let rows = 65536 / cols;
        let w: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
        let n = cols;
        let x: Vec<f32> = (0..n * cols)
            .map(|i| if i % cols == i / cols { 1.0 } else { 0.0 })
            .collect();
        check_against_reference(GgmlType::F16, &w, rows, cols, &x, n, "f16 bit patterns");
    }
}

// ---- products on real blocks, and the independent oracle ----------------------------------

pub struct Fixture {
    pub name: &'static str,
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub n: usize,
    pub weights: &'static [u8],
    /// `dequantize(W) · x_t` in f64 by gguf-py, token-major.
    pub expected: Vec<f64>,
}

macro_rules! fixture_files {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kernels/", $name, ".bin")) as &'static [u8])),*]
    };
}

pub fn fixtures() -> Vec<Fixture> {
    let files = fixture_files![
        "gemma_q8_0_attn_v",
        "gemma_q8_0_token_embd",
        "gemma_q5_0_ffn_up",
        "gemma_q5_0_attn_k",
        "gemma_q4_k_attn_output",
        "gemma_q4_k_ffn_down",
        "gemma_q6_k_ffn_down",
        "random_q4_0",
        "random_q4_1",
        "random_q5_1",
        "random_q2_k",
        "random_q3_k",
        "random_q5_k",
        "random_f16",
        "random_f32",
    ];
    files
        .iter()
        .map(|&(name, bytes)| {
            let u =
                |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()) as usize;
            let (id, rows, cols, n, wlen) = (u(0), u(1), u(2), u(3), u(4));
            let ty = match GgmlType::lookup(id as u32) {
                wasm_chord::quant::TypeLookup::Supported(t) => t,
                other => panic!("{name}: type id {id}: {other:?}"),
            };
            let weights = &bytes[20..20 + wlen];
            let expected: Vec<f64> = bytes[20 + wlen..]
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect();
            assert_eq!(expected.len(), n * rows, "{name}");
            Fixture {
                name,
                ty,
                rows,
                cols,
                n,
                weights,
                expected,
            }
        })
        .collect()
}

pub fn nmse(got: &[f32], want: &[f64]) -> f64 {
    let err: f64 = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - w).powi(2))
        .sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    err / norm
}

pub fn real_blocks_match_reference() {
    for f in fixtures() {
        let x = test_activations(f.cols, f.n);
        for n in 1..=f.n {
            check_against_reference(f.ty, f.weights, f.rows, f.cols, &x[..n * f.cols], n, f.name);
        }
        // Ragged: the first rows only, and a prefix of each row's blocks.
        let rows = f.rows - 1;
        check_against_reference(
            f.ty,
            &f.weights[..rows * f.weights.len() / f.rows],
            rows,
            f.cols,
            &x,
            f.n,
            f.name,
        );
    }
}

/// The products against gguf-py's dequantization in f64: NMSE ≤ 5e-4 (ggml's
/// test-backend-ops bound). The error is the activation quantization (Q8_0 / Q8_K).
pub fn real_blocks_match_independent_oracle() {
    for f in fixtures() {
        let x = test_activations(f.cols, f.n);
        let act = cpu::quantize_activations(f.ty, &x, f.n).unwrap();
        let mut out = vec![0f32; f.n * f.rows];
        cpu::matmul(f.ty, f.weights, f.rows, f.cols, &act, &mut out).unwrap();
        let e = nmse(&out, &f.expected);
        assert!(e <= 5e-4, "{}: NMSE {e:e} > 5e-4", f.name);
        // The decode path (one row at a time) too.
        let act1 = cpu::quantize_activations(f.ty, &x[..f.cols], 1).unwrap();
        let mut out1 = vec![0f32; f.rows];
        cpu::matvec(f.ty, f.weights, f.rows, f.cols, &act1, &mut out1).unwrap();
        assert_eq!(out1, out[..f.rows], "{}: matvec vs matmul row 0", f.name);
    }
}

/// llama.cpp's own fused `vec_dot` (ggml's x86 SIMD kernels and activation quantizers,
/// scripts/fixtures/make_ggml_fixtures.sh) on the same rows, token-major f32.
fn ggml_results(name: &str) -> Option<Vec<f32>> {
    macro_rules! ggml_files {
        ($($n:literal),* $(,)?) => {
            [$(($n, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kernels/", $n, ".ggml")) as &'static [u8])),*]
        };
    }
    let files = ggml_files![
        "gemma_q8_0_attn_v",
        "gemma_q8_0_token_embd",
        "gemma_q5_0_ffn_up",
        "gemma_q5_0_attn_k",
        "gemma_q4_k_attn_output",
        "gemma_q4_k_ffn_down",
        "gemma_q6_k_ffn_down",
        "random_q4_0",
        "random_q4_1",
        "random_q5_1",
        "random_q2_k",
        "random_q3_k",
        "random_q5_k",
    ];
    files.iter().find(|f| f.0 == name).map(|f| {
        f.1.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    })
}

/// Against llama.cpp's own `vec_dot`: the same integer math on slightly different activation
/// quants (ggml's x86 quantizer rounds Q8_0 ties to even, and Q4_1/Q5_1 use Q8_1 with an f16
/// sum) and a different float summation order, so the results agree to float rounding of the
/// output scale, not bit for bit.
pub fn real_blocks_match_ggml_vec_dot() {
    let mut checked = 0;
    for f in fixtures() {
        let Some(want) = ggml_results(f.name) else {
            continue;
        };
        assert_eq!(want.len(), f.n * f.rows, "{}", f.name);
        let x = test_activations(f.cols, f.n);
        let act = cpu::quantize_activations(f.ty, &x, f.n).unwrap();
        let mut got = vec![0f32; f.n * f.rows];
        cpu::matmul(f.ty, f.weights, f.rows, f.cols, &act, &mut got).unwrap();
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs() / scale)
            .fold(0f32, f32::max);
        // Measured: ~1e-7 (float rounding only) with Q8_0 / Q8_K activations, 1.3e-5 for
        // Q4_1 whose Q8_1 activation sum ggml rounds to f16.
        let bound = if matches!(f.ty, GgmlType::Q4_1 | GgmlType::Q5_1) {
            5e-5
        } else {
            2e-6
        };
        assert!(
            worst <= bound,
            "{}: max |ours − ggml| / max|ggml| = {worst:e} > {bound:e}",
            f.name
        );
        checked += 1;
    }
    assert_eq!(checked, 13);
}

// ---- argument validation ------------------------------------------------------------------

pub fn bad_arguments_are_typed_errors() {
    let mut rng = Rng::new(6);
    let (rows, cols) = (4, 64);
    let w = random_weights(&mut rng, GgmlType::Q8_0, rows, cols, false);
    let x = random_activations(&mut rng, cols);
    let act = cpu::quantize_activations(GgmlType::Q8_0, &x, 1).unwrap();
    let mut out = vec![0f32; rows];
    // Wrong activation format.
    let act_k =
        cpu::quantize_activations(GgmlType::Q4_K, &random_activations(&mut rng, 256), 1).unwrap();
    let e = cpu::matmul(GgmlType::Q8_0, &w, rows, cols, &act_k, &mut out).unwrap_err();
    assert_eq!(e.code(), "TYPE_ROLE", "{e}");
    // Weights of the wrong length, and not whole blocks.
    let e = cpu::matmul(
        GgmlType::Q8_0,
        &w[..w.len() - 34],
        rows,
        cols,
        &act,
        &mut out,
    )
    .unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    let e = cpu::matmul(
        GgmlType::Q8_0,
        &w[..w.len() - 1],
        rows,
        cols,
        &act,
        &mut out,
    )
    .unwrap_err();
    assert!(matches!(e, Error::PartialBlock { .. }), "{e}");
    // Output of the wrong length.
    let e = cpu::matmul(GgmlType::Q8_0, &w, rows, cols, &act, &mut out[..3]).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    // Columns that are not whole blocks.
    let e = cpu::quantize_activations(GgmlType::Q8_0, &x[..40], 1).unwrap_err();
    assert_eq!(e.code(), "PARTIAL_BLOCK", "{e}");
    let e = cpu::quantize_activations(GgmlType::Q6_K, &x, 1).unwrap_err();
    assert_eq!(e.code(), "PARTIAL_BLOCK", "{e}");
    // Activations that do not split into n rows; matvec with two rows.
    let e = cpu::quantize_activations(GgmlType::Q8_0, &x, 3).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    let act2 =
        cpu::quantize_activations(GgmlType::Q8_0, &random_activations(&mut rng, 2 * cols), 2)
            .unwrap();
    let mut out2 = vec![0f32; 2 * rows];
    assert!(cpu::matvec(GgmlType::Q8_0, &w, rows, cols, &act2, &mut out2).is_err());
    assert!(cpu::matmul(GgmlType::Q8_0, &w, rows, cols, &act2, &mut out2).is_ok());
    // Q8_K is not a weight type; an empty Activations has no type.
    assert_eq!(
        cpu::activation_type(GgmlType::Q8_K).unwrap_err().code(),
        "TYPE_ROLE"
    );
    let e = cpu::matmul(
        GgmlType::Q8_0,
        &w,
        rows,
        cols,
        &Activations::new(),
        &mut out,
    )
    .unwrap_err();
    assert_eq!(e.code(), "TYPE_ROLE", "{e}");
}

#[allow(unused_macros)]
macro_rules! kernel_tests {
    ($attr:path) => {
        kernel_tests!(@each $attr;
            quantize_q8_0_matches_reference,
            quantize_q8_k_matches_reference,
            activations_hold_every_row,
            matmul_random_blocks_match_reference,
            matmul_wild_scales_match_reference,
            f16_weights_every_bit_pattern,
            real_blocks_match_reference,
            real_blocks_match_independent_oracle,
            real_blocks_match_ggml_vec_dot,
            bad_arguments_are_typed_errors,
            f32_ops_match_reference,
            rope_matches_reference,
        );
    };
    (@each $attr:path; $($name:ident),* $(,)?) => {
        $(
            #[$attr]
            fn $name() {
                support::kernels::$name();
            }
        )*
    };
}

// ---- f32 ops ------------------------------------------------------------------------------

fn close(got: f32, want: f64, rel: f64, abs: f64) -> bool {
    (f64::from(got) - want).abs() <= rel * want.abs() + abs
}

fn op_inputs(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| rng.unit() * [0.01f32, 1.0, 8.0, 40.0][i % 4])
        .collect()
}

/// The forward pass's f32 ops (`model::ops`, SIMD128 on wasm32) against f64 formulas.
pub fn f32_ops_match_reference() {
    use wasm_chord::model::ops;
    let mut rng = Rng::new(7);
    for n in [1usize, 3, 4, 7, 64, 257, 640, 2048] {
        let a = op_inputs(&mut rng, n);
        let b = op_inputs(&mut rng, n);
        let w: Vec<f32> = (0..n).map(|_| 1.0 + rng.unit()).collect();
        // dot: same products, sums in another order.
        let mag: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
        let want: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        let got = ops::dot(&a, &b);
        assert!(
            close(got, want, 1e-6, 1e-6 * mag),
            "dot n={n}: {got} vs {want}"
        );
        // axpy: one rounding per element.
        let mut y = b.clone();
        ops::axpy(&mut y, 0.37, &a);
        for i in 0..n {
            let e = f64::from(b[i]) + 0.37f64 * f64::from(a[i]);
            assert!(
                close(y[i], e, 1e-6, 1e-6 * f64::from(a[i]).abs()),
                "axpy n={n} [{i}]"
            );
        }
        // RMS norm of the whole row.
        let mut o = a.clone();
        ops::rms_norm_rows(&mut o, &w, 1e-6);
        let ms: f64 = a.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / n as f64;
        for i in 0..n {
            let e = f64::from(a[i]) / (ms + 1e-6).sqrt() * f64::from(w[i]);
            assert!(
                close(o[i], e, 1e-5, 1e-30),
                "rms_norm n={n} [{i}]: {} vs {e}",
                o[i]
            );
        }
        // Gated activations: SiLU in f32; GELU through ggml's f16 table (input and output
        // rounded to f16, so one f16 step of difference is allowed).
        let (mut sg, mut gg) = (a.clone(), a.clone());
        ops::swiglu(&mut sg, &b);
        ops::geglu(&mut gg, &b);
        let r16 = |v: f64| f64::from(half::f16::from_f64(v).to_f32());
        for i in 0..n {
            let (x, u) = (f64::from(a[i]), f64::from(b[i]));
            let se = x / (1.0 + (-x).exp()) * u;
            assert!(
                close(sg[i], se, 1e-5, 1e-30),
                "swiglu({x}) = {} vs {se}",
                sg[i]
            );
            let ge = if x <= -10.0 {
                0.0
            } else if x >= 10.0 {
                x * u
            } else {
                let h = r16(x);
                let t = (2.0 / std::f64::consts::PI).sqrt() * (h + 0.044715 * h * h * h);
                r16(0.5 * h * (1.0 + t.tanh())) * u
            };
            assert!(
                close(gg[i], ge, 2e-3, 1e-6 * u.abs()),
                "geglu({x}) = {} vs {ge}",
                gg[i]
            );
        }
    }
}

/// RoPE angles and rotation (`model::ops`) against f64: each pair rotated by θ_i.
pub fn rope_matches_reference() {
    use wasm_chord::model::ops;
    let mut rng = Rng::new(8);
    for (head_dim, heads) in [(256usize, 4usize), (64, 3), (6, 2), (2, 1)] {
        for pos in [0usize, 1, 17, 4095] {
            for neox in [true, false] {
                let x = op_inputs(&mut rng, head_dim * heads);
                let half = head_dim / 2;
                let (mut c, mut s) = (vec![0f32; half], vec![0f32; half]);
                ops::rope_angles(
                    pos,
                    &ops::RopeParams::plain(head_dim, 10_000.0),
                    &mut c,
                    &mut s,
                );
                let mut got = x.clone();
                for head in got.chunks_exact_mut(head_dim) {
                    ops::rope_head(head, &c, &s, neox);
                }
                for (h, head) in x.chunks_exact(head_dim).enumerate() {
                    for i in 0..half {
                        let (ia, ib) = if neox {
                            (i, i + half)
                        } else {
                            (2 * i, 2 * i + 1)
                        };
                        let th = pos as f64 * 10_000f64.powf(-2.0 * i as f64 / head_dim as f64);
                        let (a, b) = (f64::from(head[ia]), f64::from(head[ib]));
                        let ea = a * th.cos() - b * th.sin();
                        let eb = a * th.sin() + b * th.cos();
                        // ggml builds θ by repeated f32 multiplication: at position 4095 the
                        // angle carries a few ulps of it.
                        let m = (a.abs() + b.abs()) * (1e-6 + 4e-7 * pos as f64);
                        let (ga, gb) = (got[h * head_dim + ia], got[h * head_dim + ib]);
                        assert!(
                            close(ga, ea, 0.0, m + 1e-30),
                            "rope d={head_dim} pos={pos}: {ga} vs {ea}"
                        );
                        assert!(
                            close(gb, eb, 0.0, m + 1e-30),
                            "rope d={head_dim} pos={pos}: {gb} vs {eb}"
                        );
                    }
                }
            }
        }
    }
}
