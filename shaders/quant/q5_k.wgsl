// Q5_K: 176-byte super-blocks of 256 weights: the K4 header (k4_scales.wgsl), 32 bytes of
// fifth bits (bit j of byte l for weight 32·j + l), then Q4_K's nibbles.
// w = (d·sc)·q - dmin·m, every product exact in f32.

fn dq8(b: u32, part: u32) -> D8 {
    let j = part / 4u;
    let sm = scale_min_k4(b + 4u, j);
    let dl = w_f16(b) * f32(sm.x);
    let ml = w_f16(b + 2u) * f32(sm.y);
    let l = (part % 4u) * 8u;
    let q = b + 48u + (j / 2u) * 32u + l;
    let s = (j & 1u) * 4u;
    let h0 = ((w_u32(b + 16u + l) >> j) & 0x01010101u) << 4u;
    let h1 = ((w_u32(b + 20u + l) >> j) & 0x01010101u) << 4u;
    let lo = vec4<f32>(u8x4(((w_u32(q) >> s) & 0x0f0f0f0fu) | h0));
    let hi = vec4<f32>(u8x4(((w_u32(q + 4u) >> s) & 0x0f0f0f0fu) | h1));
    return D8(dl * lo - ml, dl * hi - ml);
}
