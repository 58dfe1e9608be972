// Q2_K: 84-byte super-blocks of 256 weights: 16 scale bytes (4-bit scale, 4-bit min per 16
// weights), 64 bytes of 2-bit quants, f16 d, f16 dmin. Weight e sits in byte
// 32·(e / 128) + e % 32 at bit 2·((e / 32) % 4); w = (d·sc)·q - dmin·m, every product exact
// in f32, so contraction into a fused multiply-add cannot change the result.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b + 80u);
    let dmin = w_f16(b + 82u);
    let sc = w_u8(b + part / 2u);
    let dl = d * f32(sc & 0xfu);
    let ml = dmin * f32(sc >> 4u);
    let q = b + 16u + (part / 16u) * 32u + (part % 4u) * 8u;
    let s = ((part / 4u) % 4u) * 2u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x03030303u));
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x03030303u));
    return D8(dl * lo - ml, dl * hi - ml);
}
