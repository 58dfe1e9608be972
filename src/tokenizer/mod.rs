//! Tokenizers built only from GGUF metadata, token-for-token compatible with llama.cpp.
//!
//! * SentencePiece (`tokenizer.ggml.model = "llama"`): score-ordered merges over UTF-8
//!   characters, byte fallback to `<0xNN>` tokens, `add_space_prefix`.
//! * GPT-2 byte-level BPE (`"gpt2"`): a pre-tokenizer chosen by `tokenizer.ggml.pre`
//!   (`default`, `gpt-2`, `llama-bpe`/Llama 3, `qwen2` and their llama.cpp aliases), the
//!   byte↔unicode mapping, merges by rank.
//!
//! Special-token text in a prompt (`<start_of_turn>`, `<|eot_id|>`) becomes those tokens when
//! `parse_special` is set; user-defined tokens are always matched, as in llama.cpp. Token
//! attributes, BOS/EOS/EOT/EOG ids and llama.cpp's by-name fix-ups of them are reproduced.
//! Detokenization follows `llama_token_to_piece` / `llama_detokenize`, and [`StreamDecoder`]
//! decodes generated ids one at a time without ever emitting a partial UTF-8 character.
//!
//! Every step is linear or O(n log n) in the input: no quadratic merge loop on long prompts.

mod bpe;
mod detok;
mod merge;
mod pretok;
mod special;
mod spm;
mod unicode;
mod unicode_table;

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

use crate::error::{Error, Result};
use crate::gguf::{Metadata, Value};

pub use detok::StreamDecoder;
pub use pretok::PreRegex;

use special::{Fragment, Specials};

/// llama.cpp's `llama_token_attr` bit set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TokenAttr(u32);

impl TokenAttr {
    pub const UNDEFINED: TokenAttr = TokenAttr(0);
    pub const UNKNOWN: TokenAttr = TokenAttr(1 << 0);
    pub const UNUSED: TokenAttr = TokenAttr(1 << 1);
    pub const NORMAL: TokenAttr = TokenAttr(1 << 2);
    pub const CONTROL: TokenAttr = TokenAttr(1 << 3);
    pub const USER_DEFINED: TokenAttr = TokenAttr(1 << 4);
    pub const BYTE: TokenAttr = TokenAttr(1 << 5);
    pub const NORMALIZED: TokenAttr = TokenAttr(1 << 6);
    pub const LSTRIP: TokenAttr = TokenAttr(1 << 7);
    pub const RSTRIP: TokenAttr = TokenAttr(1 << 8);
    pub const SINGLE_WORD: TokenAttr = TokenAttr(1 << 9);

    pub const fn bits(self) -> u32 {
        self.0
    }

    pub const fn from_bits(bits: u32) -> TokenAttr {
        TokenAttr(bits)
    }

    /// All bits of `other` are set.
    pub const fn contains(self, other: TokenAttr) -> bool {
        self.0 & other.0 == other.0
    }

    /// Any bit of `other` is set.
    pub const fn intersects(self, other: TokenAttr) -> bool {
        self.0 & other.0 != 0
    }

    /// From a GGUF `tokenizer.ggml.token_type` value (llama.cpp `llama_token_type`).
    pub fn from_token_type(t: i32) -> TokenAttr {
        match t {
            1 => TokenAttr::NORMAL,
            2 => TokenAttr::UNKNOWN,
            3 => TokenAttr::CONTROL,
            4 => TokenAttr::USER_DEFINED,
            5 => TokenAttr::UNUSED,
            6 => TokenAttr::BYTE,
            _ => TokenAttr::UNDEFINED,
        }
    }

    fn set(&mut self, other: TokenAttr, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }
}

impl BitOr for TokenAttr {
    type Output = TokenAttr;
    fn bitor(self, rhs: TokenAttr) -> TokenAttr {
        TokenAttr(self.0 | rhs.0)
    }
}

impl BitOrAssign for TokenAttr {
    fn bitor_assign(&mut self, rhs: TokenAttr) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for TokenAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 10] = [
            "UNKNOWN",
            "UNUSED",
            "NORMAL",
            "CONTROL",
            "USER_DEFINED",
            "BYTE",
            "NORMALIZED",
            "LSTRIP",
            "RSTRIP",
            "SINGLE_WORD",
        ];
        if self.0 == 0 {
            return f.write_str("UNDEFINED");
        }
        let mut first = true;
        for (i, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if self.0 >> NAMES.len() != 0 {
            write!(
                f,
                "{}0x{:x}",
                if first { "" } else { "|" },
                self.0 >> NAMES.len() << NAMES.len()
            )?;
        }
        Ok(())
    }
}

/// The tokenizer algorithm (`tokenizer.ggml.model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `"llama"`: SentencePiece.
    Spm,
    /// `"gpt2"`: byte-level BPE.
    Bpe,
}

/// Special token ids as llama.cpp resolves them (defaults, metadata, detection by text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
    /// The newline token (`llama_vocab_nl`).
    pub nl: Option<u32>,
}

/// The vocabulary: token texts in one buffer, an open-addressing text → id index, scores
/// and attributes.
#[derive(Clone)]
pub(crate) struct Vocab {
    data: String,
    ends: Vec<usize>,
    slots: Vec<u32>,
    scores: Vec<f32>,
    attrs: Vec<TokenAttr>,
    max_token_len: usize,
    byte_tokens: Vec<Option<u32>>,
}

const EMPTY_SLOT: u32 = u32::MAX;

fn hash(s: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in s {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

impl Vocab {
    fn build(texts: impl ExactSizeIterator<Item = String>) -> Result<Vocab> {
        let n = texts.len();
        let cap = (n * 2).max(16).next_power_of_two();
        let mut v = Vocab {
            data: String::new(),
            ends: Vec::with_capacity(n),
            slots: vec![EMPTY_SLOT; cap],
            scores: Vec::new(),
            attrs: Vec::new(),
            max_token_len: 0,
            byte_tokens: Vec::new(),
        };
        for (i, text) in texts.enumerate() {
            let id = u32::try_from(i).map_err(|_| Error::InvalidVocab {
                reason: format!("{n} tokens do not fit 32-bit ids"),
            })?;
            v.data.push_str(&text);
            v.ends.push(v.data.len());
            v.max_token_len = v.max_token_len.max(text.len());
            let mask = cap - 1;
            let mut slot = hash(text.as_bytes()) as usize & mask;
            loop {
                match v.slots[slot] {
                    EMPTY_SLOT => {
                        v.slots[slot] = id;
                        break;
                    }
                    other if v.text(other) == Some(text.as_str()) => {
                        return Err(Error::InvalidVocab {
                            reason: format!(
                                "token text {text:?} appears twice (ids {other} and {id})"
                            ),
                        });
                    }
                    _ => slot = (slot + 1) & mask,
                }
            }
        }
        Ok(v)
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn text(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.data.get(start..end)
    }

    pub(crate) fn text_len(&self, id: u32) -> usize {
        self.text(id).map_or(0, str::len)
    }

    pub(crate) fn token_id(&self, text: &str) -> Option<u32> {
        if text.len() > self.max_token_len {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = hash(text.as_bytes()) as usize & mask;
        loop {
            match self.slots[slot] {
                EMPTY_SLOT => return None,
                id if self.text(id) == Some(text) => return Some(id),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    pub(crate) fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }

    pub(crate) fn attr(&self, id: u32) -> TokenAttr {
        self.attrs.get(id as usize).copied().unwrap_or_default()
    }

    fn attr_mut(&mut self, id: u32) -> Option<&mut TokenAttr> {
        self.attrs.get_mut(id as usize)
    }

    /// SentencePiece byte fallback (llama.cpp `byte_to_token`): `<0xNN>`, else the one-byte
    /// token. llama.cpp throws when neither exists; the SentencePiece session then emits the
    /// unknown token instead.
    pub(crate) fn byte_token(&self, b: u8) -> Option<u32> {
        self.byte_tokens.get(usize::from(b)).copied().flatten()
    }
}

/// A pre-tokenizer name and what llama.cpp derives from it.
#[derive(Debug, Clone, Copy)]
struct PreSpec {
    regex: PreRegex,
    ignore_merges: bool,
    add_bos: bool,
    clean_spaces: bool,
}

/// `tokenizer.ggml.pre` values llama.cpp maps to the regex sets implemented here.
const SUPPORTED_PRE: &str = "default, llama3, llama-v3, llama-bpe, falcon3, falcon-h1, pixtral, \
midm-2.0, lfm2, jina-v5-nano, dbrx, smaug-bpe, gpt-2, phi-2, jina-es, jina-de, gigachat, \
jina-v2-es, jina-v2-de, a.x-4.0, mellum, modern-bert, jina-v1-en, jina-v2-code, roberta-bpe, \
exaone4, mpt, olmo, jais, trillion, granite-docling, qwen2, deepseek-r1-qwen, kormo, f2llmv2, \
megrez, hunyuan, solar-open, grok-2";

fn pre_spec(name: &str) -> Option<PreSpec> {
    let spec = |regex, ignore_merges, add_bos, clean_spaces| PreSpec {
        regex,
        ignore_merges,
        add_bos,
        clean_spaces,
    };
    Some(match name {
        "" | "default" => spec(PreRegex::Default, false, false, true),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => spec(PreRegex::Llama3, true, true, true),
        "dbrx" | "smaug-bpe" => spec(PreRegex::Llama3, false, false, true),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de"
        | "a.x-4.0" | "mellum" | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe"
        | "exaone4" | "mpt" | "olmo" | "jais" => spec(PreRegex::Gpt2, false, false, true),
        "trillion" | "granite-docling" => spec(PreRegex::Gpt2, false, false, false),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open"
        | "grok-2" => spec(PreRegex::Qwen2, false, false, false),
        "megrez" => spec(PreRegex::Qwen2, false, false, true),
        _ => return None,
    })
}

/// A tokenizer for one model, built from its GGUF metadata.
#[derive(Clone)]
pub struct Tokenizer {
    kind: Kind,
    vocab: Vocab,
    merges: bpe::Merges,
    pre: Option<PreRegex>,
    pre_name: String,
    ignore_merges: bool,
    add_space_prefix: bool,
    add_bos: bool,
    add_eos: bool,
    clean_spaces: bool,
    special: SpecialTokens,
    eog: Vec<u32>,
    specials: Specials,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind)
            .field("n_vocab", &self.vocab.len())
            .field("pre", &self.pre_name)
            .field("merges", &self.merges.len())
            .field("add_bos", &self.add_bos)
            .field("add_eos", &self.add_eos)
            .field("add_space_prefix", &self.add_space_prefix)
            .field("special", &self.special)
            .field("eog", &self.eog)
            .finish_non_exhaustive()
    }
}

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TYPES: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";

/// Texts llama.cpp treats as end-of-turn when `eot_token_id` is absent.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_TEXTS: &[&str] = &["<|eom_id|>"];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_TEXTS: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_TEXTS: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_TEXTS: &[&str] = &["<|file_sep|>"];
/// Texts llama.cpp treats as end-of-generation.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// An optional token-id key: any non-negative integer type (llama.cpp insists on u32; a
/// negative value is taken as "absent").
fn opt_id(meta: &Metadata, key: &str) -> Result<Option<u64>> {
    match meta.get(key) {
        None => Ok(None),
        Some(v) => match v.as_uint() {
            Some(x) => Ok(Some(x)),
            None if matches!(
                v,
                Value::I8(_) | Value::I16(_) | Value::I32(_) | Value::I64(_)
            ) =>
            {
                Ok(None)
            }
            None => Err(Error::WrongValueType {
                key: key.to_owned(),
                expected: "u32",
                found: v.type_name(),
            }),
        },
    }
}

impl Tokenizer {
    /// Builds the tokenizer from a model's GGUF metadata, as llama.cpp's `llama_vocab::load`.
    ///
    /// Errors: a missing `tokenizer.ggml.model`, `tokenizer.ggml.tokens` or (BPE)
    /// `tokenizer.ggml.merges` key ([`Error::MissingKey`]), keys of the wrong type
    /// ([`Error::WrongValueType`]), an unsupported model ([`Error::UnsupportedTokenizer`]) or
    /// pre-tokenizer ([`Error::UnknownPreTokenizer`]: never a silent fallback), and
    /// inconsistent arrays or duplicate tokens ([`Error::InvalidVocab`]).
    pub fn from_metadata(meta: &Metadata) -> Result<Tokenizer> {
        let model = meta.get_str(KEY_MODEL)?;
        let pre_name = meta.opt_str(KEY_PRE)?.unwrap_or("").to_owned();
        let kind = match model {
            "llama" => Kind::Spm,
            "gpt2" => Kind::Bpe,
            other => {
                return Err(Error::UnsupportedTokenizer {
                    model: other.to_owned(),
                })
            }
        };

        // Defaults by model type (llama.cpp), then the pre-tokenizer's.
        let (mut bos, mut eos, mut unk): (Option<u64>, Option<u64>, Option<u64>) = match kind {
            Kind::Spm => (Some(1), Some(2), Some(0)),
            Kind::Bpe => (Some(11), Some(11), None),
        };
        let (pre, ignore_merges, mut add_bos, clean_spaces, mut add_space_prefix) = match kind {
            Kind::Spm => (None, false, true, false, true),
            Kind::Bpe => {
                let spec = pre_spec(&pre_name).ok_or_else(|| Error::UnknownPreTokenizer {
                    pre: pre_name.clone(),
                    supported: SUPPORTED_PRE,
                })?;
                (
                    Some(spec.regex),
                    spec.ignore_merges,
                    spec.add_bos,
                    spec.clean_spaces,
                    false,
                )
            }
        };
        let mut add_eos = false;
        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_space_prefix")? {
            add_space_prefix = v;
        }

        let tokens = meta.get_str_array(KEY_TOKENS)?;
        let n = tokens.len();
        let texts = tokens.iter().enumerate().map(|(i, t)| {
            if t.is_empty() {
                format!("[EMPTY_{i}]")
            } else {
                t.to_owned()
            }
        });
        let mut vocab = Vocab::build(texts)?;

        vocab.scores = match meta.opt_array(KEY_SCORES)? {
            None => vec![0.0; n],
            Some(a) => {
                let scores: Vec<f32> = if let Some(f) = a.as_f32() {
                    f.iter().take(n).copied().collect()
                } else if let Some(i) = a.as_i32() {
                    i.iter().take(n).map(|&x| x as f32).collect()
                } else {
                    return Err(Error::WrongValueType {
                        key: KEY_SCORES.to_owned(),
                        expected: "array[f32]",
                        found: a.type_name(),
                    });
                };
                if scores.len() < n {
                    return Err(Error::InvalidVocab {
                        reason: format!("{KEY_SCORES} has {} entries for {n} tokens", scores.len()),
                    });
                }
                // C++ compares scores with `<`: -0.0 == 0.0, and a NaN would break the heap's
                // order; it becomes the lowest score.
                scores
                    .into_iter()
                    .map(|s| {
                        if s.is_nan() {
                            f32::NEG_INFINITY
                        } else {
                            s + 0.0
                        }
                    })
                    .collect()
            }
        };
        vocab.attrs = match meta.opt_array(KEY_TYPES)? {
            None => vec![TokenAttr::NORMAL; n],
            Some(a) => {
                let types = a.as_i32().ok_or_else(|| Error::WrongValueType {
                    key: KEY_TYPES.to_owned(),
                    expected: "array[i32]",
                    found: a.type_name(),
                })?;
                if types.len() < n {
                    return Err(Error::InvalidVocab {
                        reason: format!("{KEY_TYPES} has {} entries for {n} tokens", types.len()),
                    });
                }
                types
                    .iter()
                    .take(n)
                    .map(|&t| TokenAttr::from_token_type(t))
                    .collect()
            }
        };
        vocab.byte_tokens = (0..=255u8)
            .map(|b| {
                vocab.token_id(&format!("<0x{b:02X}>")).or_else(|| {
                    core::str::from_utf8(&[b])
                        .ok()
                        .and_then(|s| vocab.token_id(s))
                })
            })
            .collect();

        let merges = match kind {
            Kind::Spm => bpe::Merges::default(),
            Kind::Bpe => bpe::Merges::new(&vocab, meta.get_str_array(KEY_MERGES)?.iter()),
        };

        // Special ids: defaults out of range are disabled; a metadata id in range replaces
        // the default.
        let n64 = n as u64;
        let in_range = |id: Option<u64>| id.filter(|&x| x < n64);
        bos = in_range(bos);
        eos = in_range(eos);
        unk = in_range(unk);
        let mut ids: [Option<u64>; 14] = [
            bos, eos, None, None, unk, None, None, None, None, None, None, None, None, None,
        ];
        const ID_KEYS: [&str; 14] = [
            "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id",
            "tokenizer.ggml.unknown_token_id",
            "tokenizer.ggml.seperator_token_id",
            "tokenizer.ggml.padding_token_id",
            "tokenizer.ggml.mask_token_id",
            "tokenizer.ggml.fim_pre_token_id",
            "tokenizer.ggml.fim_suf_token_id",
            "tokenizer.ggml.fim_mid_token_id",
            "tokenizer.ggml.fim_pad_token_id",
            "tokenizer.ggml.fim_rep_token_id",
            "tokenizer.ggml.fim_sep_token_id",
        ];
        for (slot, key) in ids.iter_mut().zip(ID_KEYS) {
            if let Some(v) = opt_id(meta, key)? {
                if v < n64 {
                    *slot = Some(v);
                }
            }
        }
        // Deprecated FIM keys, read after the current ones.
        for (idx, key) in [
            (8, "tokenizer.ggml.prefix_token_id"),
            (9, "tokenizer.ggml.suffix_token_id"),
            (10, "tokenizer.ggml.middle_token_id"),
        ] {
            if let Some(v) = opt_id(meta, key)? {
                if v < n64 {
                    ids[idx] = Some(v);
                }
            }
        }
        let id32 = |x: Option<u64>| x.and_then(|v| u32::try_from(v).ok());
        let mut special = SpecialTokens {
            bos: id32(ids[0]),
            eos: id32(ids[1]),
            eot: id32(ids[2]),
            eom: id32(ids[3]),
            unk: id32(ids[4]),
            sep: id32(ids[5]),
            pad: id32(ids[6]),
            mask: id32(ids[7]),
            fim_pre: id32(ids[8]),
            fim_suf: id32(ids[9]),
            fim_mid: id32(ids[10]),
            fim_pad: id32(ids[11]),
            fim_rep: id32(ids[12]),
            fim_sep: id32(ids[13]),
            nl: None,
        };

        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_bos_token")? {
            add_bos = v;
        }
        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_eos_token")? {
            add_eos = v;
        }

        // Detection by text, in id order (llama.cpp iterates a hash map: with several
        // candidates its pick is unspecified; here the lowest id wins). Detected tokens become
        // control tokens.
        let detect = |vocab: &mut Vocab, slot: &mut Option<u32>, texts: &[&str]| {
            if slot.is_some() {
                return;
            }
            if let Some(t) = texts.iter().filter_map(|t| vocab.token_id(t)).min() {
                *slot = Some(t);
                if let Some(a) = vocab.attr_mut(t) {
                    *a |= TokenAttr::CONTROL;
                }
            }
        };
        detect(&mut vocab, &mut special.eot, EOT_TEXTS);
        detect(&mut vocab, &mut special.eom, EOM_TEXTS);
        detect(&mut vocab, &mut special.fim_pre, FIM_PRE_TEXTS);
        detect(&mut vocab, &mut special.fim_suf, FIM_SUF_TEXTS);
        detect(&mut vocab, &mut special.fim_mid, FIM_MID_TEXTS);
        detect(&mut vocab, &mut special.fim_pad, FIM_PAD_TEXTS);
        detect(&mut vocab, &mut special.fim_rep, FIM_REP_TEXTS);
        detect(&mut vocab, &mut special.fim_sep, FIM_SEP_TEXTS);

        // Control tokens named "unused…" are unused.
        for id in 0..n as u32 {
            let a = vocab.attr(id);
            if a.contains(TokenAttr::CONTROL)
                && vocab.text(id).is_some_and(|t| t.contains("unused"))
            {
                if let Some(a) = vocab.attr_mut(id) {
                    *a |= TokenAttr::UNUSED;
                }
            }
        }

        // End-of-generation set.
        let mut eog: Vec<u32> = [special.fim_pad, special.fim_rep, special.fim_sep]
            .into_iter()
            .flatten()
            .collect();
        for t in EOG_TEXTS {
            if let Some(id) = vocab.token_id(t) {
                eog.push(id);
                if let Some(a) = vocab.attr_mut(id) {
                    *a |= TokenAttr::CONTROL;
                }
            }
        }
        // gpt-oss: always rendered.
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(a) = vocab.token_id(t).and_then(|id| vocab.attr_mut(id)) {
                *a = TokenAttr::USER_DEFINED;
            }
        }
        eog.extend(
            [special.eos, special.eot, special.eom]
                .into_iter()
                .flatten(),
        );
        eog.sort_unstable();
        eog.dedup();
        let eog_has = |eog: &[u32], vocab: &Vocab, text: &str| {
            eog.iter().copied().find(|&id| vocab.text(id) == Some(text))
        };
        // o200k_harmony / solar-open: "<|end|>" is not end-of-generation there.
        let has_return = eog_has(&eog, &vocab, "<|return|>").is_some();
        let has_call = eog_has(&eog, &vocab, "<|call|>").is_some()
            || eog_has(&eog, &vocab, "<|calls|>").is_some();
        let has_flush = eog_has(&eog, &vocab, "<|flush|>").is_some();
        if let Some(end) = eog_has(&eog, &vocab, "<|end|>") {
            if has_call && (has_return || has_flush) {
                eog.retain(|&x| x != end);
                if let Some(a) = vocab.attr_mut(end) {
                    *a = TokenAttr::USER_DEFINED;
                }
            }
        }
        // gemma4 / paddleocr: "</s>" is not end-of-generation when "<|tool_response>" is.
        if eog_has(&eog, &vocab, "<|tool_response>").is_some() {
            if let Some(s) = eog_has(&eog, &vocab, "</s>") {
                eog.retain(|&x| x != s);
                if let Some(a) = vocab.attr_mut(s) {
                    *a = TokenAttr::NORMAL;
                }
            }
        }

        let special_ids: Vec<u32> = (0..n as u32)
            .filter(|&id| {
                vocab
                    .attr(id)
                    .intersects(TokenAttr::CONTROL | TokenAttr::USER_DEFINED | TokenAttr::UNKNOWN)
            })
            .collect();

        // Per-model attributes llama.cpp sets by name.
        let model_name = meta.opt_str("general.name")?.unwrap_or("").to_lowercase();
        let arch = meta.opt_str("general.architecture")?.unwrap_or("");
        let set_attr = |vocab: &mut Vocab, text: &str, attr: TokenAttr, on: bool| {
            if let Some(a) = vocab.token_id(text).and_then(|id| vocab.attr_mut(id)) {
                a.set(attr, on);
            }
        };
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"]
            .iter()
            .any(|s| pre_name.contains(s))
            || ["nomic-bert-moe", "jina-bert-v3"]
                .iter()
                .any(|s| arch.contains(s))
        {
            set_attr(&mut vocab, "<mask>", TokenAttr::LSTRIP, true);
        } else if ["phi-3", "phi3"].iter().any(|s| model_name.contains(s)) {
            for &id in &special_ids {
                if let Some(a) = vocab.attr_mut(id) {
                    a.set(TokenAttr::RSTRIP, true);
                }
            }
            set_attr(&mut vocab, "</s>", TokenAttr::RSTRIP, true);
            for t in ["<unk>", "<s>", "<|endoftext|>"] {
                set_attr(&mut vocab, t, TokenAttr::RSTRIP, false);
            }
        } else if model_name.contains("modern-bert") {
            set_attr(&mut vocab, "[MASK]", TokenAttr::LSTRIP, true);
        }

        let specials = Specials::new(&vocab, special_ids);
        let mut tok = Tokenizer {
            kind,
            vocab,
            merges,
            pre,
            pre_name,
            ignore_merges,
            add_space_prefix,
            add_bos,
            add_eos,
            clean_spaces,
            special,
            eog,
            specials,
        };
        if tok.add_bos && tok.special.bos.is_none() {
            return Err(Error::InvalidVocab {
                reason: "tokenizer.ggml.add_bos_token is set but the vocabulary has no BOS token"
                    .into(),
            });
        }
        if tok.add_eos && tok.special.eos.is_none() {
            return Err(Error::InvalidVocab {
                reason: "tokenizer.ggml.add_eos_token is set but the vocabulary has no EOS token"
                    .into(),
            });
        }
        // The newline token, computed as llama.cpp does before special tokens are known.
        tok.special.nl = match kind {
            Kind::Spm => tok.vocab.byte_token(b'\n'),
            Kind::Bpe => {
                let mut out = Vec::new();
                tok.encode_fragment("\n", &mut out);
                out.first().copied()
            }
        };
        Ok(tok)
    }

    /// Text → token ids (llama.cpp `llama_tokenize(vocab, text, …, add_special, parse_special)`).
    ///
    /// * `add_special`: add BOS / EOS when the vocabulary asks for them
    ///   (`tokenizer.ggml.add_bos_token` / `add_eos_token`).
    /// * `parse_special`: text of control tokens (`<start_of_turn>`, `<|eot_id|>`) becomes
    ///   those tokens; otherwise it is tokenized as plain text. User-defined tokens are always
    ///   matched.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let fragments = self.specials.partition(&self.vocab, text, parse_special);
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.add_bos {
            out.extend(self.special.bos);
        }
        let mut prev_special = true;
        for frag in fragments {
            match frag {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text(range) => {
                    let raw = text.get(range).unwrap_or("");
                    match self.kind {
                        Kind::Spm => {
                            let mut s = String::with_capacity(raw.len() * 3 + 3);
                            if self.add_space_prefix && prev_special {
                                s.push('\u{2581}');
                            }
                            for c in raw.chars() {
                                s.push(if c == ' ' { '\u{2581}' } else { c });
                            }
                            self.encode_spm(&s, &mut out);
                        }
                        Kind::Bpe => self.encode_fragment(raw, &mut out),
                    }
                    prev_special = false;
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.special.eos);
        }
        out
    }

    fn encode_spm(&self, escaped: &str, out: &mut Vec<u32>) {
        spm::tokenize(&self.vocab, escaped, self.special.unk, out);
    }

    /// Plain BPE of one text fragment (no special-token matching).
    fn encode_fragment(&self, raw: &str, out: &mut Vec<u32>) {
        match (self.kind, self.pre) {
            (Kind::Bpe, Some(regex)) => bpe::tokenize(
                &self.vocab,
                &self.merges,
                regex,
                self.ignore_merges,
                raw,
                out,
            ),
            _ => {
                let escaped: String = raw
                    .chars()
                    .map(|c| if c == ' ' { '\u{2581}' } else { c })
                    .collect();
                self.encode_spm(&escaped, out);
            }
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The BPE pre-tokenizer (`None` for SentencePiece).
    pub fn pre_tokenizer(&self) -> Option<PreRegex> {
        self.pre
    }

    /// `tokenizer.ggml.pre` as given ("" when absent).
    pub fn pre_tokenizer_name(&self) -> &str {
        &self.pre_name
    }

    pub fn n_vocab(&self) -> usize {
        self.vocab.len()
    }

    /// The text of a token as stored in the vocabulary (`▁` / `Ġ` not decoded).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.text(id)
    }

    pub fn token_score(&self, id: u32) -> Option<f32> {
        self.vocab.scores.get(id as usize).copied()
    }

    /// The attributes llama.cpp gives the token (after its by-text and by-name fix-ups).
    pub fn token_attr(&self, id: u32) -> Option<TokenAttr> {
        self.vocab.attrs.get(id as usize).copied()
    }

    /// The id of a token by its exact vocabulary text.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.token_id(text)
    }

    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    pub fn bos(&self) -> Option<u32> {
        self.special.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.special.eos
    }

    pub fn eot(&self) -> Option<u32> {
        self.special.eot
    }

    /// Whether [`encode`](Tokenizer::encode) with `add_special` prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether [`encode`](Tokenizer::encode) with `add_special` appends EOS.
    pub fn add_eos(&self) -> bool {
        self.add_eos
    }

    pub fn add_space_prefix(&self) -> bool {
        self.add_space_prefix
    }

    /// Whether generation should stop at this token (llama.cpp `llama_vocab_is_eog`).
    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// All end-of-generation ids, ascending.
    pub fn eog_ids(&self) -> &[u32] {
        &self.eog
    }

    /// Ids that can be matched as special text, in matching priority (longest first).
    pub fn special_token_ids(&self) -> &[u32] {
        self.specials.ids()
    }
}

#[cfg(test)]
mod tests;
