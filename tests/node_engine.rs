//! The synthetic models against llama.cpp in the wasm build under Node (SIMD128
//! kernels, `wasm-pack test --node`) and natively: the same checks as
//! tests/engine_conformance.rs, with the fixtures compiled in. tests/web_engine.rs runs them
//! in headless Chromium.

#[macro_use]
mod support;

use support::engine::conformance::check_synthetic;
use support::engine::oracle_from_json;
use support::engine::synthetic_models::VARIANTS;
use support::oracle_json::synthetic_fixture;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn synthetic_models_match_llama_cpp() {
    // Every variant, each with its fixture compiled in (`synthetic_fixture` panics on a missing one).
    for v in &VARIANTS {
        check_synthetic(v, &oracle_from_json(synthetic_fixture(&v.fixture_name())));
    }
}
