//! Decoders for the packed fields of the block layouts, shared by the reference math and the
//! optimized kernels so the bit twiddling lives in one place.
//!
//! Every decoder reads a fixed-size block, so none of them can fail.

use super::blocks::{BlockQ3K, BlockQ4K, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ8_0};

/// The 8 six-bit scales and 8 six-bit mins of a Q4_K / Q5_K super-block.
///
/// Layout (ggml's `get_scale_min_k4`): bytes 0-3 hold scales 0-3 in their low 6 bits, bytes
/// 4-7 mins 0-3; scales and mins 4-7 take their low nibble from bytes 8-11 (scale low,
/// min high) and their top two bits from the spare top bits of bytes 0-3 / 4-7.
#[inline]
pub fn unpack_scale_min_k4(packed: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    for j in 0..4 {
        sc[j] = packed[j] & 63;
        mn[j] = packed[j + 4] & 63;
        sc[j + 4] = (packed[j + 8] & 0x0F) | ((packed[j] >> 6) << 4);
        mn[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
    }
    (sc, mn)
}

impl BlockQ4K {
    /// Six-bit sub-block scales and mins, one pair per 32 elements.
    #[inline]
    pub fn scales_mins(&self) -> ([u8; 8], [u8; 8]) {
        unpack_scale_min_k4(&self.scales)
    }
}

impl BlockQ5K {
    /// Six-bit sub-block scales and mins, one pair per 32 elements.
    #[inline]
    pub fn scales_mins(&self) -> ([u8; 8], [u8; 8]) {
        unpack_scale_min_k4(&self.scales)
    }
}

impl BlockQ3K {
    /// The 16 sub-block scales (one per 16 elements), already re-centred from the stored
    /// 6-bit 0..=63 to -32..=31.
    ///
    /// Scale `j` keeps its low nibble in byte `j` (j < 8) or the high nibble of byte `j - 8`,
    /// and its top two bits in byte `8 + j % 4` at bit `2 * (j / 4)`.
    #[inline]
    pub fn scales_i8(&self) -> [i8; 16] {
        let s = &self.scales;
        let mut out = [0i8; 16];
        for (j, o) in out.iter_mut().enumerate() {
            let low = if j < 8 { s[j] & 0x0F } else { s[j - 8] >> 4 };
            let high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
            // 0..=63 minus 32 always fits in i8.
            *o = (low | (high << 4)) as i8 - 32;
        }
        out
    }
}

impl BlockQ5_0 {
    /// The fifth bit of each of the 32 quants: bit `j` belongs to element `j`.
    #[inline]
    pub fn qh_bits(&self) -> u32 {
        u32::from_le_bytes(self.qh)
    }
}

impl BlockQ5_1 {
    /// The fifth bit of each of the 32 quants: bit `j` belongs to element `j`.
    #[inline]
    pub fn qh_bits(&self) -> u32 {
        u32::from_le_bytes(self.qh)
    }
}

impl BlockQ8_0 {
    /// Sum of the 32 quants. Q4_1/Q5_1 dot products need it for the min term; ggml keeps it
    /// precomputed in `block_q8_1`, we derive it from a plain Q8_0 block.
    #[inline]
    pub fn qs_sum(&self) -> i32 {
        self.qs.iter().map(|&q| i32::from(q)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs scales the way ggml's `quantize_row_q4_K_ref` does, independently of the decoder.
    fn pack_k4(sc: [u8; 8], mn: [u8; 8]) -> [u8; 12] {
        let mut p = [0u8; 12];
        for j in 0..8 {
            if j < 4 {
                p[j] = sc[j];
                p[j + 4] = mn[j];
            } else {
                p[j + 4] = (sc[j] & 0xF) | ((mn[j] & 0xF) << 4);
                p[j - 4] |= (sc[j] >> 4) << 6;
                p[j] |= (mn[j] >> 4) << 6;
            }
        }
        p
    }

    #[test]
    fn scale_min_k4_round_trips() {
        let sc = [0, 1, 31, 32, 63, 17, 42, 5];
        let mn = [63, 62, 0, 33, 1, 48, 15, 16];
        assert_eq!(unpack_scale_min_k4(&pack_k4(sc, mn)), (sc, mn));
    }

    #[test]
    fn q3k_scales_round_trip() {
        // ggml's quantize_row_q3_K_ref packing of l = scale + 32
        let want: [i8; 16] = [
            -32, -1, 0, 31, 5, -7, 12, -20, 30, -31, 1, 2, -3, 17, -16, 9,
        ];
        let mut s = [0u8; 12];
        for (j, &w) in want.iter().enumerate() {
            let l = (w as i32 + 32) as u8;
            if j < 8 {
                s[j] = l & 0xF;
            } else {
                s[j - 8] |= (l & 0xF) << 4;
            }
            s[j % 4 + 8] |= (l >> 4) << (2 * (j / 4));
        }
        let b = BlockQ3K {
            hmask: [0; 32],
            qs: [0; 64],
            scales: s,
            d: [0; 2],
        };
        assert_eq!(b.scales_i8(), want);
    }
}
