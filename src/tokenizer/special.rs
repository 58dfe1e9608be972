//! Splitting a prompt at special-token text, with the result of llama.cpp's
//! `tokenizer_st_partition` but without its cost.
//!
//! llama.cpp walks its special tokens longest first and, for each, splits every remaining text
//! fragment at each (left-to-right, non-overlapping) occurrence: a longer token always wins
//! over a shorter one, wherever they are. Doing that literally costs
//! O(#special tokens × text length) — 6,400 tokens × 100 KB for Gemma. Here a trie walk finds
//! every occurrence of every special token in one pass, and the same priority order is then
//! replayed on those occurrences only. When the text nests very many matches (long runs of
//! newlines against Gemma's "\n"×1..31 tokens), the literal algorithm restricted to the tokens
//! that occur is used instead, which is cheap exactly in that case. Both give identical
//! fragments (tested against each other).

use core::ops::Range;
use std::collections::HashMap;

use super::unicode::is_c_space;
use super::{TokenAttr, Vocab};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fragment {
    Text(Range<usize>),
    Token(u32),
}

/// The special tokens (control, user-defined, unknown) in llama.cpp's `cache_special_tokens`
/// order, and a trie over their texts.
#[derive(Debug, Clone, Default)]
pub(super) struct Specials {
    /// Token ids, longest text first (ties by id: llama.cpp's `std::sort` leaves their order
    /// unspecified; it only matters for equal-length tokens that overlap in a text).
    order: Vec<u32>,
    /// Trie edges: (node, byte) → child node. Node 0 is the root.
    edges: HashMap<(u32, u8), u32>,
    /// Rank in `order` of the token ending at each node.
    terminal: Vec<Option<u32>>,
    first_byte: Vec<bool>,
}

/// Matches per byte of text above which the literal partition is used.
const MAX_MATCHES_PER_BYTE: usize = 4;
const MAX_MATCHES_SLACK: usize = 4096;

impl Specials {
    pub(super) fn new(vocab: &Vocab, mut order: Vec<u32>) -> Specials {
        order.sort_by(|&a, &b| {
            let (la, lb) = (vocab.text_len(a), vocab.text_len(b));
            lb.cmp(&la).then(a.cmp(&b))
        });
        let mut s = Specials {
            order,
            edges: HashMap::new(),
            terminal: vec![None],
            first_byte: vec![false; 256],
        };
        for rank in 0..s.order.len() {
            let id = s.order[rank];
            let text = vocab.text(id).unwrap_or("");
            let Some(&b0) = text.as_bytes().first() else {
                continue;
            };
            s.first_byte[usize::from(b0)] = true;
            let mut node = 0u32;
            for &b in text.as_bytes() {
                let next = s.terminal.len() as u32;
                node = *s.edges.entry((node, b)).or_insert_with(|| next);
                if node == next {
                    s.terminal.push(None);
                }
            }
            if let Some(t) = s.terminal.get_mut(node as usize) {
                t.get_or_insert(rank as u32);
            }
        }
        s
    }

    pub(super) fn ids(&self) -> &[u32] {
        &self.order
    }

    fn eligible(vocab: &Vocab, id: u32, parse_special: bool) -> bool {
        parse_special
            || !vocab
                .attr(id)
                .intersects(TokenAttr::CONTROL | TokenAttr::UNKNOWN)
    }

    /// Every occurrence (start, rank) of an eligible special token, by increasing start.
    fn for_each_match(
        &self,
        vocab: &Vocab,
        text: &[u8],
        parse_special: bool,
        mut f: impl FnMut(usize, u32),
    ) {
        for p in 0..text.len() {
            if !self
                .first_byte
                .get(usize::from(text[p]))
                .copied()
                .unwrap_or(false)
            {
                continue;
            }
            let mut node = 0u32;
            for &b in &text[p..] {
                match self.edges.get(&(node, b)) {
                    Some(&n) => node = n,
                    None => break,
                }
                if let Some(Some(rank)) = self.terminal.get(node as usize) {
                    if let Some(&id) = self.order.get(*rank as usize) {
                        if Self::eligible(vocab, id, parse_special) {
                            f(p, *rank);
                        }
                    }
                }
            }
        }
    }

    pub(super) fn partition(
        &self,
        vocab: &Vocab,
        text: &str,
        parse_special: bool,
    ) -> Vec<Fragment> {
        self.partition_with(vocab, text, parse_special, None)
    }

    /// `literal`: `Some(true)` / `Some(false)` forces the literal / occurrence-replay path.
    pub(super) fn partition_with(
        &self,
        vocab: &Vocab,
        text: &str,
        parse_special: bool,
        literal: Option<bool>,
    ) -> Vec<Fragment> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Vec::new();
        }
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut total = 0usize;
        self.for_each_match(vocab, bytes, parse_special, |_, rank| {
            *counts.entry(rank).or_insert(0) += 1;
            total += 1;
        });
        if counts.is_empty() {
            return vec![Fragment::Text(0..bytes.len())];
        }
        let mut ranks: Vec<u32> = counts.keys().copied().collect();
        ranks.sort_unstable();

        let literal =
            literal.unwrap_or(total > MAX_MATCHES_PER_BYTE * bytes.len() + MAX_MATCHES_SLACK);
        if literal {
            return self.partition_literal(vocab, text, &ranks);
        }

        // Bucket the occurrences by rank (counting sort); starts stay increasing per rank.
        let mut first: HashMap<u32, usize> = HashMap::with_capacity(ranks.len());
        let mut at = 0usize;
        for &r in &ranks {
            first.insert(r, at);
            at += counts.get(&r).copied().unwrap_or(0) as usize;
        }
        let offsets = first.clone();
        let mut starts = vec![0usize; total];
        self.for_each_match(vocab, bytes, parse_special, |p, rank| {
            if let Some(slot) = first.get_mut(&rank) {
                if let Some(s) = starts.get_mut(*slot) {
                    *s = p;
                }
                *slot += 1;
            }
        });

        let by_rank = |rank: u32| {
            let from = offsets.get(&rank).copied().unwrap_or(0);
            let n = counts.get(&rank).copied().unwrap_or(0) as usize;
            starts.get(from..from + n).unwrap_or(&[])
        };
        let (alive, taken) = self.claim(vocab, bytes, &ranks, by_rank);
        fragments(&alive, &taken)
    }

    /// Replays llama.cpp's order: tokens by rank, each left to right (`starts_of(rank)`, in
    /// increasing order), taking an occurrence when all its bytes are still unclaimed text.
    /// Returns which bytes stay text and the (start, length, id) taken, sorted by start.
    fn claim<'a>(
        &self,
        vocab: &Vocab,
        bytes: &[u8],
        ranks: &[u32],
        starts_of: impl Fn(u32) -> &'a [usize],
    ) -> (Vec<bool>, Vec<(usize, usize, u32)>) {
        let mut alive = vec![true; bytes.len()];
        let mut taken: Vec<(usize, usize, u32)> = Vec::new();
        for &rank in ranks {
            let Some(&id) = self.order.get(rank as usize) else {
                continue;
            };
            let len = vocab.text_len(id);
            let attr = vocab.attr(id);
            for &p in starts_of(rank) {
                let Some(span) = alive.get(p..p + len) else {
                    continue;
                };
                if !span.iter().all(|&a| a) {
                    continue;
                }
                alive[p..p + len].fill(false);
                taken.push((p, len, id));
                if attr.contains(TokenAttr::LSTRIP) {
                    let mut q = p;
                    while q > 0 && alive[q - 1] && is_c_space(bytes[q - 1]) {
                        alive[q - 1] = false;
                        q -= 1;
                    }
                }
                if attr.contains(TokenAttr::RSTRIP) {
                    let mut q = p + len;
                    while q < bytes.len() && alive[q] && is_c_space(bytes[q]) {
                        alive[q] = false;
                        q += 1;
                    }
                }
            }
        }
        taken.sort_unstable();
        (alive, taken)
    }

    /// llama.cpp's algorithm, over the given ranks only (tokens that do not occur cannot
    /// split anything).
    pub(super) fn partition_literal(
        &self,
        vocab: &Vocab,
        text: &str,
        ranks: &[u32],
    ) -> Vec<Fragment> {
        let bytes = text.as_bytes();
        let mut frags = vec![Fragment::Text(0..bytes.len())];
        for &rank in ranks {
            let Some(&id) = self.order.get(rank as usize) else {
                continue;
            };
            let Some(needle) = vocab.text(id) else {
                continue;
            };
            let attr = vocab.attr(id);
            let mut next = Vec::with_capacity(frags.len() + 2);
            for frag in frags {
                let Fragment::Text(range) = frag else {
                    next.push(frag);
                    continue;
                };
                let (mut base, end) = (range.start, range.end);
                loop {
                    let found = text.get(base..end).and_then(|h| h.find(needle));
                    let Some(rel) = found else {
                        if base < end {
                            next.push(Fragment::Text(base..end));
                        }
                        break;
                    };
                    let m = base + rel;
                    if m > base {
                        let mut left_end = m;
                        if attr.contains(TokenAttr::LSTRIP) {
                            while left_end > base && is_c_space(bytes[left_end - 1]) {
                                left_end -= 1;
                            }
                        }
                        if left_end > base {
                            next.push(Fragment::Text(base..left_end));
                        }
                    }
                    next.push(Fragment::Token(id));
                    let mut right = m + needle.len();
                    if right >= end {
                        break;
                    }
                    if attr.contains(TokenAttr::RSTRIP) {
                        while right < end && is_c_space(bytes[right]) {
                            right += 1;
                        }
                    }
                    base = right;
                }
            }
            frags = next;
        }
        frags
    }
}

/// The taken tokens in order, with the runs of still-alive bytes between them as text.
fn fragments(alive: &[bool], taken: &[(usize, usize, u32)]) -> Vec<Fragment> {
    let mut out = Vec::with_capacity(2 * taken.len() + 1);
    let push_alive = |out: &mut Vec<Fragment>, range: Range<usize>| {
        let mut run: Option<usize> = None;
        for q in range.clone() {
            match (alive[q], run) {
                (true, None) => run = Some(q),
                (false, Some(s)) => {
                    out.push(Fragment::Text(s..q));
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run {
            out.push(Fragment::Text(s..range.end));
        }
    };
    let mut cur = 0usize;
    for &(p, len, id) in taken {
        push_alive(&mut out, cur..p);
        out.push(Fragment::Token(id));
        cur = p + len;
    }
    push_alive(&mut out, cur..alive.len());
    out
}
