//! A loaded model as JavaScript sees it: tokenization, chat templates and step-wise
//! generation (src/js/index.js yields to the event loop between steps).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::options::JsGenerateOptions;
use super::{js_error, memory_bytes, to_js};
use crate::chat_template::{self, ChatRequest, CHAT_TEMPLATE_KEY};
use crate::engine::{Engine, Step};
use crate::error::Error;
use crate::gpu::GpuOptions;

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
    backend_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpu_adapter: Option<String>,
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
    /// Prompt tokens whose keys and values were kept from the previous call (not prefilled).
    reused_tokens: usize,
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

/// The engine is shared with the futures of `enable_webgpu`, `gpu_prepare` (and the teacher-forcing hook),
/// which give back what they took out of it when the GPU answers (nothing stays borrowed
/// across an await).
#[wasm_bindgen]
pub struct WasmModel {
    engine: Rc<RefCell<Engine>>,
    file_bytes: u64,
}

impl WasmModel {
    pub(crate) fn new(engine: Engine, file_bytes: u64) -> WasmModel {
        WasmModel {
            engine: Rc::new(RefCell::new(engine)),
            file_bytes,
        }
    }

    fn chat_template(engine: &Engine) -> Option<String> {
        let meta = engine.model().gguf().metadata();
        meta.opt_str(CHAT_TEMPLATE_KEY)
            .ok()
            .flatten()
            .map(str::to_owned)
    }
}

#[wasm_bindgen]
impl WasmModel {
    pub fn info(&self) -> JsValue {
        let engine = self.engine.borrow();
        let model = engine.model();
        let gguf = model.gguf();
        let meta = gguf.metadata();
        let c = model.config();
        let mut tensor_types = BTreeMap::new();
        for t in &gguf.header().tensors {
            *tensor_types.entry(t.ty.name()).or_insert(0) += 1;
        }
        let tok = engine.tokenizer();
        to_js(&Info {
            architecture: c.arch.name().to_string(),
            name: meta
                .opt_str("general.name")
                .ok()
                .flatten()
                .map(str::to_owned),
            parameter_count: gguf.header().tensors.iter().map(|t| t.n_elements).sum(),
            context_length: engine.n_ctx(),
            trained_context_length: c.n_ctx_train,
            vocab_size: c.n_vocab,
            tensor_types,
            file_bytes: self.file_bytes,
            kv_cache_bytes: engine.kv_bytes(),
            memory_bytes: memory_bytes(),
            backend: engine.backend().as_str(),
            backend_reason: engine.backend_reason().to_owned(),
            gpu_adapter: engine.gpu_adapter().map(str::to_owned),
            chat_template: Self::chat_template(&engine),
            bos_token_id: tok.bos(),
            eos_token_id: tok.eos(),
        })
    }

    pub fn tokenize(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let engine = self.engine.borrow();
        engine.tokenizer().encode(text, add_special, parse_special)
    }

    pub fn detokenize(&self, ids: Vec<u32>) -> Result<String, JsValue> {
        let engine = self.engine.borrow();
        engine.tokenizer().decode(&ids).map_err(|e| js_error(&e))
    }

    /// Renders chat messages with `template` or the model's own template; `tools` (an array
    /// or undefined) and `vars` (an object or undefined) reach the template as transformers
    /// passes them.
    pub fn apply_chat_template(
        &self,
        messages: JsValue,
        template: Option<String>,
        add_generation_prompt: bool,
        tools: JsValue,
        vars: JsValue,
    ) -> Result<String, JsValue> {
        let invalid = |name: &'static str, expected: &'static str| {
            move |e: serde_wasm_bindgen::Error| {
                js_error(&Error::InvalidOption {
                    name,
                    value: e.to_string(),
                    expected,
                })
            }
        };
        let messages: Vec<serde_json::Value> =
            serde_wasm_bindgen::from_value(messages).map_err(invalid(
                "messages",
                "an array of { role: string, content: string | null, … }",
            ))?;
        let tools: Option<Vec<serde_json::Value>> = if tools.is_undefined() || tools.is_null() {
            None
        } else {
            Some(
                serde_wasm_bindgen::from_value(tools)
                    .map_err(invalid("tools", "an array of tool definitions"))?,
            )
        };
        let vars: serde_json::Map<String, serde_json::Value> =
            if vars.is_undefined() || vars.is_null() {
                Default::default()
            } else {
                serde_wasm_bindgen::from_value(vars)
                    .map_err(invalid("templateVars", "an object of template variables"))?
            };
        let request = ChatRequest {
            messages,
            tools,
            add_generation_prompt,
            vars,
        };
        let engine = self.engine.borrow();
        let template = template
            .or_else(|| Self::chat_template(&engine))
            .ok_or_else(|| js_error(&Error::NoChatTemplate))?;
        let tok = engine.tokenizer();
        let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_owned();
        chat_template::render(
            &template,
            &request,
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
        let mut engine = self.engine.borrow_mut();
        let ids = engine.encode_prompt(
            prompt,
            opts.add_special.unwrap_or(true),
            opts.parse_special.unwrap_or(true),
        );
        engine.start(ids, engine_opts).map_err(|e| js_error(&e))
    }

    /// One bounded piece of work: a prompt chunk or one token.
    pub fn step(&mut self) -> Result<JsValue, JsValue> {
        let mut engine = self.engine.borrow_mut();
        let step = engine.step().map_err(|e| js_error(&e))?;
        let switched = engine.take_backend_switch();
        let out = to_js(&match step {
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
                    reused_tokens: r.reused_tokens,
                },
            },
        });
        if let Some(reason) = switched {
            // A fresh plain object: setting a property cannot fail.
            let _ = js_sys::Reflect::set(&out, &"backendSwitch".into(), &reason.into());
        }
        Ok(out)
    }

    /// True while tokens are evaluated on the GPU (then JS awaits `gpu_prepare` before each
    /// `step`).
    pub fn uses_gpu(&self) -> bool {
        self.engine.borrow().gpu_session().is_some()
    }

    /// Opens WebGPU and uploads the weights, then evaluates on the GPU. With `required`
    /// false ('auto') a software (fallback) adapter is declined and every failure leaves the
    /// model on the CPU with the reason in `info().backendReason`; with `required` the
    /// failure rejects.
    pub fn enable_webgpu(&self, required: bool) -> js_sys::Promise {
        let engine = Rc::clone(&self.engine);
        let request = engine.borrow().open_webgpu(required, GpuOptions::default());
        wasm_bindgen_futures::future_to_promise(async move {
            let opened = request.open().await;
            let on_gpu = engine.borrow_mut().attach_webgpu(opened, required);
            on_gpu.map(JsValue::from_bool).map_err(|e| js_error(&e))
        })
    }

    /// Evaluates on the GPU what the next `step` needs (a prompt chunk or the last token),
    /// without blocking the thread. A GPU failure does not reject: the next `step` moves the
    /// generation to the CPU and reports it (`backendSwitch`).
    pub fn gpu_prepare(&self) -> js_sys::Promise {
        let engine = Rc::clone(&self.engine);
        let job = engine.borrow_mut().gpu_job();
        wasm_bindgen_futures::future_to_promise(async move {
            if let Some(job) = job {
                let done = job.run().await;
                engine.borrow_mut().finish_step_job(done);
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Ends the running generation at its next step.
    pub fn abort(&mut self) {
        self.engine.borrow_mut().abort();
    }
}

/// Test and evaluation hooks, compiled only with the `test-hooks` feature (absent from the
/// published package).
#[cfg(feature = "test-hooks")]
#[wasm_bindgen]
impl WasmModel {
    /// Evaluates `tokens` from an empty cache and resolves to the greedy next token at every
    /// position (teacher forcing), on the current backend.
    pub fn argmax_all(&mut self, tokens: Vec<u32>) -> js_sys::Promise {
        let engine = Rc::clone(&self.engine);
        let first = engine.borrow_mut().greedy_every(&tokens);
        wasm_bindgen_futures::future_to_promise(async move {
            let ids = match first {
                Ok(Ok(ids)) => Ok(ids),
                Ok(Err(job)) => {
                    let done = job.run().await;
                    let r = engine.borrow_mut().finish_gpu_job(done);
                    r.map(Option::unwrap_or_default)
                }
                Err(e) => Err(e),
            };
            ids.map(|ids| js_sys::Uint32Array::from(ids.as_slice()).into())
                .map_err(|e| js_error(&e))
        })
    }

    /// The GPU forward pass's CPU-side figures (`{bindGroupsHeld, bindGroupsCreated,
    /// encodeMs}` of the last pass), or `undefined` on the CPU backend.
    pub fn gpu_stats(&self) -> JsValue {
        let engine = self.engine.borrow();
        let Some(st) = engine.gpu_session().map(|gs| gs.stats()) else {
            return JsValue::UNDEFINED;
        };
        let o = js_sys::Object::new();
        let set = |k: &str, v: f64| {
            let _ = js_sys::Reflect::set(&o, &k.into(), &v.into());
        };
        set("bindGroupsHeld", st.bind_groups_held as f64);
        set("bindGroupsCreated", st.bind_groups_created as f64);
        set("encodeMs", st.encode_ms);
        o.into()
    }

    /// Destroys the WebGPU device, as a driver reset would.
    pub fn simulate_device_loss(&self) -> bool {
        match self.engine.borrow().gpu_session() {
            Some(gs) => {
                gs.gpu().simulate_loss();
                true
            }
            None => false,
        }
    }
}
