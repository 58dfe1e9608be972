//! GGUF container reading: incremental header parsing, validation, zero-copy tensor views.
//!
//! * [`GgufHeader::parse`] parses a prefix of a file (length known or not).
//! * [`GgufFile::parse`] validates a complete in-memory file and lends [`TensorView`]s.
//! * [`GgufStream`] takes `fetch` chunks, reports when the header is ready, and yields a
//!   [`LoadedGguf`] that owns the single buffer the chunks were appended into.
//! * [`split::join`] validates the shards of a split (gguf-split) model as one.
//! * [`GgufWriter`] writes valid or deliberately broken files for tests and synthetic models.
//!
//! Untrusted input: every count and length is checked against the bytes that can still exist
//! before anything is allocated for it, nothing panics, and no `unsafe` is used. Memory used
//! while parsing stays proportional to the bytes actually present (plus small fixed
//! preallocations), whatever the counts claim.

mod cursor;
pub mod file;
pub mod header;
pub mod split;
pub mod stream;
pub mod value;
pub mod writer;

pub use file::{GgufFile, TensorView};
pub use header::{GgufHeader, Parsed, TensorInfo};
pub use stream::{GgufStream, LoadedGguf, StreamStatus};
pub use value::{Array, Metadata, MetadataEntry, StringArray, Value, ValueType};
pub use writer::{GgufWriter, KvPayload, Layout, TensorSpec};

pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Used when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
pub const ALIGNMENT_KEY: &str = "general.alignment";
/// ggml's `GGML_MAX_DIMS`.
pub const MAX_DIMS: u32 = 4;
/// The spec allows arrays of arrays without a limit; real files nest at most one level, and
/// the limit keeps the recursive reader's stack bounded.
pub const MAX_ARRAY_DEPTH: u32 = 8;
