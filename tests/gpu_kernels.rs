//! The WGSL kernels against the CPU reference, natively: wgpu on Vulkan (lavapipe, installed
//! by scripts/setup.sh). The tests live in tests/support/gpu.rs; tests/web_gpu.rs runs them in
//! headless Chromium.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use wasm_chord::gpu::{Gpu, GpuOptions};

fn device() -> Gpu {
    Gpu::new_blocking(&GpuOptions::default())
        .expect("no Vulkan adapter: run scripts/setup.sh (installs mesa-vulkan-drivers)")
}

macro_rules! native {
    ($name:ident) => {
        #[test]
        fn $name() {
            let gpu = device();
            gpu.block_on(support::gpu::$name(&gpu));
        }
    };
}

gpu_tests!(native);

macro_rules! native_op {
    ($module:ident, $name:ident) => {
        #[test]
        fn $name() {
            let gpu = device();
            gpu.block_on(support::$module::$name(&gpu));
        }
    };
}

gpu_op_tests!(native_op);
