//! The merge loop SentencePiece and BPE share (llama.cpp's `llm_symbol` list plus a priority
//! queue of adjacent pairs): start from one symbol per character, repeatedly merge the best
//! queued pair, and queue the new neighbours. O(n log n) in the text length. The tokenizers
//! differ only in which pairs may merge and how pairs are ranked.

use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy)]
pub(super) struct Symbol {
    pub start: usize,
    pub len: usize,
    pub prev: Option<usize>,
    pub next: Option<usize>,
}

/// A queued pair of adjacent symbols; its `Ord` is the tokenizer's priority (max first).
pub(super) trait Pair: Ord {
    fn left(&self) -> usize;
    fn right(&self) -> usize;
    /// Byte length of the merged symbol when the pair was queued (detects stale pairs).
    fn size(&self) -> usize;
}

/// Fills `symbols` with one symbol per character of `text`.
pub(super) fn char_symbols(text: &str, symbols: &mut Vec<Symbol>) {
    symbols.clear();
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
}

/// Merges until no queued pair is left. `pair(symbols, l, r)` says whether symbols `l` and
/// `r` (adjacent) may merge and with what priority. Merged-away symbols keep `len == 0`.
pub(super) fn merge<P: Pair>(
    symbols: &mut [Symbol],
    queue: &mut BinaryHeap<P>,
    mut pair: impl FnMut(&[Symbol], usize, usize) -> Option<P>,
) {
    queue.clear();
    let mut add =
        |symbols: &[Symbol], queue: &mut BinaryHeap<P>, l: Option<usize>, r: Option<usize>| {
            if let (Some(l), Some(r)) = (l, r) {
                if l < symbols.len() && r < symbols.len() {
                    if let Some(p) = pair(symbols, l, r) {
                        queue.push(p);
                    }
                }
            }
        };
    for i in 1..symbols.len() {
        add(symbols, queue, Some(i - 1), Some(i));
    }
    while let Some(b) = queue.pop() {
        let (l, r) = (symbols[b.left()], symbols[b.right()]);
        // Stale: one side was merged away or grew since the pair was queued.
        if l.len == 0 || r.len == 0 || l.len + r.len != b.size() {
            continue;
        }
        symbols[b.left()].len += r.len;
        symbols[b.right()].len = 0;
        symbols[b.left()].next = r.next;
        if let Some(n) = r.next {
            symbols[n].prev = Some(b.left());
        }
        let left = symbols[b.left()];
        add(symbols, queue, left.prev, Some(b.left()));
        add(symbols, queue, Some(b.left()), left.next);
    }
}
