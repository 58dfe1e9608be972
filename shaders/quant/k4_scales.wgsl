// Shared by Q4_K and Q5_K, whose super-blocks start with the same header: f16 d, f16 dmin,
// then 12 bytes packing eight 6-bit scales and mins (one pair per 32 weights).

// The 6-bit scale and min of sub-block j (ggml's get_scale_min_k4); `s` is the byte of
// the packed scales.
fn scale_min_k4(s: u32, j: u32) -> vec2<u32> {
    if (j < 4u) {
        return vec2<u32>(w_u8(s + j) & 63u, w_u8(s + j + 4u) & 63u);
    }
    let x = w_u8(s + j + 4u);
    return vec2<u32>(
        (x & 0xfu) | ((w_u8(s + j - 4u) >> 6u) << 4u),
        (x >> 4u) | ((w_u8(s + j) >> 6u) << 4u),
    );
}
