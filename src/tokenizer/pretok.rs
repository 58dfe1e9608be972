//! Hand-written pre-tokenizer splitters: the regexes llama.cpp selects by `tokenizer.ggml.pre`,
//! implemented the way its `unicode.cpp` implements them (custom splitters for the GPT-2,
//! Llama 3 and Qwen2 expressions; the "default" set's extra expressions, which llama.cpp runs
//! through `std::regex` on a category-collapsed copy of the text, as equivalent scanners).
//! No regex engine: each splitter is one linear pass over the code points.

use core::ops::Range;

use super::unicode::{self, Flags};

/// The regex set of a pre-tokenizer (llama.cpp `llm_tokenizer_bpe::regex_exprs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreRegex {
    /// `LLAMA_VOCAB_PRE_TYPE_DEFAULT`: `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 expression,
    /// `\p{N}+`, `[0-9][0-9][0-9]`, applied in turn.
    Default,
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
    Gpt2,
    /// Llama 3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`,
    /// ` ?[^\s\p{L}\p{N}]+[\r\n]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
    Llama3,
    /// Qwen2: as Llama 3 but single digits (`\p{N}`).
    Qwen2,
    /// `\p{N}` (every digit alone), then the GPT-2 expression: SmolLM, Command-R, Refact,
    /// CodeShell, EXAONE, Minerva, Mellum 2.
    DigitsGpt2,
    /// GPT-4o (Phi-4-mini, Llama 4): letter runs split by case, `\p{N}{1,3}`, symbols with
    /// trailing `[\r\n/]*` (see `pretok_gpt4o`).
    Gpt4o,
}

const OUT_OF_RANGE: u32 = u32::MAX;

/// Splits `text` into words; returns their byte ranges, in order, covering all of `text`.
pub fn split(regex: PreRegex, text: &str) -> Vec<Range<usize>> {
    let mut cpts = Vec::with_capacity(text.len());
    let mut starts = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        cpts.push(u32::from(c));
        starts.push(i);
    }
    starts.push(text.len());

    let mut offsets = vec![cpts.len()];
    match regex {
        PreRegex::Default => {
            offsets = split_matches(&cpts, &offsets, |seg, from| {
                find_run(seg, from, is_default_punct)
            });
            offsets = split_custom(&cpts, &offsets, gpt2);
            offsets = split_matches(&cpts, &offsets, |seg, from| {
                find_run(seg, from, is_collapsed_number)
            });
            offsets = split_matches(&cpts, &offsets, find_digit_triple);
        }
        PreRegex::Gpt2 => offsets = split_custom(&cpts, &offsets, gpt2),
        PreRegex::DigitsGpt2 => {
            offsets = split_matches(&cpts, &offsets, |seg, from| {
                let at = from
                    + seg
                        .get(from..)?
                        .iter()
                        .position(|&c| is_collapsed_number(c))?;
                Some(at..at + 1)
            });
            offsets = split_custom(&cpts, &offsets, gpt2);
        }
        PreRegex::Llama3 => offsets = split_custom(&cpts, &offsets, |s, o| llama3(s, o, 3)),
        PreRegex::Qwen2 => offsets = split_custom(&cpts, &offsets, |s, o| llama3(s, o, 1)),
        PreRegex::Gpt4o => offsets = super::pretok_gpt4o::split(&cpts, &offsets),
    }

    let mut words = Vec::with_capacity(offsets.len());
    let mut at = 0usize;
    for len in offsets {
        let end = at + len;
        if let (Some(&s), Some(&e)) = (starts.get(at), starts.get(end)) {
            words.push(s..e);
        }
        at = end;
    }
    words
}

/// One segment of the code points, read the way llama.cpp's `_get_cpt`/`_get_flags` read it.
struct Seg<'a> {
    cpts: &'a [u32],
    ini: usize,
    end: usize,
    out: &'a mut Vec<usize>,
    prev_end: usize,
}

impl Seg<'_> {
    fn cpt(&self, pos: usize) -> u32 {
        if self.ini <= pos && pos < self.end {
            self.cpts.get(pos).copied().unwrap_or(OUT_OF_RANGE)
        } else {
            OUT_OF_RANGE
        }
    }

    fn flags(&self, pos: usize) -> Flags {
        match self.cpt(pos) {
            OUT_OF_RANGE => Flags::default(),
            c => Flags::of(c),
        }
    }

    /// `_add_token`: ends the current word at `end`, returns its length.
    fn add(&mut self, end: usize) -> usize {
        let len = end.saturating_sub(self.prev_end);
        if len > 0 {
            self.out.push(len);
        }
        self.prev_end = end;
        len
    }
}

fn split_custom(cpts: &[u32], offsets: &[usize], f: impl Fn(&mut Seg<'_>, usize)) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0usize;
    for &len in offsets {
        let mut seg = Seg {
            cpts,
            ini: start,
            end: start + len,
            out: &mut out,
            prev_end: start,
        };
        f(&mut seg, start);
        start += len;
    }
    out
}

fn is_ascii(c: u32, b: u8) -> bool {
    c == u32::from(b)
}

/// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (+ `\s+`).
fn gpt2(s: &mut Seg<'_>, ini: usize) {
    let end = s.end;
    let mut pos = ini;
    while pos < end {
        let cpt = s.cpt(pos);
        let flags = s.flags(pos);

        if is_ascii(cpt, b'\'') && pos + 1 < end {
            let next = s.cpt(pos + 1);
            if [b's', b't', b'm', b'd'].iter().any(|&b| is_ascii(next, b)) {
                pos += s.add(pos + 2);
                continue;
            }
            if pos + 2 < end {
                let next2 = s.cpt(pos + 2);
                if (is_ascii(next, b'r') && is_ascii(next2, b'e'))
                    || (is_ascii(next, b'v') && is_ascii(next2, b'e'))
                    || (is_ascii(next, b'l') && is_ascii(next2, b'l'))
                {
                    pos += s.add(pos + 3);
                    continue;
                }
            }
        }

        let space = is_ascii(cpt, b' ');
        let mut flags2 = if space { s.flags(pos + 1) } else { flags };
        if flags2.letter {
            pos += usize::from(space);
            while flags2.letter {
                pos += 1;
                flags2 = s.flags(pos);
            }
            s.add(pos);
            continue;
        }
        if flags2.number {
            pos += usize::from(space);
            while flags2.number {
                pos += 1;
                flags2 = s.flags(pos);
            }
            s.add(pos);
            continue;
        }
        if !(flags2.whitespace || flags2.letter || flags2.number) && flags2.present {
            pos += usize::from(space);
            while !(flags2.whitespace || flags2.letter || flags2.number) && flags2.present {
                pos += 1;
                flags2 = s.flags(pos);
            }
            s.add(pos);
            continue;
        }

        let mut n_ws = 0usize;
        while s.flags(pos + n_ws).whitespace {
            n_ws += 1;
        }
        if n_ws > 1 && s.cpt(pos + n_ws) != OUT_OF_RANGE {
            pos += n_ws - 1;
            s.add(pos);
            continue;
        }
        if n_ws > 0 {
            pos += n_ws;
            s.add(pos);
            continue;
        }
        pos += 1;
        s.add(pos);
    }
}

/// ASCII lower-casing: the only `unicode_tolower` results that the contraction test can
/// match ('s' 't' 'm' 'd' 'r' 'e' 'v' 'l') come from ASCII capitals (İ → i and K → k are the
/// only non-ASCII code points mapping into ASCII).
fn lower(c: u32) -> u32 {
    if (u32::from(b'A')..=u32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// Llama 3 (`max_digits` = 3) and Qwen2 (`max_digits` = 1).
fn llama3(s: &mut Seg<'_>, ini: usize, max_digits: usize) {
    let mut pos = ini;
    while pos < s.end {
        // The regex's alternatives, in order; each gives the end of its match.
        let end = contraction(s, pos)
            .or_else(|| letters(s, pos))
            .or_else(|| digits(s, pos, max_digits))
            .or_else(|| punctuation(s, pos))
            .unwrap_or_else(|| whitespace(s, pos));
        s.add(end);
        pos = end;
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)`
fn contraction(s: &Seg<'_>, pos: usize) -> Option<usize> {
    if !is_ascii(s.cpt(pos), b'\'') || pos + 1 >= s.end {
        return None;
    }
    let next = lower(s.cpt(pos + 1));
    if [b's', b't', b'm', b'd'].iter().any(|&b| is_ascii(next, b)) {
        return Some(pos + 2);
    }
    if pos + 2 < s.end {
        let next2 = lower(s.cpt(pos + 2));
        if (is_ascii(next, b'r') && is_ascii(next2, b'e'))
            || (is_ascii(next, b'v') && is_ascii(next2, b'e'))
            || (is_ascii(next, b'l') && is_ascii(next2, b'l'))
        {
            return Some(pos + 3);
        }
    }
    None
}

/// `[^\r\n\p{L}\p{N}]?\p{L}+`
fn letters(s: &Seg<'_>, mut pos: usize) -> Option<usize> {
    let cpt = s.cpt(pos);
    let cr_lf = is_ascii(cpt, b'\r') || is_ascii(cpt, b'\n');
    if cr_lf || s.flags(pos).number || !(s.flags(pos).letter || s.flags(pos + 1).letter) {
        return None;
    }
    pos += 1;
    while s.flags(pos).letter {
        pos += 1;
    }
    Some(pos)
}

/// `\p{N}{1,3}` (Llama 3) or `\p{N}` (Qwen2): a longer run of digits is split into groups of
/// `max_digits` from its start.
fn digits(s: &mut Seg<'_>, mut pos: usize, max_digits: usize) -> Option<usize> {
    if !s.flags(pos).number {
        return None;
    }
    if max_digits == 1 {
        return Some(pos + 1);
    }
    let mut run = pos;
    while s.flags(pos).number {
        pos += 1;
        if pos - run >= max_digits {
            s.add(pos);
            run = pos;
        }
    }
    Some(pos)
}

/// `<space>?[^\s\p{L}\p{N}]+[\r\n]*`
fn punctuation(s: &Seg<'_>, mut pos: usize) -> Option<usize> {
    let flags = s.flags(pos);
    let space = is_ascii(s.cpt(pos), b' ');
    let mut flags2 = if space { s.flags(pos + 1) } else { flags };
    if flags2.whitespace || flags2.letter || flags2.number || !flags.present {
        return None;
    }
    pos += usize::from(space);
    while !(flags2.whitespace || flags2.letter || flags2.number) && flags2.present {
        pos += 1;
        flags2 = s.flags(pos);
    }
    while is_ascii(s.cpt(pos), b'\r') || is_ascii(s.cpt(pos), b'\n') {
        pos += 1;
    }
    Some(pos)
}

/// `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`, or else one code point.
fn whitespace(s: &Seg<'_>, pos: usize) -> usize {
    let mut n_ws = 0usize;
    let mut last_cr_lf_end = 0usize;
    while s.flags(pos + n_ws).whitespace {
        let c2 = s.cpt(pos + n_ws);
        if is_ascii(c2, b'\r') || is_ascii(c2, b'\n') {
            last_cr_lf_end = pos + n_ws + 1;
        }
        n_ws += 1;
    }
    if last_cr_lf_end > 0 {
        last_cr_lf_end
    } else if n_ws > 1 && s.cpt(pos + n_ws) != OUT_OF_RANGE {
        pos + n_ws - 1
    } else if n_ws > 0 {
        pos + n_ws
    } else {
        pos + 1
    }
}

/// `std::regex_iterator` splitting (llama.cpp `unicode_regex_split_stl`): within each segment,
/// the text between matches and each match become words.
fn split_matches(
    cpts: &[u32],
    offsets: &[usize],
    find: impl Fn(&[u32], usize) -> Option<Range<usize>>,
) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0usize;
    for &len in offsets {
        let seg = cpts.get(start..start + len).unwrap_or(&[]);
        let mut at = 0usize;
        while let Some(m) = find(seg, at) {
            if m.start > at {
                out.push(m.start - at);
            }
            out.push(m.end - m.start);
            at = m.end;
        }
        if at < len {
            out.push(len - at);
        }
        start += len;
    }
    out
}

/// The first maximal run of `class` code points at or after `from`.
fn find_run(seg: &[u32], from: usize, class: fn(u32) -> bool) -> Option<Range<usize>> {
    let start = from + seg.get(from..)?.iter().position(|&c| class(c))?;
    let len = seg[start..].iter().take_while(|&&c| class(c)).count();
    Some(start..start + len)
}

/// `[\p{P}\$\+<=>\^~\|]` as llama.cpp evaluates it on its collapsed text: ASCII is matched
/// literally against its ASCII punctuation list plus `$+<=>^~|` (every printable ASCII
/// symbol except the backtick); other code points match when their category is exactly
/// punctuation (and they are not whitespace, which collapses to \v).
fn is_default_punct(c: u32) -> bool {
    if c < 128 {
        let b = c as u8;
        return b.is_ascii_punctuation() && b != b'`';
    }
    !unicode::is_whitespace(c) && unicode::category(c) == unicode::PUNCTUATION
}

/// `\p{N}` on the collapsed text: ASCII digits, or a non-ASCII code point whose category is
/// exactly "number".
fn is_collapsed_number(c: u32) -> bool {
    if c < 128 {
        return (u32::from(b'0')..=u32::from(b'9')).contains(&c);
    }
    !unicode::is_whitespace(c) && unicode::category(c) == unicode::NUMBER
}

/// `[0-9][0-9][0-9]`: the first three consecutive ASCII digits at or after `from`.
fn find_digit_triple(seg: &[u32], from: usize) -> Option<Range<usize>> {
    let digit = |c: &u32| (u32::from(b'0')..=u32::from(b'9')).contains(c);
    let mut run = 0usize;
    for (i, c) in seg.iter().enumerate().skip(from) {
        if digit(c) {
            run += 1;
            if run == 3 {
                return Some(i - 2..i + 1);
            }
        } else {
            run = 0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(regex: PreRegex, text: &str) -> Vec<&str> {
        split(regex, text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn gpt2_words() {
        assert_eq!(
            words(PreRegex::Gpt2, "Hello world's  end 123!!\n"),
            ["Hello", " world", "'s", " ", " end", " 123", "!!", "\n"]
        );
    }

    #[test]
    fn llama3_words() {
        assert_eq!(
            words(PreRegex::Llama3, "I'M 12345 x  \n\n y"),
            ["I", "'M", " ", "123", "45", " x", "  \n\n", " y"]
        );
        assert_eq!(words(PreRegex::Qwen2, "a 123"), ["a", " ", "1", "2", "3"]);
    }

    #[test]
    fn gpt4o_words() {
        // Worked out by hand from ECMAScript's backtracking on llama.cpp's collapsed text
        // (the fixtures hold llama.cpp's own splits).
        assert_eq!(
            words(PreRegex::Gpt4o, "HelloWorld I'M ÉCOLE 12345 a/b//\n\n  x  "),
            [
                "Hello", "World", " I'M", " É", "COLE", " ", "123", "45", " a", "/b", "//\n\n",
                " ", " x", "  "
            ]
        );
    }

    #[test]
    fn default_words() {
        assert_eq!(
            words(PreRegex::Default, "a+b 1234567 (x)"),
            ["a", "+", "b", " ", "123", "456", "7", " ", "(", "x", ")"]
        );
    }

    #[test]
    fn covers_everything() {
        for text in ["", " ", "\u{3000}x\u{85}", "日本語 テキスト", "'''"] {
            for r in [
                PreRegex::Default,
                PreRegex::Gpt2,
                PreRegex::Llama3,
                PreRegex::Qwen2,
                PreRegex::Gpt4o,
            ] {
                assert_eq!(words(r, text).concat(), text);
            }
        }
    }
}
