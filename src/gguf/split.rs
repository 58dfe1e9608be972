//! Split models, as llama.cpp's `gguf-split` writes them: files `name-00001-of-0000N.gguf`,
//! each a complete GGUF file with `split.no` (0-based), `split.count` and
//! `split.tensors.count`; the first carries all the metadata, every file its own tensors with
//! offsets into its own data section. [`join`] validates a set of them as one model.

use super::header::GgufHeader;
use super::stream::LoadedGguf;
use super::value::Metadata;
use crate::error::{Error, Result};

pub const SPLIT_NO: &str = "split.no";
pub const SPLIT_COUNT: &str = "split.count";
pub const SPLIT_TENSORS_COUNT: &str = "split.tensors.count";

fn invalid(detail: String) -> Error {
    Error::SplitInvalid { detail }
}

/// `split.count` when the file says it is one of several, else None.
pub fn split_count(meta: &Metadata) -> Result<Option<u64>> {
    match meta.get(SPLIT_COUNT) {
        None => Ok(None),
        Some(_) => Ok(Some(meta.get_uint(SPLIT_COUNT)?).filter(|&n| n > 1)),
    }
}

/// A single file must not be one shard of several.
pub fn check_whole(gguf: &LoadedGguf) -> Result<()> {
    let Some(count) = split_count(gguf.metadata())? else {
        return Ok(());
    };
    if gguf.shard_count() as u64 == count {
        return Ok(());
    }
    let no = gguf.metadata().get_uint(SPLIT_NO).unwrap_or(0);
    Err(invalid(format!(
        "this file is shard {} of {count} of a split model; load all {count} (the first shard's URL, or an array of them)",
        no + 1
    )))
}

/// The shards of one split model, in any order, each with the name errors call it by (its
/// URL or path), as one model: every shard exactly once, the same `split.count` and `split.tensors.count`
/// everywhere, every tensor in exactly one shard, the total as announced, and no shard's
/// metadata contradicting the first's. A single unsplit file is returned as it is.
pub fn join(named: Vec<(String, LoadedGguf)>) -> Result<LoadedGguf> {
    let (names, files): (Vec<String>, Vec<LoadedGguf>) = named.into_iter().unzip();
    if files.is_empty() {
        return Err(invalid("no files given".into()));
    }
    if files.len() == 1 && split_count(files[0].metadata())?.is_none() {
        return files
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no files given".into()));
    }
    let mut order = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let m = f.metadata();
        let field = |key: &str| {
            m.get_uint(key).map_err(|_| {
                invalid(format!(
                    "{} has no {key}: it is not a gguf-split shard",
                    names[i]
                ))
            })
        };
        let (no, count, tensors) = (
            field(SPLIT_NO)?,
            field(SPLIT_COUNT)?,
            field(SPLIT_TENSORS_COUNT)?,
        );
        order.push((no, count, tensors, i));
    }
    // Every file must agree with the first one given on what the set is.
    let (_, count, announced, first) = order[0];
    for &(no, c, tensors, i) in &order {
        if c != count || tensors != announced {
            return Err(invalid(format!(
                "{} (shard {}) says split.count {c}, split.tensors.count {tensors}; {} says {count}, {announced}: the files are from different models",
                names[i],
                no + 1,
                names[first]
            )));
        }
        if no >= count {
            return Err(invalid(format!(
                "{} says split.no {no}, but split.count is {count}",
                names[i]
            )));
        }
    }
    order.sort_unstable();
    for w in order.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(invalid(format!(
                "shard {} is given twice ({} and {})",
                w[0].0 + 1,
                names[w[0].3],
                names[w[1].3]
            )));
        }
    }
    if let Some(k) = (0..count).find(|&k| order.get(k as usize).is_none_or(|o| o.0 != k)) {
        return Err(invalid(format!("shard {} of {count} is missing", k + 1)));
    }
    let given = order.len();
    let mut slots: Vec<Option<LoadedGguf>> = files.into_iter().map(Some).collect();
    let mut header: Option<GgufHeader> = None;
    let mut tensors = Vec::new();
    let mut shards = Vec::with_capacity(slots.len());
    for (shard, &(no, _, _, i)) in order.iter().enumerate() {
        let Some(f) = slots[i].take() else {
            return Err(invalid(format!("{} given twice", names[i])));
        };
        let (h, mut parts) = f.into_header_and_shards();
        if let Some(first) = &header {
            consistent(&first.metadata, &h.metadata, &names[i], no)?;
        }
        for mut t in h.tensors.iter().cloned() {
            t.shard = shard;
            tensors.push(t);
        }
        shards.append(&mut parts);
        header.get_or_insert(h);
    }
    let header = header.ok_or_else(|| invalid("no files given".into()))?;
    if tensors.len() as u64 != announced {
        return Err(invalid(format!(
            "the {given} shards hold {} tensors, split.tensors.count says {announced}",
            tensors.len()
        )));
    }
    let header = header.with_tensors(tensors).map_err(|e| match e {
        Error::DuplicateTensor { name, .. } => invalid(format!("tensor '{name}' is in two shards")),
        other => other,
    })?;
    Ok(LoadedGguf::from_shards(header, shards))
}

/// A later shard may carry metadata (gguf-split writes only the split keys), but none that
/// contradicts the first shard's.
fn consistent(first: &Metadata, other: &Metadata, name: &str, no: u64) -> Result<()> {
    for (key, value) in other.iter() {
        if key.starts_with("split.") {
            continue;
        }
        if let Some(v) = first.get(key) {
            if v != value {
                return Err(invalid(format!(
                    "{name} (shard {}) has another '{key}' than shard 1: the files are from different models",
                    no + 1
                )));
            }
        }
    }
    Ok(())
}

/// One shard of a split being written: its header (padded to its data section), then the
/// tensor bytes to copy into it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan {
    pub header: Vec<u8>,
    /// `(source, destination)`: an absolute byte range of the source file, and where it goes
    /// relative to this shard's data section.
    pub copies: Vec<(core::ops::Range<u64>, u64)>,
    /// Bytes of the data section (tensors and their alignment padding).
    pub data_len: u64,
}

/// How to write the model `header` describes as gguf-split shards, as llama.cpp's
/// `gguf-split --split-max-size` does: tensors in file order, a new shard whenever the next
/// tensor would take this one's data past `max_bytes` (a tensor larger than that gets a shard
/// of its own). The first shard keeps all metadata; every shard gets `split.no` (u16),
/// `split.count` (u16), `split.tensors.count` (i32) and the source's alignment.
pub fn plan(header: &GgufHeader, max_bytes: u64) -> Result<Vec<ShardPlan>> {
    if split_count(&header.metadata)?.is_some() {
        return Err(invalid(
            "the file is already one shard of a split model".into(),
        ));
    }
    let align = header.alignment;
    let n_tensors = i32::try_from(header.tensors.len()).map_err(|_| {
        invalid(format!(
            "{} tensors are more than split.tensors.count can say",
            header.tensors.len()
        ))
    })?;
    // Tensors per shard, as index ranges into header.tensors.
    let mut groups: Vec<core::ops::Range<usize>> = Vec::new();
    let (mut start, mut used) = (0usize, 0u64);
    for (i, t) in header.tensors.iter().enumerate() {
        let at = used.div_ceil(align) * align;
        if i > start && at.saturating_add(t.n_bytes) > max_bytes {
            groups.push(start..i);
            start = i;
            used = 0;
        }
        used = used.div_ceil(align) * align + t.n_bytes;
    }
    groups.push(start..header.tensors.len());
    let count = u16::try_from(groups.len()).map_err(|_| {
        invalid(format!(
            "{} shards are more than split.count can say",
            groups.len()
        ))
    })?;
    let mut out = Vec::with_capacity(groups.len());
    for (no, g) in groups.into_iter().enumerate() {
        let mut w = super::GgufWriter::new();
        w.version = header.version;
        if no == 0 {
            for e in header.metadata.entries() {
                w.kv(&e.key, e.value.clone());
            }
        } else if let Some(v) = header.metadata.get(super::ALIGNMENT_KEY) {
            w.kv(super::ALIGNMENT_KEY, v.clone());
        }
        w.alignment = Some(align);
        w.kv(SPLIT_NO, super::Value::U16(no as u16));
        w.kv(SPLIT_COUNT, super::Value::U16(count));
        w.kv(SPLIT_TENSORS_COUNT, super::Value::I32(n_tensors));
        let mut copies = Vec::with_capacity(g.len());
        let mut cursor = 0u64;
        for t in &header.tensors[g] {
            let dst = cursor.div_ceil(align) * align;
            w.tensor_spec(super::TensorSpec {
                name: t.name.as_bytes().to_vec(),
                type_id: t.ty.id(),
                dims: t.dims.clone(),
                offset: Some(dst),
                data: Vec::new(),
            });
            copies.push((t.abs_range(header.data_start), dst));
            cursor = dst + t.n_bytes;
        }
        // The writer pads up to the last (empty) tensor's offset: keep the header alone.
        let (mut bytes, layout) = w.build();
        bytes.truncate(layout.data_start);
        out.push(ShardPlan {
            header: bytes,
            copies,
            data_len: cursor.div_ceil(align) * align,
        });
    }
    Ok(out)
}

/// Writes the shards of an in-memory model (tests; scripts/split.mjs streams instead).
pub fn split_bytes(file: &[u8], max_bytes: u64) -> Result<Vec<Vec<u8>>> {
    let header = super::file::parse_complete(file)?;
    let mut shards = Vec::new();
    for p in plan(&header, max_bytes)? {
        let mut b = p.header;
        let data_start = b.len();
        b.resize(data_start + p.data_len as usize, 0);
        for (src, dst) in p.copies {
            let outside = || invalid("a tensor lies outside the file".into());
            let range = usize::try_from(src.start).map_err(|_| outside())?
                ..usize::try_from(src.end).map_err(|_| outside())?;
            let s = file.get(range).ok_or_else(outside)?;
            let d = data_start + usize::try_from(dst).map_err(|_| outside())?;
            b.get_mut(d..d + s.len())
                .ok_or_else(outside)?
                .copy_from_slice(s);
        }
        shards.push(b);
    }
    Ok(shards)
}
