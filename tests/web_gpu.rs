//! The WGSL kernels against the CPU reference in headless Chromium's WebGPU (SwiftShader with
//! `--enable-unsafe-webgpu`, from webdriver.json). The same tests run natively on Vulkan in
//! tests/gpu_kernels.rs; they live in tests/support/gpu.rs and tests/support/gpu_ops.rs. And the
//! synthetic models of every architecture against llama.cpp on the browser's WebGPU, as
//! tests/gpu_engine.rs does natively (tests/support/gpu_synthetic.rs): in the mode pages get by
//! default (f32 activations; the native run covers both modes, same WGSL; both here took 110 s).
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod support;

use std::rc::Rc;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

use support::gpu_synthetic::teacher_forced;
use support::synthetic_models::VARIANTS;
use wasm_chord::gpu::{Gpu, GpuOptions};

wasm_bindgen_test_configure!(run_in_browser);

async fn device() -> Gpu {
    Gpu::new(&GpuOptions::default())
        .await
        .expect("no WebGPU adapter: Chromium needs --enable-unsafe-webgpu (webdriver.json)")
}

macro_rules! browser {
    ($name:ident) => {
        #[wasm_bindgen_test]
        async fn $name() {
            let gpu = device().await;
            support::gpu::$name(&gpu).await;
        }
    };
}

macro_rules! browser_op {
    ($module:ident, $name:ident) => {
        #[wasm_bindgen_test]
        async fn $name() {
            let gpu = device().await;
            support::$module::$name(&gpu).await;
        }
    };
}

gpu_tests!(browser);
gpu_op_tests!(browser_op);

#[wasm_bindgen_test]
async fn synthetic_models_match_llama_cpp() {
    let opts = GpuOptions::default();
    let gpu = Rc::new(device().await);
    for v in &VARIANTS {
        console_log!(
            "{}",
            teacher_forced(&gpu, &opts, v, "f32 activations").await
        );
    }
}
