//! SIMD128 kernels (wasm32 only), one file per weight type. The 32-element types share the
//! engine in `block32` (GEMV and GEMM); the K-quants share the GEMM engine in `superblock`
//! and each has its own fused GEMV next to its layout; `float` holds
//! F32/F16/BF16 and `quantize` the activation quantizers.
//!
//! Every product of a quantized type is bit-identical to `quant::reference`: the integer
//! sums are exact, and each block's float term is computed with the reference's expression
//! and added in the reference's order.

mod block32;
mod float;
mod nibbles;
mod q2_k;
mod q3_k;
mod q4_0;
mod q4_1;
mod q4_k;
mod q5_0;
mod q5_1;
mod q5_k;
mod q6_k;
mod q8_0;
mod quantize;
mod superblock;
pub(crate) mod util;

use super::Activations;
use crate::error::{Error, Result};
use crate::quant::blocks::BlockQ8K;
use crate::quant::{GgmlType, QK32, QK_K};

use block32::{ActQ8_0, Block32};
use superblock::SuperBlock;

#[cfg(not(target_feature = "relaxed-simd"))]
pub const NAME: &str = "simd128";
#[cfg(target_feature = "relaxed-simd")]
pub const NAME: &str = "simd128+relaxed";

pub use quantize::{quantize_q8_0, quantize_q8_k};

/// The per-type dispatch. Arguments were checked by `cpu::check_matmul`.
pub fn matmul(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    use GgmlType as T;
    match ty {
        T::Q4_0 => b32::<q4_0::Q4_0>(w, rows, cols, act, out),
        T::Q4_1 => b32::<q4_1::Q4_1>(w, rows, cols, act, out),
        T::Q5_0 => b32::<q5_0::Q5_0>(w, rows, cols, act, out),
        T::Q5_1 => b32::<q5_1::Q5_1>(w, rows, cols, act, out),
        T::Q8_0 => b32::<q8_0::Q8_0>(w, rows, cols, act, out),
        T::Q2_K => sb::<q2_k::Q2K>(q2_k::gemv, w, rows, cols, act, out),
        T::Q3_K => sb::<q3_k::Q3K>(q3_k::gemv, w, rows, cols, act, out),
        T::Q4_K => sb::<q4_k::Q4K>(q4_k::gemv, w, rows, cols, act, out),
        T::Q5_K => sb::<q5_k::Q5K>(q5_k::gemv, w, rows, cols, act, out),
        T::Q6_K => sb::<q6_k::Q6K>(q6_k::gemv, w, rows, cols, act, out),
        T::F32 | T::F16 | T::BF16 => float::matmul(ty, w, rows, cols, act.f32(), out),
        T::Q8_K => {
            return Err(Error::TypeRole {
                type_name: ty.name(),
                role: "a weight type (it is an activation format)",
            })
        }
    }
    Ok(())
}

fn b32<B: Block32>(w: &[u8], rows: usize, cols: usize, act: &Activations, out: &mut [f32]) {
    let nb = cols / QK32;
    let x = ActQ8_0 {
        blocks: act.q8_0(),
        d: act.q8_0_d(),
        s: act.q8_0_s(),
        sum: act.q8_0_sum(),
    };
    if act.n() == 1 {
        block32::gemv::<B>(w, rows, nb, x, out);
    } else {
        block32::gemm::<B>(w, rows, nb, act.n(), x, out);
    }
}

/// A K-quant product: the type's fused GEMV for one activation row, the shared GEMM engine
/// for several.
fn sb<S: SuperBlock>(
    gemv: fn(&[u8], usize, &[BlockQ8K], &mut [f32]),
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) {
    let nb = cols / QK_K;
    if act.n() == 1 {
        gemv(w, nb, act.q8_k(), out);
    } else {
        superblock::gemm::<S>(w, rows, nb, act.n(), act.q8_k(), out);
    }
}
