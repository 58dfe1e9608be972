//! Parsing and validating the GGUF header: preamble, metadata, tensor-info table.
//!
//! The parser is resumable item by item (preamble, one key/value pair, one tensor info) so a
//! stream can feed it a growing prefix without re-reading what it already accepted. An item
//! that does not fit yet is dropped whole and retried later from its start.

use core::ops::Range;

use super::cursor::{le_bytes, Ctx, Cursor, Fail, PResult};
use super::value::{
    first_duplicate, sorted_index, Array, Metadata, MetadataEntry, StringArray, Value, ValueType,
};
use super::{DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_ARRAY_DEPTH, MAX_DIMS};
use crate::error::{Error, Result};
use crate::quant::{GgmlType, TypeLookup};

/// Empty key (u64 length), value type (u32), one-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Empty name, n_dims, one dimension, type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 8 + 4 + 8;
/// Speculative capacities are capped by these and by the bytes already present; beyond
/// them vectors grow with what was actually parsed, so a lying count cannot reserve memory.
const KV_PREALLOC: usize = 64;
const TENSOR_PREALLOC: usize = 256;
const NESTED_PREALLOC: usize = 64;

/// One tensor-info entry, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub ty: GgmlType,
    /// GGUF order: `dims[0]` is the row length (ggml `ne[0]`).
    pub dims: Vec<u64>,
    /// Relative to the start of the tensor-data section (of its shard, in a split model).
    pub offset: u64,
    pub n_elements: u64,
    pub n_bytes: u64,
    /// Which file of a split model (gguf-split) holds the data: 0 for a single file.
    pub shard: usize,
}

impl TensorInfo {
    /// Absolute byte range of the data in the file.
    pub fn abs_range(&self, data_start: u64) -> Range<u64> {
        let start = data_start.saturating_add(self.offset);
        start..start.saturating_add(self.n_bytes)
    }

    /// Elements per row (`dims[0]`).
    pub fn row_len(&self) -> u64 {
        self.dims.first().copied().unwrap_or(1)
    }

    /// Number of rows (product of the dims after the first).
    pub fn n_rows(&self) -> u64 {
        self.dims.iter().skip(1).product()
    }
}

/// A parsed and validated header (everything before the tensor data).
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute offset of the tensor-data section: `header_len` rounded up to `alignment`.
    pub data_start: u64,
    /// Bytes up to the end of the tensor-info table (before the alignment padding).
    pub header_len: u64,
    /// Indices of `tensors` sorted by name.
    by_name: Vec<usize>,
}

/// Result of parsing a prefix of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Complete(GgufHeader),
    /// The header does not end within the prefix; it must be at least `at_least` bytes long.
    NeedMore {
        at_least: u64,
    },
}

impl GgufHeader {
    /// Parses the header from `prefix`, the first bytes of a file whose total length is
    /// `total_len` when known. With a known length every count is checked against it, and the
    /// tensors must lie inside the file; with an unknown length a short prefix yields
    /// `NeedMore` and the length-dependent checks are left to [`GgufHeader::validate_len`].
    pub fn parse(prefix: &[u8], total_len: Option<u64>) -> Result<Parsed> {
        Ok(match HeaderParser::new().resume(prefix, total_len)? {
            Progress::Done(h) => Parsed::Complete(*h),
            Progress::NeedMore { at_least, .. } => Parsed::NeedMore { at_least },
        })
    }

    /// Checks the parts that depend on the file length: the alignment padding and every
    /// tensor's data lie within `total_len` bytes.
    pub fn validate_len(&self, total_len: u64) -> Result<()> {
        if !self.tensors.is_empty() && self.data_start > total_len {
            return Err(Error::Truncated {
                context: "alignment padding before the tensor data section".into(),
                offset: self.header_len,
                needed: self.data_start - self.header_len,
                file_len: total_len,
            });
        }
        for t in &self.tensors {
            let end = self
                .data_start
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(t.n_bytes));
            if end.is_none_or(|e| e > total_len) {
                let r = t.abs_range(self.data_start);
                return Err(Error::TensorOutOfBounds {
                    tensor: t.name.clone(),
                    start: r.start,
                    end: end.unwrap_or(u64::MAX),
                    file_len: total_len,
                });
            }
        }
        Ok(())
    }

    /// The smallest file length that holds every tensor.
    pub fn data_end(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| t.abs_range(self.data_start).end)
            .max()
            .unwrap_or(self.header_len)
    }

    /// This header with `tensors` instead (a split model's, gathered from every shard);
    /// names must stay unique.
    pub(crate) fn with_tensors(mut self, tensors: Vec<TensorInfo>) -> Result<GgufHeader> {
        let by_name = index_by_name(&tensors)?;
        self.tensors = tensors;
        self.by_name = by_name;
        Ok(self)
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        let pos = self
            .by_name
            .binary_search_by(|&i| {
                self.tensors
                    .get(i)
                    .map_or("", |t| t.name.as_str())
                    .cmp(name)
            })
            .ok()?;
        self.tensors.get(*self.by_name.get(pos)?)
    }

    /// The data bytes of `info` within `file` (the whole file, or a prefix reaching past it).
    pub fn tensor_bytes<'a>(&self, file: &'a [u8], info: &TensorInfo) -> Option<&'a [u8]> {
        let r = info.abs_range(self.data_start);
        let start = usize::try_from(r.start).ok()?;
        let end = usize::try_from(r.end).ok()?;
        file.get(start..end)
    }
}

/// What one resume call achieved.
pub(crate) enum Progress {
    Done(Box<GgufHeader>),
    /// The current item needs the prefix to reach `at_least` bytes; the failed attempt on
    /// it cost `work` (see `Cursor::work`).
    NeedMore {
        at_least: u64,
        work: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Preamble,
    Metadata,
    Tensors,
    Finished,
}

/// Resumable header parser: everything before `pos` has been accepted.
#[derive(Debug)]
pub(crate) struct HeaderParser {
    stage: Stage,
    pos: usize,
    version: u32,
    tensor_count: u64,
    kv_count: u64,
    entries: Vec<MetadataEntry>,
    metadata: Metadata,
    alignment: u64,
    tensors: Vec<TensorInfo>,
    scan: Option<StringScan>,
}

/// How far the length-only pass over a string array got before the prefix ran out. A big
/// vocabulary spans many chunks; resuming the pass keeps each retry proportional to the new
/// bytes. Keyed by the array's position, so a stale entry is simply not used.
#[derive(Debug, Clone, Copy)]
struct StringScan {
    first_elem: usize,
    next_elem: u64,
    next_pos: usize,
    bytes: u64,
}

impl HeaderParser {
    pub fn new() -> Self {
        HeaderParser {
            stage: Stage::Preamble,
            pos: 0,
            version: 0,
            tensor_count: 0,
            kv_count: 0,
            entries: Vec::new(),
            metadata: Metadata::default(),
            alignment: DEFAULT_ALIGNMENT,
            tensors: Vec::new(),
            scan: None,
        }
    }

    /// Continues from the last accepted item. `prefix` must extend the prefix of earlier
    /// calls (the same file). After `Done` the parser is spent.
    pub fn resume(&mut self, prefix: &[u8], total: Option<u64>) -> Result<Progress> {
        loop {
            let mut c = Cursor::new(prefix, self.pos, total);
            let step = match self.stage {
                Stage::Preamble => self.preamble(&mut c),
                Stage::Metadata if (self.entries.len() as u64) < self.kv_count => self.kv(&mut c),
                Stage::Metadata => self.end_metadata(&c).map_err(Fail::from),
                Stage::Tensors if (self.tensors.len() as u64) < self.tensor_count => {
                    self.tensor(&mut c)
                }
                Stage::Tensors => return self.finish(&c).map(|h| Progress::Done(Box::new(h))),
                Stage::Finished => {
                    return Err(Error::Truncated {
                        context: "GGUF header (parser reused after completion)".into(),
                        offset: self.pos as u64,
                        needed: 0,
                        file_len: prefix.len() as u64,
                    })
                }
            };
            match step {
                Ok(()) => self.pos = c.pos(),
                Err(Fail::NeedMore(at_least)) => {
                    return Ok(Progress::NeedMore {
                        at_least,
                        work: c.work(),
                    })
                }
                Err(Fail::Invalid(e)) => {
                    self.stage = Stage::Finished;
                    return Err(e);
                }
            }
        }
    }

    fn preamble(&mut self, c: &mut Cursor<'_>) -> PResult<()> {
        let magic: [u8; 4] = c.array(&|| "magic".into())?;
        if magic != GGUF_MAGIC {
            return Err(Error::BadMagic { found: magic }.into());
        }
        let version = c.u32(&|| "version".into())?;
        if !matches!(version, 2 | 3) {
            let swapped = version.swap_bytes();
            return Err(if matches!(swapped, 2 | 3) {
                Error::BigEndian { version: swapped }
            } else {
                Error::UnsupportedVersion { version }
            }
            .into());
        }
        let tensor_count = c.u64(&|| "tensor count".into())?;
        let kv_count = c.u64(&|| "metadata key/value count".into())?;
        if let Some(left) = c.left_in_file() {
            let kv_min = kv_count.saturating_mul(MIN_KV_BYTES);
            if kv_min > left {
                return Err(count_too_large("metadata key/value", kv_count, kv_min, left).into());
            }
            let t_min = tensor_count.saturating_mul(MIN_TENSOR_INFO_BYTES);
            if t_min > left - kv_min {
                return Err(count_too_large("tensor", tensor_count, t_min, left - kv_min).into());
            }
        }
        self.version = version;
        self.tensor_count = tensor_count;
        self.kv_count = kv_count;
        self.entries = Vec::with_capacity(prealloc(kv_count, c, MIN_KV_BYTES, KV_PREALLOC));
        self.stage = Stage::Metadata;
        Ok(())
    }

    fn kv(&mut self, c: &mut Cursor<'_>) -> PResult<()> {
        let i = self.entries.len();
        let key = c.str(&|| format!("metadata key #{i}"))?;
        let ctx = || format!("metadata key #{i} '{key}' value");
        let type_id = c.u32(&|| format!("metadata key #{i} '{key}' value type"))?;
        let value = read_value(c, type_id, &ctx, &mut self.scan)?;
        self.entries.push(MetadataEntry {
            key: key.to_owned(),
            value,
        });
        Ok(())
    }

    fn end_metadata(&mut self, c: &Cursor<'_>) -> Result<()> {
        let metadata = Metadata::from_entries(std::mem::take(&mut self.entries))?;
        self.alignment = match metadata.get(super::ALIGNMENT_KEY) {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            Some(Value::U32(a)) => {
                return Err(Error::BadAlignment {
                    alignment: u64::from(*a),
                })
            }
            Some(other) => {
                return Err(Error::WrongValueType {
                    key: super::ALIGNMENT_KEY.into(),
                    expected: "u32",
                    found: other.type_name(),
                })
            }
        };
        self.metadata = metadata;
        if let Some(left) = c.left_in_file() {
            let t_min = self.tensor_count.saturating_mul(MIN_TENSOR_INFO_BYTES);
            if t_min > left {
                return Err(count_too_large("tensor", self.tensor_count, t_min, left));
            }
        }
        self.tensors = Vec::with_capacity(prealloc(
            self.tensor_count,
            c,
            MIN_TENSOR_INFO_BYTES,
            TENSOR_PREALLOC,
        ));
        self.stage = Stage::Tensors;
        Ok(())
    }

    fn tensor(&mut self, c: &mut Cursor<'_>) -> PResult<()> {
        let i = self.tensors.len();
        let name = c.str(&|| format!("tensor info #{i} name"))?;
        let field = |what: &'static str| move || format!("tensor info #{i} '{name}' {what}");
        let n_dims = c.u32(&field("dimension count"))?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(Error::BadDimCount {
                tensor: name.into(),
                n_dims,
            }
            .into());
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(c.u64(&field("dimensions"))?);
        }
        if let Some((index, &value)) = dims.iter().enumerate().find(|(_, &d)| d == 0) {
            return Err(Error::ZeroDim {
                tensor: name.into(),
                index,
                value,
            }
            .into());
        }
        // ggml keeps element counts in int64_t; anything larger cannot be a real tensor.
        let n_elements = dims
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64);
        let Some(n_elements) = n_elements else {
            return Err(Error::ShapeOverflow {
                tensor: name.into(),
                dims,
            }
            .into());
        };
        let type_id = c.u32(&field("type"))?;
        let ty = match GgmlType::lookup(type_id) {
            TypeLookup::Supported(t) => t,
            TypeLookup::Unsupported(type_name) => {
                return Err(Error::UnsupportedType {
                    tensor: name.into(),
                    type_name,
                    type_id,
                }
                .into())
            }
            TypeLookup::Unknown => {
                return Err(Error::UnknownTensorType {
                    tensor: name.into(),
                    type_id,
                }
                .into())
            }
        };
        let block_len = ty.block_len() as u64;
        if dims[0] % block_len != 0 {
            return Err(Error::RowNotBlockAligned {
                tensor: name.into(),
                type_name: ty.name(),
                row_len: dims[0],
                block_len,
            }
            .into());
        }
        let Some(n_bytes) = ty.bytes_for(n_elements) else {
            return Err(Error::ShapeOverflow {
                tensor: name.into(),
                dims,
            }
            .into());
        };
        let offset = c.u64(&field("data offset"))?;
        if offset % self.alignment != 0 {
            return Err(Error::MisalignedOffset {
                tensor: name.into(),
                offset,
                alignment: self.alignment,
            }
            .into());
        }
        self.tensors.push(TensorInfo {
            name: name.to_owned(),
            ty,
            dims,
            offset,
            n_elements,
            n_bytes,
            shard: 0,
        });
        Ok(())
    }

    fn finish(&mut self, c: &Cursor<'_>) -> Result<GgufHeader> {
        self.stage = Stage::Finished;
        let header_len = c.pos_u64();
        let data_start = align_up(header_len, self.alignment);
        let tensors = std::mem::take(&mut self.tensors);

        let by_name = index_by_name(&tensors)?;
        check_overlap(&tensors)?;

        let header = GgufHeader {
            version: self.version,
            metadata: std::mem::take(&mut self.metadata),
            tensors,
            alignment: self.alignment,
            data_start,
            header_len,
            by_name,
        };
        if let Some(total) = c.total() {
            header.validate_len(total)?;
        }
        Ok(header)
    }
}

fn count_too_large(what: &'static str, count: u64, min_bytes: u64, available: u64) -> Error {
    Error::CountTooLarge {
        what,
        count,
        min_bytes,
        available,
    }
}

/// Capacity to reserve for `count` claimed items: never more than the bytes already present
/// could hold, nor more than `cap`.
fn prealloc(count: u64, c: &Cursor<'_>, min_item_bytes: u64, cap: usize) -> usize {
    let present = c.present() as u64 / min_item_bytes.max(1);
    count.min(present).min(cap as u64) as usize
}

fn align_up(x: u64, alignment: u64) -> u64 {
    let mask = alignment.saturating_sub(1);
    x.checked_add(mask).map_or(u64::MAX, |v| v & !mask)
}

/// Tensors are sorted by offset; each must start at or after the furthest end seen so far.
fn check_overlap(tensors: &[TensorInfo]) -> Result<()> {
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| (tensors[i].offset, i));
    let end = |t: &TensorInfo| t.offset.saturating_add(t.n_bytes);
    let mut furthest: Option<&TensorInfo> = None;
    for &i in &order {
        let t = &tensors[i];
        if let Some(f) = furthest {
            if t.offset < end(f) {
                return Err(Error::TensorOverlap {
                    first: f.name.clone(),
                    first_start: f.offset,
                    first_end: end(f),
                    second: t.name.clone(),
                    second_start: t.offset,
                    second_end: end(t),
                });
            }
        }
        if furthest.is_none_or(|f| end(t) > end(f)) {
            furthest = Some(t);
        }
    }
    Ok(())
}

fn read_value(
    c: &mut Cursor<'_>,
    type_id: u32,
    ctx: Ctx<'_>,
    scan: &mut Option<StringScan>,
) -> PResult<Value> {
    let ty = ValueType::from_id(type_id).ok_or_else(|| Error::UnknownValueType {
        context: ctx(),
        type_id,
    })?;
    Ok(match ty {
        ValueType::U8 => Value::U8(c.u8(ctx)?),
        ValueType::I8 => Value::I8(c.u8(ctx)? as i8),
        ValueType::U16 => Value::U16(u16::from_le_bytes(c.array(ctx)?)),
        ValueType::I16 => Value::I16(i16::from_le_bytes(c.array(ctx)?)),
        ValueType::U32 => Value::U32(c.u32(ctx)?),
        ValueType::I32 => Value::I32(i32::from_le_bytes(c.array(ctx)?)),
        ValueType::F32 => Value::F32(f32::from_le_bytes(c.array(ctx)?)),
        ValueType::Bool => Value::Bool(bool_byte(c.u8(ctx)?, ctx)?),
        ValueType::String => Value::String(c.str(ctx)?.to_owned()),
        ValueType::Array => Value::Array(Box::new(read_array(c, 1, ctx, scan)?)),
        ValueType::U64 => Value::U64(c.u64(ctx)?),
        ValueType::I64 => Value::I64(i64::from_le_bytes(c.array(ctx)?)),
        ValueType::F64 => Value::F64(f64::from_le_bytes(c.array(ctx)?)),
    })
}

fn bool_byte(b: u8, ctx: Ctx<'_>) -> PResult<bool> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(Error::InvalidBool {
            context: ctx(),
            value,
        }
        .into()),
    }
}

/// Reads an array body (element type, length, elements) at nesting `depth` (1 = top level).
fn read_array(
    c: &mut Cursor<'_>,
    depth: u32,
    ctx: Ctx<'_>,
    scan: &mut Option<StringScan>,
) -> PResult<Array> {
    if depth > MAX_ARRAY_DEPTH {
        return Err(Error::NestingTooDeep {
            context: ctx(),
            max_depth: MAX_ARRAY_DEPTH,
        }
        .into());
    }
    let elem_id = c.u32(ctx)?;
    let elem = ValueType::from_id(elem_id).ok_or_else(|| Error::UnknownValueType {
        context: ctx(),
        type_id: elem_id,
    })?;
    let len = c.u64(ctx)?;
    let min_bytes = len.checked_mul(elem.min_wire_bytes());
    if let Some(left) = c.left_in_file() {
        if min_bytes.is_none_or(|m| m > left) {
            return Err(Error::ArrayTooLong {
                context: ctx(),
                len,
                min_bytes: min_bytes.unwrap_or(u64::MAX),
                available: left,
            }
            .into());
        }
    }
    // Fixed-size elements: the whole payload must be present before anything is allocated,
    // and then the vector is exactly as large as those bytes.
    fn raw<'a>(c: &mut Cursor<'a>, n: Option<u64>, ctx: Ctx<'_>) -> PResult<&'a [u8]> {
        match n {
            Some(n) => c.take(n, ctx),
            // Only reachable with an unknown file length: no prefix can ever hold it.
            None => Err(Fail::NeedMore(u64::MAX)),
        }
    }
    macro_rules! fixed {
        ($v:ident, $t:ty, $n:literal) => {
            Array::$v(
                raw(c, min_bytes, ctx)?
                    .chunks_exact($n)
                    .map(|b| <$t>::from_le_bytes(le_bytes(b)))
                    .collect(),
            )
        };
    }
    Ok(match elem {
        ValueType::U8 => Array::U8(raw(c, min_bytes, ctx)?.to_vec()),
        ValueType::I8 => Array::I8(raw(c, min_bytes, ctx)?.iter().map(|&b| b as i8).collect()),
        ValueType::U16 => fixed!(U16, u16, 2),
        ValueType::I16 => fixed!(I16, i16, 2),
        ValueType::U32 => fixed!(U32, u32, 4),
        ValueType::I32 => fixed!(I32, i32, 4),
        ValueType::F32 => fixed!(F32, f32, 4),
        ValueType::U64 => fixed!(U64, u64, 8),
        ValueType::I64 => fixed!(I64, i64, 8),
        ValueType::F64 => fixed!(F64, f64, 8),
        ValueType::Bool => {
            let bytes = raw(c, min_bytes, ctx)?;
            let mut v = Vec::with_capacity(bytes.len());
            for (j, &b) in bytes.iter().enumerate() {
                v.push(bool_byte(b, &|| format!("{} element {j}", ctx()))?);
            }
            Array::Bool(v)
        }
        ValueType::String => Array::String(read_string_array(c, len, ctx, scan)?),
        ValueType::Array => {
            let mut v = Vec::with_capacity(prealloc(len, c, 12, NESTED_PREALLOC));
            for j in 0..len {
                let elem_ctx = || format!("{} element {j}", ctx());
                v.push(read_array(c, depth + 1, &elem_ctx, scan)?);
            }
            Array::Array(v)
        }
    })
}

/// Two passes: the first walks the length fields only, so the buffers are allocated once,
/// exactly, and only after every element is known to be present.
fn read_string_array(
    c: &mut Cursor<'_>,
    len: u64,
    ctx: Ctx<'_>,
    scan: &mut Option<StringScan>,
) -> PResult<StringArray> {
    let first_elem = c.pos();
    let mut state = match *scan {
        Some(s) if s.first_elem == first_elem => s,
        _ => StringScan {
            first_elem,
            next_elem: 0,
            next_pos: first_elem,
            bytes: 0,
        },
    };
    c.set_pos(state.next_pos);
    while state.next_elem < len {
        let j = state.next_elem;
        match c.skip_str(&|| format!("{} element {j}", ctx())) {
            Ok(n) => {
                state.bytes = state.bytes.saturating_add(n);
                state.next_elem += 1;
                state.next_pos = c.pos();
            }
            Err(e) => {
                if matches!(e, Fail::NeedMore(_)) {
                    *scan = Some(state);
                }
                return Err(e);
            }
        }
    }
    *scan = None;
    // Both fit in usize: every element was just found inside the in-memory prefix.
    let count = usize::try_from(len).unwrap_or(usize::MAX);
    let bytes = usize::try_from(state.bytes).unwrap_or(usize::MAX);
    c.set_pos(first_elem);
    let mut out = StringArray::with_capacity(count, bytes);
    for j in 0..len {
        out.push(c.str(&|| format!("{} element {j}", ctx()))?);
    }
    Ok(out)
}

/// Indices of `tensors` sorted by name; a name given twice is `DuplicateTensor`.
fn index_by_name(tensors: &[TensorInfo]) -> Result<Vec<usize>> {
    let by_name = sorted_index(tensors, |t| t.name.as_str());
    if let Some((first, second)) = first_duplicate(&by_name, |i| tensors[i].name.as_str()) {
        return Err(Error::DuplicateTensor {
            name: tensors[second].name.clone(),
            first: first as u64,
            second: second as u64,
        });
    }
    Ok(by_name)
}
