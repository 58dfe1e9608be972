//! Typed GGUF metadata: scalar values, typed arrays (nested arrays included) and the ordered
//! key/value table with typed getters.

use crate::error::{Error, Result};

/// GGUF metadata value type ids (`gguf_metadata_value_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn id(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// Name of an array of this element type, as a static string for error values.
    pub fn array_name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "array[u8]",
            I8 => "array[i8]",
            U16 => "array[u16]",
            I16 => "array[i16]",
            U32 => "array[u32]",
            I32 => "array[i32]",
            F32 => "array[f32]",
            Bool => "array[bool]",
            String => "array[string]",
            Array => "array[array]",
            U64 => "array[u64]",
            I64 => "array[i64]",
            F64 => "array[f64]",
        }
    }

    /// Size of one value in the file for fixed-size types.
    pub fn fixed_size(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }

    /// The fewest bytes one value can occupy in a file: its length field for a string, the
    /// element-type and length fields for an (empty) array. Claimed counts are checked
    /// against this so a lying count fails before anything is allocated for it.
    pub fn min_wire_bytes(self) -> u64 {
        match self {
            ValueType::String => 8,
            ValueType::Array => 12,
            t => t.fixed_size().unwrap_or(1),
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    /// Boxed so scalar entries stay small: metadata tables hold few arrays.
    Array(Box<Array>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    pub fn array(a: impl Into<Array>) -> Value {
        Value::Array(Box::new(a.into()))
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// `"u32"`, `"string"`, `"array[f32]"`, …
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Array(a) => a.type_name(),
            v => v.value_type().name(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Any integer type holding a non-negative value, widened: writers disagree on whether
    /// counts are u32 or u64.
    pub fn as_uint(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Either float type, widened.
    pub fn as_float(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Value {
                Value::$v(x)
            }
        }
    )*};
}
value_from!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32,
    bool => Bool, String => String, u64 => U64, i64 => I64, f64 => F64);

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<Array> for Value {
    fn from(a: Array) -> Value {
        Value::array(a)
    }
}

/// A typed metadata array. Arrays of arrays hold arrays of any (possibly different) types.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(StringArray),
    Array(Vec<Array>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

macro_rules! array_accessors {
    ($($f:ident => $v:ident: $t:ty),*) => {
        impl Array {
            $(
                pub fn $f(&self) -> Option<&[$t]> {
                    match self {
                        Array::$v(v) => Some(v),
                        _ => None,
                    }
                }
            )*
        }
        $(
            impl From<Vec<$t>> for Array {
                fn from(v: Vec<$t>) -> Array {
                    Array::$v(v)
                }
            }
        )*
    };
}
array_accessors!(as_u8 => U8: u8, as_i8 => I8: i8, as_u16 => U16: u16, as_i16 => I16: i16,
    as_u32 => U32: u32, as_i32 => I32: i32, as_f32 => F32: f32, as_bool => Bool: bool,
    as_arrays => Array: Array, as_u64 => U64: u64, as_i64 => I64: i64, as_f64 => F64: f64);

impl Array {
    pub fn elem_type(&self) -> ValueType {
        match self {
            Array::U8(_) => ValueType::U8,
            Array::I8(_) => ValueType::I8,
            Array::U16(_) => ValueType::U16,
            Array::I16(_) => ValueType::I16,
            Array::U32(_) => ValueType::U32,
            Array::I32(_) => ValueType::I32,
            Array::F32(_) => ValueType::F32,
            Array::Bool(_) => ValueType::Bool,
            Array::String(_) => ValueType::String,
            Array::Array(_) => ValueType::Array,
            Array::U64(_) => ValueType::U64,
            Array::I64(_) => ValueType::I64,
            Array::F64(_) => ValueType::F64,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.elem_type().array_name()
    }

    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::Array(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_strings(&self) -> Option<&StringArray> {
        match self {
            Array::String(v) => Some(v),
            _ => None,
        }
    }
}

impl From<StringArray> for Array {
    fn from(v: StringArray) -> Array {
        Array::String(v)
    }
}

impl From<Vec<&str>> for Array {
    fn from(v: Vec<&str>) -> Array {
        Array::String(v.into_iter().collect())
    }
}

impl From<Vec<String>> for Array {
    fn from(v: Vec<String>) -> Array {
        Array::String(v.into_iter().collect())
    }
}

/// An array of strings stored as one UTF-8 buffer plus end offsets: a 262,144-token
/// vocabulary costs two allocations and ~8 bytes per token instead of one heap string each.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StringArray {
    data: String,
    ends: Vec<usize>,
}

impl StringArray {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(count: usize, bytes: usize) -> Self {
        StringArray {
            data: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    pub fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Total bytes of all strings.
    pub fn total_bytes(&self) -> usize {
        self.data.len()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => *self.ends.get(i - 1)?,
        };
        self.data.get(start..end)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i).unwrap_or(""))
    }
}

impl core::fmt::Debug for StringArray {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for StringArray {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut a = StringArray::new();
        for s in iter {
            a.push(s.as_ref());
        }
        a
    }
}

/// One key/value pair, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataEntry {
    pub key: String,
    pub value: Value,
}

/// The metadata table: file order is kept (a writer round-trips it), lookups go through an
/// index sorted by key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    entries: Vec<MetadataEntry>,
    by_key: Vec<usize>,
}

macro_rules! typed_getters {
    ($($get:ident, $opt:ident => $v:ident: $t:ty, $name:literal);* $(;)?) => {
        impl Metadata {
            $(
                #[doc = concat!("The `", $name, "` value of `key`; `MissingKey` or `WrongValueType` otherwise.")]
                pub fn $get(&self, key: &str) -> Result<$t> {
                    self.$opt(key)?.ok_or_else(|| Error::MissingKey { key: key.to_owned() })
                }

                #[doc = concat!("The `", $name, "` value of `key`, `None` when absent, `WrongValueType` when of another type.")]
                pub fn $opt(&self, key: &str) -> Result<Option<$t>> {
                    match self.get(key) {
                        None => Ok(None),
                        Some(Value::$v(x)) => Ok(Some(x.clone())),
                        Some(other) => Err(Error::WrongValueType {
                            key: key.to_owned(),
                            expected: $name,
                            found: other.type_name(),
                        }),
                    }
                }
            )*
        }
    };
}
typed_getters! {
    get_u8, opt_u8 => U8: u8, "u8";
    get_i8, opt_i8 => I8: i8, "i8";
    get_u16, opt_u16 => U16: u16, "u16";
    get_i16, opt_i16 => I16: i16, "i16";
    get_u32, opt_u32 => U32: u32, "u32";
    get_i32, opt_i32 => I32: i32, "i32";
    get_u64, opt_u64 => U64: u64, "u64";
    get_i64, opt_i64 => I64: i64, "i64";
    get_f32, opt_f32 => F32: f32, "f32";
    get_f64, opt_f64 => F64: f64, "f64";
    get_bool, opt_bool => Bool: bool, "bool";
}

impl Metadata {
    /// Builds the table, rejecting duplicate keys (reporting the first repeat in file order).
    pub fn from_entries(entries: Vec<MetadataEntry>) -> Result<Metadata> {
        let by_key = sorted_index(&entries, |e| e.key.as_str());
        if let Some((first, second)) = first_duplicate(&by_key, |i| entries[i].key.as_str()) {
            return Err(Error::DuplicateKey {
                key: entries[second].key.clone(),
                first: first as u64,
                second: second as u64,
            });
        }
        Ok(Metadata { entries, by_key })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in file order.
    pub fn entries(&self) -> &[MetadataEntry] {
        &self.entries
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + '_ {
        self.entries.iter().map(|e| (e.key.as_str(), &e.value))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        let pos = self
            .by_key
            .binary_search_by(|&i| self.entries.get(i).map_or("", |e| e.key.as_str()).cmp(key))
            .ok()?;
        self.entries.get(*self.by_key.get(pos)?).map(|e| &e.value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.opt_str(key)?.ok_or_else(|| Error::MissingKey {
            key: key.to_owned(),
        })
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong(key, "string", other)),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&Array> {
        self.opt_array(key)?.ok_or_else(|| Error::MissingKey {
            key: key.to_owned(),
        })
    }

    pub fn opt_array(&self, key: &str) -> Result<Option<&Array>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(wrong(key, "array", other)),
        }
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`).
    pub fn get_str_array(&self, key: &str) -> Result<&StringArray> {
        let v = self.get_array(key)?;
        v.as_strings().ok_or_else(|| Error::WrongValueType {
            key: key.to_owned(),
            expected: "array[string]",
            found: v.type_name(),
        })
    }

    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        let v = self.get_array(key)?;
        v.as_f32().ok_or_else(|| Error::WrongValueType {
            key: key.to_owned(),
            expected: "array[f32]",
            found: v.type_name(),
        })
    }

    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        let v = self.get_array(key)?;
        v.as_i32().ok_or_else(|| Error::WrongValueType {
            key: key.to_owned(),
            expected: "array[i32]",
            found: v.type_name(),
        })
    }

    /// Any integer type with a non-negative value, widened to u64.
    pub fn get_uint(&self, key: &str) -> Result<u64> {
        let v = self.get(key).ok_or_else(|| Error::MissingKey {
            key: key.to_owned(),
        })?;
        v.as_uint().ok_or_else(|| wrong(key, "unsigned integer", v))
    }
}

fn wrong(key: &str, expected: &'static str, found: &Value) -> Error {
    Error::WrongValueType {
        key: key.to_owned(),
        expected,
        found: found.type_name(),
    }
}

/// Indices of `items` sorted by name, ties by position (so duplicates sit in file order).
pub(crate) fn sorted_index<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..items.len()).collect();
    idx.sort_by(|&a, &b| name(&items[a]).cmp(name(&items[b])).then(a.cmp(&b)));
    idx
}

/// The duplicate pair whose second occurrence comes first in file order, as
/// `(first occurrence, second occurrence)`: the pair a sequential reader would trip over.
pub(crate) fn first_duplicate<'n>(
    sorted: &[usize],
    name: impl Fn(usize) -> &'n str,
) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut run_start = 0;
    for k in 1..sorted.len() {
        if name(sorted[k]) == name(sorted[run_start]) {
            if k == run_start + 1 && best.is_none_or(|(_, s)| sorted[k] < s) {
                best = Some((sorted[run_start], sorted[k]));
            }
        } else {
            run_start = k;
        }
    }
    best
}
