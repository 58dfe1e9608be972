//! Architectures as descriptions: each builds its [`Graph`] from the model's config and the
//! GGUF tensors, checking every tensor it names (present, usable type, the shape the metadata
//! implies; each failure a typed error naming the tensor). Adding an architecture means adding
//! its hyper-parameters to `config` and, where its block differs, a few lines here — the
//! executors stay untouched.
//!
//! The decoder block is the shape of llama.cpp's llama, qwen2, qwen3, gemma, gemma2, gemma3 and
//! phi3 graphs:
//!
//! ```text
//! x = embed(tokens) · embed_scale
//! per layer:  xn = norm(x); q,k,v = W·xn [+ b]; [q,k per-head norms]; rope(q,k); att = attention
//!             o = Wo·att; x += [post-norm](o)
//!             xn = norm(x); gate,up = W·xn; gate = act(gate)·up; o = Wdown·gate; x += [post-norm](o)
//! logits = cap(head · norm(x))
//! ```

use std::collections::HashMap;

use super::config::ModelConfig;
use super::graph::{Act, AttnLayer, Graph, Heads, LongRope, MatId, Op, Rope, RopeId, VecId};
use super::Matrix;
use crate::error::{Error, Result};
use crate::gguf::{LoadedGguf, TensorInfo};

/// Builds the forward pass of the model in `gguf` (config already read).
pub fn build(gguf: &LoadedGguf, c: &ModelConfig) -> Result<Graph> {
    let mut b = Builder::new(gguf, c);
    b.refuse_unsupported()?;
    decoder(&mut b, c)?;
    Ok(b.graph)
}

/// The pre-norm decoder shared by the Llama family, Qwen2/3 and Gemma 1/2/3; what differs between
/// them is in the config (`qkv_bias`, `qk_norm`, `post_norms`, `ffn_act`, scales, windows,
/// RoPE style and bases).
fn decoder(b: &mut Builder, c: &ModelConfig) -> Result<()> {
    let e = c.n_embd;
    let table = b.matrix("token_embd.weight", e, c.n_vocab)?;
    b.op(Op::Embed {
        table,
        scale: c.embed_scale.unwrap_or(1.0),
    });
    let (factors, long) = rope_factors(b, c)?;
    let rope = |base| Rope {
        n_rot: c.n_rot,
        base,
        freq_scale: c.rope_freq_scale,
        factors,
        long,
        attn_factor: c.rope_attn_factor,
        neox: c.rope_neox,
    };
    let rope_global = b.rope(rope(c.rope_base));
    let rope_swa = b.rope(rope(c.rope_base_swa));
    // Queries are scaled either themselves (Gemma, before their f16 rounding, as llama.cpp's
    // graph does) or through the scores (Llama).
    let (q_scale, kq_scale) = if c.scale_queries {
        (c.attn_scale, 1.0)
    } else {
        (1.0, c.attn_scale)
    };
    for il in 0..c.n_layer {
        let rope = if c.window(il).is_some() {
            rope_swa
        } else {
            rope_global
        };
        attention_block(b, c, il, rope, q_scale, kq_scale)?;
        ffn_block(b, c, il)?;
    }
    let norm = b.vector("output_norm.weight", e)?;
    // Without `output.weight` the head is the embedding table (tied).
    let head = if b.has("output.weight") && !c.tied_head {
        b.matrix("output.weight", e, c.n_vocab)?
    } else {
        table
    };
    b.op(Op::Logits {
        norm,
        head,
        softcap: c.final_logit_softcap,
    });
    Ok(())
}

/// The RoPE divisors, as llama.cpp's `get_rope_factors` picks them: `rope_freqs` when the file
/// has it, else (LongRoPE) the long factors for a context beyond the original one and the short
/// ones otherwise.
fn rope_factors(b: &mut Builder, c: &ModelConfig) -> Result<(Option<VecId>, Option<LongRope>)> {
    let n = c.n_rot / 2;
    if let Some(f) = b.opt_vector("rope_freqs.weight", n)? {
        return Ok((Some(f), None));
    }
    if !c.longrope {
        return Ok((None, None));
    }
    let short = b.opt_vector("rope_factors_short.weight", n)?;
    let long = b
        .opt_vector("rope_factors_long.weight", n)?
        .map(|factors| LongRope {
            factors,
            n_ctx_orig: c.n_ctx_orig,
        });
    Ok((short, long))
}

/// `x += [post-norm](Wo · attention(rope(q), rope(k), v))` with `q, k, v = W · norm(x) [+ bias]`
/// and, where the config has them, RMS norms on every query and key head.
fn attention_block(
    b: &mut Builder,
    c: &ModelConfig,
    il: usize,
    rope: RopeId,
    q_scale: f32,
    kq_scale: f32,
) -> Result<()> {
    let n = |s: &str| format!("blk.{il}.{s}.weight");
    let e = c.n_embd;
    let attn_norm = b.vector(&n("attn_norm"), e)?;
    b.norm(Act::X, Act::Xn, attn_norm, e);
    let qkv = [
        ("attn_q", Act::Q, c.q_dim()),
        ("attn_k", Act::K, c.k_dim()),
        ("attn_v", Act::V, c.v_dim()),
    ];
    if b.has(&n("attn_qkv")) {
        // One fused matrix (Phi-3; llama.cpp accepts it for every architecture here): q, k and
        // v are row views of it, and of its bias.
        let total = c.q_dim() + c.k_dim() + c.v_dim();
        let fused = b.matrix_rows(&n("attn_qkv"), e, total)?;
        let bias_name = format!("blk.{il}.attn_qkv.bias");
        let bias = b.bias(&bias_name, total, c.qkv_bias)?;
        let mut row0 = 0;
        for (name, dst, width) in qkv {
            let w = b.view(&fused, row0, width, name)?;
            let bias = bias.map(|v| b.sub_vector(v, row0, width));
            b.matmul(w, Act::Xn, dst, bias);
            row0 += width;
        }
    } else {
        for (name, dst, width) in qkv {
            let w = b.matrix(&n(name), e, width)?;
            let bias = b.bias(&format!("blk.{il}.{name}.bias"), width, c.qkv_bias)?;
            b.matmul(w, Act::Xn, dst, bias);
        }
    }
    if c.qk_norm {
        let qn = b.vector(&n("attn_q_norm"), c.head_dim)?;
        let kn = b.vector(&n("attn_k_norm"), c.head_dim)?;
        b.norm(Act::Q, Act::Q, qn, c.head_dim);
        b.norm(Act::K, Act::K, kn, c.head_dim);
    }
    for buf in [Act::Q, Act::K] {
        b.op(Op::Rope {
            buf,
            head_dim: c.head_dim,
            rope,
        });
    }
    let layer = b.graph.layers.len();
    b.graph.layers.push(AttnLayer {
        window: c.window(il),
    });
    b.op(Op::Attention {
        layer,
        q_scale,
        kq_scale,
        softcap: c.attn_softcap,
    });
    if il + 1 == c.n_layer {
        b.op(Op::KeepOutputRows);
    }
    let wo = b.matrix(&n("attn_output"), c.n_head * c.head_dim_v, e)?;
    let bo = b.bias(&format!("blk.{il}.attn_output.bias"), e, false)?;
    b.matmul(wo, Act::Att, Act::O, bo);
    let post = b.post_norm(&n("post_attention_norm"))?;
    b.op(Op::Residual { norm: post });
    Ok(())
}

/// `x += [post-norm](Wdown · (act(Wgate · norm(x)) · Wup · norm(x)))`.
fn ffn_block(b: &mut Builder, c: &ModelConfig, il: usize) -> Result<()> {
    let n = |s: &str| format!("blk.{il}.{s}.weight");
    let e = c.n_embd;
    let ffn_norm = b.vector(&n("ffn_norm"), e)?;
    b.norm(Act::X, Act::Xn, ffn_norm, e);
    let (gate, up) = if c.fused_gate_up {
        // ggml_swiglu: SiLU of the first half of the rows times the second half.
        let fused = b.matrix_rows(&n("ffn_up"), e, 2 * c.n_ff)?;
        (
            b.view(&fused, 0, c.n_ff, "gate")?,
            b.view(&fused, c.n_ff, c.n_ff, "up")?,
        )
    } else {
        (
            b.matrix(&n("ffn_gate"), e, c.n_ff)?,
            b.matrix(&n("ffn_up"), e, c.n_ff)?,
        )
    };
    b.matmul(gate, Act::Xn, Act::Gate, None);
    b.matmul(up, Act::Xn, Act::Up, None);
    b.op(Op::Glu { act: c.ffn_act });
    let down = b.matrix(&n("ffn_down"), c.n_ff, e)?;
    b.matmul(down, Act::Gate, Act::O, None);
    let post = b.post_norm(&n("post_ffw_norm"))?;
    b.op(Op::Residual { norm: post });
    Ok(())
}

struct Builder<'a> {
    gguf: &'a LoadedGguf,
    c: &'a ModelConfig,
    graph: Graph,
    /// Matrices by tensor name, so a tensor named twice is one entry.
    by_name: HashMap<String, MatId>,
}

impl<'a> Builder<'a> {
    fn new(gguf: &'a LoadedGguf, c: &'a ModelConfig) -> Builder<'a> {
        let mut widths = [0; 9];
        for a in Act::ALL {
            widths[a.index()] = match a {
                Act::X | Act::Xn | Act::O => c.n_embd,
                Act::Q => c.q_dim(),
                Act::K => c.k_dim(),
                Act::V => c.v_dim(),
                Act::Att => c.n_head * c.head_dim_v,
                Act::Gate | Act::Up => c.n_ff,
            };
        }
        Builder {
            gguf,
            c,
            graph: Graph {
                ops: Vec::new(),
                matrices: Vec::new(),
                vectors: Vec::new(),
                ropes: Vec::new(),
                heads: Heads {
                    n_head: c.n_head,
                    n_head_kv: c.n_head_kv,
                    head_dim: c.head_dim,
                    head_dim_v: c.head_dim_v,
                },
                layers: Vec::new(),
                widths,
                n_vocab: c.n_vocab,
                rms_eps: c.rms_eps,
            },
            by_name: HashMap::new(),
        }
    }

    /// Features of this graph family that we do not implement must not be silently ignored.
    fn refuse_unsupported(&self) -> Result<()> {
        for unsupported in [
            "blk.0.ffn_gate.bias",
            "blk.0.ffn_up.bias",
            "blk.0.ffn_down.bias",
            "blk.0.ffn_gate_inp.weight",
        ] {
            if self.has(unsupported) {
                return Err(Error::UnsupportedModelFeature {
                    feature: format!("tensor '{unsupported}' (FFN biases or experts)"),
                });
            }
        }
        Ok(())
    }

    fn op(&mut self, op: Op) {
        self.graph.ops.push(op);
    }

    fn norm(&mut self, src: Act, dst: Act, weight: VecId, width: usize) {
        self.op(Op::RmsNorm {
            src,
            dst,
            weight,
            width,
        });
    }

    fn matmul(&mut self, w: MatId, src: Act, dst: Act, bias: Option<VecId>) {
        self.op(Op::MatMul { w, src, dst, bias });
    }

    /// A projection's bias: required when the architecture has them, else used if present.
    fn bias(&mut self, name: &str, len: usize, required: bool) -> Result<Option<VecId>> {
        if required {
            self.vector(name, len).map(Some)
        } else {
            self.opt_vector(name, len)
        }
    }

    fn rope(&mut self, r: Rope) -> RopeId {
        if let Some(i) = self.graph.ropes.iter().position(|x| *x == r) {
            return RopeId(i);
        }
        self.graph.ropes.push(r);
        RopeId(self.graph.ropes.len() - 1)
    }

    /// The norm of a block's output before the residual add, when the config has them.
    fn post_norm(&mut self, name: &str) -> Result<Option<VecId>> {
        if self.c.post_norms {
            self.vector(name, self.c.n_embd).map(Some)
        } else {
            Ok(None)
        }
    }

    fn has(&self, name: &str) -> bool {
        self.gguf.header().tensor_info(name).is_some()
    }

    fn info(&self, name: &str) -> Result<&'a TensorInfo> {
        tensor_info(self.gguf, name)
    }

    fn matrix(&mut self, name: &str, cols: usize, rows: usize) -> Result<MatId> {
        if let Some(&id) = self.by_name.get(name) {
            return Ok(id);
        }
        let m = self.matrix_rows(name, cols, rows)?;
        self.graph.matrices.push(m);
        let id = MatId(self.graph.matrices.len() - 1);
        self.by_name.insert(name.to_owned(), id);
        Ok(id)
    }

    /// `rows` rows of `fused` from `row0` on: a matrix of its own over those bytes (no copy),
    /// named after the part it is.
    fn view(&mut self, fused: &Matrix, row0: usize, rows: usize, part: &str) -> Result<MatId> {
        let rb = fused.row_bytes();
        let start = fused.range.start + row0 * rb;
        let end = start + rows * rb;
        if row0 + rows > fused.rows || end > fused.range.end {
            // The callers' row counts add up to the checked shape; this guards a change there.
            return Err(Error::TensorShape {
                tensor: fused.name.clone(),
                expected: vec![fused.cols as u64, (row0 + rows) as u64],
                found: vec![fused.cols as u64, fused.rows as u64],
            });
        }
        self.graph.matrices.push(Matrix {
            name: format!("{} ({part} rows {row0}..{})", fused.name, row0 + rows),
            ty: fused.ty,
            rows,
            cols: fused.cols,
            shard: fused.shard,
            range: start..end,
        });
        Ok(MatId(self.graph.matrices.len() - 1))
    }

    /// `len` values of vector `v` from `at` on, as a vector of its own (a fused bias's part).
    fn sub_vector(&mut self, v: VecId, at: usize, len: usize) -> VecId {
        let part = self.graph.vectors[v.0][at..at + len].to_vec();
        self.graph.vectors.push(part);
        VecId(self.graph.vectors.len() - 1)
    }

    /// The checked matrix `name` (`rows` rows of `cols`), not yet part of the graph.
    fn matrix_rows(&mut self, name: &str, cols: usize, rows: usize) -> Result<Matrix> {
        let t = self.info(name)?;
        check_shape(t, &[cols, rows])?;
        // The matmul kernels multiply every storage type except the activation-only Q8_K;
        // the K-quant activations need whole 256-element rows, which the block size implies.
        if t.ty.activation_kind().is_none() {
            return Err(Error::TensorType {
                tensor: name.to_owned(),
                type_name: t.ty.name(),
                role: "a weight matrix",
            });
        }
        let Some(range) = self.gguf.data_range(t) else {
            // The GGUF reader validated the ranges; this only guards a future change there.
            return Err(Error::TensorOutOfBounds {
                tensor: name.to_owned(),
                start: t.offset,
                end: t.offset.saturating_add(t.n_bytes),
                file_len: self.gguf.shard_bytes(t.shard).len() as u64,
            });
        };
        Ok(Matrix {
            name: name.to_owned(),
            ty: t.ty,
            rows,
            cols,
            shard: t.shard,
            range,
        })
    }

    /// A vector tensor (norm weights, rope factors) of any float or quantized type, as f32.
    fn vector(&mut self, name: &str, len: usize) -> Result<VecId> {
        let t = self.info(name)?;
        check_shape(t, &[len])?;
        let view = self.gguf.tensor(name).ok_or_else(|| Error::MissingTensor {
            tensor: name.to_owned(),
        })?;
        let mut out = vec![0.0f32; len];
        crate::quant::dequantize(t.ty, view.bytes, &mut out).map_err(|_| Error::TensorType {
            tensor: name.to_owned(),
            type_name: t.ty.name(),
            role: "a vector of weights",
        })?;
        self.graph.vectors.push(out);
        Ok(VecId(self.graph.vectors.len() - 1))
    }

    fn opt_vector(&mut self, name: &str, len: usize) -> Result<Option<VecId>> {
        if self.has(name) {
            self.vector(name, len).map(Some)
        } else {
            Ok(None)
        }
    }
}

pub(super) fn tensor_info<'a>(gguf: &'a LoadedGguf, name: &str) -> Result<&'a TensorInfo> {
    gguf.header()
        .tensor_info(name)
        .ok_or_else(|| Error::MissingTensor {
            tensor: name.to_owned(),
        })
}

/// Drops trailing 1s: writers differ on whether a vector is `[n]` or `[n, 1]`.
fn squeeze(dims: &[u64]) -> &[u64] {
    let mut n = dims.len();
    while n > 1 && dims[n - 1] == 1 {
        n -= 1;
    }
    &dims[..n]
}

fn check_shape(t: &TensorInfo, expected: &[usize]) -> Result<()> {
    let exp: Vec<u64> = expected.iter().map(|&d| d as u64).collect();
    if squeeze(&t.dims) != squeeze(&exp) {
        return Err(Error::TensorShape {
            tensor: t.name.clone(),
            expected: exp,
            found: t.dims.clone(),
        });
    }
    Ok(())
}
