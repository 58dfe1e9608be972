// BF16: little-endian bfloat16, eight at a time as a virtual 16-byte block. A bfloat16 is
// the top half of an f32, so widening is a shift: exact.

fn bf16x2(w: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xffff0000u));
}

fn dq8(b: u32, part: u32) -> D8 {
    let i = b >> 2u;
    return D8(
        vec4<f32>(bf16x2(W[i]), bf16x2(W[i + 1u])),
        vec4<f32>(bf16x2(W[i + 2u]), bf16x2(W[i + 3u])),
    );
}
