//! GGUF block layouts, byte for byte as ggml's `ggml-common.h` defines them.
//!
//! f16 scales are stored as `[u8; 2]` rather than `half::f16` so every weight block has
//! alignment 1: a block slice can then be viewed in place at any byte offset of the file
//! (zero-copy), whatever the alignment of the buffer the file landed in.

use super::types::{QK32, QK_K};
use bytemuck::{Pod, Zeroable};

/// Little-endian f16 stored as two bytes.
#[inline(always)]
pub fn f16_le(b: [u8; 2]) -> f32 {
    super::f16::f16_to_f32(u16::from_le_bytes(b))
}

/// f32 → little-endian f16 bytes (round to nearest even, as ggml's `GGML_FP32_TO_FP16`).
#[inline(always)]
pub fn f16_bytes(x: f32) -> [u8; 2] {
    super::f16::f32_to_f16(x).to_le_bytes()
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK32 / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK32 / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK32 / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK32 / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK32],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ2K {
    /// 4-bit scale (low nibble) and 4-bit min (high nibble) per 16 elements.
    pub scales: [u8; QK_K / 16],
    pub qs: [u8; QK_K / 4],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ3K {
    pub hmask: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 4],
    /// 16 six-bit scales packed into 12 bytes.
    pub scales: [u8; 12],
    pub d: [u8; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    /// 8 six-bit scales and 8 six-bit mins packed into 12 bytes.
    pub scales: [u8; 12],
    pub qs: [u8; QK_K / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; 12],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

/// Activation block for K-quant dot products. Only ever produced by us, so it keeps its
/// natural alignment (f32 scale, i16 sums) like ggml's `block_q8_K`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    /// Sum of each group of 16 quants.
    pub bsums: [i16; QK_K / 16],
}

// The sizes DEVELOPERS.md lists, checked against the layouts at compile time.
const _: () = assert!(core::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(core::mem::size_of::<BlockQ4_1>() == 20);
const _: () = assert!(core::mem::size_of::<BlockQ5_0>() == 22);
const _: () = assert!(core::mem::size_of::<BlockQ5_1>() == 24);
const _: () = assert!(core::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(core::mem::size_of::<BlockQ2K>() == 84);
const _: () = assert!(core::mem::size_of::<BlockQ3K>() == 110);
const _: () = assert!(core::mem::size_of::<BlockQ4K>() == 144);
const _: () = assert!(core::mem::size_of::<BlockQ5K>() == 176);
const _: () = assert!(core::mem::size_of::<BlockQ6K>() == 210);
const _: () = assert!(core::mem::size_of::<BlockQ8K>() == 292);
// Weight blocks must be viewable at any byte offset.
const _: () = assert!(core::mem::align_of::<BlockQ4_0>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ5_0>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ8_0>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ2K>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ3K>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ4K>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ5K>() == 1);
const _: () = assert!(core::mem::align_of::<BlockQ6K>() == 1);
