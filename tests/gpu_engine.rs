//! The GPU forward pass against the CPU path (natively: wgpu on Vulkan/lavapipe, kernels in
//! WGSL; the CPU side is the scalar reference). Both use an f16 KV cache; the GPU multiplies
//! f32 activations where the CPU quantizes them to Q8_0/Q8_K, so logits agree closely but not
//! bit for bit.
#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::rc::Rc;
use std::sync::Arc;

use support::engine::synthetic_models;
use support::engine::Tiny;
use support::gpu_synthetic::{cpu_rounding, modes, teacher_forced};
use wasm_chord::engine::{Produce, Produced};
use wasm_chord::gpu::{Gpu, GpuOptions, GpuSession};
use wasm_chord::model::{Model, ModelOptions, Session, SessionOptions};
use wasm_chord::sampler::argmax;

fn gpu_with(opts: &GpuOptions) -> Rc<Gpu> {
    Rc::new(
        Gpu::new_blocking(opts)
            .expect("no Vulkan adapter: run scripts/setup.sh (installs mesa-vulkan-drivers)"),
    )
}

fn gpu() -> Rc<Gpu> {
    gpu_with(&GpuOptions::default())
}

fn logits(gpu: &Gpu, s: &mut GpuSession, tokens: &[u32]) -> Vec<f32> {
    match gpu.block_on(s.eval(tokens, Produce::Logits)).unwrap() {
        Produced::Logits(l) => l,
        other => panic!("expected logits, got {other:?}"),
    }
}

/// Max |Δ| relative to the largest |logit|, over prefill and decode steps.
fn compare(
    model: Arc<Model>,
    prompt: &[u32],
    steps: usize,
    opts: SessionOptions,
    gopts: &GpuOptions,
) -> f32 {
    let g = gpu_with(gopts);
    let mut gs = GpuSession::new(Rc::clone(&g), Arc::clone(&model), &opts).unwrap();
    let mut cs = Session::new(model, &opts).unwrap();
    let mut worst = 0f32;
    let mut want = cs.prefill(prompt).unwrap().to_vec();
    let mut got = logits(&g, &mut gs, prompt);
    for step in 0..=steps {
        let scale = want.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let d = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(d / scale);
        if std::env::var("GPU_DEBUG").is_ok() {
            println!("step {step}: Δ {d} scale {scale}");
        }
        let t = argmax(&want).unwrap();
        // Where the CPU's top two are closer than the two paths' difference either may win.
        let mut sorted = want.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 2.0 * d {
            assert_eq!(
                argmax(&got).unwrap(),
                t,
                "step {step}: argmax differs (Δ {d})"
            );
        }
        if step == steps {
            break;
        }
        want = cs.decode(t).unwrap().to_vec();
        got = logits(&g, &mut gs, &[t]);
    }
    worst
}

/// Both modes on one model: with CPU-style rounding of the matmul inputs the GPU graph must
/// equal the CPU graph to float rounding (`tight`); with f32 activations (the default) it
/// differs by the CPU's activation quantization (`loose`), and the argmax must still agree
/// wherever the CPU's top two are further apart than that.
fn check_both_modes(
    name: &str,
    model: Arc<Model>,
    prompt: &[u32],
    opts: SessionOptions,
    tight: f32,
    loose: f32,
) {
    let d = compare(
        Arc::clone(&model),
        prompt,
        12,
        opts.clone(),
        &cpu_rounding(),
    );
    println!("{name}, CPU rounding: max rel Δ {d:e}");
    assert!(d < tight, "{name} with CPU rounding: {d}");
    let d = compare(model, prompt, 12, opts, &GpuOptions::default());
    println!("{name}, f32 activations: max rel Δ {d:e}");
    assert!(d < loose, "{name} with f32 activations: {d}");
}

#[test]
fn tiny_llama_matches_cpu() {
    let model = Arc::new(Model::load(Tiny::llama().gguf(), &ModelOptions::default()).unwrap());
    check_both_modes(
        "tiny llama",
        model,
        &[1, 5, 9, 33, 2, 17, 40],
        SessionOptions::default(),
        1e-5,
        2e-2,
    );
}

/// Qwen2's q/k/v biases and NEOX RoPE; Qwen3's head norms on heads wider than n_embd/n_head.
/// Biases (std 0.5) and head norms on wider heads sharpen the attention, which amplifies the
/// CPU's activation quantization: the loose bound is 5e-2 here (measured 2.3e-2 for qwen2,
/// 3.5e-2 for qwen3; llama and gemma3 stay under 2e-2). The tight bound is unchanged.
/// The tight bound holds while no activation quantum flips between the two: a one-ulp
/// difference before a quantizer (WGSL's `exp`/`inverseSqrt` are not the CPU's) flips one for
/// some weights — measured on Tiny seeds 5–10, 1.5e-2 for qwen3 at seeds 8 and 10 and for
/// llama with 32-wide heads at seed 10, ~1.5e-7 at the others; these seeds flip none.
#[test]
fn tiny_qwen_models_match_cpu() {
    for (name, t) in [("tiny qwen2", Tiny::qwen2()), ("tiny qwen3", Tiny::qwen3())] {
        let model = Arc::new(Model::load(t.gguf(), &ModelOptions::default()).unwrap());
        let prompt = [1, 5, 9, 33, 2, 17, 40];
        check_both_modes(name, model, &prompt, SessionOptions::default(), 1e-5, 5e-2);
    }
}

/// Gemma 2's graph: soft-capped attention scores and logits, every other layer sliding.
#[test]
fn tiny_gemma2_matches_cpu() {
    let model = Arc::new(Model::load(Tiny::gemma2().gguf(), &ModelOptions::default()).unwrap());
    let prompt: Vec<u32> = (0..20).map(|i| (i * 7 + 3) % 60 + 1).collect();
    let opts = SessionOptions {
        n_batch: 8,
        ..SessionOptions::default()
    };
    check_both_modes("tiny gemma2", model, &prompt, opts, 1e-5, 2e-2);
}

/// Gemma 3's graph (QK norms, post-norms, GELU, sliding window of 8 over a 40-token prompt
/// in chunks of 16, tied head).
#[test]
fn tiny_gemma3_matches_cpu() {
    let model = Arc::new(Model::load(Tiny::gemma3().gguf(), &ModelOptions::default()).unwrap());
    let prompt: Vec<u32> = (0..40).map(|i| (i * 7 + 3) % 60 + 1).collect();
    let opts = SessionOptions {
        n_batch: 16,
        ..SessionOptions::default()
    };
    check_both_modes("tiny gemma3", model, &prompt, opts, 1e-5, 2e-2);
}

/// A decode step records the same dispatches over the same buffers every token, so from the
/// second decode token on every bind group comes from the session's cache (none is created),
/// while the logits keep matching the CPU path step by step (with CPU-style rounding, to
/// float rounding) — a stale group (wrong buffer, slot or uniforms) would break that.
#[test]
fn decode_reuses_bind_groups() {
    let model = Arc::new(Model::load(Tiny::gemma3().gguf(), &ModelOptions::default()).unwrap());
    let opts = SessionOptions {
        n_batch: 16,
        ..SessionOptions::default()
    };
    let g = gpu_with(&cpu_rounding());
    let mut gs = GpuSession::new(Rc::clone(&g), Arc::clone(&model), &opts).unwrap();
    let mut cs = Session::new(model, &opts).unwrap();
    // The prompt and greedy continuation `tiny_gemma3_matches_cpu` holds to 1e-5 for 12 steps.
    let prompt: Vec<u32> = (0..40).map(|i| (i * 7 + 3) % 60 + 1).collect();
    let close = |got: &[f32], want: &[f32], what: &str| {
        let scale = want.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let d = got
            .iter()
            .zip(want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(d / scale < 1e-5, "{what}: max rel Δ {}", d / scale);
    };
    let want = cs.prefill(&prompt).unwrap().to_vec();
    close(&logits(&g, &mut gs, &prompt), &want, "prefill");
    let mut t = argmax(&want).unwrap();
    let mut first = None;
    for step in 1..=5 {
        let want = cs.decode(t).unwrap().to_vec();
        close(&logits(&g, &mut gs, &[t]), &want, &format!("decode {step}"));
        let st = gs.stats();
        let (held, created) = (st.bind_groups_held, st.bind_groups_created);
        match first {
            None => {
                assert!(held > 50, "a Gemma-style decode pass binds {held} groups");
                first = Some((held, created));
            }
            Some(f) => assert_eq!((held, created), f, "decode {step}: bind groups created"),
        }
        t = argmax(&want).unwrap();
    }
    let created = first.unwrap().1;
    // A new prompt after clear(): the first pass builds its groups again, and stays right.
    gs.clear();
    cs.clear();
    close(
        &logits(&g, &mut gs, &prompt[..20]),
        cs.prefill(&prompt[..20]).unwrap(),
        "prefill again",
    );
    assert!(gs.stats().bind_groups_created > created);
}

/// The synthetic models (llama, qwen2, qwen3, gemma, gemma2, phi3) of the llama.cpp
/// conformance fixtures — every weight type through the whole graph — teacher-forced on the
/// GPU against llama.cpp's own top-1 (an independent reference), in both GPU modes: equal
/// wherever llama.cpp's top-two gap exceeds 1.5 (twice the logit error the CPU path is held to
/// on these models), and every disagreement at a near tie (gap < 0.5: llama.cpp's own kernel
/// paths differ by up to 0.76 on these models, BENCHMARKS.md). The GPU's cache is F16 (the
/// fixtures' F32), and by default it multiplies f32 activations where llama.cpp quantizes
/// them, so it may pick the other of two near-tied tokens (measured: 0–3 of 48 steps per
/// model, gaps 0.06–0.42; phi3: `F32_ACTIVATION_TIES` in tests/support/gpu_synthetic.rs; the CPU
/// path: 48/48). tests/web_gpu_models.rs runs the same in headless Chromium.
#[test]
fn synthetic_models_match_llama_cpp() {
    for (mode, opts) in modes() {
        let g = gpu_with(&opts);
        for v in &synthetic_models::VARIANTS {
            println!("{}", g.block_on(teacher_forced(&g, &opts, v, mode)));
        }
    }
}

fn gemma() -> Arc<Model> {
    Arc::new(
        Model::load(support::engine::gemma_gguf(), &ModelOptions::default()).expect("Gemma loads"),
    )
}

fn argmax_all(gpu: &Gpu, s: &mut GpuSession, tokens: &[u32]) -> Vec<u32> {
    match gpu.block_on(s.eval(tokens, Produce::GreedyEvery)).unwrap() {
        Produced::Tokens(t) => t,
        other => panic!("expected tokens, got {other:?}"),
    }
}

/// Gemma 3 270M on the GPU, teacher-forced over the first two prompts of llama.cpp's fixture
/// (64 positions; all six took 6 minutes on lavapipe): top-1 agreement with the CPU path and
/// with llama.cpp. A position whose CPU top-2 gap is below 0.5 (a near tie, where the CPU and
/// llama.cpp themselves disagree) may go either way; every other one must agree, the GPU must
/// match llama.cpp at least as often as the CPU path does, and the CPU path at ≥ 95%.
/// (Measured on these 64: = CPU 62, = llama.cpp 63, CPU = llama.cpp 63; over all six prompts:
/// = CPU 189/192, = llama.cpp 190/192, CPU = llama.cpp 190/192.)
#[test]
fn gemma_teacher_forced_matches_cpu_and_llama_cpp() {
    let model = gemma();
    let fx = support::engine::oracle("gemma3-270m-q4_k_m.json");
    let g = gpu();
    let opts = SessionOptions {
        n_ctx: fx.n_ctx,
        ..SessionOptions::default()
    };
    let mut gs = GpuSession::new(Rc::clone(&g), Arc::clone(&model), &opts).unwrap();
    let mut cs = Session::new(Arc::clone(&model), &opts).unwrap();
    let (mut with_cpu, mut with_llama, mut cpu_llama, mut total) = (0, 0, 0, 0);
    let n_vocab = model.config().n_vocab;
    let mut decisive_misses: Vec<(usize, f32)> = Vec::new();
    for case in fx.cases.iter().take(2) {
        let steps = case.steps.len();
        gs.clear();
        cs.clear();
        let mut gpu_top = vec![match g
            .block_on(gs.eval(&case.prompt_tokens, Produce::Greedy))
            .unwrap()
        {
            Produced::Tokens(t) => t[0],
            other => panic!("{other:?}"),
        }];
        gpu_top.extend(argmax_all(&g, &mut gs, &case.greedy_tokens[..steps - 1]));
        let gap = |l: &[f32]| {
            let mut v = l.to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            v[0] - v[1]
        };
        let first = cs.prefill(&case.prompt_tokens).unwrap();
        let mut cpu_top = vec![(argmax(first).unwrap(), gap(first))];
        let all = cs
            .prefill_logits_all(&case.greedy_tokens[..steps - 1])
            .unwrap();
        cpu_top.extend((0..steps - 1).map(|i| {
            let l = &all[i * n_vocab..(i + 1) * n_vocab];
            (argmax(l).unwrap(), gap(l))
        }));
        for i in 0..steps {
            total += 1;
            let same = gpu_top[i] == cpu_top[i].0;
            with_cpu += usize::from(same);
            with_llama += usize::from(gpu_top[i] == case.steps[i][0].0);
            cpu_llama += usize::from(cpu_top[i].0 == case.steps[i][0].0);
            if !same && cpu_top[i].1 >= 0.5 {
                decisive_misses.push((i, cpu_top[i].1));
            }
        }
    }
    println!("gemma on the GPU: teacher-forced top-1 = CPU path {with_cpu}/{total}, = llama.cpp {with_llama}/{total} (CPU path = llama.cpp {cpu_llama}/{total})");
    assert!(total >= 64);
    assert!(
        decisive_misses.is_empty(),
        "GPU ≠ CPU at (step, CPU gap) {decisive_misses:?}"
    );
    // As good as the CPU path against the independent reference, and close to the CPU path
    // (measured 62/64: both misses are near ties).
    assert!(
        with_llama >= cpu_llama,
        "GPU = llama.cpp {with_llama} < CPU = llama.cpp {cpu_llama}"
    );
    assert!(with_cpu as f64 >= 0.95 * total as f64, "{with_cpu}/{total}");
}

/// The generation loop on the GPU — evaluations prepared ahead (`GpuSession::prepare`), then
/// handed to `Generation::step` — produces the CPU's tokens: greedy (4-byte readback), top-k
/// sampling (only the k best logits read back), full-distribution sampling and penalties
/// (all logits read back). With CPU-style rounding the logits agree to 1e-7, so even
/// sampled tokens coincide.
#[test]
fn generation_loop_matches_cpu() {
    use wasm_chord::engine::{generate, GenerateOptions, Generation, Produce, Step};
    use wasm_chord::sampler::SamplerConfig;
    use wasm_chord::tokenizer::Tokenizer;
    let tiny = Tiny::gemma3();
    let gguf = tiny.gguf();
    let tok = Tokenizer::from_metadata(gguf.metadata()).unwrap();
    let model = Arc::new(Model::load(gguf, &ModelOptions::default()).unwrap());
    let g = gpu_with(&cpu_rounding());
    let opts = SessionOptions {
        n_batch: 16,
        ..SessionOptions::default()
    };
    let mut gs = GpuSession::new(Rc::clone(&g), Arc::clone(&model), &opts).unwrap();
    let mut cs = Session::new(Arc::clone(&model), &opts).unwrap();
    let prompt: Vec<u32> = (0..30).map(|i| (i * 11 + 4) % 60 + 3).collect();
    let greedy = SamplerConfig::default();
    let top_k = SamplerConfig {
        temperature: 0.9,
        top_k: 40,
        seed: 7,
        ..SamplerConfig::default()
    };
    let top_p = SamplerConfig {
        temperature: 0.9,
        top_p: 0.95,
        seed: 8,
        ..SamplerConfig::default()
    };
    let penalty = SamplerConfig {
        repeat_penalty: 1.3,
        ..SamplerConfig::default()
    };
    let n_eog = tok.eog_ids().len();
    assert!(n_eog >= 1);
    // (sampler, ignore EOS, what the GPU reads back)
    let cases = [
        (greedy.clone(), false, Produce::Greedy),
        (greedy, true, Produce::TopK(n_eog + 1)),
        (top_k.clone(), false, Produce::TopK(40)),
        (top_k, true, Produce::TopK(40 + n_eog)),
        (top_p, false, Produce::Logits),
        (penalty, false, Produce::Logits),
    ];
    for (sampler, ignore_eos, needs) in cases {
        let gopts = GenerateOptions {
            sampler: sampler.clone(),
            max_tokens: 24,
            ignore_eos,
            ..GenerateOptions::default()
        };
        let want = generate(&mut cs, &tok, &prompt, &gopts, |_| true).unwrap();
        let mut gen = Generation::start(&mut gs, prompt.clone(), gopts).unwrap();
        assert_eq!(gen.produce(&tok), needs);
        let got = loop {
            if let Some(plan) = gen.next_eval(gs.n_batch()) {
                g.block_on(gs.prepare(plan, gen.produce(&tok))).unwrap();
            }
            if let Step::Finished(r) = gen.step(&mut gs, &tok).unwrap() {
                break r;
            }
        };
        assert_eq!(
            got.tokens, want.tokens,
            "{sampler:?}, ignore EOS {ignore_eos}"
        );
        assert!(
            got.tokens.len() >= 8,
            "{sampler:?}: {} tokens",
            got.tokens.len()
        );
    }
}

/// A `requestDevice` that fails (here: a feature lavapipe does not have) is a typed
/// BACKEND_UNAVAILABLE naming the cause — what `backend: 'auto'` turns into "stay on the CPU" —
/// not a panic.
#[test]
fn failed_request_device_is_a_typed_error() {
    let opts = GpuOptions {
        extra_features: wgpu::Features::TEXTURE_COMPRESSION_ASTC_HDR,
        ..GpuOptions::default()
    };
    let e = Gpu::new_blocking(&opts).unwrap_err();
    assert_eq!(e.code(), "BACKEND_UNAVAILABLE");
    assert!(e.to_string().contains("requestDevice failed"), "{e}");
}
