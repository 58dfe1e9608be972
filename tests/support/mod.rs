//! Everything the test binaries share, in one place, included one way: `#[macro_use] mod
//! support;` (then `support::engine::Tiny`, `support::kernels::…`, the `*_tests!` macros).
//! Each binary uses a part of it, hence `dead_code` is allowed here.
//!
//! The one exception is `alloc_counter.rs`: it installs a counting `#[global_allocator]`, so
//! only the binaries that measure allocations include it (`#[path = "support/alloc_counter.rs"]`).
#![allow(dead_code, unused_macros, unused_imports)]

#[macro_use]
pub mod kernels;
#[macro_use]
pub mod gpu;
#[macro_use]
pub mod gpu_ops;

pub mod conformance;
pub mod engine;
pub mod gemma_path;
pub mod gguf_small;
pub mod gpu_synthetic;
pub mod json;
pub mod oracle_json;
pub mod synthetic_blocks;
pub mod synthetic_models;
pub mod synthetic_vocab;
pub mod vocabs;
