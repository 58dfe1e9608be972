//! Incremental loading: chunks from `fetch` are appended into one buffer (the model's only
//! copy of the weights) while the header is parsed as soon as it is complete.
//!
//! Re-parse bound. The header parser resumes item by item (preamble, one key/value pair,
//! one tensor info), so accepted items are never read again, and the length-only pass over
//! a string array resumes where it stopped. A failed attempt on an item reports its cost
//! `W` (reads plus bytes examined); the next attempt waits until the buffer reaches the
//! length the failed read needed **and** at least `W` new bytes have arrived. Each failed
//! attempt is thus paid for by the bytes received after it — except attempts cheaper than
//! `CHEAP_ATTEMPT`, which may run once per chunk — so the total header work is at most
//! (header length) for accepted items + (bytes received) + `CHEAP_ATTEMPT` × (chunks):
//! linear however small the chunks. Since a failed attempt costs about what arrived since
//! the previous one (the resumed scan) or O(1) (a fixed-size read that did not fit), retries
//! happen every chunk or two, and the small tensor-info items at the end are retried on
//! every chunk, so `HeaderReady` comes on the chunk that completes the header. The chunk that brings the buffer to `expected_len` always
//! forces an attempt, so no error is deferred past it.

use super::file::TensorView;
use super::header::TensorInfo;
use super::header::{GgufHeader, HeaderParser, Progress};
use super::value::Metadata;
use crate::error::{Error, Result};

/// What the stream knows after a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// The header (metadata + tensor table) is not complete yet.
    NeedHeader,
    /// Returned once, by the chunk that completed the header; it has been validated
    /// against `expected_len` when that was given.
    HeaderReady,
    /// The header is known; tensor data is arriving.
    Body,
}

/// Reservation made once the header is known: the declared length, but no more than the
/// tensors need plus this slack (covers trailing alignment padding) — a Content-Length is
/// not trusted further than the validated header backs it.
const RESERVE_SLACK: u64 = 1 << 20;

/// A failed attempt this cheap is retried as soon as the buffer reaches what it needed,
/// so the small items at the end of the header are recognised on the exact chunk that
/// completes them. Costs at most this much per chunk.
const CHEAP_ATTEMPT: u64 = 256;

pub struct GgufStream {
    buf: Vec<u8>,
    expected_len: Option<u64>,
    parser: Option<HeaderParser>,
    header: Option<GgufHeader>,
    retry: Retry,
    failed: Option<Error>,
}

/// When the last failed attempt happened and what it needs next.
#[derive(Debug, Default, Clone, Copy)]
struct Retry {
    at_least: u64,
    attempted_at: u64,
    work: u64,
}

impl GgufStream {
    /// `expected_len` is the full file length when known (e.g. from Content-Length).
    pub fn new(expected_len: Option<u64>) -> GgufStream {
        GgufStream {
            buf: Vec::new(),
            expected_len,
            parser: Some(HeaderParser::new()),
            header: None,
            retry: Retry::default(),
            failed: None,
        }
    }

    pub fn expected_len(&self) -> Option<u64> {
        self.expected_len
    }

    pub fn received(&self) -> u64 {
        self.buf.len() as u64
    }

    pub fn header(&self) -> Option<&GgufHeader> {
        self.header.as_ref()
    }

    /// Every byte received so far (for checksums computed as the file arrives).
    pub fn received_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends a chunk. After an error the stream is spent: every later call returns it.
    pub fn push(&mut self, chunk: &[u8]) -> Result<StreamStatus> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.push_inner(chunk);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// The zero-extra-copy form of [`push`](Self::push) for callers that write into memory
    /// themselves (JavaScript copying a fetch chunk straight into wasm memory): grows the
    /// buffer by `n` bytes and returns them to be filled; then call
    /// [`commit_chunk`](Self::commit_chunk).
    pub fn chunk_buffer(&mut self, n: usize) -> Result<&mut [u8]> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if let Err(e) = self.grow(n) {
            self.failed = Some(e.clone());
            return Err(e);
        }
        let len = self.buf.len();
        Ok(&mut self.buf[len - n..])
    }

    /// Processes the bytes written into the last [`chunk_buffer`](Self::chunk_buffer).
    pub fn commit_chunk(&mut self) -> Result<StreamStatus> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.after_append();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn grow(&mut self, n: usize) -> Result<()> {
        let received = self.received().saturating_add(n as u64);
        if let Some(expected) = self.expected_len {
            if received > expected {
                return Err(Error::BodyTooLong { received, expected });
            }
        }
        self.buf.try_reserve(n).map_err(|_| Error::AllocFailed {
            what: "GGUF stream buffer",
            bytes: received,
        })?;
        self.buf.resize(self.buf.len() + n, 0);
        Ok(())
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<StreamStatus> {
        self.grow(chunk.len())?;
        let len = self.buf.len();
        self.buf[len - chunk.len()..].copy_from_slice(chunk);
        self.after_append()
    }

    fn after_append(&mut self) -> Result<StreamStatus> {
        let received = self.received();
        if self.header.is_some() {
            return Ok(StreamStatus::Body);
        }
        if !self.should_retry() {
            return Ok(StreamStatus::NeedHeader);
        }
        let Some(parser) = self.parser.as_mut() else {
            return Ok(StreamStatus::NeedHeader);
        };
        match parser.resume(&self.buf, self.expected_len)? {
            Progress::NeedMore { at_least, work, .. } => {
                self.retry = Retry {
                    at_least,
                    attempted_at: received,
                    work,
                };
                Ok(StreamStatus::NeedHeader)
            }
            Progress::Done(header) => {
                self.parser = None;
                if let Some(expected) = self.expected_len {
                    self.reserve_body(&header, expected)?;
                }
                self.header = Some(*header);
                Ok(StreamStatus::HeaderReady)
            }
        }
    }

    fn should_retry(&self) -> bool {
        let received = self.received();
        if Some(received) == self.expected_len {
            return true;
        }
        let Retry {
            at_least,
            attempted_at,
            work,
        } = self.retry;
        received >= at_least
            && (work <= CHEAP_ATTEMPT || received.saturating_sub(attempted_at) >= work)
    }

    fn reserve_body(&mut self, header: &GgufHeader, expected: u64) -> Result<()> {
        let target = expected.min(header.data_end().saturating_add(RESERVE_SLACK));
        let additional = target.saturating_sub(self.received());
        let fail = || Error::AllocFailed {
            what: "GGUF tensor data",
            bytes: target,
        };
        let additional = usize::try_from(additional).map_err(|_| fail())?;
        self.buf.try_reserve_exact(additional).map_err(|_| fail())
    }

    /// Ends the stream. With an expected length the body must have reached it exactly; without
    /// one, the header and every tensor are validated against the bytes received.
    pub fn finish(mut self) -> Result<LoadedGguf> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let received = self.received();
        if let Some(expected) = self.expected_len {
            if received != expected {
                return Err(Error::BodyTruncated { received, expected });
            }
        }
        let header = match self.header.take() {
            Some(h) => {
                if self.expected_len.is_none() {
                    let needed = h.data_end();
                    // A saturated end (offset overflow) is reported by validate_len instead.
                    if received < needed && needed != u64::MAX {
                        return Err(Error::BodyTruncated {
                            received,
                            expected: needed,
                        });
                    }
                    h.validate_len(received)?;
                }
                h
            }
            // The retry policy may have skipped the attempt that would have succeeded.
            None => super::file::parse_complete(&self.buf)?,
        };
        Ok(LoadedGguf::single(header, self.buf))
    }
}

/// A fully received, validated GGUF model that owns its bytes: one file, or the shards of a
/// split one (`split::join`), each shard its own buffer.
#[derive(Clone, PartialEq)]
pub struct LoadedGguf {
    header: GgufHeader,
    shards: Vec<Shard>,
}

#[derive(Clone, PartialEq)]
pub(crate) struct Shard {
    pub(crate) bytes: Vec<u8>,
    /// Absolute offset of this file's tensor-data section.
    pub(crate) data_start: u64,
}

impl LoadedGguf {
    /// Validates a complete file already in memory, taking ownership without copying.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<LoadedGguf> {
        let header = super::file::parse_complete(&bytes)?;
        Ok(LoadedGguf::single(header, bytes))
    }

    fn single(header: GgufHeader, bytes: Vec<u8>) -> LoadedGguf {
        let data_start = header.data_start;
        LoadedGguf {
            header,
            shards: vec![Shard { bytes, data_start }],
        }
    }

    pub(crate) fn from_shards(header: GgufHeader, shards: Vec<Shard>) -> LoadedGguf {
        LoadedGguf { header, shards }
    }

    pub(crate) fn into_header_and_shards(self) -> (GgufHeader, Vec<Shard>) {
        (self.header, self.shards)
    }

    /// The header (a split model's: the first shard's metadata, every shard's tensors).
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    pub fn metadata(&self) -> &Metadata {
        &self.header.metadata
    }

    /// Bytes of all files together.
    pub fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.bytes.len() as u64).sum()
    }

    /// Never true for a validated file (it has at least a header); here for `len`'s sake.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many files: 1, or a split model's shard count.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The bytes of shard `i` (0 for a single file).
    pub fn shard_bytes(&self, i: usize) -> &[u8] {
        self.shards.get(i).map_or(&[], |s| &s.bytes)
    }

    /// Where `info`'s data is within its shard's bytes.
    pub fn data_range(&self, info: &TensorInfo) -> Option<core::ops::Range<usize>> {
        let s = self.shards.get(info.shard)?;
        let r = info.abs_range(s.data_start);
        let range = usize::try_from(r.start).ok()?..usize::try_from(r.end).ok()?;
        s.bytes.get(range.clone()).map(|_| range)
    }

    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        self.view(self.header.tensor_info(name)?)
    }

    /// Every tensor, in file (then shard) order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> + '_ {
        self.header.tensors.iter().filter_map(|t| self.view(t))
    }

    fn view<'a>(&'a self, info: &'a TensorInfo) -> Option<TensorView<'a>> {
        let bytes = self
            .shards
            .get(info.shard)?
            .bytes
            .get(self.data_range(info)?)?;
        Some(TensorView { info, bytes })
    }

    /// The header and the bytes of a single file (of the first shard, for a split model).
    pub fn into_parts(self) -> (GgufHeader, Vec<u8>) {
        let bytes = self
            .shards
            .into_iter()
            .next()
            .map_or_else(Vec::new, |s| s.bytes);
        (self.header, bytes)
    }
}

// Buffers are hundreds of megabytes: Debug shows their length, never their contents.
impl core::fmt::Debug for GgufStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GgufStream")
            .field("received", &self.received())
            .field("expected_len", &self.expected_len)
            .field("header", &self.header)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for LoadedGguf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LoadedGguf")
            .field("header", &self.header)
            .field(
                "bytes",
                &format_args!("[{} bytes in {} file(s)]", self.len(), self.shards.len()),
            )
            .finish()
    }
}
