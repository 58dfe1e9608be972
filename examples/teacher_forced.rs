//! Teacher-forced top-1 of a llama.cpp fixture, natively, as JSON (for
//! `scripts/compare-top1.mjs`, which sets these side by side with the wasm build and llama.cpp).
//!
//!     cargo run --release --example teacher_forced -- MODEL.gguf FIXTURE.json [--gpu] [--perturb TENSOR]
//!         [--kv f16|f32] [--top-logits]
//!
//! For every fixture case it evaluates the prompt plus the fixture's greedy tokens from an empty
//! cache and prints, per position, `[top-1 id, top-1 − top-2 logit]` (the gap is `null` on the
//! GPU, which reads back only the argmax).
//! * `--gpu`: the WebGPU forward pass (wgpu on Vulkan natively, e.g. Mesa's lavapipe) instead of
//!   the CPU path (which natively runs the scalar reference kernels).
//! * `--kv`: the KV cache type (default the session default, f16; the fixtures used f32).
//! * `--top-logits`: per position, our logits at the fixture's top ids (in the fixture's order)
//!   instead of `[top-1, gap]` (for scripts/oracle/spread.mjs; CPU only).
//! * `--perturb TENSOR`: flips the lowest mantissa bit of every value of that F32 tensor (a
//!   change of one unit in the last place) before loading, to see how far the model's top-1
//!   moves under the smallest possible change of one input.

use std::process::ExitCode;
#[cfg(not(target_arch = "wasm32"))]
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value;
#[cfg(not(target_arch = "wasm32"))]
use wasm_chord::engine::{Produce, Produced};
use wasm_chord::gguf::LoadedGguf;
#[cfg(not(target_arch = "wasm32"))]
use wasm_chord::gpu::{Gpu, GpuOptions, GpuSession};
use wasm_chord::model::{KvType, Model, ModelOptions, Session, SessionOptions};
use wasm_chord::quant::GgmlType;
use wasm_chord::sampler::argmax;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ids(v: &Value) -> Result<Vec<u32>, String> {
    v.as_array()
        .ok_or("expected an array of token ids")?
        .iter()
        .map(|t| {
            t.as_u64()
                .map(|t| t as u32)
                .ok_or_else(|| "bad token id".into())
        })
        .collect()
}

fn perturb(g: LoadedGguf, name: &str) -> Result<LoadedGguf, String> {
    let t = g.tensor(name).ok_or(format!("no tensor {name}"))?;
    if t.info.ty != GgmlType::F32 {
        return Err(format!("{name} is {}, not F32", t.info.ty.name()));
    }
    let off = t.bytes.as_ptr() as usize - g.shard_bytes(0).as_ptr() as usize;
    let len = t.bytes.len();
    let (_, mut bytes) = g.into_parts();
    for c in bytes[off..off + len].chunks_exact_mut(4) {
        c[0] ^= 1;
    }
    LoadedGguf::from_bytes(bytes).map_err(|e| e.to_string())
}

/// The greedy next token at every position of `tokens`, on the WebGPU forward pass.
#[cfg(not(target_arch = "wasm32"))]
fn gpu_argmax_all(
    model: &Arc<Model>,
    opts: &SessionOptions,
    tokens: &[u32],
) -> Result<Vec<u32>, String> {
    let g = Rc::new(Gpu::new_blocking(&GpuOptions::default()).map_err(|e| e.to_string())?);
    let mut s =
        GpuSession::new(Rc::clone(&g), Arc::clone(model), opts).map_err(|e| e.to_string())?;
    match g
        .block_on(s.eval(tokens, Produce::GreedyEvery))
        .map_err(|e| e.to_string())?
    {
        Produced::Tokens(t) => Ok(t),
        other => Err(format!("unexpected GPU result {other:?}")),
    }
}

/// (Examples are compiled for wasm32 too, by `wasm-pack test`; blocking on the GPU is native-only.)
#[cfg(target_arch = "wasm32")]
fn gpu_argmax_all(_: &Arc<Model>, _: &SessionOptions, _: &[u32]) -> Result<Vec<u32>, String> {
    Err("--gpu runs natively only".into())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, fixture_path, ..] = args.as_slice() else {
        return Err(
            "usage: teacher_forced MODEL.gguf FIXTURE.json [--gpu] [--perturb TENSOR]".into(),
        );
    };
    let gpu = args.iter().any(|a| a == "--gpu");
    let top_logits = args.iter().any(|a| a == "--top-logits");
    let kv_type = match args.iter().position(|a| a == "--kv") {
        None => KvType::default(),
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some("f16") => KvType::F16,
            Some("f32") => KvType::F32,
            other => return Err(format!("--kv f16|f32, not {other:?}")),
        },
    };
    let bytes = std::fs::read(model_path).map_err(|e| format!("{model_path}: {e}"))?;
    let mut gguf = LoadedGguf::from_bytes(bytes).map_err(|e| e.to_string())?;
    if let Some(i) = args.iter().position(|a| a == "--perturb") {
        gguf = perturb(
            gguf,
            args.get(i + 1).ok_or("--perturb needs a tensor name")?,
        )?;
    }
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_path).map_err(|e| format!("{fixture_path}: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let model = Arc::new(Model::load(gguf, &ModelOptions::default()).map_err(|e| e.to_string())?);
    let opts = SessionOptions {
        n_ctx: fixture["n_ctx"].as_u64().ok_or("fixture without n_ctx")? as usize,
        kv_type,
        ..SessionOptions::default()
    };
    let n_vocab = model.config().n_vocab;
    let mut out = Vec::new();
    for case in fixture["cases"].as_array().ok_or("fixture without cases")? {
        let prompt = ids(&case["prompt_tokens"])?;
        let steps = case["steps"].as_array().ok_or("case without steps")?.len();
        let forced = ids(&case["greedy_tokens"])?;
        let forced = forced
            .get(..steps - 1)
            .ok_or("fewer greedy tokens than steps")?;
        let row: Vec<String> = if gpu {
            let all: Vec<u32> = prompt.iter().chain(forced).copied().collect();
            let top = gpu_argmax_all(&model, &opts, &all)?;
            top[top.len() - steps..]
                .iter()
                .map(|t| format!("[{t},null]"))
                .collect()
        } else {
            let mut s = Session::new(Arc::clone(&model), &opts).map_err(|e| e.to_string())?;
            let mut logits = s.prefill(&prompt).map_err(|e| e.to_string())?.to_vec();
            logits.extend_from_slice(s.prefill_logits_all(forced).map_err(|e| e.to_string())?);
            let per_step = logits.chunks_exact(n_vocab);
            if top_logits {
                let steps = case["steps"].as_array().ok_or("case without steps")?;
                per_step
                    .zip(steps)
                    .map(|(l, step)| top_ids_logits(l, step))
                    .collect::<Result<_, _>>()?
            } else {
                per_step.map(top_and_gap).collect()
            }
        };
        out.push(format!("[{}]", row.join(",")));
    }
    println!("[{}]", out.join(","));
    Ok(())
}

/// `[top-1 id, top-1 − top-2 logit]` of one position.
fn top_and_gap(l: &[f32]) -> String {
    let top = argmax(l).unwrap_or(u32::MAX);
    let second = l
        .iter()
        .enumerate()
        .filter(|&(i, _)| i as u32 != top)
        .fold(f32::NEG_INFINITY, |m, (_, &v)| m.max(v));
    format!("[{top},{}]", l[top as usize] - second)
}

/// Our logits at the ids of a fixture step's top list, in its order.
fn top_ids_logits(l: &[f32], step: &Value) -> Result<String, String> {
    let top = step["top"].as_array().ok_or("step without top")?;
    let vals: Vec<String> = top
        .iter()
        .map(|pair| {
            let id = pair[0].as_u64().ok_or("bad top id")? as usize;
            l.get(id)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("top id {id} out of vocab"))
        })
        .collect::<Result<_, String>>()?;
    Ok(format!("[{}]", vals.join(",")))
}
