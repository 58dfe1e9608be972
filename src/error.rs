//! The crate's one error type. Every variant carries the numbers and names a user needs to
//! find the problem, and maps to a stable `code()` string that JavaScript sees as `error.code`.

use thiserror::Error;

/// Where in a GGUF header a read happened, so truncation and size errors can say what was
/// being read ("metadata key #3 'general.name' value", "tensor info #12 'blk.0.attn_q.weight' dims").
pub type Context = String;

#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    // ---- GGUF container -------------------------------------------------------------------
    #[error("not a GGUF file: magic bytes are {found:02x?}, expected \"GGUF\"")]
    BadMagic { found: [u8; 4] },

    #[error("GGUF file is big-endian (version {version} when read big-endian); only little-endian GGUF is supported")]
    BigEndian { version: u32 },

    #[error("unsupported GGUF version {version}; supported versions are 2 and 3")]
    UnsupportedVersion { version: u32 },

    #[error("GGUF truncated while reading {context}: needed {needed} bytes at offset {offset}, but the file has {file_len} bytes")]
    Truncated {
        context: Context,
        offset: u64,
        needed: u64,
        file_len: u64,
    },

    #[error("GGUF body ended early: received {received} bytes, expected {expected}")]
    BodyTruncated { received: u64, expected: u64 },

    #[error("GGUF body is longer than announced: received {received} bytes, expected {expected}")]
    BodyTooLong { received: u64, expected: u64 },

    #[error("GGUF {what} count {count} cannot fit: at least {min_bytes} bytes needed, only {available} bytes remain in the file")]
    CountTooLarge {
        what: &'static str,
        count: u64,
        min_bytes: u64,
        available: u64,
    },

    #[error(
        "GGUF string in {context} claims {len} bytes, only {available} bytes remain in the file"
    )]
    StringTooLong {
        context: Context,
        len: u64,
        available: u64,
    },

    #[error("GGUF array in {context} claims {len} elements (at least {min_bytes} bytes), only {available} bytes remain in the file")]
    ArrayTooLong {
        context: Context,
        len: u64,
        min_bytes: u64,
        available: u64,
    },

    #[error("GGUF string in {context} is not valid UTF-8")]
    InvalidUtf8 { context: Context },

    #[error("GGUF metadata value type {type_id} in {context} is unknown")]
    UnknownValueType { context: Context, type_id: u32 },

    #[error("GGUF arrays nested deeper than {max_depth} levels in {context}")]
    NestingTooDeep { context: Context, max_depth: u32 },

    #[error("GGUF bool in {context} has byte value {value}; only 0 and 1 are valid")]
    InvalidBool { context: Context, value: u8 },

    #[error("duplicate GGUF metadata key '{key}' (entries #{first} and #{second})")]
    DuplicateKey {
        key: String,
        first: u64,
        second: u64,
    },

    #[error("GGUF metadata key '{key}' has type {found}, expected {expected}")]
    WrongValueType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },

    #[error("GGUF general.alignment is {alignment}; it must be a non-zero power of two")]
    BadAlignment { alignment: u64 },

    #[error("duplicate GGUF tensor name '{name}' (tensor infos #{first} and #{second})")]
    DuplicateTensor {
        name: String,
        first: u64,
        second: u64,
    },

    #[error("tensor '{tensor}' has {n_dims} dimensions; 1 to 4 are supported")]
    BadDimCount { tensor: String, n_dims: u32 },

    #[error("tensor '{tensor}' dimension {index} is {value}; every dimension must be at least 1")]
    ZeroDim {
        tensor: String,
        index: usize,
        value: u64,
    },

    #[error("tensor '{tensor}' shape {dims:?} overflows 64-bit element or byte counts")]
    ShapeOverflow { tensor: String, dims: Vec<u64> },

    #[error("tensor '{tensor}' has unknown GGML type id {type_id}")]
    UnknownTensorType { tensor: String, type_id: u32 },

    #[error(
        "tensor '{tensor}' has type {type_name} (id {type_id}), which wasm-chord does not support"
    )]
    UnsupportedType {
        tensor: String,
        type_name: &'static str,
        type_id: u32,
    },

    #[error("tensor '{tensor}' of type {type_name} has row length {row_len}, not a multiple of the block size {block_len}")]
    RowNotBlockAligned {
        tensor: String,
        type_name: &'static str,
        row_len: u64,
        block_len: u64,
    },

    #[error("tensor '{tensor}' offset {offset} is not a multiple of the alignment {alignment}")]
    MisalignedOffset {
        tensor: String,
        offset: u64,
        alignment: u64,
    },

    /// The files given are not the complete, consistent shards of one gguf-split model.
    #[error("split GGUF: {detail}")]
    SplitInvalid { detail: String },

    #[error(
        "tensor '{tensor}' occupies bytes {start}..{end} of the file, past its length {file_len}"
    )]
    TensorOutOfBounds {
        tensor: String,
        start: u64,
        end: u64,
        file_len: u64,
    },

    #[error("tensors '{first}' (data bytes {first_start}..{first_end}) and '{second}' (data bytes {second_start}..{second_end}) overlap")]
    TensorOverlap {
        first: String,
        first_start: u64,
        first_end: u64,
        second: String,
        second_start: u64,
        second_end: u64,
    },

    #[error("GGUF metadata key '{key}' is missing")]
    MissingKey { key: String },

    #[error("could not allocate {bytes} bytes for {what}")]
    AllocFailed { what: &'static str, bytes: u64 },

    // ---- quantized data ------------------------------------------------------------------
    #[error("{what}: buffer of {len} bytes is not a whole number of {type_name} blocks ({block_bytes} bytes each)")]
    PartialBlock {
        what: &'static str,
        type_name: &'static str,
        len: usize,
        block_bytes: usize,
    },

    /// Like `PartialBlock`, for element (not byte) counts: an f32 input to a quantizer.
    #[error("{what}: {len} elements are not a whole number of {type_name} blocks ({block_len} elements each)")]
    PartialBlockElements {
        what: &'static str,
        type_name: &'static str,
        len: usize,
        block_len: usize,
    },

    #[error("{what}: length mismatch, {left} vs {right}")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },

    #[error("type {type_name} cannot be used as {role}")]
    TypeRole {
        type_name: &'static str,
        role: &'static str,
    },

    // ---- generation options and sampling -------------------------------------------------
    #[error("invalid option {name} = {value}: expected {expected}")]
    InvalidOption {
        name: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("no token can be sampled: none of the {n_vocab} logits is a number")]
    NoCandidates { n_vocab: usize },

    #[error("chat template failed: {reason}")]
    ChatTemplate { reason: String },

    #[error("the model has no chat template (tokenizer.chat_template); pass one with the `template` option")]
    NoChatTemplate,

    #[error("model does not fit in wasm32 memory: {needed} bytes needed (weights, KV cache for {n_ctx} tokens, scratch), {available} available; {}", if *max_ctx > 0 { format!("a context of at most {max_ctx} tokens would fit") } else { "even the weights alone do not fit".to_string() })]
    ModelTooLarge {
        needed: u64,
        available: u64,
        n_ctx: usize,
        max_ctx: usize,
    },

    // ---- models and inference ------------------------------------------------------------
    #[error("model architecture '{arch}' is not supported (supported: {supported})")]
    UnsupportedArchitecture { arch: String, supported: String },

    #[error("model feature not supported: {feature}")]
    UnsupportedModelFeature { feature: String },

    #[error("invalid model configuration: {key} = {value}: {reason}")]
    BadModelConfig {
        key: String,
        value: String,
        reason: &'static str,
    },

    #[error("model tensor '{tensor}' is missing")]
    MissingTensor { tensor: String },

    #[error("model tensor '{tensor}' has shape {found:?}, expected {expected:?}")]
    TensorShape {
        tensor: String,
        expected: Vec<u64>,
        found: Vec<u64>,
    },

    #[error("model tensor '{tensor}' has type {type_name}, which cannot be used as {role}")]
    TensorType {
        tensor: String,
        type_name: &'static str,
        role: &'static str,
    },

    #[error("context overflow: {needed} tokens needed, but the context holds {n_ctx}")]
    ContextOverflow { n_ctx: usize, needed: usize },

    #[error("token id {token} is out of range: the vocabulary has {n_vocab} tokens")]
    InvalidToken { token: u32, n_vocab: usize },

    #[error("out of memory: could not allocate {bytes} bytes for {what}")]
    OutOfMemory { what: &'static str, bytes: u64 },

    // ---- tokenizer ----------------------------------------------------------------------
    #[error("tokenizer.ggml.model '{model}' is not supported: wasm-chord implements 'llama' (SentencePiece) and 'gpt2' (byte-level BPE)")]
    UnsupportedTokenizer { model: String },

    #[error(
        "tokenizer.ggml.pre '{pre}' is not a supported pre-tokenizer (supported: {supported})"
    )]
    UnknownPreTokenizer { pre: String, supported: String },

    #[error("invalid tokenizer vocabulary: {reason}")]
    InvalidVocab { reason: String },

    // ---- WebGPU -------------------------------------------------------------------------
    #[error("WebGPU backend unavailable: {reason}")]
    BackendUnavailable { reason: String },

    #[error("WebGPU error in {op}: {message}")]
    Gpu { op: String, message: String },

    #[error("WebGPU device lost during {op}: {reason}")]
    DeviceLost { op: String, reason: String },
}

impl Error {
    /// Stable machine-readable code, exposed to JavaScript as `error.code`. Codes are part of
    /// the public API: never rename one, only add.
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            BadMagic { .. } => "GGUF_BAD_MAGIC",
            BigEndian { .. } => "GGUF_BIG_ENDIAN",
            UnsupportedVersion { .. } => "GGUF_UNSUPPORTED_VERSION",
            Truncated { .. } | BodyTruncated { .. } => "GGUF_TRUNCATED",
            BodyTooLong { .. } => "GGUF_TOO_LONG",
            CountTooLarge { .. } => "GGUF_COUNT_TOO_LARGE",
            StringTooLong { .. } => "GGUF_STRING_TOO_LONG",
            ArrayTooLong { .. } => "GGUF_ARRAY_TOO_LONG",
            InvalidUtf8 { .. } => "GGUF_INVALID_UTF8",
            UnknownValueType { .. } => "GGUF_UNKNOWN_VALUE_TYPE",
            NestingTooDeep { .. } => "GGUF_NESTING_TOO_DEEP",
            InvalidBool { .. } => "GGUF_INVALID_BOOL",
            DuplicateKey { .. } => "GGUF_DUPLICATE_KEY",
            WrongValueType { .. } => "GGUF_WRONG_VALUE_TYPE",
            BadAlignment { .. } => "GGUF_BAD_ALIGNMENT",
            DuplicateTensor { .. } => "GGUF_DUPLICATE_TENSOR",
            BadDimCount { .. } => "GGUF_BAD_DIM_COUNT",
            ZeroDim { .. } => "GGUF_ZERO_DIM",
            ShapeOverflow { .. } => "GGUF_SHAPE_OVERFLOW",
            UnknownTensorType { .. } => "GGUF_UNKNOWN_TYPE",
            UnsupportedType { .. } => "UNSUPPORTED_TYPE",
            RowNotBlockAligned { .. } => "GGUF_ROW_NOT_BLOCK_ALIGNED",
            MisalignedOffset { .. } => "GGUF_MISALIGNED_OFFSET",
            TensorOutOfBounds { .. } => "GGUF_TENSOR_OUT_OF_BOUNDS",
            SplitInvalid { .. } => "GGUF_SPLIT_INVALID",
            TensorOverlap { .. } => "GGUF_TENSOR_OVERLAP",
            MissingKey { .. } => "GGUF_MISSING_KEY",
            AllocFailed { .. } => "GGUF_ALLOC_FAILED",
            PartialBlock { .. } | PartialBlockElements { .. } => "PARTIAL_BLOCK",
            LengthMismatch { .. } => "LENGTH_MISMATCH",
            TypeRole { .. } => "TYPE_ROLE",
            InvalidOption { .. } => "INVALID_OPTION",
            NoCandidates { .. } => "NO_CANDIDATES",
            ChatTemplate { .. } => "CHAT_TEMPLATE_ERROR",
            NoChatTemplate => "NO_CHAT_TEMPLATE",
            ModelTooLarge { .. } => "OUT_OF_MEMORY",
            UnsupportedArchitecture { .. } => "UNSUPPORTED_ARCHITECTURE",
            UnsupportedModelFeature { .. } => "UNSUPPORTED_MODEL_FEATURE",
            BadModelConfig { .. } => "BAD_MODEL_CONFIG",
            MissingTensor { .. } => "MISSING_TENSOR",
            TensorShape { .. } => "TENSOR_SHAPE",
            TensorType { .. } => "TENSOR_TYPE",
            ContextOverflow { .. } => "CONTEXT_OVERFLOW",
            InvalidToken { .. } => "INVALID_TOKEN",
            OutOfMemory { .. } => "OUT_OF_MEMORY",
            UnsupportedTokenizer { .. } => "TOKENIZER_UNSUPPORTED",
            // One code for every tokenizer we cannot run (its model or its pre-type); the
            // message says which.
            UnknownPreTokenizer { .. } => "TOKENIZER_UNSUPPORTED",
            InvalidVocab { .. } => "TOKENIZER_INVALID_VOCAB",
            BackendUnavailable { .. } => "BACKEND_UNAVAILABLE",
            Gpu { .. } => "GPU_ERROR",
            DeviceLost { .. } => "GPU_DEVICE_LOST",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
