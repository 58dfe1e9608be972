//! The key/value cache.
//!
//! Storage is [`KvType::F16`] by default (as bits in `u16`): llama.cpp's default cache type,
//! so attention rounds where the reference does, at half the memory of f32. [`KvType::F32`]
//! keeps full precision (llama.cpp `--cache-type-k/v f32`). Each layer stores, per slot,
//! `n_head_kv · head_dim` keys and `n_head_kv · head_dim_v` values.
//!
//! A layer with a sliding window `w` never looks further back than `w - 1` positions, so it
//! keeps a ring of `w + batch - 1` slots (enough for a whole prefill chunk to write its keys
//! before any of them is read) instead of `n_ctx`. Position `p` lives in slot `p % slots`
//! for every layer (for a full layer `slots == n_ctx`, so that is just `p`). For Gemma 3 270M
//! at 4096 tokens this is 3 full layers × 4096 + 15 ring layers × 639 slots × 1 KiB ≈ 22 MB
//! instead of 75 MB.

use super::lanes::{self, F4};
use super::ops::f32_row_to_f16;
use crate::error::{Error, Result};

/// Element type of the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KvType {
    /// 2 bytes per value (llama.cpp's default).
    #[default]
    F16,
    /// 4 bytes per value.
    F32,
}

/// One layer's keys or values: `slots` rows.
#[derive(Debug, Clone)]
pub(crate) enum KvStore {
    F16(Vec<u16>),
    F32(Vec<f32>),
}

impl KvStore {
    fn new(ty: KvType, n: usize, what: &'static str) -> Result<KvStore> {
        let oom = |bytes| Error::OutOfMemory { what, bytes };
        Ok(match ty {
            KvType::F16 => {
                let mut v = Vec::new();
                v.try_reserve_exact(n).map_err(|_| oom(2 * n as u64))?;
                v.resize(n, 0u16);
                KvStore::F16(v)
            }
            KvType::F32 => {
                let mut v = Vec::new();
                v.try_reserve_exact(n).map_err(|_| oom(4 * n as u64))?;
                v.resize(n, 0f32);
                KvStore::F32(v)
            }
        })
    }

    fn bytes(&self) -> usize {
        match self {
            KvStore::F16(v) => 2 * v.len(),
            KvStore::F32(v) => 4 * v.len(),
        }
    }

    /// Stores `src` at element offset `at` (ignored if out of range: sizes are internal).
    #[inline]
    pub fn write(&mut self, at: usize, src: &[f32]) {
        match self {
            KvStore::F16(v) => {
                if let Some(d) = v.get_mut(at..at + src.len()) {
                    f32_row_to_f16(src, d);
                }
            }
            KvStore::F32(v) => {
                if let Some(d) = v.get_mut(at..at + src.len()) {
                    d.copy_from_slice(src);
                }
            }
        }
    }

    /// Loads `len` values from element offset `at` into `lanes(len)` lanes (zero-padded).
    #[inline]
    pub fn read_lanes(&self, at: usize, len: usize, dst: &mut [F4]) {
        match self {
            KvStore::F16(v) => {
                if let Some(s) = v.get(at..at + len) {
                    lanes::pack_f16(s, dst);
                }
            }
            KvStore::F32(v) => {
                if let Some(s) = v.get(at..at + len) {
                    lanes::pack(s, dst);
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LayerKv {
    pub k: KvStore,
    pub v: KvStore,
    pub slots: usize,
    /// The sliding window, when this layer has one.
    pub window: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct KvCache {
    pub(crate) layers: Vec<LayerKv>,
    n_ctx: usize,
    ty: KvType,
}

impl KvCache {
    /// `windows[il]` is the sliding window of layer `il`; `batch` the largest number of
    /// tokens evaluated at once.
    pub(crate) fn new(
        ty: KvType,
        n_ctx: usize,
        batch: usize,
        windows: &[Option<usize>],
        k_dim: usize,
        v_dim: usize,
    ) -> Result<KvCache> {
        let mut layers = Vec::with_capacity(windows.len());
        for &window in windows {
            let slots = slots(n_ctx, batch, window);
            layers.push(LayerKv {
                k: KvStore::new(ty, elements(slots, k_dim)?, "KV cache keys")?,
                v: KvStore::new(ty, elements(slots, v_dim)?, "KV cache values")?,
                slots,
                window,
            });
        }
        Ok(KvCache { layers, n_ctx, ty })
    }

    /// The number of positions the cache holds.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    pub fn ty(&self) -> KvType {
        self.ty
    }

    /// Total bytes held by the cache.
    pub fn bytes(&self) -> usize {
        self.layers.iter().map(|l| l.k.bytes() + l.v.bytes()).sum()
    }

    /// True when, after evaluating positions `0..n_past`, the cache still holds everything a
    /// continuation from position `keep` needs — i.e. no ring layer has overwritten a slot
    /// that a query at `keep` would read.
    pub(crate) fn can_rewind(&self, n_past: usize, keep: usize) -> bool {
        keep <= n_past
            && self.layers.iter().all(|l| match l.window {
                None => true,
                Some(w) => {
                    let oldest_kept = n_past.saturating_sub(l.slots);
                    let needed = keep.saturating_sub(w.saturating_sub(1));
                    keep == 0 || needed >= oldest_kept
                }
            })
    }
}

/// Positions a layer's cache holds: every one, or with a sliding window `w` a ring of
/// `w + batch - 1` (a chunk of `batch` queries reaches `w - 1` keys back from its first).
pub fn slots(n_ctx: usize, batch: usize, window: Option<usize>) -> usize {
    match window {
        Some(w) => n_ctx.min(w.saturating_add(batch).saturating_sub(1)),
        None => n_ctx,
    }
}

fn elements(slots: usize, dim: usize) -> Result<usize> {
    slots.checked_mul(dim).ok_or(Error::OutOfMemory {
        what: "KV cache",
        bytes: u64::MAX,
    })
}
