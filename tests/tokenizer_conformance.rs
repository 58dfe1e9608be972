//! Tokenizer conformance with llama.cpp.
//!
//! The fixtures in tests/fixtures/tokenizer/*.json hold llama.cpp's answers (node-llama-cpp
//! 3.21.1's prebuilt build; scripts/oracle/make_tokenizer_fixtures.mjs) for the synthetic
//! vocabularies next to them and for the real Gemma 3 file: tokenization of ~80 strings with
//! and without special-token parsing and BOS, a 100 KB prompt (by digest), detokenization
//! with all flag combinations, token attributes, end-of-generation ids and every token's piece.
//!
//! The synthetic vocabularies are embedded and run natively and in the wasm build under Node
//! (`wasm-pack test --node --mode no-install -- --test tokenizer_conformance`); the Gemma tests
//! read the model file and run natively only. Without the model they fail and say how to
//! get it (`npm run fetch-model`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod support;
#[cfg(not(target_arch = "wasm32"))]
use support::gemma_path;
use support::{json, vocabs};

use json::{Json, JsonExt};
use wasm_chord::gguf::{GgufFile, Metadata, MetadataEntry, Value};
use wasm_chord::tokenizer::{Kind, PreRegex, TokenAttr, Tokenizer};
use wasm_chord::Error;

const SPM: &[u8] = include_bytes!("fixtures/tokenizer/spm.gguf");
const SPM_PHI3: &[u8] = include_bytes!("fixtures/tokenizer/spm-phi3.gguf");
const BPE_LLAMA3: &[u8] = include_bytes!("fixtures/tokenizer/bpe-llama3.gguf");
const BPE_GPT2: &[u8] = include_bytes!("fixtures/tokenizer/bpe-gpt2.gguf");
const BPE_QWEN2: &[u8] = include_bytes!("fixtures/tokenizer/bpe-qwen2.gguf");
const BPE_DEFAULT: &[u8] = include_bytes!("fixtures/tokenizer/bpe-default.gguf");
const BPE_SMOLLM: &[u8] = include_bytes!("fixtures/tokenizer/bpe-smollm.gguf");
const BPE_GPT4O: &[u8] = include_bytes!("fixtures/tokenizer/bpe-gpt4o.gguf");
const BPE_JINA: &[u8] = include_bytes!("fixtures/tokenizer/bpe-jina-lstrip.gguf");

const SPM_JSON: &str = include_str!("fixtures/tokenizer/spm.json");
const SPM_PHI3_JSON: &str = include_str!("fixtures/tokenizer/spm-phi3.json");
const BPE_LLAMA3_JSON: &str = include_str!("fixtures/tokenizer/bpe-llama3.json");
const BPE_GPT2_JSON: &str = include_str!("fixtures/tokenizer/bpe-gpt2.json");
const BPE_QWEN2_JSON: &str = include_str!("fixtures/tokenizer/bpe-qwen2.json");
const BPE_DEFAULT_JSON: &str = include_str!("fixtures/tokenizer/bpe-default.json");
const BPE_SMOLLM_JSON: &str = include_str!("fixtures/tokenizer/bpe-smollm.json");
const BPE_GPT4O_JSON: &str = include_str!("fixtures/tokenizer/bpe-gpt4o.json");
const BPE_JINA_JSON: &str = include_str!("fixtures/tokenizer/bpe-jina-lstrip.json");

fn metadata(gguf: &[u8]) -> Metadata {
    GgufFile::parse(gguf)
        .expect("fixture GGUF parses")
        .metadata()
        .clone()
}

fn load(gguf: &[u8]) -> Tokenizer {
    Tokenizer::from_metadata(&metadata(gguf)).expect("tokenizer builds")
}

fn fnv1a64(bytes: impl IntoIterator<Item = u8>) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn ids_digest(ids: &[u32]) -> String {
    fnv1a64(ids.iter().flat_map(|id| id.to_le_bytes()))
}

/// The fixtures' long prompt: the inputs joined by "\n", repeated to at least `bytes` bytes.
fn long_prompt(fx: &Json) -> String {
    let inputs: Vec<&str> = fx["tokenize"]
        .arr()
        .iter()
        .map(|c| c["text"].str())
        .collect();
    let base = inputs.join("\n");
    let want = fx["long_prompt"]["bytes"].u64() as usize;
    let reps = want.div_ceil(base.len().max(1));
    let long = base.repeat(reps);
    assert_eq!(long.len(), want, "long prompt construction");
    long
}

/// The (add_special, parse_special) or (remove_special, unparse_special) flag pairs, in the
/// fixtures' order.
const FLAGS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

/// A recorder of mismatches: `expect(ok, what)`.
type Expect<'a> = dyn FnMut(bool, String) + 'a;

/// Compares everything a fixture records; returns the mismatches.
fn check(tok: &Tokenizer, fx: &Json) -> Vec<String> {
    let mut bad = Vec::new();
    let name = fx["model"].str().to_owned();
    let mut expect = |ok: bool, msg: String| {
        if !ok {
            bad.push(format!("{name}: {msg}"));
        }
    };
    check_vocab(tok, &fx["vocab"], &mut expect);
    check_encode(tok, fx, &mut expect);
    check_detokenize(tok, fx, &mut expect);
    bad
}

/// Vocabulary-level facts: size, kind, special ids, flags, attributes, every piece.
fn check_vocab(tok: &Tokenizer, v: &Json, expect: &mut Expect<'_>) {
    let n = v["n_tokens"].u64() as usize;
    expect(
        tok.n_vocab() == n,
        format!("n_vocab {} vs {n}", tok.n_vocab()),
    );
    let kind = match v["type"].str() {
        "spm" => Kind::Spm,
        _ => Kind::Bpe,
    };
    expect(tok.kind() == kind, format!("kind {:?}", tok.kind()));
    let sp = tok.special_tokens();
    for (what, ours, theirs) in [
        ("bos", sp.bos, v["bos"].opt_u32()),
        ("eos", sp.eos, v["eos"].opt_u32()),
        ("eot", sp.eot, v["eot"].opt_u32()),
        ("sep", sp.sep, v["sep"].opt_u32()),
        ("nl", sp.nl, v["nl"].opt_u32()),
        ("pad", sp.pad, v["pad"].opt_u32()),
    ] {
        expect(
            ours == theirs,
            format!("{what} {ours:?} vs llama.cpp {theirs:?}"),
        );
    }
    expect(tok.add_bos() == v["add_bos"].bool(), "add_bos".into());
    expect(tok.add_eos() == v["add_eos"].bool(), "add_eos".into());
    expect(
        tok.eog_ids() == v["eog"].ids(),
        format!("eog {:?} vs {:?}", tok.eog_ids(), v["eog"].ids()),
    );
    for run in v["attr_runs"].arr() {
        let r = run.ids();
        for id in r[0]..r[0] + r[1] {
            let ours = tok.token_attr(id).map(TokenAttr::bits);
            expect(
                ours == Some(r[2]),
                format!("attr of {id} {ours:?} vs {}", r[2]),
            );
        }
    }
    let digest = |special: bool| {
        fnv1a64((0..n as u32).flat_map(|id| {
            let p = tok.token_to_piece(id, special).unwrap_or_default();
            let mut b = (p.len() as u32).to_le_bytes().to_vec();
            b.extend(p);
            b
        }))
    };
    let d = &v["pieces_digest"];
    expect(
        digest(false) == d["plain"].str(),
        "digest of all pieces (special = false)".into(),
    );
    expect(
        digest(true) == d["special"].str(),
        "digest of all pieces (special = true)".into(),
    );
    for p in v["pieces"].arr() {
        let p = p.arr();
        let id = p[0].u32();
        for (k, special) in [(1, false), (2, true)] {
            let ours = tok.token_to_piece(id, special).unwrap_or_default();
            let theirs = p[k].bytes();
            expect(
                ours == theirs,
                format!("piece({id}, {special}) {ours:?} vs {theirs:?}"),
            );
        }
    }
}

/// Tokenization of the inputs, the long prompt and the stress inputs.
fn check_encode(tok: &Tokenizer, fx: &Json, expect: &mut Expect<'_>) {
    let flags = FLAGS;
    for case in fx["tokenize"].arr() {
        let text = case["text"].str();
        for (k, &(add, parse)) in flags.iter().enumerate() {
            let want = case["ids"].arr()[k].ids();
            let got = tok.encode(text, add, parse);
            expect(
                got == want,
                format!("encode({text:?}, add_special={add}, parse_special={parse}):\n  ours      {got:?}\n  llama.cpp {want:?}"),
            );
        }
    }
    let long = long_prompt(fx);
    let lp = &fx["long_prompt"];
    for (k, &(add, parse)) in flags.iter().enumerate() {
        let got = tok.encode(&long, add, parse);
        expect(
            got.len() as u64 == lp["counts"].arr()[k].u64()
                && ids_digest(&got) == lp["digests"].arr()[k].str(),
            format!("long prompt ({add}, {parse}): {} ids", got.len()),
        );
    }

    // Stress inputs, where llama.cpp survived them (it overflows its stack on 100 KB of digits
    // with the "default" pre-tokenizer).
    for st in fx["stress"].arr() {
        if st["counts"].is_null() {
            continue;
        }
        let unit = st["unit"].str();
        let text = unit.repeat(st["repeat"].u64() as usize);
        for (k, &(add, parse)) in flags.iter().enumerate() {
            let got = tok.encode(&text, add, parse);
            expect(
                got.len() as u64 == st["counts"].arr()[k].u64()
                    && ids_digest(&got) == st["digests"].arr()[k].str(),
                format!(
                    "stress {unit:?} x {} ({add}, {parse}): {} ids",
                    st["repeat"].u64(),
                    got.len()
                ),
            );
        }
    }
}

/// Detokenization, whole and streamed.
fn check_detokenize(tok: &Tokenizer, fx: &Json, expect: &mut Expect<'_>) {
    let flags = FLAGS;
    for case in fx["detokenize"].arr() {
        let ids = case["ids"].ids();
        for (k, &(remove, unparse)) in flags.iter().enumerate() {
            let want = case["out"].arr()[k].bytes();
            let got = tok
                .detokenize_bytes(&ids, remove, unparse)
                .unwrap_or_default();
            expect(
                got == want,
                format!(
                    "detokenize({ids:?}, remove_special={remove}, unparse_special={unparse}):\n  ours      {:?}\n  llama.cpp {:?}",
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                ),
            );
            if !remove {
                let mut dec = tok.stream_decoder(unparse);
                let mut streamed = String::new();
                for &id in &ids {
                    streamed += &dec.push(id).unwrap_or_default();
                }
                streamed += &dec.finish();
                expect(
                    streamed == String::from_utf8_lossy(&want),
                    format!("stream decode of {ids:?} ({unparse}): {streamed:?}"),
                );
            }
        }
    }
}

fn assert_conforms(gguf: &[u8], fixture: &str) {
    let tok = load(gguf);
    let fx = json::parse(fixture);
    let cases = fx["tokenize"].arr().len();
    assert!(cases >= 50, "only {cases} tokenization cases");
    let bad = check(&tok, &fx);
    assert!(
        bad.is_empty(),
        "{} mismatches with llama.cpp, first ones:\n{}",
        bad.len(),
        bad.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn synthetic_spm_matches_llama_cpp() {
    assert_conforms(SPM, SPM_JSON);
}

#[test]
fn synthetic_spm_phi3_strip_rules_match_llama_cpp() {
    let tok = load(SPM_PHI3);
    let sot = tok.token_id("<start_of_turn>").unwrap();
    assert!(tok.token_attr(sot).unwrap().contains(TokenAttr::RSTRIP));
    assert_conforms(SPM_PHI3, SPM_PHI3_JSON);
}

#[test]
fn synthetic_bpe_llama3_matches_llama_cpp() {
    assert_conforms(BPE_LLAMA3, BPE_LLAMA3_JSON);
}

#[test]
fn synthetic_bpe_gpt2_matches_llama_cpp() {
    assert_conforms(BPE_GPT2, BPE_GPT2_JSON);
}

#[test]
fn synthetic_bpe_qwen2_matches_llama_cpp() {
    assert_conforms(BPE_QWEN2, BPE_QWEN2_JSON);
}

#[test]
fn synthetic_bpe_default_matches_llama_cpp() {
    assert_conforms(BPE_DEFAULT, BPE_DEFAULT_JSON);
}

/// SmolLM's pre-tokenizer: every digit alone, then the GPT-2 expression; no space cleaning.
#[test]
fn synthetic_bpe_smollm_matches_llama_cpp() {
    assert_conforms(BPE_SMOLLM, BPE_SMOLLM_JSON);
}

/// GPT-4o's expression (Phi-4-mini), which llama.cpp runs through std::regex on collapsed text:
/// letter runs split at case changes (every non-ASCII letter counting as both cases), digits
/// in threes, symbols with trailing `[\r\n/]*`; no space cleaning.
#[test]
fn synthetic_bpe_gpt4o_matches_llama_cpp() {
    assert_conforms(BPE_GPT4O, BPE_GPT4O_JSON);
}

#[test]
fn synthetic_bpe_jina_lstrip_rule_matches_llama_cpp() {
    let tok = load(BPE_JINA);
    let mask = tok.token_id("<mask>").unwrap();
    assert!(tok.token_attr(mask).unwrap().contains(TokenAttr::LSTRIP));
    assert_conforms(BPE_JINA, BPE_JINA_JSON);
}

#[test]
fn synthetic_fixtures_are_reproducible() {
    let committed: [(&str, &[u8]); 9] = [
        ("spm.gguf", SPM),
        ("spm-phi3.gguf", SPM_PHI3),
        ("bpe-llama3.gguf", BPE_LLAMA3),
        ("bpe-gpt2.gguf", BPE_GPT2),
        ("bpe-qwen2.gguf", BPE_QWEN2),
        ("bpe-default.gguf", BPE_DEFAULT),
        ("bpe-smollm.gguf", BPE_SMOLLM),
        ("bpe-gpt4o.gguf", BPE_GPT4O),
        ("bpe-jina-lstrip.gguf", BPE_JINA),
    ];
    let built = vocabs::all();
    assert_eq!(built.len(), committed.len());
    for ((name, bytes), (cname, cbytes)) in built.iter().zip(committed) {
        assert_eq!(*name, cname);
        assert!(
            bytes.as_slice() == cbytes,
            "{name} differs from what tests/support/vocabs.rs builds: rerun `cargo test --test fixture_writers -- --ignored tokenizer_vocabs` and `node scripts/oracle/make_tokenizer_fixtures.mjs`"
        );
    }
}

#[test]
fn pre_tokenizers_are_selected_by_name() {
    assert_eq!(load(SPM).pre_tokenizer(), None);
    assert_eq!(load(BPE_LLAMA3).pre_tokenizer(), Some(PreRegex::Llama3));
    assert_eq!(load(BPE_GPT2).pre_tokenizer(), Some(PreRegex::Gpt2));
    assert_eq!(load(BPE_QWEN2).pre_tokenizer(), Some(PreRegex::Qwen2));
    assert_eq!(load(BPE_DEFAULT).pre_tokenizer(), Some(PreRegex::Default));
}

/// DeepSeek-R1-Distill-Qwen's files say `deepseek-r1-qwen`, which llama.cpp handles in the very
/// branch that handles `qwen2` (llama-vocab.cpp: same pre-type, `clean_spaces` false): the
/// Qwen2 vocabulary under that name must give llama.cpp's Qwen2 tokens for every fixture input.
#[test]
fn deepseek_r1_qwen_tokenizes_as_llama_cpp_qwen2() {
    let m = edit(BPE_QWEN2, |e| {
        set(e, "tokenizer.ggml.pre", Value::from("deepseek-r1-qwen"))
    });
    let tok = Tokenizer::from_metadata(&m).expect("deepseek-r1-qwen loads");
    assert_eq!(tok.pre_tokenizer(), Some(PreRegex::Qwen2));
    let fx = json::parse(BPE_QWEN2_JSON);
    let bad = check(&tok, &fx);
    assert!(
        bad.is_empty(),
        "{} mismatches: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

// ---- streaming -------------------------------------------------------------------------

/// Pushes ids one by one; returns each push's output and the final flush.
fn stream(tok: &Tokenizer, ids: &[u32]) -> (Vec<String>, String) {
    let mut d = tok.stream_decoder(false);
    let outs = ids
        .iter()
        .map(|&id| d.push(id).expect("valid id"))
        .collect();
    (outs, d.finish())
}

#[test]
fn stream_holds_partial_utf8_from_spm_byte_tokens() {
    let tok = load(SPM);
    let byte = |b: u8| tok.token_id(&format!("<0x{b:02X}>")).expect("byte token");
    // "€" = E2 82 AC, "😀" = F0 9F 98 80: nothing until the character is complete.
    let ids: Vec<u32> = "€😀".bytes().map(byte).collect();
    let (outs, rest) = stream(&tok, &ids);
    assert_eq!(outs, ["", "", "€", "", "", "", "😀"]);
    assert_eq!(rest, "");
    // A character cut off at the end becomes U+FFFD only when the stream is finished.
    let (outs, rest) = stream(&tok, &[byte(b'a'), byte(0xE2), byte(0x82)]);
    assert_eq!(outs, ["a", "", ""]);
    assert_eq!(rest, "\u{FFFD}");
    // An invalid byte is replaced at once, and never merged with what follows.
    let (outs, rest) = stream(&tok, &[byte(0xFF), byte(b'b')]);
    assert_eq!(outs, ["\u{FFFD}", "b"]);
    assert_eq!(rest, "");
}

#[test]
fn stream_holds_partial_utf8_from_bpe_byte_tokens() {
    let tok = load(BPE_QWEN2);
    let byte = |b: u8| {
        tok.token_id(&vocabs::gpt2_byte_char(b).to_string())
            .expect("byte-level token")
    };
    let ids: Vec<u32> = "日本".bytes().map(byte).collect();
    let (outs, rest) = stream(&tok, &ids);
    assert_eq!(outs, ["", "", "日", "", "", "本"]);
    assert_eq!(rest, "");
}

#[test]
fn stream_applies_bpe_space_cleanup_like_detokenize() {
    // llama-bpe cleans " ," → ",", " 's" → "'s": the decoder holds a trailing space until it
    // knows whether it survives, so nothing it emits is ever taken back.
    let tok = load(BPE_LLAMA3);
    let ids = tok.encode("Hello , world 's end .", false, false);
    let whole = tok.decode(&ids).unwrap();
    assert_eq!(whole, "Hello, world's end.");
    let mut d = tok.stream_decoder(false);
    let mut acc = String::new();
    for &id in &ids {
        acc += &d.push(id).unwrap();
        assert!(
            whole.starts_with(&acc),
            "emitted {acc:?}, not a prefix of {whole:?}"
        );
    }
    acc += &d.finish();
    assert_eq!(acc, whole);
}

#[test]
fn stream_matches_detokenize_on_random_ids() {
    for gguf in [
        SPM,
        SPM_PHI3,
        BPE_LLAMA3,
        BPE_GPT2,
        BPE_QWEN2,
        BPE_DEFAULT,
        BPE_JINA,
    ] {
        let tok = load(gguf);
        let n = tok.n_vocab() as u64;
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..300 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = (s % 24) as usize;
            let ids: Vec<u32> = (0..len)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s % n) as u32
                })
                .collect();
            for unparse in [false, true] {
                let mut d = tok.stream_decoder(unparse);
                let mut out = String::new();
                for &id in &ids {
                    out += &d.push(id).unwrap();
                }
                out += &d.finish();
                assert_eq!(
                    out,
                    tok.detokenize(&ids, false, unparse).unwrap(),
                    "{ids:?}"
                );
            }
        }
    }
}

// ---- errors ------------------------------------------------------------------------------

fn edit(gguf: &[u8], f: impl Fn(&mut Vec<MetadataEntry>)) -> Metadata {
    let mut entries = metadata(gguf).entries().to_vec();
    f(&mut entries);
    Metadata::from_entries(entries).unwrap()
}

fn set(entries: &mut [MetadataEntry], key: &str, value: Value) {
    entries
        .iter_mut()
        .find(|e| e.key == key)
        .expect("key")
        .value = value;
}

#[test]
fn unknown_pre_tokenizer_is_an_error() {
    let m = edit(BPE_LLAMA3, |e| {
        set(e, "tokenizer.ggml.pre", Value::from("no-such-pre"))
    });
    let err = Tokenizer::from_metadata(&m).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownPreTokenizer { pre, .. } if pre == "no-such-pre"),
        "{err:?}"
    );
    assert_eq!(err.code(), "TOKENIZER_UNSUPPORTED");
    assert!(err.to_string().contains("llama-bpe"), "{err}");
    // Pre-tokenizers llama.cpp knows but we do not implement are errors too, not a fallback.
    let m = edit(BPE_LLAMA3, |e| {
        set(e, "tokenizer.ggml.pre", Value::from("deepseek-coder"))
    });
    assert_eq!(
        Tokenizer::from_metadata(&m).unwrap_err().code(),
        "TOKENIZER_UNSUPPORTED"
    );
}

#[test]
fn missing_keys_are_typed_errors() {
    for (gguf, key) in [
        (SPM, "tokenizer.ggml.tokens"),
        (SPM, "tokenizer.ggml.model"),
        (BPE_GPT2, "tokenizer.ggml.tokens"),
        (BPE_GPT2, "tokenizer.ggml.merges"),
    ] {
        let m = edit(gguf, |e| e.retain(|x| x.key != key));
        let err = Tokenizer::from_metadata(&m).unwrap_err();
        assert_eq!(err, Error::MissingKey { key: key.into() });
        assert_eq!(err.code(), "GGUF_MISSING_KEY");
    }
}

#[test]
fn bad_vocabularies_are_typed_errors() {
    let m = edit(SPM, |e| set(e, "tokenizer.ggml.model", Value::from("bert")));
    assert_eq!(
        Tokenizer::from_metadata(&m).unwrap_err(),
        Error::UnsupportedTokenizer {
            model: "bert".into()
        }
    );
    let m = edit(SPM, |e| {
        set(
            e,
            "tokenizer.ggml.token_type",
            Value::array(vec![1.0f32; 2000]),
        )
    });
    assert!(matches!(
        Tokenizer::from_metadata(&m),
        Err(Error::WrongValueType { .. })
    ));
    let m = edit(SPM, |e| {
        set(e, "tokenizer.ggml.scores", Value::array(vec![0.0f32; 3]))
    });
    assert_eq!(
        Tokenizer::from_metadata(&m).unwrap_err().code(),
        "TOKENIZER_INVALID_VOCAB"
    );
    let m = edit(SPM, |e| {
        set(
            e,
            "tokenizer.ggml.tokens",
            Value::array(vec!["a", "b", "a"]),
        )
    });
    let err = Tokenizer::from_metadata(&m).unwrap_err();
    assert_eq!(err.code(), "TOKENIZER_INVALID_VOCAB", "{err}");
    let m = edit(SPM, |e| set(e, "tokenizer.ggml.tokens", Value::from(7u32)));
    assert!(matches!(
        Tokenizer::from_metadata(&m),
        Err(Error::WrongValueType { .. })
    ));
}

#[test]
fn out_of_range_ids_are_errors_not_panics() {
    let tok = load(SPM);
    let n = tok.n_vocab() as u32;
    let err = tok.decode(&[1, n]).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidToken {
            token: n,
            n_vocab: n as usize
        }
    );
    assert!(tok.token_to_piece(u32::MAX, true).is_err());
    assert!(tok.stream_decoder(false).push(n + 5).is_err());
}

#[test]
fn arbitrary_text_never_panics() {
    let toks: Vec<Tokenizer> = [SPM, SPM_PHI3, BPE_LLAMA3, BPE_GPT2, BPE_QWEN2, BPE_DEFAULT]
        .map(load)
        .into();
    let pool: Vec<char> =
        "a Z9 \t\n\r'’.,!?<>|/_-▁Ġ€日本😀\u{0}\u{301}\u{85}\u{3000}\u{200b}\u{FFFD}"
            .chars()
            .chain(
                [
                    "<s>",
                    "</s>",
                    "<start_of_turn>",
                    "<|eot_id|>",
                    "<tool>",
                    "New York",
                ]
                .concat()
                .chars(),
            )
            .collect();
    let mut s = 0x9E37_79B9u64;
    for _ in 0..400 {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = (s >> 58) as usize;
        let text: String = (0..len)
            .map(|i| pool[((s >> (i % 40)) as usize ^ i.wrapping_mul(31)) % pool.len()])
            .collect();
        for tok in &toks {
            for (add, parse) in [(false, false), (false, true), (true, false), (true, true)] {
                let ids = tok.encode(&text, add, parse);
                assert!(ids.iter().all(|&id| (id as usize) < tok.n_vocab()));
                let _ = tok.decode(&ids).unwrap();
            }
        }
    }
}

// ---- speed -------------------------------------------------------------------------------

fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

/// Tokenizing ~100 KB must take well under a second (the bound is generous: it is there to
/// catch quadratic behaviour, which would take minutes).
fn assert_fast(tok: &Tokenizer, what: &str, text: &str) -> Vec<u32> {
    let t0 = now_ms();
    let ids = tok.encode(text, true, true);
    let ms = now_ms() - t0;
    let line = format!(
        "{what}: {} bytes -> {} ids in {ms:.1} ms",
        text.len(),
        ids.len()
    );
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{line}");
    assert!(ms < 2000.0, "{what}: {} bytes took {ms:.0} ms", text.len());
    ids
}

/// The fixture's long prompt and its stress inputs (one 100 KB word, long runs of newlines
/// against nested special tokens, …), built to hit the worst cases.
fn stress_texts(fx: &Json) -> Vec<(String, String)> {
    let mut v = vec![("fixture long prompt".to_owned(), long_prompt(fx))];
    for st in fx["stress"].arr() {
        let unit = st["unit"].str();
        let n = st["repeat"].u64() as usize;
        v.push((format!("{unit:?} x {n}"), unit.repeat(n)));
    }
    v
}

#[test]
fn long_prompts_are_linear_spm() {
    let tok = load(SPM);
    for (what, text) in stress_texts(&json::parse(SPM_JSON)) {
        assert_fast(&tok, &what, &text);
    }
}

#[test]
fn long_prompts_are_linear_bpe() {
    for (gguf, fx) in [
        (BPE_LLAMA3, BPE_LLAMA3_JSON),
        (BPE_DEFAULT, BPE_DEFAULT_JSON),
    ] {
        let tok = load(gguf);
        for (what, text) in stress_texts(&json::parse(fx)) {
            assert_fast(&tok, &what, &text);
        }
    }
}

// ---- the real model (native only) ---------------------------------------------------------

#[cfg(not(target_arch = "wasm32"))]
mod gemma {
    use super::*;
    use std::io::Read;
    use std::sync::OnceLock;
    use wasm_chord::gguf::{GgufHeader, Parsed};

    const GEMMA_JSON: &str = include_str!("fixtures/tokenizer/gemma-3-270m.json");

    use super::gemma_path::gemma_path as model_path;

    /// The tokenizer from the model's metadata: only the header is read.
    pub(super) fn tokenizer() -> &'static Tokenizer {
        static TOK: OnceLock<Tokenizer> = OnceLock::new();
        TOK.get_or_init(|| {
            let path = model_path();
            let mut f =
                std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let len = f.metadata().unwrap().len();
            let mut buf = Vec::new();
            let mut want = 8u64 << 20;
            loop {
                let have = buf.len() as u64;
                (&mut f)
                    .take(want.saturating_sub(have))
                    .read_to_end(&mut buf)
                    .unwrap();
                match GgufHeader::parse(&buf, Some(len)).expect("Gemma header parses") {
                    Parsed::Complete(h) => {
                        let t0 = now_ms();
                        let tok = Tokenizer::from_metadata(&h.metadata).expect("Gemma tokenizer");
                        eprintln!("Gemma tokenizer built in {:.1} ms", now_ms() - t0);
                        return tok;
                    }
                    Parsed::NeedMore { at_least } => want = at_least.max(want * 2),
                }
            }
        })
    }

    #[test]
    fn gemma_matches_llama_cpp() {
        let fx = json::parse(GEMMA_JSON);
        let tok = tokenizer();
        assert_eq!(tok.kind(), Kind::Spm);
        assert_eq!(tok.n_vocab(), 262_144);
        assert!(!tok.add_space_prefix());
        let bad = check(tok, &fx);
        assert!(
            bad.is_empty(),
            "{} mismatches with llama.cpp, first ones:\n{}",
            bad.len(),
            bad.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
        );
    }

    #[test]
    fn gemma_known_prompt() {
        let tok = tokenizer();
        // From llama.cpp (see the fixture): BOS, then the text; <start_of_turn> = 105.
        let ids = tok.encode("Hello world <start_of_turn>user", true, true);
        assert_eq!(ids, [2, 9259, 1902, 236743, 105, 2364]);
        assert_eq!(
            tok.detokenize(&ids, false, true).unwrap(),
            "<bos>Hello world <start_of_turn>user"
        );
    }

    #[test]
    fn gemma_roundtrips_plain_text() {
        let tok = tokenizer();
        let fx = json::parse(GEMMA_JSON);
        for case in fx["tokenize"].arr() {
            let text = case["text"].str();
            let ids = tok.encode(text, false, false);
            // SentencePiece cannot tell a literal U+2581 from an escaped space.
            let want = text.replace('\u{2581}', " ");
            assert_eq!(tok.decode(&ids).unwrap(), want, "{ids:?}");
        }
    }

    #[test]
    fn gemma_long_prompts_are_linear() {
        let tok = tokenizer();
        for (what, text) in stress_texts(&json::parse(GEMMA_JSON)) {
            assert_fast(tok, &what, &text);
        }
    }
}
