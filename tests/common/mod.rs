//! Code shared by several test binaries (each includes it with `#[macro_use] mod common;`).

#[macro_use]
pub mod kernels;

#[macro_use]
pub mod gpu;

#[macro_use]
pub mod gpu_ops;
