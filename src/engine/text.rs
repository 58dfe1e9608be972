//! Generated text as llama.cpp produces it: the concatenation of each token's piece
//! (`llama_token_to_piece(token, special = false)`), released only in whole UTF-8 characters.
//!
//! Why not `Tokenizer::stream_decoder`: that follows `llama_detokenize`, which drops the
//! first piece's leading space (SentencePiece `add_space_prefix`) and applies BPE
//! space clean-up — right for detokenizing a sequence, but llama.cpp's generation output (CLI,
//! server) is the raw pieces, and " Paris" must stay " Paris" after "The capital of France is".

/// Turns token pieces (bytes) into text, holding back an incomplete UTF-8 character.
#[derive(Debug, Clone, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds bytes; returns the text that is complete. Invalid sequences become U+FFFD, as
    /// `String::from_utf8_lossy` would replace them.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut at = 0;
        loop {
            match core::str::from_utf8(&self.pending[at..]) {
                Ok(s) => {
                    out.push_str(s);
                    at = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid = at + e.valid_up_to();
                    // The prefix up to `valid` was just validated.
                    out.push_str(core::str::from_utf8(&self.pending[at..valid]).unwrap_or(""));
                    match e.error_len() {
                        // Invalid bytes in the middle: replace and go on.
                        Some(n) => {
                            out.push('\u{fffd}');
                            at = valid + n;
                        }
                        // An incomplete character at the end: wait for more bytes.
                        None => {
                            at = valid;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..at);
        out
    }

    /// Ends the stream: an incomplete character left over becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_characters_across_pushes() {
        let mut s = Utf8Stream::default();
        let euro = "€".as_bytes();
        assert_eq!(s.push(b"a"), "a");
        assert_eq!(s.push(&euro[..1]), "");
        assert_eq!(s.push(&euro[1..2]), "");
        assert_eq!(s.push(&euro[2..]), "€");
        assert_eq!(s.push(b"\xffb"), "\u{fffd}b");
        assert_eq!(s.push(&euro[..2]), "");
        assert_eq!(s.finish(), "\u{fffd}");
    }
}
