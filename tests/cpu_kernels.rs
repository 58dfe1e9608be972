//! Native run of the shared kernel tests (tests/support/kernels.rs): here `cpu::matmul` is the
//! scalar reference, so these check the dispatch, the argument validation and the reference
//! against the gguf-py oracle. The SIMD128 kernels are checked by node_kernels / web_kernels.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

kernel_tests!(test);
