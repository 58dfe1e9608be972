//! The WebGPU executor: records a [`Graph`]'s ops for one chunk of tokens into one
//! [`Batch`] (one submission) and reads back what the caller asks for.
//!
//! Differences from the CPU executor, all below the tolerance the tests hold them to: the
//! matmuls multiply f32 activations by the dequantized weights (the CPU quantizes
//! activations to Q8_0/Q8_K first, as llama.cpp's CPU backend does; `GpuOptions::cpu_rounding`
//! emulates that), sums run in a different order, and the KV cache is always f16 and holds
//! every position (no sliding-window ring).

use super::batch::Batch;
use super::ops::{self, AttnDims, NormOut, Rows};
use super::tensor::{GpuBuffer, GpuMatrix};
use crate::engine::{Produce, Produced};
use crate::error::{Error, Result};
use crate::model::config::FfnActivation;
use crate::model::graph::{Act, Graph, Op, VecId};
use crate::quant::reference::ActivationKind;

/// The graph's weights and buffers on the GPU, indexed as in the [`Graph`].
pub(crate) struct Resident {
    pub matrices: Vec<GpuMatrix>,
    /// Offset of each graph vector in `vectors`.
    pub vec_at: Vec<usize>,
    pub vectors: GpuBuffer,
    /// Per attention layer: f16 keys and values of every position.
    pub kv: Vec<(GpuBuffer, GpuBuffer)>,
    /// Activation buffers by [`Act::index`], `n_batch` rows each.
    pub acts: Vec<GpuBuffer>,
    /// Activations rounded as the CPU quantizes them (the input of quantized matmuls), then
    /// from `xq_sums` their Q8_1 block sums.
    pub xq: GpuBuffer,
    pub xq_sums: usize,
    pub scores: GpuBuffer,
    pub logits: GpuBuffer,
    pub tokens: GpuBuffer,
    /// Per rotation of the graph: `n_batch` rows of cosines then of sines, at `rope_at`.
    pub rope: GpuBuffer,
    pub rope_at: Vec<usize>,
    pub partial: GpuBuffer,
    pub result: GpuBuffer,
    pub top: GpuBuffer,
    pub n_batch: usize,
}

impl Resident {
    fn act(&self, a: Act) -> &GpuBuffer {
        &self.acts[a.index()]
    }
}

/// Which input the quantized-activation buffer holds: (buffer, offset, format).
type Held = Option<(usize, usize, ActivationKind)>;

/// `y = W · x` for `n` contiguous rows at `x[x_off..]`. With [`super::GpuOptions::cpu_rounding`]
/// the input of quantized weights is first rounded as the CPU path quantizes it (Q8_0 or Q8_K
/// blocks, once per input and format: `held`), so both paths multiply the same values.
#[allow(clippy::too_many_arguments)]
fn mm(
    b: &mut Batch,
    w: &GpuMatrix,
    x: &GpuBuffer,
    x_off: usize,
    n: usize,
    y: Rows,
    r: &Resident,
    held: &mut Held,
) -> Result<()> {
    let (xq, xq_sums) = (&r.xq, r.xq_sums);
    let input = match w.ty.activation_kind() {
        Some(k @ (ActivationKind::Q8_0 | ActivationKind::Q8K)) if b.gpu().cpu_rounding() => {
            let key = (x as *const GpuBuffer as usize, x_off, k);
            if *held != Some(key) {
                ops::quantize_activations(b, w.ty, x, x_off, n, w.cols, xq, xq_sums)?;
                *held = Some(key);
            }
            Rows::quantized(xq, w.cols, xq_sums)
        }
        _ => Rows::new(x, x_off, w.cols),
    };
    ops::matmul(b, w, input, y, n)
}

/// Records the ops of `g` for `n` tokens at positions `p0..` (token ids and RoPE table
/// already written); returns the index of the readback `produce` asks for.
pub(crate) fn record(
    b: &mut Batch,
    g: &Graph,
    r: &Resident,
    n: usize,
    p0: usize,
    produce: Produce,
) -> Result<Option<usize>> {
    let mut rec = Rec {
        b,
        g,
        r,
        n,
        p0,
        r0: 0,
        held: None,
    };
    for op in &g.ops {
        if !matches!(op, Op::MatMul { .. }) {
            rec.held = None;
        }
        match *op {
            Op::Embed { table, scale } => {
                let x = r.act(Act::X);
                ops::embed(rec.b, &r.matrices[table.0], &r.tokens, n, scale, x, 0)?;
            }
            Op::RmsNorm {
                src,
                dst,
                weight,
                width,
            } => rec.rms_norm(src, dst, weight.0, width)?,
            Op::MatMul { w, src, dst, bias } => rec.matmul(w.0, src, dst, bias)?,
            Op::Rope {
                buf,
                head_dim,
                rope,
            } => rec.rope(buf, head_dim, rope.0)?,
            Op::Attention {
                layer,
                q_scale,
                kq_scale,
                softcap,
            } => rec.attention(layer, q_scale, kq_scale, softcap.unwrap_or(0.0))?,
            Op::Residual { norm } => rec.residual(norm.map(|w| w.0))?,
            Op::Glu { act } => {
                let f = g.width(Act::Gate);
                let (gate, up) = (r.act(Act::Gate), r.act(Act::Up));
                let gelu = act == FfnActivation::GeluTanh;
                ops::glu(rec.b, gate, up, rec.r0 * f, (n - rec.r0) * f, gelu)?;
            }
            Op::KeepOutputRows => {
                rec.r0 = if produce == Produce::GreedyEvery {
                    0
                } else {
                    n - 1
                };
            }
            Op::Logits {
                norm,
                head,
                softcap,
            } => {
                let out = (norm.0, head.0, softcap);
                return logits(rec.b, g, r, n, rec.r0, out, produce);
            }
        }
    }
    Ok(None)
}

/// The recording of one pass: rows `r0..n` are live.
struct Rec<'a, 'b, 'g> {
    b: &'a mut Batch<'b>,
    g: &'g Graph,
    r: &'g Resident,
    n: usize,
    p0: usize,
    r0: usize,
    held: Held,
}

impl Rec<'_, '_, '_> {
    /// RMS norm over sub-rows of `width` (per-head norms make each head a row).
    fn rms_norm(&mut self, src: Act, dst: Act, weight: usize, width: usize) -> Result<()> {
        let (g, r) = (self.g, self.r);
        let (sw, per) = (g.width(src), g.width(src) / width);
        let x = Rows::new(r.act(src), self.r0 * sw, width);
        let out = if src == dst {
            NormOut::InPlace
        } else {
            NormOut::Into(Rows::new(r.act(dst), self.r0 * g.width(dst), width))
        };
        let rows = (self.n - self.r0) * per;
        let w_at = r.vec_at[weight];
        ops::rms_norm(self.b, x, rows, width, &r.vectors, w_at, g.rms_eps, out)
    }

    fn matmul(&mut self, w: usize, src: Act, dst: Act, bias: Option<VecId>) -> Result<()> {
        let (g, r, r0, nr) = (self.g, self.r, self.r0, self.n - self.r0);
        let m = &r.matrices[w];
        let (sw, dw) = (g.width(src), g.width(dst));
        let y = Rows::new(r.act(dst), r0 * dw, dw);
        mm(self.b, m, r.act(src), r0 * sw, nr, y, r, &mut self.held)?;
        if let Some(bias) = bias {
            let (at, len) = (r.vec_at[bias.0], g.vector(bias).len());
            ops::add_rows(self.b, &r.vectors, at, len, r.act(dst), r0 * dw, nr * dw)?;
        }
        Ok(())
    }

    fn rope(&mut self, buf: Act, head_dim: usize, rope: usize) -> Result<()> {
        let (g, r) = (self.g, self.r);
        let spec = &g.ropes[rope];
        let half = spec.n_rot / 2;
        if half == 0 {
            return Ok(());
        }
        let heads = g.width(buf) / head_dim;
        let co = r.rope_at[rope];
        let so = co + r.n_batch * half;
        let x = r.act(buf);
        let n = self.n;
        ops::rope(
            self.b, x, 0, n, heads, head_dim, half, spec.neox, &r.rope, co, so,
        )
    }

    /// Stores the chunk's keys and values in the layer's cache, then attends.
    fn attention(&mut self, layer: usize, q_scale: f32, kq_scale: f32, cap: f32) -> Result<()> {
        if self.r0 != 0 {
            return Err(Error::UnsupportedModelFeature {
                feature: "attention after the output rows were selected".into(),
            });
        }
        let (g, r, n, p0) = (self.g, self.r, self.n, self.p0);
        let (Some((kc, vc)), Some(l)) = (r.kv.get(layer), g.layers.get(layer)) else {
            return Err(Error::UnsupportedModelFeature {
                feature: format!("attention layer {layer} without a cache"),
            });
        };
        let h = g.heads;
        let d = AttnDims {
            n_head: h.n_head,
            n_head_kv: h.n_head_kv,
            head_dim: h.head_dim,
            head_dim_v: h.head_dim_v,
            window: l.window.unwrap_or(0),
            kq_scale,
            softcap: cap,
        };
        let (q, k, v) = (r.act(Act::Q), r.act(Act::K), r.act(Act::V));
        // The f16 cache meets f16-rounded queries, as on the CPU.
        ops::scale(self.b, q, 0, n * g.width(Act::Q), q_scale, true)?;
        ops::kv_store(self.b, &d, k, v, n, p0, kc, vc)?;
        ops::attention(self.b, &d, q, kc, vc, n, p0, &r.scores, r.act(Act::Att))
    }

    /// `X += norm(O)` (fused) or `X += O`.
    fn residual(&mut self, norm: Option<usize>) -> Result<()> {
        let (g, r, r0, nr) = (self.g, self.r, self.r0, self.n - self.r0);
        let e = g.width(Act::X);
        let (o, x) = (r.act(Act::O), r.act(Act::X));
        match norm {
            Some(w) => {
                let out = NormOut::Add(Rows::new(x, r0 * e, e));
                let o = Rows::new(o, r0 * e, e);
                ops::rms_norm(self.b, o, nr, e, &r.vectors, r.vec_at[w], g.rms_eps, out)
            }
            None => ops::add(self.b, o, r0 * e, x, r0 * e, nr * e),
        }
    }
}

/// The output norm, head and soft-cap of the live rows, one row at a time into the logits
/// buffer (it holds one row), then the reduction `produce` asks for.
fn logits(
    b: &mut Batch,
    g: &Graph,
    r: &Resident,
    n: usize,
    r0: usize,
    (norm, head, softcap): (usize, usize, Option<f32>),
    produce: Produce,
) -> Result<Option<usize>> {
    if produce == Produce::Nothing {
        return Ok(None);
    }
    let (e, n_vocab) = (g.width(Act::X), g.n_vocab);
    let (x, xn) = (r.act(Act::X), r.act(Act::Xn));
    for (slot, row) in (r0..n).enumerate() {
        let out = NormOut::Into(Rows::new(xn, 0, e));
        let w_at = r.vec_at[norm];
        ops::rms_norm(
            b,
            Rows::new(x, row * e, e),
            1,
            e,
            &r.vectors,
            w_at,
            g.rms_eps,
            out,
        )?;
        let l_out = Rows::new(&r.logits, 0, n_vocab);
        mm(b, &r.matrices[head], xn, 0, 1, l_out, r, &mut None)?;
        if let Some(cap) = softcap {
            ops::softcap(b, &r.logits, 0, n_vocab, cap)?;
        }
        match produce {
            Produce::Logits => {}
            Produce::TopK(k) => ops::top_k(b, &r.logits, 0, n_vocab, k, &r.top)?,
            _ => ops::argmax(b, &r.logits, 0, n_vocab, &r.partial, &r.result, slot)?,
        }
    }
    Ok(Some(match produce {
        Produce::Logits => b.read(&r.logits, 0, 4 * n_vocab as u64),
        Produce::TopK(k) => b.read(&r.top, 0, 8 * k as u64),
        _ => b.read(&r.result, 0, 4 * (n - r0) as u64),
    }))
}

/// Decodes the readback of a pass that produced `produce`.
pub(crate) fn decode(bytes: &[u8], produce: Produce, n_vocab: usize) -> Result<Produced> {
    Ok(match produce {
        Produce::Nothing => Produced::Nothing,
        Produce::Logits => Produced::Logits(bytemuck::pod_collect_to_vec(bytes)),
        Produce::TopK(_) => {
            let words: Vec<u32> = bytemuck::pod_collect_to_vec(bytes);
            Produced::TopK(
                words
                    .chunks_exact(2)
                    .filter(|w| (w[1] as usize) < n_vocab)
                    .map(|w| (f32::from_bits(w[0]), w[1]))
                    .collect(),
            )
        }
        Produce::Greedy | Produce::GreedyEvery => {
            let ids: Vec<u32> = bytemuck::pod_collect_to_vec(bytes);
            // An out-of-range id means every logit was NaN.
            if ids.iter().any(|&t| t as usize >= n_vocab) {
                return Err(Error::NoCandidates { n_vocab });
            }
            Produced::Tokens(ids)
        }
    })
}
