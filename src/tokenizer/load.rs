//! Building a [`Tokenizer`] from GGUF metadata, as llama.cpp's `llama_vocab::load`.

use crate::error::{Error, Result};
use crate::gguf::{Metadata, StringArray};

use super::bpe;
use super::pretok::PreRegex;
use super::special::Specials;
use super::special_ids::{self, DefaultIds};
use super::{Kind, TokenAttr, Tokenizer, Vocab};

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TYPES: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";

/// A pre-tokenizer name and what llama.cpp derives from it.
#[derive(Debug, Clone, Copy)]
struct PreSpec {
    regex: PreRegex,
    ignore_merges: bool,
    add_bos: bool,
    clean_spaces: bool,
}

/// Every `tokenizer.ggml.pre` value implemented here and what llama.cpp derives from it:
/// (names, regex set, ignore_merges, add_bos, clean_spaces).
#[allow(clippy::type_complexity)]
const PRE_TOKENIZERS: &[(&[&str], PreRegex, bool, bool, bool)] = &[
    (&["", "default"], PreRegex::Default, false, false, true),
    (
        &[
            "llama3",
            "llama-v3",
            "llama-bpe",
            "falcon3",
            "falcon-h1",
            "pixtral",
            "midm-2.0",
            "lfm2",
            "jina-v5-nano",
        ],
        PreRegex::Llama3,
        true,
        true,
        true,
    ),
    (&["dbrx", "smaug-bpe"], PreRegex::Llama3, false, false, true),
    (
        &[
            "gpt-2",
            "phi-2",
            "jina-es",
            "jina-de",
            "gigachat",
            "jina-v2-es",
            "jina-v2-de",
            "a.x-4.0",
            "mellum",
            "modern-bert",
            "jina-v1-en",
            "jina-v2-code",
            "roberta-bpe",
            "exaone4",
            "mpt",
            "olmo",
            "jais",
        ],
        PreRegex::Gpt2,
        false,
        false,
        true,
    ),
    (
        &["trillion", "granite-docling"],
        PreRegex::Gpt2,
        false,
        false,
        false,
    ),
    (
        &[
            "qwen2",
            "deepseek-r1-qwen",
            "kormo",
            "f2llmv2",
            "hunyuan",
            "solar-open",
            "grok-2",
        ],
        PreRegex::Qwen2,
        false,
        false,
        false,
    ),
    (&["megrez"], PreRegex::Qwen2, false, false, true),
    (
        &["gpt-4o", "llama4", "kanana2", "talkie"],
        PreRegex::Gpt4o,
        false,
        false,
        false,
    ),
    (
        &["smollm", "command-r"],
        PreRegex::DigitsGpt2,
        false,
        false,
        false,
    ),
    (
        &["refact", "codeshell", "exaone", "minerva-7b", "mellum2"],
        PreRegex::DigitsGpt2,
        false,
        false,
        true,
    ),
];

fn pre_spec(name: &str) -> Option<PreSpec> {
    PRE_TOKENIZERS
        .iter()
        .find(|(names, ..)| names.contains(&name))
        .map(
            |&(_, regex, ignore_merges, add_bos, clean_spaces)| PreSpec {
                regex,
                ignore_merges,
                add_bos,
                clean_spaces,
            },
        )
}

/// The supported names, for the error that names an unknown one.
fn supported_pre() -> String {
    let names: Vec<&str> = PRE_TOKENIZERS
        .iter()
        .flat_map(|(names, ..)| names.iter().copied())
        .filter(|n| !n.is_empty())
        .collect();
    names.join(", ")
}

/// The settings decided by the model type and pre-tokenizer, before the flag keys
/// (`tokenizer.ggml.add_*`) override them.
struct ModelConfig {
    kind: Kind,
    pre_name: String,
    pre: Option<PreRegex>,
    ignore_merges: bool,
    add_space_prefix: bool,
    add_bos: bool,
    add_eos: bool,
    clean_spaces: bool,
    default_ids: DefaultIds,
}

impl ModelConfig {
    /// From `tokenizer.ggml.model`, `tokenizer.ggml.pre` and `tokenizer.ggml.add_space_prefix`.
    fn read(meta: &Metadata) -> Result<ModelConfig> {
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
        let default_ids = match kind {
            Kind::Spm => DefaultIds {
                bos: Some(1),
                eos: Some(2),
                unk: Some(0),
            },
            Kind::Bpe => DefaultIds {
                bos: Some(11),
                eos: Some(11),
                unk: None,
            },
        };
        let mut cfg = match kind {
            Kind::Spm => ModelConfig {
                kind,
                pre_name,
                pre: None,
                ignore_merges: false,
                add_space_prefix: true,
                add_bos: true,
                add_eos: false,
                clean_spaces: false,
                default_ids,
            },
            Kind::Bpe => {
                let spec = pre_spec(&pre_name).ok_or_else(|| Error::UnknownPreTokenizer {
                    pre: pre_name.clone(),
                    supported: supported_pre(),
                })?;
                ModelConfig {
                    kind,
                    pre_name,
                    pre: Some(spec.regex),
                    ignore_merges: spec.ignore_merges,
                    add_space_prefix: false,
                    add_bos: spec.add_bos,
                    add_eos: false,
                    clean_spaces: spec.clean_spaces,
                    default_ids,
                }
            }
        };
        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_space_prefix")? {
            cfg.add_space_prefix = v;
        }
        Ok(cfg)
    }

    /// `tokenizer.ggml.add_bos_token` / `add_eos_token`. Read after the special ids, as
    /// llama.cpp does: the order decides which error a vocabulary with several bad keys gets.
    fn read_add_special(&mut self, meta: &Metadata) -> Result<()> {
        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_bos_token")? {
            self.add_bos = v;
        }
        if let Some(v) = meta.opt_bool("tokenizer.ggml.add_eos_token")? {
            self.add_eos = v;
        }
        Ok(())
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
        let mut cfg = ModelConfig::read(meta)?;
        let mut vocab = read_vocab(meta)?;
        let merges = match cfg.kind {
            Kind::Spm => bpe::Merges::default(),
            Kind::Bpe => bpe::Merges::new(&vocab, meta.get_str_array(KEY_MERGES)?.iter()),
        };
        let mut special = special_ids::read_ids(meta, vocab.len(), cfg.default_ids)?;
        cfg.read_add_special(meta)?;

        special_ids::detect_by_text(&mut vocab, &mut special);
        special_ids::mark_unused(&mut vocab);
        let eog = special_ids::eog_set(&mut vocab, &special);
        let matchable = special_ids::matchable_ids(&vocab);
        special_ids::apply_fixups_by_name(meta, &cfg.pre_name, &mut vocab, &matchable)?;
        let specials = Specials::new(&vocab, matchable);

        let mut tok = Tokenizer {
            kind: cfg.kind,
            vocab,
            merges,
            pre: cfg.pre,
            pre_name: cfg.pre_name,
            ignore_merges: cfg.ignore_merges,
            add_space_prefix: cfg.add_space_prefix,
            add_bos: cfg.add_bos,
            add_eos: cfg.add_eos,
            clean_spaces: cfg.clean_spaces,
            special,
            eog,
            specials,
        };
        tok.check_add_special()?;
        tok.special.nl = tok.newline_token();
        Ok(tok)
    }

    /// A vocabulary that asks for BOS / EOS must have it: `encode` would silently drop it.
    fn check_add_special(&self) -> Result<()> {
        if self.add_bos && self.special.bos.is_none() {
            return Err(Error::InvalidVocab {
                reason: "tokenizer.ggml.add_bos_token is set but the vocabulary has no BOS token"
                    .into(),
            });
        }
        if self.add_eos && self.special.eos.is_none() {
            return Err(Error::InvalidVocab {
                reason: "tokenizer.ggml.add_eos_token is set but the vocabulary has no EOS token"
                    .into(),
            });
        }
        Ok(())
    }

    /// The newline token, computed as llama.cpp does before special tokens are known.
    fn newline_token(&self) -> Option<u32> {
        match self.kind {
            Kind::Spm => self.vocab.byte_token(b'\n'),
            Kind::Bpe => {
                let mut out = Vec::new();
                self.encode_fragment("\n", &mut out);
                out.first().copied()
            }
        }
    }
}

/// The tokens, their scores and types, and the byte-fallback table.
fn read_vocab(meta: &Metadata) -> Result<Vocab> {
    let tokens = meta.get_str_array(KEY_TOKENS)?;
    let n = tokens.len();
    if n == 0 {
        return Err(Error::InvalidVocab {
            reason: format!("{KEY_TOKENS} is empty"),
        });
    }
    let mut vocab = Vocab::build(token_texts(tokens))?;
    vocab.scores = read_scores(meta, n)?;
    vocab.attrs = read_token_types(meta, n)?;
    vocab.byte_tokens = (0..=255u8)
        .map(|b| {
            vocab.token_id(&format!("<0x{b:02X}>")).or_else(|| {
                core::str::from_utf8(&[b])
                    .ok()
                    .and_then(|s| vocab.token_id(s))
            })
        })
        .collect();
    Ok(vocab)
}

/// Token texts, an empty one replaced by `[EMPTY_<id>]` as in llama.cpp.
fn token_texts(tokens: &StringArray) -> impl ExactSizeIterator<Item = String> + '_ {
    tokens.iter().enumerate().map(|(i, t)| {
        if t.is_empty() {
            format!("[EMPTY_{i}]")
        } else {
            t.to_owned()
        }
    })
}

/// `tokenizer.ggml.scores` (f32 or i32), zeros when absent.
fn read_scores(meta: &Metadata, n: usize) -> Result<Vec<f32>> {
    let Some(a) = meta.opt_array(KEY_SCORES)? else {
        return Ok(vec![0.0; n]);
    };
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
    Ok(scores
        .into_iter()
        .map(|s| {
            if s.is_nan() {
                f32::NEG_INFINITY
            } else {
                s + 0.0
            }
        })
        .collect())
}

/// `tokenizer.ggml.token_type` as attributes, all normal when absent.
fn read_token_types(meta: &Metadata, n: usize) -> Result<Vec<TokenAttr>> {
    let Some(a) = meta.opt_array(KEY_TYPES)? else {
        return Ok(vec![TokenAttr::NORMAL; n]);
    };
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
    Ok(types
        .iter()
        .take(n)
        .map(|&t| TokenAttr::from_token_type(t))
        .collect())
}
