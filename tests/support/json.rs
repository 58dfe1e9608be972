//! The test fixtures' JSON, read with serde_json: `parse` and typed accessors that panic with
//! what they found when a fixture does not have the expected shape.

#![allow(dead_code)]

pub use serde_json::Value as Json;

/// Parses `text`, panicking on invalid JSON.
pub fn parse(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON: {e}"))
}

pub trait JsonExt {
    /// The value under `key`; panics when `self` is not an object holding it.
    fn key(&self, key: &str) -> &Json;
    fn arr(&self) -> &[Json];
    fn str(&self) -> &str;
    fn f64(&self) -> f64;
    /// A non-negative integer, read exactly.
    fn u64(&self) -> u64;
    fn u32(&self) -> u32;
    fn bool(&self) -> bool;
    /// `null` → None, else the id.
    fn opt_u32(&self) -> Option<u32>;
    fn ids(&self) -> Vec<u32>;
    /// A byte string as the fixtures store it: a JSON string (UTF-8) or {"hex": "…"}.
    fn bytes(&self) -> Vec<u8>;
}

impl JsonExt for Json {
    fn key(&self, key: &str) -> &Json {
        match self {
            Json::Object(m) => m.get(key).unwrap_or_else(|| panic!("no key {key:?}")),
            other => panic!("looking up {key:?} in a non-object {other:?}"),
        }
    }

    fn arr(&self) -> &[Json] {
        self.as_array()
            .unwrap_or_else(|| panic!("expected an array, found {self:?}"))
    }

    fn str(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("expected a string, found {self:?}"))
    }

    fn f64(&self) -> f64 {
        self.as_f64()
            .unwrap_or_else(|| panic!("expected a number, found {self:?}"))
    }

    fn u64(&self) -> u64 {
        self.as_u64()
            .unwrap_or_else(|| panic!("expected a non-negative integer, found {self:?}"))
    }

    fn u32(&self) -> u32 {
        u32::try_from(self.u64()).expect("u32")
    }

    fn bool(&self) -> bool {
        self.as_bool()
            .unwrap_or_else(|| panic!("expected a bool, found {self:?}"))
    }

    fn opt_u32(&self) -> Option<u32> {
        (!self.is_null()).then(|| self.u32())
    }

    fn ids(&self) -> Vec<u32> {
        self.arr().iter().map(JsonExt::u32).collect()
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Json::String(s) => s.as_bytes().to_vec(),
            Json::Object(_) => {
                let h = self.key("hex").str();
                (0..h.len() / 2)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect()
            }
            other => panic!("expected bytes, found {other:?}"),
        }
    }
}
