//! What a session is sized for, and the checks every evaluation makes, shared by the CPU and
//! the WebGPU executors (and by the loader's fit estimate) so the defaults exist once.

use super::config::ModelConfig;
use super::kv::KvType;
use crate::error::{Error, Result};

/// Default context when the caller does not choose one: the model's, capped at this.
pub const DEFAULT_MAX_CTX: usize = 4096;
/// Default prefill chunk: the GEMM kernels reuse each decoded weight block over this many
/// activation rows, and the scratch stays small (64 × n_ff floats).
pub const DEFAULT_BATCH: usize = 64;
/// Largest context a caller may ask for.
pub const MAX_CTX: usize = 1 << 24;
/// Largest prefill chunk.
pub const MAX_BATCH: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// Positions the KV cache holds; 0 = min(model context, [`DEFAULT_MAX_CTX`]).
    pub n_ctx: usize,
    /// Largest number of tokens evaluated in one forward pass (prefill chunk); 0 =
    /// [`DEFAULT_BATCH`].
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

/// [`SessionOptions`] with the defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSize {
    pub n_ctx: usize,
    pub n_batch: usize,
}

impl SessionOptions {
    /// The context and chunk a session of `c` gets. `n_ctx` larger than the model's training
    /// context is allowed (as in llama.cpp) but is the caller's risk.
    pub fn size(&self, c: &ModelConfig) -> Result<SessionSize> {
        let n_ctx = default_ctx(self.n_ctx, c.n_ctx_train);
        if n_ctx > MAX_CTX {
            return Err(Error::InvalidOption {
                name: "nCtx",
                value: n_ctx.to_string(),
                expected: "at most 16777216",
            });
        }
        let n_batch = if self.n_batch == 0 {
            DEFAULT_BATCH
        } else {
            self.n_batch.min(n_ctx).min(MAX_BATCH)
        };
        Ok(SessionSize { n_ctx, n_batch })
    }
}

/// The context used when the caller asks for `requested` (0: none) of a model trained with
/// `n_ctx_train`.
pub fn default_ctx(requested: usize, n_ctx_train: usize) -> usize {
    if requested == 0 {
        n_ctx_train.min(DEFAULT_MAX_CTX)
    } else {
        requested
    }
}

/// Checks that `tokens` can be evaluated after `n_past` cached positions: at least one, each
/// a vocabulary id, and room in the context.
pub fn check_eval(tokens: &[u32], n_past: usize, n_ctx: usize, n_vocab: usize) -> Result<()> {
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
    let needed = n_past.saturating_add(tokens.len());
    if needed > n_ctx {
        return Err(Error::ContextOverflow { n_ctx, needed });
    }
    Ok(())
}
