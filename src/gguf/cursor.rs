//! Bounded little-endian reads over a prefix of a GGUF file that may still be growing.
//!
//! Every read either succeeds, says how long the prefix must become before it can succeed
//! (`Fail::NeedMore`), or — when the file length is known and the bytes can never exist —
//! fails with `Error::Truncated` naming what was being read. Contexts are closures so the
//! strings are only built on the error path: the Gemma vocabulary alone is 262,144 reads.

use crate::error::Error;

/// Why a read did not produce a value.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The prefix must be at least this many bytes long before the read can complete.
    NeedMore(u64),
    Invalid(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Invalid(e)
    }
}

pub(crate) type PResult<T> = Result<T, Fail>;

/// A lazily built description of what is being read, used only in error messages.
pub(crate) type Ctx<'c> = &'c dyn Fn() -> String;

pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    total: Option<u64>,
    /// Reads made plus bytes examined: what an attempt cost, so a stream can space retries.
    work: u64,
}

impl<'a> Cursor<'a> {
    /// `total` is the length of the whole file when known. A prefix longer than the file it
    /// claims to be is cut to that length, so nothing past the end can be read.
    pub fn new(buf: &'a [u8], pos: usize, total: Option<u64>) -> Self {
        let buf = match total {
            Some(t) if (buf.len() as u64) > t => buf.get(..t as usize).unwrap_or(buf),
            _ => buf,
        };
        Cursor {
            buf,
            pos,
            total,
            work: 0,
        }
    }

    pub fn work(&self) -> u64 {
        self.work
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn pos_u64(&self) -> u64 {
        self.pos as u64
    }

    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Bytes that can still exist after the cursor, when the file length is known. Every
    /// claimed count is checked against this before anything is allocated for it.
    pub fn left_in_file(&self) -> Option<u64> {
        self.total.map(|t| t.saturating_sub(self.pos_u64()))
    }

    /// Bytes already present after the cursor; bounds speculative preallocation when the
    /// file length is unknown.
    pub fn present(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Returns the next `n` bytes for the caller to examine.
    pub fn take(&mut self, n: u64, ctx: Ctx<'_>) -> PResult<&'a [u8]> {
        let s = self.advance(n, ctx)?;
        self.work = self.work.saturating_add(n);
        Ok(s)
    }

    /// Moves past `n` bytes without looking at them.
    pub fn skip(&mut self, n: u64, ctx: Ctx<'_>) -> PResult<()> {
        self.advance(n, ctx).map(|_| ())
    }

    fn advance(&mut self, n: u64, ctx: Ctx<'_>) -> PResult<&'a [u8]> {
        self.work = self.work.saturating_add(1);
        if n <= self.present() as u64 {
            let end = self.pos + n as usize;
            if let Some(s) = self.buf.get(self.pos..end) {
                self.pos = end;
                return Ok(s);
            }
        }
        let start = self.pos_u64();
        let end = start.checked_add(n);
        match (self.total, end) {
            (Some(total), end) if end.is_none_or(|e| e > total) => Err(Error::Truncated {
                context: ctx(),
                offset: start,
                needed: n,
                file_len: total,
            }
            .into()),
            (_, end) => Err(Fail::NeedMore(end.unwrap_or(u64::MAX))),
        }
    }

    pub fn array<const N: usize>(&mut self, ctx: Ctx<'_>) -> PResult<[u8; N]> {
        let s = self.take(N as u64, ctx)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn u8(&mut self, ctx: Ctx<'_>) -> PResult<u8> {
        Ok(self.array::<1>(ctx)?[0])
    }

    pub fn u32(&mut self, ctx: Ctx<'_>) -> PResult<u32> {
        Ok(u32::from_le_bytes(self.array(ctx)?))
    }

    pub fn u64(&mut self, ctx: Ctx<'_>) -> PResult<u64> {
        Ok(u64::from_le_bytes(self.array(ctx)?))
    }

    /// Reads a `u64` length and checks it against the bytes left in the file before
    /// touching the payload.
    fn str_len(&mut self, ctx: Ctx<'_>) -> PResult<u64> {
        let len = self.u64(ctx)?;
        if let Some(left) = self.left_in_file() {
            if len > left {
                return Err(Error::StringTooLong {
                    context: ctx(),
                    len,
                    available: left,
                }
                .into());
            }
        }
        Ok(len)
    }

    /// A GGUF string (u64 length + UTF-8 bytes), borrowed from the buffer.
    pub fn str(&mut self, ctx: Ctx<'_>) -> PResult<&'a str> {
        let len = self.str_len(ctx)?;
        let bytes = self.take(len, ctx)?;
        std::str::from_utf8(bytes).map_err(|_| Error::InvalidUtf8 { context: ctx() }.into())
    }

    /// Skips a GGUF string without validating it; returns its byte length.
    pub fn skip_str(&mut self, ctx: Ctx<'_>) -> PResult<u64> {
        let len = self.str_len(ctx)?;
        self.skip(len, ctx)?;
        Ok(len)
    }
}

/// Copies a slice known to be `N` bytes long (from `chunks_exact(N)`) into an array.
pub(crate) fn le_bytes<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = s.len().min(N);
    out[..n].copy_from_slice(&s[..n]);
    out
}
