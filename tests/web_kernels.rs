//! The SIMD128 kernels against the scalar reference and the gguf-py oracle, in headless
//! Chromium (`wasm-pack test --headless --chrome`). The tests live in tests/support/kernels.rs.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod support;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

kernel_tests!(wasm_bindgen_test);

/// The products above ran the SIMD128 kernels, not the scalar fallback.
#[wasm_bindgen_test]
fn backend_is_simd128() {
    let b = wasm_chord::cpu::BACKEND;
    assert!(b == "simd128" || b == "simd128+relaxed", "{b}");
}
