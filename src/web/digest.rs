//! Checksums of a file computed as its bytes arrive, over the bytes already in wasm memory
//! (no extra copy), each only when asked: XXH3-64 when the load writes or reads a cache entry
//! (it tells an intact entry from a truncated or altered one), SHA-256 when the caller gave an
//! `integrity` to verify.

use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

pub struct Digests {
    xxh3: Option<Xxh3>,
    sha256: Option<Sha256>,
    /// Bytes of the stream already hashed.
    done: usize,
}

impl Digests {
    pub fn new(xxh3: bool, sha256: bool) -> Digests {
        Digests {
            xxh3: xxh3.then(Xxh3::new),
            sha256: sha256.then(Sha256::new),
            done: 0,
        }
    }

    /// Hashes what `all` (the whole stream so far) holds beyond what was hashed before.
    pub fn update(&mut self, all: &[u8]) {
        let new = all.get(self.done..).unwrap_or(&[]);
        if let Some(x) = &mut self.xxh3 {
            x.update(new);
        }
        if let Some(s) = &mut self.sha256 {
            s.update(new);
        }
        self.done = all.len();
    }

    /// `{ bytes, xxh3?: hex, sha256?: base64 }`: base64 because that is how Subresource
    /// Integrity (`sha256-…`) spells it.
    pub fn result(&self) -> DigestResult {
        DigestResult {
            bytes: self.done as f64,
            xxh3: self.xxh3.as_ref().map(|x| format!("{:016x}", x.digest())),
            sha256: self
                .sha256
                .as_ref()
                .map(|s| base64(s.clone().finalize().as_slice())),
        }
    }
}

#[derive(serde::Serialize)]
pub struct DigestResult {
    bytes: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    xxh3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

/// A stable file name for a cache entry: XXH3-128 of the key (the URL), hex.
#[wasm_bindgen]
pub fn cache_key(key: &str) -> String {
    format!("{:032x}", xxh3_128(key.as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if i <= c.len() {
                char::from(A[(n >> shift) as usize & 63])
            } else {
                '='
            });
        }
    }
    out
}
