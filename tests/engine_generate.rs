//! The generate loop on tiny random models with a real SentencePiece vocabulary: token budget,
//! end-of-generation tokens, stop strings (across tokens, held back then released), the
//! callback stopping generation, context exhaustion and KV reuse across calls.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
mod support;

use std::sync::Arc;

use support::engine::Tiny;
use wasm_chord::engine::{Engine, EngineOptions, FinishReason, GenerateOptions, GenerateResult};
use wasm_chord::model::SessionOptions;
use wasm_chord::sampler::SamplerConfig;

fn engine(t: &Tiny, n_ctx: usize) -> Engine {
    Engine::load(
        t.gguf(),
        &EngineOptions {
            session: SessionOptions {
                n_ctx,
                n_batch: 8,
                ..SessionOptions::default()
            },
            ..EngineOptions::default()
        },
    )
    .expect("engine")
}

fn opts(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        ..GenerateOptions::default()
    }
}

/// Runs generate and records every event's (token, text).
fn run(
    e: &mut Engine,
    prompt: &[u32],
    o: &GenerateOptions,
) -> (GenerateResult, Vec<(u32, String)>) {
    let mut events = Vec::new();
    let r = e
        .generate(prompt, o, |ev| {
            events.push((ev.token, ev.text.to_owned()));
            assert_eq!(ev.n_generated, events.len());
            true
        })
        .expect("generate");
    (r, events)
}

fn prompt(e: &Engine) -> Vec<u32> {
    e.tokenize("hello world, the quick brown fox")
}

#[test]
fn max_tokens_and_streamed_text() {
    let mut e = engine(&Tiny::llama(), 128);
    let p = prompt(&e);
    assert_eq!(p[0], 1, "BOS from the metadata");
    let (r, ev) = run(&mut e, &p, &opts(12));
    assert_eq!(r.finish_reason, FinishReason::Length);
    assert_eq!(r.tokens.len(), 12);
    assert_eq!(ev.iter().map(|e| e.0).collect::<Vec<_>>(), r.tokens);
    let streamed: String = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(streamed, r.text);
    assert_eq!(r.text, e.tokenizer().decode(&r.tokens).unwrap());
    assert_eq!(r.prompt_tokens, p.len());
    assert_eq!(r.timings.prefill_tokens, p.len());
    assert_eq!(
        r.timings.decode_tokens, 11,
        "the last token is not evaluated"
    );

    // Greedy is deterministic; zero tokens is allowed.
    let mut e2 = engine(&Tiny::llama(), 128);
    assert_eq!(run(&mut e2, &p, &opts(12)).0.tokens, r.tokens);
    let (r0, ev0) = run(&mut e2, &p, &opts(0));
    assert!(r0.tokens.is_empty() && ev0.is_empty());
    assert_eq!(r0.finish_reason, FinishReason::Length);
}

#[test]
fn end_of_generation_token_stops_and_is_reported() {
    // Find what the model generates, then make the first token that is not a repeat of an
    // earlier one (after the first) the EOS id of the vocabulary.
    let t = Tiny::llama();
    let mut e = engine(&t, 128);
    let p = prompt(&e);
    let (free, _) = run(&mut e, &p, &opts(12));
    let at = (1..free.tokens.len())
        .find(|&i| !free.tokens[..i].contains(&free.tokens[i]))
        .expect("the model generates at least two distinct tokens");
    let eos = free.tokens[at];

    let t_eos = Tiny { eos, ..t };
    let mut e = engine(&t_eos, 128);
    assert!(e.tokenizer().is_eog(eos));
    let (r, ev) = run(&mut e, &p, &opts(12));
    assert_eq!(r.finish_reason, FinishReason::Eos);
    assert_eq!(
        r.tokens,
        free.tokens[..=at],
        "the EOS token is included, as llama.cpp reports"
    );
    assert_eq!(ev.len(), at + 1);

    // ignore_eos: the EOS token can no longer be generated at all.
    let o = GenerateOptions {
        ignore_eos: true,
        ..opts(8)
    };
    let (r, _) = run(&mut e, &p, &o);
    assert_eq!(r.finish_reason, FinishReason::Length);
    assert_eq!(r.tokens.len(), 8);
    assert!(!r.tokens.contains(&eos));
    assert_eq!(r.tokens[..at], free.tokens[..at]);
}

/// A token boundary inside plain ASCII text, where the stop string made of the last character
/// before it and the first after it first occurs: (index of the left token, that character,
/// the stop string, its byte offset in the text). `ev` are the events of a run without stops.
fn boundary(ev: &[(u32, String)], text: &str) -> (usize, char, String, usize) {
    let mut offset = 0;
    for i in 0..ev.len() - 1 {
        offset += ev[i].1.len();
        let (a, b) = (&ev[i].1, &ev[i + 1].1);
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if !(plain(a) && plain(b)) {
            continue;
        }
        let l = a.chars().last().unwrap();
        let stop = format!("{l}{}", b.chars().next().unwrap());
        let cut = offset - 1;
        if text.find(&stop) == Some(cut) {
            return (i, l, stop, cut);
        }
    }
    panic!("no usable token boundary in {ev:?}");
}

#[test]
fn stop_string_across_tokens() {
    let mut e = engine(&Tiny::llama(), 128);
    let p = prompt(&e);
    let (free, free_ev) = run(&mut e, &p, &opts(16));
    let (i, _, stop, cut) = boundary(&free_ev, &free.text);
    let o = GenerateOptions {
        stop: vec!["never-appears".into(), stop.clone()],
        ..opts(16)
    };
    let (r, ev) = run(&mut e, &p, &o);
    println!(
        "free text {:?}; stop {stop:?} at byte {cut}; events {ev:?}",
        free.text
    );
    assert_eq!(r.finish_reason, FinishReason::Stop);
    assert_eq!(r.stop.as_deref(), Some(stop.as_str()));
    assert_eq!(r.text, free.text[..cut]);
    assert_eq!(
        r.tokens,
        free.tokens[..=i + 1],
        "the token completing the stop is reported"
    );
    // Token i's event held its last character back, and nothing of the stop string was
    // streamed.
    assert_eq!(ev[i].1, free_ev[i].1[..free_ev[i].1.len() - 1]);
    let streamed: String = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(streamed, r.text);
}

#[test]
fn held_back_text_is_released_when_the_stop_does_not_complete() {
    let mut e = engine(&Tiny::llama(), 128);
    let p = prompt(&e);
    let (free, free_ev) = run(&mut e, &p, &opts(16));
    let (i, l, _, _) = boundary(&free_ev, &free.text);
    // Starts like the end of token i, then never matches.
    let stop = format!("{l}\u{1}\u{2}");
    let o = GenerateOptions {
        stop: vec![stop],
        ..opts(16)
    };
    let (r, ev) = run(&mut e, &p, &o);
    println!(
        "held back {l:?} at token {i}: {:?} then {:?}",
        ev[i].1,
        ev[i + 1].1
    );
    assert_eq!(r.finish_reason, FinishReason::Length);
    assert_eq!(r.text, free.text);
    assert_eq!(r.tokens, free.tokens);
    // Held at token i (the character could have started the stop string)…
    assert_eq!(ev[i].1, free_ev[i].1.strip_suffix(l).unwrap());
    // …and released with the next token.
    assert!(ev[i + 1].1.starts_with(l));
    let streamed: String = ev.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(streamed, free.text);
}

#[test]
fn callback_returning_false_aborts() {
    let mut e = engine(&Tiny::llama(), 128);
    let p = prompt(&e);
    let mut n = 0;
    let r = e
        .generate(&p, &opts(16), |_| {
            n += 1;
            n < 3
        })
        .unwrap();
    assert_eq!(r.finish_reason, FinishReason::Abort);
    assert_eq!(r.tokens.len(), 3);
    assert_eq!(n, 3);
}

#[test]
fn context_limits() {
    let mut e = engine(&Tiny::llama(), 16);
    let p = prompt(&e);
    assert!(p.len() < 16);
    // Generation stops when the cache is full: n_ctx − prompt tokens can be evaluated, plus the
    // last sampled one.
    let (r, _) = run(&mut e, &p, &opts(100));
    assert_eq!(r.finish_reason, FinishReason::ContextFull);
    assert_eq!(r.tokens.len(), 16 - p.len() + 1);
    assert_eq!(e.session().n_past(), 16);

    // A prompt that does not fit is an error.
    let long: Vec<u32> = (0..17).map(|i| 100 + i).collect();
    let err = e.generate(&long, &opts(1), |_| true).unwrap_err();
    assert_eq!(err.code(), "CONTEXT_OVERFLOW");
    let err = e.generate(&[], &opts(1), |_| true).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION");
}

#[test]
fn kv_cache_is_reused_when_the_prompt_extends_the_previous_one() {
    for t in [Tiny::llama(), Tiny::gemma3()] {
        let mut e = engine(&t, 128);
        let p1 = prompt(&e);
        let (r1, _) = run(&mut e, &p1, &opts(6));
        // A chat-like continuation: previous prompt + reply + a new message.
        let mut p2 = p1.clone();
        p2.extend_from_slice(&r1.tokens);
        p2.extend(e.tokenize(" and then"));
        let (r2, _) = run(&mut e, &p2, &opts(10));
        // Everything evaluated before is reused (the last reply token was never evaluated).
        assert_eq!(
            r2.reused_tokens,
            p1.len() + r1.tokens.len() - 1,
            "{}",
            t.arch
        );
        assert_eq!(r2.timings.prefill_tokens, p2.len() - r2.reused_tokens);

        let mut fresh = engine(&t, 128);
        let (f2, _) = run(&mut fresh, &p2, &opts(10));
        assert_eq!(f2.reused_tokens, 0);
        assert_eq!(r2.tokens, f2.tokens, "{}", t.arch);
        assert_eq!(r2.text, f2.text);

        // Same logits, bit for bit, as a fresh evaluation.
        let a = e.session().logits().to_vec();
        let b = fresh.session().logits().to_vec();
        assert_eq!(a, b, "{}", t.arch);

        // A prompt that diverges early reuses only the common prefix — unless a sliding-window
        // ring has already overwritten what position 2 needs (gemma3: window 8, 15 slots, 30
        // positions evaluated): then everything is evaluated again.
        let mut p3 = p1.clone();
        p3[2] = p3[2] % 500 + 9;
        let (r3, _) = run(&mut e, &p3, &opts(2));
        let expect = if t.window.is_some() { 0 } else { 2 };
        assert_eq!(r3.reused_tokens, expect, "{}", t.arch);
        let mut fresh = engine(&t, 128);
        assert_eq!(run(&mut fresh, &p3, &opts(2)).0.tokens, r3.tokens);
        // The same prompt again reuses all but its last token.
        let (r4, _) = run(&mut e, &p3, &opts(2));
        assert_eq!(r4.reused_tokens, p3.len() - 1);
        assert_eq!(r4.tokens, r3.tokens);
    }
}

#[test]
fn sampling_is_seeded() {
    let t = Tiny::llama();
    let mut e = engine(&t, 128);
    let p = prompt(&e);
    let o = |seed| GenerateOptions {
        sampler: SamplerConfig {
            temperature: 1.5,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.01,
            repeat_penalty: 1.1,
            seed,
            ..SamplerConfig::default()
        },
        ..opts(12)
    };
    let a = run(&mut e, &p, &o(7)).0.tokens;
    let b = run(&mut e, &p, &o(7)).0.tokens;
    let c = run(&mut e, &p, &o(8)).0.tokens;
    assert_eq!(a, b);
    assert_ne!(a, c);
    let bad = GenerateOptions {
        sampler: SamplerConfig {
            top_p: 0.0,
            ..SamplerConfig::default()
        },
        ..opts(4)
    };
    assert_eq!(
        e.generate(&p, &bad, |_| true).unwrap_err().code(),
        "INVALID_OPTION"
    );
}

#[test]
fn engine_parts_are_shared() {
    let e = engine(&Tiny::gemma3(), 64);
    let m = Arc::clone(e.model());
    let tok = Arc::clone(e.tokenizer());
    let mut e2 = Engine::from_parts(m, tok, &SessionOptions::default()).unwrap();
    let p = prompt(&e2);
    let (r, _) = run(&mut e2, &p, &opts(3));
    assert_eq!(r.tokens.len(), 3);
}
