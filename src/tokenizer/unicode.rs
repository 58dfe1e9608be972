//! Code point classes and the GPT-2 byte↔unicode mapping, defined exactly as llama.cpp's
//! `unicode.cpp` defines them (the category table is generated from its `unicode-data.cpp`).

use super::unicode_table::{RANGE_FLAGS, RANGE_STARTS, WHITESPACE};

// General-category bits (llama.cpp `unicode_cpt_flags`, low byte).
pub(crate) const UNDEFINED: u8 = 0x01;
pub(crate) const NUMBER: u8 = 0x02;
pub(crate) const LETTER: u8 = 0x04;
pub(crate) const PUNCTUATION: u8 = 0x20;

/// The category bits of one code point (`UNDEFINED` beyond U+10FFFF).
pub(crate) fn category(cp: u32) -> u8 {
    if cp >= 0x11_0000 {
        return UNDEFINED;
    }
    // RANGE_STARTS[0] == 0, so the partition point is at least 1.
    let i = RANGE_STARTS.partition_point(|&s| s <= cp);
    RANGE_FLAGS
        .get(i.wrapping_sub(1))
        .copied()
        .unwrap_or(UNDEFINED)
}

pub(crate) fn is_whitespace(cp: u32) -> bool {
    WHITESPACE.binary_search(&cp).is_ok()
}

/// What llama.cpp's splitters read at a position: all-false outside the current segment
/// (its `unicode_cpt_flags{}`), the code point's flags inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    /// Inside the segment (llama.cpp tests this as `flags.as_uint() != 0`).
    pub present: bool,
    pub letter: bool,
    pub number: bool,
    pub whitespace: bool,
}

impl Flags {
    pub(crate) fn of(cp: u32) -> Flags {
        let c = category(cp);
        Flags {
            present: true,
            letter: c & LETTER != 0,
            number: c & NUMBER != 0,
            whitespace: is_whitespace(cp),
        }
    }
}

/// GPT-2's printable bytes: mapped to the code point of the same value.
const fn printable(b: u32) -> bool {
    (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

/// Byte → code point of GPT-2's `bytes_to_unicode` (llama.cpp `unicode_byte_to_utf8_map`).
const BYTE_TO_CP: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut n = 0u16;
    let mut b = 0usize;
    while b < 256 {
        if printable(b as u32) {
            t[b] = b as u16;
        } else {
            t[b] = 256 + n;
            n += 1;
        }
        b += 1;
    }
    t
};

/// The 68 non-printable bytes in order: code point 256 + i stands for `SHIFTED[i]`.
const SHIFTED: [u8; 68] = {
    let mut t = [0u8; 68];
    let mut n = 0usize;
    let mut b = 0usize;
    while b < 256 {
        if !printable(b as u32) {
            t[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    t
};

pub(crate) fn byte_to_char(b: u8) -> char {
    char::from_u32(u32::from(BYTE_TO_CP[usize::from(b)])).unwrap_or('\u{FFFD}')
}

pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let cp = u32::from(c);
    if cp < 256 && printable(cp) {
        return u8::try_from(cp).ok();
    }
    let i = cp.checked_sub(256)?;
    SHIFTED.get(usize::try_from(i).ok()?).copied()
}

/// C `isspace` in the "C" locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_mapping_is_a_bijection() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!(seen.insert(c));
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(char_to_byte('\u{0100}'), Some(0));
        assert_eq!(char_to_byte('\u{0144}'), None);
        assert_eq!(char_to_byte('€'), None);
    }

    #[test]
    fn categories() {
        assert_eq!(category('a' as u32), LETTER);
        assert_eq!(category('7' as u32), NUMBER);
        assert_eq!(category('!' as u32), PUNCTUATION);
        assert_eq!(category('中' as u32), LETTER);
        assert_eq!(category('½' as u32), NUMBER);
        assert_eq!(category(0x10FFFF), UNDEFINED);
        assert_eq!(category(0x110000), UNDEFINED);
        assert!(is_whitespace(0x3000) && is_whitespace(' ' as u32) && !is_whitespace('x' as u32));
    }
}
