//! Models: configuration from GGUF metadata ([`config`]), the forward pass described as data
//! ([`graph`], built by [`arch`] with every tensor validated), and its CPU executor with a KV
//! cache ([`session`]).
//!
//! A [`Model`] owns the GGUF bytes (the only copy of the weights) and refers to each tensor by
//! its byte range, so nothing is copied or dequantized at load time except the small f32
//! vectors (norm weights, RoPE frequency factors). Loading checks every tensor the graph
//! uses: present, of a usable type, of the shape the metadata implies — each failure is a
//! typed error naming the tensor.

pub mod arch;
mod attention;
pub mod config;
mod cpu_exec;
pub mod graph;
pub mod kv;
mod lanes;
pub mod ops;
pub mod options;
pub mod session;

use core::ops::Range;

pub use config::{Arch, FfnActivation, ModelConfig};
pub use graph::Graph;
pub use kv::{KvCache, KvType};
pub use options::SessionOptions;
pub use session::Session;

use crate::error::{Error, Result};
use crate::gguf::LoadedGguf;
use crate::quant::GgmlType;

/// A quantized (or float) matrix: `rows` output features of `cols` inputs, the raw GGUF bytes
/// at `range` of file `shard`'s buffer (0 unless the model is split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub name: String,
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub shard: usize,
    pub range: Range<usize>,
}

impl Matrix {
    /// Bytes of one row.
    pub fn row_bytes(&self) -> usize {
        self.cols / self.ty.block_len() * self.ty.block_bytes()
    }
}

/// Load-time options (reserved; every model property comes from the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelOptions {}

/// A loaded, validated model. Immutable: sessions share it (`Arc<Model>`).
pub struct Model {
    config: ModelConfig,
    graph: Graph,
    gguf: LoadedGguf,
}

impl core::fmt::Debug for Model {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .field("bytes", &self.gguf.len())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Reads the configuration from the metadata and validates every tensor the graph uses.
    /// Errors: `UNSUPPORTED_ARCHITECTURE`, `GGUF_MISSING_KEY`, `BAD_MODEL_CONFIG`,
    /// `MISSING_TENSOR`, `TENSOR_SHAPE`, `TENSOR_TYPE`, `UNSUPPORTED_MODEL_FEATURE`.
    pub fn load(gguf: LoadedGguf, _opts: &ModelOptions) -> Result<Model> {
        // One shard of a split model alone is not a model (split::join gathers them).
        crate::gguf::split::check_whole(&gguf)?;
        let meta = gguf.metadata();
        // The architecture is checked first so an unsupported model gets that error rather
        // than a complaint about a tensor it does not need.
        config::Arch::from_name(meta.get_str("general.architecture")?)?;
        let embd = arch::tensor_info(&gguf, "token_embd.weight")?;
        let n_vocab = usize::try_from(embd.n_rows()).unwrap_or(usize::MAX);
        let n_tensors = gguf.header().tensors.len();
        let config = ModelConfig::from_metadata(meta, n_vocab, n_tensors)?;
        if let Ok(tokens) = meta.get_str_array("tokenizer.ggml.tokens") {
            if tokens.len() != config.n_vocab {
                return Err(Error::TensorShape {
                    tensor: "token_embd.weight".into(),
                    expected: vec![config.n_embd as u64, tokens.len() as u64],
                    found: embd.dims.clone(),
                });
            }
        }
        let graph = arch::build(&gguf, &config)?;
        Ok(Model {
            config,
            graph,
            gguf,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The forward pass, as both executors run it.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The file the model was loaded from (metadata for the tokenizer, tensor bytes).
    pub fn gguf(&self) -> &LoadedGguf {
        &self.gguf
    }

    /// The bytes of a matrix. Ranges were validated at load, so this cannot fail.
    pub(crate) fn bytes(&self, m: &Matrix) -> &[u8] {
        self.gguf
            .shard_bytes(m.shard)
            .get(m.range.clone())
            .unwrap_or(&[])
    }

    /// Gives the file back (e.g. to rebuild with other options) without copying it.
    pub fn into_gguf(self) -> LoadedGguf {
        self.gguf
    }
}
