//! Unit tests of the internals; conformance with llama.cpp is in tests/tokenizer_conformance.rs.

use super::special::Fragment;
use super::*;
use crate::error::Error;
use crate::gguf::{Array, Metadata, MetadataEntry, Value};

fn meta(entries: Vec<(&str, Value)>) -> Metadata {
    Metadata::from_entries(
        entries
            .into_iter()
            .map(|(k, v)| MetadataEntry {
                key: k.to_owned(),
                value: v,
            })
            .collect(),
    )
    .unwrap()
}

/// A small SentencePiece vocabulary: <unk> <s> </s>, all bytes, a few pieces and specials.
fn spm_meta(extra: Vec<(&str, Value)>) -> Metadata {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    for (t, ty) in [
        ("▁", 1),
        ("a", 1),
        ("b", 1),
        ("ab", 1),
        ("▁a", 1),
        ("▁ab", 1),
        ("<x>", 3),
        ("<xy>", 4),
        ("y>", 4),
        ("<end_of_turn>", 3),
    ] {
        tokens.push(t.into());
        types.push(ty);
    }
    let scores: Vec<f32> = (0..tokens.len()).map(|i| -(i as f32)).collect();
    let mut e = vec![
        ("tokenizer.ggml.model", Value::from("llama")),
        ("tokenizer.ggml.tokens", Value::array(Array::from(tokens))),
        ("tokenizer.ggml.scores", Value::array(Array::from(scores))),
        (
            "tokenizer.ggml.token_type",
            Value::array(Array::from(types)),
        ),
    ];
    e.extend(extra);
    meta(e)
}

#[test]
fn spm_basics() {
    let tok = Tokenizer::from_metadata(&spm_meta(vec![])).unwrap();
    assert_eq!(tok.kind(), Kind::Spm);
    assert_eq!(tok.bos(), Some(1));
    assert_eq!(tok.eos(), Some(2));
    // <end_of_turn> is detected as EOT and is end-of-generation, as is EOS.
    let eot = tok.token_id("<end_of_turn>").unwrap();
    assert_eq!(tok.eot(), Some(eot));
    assert!(tok.is_eog(eot) && tok.is_eog(2) && !tok.is_eog(1));
    let ab = tok.token_id("▁ab").unwrap();
    assert_eq!(tok.encode("ab", false, false), [ab]);
    assert_eq!(tok.encode("ab", true, false), [1, ab]);
    // "c" has no piece: byte fallback.
    assert_eq!(
        tok.encode("c", false, false),
        [tok.token_id("▁").unwrap(), 3 + 0x63]
    );
    assert_eq!(tok.decode(&[1, ab]).unwrap(), " ab");
    assert_eq!(tok.decode(&[ab]).unwrap(), "ab");
    assert_eq!(tok.detokenize(&[1, ab], true, false).unwrap(), " ab");
    assert_eq!(tok.detokenize(&[1, ab], false, true).unwrap(), "<s> ab");
    assert!(matches!(
        tok.decode(&[9999]),
        Err(Error::InvalidToken { token: 9999, .. })
    ));
    assert_eq!(tok.encode("", true, true), [1]);
    assert!(tok.encode("", false, true).is_empty());
}

#[test]
fn special_text_parsing() {
    let tok = Tokenizer::from_metadata(&spm_meta(vec![])).unwrap();
    let x = tok.token_id("<x>").unwrap();
    let xy = tok.token_id("<xy>").unwrap();
    // Control token only with parse_special; user-defined always.
    assert!(tok.encode("a<x>", false, true).contains(&x));
    assert!(!tok.encode("a<x>", false, false).contains(&x));
    assert!(tok.encode("a<xy>", false, false).contains(&xy));
}

#[test]
fn unknown_model_and_pre_are_errors() {
    let m = meta(vec![("tokenizer.ggml.model", Value::from("t5"))]);
    assert_eq!(
        Tokenizer::from_metadata(&m).unwrap_err(),
        Error::UnsupportedTokenizer { model: "t5".into() }
    );
    let m = meta(vec![
        ("tokenizer.ggml.model", Value::from("gpt2")),
        ("tokenizer.ggml.pre", Value::from("no-such-pre")),
    ]);
    let e = Tokenizer::from_metadata(&m).unwrap_err();
    assert_eq!(e.code(), "TOKENIZER_UNSUPPORTED");
}

/// A tiny xorshift generator: deterministic tests without dependencies (also on wasm).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// llama.cpp's partition, literally, over every special token.
fn reference_partition(tok: &Tokenizer, text: &str, parse_special: bool) -> Vec<Fragment> {
    let all: Vec<u32> = (0..tok.specials.ids().len() as u32)
        .filter(|&r| {
            let id = tok.specials.ids()[r as usize];
            parse_special
                || !tok
                    .vocab
                    .attr(id)
                    .intersects(TokenAttr::CONTROL | TokenAttr::UNKNOWN)
        })
        .collect();
    if text.is_empty() {
        return Vec::new();
    }
    tok.specials.partition_literal(&tok.vocab, text, &all)
}

#[test]
fn partition_paths_agree_with_llama_cpp_algorithm() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let pieces = [
        "a", "b", "ab", "aba", "ba", " ", "  ", "\n", "x", "<", ">", "<a>", "é",
    ];
    for round in 0..300 {
        // A random special vocabulary over a small alphabet, with nesting and overlaps.
        let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
        let mut types = vec![2, 3, 3];
        let n_special = 1 + rng.below(8);
        for _ in 0..n_special {
            let len = 1 + rng.below(4);
            let t: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            if !tokens.contains(&t) {
                tokens.push(t);
                types.push(if rng.below(2) == 0 { 3 } else { 4 });
            }
        }
        let m = meta(vec![
            ("tokenizer.ggml.model", Value::from("llama")),
            (
                "tokenizer.ggml.tokens",
                Value::array(Array::from(tokens.clone())),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::array(Array::from(types)),
            ),
        ]);
        let mut tok = Tokenizer::from_metadata(&m).unwrap();
        // Random strip attributes (llama.cpp sets them by model name).
        for id in 0..tok.n_vocab() as u32 {
            if rng.below(3) == 0 {
                tok.vocab.attrs[id as usize] |= TokenAttr::LSTRIP;
            }
            if rng.below(3) == 0 {
                tok.vocab.attrs[id as usize] |= TokenAttr::RSTRIP;
            }
        }
        for _ in 0..20 {
            let len = rng.below(16);
            let text: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            for parse in [false, true] {
                let want = reference_partition(&tok, &text, parse);
                let replay = tok
                    .specials
                    .partition_with(&tok.vocab, &text, parse, Some(false));
                let literal = tok
                    .specials
                    .partition_with(&tok.vocab, &text, parse, Some(true));
                assert_eq!(
                    replay, want,
                    "round {round} text {text:?} tokens {tokens:?} parse {parse}"
                );
                assert_eq!(
                    literal, want,
                    "round {round} text {text:?} tokens {tokens:?} parse {parse}"
                );
            }
        }
    }
}

#[test]
fn stream_decoder_equals_detokenize() {
    let tok = Tokenizer::from_metadata(&spm_meta(vec![])).unwrap();
    let mut rng = Rng(42);
    let n = tok.n_vocab();
    for _ in 0..500 {
        let ids: Vec<u32> = (0..rng.below(12)).map(|_| rng.below(n) as u32).collect();
        for unparse in [false, true] {
            let mut d = tok.stream_decoder(unparse);
            let mut s = String::new();
            for &id in &ids {
                s += &d.push(id).unwrap();
            }
            s += &d.finish();
            assert_eq!(s, tok.detokenize(&ids, false, unparse).unwrap(), "{ids:?}");
        }
    }
}
