//! The real model, checked against the table the independent Python reader produced
//! (scripts/fixtures/gemma_tensor_table.py → tests/fixtures/gguf/gemma3-270m-tensors.json).
//!
//! The model is not optional: without it these tests fail and say how to get it.

// Native only: reads the model file, times itself or counts allocations.
#![cfg(not(target_arch = "wasm32"))]

mod support;
use support::{gemma_path, json};

use std::collections::BTreeSet;
use std::io::Read;
use std::time::Instant;

use json::{Json, JsonExt};
use wasm_chord::gguf::{GgufFile, GgufHeader, GgufStream, LoadedGguf, StreamStatus};
use wasm_chord::quant::GgmlType;

const FIXTURE: &str = include_str!("fixtures/gguf/gemma3-270m-tensors.json");
const CHUNK: usize = 64 * 1024;

use gemma_path::gemma_path as model_path;

fn read_model() -> Vec<u8> {
    let path = model_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn fixture() -> Json {
    json::parse(FIXTURE)
}

/// Compares everything the fixture records with what our parser produced.
fn check_against_fixture(h: &GgufHeader, file_len: u64) {
    let fx = fixture();
    assert_eq!(file_len, fx.key("file_len").u64(), "model file length");
    assert_eq!(u64::from(h.version), fx.key("version").u64());
    assert_eq!(h.metadata.len() as u64, fx.key("kv_count").u64());
    assert_eq!(h.alignment, fx.key("alignment").u64());
    assert_eq!(h.header_len, fx.key("header_len").u64());
    assert_eq!(h.data_start, fx.key("data_start").u64());

    let meta = fx.key("metadata");
    let m = &h.metadata;
    assert_eq!(
        m.get_str("general.architecture").unwrap(),
        meta.key("general.architecture").str()
    );
    assert_eq!(
        m.get_str("general.name").unwrap(),
        meta.key("general.name").str()
    );
    for key in [
        "gemma3.block_count",
        "gemma3.embedding_length",
        "gemma3.context_length",
        "tokenizer.ggml.bos_token_id",
    ] {
        assert_eq!(
            u64::from(m.get_u32(key).unwrap()),
            meta.key(key).u64(),
            "{key}"
        );
    }
    let tokens = m.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len() as u64, fx.key("vocab_len").u64());
    for (i, t) in fx.key("first_tokens").arr().iter().enumerate() {
        assert_eq!(tokens.get(i), Some(t.str()), "token {i}");
    }
    assert_eq!(
        m.get_f32_array("tokenizer.ggml.scores").unwrap().len(),
        tokens.len()
    );
    assert_eq!(
        m.get_i32_array("tokenizer.ggml.token_type").unwrap().len(),
        tokens.len()
    );

    let expected = fx.key("tensors").arr();
    assert_eq!(fx.key("tensor_count").u64(), 236);
    assert_eq!(h.tensors.len(), expected.len());
    for (t, e) in h.tensors.iter().zip(expected) {
        let name = e.key("name").str();
        assert_eq!(t.name, name);
        assert_eq!(t.ty.name(), e.key("type").str(), "{name} type");
        assert_eq!(
            u64::from(t.ty.id()),
            e.key("type_id").u64(),
            "{name} type id"
        );
        let dims: Vec<u64> = e.key("dims").arr().iter().map(JsonExt::u64).collect();
        assert_eq!(t.dims, dims, "{name} dims");
        assert_eq!(t.offset, e.key("offset").u64(), "{name} offset");
        assert_eq!(
            t.abs_range(h.data_start).start,
            e.key("abs_offset").u64(),
            "{name} absolute offset"
        );
        assert_eq!(t.n_elements, e.key("n_elements").u64(), "{name} elements");
        assert_eq!(t.n_bytes, e.key("n_bytes").u64(), "{name} bytes");
        assert_eq!(h.tensor_info(name), Some(t), "{name} lookup");
    }

    let allowed: BTreeSet<GgmlType> = [
        GgmlType::F32,
        GgmlType::Q5_0,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
    ]
    .into();
    let used: BTreeSet<GgmlType> = h.tensors.iter().map(|t| t.ty).collect();
    assert!(used.is_subset(&allowed), "unexpected types in {used:?}");
    assert!(h.data_end() <= file_len);
}

#[test]
fn gemma_whole_file_matches_python_reader() {
    let bytes = read_model();
    let t0 = Instant::now();
    let file = GgufFile::parse(&bytes).unwrap_or_else(|e| panic!("[{}] {e}", e.code()));
    let parse_time = t0.elapsed();
    check_against_fixture(file.header(), bytes.len() as u64);

    // Views borrow the caller's buffer: same address, right length.
    let base = bytes.as_ptr() as usize;
    for v in file.tensors() {
        let r = v.info.abs_range(file.header().data_start);
        assert_eq!(
            v.bytes.as_ptr() as usize - base,
            r.start as usize,
            "{}",
            v.name()
        );
        assert_eq!(v.bytes.len() as u64, v.info.n_bytes);
    }
    assert_eq!(file.tensors().count(), 236);
    let emb = file.tensor("token_embd.weight").expect("token_embd.weight");
    assert_eq!(emb.info.ty, GgmlType::Q8_0);
    assert_eq!(emb.bytes.len(), 178_257_920);
    eprintln!("GgufFile::parse of the Gemma header: {parse_time:?}");
}

/// Feeds the file through `GgufStream` in `chunk`-byte reads; returns the loaded file and the
/// byte count at which the header became ready.
fn stream_model(chunk: usize, expected: Option<u64>) -> (LoadedGguf, u64) {
    let path = model_path();
    let mut f = std::fs::File::open(&path).unwrap();
    let mut stream = GgufStream::new(expected);
    let mut buf = vec![0u8; chunk];
    let mut ready_at = None;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        match stream
            .push(&buf[..n])
            .unwrap_or_else(|e| panic!("[{}] {e}", e.code()))
        {
            StreamStatus::HeaderReady => {
                assert!(ready_at.is_none(), "HeaderReady reported twice");
                assert!(stream.header().is_some());
                ready_at = Some(stream.received());
            }
            StreamStatus::NeedHeader => assert!(stream.header().is_none()),
            StreamStatus::Body => assert!(ready_at.is_some(), "Body before HeaderReady"),
        }
    }
    let loaded = stream
        .finish()
        .unwrap_or_else(|e| panic!("[{}] {e}", e.code()));
    (loaded, ready_at.expect("header never became ready"))
}

#[test]
fn gemma_stream_64k_chunks_matches_python_reader() {
    let file_len = std::fs::metadata(model_path()).unwrap().len();
    let t0 = Instant::now();
    let (loaded, ready_at) = stream_model(CHUNK, Some(file_len));
    let elapsed = t0.elapsed();
    let h = loaded.header();
    check_against_fixture(h, file_len);
    assert_eq!(loaded.len(), file_len);

    // Ready within a couple of chunks of the header's end, far before the body ends.
    assert!(ready_at >= h.header_len);
    assert!(
        ready_at <= h.header_len + 2 * CHUNK as u64,
        "header ready only at {ready_at}, header ends at {}",
        h.header_len
    );
    assert!(ready_at < file_len / 10);

    // The stream's views point into its own (single) buffer and match the file.
    let base = loaded.shard_bytes(0).as_ptr() as usize;
    let file = read_model();
    let whole = GgufFile::parse(&file).unwrap();
    assert_eq!(whole.header(), h);
    for v in loaded.tensors() {
        let r = v.info.abs_range(h.data_start);
        assert_eq!(v.bytes.as_ptr() as usize - base, r.start as usize);
        let w = whole.tensor(v.name()).unwrap();
        assert!(v.bytes == w.bytes, "{} bytes differ", v.name());
    }
    eprintln!(
        "streamed {file_len} bytes in 64 KiB chunks in {elapsed:?}; header ready at byte {ready_at} (header_len {})",
        h.header_len
    );
}

#[test]
fn gemma_stream_without_length_validates_at_finish() {
    let file_len = std::fs::metadata(model_path()).unwrap().len();
    let (loaded, ready_at) = stream_model(1 << 20, None);
    check_against_fixture(loaded.header(), file_len);
    assert!(ready_at < file_len / 10);
}

/// Tiny chunks across the 6.5 MB header: a quadratic re-parse would take hours here.
#[test]
fn gemma_header_in_7_byte_chunks_is_linear() {
    let bytes = read_model();
    let fx = fixture();
    let header_len = fx.key("header_len").u64() as usize;
    let mut stream = GgufStream::new(Some(bytes.len() as u64));
    let t0 = Instant::now();
    let mut ready_at = None;
    for piece in bytes[..header_len + 64].chunks(7) {
        if stream.push(piece).unwrap() == StreamStatus::HeaderReady {
            ready_at = Some(stream.received());
            break;
        }
    }
    let elapsed = t0.elapsed();
    let ready_at = ready_at.expect("header not ready after header_len + 64 bytes") as usize;
    // The last items are ~60-byte tensor infos: recognised within a few chunks of the end.
    assert!(
        (header_len..header_len + 64).contains(&ready_at),
        "{ready_at}"
    );
    check_against_fixture(stream.header().unwrap(), bytes.len() as u64);
    eprintln!("6.5 MB header in 7-byte chunks: ready at {ready_at} after {elapsed:?}");
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}
