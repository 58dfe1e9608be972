//! A session: one sequence's KV cache plus the scratch buffers of the forward pass.
//!
//! * [`Session::prefill`] runs tokens through the GEMM kernels (`cpu::matmul`) in chunks of
//!   `n_batch` rows and returns the logits of the last one;
//! * [`Session::decode`] runs one token through the GEMV kernels (`cpu::matvec`);
//! * [`Session::prefill_logits_all`] returns every position's logits (teacher forcing).
//!
//! Every buffer is allocated when the session is created (the logits of all positions, a
//! test feature, grow on demand); evaluating a token allocates nothing.

use std::sync::Arc;

use super::attention::{attention, AttnScratch, AttnShape};
use super::config::{FfnActivation, ModelConfig};
use super::kv::{KvCache, KvType};
use super::ops;
use super::{Matrix, Model};
use crate::cpu::{self, Activations};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Default context when the caller does not choose one: the model's, capped at this.
pub const DEFAULT_MAX_CTX: usize = 4096;
/// Default prefill chunk: the GEMM kernels reuse each decoded weight block over this many
/// activation rows, and the scratch stays small (64 × n_ff floats).
pub const DEFAULT_BATCH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// Positions the KV cache holds; 0 = min(model context, 4096).
    pub n_ctx: usize,
    /// Largest number of tokens evaluated in one forward pass (prefill chunk); 0 = 64.
    pub n_batch: usize,
    /// Element type of the KV cache (f16 by default, as llama.cpp).
    pub kv_type: KvType,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            n_ctx: 0,
            n_batch: DEFAULT_BATCH,
            kv_type: KvType::F16,
        }
    }
}

/// Which positions of a forward pass produce logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Last,
    All,
}

/// Activations quantized for each weight family, computed at most once per input.
#[derive(Debug, Default)]
struct ActCache {
    acts: [Activations; 3],
    fresh: [bool; 3],
}

impl ActCache {
    fn invalidate(&mut self) {
        self.fresh = [false; 3];
    }

    fn get(&mut self, ty: GgmlType, x: &[f32], n: usize) -> Result<&Activations> {
        let i = match cpu::activation_type(ty)? {
            GgmlType::Q8_0 => 0,
            GgmlType::Q8_K => 1,
            _ => 2,
        };
        if !self.fresh[i] {
            self.acts[i].quantize(ty, x, n)?;
            self.fresh[i] = true;
        }
        Ok(&self.acts[i])
    }
}

/// Forward-pass buffers, `n_batch` rows each.
#[derive(Debug)]
struct Scratch {
    x: Vec<f32>,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    /// RoPE cos/sin per row for the global and the sliding-window base.
    cos: Vec<f32>,
    sin: Vec<f32>,
    cos_swa: Vec<f32>,
    sin_swa: Vec<f32>,
    acts: ActCache,
    attn: AttnScratch,
}

pub struct Session {
    model: Arc<Model>,
    kv: KvCache,
    n_batch: usize,
    /// The tokens whose keys and values are in the cache, in position order.
    tokens: Vec<u32>,
    s: Scratch,
    /// Logits of the last evaluated position (or of every position after
    /// `prefill_logits_all`).
    logits: Vec<f32>,
    /// Where the last position's logits start in `logits`.
    last: usize,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("n_ctx", &self.kv.n_ctx())
            .field("n_batch", &self.n_batch)
            .field("n_past", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

/// `rows × cols` zeros; sizes that overflow (possible on wasm32 with hostile metadata) or do
/// not fit are `OUT_OF_MEMORY`, not a panic.
fn zeros(rows: usize, cols: usize, what: &'static str) -> Result<Vec<f32>> {
    let n = rows.checked_mul(cols).ok_or(Error::OutOfMemory {
        what,
        bytes: u64::MAX,
    })?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Error::OutOfMemory {
        what,
        bytes: 4 * n as u64,
    })?;
    v.resize(n, 0.0);
    Ok(v)
}

impl Session {
    /// Allocates the KV cache and scratch buffers. `n_ctx` larger than the model's training
    /// context is allowed (as in llama.cpp) but is the caller's risk.
    pub fn new(model: Arc<Model>, opts: &SessionOptions) -> Result<Session> {
        let c = model.config().clone();
        let n_ctx = if opts.n_ctx == 0 {
            c.n_ctx_train.min(DEFAULT_MAX_CTX)
        } else {
            opts.n_ctx
        };
        if n_ctx > (1 << 24) {
            return Err(Error::InvalidOption {
                name: "nCtx",
                value: n_ctx.to_string(),
                expected: "at most 16777216",
            });
        }
        let n_batch = if opts.n_batch == 0 {
            DEFAULT_BATCH
        } else {
            opts.n_batch.min(n_ctx).min(4096)
        };
        let windows: Vec<Option<usize>> = (0..c.n_layer).map(|il| c.window(il)).collect();
        let kv = KvCache::new(opts.kv_type, n_ctx, n_batch, &windows, c.k_dim(), c.v_dim())?;
        let half_rot = c.n_rot / 2;
        let shape = attn_shape(&c);
        let s = Scratch {
            x: zeros(n_batch, c.n_embd, "activations")?,
            xn: zeros(n_batch, c.n_embd, "activations")?,
            q: zeros(n_batch, c.q_dim(), "queries")?,
            k: zeros(n_batch, c.k_dim(), "keys")?,
            v: zeros(n_batch, c.v_dim(), "values")?,
            att: zeros(n_batch, c.n_head * c.head_dim_v, "attention output")?,
            o: zeros(n_batch, c.n_embd, "activations")?,
            gate: zeros(n_batch, c.n_ff, "FFN activations")?,
            up: zeros(n_batch, c.n_ff, "FFN activations")?,
            cos: zeros(n_batch, half_rot, "RoPE table")?,
            sin: zeros(n_batch, half_rot, "RoPE table")?,
            cos_swa: zeros(n_batch, half_rot, "RoPE table")?,
            sin_swa: zeros(n_batch, half_rot, "RoPE table")?,
            acts: ActCache::default(),
            attn: AttnScratch::new(&shape, n_batch),
        };
        let logits = zeros(1, c.n_vocab, "logits")?;
        Ok(Session {
            model,
            kv,
            n_batch,
            tokens: Vec::new(),
            s,
            logits,
            last: 0,
        })
    }

    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// Positions the cache holds.
    pub fn n_ctx(&self) -> usize {
        self.kv.n_ctx()
    }

    pub fn n_batch(&self) -> usize {
        self.n_batch
    }

    /// Number of evaluated positions.
    pub fn n_past(&self) -> usize {
        self.tokens.len()
    }

    /// The evaluated tokens, in order.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Bytes of the KV cache.
    pub fn kv_bytes(&self) -> usize {
        self.kv.bytes()
    }

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.tokens.clear();
    }

    /// Keeps the first `keep` positions and drops the rest, if the cache still holds what
    /// continuing from `keep` needs (a sliding-window ring may have overwritten it); returns
    /// false — and clears everything — otherwise.
    pub fn rewind(&mut self, keep: usize) -> bool {
        if self.kv.can_rewind(self.tokens.len(), keep) {
            self.tokens.truncate(keep);
            true
        } else {
            self.tokens.clear();
            false
        }
    }

    /// The logits of the last evaluated position (empty before any evaluation).
    pub fn logits(&self) -> &[f32] {
        let n = if self.tokens.is_empty() {
            0
        } else {
            self.model.config().n_vocab
        };
        self.logits.get(self.last..self.last + n).unwrap_or(&[])
    }

    /// The logits of the last evaluated position, for in-place edits (penalties, biases)
    /// before sampling; the next evaluation overwrites them.
    pub fn logits_mut(&mut self) -> &mut [f32] {
        let n = if self.tokens.is_empty() {
            0
        } else {
            self.model.config().n_vocab
        };
        self.logits
            .get_mut(self.last..self.last + n)
            .unwrap_or(&mut [])
    }

    /// Evaluates `tokens` after the cached positions; returns the logits of the last one.
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32]> {
        self.eval(tokens, Output::Last)?;
        Ok(&self.logits[..self.model.config().n_vocab])
    }

    /// Evaluates `tokens` and returns the logits of every one of them, `tokens.len() ×
    /// n_vocab` values (row `i` predicts the token after `tokens[i]`).
    pub fn prefill_logits_all(&mut self, tokens: &[u32]) -> Result<&[f32]> {
        self.eval(tokens, Output::All)?;
        Ok(&self.logits[..tokens.len() * self.model.config().n_vocab])
    }

    /// Evaluates one token through the GEMV path; returns its logits.
    pub fn decode(&mut self, token: u32) -> Result<&[f32]> {
        self.eval(&[token], Output::Last)?;
        Ok(&self.logits[..self.model.config().n_vocab])
    }

    fn eval(&mut self, tokens: &[u32], out: Output) -> Result<()> {
        let n_vocab = self.model.config().n_vocab;
        if tokens.is_empty() {
            return Err(Error::InvalidOption {
                name: "tokens",
                value: "[]".into(),
                expected: "at least one token to evaluate",
            });
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(Error::InvalidToken {
                token: bad,
                n_vocab,
            });
        }
        let needed = self.tokens.len().saturating_add(tokens.len());
        if needed > self.kv.n_ctx() {
            return Err(Error::ContextOverflow {
                n_ctx: self.kv.n_ctx(),
                needed,
            });
        }
        if out == Output::All {
            let n = tokens
                .len()
                .checked_mul(n_vocab)
                .ok_or(Error::OutOfMemory {
                    what: "logits of every position",
                    bytes: u64::MAX,
                })?;
            if self.logits.len() < n {
                self.logits
                    .try_reserve_exact(n - self.logits.len())
                    .map_err(|_| Error::OutOfMemory {
                        what: "logits of every position",
                        bytes: 4 * n as u64,
                    })?;
                self.logits.resize(n, 0.0);
            }
        }
        self.tokens
            .try_reserve(tokens.len())
            .map_err(|_| Error::OutOfMemory {
                what: "token history",
                bytes: 4 * needed as u64,
            })?;
        let model = Arc::clone(&self.model);
        // Until the pass succeeds the logits are not those of the last position.
        self.last = 0;
        let mut done = 0;
        for chunk in tokens.chunks(self.n_batch) {
            let p0 = self.tokens.len();
            let dst = match out {
                Output::All => done * n_vocab,
                Output::Last => 0,
            };
            let last_chunk = done + chunk.len() == tokens.len();
            let rows = match out {
                Output::All => Rows::All,
                Output::Last if last_chunk => Rows::Last,
                Output::Last => Rows::None,
            };
            let logits = &mut self.logits[dst..];
            forward(&model, &mut self.kv, &mut self.s, chunk, p0, rows, logits)?;
            self.tokens.extend_from_slice(chunk);
            done += chunk.len();
        }
        if out == Output::All {
            self.last = (tokens.len() - 1) * n_vocab;
        }
        Ok(())
    }
}

/// Which rows of a chunk need logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    None,
    Last,
    All,
}

fn attn_shape(c: &ModelConfig) -> AttnShape {
    AttnShape {
        n_head: c.n_head,
        n_head_kv: c.n_head_kv,
        head_dim: c.head_dim,
        head_dim_v: c.head_dim_v,
        // Gemma scales the queries themselves (before they are rounded to f16, as in
        // llama.cpp); Llama scales the scores.
        kq_scale: if c.qk_norm { 1.0 } else { c.attn_scale },
    }
}

/// `out = W · x` for `n` rows of `x`, with the activations quantized once per weight family.
fn matmul(
    model: &Model,
    m: &Matrix,
    acts: &mut ActCache,
    x: &[f32],
    n: usize,
    out: &mut [f32],
) -> Result<()> {
    let act = acts.get(m.ty, x, n)?;
    let out = &mut out[..n * m.rows];
    if n == 1 {
        cpu::matvec(m.ty, model.bytes(m), m.rows, m.cols, act, out)
    } else {
        cpu::matmul(m.ty, model.bytes(m), m.rows, m.cols, act, out)
    }
}

/// One forward pass of `tokens` (at most `n_batch`) at positions `p0..`.
fn forward(
    model: &Model,
    kv: &mut KvCache,
    s: &mut Scratch,
    tokens: &[u32],
    p0: usize,
    rows: Rows,
    logits: &mut [f32],
) -> Result<()> {
    let c = model.config();
    let w = model.weights();
    let n = tokens.len();
    let e = c.n_embd;
    let (hd, hdv) = (c.head_dim, c.head_dim_v);
    let (q_dim, k_dim, v_dim) = (c.q_dim(), c.k_dim(), c.v_dim());
    let half_rot = c.n_rot / 2;
    let shape = attn_shape(c);

    // Embeddings: dequantize only the rows we need.
    let emb = &w.token_embd;
    let emb_bytes = model.bytes(emb);
    let rb = emb.row_bytes();
    for (t, &tok) in tokens.iter().enumerate() {
        let row = emb_bytes
            .get(tok as usize * rb..(tok as usize + 1) * rb)
            .ok_or(Error::InvalidToken {
                token: tok,
                n_vocab: c.n_vocab,
            })?;
        let x = &mut s.x[t * e..(t + 1) * e];
        crate::quant::dequantize(emb.ty, row, x)?;
        if let Some(sc) = c.embed_scale {
            ops::scale(x, sc);
        }
    }

    // RoPE angles, once per chunk for each base.
    let ff = w.rope_freqs.as_deref();
    let has_swa = c.swa_layers.iter().any(|&b| b);
    for t in 0..n {
        let r = t * half_rot..(t + 1) * half_rot;
        ops::rope_angles(
            p0 + t,
            c.n_rot,
            c.rope_base,
            c.rope_freq_scale,
            ff,
            &mut s.cos[r.clone()],
            &mut s.sin[r.clone()],
        );
        if has_swa {
            ops::rope_angles(
                p0 + t,
                c.n_rot,
                c.rope_base_swa,
                c.rope_freq_scale,
                ff,
                &mut s.cos_swa[r.clone()],
                &mut s.sin_swa[r],
            );
        }
    }

    let n_layer = w.layers.len();
    for (il, l) in w.layers.iter().enumerate() {
        // ---- attention ----
        ops::rms_norm_rows_into(&s.x[..n * e], &l.attn_norm, c.rms_eps, &mut s.xn[..n * e]);
        s.acts.invalidate();
        matmul(model, &l.wq, &mut s.acts, &s.xn[..n * e], n, &mut s.q)?;
        matmul(model, &l.wk, &mut s.acts, &s.xn[..n * e], n, &mut s.k)?;
        matmul(model, &l.wv, &mut s.acts, &s.xn[..n * e], n, &mut s.v)?;

        if let (Some(qn), Some(kn)) = (&l.q_norm, &l.k_norm) {
            ops::rms_norm_rows(&mut s.q[..n * q_dim], qn, c.rms_eps);
            ops::rms_norm_rows(&mut s.k[..n * k_dim], kn, c.rms_eps);
        }
        let (cos, sin) = if c.swa_layers.get(il) == Some(&true) {
            (&s.cos_swa, &s.sin_swa)
        } else {
            (&s.cos, &s.sin)
        };
        for t in 0..n {
            let (ct, st) = (
                &cos[t * half_rot..(t + 1) * half_rot],
                &sin[t * half_rot..(t + 1) * half_rot],
            );
            for head in s.q[t * q_dim..(t + 1) * q_dim].chunks_exact_mut(hd) {
                ops::rope_head(head, ct, st, c.rope_neox);
            }
            for head in s.k[t * k_dim..(t + 1) * k_dim].chunks_exact_mut(hd) {
                ops::rope_head(head, ct, st, c.rope_neox);
            }
        }
        if c.qk_norm {
            ops::scale(&mut s.q[..n * q_dim], c.attn_scale);
        }
        if kv.ty() == KvType::F16 {
            // llama.cpp converts the queries to f16 to multiply them with an f16 cache.
            ops::round_to_f16(&mut s.q[..n * q_dim]);
        }

        let lkv = &mut kv.layers[il];
        for t in 0..n {
            let slot = (p0 + t) % lkv.slots;
            lkv.k.write(slot * k_dim, &s.k[t * k_dim..(t + 1) * k_dim]);
            lkv.v.write(slot * v_dim, &s.v[t * v_dim..(t + 1) * v_dim]);
        }
        attention(lkv, &shape, &s.q, &mut s.att, p0, n, &mut s.attn);

        // After the last layer's attention only the rows that produce logits matter (llama.cpp
        // does the same with `inp_out_ids`).
        let r0 = if il + 1 == n_layer && rows != Rows::All {
            n - 1
        } else {
            0
        };
        let nr = n - r0;
        let o_in = c.n_head * hdv;
        s.acts.invalidate();
        matmul(
            model,
            &l.wo,
            &mut s.acts,
            &s.att[r0 * o_in..n * o_in],
            nr,
            &mut s.o,
        )?;
        if let Some(pn) = &l.post_attn_norm {
            ops::rms_norm_rows(&mut s.o[..nr * e], pn, c.rms_eps);
        }
        ops::add_assign(&mut s.x[r0 * e..n * e], &s.o[..nr * e]);

        // ---- feed-forward ----
        ops::rms_norm_rows_into(
            &s.x[r0 * e..n * e],
            &l.ffn_norm,
            c.rms_eps,
            &mut s.xn[..nr * e],
        );
        s.acts.invalidate();
        matmul(
            model,
            &l.ffn_gate,
            &mut s.acts,
            &s.xn[..nr * e],
            nr,
            &mut s.gate,
        )?;
        matmul(
            model,
            &l.ffn_up,
            &mut s.acts,
            &s.xn[..nr * e],
            nr,
            &mut s.up,
        )?;
        let nf = nr * c.n_ff;
        match c.ffn_act {
            FfnActivation::GeluTanh => ops::geglu(&mut s.gate[..nf], &s.up[..nf]),
            FfnActivation::Silu => ops::swiglu(&mut s.gate[..nf], &s.up[..nf]),
        }
        s.acts.invalidate();
        matmul(model, &l.ffn_down, &mut s.acts, &s.gate[..nf], nr, &mut s.o)?;
        if let Some(pn) = &l.post_ffn_norm {
            ops::rms_norm_rows(&mut s.o[..nr * e], pn, c.rms_eps);
        }
        ops::add_assign(&mut s.x[r0 * e..n * e], &s.o[..nr * e]);
    }

    // ---- output ----
    let (r0, nr) = match rows {
        Rows::None => return Ok(()),
        Rows::Last => (n - 1, 1),
        Rows::All => (0, n),
    };
    ops::rms_norm_rows_into(
        &s.x[r0 * e..n * e],
        &w.output_norm,
        c.rms_eps,
        &mut s.xn[..nr * e],
    );
    s.acts.invalidate();
    // All rows at once would need nr × n_vocab contiguous outputs, which `logits` has.
    matmul(model, &w.output, &mut s.acts, &s.xn[..nr * e], nr, logits)?;
    if let Some(cap) = c.final_logit_softcap {
        ops::softcap(&mut logits[..nr * c.n_vocab], cap);
    }
    Ok(())
}
