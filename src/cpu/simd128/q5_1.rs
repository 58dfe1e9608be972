//! Q5_1 weights (`d: f16, m: f16, qh: u32, qs: [u8; 16]`, y = d·(nibble | bit << 4) + m) ·
//! Q8_0 activations. Same unpacking as Q5_0 with table lanes 16 / 0.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::block32::Block32;
use super::nibbles::{nibbles16, BitLut};
#[cfg(target_feature = "relaxed-simd")]
use super::nibbles::{nibbles_u8, ByteLut};
use super::util::{load_f16, load_u32};

pub(super) struct Q5_1;

static HIGH_BIT: BitLut = BitLut::new(16, 0);

#[cfg(target_feature = "relaxed-simd")]
static FIFTH_BIT: ByteLut = ByteLut::new();

impl Block32 for Q5_1 {
    const RELAXED: bool = true;
    const RELAXED_OFFSET: i32 = 0;
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn decode_u7(p: *const u8) -> [v128; 2] {
        // SAFETY: qh is bytes 4..8 and qs bytes 8..24 of the block.
        let (qh, n) = unsafe { (load_u32(p.add(4)), nibbles_u8(p.add(8))) };
        let h = FIFTH_BIT.lookup(qh);
        [v128_or(n[0], h[0]), v128_or(n[1], h[1])]
    }
    const BYTES: usize = GgmlType::Q5_1.block_bytes();
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
        // SAFETY: qh is bytes 4..8 and qs bytes 8..24 of the block.
        let (qh, n) = unsafe { (load_u32(p.add(4)), nibbles16(p.add(8))) };
        let h = HIGH_BIT.lookup(qh);
        [
            v128_or(n[0], h[0]),
            v128_or(n[1], h[1]),
            v128_or(n[2], h[2]),
            v128_or(n[3], h[3]),
        ]
    }
}
