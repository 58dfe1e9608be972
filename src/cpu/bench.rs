//! Benchmark entry points for `npm run bench:kernels` (scripts/bench-kernels.mjs), compiled
//! only with the `bench` feature on wasm32. JavaScript does the timing; this side prepares a
//! case (random blocks with realistic scales in the real shapes) and runs the kernels.

use core::arch::wasm32::*;

use wasm_bindgen::prelude::*;

use super::{quantize_activations, Activations};
use crate::quant::GgmlType;

/// One benchmark case: a weight matrix, `n` quantized activation rows and the output.
#[wasm_bindgen]
pub struct KernelBench {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    w: Vec<u8>,
    x: Vec<f32>,
    act: Activations,
    out: Vec<f32>,
    reference_out: Vec<f32>,
    /// `copies` distinct copies of `w`, back to back (empty until `set_copies`): the decode
    /// working set, where every GEMV reads weights that were last touched a whole pass ago.
    ws: Vec<u8>,
    copies: usize,
    /// `rows × cols` i8 weights and `cols` i16 activations for `dot_floor` (empty until then).
    floor_w: Vec<i8>,
    floor_x: Vec<v128>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn err(e: crate::Error) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Offsets of the f16 scale fields inside a block (ggml-common.h).
fn scale_fields(ty: GgmlType) -> &'static [usize] {
    use GgmlType as T;
    match ty {
        T::Q4_0 | T::Q5_0 | T::Q8_0 => &[0],
        T::Q4_1 | T::Q5_1 | T::Q4_K | T::Q5_K => &[0, 2],
        T::Q2_K => &[80, 82],
        T::Q3_K => &[108],
        T::Q6_K => &[208],
        _ => &[],
    }
}

#[wasm_bindgen]
impl KernelBench {
    /// `type_name` is a GGML type name ("Q8_0", "Q4_K", "F16", …); `rows` output features,
    /// `cols` inputs, `n` activation rows.
    #[wasm_bindgen(constructor)]
    pub fn new(
        type_name: &str,
        rows: usize,
        cols: usize,
        n: usize,
    ) -> Result<KernelBench, JsValue> {
        let ty = GgmlType::from_name(type_name).ok_or_else(|| JsValue::from_str("unknown type"))?;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (rows * 31 + cols) as u64);
        let bl = ty.block_len();
        let bb = ty.block_bytes();
        let nblocks = rows * cols / bl;
        let mut w = vec![0u8; nblocks * bb];
        // Random bytes, 8 at a time (the head is 178 MB).
        for c in w.chunks_mut(8) {
            let r = rng.next().to_le_bytes();
            c.copy_from_slice(&r[..c.len()]);
        }
        match ty {
            GgmlType::F32 => {
                for c in w.chunks_exact_mut(4) {
                    c.copy_from_slice(&rng.unit().to_le_bytes());
                }
            }
            GgmlType::F16 | GgmlType::BF16 => {
                for c in w.chunks_exact_mut(2) {
                    let h = half::f16::from_f32(rng.unit()).to_bits();
                    c.copy_from_slice(&h.to_le_bytes());
                }
            }
            _ => {
                let f = scale_fields(ty);
                for blk in w.chunks_exact_mut(bb) {
                    for &off in f {
                        let s = half::f16::from_f32(rng.unit() * 0.02).to_bits();
                        blk[off..off + 2].copy_from_slice(&s.to_le_bytes());
                    }
                }
            }
        }
        let x: Vec<f32> = (0..n * cols).map(|_| rng.unit()).collect();
        let act = quantize_activations(ty, &x, n).map_err(err)?;
        Ok(KernelBench {
            ty,
            rows,
            cols,
            w,
            x,
            act,
            out: vec![0.0; n * rows],
            reference_out: vec![0.0; n * rows],
            ws: Vec::new(),
            copies: 0,
            floor_w: Vec::new(),
            floor_x: Vec::new(),
        })
    }

    /// Allocates `copies` distinct copies of the weight matrix, one after the other (for the
    /// decode-working-set measurement, `simd_ws` and `stream_ws`). The bytes of each copy are
    /// those of `w` (the kernels' speed does not depend on the values); what matters is that
    /// they live at different addresses, so a pass over all of them evicts each from the caches
    /// before it is read again.
    pub fn set_copies(&mut self, copies: usize) {
        self.copies = copies;
        self.ws = Vec::with_capacity(copies * self.w.len());
        for _ in 0..copies {
            self.ws.extend_from_slice(&self.w);
        }
    }

    /// Bytes of the decode working set (`copies` × weight bytes).
    pub fn ws_bytes(&self) -> f64 {
        self.ws.len() as f64
    }

    /// The SIMD product over every copy in turn (copy 0, 1, …, as decode walks the layers),
    /// `iters` passes. Each copy's product is a full `cpu::matmul` call into the same output.
    pub fn simd_ws(&mut self, iters: u32) -> Result<f32, JsValue> {
        let len = self.w.len();
        for _ in 0..iters {
            for c in self.ws.chunks_exact(len) {
                super::matmul(self.ty, c, self.rows, self.cols, &self.act, &mut self.out)
                    .map_err(err)?;
            }
        }
        Ok(self.out[0])
    }

    /// The streaming read (`stream`) over the same copies in the same order, `iters` passes.
    pub fn stream_ws(&self, iters: u32) -> u32 {
        let len = self.w.len();
        let mut total = 0u32;
        for _ in 0..iters {
            for c in self.ws.chunks_exact(len) {
                // black_box: as in `stream`.
                total = total.wrapping_add(stream_read(core::hint::black_box(c)));
            }
        }
        total
    }

    pub fn weight_bytes(&self) -> f64 {
        self.w.len() as f64
    }

    /// Multiply-adds per product (rows · cols · n).
    pub fn macs(&self) -> f64 {
        (self.rows * self.cols * self.act.n()) as f64
    }

    /// The SIMD product (`cpu::matmul`), `iters` times. Returns an output value so the work
    /// cannot be optimized away.
    pub fn simd(&mut self, iters: u32) -> Result<f32, JsValue> {
        for _ in 0..iters {
            super::matmul(
                self.ty,
                &self.w,
                self.rows,
                self.cols,
                &self.act,
                &mut self.out,
            )
            .map_err(err)?;
        }
        Ok(self.out[0])
    }

    /// The scalar reference product (`cpu::matmul_reference`), `iters` times.
    pub fn scalar(&mut self, iters: u32) -> Result<f32, JsValue> {
        for _ in 0..iters {
            super::matmul_reference(
                self.ty,
                &self.w,
                self.rows,
                self.cols,
                &self.act,
                &mut self.reference_out,
            )
            .map_err(err)?;
        }
        Ok(self.reference_out[0])
    }

    /// Activation quantization of the `n` rows, `iters` times.
    pub fn quantize(&mut self, iters: u32) -> Result<u32, JsValue> {
        for _ in 0..iters {
            self.act
                .quantize(self.ty, &self.x, self.act.n())
                .map_err(err)?;
        }
        Ok(self.act.n() as u32)
    }

    /// Largest |simd − reference| / max|reference| over the outputs of the last `simd` and
    /// `scalar` runs (a sanity check printed with the figures).
    pub fn max_rel_diff(&self) -> f64 {
        let scale = self
            .reference_out
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        self.out
            .iter()
            .zip(&self.reference_out)
            .map(|(a, b)| f64::from((a - b).abs() / scale))
            .fold(0.0, f64::max)
    }

    /// The unpack-free floor of a SIMD128 GEMV in this shape, `iters` times: `rows × cols` i8
    /// weights (no scales, nothing to unpack) against i16 activations held in L1, four rows per
    /// pass from the four quarters of the matrix as the real GEMV walks them, eight weights per
    /// `i16x8.load8x8_s` + `i32x4.dot_i16x8_s` (the widest integer multiply-add baseline SIMD128
    /// has). No kernel that rebuilds GGUF quants into i16 lanes and dots them can multiply
    /// faster; the benchmark turns its rate into each type's bytes per second.
    pub fn dot_floor(&mut self, iters: u32) -> i32 {
        let (rows, cols) = (self.rows, self.cols - self.cols % 8);
        if self.floor_w.is_empty() {
            let mut rng = Rng(0x5DEE_CE66_D1CE_F00D);
            self.floor_w = (0..rows * cols).map(|_| rng.next() as i8).collect();
            self.floor_x = (0..cols / 8)
                .map(|_| i16x8_splat((rng.next() % 255) as i16 - 127))
                .collect();
        }
        let q = rows / 4;
        let mut total = i32x4_splat(0);
        for _ in 0..iters {
            let w = core::hint::black_box(self.floor_w.as_ptr());
            for g in 0..q {
                // SAFETY: rows g, g + q, g + 2q, g + 3q < rows, each `cols` bytes.
                let p: [*const i8; 4] =
                    core::array::from_fn(|i| unsafe { w.add((g + i * q) * cols) });
                let mut acc = [i32x4_splat(0); 4];
                for (c, &x) in self.floor_x.iter().enumerate() {
                    for (a, &pr) in acc.iter_mut().zip(&p) {
                        // SAFETY: 8c + 8 ≤ cols bytes of the row.
                        let v = unsafe { i16x8_load_extend_i8x8(pr.add(8 * c)) };
                        *a = i32x4_add(*a, i32x4_dot_i16x8(v, x));
                    }
                }
                total = i32x4_add(
                    total,
                    super::simd128::util::hsum4_i32x4(acc[0], acc[1], acc[2], acc[3]),
                );
            }
        }
        i32x4_extract_lane::<0>(total)
    }

    /// Multiply-adds of one `dot_floor` pass.
    pub fn floor_macs(&self) -> f64 {
        ((self.rows / 4) * 4 * (self.cols - self.cols % 8)) as f64
    }

    /// A plain SIMD128 streaming read of the weight bytes (`v128.load` + `i32x4.add`, four
    /// independent accumulators), `iters` times: the practical bandwidth ceiling.
    pub fn stream(&self, iters: u32) -> u32 {
        let mut total = 0u32;
        for _ in 0..iters {
            // black_box: the read is loop-invariant, and must not be hoisted out of the loop.
            total = total.wrapping_add(stream_read(core::hint::black_box(&self.w)));
        }
        total
    }
}

/// Reads every whole 64 bytes of `w` with `v128.load` into four independent `i32x4.add`
/// accumulators; returns a lane of the sum so the loads cannot be optimized away.
fn stream_read(w: &[u8]) -> u32 {
    let chunks = w.len() / 64;
    let p = w.as_ptr() as *const v128;
    let mut acc = [i32x4_splat(0); 4];
    for i in 0..chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: 64·i + 16·k + 16 ≤ 64·chunks ≤ w.len().
            *a = i32x4_add(*a, unsafe { v128_load(p.add(4 * i + k)) });
        }
    }
    let total = i32x4_add(i32x4_add(acc[0], acc[1]), i32x4_add(acc[2], acc[3]));
    i32x4_extract_lane::<0>(total) as u32
}

/// Which kernels this build runs (`cpu::BACKEND`).
#[wasm_bindgen]
pub fn kernel_backend() -> String {
    super::BACKEND.to_string()
}
