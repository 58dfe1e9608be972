//! GPT-2 byte-level BPE (`tokenizer.ggml.model = gpt2`), as llama.cpp's
//! `llm_tokenizer_bpe_session`: pre-tokenize into words, map each word's bytes to GPT-2's
//! printable code points, merge adjacent symbols by merge rank (lowest first, ties leftmost)
//! with a binary heap, then look every symbol up in the vocabulary.

use core::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::merge::{char_symbols, merge, Pair, Symbol};
use super::pretok::{self, PreRegex};
use super::unicode::byte_to_char;
use super::Vocab;

/// `tokenizer.ggml.merges` as ranks of (left, right) string pairs. Each side is interned: a
/// vocabulary token uses its id, any other string gets an id past the vocabulary.
#[derive(Debug, Clone, Default)]
pub(super) struct Merges {
    extra: HashMap<Box<str>, u32>,
    ranks: HashMap<(u32, u32), u32>,
}

impl Merges {
    pub(super) fn new(vocab: &Vocab, merges: impl Iterator<Item = impl AsRef<str>>) -> Merges {
        let mut m = Merges::default();
        for (rank, line) in merges.enumerate() {
            let line = line.as_ref();
            // llama.cpp splits at the first space after the first byte; a line without one
            // becomes the pair ("", "") that no symbol can match.
            let space = line.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1);
            let (first, second) = match space {
                Some(p) => (line.get(..p).unwrap_or(""), line.get(p + 1..).unwrap_or("")),
                None => ("", ""),
            };
            let a = m.intern(vocab, first);
            let b = m.intern(vocab, second);
            let rank = u32::try_from(rank).unwrap_or(u32::MAX);
            // `emplace`: the first occurrence of a pair keeps its rank.
            m.ranks.entry((a, b)).or_insert(rank);
        }
        m
    }

    fn intern(&mut self, vocab: &Vocab, s: &str) -> u32 {
        if let Some(id) = vocab.token_id(s) {
            return id;
        }
        let next = u32::try_from(vocab.len() + self.extra.len()).unwrap_or(u32::MAX);
        *self.extra.entry(s.into()).or_insert(next)
    }

    fn lookup(&self, vocab: &Vocab, s: &str) -> Option<u32> {
        vocab.token_id(s).or_else(|| self.extra.get(s).copied())
    }

    fn rank(&self, vocab: &Vocab, left: &str, right: &str) -> Option<u32> {
        let a = self.lookup(vocab, left)?;
        let b = self.lookup(vocab, right)?;
        self.ranks.get(&(a, b)).copied()
    }

    pub(super) fn len(&self) -> usize {
        self.ranks.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bigram {
    left: usize,
    right: usize,
    rank: u32,
    size: usize,
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Max-heap order: lowest rank first, then the smaller left index.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .rank
            .cmp(&self.rank)
            .then(other.left.cmp(&self.left))
            .then(other.right.cmp(&self.right))
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

/// Tokenizes one raw-text fragment, appending to `out`.
pub(super) fn tokenize(
    vocab: &Vocab,
    merges: &Merges,
    regex: PreRegex,
    ignore_merges: bool,
    text: &str,
    out: &mut Vec<u32>,
) {
    let mut word = String::new();
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut queue: BinaryHeap<Bigram> = BinaryHeap::new();
    for range in pretok::split(regex, text) {
        let raw = text.get(range).unwrap_or("");
        word.clear();
        word.extend(raw.bytes().map(byte_to_char));

        if ignore_merges {
            if let Some(id) = vocab.token_id(&word) {
                out.push(id);
                continue;
            }
        }

        char_symbols(&word, &mut symbols);
        merge(&mut symbols, &mut queue, |symbols, l, r| {
            let (ls, rs) = (symbols[l], symbols[r]);
            let lt = word.get(ls.start..ls.start + ls.len)?;
            let rt = word.get(rs.start..rs.start + rs.len)?;
            merges.rank(vocab, lt, rt).map(|rank| Bigram {
                left: l,
                right: r,
                rank,
                size: ls.len + rs.len,
            })
        });

        for s in symbols.iter().filter(|s| s.len > 0) {
            let piece = word.get(s.start..s.start + s.len).unwrap_or("");
            match vocab.token_id(piece) {
                Some(id) => out.push(id),
                None => {
                    // llama.cpp looks each byte of the encoded symbol up as a one-byte token
                    // and drops the bytes that are not tokens.
                    for &b in piece.as_bytes() {
                        let one = [b];
                        if let Some(id) = core::str::from_utf8(&one)
                            .ok()
                            .and_then(|s| vocab.token_id(s))
                        {
                            out.push(id);
                        }
                    }
                }
            }
        }
    }
}
