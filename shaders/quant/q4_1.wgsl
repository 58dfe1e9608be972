// Q4_1: 20-byte blocks of 32 weights: f16 scale d, f16 min m, then nibbles as in Q4_0;
// w = q·d + m. q·d is exact in f32 (4 × 11 significant bits), so a fused multiply-add
// rounds the same as the reference's separate multiply and add.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let m = w_f16(b + 2u);
    let q = b + 4u + (part & 1u) * 8u;
    let s = (part >> 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu));
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu));
    return D8(lo * d + m, hi * d + m);
}

// The Q8_1 path (gemv/gemm with Q8_1_SUMS): q·d alone, the min added once per block as
// m · s with the activation block's sum s.
fn dq8_scaled(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let q = b + 4u + (part & 1u) * 8u;
    let s = (part >> 1u) * 4u;
    let lo = vec4<f32>(u8x4((w_u32(q) >> s) & 0x0f0f0f0fu));
    let hi = vec4<f32>(u8x4((w_u32(q + 4u) >> s) & 0x0f0f0f0fu));
    return D8(lo * d, hi * d);
}

fn block_min(b: u32) -> f32 {
    return w_f16(b + 2u);
}
