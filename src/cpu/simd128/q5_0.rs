//! Q5_0 weights (`d: f16, qh: u32, qs: [u8; 16]`, q = (nibble | bit << 4) − 16) · Q8_0
//! activations.
//!
//! This type is bound by unpacking, not by memory. The nibbles are unpacked straight into
//! i16 lanes (`u16x8.load8x8_u`, and/shift), and the fifth bits come from a 4 KiB table
//! indexed by each byte of `qh`, whose lanes are 0 (bit set) or −16 (bit clear): one OR
//! then gives `q − 16` directly — no sign-extension step and no shuffles.

use crate::quant::GgmlType;
use core::arch::wasm32::*;

use super::block32::Block32;
use super::nibbles::{nibbles16, BitLut};
#[cfg(target_feature = "relaxed-simd")]
use super::nibbles::{nibbles_u8, ByteLut};
use super::util::{load_f16, load_u32};

pub(super) struct Q5_0;

static HIGH_BIT: BitLut = BitLut::new(0, -16);

#[cfg(target_feature = "relaxed-simd")]
static FIFTH_BIT: ByteLut = ByteLut::new();

impl Block32 for Q5_0 {
    const RELAXED: bool = true;
    const RELAXED_OFFSET: i32 = 16;
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn decode_u7(p: *const u8) -> [v128; 2] {
        // SAFETY: qh is bytes 2..6 and qs bytes 6..22 of the block.
        let (qh, n) = unsafe { (load_u32(p.add(2)), nibbles_u8(p.add(6))) };
        let h = FIFTH_BIT.lookup(qh);
        [v128_or(n[0], h[0]), v128_or(n[1], h[1])]
    }
    const BYTES: usize = GgmlType::Q5_0.block_bytes();
    #[inline(always)]
    unsafe fn scale(p: *const u8) -> f32 {
        // SAFETY: the scale is bytes 0..2 of the block.
        unsafe { load_f16(p) }
    }
    #[inline(always)]
    unsafe fn decode(p: *const u8) -> [v128; 4] {
        // SAFETY: qh is bytes 2..6 and qs bytes 6..22 of the block.
        let (qh, n) = unsafe { (load_u32(p.add(2)), nibbles16(p.add(6))) };
        let h = HIGH_BIT.lookup(qh);
        [
            v128_or(n[0], h[0]),
            v128_or(n[1], h[1]),
            v128_or(n[2], h[2]),
            v128_or(n[3], h[3]),
        ]
    }
}
