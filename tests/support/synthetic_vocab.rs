//! The synthetic models' vocabulary (a SentencePiece-style one) and a dependency-free SHA-256
//! for the files' identities. Part of `tests/support`, re-exported by `synthetic_models`.

#![allow(dead_code)]

use super::synthetic_models::{TYPE_BYTE, TYPE_CONTROL, TYPE_NORMAL, TYPE_UNKNOWN};

/// A SentencePiece-style vocabulary: `<unk>`, `<s>`, `</s>` (control), the 256 byte tokens
/// `<0x00>`…`<0xFF>`, every printable ASCII character and `▁`, then `▁`-prefixed word
/// pieces (every prefix of each word, so SentencePiece merges can reach it) and a few
/// suffix pieces, scored so shorter pieces merge first.
pub struct Vocab {
    pub tokens: Vec<String>,
    pub scores: Vec<f32>,
    pub types: Vec<i32>,
}

const WORDS: &str = "the of and to a in is it you that he was for on are with as I his they \
be at one have this from or had by hot word but what some we can out other were all there \
when up use your how said an each she which do their time if will way about many then them \
write would like so these her long make thing see him two has look more day could go come \
did number sound no most people my over know water than call first who may down side been \
now find any new work part take get place made live where after back little only round man \
year came show every good me give our under name very through just form sentence great \
think say help low line differ turn cause much mean before move right boy old too same tell \
does set three want air well also play small end put home read hand port large spell add \
even land here must big high such follow act why ask men change went light kind off need \
house picture try us again animal point mother world near build self earth father once \
upon story robot quick brown fox jumps lazy dog hello def return fn let main print true \
false none self class import function var const temperature boils degrees list items";

const SUFFIXES: &[&str] = &[
    "s", "ed", "ing", "er", "ly", "es", "en", "ion", "tion", "ment", "est", "th", "he", "in", "an",
    "re", "on", "at", "nd", "ou", "it", "or", "is", "ar", "te", "st", "al", "le",
];

pub fn vocab() -> Vocab {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![TYPE_UNKNOWN, TYPE_CONTROL, TYPE_CONTROL];
    let mut scores = vec![0.0f32; 3];
    for b in 0..=255u32 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(TYPE_BYTE);
        scores.push(0.0);
    }
    // Multi-character pieces, deduplicated, in first-seen order, then stably sorted by length
    // so shorter pieces get higher scores (merge first), like a BPE-trained vocabulary.
    let mut pieces: Vec<String> = Vec::new();
    let add = |p: String, pieces: &mut Vec<String>| {
        if p.chars().count() >= 2 && !pieces.contains(&p) {
            pieces.push(p);
        }
    };
    add("\u{2581}\u{2581}".into(), &mut pieces);
    add("\u{2581}\u{2581}\u{2581}\u{2581}".into(), &mut pieces);
    for word in WORDS.split_whitespace() {
        let piece = format!("\u{2581}{word}");
        let chars: Vec<char> = piece.chars().collect();
        for len in 2..=chars.len() {
            add(chars[..len].iter().collect(), &mut pieces);
        }
    }
    for s in SUFFIXES {
        let chars: Vec<char> = s.chars().collect();
        for len in 2..=chars.len() {
            add(chars[..len].iter().collect(), &mut pieces);
        }
    }
    pieces.sort_by_key(|p| p.chars().count());
    for (rank, p) in pieces.into_iter().enumerate() {
        tokens.push(p);
        types.push(TYPE_NORMAL);
        scores.push(-(rank as f32));
    }
    // Single characters last, with the lowest scores (they are never merge results).
    let singles = std::iter::once('\u{2581}').chain((0x21u8..0x7F).map(char::from));
    for (i, c) in singles.enumerate() {
        tokens.push(c.to_string());
        types.push(TYPE_NORMAL);
        scores.push(-10000.0 - i as f32);
    }
    Vocab {
        tokens,
        scores,
        types,
    }
}

/// [`vocab`] followed by control tokens `extra` (a family's chat markers, e.g. Phi-3's).
pub fn vocab_with_controls(extra: &[&str]) -> Vocab {
    let mut v = vocab();
    for t in extra {
        v.tokens.push((*t).to_owned());
        v.types.push(TYPE_CONTROL);
        v.scores.push(0.0);
    }
    v
}

// ---- sha256 (no dependency) -----------------------------------------------------------------

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}
