// F32: plain little-endian floats, taken eight at a time as a virtual 32-byte block.

fn dq8(b: u32, part: u32) -> D8 {
    let i = b >> 2u;
    return D8(
        bitcast<vec4<f32>>(vec4<u32>(W[i], W[i + 1u], W[i + 2u], W[i + 3u])),
        bitcast<vec4<f32>>(vec4<u32>(W[i + 4u], W[i + 5u], W[i + 6u], W[i + 7u])),
    );
}
