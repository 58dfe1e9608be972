//! A loaded model as JavaScript sees it: tokenization, chat templates and step-wise
//! generation (src/js/index.js yields to the event loop between steps).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use std::sync::Arc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::options::JsGenerateOptions;
use super::{js_error, memory_bytes, to_js};
use crate::chat_template::{self, ChatMessage, CHAT_TEMPLATE_KEY};
use crate::engine::{Engine, Generation, Step};
use crate::error::Error;
use crate::gpu::{Gpu, GpuOptions, GpuSession};
use crate::model::SessionOptions;

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

/// Which backend evaluates tokens, and why. Shared with the futures of `enable_webgpu` and
/// `gpu_prepare` (the GPU session is taken out while one of them awaits the GPU, so nothing
/// stays borrowed across an await).
#[derive(Default)]
struct Backend {
    gpu: Option<GpuSession>,
    adapter: Option<String>,
    reason: String,
    /// The GPU failed while evaluating ahead: (why, the positions its cache held). The next
    /// step moves to the CPU and recomputes them.
    failed: Option<(String, Vec<u32>)>,
    /// Set on the step that switched, reported to JS once.
    switched: Option<String>,
    /// An error of the GPU evaluation that is not a GPU failure, for the next step to throw.
    error: Option<Error>,
}

const CPU_REASON: &str = "CPU with WASM SIMD128 kernels";

#[wasm_bindgen]
pub struct WasmModel {
    engine: Engine,
    generation: Option<Generation>,
    file_bytes: u64,
    backend: Rc<RefCell<Backend>>,
}

impl WasmModel {
    pub(crate) fn new(engine: Engine, file_bytes: u64) -> WasmModel {
        WasmModel {
            engine,
            generation: None,
            file_bytes,
            backend: Rc::new(RefCell::new(Backend {
                reason: format!("{CPU_REASON} (WebGPU not requested)"),
                ..Backend::default()
            })),
        }
    }

    /// Moves to the CPU after a GPU failure: the CPU session recomputes the positions the
    /// GPU cache held, so the generation continues where it was.
    fn fall_back(&mut self) -> Result<(), Error> {
        let mut b = self.backend.borrow_mut();
        let Some((why, history)) = b.failed.take() else {
            return Ok(());
        };
        b.gpu = None;
        b.reason = format!("{CPU_REASON}: the WebGPU device failed ({why}); continued on the CPU");
        b.switched = Some(b.reason.clone());
        drop(b);
        let s = self.engine.session_mut();
        s.clear();
        if !history.is_empty() {
            s.prefill(&history)?;
        }
        Ok(())
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
        let backend = self.backend.borrow();
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
            kv_cache_bytes: match &backend.gpu {
                Some(g) => g.kv_bytes(),
                None => self.engine.session().kv_bytes(),
            },
            memory_bytes: memory_bytes(),
            backend: if backend.gpu.is_some() {
                "webgpu"
            } else {
                "cpu"
            },
            backend_reason: backend.reason.clone(),
            gpu_adapter: backend.gpu.as_ref().and(backend.adapter.clone()),
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
        self.fall_back().map_err(|e| js_error(&e))?;
        let mut b = self.backend.borrow_mut();
        let g = match b.gpu.as_mut() {
            Some(gs) => Generation::start(gs, ids, engine_opts),
            None => Generation::start(self.engine.session_mut(), ids, engine_opts),
        }
        .map_err(|e| js_error(&e))?;
        self.generation = Some(g);
        Ok(())
    }

    /// One bounded piece of work: a prompt chunk or one token.
    pub fn step(&mut self) -> Result<JsValue, JsValue> {
        // A failure of the GPU evaluation done ahead: an input error ends the generation;
        // a lost device moves it to the CPU (a no-op otherwise).
        let error = self.backend.borrow_mut().error.take();
        if let Some(e) = error {
            self.abort();
            return Err(js_error(&e));
        }
        self.fall_back().map_err(|e| js_error(&e))?;
        let g = self.generation.as_mut().ok_or_else(|| {
            js_error(&Error::InvalidOption {
                name: "step",
                value: "no generation".into(),
                expected: "start() first",
            })
        })?;
        let tokenizer = self.engine.tokenizer().clone();
        let mut b = self.backend.borrow_mut();
        let step = match b.gpu.as_mut() {
            Some(gs) => g.step(gs, &tokenizer),
            None => g.step(self.engine.session_mut(), &tokenizer),
        }
        .map_err(|e| js_error(&e))?;
        let switched = b.switched.take();
        drop(b);
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
        let b = self.backend.borrow();
        b.gpu.is_some() && b.failed.is_none()
    }

    /// Opens WebGPU and uploads the weights, then evaluates on the GPU. With `required`
    /// false ('auto') a software (fallback) adapter is declined — the SIMD128 CPU path is
    /// faster than an emulated GPU — and every failure leaves the model on the CPU with the
    /// reason in `info().backendReason`; with `required` the failure rejects.
    pub fn enable_webgpu(&self, required: bool) -> js_sys::Promise {
        let backend = Rc::clone(&self.backend);
        let model = Arc::clone(self.engine.model());
        let s = self.engine.session();
        let opts = SessionOptions {
            n_ctx: s.n_ctx(),
            n_batch: s.n_batch(),
            ..SessionOptions::default()
        };
        wasm_bindgen_futures::future_to_promise(async move {
            let r: Result<(GpuSession, String), Error> = async {
                let gpu = Gpu::new(&GpuOptions::default()).await?;
                if !required && gpu.is_fallback() {
                    return Err(Error::BackendUnavailable {
                        reason: format!(
                            "the only WebGPU adapter is a software one ({}); the SIMD128 CPU path is faster",
                            gpu.adapter
                        ),
                    });
                }
                let adapter = gpu.adapter.clone();
                let gs = GpuSession::new(Rc::new(gpu), model, &opts)?;
                Ok((gs, adapter))
            }
            .await;
            let mut b = backend.borrow_mut();
            match r {
                Ok((gs, adapter)) => {
                    b.reason = format!("WebGPU on {adapter}");
                    b.adapter = Some(adapter);
                    b.gpu = Some(gs);
                    Ok(JsValue::TRUE)
                }
                Err(e) if required => Err(js_error(&e)),
                Err(e) => {
                    b.reason = format!("{CPU_REASON} ({e})");
                    Ok(JsValue::FALSE)
                }
            }
        })
    }

    /// Evaluates on the GPU what the next `step` needs (a prompt chunk or the last token),
    /// without blocking the thread. A GPU failure does not reject: the next `step` moves the
    /// generation to the CPU and reports it (`backendSwitch`).
    pub fn gpu_prepare(&self) -> js_sys::Promise {
        let backend = Rc::clone(&self.backend);
        let tokenizer = self.engine.tokenizer();
        let plan = self.generation.as_ref().and_then(|g| {
            let n_batch = backend.borrow().gpu.as_ref().map_or(1, |gs| gs.n_batch());
            g.next_eval(n_batch)
                .map(|p| (p, g.sampling_needs(tokenizer)))
        });
        wasm_bindgen_futures::future_to_promise(async move {
            // Nothing to evaluate (the step samples from the previous result).
            let Some((plan, needs)) = plan else {
                return Ok(JsValue::UNDEFINED);
            };
            let Some(mut gs) = backend.borrow_mut().gpu.take() else {
                return Ok(JsValue::UNDEFINED);
            };
            let r = gs.prepare(plan, needs).await;
            let mut b = backend.borrow_mut();
            match r {
                Err(e @ (Error::DeviceLost { .. } | Error::Gpu { .. })) => {
                    b.failed = Some((e.to_string(), gs.tokens().to_vec()));
                }
                Err(e) => {
                    b.error = Some(e);
                    b.gpu = Some(gs);
                }
                Ok(()) => b.gpu = Some(gs),
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Testing and evaluation hook: evaluates `tokens` from an empty cache and resolves to
    /// the greedy next token at every position (teacher forcing), on the current backend.
    pub fn argmax_all(&mut self, tokens: Vec<u32>) -> js_sys::Promise {
        self.generation = None;
        let backend = Rc::clone(&self.backend);
        let gpu = backend.borrow_mut().gpu.take();
        let cpu = match gpu {
            Some(_) => None,
            None => Some({
                let n_vocab = self.engine.model().config().n_vocab;
                let s = self.engine.session_mut();
                s.clear();
                s.prefill_logits_all(&tokens).map(|all| {
                    all.chunks_exact(n_vocab)
                        .map(|l| crate::sampler::argmax(l).unwrap_or(u32::MAX))
                        .collect::<Vec<u32>>()
                })
            }),
        };
        wasm_bindgen_futures::future_to_promise(async move {
            let r = match (cpu, gpu) {
                (Some(r), _) => r,
                (None, Some(mut gs)) => {
                    gs.clear();
                    let r = gs.eval(&tokens, crate::gpu::session::Want::ArgmaxAll).await;
                    backend.borrow_mut().gpu = Some(gs);
                    r.map(|e| match e {
                        crate::gpu::session::Evaluated::Tokens(t) => t,
                        _ => Vec::new(),
                    })
                }
                (None, None) => Ok(Vec::new()),
            };
            r.map(|ids| js_sys::Uint32Array::from(ids.as_slice()).into())
                .map_err(|e| js_error(&e))
        })
    }

    /// Testing and benchmark hook: the GPU forward pass's CPU-side figures
    /// (`{bindGroupsHeld, bindGroupsCreated, encodeMs}` of the last pass), or `undefined` on
    /// the CPU backend.
    pub fn gpu_stats(&self) -> JsValue {
        let Some(st) = self.backend.borrow().gpu.as_ref().map(|gs| gs.stats()) else {
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

    /// Testing hook: destroys the WebGPU device, as a driver reset would.
    pub fn simulate_device_loss(&self) -> bool {
        match self.backend.borrow().gpu.as_ref() {
            Some(gs) => {
                gs.gpu().simulate_loss();
                true
            }
            None => false,
        }
    }

    /// Ends the running generation at its next step.
    pub fn abort(&mut self) {
        if let Some(g) = self.generation.as_mut() {
            g.abort();
        }
    }
}
