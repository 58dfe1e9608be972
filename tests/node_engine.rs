//! The synthetic models against llama.cpp in the wasm build under Node (SIMD128
//! kernels, `wasm-pack test --node`) and natively: the same checks as
//! tests/engine_conformance.rs, with the fixtures compiled in.

#[macro_use]
mod support;

use support::engine::conformance::check_synthetic;
use support::engine::oracle_from_json;
use support::engine::synthetic_models::VARIANTS;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn fixture(name: &str) -> &'static str {
    match name {
        "synthetic-f32.json" => include_str!("fixtures/oracle/synthetic-f32.json"),
        "synthetic-q8_0.json" => include_str!("fixtures/oracle/synthetic-q8_0.json"),
        "synthetic-q4_0.json" => include_str!("fixtures/oracle/synthetic-q4_0.json"),
        "synthetic-kquant.json" => include_str!("fixtures/oracle/synthetic-kquant.json"),
        "synthetic-mixed.json" => include_str!("fixtures/oracle/synthetic-mixed.json"),
        "synthetic-qwen2.json" => include_str!("fixtures/oracle/synthetic-qwen2.json"),
        "synthetic-qwen3.json" => include_str!("fixtures/oracle/synthetic-qwen3.json"),
        "synthetic-gemma.json" => include_str!("fixtures/oracle/synthetic-gemma.json"),
        "synthetic-gemma2.json" => include_str!("fixtures/oracle/synthetic-gemma2.json"),
        "synthetic-llama3.json" => include_str!("fixtures/oracle/synthetic-llama3.json"),
        "synthetic-phi3.json" => include_str!("fixtures/oracle/synthetic-phi3.json"),
        other => panic!("no compiled-in fixture {other}: add it here"),
    }
}

#[test]
fn synthetic_models_match_llama_cpp() {
    // Every variant, each with its fixture compiled in (`fixture` panics on a missing one).
    for v in &VARIANTS {
        check_synthetic(v, &oracle_from_json(fixture(&v.fixture_name())));
    }
}
