//! SentencePiece (`tokenizer.ggml.model = llama`) merging, as llama.cpp's
//! `llm_tokenizer_spm_session`: start from UTF-8 characters, repeatedly merge the adjacent
//! pair whose concatenation is the vocabulary token with the highest score (ties: leftmost),
//! then emit each symbol's token or, when it is not a token, its bytes as `<0xNN>` tokens.
//! A binary heap keeps this O(n log n) in the text length.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

use super::merge::{char_symbols, merge, Pair, Symbol};
use super::Vocab;

#[derive(Debug, Clone, Copy)]
struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Max-heap order: higher score first, then the smaller left index. Scores are finite
    /// (NaN is mapped at load), and -0.0 == 0.0 as in C++.
    fn cmp(&self, other: &Self) -> Ordering {
        match self.score.partial_cmp(&other.score) {
            Some(Ordering::Equal) | None => other.left.cmp(&self.left),
            Some(o) => o,
        }
    }
}

impl Pair for Bigram {
    fn left(&self) -> usize {
        self.left
    }
    fn right(&self) -> usize {
        self.right
    }
    fn size(&self) -> usize {
        self.size
    }
}

/// Tokenizes one escaped fragment (spaces already replaced by `▁`), appending to `out`.
pub(super) fn tokenize(vocab: &Vocab, text: &str, unk: Option<u32>, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    char_symbols(text, &mut symbols);
    if symbols.is_empty() {
        return;
    }

    let mut queue = BinaryHeap::with_capacity(symbols.len());
    merge(&mut symbols, &mut queue, |symbols, l, r| {
        let (ls, rs) = (symbols[l], symbols[r]);
        let size = ls.len + rs.len;
        if size > vocab.max_token_len {
            return None;
        }
        let piece = text.get(ls.start..ls.start + size)?;
        vocab.token_id(piece).map(|id| Bigram {
            left: l,
            right: r,
            score: vocab.score(id),
            size,
        })
    });

    let mut i = Some(0usize);
    while let Some(k) = i {
        let Some(s) = symbols.get(k) else { break };
        let piece = text.get(s.start..s.start + s.len).unwrap_or("");
        match vocab.token_id(piece) {
            Some(id) => out.push(id),
            None => {
                for &b in piece.as_bytes() {
                    // llama.cpp throws when a byte has no token; use the unknown token.
                    out.extend(vocab.byte_token(b).or(unk));
                }
            }
        }
        i = s.next;
    }
}
