//! A CPU session: one sequence's KV cache plus the scratch buffers of the forward pass, and
//! the CPU executor of the model's [`Graph`](super::graph::Graph) (in [`super::cpu_exec`]).
//!
//! * [`Session::prefill`] runs tokens through the GEMM kernels (`cpu::matmul`) in chunks of
//!   `n_batch` rows and returns the logits of the last one;
//! * [`Session::decode`] runs one token through the GEMV kernels (`cpu::matvec`);
//! * [`Session::prefill_logits_all`] returns every position's logits (teacher forcing).
//!
//! The KV cache, activations and logits are allocated when the session is created (the
//! logits of all positions, a test feature, grow on demand); what an evaluation still
//! allocates is the GEMM kernels' per-call tile of decoded weights during prefill.

use std::sync::Arc;

use super::cpu_exec::{forward, LogitRows, Scratch};
use super::kv::KvCache;
use super::options::{check_eval, SessionOptions};
use super::Model;
use crate::error::{Error, Result};

pub use super::options::{DEFAULT_BATCH, DEFAULT_MAX_CTX};

/// Which positions of an evaluation produce logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogitsOf {
    Last,
    Every,
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
pub(crate) fn zeros(rows: usize, cols: usize, what: &'static str) -> Result<Vec<f32>> {
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
    /// Allocates the KV cache and scratch buffers.
    pub fn new(model: Arc<Model>, opts: &SessionOptions) -> Result<Session> {
        let size = opts.size(model.config())?;
        let g = model.graph();
        let kv = KvCache::new(
            opts.kv_type,
            size.n_ctx,
            size.n_batch,
            &g.windows(),
            g.k_dim(),
            g.v_dim(),
        )?;
        let s = Scratch::new(g, size.n_batch)?;
        let logits = zeros(1, g.n_vocab, "logits")?;
        Ok(Session {
            model,
            kv,
            n_batch: size.n_batch,
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
        let n = self.last_len();
        self.logits.get(self.last..self.last + n).unwrap_or(&[])
    }

    /// The logits of the last evaluated position, for in-place edits (penalties, biases)
    /// before sampling; the next evaluation overwrites them.
    pub fn logits_mut(&mut self) -> &mut [f32] {
        let n = self.last_len();
        self.logits
            .get_mut(self.last..self.last + n)
            .unwrap_or(&mut [])
    }

    fn last_len(&self) -> usize {
        if self.tokens.is_empty() {
            0
        } else {
            self.model.config().n_vocab
        }
    }

    /// Evaluates `tokens` after the cached positions; returns the logits of the last one.
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<&[f32]> {
        self.eval(tokens, LogitsOf::Last)?;
        Ok(&self.logits[..self.model.config().n_vocab])
    }

    /// Evaluates `tokens` and returns the logits of every one of them, `tokens.len() ×
    /// n_vocab` values (row `i` predicts the token after `tokens[i]`).
    pub fn prefill_logits_all(&mut self, tokens: &[u32]) -> Result<&[f32]> {
        self.eval(tokens, LogitsOf::Every)?;
        Ok(&self.logits[..tokens.len() * self.model.config().n_vocab])
    }

    /// Evaluates one token through the GEMV path; returns its logits.
    pub fn decode(&mut self, token: u32) -> Result<&[f32]> {
        self.eval(&[token], LogitsOf::Last)?;
        Ok(&self.logits[..self.model.config().n_vocab])
    }

    fn eval(&mut self, tokens: &[u32], of: LogitsOf) -> Result<()> {
        let n_vocab = self.model.config().n_vocab;
        check_eval(tokens, self.tokens.len(), self.kv.n_ctx(), n_vocab)?;
        let needed = self.tokens.len() + tokens.len();
        if of == LogitsOf::Every {
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
            let dst = match of {
                LogitsOf::Every => done * n_vocab,
                LogitsOf::Last => 0,
            };
            let last_chunk = done + chunk.len() == tokens.len();
            let rows = match of {
                LogitsOf::Every => LogitRows::All,
                LogitsOf::Last if last_chunk => LogitRows::Last,
                LogitsOf::Last => LogitRows::None,
            };
            let logits = &mut self.logits[dst..];
            forward(&model, &mut self.kv, &mut self.s, chunk, p0, rows, logits)?;
            self.tokens.extend_from_slice(chunk);
            done += chunk.len();
        }
        if of == LogitsOf::Every {
            self.last = (tokens.len() - 1) * n_vocab;
        }
        Ok(())
    }
}
