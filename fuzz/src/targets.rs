//! The fuzz target bodies, shared by the cargo-fuzz binaries (fuzz_targets/*.rs) and the
//! regression replay in the main crate's tests (tests/fuzz_regressions.rs). Each takes raw
//! bytes, drives one entry point the way a hostile file or caller could, and asserts what
//! must hold besides "no panic": agreeing parsers, ids in range, typed errors.
//!
//! Resource bounds come from the runner: `npm run fuzz` passes libFuzzer `-malloc_limit_mb`
//! (no single allocation above it), `-rss_limit_mb` and `-timeout`.

#![allow(dead_code)]

use std::sync::OnceLock;

use wasm_chord::chat_template::{self, ChatRequest};
use wasm_chord::engine::{Engine, EngineOptions, GenerateOptions};
use wasm_chord::gguf::{GgufFile, GgufStream, LoadedGguf};
use wasm_chord::model::SessionOptions;
use wasm_chord::sampler::{Sampler, SamplerConfig};
use wasm_chord::tokenizer::Tokenizer;
use wasm_chord::Error;

/// An error must carry a stable code and say something.
fn typed(e: &Error) {
    assert!(!e.code().is_empty() && !e.to_string().is_empty(), "{e:?}");
}

/// The header parsed three ways: whole, streamed with the length known (same outcome, same
/// error code) and streamed without it (same success or failure). The first byte picks the
/// chunk sizes.
pub fn gguf_stream(data: &[u8]) {
    let Some((&seed, file)) = data.split_first() else {
        return;
    };
    let whole = GgufFile::parse(file).map(|f| f.header().tensors.len());
    let mut chunk = 1 + usize::from(seed % 61);
    let stream = |len: Option<u64>, chunk: &mut usize| -> Result<usize, Error> {
        let mut s = GgufStream::new(len);
        let mut at = 0;
        while at < file.len() {
            let n = (*chunk).min(file.len() - at);
            s.push(&file[at..at + n])?;
            at += n;
            // Vary the chunking: 1..=61 bytes, then growing.
            *chunk = (*chunk * 7 + 3) % 257 + 1;
        }
        s.finish().map(|g| g.header().tensors.len())
    };
    let known = stream(Some(file.len() as u64), &mut chunk);
    match (&whole, &known) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => {
            typed(a);
            assert_eq!(a.code(), b.code(), "{a} / {b}");
        }
        _ => panic!("parse {whole:?} but stream {known:?}"),
    }
    let unknown = stream(None, &mut chunk);
    assert_eq!(whole.is_ok(), unknown.is_ok(), "{whole:?} / {unknown:?}");
}

/// The whole load of a file: tensor table, model config, tokenizer, graph, a small session;
/// when it loads, a few greedy tokens and a tokenization.
pub fn model_load(data: &[u8]) {
    let g = match LoadedGguf::from_bytes(data.to_vec()) {
        Ok(g) => g,
        Err(e) => return typed(&e),
    };
    let opts = EngineOptions {
        session: SessionOptions {
            n_ctx: 32,
            n_batch: 8,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut engine = match Engine::load(g, &opts) {
        Ok(e) => e,
        Err(e) => return typed(&e),
    };
    let n_vocab = engine.tokenizer().n_vocab();
    let prompt = engine.tokenizer().encode("hello world", true, false);
    assert!(prompt.iter().all(|&t| (t as usize) < n_vocab));
    let gen = GenerateOptions {
        max_tokens: 3,
        ..Default::default()
    };
    match engine.generate(&prompt, &gen, |_| true) {
        Ok(r) => assert!(r.tokens.iter().all(|&t| (t as usize) < n_vocab)),
        Err(e) => typed(&e),
    }
}

const TOKENIZER_FILES: [&[u8]; 9] = [
    include_bytes!("../../tests/fixtures/tokenizer/spm.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/spm-phi3.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-default.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-gpt2.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-gpt4o.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-jina-lstrip.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-llama3.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-qwen2.gguf"),
    include_bytes!("../../tests/fixtures/tokenizer/bpe-smollm.gguf"),
];

fn tokenizers() -> &'static [Tokenizer] {
    static T: OnceLock<Vec<Tokenizer>> = OnceLock::new();
    T.get_or_init(|| {
        TOKENIZER_FILES
            .iter()
            .map(|b| {
                let g = LoadedGguf::from_bytes(b.to_vec()).expect("fixture parses");
                Tokenizer::from_metadata(g.metadata()).expect("fixture tokenizer")
            })
            .collect()
    })
}

/// Encode arbitrary text (bit 0 of the flags) or decode arbitrary ids, with one of the
/// fixture vocabularies (SPM and the BPE pre-tokenizers).
pub fn tokenizer(data: &[u8]) {
    let [which, flags, rest @ ..] = data else {
        return;
    };
    let toks = tokenizers();
    let tok = &toks[usize::from(*which) % toks.len()];
    let n_vocab = tok.n_vocab();
    if flags & 1 == 0 {
        let text = String::from_utf8_lossy(rest);
        let ids = tok.encode(&text, flags & 2 != 0, flags & 4 != 0);
        assert!(ids.iter().all(|&t| (t as usize) < n_vocab));
        // Not compared with the text: llama.cpp's clean-up of spaces before punctuation
        // (llama3, gpt2) and SPM's space prefix make detokenize(encode(t)) != t legitimately;
        // tests/tokenizer_*.rs check the exact outputs against llama.cpp.
        tok.detokenize(&ids, false, flags & 4 != 0)
            .expect("ids from encode decode");
    } else {
        // Ids mostly in range, some past it (a typed error).
        let ids: Vec<u32> = rest
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) % (n_vocab as u32 + 4))
            .collect();
        let in_range = ids.iter().all(|&t| (t as usize) < n_vocab);
        match tok.detokenize(&ids, flags & 2 != 0, flags & 4 != 0) {
            Ok(_) => assert!(in_range),
            Err(e) => {
                assert!(!in_range, "{e}");
                assert_eq!(e.code(), "INVALID_TOKEN");
            }
        }
    }
}

/// A little-endian reader that yields zeros past the end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.take())
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
}

/// Sampler settings and logits (NaN, ±∞ and subnormals included) from the bytes: a setting
/// `validate` accepts must sample an id in range, or fail typed.
pub fn sampler(data: &[u8]) {
    let mut b = Bytes(data);
    let cfg = SamplerConfig {
        temperature: b.f32(),
        top_k: usize::from(b.u16()),
        top_p: b.f32(),
        min_p: b.f32(),
        repeat_penalty: b.f32(),
        presence_penalty: b.f32(),
        frequency_penalty: b.f32(),
        repeat_last_n: usize::from(b.take::<1>()[0]),
        seed: u64::from_le_bytes(b.take()),
    };
    let history: Vec<u32> = b.take::<8>().iter().map(|&x| u32::from(x)).collect();
    let mut logits: Vec<f32> =
        b.0.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
    if cfg.validate().is_err() {
        assert!(Sampler::new(cfg).is_err());
        return;
    }
    let mut s = match Sampler::new(cfg) {
        Ok(s) => s,
        Err(e) => return typed(&e),
    };
    for t in history {
        s.accept(t);
    }
    let n = logits.len();
    for _ in 0..3 {
        match s.sample(&mut logits) {
            Ok(id) => {
                assert!((id as usize) < n, "{id} of {n}");
                s.accept(id);
            }
            Err(e) => typed(&e),
        }
    }
}

/// A template (up to the first NUL) rendered with messages from the rest (split at 0x01,
/// alternating user / assistant): the output or a CHAT_TEMPLATE_ERROR / INVALID_OPTION.
pub fn chat_template(data: &[u8]) {
    let (tmpl, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let tmpl = String::from_utf8_lossy(tmpl);
    let texts: Vec<String> = rest
        .split(|&b| b == 1)
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let roles = ["user", "assistant"];
    let req = ChatRequest::from_pairs(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (roles[i % 2], t.as_str())),
    );
    match chat_template::render(&tmpl, &req, "<s>", "</s>") {
        Ok(out) => assert!(out.len() <= chat_template::output_limit(&req)),
        Err(e) => assert!(
            matches!(e.code(), "CHAT_TEMPLATE_ERROR" | "INVALID_OPTION"),
            "{e:?}"
        ),
    }
}
