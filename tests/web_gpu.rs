//! The WGSL kernels against the CPU reference in headless Chromium's WebGPU (SwiftShader with
//! `--enable-unsafe-webgpu`, from webdriver.json). The same tests run natively on Vulkan in
//! tests/gpu_kernels.rs; they live in tests/support/gpu.rs and tests/support/gpu_ops.rs. The
//! synthetic models on the browser's WebGPU are tests/web_gpu_models.rs.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod support;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

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
