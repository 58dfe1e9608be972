//! The engine's orchestration natively (wgpu on Vulkan/lavapipe): choosing WebGPU, declining a
//! software adapter unless insisted on, evaluating ahead of each step, and a device lost in the
//! middle of a generation continuing on the CPU with the same tokens — the code path the
//! browser runs, here without a browser. Also BOS de-duplication and the prompt-cache opt-out.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::Arc;

use support::engine::Tiny;
use wasm_chord::engine::{BackendKind, Engine, GenerateOptions, Step};
use wasm_chord::gpu::GpuOptions;
use wasm_chord::model::{Model, ModelOptions, SessionOptions};
use wasm_chord::tokenizer::Tokenizer;

/// The tiny Gemma 3 model on the CPU, sized like the GPU tests.
fn engine() -> Engine {
    let gguf = Tiny::gemma3().gguf();
    let tok = Arc::new(Tokenizer::from_metadata(gguf.metadata()).unwrap());
    let model = Arc::new(Model::load(gguf, &ModelOptions::default()).unwrap());
    let opts = SessionOptions {
        n_batch: 16,
        ..SessionOptions::default()
    };
    Engine::from_parts(model, tok, &opts).unwrap()
}

/// The GPU rounding its matmul inputs as the CPU does, so both give the same tokens.
fn cpu_rounding() -> GpuOptions {
    GpuOptions {
        cpu_rounding: true,
        ..GpuOptions::default()
    }
}

fn prompt() -> Vec<u32> {
    (0..30).map(|i| (i * 11 + 4) % 60 + 3).collect()
}

fn greedy(n: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens: n,
        ignore_eos: true,
        ..GenerateOptions::default()
    }
}

#[test]
fn auto_declines_a_software_adapter_and_required_takes_it() {
    let mut e = engine();
    assert_eq!(e.backend(), BackendKind::Cpu);
    assert!(e.backend_reason().contains("not requested"));
    // lavapipe is a CPU adapter: 'auto' stays on the CPU and says why.
    assert!(!e
        .enable_webgpu_blocking(false, GpuOptions::default())
        .unwrap());
    assert_eq!(e.backend(), BackendKind::Cpu);
    assert!(
        e.backend_reason().contains("software"),
        "{}",
        e.backend_reason()
    );
    assert!(e.gpu_adapter().is_none());
    // 'webgpu' insists.
    assert!(e
        .enable_webgpu_blocking(true, GpuOptions::default())
        .unwrap());
    assert_eq!(e.backend(), BackendKind::WebGpu);
    assert!(e.backend_reason().starts_with("WebGPU on "));
    assert!(e.gpu_adapter().is_some());
}

#[test]
fn generate_on_webgpu_gives_the_cpu_tokens() {
    let want = engine().generate(&prompt(), &greedy(20), |_| true).unwrap();
    let mut e = engine();
    assert!(e.enable_webgpu_blocking(true, cpu_rounding()).unwrap());
    let got = e.generate(&prompt(), &greedy(20), |_| true).unwrap();
    assert_eq!(got.tokens, want.tokens);
    assert_eq!(e.backend(), BackendKind::WebGpu);
    assert!(e.take_backend_switch().is_none());
}

/// Driven step by step as src/js/index.js drives it: the GPU job before each step, the device
/// destroyed after the fifth token. The next job fails, the step after it moves to the CPU
/// (recomputing the cached positions there) and the generation ends with the CPU's tokens.
#[test]
fn device_loss_mid_generation_continues_on_the_cpu() {
    let want = engine().generate(&prompt(), &greedy(20), |_| true).unwrap();
    let mut e = engine();
    assert!(e.enable_webgpu_blocking(true, cpu_rounding()).unwrap());
    e.start(prompt(), greedy(20)).unwrap();
    let (mut tokens, mut switches, mut jobs) = (Vec::new(), Vec::new(), 0);
    let result = loop {
        if let Some(job) = e.gpu_job() {
            jobs += 1;
            let gpu = std::rc::Rc::clone(job.gpu());
            let done = gpu.block_on(job.run());
            e.finish_step_job(done);
        }
        let step = e.step().unwrap();
        if let Some(why) = e.take_backend_switch() {
            switches.push((tokens.len(), why));
        }
        match step {
            Step::Token { token, .. } => {
                tokens.push(token);
                if tokens.len() == 5 {
                    e.gpu_session().unwrap().gpu().simulate_loss();
                }
            }
            Step::Prefill { .. } => {}
            Step::Finished(r) => break r,
        }
    };
    assert_eq!(result.tokens, want.tokens);
    assert_eq!(tokens, want.tokens);
    assert_eq!(switches.len(), 1, "{switches:?}");
    assert_eq!(switches[0].0, 5, "switched right after the loss");
    assert!(switches[0].1.contains("device"), "{}", switches[0].1);
    assert_eq!(e.backend(), BackendKind::Cpu);
    assert!(jobs >= 6, "{jobs} GPU jobs");
    // The model stays usable, on the CPU.
    let again = e.generate(&prompt(), &greedy(6), |_| true).unwrap();
    assert_eq!(again.tokens, want.tokens[..6]);
}

#[test]
fn a_doubled_bos_from_a_template_is_dropped() {
    let e = engine();
    let tok = e.tokenizer();
    let bos = tok.bos().unwrap();
    let bos_text = tok.token_text(bos).unwrap().to_owned();
    let plain = e.encode_prompt("hello", true, true);
    assert_eq!(plain[0], bos);
    // A rendered template that prints BOS itself: the tokenizer adds one more.
    let raw = tok.encode(&format!("{bos_text}hello"), true, true);
    assert_eq!(&raw[..2], &[bos, bos]);
    assert_eq!(
        e.encode_prompt(&format!("{bos_text}hello"), true, true),
        plain
    );
}

#[test]
fn the_prompt_cache_is_reused_unless_turned_off() {
    let mut e = engine();
    let p = prompt();
    let cold = e.generate(&p, &greedy(4), |_| true).unwrap();
    assert_eq!(
        (cold.reused_tokens, cold.timings.prefill_tokens),
        (0, p.len())
    );
    let warm = e.generate(&p, &greedy(4), |_| true).unwrap();
    assert_eq!(warm.reused_tokens, p.len() - 1);
    assert_eq!(warm.timings.prefill_tokens, 1);
    let off = GenerateOptions {
        reuse_cache: false,
        ..greedy(4)
    };
    let again = e.generate(&p, &off, |_| true).unwrap();
    assert_eq!(
        (again.reused_tokens, again.timings.prefill_tokens),
        (0, p.len())
    );
    assert_eq!(cold.tokens, warm.tokens);
    assert_eq!(cold.tokens, again.tokens);
}
