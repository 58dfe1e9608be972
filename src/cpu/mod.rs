//! CPU kernels: activation quantization and fused quantized matrix-vector (decode) and
//! matrix-matrix (prefill) products working directly on the GGUF blocks. The f32 ops of the
//! forward pass (norms, RoPE, gated activations, attention's dot products) are one library,
//! `crate::model::ops`.
//!
//! # Layout of the data
//!
//! * A weight matrix of type `ty` with `rows` output features and `cols` inputs is the raw
//!   GGUF tensor bytes: `rows` rows, each `cols / ty.block_len()` blocks, row after row
//!   (GGUF shape `[cols, rows]`). Weights are never expanded to f32.
//! * Activations are `n` rows of `cols` f32 values. [`Activations::quantize`] turns them into
//!   the format the weight type is multiplied against ([`activation_type`]): Q8_0 for the
//!   32-element types, Q8_K (with its block sums) for the K-quants, f32 for F32/F16/BF16.
//! * [`matmul`] writes `out[t * rows + r]` = row `r` of the weights · activation row `t`.
//!
//! # Backends
//!
//! There is one dispatch point: `backend` is the SIMD128 module on wasm32 and the scalar
//! reference (`crate::quant::reference`) everywhere else, so `cargo test` on the host runs the reference. Sizes are validated here, once per
//! call, with typed errors; the kernels then run without per-element checks.
//!
//! The SIMD128 products of the quantized types are bit-identical to the reference (same
//! integer sums, same float expression per block, same order); see `simd128`. A build with
//! `-C target-feature=+simd128,+relaxed-simd` switches the 4- and 5-bit 32-element types to
//! `i32x4.relaxed_dot_i8x16_i7x16_add` (still exact); on the x86 machine measured it was not
//! faster (BENCHMARKS.md), so it is not shipped.

#[cfg(all(target_arch = "wasm32", feature = "bench"))]
pub mod bench;
mod scalar;
#[cfg(target_arch = "wasm32")]
pub mod simd128;

#[cfg(not(target_arch = "wasm32"))]
use scalar as backend;
#[cfg(target_arch = "wasm32")]
use simd128 as backend;

use crate::error::{Error, Result};
use crate::quant::blocks::{BlockQ8K, BlockQ8_0};
use crate::quant::{GgmlType, QK32, QK_K};

/// Name of the kernels [`matmul`] runs in this build: `"simd128"` or `"scalar"`.
pub const BACKEND: &str = backend::NAME;

/// The activation format a weight type is multiplied against (`F32`, `Q8_0` or `Q8_K`), as
/// the reference defines it ([`GgmlType::activation_kind`]).
pub fn activation_type(weight: GgmlType) -> Result<GgmlType> {
    weight
        .activation_kind()
        .map(|k| k.ggml_type())
        .ok_or(Error::TypeRole {
            type_name: weight.name(),
            role: "a weight type (it is an activation format)",
        })
}

/// `n` activation rows of `k` values, in the format one weight type needs. Reusable: quantizing
/// into an existing value keeps its allocations.
#[derive(Debug, Clone, Default)]
pub struct Activations {
    ty: Option<GgmlType>,
    n: usize,
    k: usize,
    f32: Vec<f32>,
    q8_0: Vec<BlockQ8_0>,
    /// Per Q8_0 block: its scale as f32.
    q8_0_d: Vec<f32>,
    /// Per Q8_0 block: ggml's Q8_1 sum `f16(d · Σ qs)` (the Q4_1/Q5_1 min term).
    q8_0_s: Vec<f32>,
    /// Per Q8_0 block: `Σ qs` (the offset correction of the relaxed-SIMD kernels).
    q8_0_sum: Vec<i32>,
    q8_k: Vec<BlockQ8K>,
}

impl Activations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantizes `n` rows of `x` (`x.len() / n` values each) for multiplication with weights
    /// of type `weight`.
    pub fn quantize(&mut self, weight: GgmlType, x: &[f32], n: usize) -> Result<()> {
        let act = activation_type(weight)?;
        let k = x.len().checked_div(n).unwrap_or(0);
        if n == 0 || k * n != x.len() {
            return Err(Error::LengthMismatch {
                what: "quantize activations: input length vs n rows",
                left: x.len(),
                right: n,
            });
        }
        self.ty = None;
        self.f32.clear();
        self.q8_0.clear();
        self.q8_0_d.clear();
        self.q8_0_s.clear();
        self.q8_0_sum.clear();
        self.q8_k.clear();
        match act {
            GgmlType::F32 => self.f32.extend_from_slice(x),
            GgmlType::Q8_0 => {
                check_elements("quantize activations to Q8_0", "Q8_0", k, QK32)?;
                self.q8_0
                    .resize(x.len() / QK32, bytemuck::Zeroable::zeroed());
                backend::quantize_q8_0(x, &mut self.q8_0);
                self.q8_0_d
                    .extend(self.q8_0.iter().map(|b| crate::quant::blocks::f16_le(b.d)));
                self.q8_0_sum
                    .extend(self.q8_0.iter().map(BlockQ8_0::qs_sum));
                crate::quant::reference::q8_1_sums(x, &self.q8_0, &mut self.q8_0_s);
            }
            _ => {
                check_elements("quantize activations to Q8_K", "Q8_K", k, QK_K)?;
                self.q8_k
                    .resize(x.len() / QK_K, bytemuck::Zeroable::zeroed());
                backend::quantize_q8_k(x, &mut self.q8_k);
            }
        }
        self.ty = Some(act);
        self.n = n;
        self.k = k;
        Ok(())
    }

    /// The activation format held (`F32`, `Q8_0` or `Q8_K`), `None` before the first quantize.
    pub fn ty(&self) -> Option<GgmlType> {
        self.ty
    }
    /// Number of activation rows.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Values per activation row.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The Q8_0 blocks, all rows one after the other (empty unless `ty()` is Q8_0).
    pub fn q8_0(&self) -> &[BlockQ8_0] {
        &self.q8_0
    }
    /// The Q8_K blocks, all rows one after the other (empty unless `ty()` is Q8_K).
    pub fn q8_k(&self) -> &[BlockQ8K] {
        &self.q8_k
    }
    /// The f32 values (empty unless `ty()` is F32).
    pub fn f32(&self) -> &[f32] {
        &self.f32
    }
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn q8_0_d(&self) -> &[f32] {
        &self.q8_0_d
    }
    #[cfg_attr(not(target_feature = "relaxed-simd"), allow(dead_code))]
    pub(crate) fn q8_0_sum(&self) -> &[i32] {
        &self.q8_0_sum
    }
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn q8_0_s(&self) -> &[f32] {
        &self.q8_0_s
    }
}

/// Quantizes `n` activation rows for weights of type `weight` (see [`Activations::quantize`]).
pub fn quantize_activations(weight: GgmlType, x: &[f32], n: usize) -> Result<Activations> {
    let mut a = Activations::new();
    a.quantize(weight, x, n)?;
    Ok(a)
}

fn check_elements(
    what: &'static str,
    type_name: &'static str,
    len: usize,
    block_len: usize,
) -> Result<()> {
    if len % block_len == 0 {
        Ok(())
    } else {
        Err(Error::PartialBlockElements {
            what,
            type_name,
            len,
            block_len,
        })
    }
}

fn check_len(what: &'static str, left: usize, right: usize) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(Error::LengthMismatch { what, left, right })
    }
}

/// f32 → Q8_0 blocks (ggml `quantize_row_q8_0`: scale `amax / 127`, round half away from zero).
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) -> Result<()> {
    check_elements("quantize Q8_0", "Q8_0", x.len(), QK32)?;
    check_len("quantize Q8_0: output blocks", out.len(), x.len() / QK32)?;
    backend::quantize_q8_0(x, out);
    Ok(())
}

/// f32 → Q8_K blocks with their 16-element sums (ggml `quantize_row_q8_K`).
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) -> Result<()> {
    check_elements("quantize Q8_K", "Q8_K", x.len(), QK_K)?;
    check_len("quantize Q8_K: output blocks", out.len(), x.len() / QK_K)?;
    backend::quantize_q8_k(x, out);
    Ok(())
}

/// Checks a matmul's arguments; on success the kernels may index without checks.
pub(crate) fn check_matmul(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &[f32],
) -> Result<()> {
    let want = activation_type(ty)?;
    if act.ty != Some(want) {
        return Err(Error::TypeRole {
            type_name: act.ty.map_or("no activations", GgmlType::name),
            role: match want {
                GgmlType::Q8_0 => "activations for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights (need Q8_0)",
                GgmlType::Q8_K => "activations for K-quant weights (need Q8_K)",
                _ => "activations for float weights (need F32)",
            },
        });
    }
    check_elements("matmul: weight row length", ty.name(), cols, ty.block_len())?;
    let row_bytes = cols / ty.block_len() * ty.block_bytes();
    if w.len() % ty.block_bytes() != 0 {
        return Err(Error::PartialBlock {
            what: "matmul weights",
            type_name: ty.name(),
            len: w.len(),
            block_bytes: ty.block_bytes(),
        });
    }
    let w_expected = rows.checked_mul(row_bytes).ok_or(Error::LengthMismatch {
        what: "matmul: weight bytes overflow (rows · row bytes)",
        left: rows,
        right: row_bytes,
    })?;
    check_len(
        "matmul: weight bytes vs rows · row bytes",
        w.len(),
        w_expected,
    )?;
    check_len("matmul: activation row length vs weight cols", act.k, cols)?;
    let out_expected = act.n.checked_mul(rows).ok_or(Error::LengthMismatch {
        what: "matmul: output overflow (n · rows)",
        left: act.n,
        right: rows,
    })?;
    check_len("matmul: output length vs n · rows", out.len(), out_expected)?;
    Ok(())
}

/// `out[t * rows + r] = W[r] · act[t]` for every activation row `t` and weight row `r`.
///
/// For one activation row this is the decode GEMV; for several, the prefill GEMM, which
/// decodes each weight block once per tile of activation rows.
pub fn matmul(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    checked(backend::matmul, ty, w, rows, cols, act, out)
}

/// The decode product: [`matmul`] with exactly one activation row.
pub fn matvec(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    check_len("matvec: activation rows (must be 1)", act.n, 1)?;
    matmul(ty, w, rows, cols, act, out)
}

/// [`matmul`] computed by the scalar reference (`crate::quant::reference::vec_dot` per output)
/// whatever the build: the baseline that tests and benchmarks compare the SIMD kernels with.
pub fn matmul_reference(
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    checked(scalar::matmul, ty, w, rows, cols, act, out)
}

type Kernel = fn(GgmlType, &[u8], usize, usize, &Activations, &mut [f32]) -> Result<()>;

/// Validates the sizes once, handles the empty product, then runs `kernel` unchecked.
fn checked(
    kernel: Kernel,
    ty: GgmlType,
    w: &[u8],
    rows: usize,
    cols: usize,
    act: &Activations,
    out: &mut [f32],
) -> Result<()> {
    check_matmul(ty, w, rows, cols, act, out)?;
    if rows == 0 || cols == 0 {
        out.fill(0.0);
        return Ok(());
    }
    kernel(ty, w, rows, cols, act, out)
}
