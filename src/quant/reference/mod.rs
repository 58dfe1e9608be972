//! Scalar reference math of the quant formats: dequantization, activation quantization and
//! dot products, transcribed from ggml's semantics. Slow and simple on purpose: every
//! optimized kernel (SIMD128, WebGPU) is tested against these functions, and these are tested
//! bit for bit against gguf-py (see tests/quant_reference.rs and
//! scripts/fixtures/make_quant_fixtures.py).
//!
//! Two layers:
//! * typed per-type functions over block slices (`dequant::dequantize_q4_k(&[BlockQ4K], ..)`,
//!   `dot::vec_dot_q4_k_q8_k(..)`), which only check lengths;
//! * byte-level dispatchers keyed by [`GgmlType`] ([`dequantize`], [`vec_dot`],
//!   [`quantize_activation`]), which also check block boundaries and type roles. Kernels for
//!   other backends should mirror this dispatch so each weight type has one activation format.
//!
//! Nothing here panics on caller input: bad lengths and type mismatches are [`Error`]s.

pub mod dequant;
pub mod dot;
pub mod quantize;

use std::borrow::Cow;

use bytemuck::Pod;

use crate::error::{Error, Result};
use crate::quant::blocks::*;
use crate::quant::types::{GgmlType, QK32, QK_K};

pub use dequant::*;
pub use dot::*;
pub use quantize::*;

/// The activation format a weight type is dotted with (ggml's `vec_dot_type`, except that
/// Q4_1/Q5_1 use Q8_0 rather than Q8_1 and F16/BF16 use f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationKind {
    F32,
    Q8_0,
    Q8K,
}

impl ActivationKind {
    pub const fn ggml_type(self) -> GgmlType {
        match self {
            ActivationKind::F32 => GgmlType::F32,
            ActivationKind::Q8_0 => GgmlType::Q8_0,
            ActivationKind::Q8K => GgmlType::Q8_K,
        }
    }

    /// Elements per activation block (1 for f32).
    pub const fn block_len(self) -> usize {
        self.ggml_type().block_len()
    }
}

impl GgmlType {
    /// The activation format this type's rows are dotted with, or `None` for Q8_K, which is
    /// an activation format itself and never a weight.
    pub const fn activation_kind(self) -> Option<ActivationKind> {
        use GgmlType as T;
        match self {
            T::F32 | T::F16 | T::BF16 => Some(ActivationKind::F32),
            T::Q4_0 | T::Q4_1 | T::Q5_0 | T::Q5_1 | T::Q8_0 => Some(ActivationKind::Q8_0),
            T::Q2_K | T::Q3_K | T::Q4_K | T::Q5_K | T::Q6_K => Some(ActivationKind::Q8K),
            T::Q8_K => None,
        }
    }

    /// Weights with a per-block min (w = q·d + m), which ggml dots with Q8_1 activations:
    /// Q8_0's quants plus the block sum `s` the min multiplies ([`q8_1_sums`]).
    pub const fn needs_q8_1_sums(self) -> bool {
        matches!(self, GgmlType::Q4_1 | GgmlType::Q5_1)
    }
}

/// A borrowed activation row in one of the formats the dot products accept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation<'a> {
    F32(&'a [f32]),
    Q8_0(&'a [BlockQ8_0]),
    /// Q8_0 blocks with ggml's Q8_1 sums ([`q8_1_sums`]): what Q4_1/Q5_1 rows need (the other
    /// Q8_0-kind weights ignore the sums).
    Q8_1 {
        qs: &'a [BlockQ8_0],
        s: &'a [f32],
    },
    Q8K(&'a [BlockQ8K]),
}

impl Activation<'_> {
    pub fn kind(&self) -> ActivationKind {
        match self {
            Activation::F32(_) => ActivationKind::F32,
            Activation::Q8_0(_) | Activation::Q8_1 { .. } => ActivationKind::Q8_0,
            Activation::Q8K(_) => ActivationKind::Q8K,
        }
    }

    /// Number of elements (not blocks).
    pub fn len(&self) -> usize {
        match self {
            Activation::F32(x) => x.len(),
            Activation::Q8_0(b) | Activation::Q8_1 { qs: b, .. } => b.len() * QK32,
            Activation::Q8K(b) => b.len() * QK_K,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An owned activation row, as produced by [`quantize_activation`].
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedActivation {
    F32(Vec<f32>),
    Q8_0(Vec<BlockQ8_0>),
    Q8_1 { qs: Vec<BlockQ8_0>, s: Vec<f32> },
    Q8K(Vec<BlockQ8K>),
}

impl OwnedActivation {
    pub fn as_activation(&self) -> Activation<'_> {
        match self {
            OwnedActivation::F32(x) => Activation::F32(x),
            OwnedActivation::Q8_0(b) => Activation::Q8_0(b),
            OwnedActivation::Q8_1 { qs, s } => Activation::Q8_1 { qs, s },
            OwnedActivation::Q8K(b) => Activation::Q8K(b),
        }
    }

    pub fn kind(&self) -> ActivationKind {
        self.as_activation().kind()
    }
}

/// Converts an f32 activation row into the format that rows of `weight_ty` are dotted with.
/// `x.len()` must be a whole number of activation blocks (`PartialBlockElements` otherwise);
/// Q8_K weights have no activation format (`TypeRole`).
pub fn quantize_activation(weight_ty: GgmlType, x: &[f32]) -> Result<OwnedActivation> {
    match weight_ty.activation_kind() {
        Some(ActivationKind::F32) => Ok(OwnedActivation::F32(x.to_vec())),
        Some(ActivationKind::Q8_0) if weight_ty.needs_q8_1_sums() => {
            let qs = quantize_q8_0_vec(x)?;
            let mut s = Vec::with_capacity(qs.len());
            q8_1_sums(x, &qs, &mut s);
            Ok(OwnedActivation::Q8_1 { qs, s })
        }
        Some(ActivationKind::Q8_0) => quantize_q8_0_vec(x).map(OwnedActivation::Q8_0),
        Some(ActivationKind::Q8K) => quantize_q8_k_vec(x).map(OwnedActivation::Q8K),
        None => Err(not_a_weight(weight_ty)),
    }
}

fn not_a_weight(ty: GgmlType) -> Error {
    Error::TypeRole {
        type_name: ty.name(),
        role: "a dot-product weight (it is an activation-only format)",
    }
}

/// Role named in the `TypeRole` error when an activation of the wrong format is passed for
/// rows of `weight_ty`.
const fn activation_role(weight_ty: GgmlType) -> &'static str {
    use GgmlType as T;
    match weight_ty {
        T::F32 => "the activation of an F32 weight row (needs F32)",
        T::F16 => "the activation of an F16 weight row (needs F32)",
        T::BF16 => "the activation of a BF16 weight row (needs F32)",
        T::Q4_0 => "the activation of a Q4_0 weight row (needs Q8_0)",
        T::Q4_1 => "the activation of a Q4_1 weight row (needs Q8_0)",
        T::Q5_0 => "the activation of a Q5_0 weight row (needs Q8_0)",
        T::Q5_1 => "the activation of a Q5_1 weight row (needs Q8_0)",
        T::Q8_0 => "the activation of a Q8_0 weight row (needs Q8_0)",
        T::Q2_K => "the activation of a Q2_K weight row (needs Q8_K)",
        T::Q3_K => "the activation of a Q3_K weight row (needs Q8_K)",
        T::Q4_K => "the activation of a Q4_K weight row (needs Q8_K)",
        T::Q5_K => "the activation of a Q5_K weight row (needs Q8_K)",
        T::Q6_K => "the activation of a Q6_K weight row (needs Q8_K)",
        T::Q8_K => "the activation of a Q8_K weight row (Q8_K is never a weight)",
    }
}

/// Views `bytes` as `ty` blocks of type `B`. Borrowed whenever the layout allows it (always,
/// for the alignment-1 weight blocks); only a misaligned Q8_K buffer is copied.
fn view_blocks<'a, B: Pod>(
    what: &'static str,
    ty: GgmlType,
    bytes: &'a [u8],
) -> Result<Cow<'a, [B]>> {
    let block_bytes = core::mem::size_of::<B>();
    debug_assert_eq!(block_bytes, ty.block_bytes());
    if bytes.len() % block_bytes != 0 {
        return Err(Error::PartialBlock {
            what,
            type_name: ty.name(),
            len: bytes.len(),
            block_bytes,
        });
    }
    Ok(match bytemuck::try_cast_slice(bytes) {
        Ok(blocks) => Cow::Borrowed(blocks),
        // The length is whole blocks, so the only possible failure is alignment.
        Err(_) => Cow::Owned(
            bytes
                .chunks_exact(block_bytes)
                .map(bytemuck::pod_read_unaligned)
                .collect(),
        ),
    })
}

/// Dequantizes a buffer of `ty` data (GGUF bytes, any alignment) into `out`, which must hold
/// exactly its elements.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    const WHAT: &str = "dequantize: input bytes";
    use GgmlType as T;
    match ty {
        T::F32 => dequantize_f32(&view_blocks(WHAT, ty, bytes)?, out),
        T::F16 => dequantize_f16(&view_blocks(WHAT, ty, bytes)?, out),
        T::BF16 => dequantize_bf16(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q4_0 => dequantize_q4_0(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q4_1 => dequantize_q4_1(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q5_0 => dequantize_q5_0(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q5_1 => dequantize_q5_1(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q8_0 => dequantize_q8_0(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q2_K => dequantize_q2_k(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q3_K => dequantize_q3_k(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q4_K => dequantize_q4_k(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q5_K => dequantize_q5_k(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q6_K => dequantize_q6_k(&view_blocks(WHAT, ty, bytes)?, out),
        T::Q8_K => dequantize_q8_k(&view_blocks(WHAT, ty, bytes)?, out),
    }
}

/// Dot product of one weight row (`ty` data as GGUF bytes, any alignment) with an activation
/// row. The activation must be in `ty.activation_kind()` format (`TypeRole` otherwise) and
/// have as many elements as the row (`LengthMismatch`); the row must be whole blocks
/// (`PartialBlock`).
pub fn vec_dot(ty: GgmlType, weight_row_bytes: &[u8], act: Activation<'_>) -> Result<f32> {
    const WHAT: &str = "vec_dot: weight row bytes";
    let expected = ty.activation_kind().ok_or_else(|| not_a_weight(ty))?;
    if act.kind() != expected {
        return Err(Error::TypeRole {
            type_name: act.kind().ggml_type().name(),
            role: activation_role(ty),
        });
    }
    if weight_row_bytes.len() % ty.block_bytes() != 0 {
        return Err(Error::PartialBlock {
            what: WHAT,
            type_name: ty.name(),
            len: weight_row_bytes.len(),
            block_bytes: ty.block_bytes(),
        });
    }
    // Saturates rather than overflowing on 32-bit targets; no activation is that long.
    let n_weight = (weight_row_bytes.len() / ty.block_bytes()).saturating_mul(ty.block_len());
    if n_weight != act.len() {
        return Err(Error::LengthMismatch {
            what: "vec_dot: weight row elements vs activation elements",
            left: n_weight,
            right: act.len(),
        });
    }
    let w = weight_row_bytes;
    use Activation as A;
    use GgmlType as T;
    match (ty, act) {
        (T::F32, A::F32(x)) => vec_dot_f32(&view_blocks(WHAT, ty, w)?, x),
        (T::F16, A::F32(x)) => vec_dot_f16(&view_blocks(WHAT, ty, w)?, x),
        (T::BF16, A::F32(x)) => vec_dot_bf16(&view_blocks(WHAT, ty, w)?, x),
        (T::Q4_0, A::Q8_0(a) | A::Q8_1 { qs: a, .. }) => {
            vec_dot_q4_0_q8_0(&view_blocks(WHAT, ty, w)?, a)
        }
        (T::Q4_1, A::Q8_1 { qs, s }) => vec_dot_q4_1_q8_1(&view_blocks(WHAT, ty, w)?, qs, s),
        (T::Q5_0, A::Q8_0(a) | A::Q8_1 { qs: a, .. }) => {
            vec_dot_q5_0_q8_0(&view_blocks(WHAT, ty, w)?, a)
        }
        (T::Q5_1, A::Q8_1 { qs, s }) => vec_dot_q5_1_q8_1(&view_blocks(WHAT, ty, w)?, qs, s),
        (T::Q8_0, A::Q8_0(a) | A::Q8_1 { qs: a, .. }) => {
            vec_dot_q8_0_q8_0(&view_blocks(WHAT, ty, w)?, a)
        }
        (T::Q4_1 | T::Q5_1, A::Q8_0(_)) => Err(Error::TypeRole {
            type_name: "Q8_0 without its Q8_1 sums",
            role: "activations for Q4_1/Q5_1 weights (need Activation::Q8_1)",
        }),
        (T::Q2_K, A::Q8K(a)) => vec_dot_q2_k_q8_k(&view_blocks(WHAT, ty, w)?, a),
        (T::Q3_K, A::Q8K(a)) => vec_dot_q3_k_q8_k(&view_blocks(WHAT, ty, w)?, a),
        (T::Q4_K, A::Q8K(a)) => vec_dot_q4_k_q8_k(&view_blocks(WHAT, ty, w)?, a),
        (T::Q5_K, A::Q8K(a)) => vec_dot_q5_k_q8_k(&view_blocks(WHAT, ty, w)?, a),
        (T::Q6_K, A::Q8K(a)) => vec_dot_q6_k_q8_k(&view_blocks(WHAT, ty, w)?, a),
        // Unreachable after the kind check above; kept as an error rather than a panic.
        (ty, act) => Err(Error::TypeRole {
            type_name: act.kind().ggml_type().name(),
            role: activation_role(ty),
        }),
    }
}
