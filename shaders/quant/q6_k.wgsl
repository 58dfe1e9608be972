// Q6_K: 210-byte super-blocks of 256 weights: 128 bytes of low nibbles (ql), 64 bytes of
// 2-bit high parts (qh), sixteen signed 8-bit scales, f16 d. In each 128-weight half, weight
// l + 32k (k = 0..3) takes nibble k / 2 of ql[l + 32·(k % 2)] and bits 2k..2k+1 of qh[l];
// w = (d·sc)·(q - 32), multiplied in that order as the reference does.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b + 208u);
    let sc = i32(w_u8(b + 192u + part / 2u) << 24u) >> 24u;
    let dl = d * f32(sc);
    let half = part / 16u;
    let k = (part / 4u) % 4u;
    let l = (part % 4u) * 8u;
    let ql = b + half * 64u + (k % 2u) * 32u + l;
    let qh = b + 128u + half * 32u + l;
    let s = (k / 2u) * 4u;
    let t = 2u * k;
    let lo = ((w_u32(ql) >> s) & 0x0f0f0f0fu) | (((w_u32(qh) >> t) & 0x03030303u) << 4u);
    let hi = ((w_u32(ql + 4u) >> s) & 0x0f0f0f0fu) | (((w_u32(qh + 4u) >> t) & 0x03030303u) << 4u);
    return D8(dl * (vec4<f32>(u8x4(lo)) - 32.0), dl * (vec4<f32>(u8x4(hi)) - 32.0));
}
