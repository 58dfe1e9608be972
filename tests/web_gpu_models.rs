//! The synthetic models of every architecture against llama.cpp on headless Chromium's WebGPU
//! (SwiftShader), as tests/gpu_engine.rs does natively (tests/support/gpu_synthetic.rs), in the
//! mode pages get by default (f32 activations; the native run covers both modes, same WGSL).
//! Its own test binary: it takes ~110 s here, and the runner's timeout
//! (`WASM_BINDGEN_TEST_TIMEOUT`, scripts/test.sh) covers a whole binary.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod support;

use std::rc::Rc;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

use support::gpu_synthetic::teacher_forced;
use support::synthetic_models::VARIANTS;
use wasm_chord::gpu::{Gpu, GpuOptions};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn synthetic_models_match_llama_cpp() {
    let opts = GpuOptions::default();
    let gpu = Rc::new(
        Gpu::new(&opts)
            .await
            .expect("no WebGPU adapter: Chromium needs --enable-unsafe-webgpu (webdriver.json)"),
    );
    for v in &VARIANTS {
        console_log!(
            "{}",
            teacher_forced(&gpu, &opts, v, "f32 activations").await
        );
    }
}
