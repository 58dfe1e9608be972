//! The kernels as typed calls that record into a [`Batch`]. Offsets and strides are in
//! elements; every call checks its ranges against the buffers so a shape bug is an `Error`
//! here, not a silent out-of-bounds clamp on the GPU.

use super::batch::{grid, Batch};
use super::shaders;
use super::tensor::{GpuBuffer, GpuMatrix};
use crate::error::{Error, Result};

fn range_error(what: &'static str, needed: usize, len: usize) -> Error {
    Error::LengthMismatch {
        what,
        left: needed,
        right: len,
    }
}

fn check(what: &'static str, b: &GpuBuffer, end: usize) -> Result<()> {
    if end > b.len {
        return Err(range_error(what, end, b.len));
    }
    Ok(())
}

/// Threads per row of the GEMV: enough that each does a few 8-weight units, at least 4.
pub(crate) fn gemv_tpr(cols: usize) -> u32 {
    let units = cols / 8;
    (units / 3).next_power_of_two().clamp(4, 64) as u32
}

/// A view of `n` activation rows: element `x_off + i · stride + k`.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub buf: &'a GpuBuffer,
    pub off: usize,
    pub stride: usize,
}

impl<'a> Rows<'a> {
    pub fn new(buf: &'a GpuBuffer, off: usize, stride: usize) -> Rows<'a> {
        Rows { buf, off, stride }
    }
}

/// `y[i] = W · x[i]` for `n` rows of `x` (each `cols` long) into rows of `y` (each at least
/// `rows` long).
pub fn matmul(b: &mut Batch, w: &GpuMatrix, x: Rows, y: Rows, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    check("matmul: activations", x.buf, x.off + (n - 1) * x.stride + w.cols)?;
    check("matmul: outputs", y.buf, y.off + (n - 1) * y.stride + w.rows)?;
    let tpr = gemv_tpr(w.cols);
    let key = format!("gemv:{}:{tpr}", w.ty.name());
    let src = || shaders::with_weights(w.ty, shaders::GEMV, &[("TPR", tpr)]).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    let rpw = 64 / tpr as usize;
    for part in &w.parts {
        let params = [
            part.rows as u32,
            w.cols as u32,
            w.row_bytes as u32,
            0,
            x.off as u32,
            x.stride as u32,
            (y.off + part.row0) as u32,
            y.stride as u32,
        ];
        b.dispatch(
            pipeline.clone(),
            &params,
            &[&part.buf, &x.buf.buf, &y.buf.buf],
            grid(part.rows.div_ceil(rpw), n as u32),
        );
    }
    Ok(())
}

/// Dequantizes all of `w` into `y` (`rows × cols` f32): the decoder test kernel.
pub fn dequantize(b: &mut Batch, w: &GpuMatrix, y: &GpuBuffer) -> Result<()> {
    check("dequantize: output", y, w.rows * w.cols)?;
    let key = format!("dequant:{}", w.ty.name());
    let src = || shaders::with_weights(w.ty, shaders::DEQUANT, &[]).unwrap_or_default();
    let pipeline = b.gpu().pipeline(&key, src);
    for part in &w.parts {
        // The kernel writes row r at r · cols: shift the output by binding a view is not
        // possible for storage arrays, so parts are dequantized one by one through `cols`.
        let units = part.rows * (w.cols / 8);
        let params = [part.rows as u32, w.cols as u32, w.row_bytes as u32, 0];
        if part.row0 != 0 {
            // Only the test helper calls this; it never splits.
            return Err(Error::Gpu {
                op: "dequantize".into(),
                message: "split matrices are not supported by the dequantize test kernel".into(),
            });
        }
        b.dispatch(
            pipeline.clone(),
            &params,
            &[&part.buf, &y.buf],
            grid(units.div_ceil(64), 1),
        );
    }
    Ok(())
}
