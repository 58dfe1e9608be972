//! F32, F16 and BF16 weights · f32 activations. Products are formed in f32 exactly as the
//! reference does (`w as f32 * x`) and accumulated in f64 lanes like its f64 sum.

use core::arch::wasm32::*;

use crate::quant::GgmlType;

/// Eight little-endian f16 → two f32x4, exactly: the finite fast path of
/// `util::f16x4_finite_to_f32`, and the full conversion when a lane is Inf/NaN.
#[inline(always)]
fn f16x8_to_f32(h: v128) -> [v128; 2] {
    let exp31 = i16x8_eq(v128_and(h, u16x8_splat(0x7c00)), u16x8_splat(0x7c00));
    if !v128_any_true(exp31) {
        return [u32x4_extend_low_u16x8(h), u32x4_extend_high_u16x8(h)]
            .map(super::util::f16x4_finite_to_f32);
    }
    f16x8_to_f32_full(h)
}

#[cold]
#[inline(never)]
fn f16x8_to_f32_full(h: v128) -> [v128; 2] {
    [u32x4_extend_low_u16x8(h), u32x4_extend_high_u16x8(h)].map(|h| {
        let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
        let em = v128_and(h, u32x4_splat(0x7fff));
        let normal = i32x4_add(i32x4_shl(em, 13), u32x4_splat(112 << 23));
        let sub = f32x4_mul(f32x4_convert_i32x4(em), f32x4_splat(1.0 / 16_777_216.0));
        let inf = v128_or(i32x4_shl(em, 13), u32x4_splat(0x7f80_0000));
        let big = v128_bitselect(inf, normal, i32x4_ge(em, i32x4_splat(0x7c00)));
        v128_or(
            v128_bitselect(sub, big, i32x4_lt(em, i32x4_splat(0x400))),
            sign,
        )
    })
}

#[inline(always)]
fn bf16x8_to_f32(h: v128) -> [v128; 2] {
    [
        i32x4_shl(u32x4_extend_low_u16x8(h), 16),
        i32x4_shl(u32x4_extend_high_u16x8(h), 16),
    ]
}

/// Eight weights starting at element `i` of the row at `p`, as two f32x4.
///
/// # Safety
/// The row at `p` must hold at least `i + 8` elements of type `ty`.
#[inline(always)]
unsafe fn load8(ty: GgmlType, p: *const u8, i: usize) -> [v128; 2] {
    // SAFETY: elements i..i+8 are inside the row (caller), 32 bytes for F32, 16 for F16/BF16.
    unsafe {
        match ty {
            GgmlType::F32 => {
                let q = p.add(4 * i) as *const v128;
                [v128_load(q), v128_load(q.add(1))]
            }
            GgmlType::F16 => f16x8_to_f32(v128_load(p.add(2 * i) as *const v128)),
            _ => bf16x8_to_f32(v128_load(p.add(2 * i) as *const v128)),
        }
    }
}

#[inline(always)]
fn widen_add(acc: v128, prod: v128) -> v128 {
    f64x2_add(
        f64x2_add(acc, f64x2_promote_low_f32x4(prod)),
        f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(prod, prod)),
    )
}

/// Dot of one weight row (at `p`, `cols` elements of `ty`) with `x`. Each group of 32
/// products is summed in f32 as a tree (8 terms per lane, 3 roundings deep), then added into
/// f64 lanes: within 4·2⁻²⁴·Σ|w·x| of the reference's f64 sum.
#[inline(always)]
fn row_dot(ty: GgmlType, p: *const u8, x: &[f32]) -> f32 {
    let cols = x.len();
    let main = cols / 32 * 32;
    let mut acc = f64x2_splat(0.0);
    let mut i = 0;
    while i < main {
        let mut prods = [f32x4_splat(0.0); 8];
        for q in 0..4 {
            let j = i + 8 * q;
            // SAFETY: j + 8 ≤ main ≤ cols: the weights are in the row, x[j..j+8] in `x`.
            unsafe {
                let wv = load8(ty, p, j);
                let xp = x.as_ptr().add(j) as *const v128;
                prods[2 * q] = f32x4_mul(wv[0], v128_load(xp));
                prods[2 * q + 1] = f32x4_mul(wv[1], v128_load(xp.add(1)));
            }
        }
        let s = f32x4_add(
            f32x4_add(f32x4_add(prods[0], prods[1]), f32x4_add(prods[2], prods[3])),
            f32x4_add(f32x4_add(prods[4], prods[5]), f32x4_add(prods[6], prods[7])),
        );
        acc = widen_add(acc, s);
        i += 32;
    }
    let mut sum = f64x2_extract_lane::<0>(acc) + f64x2_extract_lane::<1>(acc);
    for (j, &xj) in x.iter().enumerate().skip(main) {
        // SAFETY: j < cols: element j is inside the row.
        let w = unsafe {
            match ty {
                GgmlType::F32 => f32::from_le_bytes(*(p.add(4 * j) as *const [u8; 4])),
                GgmlType::F16 => {
                    super::util::f16_to_f32(u16::from_le_bytes(*(p.add(2 * j) as *const [u8; 2])))
                }
                _ => f32::from_bits(
                    u32::from(u16::from_le_bytes(*(p.add(2 * j) as *const [u8; 2]))) << 16,
                ),
            }
        };
        sum += f64::from(w * xj);
    }
    sum as f32
}

/// `out[t * rows + r] = row r · x[t]`; sizes checked by the caller. Each row is read once
/// for all activation rows (it stays in L1 while they pass).
pub(super) fn matmul(ty: GgmlType, w: &[u8], rows: usize, cols: usize, x: &[f32], out: &mut [f32]) {
    let row_bytes = w.len() / rows;
    for (r, row) in w.chunks_exact(row_bytes).enumerate() {
        for (t, xt) in x.chunks_exact(cols).enumerate() {
            out[t * rows + r] = row_dot(ty, row.as_ptr(), xt);
        }
    }
}
