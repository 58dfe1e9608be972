//! The generate loop: prompt → (reused) KV cache → prefill → sample → decode … with
//! streaming-safe text (whole UTF-8 characters; possible stop-string starts held back),
//! end-of-generation tokens and a token budget.
//!
//! [`generate`] works on a [`Session`] and a [`Tokenizer`]; [`Engine`] bundles a model, its
//! tokenizer and one session for callers (the JS wrapper, the `generate` example) that want a
//! single object.

pub mod stop;
pub mod text;
pub mod time;

use std::sync::Arc;

pub use stop::{StopMatcher, StopStep};
pub use text::Utf8Stream;

use crate::error::{Error, Result};
use crate::gguf::LoadedGguf;
use crate::model::{Model, ModelOptions, Session, SessionOptions};
use crate::sampler::{Sampler, SamplerConfig};
use crate::tokenizer::Tokenizer;

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
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            sampler: SamplerConfig::default(),
            max_tokens: 128,
            stop: Vec::new(),
            ignore_eos: false,
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
    /// Tokens evaluated one by one.
    pub decode_tokens: usize,
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

/// Generates a continuation of `prompt` in `session`.
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

    // Reuse the longest common prefix, but always evaluate at least the last prompt token:
    // its logits are not kept between calls.
    let common = session
        .tokens()
        .iter()
        .zip(prompt)
        .take_while(|(a, b)| a == b)
        .count();
    let keep = common.min(prompt.len() - 1);
    let reused = if session.rewind(keep) { keep } else { 0 };

    let mut timings = Timings::default();
    let t0 = time::now_ms();
    session.prefill(&prompt[reused..])?;
    timings.prefill_ms = time::now_ms() - t0;
    timings.prefill_tokens = prompt.len() - reused;

    for &t in prompt {
        sampler.accept(t);
    }
    let mut decoder = Utf8Stream::default();
    let mut stops = StopMatcher::new(&opts.stop);
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut finish = FinishReason::Length;
    let t_gen = time::now_ms();
    let mut t_sample = 0.0;

    if opts.max_tokens > 0 {
        loop {
            let ts = time::now_ms();
            let logits = session.logits_mut();
            if opts.ignore_eos {
                for &id in tokenizer.eog_ids() {
                    if let Some(l) = logits.get_mut(id as usize) {
                        *l = f32::NEG_INFINITY;
                    }
                }
            }
            let token = sampler.sample(logits)?;
            sampler.accept(token);
            tokens.push(token);

            let eog = !opts.ignore_eos && tokenizer.is_eog(token);
            let full = session.n_past() >= session.n_ctx();
            // A model's vocabulary may be larger than the tokenizer's (padding rows): such a
            // token has no text.
            let piece = tokenizer.token_to_piece(token, false).unwrap_or_default();
            let mut step = stops.push(&decoder.push(&piece));
            let end = if step.stop.is_some() {
                Some(FinishReason::Stop)
            } else if eog {
                Some(FinishReason::Eos)
            } else if tokens.len() >= opts.max_tokens {
                Some(FinishReason::Length)
            } else if full {
                Some(FinishReason::ContextFull)
            } else {
                None
            };
            if let Some(reason) = end {
                finish = reason;
                if reason != FinishReason::Stop {
                    // Flush the decoder; the tail can still complete a stop string.
                    let tail = stops.push(&decoder.finish());
                    step.released.push_str(&tail.released);
                    if tail.stop.is_some() {
                        finish = FinishReason::Stop;
                    } else {
                        step.released.push_str(&stops.finish());
                    }
                }
            }
            text.push_str(&step.released);
            t_sample += time::now_ms() - ts;
            let go_on = on_token(TokenEvent {
                token,
                text: &step.released,
                n_generated: tokens.len(),
            });
            if end.is_some() {
                break;
            }
            if !go_on {
                finish = FinishReason::Abort;
                // The caller stopped early: what was held back for a possible stop string is
                // still part of the text.
                let tail = stops.push(&decoder.finish());
                text.push_str(&tail.released);
                if tail.stop.is_none() {
                    text.push_str(&stops.finish());
                }
                break;
            }
            session.decode(token)?;
            timings.decode_tokens += 1;
        }
    }
    timings.decode_ms = time::now_ms() - t_gen;
    timings.sample_ms = t_sample;

    Ok(GenerateResult {
        tokens,
        text,
        finish_reason: finish,
        stop: stops.matched().map(str::to_owned),
        prompt_tokens: prompt.len(),
        reused_tokens: reused,
        timings,
    })
}

/// Options for [`Engine::load`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineOptions {
    pub model: ModelOptions,
    pub session: SessionOptions,
}

/// A model, its tokenizer and one session.
#[derive(Debug)]
pub struct Engine {
    tokenizer: Arc<Tokenizer>,
    session: Session,
}

impl Engine {
    /// Validates the model, builds its tokenizer from the metadata and allocates a session.
    pub fn load(gguf: LoadedGguf, opts: &EngineOptions) -> Result<Engine> {
        let tokenizer = Tokenizer::from_metadata(gguf.metadata())?;
        let model = Arc::new(Model::load(gguf, &opts.model)?);
        Engine::from_parts(model, Arc::new(tokenizer), &opts.session)
    }

    pub fn from_parts(
        model: Arc<Model>,
        tokenizer: Arc<Tokenizer>,
        opts: &SessionOptions,
    ) -> Result<Engine> {
        let session = Session::new(model, opts)?;
        Ok(Engine { tokenizer, session })
    }

    pub fn model(&self) -> &Arc<Model> {
        self.session.model()
    }

    pub fn tokenizer(&self) -> &Arc<Tokenizer> {
        &self.tokenizer
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Tokenizes a prompt as llama.cpp does by default: BOS/EOS as the metadata asks, and
    /// special-token text (`<start_of_turn>`) parsed into those tokens.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, true, true)
    }

    /// [`generate`] with this engine's session and tokenizer.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        on_token: impl FnMut(TokenEvent<'_>) -> bool,
    ) -> Result<GenerateResult> {
        generate(&mut self.session, &self.tokenizer, prompt, opts, on_token)
    }
}
