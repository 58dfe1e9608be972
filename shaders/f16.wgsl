// f32 → f16 with round-to-nearest-even, in integer arithmetic. `pack2x16float` leaves the
// rounding to the implementation (lavapipe truncates), and the CPU path — like llama.cpp —
// rounds to nearest even where it stores f16 (KV cache, GELU table, queries), so the GPU
// does the same bit for bit.
fn f16_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    let sign = (b >> 16u) & 0x8000u;
    let a = b & 0x7fffffffu;
    if (a >= 0x7f800000u) {
        // inf stays inf, NaN stays a (quiet) NaN
        return sign | 0x7c00u | select(0u, 0x200u, a > 0x7f800000u);
    }
    if (a >= 0x477ff000u) {
        return sign | 0x7c00u;
    }
    if (a < 0x38800000u) {
        if (a <= 0x33000000u) {
            return sign;
        }
        // f16 subnormal: the value in units of 2^-24
        let shift = 126u - (a >> 23u);
        let m = (a & 0x7fffffu) | 0x800000u;
        var q = m >> shift;
        let rem = m & ((1u << shift) - 1u);
        let half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u) == 1u)) {
            q += 1u;
        }
        return sign | q;
    }
    var h = (((a >> 23u) - 112u) << 10u) | ((a & 0x7fffffu) >> 13u);
    let rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) {
        h += 1u;
    }
    return sign | h;
}

fn f16_pack(a: f32, b: f32) -> u32 {
    return f16_bits(a) | (f16_bits(b) << 16u);
}

fn f16r(x: f32) -> f32 {
    return unpack2x16float(f16_bits(x)).x;
}
