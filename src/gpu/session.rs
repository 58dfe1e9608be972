//! One sequence evaluated on the GPU: the llama / gemma3 forward pass of
//! [`crate::model::session`], kernel for kernel, over a GPU KV cache.
//!
//! Weights are uploaded once in their GGUF layout. A forward pass of a chunk is one
//! [`Batch`] (one submission); the only readback is what the caller asks for: the greedy
//! token (4 bytes), every row's greedy token (teacher forcing), or the last row's logits.
//!
//! Differences from the CPU path, all below the tolerance the tests hold them to: the matmuls
//! multiply f32 activations by the dequantized weights (the CPU quantizes activations to
//! Q8_0/Q8_K first, as llama.cpp's CPU backend does), sums run in a different order, and the
//! KV cache is always f16 and holds every position (no sliding-window ring).

use std::rc::Rc;
use std::sync::Arc;

use super::batch::{Batch, BindCache};
use super::device::Gpu;
use super::ops::{self, AttnDims, NormOut, Rows};
use super::tensor::{GpuBuffer, GpuMatrix};
use crate::engine::{Evaluate, PlannedEval, SamplingNeeds};
use crate::error::{Error, Result};
use crate::model::config::FfnActivation;
use crate::model::session::{SessionOptions, DEFAULT_BATCH, DEFAULT_MAX_CTX};
use crate::model::{Matrix, Model};
use crate::quant::reference::ActivationKind;

/// What a forward pass must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Nothing (a prompt chunk before the last).
    Nothing,
    /// The last row's greedy token.
    Argmax,
    /// The last row's logits.
    Logits,
    /// The last row's `k` largest logits (k ≤ 64).
    TopK(usize),
    /// Every row's greedy token.
    ArgmaxAll,
}

/// The result of [`GpuSession::eval`].
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluated {
    Nothing,
    Tokens(Vec<u32>),
    Logits(Vec<f32>),
    /// (logit, token id), largest first.
    TopK(Vec<(f32, u32)>),
}

struct LayerW {
    wq: GpuMatrix,
    wk: GpuMatrix,
    wv: GpuMatrix,
    wo: GpuMatrix,
    gate: GpuMatrix,
    up: GpuMatrix,
    down: GpuMatrix,
    /// Offsets into the norms buffer.
    attn_norm: usize,
    q_norm: Option<usize>,
    k_norm: Option<usize>,
    post_attn_norm: Option<usize>,
    ffn_norm: usize,
    post_ffn_norm: Option<usize>,
    window: usize,
    swa: bool,
    kc: GpuBuffer,
    vc: GpuBuffer,
}

struct Scratch {
    x: GpuBuffer,
    xn: GpuBuffer,
    q: GpuBuffer,
    k: GpuBuffer,
    v: GpuBuffer,
    att: GpuBuffer,
    o: GpuBuffer,
    gate: GpuBuffer,
    up: GpuBuffer,
    /// Activations rounded as the CPU quantizes them (the input of quantized matmuls).
    xq: GpuBuffer,
    scores: GpuBuffer,
    logits: GpuBuffer,
    tokens: GpuBuffer,
    rope: GpuBuffer,
    partial: GpuBuffer,
    result: GpuBuffer,
    top: GpuBuffer,
}

pub struct GpuSession {
    gpu: Rc<Gpu>,
    model: Arc<Model>,
    embd: GpuMatrix,
    output: GpuMatrix,
    norms: GpuBuffer,
    output_norm: usize,
    layers: Vec<LayerW>,
    s: Scratch,
    n_ctx: usize,
    n_batch: usize,
    tokens: Vec<u32>,
    weight_bytes: usize,
    /// An evaluation done ahead by [`GpuSession::prepare`], waiting for the generation step
    /// that asks for it, and the output of the last evaluation it handed over.
    prepared: Option<(PlannedEval, Evaluated, f64)>,
    last: Evaluated,
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

fn upload(gpu: &Gpu, model: &Model, m: &Matrix) -> Result<GpuMatrix> {
    GpuMatrix::upload(gpu, &m.name, m.ty, m.rows, m.cols, model.bytes(m))
}

impl GpuSession {
    /// Uploads the weights and allocates the KV cache and scratch buffers. Fails with
    /// `BACKEND_UNAVAILABLE` (naming the tensor or buffer) when the model does not fit the
    /// adapter or uses a type the kernels do not take — the caller then stays on the CPU.
    pub fn new(gpu: Rc<Gpu>, model: Arc<Model>, opts: &SessionOptions) -> Result<GpuSession> {
        let c = model.config().clone();
        let w = model.weights();
        let n_ctx = if opts.n_ctx == 0 {
            c.n_ctx_train.min(DEFAULT_MAX_CTX)
        } else {
            opts.n_ctx
        };
        let n_batch = if opts.n_batch == 0 {
            DEFAULT_BATCH
        } else {
            opts.n_batch.min(n_ctx).min(4096)
        };
        if c.head_dim % 2 != 0 || c.head_dim_v % 2 != 0 || c.n_embd % 8 != 0 {
            return Err(Error::BackendUnavailable {
                reason: format!(
                    "head sizes {}/{} must be even and n_embd {} a multiple of 8 for the GPU kernels",
                    c.head_dim, c.head_dim_v, c.n_embd
                ),
            });
        }
        let g = &*gpu;
        let mut norm_data: Vec<f32> = Vec::new();
        let mut push = |v: &[f32]| {
            let at = norm_data.len();
            norm_data.extend_from_slice(v);
            at
        };
        let mut weight_bytes = 0;
        let mut layers = Vec::with_capacity(w.layers.len());
        for (il, l) in w.layers.iter().enumerate() {
            let up = |m: &Matrix| upload(g, &model, m);
            let lw = LayerW {
                wq: up(&l.wq)?,
                wk: up(&l.wk)?,
                wv: up(&l.wv)?,
                wo: up(&l.wo)?,
                gate: up(&l.ffn_gate)?,
                up: up(&l.ffn_up)?,
                down: up(&l.ffn_down)?,
                attn_norm: push(&l.attn_norm),
                q_norm: l.q_norm.as_deref().map(&mut push),
                k_norm: l.k_norm.as_deref().map(&mut push),
                post_attn_norm: l.post_attn_norm.as_deref().map(&mut push),
                ffn_norm: push(&l.ffn_norm),
                post_ffn_norm: l.post_ffn_norm.as_deref().map(&mut push),
                window: c.window(il).unwrap_or(0),
                swa: c.swa_layers.get(il) == Some(&true),
                kc: GpuBuffer::zeros(g, n_ctx * c.k_dim() / 2, "KV cache keys")?,
                vc: GpuBuffer::zeros(g, n_ctx * c.v_dim() / 2, "KV cache values")?,
            };
            weight_bytes += [&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.gate, &lw.up, &lw.down]
                .iter()
                .map(|m| m.bytes())
                .sum::<usize>();
            layers.push(lw);
        }
        let output_norm = push(&w.output_norm);
        let embd = upload(g, &model, &w.token_embd)?;
        weight_bytes += embd.bytes();
        // A tied head is the embedding table itself: upload it once.
        let output = if w.output.range == w.token_embd.range {
            embd.clone()
        } else {
            let m = upload(g, &model, &w.output)?;
            weight_bytes += m.bytes();
            m
        };
        let norms = GpuBuffer::from_f32(g, &norm_data, "norm weights")?;
        let half = c.n_rot / 2;
        let nb = n_batch;
        let z = |len: usize, what: &str| GpuBuffer::zeros(g, len, what);
        let s = Scratch {
            x: z(nb * c.n_embd, "activations")?,
            xn: z(nb * c.n_embd, "activations")?,
            q: z(nb * c.q_dim(), "queries")?,
            k: z(nb * c.k_dim(), "keys")?,
            v: z(nb * c.v_dim(), "values")?,
            att: z(nb * c.n_head * c.head_dim_v, "attention output")?,
            o: z(nb * c.n_embd.max(c.n_head * c.head_dim_v), "activations")?,
            gate: z(nb * c.n_ff, "FFN activations")?,
            up: z(nb * c.n_ff, "FFN activations")?,
            xq: z(
                nb * c.n_embd.max(c.n_ff).max(c.n_head * c.head_dim_v),
                "quantized activations",
            )?,
            scores: z(nb * c.n_head * n_ctx, "attention scores")?,
            logits: z(c.n_vocab, "logits")?,
            tokens: z(nb, "token ids")?,
            rope: z(4 * nb * half.max(1), "RoPE table")?,
            partial: z(
                2 * c.n_vocab.div_ceil(super::shaders::ARGMAX_CHUNK),
                "argmax partials",
            )?,
            result: z(nb, "argmax results")?,
            top: z(2 * super::shaders::TOPK_MAX, "top-k")?,
        };
        gpu.check("upload")?;
        Ok(GpuSession {
            gpu,
            model,
            embd,
            output,
            norms,
            output_norm,
            layers,
            s,
            n_ctx,
            n_batch,
            tokens: Vec::new(),
            weight_bytes,
            prepared: None,
            last: Evaluated::Nothing,
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
        self.n_batch
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
        self.layers.iter().map(|l| 4 * (l.kc.len + l.vc.len)).sum()
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
    /// done; `logits`: read back the logits, not just the greedy token.
    pub async fn prepare(&mut self, plan: PlannedEval, needs: SamplingNeeds) -> Result<()> {
        self.prepared = None;
        let t0 = crate::engine::time::now_ms();
        let want = match needs {
            SamplingNeeds::Greedy => Want::Argmax,
            SamplingNeeds::TopK(k) if k <= super::shaders::TOPK_MAX => Want::TopK(k),
            _ => Want::Logits,
        };
        let out = match &plan {
            PlannedEval::Prefill { tokens, last } => {
                let w = if *last { want } else { Want::Nothing };
                self.eval(tokens, w).await?
            }
            PlannedEval::Decode(t) => self.eval(&[*t], want).await?,
        };
        self.prepared = Some((plan, out, crate::engine::time::now_ms() - t0));
        Ok(())
    }

    fn take_prepared(&mut self, expected: &PlannedEval) -> Result<()> {
        match self.prepared.take() {
            Some((plan, out, ms)) if &plan == expected => {
                self.last = match out {
                    // The sampler takes a whole logit vector: the others are −∞, which it
                    // drops, exactly as top-k would.
                    Evaluated::TopK(top) => {
                        let n_vocab = self.model.config().n_vocab;
                        let mut l = vec![f32::NEG_INFINITY; n_vocab];
                        for (v, id) in top {
                            if let Some(x) = l.get_mut(id as usize) {
                                *x = v;
                            }
                        }
                        Evaluated::Logits(l)
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
    /// and returns what `want` asks for about the last chunk.
    pub async fn eval(&mut self, tokens: &[u32], want: Want) -> Result<Evaluated> {
        let c = self.model.config();
        if tokens.is_empty() {
            return Err(Error::InvalidOption {
                name: "tokens",
                value: "[]".into(),
                expected: "at least one token to evaluate",
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= c.n_vocab) {
            return Err(Error::InvalidToken {
                token: bad,
                n_vocab: c.n_vocab,
            });
        }
        let needed = self.tokens.len().saturating_add(tokens.len());
        if needed > self.n_ctx {
            return Err(Error::ContextOverflow {
                n_ctx: self.n_ctx,
                needed,
            });
        }
        let mut all = Vec::new();
        let chunks: Vec<&[u32]> = tokens.chunks(self.n_batch).collect();
        let mut result = Evaluated::Nothing;
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let w = match want {
                Want::ArgmaxAll => Want::ArgmaxAll,
                _ if last => want,
                _ => Want::Nothing,
            };
            let r = self.forward(chunk, w).await?;
            self.tokens.extend_from_slice(chunk);
            match r {
                Evaluated::Tokens(t) if want == Want::ArgmaxAll => all.extend(t),
                other => result = other,
            }
        }
        Ok(if want == Want::ArgmaxAll {
            Evaluated::Tokens(all)
        } else {
            result
        })
    }

    async fn forward(&mut self, tokens: &[u32], want: Want) -> Result<Evaluated> {
        let model = Arc::clone(&self.model);
        let c = model.config();
        let gpu = Rc::clone(&self.gpu);
        let s = &self.s;
        let n = tokens.len();
        let p0 = self.tokens.len();
        let e = c.n_embd;
        let (q_dim, k_dim) = (c.q_dim(), c.k_dim());
        let half = c.n_rot / 2;
        let nb = self.n_batch;

        // Inputs: token ids and the RoPE table, computed as the CPU path computes them.
        s.tokens.write_u32(&gpu, 0, tokens);
        // Only the chunk's rows are computed and uploaded (one decode token: 2 × n_rot/2
        // values per base), and the sliding-window base only when some layer uses it.
        if half > 0 {
            let ff = model.weights().rope_freqs.as_deref();
            let has_swa = c.swa_layers.iter().any(|&b| b);
            let bases = [(c.rope_base, 0), (c.rope_base_swa, 2 * nb * half)];
            let (mut cos, mut sin) = (vec![0f32; n * half], vec![0f32; n * half]);
            for &(base, at) in bases.iter().take(if has_swa { 2 } else { 1 }) {
                for t in 0..n {
                    let r = t * half..(t + 1) * half;
                    crate::model::ops::rope_angles(
                        p0 + t,
                        c.n_rot,
                        base,
                        c.rope_freq_scale,
                        ff,
                        &mut cos[r.clone()],
                        &mut sin[r],
                    );
                }
                s.rope.write_f32(&gpu, at, &cos);
                s.rope.write_f32(&gpu, at + nb * half, &sin);
            }
        }

        // Taken out for the pass (the graph helpers borrow `self`); an error on the way only
        // costs the next pass its cache hits.
        let t_encode = crate::engine::time::now_ms();
        let mut b = Batch::cached(&gpu, core::mem::take(&mut self.binds));
        ops::embed(
            &mut b,
            &self.embd,
            &s.tokens,
            n,
            c.embed_scale.unwrap_or(1.0),
            &s.x,
            0,
        )?;
        let n_layer = self.layers.len();
        for (il, l) in self.layers.iter().enumerate() {
            let d = AttnDims {
                n_head: c.n_head,
                n_head_kv: c.n_head_kv,
                head_dim: c.head_dim,
                head_dim_v: c.head_dim_v,
                window: l.window,
                kq_scale: if c.qk_norm { 1.0 } else { c.attn_scale },
            };
            ops::rms_norm(
                &mut b,
                Rows::new(&s.x, 0, e),
                n,
                e,
                &self.norms,
                l.attn_norm,
                c.rms_eps,
                NormOut::Into(Rows::new(&s.xn, 0, e)),
            )?;
            let mut held = None;
            let xq = &s.xq;
            mm(
                &mut b,
                &l.wq,
                &s.xn,
                0,
                n,
                Rows::new(&s.q, 0, q_dim),
                xq,
                &mut held,
            )?;
            mm(
                &mut b,
                &l.wk,
                &s.xn,
                0,
                n,
                Rows::new(&s.k, 0, k_dim),
                xq,
                &mut held,
            )?;
            let v_out = Rows::new(&s.v, 0, c.v_dim());
            mm(&mut b, &l.wv, &s.xn, 0, n, v_out, xq, &mut held)?;
            if let (Some(qn), Some(kn)) = (l.q_norm, l.k_norm) {
                let hd = c.head_dim;
                let (qr, kr) = (n * c.n_head, n * c.n_head_kv);
                ops::rms_norm(
                    &mut b,
                    Rows::new(&s.q, 0, hd),
                    qr,
                    hd,
                    &self.norms,
                    qn,
                    c.rms_eps,
                    NormOut::InPlace,
                )?;
                ops::rms_norm(
                    &mut b,
                    Rows::new(&s.k, 0, hd),
                    kr,
                    hd,
                    &self.norms,
                    kn,
                    c.rms_eps,
                    NormOut::InPlace,
                )?;
            }
            if half > 0 {
                let base = if l.swa { 2 * nb * half } else { 0 };
                let (co, so) = (base, base + nb * half);
                ops::rope(
                    &mut b,
                    &s.q,
                    0,
                    n,
                    c.n_head,
                    c.head_dim,
                    half,
                    c.rope_neox,
                    &s.rope,
                    co,
                    so,
                )?;
                ops::rope(
                    &mut b,
                    &s.k,
                    0,
                    n,
                    c.n_head_kv,
                    c.head_dim,
                    half,
                    c.rope_neox,
                    &s.rope,
                    co,
                    so,
                )?;
            }
            // Gemma scales the queries themselves; the f16 cache meets f16-rounded queries.
            let qs = if c.qk_norm { c.attn_scale } else { 1.0 };
            ops::scale(&mut b, &s.q, 0, n * q_dim, qs, true)?;
            ops::kv_store(&mut b, &d, &s.k, &s.v, n, p0, &l.kc, &l.vc)?;
            ops::attention(&mut b, &d, &s.q, &l.kc, &l.vc, n, p0, &s.scores, &s.att)?;

            // After the last layer's attention only the rows that produce logits matter.
            let r0 = if il + 1 == n_layer && want != Want::ArgmaxAll {
                n - 1
            } else {
                0
            };
            let nr = n - r0;
            let o_in = c.n_head * c.head_dim_v;
            let mut held = None;
            let o_out = Rows::new(&s.o, 0, e);
            mm(&mut b, &l.wo, &s.att, r0 * o_in, nr, o_out, xq, &mut held)?;
            self.residual(&mut b, l.post_attn_norm, r0, nr)?;

            ops::rms_norm(
                &mut b,
                Rows::new(&s.x, r0 * e, e),
                nr,
                e,
                &self.norms,
                l.ffn_norm,
                c.rms_eps,
                NormOut::Into(Rows::new(&s.xn, 0, e)),
            )?;
            let mut held = None;
            let (g_out, u_out) = (Rows::new(&s.gate, 0, c.n_ff), Rows::new(&s.up, 0, c.n_ff));
            mm(&mut b, &l.gate, &s.xn, 0, nr, g_out, xq, &mut held)?;
            mm(&mut b, &l.up, &s.xn, 0, nr, u_out, xq, &mut held)?;
            ops::glu(
                &mut b,
                &s.gate,
                &s.up,
                nr * c.n_ff,
                c.ffn_act == FfnActivation::GeluTanh,
            )?;
            let mut held = None;
            mm(&mut b, &l.down, &s.gate, 0, nr, o_out, xq, &mut held)?;
            self.residual(&mut b, l.post_ffn_norm, r0, nr)?;
        }

        // ---- output ----
        let rows: Vec<usize> = match want {
            Want::Nothing => Vec::new(),
            Want::Argmax | Want::Logits | Want::TopK(_) => vec![n - 1],
            Want::ArgmaxAll => (0..n).collect(),
        };
        let mut read = None;
        for (slot, &r) in rows.iter().enumerate() {
            ops::rms_norm(
                &mut b,
                Rows::new(&s.x, r * e, e),
                1,
                e,
                &self.norms,
                self.output_norm,
                c.rms_eps,
                NormOut::Into(Rows::new(&s.xn, 0, e)),
            )?;
            let mut held = None;
            let l_out = Rows::new(&s.logits, 0, c.n_vocab);
            mm(&mut b, &self.output, &s.xn, 0, 1, l_out, &s.xq, &mut held)?;
            if let Some(cap) = c.final_logit_softcap {
                ops::softcap(&mut b, &s.logits, 0, c.n_vocab, cap)?;
            }
            match want {
                Want::Logits => {}
                Want::TopK(k) => ops::top_k(&mut b, &s.logits, 0, c.n_vocab, k, &s.top)?,
                _ => ops::argmax(&mut b, &s.logits, 0, c.n_vocab, &s.partial, &s.result, slot)?,
            }
        }
        match want {
            Want::Nothing => {}
            Want::Logits => read = Some(b.read(&s.logits, 0, 4 * c.n_vocab as u64)),
            Want::TopK(k) => read = Some(b.read(&s.top, 0, 8 * k as u64)),
            Want::Argmax | Want::ArgmaxAll => {
                read = Some(b.read(&s.result, 0, 4 * rows.len() as u64))
            }
        }
        let (pending, binds) = b.submit_cached();
        self.binds = binds;
        self.encode_ms = crate::engine::time::now_ms() - t_encode;
        let out = pending?.wait().await?;
        let Some(i) = read else {
            return Ok(Evaluated::Nothing);
        };
        let bytes = out.get(i).map(Vec::as_slice).unwrap_or(&[]);
        Ok(match want {
            Want::Logits => Evaluated::Logits(bytemuck::pod_collect_to_vec(bytes)),
            Want::TopK(_) => {
                let words: Vec<u32> = bytemuck::pod_collect_to_vec(bytes);
                Evaluated::TopK(
                    words
                        .chunks_exact(2)
                        .filter(|w| (w[1] as usize) < c.n_vocab)
                        .map(|w| (f32::from_bits(w[0]), w[1]))
                        .collect(),
                )
            }
            _ => {
                let ids: Vec<u32> = bytemuck::pod_collect_to_vec(bytes);
                // An out-of-range id means every logit was NaN.
                if ids.iter().any(|&t| t as usize >= c.n_vocab) {
                    return Err(Error::NoCandidates { n_vocab: c.n_vocab });
                }
                Evaluated::Tokens(ids)
            }
        })
    }

    /// `x[r0..] += post_norm(o)` (Gemma) or `x[r0..] += o`.
    fn residual(
        &self,
        b: &mut Batch,
        post_norm: Option<usize>,
        r0: usize,
        nr: usize,
    ) -> Result<()> {
        let c = self.model.config();
        let e = c.n_embd;
        let s = &self.s;
        match post_norm {
            Some(pn) => ops::rms_norm(
                b,
                Rows::new(&s.o, 0, e),
                nr,
                e,
                &self.norms,
                pn,
                c.rms_eps,
                NormOut::Add(Rows::new(&s.x, r0 * e, e)),
            ),
            None => ops::add(b, &s.o, 0, &s.x, r0 * e, nr * e),
        }
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
    xq: &GpuBuffer,
    held: &mut Held,
) -> Result<()> {
    let input = match w.ty.activation_kind() {
        Some(k @ (ActivationKind::Q8_0 | ActivationKind::Q8K)) if b.gpu().cpu_rounding() => {
            let key = (x as *const GpuBuffer as usize, x_off, k);
            if *held != Some(key) {
                ops::quantize_activations(b, w.ty, x, x_off, n, w.cols, xq)?;
                *held = Some(key);
            }
            Rows::new(xq, 0, w.cols)
        }
        _ => Rows::new(x, x_off, w.cols),
    };
    ops::matmul(b, w, input, y, n)
}

/// The generation loop's view: evaluations were done by [`GpuSession::prepare`]; these
/// calls hand over their results.
impl Evaluate for GpuSession {
    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
    fn n_batch(&self) -> usize {
        self.n_batch
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
            Some((PlannedEval::Prefill { last, .. }, _, _)) => *last,
            _ => false,
        };
        self.take_prepared(&PlannedEval::Prefill {
            tokens: tokens.to_vec(),
            last,
        })
    }
    fn decode(&mut self, token: u32) -> Result<()> {
        self.take_prepared(&PlannedEval::Decode(token))
    }
    fn logits_mut(&mut self) -> Option<&mut [f32]> {
        match &mut self.last {
            Evaluated::Logits(l) => Some(l),
            _ => None,
        }
    }
    fn greedy(&self) -> Option<u32> {
        match &self.last {
            Evaluated::Tokens(t) => t.last().copied(),
            _ => None,
        }
    }
    fn eval_ms(&self) -> Option<f64> {
        Some(self.last_ms)
    }
}
