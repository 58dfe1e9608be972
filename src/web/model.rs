//! A loaded model as JavaScript sees it: tokenization, chat templates and step-wise
//! generation (src/js/index.js yields to the event loop between steps).

use std::collections::BTreeMap;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::options::JsGenerateOptions;
use super::{js_error, memory_bytes, to_js};
use crate::chat_template::{self, ChatMessage, CHAT_TEMPLATE_KEY};
use crate::engine::{Engine, Generation, Step};
use crate::error::Error;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    parameter_count: u64,
    context_length: usize,
    trained_context_length: usize,
    vocab_size: usize,
    tensor_types: BTreeMap<&'static str, usize>,
    file_bytes: u64,
    kv_cache_bytes: usize,
    memory_bytes: u64,
    backend: &'static str,
    backend_reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bos_token_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eos_token_id: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TimingsJs {
    prefill_ms: f64,
    decode_ms: f64,
    prefill_tokens_per_second: f64,
    decode_tokens_per_second: f64,
}

#[derive(Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
enum StepJs {
    Prefill {
        done: bool,
        pending: bool,
        prefilled: usize,
        total: usize,
    },
    Token {
        done: bool,
        token_id: u32,
        text: String,
    },
    Finished {
        done: bool,
        finish_reason: &'static str,
        prompt_tokens: usize,
        reused_tokens: usize,
        generated_tokens: usize,
        stop: Option<String>,
        timings: TimingsJs,
    },
}

#[wasm_bindgen]
pub struct WasmModel {
    engine: Engine,
    generation: Option<Generation>,
    file_bytes: u64,
}

impl WasmModel {
    pub(crate) fn new(engine: Engine, file_bytes: u64) -> WasmModel {
        WasmModel {
            engine,
            generation: None,
            file_bytes,
        }
    }

    fn chat_template(&self) -> Option<String> {
        let meta = self.engine.model().gguf().metadata();
        meta.opt_str(CHAT_TEMPLATE_KEY)
            .ok()
            .flatten()
            .map(str::to_owned)
    }
}

#[wasm_bindgen]
impl WasmModel {
    pub fn info(&self) -> JsValue {
        let model = self.engine.model();
        let gguf = model.gguf();
        let meta = gguf.metadata();
        let c = model.config();
        let mut tensor_types = BTreeMap::new();
        for t in &gguf.header().tensors {
            *tensor_types.entry(t.ty.name()).or_insert(0) += 1;
        }
        let tok = self.engine.tokenizer();
        to_js(&Info {
            architecture: c.arch.name().to_string(),
            name: meta
                .opt_str("general.name")
                .ok()
                .flatten()
                .map(str::to_owned),
            parameter_count: gguf.header().tensors.iter().map(|t| t.n_elements).sum(),
            context_length: self.engine.session().n_ctx(),
            trained_context_length: c.n_ctx_train,
            vocab_size: c.n_vocab,
            tensor_types,
            file_bytes: self.file_bytes,
            kv_cache_bytes: self.engine.session().kv_bytes(),
            memory_bytes: memory_bytes(),
            backend: "cpu",
            backend_reason:
                "CPU with WASM SIMD128 kernels (the WebGPU backend is not part of this build yet)",
            chat_template: self.chat_template(),
            bos_token_id: tok.bos(),
            eos_token_id: tok.eos(),
        })
    }

    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        self.engine
            .tokenizer()
            .encode(text, add_special, parse_special)
    }

    pub fn detokenize(&self, ids: Vec<u32>) -> Result<String, JsValue> {
        self.engine
            .tokenizer()
            .decode(&ids)
            .map_err(|e| js_error(&e))
    }

    /// Renders chat messages with `template` or the model's own template.
    pub fn apply_chat_template(
        &self,
        messages: JsValue,
        template: Option<String>,
        add_generation_prompt: bool,
    ) -> Result<String, JsValue> {
        let messages: Vec<ChatMessage> = serde_wasm_bindgen::from_value(messages).map_err(|e| {
            js_error(&Error::InvalidOption {
                name: "messages",
                value: e.to_string(),
                expected: "an array of { role: string, content: string }",
            })
        })?;
        let template = template
            .or_else(|| self.chat_template())
            .ok_or_else(|| js_error(&Error::NoChatTemplate))?;
        let tok = self.engine.tokenizer();
        let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_owned();
        chat_template::render(
            &template,
            &messages,
            add_generation_prompt,
            &text_of(tok.bos()),
            &text_of(tok.eos()),
        )
        .map_err(|e| js_error(&e))
    }

    /// Starts generating from `prompt` (replacing any unfinished generation).
    pub fn start(&mut self, prompt: &str, options: JsValue) -> Result<(), JsValue> {
        let opts: JsGenerateOptions = if options.is_undefined() || options.is_null() {
            JsGenerateOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| {
                js_error(&Error::InvalidOption {
                    name: "options",
                    value: e.to_string(),
                    expected: "generate options",
                })
            })?
        };
        let engine_opts = opts.to_engine().map_err(|e| js_error(&e))?;
        let tok = self.engine.tokenizer();
        let mut ids = tok.encode(
            prompt,
            opts.add_special.unwrap_or(true),
            opts.parse_special.unwrap_or(true),
        );
        // A template that prints BOS itself plus the tokenizer's own BOS would double it.
        if let (Some(bos), [a, b, ..]) = (tok.bos(), ids.as_slice()) {
            if *a == bos && *b == bos {
                ids.remove(0);
            }
        }
        self.generation = None;
        let g = Generation::start(self.engine.session_mut(), ids, engine_opts)
            .map_err(|e| js_error(&e))?;
        self.generation = Some(g);
        Ok(())
    }

    /// One bounded piece of work: a prompt chunk or one token.
    pub fn step(&mut self) -> Result<JsValue, JsValue> {
        let g = self.generation.as_mut().ok_or_else(|| {
            js_error(&Error::InvalidOption {
                name: "step",
                value: "no generation".into(),
                expected: "start() first",
            })
        })?;
        let tokenizer = self.engine.tokenizer().clone();
        let step = g
            .step(self.engine.session_mut(), &tokenizer)
            .map_err(|e| js_error(&e))?;
        Ok(to_js(&match step {
            Step::Prefill { done, total } => StepJs::Prefill {
                done: false,
                pending: true,
                prefilled: done,
                total,
            },
            Step::Token { token, text } => StepJs::Token {
                done: false,
                token_id: token,
                text,
            },
            Step::Finished(r) => StepJs::Finished {
                done: true,
                finish_reason: r.finish_reason.as_str(),
                prompt_tokens: r.prompt_tokens,
                reused_tokens: r.reused_tokens,
                generated_tokens: r.tokens.len(),
                stop: r.stop,
                timings: TimingsJs {
                    prefill_ms: r.timings.prefill_ms,
                    decode_ms: r.timings.decode_ms,
                    prefill_tokens_per_second: r.timings.prefill_tok_s(),
                    decode_tokens_per_second: r.timings.decode_tok_s(),
                },
            },
        }))
    }

    /// Ends the running generation at its next step.
    pub fn abort(&mut self) {
        if let Some(g) = self.generation.as_mut() {
            g.abort();
        }
    }
}
