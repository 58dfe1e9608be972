//! A complete GGUF file in memory, with borrowed (zero-copy) tensor views.

use super::header::{GgufHeader, Parsed, TensorInfo};
use super::value::Metadata;
use crate::error::{Error, Result};

/// One tensor's description and its data bytes, borrowed from the file buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TensorView<'a> {
    pub info: &'a TensorInfo,
    pub bytes: &'a [u8],
}

impl<'a> TensorView<'a> {
    pub fn name(&self) -> &'a str {
        &self.info.name
    }
}

/// A GGUF file parsed from a complete in-memory slice.
#[derive(Clone, PartialEq)]
pub struct GgufFile<'a> {
    header: GgufHeader,
    bytes: &'a [u8],
}

impl<'a> GgufFile<'a> {
    /// Parses and fully validates `bytes` as a whole file.
    pub fn parse(bytes: &'a [u8]) -> Result<GgufFile<'a>> {
        let header = parse_complete(bytes)?;
        Ok(GgufFile { header, bytes })
    }

    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    pub fn metadata(&self) -> &Metadata {
        &self.header.metadata
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn tensor(&self, name: &str) -> Option<TensorView<'_>> {
        view(&self.header, self.bytes, self.header.tensor_info(name)?)
    }

    /// Every tensor, in file order.
    pub fn tensors(&self) -> impl Iterator<Item = TensorView<'_>> + '_ {
        views(&self.header, self.bytes)
    }

    pub fn into_header(self) -> GgufHeader {
        self.header
    }
}

// Buffers are hundreds of megabytes: Debug shows their length, never their contents.
impl core::fmt::Debug for TensorView<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TensorView")
            .field("info", self.info)
            .field("bytes", &format_args!("[{} bytes]", self.bytes.len()))
            .finish()
    }
}

impl core::fmt::Debug for GgufFile<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GgufFile")
            .field("header", &self.header)
            .field("bytes", &format_args!("[{} bytes]", self.bytes.len()))
            .finish()
    }
}

/// Parses a buffer that is known to be the whole file.
pub(crate) fn parse_complete(bytes: &[u8]) -> Result<GgufHeader> {
    let len = bytes.len() as u64;
    match GgufHeader::parse(bytes, Some(len))? {
        Parsed::Complete(h) => Ok(h),
        // With the length known every short read is a truncation; kept for totality.
        Parsed::NeedMore { at_least } => Err(Error::Truncated {
            context: "GGUF header".into(),
            offset: len,
            needed: at_least.saturating_sub(len),
            file_len: len,
        }),
    }
}

pub(crate) fn view<'a>(
    header: &'a GgufHeader,
    bytes: &'a [u8],
    info: &'a TensorInfo,
) -> Option<TensorView<'a>> {
    Some(TensorView {
        info,
        bytes: header.tensor_bytes(bytes, info)?,
    })
}

pub(crate) fn views<'a>(
    header: &'a GgufHeader,
    bytes: &'a [u8],
) -> impl Iterator<Item = TensorView<'a>> + 'a {
    header
        .tensors
        .iter()
        .filter_map(move |t| view(header, bytes, t))
}
