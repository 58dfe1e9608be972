//! Mutation fuzzing of a valid small GGUF file (>= 10,000 inputs per run): byte flips,
//! insertions, deletions, truncations, and structural u64/u32 fields set to extreme values.
//!
//! For every input: no panic, fast, peak allocation during the parse below
//! 8 × input length + 64 KiB (counted per thread by the allocator below), and the three
//! entry points agree — `GgufFile::parse`, `GgufStream` with the length known (identical
//! result, random chunking) and `GgufStream` without it (same success/failure).
//!
//! For coverage-guided fuzzing, a cargo-fuzz target would be the same body over
//! `GgufFile::parse(data)` (`fuzz/fuzz_targets/gguf_parse.rs` with `libfuzzer-sys`); it needs
//! a nightly toolchain, so it is not part of this repository's tests.

// Native only: reads the model file, times itself or counts allocations.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

use std::time::{Duration, Instant};

use alloc_counter::peak_alloc;
use proptest::prelude::*;
use wasm_chord::gguf::{Array, GgufFile, GgufStream, GgufWriter, Layout, Value};
use wasm_chord::quant::GgmlType;

#[global_allocator]
static ALLOC: alloc_counter::Counting = alloc_counter::Counting;

const SLACK: usize = 64 * 1024;

fn sample() -> (Vec<u8>, Layout) {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", "tiny")
        .kv("general.alignment", 32u32)
        .kv("test.u8", 7u8)
        .kv("test.i16", -700i16)
        .kv("test.u32", 70_000u32)
        .kv("test.f32", 1.5f32)
        .kv("test.bool", true)
        .kv("test.u64", 1u64 << 40)
        .kv("test.f64", 2.25f64)
        .kv(
            "test.tokens",
            Value::array(vec!["a", "bc", "déf", "", "ghij"]),
        )
        .kv("test.scores", Value::array(vec![0.5f32, -1.0, 2.0]))
        .kv("test.flags", Value::array(vec![true, false]))
        .kv(
            "test.nested",
            Value::array(vec![
                Array::from(vec![1u32, 2]),
                Array::from(vec!["x", "yz"]),
                Array::Array(vec![Array::from(vec![3i64])]),
            ]),
        );
    let a: Vec<u8> = (0..16).flat_map(|i| (i as f32).to_le_bytes()).collect();
    w.tensor("a.weight", GgmlType::F32, &[8, 2], a)
        .tensor("b.weight", GgmlType::Q8_0, &[32, 2], vec![0x11; 68])
        .tensor("c.weight", GgmlType::Q4_K, &[256], vec![0x22; 144]);
    w.build()
}

/// Offsets of the u64 fields whose values steer allocation and bounds.
fn u64_fields(l: &Layout) -> Vec<usize> {
    let mut v = vec![l.tensor_count, l.kv_count];
    for kv in &l.kvs {
        v.push(kv.key_len);
    }
    // Array lengths (element type u32, then u64 length) and string value lengths.
    v.push(l.kvs[0].value.start);
    for i in 9..13 {
        v.push(l.kvs[i].value.start + 4);
    }
    v.push(l.kvs[9].value.start + 12);
    for t in &l.tensor_infos {
        v.push(t.name_len);
        v.extend(&t.dims);
        v.push(t.offset);
    }
    v
}

/// Offsets of the u32 fields: version, value types, n_dims, tensor types.
fn u32_fields(l: &Layout) -> Vec<usize> {
    let mut v = vec![l.version];
    for kv in &l.kvs {
        v.push(kv.value_type);
    }
    for t in &l.tensor_infos {
        v.push(t.n_dims);
        v.push(t.ty);
    }
    v
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Truncate { len: usize },
    SetU64 { field: usize, value: u64 },
    SetU32 { field: usize, value: u32 },
}

fn extreme_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(u64::MAX),
        Just(u64::MAX - 7),
        Just(1u64 << 63),
        Just(1u64 << 62),
        Just(1u64 << 40),
        Just(1u64 << 32),
        Just(u64::from(u32::MAX)),
        Just(0u64),
        Just(1u64),
        0u64..4096,
        any::<u64>(),
    ]
}

fn extreme_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(u32::MAX),
        Just(0u32),
        0u32..48,
        Just(1u32 << 31),
        any::<u32>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        1 => (any::<usize>(), 1usize..32).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        3 => (any::<usize>(), extreme_u64()).prop_map(|(field, value)| Mutation::SetU64 { field, value }),
        2 => (any::<usize>(), extreme_u32()).prop_map(|(field, value)| Mutation::SetU32 { field, value }),
    ]
}

fn apply(b: &mut Vec<u8>, l: &Layout, m: &Mutation) {
    let n = b.len().max(1);
    match m {
        Mutation::Flip { at, xor } => {
            if let Some(x) = b.get_mut(at % n) {
                *x ^= xor;
            }
        }
        Mutation::Insert { at, bytes } => {
            let at = at % (b.len() + 1);
            b.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete { at, len } => {
            let at = at % n;
            let end = (at + len).min(b.len());
            if at < end {
                b.drain(at..end);
            }
        }
        Mutation::Truncate { len } => b.truncate(len % n),
        Mutation::SetU64 { field, value } => {
            let f = u64_fields(l);
            let at = f[field % f.len()];
            if at + 8 <= b.len() {
                b[at..at + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        Mutation::SetU32 { field, value } => {
            let f = u32_fields(l);
            let at = f[field % f.len()];
            if at + 4 <= b.len() {
                b[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
        }
    }
}

fn check_input(bytes: &[u8], chunk: usize) {
    let len = bytes.len();
    let t0 = Instant::now();
    let (file, peak) = peak_alloc(|| GgufFile::parse(bytes).map(|f| f.into_header()));
    assert!(t0.elapsed() < Duration::from_millis(200), "slow parse");
    assert!(
        peak <= 8 * len + SLACK,
        "parse of {len} bytes peaked at {peak}"
    );

    // The stream holds its own copy of the input.
    let (streamed, peak) = peak_alloc(|| {
        let mut s = GgufStream::new(Some(len as u64));
        for piece in bytes.chunks(chunk) {
            s.push(piece)?;
        }
        s.finish().map(|l| l.into_parts().0)
    });
    assert!(
        peak <= 10 * len + SLACK,
        "stream of {len} bytes peaked at {peak}"
    );
    assert_eq!(streamed, file, "stream with known length disagrees");

    let unknown = {
        let mut s = GgufStream::new(None);
        let mut r = Ok(());
        for piece in bytes.chunks(chunk) {
            if let Err(e) = s.push(piece) {
                r = Err(e);
                break;
            }
        }
        r.and_then(|_| s.finish().map(|l| l.into_parts().0))
    };
    match (&file, &unknown) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("unknown-length stream: {unknown:?} vs file: {file:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_files_never_panic_or_overallocate(
        muts in proptest::collection::vec(mutation(), 1..4),
        chunk in 1usize..200,
    ) {
        let (mut b, l) = sample();
        for m in &muts {
            apply(&mut b, &l, m);
        }
        check_input(&b, chunk);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes after a valid preamble: exercises the value readers directly.
    #[test]
    fn random_bodies_after_a_valid_preamble(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        counts in (0u64..8, 0u64..8),
    ) {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&counts.0.to_le_bytes());
        b.extend_from_slice(&counts.1.to_le_bytes());
        b.extend_from_slice(&tail);
        check_input(&b, 13);
    }
}

#[test]
fn unmutated_sample_is_valid() {
    let (b, _) = sample();
    GgufFile::parse(&b).unwrap();
    check_input(&b, 7);
}

/// The worst case for memory per input byte: thousands of one-byte values under one-byte
/// keys (14 bytes each in the file). Reported, and bounded at 8x.
#[test]
fn key_value_flood_stays_proportional() {
    let mut w = GgufWriter::new();
    for i in 0..20_000u32 {
        let key = format!("{:x}", i);
        w.kv(&key, (i % 256) as u8);
    }
    let b = w.to_bytes();
    let (r, peak) = peak_alloc(|| GgufFile::parse(&b).map(|_| ()));
    r.unwrap();
    let ratio = peak as f64 / b.len() as f64;
    eprintln!(
        "20,000 tiny entries: {} bytes in, peak {peak} bytes ({ratio:.2}x)",
        b.len()
    );
    assert!(peak <= 8 * b.len() + SLACK, "{ratio:.2}x");
}
