// Q5_1: 24-byte blocks of 32 weights: f16 scale d, f16 min m, fifth bits as in Q5_0, then
// nibbles; w = q·d + m (q·d exact in f32, so a fused multiply-add changes nothing).

fn q5_high(h: u32) -> vec4<u32> {
    return ((vec4<u32>(h) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
}

// The eight 5-bit quants of `part`, scaled by d.
fn q5_1_scaled(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let h = w_u32(b + 4u) >> (part * 8u);
    let q = b + 8u + (part & 1u) * 8u;
    let s = (part >> 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu) | q5_high(h));
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu) | q5_high(h >> 4u));
    return D8(lo * d, hi * d);
}

fn dq8(b: u32, part: u32) -> D8 {
    let m = w_f16(b + 2u);
    let s = q5_1_scaled(b, part);
    return D8(s.lo + m, s.hi + m);
}

// The Q8_1 path (gemv/gemm with Q8_1_SUMS): q·d alone, the min added once per block as
// m · s with the activation block's sum s.
fn dq8_scaled(b: u32, part: u32) -> D8 {
    return q5_1_scaled(b, part);
}

fn block_min(b: u32) -> f32 {
    return w_f16(b + 2u);
}
