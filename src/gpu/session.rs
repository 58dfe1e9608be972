//! The forward pass on the GPU (filled in below).
pub struct GpuSession;
