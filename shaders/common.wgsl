// Byte access to a weight tensor held as raw GGUF blocks in `W: array<u32>` (little-endian).
// GGUF blocks are 18, 22, 34 … bytes, so fields are not 4-byte aligned: every load goes
// through these helpers. The tensor is padded to a multiple of 4 bytes, so the word after an
// unaligned field always exists.

fn w_u8(b: u32) -> u32 {
    return (W[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// `b` must be even (every f16 and u16 field in GGUF blocks is).
fn w_u16(b: u32) -> u32 {
    return (W[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu;
}

fn w_u32(b: u32) -> u32 {
    let s = (b & 3u) * 8u;
    let lo = W[b >> 2u];
    if (s == 0u) {
        return lo;
    }
    return (lo >> s) | (W[(b >> 2u) + 1u] << (32u - s));
}

fn w_f16(b: u32) -> f32 {
    return unpack2x16float(w_u16(b)).x;
}

// Four signed bytes of a word as floats (without the packed-integer language extension).
fn i8x4(w: u32) -> vec4<f32> {
    return vec4<f32>(vec4<i32>(
        i32(w << 24u) >> 24u,
        i32(w << 16u) >> 24u,
        i32(w << 8u) >> 24u,
        i32(w) >> 24u,
    ));
}

// Four bytes of a word as unsigned values.
fn u8x4(w: u32) -> vec4<u32> {
    return vec4<u32>(w & 0xffu, (w >> 8u) & 0xffu, (w >> 16u) & 0xffu, w >> 24u);
}

// Eight consecutive dequantized weights: the unit every matmul and lookup kernel works in
// (every block length is a multiple of 8).
struct D8 {
    lo: vec4<f32>,
    hi: vec4<f32>,
}
