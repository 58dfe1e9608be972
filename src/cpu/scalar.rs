//! The scalar backend: every product delegates to the reference math in
//! `crate::quant::reference`. Native builds run it (so `cargo test` on the host works); on
//! wasm32 it is the baseline the SIMD128 kernels are tested and benchmarked against.

use super::Activations;
use crate::error::Result;
use crate::quant::blocks::{BlockQ8K, BlockQ8_0};
use crate::quant::reference::{self, Activation};
use crate::quant::GgmlType;

// On wasm32 the SIMD128 backend quantizes; only `matmul` is used there (as the baseline).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub const NAME: &str = "scalar";

/// Sizes were checked by the caller (`cpu::quantize_q8_0`/`Activations::quantize`).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    // Cannot fail: the caller checked that `out` has one block per 32 inputs.
    let _ = reference::quantize_q8_0(x, out);
}

/// Sizes were checked by the caller.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    // Cannot fail: the caller checked that `out` has one block per 256 inputs.
    let _ = reference::quantize_q8_k(x, out);
}

/// `out[t * rows + r] = W[r] · act[t]`, one reference `vec_dot` per output. Arguments are
/// checked by the caller, so errors from the reference cannot occur (they are passed on).
pub fn matmul(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    let row_bytes = w.len() / rows;
    for (t, out_t) in out.chunks_exact_mut(rows).enumerate() {
        let x = activation_row(act, t, cols);
        for (o, row) in out_t.iter_mut().zip(w.chunks_exact(row_bytes)) {
            *o = reference::vec_dot(ty, row, x)?;
        }
    }
    Ok(())
}

/// Activation row `t` of `act` as the reference's borrowed view.
pub(crate) fn activation_row(act: &Activations, t: usize, cols: usize) -> Activation<'_> {
    match act.ty() {
        Some(GgmlType::Q8_0) => {
            let nb = cols / 32;
            let r = t * nb..(t + 1) * nb;
            Activation::Q8_1 {
                qs: &act.q8_0()[r.clone()],
                s: &act.q8_0_s()[r],
            }
        }
        Some(GgmlType::Q8_K) => {
            let nb = cols / 256;
            Activation::Q8K(&act.q8_k()[t * nb..(t + 1) * nb])
        }
        _ => Activation::F32(&act.f32()[t * cols..(t + 1) * cols]),
    }
}
