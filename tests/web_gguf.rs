//! The GGUF reader inside headless Chromium (`wasm-pack test --headless --chrome`).
#![cfg(target_arch = "wasm32")]

mod support;
use support::gguf_small;

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn parses_whole_file() {
    gguf_small::parses_whole_file();
}

#[wasm_bindgen_test]
fn streams_in_small_chunks() {
    gguf_small::streams_in_small_chunks();
}

#[wasm_bindgen_test]
fn fills_chunks_in_place() {
    gguf_small::fills_chunks_in_place();
}

#[wasm_bindgen_test]
fn bad_magic_and_truncation_are_typed() {
    gguf_small::bad_magic_and_truncation_are_typed();
}

/// Errors reach JavaScript as `Error` objects carrying the stable code.
#[wasm_bindgen_test]
fn errors_become_js_errors_with_code() {
    let mut bytes = gguf_small::small_file();
    bytes[0] = 0;
    let e = wasm_chord::gguf::GgufFile::parse(&bytes).expect_err("bad magic");
    let js = wasm_chord::web::js_error(&e);
    let code = js_sys::Reflect::get(&js, &"code".into()).expect("code property");
    assert_eq!(code.as_string().as_deref(), Some("GGUF_BAD_MAGIC"));
    assert!(js.is_instance_of::<js_sys::Error>());
}
