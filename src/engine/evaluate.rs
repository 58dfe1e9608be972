//! What generation needs from whatever evaluates tokens: the CPU [`Session`], or the GPU
//! session (`gpu::GpuSession`), whose evaluations are asynchronous and therefore done ahead
//! of the step that consumes them (see [`super::Generation::next_eval`]).

use crate::error::Result;
use crate::model::Session;

/// What an evaluation must produce about its last position (or, for teacher forcing, about
/// every position): the one vocabulary of "what a pass must produce" for every evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produce {
    /// Nothing (a prompt chunk before the last).
    Nothing,
    /// The greedy token.
    Greedy,
    /// The `k` largest logits (top-k sampling, or greedy with banned tokens).
    TopK(usize),
    /// Every logit (penalties, top-p/min-p without top-k).
    Logits,
    /// Every position's greedy token (teacher forcing).
    GreedyEvery,
}

/// What an evaluation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Produced {
    Nothing,
    /// Greedy tokens: the last position's, or every position's.
    Tokens(Vec<u32>),
    Logits(Vec<f32>),
    /// (logit, token id), largest first.
    TopK(Vec<(f32, u32)>),
}

pub trait Evaluate {
    /// Positions the cache holds.
    fn n_ctx(&self) -> usize;
    /// Most tokens evaluated in one forward pass.
    fn n_batch(&self) -> usize;
    /// The evaluated tokens, in order.
    fn tokens(&self) -> &[u32];
    fn n_past(&self) -> usize {
        self.tokens().len()
    }
    /// Keeps the first `keep` positions if the cache can; false (and cleared) otherwise.
    fn rewind(&mut self, keep: usize) -> bool;
    fn clear(&mut self);
    fn prefill(&mut self, tokens: &[u32]) -> Result<()>;
    fn decode(&mut self, token: u32) -> Result<()>;
    /// The last position's logits, for the sampler to edit and sample; `None` when the
    /// evaluator computed only the greedy token ([`Evaluate::greedy`]).
    fn logits_mut(&mut self) -> Option<&mut [f32]>;
    /// The last position's greedy token, when that is all that was computed.
    fn greedy(&self) -> Option<u32> {
        None
    }
    /// How long the evaluation just handed over took, when it ran before the call that
    /// handed it over (the GPU's); `None`: the call itself did the work.
    fn eval_ms(&self) -> Option<f64> {
        None
    }
}

impl Evaluate for Session {
    fn n_ctx(&self) -> usize {
        Session::n_ctx(self)
    }
    fn n_batch(&self) -> usize {
        Session::n_batch(self)
    }
    fn tokens(&self) -> &[u32] {
        Session::tokens(self)
    }
    fn rewind(&mut self, keep: usize) -> bool {
        Session::rewind(self, keep)
    }
    fn clear(&mut self) {
        Session::clear(self)
    }
    fn prefill(&mut self, tokens: &[u32]) -> Result<()> {
        Session::prefill(self, tokens).map(|_| ())
    }
    fn decode(&mut self, token: u32) -> Result<()> {
        Session::decode(self, token).map(|_| ())
    }
    fn logits_mut(&mut self) -> Option<&mut [f32]> {
        Some(Session::logits_mut(self))
    }
}
