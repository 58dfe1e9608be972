//! Well-formed files whose numbers are absurd: every one is a typed error naming the key and
//! its value, raised before anything is sized by that number. The whole load (tokenizer,
//! model, session) runs under a counting allocator; a buffer sized by 2^31 or 2^40 would
//! blow the bound below by orders of magnitude, and a valid load of the same model stays
//! inside it (so the bound is not vacuous).

#![cfg(not(target_arch = "wasm32"))]

#[path = "support/alloc_counter.rs"]
mod alloc_counter;
#[macro_use]
mod support;

use alloc_counter::peak_alloc;
use support::engine::{remove_kv as remove, set_kv as set, Tiny};
use wasm_chord::engine::{Engine, EngineOptions};
use wasm_chord::gguf::{Array, GgufWriter, LoadedGguf, StringArray, Value};
use wasm_chord::tokenizer::Tokenizer;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

/// Far below any allocation an absurd value would cause, above a valid tiny load.
const BOUND: usize = 32 << 20;

/// Loads the edited file through the engine (tokenizer, model, session); the error and the
/// peak allocation of the load.
fn load_err(edit: impl FnOnce(&mut GgufWriter)) -> (wasm_chord::Error, usize) {
    let mut w = Tiny::llama().writer();
    edit(&mut w);
    let g = LoadedGguf::from_bytes(w.to_bytes()).expect("edited file parses");
    let (r, peak) = peak_alloc(|| Engine::load(g, &EngineOptions::default()).map(|_| ()));
    (r.expect_err("absurd file must not load"), peak)
}

fn check(
    what: &str,
    edit: impl FnOnce(&mut GgufWriter),
    code: &str,
    needles: &[&str],
) -> wasm_chord::Error {
    let (e, peak) = load_err(edit);
    let msg = e.to_string();
    assert_eq!(e.code(), code, "{what}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{what}: message lacks {n:?}: {msg}");
    }
    assert!(
        peak < BOUND,
        "{what}: {peak} bytes allocated before the error"
    );
    e
}

#[test]
fn the_valid_tiny_model_loads_within_the_bound() {
    let g = Tiny::llama().gguf();
    let (r, peak) = peak_alloc(|| Engine::load(g, &EngineOptions::default()).map(|_| ()));
    r.expect("valid model loads");
    assert!(peak < BOUND, "{peak}");
    assert!(
        peak > 64 << 10,
        "the counter sees the load's allocations ({peak})"
    );
}

#[test]
fn absurd_dimensions_are_typed_errors_naming_key_and_value() {
    let u = |v: u64| Value::from(v);
    let cases: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "n_embd 2^31",
            "llama.embedding_length",
            u(1 << 31),
            &["llama.embedding_length", "2147483648"],
        ),
        (
            "n_embd 2^40",
            "llama.embedding_length",
            u(1 << 40),
            &["llama.embedding_length", "1099511627776", "too large"],
        ),
        (
            "n_ff 2^31",
            "llama.feed_forward_length",
            u(1 << 31),
            &["llama.feed_forward_length", "2147483648"],
        ),
        (
            "context 2^40",
            "llama.context_length",
            u(1 << 40),
            &["llama.context_length", "1099511627776"],
        ),
        (
            "layers 2^31",
            "llama.block_count",
            u(1 << 31),
            &["llama.block_count", "2147483648", "more layers than"],
        ),
        (
            "layers 10^6",
            "llama.block_count",
            u(1_000_000),
            &["llama.block_count", "1000000"],
        ),
        (
            "head_dim 0",
            "llama.attention.key_length",
            u(0),
            &["llama.attention.key_length", "at least 1"],
        ),
        (
            "head_dim 2^31",
            "llama.attention.key_length",
            u(1 << 31),
            &["llama.attention.key_length", "2147483648"],
        ),
        (
            "value head 2^30",
            "llama.attention.value_length",
            u(1 << 30),
            &["llama.attention.value_length", "1073741824"],
        ),
        (
            "kv heads not dividing",
            "llama.attention.head_count_kv",
            u(3),
            &["llama.attention.head_count_kv", "3", "divide"],
        ),
        (
            "more kv heads than heads",
            "llama.attention.head_count_kv",
            u(8),
            &["llama.attention.head_count_kv", "8", "more key/value heads"],
        ),
        (
            "kv heads 0",
            "llama.attention.head_count_kv",
            u(0),
            &["llama.attention.head_count_kv"],
        ),
        (
            "heads 2^31",
            "llama.attention.head_count",
            u(1 << 31),
            &["llama.attention.head_count"],
        ),
        (
            "odd rotary dims",
            "llama.rope.dimension_count",
            u(7),
            &["llama.rope.dimension_count", "7"],
        ),
        (
            "rotary dims above the head",
            "llama.rope.dimension_count",
            u(1 << 20),
            &["llama.rope.dimension_count", "1048576"],
        ),
        (
            "original context 2^40",
            "llama.rope.scaling.original_context_length",
            u(1 << 40),
            &["llama.rope.scaling.original_context_length"],
        ),
        (
            "experts",
            "llama.expert_count",
            u(1 << 20),
            &["llama.expert_count"],
        ),
    ];
    for (what, key, v, needles) in cases {
        let code = if what == "experts" {
            "UNSUPPORTED_MODEL_FEATURE"
        } else {
            "BAD_MODEL_CONFIG"
        };
        check(what, |w| set(w, key, v), code, needles);
    }
}

#[test]
fn float_hyperparameters_must_be_finite_and_positive() {
    for (key, v) in [
        ("llama.attention.layer_norm_rms_epsilon", f32::NAN),
        ("llama.attention.layer_norm_rms_epsilon", -1.0),
        ("llama.rope.freq_base", 0.0),
        ("llama.rope.freq_base", f32::INFINITY),
        ("llama.rope.scaling.attn_factor", -2.0),
    ] {
        check(
            key,
            |w| set(w, key, Value::from(v)),
            "BAD_MODEL_CONFIG",
            &[key],
        );
    }
}

#[test]
fn more_heads_than_embedding_without_a_head_size_names_the_head_count() {
    check(
        "n_head > n_embd",
        |w| {
            remove(w, "llama.attention.key_length");
            remove(w, "llama.attention.value_length");
            set(w, "llama.attention.head_count", Value::from(1000u32));
            set(w, "llama.attention.head_count_kv", Value::from(1000u32));
        },
        "BAD_MODEL_CONFIG",
        &["llama.attention.head_count", "1000", "embedding_length"],
    );
}

#[test]
fn a_layer_count_beyond_the_tensors_names_the_missing_tensor() {
    check(
        "block_count 3 of 2",
        |w| set(w, "llama.block_count", Value::from(3u32)),
        "MISSING_TENSOR",
        &["blk.2."],
    );
}

fn vocab_len() -> usize {
    Tiny::llama().n_vocab()
}

#[test]
fn a_vocabulary_inconsistent_with_its_arrays_or_tensors_is_typed() {
    let n = vocab_len();
    check(
        "scores shorter than tokens",
        |w| {
            set(
                w,
                "tokenizer.ggml.scores",
                Value::array(Array::F32(vec![0.0; n - 1])),
            )
        },
        "TOKENIZER_INVALID_VOCAB",
        &["tokenizer.ggml.scores"],
    );
    // llama.cpp reads the first n types and ignores special ids past the vocabulary (keeping
    // the model's default id), so these load, with the same outcome.
    for (key, v) in [
        (
            "tokenizer.ggml.token_type",
            Value::array(Array::I32(vec![1; n + 5])),
        ),
        ("tokenizer.ggml.bos_token_id", Value::from(4_000_000_000u32)),
        ("tokenizer.ggml.eos_token_id", Value::from(u64::MAX)),
        ("tokenizer.ggml.unknown_token_id", Value::from(n as u32)),
    ] {
        let mut w = Tiny::llama().writer();
        set(&mut w, key, v);
        let g = LoadedGguf::from_bytes(w.to_bytes()).unwrap();
        let (tok, peak) = peak_alloc(|| Tokenizer::from_metadata(g.metadata()));
        let tok = tok.unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(peak < BOUND);
        let spm_default = (Some(1), Some(2));
        let expected = match key {
            "tokenizer.ggml.bos_token_id" => {
                (spm_default.0, Some(support::synthetic_models::TOKEN_EOS))
            }
            "tokenizer.ggml.eos_token_id" => {
                (Some(support::synthetic_models::TOKEN_BOS), spm_default.1)
            }
            _ => (
                Some(support::synthetic_models::TOKEN_BOS),
                Some(support::synthetic_models::TOKEN_EOS),
            ),
        };
        assert_eq!((tok.bos(), tok.eos()), expected, "{key}");
    }
    // Fewer tokens than the embedding has rows: ids would index past the arrays.
    check(
        "tokens shorter than token_embd",
        |w| {
            let mut sa = StringArray::new();
            for i in 0..n - 3 {
                sa.push(&format!("t{i}"));
            }
            set(w, "tokenizer.ggml.tokens", Value::array(Array::String(sa)));
            set(
                w,
                "tokenizer.ggml.scores",
                Value::array(Array::F32(vec![0.0; n - 3])),
            );
            set(
                w,
                "tokenizer.ggml.token_type",
                Value::array(Array::I32(vec![1; n - 3])),
            );
            remove(w, "tokenizer.ggml.bos_token_id");
            remove(w, "tokenizer.ggml.eos_token_id");
            remove(w, "tokenizer.ggml.unknown_token_id");
            set(w, "tokenizer.ggml.add_bos_token", Value::from(false));
        },
        "TENSOR_SHAPE",
        &["token_embd.weight"],
    );
}

#[test]
fn an_empty_vocabulary_is_typed() {
    let e = check(
        "no tokens",
        |w| {
            set(
                w,
                "tokenizer.ggml.tokens",
                Value::array(Array::String(StringArray::new())),
            );
            set(w, "tokenizer.ggml.scores", Value::array(Array::F32(vec![])));
            set(
                w,
                "tokenizer.ggml.token_type",
                Value::array(Array::I32(vec![])),
            );
        },
        "TOKENIZER_INVALID_VOCAB",
        &[],
    );
    assert!(e.to_string().contains("tokenizer.ggml.tokens"), "{e}");
}

#[test]
fn an_embedding_with_no_rows_is_refused_by_the_reader() {
    // n_vocab 0 from the tensor's shape: the reader refuses zero dimensions, naming the tensor.
    let mut w = Tiny::llama().writer();
    let t = w
        .tensors
        .iter_mut()
        .find(|t| t.name.as_slice() == b"token_embd.weight")
        .unwrap();
    t.dims = vec![64, 0];
    t.data = vec![];
    let bytes = w.to_bytes();
    let (r, peak) = peak_alloc(|| LoadedGguf::from_bytes(bytes).map(|_| ()));
    let e = r.expect_err("zero rows");
    assert!(peak < BOUND);
    assert_eq!(e.code(), "GGUF_ZERO_DIM", "{e}");
    assert!(e.to_string().contains("token_embd.weight"), "{e}");
}

/// GPT-2 BPE metadata: the byte alphabet, a few merged tokens and the given merges.
fn bpe_meta(merges: &[&str]) -> LoadedGguf {
    let mut tokens: Vec<String> = (0..=255u8)
        .map(|b| wasm_chord_byte_char(b).to_string())
        .collect();
    for t in ["he", "ll", "hell", "hello"] {
        tokens.push(t.into());
    }
    let n = tokens.len();
    let mut w = GgufWriter::new();
    w.kv("general.architecture", "llama");
    w.kv("tokenizer.ggml.model", "gpt2");
    w.kv("tokenizer.ggml.pre", "default");
    w.kv("tokenizer.ggml.tokens", Value::array(Array::from(tokens)));
    w.kv(
        "tokenizer.ggml.token_type",
        Value::array(Array::I32(vec![1; n])),
    );
    let m: Vec<String> = merges.iter().map(|s| s.to_string()).collect();
    w.kv("tokenizer.ggml.merges", Value::array(Array::from(m)));
    LoadedGguf::from_bytes(w.to_bytes()).unwrap()
}

/// GPT-2's printable code point for a byte (printable ASCII and Latin-1 map to themselves,
/// the rest to 256 + k in order).
fn wasm_chord_byte_char(b: u8) -> char {
    let printable = |c: u8| (b'!'..=b'~').contains(&c) || (0xA1..=0xAC).contains(&c) || c >= 0xAE;
    if printable(b) {
        return b as char;
    }
    let k = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(256 + k).unwrap()
}

#[test]
fn merges_naming_unknown_tokens_load_and_still_round_trip() {
    // llama.cpp keeps such merges as strings; a merged symbol missing from the vocabulary
    // falls back to its bytes. "q x" and "zz yy" name nothing in the vocabulary, "hello x"
    // merges into a string that is not a token, and one line has no separator.
    let g = bpe_meta(&[
        "h e", "l l", "he ll", "hell o", "q x", "zz yy", "hello x", "nospace",
    ]);
    let tok = Tokenizer::from_metadata(g.metadata()).expect("loads as llama.cpp does");
    for text in ["hello", "hellox", "qx zzyy", "nospace", "héllo wörld"] {
        let ids = tok.encode(text, false, false);
        assert_eq!(tok.decode(&ids).unwrap(), text, "{text}: {ids:?}");
    }
    assert_eq!(tok.encode("hello", false, false).len(), 1);
}
