// Q4_K: 144-byte super-blocks of 256 weights: the K4 header (k4_scales.wgsl), then 128
// bytes of nibbles: each 64 weights read 32 bytes, low nibbles first.
// w = (d·sc)·q - dmin·m, every product exact in f32.

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
