//! One sequence evaluated on the GPU: the model's [`Graph`](crate::model::Graph), run by the
//! WebGPU executor ([`super::exec`]), over a GPU KV cache.
//!
//! Weights are uploaded once in their GGUF layout. A forward pass of a chunk is one
//! [`Batch`] (one submission); the only readback is what the caller asks for: the greedy
//! token (4 bytes), every row's greedy token (teacher forcing), the `k` best logits, or the
//! last row's logits.

use std::rc::Rc;
use std::sync::Arc;

use super::batch::{Batch, BindCache};
use super::device::Gpu;
use super::exec::{self, Resident};
use super::tensor::{GpuBuffer, GpuMatrix};
use crate::engine::{Evaluate, NextEval, Produce, Produced};
use crate::error::{Error, Result};
use crate::model::graph::{Act, Graph};
use crate::model::options::check_eval;
use crate::model::{Model, SessionOptions};

pub struct GpuSession {
    gpu: Rc<Gpu>,
    model: Arc<Model>,
    r: Resident,
    n_ctx: usize,
    tokens: Vec<u32>,
    weight_bytes: usize,
    /// An evaluation done ahead by [`GpuSession::prepare`], waiting for the generation step
    /// that asks for it, and the output of the last evaluation it handed over.
    prepared: Option<(NextEval, Produced, f64)>,
    last: Produced,
    last_ms: f64,
    /// The uniform buffer and bind groups of the last forward pass, reused by the next.
    binds: BindCache,
    /// CPU time of the last pass's recording and submission (ms).
    encode_ms: f64,
}

/// CPU-side figures of the GPU forward pass (see [`GpuSession::stats`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuStats {
    /// Bind groups held from the last pass (reused by the next one where they match).
    pub bind_groups_held: usize,
    /// Bind groups created so far in this session (each pass after the first decode step
    /// should create none).
    pub bind_groups_created: u64,
    /// CPU time the last pass took to record its dispatches and submit them (ms): on the
    /// web, the WebGPU calls a real GPU waits for before it can start the step.
    pub encode_ms: f64,
}

impl core::fmt::Debug for GpuSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GpuSession")
            .field("adapter", &self.gpu.adapter)
            .field("n_ctx", &self.n_ctx)
            .field("n_past", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

/// Uploads every matrix of the graph once (a tied head is the embedding's entry already).
fn upload_matrices(gpu: &Gpu, model: &Model) -> Result<Vec<GpuMatrix>> {
    let g = model.graph();
    g.matrices
        .iter()
        .map(|m| GpuMatrix::upload(gpu, &m.name, m.ty, m.rows, m.cols, model.bytes(m)))
        .collect()
}

fn resident(gpu: &Gpu, model: &Model, n_ctx: usize, nb: usize) -> Result<Resident> {
    let g = model.graph();
    let z = |len: usize, what: &str| GpuBuffer::zeros(gpu, len, what);
    let mut flat = Vec::new();
    let mut vec_at = Vec::with_capacity(g.vectors.len());
    for v in &g.vectors {
        vec_at.push(flat.len());
        flat.extend_from_slice(v);
    }
    let kv = (0..g.layers.len())
        .map(|_| {
            Ok((
                z(n_ctx * g.k_dim() / 2, "KV cache keys")?,
                z(n_ctx * g.v_dim() / 2, "KV cache values")?,
            ))
        })
        .collect::<Result<_>>()?;
    let acts = Act::ALL
        .iter()
        .map(|&a| z(nb * g.width(a), "activations"))
        .collect::<Result<_>>()?;
    let widest = Act::ALL.iter().map(|&a| g.width(a)).max().unwrap_or(0);
    let mut rope_at = Vec::with_capacity(g.ropes.len());
    let mut rope_len = 0;
    for r in &g.ropes {
        rope_at.push(rope_len);
        rope_len += 2 * nb * (r.n_rot / 2);
    }
    Ok(Resident {
        matrices: upload_matrices(gpu, model)?,
        vec_at,
        vectors: GpuBuffer::from_f32(gpu, &flat, "norm weights")?,
        kv,
        acts,
        // Q8_0 rows, then one Q8_1 sum per 32 values.
        xq: z(
            nb * widest + (nb * widest).div_ceil(crate::quant::QK32),
            "quantized activations",
        )?,
        xq_sums: nb * widest,
        scores: z(nb * g.heads.n_head * n_ctx, "attention scores")?,
        logits: z(g.n_vocab, "logits")?,
        tokens: z(nb, "token ids")?,
        rope: z(rope_len.max(1), "RoPE table")?,
        rope_at,
        partial: z(
            2 * g.n_vocab.div_ceil(super::shaders::ARGMAX_CHUNK),
            "argmax partials",
        )?,
        result: z(nb, "argmax results")?,
        top: z(2 * super::shaders::TOPK_MAX, "top-k")?,
        n_batch: nb,
    })
}

impl GpuSession {
    /// Uploads the weights and allocates the KV cache and scratch buffers. Fails with
    /// `BACKEND_UNAVAILABLE` (naming the tensor or buffer) when the model does not fit the
    /// adapter or uses a type the kernels do not take — the caller then stays on the CPU.
    pub fn new(gpu: Rc<Gpu>, model: Arc<Model>, opts: &SessionOptions) -> Result<GpuSession> {
        let size = opts.size(model.config())?;
        let h = model.graph().heads;
        let n_embd = model.graph().width(Act::X);
        if h.head_dim % 2 != 0 || h.head_dim_v % 2 != 0 || n_embd % 8 != 0 {
            return Err(Error::BackendUnavailable {
                reason: format!(
                    "head sizes {}/{} must be even and n_embd {} a multiple of 8 for the GPU kernels",
                    h.head_dim, h.head_dim_v, n_embd
                ),
            });
        }
        let r = resident(&gpu, &model, size.n_ctx, size.n_batch)?;
        let mut seen = Vec::new();
        let mut weight_bytes = 0;
        for (m, gm) in model.graph().matrices.iter().zip(&r.matrices) {
            if !seen.contains(&(m.shard, &m.range)) {
                seen.push((m.shard, &m.range));
                weight_bytes += gm.bytes();
            }
        }
        gpu.check("upload")?;
        Ok(GpuSession {
            gpu,
            model,
            r,
            n_ctx: size.n_ctx,
            tokens: Vec::new(),
            weight_bytes,
            prepared: None,
            last: Produced::Nothing,
            last_ms: 0.0,
            binds: BindCache::default(),
            encode_ms: 0.0,
        })
    }

    pub fn gpu(&self) -> &Rc<Gpu> {
        &self.gpu
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    pub fn n_batch(&self) -> usize {
        self.r.n_batch
    }

    pub fn n_past(&self) -> usize {
        self.tokens.len()
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Bytes of weights on the GPU.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    /// Bytes of the GPU KV cache.
    pub fn kv_bytes(&self) -> usize {
        self.r.kv.iter().map(|(k, v)| 4 * (k.len + v.len)).sum()
    }

    /// CPU-side figures of the last forward pass.
    pub fn stats(&self) -> GpuStats {
        GpuStats {
            bind_groups_held: self.binds.len(),
            bind_groups_created: self.binds.created(),
            encode_ms: self.encode_ms,
        }
    }

    pub fn clear(&mut self) {
        self.tokens.clear();
        self.prepared = None;
    }

    /// Keeps the first `keep` positions (the GPU cache holds every position, so any prefix
    /// can be kept).
    pub fn rewind(&mut self, keep: usize) -> bool {
        self.prepared = None;
        if keep <= self.tokens.len() {
            self.tokens.truncate(keep);
            true
        } else {
            false
        }
    }

    /// Does `plan` now (asynchronously) so that the generation step asking for it finds it
    /// done; `produce`: what the step's sampling needs.
    pub async fn prepare(&mut self, plan: NextEval, produce: Produce) -> Result<()> {
        self.prepared = None;
        let t0 = crate::engine::time::now_ms();
        let want = match produce {
            Produce::TopK(k) if k > super::shaders::TOPK_MAX => Produce::Logits,
            other => other,
        };
        let out = match &plan {
            NextEval::Prefill { tokens, last } => {
                let w = if *last { want } else { Produce::Nothing };
                self.eval(tokens, w).await?
            }
            NextEval::Decode(t) => self.eval(&[*t], want).await?,
        };
        self.prepared = Some((plan, out, crate::engine::time::now_ms() - t0));
        Ok(())
    }

    fn take_prepared(&mut self, expected: &NextEval) -> Result<()> {
        match self.prepared.take() {
            Some((plan, out, ms)) if &plan == expected => {
                self.last = match out {
                    // The sampler takes a whole logit vector: the others are −∞, which it
                    // drops, exactly as top-k would.
                    Produced::TopK(top) => {
                        let mut l = vec![f32::NEG_INFINITY; self.model.config().n_vocab];
                        for (v, id) in top {
                            if let Some(x) = l.get_mut(id as usize) {
                                *x = v;
                            }
                        }
                        Produced::Logits(l)
                    }
                    other => other,
                };
                self.last_ms = ms;
                Ok(())
            }
            _ => Err(Error::Gpu {
                op: "generation step".into(),
                message: "the step's evaluation was not prepared on the GPU".into(),
            }),
        }
    }

    /// Evaluates `tokens` after the cached positions, a chunk of `n_batch` per submission,
    /// and returns what `produce` asks for about the last chunk (or, for
    /// [`Produce::GreedyEvery`], about every position).
    pub async fn eval(&mut self, tokens: &[u32], produce: Produce) -> Result<Produced> {
        let n_vocab = self.model.config().n_vocab;
        check_eval(tokens, self.tokens.len(), self.n_ctx, n_vocab)?;
        let mut all = Vec::new();
        let chunks: Vec<&[u32]> = tokens.chunks(self.r.n_batch).collect();
        let mut result = Produced::Nothing;
        for (i, chunk) in chunks.iter().enumerate() {
            let w = match produce {
                Produce::GreedyEvery => Produce::GreedyEvery,
                _ if i + 1 == chunks.len() => produce,
                _ => Produce::Nothing,
            };
            let r = self.forward(chunk, w).await?;
            self.tokens.extend_from_slice(chunk);
            match r {
                Produced::Tokens(t) if produce == Produce::GreedyEvery => all.extend(t),
                other => result = other,
            }
        }
        Ok(if produce == Produce::GreedyEvery {
            Produced::Tokens(all)
        } else {
            result
        })
    }

    /// Inputs of a pass: token ids and, for each rotation, the chunk's rows of the angle
    /// table, computed as the CPU path computes them (one decode token: n_rot/2 values each).
    fn write_inputs(&self, tokens: &[u32], p0: usize) {
        let g: &Graph = self.model.graph();
        let (gpu, r) = (&*self.gpu, &self.r);
        r.tokens.write_u32(gpu, 0, tokens);
        let n = tokens.len();
        for (rope, &at) in g.ropes.iter().zip(&r.rope_at) {
            let half = rope.n_rot / 2;
            let (mut cos, mut sin) = (vec![0f32; n * half], vec![0f32; n * half]);
            let params = rope.params(g, self.n_ctx);
            for t in 0..n {
                let rr = t * half..(t + 1) * half;
                crate::model::ops::rope_angles(p0 + t, &params, &mut cos[rr.clone()], &mut sin[rr]);
            }
            r.rope.write_f32(gpu, at, &cos);
            r.rope.write_f32(gpu, at + r.n_batch * half, &sin);
        }
    }

    async fn forward(&mut self, tokens: &[u32], produce: Produce) -> Result<Produced> {
        let model = Arc::clone(&self.model);
        let gpu = Rc::clone(&self.gpu);
        let p0 = self.tokens.len();
        self.write_inputs(tokens, p0);
        let t_encode = crate::engine::time::now_ms();
        // Taken out for the pass; an error on the way only costs the next pass its cache hits.
        let mut b = Batch::cached(&gpu, core::mem::take(&mut self.binds));
        let read = exec::record(&mut b, model.graph(), &self.r, tokens.len(), p0, produce)?;
        let (pending, binds) = b.submit_cached();
        self.binds = binds;
        self.encode_ms = crate::engine::time::now_ms() - t_encode;
        let out = pending?.wait().await?;
        let Some(i) = read else {
            return Ok(Produced::Nothing);
        };
        let bytes = out.get(i).map(Vec::as_slice).unwrap_or(&[]);
        exec::decode(bytes, produce, model.config().n_vocab)
    }
}

/// The generation loop's view: evaluations were done by [`GpuSession::prepare`]; these
/// calls hand over their results.
impl Evaluate for GpuSession {
    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
    fn n_batch(&self) -> usize {
        self.r.n_batch
    }
    fn tokens(&self) -> &[u32] {
        &self.tokens
    }
    fn rewind(&mut self, keep: usize) -> bool {
        GpuSession::rewind(self, keep)
    }
    fn clear(&mut self) {
        GpuSession::clear(self)
    }
    fn prefill(&mut self, tokens: &[u32]) -> Result<()> {
        let last = match &self.prepared {
            Some((NextEval::Prefill { last, .. }, _, _)) => *last,
            _ => false,
        };
        self.take_prepared(&NextEval::Prefill {
            tokens: tokens.to_vec(),
            last,
        })
    }
    fn decode(&mut self, token: u32) -> Result<()> {
        self.take_prepared(&NextEval::Decode(token))
    }
    fn logits_mut(&mut self) -> Option<&mut [f32]> {
        match &mut self.last {
            Produced::Logits(l) => Some(l),
            _ => None,
        }
    }
    fn greedy(&self) -> Option<u32> {
        match &self.last {
            Produced::Tokens(t) => t.last().copied(),
            _ => None,
        }
    }
    fn eval_ms(&self) -> Option<f64> {
        Some(self.last_ms)
    }
}
