//! Quantized formats: the type table, the block layouts, and the scalar reference math every
//! optimized kernel is tested against.

pub mod blocks;
pub mod f16;
pub mod reference;
pub mod types;
pub mod unpack;

pub use reference::{
    dequantize, quantize_activation, vec_dot, Activation, ActivationKind, OwnedActivation,
};
pub use types::{GgmlType, TypeInfo, TypeLookup, QK32, QK_K};
