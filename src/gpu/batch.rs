//! One command submission: many dispatches (and readback copies), their uniforms packed into
//! a single buffer written once. A decode step is one `Batch`, so a token costs one
//! `queue.submit` and, for greedy decoding, one 4-byte readback.

use std::collections::HashMap;
use std::rc::Rc;

use super::device::Gpu;
use super::tensor::GpuBuffer;
use crate::error::{Error, Result};

/// Uniform slots are this far apart (WebGPU's `minUniformBufferOffsetAlignment` is at most
/// 256 on every adapter).
const SLOT: usize = 256;
/// Workgroups per grid dimension (WebGPU's `maxComputeWorkgroupsPerDimension` default).
pub const MAX_GROUPS: u32 = 65_535;

enum Op {
    Dispatch {
        pipeline: Rc<wgpu::ComputePipeline>,
        params: usize,
        params_len: usize,
        buffers: Vec<wgpu::Buffer>,
        groups: [u32; 3],
    },
    Copy {
        src: wgpu::Buffer,
        src_off: u64,
        dst: wgpu::Buffer,
        len: u64,
    },
}

pub struct Batch<'g> {
    gpu: &'g Gpu,
    ops: Vec<Op>,
    params: Vec<u8>,
    reads: Vec<(wgpu::Buffer, u64)>,
    cache: BindCache,
}

/// What a session keeps between its batches: the uniform buffer and the bind groups of its
/// last batch. A decode step records the same dispatches over the same buffers every token
/// (the uniforms change, their slots do not), so from the second token on no bind group (nor
/// bind group layout) is created: about 380 `createBindGroup` calls per Gemma token saved on
/// the CPU side, which a real GPU waits for. Only the last batch's groups are kept, so a
/// prefill does not pin its groups (and their buffers) for the rest of the session.
#[derive(Default)]
pub struct BindCache {
    uniforms: Option<wgpu::Buffer>,
    groups: HashMap<BindKey, wgpu::BindGroup>,
    created: u64,
}

/// A bind group's identity: the pipeline (its layout), the uniform slot and the buffers
/// (wgpu handles compare and hash by identity).
#[derive(PartialEq, Eq, Hash)]
struct BindKey {
    pipeline: wgpu::ComputePipeline,
    params: usize,
    params_len: usize,
    buffers: Vec<wgpu::Buffer>,
}

impl BindCache {
    /// Bind groups held (those of the last batch).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Bind groups created through this cache so far (the misses).
    pub fn created(&self) -> u64 {
        self.created
    }
}

/// `n` workgroups as a grid within the per-dimension limit; kernels linearise
/// `wg.x + wg.y · nwg.x` and ignore indices past their work.
pub fn grid(n: usize, z: u32) -> [u32; 3] {
    let n = n.max(1);
    let max = MAX_GROUPS as usize;
    if n <= max {
        [n as u32, 1, z]
    } else {
        [MAX_GROUPS, n.div_ceil(max) as u32, z]
    }
}

impl<'g> Batch<'g> {
    pub fn new(gpu: &'g Gpu) -> Batch<'g> {
        Batch {
            gpu,
            ops: Vec::new(),
            params: Vec::new(),
            reads: Vec::new(),
            cache: BindCache::default(),
        }
    }

    /// A batch that takes its uniform buffer and bind groups from `cache` where they match;
    /// [`Batch::submit_cached`] hands back the ones it used.
    pub fn cached(gpu: &'g Gpu, cache: BindCache) -> Batch<'g> {
        Batch {
            cache,
            ..Batch::new(gpu)
        }
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Records a dispatch of `pipeline`: binding 0 is `params` (a uniform struct of u32/f32
    /// words), bindings 1.. are `buffers` in order.
    pub fn dispatch(
        &mut self,
        pipeline: Rc<wgpu::ComputePipeline>,
        params: &[u32],
        buffers: &[&wgpu::Buffer],
        groups: [u32; 3],
    ) {
        let at = self.params.len();
        let bytes: &[u8] = bytemuck::cast_slice(params);
        self.params.extend_from_slice(bytes);
        // Uniform bindings are whole 16-byte rows; the next slot starts 256-aligned.
        let len = bytes.len().div_ceil(16).max(1) * 16;
        self.params.resize(at + len.div_ceil(SLOT) * SLOT, 0);
        self.ops.push(Op::Dispatch {
            pipeline,
            params: at,
            params_len: len,
            buffers: buffers.iter().map(|&b| b.clone()).collect(),
            groups,
        });
    }

    /// Records a copy of `len` bytes of `src` at `offset` (both multiples of 4) for reading
    /// back after [`Batch::submit`]; returns its index in [`Pending::wait`]'s result.
    pub fn read(&mut self, src: &GpuBuffer, offset: u64, len: u64) -> usize {
        let staging = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: len.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.ops.push(Op::Copy {
            src: src.buf.clone(),
            src_off: offset,
            dst: staging.clone(),
            len,
        });
        self.reads.push((staging, len));
        self.reads.len() - 1
    }

    /// Encodes everything into one command buffer and submits it.
    pub fn submit(self) -> Result<Pending<'g>> {
        self.submit_cached().0
    }

    /// [`Batch::submit`], also returning the uniform buffer and bind groups it used, for the
    /// next batch.
    pub fn submit_cached(mut self) -> (Result<Pending<'g>>, BindCache) {
        let mut cache = core::mem::take(&mut self.cache);
        let r = self.encode(&mut cache);
        (r, cache)
    }

    // wgpu handles hash and compare by identity, which their interior state never changes.
    #[allow(clippy::mutable_key_type)]
    fn encode(self, cache: &mut BindCache) -> Result<Pending<'g>> {
        let gpu = self.gpu;
        gpu.check("submit")?;
        let uniforms = (!self.params.is_empty()).then(|| {
            let size = self.params.len() as u64;
            let reuse = cache.uniforms.clone().filter(|u| u.size() >= size);
            let b = reuse.unwrap_or_else(|| {
                let b = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("params"),
                    size,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                // Groups bound to the old buffer are stale.
                cache.groups.clear();
                cache.uniforms = Some(b.clone());
                b
            });
            // Queue order: this write lands after the previous batch's commands ran.
            gpu.queue.write_buffer(&b, 0, &self.params);
            b
        });
        let mut old = core::mem::take(&mut cache.groups);
        let mut used = HashMap::new();
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let mut i = 0;
        while i < self.ops.len() {
            if let Op::Copy {
                src,
                src_off,
                dst,
                len,
            } = &self.ops[i]
            {
                enc.copy_buffer_to_buffer(src, *src_off, dst, 0, *len);
                i += 1;
                continue;
            }
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            while let Some(Op::Dispatch {
                pipeline,
                params,
                params_len,
                buffers,
                groups,
            }) = self.ops.get(i)
            {
                let Some(u) = &uniforms else { break };
                let key = BindKey {
                    pipeline: (**pipeline).clone(),
                    params: *params,
                    params_len: *params_len,
                    buffers: buffers.clone(),
                };
                let bg = match old.remove(&key) {
                    Some(bg) => bg,
                    None => {
                        cache.created += 1;
                        let mut entries = vec![wgpu::BindGroupEntry {
                            binding: 0,
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: u,
                                offset: *params as u64,
                                size: core::num::NonZeroU64::new(*params_len as u64),
                            }),
                        }];
                        for (j, b) in buffers.iter().enumerate() {
                            entries.push(wgpu::BindGroupEntry {
                                binding: j as u32 + 1,
                                resource: b.as_entire_binding(),
                            });
                        }
                        gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                            label: None,
                            layout: &pipeline.get_bind_group_layout(0),
                            entries: &entries,
                        })
                    }
                };
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &bg, &[]);
                pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                used.insert(key, bg);
                i += 1;
            }
        }
        gpu.queue.submit([enc.finish()]);
        cache.groups = used;
        Ok(Pending {
            gpu,
            reads: self.reads,
        })
    }
}

/// A submitted batch whose readbacks are still on their way.
pub struct Pending<'g> {
    gpu: &'g Gpu,
    reads: Vec<(wgpu::Buffer, u64)>,
}

impl Pending<'_> {
    /// Waits (asynchronously: never blocks the browser's thread) for the readbacks.
    pub async fn wait(self) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(self.reads.len());
        for (buf, len) in self.reads {
            let (tx, rx) = futures_channel::oneshot::channel();
            buf.map_async(wgpu::MapMode::Read, .., move |r| {
                let _ = tx.send(r);
            });
            #[cfg(not(target_arch = "wasm32"))]
            let _ = self.gpu.device.poll(wgpu::PollType::wait_indefinitely());
            let mapped = rx.await;
            self.gpu.check("readback")?;
            match mapped {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(Error::Gpu {
                        op: "readback".into(),
                        message: e.to_string(),
                    })
                }
                Err(_) => {
                    return Err(Error::DeviceLost {
                        op: "readback".into(),
                        reason: "the mapping callback was dropped".into(),
                    })
                }
            }
            let bytes = buf
                .get_mapped_range(..)
                .map_err(|e| Error::Gpu {
                    op: "readback".into(),
                    message: e.to_string(),
                })?
                .get(..len as usize)
                .unwrap_or(&[])
                .to_vec();
            buf.unmap();
            out.push(bytes);
        }
        self.gpu.check("readback")?;
        Ok(out)
    }

    /// Waits for completion without reading anything back.
    pub async fn done(self) -> Result<()> {
        self.wait().await.map(|_| ())
    }
}
