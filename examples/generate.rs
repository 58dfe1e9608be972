//! Generates text from a GGUF model natively and reports the speed.
//!
//!     cargo run --release --example generate -- MODEL.gguf "prompt" [-n 32] [options]
//!
//! Greedy unless a sampling flag is given (then the temperature defaults to llama.cpp's 0.8):
//!   --temp T  --top-k K  --top-p P  --min-p P  --repeat-penalty R  --repeat-last-n N
//!   --presence-penalty X  --frequency-penalty X  --seed S
//! Other options:
//!   --stop TEXT (repeatable)  --ignore-eos  --ctx N (KV cache size)  --batch N (prefill chunk)
//!   --json  print one JSON object on the last line: prompt_tokens, tokens, text, prefill_tok_s,
//!           decode_tok_s (end-of-generation tokens included in `tokens`, as llama.cpp reports)
//!
//! The prompt is tokenized as llama.cpp does by default: BOS per the metadata, special-token
//! text parsed. Errors print `error [CODE]: message` and exit with status 1.

use std::io::Write;
use std::process::ExitCode;

use wasm_chord::engine::{Engine, EngineOptions, GenerateOptions};
use wasm_chord::gguf::LoadedGguf;
use wasm_chord::sampler::SamplerConfig;

struct Args {
    model: String,
    prompt: String,
    opts: GenerateOptions,
    engine: EngineOptions,
    json: bool,
}

const USAGE: &str = "usage: generate MODEL.gguf \"prompt\" [-n N] [--temp T] [--top-k K] [--top-p P] \
[--min-p P] [--repeat-penalty R] [--repeat-last-n N] [--presence-penalty X] [--frequency-penalty X] \
[--seed S] [--stop TEXT]... [--ignore-eos] [--ctx N] [--batch N] [--json]";

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut opts = GenerateOptions {
        max_tokens: 32,
        ..GenerateOptions::default()
    };
    let mut sampler = SamplerConfig::default();
    let mut temp: Option<f32> = None;
    let mut sampling = false;
    let mut engine = EngineOptions::default();
    let mut json = false;
    let mut it = args.iter();
    fn val<'a, T: std::str::FromStr>(
        it: &mut impl Iterator<Item = &'a String>,
        flag: &str,
    ) -> Result<T, String> {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        v.parse()
            .map_err(|_| format!("bad value for {flag}: {v:?}"))
    }
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" | "--n-predict" => opts.max_tokens = val(&mut it, a)?,
            "--temp" => temp = Some(val(&mut it, a)?),
            "--top-k" => {
                sampler.top_k = val(&mut it, a)?;
                sampling = true;
            }
            "--top-p" => {
                sampler.top_p = val(&mut it, a)?;
                sampling = true;
            }
            "--min-p" => {
                sampler.min_p = val(&mut it, a)?;
                sampling = true;
            }
            "--repeat-penalty" => sampler.repeat_penalty = val(&mut it, a)?,
            "--repeat-last-n" => sampler.repeat_last_n = val(&mut it, a)?,
            "--presence-penalty" => sampler.presence_penalty = val(&mut it, a)?,
            "--frequency-penalty" => sampler.frequency_penalty = val(&mut it, a)?,
            "--seed" => {
                sampler.seed = val(&mut it, a)?;
                sampling = true;
            }
            "--stop" => opts.stop.push(val(&mut it, a)?),
            "--ignore-eos" => opts.ignore_eos = true,
            "--ctx" | "-c" => engine.session.n_ctx = val(&mut it, a)?,
            "--batch" | "-b" => engine.session.n_batch = val(&mut it, a)?,
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => positional.push(a.clone()),
        }
    }
    sampler.temperature = match (temp, sampling) {
        (Some(t), _) => t,
        (None, true) => 0.8,
        (None, false) => 0.0,
    };
    opts.sampler = sampler;
    let mut p = positional.into_iter();
    let model = p.next().ok_or("missing MODEL.gguf")?;
    let prompt = p.next().ok_or("missing prompt")?;
    if let Some(extra) = p.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    Ok(Args {
        model,
        prompt,
        opts,
        engine,
        json,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&args) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("{msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("error [{code}]: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), (String, String)> {
    let io = |e: std::io::Error| ("IO".to_string(), format!("{}: {e}", args.model));
    let wc = |e: wasm_chord::Error| (e.code().to_string(), e.to_string());
    let t0 = std::time::Instant::now();
    let bytes = std::fs::read(&args.model).map_err(io)?;
    let gguf = LoadedGguf::from_bytes(bytes).map_err(wc)?;
    let mut engine = Engine::load(gguf, &args.engine).map_err(wc)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let prompt = engine.tokenize(&args.prompt);
    eprintln!(
        "loaded in {load_ms:.0} ms; {} prompt tokens; context {}; KV cache {:.1} MB; kernels: {}",
        prompt.len(),
        engine.session().n_ctx(),
        engine.session().kv_bytes() as f64 / 1e6,
        wasm_chord::cpu::BACKEND
    );

    let stdout = std::io::stdout();
    let json = args.json;
    if !json {
        print!("{}", args.prompt);
    }
    let res = engine
        .generate(&prompt, &args.opts, |ev| {
            if !json {
                let mut out = stdout.lock();
                let _ = out.write_all(ev.text.as_bytes());
                let _ = out.flush();
            }
            true
        })
        .map_err(wc)?;
    if !json {
        println!();
    }
    let t = &res.timings;
    eprintln!(
        "prefill: {} tokens in {:.0} ms ({:.2} tok/s); decode: {} tokens in {:.0} ms ({:.2} tok/s); finish: {}",
        t.prefill_tokens,
        t.prefill_ms,
        t.prefill_tok_s(),
        t.decode_tokens,
        t.decode_ms,
        t.decode_tok_s(),
        res.finish_reason.as_str()
    );
    if json {
        let ids = |v: &[u32]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "{{\"prompt_tokens\": [{}], \"tokens\": [{}], \"text\": {}, \"finish_reason\": \"{}\", \"prefill_tok_s\": {:.3}, \"decode_tok_s\": {:.3}}}",
            ids(&prompt),
            ids(&res.tokens),
            json_string(&res.text),
            res.finish_reason.as_str(),
            t.prefill_tok_s(),
            t.decode_tok_s()
        );
    }
    Ok(())
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
