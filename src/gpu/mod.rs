//! The WebGPU backend: the whole forward pass on the GPU, through wgpu.
//!
//! On wasm32 wgpu's `webgpu` backend drives the browser's WebGPU; natively the same WGSL runs
//! through Vulkan (lavapipe in CI), which is how `cargo test` checks every kernel against the
//! CPU path without a browser.
//!
//! * [`device`]: adapter and device (with the adapter's real limits), pipeline cache, error
//!   and device-loss tracking;
//! * [`shaders`]: the WGSL files of `shaders/` and how a kernel is composed from them;
//! * [`batch`]: one command submission of many dispatches, with their uniforms in one
//!   buffer, and readbacks that never block;
//! * [`tensor`]: weights uploaded once in their GGUF block layout, split by rows when larger
//!   than a storage binding may be;
//! * [`ops`]: the kernels as typed calls;
//! * [`exec`]: the executor of the model's graph (one [`Batch`] per chunk);
//! * [`session`]: a sequence over a GPU KV cache, evaluated by the executor.

pub mod batch;
pub mod device;
mod exec;
pub mod ops;
pub mod session;
pub mod shaders;
pub mod tensor;

pub use batch::Batch;
pub use device::{Gpu, GpuOptions};
pub use session::GpuSession;
pub use tensor::{GpuBuffer, GpuMatrix};

/// Whether the GPU kernels can take weights of this type.
pub fn supports(ty: crate::quant::GgmlType) -> bool {
    shaders::decoder(ty).is_some()
}
