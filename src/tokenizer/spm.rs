//! SentencePiece (`tokenizer.ggml.model = llama`) merging, as llama.cpp's
//! `llm_tokenizer_spm_session`: start from UTF-8 characters, repeatedly merge the adjacent
//! pair whose concatenation is the vocabulary token with the highest score (ties: leftmost),
//! then emit each symbol's token or, when it is not a token, its bytes as `<0xNN>` tokens.
//! A binary heap keeps this O(n log n) in the text length.

use core::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Vocab;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

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

/// Tokenizes one escaped fragment (spaces already replaced by `▁`), appending to `out`.
pub(super) fn tokenize(vocab: &Vocab, text: &str, unk: Option<u32>, out: &mut Vec<u32>) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (start, c) in text.char_indices() {
        let i = symbols.len();
        let len = c.len_utf8();
        symbols.push(Symbol {
            start,
            len,
            prev: i.checked_sub(1),
            next: if start + len == text.len() {
                None
            } else {
                Some(i + 1)
            },
        });
    }
    if symbols.is_empty() {
        return;
    }

    let mut queue = BinaryHeap::with_capacity(symbols.len());
    let try_add = |symbols: &[Symbol],
                   queue: &mut BinaryHeap<Bigram>,
                   left: Option<usize>,
                   right: Option<usize>| {
        let (Some(l), Some(r)) = (left, right) else {
            return;
        };
        let (Some(ls), Some(rs)) = (symbols.get(l), symbols.get(r)) else {
            return;
        };
        let size = ls.len + rs.len;
        if size > vocab.max_token_len {
            return;
        }
        let Some(piece) = text.get(ls.start..ls.start + size) else {
            return;
        };
        if let Some(id) = vocab.token_id(piece) {
            queue.push(Bigram {
                left: l,
                right: r,
                score: vocab.score(id),
                size,
            });
        }
    };

    for i in 1..symbols.len() {
        try_add(&symbols, &mut queue, Some(i - 1), Some(i));
    }

    while let Some(b) = queue.pop() {
        let (l, r) = (symbols[b.left], symbols[b.right]);
        // Skip bigrams made stale by an earlier merge.
        if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
            continue;
        }
        symbols[b.left].len += r.len;
        symbols[b.right].len = 0;
        symbols[b.left].next = r.next;
        if let Some(n) = r.next {
            symbols[n].prev = Some(b.left);
        }
        let left = symbols[b.left];
        try_add(&symbols, &mut queue, left.prev, Some(b.left));
        try_add(&symbols, &mut queue, Some(b.left), left.next);
    }

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
