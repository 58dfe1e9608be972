//! The synthetic models (llama, qwen2, qwen3, gemma, gemma2, phi3; every weight type) against
//! llama.cpp inside headless Chromium (`wasm-pack test --headless --chrome`): the checks of
//! tests/engine_conformance.rs on the browser's SIMD128, fixtures compiled in.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod support;

use support::engine::conformance::check_synthetic;
use support::engine::oracle_from_json;
use support::engine::synthetic_models::VARIANTS;
use support::oracle_json::synthetic_fixture;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn synthetic_models_match_llama_cpp() {
    for v in &VARIANTS {
        check_synthetic(v, &oracle_from_json(synthetic_fixture(&v.fixture_name())));
    }
}
