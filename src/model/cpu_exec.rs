//! The CPU executor: runs a [`Graph`] over one chunk of tokens with the SIMD128 kernels
//! (`crate::cpu`) and the f32 ops of [`super::ops`], into the session's KV cache.

use super::attention::{attention, AttnScratch, AttnShape};
use super::config::FfnActivation;
use super::graph::{Act, Graph, Op};
use super::kv::{KvCache, KvType};
use super::ops;
use super::session::zeros;
use super::{Matrix, Model};
use crate::cpu::{self, Activations};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Which rows of a chunk need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogitRows {
    /// None (a prompt chunk before the last).
    None,
    Last,
    All,
}

/// Activations quantized for each weight family, computed at most once per input.
#[derive(Debug, Default)]
struct QuantizedInput {
    acts: [Activations; 3],
    fresh: [bool; 3],
    /// The buffer and first row they were quantized from.
    of: Option<(Act, usize)>,
}

impl QuantizedInput {
    fn invalidate(&mut self) {
        self.fresh = [false; 3];
        self.of = None;
    }

    fn get(&mut self, m: &Matrix, src: (Act, usize), x: &[f32], n: usize) -> Result<&Activations> {
        if self.of != Some(src) {
            self.invalidate();
            self.of = Some(src);
        }
        // One slot per activation format: the weights of one input may differ in type.
        let i = match cpu::activation_type(m.ty)? {
            GgmlType::Q8_0 => 0,
            GgmlType::Q8_K => 1,
            _ => 2,
        };
        if !self.fresh[i] {
            self.acts[i].quantize(m.ty, x, n)?;
            self.fresh[i] = true;
        }
        Ok(&self.acts[i])
    }
}

/// Forward-pass buffers, `n_batch` rows each.
#[derive(Debug)]
pub(crate) struct Scratch {
    bufs: [Vec<f32>; 9],
    /// RoPE cos/sin per row, one table per rotation of the graph.
    cos: Vec<Vec<f32>>,
    sin: Vec<Vec<f32>>,
    input: QuantizedInput,
    attn: AttnScratch,
}

impl Scratch {
    pub(crate) fn new(g: &Graph, n_batch: usize) -> Result<Scratch> {
        let mut bufs: [Vec<f32>; 9] = Default::default();
        for a in Act::ALL {
            bufs[a.index()] = zeros(n_batch, g.width(a), "activations")?;
        }
        let table = |r: &super::graph::Rope| zeros(n_batch, r.n_rot / 2, "RoPE table");
        Ok(Scratch {
            bufs,
            cos: g.ropes.iter().map(table).collect::<Result<_>>()?,
            sin: g.ropes.iter().map(table).collect::<Result<_>>()?,
            input: QuantizedInput::default(),
            attn: AttnScratch::new(&attn_shape(g, 1.0, None), n_batch),
        })
    }
}

fn attn_shape(g: &Graph, kq_scale: f32, softcap: Option<f32>) -> AttnShape {
    AttnShape {
        n_head: g.heads.n_head,
        n_head_kv: g.heads.n_head_kv,
        head_dim: g.heads.head_dim,
        head_dim_v: g.heads.head_dim_v,
        kq_scale,
        softcap,
    }
}

/// `(src, dst)` rows `r` of two different buffers.
fn two(
    bufs: &mut [Vec<f32>; 9],
    src: (Act, core::ops::Range<usize>),
    dst: (Act, core::ops::Range<usize>),
) -> Result<(&[f32], &mut [f32])> {
    let (i, j) = (src.0.index(), dst.0.index());
    let (a, b) = match i.cmp(&j) {
        core::cmp::Ordering::Less => {
            let (l, r) = bufs.split_at_mut(j);
            (&l[i], &mut r[0])
        }
        core::cmp::Ordering::Greater => {
            let (l, r) = bufs.split_at_mut(i);
            (&r[0], &mut l[j])
        }
        core::cmp::Ordering::Equal => {
            return Err(Error::UnsupportedModelFeature {
                feature: format!("a graph op reading and writing {:?}", src.0),
            })
        }
    };
    Ok((&a[src.1], &mut b[dst.1]))
}

/// `out = W · x (+ bias)` for `n` rows of `x`, with the activations quantized once per input.
#[allow(clippy::too_many_arguments)]
fn matmul(
    model: &Model,
    m: &Matrix,
    input: &mut QuantizedInput,
    src: (Act, usize),
    x: &[f32],
    n: usize,
    bias: Option<&[f32]>,
    out: &mut [f32],
) -> Result<()> {
    let act = input.get(m, src, x, n)?;
    let out = &mut out[..n * m.rows];
    if n == 1 {
        cpu::matvec(m.ty, model.bytes(m), m.rows, m.cols, act, out)?;
    } else {
        cpu::matmul(m.ty, model.bytes(m), m.rows, m.cols, act, out)?;
    }
    if let Some(b) = bias {
        for row in out.chunks_exact_mut(m.rows) {
            ops::add_assign(row, b);
        }
    }
    Ok(())
}

/// One forward pass of `tokens` (at most `n_batch`) at positions `p0..`; the logits of the
/// rows `rows` asks for go to `logits`, row after row.
pub(crate) fn forward(
    model: &Model,
    kv: &mut KvCache,
    s: &mut Scratch,
    tokens: &[u32],
    p0: usize,
    rows: LogitRows,
    logits: &mut [f32],
) -> Result<()> {
    let g = model.graph();
    let n = tokens.len();
    let eps = g.rms_eps;
    // RoPE angles, once per chunk for each rotation.
    for (i, r) in g.ropes.iter().enumerate() {
        let half = r.n_rot / 2;
        let ff = r.factors.map(|v| g.vector(v));
        for t in 0..n {
            let at = t * half..(t + 1) * half;
            ops::rope_angles(
                p0 + t,
                r.n_rot,
                r.base,
                r.freq_scale,
                ff,
                &mut s.cos[i][at.clone()],
                &mut s.sin[i][at],
            );
        }
    }
    // The live rows: all of them until `KeepOutputRows`.
    let mut r0 = 0;
    let rows_of = |a: Act, r0: usize| r0 * g.width(a)..n * g.width(a);
    for op in &g.ops {
        if !matches!(op, Op::MatMul { .. }) {
            s.input.invalidate();
        }
        match *op {
            Op::Embed { table, scale } => {
                let emb = g.matrix(table);
                let bytes = model.bytes(emb);
                let (rb, e) = (emb.row_bytes(), g.width(Act::X));
                for (t, &tok) in tokens.iter().enumerate() {
                    let row = bytes
                        .get(tok as usize * rb..(tok as usize + 1) * rb)
                        .ok_or(Error::InvalidToken {
                            token: tok,
                            n_vocab: g.n_vocab,
                        })?;
                    let x = &mut s.bufs[Act::X.index()][t * e..(t + 1) * e];
                    crate::quant::dequantize(emb.ty, row, x)?;
                    if scale != 1.0 {
                        ops::scale(x, scale);
                    }
                }
            }
            Op::RmsNorm {
                src, dst, weight, ..
            } => {
                let w = g.vector(weight);
                if src == dst {
                    let x = &mut s.bufs[src.index()][rows_of(src, r0)];
                    ops::rms_norm_rows(x, w, eps);
                } else {
                    let (x, y) = two(
                        &mut s.bufs,
                        (src, rows_of(src, r0)),
                        (dst, rows_of(dst, r0)),
                    )?;
                    ops::rms_norm_rows_into(x, w, eps, y);
                }
            }
            Op::MatMul { w, src, dst, bias } => {
                let m = g.matrix(w);
                let bias = bias.map(|b| g.vector(b));
                let (x, y) = two(
                    &mut s.bufs,
                    (src, rows_of(src, r0)),
                    (dst, rows_of(dst, r0)),
                )?;
                matmul(model, m, &mut s.input, (src, r0), x, n - r0, bias, y)?;
            }
            Op::Rope {
                buf,
                head_dim,
                rope,
            } => {
                let r = g.rope(rope);
                let (half, width) = (r.n_rot / 2, g.width(buf));
                let (cos, sin) = (&s.cos[rope.0], &s.sin[rope.0]);
                for t in r0..n {
                    let (ct, st) = (
                        &cos[t * half..(t + 1) * half],
                        &sin[t * half..(t + 1) * half],
                    );
                    let row = &mut s.bufs[buf.index()][t * width..(t + 1) * width];
                    for head in row.chunks_exact_mut(head_dim) {
                        ops::rope_head(head, ct, st, r.neox);
                    }
                }
            }
            Op::Attention {
                layer,
                q_scale,
                kq_scale,
                softcap,
            } => {
                if r0 != 0 {
                    return Err(Error::UnsupportedModelFeature {
                        feature: "attention after the output rows were selected".into(),
                    });
                }
                let q = &mut s.bufs[Act::Q.index()][..n * g.width(Act::Q)];
                if q_scale != 1.0 {
                    ops::scale(q, q_scale);
                }
                if kv.ty() == KvType::F16 {
                    // llama.cpp converts the queries to f16 to multiply them with an f16 cache.
                    ops::round_to_f16(q);
                }
                let (k_dim, v_dim) = (g.k_dim(), g.v_dim());
                let lkv = &mut kv.layers[layer];
                let (k, v) = (&s.bufs[Act::K.index()], &s.bufs[Act::V.index()]);
                for t in 0..n {
                    let slot = (p0 + t) % lkv.slots;
                    lkv.k.write(slot * k_dim, &k[t * k_dim..(t + 1) * k_dim]);
                    lkv.v.write(slot * v_dim, &v[t * v_dim..(t + 1) * v_dim]);
                }
                let shape = attn_shape(g, kq_scale, softcap);
                let (q, att) = two(
                    &mut s.bufs,
                    (Act::Q, rows_of(Act::Q, 0)),
                    (Act::Att, rows_of(Act::Att, 0)),
                )?;
                attention(lkv, &shape, q, att, p0, n, &mut s.attn);
            }
            Op::Residual { norm } => {
                if let Some(w) = norm {
                    // The norm's output is needed only for the add: normalize O in place.
                    let o = &mut s.bufs[Act::O.index()][rows_of(Act::O, r0)];
                    ops::rms_norm_rows(o, g.vector(w), eps);
                }
                let (o, x) = two(
                    &mut s.bufs,
                    (Act::O, rows_of(Act::O, r0)),
                    (Act::X, rows_of(Act::X, r0)),
                )?;
                ops::add_assign(x, o);
            }
            Op::Glu { act } => {
                let (up, gate) = two(
                    &mut s.bufs,
                    (Act::Up, rows_of(Act::Up, r0)),
                    (Act::Gate, rows_of(Act::Gate, r0)),
                )?;
                match act {
                    FfnActivation::GeluTanh => ops::geglu(gate, up),
                    FfnActivation::Silu => ops::swiglu(gate, up),
                }
            }
            Op::KeepOutputRows => {
                r0 = if rows == LogitRows::All { 0 } else { n - 1 };
            }
            Op::Logits {
                norm,
                head,
                softcap,
            } => {
                if rows == LogitRows::None {
                    continue;
                }
                let (x, xn) = two(
                    &mut s.bufs,
                    (Act::X, rows_of(Act::X, r0)),
                    (Act::Xn, rows_of(Act::Xn, r0)),
                )?;
                ops::rms_norm_rows_into(x, g.vector(norm), eps, xn);
                let m = g.matrix(head);
                let nr = n - r0;
                // All rows at once need nr × n_vocab contiguous outputs, which `logits` has.
                let xn = &s.bufs[Act::Xn.index()][rows_of(Act::Xn, r0)];
                matmul(model, m, &mut s.input, (Act::Xn, r0), xn, nr, None, logits)?;
                if let Some(cap) = softcap {
                    ops::softcap(&mut logits[..nr * m.rows], cap);
                }
            }
        }
    }
    Ok(())
}
