//! The engine shared by the K-quants (Q2_K … Q6_K), multiplied against Q8_K activations.
//!
//! Each type decodes a 256-element super-block into 32 i16x8 vectors with its integer
//! sub-block scales already multiplied in (every product fits i16: at most 63·31 for Q5_K,
//! 128·32 for Q6_K), plus its float `d`/`dmin` and, for the types with mins, the integer min of
//! each 16 elements. The super-block's dot product is then one exact i32 sum of 32
//! `i32x4.dot_i16x8_s`, the min term an integer dot of the mins with the activation's
//! `bsums`, and the float work is done once per super-block exactly as the reference does
//! it, so results are bit-identical to `quant::reference`.
//!
//! GEMM decodes a tile of 4 rows once into scratch and runs it against the activation rows
//! two at a time. (Decode GEMVs are fused per type, in the type files: there the sub-block
//! scales multiply i32 partial sums instead of the quants.)

use core::arch::wasm32::*;

use crate::quant::blocks::BlockQ8K;

use super::util::{hsum4_i32x4, load_bsums};

/// What a super-block decodes to besides its quants.
#[derive(Clone, Copy)]
pub(super) struct Meta {
    pub d: f32,
    pub dmin: f32,
    /// Integer min of each 16 elements, as i16 (elements 0-127, 128-255). Zero for the types
    /// without mins.
    pub mins: [v128; 2],
}

pub(super) trait SuperBlock {
    const BYTES: usize;
    const HAS_MIN: bool;
    /// Decodes the super-block at `p`: `q[i]` receives elements 8i..8i+8 times their integer
    /// sub-block scale.
    ///
    /// # Safety
    /// `p` must point at `BYTES` readable bytes.
    unsafe fn decode(p: *const u8, q: &mut [v128; 32]) -> Meta;
}

/// Σ_k mins[k] · bsums[k] as i32x4 lanes.
#[inline(always)]
fn dot_mins(mins: &[v128; 2], y: &BlockQ8K) -> v128 {
    let [b0, b1] = load_bsums(y);
    i32x4_add(i32x4_dot_i16x8(mins[0], b0), i32x4_dot_i16x8(mins[1], b1))
}

const R: usize = 4;

/// One decoded super-block of a 4-row tile: `q[i * R + r]` holds elements 8i..8i+8 of row r.
#[derive(Clone, Copy)]
struct TileSb {
    q: [v128; 32 * R],
    mins: [[v128; 2]; R],
    d: v128,
    dmin: v128,
}

/// `out[t * rows + r] = row r · y[t]` for `n` activation rows (`y` holds `n * nb` blocks).
pub(super) fn gemm<S: SuperBlock>(
    w: &[u8],
    rows: usize,
    nb: usize,
    n: usize,
    y: &[BlockQ8K],
    out: &mut [f32],
) {
    let row_bytes = nb * S::BYTES;
    let z = i16x8_splat(0);
    let zero = TileSb {
        q: [z; 32 * R],
        mins: [[z; 2]; R],
        d: f32x4_splat(0.0),
        dmin: f32x4_splat(0.0),
    };
    let mut tile = vec![zero; nb];
    let mut q = [z; 32];
    let mut r0 = 0;
    while r0 < rows {
        let take = (rows - r0).min(R);
        for (b, tb) in tile.iter_mut().enumerate() {
            let mut d = [0.0f32; R];
            let mut dmin = [0.0f32; R];
            for r in 0..R {
                if r < take {
                    // SAFETY: row r0 + r < rows and super-block b < nb: inside `w`.
                    let m = unsafe {
                        S::decode(w.as_ptr().add((r0 + r) * row_bytes + b * S::BYTES), &mut q)
                    };
                    for (i, &qi) in q.iter().enumerate() {
                        tb.q[i * R + r] = qi;
                    }
                    tb.mins[r] = m.mins;
                    d[r] = m.d;
                    dmin[r] = m.dmin;
                } else {
                    for i in 0..32 {
                        tb.q[i * R + r] = z;
                    }
                    tb.mins[r] = [z; 2];
                }
            }
            tb.d = f32x4(d[0], d[1], d[2], d[3]);
            tb.dmin = f32x4(dmin[0], dmin[1], dmin[2], dmin[3]);
        }
        let mut t = 0;
        while t + 2 <= n {
            let res = tile_tokens::<S, 2>(&tile, &y[t * nb..(t + 2) * nb], nb);
            for (i, v) in res.iter().enumerate() {
                out[(t + i) * rows + r0..][..take].copy_from_slice(&v[..take]);
            }
            t += 2;
        }
        if t < n {
            let res = tile_tokens::<S, 1>(&tile, &y[t * nb..(t + 1) * nb], nb);
            out[t * rows + r0..][..take].copy_from_slice(&res[0][..take]);
        }
        r0 += R;
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // register arrays, fully unrolled
fn tile_tokens<S: SuperBlock, const T: usize>(
    tile: &[TileSb],
    y: &[BlockQ8K],
    nb: usize,
) -> [[f32; R]; T] {
    let mut acc = [f32x4_splat(0.0); T];
    for (b, tb) in tile.iter().enumerate() {
        let yb: [&BlockQ8K; T] = core::array::from_fn(|t| &y[t * nb + b]);
        let mut isum = [[i32x4_splat(0); T]; R];
        for i in 0..32 {
            let xv: [v128; T] = core::array::from_fn(|t| {
                // SAFETY: `qs` has 256 bytes; load i reads bytes 8i..8i+8.
                unsafe { i16x8_load_extend_i8x8(yb[t].qs.as_ptr().add(8 * i)) }
            });
            for r in 0..R {
                let wv = tb.q[i * R + r];
                for t in 0..T {
                    isum[r][t] = i32x4_add(isum[r][t], i32x4_dot_i16x8(wv, xv[t]));
                }
            }
        }
        for t in 0..T {
            let s =
                f32x4_convert_i32x4(hsum4_i32x4(isum[0][t], isum[1][t], isum[2][t], isum[3][t]));
            let yd = f32x4_splat(yb[t].d);
            let mut term = f32x4_mul(f32x4_mul(tb.d, yd), s);
            if S::HAS_MIN {
                let m: [v128; R] = core::array::from_fn(|r| dot_mins(&tb.mins[r], yb[t]));
                let ms = f32x4_convert_i32x4(hsum4_i32x4(m[0], m[1], m[2], m[3]));
                term = f32x4_sub(term, f32x4_mul(f32x4_mul(tb.dmin, yd), ms));
            }
            acc[t] = f32x4_add(acc[t], term);
        }
    }
    core::array::from_fn(|t| {
        [
            f32x4_extract_lane::<0>(acc[t]),
            f32x4_extract_lane::<1>(acc[t]),
            f32x4_extract_lane::<2>(acc[t]),
            f32x4_extract_lane::<3>(acc[t]),
        ]
    })
}
