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

mod attr;
mod bpe;
mod detok;
mod load;
mod merge;
mod pretok;
mod pretok_gpt4o;
mod special;
mod special_ids;
mod spm;
mod unicode;
mod unicode_table;
mod vocab;

use core::fmt;

pub use attr::TokenAttr;
pub use detok::StreamDecoder;
pub use pretok::PreRegex;

use special::{Fragment, Specials};
use vocab::Vocab;

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

impl Tokenizer {
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
