//! Models: configuration from GGUF metadata, weight validation, and the forward pass of the
//! `llama` and `gemma3` graphs (in [`session`]).
//!
//! A [`Model`] owns the GGUF bytes (the only copy of the weights) and refers to each tensor by
//! its byte range, so nothing is copied or dequantized at load time except the small f32
//! vectors (norm weights, RoPE frequency factors). Loading checks every tensor the graph
//! uses: present, of a usable type, of the shape the metadata implies — each failure is a
//! typed error naming the tensor.

mod attention;
pub mod config;
mod kv;
mod lanes;
pub mod ops;
pub mod session;

use core::ops::Range;

pub use config::{Arch, FfnActivation, ModelConfig};
pub use kv::{KvCache, KvType};
pub use session::{Session, SessionOptions};

use crate::error::{Error, Result};
use crate::gguf::{LoadedGguf, TensorInfo};
use crate::quant::GgmlType;

/// A quantized (or float) matrix: `rows` output features of `cols` inputs, the raw GGUF bytes
/// at `range` of the model buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub name: String,
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub range: Range<usize>,
}

impl Matrix {
    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_len() * self.ty.block_bytes()
    }
}

/// One transformer block's weights.
#[derive(Debug, Clone)]
pub struct Layer {
    pub attn_norm: Vec<f32>,
    pub wq: Matrix,
    pub wk: Matrix,
    pub wv: Matrix,
    pub wo: Matrix,
    /// Gemma: per-head RMS norm weights (`head_dim` values) for queries and keys.
    pub q_norm: Option<Vec<f32>>,
    pub k_norm: Option<Vec<f32>>,
    /// Gemma: norm of the attention output before the residual add.
    pub post_attn_norm: Option<Vec<f32>>,
    pub ffn_norm: Vec<f32>,
    pub ffn_gate: Matrix,
    pub ffn_up: Matrix,
    pub ffn_down: Matrix,
    /// Gemma: norm of the FFN output before the residual add.
    pub post_ffn_norm: Option<Vec<f32>>,
}

#[derive(Debug, Clone)]
pub struct Weights {
    /// `n_vocab` rows of `n_embd`; rows are dequantized one at a time on lookup.
    pub token_embd: Matrix,
    pub output_norm: Vec<f32>,
    /// The LM head: `output.weight`, or `token_embd` when the model ties them.
    pub output: Matrix,
    /// Llama 3: per-frequency divisors of the RoPE angle (`rope_freqs.weight`).
    pub rope_freqs: Option<Vec<f32>>,
    pub layers: Vec<Layer>,
}

/// Load-time options (reserved; every model property comes from the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelOptions {}

/// A loaded, validated model. Immutable: sessions share it (`Arc<Model>`).
pub struct Model {
    config: ModelConfig,
    weights: Weights,
    gguf: LoadedGguf,
}

impl core::fmt::Debug for Model {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .field("bytes", &self.gguf.bytes().len())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Reads the configuration from the metadata and validates every tensor the graph uses.
    /// Errors: `UNSUPPORTED_ARCHITECTURE`, `GGUF_MISSING_KEY`, `BAD_MODEL_CONFIG`,
    /// `MISSING_TENSOR`, `TENSOR_SHAPE`, `TENSOR_TYPE`, `UNSUPPORTED_MODEL_FEATURE`.
    pub fn load(gguf: LoadedGguf, _opts: &ModelOptions) -> Result<Model> {
        let meta = gguf.metadata();
        // The architecture is checked first so an unsupported model gets that error rather
        // than a complaint about a tensor it does not need.
        config::Arch::from_name(meta.get_str("general.architecture")?)?;
        let embd = info(&gguf, "token_embd.weight")?;
        let n_vocab = usize::try_from(embd.n_rows()).unwrap_or(usize::MAX);
        let config = ModelConfig::from_metadata(meta, n_vocab)?;
        if let Ok(tokens) = meta.get_str_array("tokenizer.ggml.tokens") {
            if tokens.len() != config.n_vocab {
                return Err(Error::TensorShape {
                    tensor: "token_embd.weight".into(),
                    expected: vec![config.n_embd as u64, tokens.len() as u64],
                    found: embd.dims.clone(),
                });
            }
        }
        let weights = load_weights(&gguf, &config)?;
        Ok(Model {
            config,
            weights,
            gguf,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The file the model was loaded from (metadata for the tokenizer, tensor bytes).
    pub fn gguf(&self) -> &LoadedGguf {
        &self.gguf
    }

    /// The bytes of a matrix. Ranges were validated at load, so this cannot fail.
    pub(crate) fn bytes(&self, m: &Matrix) -> &[u8] {
        self.gguf.bytes().get(m.range.clone()).unwrap_or(&[])
    }

    /// Gives the file back (e.g. to rebuild with other options) without copying it.
    pub fn into_gguf(self) -> LoadedGguf {
        self.gguf
    }
}

fn info<'a>(gguf: &'a LoadedGguf, name: &str) -> Result<&'a TensorInfo> {
    gguf.header()
        .tensor_info(name)
        .ok_or_else(|| Error::MissingTensor {
            tensor: name.to_owned(),
        })
}

/// Drops trailing 1s: writers differ on whether a vector is `[n]` or `[n, 1]`.
fn squeeze(dims: &[u64]) -> &[u64] {
    let mut n = dims.len();
    while n > 1 && dims[n - 1] == 1 {
        n -= 1;
    }
    &dims[..n]
}

fn check_shape(t: &TensorInfo, expected: &[usize]) -> Result<()> {
    let exp: Vec<u64> = expected.iter().map(|&d| d as u64).collect();
    if squeeze(&t.dims) != squeeze(&exp) {
        return Err(Error::TensorShape {
            tensor: t.name.clone(),
            expected: exp,
            found: t.dims.clone(),
        });
    }
    Ok(())
}

fn matrix(gguf: &LoadedGguf, name: &str, cols: usize, rows: usize) -> Result<Matrix> {
    let t = info(gguf, name)?;
    check_shape(t, &[cols, rows])?;
    // The matmul kernels multiply every storage type except the activation-only Q8_K; the
    // K-quant activations need whole 256-element rows, which the block size already implies.
    if t.ty.activation_kind().is_none() {
        return Err(Error::TensorType {
            tensor: name.to_owned(),
            type_name: t.ty.name(),
            role: "a weight matrix",
        });
    }
    let r = t.abs_range(gguf.header().data_start);
    let range = usize::try_from(r.start).unwrap_or(usize::MAX)
        ..usize::try_from(r.end).unwrap_or(usize::MAX);
    if gguf.bytes().get(range.clone()).is_none() {
        // The GGUF reader validated the ranges; this only guards a future change there.
        return Err(Error::TensorOutOfBounds {
            tensor: name.to_owned(),
            start: r.start,
            end: r.end,
            file_len: gguf.bytes().len() as u64,
        });
    }
    Ok(Matrix {
        name: name.to_owned(),
        ty: t.ty,
        rows,
        cols,
        range,
    })
}

/// A vector tensor (norm weights, rope factors) of any float or quantized type, as f32.
fn vector(gguf: &LoadedGguf, name: &str, len: usize) -> Result<Vec<f32>> {
    let t = info(gguf, name)?;
    check_shape(t, &[len])?;
    let view = gguf.tensor(name).ok_or_else(|| Error::MissingTensor {
        tensor: name.to_owned(),
    })?;
    let mut out = vec![0.0f32; len];
    crate::quant::dequantize(t.ty, view.bytes, &mut out).map_err(|_| Error::TensorType {
        tensor: name.to_owned(),
        type_name: t.ty.name(),
        role: "a vector of weights",
    })?;
    Ok(out)
}

fn load_weights(gguf: &LoadedGguf, c: &ModelConfig) -> Result<Weights> {
    let has = |name: &str| gguf.header().tensor_info(name).is_some();
    // Features of the llama graph family we do not implement must not be silently ignored.
    for unsupported in [
        "blk.0.attn_q.bias",
        "blk.0.ffn_gate_inp.weight",
        "blk.0.attn_qkv.weight",
    ] {
        if has(unsupported) {
            return Err(Error::UnsupportedModelFeature {
                feature: format!("tensor '{unsupported}' (biases, experts or fused QKV)"),
            });
        }
    }
    let token_embd = matrix(gguf, "token_embd.weight", c.n_embd, c.n_vocab)?;
    let output = if has("output.weight") {
        matrix(gguf, "output.weight", c.n_embd, c.n_vocab)?
    } else {
        token_embd.clone()
    };
    let output_norm = vector(gguf, "output_norm.weight", c.n_embd)?;
    let rope_freqs = if has("rope_freqs.weight") {
        Some(vector(gguf, "rope_freqs.weight", c.n_rot / 2)?)
    } else {
        None
    };
    let mut layers = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        let n = |s: &str| format!("blk.{il}.{s}.weight");
        let opt_vec = |s: &str, len: usize, wanted: bool| -> Result<Option<Vec<f32>>> {
            if wanted {
                vector(gguf, &n(s), len).map(Some)
            } else {
                Ok(None)
            }
        };
        layers.push(Layer {
            attn_norm: vector(gguf, &n("attn_norm"), c.n_embd)?,
            wq: matrix(gguf, &n("attn_q"), c.n_embd, c.q_dim())?,
            wk: matrix(gguf, &n("attn_k"), c.n_embd, c.k_dim())?,
            wv: matrix(gguf, &n("attn_v"), c.n_embd, c.v_dim())?,
            wo: matrix(gguf, &n("attn_output"), c.n_head * c.head_dim_v, c.n_embd)?,
            q_norm: opt_vec("attn_q_norm", c.head_dim, c.qk_norm)?,
            k_norm: opt_vec("attn_k_norm", c.head_dim, c.qk_norm)?,
            post_attn_norm: opt_vec("post_attention_norm", c.n_embd, c.post_norms)?,
            ffn_norm: vector(gguf, &n("ffn_norm"), c.n_embd)?,
            ffn_gate: matrix(gguf, &n("ffn_gate"), c.n_embd, c.n_ff)?,
            ffn_up: matrix(gguf, &n("ffn_up"), c.n_embd, c.n_ff)?,
            ffn_down: matrix(gguf, &n("ffn_down"), c.n_ff, c.n_embd)?,
            post_ffn_norm: opt_vec("post_ffw_norm", c.n_embd, c.post_norms)?,
        });
    }
    Ok(Weights {
        token_embd,
        output_norm,
        output,
        rope_freqs,
        layers,
    })
}
