// Q4_0: 18-byte blocks of 32 weights: f16 scale d, then 16 bytes whose low nibbles are
// weights 0..15 and high nibbles 16..31; w = (q - 8)·d.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let q = b + 2u + (part & 1u) * 8u;
    let s = (part >> 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu)) - 8.0;
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu)) - 8.0;
    return D8(lo * d, hi * d);
}
