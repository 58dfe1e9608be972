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
    let mut pass = Pass {
        model,
        g,
        s,
        n: tokens.len(),
        p0,
        r0: 0,
    };
    pass.rope_tables(kv.n_ctx());
    for op in &g.ops {
        if !matches!(op, Op::MatMul { .. }) {
            pass.s.input.invalidate();
        }
        match *op {
            Op::Embed { table, scale } => pass.embed(tokens, g.matrix(table), scale)?,
            Op::RmsNorm {
                src, dst, weight, ..
            } => pass.rms_norm(src, dst, g.vector(weight))?,
            Op::MatMul { w, src, dst, bias } => {
                let bias = bias.map(|b| g.vector(b));
                pass.matmul(g.matrix(w), src, dst, bias)?
            }
            Op::Rope {
                buf,
                head_dim,
                rope,
            } => pass.rope(buf, head_dim, rope.0),
            Op::Attention {
                layer,
                q_scale,
                kq_scale,
                softcap,
            } => pass.attention(kv, layer, q_scale, attn_shape(g, kq_scale, softcap))?,
            Op::Residual { norm } => pass.residual(norm.map(|w| g.vector(w)))?,
            Op::Glu { act } => pass.glu(act)?,
            Op::KeepOutputRows => {
                pass.r0 = if rows == LogitRows::All {
                    0
                } else {
                    pass.n - 1
                };
            }
            Op::Logits {
                norm,
                head,
                softcap,
            } => {
                if rows != LogitRows::None {
                    pass.logits(g.vector(norm), g.matrix(head), softcap, logits)?;
                }
            }
        }
    }
    Ok(())
}

/// The state of one forward pass: rows `r0..n` are live.
struct Pass<'a> {
    model: &'a Model,
    g: &'a Graph,
    s: &'a mut Scratch,
    n: usize,
    p0: usize,
    r0: usize,
}

impl Pass<'_> {
    /// The live rows of buffer `a`.
    fn rows(&self, a: Act) -> core::ops::Range<usize> {
        self.r0 * self.g.width(a)..self.n * self.g.width(a)
    }

    /// `(src, dst)`: the live rows of two different buffers.
    fn two(&mut self, src: Act, dst: Act) -> Result<(&[f32], &mut [f32])> {
        let (rs, rd) = (self.rows(src), self.rows(dst));
        two(&mut self.s.bufs, (src, rs), (dst, rd))
    }

    /// RoPE angles, once per chunk for each rotation, for a session of `n_ctx` positions.
    fn rope_tables(&mut self, n_ctx: usize) {
        let g = self.g;
        for (i, r) in g.ropes.iter().enumerate() {
            let half = r.n_rot / 2;
            let p = r.params(g, n_ctx);
            for t in 0..self.n {
                let at = t * half..(t + 1) * half;
                ops::rope_angles(
                    self.p0 + t,
                    &p,
                    &mut self.s.cos[i][at.clone()],
                    &mut self.s.sin[i][at],
                );
            }
        }
    }

    /// Embedding rows, dequantized one at a time (only the rows the tokens name).
    fn embed(&mut self, tokens: &[u32], emb: &Matrix, scale: f32) -> Result<()> {
        let bytes = self.model.bytes(emb);
        let (rb, e) = (emb.row_bytes(), self.g.width(Act::X));
        for (t, &tok) in tokens.iter().enumerate() {
            let row = bytes
                .get(tok as usize * rb..(tok as usize + 1) * rb)
                .ok_or(Error::InvalidToken {
                    token: tok,
                    n_vocab: self.g.n_vocab,
                })?;
            let x = &mut self.s.bufs[Act::X.index()][t * e..(t + 1) * e];
            crate::quant::dequantize(emb.ty, row, x)?;
            if scale != 1.0 {
                ops::scale(x, scale);
            }
        }
        Ok(())
    }

    /// RMS norm over sub-rows of the weight's length (a whole row, or one head).
    fn rms_norm(&mut self, src: Act, dst: Act, w: &[f32]) -> Result<()> {
        let eps = self.g.rms_eps;
        if src == dst {
            let r = self.rows(src);
            ops::rms_norm_rows(&mut self.s.bufs[src.index()][r], w, eps);
        } else {
            let (x, y) = self.two(src, dst)?;
            ops::rms_norm_rows_into(x, w, eps, y);
        }
        Ok(())
    }

    fn matmul(&mut self, m: &Matrix, src: Act, dst: Act, bias: Option<&[f32]>) -> Result<()> {
        let (model, key, nr) = (self.model, (src, self.r0), self.n - self.r0);
        let (rs, rd) = (self.rows(src), self.rows(dst));
        let s = &mut *self.s;
        let (x, y) = two(&mut s.bufs, (src, rs), (dst, rd))?;
        matmul(model, m, &mut s.input, key, x, nr, bias, y)
    }

    fn rope(&mut self, buf: Act, head_dim: usize, rope: usize) {
        let r = &self.g.ropes[rope];
        let (half, width) = (r.n_rot / 2, self.g.width(buf));
        let s = &mut *self.s;
        let (cos, sin) = (&s.cos[rope], &s.sin[rope]);
        for t in self.r0..self.n {
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

    /// Stores the chunk's keys and values in the layer's cache, then attends.
    fn attention(
        &mut self,
        kv: &mut KvCache,
        layer: usize,
        q_scale: f32,
        shape: AttnShape,
    ) -> Result<()> {
        if self.r0 != 0 {
            return Err(Error::UnsupportedModelFeature {
                feature: "attention after the output rows were selected".into(),
            });
        }
        let (g, n, p0) = (self.g, self.n, self.p0);
        let s = &mut *self.s;
        let q = &mut s.bufs[Act::Q.index()][..n * g.width(Act::Q)];
        if q_scale != 1.0 {
            ops::scale(q, q_scale);
        }
        if kv.ty() == KvType::F16 {
            // llama.cpp converts the queries to f16 to multiply them with an f16 cache.
            ops::round_to_f16(q);
        }
        let (k_dim, v_dim) = (g.k_dim(), g.v_dim());
        let Some(lkv) = kv.layers.get_mut(layer) else {
            return Err(Error::UnsupportedModelFeature {
                feature: format!("attention layer {layer} without a cache"),
            });
        };
        let (k, v) = (&s.bufs[Act::K.index()], &s.bufs[Act::V.index()]);
        for t in 0..n {
            let slot = (p0 + t) % lkv.slots;
            lkv.k.write(slot * k_dim, &k[t * k_dim..(t + 1) * k_dim]);
            lkv.v.write(slot * v_dim, &v[t * v_dim..(t + 1) * v_dim]);
        }
        let (rq, ra) = (0..n * g.width(Act::Q), 0..n * g.width(Act::Att));
        let (q, att) = two(&mut s.bufs, (Act::Q, rq), (Act::Att, ra))?;
        attention(lkv, &shape, q, att, p0, n, &mut s.attn);
        Ok(())
    }

    /// `X += norm(O)` or `X += O`.
    fn residual(&mut self, norm: Option<&[f32]>) -> Result<()> {
        if let Some(w) = norm {
            // The norm's output is needed only for the add: normalize O in place.
            let r = self.rows(Act::O);
            ops::rms_norm_rows(&mut self.s.bufs[Act::O.index()][r], w, self.g.rms_eps);
        }
        let (o, x) = self.two(Act::O, Act::X)?;
        ops::add_assign(x, o);
        Ok(())
    }

    fn glu(&mut self, act: FfnActivation) -> Result<()> {
        let (up, gate) = self.two(Act::Up, Act::Gate)?;
        match act {
            FfnActivation::GeluTanh => ops::geglu(gate, up),
            FfnActivation::Silu => ops::swiglu(gate, up),
        }
        Ok(())
    }

    /// Output norm and head of the live rows into `logits` (nr × n_vocab contiguous values).
    fn logits(
        &mut self,
        norm: &[f32],
        head: &Matrix,
        softcap: Option<f32>,
        logits: &mut [f32],
    ) -> Result<()> {
        let eps = self.g.rms_eps;
        let (x, xn) = self.two(Act::X, Act::Xn)?;
        ops::rms_norm_rows_into(x, norm, eps, xn);
        let nr = self.n - self.r0;
        let (model, key, r) = (self.model, (Act::Xn, self.r0), self.rows(Act::Xn));
        let s = &mut *self.s;
        matmul(
            model,
            head,
            &mut s.input,
            key,
            &s.bufs[Act::Xn.index()][r],
            nr,
            None,
            logits,
        )?;
        if let Some(cap) = softcap {
            ops::softcap(&mut logits[..nr * head.rows], cap);
        }
        Ok(())
    }
}
