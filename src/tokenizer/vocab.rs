//! The vocabulary and its text → id index.

use crate::error::{Error, Result};

use super::TokenAttr;

/// The vocabulary: token texts in one buffer, an open-addressing text → id index, scores
/// and attributes.
#[derive(Clone)]
pub(crate) struct Vocab {
    data: String,
    ends: Vec<usize>,
    slots: Vec<u32>,
    pub(super) max_token_len: usize,
    // Set by the metadata loader after `build`: the byte-token table is looked up in the index.
    pub(super) scores: Vec<f32>,
    pub(super) attrs: Vec<TokenAttr>,
    pub(super) byte_tokens: Vec<Option<u32>>,
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
    pub(super) fn build(texts: impl ExactSizeIterator<Item = String>) -> Result<Vocab> {
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

    pub(super) fn attr_mut(&mut self, id: u32) -> Option<&mut TokenAttr> {
        self.attrs.get_mut(id as usize)
    }

    /// SentencePiece byte fallback (llama.cpp `byte_to_token`): `<0xNN>`, else the one-byte
    /// token. llama.cpp throws when neither exists; the SentencePiece session then emits the
    /// unknown token instead.
    pub(crate) fn byte_token(&self, b: u8) -> Option<u32> {
        self.byte_tokens.get(usize::from(b)).copied().flatten()
    }
}
