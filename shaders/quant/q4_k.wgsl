// Q4_K: 144-byte super-blocks of 256 weights: f16 d, f16 dmin, 12 bytes packing eight 6-bit
// scales and mins (one pair per 32 weights), 128 bytes of nibbles: each 64 weights read 32
// bytes, low nibbles first. w = (d·sc)·q - dmin·m, every product exact in f32.

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

fn dq8(b: u32, part: u32) -> D8 {
    let j = part / 4u;
    let sm = scale_min_k4(b + 4u, j);
    let dl = w_f16(b) * f32(sm.x);
    let ml = w_f16(b + 2u) * f32(sm.y);
    let q = b + 16u + (j / 2u) * 32u + (part % 4u) * 8u;
    let s = (j & 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu));
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu));
    return D8(dl * lo - ml, dl * hi - ml);
}
