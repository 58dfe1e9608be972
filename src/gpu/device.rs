//! Adapter, device and the pipeline cache.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// How to open the GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Caps the storage-buffer binding size below the device's (tests use it to force the
    /// splitting of large tensors on adapters that allow 1 GiB).
    pub max_binding: Option<u64>,
    /// GEMV with one thread per row and no workgroup barrier; `None`: on software adapters
    /// only (where barriers are expensive). Tests set it to check both variants.
    pub barrier_free_gemv: Option<bool>,
    /// Round the input of quantized matmuls as the CPU path quantizes it (Q8_0/Q8_K blocks)
    /// instead of multiplying f32 activations. Off by default: f32 activations are more
    /// accurate (on Gemma 3 they agree with llama.cpp's top-1 slightly more often). Tests turn
    /// it on to prove the GPU graph equals the CPU graph to float rounding.
    pub cpu_rounding: bool,
    /// Extra device features to require (tests ask for one the adapter lacks to exercise a
    /// failing `requestDevice`).
    pub extra_features: wgpu::Features,
}

/// What went wrong on the device since the last check (errors are reported asynchronously by
/// WebGPU, so they are collected here and turned into `Error`s at the next sync point).
#[derive(Debug, Default)]
struct Faults {
    lost: Option<String>,
    error: Option<String>,
}

pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    /// Largest storage binding we use (the device limit, or the test cap).
    pub(crate) max_binding: u64,
    pub(crate) max_buffer: u64,
    /// A short description of the adapter for `model.info`.
    pub adapter: String,
    /// A software adapter (WebGPU's fallback adapter, e.g. SwiftShader).
    fallback: bool,
    barrier_free_gemv: bool,
    cpu_rounding: bool,
    pipelines: RefCell<HashMap<String, Rc<wgpu::ComputePipeline>>>,
    faults: Arc<Mutex<Faults>>,
}

impl core::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter)
            .field("max_binding", &self.max_binding)
            .finish_non_exhaustive()
    }
}

fn unavailable(reason: impl Into<String>) -> Error {
    Error::BackendUnavailable {
        reason: reason.into(),
    }
}

impl Gpu {
    /// Opens the first adapter (the browser's WebGPU on wasm32, Vulkan natively), asking for
    /// its real limits: WebGPU's defaults (128 MiB bindings) are below what most adapters
    /// allow and below the default model's output head.
    pub async fn new(opts: &GpuOptions) -> Result<Gpu> {
        // wgpu panics (and a panic aborts the whole wasm instance) when created where WebGPU
        // cannot be reached: Node, shared or service workers. Ask first.
        #[cfg(target_arch = "wasm32")]
        if !wgpu::util::is_browser_webgpu_supported().await {
            return Err(unavailable(
                "this JavaScript environment has no WebGPU (navigator.gpu is missing, offers no adapter, or is not reachable from this kind of worker)",
            ));
        }
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = if cfg!(target_arch = "wasm32") {
            wgpu::Backends::BROWSER_WEBGPU
        } else {
            wgpu::Backends::VULKAN
        };
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("no WebGPU adapter ({e})")))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wasm-chord"),
                required_features: opts.extra_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("requestDevice failed ({e})")))?;
        let faults = Arc::new(Mutex::new(Faults::default()));
        {
            let faults = Arc::clone(&faults);
            device.set_device_lost_callback(move |reason, message| {
                if let Ok(mut f) = faults.lock() {
                    f.lost = Some(format!("{reason:?}: {message}"));
                }
            });
        }
        {
            let faults = Arc::clone(&faults);
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                if let Ok(mut f) = faults.lock() {
                    f.error.get_or_insert_with(|| e.to_string());
                }
            }));
        }
        let device_binding = limits.max_storage_buffer_binding_size;
        let max_binding = opts
            .max_binding
            .map_or(device_binding, |cap| cap.min(device_binding));
        let name = if info.name.is_empty() {
            format!("{:?}", info.backend)
        } else {
            format!("{} ({:?})", info.name, info.backend)
        };
        Ok(Gpu {
            device,
            queue,
            max_binding,
            max_buffer: limits.max_buffer_size,
            adapter: format!("{name}, {:?}", info.device_type),
            fallback: info.device_type == wgpu::DeviceType::Cpu,
            barrier_free_gemv: opts
                .barrier_free_gemv
                .unwrap_or(info.device_type == wgpu::DeviceType::Cpu),
            cpu_rounding: opts.cpu_rounding,
            pipelines: RefCell::new(HashMap::new()),
            faults,
        })
    }

    /// True for a software adapter.
    pub fn is_fallback(&self) -> bool {
        self.fallback
    }

    /// See [`GpuOptions::cpu_rounding`].
    pub fn cpu_rounding(&self) -> bool {
        self.cpu_rounding
    }

    /// Which GEMV variant runs (see [`GpuOptions::barrier_free_gemv`]).
    pub fn barrier_free_gemv(&self) -> bool {
        self.barrier_free_gemv
    }

    /// Largest storage binding (bytes) kernels may use.
    pub fn max_binding(&self) -> u64 {
        self.max_binding
    }

    /// Turns a device loss or an uncaptured WebGPU error reported since the last call into
    /// an `Error`.
    pub fn check(&self, op: &str) -> Result<()> {
        let mut f = self.faults.lock().map_err(|_| Error::Gpu {
            op: op.into(),
            message: "fault tracker poisoned".into(),
        })?;
        if let Some(reason) = &f.lost {
            return Err(Error::DeviceLost {
                op: op.into(),
                reason: reason.clone(),
            });
        }
        if let Some(message) = f.error.take() {
            return Err(Error::Gpu {
                op: op.into(),
                message,
            });
        }
        Ok(())
    }

    /// True once the device is lost (it never comes back; a new `Gpu` is needed).
    pub fn is_lost(&self) -> bool {
        self.faults.lock().map(|f| f.lost.is_some()).unwrap_or(true)
    }

    /// Destroys the device, as a driver reset or a GPU process crash would (tests and the
    /// `_simulateDeviceLoss` test hook use it to exercise recovery).
    pub fn simulate_loss(&self) {
        self.device.destroy();
        // Native wgpu reports the loss from `poll`; make it visible right away everywhere.
        if let Ok(mut f) = self.faults.lock() {
            f.lost
                .get_or_insert_with(|| "Destroyed: simulated device loss".into());
        }
    }

    /// The compute pipeline for `key`, compiled from `source` on first use.
    pub(crate) fn pipeline(
        &self,
        key: &str,
        source: impl FnOnce() -> String,
    ) -> Rc<wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.borrow().get(key) {
            return Rc::clone(p);
        }
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(key),
                source: wgpu::ShaderSource::Wgsl(source().into()),
            });
        let p = Rc::new(
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                }),
        );
        self.pipelines
            .borrow_mut()
            .insert(key.to_string(), Rc::clone(&p));
        p
    }

    /// Native only: runs a future to completion, polling the device (wgpu's native futures
    /// and map callbacks complete inside `poll`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn block_on<F: core::future::Future>(&self, fut: F) -> F::Output {
        block_on(fut, Some(&self.device))
    }

    /// Native only: opens the GPU synchronously.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking(opts: &GpuOptions) -> Result<Gpu> {
        block_on(Gpu::new(opts), None)
    }
}

/// Natively: runs a future that needs no device polling (opening an adapter) to completion.
#[cfg(not(target_arch = "wasm32"))]
pub fn wait<F: core::future::Future>(fut: F) -> F::Output {
    block_on(fut, None)
}

#[cfg(not(target_arch = "wasm32"))]
fn block_on<F: core::future::Future>(fut: F, device: Option<&wgpu::Device>) -> F::Output {
    use core::task::{Context, Poll, Waker};
    let mut fut = core::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        match device {
            Some(d) => {
                let _ = d.poll(wgpu::PollType::wait_indefinitely());
            }
            None => std::thread::yield_now(),
        }
    }
}
