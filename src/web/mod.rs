//! The JavaScript surface (wasm32 only). Everything here is a thin shell over the Rust core.

use wasm_bindgen::prelude::*;

use crate::Error;

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
