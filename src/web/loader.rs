//! Streaming a GGUF file into wasm memory: JavaScript asks for room for each fetch chunk,
//! copies the chunk straight there (the only copy), then commits it.

use wasm_bindgen::prelude::*;

use super::digest::Digests;
use super::{js_error, memory_bytes, to_js, WasmModel};
use crate::engine::{Engine, EngineOptions};
use crate::error::{Error, Result};
use crate::gguf::{split, GgufHeader, GgufStream, LoadedGguf, StreamStatus};
use crate::model::kv::slots;
use crate::model::options::{default_ctx, DEFAULT_BATCH};
use crate::model::{ModelConfig, SessionOptions};

/// wasm32 linear memory cannot exceed 4 GiB.
const WASM32_MAX_BYTES: u64 = 4 << 30;
/// Activations, logits and tokenizer tables beyond the weights and KV cache (generous).
const SCRATCH_BYTES: u64 = 96 << 20;

#[wasm_bindgen]
pub struct WasmLoader {
    stream: Option<GgufStream>,
    context_length: Option<usize>,
    digests: Digests,
}

#[wasm_bindgen]
impl WasmLoader {
    /// `expected_len`: Content-Length (or Blob size) when known; `xxh3` / `sha256`: also
    /// compute those checksums of the file (for a cache entry / an `integrity` to check).
    #[wasm_bindgen(constructor)]
    pub fn new(
        expected_len: Option<f64>,
        context_length: Option<f64>,
        xxh3: bool,
        sha256: bool,
    ) -> std::result::Result<WasmLoader, JsValue> {
        let expected = expected_len
            .map(|v| as_u64("size", v))
            .transpose()
            .map_err(|e| js_error(&e))?;
        let ctx = context_length
            .map(|v| as_u64("contextLength", v).map(|c| c as usize))
            .transpose()
            .map_err(|e| js_error(&e))?;
        Ok(WasmLoader {
            stream: Some(GgufStream::new(expected)),
            context_length: ctx,
            digests: Digests::new(xxh3, sha256),
        })
    }

    /// Makes room for `n` more bytes and returns their address in wasm memory.
    pub fn reserve(&mut self, n: usize) -> std::result::Result<usize, JsValue> {
        let stream = self.stream.as_mut().ok_or_else(finished)?;
        let buf = stream.chunk_buffer(n).map_err(|e| js_error(&e))?;
        Ok(buf.as_mut_ptr() as usize)
    }

    /// Processes the bytes written at the last `reserve`. Returns 0 (header incomplete),
    /// 1 (the header just completed and was validated) or 2 (body).
    pub fn commit(&mut self) -> std::result::Result<u8, JsValue> {
        let stream = self.stream.as_mut().ok_or_else(finished)?;
        let status = stream.commit_chunk().map_err(|e| js_error(&e))?;
        self.digests.update(stream.received_bytes());
        if status == StreamStatus::HeaderReady {
            if let Some(h) = stream.header() {
                let file_len = stream.expected_len().unwrap_or_else(|| h.data_end());
                check_fits(h, file_len, self.context_length).map_err(|e| js_error(&e))?;
            }
        }
        Ok(match status {
            StreamStatus::NeedHeader => 0,
            StreamStatus::HeaderReady => 1,
            StreamStatus::Body => 2,
        })
    }

    /// The checksums of every byte committed so far: `{ bytes, xxh3, sha256? }`.
    pub fn digests(&self) -> JsValue {
        to_js(&self.digests.result())
    }

    pub fn received(&self) -> f64 {
        self.stream.as_ref().map_or(0.0, |s| s.received() as f64)
    }

    /// Ends the download: validates the whole file, builds the model, tokenizer and session.
    pub fn finish(&mut self) -> std::result::Result<WasmModel, JsValue> {
        let stream = self.stream.take().ok_or_else(finished)?;
        let gguf = stream.finish().map_err(|e| js_error(&e))?;
        build(gguf, self.context_length).map_err(|e| js_error(&e))
    }

    /// Ends the download of one shard of a split model (validated as a file of its own);
    /// `WasmShardSet` joins the shards.
    pub fn finish_shard(&mut self) -> std::result::Result<WasmShard, JsValue> {
        let stream = self.stream.take().ok_or_else(finished)?;
        let gguf = stream.finish().map_err(|e| js_error(&e))?;
        Ok(WasmShard { gguf })
    }
}

/// One downloaded shard of a split model.
#[wasm_bindgen]
pub struct WasmShard {
    gguf: LoadedGguf,
}

/// The shards of a split model, gathered, then validated together and built (`split::join`).
#[wasm_bindgen]
pub struct WasmShardSet {
    shards: Vec<(String, LoadedGguf)>,
    context_length: Option<usize>,
}

#[wasm_bindgen]
impl WasmShardSet {
    #[wasm_bindgen(constructor)]
    pub fn new(context_length: Option<f64>) -> std::result::Result<WasmShardSet, JsValue> {
        let ctx = context_length
            .map(|v| as_u64("contextLength", v).map(|c| c as usize))
            .transpose()
            .map_err(|e| js_error(&e))?;
        Ok(WasmShardSet {
            shards: Vec::new(),
            context_length: ctx,
        })
    }

    /// Adds a shard (consumed), under the name errors will call it by.
    pub fn add(&mut self, shard: WasmShard, name: String) {
        self.shards.push((name, shard.gguf));
    }

    /// Validates the shards as one model and builds it.
    pub fn finish(&mut self) -> std::result::Result<WasmModel, JsValue> {
        let gguf = split::join(std::mem::take(&mut self.shards)).map_err(|e| js_error(&e))?;
        build(gguf, self.context_length).map_err(|e| js_error(&e))
    }
}

/// The model, tokenizer and session for a complete file (or joined shards).
fn build(gguf: LoadedGguf, context_length: Option<usize>) -> Result<WasmModel> {
    let file_len = gguf.len();
    check_fits(gguf.header(), file_len, context_length)?;
    let opts = EngineOptions {
        session: SessionOptions {
            n_ctx: context_length.unwrap_or(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let engine = Engine::load(gguf, &opts)?;
    Ok(WasmModel::new(engine, file_len))
}

/// The gguf-split plan for a file whose first `prefix` bytes are given (scripts/split.mjs):
/// `{ needMore: n }` when the header is not complete in them, else `{ shards: [{ header,
/// copies: [[srcStart, srcEnd, dst]], dataLen }] }`.
#[wasm_bindgen]
pub fn split_plan(prefix: &[u8], max_bytes: f64) -> std::result::Result<JsValue, JsValue> {
    let max = as_u64("maxSize", max_bytes).map_err(|e| js_error(&e))?;
    let header = match GgufHeader::parse(prefix, None).map_err(|e| js_error(&e))? {
        crate::gguf::Parsed::Complete(h) => h,
        crate::gguf::Parsed::NeedMore { at_least } => {
            let o = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&o, &"needMore".into(), &(at_least as f64).into());
            return Ok(o.into());
        }
    };
    let plan = split::plan(&header, max).map_err(|e| js_error(&e))?;
    let shards = js_sys::Array::new();
    for p in plan {
        let o = js_sys::Object::new();
        let copies = js_sys::Array::new();
        for (src, dst) in &p.copies {
            copies.push(&js_sys::Array::of3(
                &(src.start as f64).into(),
                &(src.end as f64).into(),
                &(*dst as f64).into(),
            ));
        }
        let _ = js_sys::Reflect::set(
            &o,
            &"header".into(),
            &js_sys::Uint8Array::from(p.header.as_slice()),
        );
        let _ = js_sys::Reflect::set(&o, &"copies".into(), &copies);
        let _ = js_sys::Reflect::set(&o, &"dataLen".into(), &(p.data_len as f64).into());
        shards.push(&o);
    }
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"shards".into(), &shards);
    Ok(o.into())
}

fn as_u64(name: &'static str, v: f64) -> Result<u64> {
    if v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_991.0 {
        Ok(v as u64)
    } else {
        Err(Error::InvalidOption {
            name,
            value: v.to_string(),
            expected: "a non-negative integer",
        })
    }
}

fn finished() -> JsValue {
    js_error(&Error::InvalidOption {
        name: "loader",
        value: "finished".into(),
        expected: "a loader still receiving data",
    })
}

/// Would weights + KV cache at the chosen context + scratch fit in wasm32's 4 GiB? If not,
/// the error says what context would.
fn check_fits(h: &GgufHeader, file_len: u64, context_length: Option<usize>) -> Result<()> {
    let n_vocab = h
        .tensor_info("token_embd.weight")
        .map_or(0, |t| t.n_rows() as usize);
    // An unknown architecture is reported when the model is built; nothing to estimate here.
    let Ok(c) = ModelConfig::from_metadata(&h.metadata, n_vocab, h.tensors.len()) else {
        return Ok(());
    };
    let n_ctx = default_ctx(context_length.unwrap_or(0), c.n_ctx_train) as u64;
    // The session's own cache layout (f16 keys and values, rings for windowed layers).
    let kv = |n_ctx: u64| -> u64 {
        (0..c.n_layer)
            .map(|il| {
                let n = slots(n_ctx as usize, DEFAULT_BATCH, c.window(il)) as u64;
                n * (c.k_dim() + c.v_dim()) as u64 * 2
            })
            .sum()
    };
    let in_use = memory_bytes();
    let budget = WASM32_MAX_BYTES.saturating_sub(in_use);
    let need = file_len
        .saturating_add(kv(n_ctx))
        .saturating_add(SCRATCH_BYTES);
    if need <= budget {
        return Ok(());
    }
    // The largest context that fits, by bisection over the monotone KV size.
    let (mut lo, mut hi) = (0u64, n_ctx);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if file_len + kv(mid) + SCRATCH_BYTES <= budget {
            lo = mid
        } else {
            hi = mid - 1
        }
    }
    Err(Error::ModelTooLarge {
        needed: need,
        available: budget,
        n_ctx: n_ctx as usize,
        max_ctx: lo as usize,
    })
}
