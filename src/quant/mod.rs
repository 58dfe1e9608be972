//! Quantized formats: the type table, the block layouts, and the scalar reference math every
//! optimized kernel is tested against.

pub mod blocks;
pub mod types;

pub use types::{GgmlType, TypeInfo, TypeLookup, QK32, QK_K};
