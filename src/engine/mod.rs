//! The generate loop: prompt → (reused) KV cache → prefill → sample → decode … with
//! streaming-safe text (whole UTF-8 characters; possible stop-string starts held back),
//! end-of-generation tokens and a token budget.
//!
//! [`generate`] works on a [`Session`] and a [`Tokenizer`]; [`Engine`] bundles a model, its
//! tokenizer and one session for callers (the JS wrapper, the `generate` example) that want a
//! single object.

pub mod evaluate;
pub mod generation;
pub mod stop;
pub mod text;
pub mod time;

use std::sync::Arc;

pub use evaluate::Evaluate;
pub use generation::{Generation, PlannedEval, SamplingNeeds, Step};
pub use stop::{StopMatcher, StopStep};
pub use text::Utf8Stream;

use crate::error::Result;
use crate::gguf::LoadedGguf;
use crate::model::{Model, ModelOptions, Session, SessionOptions};
use crate::sampler::SamplerConfig;
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
        match g.step(session, tokenizer)? {
            Step::Prefill { .. } => {}
            Step::Token { token, text } => {
                n_generated += 1;
                let go_on = on_token(TokenEvent {
                    token,
                    text: &text,
                    n_generated,
                });
                if !go_on {
                    g.abort();
                }
            }
            Step::Finished(result) => return Ok(result),
        }
    }
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
