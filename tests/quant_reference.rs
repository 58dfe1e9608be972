//! The scalar reference quant math against an independent implementation (gguf-py and a
//! numpy port of ggml's Q8_K quantizer, via the fixtures made by
//! scripts/fixtures/make_quant_fixtures.py), plus ggml's dot-product error bounds and the
//! error paths. Fixtures are compiled in with `include_bytes!` so the same tests can run on
//! wasm32 without a file system.

use wasm_chord::quant::blocks::{BlockQ8K, BlockQ8_0};
use wasm_chord::quant::reference::{
    dequantize, dequantize_q8_0, dequantize_q8_k, quantize, quantize_activation, quantize_q8_0,
    quantize_q8_0_vec, quantize_q8_k_vec, vec_dot, vec_dot_q4_0_q8_0, vec_dot_q6_k_q8_k,
    Activation, ActivationKind, OwnedActivation,
};
use wasm_chord::quant::{GgmlType, QK_K};
use wasm_chord::Error;

// Under `wasm-pack test --node` the same tests run in the wasm build.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

// ---- fixtures ------------------------------------------------------------------------------

struct Case {
    name: &'static str,
    ty: GgmlType,
    blocks: &'static [u8],
    deq: &'static [u8],
    src: Option<&'static [u8]>,
}

macro_rules! fixture {
    ($name:literal, $ext:literal) => {
        include_bytes!(concat!("fixtures/quant/", $name, $ext))
    };
}

macro_rules! case {
    ($name:literal, $ty:ident) => {
        Case {
            name: $name,
            ty: GgmlType::$ty,
            blocks: fixture!($name, ".blocks"),
            deq: fixture!($name, ".deq"),
            src: None,
        }
    };
    ($name:literal, $ty:ident, src) => {
        Case {
            src: Some(fixture!($name, ".src")),
            ..case!($name, $ty)
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        case!("gemma_f32", F32),
        case!("gemma_q5_0", Q5_0),
        case!("gemma_q8_0", Q8_0),
        case!("gemma_q4_k", Q4_K),
        case!("gemma_q6_k", Q6_K),
        case!("quant_f16", F16, src),
        case!("quant_bf16", BF16, src),
        case!("quant_q4_0", Q4_0, src),
        case!("quant_q4_1", Q4_1, src),
        case!("quant_q5_0", Q5_0, src),
        case!("quant_q5_1", Q5_1, src),
        case!("quant_q8_0", Q8_0, src),
        case!("rand_q2_k", Q2_K),
        case!("rand_q3_k", Q3_K),
        case!("rand_q5_k", Q5_K),
        case!("act_q8_k", Q8_K, src),
    ]
}

fn weight_cases() -> impl Iterator<Item = Case> {
    cases().into_iter().filter(|c| c.ty != GgmlType::Q8_K)
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn n_elements(ty: GgmlType, bytes: &[u8]) -> usize {
    bytes.len() / ty.block_bytes() * ty.block_len()
}

fn dequant(ty: GgmlType, bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; n_elements(ty, bytes)];
    dequantize(ty, bytes, &mut out).unwrap();
    out
}

/// Count of elements whose bits differ, with the first few described.
fn bit_diffs(name: &str, got: &[f32], want: &[f32]) -> (usize, String) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let mut n = 0;
    let mut report = String::new();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.to_bits() != w.to_bits() {
            if n < 5 {
                report += &format!(
                    "\n  {name}[{i}]: got {g:e} ({:#010x}), want {w:e} ({:#010x})",
                    g.to_bits(),
                    w.to_bits()
                );
            }
            n += 1;
        }
    }
    (n, report)
}

// ---- dequantization --------------------------------------------------------------------------

#[test]
fn fixtures_are_consistent() {
    let all = cases();
    assert_eq!(all.len(), 16);
    for c in &all {
        assert_eq!(c.blocks.len() % c.ty.block_bytes(), 0, "{}", c.name);
        let n = n_elements(c.ty, c.blocks);
        assert!(n > 0, "{}", c.name);
        assert_eq!(c.deq.len(), 4 * n, "{}", c.name);
        if let Some(src) = c.src {
            assert_eq!(src.len(), 4 * n, "{}", c.name);
        }
    }
    // every type the reference covers has at least one fixture
    for name in [
        "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
        "Q5_K", "Q6_K", "Q8_K",
    ] {
        let ty = GgmlType::from_name(name).unwrap();
        assert!(all.iter().any(|c| c.ty == ty), "no fixture for {name}");
    }
}

#[test]
fn dequantize_is_bit_exact_with_gguf_py() {
    let mut failures = String::new();
    for c in cases() {
        let got = dequant(c.ty, c.blocks);
        let (n, report) = bit_diffs(c.name, &got, &f32s(c.deq));
        if n > 0 {
            failures += &format!(
                "\n{} ({}): {n} of {} differ{report}",
                c.name,
                c.ty,
                got.len()
            );
        }
    }
    assert!(failures.is_empty(), "dequantization differs:{failures}");
}

#[test]
fn dequantize_works_at_any_alignment() {
    for c in cases() {
        let want = dequant(c.ty, c.blocks);
        for shift in 1..4 {
            let mut buf = vec![0u8; shift];
            buf.extend_from_slice(c.blocks);
            let got = dequant(c.ty, &buf[shift..]);
            let (n, report) = bit_diffs(c.name, &got, &want);
            assert_eq!(n, 0, "offset {shift}:{report}");
        }
    }
}

// ---- quantizers ------------------------------------------------------------------------------

#[test]
fn quantizers_match_gguf_py_bytes() {
    for c in cases() {
        let Some(src) = c.src else { continue };
        let got = quantize(c.ty, &f32s(src)).unwrap();
        assert_eq!(got.len(), c.blocks.len(), "{}", c.name);
        let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i] != c.blocks[i]).collect();
        assert!(
            bad.is_empty(),
            "{}: {} bytes differ, first at byte {} (block {}): got {:#04x}, want {:#04x}",
            c.name,
            bad.len(),
            bad[0],
            bad[0] / c.ty.block_bytes(),
            got[bad[0]],
            c.blocks[bad[0]]
        );
    }
}

#[test]
fn q8_0_activation_matches_gguf_py() {
    let c = cases()
        .into_iter()
        .find(|c| c.name == "quant_q8_0")
        .unwrap();
    let src = f32s(c.src.unwrap());
    let want: &[BlockQ8_0] = bytemuck::cast_slice(c.blocks);
    for weight_ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
    ] {
        match quantize_activation(weight_ty, &src).unwrap() {
            OwnedActivation::Q8_0(got) | OwnedActivation::Q8_1 { qs: got, .. } => {
                assert_eq!(got, want, "{weight_ty}")
            }
            other => panic!("{weight_ty}: got {:?}", other.kind()),
        }
    }
    let mut out = vec![bytemuck::Zeroable::zeroed(); want.len()];
    quantize_q8_0(&src, &mut out).unwrap();
    assert_eq!(out, want);
}

#[test]
fn q8_k_activation_matches_numpy_port_of_ggml() {
    let c = cases().into_iter().find(|c| c.name == "act_q8_k").unwrap();
    let src = f32s(c.src.unwrap());
    let got = quantize_q8_k_vec(&src).unwrap();
    // fixture bytes are little-endian; the block's f32/i16 fields are in host order
    let want: Vec<BlockQ8K> = c
        .blocks
        .chunks_exact(core::mem::size_of::<BlockQ8K>())
        .map(|b| {
            let mut blk: BlockQ8K = bytemuck::pod_read_unaligned(b);
            blk.d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            for (j, s) in blk.bsums.iter_mut().enumerate() {
                let o = 4 + QK_K + 2 * j;
                *s = i16::from_le_bytes([b[o], b[o + 1]]);
            }
            blk
        })
        .collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g.d.to_bits(),
            w.d.to_bits(),
            "block {i} d: {} vs {}",
            g.d,
            w.d
        );
        assert_eq!(g.qs, w.qs, "block {i} qs");
        assert_eq!(g.bsums, w.bsums, "block {i} bsums");
    }
    for weight_ty in [
        GgmlType::Q2_K,
        GgmlType::Q3_K,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ] {
        assert_eq!(
            quantize_activation(weight_ty, &src).unwrap(),
            OwnedActivation::Q8K(got.clone())
        );
    }
}

// ---- dot products ----------------------------------------------------------------------------

/// ggml test-quantize-fns' data: 0.1 + 2·cos(i + offset).
fn ggml_test_vector(n: usize, offset: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (0.1 + 2.0 * (i as f64 + offset).cos()) as f32)
        .collect()
}

/// Deterministic activations with a wide spread of magnitudes and signs (a small LCG, so the
/// test needs no RNG crate and runs the same everywhere).
fn lcg_vector(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 40) as f64) / (1u64 << 24) as f64
    };
    (0..n)
        .map(|i| {
            let scale = 10f64.powi((i / 256 % 5) as i32 - 2);
            ((next() - 0.5) * 4.0 * scale) as f32
        })
        .collect()
}

fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// ggml's MAX_DOT_PRODUCT_ERROR (test-quantize-fns.cpp), per element.
fn max_dot_error(ty: GgmlType) -> f64 {
    match ty {
        GgmlType::Q2_K | GgmlType::Q3_K => 0.04,
        _ => 0.02,
    }
}

fn dequant_activation(act: &OwnedActivation) -> Vec<f32> {
    match act {
        OwnedActivation::F32(x) => x.clone(),
        OwnedActivation::Q8_0(b) | OwnedActivation::Q8_1 { qs: b, .. } => {
            let mut out = vec![0.0; b.len() * 32];
            dequantize_q8_0(b, &mut out).unwrap();
            out
        }
        OwnedActivation::Q8K(b) => {
            let mut out = vec![0.0; b.len() * QK_K];
            dequantize_q8_k(b, &mut out).unwrap();
            out
        }
    }
}

/// ggml's own check, for the types we can quantize: quantize 0.1 + 2cos(i) as weights and
/// 0.1 + 2cos(i + 1) as activations, and compare the quantized dot with the f32 dot.
#[test]
fn dot_error_within_ggml_bound_on_ggml_test_vectors() {
    let n = 32 * 128; // ggml's test_size
    let w = ggml_test_vector(n, 0.0);
    let x = ggml_test_vector(n, 1.0);
    let want = dot_f64(&w, &x);
    for ty in [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
    ] {
        let wq = quantize(ty, &w).unwrap();
        let act = quantize_activation(ty, &x).unwrap();
        let got = vec_dot(ty, &wq, act.as_activation()).unwrap();
        let err = (f64::from(got) - want).abs() / n as f64;
        assert!(
            err < max_dot_error(ty),
            "{ty}: |{got} - {want}| / {n} = {err}"
        );
    }
}

/// For the K-quants (no reference quantizer) and the real Gemma blocks: the quantized dot
/// against an f64 dot of the dequantized weights with the original f32 activations. The
/// bound is absolute, meant for O(1) data, so fixtures built to probe extremes stay out: the
/// quantizer-made ones (inf, NaN, magnitudes up to 1e12; those types get ggml's own protocol
/// above) and the random K fixtures' first three blocks (scales 0, subnormal, 65504).
#[test]
fn dot_error_within_ggml_bound_on_fixture_weights() {
    let mut checked = 0;
    for c in weight_cases() {
        if c.name.starts_with("quant_") {
            continue;
        }
        checked += 1;
        let skip_blocks = if c.name.starts_with("rand_") { 3 } else { 0 };
        let blocks = &c.blocks[skip_blocks * c.ty.block_bytes()..];
        let w = dequant(c.ty, blocks);
        let n = w.len();
        let act_len = n.div_ceil(QK_K) * QK_K; // F32 gemma row: 640 is not a Q8_K multiple
        let x = &ggml_test_vector(act_len, 1.0)[..n];
        let act = quantize_activation(c.ty, x).unwrap();
        let got = vec_dot(c.ty, blocks, act.as_activation()).unwrap();
        let want = dot_f64(&w, x);
        let err = (f64::from(got) - want).abs() / n as f64;
        assert!(
            err < max_dot_error(c.ty),
            "{} ({}): |{got} - {want}| / {n} = {err}",
            c.name,
            c.ty
        );
    }
    assert_eq!(checked, 8); // 5 Gemma tensors + 3 random K types
}

/// The fixture's bytes with non-finite float elements (the F16/BF16 specials) zeroed, so
/// that a comparison of sums means something.
fn finite_row(c: &Case) -> Vec<u8> {
    let mut row = c.blocks.to_vec();
    if !c.ty.is_quantized() {
        let size = c.ty.block_bytes();
        let values = dequant(c.ty, c.blocks);
        for (v, bytes) in values.iter().zip(row.chunks_exact_mut(size)) {
            if !v.is_finite() {
                bytes.fill(0);
            }
        }
    }
    row
}

/// The integer-sum structure of the dot products must agree with dequantize-then-multiply:
/// vec_dot(w, a) = Σ dequant(w)·dequant(a) up to f32 rounding. The tolerance is relative to
/// Σ|dequant(w)·dequant(a)| so cancellation cannot make it arbitrarily tight.
#[test]
fn dot_equals_dot_of_dequantized_operands() {
    let q8k_fixture = cases().into_iter().find(|c| c.name == "act_q8_k").unwrap();
    let fixture_q8k = quantize_q8_k_vec(&f32s(q8k_fixture.src.unwrap())).unwrap();
    let mut failures = String::new();
    for c in weight_cases() {
        let row = finite_row(&c);
        let w = dequant(c.ty, &row);
        assert!(w.iter().all(|v| v.is_finite()), "{}", c.name);
        let n = w.len();
        let mut acts: Vec<(&str, OwnedActivation)> = vec![
            (
                "cos",
                quantize_activation(c.ty, &ggml_test_vector(n, 1.0)).unwrap(),
            ),
            ("lcg", quantize_activation(c.ty, &lcg_vector(n, 7)).unwrap()),
        ];
        if c.ty.activation_kind() == Some(ActivationKind::Q8K) && fixture_q8k.len() * QK_K == n {
            acts.push(("act_q8_k", OwnedActivation::Q8K(fixture_q8k.clone())));
        }
        for (label, act) in &acts {
            let a = dequant_activation(act);
            let got = f64::from(vec_dot(c.ty, &row, act.as_activation()).unwrap());
            let want: f64 = dot_f64(&w, &a) + q8_1_min_correction(c.ty, &row, act);
            let scale: f64 = w
                .iter()
                .zip(&a)
                .map(|(&x, &y)| (f64::from(x) * f64::from(y)).abs())
                .sum();
            let within = (got - want).abs() <= 1e-5 * scale + 1e-30;
            if !within || !got.is_finite() {
                failures += &format!(
                    "\n{} ({}) · {label}: dot {got:e}, Σ dequant products {want:e} (Σ|..| {scale:e})",
                    c.name, c.ty
                );
            }
        }
    }
    assert!(failures.is_empty(), "dot products disagree:{failures}");
}

/// Q4_1/Q5_1 with Q8_1 activations: their min term is `m · s` with ggml's f16-rounded block
/// sum `s`, where the dequantized product has `m · d · Σq`; this is the difference, per block.
fn q8_1_min_correction(ty: GgmlType, row: &[u8], act: &OwnedActivation) -> f64 {
    let OwnedActivation::Q8_1 { qs, s } = act else {
        return 0.0;
    };
    let block_bytes = ty.block_bytes();
    row.chunks_exact(block_bytes)
        .zip(qs.iter().zip(s))
        .map(|(wb, (a, &s))| {
            // Both types start with the f16 pair (d, m).
            let m = half::f16::from_le_bytes([wb[2], wb[3]]).to_f64();
            let d = half::f16::from_le_bytes(a.d).to_f64();
            m * (f64::from(s) - d * f64::from(a.qs_sum()))
        })
        .sum()
}

#[test]
fn dispatcher_equals_typed_functions() {
    let c = cases()
        .into_iter()
        .find(|c| c.name == "gemma_q6_k")
        .unwrap();
    let x = ggml_test_vector(n_elements(c.ty, c.blocks), 0.5);
    let act = quantize_q8_k_vec(&x).unwrap();
    let typed = vec_dot_q6_k_q8_k(bytemuck::cast_slice(c.blocks), &act).unwrap();
    let dispatched = vec_dot(c.ty, c.blocks, Activation::Q8K(&act)).unwrap();
    assert_eq!(typed.to_bits(), dispatched.to_bits());
}

#[test]
fn empty_rows() {
    for c in cases() {
        dequantize(c.ty, &[], &mut []).unwrap();
        if let Some(kind) = c.ty.activation_kind() {
            let act = match kind {
                ActivationKind::F32 => Activation::F32(&[]),
                ActivationKind::Q8_0 if matches!(c.ty, GgmlType::Q4_1 | GgmlType::Q5_1) => {
                    Activation::Q8_1 { qs: &[], s: &[] }
                }
                ActivationKind::Q8_0 => Activation::Q8_0(&[]),
                ActivationKind::Q8K => Activation::Q8K(&[]),
            };
            assert_eq!(vec_dot(c.ty, &[], act).unwrap(), 0.0, "{}", c.ty);
        }
    }
}

/// Arbitrary bytes and lengths must give results or errors, never panics.
#[test]
fn garbage_input_never_panics() {
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut byte = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s as u8
    };
    let garbage: Vec<u8> = (0..4 * 292 + 7).map(|_| byte()).collect();
    let f32_act = vec![1.0f32; 4 * QK_K];
    let q8_0_act = quantize_q8_0_vec(&f32_act).unwrap();
    let q8_k_act = quantize_q8_k_vec(&f32_act).unwrap();
    for c in cases() {
        for len in [
            0,
            1,
            2,
            3,
            17,
            18,
            34,
            84,
            110,
            144,
            176,
            210,
            292,
            293,
            4 * 292,
        ] {
            let bytes = &garbage[..len];
            for out_len in [0, 1, 32, 256, 512, 1024] {
                let _ = dequantize(c.ty, bytes, &mut vec![0.0; out_len]);
            }
            for blocks in [0, 1, 2, 4] {
                let _ = vec_dot(c.ty, bytes, Activation::F32(&f32_act[..blocks * 32]));
                let _ = vec_dot(c.ty, bytes, Activation::Q8_0(&q8_0_act[..blocks]));
                let _ = vec_dot(c.ty, bytes, Activation::Q8K(&q8_k_act[..blocks]));
            }
        }
    }
}

// ---- error paths -----------------------------------------------------------------------------

#[test]
fn partial_blocks_are_rejected() {
    let mut out = vec![0.0; 64];
    assert_eq!(
        dequantize(GgmlType::Q4_0, &[0; 17], &mut out),
        Err(Error::PartialBlock {
            what: "dequantize: input bytes",
            type_name: "Q4_0",
            len: 17,
            block_bytes: 18,
        })
    );
    assert!(matches!(
        dequantize(GgmlType::F32, &[0; 6], &mut out),
        Err(Error::PartialBlock {
            type_name: "F32",
            len: 6,
            block_bytes: 4,
            ..
        })
    ));
    assert!(matches!(
        dequantize(GgmlType::Q8_K, &[0; 291], &mut out),
        Err(Error::PartialBlock {
            type_name: "Q8_K",
            len: 291,
            block_bytes: 292,
            ..
        })
    ));
    let act = quantize_q8_0_vec(&[0.5; 64]).unwrap();
    assert!(matches!(
        vec_dot(GgmlType::Q4_0, &[0; 35], Activation::Q8_0(&act)),
        Err(Error::PartialBlock {
            type_name: "Q4_0",
            len: 35,
            block_bytes: 18,
            ..
        })
    ));
    let e = quantize_activation(GgmlType::Q4_0, &[1.0; 33]).unwrap_err();
    assert_eq!(
        e,
        Error::PartialBlockElements {
            what: "quantize_q8_0: input elements",
            type_name: "Q8_0",
            len: 33,
            block_len: 32,
        }
    );
    assert_eq!(e.code(), "PARTIAL_BLOCK");
    assert!(matches!(
        quantize_activation(GgmlType::Q6_K, &[1.0; 300]),
        Err(Error::PartialBlockElements {
            type_name: "Q8_K",
            len: 300,
            block_len: 256,
            ..
        })
    ));
    assert!(matches!(
        quantize(GgmlType::Q5_1, &[1.0; 31]),
        Err(Error::PartialBlockElements {
            type_name: "Q5_1",
            len: 31,
            block_len: 32,
            ..
        })
    ));
}

#[test]
fn length_mismatches_are_rejected() {
    // 2 Q4_0 blocks = 64 elements, output of 63
    let mut out = vec![0.0; 63];
    assert_eq!(
        dequantize(GgmlType::Q4_0, &[0; 36], &mut out),
        Err(Error::LengthMismatch {
            what: "dequantize Q4_0: output vs block elements",
            left: 63,
            right: 64,
        })
    );
    // 2 weight blocks, 1 activation block
    let act = quantize_q8_0_vec(&[0.5; 32]).unwrap();
    let e = vec_dot(GgmlType::Q4_0, &[0; 36], Activation::Q8_0(&act)).unwrap_err();
    assert_eq!(
        e,
        Error::LengthMismatch {
            what: "vec_dot: weight row elements vs activation elements",
            left: 64,
            right: 32,
        }
    );
    assert_eq!(e.code(), "LENGTH_MISMATCH");
    assert!(matches!(
        vec_dot(GgmlType::F16, &[0; 8], Activation::F32(&[1.0; 5])),
        Err(Error::LengthMismatch {
            left: 4,
            right: 5,
            ..
        })
    ));
    // typed functions check block counts
    assert!(matches!(
        vec_dot_q4_0_q8_0(&[bytemuck::Zeroable::zeroed(); 3], &act),
        Err(Error::LengthMismatch {
            left: 3,
            right: 1,
            ..
        })
    ));
    let q8k = quantize_q8_k_vec(&[1.0; 512]).unwrap();
    assert!(matches!(
        vec_dot_q6_k_q8_k(&[bytemuck::Zeroable::zeroed(); 1], &q8k),
        Err(Error::LengthMismatch {
            left: 1,
            right: 2,
            ..
        })
    ));
    let mut blocks = vec![bytemuck::Zeroable::zeroed(); 1];
    assert!(matches!(
        quantize_q8_0(&[1.0; 64], &mut blocks),
        Err(Error::LengthMismatch {
            left: 1,
            right: 2,
            ..
        })
    ));
}

#[test]
fn wrong_activation_kind_is_a_type_role_error() {
    let f32_act = vec![1.0f32; QK_K];
    let q8_0 = quantize_q8_0_vec(&f32_act).unwrap();
    let q8_k = quantize_q8_k_vec(&f32_act).unwrap();
    let e = vec_dot(GgmlType::Q4_0, &[0; 8 * 18], Activation::F32(&f32_act)).unwrap_err();
    assert_eq!(
        e,
        Error::TypeRole {
            type_name: "F32",
            role: "the activation of a Q4_0 weight row (needs Q8_0)",
        }
    );
    assert_eq!(e.code(), "TYPE_ROLE");
    assert!(matches!(
        vec_dot(GgmlType::Q4_K, &[0; 144], Activation::Q8_0(&q8_0)),
        Err(Error::TypeRole {
            type_name: "Q8_0",
            ..
        })
    ));
    assert!(matches!(
        vec_dot(GgmlType::F16, &[0; 512], Activation::Q8K(&q8_k)),
        Err(Error::TypeRole {
            type_name: "Q8_K",
            ..
        })
    ));
    assert!(matches!(
        vec_dot(GgmlType::Q8_0, &[0; 8 * 34], Activation::Q8K(&q8_k)),
        Err(Error::TypeRole {
            type_name: "Q8_K",
            ..
        })
    ));
    // Q8_K is never a weight
    assert!(matches!(
        vec_dot(GgmlType::Q8_K, &[0; 292], Activation::Q8K(&q8_k)),
        Err(Error::TypeRole {
            type_name: "Q8_K",
            ..
        })
    ));
    assert!(matches!(
        quantize_activation(GgmlType::Q8_K, &f32_act),
        Err(Error::TypeRole {
            type_name: "Q8_K",
            ..
        })
    ));
    // K-quant weights have no reference quantizer
    assert!(matches!(
        quantize(GgmlType::Q4_K, &f32_act),
        Err(Error::TypeRole {
            type_name: "Q4_K",
            ..
        })
    ));
}

#[test]
fn activation_kinds_follow_ggml_vec_dot_types() {
    use ActivationKind as K;
    let expect = [
        ("F32", Some(K::F32)),
        ("F16", Some(K::F32)),
        ("BF16", Some(K::F32)),
        ("Q4_0", Some(K::Q8_0)),
        ("Q4_1", Some(K::Q8_0)),
        ("Q5_0", Some(K::Q8_0)),
        ("Q5_1", Some(K::Q8_0)),
        ("Q8_0", Some(K::Q8_0)),
        ("Q2_K", Some(K::Q8K)),
        ("Q3_K", Some(K::Q8K)),
        ("Q4_K", Some(K::Q8K)),
        ("Q5_K", Some(K::Q8K)),
        ("Q6_K", Some(K::Q8K)),
        ("Q8_K", None),
    ];
    for (name, kind) in expect {
        let ty = GgmlType::from_name(name).unwrap();
        assert_eq!(ty.activation_kind(), kind, "{name}");
        if let Some(k) = kind {
            let x = vec![0.25f32; QK_K];
            assert_eq!(quantize_activation(ty, &x).unwrap().kind(), k);
            assert_eq!(k.ggml_type().block_len(), k.block_len());
        }
    }
}
