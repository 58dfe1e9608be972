//! The forward pass as data: a short list of backend-neutral [`Op`]s over named activation
//! buffers ([`Act`]) and the model's weights, built once per model by an architecture
//! description (`super::arch`). The CPU executor (`super::session`) and the WebGPU executor
//! (`crate::gpu::session`) both walk this list; neither knows which architecture it runs.
//!
//! Every op works row-wise on the live rows of the chunk being evaluated: all `n` tokens,
//! until [`Op::KeepOutputRows`] narrows them to the rows that produce logits (the last one,
//! or all of them when every position's logits are wanted), as llama.cpp's `inp_out_ids`.

use super::config::FfnActivation;
use super::ops::RopeParams;
use super::Matrix;

/// An activation buffer of the forward pass: `n_batch` rows of [`Graph::width`] floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Act {
    /// The residual stream.
    X,
    /// A normalized copy of a row (the input of the matmuls).
    Xn,
    Q,
    K,
    V,
    /// Attention output, `n_head × head_dim_v` per row.
    Att,
    /// A block's output before it is added to the residual stream.
    O,
    Gate,
    Up,
}

impl Act {
    pub const ALL: [Act; 9] = [
        Act::X,
        Act::Xn,
        Act::Q,
        Act::K,
        Act::V,
        Act::Att,
        Act::O,
        Act::Gate,
        Act::Up,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Index of a matrix in [`Graph::matrices`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatId(pub usize);
/// Index of an f32 vector (norm weights, biases) in [`Graph::vectors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VecId(pub usize);
/// Index of a rotation in [`Graph::ropes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RopeId(pub usize);

/// One rotary embedding: the angle table an executor computes once per chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Rope {
    /// Rotated dimensions per head (the rest pass through).
    pub n_rot: usize,
    pub base: f32,
    /// Positions are multiplied by this (linear scaling).
    pub freq_scale: f32,
    /// Per-frequency divisors of the angle (Llama 3 `rope_freqs.weight`, Phi-3's
    /// `rope_factors_short.weight`).
    pub factors: Option<VecId>,
    /// LongRoPE (Phi-3): other divisors for a context longer than the original one.
    pub long: Option<LongRope>,
    /// Multiplies cos and sin (`rope.scaling.attn_factor`).
    pub attn_factor: f32,
    /// NEOX style: rotate the two halves of a head instead of adjacent pairs.
    pub neox: bool,
}

/// LongRoPE's factors for long contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongRope {
    pub factors: VecId,
    /// They apply when the session's context exceeds this
    /// (`rope.scaling.original_context_length`), as llama.cpp chooses by `n_ctx`.
    pub n_ctx_orig: usize,
}

impl Rope {
    /// The angle parameters for a session of `n_ctx` positions.
    pub fn params<'g>(&self, g: &'g Graph, n_ctx: usize) -> RopeParams<'g> {
        let factors = match self.long {
            Some(l) if n_ctx > l.n_ctx_orig => Some(l.factors),
            _ => self.factors,
        };
        RopeParams {
            n_rot: self.n_rot,
            base: self.base,
            freq_scale: self.freq_scale,
            factors: factors.map(|v| g.vector(v)),
            mscale: self.attn_factor,
        }
    }
}

/// Shapes shared by every attention op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heads {
    pub n_head: usize,
    pub n_head_kv: usize,
    /// Per-head size of queries and keys.
    pub head_dim: usize,
    /// Per-head size of values.
    pub head_dim_v: usize,
}

/// One attention layer's cache: keys and values of every position (or of the last
/// `window` ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttnLayer {
    pub window: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `X[t] = scale · table[token t]` (rows dequantized on lookup).
    Embed { table: MatId, scale: f32 },
    /// `dst = rms_norm(src) ⊙ weight` over sub-rows of `width` (a whole row, or one head for
    /// per-head norms); `src == dst` normalizes in place.
    RmsNorm {
        src: Act,
        dst: Act,
        weight: VecId,
        width: usize,
    },
    /// `dst = W · src (+ bias)`; the activations are quantized once per input and format.
    MatMul {
        w: MatId,
        src: Act,
        dst: Act,
        bias: Option<VecId>,
    },
    /// Rotates every `head_dim`-wide head of `buf` by its position.
    Rope {
        buf: Act,
        head_dim: usize,
        rope: RopeId,
    },
    /// Stores `K`, `V` at the chunk's positions in the cache of `layer`, then
    /// `Att = softmax(kq_scale · cap((q_scale · Q) · Kᵀ)) · V`, causal, grouped-query, within
    /// the layer's window. The scaled queries are rounded to the cache's precision (f16), as
    /// llama.cpp does before its dot products with an f16 cache.
    Attention {
        layer: usize,
        q_scale: f32,
        kq_scale: f32,
        softcap: Option<f32>,
    },
    /// `X += norm(O)` (post-norm architectures) or `X += O`.
    Residual { norm: Option<VecId> },
    /// `Gate = act(Gate) ⊙ Up`.
    Glu { act: FfnActivation },
    /// From here on only the rows that produce logits are live.
    KeepOutputRows,
    /// `logits = cap(head · rms_norm(X) ⊙ norm)` of the live rows.
    Logits {
        norm: VecId,
        head: MatId,
        softcap: Option<f32>,
    },
}

/// A model's forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub ops: Vec<Op>,
    pub matrices: Vec<Matrix>,
    pub vectors: Vec<Vec<f32>>,
    pub ropes: Vec<Rope>,
    pub heads: Heads,
    pub layers: Vec<AttnLayer>,
    /// Width of each [`Act`] buffer, by [`Act::index`].
    pub widths: [usize; 9],
    pub n_vocab: usize,
    pub rms_eps: f32,
}

impl Graph {
    pub fn width(&self, a: Act) -> usize {
        self.widths[a.index()]
    }

    pub fn matrix(&self, id: MatId) -> &Matrix {
        &self.matrices[id.0]
    }

    pub fn vector(&self, id: VecId) -> &[f32] {
        &self.vectors[id.0]
    }

    pub fn rope(&self, id: RopeId) -> &Rope {
        &self.ropes[id.0]
    }

    /// Keys (and values) per position in one layer's cache.
    pub fn k_dim(&self) -> usize {
        self.heads.n_head_kv * self.heads.head_dim
    }

    pub fn v_dim(&self) -> usize {
        self.heads.n_head_kv * self.heads.head_dim_v
    }

    /// The embedding table (the first op's).
    pub fn embedding(&self) -> Option<&Matrix> {
        self.ops.iter().find_map(|op| match op {
            Op::Embed { table, .. } => Some(self.matrix(*table)),
            _ => None,
        })
    }

    /// The output head (the last op's); the embedding table's entry when they are tied.
    pub fn head(&self) -> Option<&Matrix> {
        self.ops.iter().find_map(|op| match op {
            Op::Logits { head, .. } => Some(self.matrix(*head)),
            _ => None,
        })
    }

    /// Each attention layer's sliding window.
    pub fn windows(&self) -> Vec<Option<usize>> {
        self.layers.iter().map(|l| l.window).collect()
    }
}
