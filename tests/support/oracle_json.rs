//! The synthetic models' llama.cpp fixtures compiled in, for the wasm test binaries (no file
//! system under Node's wasm-bindgen-test or in the browser): tests/node_engine.rs and
//! tests/web_engine.rs.

/// The fixture `name` (`synthetic-<variant>.json`); panics on one not listed here.
pub fn synthetic_fixture(name: &str) -> &'static str {
    match name {
        "synthetic-f32.json" => include_str!("../fixtures/oracle/synthetic-f32.json"),
        "synthetic-q8_0.json" => include_str!("../fixtures/oracle/synthetic-q8_0.json"),
        "synthetic-q4_0.json" => include_str!("../fixtures/oracle/synthetic-q4_0.json"),
        "synthetic-kquant.json" => include_str!("../fixtures/oracle/synthetic-kquant.json"),
        "synthetic-mixed.json" => include_str!("../fixtures/oracle/synthetic-mixed.json"),
        "synthetic-qwen2.json" => include_str!("../fixtures/oracle/synthetic-qwen2.json"),
        "synthetic-qwen3.json" => include_str!("../fixtures/oracle/synthetic-qwen3.json"),
        "synthetic-gemma.json" => include_str!("../fixtures/oracle/synthetic-gemma.json"),
        "synthetic-gemma2.json" => include_str!("../fixtures/oracle/synthetic-gemma2.json"),
        "synthetic-llama3.json" => include_str!("../fixtures/oracle/synthetic-llama3.json"),
        "synthetic-phi3.json" => include_str!("../fixtures/oracle/synthetic-phi3.json"),
        other => panic!("no compiled-in fixture {other}: add it to tests/support/oracle_json.rs"),
    }
}
