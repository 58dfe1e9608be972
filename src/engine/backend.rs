//! [`Engine`]: a model, its tokenizer, and the evaluator that runs its tokens — the CPU
//! session, or a WebGPU session when one was opened — with the moves between them, the same
//! natively and in the browser:
//!
//! * choosing WebGPU ([`Engine::open_webgpu`] → [`Engine::attach_webgpu`]): `required`
//!   insists; otherwise a software adapter or any failure keeps the CPU, with the reason;
//! * evaluating ahead: a GPU evaluation is asynchronous, so before each [`Engine::step`] the
//!   caller runs the [`GpuJob`] that [`Engine::gpu_job`] hands out (the session moves into the
//!   job, so nothing stays borrowed across the await) and gives it back with
//!   [`Engine::finish_gpu_job`];
//! * device loss: a job that fails with a GPU error leaves the GPU; the next step moves to
//!   the CPU session, recomputes the positions the GPU cache held, and continues with the same
//!   tokens ([`Engine::take_backend_switch`] reports it once).
//!
//! [`Engine::generate`] drives all of this to the end (natively it waits for the GPU).

use std::rc::Rc;
use std::sync::Arc;

use super::{deliver, Flow, GenerateOptions, GenerateResult, Generation, NextEval, Produce};
use super::{Produced, Step, TokenEvent};
use crate::error::{Error, Result};
use crate::gguf::LoadedGguf;
use crate::gpu::{Gpu, GpuOptions, GpuSession};
use crate::model::{Model, ModelOptions, Session, SessionOptions};
use crate::tokenizer::Tokenizer;

/// Options for [`Engine::load`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineOptions {
    pub model: ModelOptions,
    pub session: SessionOptions,
}

/// Which evaluator runs the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Cpu,
    WebGpu,
}

impl BackendKind {
    /// The name JavaScript sees.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::WebGpu => "webgpu",
        }
    }
}

const CPU_REASON: &str = "CPU with WASM SIMD128 kernels";

/// A WebGPU session being opened (see [`Engine::open_webgpu`]).
#[derive(Debug)]
pub struct WebGpuRequest {
    model: Arc<Model>,
    opts: SessionOptions,
    gpu: GpuOptions,
    required: bool,
}

impl WebGpuRequest {
    /// Opens the adapter and uploads the weights. Without `required` a software (fallback)
    /// adapter is declined: the SIMD128 CPU path is faster than an emulated GPU.
    pub async fn open(self) -> Result<(GpuSession, String)> {
        let gpu = Gpu::new(&self.gpu).await?;
        if !self.required && gpu.is_fallback() {
            return Err(Error::BackendUnavailable {
                reason: format!(
                    "the only WebGPU adapter is a software one ({}); the SIMD128 CPU path is faster",
                    gpu.adapter
                ),
            });
        }
        let adapter = gpu.adapter.clone();
        let gs = GpuSession::new(Rc::new(gpu), self.model, &self.opts)?;
        Ok((gs, adapter))
    }

    pub fn required(&self) -> bool {
        self.required
    }
}

#[derive(Debug)]
enum Work {
    /// What the generation's next step will ask for.
    Next(NextEval, Produce),
    /// Every position's greedy token from an empty cache (teacher forcing).
    GreedyEvery(Vec<u32>),
}

/// A GPU evaluation to await before the next step.
#[derive(Debug)]
pub struct GpuJob {
    gpu: GpuSession,
    work: Work,
}

/// A finished [`GpuJob`], for [`Engine::finish_gpu_job`].
#[derive(Debug)]
pub struct GpuJobDone {
    gpu: GpuSession,
    result: Result<Option<Vec<u32>>>,
}

impl GpuJob {
    pub async fn run(mut self) -> GpuJobDone {
        let result = match self.work {
            Work::Next(plan, produce) => self.gpu.prepare(plan, produce).await.map(|()| None),
            Work::GreedyEvery(tokens) => {
                self.gpu.clear();
                match self.gpu.eval(&tokens, Produce::GreedyEvery).await {
                    Ok(Produced::Tokens(t)) => Ok(Some(t)),
                    Ok(_) => Ok(Some(Vec::new())),
                    Err(e) => Err(e),
                }
            }
        };
        GpuJobDone {
            gpu: self.gpu,
            result,
        }
    }

    /// The device the job runs on (natively, to wait for it).
    pub fn gpu(&self) -> &Rc<Gpu> {
        self.gpu.gpu()
    }
}

/// A model, its tokenizer, one CPU session and optionally one WebGPU session.
#[derive(Debug)]
pub struct Engine {
    tokenizer: Arc<Tokenizer>,
    cpu: Session,
    gpu: Option<GpuSession>,
    /// The GPU session is out on a [`GpuJob`].
    gpu_out: bool,
    reason: String,
    adapter: Option<String>,
    /// The GPU failed while evaluating ahead: (why, the positions its cache held).
    failed: Option<(String, Vec<u32>)>,
    /// Set on the step that switched to the CPU, reported once.
    switched: Option<String>,
    /// An error of the GPU evaluation that is not a GPU failure, for the next step.
    error: Option<Error>,
    generation: Option<Generation>,
}

impl Engine {
    /// Validates the model, builds its tokenizer from the metadata and allocates a session.
    pub fn load(gguf: LoadedGguf, opts: &EngineOptions) -> Result<Engine> {
        // A lone shard lacks the tokenizer too: say what it is first.
        crate::gguf::split::check_whole(&gguf)?;
        let tokenizer = Tokenizer::from_metadata(gguf.metadata())?;
        let model = Arc::new(Model::load(gguf, &opts.model)?);
        Engine::from_parts(model, Arc::new(tokenizer), &opts.session)
    }

    pub fn from_parts(
        model: Arc<Model>,
        tokenizer: Arc<Tokenizer>,
        opts: &SessionOptions,
    ) -> Result<Engine> {
        Ok(Engine {
            tokenizer,
            cpu: Session::new(model, opts)?,
            gpu: None,
            gpu_out: false,
            reason: format!("{CPU_REASON} (WebGPU not requested)"),
            adapter: None,
            failed: None,
            switched: None,
            error: None,
            generation: None,
        })
    }

    pub fn model(&self) -> &Arc<Model> {
        self.cpu.model()
    }

    pub fn tokenizer(&self) -> &Arc<Tokenizer> {
        &self.tokenizer
    }

    /// The CPU session (always there: the fallback).
    pub fn session(&self) -> &Session {
        &self.cpu
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.cpu
    }

    /// The WebGPU session, while tokens run there.
    pub fn gpu_session(&self) -> Option<&GpuSession> {
        self.gpu.as_ref()
    }

    pub fn backend(&self) -> BackendKind {
        if self.gpu.is_some() || self.gpu_out {
            BackendKind::WebGpu
        } else {
            BackendKind::Cpu
        }
    }

    /// Why the backend is what it is (for `info.backendReason`).
    pub fn backend_reason(&self) -> &str {
        &self.reason
    }

    /// The adapter's name while on WebGPU.
    pub fn gpu_adapter(&self) -> Option<&str> {
        match self.backend() {
            BackendKind::WebGpu => self.adapter.as_deref(),
            BackendKind::Cpu => None,
        }
    }

    /// Positions the active evaluator's cache holds.
    pub fn n_ctx(&self) -> usize {
        self.cpu.n_ctx()
    }

    /// Bytes of the active evaluator's KV cache.
    pub fn kv_bytes(&self) -> usize {
        match &self.gpu {
            Some(g) => g.kv_bytes(),
            None => self.cpu.kv_bytes(),
        }
    }

    /// Tokenizes a prompt as llama.cpp does by default: BOS/EOS as the metadata asks, and
    /// special-token text (`<start_of_turn>`) parsed into those tokens.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.encode_prompt(text, true, true)
    }

    /// Tokenizes a prompt; a rendered chat template that prints BOS itself, plus the
    /// tokenizer's own BOS, would double it: the first is dropped.
    pub fn encode_prompt(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let tok = &self.tokenizer;
        let mut ids = tok.encode(text, add_special, parse_special);
        if let (Some(bos), [a, b, ..]) = (tok.bos(), ids.as_slice()) {
            if *a == bos && *b == bos {
                ids.remove(0);
            }
        }
        ids
    }

    /// What opening WebGPU for this model needs; run [`WebGpuRequest::open`] (async), then
    /// hand its result to [`Engine::attach_webgpu`].
    pub fn open_webgpu(&self, required: bool, gpu: GpuOptions) -> WebGpuRequest {
        WebGpuRequest {
            model: Arc::clone(self.model()),
            opts: SessionOptions {
                n_ctx: self.cpu.n_ctx(),
                n_batch: self.cpu.n_batch(),
                ..SessionOptions::default()
            },
            gpu,
            required,
        }
    }

    /// Moves evaluation to the opened GPU session, or records why not. Errors only when the
    /// request was `required`; returns whether tokens now run on WebGPU.
    pub fn attach_webgpu(
        &mut self,
        opened: Result<(GpuSession, String)>,
        required: bool,
    ) -> Result<bool> {
        match opened {
            Ok((gs, adapter)) => {
                self.reason = format!("WebGPU on {adapter}");
                self.adapter = Some(adapter);
                self.gpu = Some(gs);
                self.failed = None;
                self.generation = None;
                Ok(true)
            }
            Err(e) if required => Err(e),
            Err(e) => {
                self.reason = format!("{CPU_REASON} ({e})");
                Ok(false)
            }
        }
    }

    /// Natively: opens WebGPU (Vulkan) and attaches it, waiting.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn enable_webgpu_blocking(&mut self, required: bool, gpu: GpuOptions) -> Result<bool> {
        let opened = crate::gpu::device::wait(self.open_webgpu(required, gpu).open());
        self.attach_webgpu(opened, required)
    }

    /// Starts generating from `prompt` (replacing any unfinished generation) on the active
    /// evaluator; a failed GPU hands over to the CPU first.
    pub fn start(&mut self, prompt: Vec<u32>, opts: GenerateOptions) -> Result<()> {
        self.generation = None;
        self.error = None;
        self.fall_back()?;
        let g = match self.gpu.as_mut() {
            Some(gs) => Generation::start(gs, prompt, opts)?,
            None => Generation::start(&mut self.cpu, prompt, opts)?,
        };
        self.generation = Some(g);
        Ok(())
    }

    /// The GPU evaluation the next step needs, if tokens run on the GPU and the step
    /// evaluates something; run it and give it back before calling [`Engine::step`].
    pub fn gpu_job(&mut self) -> Option<GpuJob> {
        let g = self.generation.as_ref()?;
        let n_batch = self.gpu.as_ref()?.n_batch();
        let plan = g.next_eval(n_batch)?;
        let produce = g.produce(&self.tokenizer);
        let gpu = self.gpu.take()?;
        self.gpu_out = true;
        Some(GpuJob {
            gpu,
            work: Work::Next(plan, produce),
        })
    }

    /// Takes back a finished job: a GPU failure leaves the GPU (the next step continues on
    /// the CPU); another error ends the generation at the next step. Returns a teacher-forcing
    /// job's tokens.
    pub fn finish_gpu_job(&mut self, done: GpuJobDone) -> Result<Option<Vec<u32>>> {
        self.gpu_out = false;
        match done.result {
            Err(e @ (Error::DeviceLost { .. } | Error::Gpu { .. })) => {
                self.failed = Some((e.to_string(), done.gpu.tokens().to_vec()));
                Err(e)
            }
            Err(e) => {
                self.gpu = Some(done.gpu);
                Err(e)
            }
            Ok(t) => {
                self.gpu = Some(done.gpu);
                Ok(t)
            }
        }
    }

    /// [`Engine::finish_gpu_job`] for a generation's job: its error is kept for the step.
    pub fn finish_step_job(&mut self, done: GpuJobDone) {
        if let Err(e) = self.finish_gpu_job(done) {
            if self.failed.is_none() {
                self.error = Some(e);
            }
        }
    }

    /// Moves to the CPU after a GPU failure: the CPU session recomputes the positions the
    /// GPU cache held, so a generation continues where it was.
    fn fall_back(&mut self) -> Result<()> {
        let Some((why, history)) = self.failed.take() else {
            return Ok(());
        };
        self.gpu = None;
        self.reason =
            format!("{CPU_REASON}: the WebGPU device failed ({why}); continued on the CPU");
        self.switched = Some(self.reason.clone());
        self.cpu.clear();
        if !history.is_empty() {
            self.cpu.prefill(&history)?;
        }
        Ok(())
    }

    /// The reason of a move to the CPU since the last call.
    pub fn take_backend_switch(&mut self) -> Option<String> {
        self.switched.take()
    }

    /// One bounded piece of work of the running generation: a prompt chunk or one token.
    pub fn step(&mut self) -> Result<Step> {
        if let Some(e) = self.error.take() {
            self.abort();
            return Err(e);
        }
        self.fall_back()?;
        let g = self.generation.as_mut().ok_or(Error::InvalidOption {
            name: "step",
            value: "no generation".into(),
            expected: "start() first",
        })?;
        match self.gpu.as_mut() {
            Some(gs) => g.step(gs, &self.tokenizer),
            None => g.step(&mut self.cpu, &self.tokenizer),
        }
    }

    /// Ends the running generation at its next step.
    pub fn abort(&mut self) {
        if let Some(g) = self.generation.as_mut() {
            g.abort();
        }
    }

    /// Every position's greedy next token for `tokens` from an empty cache (teacher
    /// forcing) on the CPU; on the GPU the job to run (then [`Engine::finish_gpu_job`]).
    pub fn greedy_every(
        &mut self,
        tokens: &[u32],
    ) -> Result<core::result::Result<Vec<u32>, GpuJob>> {
        self.generation = None;
        self.fall_back()?;
        if let Some(gpu) = self.gpu.take() {
            self.gpu_out = true;
            return Ok(Err(GpuJob {
                gpu,
                work: Work::GreedyEvery(tokens.to_vec()),
            }));
        }
        let n_vocab = self.model().config().n_vocab;
        self.cpu.clear();
        let all = self.cpu.prefill_logits_all(tokens)?;
        Ok(Ok(all
            .chunks_exact(n_vocab)
            .map(|l| crate::sampler::argmax(l).unwrap_or(u32::MAX))
            .collect()))
    }

    /// Generates a continuation of `prompt` to the end, on the active evaluator; `on_token`
    /// returning false stops it (`FinishReason::Abort`). Natively a GPU evaluation is waited
    /// for; in the browser the GPU needs the asynchronous step driver (src/js/index.js).
    pub fn generate(
        &mut self,
        prompt: &[u32],
        opts: &GenerateOptions,
        mut on_token: impl FnMut(TokenEvent<'_>) -> bool,
    ) -> Result<GenerateResult> {
        if self.gpu.is_none() && self.failed.is_none() {
            return super::generate(&mut self.cpu, &self.tokenizer, prompt, opts, on_token);
        }
        self.start(prompt.to_vec(), opts.clone())?;
        let mut n_generated = 0;
        loop {
            self.run_gpu_job()?;
            match deliver(self.step()?, &mut n_generated, &mut on_token) {
                Flow::Next => {}
                Flow::Abort => self.abort(),
                Flow::Done(r) => return Ok(r),
            }
        }
    }

    /// Natively: waits for the next step's GPU evaluation, if any.
    pub(super) fn run_gpu_job(&mut self) -> Result<()> {
        let Some(job) = self.gpu_job() else {
            return Ok(());
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            let gpu = Rc::clone(job.gpu());
            let done = gpu.block_on(job.run());
            self.finish_step_job(done);
            Ok(())
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.gpu = Some(job.gpu);
            self.gpu_out = false;
            Err(Error::BackendUnavailable {
                reason: "a synchronous generate cannot wait for WebGPU in the browser".into(),
            })
        }
    }
}
