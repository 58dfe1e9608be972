// Q8_0: 34-byte blocks of 32 weights: f16 scale d, then 32 signed bytes q; w = d·q.

fn dq8(b: u32, part: u32) -> D8 {
    let d = w_f16(b);
    let q = b + 2u + part * 8u;
    return D8(d * i8x4(w_u32(q)), d * i8x4(w_u32(q + 4u)));
}
