//! wasm-chord: quantized LLM inference for the browser.
//!
//! The pure-Rust core (GGUF reading, quant formats, kernels) compiles and is tested natively;
//! the JavaScript bindings are compiled only for wasm32.

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
compile_error!("wasm-chord needs SIMD128: build with -C target-feature=+simd128 (see .cargo/config.toml; an environment RUSTFLAGS replaces it)");

pub mod chat_template;
pub mod cpu;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod gpu;
pub mod model;
pub mod quant;
pub mod sampler;
pub mod tokenizer;

pub use error::{Error, Result};

#[cfg(target_arch = "wasm32")]
pub mod web;
