//! The reader on a small file built in memory, shared by the Node and Chromium test binaries
//! (and run natively too), so the wasm build is checked against the same expectations.

use wasm_chord::gguf::{GgufFile, GgufStream, GgufWriter, StreamStatus, Value};
use wasm_chord::quant::GgmlType;

/// A two-tensor file: a 2×64 Q8_0 matrix (4 blocks of 34 bytes) and a 64-element F32 vector.
pub fn small_file() -> Vec<u8> {
    let q8: Vec<u8> = (0..4 * 34).map(|i| (i * 7 % 251) as u8).collect();
    let f32s: Vec<u8> = (0..64)
        .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
        .collect();
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::String("llama".into()))
        .kv("general.alignment", Value::U32(32))
        .kv("llama.block_count", Value::U32(1))
        .tensor("blk.0.attn_q.weight", GgmlType::Q8_0, &[64, 2], q8)
        .tensor("output_norm.weight", GgmlType::F32, &[64], f32s);
    w.to_bytes()
}

pub fn parses_whole_file() {
    let bytes = small_file();
    let file = GgufFile::parse(&bytes).expect("valid file");
    let h = file.header();
    assert_eq!(h.version, 3);
    assert_eq!(h.alignment, 32);
    assert_eq!(h.data_start % 32, 0);
    assert_eq!(h.tensors.len(), 2);
    let q = file.tensor("blk.0.attn_q.weight").expect("tensor present");
    assert_eq!(q.info.ty, GgmlType::Q8_0);
    assert_eq!(q.info.dims, vec![64, 2]);
    assert_eq!(q.bytes.len(), 4 * 34);
    assert_eq!(q.bytes[..3], [0, 7, 14]);
    // Zero-copy: the view points into the caller's buffer at data_start + offset.
    let start = (h.data_start + q.info.offset) as usize;
    assert!(std::ptr::eq(q.bytes.as_ptr(), bytes[start..].as_ptr()));
    let n = file.tensor("output_norm.weight").expect("tensor present");
    assert_eq!(n.bytes[4..8], 0.5f32.to_le_bytes());
}

pub fn streams_in_small_chunks() {
    let bytes = small_file();
    let mut s = GgufStream::new(Some(bytes.len() as u64));
    let mut ready_at = None;
    for (i, chunk) in bytes.chunks(7).enumerate() {
        if s.push(chunk).expect("valid chunk") == StreamStatus::HeaderReady {
            assert!(ready_at.is_none(), "HeaderReady reported twice");
            ready_at = Some((i + 1) * 7);
        }
    }
    let ready_at = ready_at.expect("header became ready");
    let data_start = s.header().expect("header").data_start as usize;
    assert!(
        ready_at < data_start + 7 + data_start,
        "header ready late: {ready_at}"
    );
    let loaded = s.finish().expect("complete file");
    assert_eq!(loaded.shard_bytes(0), &bytes[..]);
    assert_eq!(loaded.tensors().count(), 2);
}

/// The fill-in-place path JavaScript uses (one copy, chunk → the model's buffer) behaves
/// exactly like `push`.
pub fn fills_chunks_in_place() {
    let bytes = small_file();
    let mut s = GgufStream::new(Some(bytes.len() as u64));
    let mut statuses = Vec::new();
    for chunk in bytes.chunks(13) {
        s.chunk_buffer(chunk.len())
            .expect("room")
            .copy_from_slice(chunk);
        statuses.push(s.commit_chunk().expect("valid chunk"));
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|&&st| st == StreamStatus::HeaderReady)
            .count(),
        1
    );
    let loaded = s.finish().expect("complete file");
    assert_eq!(loaded.shard_bytes(0), &bytes[..]);

    // Past the announced length: a typed error, and the stream stays failed.
    let mut s = GgufStream::new(Some(bytes.len() as u64));
    s.push(&bytes).expect("whole file");
    assert_eq!(
        s.chunk_buffer(1).expect_err("too long").code(),
        "GGUF_TOO_LONG"
    );
    assert_eq!(
        s.commit_chunk().expect_err("still failed").code(),
        "GGUF_TOO_LONG"
    );
}

pub fn bad_magic_and_truncation_are_typed() {
    let mut bytes = small_file();
    let truncated = &bytes[..bytes.len() - 10];
    let e = GgufFile::parse(truncated).expect_err("truncated");
    assert_eq!(e.code(), "GGUF_TENSOR_OUT_OF_BOUNDS", "{e}");
    let mut s = GgufStream::new(Some(bytes.len() as u64));
    s.push(truncated).expect("prefix is fine");
    assert_eq!(
        s.finish().expect_err("ended early").code(),
        "GGUF_TRUNCATED"
    );

    bytes[0] = b'X';
    let e = GgufFile::parse(&bytes).expect_err("bad magic");
    assert_eq!(e.code(), "GGUF_BAD_MAGIC");
    assert!(e.to_string().contains("GGUF"), "{e}");
}
