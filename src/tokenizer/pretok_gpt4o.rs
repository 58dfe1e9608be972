//! GPT-4o's pre-tokenizer expression (Phi-4-mini, Llama 4) as llama.cpp runs it. llama.cpp has
//! no custom splitter for it: `unicode_regex_split` hands this expression to `std::regex`
//! (ECMAScript) over a *collapsed* copy of the text, one byte per code point — ASCII as is, a
//! non-ASCII whitespace → `\v`, a letter → 0xD2, a number → 0xD1, anything else another byte
//! ≥ 0xD0 — with `\p{L}` rewritten to `[\xD2A-Za-z]` and `\p{N}` to `[\xD10-9]`:
//!
//! ```text
//! [^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?
//! |[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:…same contractions…)?
//! |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//! ```
//!
//! (The tokenizer.json original, with `\p{Lu}`/`\p{Ll}` classes and `(?i:…)`, is commented out
//! in llama.cpp.) On the collapsed text every non-ASCII letter is both "upper" (`[^a-z]`) and
//! "lower" (`[^A-Z]`), so `ÉCOLE` splits as `É` + `COLE`, unlike Hugging Face. This module
//! reproduces that: each alternative is matched with ECMAScript's leftmost-first, greedy,
//! backtracking semantics, worked out per alternative (no regex engine).

use super::unicode;

const OTHER: u8 = 0xD0;
const NUMBER: u8 = 0xD1;
const LETTER: u8 = 0xD2;

/// The collapsed byte of one code point (llama.cpp `unicode_regex_split`'s `text_collapsed`;
/// the other categories' bytes, 0xD3–0xD5, act as 0xD0 in this expression).
fn collapse(cp: u32) -> u8 {
    if cp < 128 {
        return cp as u8;
    }
    if unicode::is_whitespace(cp) {
        return 0x0B;
    }
    match unicode::category(cp) {
        unicode::LETTER => LETTER,
        unicode::NUMBER => NUMBER,
        _ => OTHER,
    }
}

/// `\s` of std::regex in the C locale.
fn space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == LETTER
}

fn number(b: u8) -> bool {
    b.is_ascii_digit() || b == NUMBER
}

/// `(?=[\p{L}])([^a-z])`
fn upper(b: u8) -> bool {
    letter(b) && !b.is_ascii_lowercase()
}

/// `(?=[\p{L}])([^A-Z])`
fn lower(b: u8) -> bool {
    letter(b) && !b.is_ascii_uppercase()
}

/// `[^\r\n\p{L}\p{N}]`
fn prefix(b: u8) -> bool {
    b != b'\r' && b != b'\n' && !letter(b) && !number(b)
}

fn run(t: &[u8], from: usize, class: fn(u8) -> bool) -> usize {
    t.get(from..)
        .map_or(0, |s| s.iter().take_while(|&&b| class(b)).count())
}

/// The optional contraction at `at`: its length (0 when none).
fn contraction(t: &[u8], at: usize) -> usize {
    let lc = |i: usize| t.get(at + i).map(u8::to_ascii_lowercase);
    if t.get(at) != Some(&b'\'') {
        return 0;
    }
    match (lc(1), lc(2)) {
        (Some(b's' | b't' | b'm' | b'd'), _) => 2,
        (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => 3,
        _ => 0,
    }
}

/// The end of the match starting at `pos`, trying the alternatives in order.
fn match_at(t: &[u8], pos: usize) -> Option<usize> {
    let first = *t.get(pos)?;
    // `P?` greedy: with the prefix first, then without.
    let starts = [(prefix(first)).then_some(pos + 1), Some(pos)];
    // P? U* L+ C?: U* gives back until an L follows (U and L share the non-ASCII letters).
    for s in starts.iter().flatten().copied() {
        let u_max = run(t, s, upper);
        if let Some(u) = (0..=u_max)
            .rev()
            .find(|&u| t.get(s + u).is_some_and(|&b| lower(b)))
        {
            let e = s + u + run(t, s + u, lower);
            return Some(e + contraction(t, e));
        }
    }
    // P? U+ L* C?
    for s in starts.iter().flatten().copied() {
        let u = run(t, s, upper);
        if u > 0 {
            let e = s + u + run(t, s + u, lower);
            return Some(e + contraction(t, e));
        }
    }
    // \p{N}{1,3}
    if number(first) {
        return Some(pos + run(t, pos, number).min(3));
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    let symbol = |b: u8| !space(b) && !letter(b) && !number(b);
    for s in [(first == b' ').then_some(pos + 1), Some(pos)]
        .into_iter()
        .flatten()
    {
        let r = run(t, s, symbol);
        if r > 0 {
            let e = s + r;
            return Some(e + run(t, e, |b| matches!(b, b'\r' | b'\n' | b'/')));
        }
    }
    let w = run(t, pos, space);
    // `\s*[\r\n]+`: \s* backs off to the last line break of the run.
    if let Some(k) = (0..w).rev().find(|&k| matches!(t[pos + k], b'\r' | b'\n')) {
        return Some(pos + k + run(t, pos + k, |b| matches!(b, b'\r' | b'\n')));
    }
    // `\s+(?!\S)`, then `\s+`
    match w {
        0 => None,
        _ if pos + w == t.len() => Some(pos + w),
        1 => Some(pos + 1),
        _ => Some(pos + w - 1),
    }
}

/// Splits each segment of `cpts` (lengths `offsets`) as `std::regex_iterator` walks the
/// matches (llama.cpp `unicode_regex_split_stl`): text between matches and each match become
/// words.
pub fn split(cpts: &[u32], offsets: &[usize]) -> Vec<usize> {
    let collapsed: Vec<u8> = cpts.iter().map(|&c| collapse(c)).collect();
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0usize;
    for &len in offsets {
        let t = collapsed.get(start..start + len).unwrap_or(&[]);
        let (mut at, mut pos) = (0usize, 0usize);
        while pos < t.len() {
            match match_at(t, pos) {
                Some(end) if end > pos => {
                    if pos > at {
                        out.push(pos - at);
                    }
                    out.push(end - pos);
                    at = end;
                    pos = end;
                }
                _ => pos += 1,
            }
        }
        if at < t.len() {
            out.push(t.len() - at);
        }
        start += len;
    }
    out
}
