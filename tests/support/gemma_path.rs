//! Where the tests find Gemma 3 270M: `$WASM_CHORD_MODEL`, else the fetch script's cache.
//! Tests that need it fail (never skip) when it is absent.

use std::path::PathBuf;

pub fn gemma_path() -> PathBuf {
    let path = match std::env::var_os("WASM_CHORD_MODEL") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/wasm-chord/models/gemma-3-270m-q4_k_m.gguf")
        }
    };
    assert!(
        path.is_file(),
        "Gemma 3 270M model not found at {}.\nRun `npm run fetch-model` (or set WASM_CHORD_MODEL to the .gguf path).",
        path.display()
    );
    path
}
