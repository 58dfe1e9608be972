//! The engine shared by the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), which are
//! multiplied against Q8_0 activations. Each type only says how to read its scale (and min)
//! and how to turn one block into 32 i16 quants; this module does the integer dot products
//! (`i32x4.dot_i16x8_s`) and applies one float scale per block.
//!
//! * GEMV walks 4 weight rows at a time, one from each quarter of the matrix (4 sequential
//!   streams far apart), loads each activation block once for the 4 rows, and sums the 4 rows' block results with one transpose so the float
//!   work is one f32x4 multiply-add per block for all 4 rows. Per row, the block terms are
//!   exactly the reference's (`sumi as f32 * (dw * dx)`), added in the same order, so the
//!   result is bit-identical to `quant::reference`.
//! * GEMM decodes a tile of 4 rows once into a small i16 scratch (L1-resident) and runs it
//!   against the activation rows two at a time.

use core::arch::wasm32::*;

use crate::quant::blocks::BlockQ8_0;

use super::util::{fence, gather_f16x4, hsum4_i32x4, load_i8x32_as_i16};

/// One 32-element weight block format.
pub(super) trait Block32 {
    /// Bytes per block.
    const BYTES: usize;
    /// Whether the block has an additive min (`y = d·q + m`).
    const HAS_MIN: bool = false;
    /// The block's scale `d`. (The kernels read `d` at byte 0 and `m` at byte 2 of every
    /// block, four blocks at a time; these scalar readers serve the GEMM tile decode.)
    ///
    /// # Safety
    /// `p` must point at `BYTES` readable bytes.
    unsafe fn scale(p: *const u8) -> f32;
    /// The block's min `m` (only called when `HAS_MIN`).
    ///
    /// # Safety
    /// `p` must point at `BYTES` readable bytes.
    unsafe fn min(_p: *const u8) -> f32 {
        0.0
    }
    /// The 32 quants (offset already applied for the symmetric types) as i16x8 vectors for
    /// elements 0-7, 8-15, 16-23, 24-31.
    ///
    /// # Safety
    /// `p` must point at `BYTES` readable bytes.
    unsafe fn decode(p: *const u8) -> [v128; 4];
    /// Whether the type has a relaxed-SIMD decoder (`decode_u7`). Q8_0 has none: its quants
    /// do not fit 7 bits, so it keeps the SIMD128 path in the relaxed build too.
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    const RELAXED: bool = false;
    /// What `decode_u7` adds to each quant (subtracted again as `offset · Σx`).
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    const RELAXED_OFFSET: i32 = 0;
    /// Relaxed-SIMD build only: the quants as unsigned 7-bit values `q + RELAXED_OFFSET` in two
    /// i8x16 (elements 0-15, 16-31), for `i32x4.relaxed_dot_i8x16_i7x16_add`.
    ///
    /// # Safety
    /// `p` must point at `BYTES` readable bytes.
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn decode_u7(_p: *const u8) -> [v128; 2] {
        [i8x16_splat(0); 2]
    }
    /// Whether the GEMV fences each row's block result (`util::fence`). On for the types
    /// that unpack: their four rows' decoded blocks overflow the registers and V8 11 (Node
    /// 20) spilled them. Off for Q8_0, which Chromium 156 runs faster without it.
    const FENCE: bool = true;
    /// The block's contribution `sumi · d_w · d_x`, rounded as the reference rounds it
    /// (most types compute `sumi · (d_w · d_x)`).
    #[inline(always)]
    fn term(sumi: v128, dw: v128, dx: f32) -> v128 {
        f32x4_mul(sumi, f32x4_mul(dw, f32x4_splat(dx)))
    }
}

/// Q8_0 activations of consecutive rows (tokens), `nb` blocks per row.
#[derive(Clone, Copy)]
pub(super) struct ActQ8_0<'a> {
    pub blocks: &'a [BlockQ8_0],
    /// f32 scale per block.
    pub d: &'a [f32],
    /// `d · Σ qs` per block (for the min term).
    pub s: &'a [f32],
    /// `Σ qs` per block (for the relaxed kernels' offset).
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    pub sum: &'a [i32],
}

/// Weight rows per GEMV pass and per GEMM tile.
const R: usize = 4;

/// `out[r] = row r · x` for one activation row. The caller checked every size:
/// `w.len() == rows * nb * B::BYTES`, `x` has `nb` blocks, `out.len() == rows`.
///
/// The four rows of a pass come from the four quarters of the matrix (rows g, g + Q, g + 2Q,
/// g + 3Q): four sequential streams far apart. Four adjacent rows per pass instead collapse
/// to a fraction of the DRAM bandwidth on the 178 MB output head (measured: 3.7 GB/s).
pub(super) fn gemv<B: Block32>(w: &[u8], rows: usize, nb: usize, x: ActQ8_0, out: &mut [f32]) {
    let row_bytes = nb * B::BYTES;
    let base = w.as_ptr();
    let q = rows.div_ceil(R);
    for g in 0..q {
        // Row indices of this pass; past the end, repeat the last row (results discarded).
        let idx: [usize; R] = core::array::from_fn(|i| (g + i * q).min(rows - 1));
        // SAFETY: every index is < rows, so each row start lies inside `w`.
        let p: [*const u8; R] = idx.map(|r| unsafe { base.add(r * row_bytes) });
        let res = rows4::<B>(p, x);
        for (i, &v) in res.iter().enumerate() {
            if g + i * q < rows {
                out[g + i * q] = v;
            }
        }
    }
}

/// Four rows (each pointer at `x.blocks.len()` blocks) against one activation row.
#[inline(always)]
fn rows4<B: Block32>(p: [*const u8; R], x: ActQ8_0) -> [f32; R] {
    #[cfg(target_feature = "relaxed-simd")]
    if B::RELAXED {
        return rows4_relaxed::<B>(p, x);
    }
    let mut acc = f32x4_splat(0.0);
    for (b, ((xb, &dx), &sx)) in x.blocks.iter().zip(x.d).zip(x.s).enumerate() {
        // SAFETY: `xb.qs` is 32 readable bytes.
        let xv = unsafe { load_i8x32_as_i16(xb.qs.as_ptr()) };
        // SAFETY: each row holds `x.blocks.len()` blocks and b < x.blocks.len(), so block b
        // (BYTES bytes) lies inside each row.
        let pb: [*const u8; R] = p.map(|q| unsafe { q.add(b * B::BYTES) });
        // SAFETY: as above; decode reads only inside the block. The fence keeps one row's
        // decoded block live at a time instead of all four.
        let isum: [v128; R] = pb.map(|q| {
            let v = super::util::dot4(&unsafe { B::decode(q) }, &xv);
            if B::FENCE {
                fence(v)
            } else {
                v
            }
        });
        let s = f32x4_convert_i32x4(hsum4_i32x4(isum[0], isum[1], isum[2], isum[3]));
        // SAFETY: d is the block's first two bytes.
        let mut term = B::term(s, unsafe { gather_f16x4(pb, 0) }, dx);
        if B::HAS_MIN {
            // SAFETY: m is bytes 2..4 of the block.
            let m = unsafe { gather_f16x4(pb, 2) };
            term = f32x4_add(term, f32x4_mul(m, f32x4_splat(sx)));
        }
        acc = f32x4_add(acc, term);
    }
    [
        f32x4_extract_lane::<0>(acc),
        f32x4_extract_lane::<1>(acc),
        f32x4_extract_lane::<2>(acc),
        f32x4_extract_lane::<3>(acc),
    ]
}

/// One decoded block of a 4-row tile: `q[c * R + r]` holds elements 8c..8c+8 of row r.
#[derive(Clone, Copy)]
struct TileBlock {
    q: [v128; 4 * R],
    d: v128,
    m: v128,
}

/// `out[t * rows + r] = row r · x[t]` for `n` activation rows (`x` holds `n * nb` blocks).
#[allow(clippy::needless_range_loop)]
pub(super) fn gemm<B: Block32>(
    w: &[u8],
    rows: usize,
    nb: usize,
    n: usize,
    x: ActQ8_0,
    out: &mut [f32],
) {
    let row_bytes = nb * B::BYTES;
    let zero = TileBlock {
        q: [i16x8_splat(0); 4 * R],
        d: f32x4_splat(0.0),
        m: f32x4_splat(0.0),
    };
    let mut tile = vec![zero; nb];
    let mut r0 = 0;
    while r0 < rows {
        let take = (rows - r0).min(R);
        // Decode the tile once.
        for (b, tb) in tile.iter_mut().enumerate() {
            let mut d = [0.0f32; R];
            let mut m = [0.0f32; R];
            for r in 0..R {
                if r < take {
                    // SAFETY: row r0 + r < rows and block b < nb: inside `w`.
                    unsafe {
                        let pb = w.as_ptr().add((r0 + r) * row_bytes + b * B::BYTES);
                        let q = B::decode(pb);
                        for c in 0..4 {
                            tb.q[c * R + r] = q[c];
                        }
                        d[r] = B::scale(pb);
                        if B::HAS_MIN {
                            m[r] = B::min(pb);
                        }
                    }
                } else {
                    for c in 0..4 {
                        tb.q[c * R + r] = i16x8_splat(0);
                    }
                }
            }
            tb.d = f32x4(d[0], d[1], d[2], d[3]);
            tb.m = f32x4(m[0], m[1], m[2], m[3]);
        }
        // Run it against the activation rows, two at a time.
        let mut t = 0;
        while t + 2 <= n {
            let res = tile_tokens::<B, 2>(&tile, nb, t, x);
            for (i, v) in res.iter().enumerate() {
                out[(t + i) * rows + r0..][..take].copy_from_slice(&v[..take]);
            }
            t += 2;
        }
        if t < n {
            let res = tile_tokens::<B, 1>(&tile, nb, t, x);
            out[t * rows + r0..][..take].copy_from_slice(&res[0][..take]);
        }
        r0 += R;
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // register arrays, fully unrolled
fn tile_tokens<B: Block32, const T: usize>(
    tile: &[TileBlock],
    nb: usize,
    t0: usize,
    x: ActQ8_0,
) -> [[f32; R]; T] {
    let xb: [&[BlockQ8_0]; T] = core::array::from_fn(|t| &x.blocks[(t0 + t) * nb..][..nb]);
    let xd: [&[f32]; T] = core::array::from_fn(|t| &x.d[(t0 + t) * nb..][..nb]);
    let xs: [&[f32]; T] = core::array::from_fn(|t| &x.s[(t0 + t) * nb..][..nb]);
    let mut acc = [f32x4_splat(0.0); T];
    for (b, tb) in tile.iter().enumerate().take(nb) {
        let mut isum = [[i32x4_splat(0); T]; R];
        for c in 0..4 {
            let xv: [v128; T] = core::array::from_fn(|t| {
                // SAFETY: b < nb = xb[t].len(); the block's qs has 32 bytes, 8c + 8 ≤ 32.
                unsafe { i16x8_load_extend_i8x8(xb[t][b].qs.as_ptr().add(8 * c)) }
            });
            for r in 0..R {
                let wv = tb.q[c * R + r];
                for t in 0..T {
                    isum[r][t] = i32x4_add(isum[r][t], i32x4_dot_i16x8(wv, xv[t]));
                }
            }
        }
        for t in 0..T {
            let s =
                f32x4_convert_i32x4(hsum4_i32x4(isum[0][t], isum[1][t], isum[2][t], isum[3][t]));
            let mut term = B::term(s, tb.d, xd[t][b]);
            if B::HAS_MIN {
                term = f32x4_add(term, f32x4_mul(tb.m, f32x4_splat(xs[t][b])));
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

/// `rows4` with `i32x4.relaxed_dot_i8x16_i7x16_add`: 16 multiply-adds per instruction on the
/// i8 activations and the 7-bit unsigned weights, no sign-extension step. Exact (the products
/// and pair sums fit i16 on every implementation), and the offset is removed per block as
/// `RELAXED_OFFSET · Σx`, so the results stay bit-identical to the reference.
#[cfg(target_feature = "relaxed-simd")]
#[inline(always)]
fn rows4_relaxed<B: Block32>(p: [*const u8; R], x: ActQ8_0) -> [f32; R] {
    let mut acc = f32x4_splat(0.0);
    let it = x.blocks.iter().zip(x.d).zip(x.s).zip(x.sum);
    for (b, (((xb, &dx), &sx), &sum)) in it.enumerate() {
        let xq = xb.qs.as_ptr() as *const v128;
        // SAFETY: `xb.qs` is 32 readable bytes: two v128.
        let (x0, x1) = unsafe { (v128_load(xq), v128_load(xq.add(1))) };
        // SAFETY: block b lies inside each row (see `rows4`).
        let pb: [*const u8; R] = p.map(|q| unsafe { q.add(b * B::BYTES) });
        let isum: [v128; R] = pb.map(|q| {
            // SAFETY: as above; decode_u7 reads only inside the block.
            let w = unsafe { B::decode_u7(q) };
            let s = i32x4_relaxed_dot_i8x16_i7x16_add(x0, w[0], i32x4_splat(0));
            i32x4_relaxed_dot_i8x16_i7x16_add(x1, w[1], s)
        });
        let s = i32x4_sub(
            hsum4_i32x4(isum[0], isum[1], isum[2], isum[3]),
            i32x4_splat(B::RELAXED_OFFSET * sum),
        );
        // SAFETY: d is the block's first two bytes.
        let mut term = B::term(f32x4_convert_i32x4(s), unsafe { gather_f16x4(pb, 0) }, dx);
        if B::HAS_MIN {
            // SAFETY: m is bytes 2..4 of the block.
            let m = unsafe { gather_f16x4(pb, 2) };
            term = f32x4_add(term, f32x4_mul(m, f32x4_splat(sx)));
        }
        acc = f32x4_add(acc, term);
    }
    [
        f32x4_extract_lane::<0>(acc),
        f32x4_extract_lane::<1>(acc),
        f32x4_extract_lane::<2>(acc),
        f32x4_extract_lane::<3>(acc),
    ]
}
