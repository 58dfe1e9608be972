//! Causal grouped-query attention over the KV cache, with an optional sliding window.
//!
//! One pass, flash-attention style: keys and values are taken in tiles of [`TILE`]
//! positions; each tile is converted once (from f16 when the cache is f16) and used by every
//! query of the chunk and every query head of the group, with a running maximum and sum per
//! (query, head), so no `n × n_kv` score matrix is stored. Decode (one query) and prefill (a
//! chunk) share the code; the conversion cost is one per cached value per chunk.
//!
//! Queries, tiles and accumulators are held as four-lane vectors ([`super::lanes`]): SIMD128
//! on wasm32.

use super::kv::LayerKv;
use super::lanes::{self, F4};

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
    /// `c · tanh(q·k / c)` on every score, before `kq_scale`, when set (Gemma 2).
    pub softcap: Option<f32>,
}

/// Buffers reused across calls (sized for `n_batch` queries; grown if ever needed).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttnScratch {
    kt: Vec<F4>,
    vt: Vec<F4>,
    q: Vec<F4>,
    acc: Vec<F4>,
    /// Running maximum and sum per (query, head).
    m: Vec<f32>,
    l: Vec<f32>,
    scores: Vec<f32>,
}

impl AttnScratch {
    pub fn new(s: &AttnShape, n_batch: usize) -> AttnScratch {
        let mut scr = AttnScratch::default();
        scr.reserve(s, n_batch);
        scr
    }

    fn reserve(&mut self, s: &AttnShape, n: usize) {
        let (hd4, hdv4) = (lanes::lanes(s.head_dim), lanes::lanes(s.head_dim_v));
        let grow = |v: &mut Vec<F4>, len: usize| {
            if v.len() < len {
                v.resize(len, lanes::zero());
            }
        };
        grow(&mut self.kt, TILE * hd4);
        grow(&mut self.vt, TILE * hdv4);
        grow(&mut self.q, n * s.n_head * hd4);
        grow(&mut self.acc, n * s.n_head * hdv4);
        if self.m.len() < n * s.n_head {
            self.m.resize(n * s.n_head, 0.0);
            self.l.resize(n * s.n_head, 0.0);
        }
        if self.scores.len() < TILE {
            self.scores.resize(TILE, 0.0);
        }
    }
}

/// Attention of `n` queries at positions `p0..p0 + n` (their keys and values already in the
/// cache). `q`: `n × n_head × head_dim`; `out`: `n × n_head × head_dim_v`.
// Kept out of line: inlined into the forward pass it ran ~20% slower on wasm32 (V8).
#[inline(never)]
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
    let (hd4, hdv4) = (lanes::lanes(hd), lanes::lanes(hdv));
    let q_dim = s.n_head * hd;
    let o_dim = s.n_head * hdv;
    let group = s.n_head / s.n_head_kv.max(1);
    if n == 0 || kv.slots == 0 {
        return;
    }
    scr.reserve(s, n);
    let nh = n * s.n_head;
    for (i, qh) in q[..n * q_dim].chunks_exact(hd).enumerate() {
        lanes::pack(qh, &mut scr.q[i * hd4..(i + 1) * hd4]);
    }
    scr.acc[..nh * hdv4].fill(lanes::zero());
    scr.m[..nh].fill(f32::NEG_INFINITY);
    scr.l[..nh].fill(0.0);

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
            // reads them, so they are not loaded.
            load_tile(kv, s, g, j0, j0.max(first_key(p0))..j1, scr);
            for t in 0..n {
                let p = p0 + t;
                let (a, b) = (j0.max(first_key(p)), j1.min(p + 1));
                if a >= b {
                    continue;
                }
                let keys = a - j0..b - j0;
                for h in g * group..(g + 1) * group {
                    let idx = t * s.n_head + h;
                    let row = Row {
                        q: &scr.q[idx * hd4..(idx + 1) * hd4],
                        m: &mut scr.m[idx],
                        l: &mut scr.l[idx],
                        acc: &mut scr.acc[idx * hdv4..(idx + 1) * hdv4],
                    };
                    absorb_tile(s, row, keys.clone(), &scr.kt, &scr.vt, &mut scr.scores);
                }
            }
            j0 = j1;
        }
    }
    for idx in 0..nh {
        let l = scr.l[idx];
        let inv = if l > 0.0 { 1.0 / l } else { 0.0 };
        let (t, h) = (idx / s.n_head, idx % s.n_head);
        lanes::unpack_scaled(
            &scr.acc[idx * hdv4..(idx + 1) * hdv4],
            inv,
            &mut out[t * o_dim + h * hdv..t * o_dim + (h + 1) * hdv],
        );
    }
}

/// Keys and values of KV head `g` at positions `pos` into the tile that starts at `j0`.
#[inline(always)]
fn load_tile(
    kv: &LayerKv,
    s: &AttnShape,
    g: usize,
    j0: usize,
    pos: std::ops::Range<usize>,
    scr: &mut AttnScratch,
) {
    let (hd, hdv) = (s.head_dim, s.head_dim_v);
    let (hd4, hdv4) = (lanes::lanes(hd), lanes::lanes(hdv));
    let (k_dim, v_dim) = (s.n_head_kv * hd, s.n_head_kv * hdv);
    for pos in pos {
        let (jj, slot) = (pos - j0, pos % kv.slots);
        let kt = &mut scr.kt[jj * hd4..(jj + 1) * hd4];
        kv.k.read_lanes(slot * k_dim + g * hd, hd, kt);
        let vt = &mut scr.vt[jj * hdv4..(jj + 1) * hdv4];
        kv.v.read_lanes(slot * v_dim + g * hdv, hdv, vt);
    }
}

/// One (query, head)'s running state: its packed query, maximum, sum and accumulator.
struct Row<'a> {
    q: &'a [F4],
    m: &'a mut f32,
    l: &'a mut f32,
    acc: &'a mut [F4],
}

/// The online-softmax update of one row with the tile's keys `keys` (tile indices).
#[inline(always)]
fn absorb_tile(
    s: &AttnShape,
    row: Row<'_>,
    keys: std::ops::Range<usize>,
    kt: &[F4],
    vt: &[F4],
    scores: &mut [f32],
) {
    let (hd4, hdv4) = (lanes::lanes(s.head_dim), lanes::lanes(s.head_dim_v));
    let a = keys.start;
    let mut mx = f32::NEG_INFINITY;
    for j in keys.clone() {
        let mut sc = lanes::dot(row.q, &kt[j * hd4..(j + 1) * hd4]);
        // Capped before the scaling, as llama.cpp's graph does.
        if let Some(c) = s.softcap {
            sc = super::ops::softcap_one(sc, c);
        }
        sc *= s.kq_scale;
        scores[j - a] = sc;
        mx = mx.max(sc);
    }
    let m_old = *row.m;
    let m_new = m_old.max(mx);
    if m_new > m_old && *row.l > 0.0 {
        let c = (m_old - m_new).exp();
        *row.l *= c;
        lanes::scale(row.acc, c);
    }
    let mut sum = 0.0f32;
    for j in keys {
        let w = (scores[j - a] - m_new).exp();
        sum += w;
        lanes::axpy(row.acc, w, &vt[j * hdv4..(j + 1) * hdv4]);
    }
    *row.l += sum;
    *row.m = m_new;
}
