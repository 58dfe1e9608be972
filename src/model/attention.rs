//! Causal grouped-query attention over the f16 KV cache, with an optional sliding window.
//!
//! One pass, flash-attention style: keys and values are taken in tiles of [`TILE`]
//! positions; each tile is converted from f16 once and used by every query of the chunk and
//! every query head of the group, with a running maximum and sum per (query, head) so no
//! `n × n_kv` score matrix is ever stored. Decode (one query) and prefill (a chunk) share
//! the code; the conversion cost is one per cached value per chunk.

use super::kv::LayerKv;
use super::ops::{axpy, dot, scale};

/// Keys per tile: 32 × 256-wide heads × 4 bytes = 32 KiB each for K and V (L1/L2-sized).
const TILE: usize = 32;

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttnShape {
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub head_dim_v: usize,
    /// Multiplies every `q·k` (Llama: 1/√head_dim; Gemma: 1, its queries are pre-scaled).
    pub kq_scale: f32,
}

/// Buffers reused across calls (sized for the largest chunk on first use).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttnScratch {
    kt: Vec<f32>,
    vt: Vec<f32>,
    /// Running maximum and sum per (query, head).
    m: Vec<f32>,
    l: Vec<f32>,
    scores: Vec<f32>,
}

impl AttnScratch {
    pub fn new(shape: &AttnShape, n_batch: usize) -> AttnScratch {
        AttnScratch {
            kt: vec![0.0; TILE * shape.head_dim],
            vt: vec![0.0; TILE * shape.head_dim_v],
            m: vec![0.0; n_batch * shape.n_head],
            l: vec![0.0; n_batch * shape.n_head],
            scores: vec![0.0; TILE],
        }
    }
}

/// Attention of `n` queries at positions `p0..p0 + n` (their keys and values already in the
/// cache). `q`: `n × n_head × head_dim`; `out`: `n × n_head × head_dim_v`.
pub(crate) fn attention(
    kv: &LayerKv,
    s: &AttnShape,
    q: &[f32],
    out: &mut [f32],
    p0: usize,
    n: usize,
    scr: &mut AttnScratch,
) {
    let (hd, hdv) = (s.head_dim, s.head_dim_v);
    let q_dim = s.n_head * hd;
    let o_dim = s.n_head * hdv;
    let k_dim = s.n_head_kv * hd;
    let v_dim = s.n_head_kv * hdv;
    let group = s.n_head / s.n_head_kv.max(1);
    if n == 0 || kv.slots == 0 {
        return;
    }
    if scr.m.len() < n * s.n_head {
        scr.m.resize(n * s.n_head, 0.0);
        scr.l.resize(n * s.n_head, 0.0);
    }
    let out = &mut out[..n * o_dim];
    out.fill(0.0);
    scr.m[..n * s.n_head].fill(f32::NEG_INFINITY);
    scr.l[..n * s.n_head].fill(0.0);

    // First key a query at position p may see (llama.cpp masks p - key >= window).
    let first_key = |p: usize| match kv.window {
        Some(w) => (p + 1).saturating_sub(w),
        None => 0,
    };
    let last = p0 + n - 1;

    for g in 0..s.n_head_kv {
        // Tiles start at multiples of TILE so that a query sees the same partition of its keys
        // (hence the same rounding) however the sequence was split into chunks.
        let mut j0 = first_key(p0) / TILE * TILE;
        while j0 <= last {
            let j1 = (j0 + TILE).min(last + 1);
            // Keys before first_key(p0) in the first tile may be gone from a ring; no query
            // reads them, so they are not converted.
            let lo = j0.max(first_key(p0));
            for pos in lo..j1 {
                let jj = pos - j0;
                let slot = pos % kv.slots;
                kv.k.read(slot * k_dim + g * hd, &mut scr.kt[jj * hd..(jj + 1) * hd]);
                kv.v.read(
                    slot * v_dim + g * hdv,
                    &mut scr.vt[jj * hdv..(jj + 1) * hdv],
                );
            }
            for t in 0..n {
                let p = p0 + t;
                let a = j0.max(first_key(p));
                let b = j1.min(p + 1);
                if a >= b {
                    continue;
                }
                for h in g * group..(g + 1) * group {
                    let qh = &q[t * q_dim + h * hd..t * q_dim + (h + 1) * hd];
                    let mut mx = f32::NEG_INFINITY;
                    for pos in a..b {
                        let k = &scr.kt[(pos - j0) * hd..(pos - j0 + 1) * hd];
                        let sc = dot(qh, k) * s.kq_scale;
                        scr.scores[pos - a] = sc;
                        mx = mx.max(sc);
                    }
                    let idx = t * s.n_head + h;
                    let m_old = scr.m[idx];
                    let m_new = m_old.max(mx);
                    let acc = &mut out[t * o_dim + h * hdv..t * o_dim + (h + 1) * hdv];
                    if m_new > m_old && scr.l[idx] > 0.0 {
                        let c = (m_old - m_new).exp();
                        scr.l[idx] *= c;
                        scale(acc, c);
                    }
                    let mut sum = 0.0f32;
                    for pos in a..b {
                        let w = (scr.scores[pos - a] - m_new).exp();
                        sum += w;
                        axpy(acc, w, &scr.vt[(pos - j0) * hdv..(pos - j0 + 1) * hdv]);
                    }
                    scr.l[idx] += sum;
                    scr.m[idx] = m_new;
                }
            }
            j0 = j1;
        }
    }
    for t in 0..n {
        for h in 0..s.n_head {
            let l = scr.l[t * s.n_head + h];
            if l > 0.0 {
                scale(
                    &mut out[t * o_dim + h * hdv..t * o_dim + (h + 1) * hdv],
                    1.0 / l,
                );
            }
        }
    }
}
