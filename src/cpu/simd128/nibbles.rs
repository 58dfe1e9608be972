//! Unpacking shared by the 4- and 5-bit 32-element types.

use core::arch::wasm32::*;

/// The 32 nibbles of a 16-byte `qs` field as i16x8 vectors for elements 0-7, 8-15 (low
/// nibbles) and 16-23, 24-31 (high nibbles), ggml's element order.
///
/// # Safety
/// `qs` must point at 16 readable bytes.
#[inline(always)]
pub(super) unsafe fn nibbles16(qs: *const u8) -> [v128; 4] {
    // SAFETY: the caller guarantees 16 readable bytes: two 8-byte loads.
    let (a, b) = unsafe {
        (
            u16x8_load_extend_u8x8(qs),
            u16x8_load_extend_u8x8(qs.add(8)),
        )
    };
    let m = u16x8_splat(0x0F);
    [
        v128_and(a, m),
        v128_and(b, m),
        u16x8_shr(a, 4),
        u16x8_shr(b, 4),
    ]
}

/// For each value of a byte of `qh`: eight i16 lanes, lane j = `set` if bit j is set, else
/// `clear`. 4 KiB: stays in L1.
#[repr(C, align(16))]
pub(super) struct BitLut([[i16; 8]; 256]);

impl BitLut {
    pub(super) const fn new(set: i16, clear: i16) -> Self {
        let mut t = [[0i16; 8]; 256];
        let mut b = 0;
        while b < 256 {
            let mut j = 0;
            while j < 8 {
                t[b][j] = if b & (1 << j) != 0 { set } else { clear };
                j += 1;
            }
            b += 1;
        }
        BitLut(t)
    }

    /// The four lane vectors for the 32 bits of `qh` (elements 0-7, 8-15, 16-23, 24-31).
    #[inline(always)]
    pub(super) fn lookup(&self, qh: u32) -> [v128; 4] {
        let p = self.0.as_ptr();
        // SAFETY: each index is a byte (< 256), so every load reads one 16-byte row of the table.
        unsafe {
            [
                v128_load(p.add((qh & 0xff) as usize) as *const v128),
                v128_load(p.add(((qh >> 8) & 0xff) as usize) as *const v128),
                v128_load(p.add(((qh >> 16) & 0xff) as usize) as *const v128),
                v128_load(p.add((qh >> 24) as usize) as *const v128),
            ]
        }
    }
}

/// The 16 nibbles of `qs` as bytes: low nibbles (elements 0-15), high nibbles (16-31).
///
/// # Safety
/// `qs` must point at 16 readable bytes.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
pub(super) unsafe fn nibbles_u8(qs: *const u8) -> [v128; 2] {
    // SAFETY: the caller guarantees 16 readable bytes.
    let v = unsafe { v128_load(qs as *const v128) };
    [v128_and(v, u8x16_splat(0x0F)), u8x16_shr(v, 4)]
}

/// For each value of a byte of `qh`: eight bytes, byte j = 0x10 if bit j is set (2 KiB).
#[cfg(target_feature = "relaxed-simd")]
pub(super) struct ByteLut([u64; 256]);

#[cfg(target_feature = "relaxed-simd")]
impl ByteLut {
    pub(super) const fn new() -> Self {
        let mut t = [0u64; 256];
        let mut b = 0;
        while b < 256 {
            let mut j = 0;
            while j < 8 {
                if b & (1 << j) != 0 {
                    t[b] |= 0x10 << (8 * j);
                }
                j += 1;
            }
            b += 1;
        }
        ByteLut(t)
    }

    /// The fifth bits (as 0x10 / 0) of the 32 elements of `qh`: elements 0-15, 16-31.
    #[inline(always)]
    pub(super) fn lookup(&self, qh: u32) -> [v128; 2] {
        let t = &self.0;
        [
            u64x2(t[(qh & 0xff) as usize], t[((qh >> 8) & 0xff) as usize]),
            u64x2(t[((qh >> 16) & 0xff) as usize], t[(qh >> 24) as usize]),
        ]
    }
}
