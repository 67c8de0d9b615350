//! Short strings stored inline (no heap): the exact text of a [`Decimal`](crate::decimal::Decimal)
//! and the feeds' venue symbols, so that copying a book level or an event never allocates.

use std::fmt;

/// Longest text an [`InlineStr`] holds.
pub const INLINE_CAP: usize = 31;

/// Text longer than [`INLINE_CAP`] bytes (a bad decimal, or a feed's bad field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("text len={len} is longer than 31 bytes")]
pub struct TextTooLong {
    /// The text's length in bytes.
    pub len: usize,
}

/// A short string stored inline (no heap): symbols and decimal texts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InlineStr {
    len: u8,
    buf: [u8; INLINE_CAP],
}

impl InlineStr {
    /// The empty string.
    pub const EMPTY: InlineStr = InlineStr { len: 0, buf: [0; INLINE_CAP] };
    /// `"0"`.
    pub const ZERO_DIGIT: InlineStr = {
        let mut buf = [0u8; INLINE_CAP];
        buf[0] = b'0';
        InlineStr { len: 1, buf }
    };

    /// Copies `s`; fails when it is longer than [`INLINE_CAP`] bytes.
    pub fn new(s: &str) -> Result<Self, TextTooLong> {
        if s.len() > INLINE_CAP {
            return Err(TextTooLong { len: s.len() });
        }
        let mut buf = [0u8; INLINE_CAP];
        buf[..s.len()].copy_from_slice(s.as_bytes());
        Ok(InlineStr { len: s.len() as u8, buf })
    }

    /// Copies `ascii`, which the caller has written as ASCII (decimal text: digits, a point, a
    /// sign), without a UTF-8 check; fails when it is longer than [`INLINE_CAP`] bytes.
    pub(crate) fn from_ascii(ascii: &[u8]) -> Result<Self, TextTooLong> {
        debug_assert!(ascii.is_ascii(), "{ascii:?} is not ASCII");
        if ascii.len() > INLINE_CAP {
            return Err(TextTooLong { len: ascii.len() });
        }
        let mut buf = [0u8; INLINE_CAP];
        buf[..ascii.len()].copy_from_slice(ascii);
        Ok(InlineStr { len: ascii.len() as u8, buf })
    }

    /// Copies at most [`INLINE_CAP`] bytes of `s`, cut at a character boundary (for diagnostics).
    pub fn truncated(s: &str) -> Self {
        let mut end = s.len().min(INLINE_CAP);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Self::new(&s[..end]).unwrap_or(Self::EMPTY)
    }

    /// The same text with ASCII letters uppercased.
    pub fn to_ascii_uppercase(&self) -> Self {
        let mut out = *self;
        out.buf.make_ascii_uppercase();
        out
    }

    /// The text's bytes (no UTF-8 check).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for InlineStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for InlineStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
