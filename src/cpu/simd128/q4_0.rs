//! Q4_0 weights (`d: f16, qs: [u8; 16]`, q = nibble − 8) · Q8_0 activations.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::block32::Block32;
use super::nibbles::nibbles16;
#[cfg(target_feature = "relaxed-simd")]
use super::nibbles::nibbles_u8;
use super::util::load_f16;

pub(super) struct Q4_0;

impl Block32 for Q4_0 {
    const RELAXED: bool = true;
    const RELAXED_OFFSET: i32 = 8;
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn decode_u7(p: *const u8) -> [v128; 2] {
        // SAFETY: the quants are bytes 2..18 of the block.
        unsafe { nibbles_u8(p.add(2)) }
    }
    const BYTES: usize = GgmlType::Q4_0.block_bytes();
    #[inline(always)]
    unsafe fn scale(p: *const u8) -> f32 {
        // SAFETY: the scale is bytes 0..2 of the block.
        unsafe { load_f16(p) }
    }
    #[inline(always)]
    unsafe fn decode(p: *const u8) -> [v128; 4] {
        // SAFETY: the quants are bytes 2..18 of the block.
        let n = unsafe { nibbles16(p.add(2)) };
        let eight = i16x8_splat(8);
        n.map(|v| i16x8_sub(v, eight))
    }
    /// The reference computes `sumi · d_w · d_x` left to right.
    #[inline(always)]
    fn term(sumi: v128, dw: v128, dx: f32) -> v128 {
        f32x4_mul(f32x4_mul(sumi, dw), f32x4_splat(dx))
    }
}
