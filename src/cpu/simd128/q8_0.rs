//! Q8_0 weights (`d: f16, qs: [i8; 32]`) · Q8_0 activations. The quants are already i8, so a
//! block is four `i16x8.load8x8_s` loads: the kernel is a streaming read plus
//! `i32x4.dot_i16x8_s`.

use crate::quant::GgmlType;
use core::arch::wasm32::v128;

use super::block32::Block32;
use super::util::{load_f16, load_i8x32_as_i16};

pub(super) struct Q8_0;

impl Block32 for Q8_0 {
    const BYTES: usize = GgmlType::Q8_0.block_bytes();
    const FENCE: bool = false;
    #[inline(always)]
    unsafe fn scale(p: *const u8) -> f32 {
        // SAFETY: the scale is bytes 0..2 of the block.
        unsafe { load_f16(p) }
    }
    #[inline(always)]
    unsafe fn decode(p: *const u8) -> [v128; 4] {
        // SAFETY: the quants are bytes 2..34 of the block.
        unsafe { load_i8x32_as_i16(p.add(2) as *const i8) }
    }
}
