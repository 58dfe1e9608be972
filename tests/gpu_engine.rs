//! The GPU forward pass against the CPU path (natively: wgpu on Vulkan/lavapipe, kernels in
//! WGSL; the CPU side is the scalar reference). Both use an f16 KV cache; the GPU multiplies
//! f32 activations where the CPU quantizes them to Q8_0/Q8_K, so logits agree closely but not
//! bit for bit.
#![cfg(not(target_arch = "wasm32"))]

mod engine_support;

use std::rc::Rc;
use std::sync::Arc;

use engine_support::synthetic_models;
use engine_support::Tiny;
use wasm_chord::gpu::session::{Evaluated, Want};
use wasm_chord::gpu::{Gpu, GpuOptions, GpuSession};
use wasm_chord::model::{Model, ModelOptions, Session, SessionOptions};
use wasm_chord::sampler::argmax;

fn gpu() -> Rc<Gpu> {
    Rc::new(
        Gpu::new_blocking(&GpuOptions::default())
            .expect("no Vulkan adapter: run scripts/setup.sh (installs mesa-vulkan-drivers)"),
    )
}

fn logits(gpu: &Gpu, s: &mut GpuSession, tokens: &[u32]) -> Vec<f32> {
    match gpu.block_on(s.eval(tokens, Want::Logits)).unwrap() {
        Evaluated::Logits(l) => l,
        other => panic!("expected logits, got {other:?}"),
    }
}

/// Max |Δ| relative to the largest |logit|, over prefill and decode steps.
fn compare(model: Arc<Model>, prompt: &[u32], steps: usize, opts: SessionOptions) -> f32 {
    let g = gpu();
    let mut gs = GpuSession::new(Rc::clone(&g), Arc::clone(&model), &opts).unwrap();
    let mut cs = Session::new(model, &opts).unwrap();
    let mut worst = 0f32;
    let mut want = cs.prefill(prompt).unwrap().to_vec();
    let mut got = logits(&g, &mut gs, prompt);
    for step in 0..=steps {
        let scale = want.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let d = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(d / scale);
        if std::env::var("GPU_DEBUG").is_ok() { println!("step {step}: Δ {d} scale {scale}"); }
        let t = argmax(&want).unwrap();
        // Where the CPU's top two are closer than the two paths' difference either may win.
        let mut sorted = want.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 2.0 * d {
            assert_eq!(argmax(&got).unwrap(), t, "step {step}: argmax differs (Δ {d})");
        }
        if step == steps {
            break;
        }
        want = cs.decode(t).unwrap().to_vec();
        got = logits(&g, &mut gs, &[t]);
    }
    worst
}

#[test]
fn tiny_llama_matches_cpu() {
    let model = Arc::new(Model::load(Tiny::llama().gguf(), &ModelOptions::default()).unwrap());
    let d = compare(model, &[1, 5, 9, 33, 2, 17, 40], 12, SessionOptions::default());
    println!("tiny llama: max rel Δ {d:e}");
    assert!(d < 2e-2, "{d}");
}

#[test]
fn tiny_gemma3_matches_cpu() {
    let model = Arc::new(Model::load(Tiny::gemma3().gguf(), &ModelOptions::default()).unwrap());
    let prompt: Vec<u32> = (0..40).map(|i| (i * 7 + 3) % 60 + 1).collect();
    let opts = SessionOptions {
        n_batch: 16,
        ..SessionOptions::default()
    };
    let d = compare(model, &prompt, 12, opts);
    println!("tiny gemma3: max rel Δ {d:e}");
    assert!(d < 2e-2, "{d}");
}

/// The all-F32 synthetic llama model: the CPU multiplies f32 activations too, so the two
/// paths differ only in float rounding (summation order, the adapter's exp/tanh/sqrt).
/// Measured on lavapipe: 1.8e-4 of the largest logit; the bound is a regression guard.
#[test]
fn f32_model_matches_cpu_tightly() {
    let v = synthetic_models::variant("f32").unwrap();
    let g = wasm_chord::gguf::LoadedGguf::from_bytes((v.build)()).unwrap();
    let model = Arc::new(Model::load(g, &ModelOptions::default()).unwrap());
    let prompt: Vec<u32> = (0..70).map(|i| (i * 13 + 5) % 250 + 3).collect();
    let d = compare(model, &prompt, 16, SessionOptions::default());
    println!("synthetic f32: max rel Δ {d:e}");
    assert!(d < 5e-4, "{d}");
}
