// Q5_0: 22-byte blocks of 32 weights: f16 scale d, 32 fifth bits (bit j for weight j), then
// nibbles as in Q4_0; w = (q - 16)·d.

// The four fifth bits of `h` (from bit 0) moved to bit 4 of each lane.
fn q5_high(h: u32) -> vec4<u32> {
    return ((vec4<u32>(h) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
}

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let h = w_u32(b + 2u) >> (part * 8u);
    let q = b + 6u + (part & 1u) * 8u;
    let s = (part >> 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu) | q5_high(h)) - 16.0;
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu) | q5_high(h >> 4u)) - 16.0;
    return D8(lo * d, hi * d);
}
