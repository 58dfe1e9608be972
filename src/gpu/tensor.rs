//! Weights and activations on the GPU.

use super::device::Gpu;
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// A storage buffer of `len` f32 (or packed) words.
#[derive(Debug, Clone)]
pub struct GpuBuffer {
    pub(crate) buf: wgpu::Buffer,
    pub len: usize,
}

fn too_large(what: &str, bytes: u64, limit: u64) -> Error {
    Error::BackendUnavailable {
        reason: format!(
            "{what} needs a {bytes}-byte GPU buffer; the adapter allows {limit} bytes per binding"
        ),
    }
}

impl GpuBuffer {
    /// `len` zeroed 4-byte words, readable and writable by kernels and copyable both ways.
    pub fn zeros(gpu: &Gpu, len: usize, what: &str) -> Result<GpuBuffer> {
        let bytes = (4 * len.max(1)) as u64;
        if bytes > gpu.max_binding || bytes > gpu.max_buffer {
            return Err(too_large(what, bytes, gpu.max_binding.min(gpu.max_buffer)));
        }
        let buf = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Ok(GpuBuffer { buf, len })
    }

    /// A buffer holding `data`.
    pub fn from_f32(gpu: &Gpu, data: &[f32], what: &str) -> Result<GpuBuffer> {
        let b = GpuBuffer::zeros(gpu, data.len(), what)?;
        if !data.is_empty() {
            gpu.queue
                .write_buffer(&b.buf, 0, bytemuck::cast_slice(data));
        }
        Ok(b)
    }

    /// Overwrites words from `at` with `data` (ordered before the next submission).
    pub fn write_f32(&self, gpu: &Gpu, at: usize, data: &[f32]) {
        self.write_u32(gpu, at, bytemuck::cast_slice(data));
    }

    pub fn write_u32(&self, gpu: &Gpu, at: usize, data: &[u32]) {
        if !data.is_empty() && at + data.len() <= self.len {
            gpu.queue
                .write_buffer(&self.buf, (4 * at) as u64, bytemuck::cast_slice(data));
        }
    }
}

/// One piece of a weight matrix: rows `row0..row0 + rows`, in its own buffer.
#[derive(Debug, Clone)]
pub struct MatrixPart {
    pub(crate) buf: wgpu::Buffer,
    pub row0: usize,
    pub rows: usize,
}

/// A weight matrix in its GGUF block layout, split by rows into parts no larger than a
/// storage binding may be (the default model's 178 MB head is over WebGPU's default
/// 128 MiB).
#[derive(Debug, Clone)]
pub struct GpuMatrix {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub row_bytes: usize,
    pub parts: Vec<MatrixPart>,
}

impl GpuMatrix {
    /// Uploads `bytes` (`rows` rows of `cols` weights of type `ty`). `name` is for errors.
    pub fn upload(
        gpu: &Gpu,
        name: &str,
        ty: GgmlType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<GpuMatrix> {
        if !super::supports(ty) {
            return Err(Error::BackendUnavailable {
                reason: format!(
                    "tensor '{name}' has type {}, which the WebGPU kernels do not support",
                    ty.name()
                ),
            });
        }
        let (unit, _) = super::shaders::unit_block(ty);
        if cols % unit != 0 || cols % ty.block_len() != 0 {
            return Err(Error::BackendUnavailable {
                reason: format!(
                    "tensor '{name}' rows of {cols} are not a multiple of {unit} (GPU unit)"
                ),
            });
        }
        let row_bytes = cols / ty.block_len() * ty.block_bytes();
        if bytes.len() != rows * row_bytes {
            return Err(Error::LengthMismatch {
                what: "GPU upload: tensor bytes vs shape",
                left: bytes.len(),
                right: rows * row_bytes,
            });
        }
        // Rows per part: as many as fit a binding (and a buffer), padded to 4 bytes.
        let limit = gpu.max_binding.min(gpu.max_buffer) as usize;
        let per_part = (limit.saturating_sub(4) / row_bytes.max(1))
            .max(1)
            .min(rows.max(1));
        if row_bytes + 4 > limit {
            return Err(too_large(name, row_bytes as u64, limit as u64));
        }
        let mut parts = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = per_part.min(rows - row0);
            let src = &bytes[row0 * row_bytes..(row0 + n) * row_bytes];
            let padded = src.len().div_ceil(4) * 4 + 4;
            let buf = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(name),
                size: padded as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            // write_buffer needs a multiple of 4 bytes: the whole words, then the tail.
            let whole = src.len() / 4 * 4;
            if whole > 0 {
                gpu.queue.write_buffer(&buf, 0, &src[..whole]);
            }
            if whole < src.len() {
                let mut tail = [0u8; 4];
                tail[..src.len() - whole].copy_from_slice(&src[whole..]);
                gpu.queue.write_buffer(&buf, whole as u64, &tail);
            }
            parts.push(MatrixPart { buf, row0, rows: n });
            row0 += n;
        }
        Ok(GpuMatrix {
            ty,
            rows,
            cols,
            row_bytes,
            parts,
        })
    }

    /// Bytes held on the GPU.
    pub fn bytes(&self) -> usize {
        self.rows * self.row_bytes
    }
}
