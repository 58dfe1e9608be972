//! The JavaScript surface (wasm32 only): a thin shell over the Rust core. The public JS API
//! (`Model.load`, `generate`, `stream`, `chat` …) lives in src/js/index.js on top of these.

mod digest;
mod loader;
mod model;
mod options;

use wasm_bindgen::prelude::*;

use crate::Error;

pub use digest::cache_key;
pub use loader::WasmLoader;
pub use model::WasmModel;

#[wasm_bindgen(start)]
fn start() {
    // A panic is a bug; this makes it at least readable in the console.
    console_error_panic_hook::set_once();
}

/// The crate version, for bug reports.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Converts our error into a JS `Error` whose `code` property is the stable code.
pub fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("WasmChordError");
    // Setting a property on a fresh plain Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    // Plain objects (not Maps), so results survive postMessage and JSON.stringify.
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&ser).unwrap_or(JsValue::NULL)
}

/// Bytes of wasm linear memory in use (the whole model lives there).
pub(crate) fn memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65536
}
