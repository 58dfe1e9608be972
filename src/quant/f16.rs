//! The one f16 ↔ f32 conversion of the crate (block scales, the f16 KV cache, F16 weights).

/// f16 bits → f32 without branches, so a loop over a row vectorizes and a kernel's per-block
/// scale costs a few integer ops (`half`'s portable routine is long and branchy, and V8 has no
/// f16 instruction). Exact for every input: the exponent is rebased by multiplying by 2^112
/// (which also normalizes subnormals), and infinities/NaNs get the all-ones exponent back.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let em = h & 0x7fff;
    let sign = (h & 0x8000) << 16;
    let v = f32::from_bits(em << 13) * f32::from_bits(0x7780_0000); // × 2^112
    let bits = v.to_bits() | if em >= 0x7c00 { 0x7f80_0000 } else { 0 };
    f32::from_bits(bits | sign)
}

/// f32 → f16 bits, round to nearest even (ggml `GGML_FP32_TO_FP16`).
#[inline]
pub fn f32_to_f16(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_is_exact_for_every_value() {
        for h in 0..=u16::MAX {
            let want = half::f16::from_bits(h).to_f32();
            let got = f16_to_f32(h);
            if want.is_nan() {
                assert!(got.is_nan(), "{h:#06x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{h:#06x}");
            }
            if !want.is_nan() {
                assert_eq!(f32_to_f16(want), h, "{h:#06x} round trip");
            }
        }
    }
}
