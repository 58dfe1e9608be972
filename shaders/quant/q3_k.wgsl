// Q3_K: 110-byte super-blocks of 256 weights: 32 bytes of high-bit planes (hmask), 64 bytes
// of 2-bit quants walked as in Q2_K, 12 bytes packing sixteen 6-bit scales, f16 d. A clear
// high bit means "subtract 4"; w = (d·(sc - 32))·q.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b + 108u);
    // Scale j: low nibble from byte j (j < 8) or the high nibble of byte j - 8; top two
    // bits from byte 8 + j % 4 at bit 2·(j / 4).
    let j = part / 2u;
    let low = (w_u8(b + 96u + j % 8u) >> ((j / 8u) * 4u)) & 0xfu;
    let high = (w_u8(b + 104u + j % 4u) >> ((j / 4u) * 2u)) & 3u;
    let dl = d * f32(i32(low | (high << 4u)) - 32);
    let i = (part % 4u) * 8u;
    let q = b + 32u + (part / 16u) * 32u + i;
    let s = ((part / 4u) % 4u) * 2u;
    let m = (part / 4u) % 8u;
    let lo = vec4<i32>(u8x4((w_u32(q) >> s) & 0x03030303u))
        - 4 + 4 * vec4<i32>(u8x4((w_u32(b + i) >> m) & 0x01010101u));
    let hi = vec4<i32>(u8x4((w_u32(q + 4u) >> s) & 0x03030303u))
        - 4 + 4 * vec4<i32>(u8x4((w_u32(b + i + 4u) >> m) & 0x01010101u));
    return D8(dl * vec4<f32>(lo), dl * vec4<f32>(hi));
}
