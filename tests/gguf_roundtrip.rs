//! Writer → reader round trips: every value type, nested arrays, typed getters and their
//! errors, prefix parsing, and the writer's layout map.

use wasm_chord::gguf::{
    Array, GgufFile, GgufHeader, GgufStream, GgufWriter, LoadedGguf, Parsed, StreamStatus,
    StringArray, Value, ValueType,
};
use wasm_chord::quant::GgmlType;
use wasm_chord::Error;

// Under `wasm-pack test --node` the same tests run in the wasm build.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn every_value() -> Vec<(&'static str, Value)> {
    vec![
        ("v.u8", Value::U8(200)),
        ("v.i8", Value::I8(-100)),
        ("v.u16", Value::U16(60_000)),
        ("v.i16", Value::I16(-30_000)),
        ("v.u32", Value::U32(4_000_000_000)),
        ("v.i32", Value::I32(-2_000_000_000)),
        ("v.f32", Value::F32(-0.125)),
        ("v.bool", Value::Bool(false)),
        ("v.string", Value::from("héllo")),
        ("v.u64", Value::U64(u64::MAX)),
        ("v.i64", Value::I64(i64::MIN)),
        ("v.f64", Value::F64(1e300)),
        ("a.u8", Value::array(vec![1u8, 2, 3])),
        ("a.i8", Value::array(vec![-1i8, 2])),
        ("a.u16", Value::array(vec![1u16, 65535])),
        ("a.i16", Value::array(vec![-1i16])),
        ("a.u32", Value::array(vec![7u32; 20])),
        ("a.i32", Value::array(vec![-7i32, 7])),
        ("a.f32", Value::array(vec![0.5f32, 1.5])),
        ("a.bool", Value::array(vec![true, false])),
        ("a.string", Value::array(vec!["", "a", "ünïcode", "🦀"])),
        ("a.u64", Value::array(vec![u64::MAX, 0])),
        ("a.i64", Value::array(vec![i64::MIN])),
        ("a.f64", Value::array(vec![-2.5f64])),
        ("a.empty", Value::array(Vec::<u32>::new())),
        (
            "a.nested",
            Value::array(vec![
                Array::from(vec![1u32, 2]),
                Array::from(vec!["x", "y"]),
                Array::Array(vec![Array::from(vec![true]), Array::Array(vec![])]),
                Array::from(Vec::<f64>::new()),
            ]),
        ),
    ]
}

fn writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    for (k, v) in every_value() {
        w.kv(k, v);
    }
    w.tensor("t.f32", GgmlType::F32, &[4, 3], vec![1; 48])
        .tensor("t.q6k", GgmlType::Q6_K, &[256, 2], vec![2; 420])
        .tensor("t.bf16", GgmlType::BF16, &[2, 1, 1, 2], vec![3; 8]);
    w
}

#[test]
fn every_value_type_round_trips() {
    let (b, layout) = writer().build();
    let f = GgufFile::parse(&b).unwrap();
    let m = f.metadata();
    let expected = every_value();
    assert_eq!(m.len(), expected.len());
    for ((k, v), (ek, ev)) in m.iter().zip(&expected) {
        assert_eq!(k, *ek);
        assert_eq!(v, ev, "{k}");
        assert_eq!(m.get(k), Some(ev));
    }
    for (i, kv) in layout.kvs.iter().enumerate() {
        assert_eq!(&b[kv.key.clone()], expected[i].0.as_bytes());
        let id = u32::from_le_bytes(b[kv.value_type..kv.value_type + 4].try_into().unwrap());
        assert_eq!(ValueType::from_id(id), Some(expected[i].1.value_type()));
    }
    assert_eq!(m.get("missing"), None);
    let nested = m.get_array("a.nested").unwrap();
    assert_eq!(nested.type_name(), "array[array]");
    assert_eq!(
        nested.as_arrays().unwrap()[1].as_strings().unwrap().get(1),
        Some("y")
    );
    let strings = m.get_str_array("a.string").unwrap();
    assert_eq!(
        strings.iter().collect::<Vec<_>>(),
        ["", "a", "ünïcode", "🦀"]
    );
    assert_eq!(strings.get(4), None);
}

#[test]
fn typed_getters_and_their_errors() {
    let b = writer().to_bytes();
    let f = GgufFile::parse(&b).unwrap();
    let m = f.metadata();
    assert_eq!(m.get_u8("v.u8").unwrap(), 200);
    assert_eq!(m.get_i16("v.i16").unwrap(), -30_000);
    assert_eq!(m.get_u32("v.u32").unwrap(), 4_000_000_000);
    assert_eq!(m.get_u64("v.u64").unwrap(), u64::MAX);
    assert_eq!(m.get_i64("v.i64").unwrap(), i64::MIN);
    assert_eq!(m.get_f32("v.f32").unwrap(), -0.125);
    assert_eq!(m.get_f64("v.f64").unwrap(), 1e300);
    assert!(!m.get_bool("v.bool").unwrap());
    assert_eq!(m.get_str("v.string").unwrap(), "héllo");
    assert_eq!(m.get_f32_array("a.f32").unwrap(), &[0.5, 1.5]);
    assert_eq!(m.get_i32_array("a.i32").unwrap(), &[-7, 7]);
    assert_eq!(m.opt_u32("nope").unwrap(), None);
    assert_eq!(m.opt_str("v.string").unwrap(), Some("héllo"));
    assert_eq!(m.get_uint("v.u8").unwrap(), 200);
    assert_eq!(m.get_uint("v.u32").unwrap(), 4_000_000_000);

    let e = m.get_u32("v.string").unwrap_err();
    assert_eq!(
        e,
        Error::WrongValueType {
            key: "v.string".into(),
            expected: "u32",
            found: "string"
        }
    );
    assert_eq!(e.code(), "GGUF_WRONG_VALUE_TYPE");
    let e = m.get_str_array("a.f32").unwrap_err();
    assert!(matches!(
        e,
        Error::WrongValueType {
            expected: "array[string]",
            found: "array[f32]",
            ..
        }
    ));
    let e = m.get_uint("v.i8").unwrap_err();
    assert!(
        matches!(e, Error::WrongValueType { found: "i8", .. }),
        "{e:?}"
    );
    let e = m.get_u32("nope").unwrap_err();
    assert_eq!(e, Error::MissingKey { key: "nope".into() });
    assert_eq!(e.code(), "GGUF_MISSING_KEY");
}

#[test]
fn tensors_and_views() {
    let (b, layout) = writer().build();
    let f = GgufFile::parse(&b).unwrap();
    let h = f.header();
    assert_eq!(h.alignment, 32);
    assert_eq!(h.header_len as usize, layout.header_len);
    assert_eq!(h.data_start as usize, layout.data_start);
    let q = h.tensor_info("t.q6k").unwrap();
    assert_eq!((q.ty, q.n_elements, q.n_bytes), (GgmlType::Q6_K, 512, 420));
    assert_eq!((q.row_len(), q.n_rows()), (256, 2));
    let bf = f.tensor("t.bf16").unwrap();
    assert_eq!(bf.info.dims, [2, 1, 1, 2]);
    assert_eq!(bf.bytes, &[3; 8]);
    assert_eq!(
        bf.info.abs_range(h.data_start).start as usize,
        layout.tensor_data[2].start
    );
    assert!(f.tensor("nope").is_none());
    assert_eq!(h.data_end() as usize, layout.tensor_data[2].end);
    let loaded = LoadedGguf::from_bytes(b.clone()).unwrap();
    assert_eq!(loaded.tensor("t.f32").unwrap().bytes, &[1; 48]);
    let (h2, bytes) = loaded.into_parts();
    assert_eq!(&h2, h);
    assert_eq!(bytes, b);
}

#[test]
fn prefix_parsing_reports_how_much_is_needed() {
    let (b, layout) = writer().build();
    let full = match GgufHeader::parse(&b, None).unwrap() {
        Parsed::Complete(h) => h,
        other => panic!("{other:?}"),
    };
    // Every proper prefix of the header asks for more, never for less than it has.
    let mut n = 0;
    while n < layout.header_len {
        match GgufHeader::parse(&b[..n], None).unwrap() {
            Parsed::NeedMore { at_least } => {
                assert!(
                    at_least > n as u64 && at_least <= layout.header_len as u64,
                    "{n}: {at_least}"
                );
                n = at_least as usize;
            }
            Parsed::Complete(_) => panic!("complete at {n}"),
        }
    }
    // The header alone (no tensor data yet) is complete when the length is unknown.
    assert_eq!(
        GgufHeader::parse(&b[..layout.header_len], None).unwrap(),
        Parsed::Complete(full.clone())
    );
    full.validate_len(b.len() as u64).unwrap();
    assert!(full.validate_len(full.data_end() - 1).is_err());
    // With the length known, the same prefix is checked against it.
    assert!(GgufHeader::parse(&b[..layout.header_len], Some(layout.header_len as u64)).is_err());
}

#[test]
fn empty_and_tensorless_files() {
    let b = GgufWriter::new().to_bytes();
    assert_eq!(b.len(), 32, "24-byte preamble padded to the alignment");
    GgufFile::parse(&b[..24]).unwrap();
    let f = GgufFile::parse(&b).unwrap();
    assert!(f.metadata().is_empty() && f.header().tensors.is_empty());
    let mut w = GgufWriter::new();
    w.kv("general.name", "x");
    let b = w.to_bytes();
    let mut s = GgufStream::new(Some(b.len() as u64));
    assert_eq!(s.push(&b).unwrap(), StreamStatus::HeaderReady);
    assert_eq!(
        s.finish()
            .unwrap()
            .metadata()
            .get_str("general.name")
            .unwrap(),
        "x"
    );
}

#[test]
fn string_array_basics() {
    let a: StringArray = ["ab", "", "c"].into_iter().collect();
    assert_eq!(a.len(), 3);
    assert_eq!(a.total_bytes(), 3);
    assert_eq!(a.get(0), Some("ab"));
    assert_eq!(a.get(1), Some(""));
    assert_eq!(a.iter().len(), 3);
}
