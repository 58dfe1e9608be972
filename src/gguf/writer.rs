//! A small GGUF writer for tests and synthetic models.
//!
//! It writes what it is told, including files a reader must reject: raw value type ids and
//! payloads, arbitrary tensor type ids, dimension lists and offsets, overridden magic,
//! version and counts. [`Layout`] records where every structural field landed so a test can
//! corrupt exactly one of them.

use core::ops::Range;

use super::value::{Array, Value};
use super::{ALIGNMENT_KEY, DEFAULT_ALIGNMENT, GGUF_MAGIC};
use crate::quant::GgmlType;

/// How a metadata value is written.
#[derive(Debug, Clone, PartialEq)]
pub enum KvPayload {
    Value(Value),
    /// A type id followed by these exact bytes (for invalid types or payloads).
    Raw {
        type_id: u32,
        bytes: Vec<u8>,
    },
}

/// One tensor as it is written: nothing is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub name: Vec<u8>,
    pub type_id: u32,
    pub dims: Vec<u64>,
    /// Relative data offset; `None` places the tensor after the previous one, aligned.
    pub offset: Option<u64>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GgufWriter {
    pub magic: [u8; 4],
    pub version: u32,
    /// Written instead of the real counts when set.
    pub tensor_count: Option<u64>,
    pub kv_count: Option<u64>,
    /// Padding alignment; `None` follows a valid `general.alignment` u32 entry, else 32.
    pub alignment: Option<u64>,
    pub kvs: Vec<(Vec<u8>, KvPayload)>,
    pub tensors: Vec<TensorSpec>,
}

/// Byte offsets of one metadata entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvLayout {
    /// The key's u64 length field.
    pub key_len: usize,
    pub key: Range<usize>,
    /// The u32 value type id.
    pub value_type: usize,
    /// The value payload (for a string its length field starts it; for an array the element
    /// type id then the u64 length).
    pub value: Range<usize>,
}

/// Byte offsets of one tensor-info entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfoLayout {
    pub name_len: usize,
    pub name: Range<usize>,
    pub n_dims: usize,
    /// One u64 per dimension.
    pub dims: Vec<usize>,
    pub ty: usize,
    pub offset: usize,
    pub end: usize,
}

/// Where each structural field of a written file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub version: usize,
    pub tensor_count: usize,
    pub kv_count: usize,
    pub kvs: Vec<KvLayout>,
    pub tensor_infos: Vec<TensorInfoLayout>,
    /// End of the tensor-info table.
    pub header_len: usize,
    pub data_start: usize,
    /// Absolute range of each tensor's data.
    pub tensor_data: Vec<Range<usize>>,
    pub total_len: usize,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter {
            magic: GGUF_MAGIC,
            version: 3,
            tensor_count: None,
            kv_count: None,
            alignment: None,
            kvs: Vec::new(),
            tensors: Vec::new(),
        }
    }
}

impl GgufWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn kv(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.kvs
            .push((key.as_bytes().to_vec(), KvPayload::Value(value.into())));
        self
    }

    pub fn kv_raw(&mut self, key: &[u8], type_id: u32, bytes: Vec<u8>) -> &mut Self {
        self.kvs
            .push((key.to_vec(), KvPayload::Raw { type_id, bytes }));
        self
    }

    /// A tensor placed after the previous one; `data` should be `ty.bytes_for(product(dims))` long.
    pub fn tensor(&mut self, name: &str, ty: GgmlType, dims: &[u64], data: Vec<u8>) -> &mut Self {
        self.tensors.push(TensorSpec {
            name: name.as_bytes().to_vec(),
            type_id: ty.id(),
            dims: dims.to_vec(),
            offset: None,
            data,
        });
        self
    }

    pub fn tensor_spec(&mut self, spec: TensorSpec) -> &mut Self {
        self.tensors.push(spec);
        self
    }

    fn padding_alignment(&self) -> u64 {
        if let Some(a) = self.alignment {
            return a.max(1);
        }
        let from_kv = self.kvs.iter().find_map(|(k, v)| match v {
            KvPayload::Value(Value::U32(a)) if k == ALIGNMENT_KEY.as_bytes() => Some(*a),
            _ => None,
        });
        match from_kv {
            Some(a) if a.is_power_of_two() => a.into(),
            _ => DEFAULT_ALIGNMENT,
        }
    }

    /// Serialises the file. Explicit offsets are honoured as given, so a huge one makes a
    /// huge file: to point a tensor past the end, patch `Layout::tensor_infos[i].offset`.
    pub fn build(&self) -> (Vec<u8>, Layout) {
        let align = self.padding_alignment() as usize;
        let mut b = Vec::new();
        b.extend_from_slice(&self.magic);
        let version = b.len();
        put_u32(&mut b, self.version);
        let tensor_count = b.len();
        put_u64(
            &mut b,
            self.tensor_count.unwrap_or(self.tensors.len() as u64),
        );
        let kv_count = b.len();
        put_u64(&mut b, self.kv_count.unwrap_or(self.kvs.len() as u64));

        let kvs = self.put_kvs(&mut b);

        // Relative offsets first, so the table can be written in one pass.
        let mut offsets = Vec::with_capacity(self.tensors.len());
        let mut cursor = 0usize;
        for t in &self.tensors {
            let off = match t.offset {
                Some(o) => o as usize,
                None => cursor.div_ceil(align) * align,
            };
            cursor = cursor.max(off + t.data.len());
            offsets.push(off);
        }

        let tensor_infos = self.put_tensor_infos(&mut b, &offsets);
        let header_len = b.len();
        let data_start = header_len.div_ceil(align) * align;
        b.resize(data_start, 0);

        let mut tensor_data = Vec::with_capacity(self.tensors.len());
        for (t, &off) in self.tensors.iter().zip(&offsets) {
            let start = data_start + off;
            let end = start + t.data.len();
            if b.len() < end {
                b.resize(end, 0);
            }
            b[start..end].copy_from_slice(&t.data);
            tensor_data.push(start..end);
        }
        if !self.tensors.is_empty() {
            let padded = b.len().div_ceil(align) * align;
            b.resize(padded, 0);
        }
        let total_len = b.len();
        (
            b,
            Layout {
                version,
                tensor_count,
                kv_count,
                kvs,
                tensor_infos,
                header_len,
                data_start,
                tensor_data,
                total_len,
            },
        )
    }

    /// The metadata key/value pairs, appended to `b`; where each field went.
    fn put_kvs(&self, b: &mut Vec<u8>) -> Vec<KvLayout> {
        let mut kvs = Vec::with_capacity(self.kvs.len());
        for (key, payload) in &self.kvs {
            let key_len = b.len();
            put_u64(b, key.len() as u64);
            let key_start = b.len();
            b.extend_from_slice(key);
            let value_type = b.len();
            let type_id = match payload {
                KvPayload::Value(v) => v.value_type().id(),
                KvPayload::Raw { type_id, .. } => *type_id,
            };
            put_u32(b, type_id);
            let start = b.len();
            match payload {
                KvPayload::Value(v) => put_value(b, v),
                KvPayload::Raw { bytes, .. } => b.extend_from_slice(bytes),
            }
            kvs.push(KvLayout {
                key_len,
                key: key_start..value_type,
                value_type,
                value: start..b.len(),
            });
        }
        kvs
    }

    /// The tensor-info table (data offsets `offsets` unless a tensor overrides its own),
    /// appended to `b`; where each field went.
    fn put_tensor_infos(&self, b: &mut Vec<u8>, offsets: &[usize]) -> Vec<TensorInfoLayout> {
        let mut tensor_infos = Vec::with_capacity(self.tensors.len());
        for (t, &off) in self.tensors.iter().zip(offsets) {
            let name_len = b.len();
            put_u64(b, t.name.len() as u64);
            let name_start = b.len();
            b.extend_from_slice(&t.name);
            let n_dims = b.len();
            put_u32(b, t.dims.len() as u32);
            let mut dims = Vec::with_capacity(t.dims.len());
            for &d in &t.dims {
                dims.push(b.len());
                put_u64(b, d);
            }
            let ty = b.len();
            put_u32(b, t.type_id);
            let offset = b.len();
            put_u64(b, t.offset.unwrap_or(off as u64));
            tensor_infos.push(TensorInfoLayout {
                name_len,
                name: name_start..n_dims,
                n_dims,
                dims,
                ty,
                offset,
                end: b.len(),
            });
        }
        tensor_infos
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.build().0
    }
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_u64(b, s.len() as u64);
    b.extend_from_slice(s.as_bytes());
}

/// Writes a value's payload (without its type id).
fn put_value(b: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => b.push(*x),
        Value::I8(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => b.push(u8::from(*x)),
        Value::String(s) => put_str(b, s),
        Value::Array(a) => put_array(b, a),
        Value::U64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => b.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => b.extend_from_slice(&x.to_le_bytes()),
    }
}

/// Element type id, length, elements.
fn put_array(b: &mut Vec<u8>, a: &Array) {
    put_u32(b, a.elem_type().id());
    put_u64(b, a.len() as u64);
    macro_rules! each {
        ($v:expr) => {
            for x in $v {
                b.extend_from_slice(&x.to_le_bytes());
            }
        };
    }
    match a {
        Array::U8(v) => b.extend_from_slice(v),
        Array::I8(v) => each!(v),
        Array::U16(v) => each!(v),
        Array::I16(v) => each!(v),
        Array::U32(v) => each!(v),
        Array::I32(v) => each!(v),
        Array::F32(v) => each!(v),
        Array::Bool(v) => b.extend(v.iter().map(|&x| u8::from(x))),
        Array::String(v) => {
            for s in v.iter() {
                put_str(b, s);
            }
        }
        Array::Array(v) => {
            for inner in v {
                put_array(b, inner);
            }
        }
        Array::U64(v) => each!(v),
        Array::I64(v) => each!(v),
        Array::F64(v) => each!(v),
    }
}
