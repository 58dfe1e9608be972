//! What generation needs from whatever evaluates tokens: the CPU [`Session`], or the GPU
//! session (`gpu::GpuSession`), whose evaluations are asynchronous and therefore done ahead
//! of the step that consumes them (see [`super::Generation::next_eval`]).

use crate::error::Result;
use crate::model::Session;

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
