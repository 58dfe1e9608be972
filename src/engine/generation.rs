//! Generation as a state machine, one bounded piece of work per [`Generation::step`]: a chunk
//! of the prompt, or one token. Callers that must stay responsive between tokens (JavaScript
//! yields to the event loop so aborts and rendering get a turn) drive it step by step;
//! [`super::generate`] is the same machine run to the end.

use super::evaluate::{Evaluate, Produce};
use super::{
    time, FinishReason, GenerateOptions, GenerateResult, StopMatcher, Timings, Utf8Stream,
};
use crate::error::{Error, Result};
use crate::sampler::Sampler;
use crate::tokenizer::Tokenizer;

/// The evaluation the next [`Generation::step`] will ask for (so an asynchronous evaluator
/// can do it beforehand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextEval {
    /// A chunk of the prompt; `last`: the final one, whose logits are sampled next.
    Prefill { tokens: Vec<u32>, last: bool },
    /// The previously generated token.
    Decode(u32),
}

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Part of the prompt was evaluated: `done` of `total` prompt tokens (reused ones count).
    Prefill { done: usize, total: usize },
    /// A token was generated; `text` is what it released (complete UTF-8, never part of a
    /// stop string; often empty).
    Token { token: u32, text: String },
    /// Generation is over; later steps return the same result again.
    Finished(GenerateResult),
}

#[derive(Debug)]
pub struct Generation {
    prompt: Vec<u32>,
    opts: GenerateOptions,
    sampler: Sampler,
    reused: usize,
    /// Prompt tokens evaluated or reused so far.
    prefilled: usize,
    decoder: Utf8Stream,
    stops: StopMatcher,
    tokens: Vec<u32>,
    text: String,
    /// The last generated token, not yet evaluated.
    pending: Option<u32>,
    abort: bool,
    result: Option<GenerateResult>,
    timings: Timings,
    t_gen: Option<f64>,
}

impl Generation {
    /// Validates the prompt and options and reuses the longest cached prefix of `prompt`.
    pub fn start(
        session: &mut impl Evaluate,
        prompt: Vec<u32>,
        opts: GenerateOptions,
    ) -> Result<Generation> {
        if prompt.is_empty() {
            return Err(Error::InvalidOption {
                name: "prompt",
                value: "[]".into(),
                expected: "at least one token",
            });
        }
        if prompt.len() > session.n_ctx() {
            return Err(Error::ContextOverflow {
                n_ctx: session.n_ctx(),
                needed: prompt.len(),
            });
        }
        let mut sampler = Sampler::new(opts.sampler.clone())?;
        for &t in &prompt {
            sampler.accept(t);
        }
        // Reuse the longest common prefix (unless asked not to), but always evaluate at least
        // the last prompt token: logits are not kept between calls.
        let common = session
            .tokens()
            .iter()
            .zip(&prompt)
            .take_while(|(a, b)| a == b)
            .count();
        let keep = if opts.reuse_cache {
            common.min(prompt.len() - 1)
        } else {
            0
        };
        let reused = if session.rewind(keep) { keep } else { 0 };
        if reused == 0 {
            session.clear();
        }
        let stops = StopMatcher::new(&opts.stop);
        Ok(Generation {
            prompt,
            sampler,
            reused,
            prefilled: reused,
            decoder: Utf8Stream::default(),
            stops,
            tokens: Vec::new(),
            text: String::new(),
            pending: None,
            abort: false,
            result: None,
            timings: Timings::default(),
            t_gen: None,
            opts,
        })
    }

    pub fn prompt_len(&self) -> usize {
        self.prompt.len()
    }

    /// Ends the generation at the next step with `FinishReason::Abort` (a no-op once finished).
    pub fn abort(&mut self) {
        self.abort = true;
    }

    pub fn is_finished(&self) -> bool {
        self.result.is_some()
    }

    /// The evaluation the next step performs, if any (`n_batch`: the evaluator's chunk size).
    pub fn next_eval(&self, n_batch: usize) -> Option<NextEval> {
        if self.result.is_some() || self.abort {
            return None;
        }
        if self.prefilled < self.prompt.len() {
            let end = (self.prefilled + n_batch.max(1)).min(self.prompt.len());
            return Some(NextEval::Prefill {
                tokens: self.prompt[self.prefilled..end].to_vec(),
                last: end == self.prompt.len(),
            });
        }
        if self.opts.max_tokens == 0 {
            return None;
        }
        self.pending.map(NextEval::Decode)
    }

    /// What sampling the next token needs from the evaluator: the greedy token alone, or
    /// the `k` largest logits (top-k sampling, or greedy with end-of-generation tokens banned:
    /// the best `k` include the best allowed one), or all of them (penalties, top-p/min-p
    /// without top-k).
    pub fn produce(&self, tokenizer: &Tokenizer) -> Produce {
        let c = self.sampler.config();
        let banned = if self.opts.ignore_eos {
            tokenizer.eog_ids().len()
        } else {
            0
        };
        if c.has_penalties() {
            Produce::Logits
        } else if c.is_greedy() {
            if banned == 0 {
                Produce::Greedy
            } else {
                Produce::TopK(banned + 1)
            }
        } else if c.top_k > 0 {
            Produce::TopK(c.top_k + banned)
        } else {
            Produce::Logits
        }
    }

    /// Does one bounded piece of work. An error leaves the generation finished with it
    /// reported once; the session stays usable (its cache is cleared on the next start).
    pub fn step(&mut self, session: &mut impl Evaluate, tokenizer: &Tokenizer) -> Result<Step> {
        if let Some(r) = &self.result {
            return Ok(Step::Finished(r.clone()));
        }
        match self.step_inner(session, tokenizer) {
            Ok(s) => Ok(s),
            Err(e) => {
                session.clear();
                self.finish(FinishReason::Abort);
                Err(e)
            }
        }
    }

    fn step_inner(&mut self, session: &mut impl Evaluate, tokenizer: &Tokenizer) -> Result<Step> {
        if self.abort {
            return Ok(self.finish(FinishReason::Abort));
        }
        // 1. The prompt, a batch at a time.
        if self.prefilled < self.prompt.len() {
            let end = (self.prefilled + session.n_batch().max(1)).min(self.prompt.len());
            let t0 = time::now_ms();
            session.prefill(&self.prompt[self.prefilled..end])?;
            self.timings.prefill_ms += session.eval_ms().unwrap_or(time::now_ms() - t0);
            self.timings.prefill_tokens += end - self.prefilled;
            self.prefilled = end;
            return Ok(Step::Prefill {
                done: end,
                total: self.prompt.len(),
            });
        }
        if self.opts.max_tokens == 0 {
            return Ok(self.finish(FinishReason::Length));
        }
        let t_gen = *self.t_gen.get_or_insert_with(time::now_ms);
        // 2. Evaluate the previous token (deferred so an abort after it costs nothing).
        if let Some(prev) = self.pending.take() {
            session.decode(prev)?;
            self.timings.decode_tokens += 1;
        }
        // 3. Sample the next token and release its text.
        let ts = time::now_ms();
        let greedy = session.greedy();
        let token = match session.logits_mut() {
            Some(logits) => {
                if self.opts.ignore_eos {
                    for &id in tokenizer.eog_ids() {
                        if let Some(l) = logits.get_mut(id as usize) {
                            *l = f32::NEG_INFINITY;
                        }
                    }
                }
                self.sampler.sample(logits)?
            }
            // The evaluator computed only the greedy token, which it does when
            // `produce()` said that is enough.
            None => greedy.ok_or(Error::NoCandidates { n_vocab: 0 })?,
        };
        self.sampler.accept(token);
        self.tokens.push(token);
        let eog = !self.opts.ignore_eos && tokenizer.is_eog(token);
        // A model's vocabulary may be larger than the tokenizer's (padding rows): such a
        // token has no text.
        let piece = tokenizer.token_to_piece(token, false).unwrap_or_default();
        let mut step = self.stops.push(&self.decoder.push(&piece));
        let end = if step.stop.is_some() {
            Some(FinishReason::Stop)
        } else if eog {
            Some(FinishReason::Eos)
        } else if self.tokens.len() >= self.opts.max_tokens {
            Some(FinishReason::Length)
        } else if session.n_past() >= session.n_ctx() {
            // The cache cannot take this token: end here with the text so far.
            Some(FinishReason::ContextFull)
        } else {
            None
        };
        if let Some(reason) = end {
            if reason != FinishReason::Stop {
                // Flush the decoder; its tail can still complete a stop string.
                let tail = self.stops.push(&self.decoder.finish());
                step.released.push_str(&tail.released);
                if tail.stop.is_none() {
                    step.released.push_str(&self.stops.finish());
                }
            }
        }
        self.text.push_str(&step.released);
        self.timings.sample_ms += time::now_ms() - ts;
        match end {
            Some(reason) => {
                let reason = if self.stops.matched().is_some() {
                    FinishReason::Stop
                } else {
                    reason
                };
                self.finish_at(reason, t_gen);
            }
            None => self.pending = Some(token),
        }
        Ok(Step::Token {
            token,
            text: step.released,
        })
    }

    fn finish(&mut self, reason: FinishReason) -> Step {
        let t_gen = self.t_gen.unwrap_or_else(time::now_ms);
        self.finish_at(reason, t_gen);
        Step::Finished(self.result.clone().unwrap_or_else(|| self.build(reason)))
    }

    fn finish_at(&mut self, reason: FinishReason, t_gen: f64) {
        if self.result.is_some() {
            return;
        }
        if reason == FinishReason::Abort || reason == FinishReason::ContextFull {
            // Stopped early: what was held back for a possible stop string is still text.
            let tail = self.stops.push(&self.decoder.finish());
            self.text.push_str(&tail.released);
            if tail.stop.is_none() {
                self.text.push_str(&self.stops.finish());
            }
        }
        self.timings.decode_ms = if self.t_gen.is_some() {
            time::now_ms() - t_gen
        } else {
            0.0
        };
        self.result = Some(self.build(reason));
    }

    fn build(&self, reason: FinishReason) -> GenerateResult {
        GenerateResult {
            tokens: self.tokens.clone(),
            text: self.text.clone(),
            finish_reason: reason,
            stop: self.stops.matched().map(str::to_owned),
            prompt_tokens: self.prompt.len(),
            reused_tokens: self.reused,
            timings: self.timings,
        }
    }

    /// The text released so far that the caller has not seen in a Token step: after an
    /// abort, the held-back tail. (Token steps already carried everything else.)
    pub fn text(&self) -> &str {
        &self.text
    }
}
