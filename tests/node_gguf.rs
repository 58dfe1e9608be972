//! The GGUF reader in the wasm build under Node (`wasm-pack test --node`) and natively.

mod support;
use support::gguf_small;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn parses_whole_file() {
    gguf_small::parses_whole_file();
}

#[test]
fn streams_in_small_chunks() {
    gguf_small::streams_in_small_chunks();
}

#[test]
fn fills_chunks_in_place() {
    gguf_small::fills_chunks_in_place();
}

#[test]
fn bad_magic_and_truncation_are_typed() {
    gguf_small::bad_magic_and_truncation_are_typed();
}
