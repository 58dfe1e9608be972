//! The generate loop: prompt → (reused) KV cache → prefill → sample → decode … with
//! streaming-safe text (whole UTF-8 characters; possible stop-string starts held back),
//! end-of-generation tokens and a token budget.
//!
//! [`generate`] works on a [`Session`] and a [`Tokenizer`]; [`Engine`] bundles a model, its
//! tokenizer, the CPU session and optionally a WebGPU session, with the choice between them
//! and the fallback to the CPU (the JS wrapper and the native examples use it).

mod backend;
pub mod evaluate;
pub mod generation;
pub mod stop;
pub mod text;
pub mod time;

pub use backend::{BackendKind, Engine, EngineOptions, GpuJob, GpuJobDone, WebGpuRequest};
pub use evaluate::{Evaluate, Produce, Produced};
pub use generation::{Generation, NextEval, Step};
pub use stop::{StopMatcher, StopStep};
pub use text::Utf8Stream;

use crate::error::Result;
use crate::model::Session;
use crate::sampler::SamplerConfig;
use crate::tokenizer::Tokenizer;

/// Tokens generated when the caller sets no budget.
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub sampler: SamplerConfig,
    /// Most tokens to generate (end-of-generation tokens count).
    pub max_tokens: usize,
    /// Generation ends when the text contains one of these; the text returned stops before it.
    pub stop: Vec<String>,
    /// Never generate end-of-generation tokens (llama.cpp `--ignore-eos`: their logits are
    /// set to −∞).
    pub ignore_eos: bool,
    /// Keep the keys and values of the longest prefix this prompt shares with the tokens
    /// already in the cache (a chat that grows, a retry) and prefill only the rest; false
    /// prefills the whole prompt (a cold prefill, e.g. to measure it).
    pub reuse_cache: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            sampler: SamplerConfig::default(),
            max_tokens: DEFAULT_MAX_TOKENS,
            stop: Vec::new(),
            ignore_eos: false,
            reuse_cache: true,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop string appeared in the text.
    Stop,
    /// `max_tokens` were generated.
    Length,
    /// The model produced an end-of-generation token.
    Eos,
    /// The callback returned false.
    Abort,
    /// The KV cache is full: the last generated token could not be evaluated. (Evaluating
    /// past the context directly — `Session::prefill`/`decode`, or a prompt that does not
    /// fit — is a `CONTEXT_OVERFLOW` error instead.)
    ContextFull,
}

impl FinishReason {
    /// The name JavaScript sees.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Eos => "eos",
            FinishReason::Abort => "abort",
            FinishReason::ContextFull => "context_full",
        }
    }
}

/// One generated token, as the callback sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenEvent<'a> {
    pub token: u32,
    /// Text released by this token: complete UTF-8, never part of a stop string. Often empty
    /// (a character split over byte tokens, a possible stop-string start held back); the
    /// event of the last token also carries everything still held back.
    pub text: &'a str,
    /// Tokens generated so far, this one included.
    pub n_generated: usize,
}

/// Wall-clock timings in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timings {
    /// Prompt tokens actually evaluated (the reused prefix excluded).
    pub prefill_tokens: usize,
    pub prefill_ms: f64,
    /// Tokens evaluated one by one (every generated token but the last).
    pub decode_tokens: usize,
    /// From the first sampling to the end: evaluation, sampling, text and callbacks.
    pub decode_ms: f64,
    /// Time spent choosing tokens and decoding text (included in `decode_ms`).
    pub sample_ms: f64,
}

impl Timings {
    pub fn prefill_tok_s(&self) -> f64 {
        rate(self.prefill_tokens, self.prefill_ms)
    }
    pub fn decode_tok_s(&self) -> f64 {
        rate(self.decode_tokens, self.decode_ms)
    }
}

fn rate(n: usize, ms: f64) -> f64 {
    if ms > 0.0 {
        n as f64 * 1e3 / ms
    } else {
        0.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateResult {
    /// Generated tokens, an end-of-generation token included (as llama.cpp reports them).
    pub tokens: Vec<u32>,
    /// The generated text, cut before a stop string.
    pub text: String,
    pub finish_reason: FinishReason,
    /// The stop string that ended generation.
    pub stop: Option<String>,
    /// Length of the prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were reused from the previous call.
    pub reused_tokens: usize,
    pub timings: Timings,
}

/// Generates a continuation of `prompt` in `session`: [`Generation`] run to the end.
///
/// The cache is reused when the prompt starts with tokens already evaluated (a chat that
/// grows, a retry): only the rest is prefilled. `on_token` is called once per generated
/// token; returning false stops generation (`FinishReason::Abort`).
pub fn generate(
    session: &mut Session,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    opts: &GenerateOptions,
    mut on_token: impl FnMut(TokenEvent<'_>) -> bool,
) -> Result<GenerateResult> {
    let mut g = Generation::start(session, prompt.to_vec(), opts.clone())?;
    let mut n_generated = 0;
    loop {
        match deliver(g.step(session, tokenizer)?, &mut n_generated, &mut on_token) {
            Flow::Next => {}
            Flow::Abort => g.abort(),
            Flow::Done(r) => return Ok(r),
        }
    }
}

/// What a generate loop does after a step.
enum Flow {
    Next,
    Abort,
    Done(GenerateResult),
}

/// Hands a token step to `on_token` (counting it).
fn deliver(
    step: Step,
    n_generated: &mut usize,
    on_token: &mut impl FnMut(TokenEvent<'_>) -> bool,
) -> Flow {
    match step {
        Step::Prefill { .. } => Flow::Next,
        Step::Token { token, text } => {
            *n_generated += 1;
            let go_on = on_token(TokenEvent {
                token,
                text: &text,
                n_generated: *n_generated,
            });
            if go_on {
                Flow::Next
            } else {
                Flow::Abort
            }
        }
        Step::Finished(result) => Flow::Done(result),
    }
}
