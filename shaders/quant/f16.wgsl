// F16: little-endian halves, taken eight at a time as a virtual 16-byte block (so `b` is
// word-aligned). `unpack2x16float` is exact: every f16 is an f32.

fn dq8(b: u32, part: u32) -> D8 {
    let i = b >> 2u;
    let a = unpack2x16float(W[i]);
    let c = unpack2x16float(W[i + 1u]);
    let e = unpack2x16float(W[i + 2u]);
    let g = unpack2x16float(W[i + 3u]);
    return D8(vec4<f32>(a, c), vec4<f32>(e, g));
}
