//! Corrupt-file taxonomy: one valid small file from the writer, broken one field at a time
//! at the offsets the writer reports. Every case checks the exact error variant and code,
//! then replays the bytes through `GgufStream` in 7-byte chunks: with the length known the
//! error must be identical; with it unknown the stream must still fail.

// Native only: reads the model file, times itself or counts allocations.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

use std::time::{Duration, Instant};

use alloc_counter::peak_alloc;
use wasm_chord::gguf::{
    Array, GgufFile, GgufStream, GgufWriter, Layout, LoadedGguf, StreamStatus, TensorSpec, Value,
};
use wasm_chord::quant::GgmlType;
use wasm_chord::Error;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

// ---- the valid file -----------------------------------------------------------------------

const K_ARCH: usize = 0;
const K_ALIGN: usize = 1;
const K_U8: usize = 2;
const K_I8: usize = 3;
const K_U32: usize = 6;
const K_BOOL: usize = 9;
const K_TOKENS: usize = 13;
const K_SCORES: usize = 14;
const K_FLAGS: usize = 15;
const K_NESTED: usize = 16;
const T_A: usize = 0;
const T_B: usize = 1;
const T_C: usize = 2;

fn sample_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", "tiny")
        .kv("general.alignment", 32u32)
        .kv("test.u8", 7u8)
        .kv("test.i8", -7i8)
        .kv("test.u16", 700u16)
        .kv("test.i16", -700i16)
        .kv("test.u32", 70_000u32)
        .kv("test.i32", -70_000i32)
        .kv("test.f32", 1.5f32)
        .kv("test.bool", true)
        .kv("test.u64", 1u64 << 40)
        .kv("test.i64", -(1i64 << 40))
        .kv("test.f64", 2.25f64)
        .kv("test.tokens", Value::array(vec!["a", "bc", "déf"]))
        .kv("test.scores", Value::array(vec![0.5f32, -1.0, 2.0]))
        .kv("test.flags", Value::array(vec![true, false, true]))
        .kv(
            "test.nested",
            Value::array(vec![
                Array::from(vec![1u32, 2]),
                Array::from(vec!["x"]),
                Array::from(Vec::<u8>::new()),
            ]),
        );
    let a: Vec<u8> = (0..16).flat_map(|i| (i as f32).to_le_bytes()).collect();
    w.tensor("a.weight", GgmlType::F32, &[8, 2], a)
        .tensor("b.weight", GgmlType::Q8_0, &[32, 2], vec![0x11; 68])
        .tensor("c.weight", GgmlType::Q4_K, &[256], vec![0x22; 144]);
    w
}

fn sample() -> (Vec<u8>, Layout) {
    sample_writer().build()
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn patched(f: impl FnOnce(&mut Vec<u8>, &Layout)) -> Vec<u8> {
    let (mut b, l) = sample();
    f(&mut b, &l);
    b
}

// ---- running a case -------------------------------------------------------------------------

/// Feeds `bytes` in `chunk`-byte pieces; returns the first error from `push` or `finish`.
fn stream_error(bytes: &[u8], expected: Option<u64>, chunk: usize) -> Option<Error> {
    let mut s = GgufStream::new(expected);
    for piece in bytes.chunks(chunk) {
        if let Err(e) = s.push(piece) {
            return Some(e);
        }
    }
    s.finish().err()
}

fn check(name: &str, bytes: &[u8], ok: impl Fn(&Error) -> bool, code: &str) {
    let t0 = Instant::now();
    let err = match GgufFile::parse(bytes) {
        Ok(_) => panic!("{name}: parsed successfully"),
        Err(e) => e,
    };
    assert!(t0.elapsed() < Duration::from_secs(1), "{name}: slow");
    assert!(ok(&err), "{name}: unexpected error {err:?}");
    assert_eq!(err.code(), code, "{name}: {err}");
    assert!(!err.to_string().is_empty());

    let via_stream = stream_error(bytes, Some(bytes.len() as u64), 7);
    assert_eq!(
        via_stream.as_ref(),
        Some(&err),
        "{name}: stream with length"
    );
    assert!(
        stream_error(bytes, None, 7).is_some(),
        "{name}: stream without length accepted it"
    );
}

macro_rules! case {
    ($name:expr, $bytes:expr, $pat:pat $(if $guard:expr)?, $code:literal) => {
        check($name, &$bytes, |e| matches!(e, $pat $(if $guard)?), $code)
    };
}

// ---- the valid file is valid ----------------------------------------------------------------

#[test]
fn sample_is_valid_and_has_padding() {
    let (b, l) = sample();
    let f = GgufFile::parse(&b).unwrap();
    let h = f.header();
    assert_eq!(h.tensors.len(), 3);
    assert_eq!(h.header_len as usize, l.header_len);
    assert_eq!(h.data_start as usize, l.data_start);
    assert!(l.header_len % 32 != 0, "the padding cases need padding");
    for (i, v) in f.tensors().enumerate() {
        assert_eq!(v.bytes, &b[l.tensor_data[i].clone()]);
    }
    let loaded = LoadedGguf::from_bytes(b.clone()).unwrap();
    assert_eq!(loaded.header(), h);
}

// ---- preamble ---------------------------------------------------------------------------------

#[test]
fn magic_and_version() {
    case!("bad magic", patched(|b, _| b[..4].copy_from_slice(b"GGML")),
        Error::BadMagic { found } if found == b"GGML", "GGUF_BAD_MAGIC");
    for v in [0u32, 1, 4, u32::MAX] {
        case!(&format!("version {v}"), patched(|b, l| put_u32(b, l.version, v)),
            Error::UnsupportedVersion { version } if *version == v, "GGUF_UNSUPPORTED_VERSION");
    }
    for v in [2u32, 3] {
        case!(&format!("big-endian version {v}"),
            patched(|b, l| b[l.version..l.version + 4].copy_from_slice(&v.to_be_bytes())),
            Error::BigEndian { version } if *version == v, "GGUF_BIG_ENDIAN");
    }
    // Version 2 has the same layout and is accepted.
    GgufFile::parse(&patched(|b, l| put_u32(b, l.version, 2))).unwrap();
}

// ---- truncation at every structural boundary ------------------------------------------------

/// What a file cut at some byte must report. Precedence is part of the contract: a count,
/// string length or array length that cannot fit in what is left of the file is reported as
/// such when it is read (before anything is allocated for it); a fixed-size field that runs
/// past the end is `Truncated`.
#[derive(Debug, Clone, Copy)]
enum Want {
    Truncated(&'static str),
    StringTooLong(&'static str),
    ArrayTooLong(&'static str),
    CountTooLarge(&'static str),
}

/// Where to cut the sample file, and what the parser must then report.
fn boundary_cuts(l: &Layout) -> Vec<(&'static str, usize, Want)> {
    let kv = &l.kvs;
    use Want::*;
    // Tensor #2 is the one whose fields are cut: before it the three tensor infos
    // (>= 32 bytes each) could not fit, which is reported as a count problem.
    vec![
        ("empty file", 0, Truncated("magic")),
        ("inside magic", 2, Truncated("magic")),
        ("inside version", 6, Truncated("version")),
        (
            "inside tensor count",
            l.tensor_count + 3,
            Truncated("tensor count"),
        ),
        (
            "inside kv count",
            l.kv_count + 5,
            Truncated("key/value count"),
        ),
        (
            "key/value pairs cannot fit",
            kv[K_U8].key.start + 3,
            CountTooLarge("metadata key/value"),
        ),
        (
            "tensor infos cannot fit",
            kv[12].key_len - 8,
            CountTooLarge("tensor"),
        ),
        (
            "inside a key length",
            kv[K_TOKENS].key_len + 3,
            Truncated("metadata key #13"),
        ),
        (
            "inside a key",
            kv[K_TOKENS].key.start + 3,
            StringTooLong("metadata key #13"),
        ),
        (
            "inside a value type",
            kv[K_SCORES].value_type + 2,
            Truncated("'test.scores' value type"),
        ),
        (
            "inside a scalar value",
            kv[12].value.start + 3,
            Truncated("'test.f64' value"),
        ),
        (
            "inside an array header",
            kv[K_SCORES].value.start + 6,
            Truncated("'test.scores' value"),
        ),
        (
            "inside array elements",
            kv[K_SCORES].value.end - 2,
            ArrayTooLong("'test.scores' value"),
        ),
        (
            "inside a string array element",
            kv[K_TOKENS].value.end - 1,
            StringTooLong("'test.tokens' value element 2"),
        ),
        (
            "inside a nested array",
            kv[K_NESTED].value.end - 3,
            Truncated("'test.nested' value element 2"),
        ),
    ]
    .into_iter()
    .chain(tensor_info_cuts(l))
    .collect()
}

/// Cuts inside the tensor-info table (tensor #2's fields) and the padding after it.
fn tensor_info_cuts(l: &Layout) -> Vec<(&'static str, usize, Want)> {
    let c = &l.tensor_infos[T_C];
    use Want::*;
    vec![
        (
            "tensor infos no longer fit",
            l.tensor_infos[T_B].name.start + 2,
            CountTooLarge("tensor"),
        ),
        (
            "inside a tensor name length",
            c.name_len + 5,
            Truncated("tensor info #2 name"),
        ),
        (
            "inside a tensor name",
            c.name.start + 2,
            StringTooLong("tensor info #2 name"),
        ),
        (
            "inside n_dims",
            c.n_dims + 1,
            Truncated("'c.weight' dimension count"),
        ),
        (
            "inside dims",
            c.dims[0] + 3,
            Truncated("'c.weight' dimensions"),
        ),
        ("inside the type", c.ty + 2, Truncated("'c.weight' type")),
        (
            "inside the offset",
            c.offset + 7,
            Truncated("'c.weight' data offset"),
        ),
        ("inside the padding", l.header_len + 1, Truncated("padding")),
    ]
}

#[test]
fn truncation_at_every_boundary() {
    let (b, l) = sample();
    use Want::*;
    for (name, cut, want) in boundary_cuts(&l) {
        assert!(cut < b.len());
        let n = cut as u64;
        match want {
            Truncated(ctx) => case!(name, b[..cut],
                Error::Truncated { context, file_len, .. } if context.contains(ctx) && *file_len == n,
                "GGUF_TRUNCATED"),
            StringTooLong(ctx) => case!(name, b[..cut],
                Error::StringTooLong { context, .. } if context.contains(ctx),
                "GGUF_STRING_TOO_LONG"),
            ArrayTooLong(ctx) => case!(name, b[..cut],
                Error::ArrayTooLong { context, .. } if context.contains(ctx),
                "GGUF_ARRAY_TOO_LONG"),
            CountTooLarge(w) => case!(name, b[..cut],
                Error::CountTooLarge { what, .. } if *what == w,
                "GGUF_COUNT_TOO_LARGE"),
        }
    }
    // Cut inside tensor data: the header is whole, the tensor runs past the end.
    let cut = l.tensor_data[T_B].start + 5;
    case!("inside tensor data", b[..cut],
        Error::TensorOutOfBounds { tensor, file_len, .. }
            if tensor == "b.weight" && *file_len == cut as u64,
        "GGUF_TENSOR_OUT_OF_BOUNDS");
}

// ---- counts and lengths larger than the file: errors, not allocations ----------------------

/// The sample file with one count or length replaced by a huge number each.
fn huge_claims() -> Vec<(&'static str, Vec<u8>)> {
    let (b, l) = sample();
    let mut huge = Vec::new();
    for (name, at, v) in [
        ("tensor count", l.tensor_count, u64::MAX),
        ("tensor count 2^40", l.tensor_count, 1 << 40),
        ("kv count", l.kv_count, u64::MAX),
        ("kv count 10^6", l.kv_count, 1_000_000),
        ("key length", l.kvs[K_U8].key_len, u64::MAX),
        ("string value length", l.kvs[K_ARCH].value.start, 1 << 40),
        (
            "tensor name length",
            l.tensor_infos[T_A].name_len,
            u64::MAX / 3,
        ),
        (
            "string array length",
            l.kvs[K_TOKENS].value.start + 4,
            1 << 40,
        ),
        (
            "f32 array length",
            l.kvs[K_SCORES].value.start + 4,
            u64::MAX / 2,
        ),
        (
            "nested array length",
            l.kvs[K_NESTED].value.start + 4,
            1 << 33,
        ),
        (
            "string element length",
            l.kvs[K_TOKENS].value.start + 12,
            u64::MAX,
        ),
    ] {
        let mut c = b.clone();
        put_u64(&mut c, at, v);
        huge.push((name, c));
    }
    huge
}

#[test]
fn huge_claims_fail_fast_without_allocating() {
    let huge = huge_claims();
    for (name, bytes) in &huge {
        let t0 = Instant::now();
        let (r, peak) = peak_alloc(|| GgufFile::parse(bytes));
        let err = r.expect_err(name);
        assert!(t0.elapsed() < Duration::from_millis(100), "{name}: slow");
        assert!(peak < 64 * 1024, "{name}: allocated {peak} bytes");
        let want = match *name {
            n if n.contains("count") => "GGUF_COUNT_TOO_LARGE",
            n if n.contains("array length") => "GGUF_ARRAY_TOO_LONG",
            _ => "GGUF_STRING_TOO_LONG",
        };
        assert_eq!(err.code(), want, "{name}: {err}");
        // And through a stream of unknown length, where nothing can be checked against the
        // end: it must wait for bytes, not reserve them.
        let (r, peak) = peak_alloc(|| {
            let mut s = GgufStream::new(None);
            s.push(bytes).and_then(|_| s.finish().map(|_| ()))
        });
        assert!(r.is_err(), "{name}");
        assert!(
            peak < 4 * bytes.len() + 64 * 1024,
            "{name}: stream allocated {peak}"
        );
    }
}

/// The errors of `huge_claims` name the field and carry the claimed number.
#[test]
fn huge_claims_name_the_field() {
    let huge = huge_claims();
    case!(
        "tensor count",
        huge[0].1,
        Error::CountTooLarge {
            what: "tensor",
            count: u64::MAX,
            ..
        },
        "GGUF_COUNT_TOO_LARGE"
    );
    case!(
        "kv count",
        huge[2].1,
        Error::CountTooLarge {
            what: "metadata key/value",
            count: u64::MAX,
            ..
        },
        "GGUF_COUNT_TOO_LARGE"
    );
    case!("key length", huge[4].1,
        Error::StringTooLong { context, len: u64::MAX, .. } if context == "metadata key #2",
        "GGUF_STRING_TOO_LONG");
    case!("string value length", huge[5].1,
        Error::StringTooLong { context, .. } if context.contains("general.architecture"),
        "GGUF_STRING_TOO_LONG");
    case!("tensor name length", huge[6].1,
        Error::StringTooLong { context, .. } if context == "tensor info #0 name",
        "GGUF_STRING_TOO_LONG");
    case!("string array length", huge[7].1,
        Error::ArrayTooLong { context, len, .. } if context.contains("test.tokens") && *len == 1 << 40,
        "GGUF_ARRAY_TOO_LONG");
    case!("f32 array length", huge[8].1,
        Error::ArrayTooLong { context, .. } if context.contains("test.scores"),
        "GGUF_ARRAY_TOO_LONG");
    case!("string element length", huge[10].1,
        Error::StringTooLong { context, .. } if context.contains("test.tokens' value element 0"),
        "GGUF_STRING_TOO_LONG");
}

// ---- alignment --------------------------------------------------------------------------------

#[test]
fn alignment_key() {
    let mut w = sample_writer();
    w.kvs[K_ALIGN].1 = wasm_chord::gguf::KvPayload::Value(Value::U64(32));
    case!("alignment as u64", w.to_bytes(),
        Error::WrongValueType { key, expected: "u32", found: "u64" } if key == "general.alignment",
        "GGUF_WRONG_VALUE_TYPE");
    let mut w = sample_writer();
    w.kvs[K_ALIGN].1 = wasm_chord::gguf::KvPayload::Value(Value::from("32"));
    case!(
        "alignment as string",
        w.to_bytes(),
        Error::WrongValueType {
            found: "string",
            ..
        },
        "GGUF_WRONG_VALUE_TYPE"
    );
    for a in [0u32, 3, 48] {
        case!(&format!("alignment {a}"),
            patched(|b, l| put_u32(b, l.kvs[K_ALIGN].value.start, a)),
            Error::BadAlignment { alignment } if *alignment == u64::from(a), "GGUF_BAD_ALIGNMENT");
    }
    // A different valid alignment moves the data section and must be honoured.
    let mut w = sample_writer();
    w.kvs[K_ALIGN].1 = wasm_chord::gguf::KvPayload::Value(Value::U32(256));
    let (b, l) = w.build();
    let f = GgufFile::parse(&b).unwrap();
    assert_eq!(f.header().alignment, 256);
    assert_eq!(f.header().data_start as usize, l.data_start);
    assert_eq!(l.data_start % 256, 0);
}

// ---- tensor placement ----------------------------------------------------------------------

#[test]
fn tensor_offsets() {
    case!("misaligned offset",
        patched(|b, l| put_u64(b, l.tensor_infos[T_B].offset, 64 + 4)),
        Error::MisalignedOffset { tensor, offset: 68, alignment: 32 } if tensor == "b.weight",
        "GGUF_MISALIGNED_OFFSET");
    case!("offset past EOF",
        patched(|b, l| put_u64(b, l.tensor_infos[T_B].offset, 1 << 20)),
        Error::TensorOutOfBounds { tensor, .. } if tensor == "b.weight",
        "GGUF_TENSOR_OUT_OF_BOUNDS");
    case!("offset overflowing u64",
        patched(|b, l| put_u64(b, l.tensor_infos[T_B].offset, u64::MAX - 31)),
        Error::TensorOutOfBounds { tensor, end: u64::MAX, .. } if tensor == "b.weight",
        "GGUF_TENSOR_OUT_OF_BOUNDS");
    let (b, l) = sample();
    let cut = l.tensor_data[T_C].end - 1;
    case!("last tensor runs past EOF", b[..cut],
        Error::TensorOutOfBounds { tensor, end, .. }
            if tensor == "c.weight" && *end == l.tensor_data[T_C].end as u64,
        "GGUF_TENSOR_OUT_OF_BOUNDS");
    case!("overlapping tensors",
        patched(|b, l| put_u64(b, l.tensor_infos[T_C].offset, 64)),
        Error::TensorOverlap { first, second, first_start: 64, second_start: 64, .. }
            if first == "b.weight" && second == "c.weight",
        "GGUF_TENSOR_OVERLAP");
    case!("duplicate tensor names",
        patched(|b, l| b[l.tensor_infos[T_C].name.clone()].copy_from_slice(b"a.weight")),
        Error::DuplicateTensor { name, first: 0, second: 2 } if name == "a.weight",
        "GGUF_DUPLICATE_TENSOR");
}

// ---- tensor shapes and types ------------------------------------------------------------------

#[test]
fn tensor_shapes_and_types() {
    case!("zero dim",
        patched(|b, l| put_u64(b, l.tensor_infos[T_A].dims[1], 0)),
        Error::ZeroDim { tensor, index: 1, value: 0 } if tensor == "a.weight", "GGUF_ZERO_DIM");
    case!(
        "zero dims",
        patched(|b, l| put_u32(b, l.tensor_infos[T_A].n_dims, 0)),
        Error::BadDimCount { n_dims: 0, .. },
        "GGUF_BAD_DIM_COUNT"
    );
    let mut w = sample_writer();
    w.tensor_spec(TensorSpec {
        name: b"e.weight".to_vec(),
        type_id: 0,
        dims: vec![1, 1, 1, 1, 8],
        offset: None,
        data: vec![0; 32],
    });
    case!("5 dims", w.to_bytes(),
        Error::BadDimCount { tensor, n_dims: 5 } if tensor == "e.weight", "GGUF_BAD_DIM_COUNT");
    case!("element count overflows",
        patched(|b, l| put_u64(b, l.tensor_infos[T_A].dims[1], 1 << 62)),
        Error::ShapeOverflow { tensor, dims } if tensor == "a.weight" && dims == &[8, 1 << 62],
        "GGUF_SHAPE_OVERFLOW");
    // 2^62 elements fit ggml's int64 count, but 2^62 f32s do not fit u64 bytes.
    case!("byte size overflows",
        patched(|b, l| {
            put_u64(b, l.tensor_infos[T_A].dims[0], 4);
            put_u64(b, l.tensor_infos[T_A].dims[1], 1 << 60);
        }),
        Error::ShapeOverflow { tensor, .. } if tensor == "a.weight", "GGUF_SHAPE_OVERFLOW");
    for id in [4u32, 31, 1000, u32::MAX] {
        case!(&format!("unknown type {id}"),
            patched(|b, l| put_u32(b, l.tensor_infos[T_B].ty, id)),
            Error::UnknownTensorType { tensor, type_id } if tensor == "b.weight" && *type_id == id,
            "GGUF_UNKNOWN_TYPE");
    }
    case!("unsupported IQ4_NL",
        patched(|b, l| put_u32(b, l.tensor_infos[T_B].ty, 20)),
        Error::UnsupportedType { tensor, type_name: "IQ4_NL", type_id: 20 } if tensor == "b.weight",
        "UNSUPPORTED_TYPE");
    let err = GgufFile::parse(&patched(|b, l| put_u32(b, l.tensor_infos[T_B].ty, 20))).unwrap_err();
    assert!(err.to_string().contains("b.weight") && err.to_string().contains("IQ4_NL"));
    case!("row not a multiple of the block",
        patched(|b, l| put_u64(b, l.tensor_infos[T_C].dims[0], 128)),
        Error::RowNotBlockAligned { tensor, type_name: "Q4_K", row_len: 128, block_len: 256 }
            if tensor == "c.weight",
        "GGUF_ROW_NOT_BLOCK_ALIGNED");
    case!(
        "Q8_0 row of 48",
        patched(|b, l| put_u64(b, l.tensor_infos[T_B].dims[0], 48)),
        Error::RowNotBlockAligned {
            block_len: 32,
            row_len: 48,
            ..
        },
        "GGUF_ROW_NOT_BLOCK_ALIGNED"
    );
}

// ---- metadata values --------------------------------------------------------------------------

#[test]
fn metadata_values() {
    case!("invalid bool",
        patched(|b, l| b[l.kvs[K_BOOL].value.start] = 2),
        Error::InvalidBool { context, value: 2 } if context.contains("test.bool"),
        "GGUF_INVALID_BOOL");
    case!("invalid bool in array",
        patched(|b, l| b[l.kvs[K_FLAGS].value.start + 12 + 1] = 0xff),
        Error::InvalidBool { context, value: 0xff } if context.ends_with("element 1"),
        "GGUF_INVALID_BOOL");
    for t in [13u32, 100, u32::MAX] {
        case!(&format!("unknown value type {t}"),
            patched(|b, l| put_u32(b, l.kvs[K_U32].value_type, t)),
            Error::UnknownValueType { context, type_id } if context.contains("test.u32") && *type_id == t,
            "GGUF_UNKNOWN_VALUE_TYPE");
    }
    case!(
        "unknown array element type",
        patched(|b, l| put_u32(b, l.kvs[K_SCORES].value.start, 99)),
        Error::UnknownValueType { type_id: 99, .. },
        "GGUF_UNKNOWN_VALUE_TYPE"
    );
    case!("invalid UTF-8 key",
        patched(|b, l| b[l.kvs[K_U8].key.start + 1] = 0xff),
        Error::InvalidUtf8 { context } if context == "metadata key #2", "GGUF_INVALID_UTF8");
    case!("invalid UTF-8 string value",
        patched(|b, l| b[l.kvs[K_ARCH].value.start + 8] = 0xc3),
        Error::InvalidUtf8 { context } if context.contains("general.architecture"),
        "GGUF_INVALID_UTF8");
    // "déf": cut the two-byte é in half.
    case!("invalid UTF-8 array element",
        patched(|b, l| { let e = l.kvs[K_TOKENS].value.end; b[e - 2] = b'x'; }),
        Error::InvalidUtf8 { context } if context.ends_with("element 2"), "GGUF_INVALID_UTF8");
    case!("invalid UTF-8 tensor name",
        patched(|b, l| b[l.tensor_infos[T_A].name.start] = 0x80),
        Error::InvalidUtf8 { context } if context == "tensor info #0 name", "GGUF_INVALID_UTF8");
    case!("duplicate key",
        patched(|b, l| b[l.kvs[K_I8].key.clone()].copy_from_slice(b"test.u8")),
        Error::DuplicateKey { key, first: 2, second: 3 } if key == "test.u8",
        "GGUF_DUPLICATE_KEY");

    // Nine levels of arrays: one past the limit.
    let mut deep = Array::from(vec![1u8]);
    for _ in 0..8 {
        deep = Array::Array(vec![deep]);
    }
    let mut w = sample_writer();
    w.kv("test.deep", Value::array(deep.clone()));
    case!("arrays nested too deep", w.to_bytes(),
        Error::NestingTooDeep { context, max_depth: 8 } if context.contains("test.deep"),
        "GGUF_NESTING_TOO_DEEP");
    // Eight levels are fine.
    let Array::Array(mut inner) = deep else {
        unreachable!()
    };
    let mut w = sample_writer();
    w.kv("test.deep", Value::array(inner.pop().unwrap()));
    GgufFile::parse(&w.to_bytes()).unwrap();
}

// ---- streaming ----------------------------------------------------------------------------------

#[test]
fn header_ready_before_the_body_in_small_chunks() {
    let (b, l) = sample();
    for chunk in [1usize, 7, 64, 1000] {
        let mut s = GgufStream::new(Some(b.len() as u64));
        let mut ready_at = None;
        for piece in b.chunks(chunk) {
            match s.push(piece).unwrap() {
                StreamStatus::NeedHeader => assert!(ready_at.is_none()),
                StreamStatus::HeaderReady => {
                    assert!(ready_at.is_none());
                    ready_at = Some(s.received() as usize);
                }
                StreamStatus::Body => assert!(ready_at.is_some()),
            }
        }
        let ready_at = ready_at.expect("header never ready");
        assert!(
            ready_at >= l.header_len && ready_at < l.header_len + chunk,
            "chunk {chunk}: {ready_at}"
        );
        assert!(ready_at < l.tensor_data[T_C].end);
        let loaded = s.finish().unwrap();
        let file = GgufFile::parse(&b).unwrap();
        assert_eq!(loaded.header(), file.header());
        for (x, y) in loaded.tensors().zip(file.tensors()) {
            assert_eq!(x, y);
        }
    }
}

#[test]
fn header_beyond_expected_len_fails_when_the_header_completes() {
    // A 1 MiB tensor; the announced length is one byte short of it.
    let mut w = GgufWriter::new();
    w.kv("general.architecture", "tiny").tensor(
        "big",
        GgmlType::F32,
        &[1024, 256],
        vec![0; 1 << 20],
    );
    let (b, l) = w.build();
    let short = b.len() as u64 - 1;
    let mut s = GgufStream::new(Some(short));
    let mut failed_at = None;
    for piece in b.chunks(7) {
        match s.push(piece) {
            Ok(StreamStatus::NeedHeader) => {}
            Ok(other) => panic!("{other:?} at {}", s.received()),
            Err(e) => {
                assert!(
                    matches!(&e, Error::TensorOutOfBounds { tensor, file_len, .. }
                    if tensor == "big" && *file_len == short),
                    "{e:?}"
                );
                failed_at = Some(s.received() as usize);
                break;
            }
        }
    }
    let failed_at = failed_at.expect("never failed");
    assert!(
        failed_at >= l.header_len && failed_at < l.header_len + 7,
        "{failed_at}"
    );
    assert!(failed_at < b.len() / 1000);
    // The stream stays failed.
    assert!(s.push(&[0]).is_err());
}

#[test]
fn body_length_errors() {
    let (b, _) = sample();
    let n = b.len() as u64;
    // Too long: fails on the push that crosses the announced length.
    let mut s = GgufStream::new(Some(n - 10));
    let e = b.chunks(64).find_map(|p| s.push(p).err()).unwrap();
    assert!(
        matches!(e, Error::BodyTooLong { expected, .. } if expected == n - 10),
        "{e:?}"
    );
    assert_eq!(e.code(), "GGUF_TOO_LONG");
    // Ends early with a known length.
    let mut s = GgufStream::new(Some(n));
    s.push(&b[..b.len() - 10]).unwrap();
    let e = s.finish().unwrap_err();
    assert_eq!(
        e,
        Error::BodyTruncated {
            received: n - 10,
            expected: n
        }
    );
    assert_eq!(e.code(), "GGUF_TRUNCATED");
    // Ends early without a known length: the header says how long the body must be.
    let (b, l) = sample();
    let cut = l.tensor_data[T_C].end - 1;
    let mut s = GgufStream::new(None);
    for p in b[..cut].chunks(5) {
        s.push(p).unwrap();
    }
    let e = s.finish().unwrap_err();
    assert_eq!(
        e,
        Error::BodyTruncated {
            received: cut as u64,
            expected: l.tensor_data[T_C].end as u64
        }
    );
    // Unknown length, complete file: fine.
    let mut s = GgufStream::new(None);
    for p in b.chunks(5) {
        s.push(p).unwrap();
    }
    assert_eq!(s.finish().unwrap().shard_bytes(0), &b[..]);
}
