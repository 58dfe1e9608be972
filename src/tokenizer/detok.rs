//! Detokenization: llama.cpp's `llama_token_to_piece` and `llama_detokenize` (including its
//! `clean_up_tokenization_spaces` passes for BPE vocabularies), and a streaming decoder whose
//! concatenated output equals the whole-sequence result while never emitting a partial UTF-8
//! character.

use super::unicode::char_to_byte;
use super::{Kind, TokenAttr, Tokenizer};
use crate::error::{Error, Result};

impl Tokenizer {
    fn check_id(&self, id: u32) -> Result<()> {
        if (id as usize) < self.vocab.len() {
            Ok(())
        } else {
            Err(Error::InvalidToken {
                token: id,
                n_vocab: self.vocab.len(),
            })
        }
    }

    /// Appends the piece of `id` (llama.cpp `token_to_piece(token, buf, len, lstrip, special)`):
    /// control and unknown tokens are empty unless `special`; up to `lstrip` leading spaces are
    /// dropped. `id` must be in range.
    pub(super) fn push_piece(&self, id: u32, special: bool, lstrip: usize, out: &mut Vec<u8>) {
        let attr = self.vocab.attr(id);
        if !special && attr.intersects(TokenAttr::UNKNOWN | TokenAttr::CONTROL) {
            return;
        }
        let text = self.vocab.text(id).unwrap_or("");
        let start = out.len();
        if attr.intersects(TokenAttr::UNKNOWN | TokenAttr::CONTROL | TokenAttr::USER_DEFINED) {
            out.extend_from_slice(text.as_bytes());
        } else if attr.contains(TokenAttr::NORMAL) {
            match self.kind {
                Kind::Spm => {
                    // `llama_unescape_whitespace`: ▁ → ' '.
                    let mut rest = text;
                    while let Some(p) = rest.find('\u{2581}') {
                        out.extend_from_slice(&rest.as_bytes()[..p]);
                        out.push(b' ');
                        rest = &rest[p + '\u{2581}'.len_utf8()..];
                    }
                    out.extend_from_slice(rest.as_bytes());
                }
                Kind::Bpe => decode_byte_level(text, out),
            }
        } else if attr.contains(TokenAttr::BYTE) {
            out.push(token_to_byte(text));
        }
        let mut n = 0;
        while n < lstrip && out.get(start) == Some(&b' ') {
            out.remove(start);
            n += 1;
        }
    }

    /// The bytes of one token (llama.cpp `llama_token_to_piece(vocab, id, buf, len, 0, special)`).
    /// A byte token's piece can be part of a UTF-8 character, hence bytes.
    pub fn token_to_piece(&self, id: u32, special: bool) -> Result<Vec<u8>> {
        self.check_id(id)?;
        let mut out = Vec::new();
        self.push_piece(id, special, 0, &mut out);
        Ok(out)
    }

    /// llama.cpp `llama_detokenize(vocab, ids, …, remove_special, unparse_special)`, as bytes.
    ///
    /// * `remove_special`: drop a leading BOS (when the vocabulary adds one) and a trailing EOS
    ///   (when it adds one).
    /// * `unparse_special`: render control tokens as their text instead of nothing.
    ///
    /// With `add_space_prefix` the first piece loses one leading space. BPE vocabularies
    /// (except Qwen2-style ones) then get llama.cpp's clean-up of spaces before punctuation
    /// and contractions.
    pub fn detokenize_bytes(
        &self,
        ids: &[u32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<Vec<u8>> {
        for &id in ids {
            self.check_id(id)?;
        }
        let mut ids = ids;
        let mut remove_space = self.add_space_prefix;
        if remove_special && self.add_bos {
            if let Some((&first, rest)) = ids.split_first() {
                if Some(first) == self.special.bos {
                    remove_space = false;
                    ids = rest;
                }
            }
        }
        if remove_special && self.add_eos {
            if let Some((&last, rest)) = ids.split_last() {
                if Some(last) == self.special.eos {
                    ids = rest;
                }
            }
        }
        let mut out = Vec::new();
        for &id in ids {
            self.push_piece(id, unparse_special, usize::from(remove_space), &mut out);
            remove_space = false;
        }
        if self.clean_spaces {
            clean_spaces(&mut out);
        }
        Ok(out)
    }

    /// [`Tokenizer::detokenize_bytes`] as text; invalid UTF-8 (possible only when byte tokens
    /// do not form whole characters) becomes U+FFFD.
    pub fn detokenize(
        &self,
        ids: &[u32],
        remove_special: bool,
        unparse_special: bool,
    ) -> Result<String> {
        let bytes = self.detokenize_bytes(ids, remove_special, unparse_special)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Plain text of a sequence: control tokens hidden, nothing removed (llama.cpp
    /// `detokenize(tokens, special = false)`).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.detokenize(ids, false, false)
    }

    /// A decoder that takes generated ids one at a time; see [`StreamDecoder`].
    pub fn stream_decoder(&self, unparse_special: bool) -> StreamDecoder<'_> {
        StreamDecoder {
            tok: self,
            unparse_special,
            remove_space: self.add_space_prefix,
            clean: self.clean_spaces.then(CleanStream::default),
            pending: Vec::new(),
            piece: Vec::new(),
        }
    }
}

/// GPT-2 byte-level text → bytes (llama.cpp `llama_decode_text`), including its marker for
/// code points outside the byte map.
fn decode_byte_level(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
}

/// `strtol(text.substr(3, 2), NULL, 16)` truncated to a byte, as llama.cpp decodes `<0xNN>`.
fn token_to_byte(text: &str) -> u8 {
    let b = text.as_bytes();
    let s = b.get(3..b.len().min(5)).unwrap_or(&[]);
    let mut i = 0;
    while i < s.len() && is_c_space_byte(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i + 1 < s.len()
        && s[i] == b'0'
        && (s[i + 1] | 0x20) == b'x'
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(16)) {
        v = v * 16 + i64::from(d);
        i += 1;
    }
    if neg {
        v = -v;
    }
    v as u8
}

fn is_c_space_byte(b: u8) -> bool {
    super::unicode::is_c_space(b)
}

/// llama.cpp's three in-place clean-up passes (`clean_spaces`), ported literally.
pub(super) fn clean_spaces(text: &mut Vec<u8>) {
    // Pass 1: " ?", " !", " .", " ," lose the space.
    let n = text.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = text[i];
        if text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            total -= 1;
        }
        text[total] = x;
        total += 1;
    }
    text.truncate(total);

    // Pass 2: " ' " → "'".
    let n = text.len();
    let mut total = usize::from(n > 0);
    let mut i = 1;
    while i < n {
        let x = text[i];
        if x == b'\'' && i + 1 < n && text[i - 1] == b' ' && text[i + 1] == b' ' {
            total -= 1;
            i += 1;
            text[i] = 0;
        }
        text[total] = x;
        total += 1;
        i += 1;
    }
    text.truncate(total);

    // Pass 3: " 's", " 'm", " 're", " 've" lose the space.
    let n = text.len();
    let mut total = usize::from(n > 0);
    for i in 1..n {
        let x = text[i];
        if text[i - 1] == b' ' && x == b'\'' && i + 1 < n {
            let x1 = text[i + 1];
            if x1 == b't' || x1 == b'd' {
                // kept
            } else if x1 == b's' || x1 == b'm' {
                total -= 1;
            } else if i + 2 < n {
                let x2 = text[i + 2];
                if (x1 == b'r' || x1 == b'v') && x2 == b'e' {
                    total -= 1;
                }
            }
        }
        text[total] = x;
        total += 1;
    }
    text.truncate(total);
}

/// The three clean-up passes as a stream: each holds back the few bytes whose fate depends
/// on what follows, so the concatenated output equals [`clean_spaces`] of the concatenated
/// input.
#[derive(Debug, Clone, Default)]
pub(super) struct CleanStream {
    p1: Pass1,
    p2: Pass2,
    p3: Pass3,
    mid1: Vec<u8>,
    mid2: Vec<u8>,
}

impl CleanStream {
    pub(super) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            self.p1.push(b, &mut self.mid1);
        }
        for b in self.mid1.drain(..) {
            self.p2.push(b, &mut self.mid2);
        }
        for b in self.mid2.drain(..) {
            self.p3.push(b, out);
        }
    }

    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        self.p1.finish(&mut self.mid1);
        for b in self.mid1.drain(..) {
            self.p2.push(b, &mut self.mid2);
        }
        self.p2.finish(&mut self.mid2);
        for b in self.mid2.drain(..) {
            self.p3.push(b, out);
        }
        self.p3.finish(out);
    }
}

/// Pass 1: a space is dropped when the next byte is one of `?!.,`.
#[derive(Debug, Clone, Default)]
struct Pass1 {
    pending: Option<u8>,
}

impl Pass1 {
    fn push(&mut self, b: u8, out: &mut Vec<u8>) {
        if let Some(p) = self.pending {
            if !(p == b' ' && matches!(b, b'?' | b'!' | b'.' | b',')) {
                out.push(p);
            }
        }
        self.pending = Some(b);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend(self.pending.take());
    }
}

/// Pass 2: for `x` = `'` between a space (not itself consumed by an earlier match) and a
/// space, both spaces are dropped.
#[derive(Debug, Clone, Default)]
struct Pass2 {
    /// The last byte written (it may still be retracted).
    pending: Option<u8>,
    /// `text[i - 1]` as pass 2 reads it (0 after a consumed space).
    prev: u8,
    /// `text[i]`, waiting for `text[i + 1]`.
    cur: Option<u8>,
}

impl Pass2 {
    fn push(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.pending.is_none() {
            // text[0] is always written.
            self.pending = Some(b);
            self.prev = b;
            return;
        }
        let Some(x) = self.cur else {
            self.cur = Some(b);
            return;
        };
        if x == b'\'' && self.prev == b' ' && b == b' ' {
            // Drop the space before (retract) and the space after (`b`, which llama.cpp
            // overwrites with NUL: the next iteration's `text[i - 1]`).
            self.pending = Some(x);
            self.prev = 0;
            self.cur = None;
        } else {
            out.extend(self.pending.take());
            self.pending = Some(x);
            self.prev = x;
            self.cur = Some(b);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(x) = self.cur.take() {
            // Last iteration: i + 1 == n, no match possible.
            out.extend(self.pending.take());
            self.pending = Some(x);
        }
        out.extend(self.pending.take());
        *self = Pass2::default();
    }
}

/// Pass 3: a space before `'s`, `'m`, `'re`, `'ve` is dropped (needs two bytes of lookahead).
#[derive(Debug, Clone, Default)]
struct Pass3 {
    pending: Option<u8>,
    prev: u8,
    queue: std::collections::VecDeque<u8>,
    started: bool,
}

impl Pass3 {
    fn push(&mut self, b: u8, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.pending = Some(b);
            self.prev = b;
            return;
        }
        self.queue.push_back(b);
        while self.queue.len() >= 3 {
            self.step(out);
        }
    }

    fn step(&mut self, out: &mut Vec<u8>) {
        let Some(x) = self.queue.pop_front() else {
            return;
        };
        let x1 = self.queue.front().copied();
        let x2 = self.queue.get(1).copied();
        let mut retract = false;
        if self.prev == b' ' && x == b'\'' {
            if let Some(x1) = x1 {
                if x1 == b's' || x1 == b'm' {
                    retract = true;
                } else if x1 != b't' && x1 != b'd' {
                    if let Some(x2) = x2 {
                        retract = (x1 == b'r' || x1 == b'v') && x2 == b'e';
                    }
                }
            }
        }
        let p = self.pending.take();
        if !retract {
            out.extend(p);
        }
        self.pending = Some(x);
        self.prev = x;
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        while !self.queue.is_empty() {
            self.step(out);
        }
        out.extend(self.pending.take());
        *self = Pass3::default();
    }
}

/// Turns generated token ids into text as they arrive.
///
/// Each [`push`](StreamDecoder::push) returns only complete UTF-8 characters: bytes of a
/// character split across byte tokens (`<0xE2>` `<0x82>` `<0xAC>`) are held until it is
/// whole, and for vocabularies with llama.cpp's space clean-up the last few bytes wait until
/// their fate is known. [`finish`](StreamDecoder::finish) flushes the rest. The concatenation
/// of all outputs equals `tokenizer.detokenize(ids, false, unparse_special)`.
#[derive(Debug, Clone)]
pub struct StreamDecoder<'t> {
    tok: &'t Tokenizer,
    unparse_special: bool,
    remove_space: bool,
    clean: Option<CleanStream>,
    /// Bytes not yet emitted (an incomplete UTF-8 character).
    pending: Vec<u8>,
    piece: Vec<u8>,
}

impl StreamDecoder<'_> {
    /// Adds one token; returns the text that became complete (often empty).
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.tok.check_id(id)?;
        self.piece.clear();
        self.tok.push_piece(
            id,
            self.unparse_special,
            usize::from(self.remove_space),
            &mut self.piece,
        );
        self.remove_space = false;
        match &mut self.clean {
            Some(c) => c.push(&self.piece, &mut self.pending),
            None => self.pending.extend_from_slice(&self.piece),
        }
        Ok(take_complete_utf8(&mut self.pending, false))
    }

    /// Ends the stream: returns everything held back (an incomplete character at the very end
    /// becomes U+FFFD). The decoder can then start a new sequence.
    pub fn finish(&mut self) -> String {
        if let Some(c) = &mut self.clean {
            c.finish(&mut self.pending);
        }
        self.remove_space = self.tok.add_space_prefix;
        take_complete_utf8(&mut self.pending, true)
    }

    /// Bytes of an incomplete UTF-8 character held back so far (the few bytes the space
    /// clean-up holds for lookahead are not included).
    pub fn pending_bytes(&self) -> &[u8] {
        &self.pending
    }
}

/// Removes and returns the longest prefix of `buf` that decodes without an incomplete
/// trailing character; invalid sequences become U+FFFD exactly as `String::from_utf8_lossy`
/// would replace them. With `all`, also a trailing incomplete character (as U+FFFD).
fn take_complete_utf8(buf: &mut Vec<u8>, all: bool) -> String {
    let mut out = String::new();
    let mut at = 0usize;
    loop {
        match core::str::from_utf8(&buf[at..]) {
            Ok(s) => {
                out.push_str(s);
                at = buf.len();
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(core::str::from_utf8(&buf[at..at + valid]).unwrap_or(""));
                at += valid;
                match e.error_len() {
                    Some(n) => {
                        out.push('\u{FFFD}');
                        at += n;
                    }
                    None => {
                        if all {
                            out.push('\u{FFFD}');
                            at = buf.len();
                        }
                        break;
                    }
                }
            }
        }
    }
    buf.drain(..at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        let mut v = s.as_bytes().to_vec();
        clean_spaces(&mut v);
        String::from_utf8(v).unwrap()
    }

    fn clean_streamed(s: &[u8], split: usize) -> Vec<u8> {
        let mut c = CleanStream::default();
        let mut out = Vec::new();
        for chunk in s.chunks(split.max(1)) {
            c.push(chunk, &mut out);
        }
        c.finish(&mut out);
        out
    }

    #[test]
    fn clean_spaces_passes() {
        assert_eq!(clean("Hello , world !"), "Hello, world!");
        assert_eq!(clean("a ' b"), "a'b");
        assert_eq!(
            clean("it 's I 'm we 're they 've don 't I 'd"),
            "it's I'm we're they've don 't I 'd"
        );
        assert_eq!(clean(" ."), ".");
        assert_eq!(clean(""), "");
        assert_eq!(clean("x ' ' y"), "x'' y");
    }

    #[test]
    fn clean_stream_matches_batch() {
        let alphabet = b" '.,?!smrevtdlx";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize;
            let mut s = Vec::with_capacity(len);
            let mut x = state;
            for _ in 0..len {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            let mut batch = s.clone();
            clean_spaces(&mut batch);
            for split in [1, 2, 3, 7] {
                assert_eq!(
                    clean_streamed(&s, split),
                    batch,
                    "input {:?} split {split}",
                    String::from_utf8_lossy(&s)
                );
            }
        }
    }

    #[test]
    fn byte_token_parsing() {
        assert_eq!(token_to_byte("<0x0A>"), 0x0A);
        assert_eq!(token_to_byte("<0xFF>"), 0xFF);
        assert_eq!(token_to_byte("<0xe9>"), 0xE9);
        assert_eq!(token_to_byte("<0x"), 0);
        assert_eq!(token_to_byte("ab"), 0);
    }

    #[test]
    fn utf8_taking() {
        let mut b = "é".as_bytes()[..1].to_vec();
        assert_eq!(take_complete_utf8(&mut b, false), "");
        b.push(0xA9);
        assert_eq!(take_complete_utf8(&mut b, false), "é");
        let mut b = vec![b'a', 0xFF, b'b', 0xE2, 0x82];
        assert_eq!(take_complete_utf8(&mut b, false), "a\u{FFFD}b");
        assert_eq!(b, [0xE2, 0x82]);
        assert_eq!(take_complete_utf8(&mut b, true), "\u{FFFD}");
    }
}
