//! Synthetic tokenizer vocabularies, built deterministically from a small corpus and written
//! as vocab-only GGUF files (`general.architecture = llama`, no tensors) with our GgufWriter.
//!
//! Used by tests/fixture_writers.rs (`tokenizer_vocabs` writes them to
//! tests/fixtures/tokenizer/, where llama.cpp reads them to produce the golden JSON) and by
//! tests/tokenizer_conformance.rs (checks the committed files are exactly what this code
//! produces). Only the crate's public API is used.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use wasm_chord::gguf::{Array, GgufWriter};

/// GGUF token types (llama.cpp `llama_token_type`).
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;
const BYTE: i32 = 6;
const UNDEFINED: i32 = 0;

/// Training text: English prose and contractions, code, numbers, accents, other scripts.
pub const CORPUS: &str = r#"The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.
It's a truth universally acknowledged that a single model in possession of a good vocabulary
must be in want of a tokenizer. We'll see what they've done, and whether you're right or I'm wrong.
She said: "Don't worry, it'll work." He'd known that for years, hadn't he?
In 2024 there were 366 days; in 2023 there were 365. Prices rose by 3.5% to $1,234.56 per unit.
The numbers 1234567890 and 9876543210 are long, but 42 is the answer and 7 is lucky.
Water boils at a temperature of 100 degrees Celsius, or 212 degrees Fahrenheit.
fn main() {
    let name = "world";
    println!("Hello, {}!", name);
    for i in 0..10 {
        if i % 2 == 0 { continue; }
    }
}
def tokenize(text):
    return [token for token in text.split() if token]
function add(a, b) { return a + b; }  // JavaScript
<div class="note">Tokens &amp; pieces</div>
SELECT name, value FROM table WHERE id = 1 AND value > 0;
Le café est très bon, naïve résumé à Zürich. Où est la gare ? Ça va très bien, merci.
Der Straßenverkehr in München ist größer als in Köln. Schöne Grüße!
¿Dónde está la biblioteca? ¡Mañana por la mañana!
Москва — столица России. Ελληνικά γράμματα. 日本語の文章と中文字符。한국어 문장.
Emoji are fun 😀🎉 and so are symbols like → ← ± × ÷ ∞ ≤ ≥.
the the the and and and of of to to in in is is that that for for with with on on as as
tokenization tokenizer tokens token pieces piece merges merge scores score vocabulary
New York and San Francisco are cities; New York is larger than San Francisco.
"#;

/// Splits training text the GPT-2 way (a leading space stays with the word that follows).
fn training_words(text: &str) -> Vec<String> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Digit,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphabetic() {
            Class::Letter
        } else if c.is_numeric() {
            Class::Digit
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut w = String::new();
        if chars[i] == ' ' && i + 1 < chars.len() && class(chars[i + 1]) != Class::Space {
            w.push(' ');
            i += 1;
        }
        let c = class(chars[i]);
        while i < chars.len() && class(chars[i]) == c {
            w.push(chars[i]);
            i += 1;
        }
        words.push(w);
    }
    words
}

/// Learns `n` BPE merges over symbol sequences; ties go to the lexicographically smallest
/// pair, so the result is deterministic.
fn learn_merges(words: &[Vec<String>], n: usize) -> Vec<(String, String)> {
    let mut counts: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for w in words {
        *counts.entry(w.clone()).or_insert(0) += 1;
    }
    let mut seqs: Vec<(Vec<String>, usize)> = counts.into_iter().collect();
    let mut merges = Vec::new();
    for _ in 0..n {
        let mut pairs: HashMap<(String, String), usize> = HashMap::new();
        for (seq, c) in &seqs {
            for p in seq.windows(2) {
                *pairs.entry((p[0].clone(), p[1].clone())).or_insert(0) += c;
            }
        }
        let Some(best) = pairs
            .into_iter()
            .max_by(|(pa, ca), (pb, cb)| ca.cmp(cb).then(pb.cmp(pa)))
            .map(|(p, _)| p)
        else {
            break;
        };
        for (seq, _) in &mut seqs {
            let mut out = Vec::with_capacity(seq.len());
            let mut i = 0;
            while i < seq.len() {
                if i + 1 < seq.len() && seq[i] == best.0 && seq[i + 1] == best.1 {
                    out.push(format!("{}{}", best.0, best.1));
                    i += 2;
                } else {
                    out.push(seq[i].clone());
                    i += 1;
                }
            }
            *seq = out;
        }
        merges.push(best);
    }
    merges
}

/// GPT-2's byte → printable code point mapping (independent of the crate's own copy).
pub fn gpt2_byte_char(b: u8) -> char {
    let printable = |x: u32| {
        (0x21..=0x7E).contains(&x) || (0xA1..=0xAC).contains(&x) || (0xAE..=0xFF).contains(&x)
    };
    if printable(u32::from(b)) {
        return char::from(b);
    }
    let n = (0..u32::from(b)).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap()
}

fn common_kvs(w: &mut GgufWriter, name: &str) {
    w.kv("general.architecture", "llama");
    w.kv("general.name", name);
    w.kv("general.type", "model");
    // Not needed by llama.cpp for a vocab-only load; present so the file also looks like a
    // (weightless) llama model to tools that read hyperparameters.
    w.kv("llama.context_length", 2048u32);
    w.kv("llama.embedding_length", 256u32);
    w.kv("llama.block_count", 1u32);
    w.kv("llama.feed_forward_length", 512u32);
    w.kv("llama.attention.head_count", 4u32);
    w.kv("llama.attention.layer_norm_rms_epsilon", 1e-5f32);
}

/// A SentencePiece (`llama`) vocabulary: `<unk>` `<s>` `</s>`, the 256 byte tokens, control
/// and user-defined tokens, then `▁`-word pieces learned as BPE merges over the corpus with
/// scores (some deliberately tied, a few out of merge order), single characters, and a few
/// pieces no merge path reaches. `name` feeds llama.cpp's by-name attribute rules (a name
/// containing "phi-3" makes special tokens strip spaces to their right).
pub fn spm_vocab(name: &str, phi3: bool) -> Vec<u8> {
    let tokens = spm_tokens(phi3);
    let mut w = GgufWriter::new();
    common_kvs(&mut w, name);
    w.kv("tokenizer.ggml.model", "llama");
    w.kv("tokenizer.ggml.pre", "default");
    w.kv(
        "tokenizer.ggml.tokens",
        Array::from(tokens.iter().map(|t| t.0.as_str()).collect::<Vec<_>>()),
    );
    w.kv(
        "tokenizer.ggml.scores",
        Array::from(tokens.iter().map(|t| t.1).collect::<Vec<f32>>()),
    );
    w.kv(
        "tokenizer.ggml.token_type",
        Array::from(tokens.iter().map(|t| t.2).collect::<Vec<i32>>()),
    );
    w.kv("tokenizer.ggml.bos_token_id", 1u32);
    w.kv("tokenizer.ggml.eos_token_id", 2u32);
    w.kv("tokenizer.ggml.unknown_token_id", 0u32);
    w.kv("tokenizer.ggml.add_bos_token", true);
    w.kv("tokenizer.ggml.add_eos_token", false);
    w.kv("tokenizer.ggml.add_space_prefix", true);
    if phi3 {
        // Two end-of-turn texts: name the EOT token (llama.cpp's pick would be unspecified).
        let eot = tokens
            .iter()
            .position(|t| t.0 == "<end_of_turn>")
            .unwrap_or(0) as u32;
        w.kv("tokenizer.ggml.eot_token_id", eot);
    }
    w.to_bytes()
}

/// The SentencePiece vocabulary's (piece, score, token type) list, in id order.
fn spm_tokens(phi3: bool) -> Vec<(String, f32, i32)> {
    let mut tokens: Vec<(String, f32, i32)> = vec![
        ("<unk>".into(), 0.0, UNKNOWN),
        ("<s>".into(), 0.0, CONTROL),
        ("</s>".into(), 0.0, CONTROL),
    ];
    for b in 0..=255u8 {
        tokens.push((format!("<0x{b:02X}>"), 0.0, BYTE));
    }
    for (t, ty) in [
        ("<start_of_turn>", CONTROL),
        ("<end_of_turn>", CONTROL),
        ("<unused0>", CONTROL),
        ("<mask>", CONTROL),
        ("[multimodal]", USER_DEFINED),
        ("<tool>", USER_DEFINED),
        ("</tool>", USER_DEFINED),
        ("<start", USER_DEFINED),
        ("New York", USER_DEFINED),
        ("\n\n", USER_DEFINED),
        ("  ", USER_DEFINED),
    ] {
        tokens.push((t.into(), 0.0, ty));
    }
    if phi3 {
        // llama.cpp's Phi-3 rule looks these up and fails to load the model without them.
        tokens.push(("<|endoftext|>".into(), 0.0, CONTROL));
    }

    // SentencePiece-style words: whitespace-separated, each prefixed with ▁.
    let words: Vec<Vec<String>> = CORPUS
        .split_whitespace()
        .map(|w| {
            std::iter::once('▁')
                .chain(w.chars())
                .map(String::from)
                .collect()
        })
        .collect();
    let merges = learn_merges(&words, 700);
    let mut seen: std::collections::HashSet<String> = tokens.iter().map(|t| t.0.clone()).collect();
    for (rank, (a, b)) in merges.iter().enumerate() {
        let piece = format!("{a}{b}");
        if !seen.insert(piece.clone()) {
            continue;
        }
        let mut score = -(rank as f32);
        // Ties: every 7th piece shares a score with its predecessor.
        if rank % 7 == 3 {
            score = -((rank - 1) as f32);
        }
        // A few pieces out of merge order.
        if rank % 53 == 10 {
            score += 25.0;
        }
        let ty = match rank {
            40 => UNDEFINED,
            41 => UNUSED,
            _ => NORMAL,
        };
        tokens.push((piece, score, ty));
    }
    let mut chars: Vec<char> = CORPUS.chars().filter(|c| !c.is_whitespace()).collect();
    chars.push('▁');
    chars.sort_unstable();
    chars.dedup();
    for (i, c) in chars.iter().enumerate() {
        let s = c.to_string();
        if seen.insert(s.clone()) {
            tokens.push((s, -1000.0 - i as f32, NORMAL));
        }
    }
    // Pieces no pairwise merge reaches, and one with a score far above the rest.
    for t in ["▁unreachablepiece", "▁xyzzy", "ing▁the"] {
        if seen.insert(t.into()) {
            tokens.push((t.into(), 10.0, NORMAL));
        }
    }
    tokens
}

/// Options of a byte-level BPE variant.
#[derive(Debug, Clone, Copy)]
pub struct BpeOptions {
    pub pre: &'static str,
    pub add_bos: bool,
    pub add_eos: bool,
    /// More training text, so merges span the boundaries this pre-tokenizer draws and
    /// others do not (a fixture can only tell splitters apart where merges cross them).
    pub extra_corpus: &'static str,
}

/// Case changes inside letter runs, non-ASCII capitals, contractions after capitals and
/// slashes: where GPT-4o's expression splits and Llama 3's does not.
pub const CASE_CORPUS: &str =
    "HelloWorld camelCaseWords XMLHttpRequest iPhone McDonald JavaScript \
    ÉCOLE École ÜberGröße NAÏVE ÇaVa ÀlaCarte I'M DON'T WE'LL YOU'RE path/to/file//";

/// A GPT-2 byte-level BPE vocabulary's arrays: tokens with their types, the merge lines, and
/// the id of the first control token (`<|begin_of_text|>`, BOS; EOS and EOT follow it).
pub struct BpeVocab {
    pub tokens: Vec<(String, i32)>,
    pub merges: Vec<String>,
    pub first_special: u32,
}

/// A GPT-2 byte-level BPE vocabulary: the 256 byte characters, merges learned on the corpus,
/// Llama 3 style control tokens, a user-defined token, and normal tokens that only
/// `ignore_merges` (Llama 3) can produce, and `<mask>`. The merge list also holds a duplicate and a line
/// without a space, which llama.cpp tolerates.
pub fn bpe_tokens(opts: BpeOptions) -> BpeVocab {
    let corpus = match opts.extra_corpus {
        "" => CORPUS.to_owned(),
        extra => format!("{CORPUS}\n{extra}"),
    };
    let words: Vec<Vec<String>> = training_words(&corpus)
        .iter()
        .map(|w| w.bytes().map(|b| gpt2_byte_char(b).to_string()).collect())
        .collect();
    let merges = learn_merges(&words, 1200);

    let mut tokens: Vec<(String, i32)> = (0..=255u8)
        .map(|b| (gpt2_byte_char(b).to_string(), NORMAL))
        .collect();
    let mut seen: std::collections::HashSet<String> = tokens.iter().map(|t| t.0.clone()).collect();
    for (a, b) in &merges {
        let t = format!("{a}{b}");
        if seen.insert(t.clone()) {
            tokens.push((t, NORMAL));
        }
    }
    for t in ["Ġunreachable", "Ġsupercalifragilistic"] {
        if seen.insert(t.into()) {
            tokens.push((t.into(), NORMAL));
        }
    }
    let first_special = tokens.len() as u32;
    for (t, ty) in [
        ("<|begin_of_text|>", CONTROL),
        ("<|end_of_text|>", CONTROL),
        ("<|start_header_id|>", CONTROL),
        ("<|end_header_id|>", CONTROL),
        ("<|eot_id|>", CONTROL),
        ("<|reserved_special_token_0|>", CONTROL),
        ("<tool_call>", USER_DEFINED),
        ("</tool_call>", USER_DEFINED),
        ("<mask>", CONTROL),
    ] {
        tokens.push((t.into(), ty));
    }
    let mut merge_lines: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
    if let Some(first) = merge_lines.first().cloned() {
        merge_lines.push(first);
    }
    merge_lines.push("nospace".into());
    BpeVocab {
        tokens,
        merges: merge_lines,
        first_special,
    }
}

/// The `tokenizer.ggml.*` keys of a BPE vocabulary (also the synthetic Llama 3 model's).
pub fn bpe_kvs(w: &mut GgufWriter, opts: BpeOptions, v: &BpeVocab) {
    w.kv("tokenizer.ggml.model", "gpt2");
    w.kv("tokenizer.ggml.pre", opts.pre);
    w.kv(
        "tokenizer.ggml.tokens",
        Array::from(v.tokens.iter().map(|t| t.0.as_str()).collect::<Vec<_>>()),
    );
    w.kv(
        "tokenizer.ggml.token_type",
        Array::from(v.tokens.iter().map(|t| t.1).collect::<Vec<i32>>()),
    );
    w.kv("tokenizer.ggml.merges", Array::from(v.merges.clone()));
    w.kv("tokenizer.ggml.bos_token_id", v.first_special);
    w.kv("tokenizer.ggml.eos_token_id", v.first_special + 1);
    w.kv("tokenizer.ggml.eot_token_id", v.first_special + 4);
    w.kv("tokenizer.ggml.add_bos_token", opts.add_bos);
    w.kv("tokenizer.ggml.add_eos_token", opts.add_eos);
}

/// A vocabulary-only GGUF file of [`bpe_tokens`].
pub fn bpe_vocab(opts: BpeOptions) -> Vec<u8> {
    let mut w = GgufWriter::new();
    common_kvs(&mut w, &format!("wasm-chord synthetic BPE ({})", opts.pre));
    bpe_kvs(&mut w, opts, &bpe_tokens(opts));
    w.to_bytes()
}

/// Llama 3's tokenizer as its GGUF files declare it (`llama-bpe`, BOS added).
pub const LLAMA3_BPE: BpeOptions = BpeOptions {
    pre: "llama-bpe",
    add_bos: true,
    add_eos: false,
    extra_corpus: "",
};

/// Every synthetic fixture: file name and bytes.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("spm.gguf", spm_vocab("wasm-chord synthetic SPM", false)),
        (
            "spm-phi3.gguf",
            spm_vocab("wasm-chord synthetic Phi-3 style SPM", true),
        ),
        ("bpe-llama3.gguf", bpe_vocab(LLAMA3_BPE)),
        (
            "bpe-gpt2.gguf",
            bpe_vocab(BpeOptions {
                pre: "gpt-2",
                add_bos: false,
                add_eos: true,
                extra_corpus: "",
            }),
        ),
        (
            "bpe-qwen2.gguf",
            bpe_vocab(BpeOptions {
                pre: "qwen2",
                add_bos: false,
                add_eos: false,
                extra_corpus: "",
            }),
        ),
        (
            "bpe-default.gguf",
            bpe_vocab(BpeOptions {
                pre: "default",
                add_bos: true,
                add_eos: false,
                extra_corpus: "",
            }),
        ),
        (
            "bpe-smollm.gguf",
            bpe_vocab(BpeOptions {
                pre: "smollm",
                add_bos: false,
                add_eos: false,
                extra_corpus: "",
            }),
        ),
        (
            "bpe-gpt4o.gguf",
            bpe_vocab(BpeOptions {
                pre: "gpt-4o",
                add_bos: false,
                add_eos: false,
                extra_corpus: CASE_CORPUS,
            }),
        ),
        // llama.cpp gives <mask> LSTRIP (strip spaces to its left) for this pre-tokenizer name.
        (
            "bpe-jina-lstrip.gguf",
            bpe_vocab(BpeOptions {
                pre: "jina-v2-es",
                add_bos: false,
                add_eos: false,
                extra_corpus: "",
            }),
        ),
    ]
}
