//! Q4_1 weights (`d: f16, m: f16, qs: [u8; 16]`, y = d·q + m) · Q8_0 activations; the min
//! term uses the activation block's `d · Σq`.

use crate::quant::GgmlType;
use core::arch::wasm32::v128;

use super::block32::Block32;
use super::nibbles::nibbles16;
#[cfg(target_feature = "relaxed-simd")]
use super::nibbles::nibbles_u8;
use super::util::load_f16;

pub(super) struct Q4_1;

impl Block32 for Q4_1 {
    const RELAXED: bool = true;
    const RELAXED_OFFSET: i32 = 0;
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn decode_u7(p: *const u8) -> [v128; 2] {
        // SAFETY: the quants are bytes 4..20 of the block.
        unsafe { nibbles_u8(p.add(4)) }
    }
    const BYTES: usize = GgmlType::Q4_1.block_bytes();
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn scale(p: *const u8) -> f32 {
        // SAFETY: d is bytes 0..2 of the block.
        unsafe { load_f16(p) }
    }
    #[inline(always)]
    unsafe fn min(p: *const u8) -> f32 {
        // SAFETY: m is bytes 2..4 of the block.
        unsafe { load_f16(p.add(2)) }
    }
    #[inline(always)]
    unsafe fn decode(p: *const u8) -> [v128; 4] {
        // SAFETY: the quants are bytes 4..20 of the block.
        unsafe { nibbles16(p.add(4)) }
    }
}
