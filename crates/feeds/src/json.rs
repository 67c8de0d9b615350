//! A small zero-copy JSON scanner for exchange frames.
//!
//! Parsers walk a frame with it field by field; every string and number comes back as a slice of
//! the input, so nothing is allocated and numbers keep their exact source text (Kraken v2 sends
//! prices as JSON numbers, and its checksum hashes their digits). Strings are returned raw, escape
//! sequences included: the fields this crate reads (symbols, decimals, type tags) never contain
//! escapes, and a decimal with one is rejected by [`wintermute_core::decimal::Decimal::parse_unsigned`].
//!
//! The scanner checks the JSON grammar of everything it passes over, including values it skips,
//! and limits nesting to [`MAX_DEPTH`] so hostile input cannot exhaust the stack.
//!
//! ```text
//! let mut sc = Scanner::new(venue, text);
//! let mut obj = sc.begin_object()?;
//! while let Some(key) = sc.next_key(&mut obj)? {
//!     match key { "s" => symbol = sc.string()?, _ => sc.skip_value()? }
//! }
//! sc.finish()?;
//! ```

use crate::error::FeedError;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// Where a parser is inside an object or array: whether the next item is the first one.
#[derive(Debug)]
pub struct Seq {
    first: bool,
}

/// A cursor over one JSON text.
pub struct Scanner<'a> {
    venue: &'static str,
    src: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// Starts at the beginning of `src`; `venue` names the parser in errors.
    pub fn new(venue: &'static str, src: &'a str) -> Self {
        Scanner { venue, src, pos: 0 }
    }

    /// An error at the current position.
    pub fn error(&self, expected: &'static str) -> FeedError {
        FeedError::Json { venue: self.venue, offset: self.pos, expected }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes().get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// The next significant byte, without consuming it.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8, expected: &'static str) -> Result<(), FeedError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Consumes `{`.
    pub fn begin_object(&mut self) -> Result<Seq, FeedError> {
        self.eat(b'{', "'{'")?;
        Ok(Seq { first: true })
    }

    /// Consumes `[`.
    pub fn begin_array(&mut self) -> Result<Seq, FeedError> {
        self.eat(b'[', "'['")?;
        Ok(Seq { first: true })
    }

    /// The next key of an object and its `:`, or `None` after the closing `}`.
    pub fn next_key(&mut self, seq: &mut Seq) -> Result<Option<&'a str>, FeedError> {
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !seq.first => self.pos += 1,
            _ if seq.first => {}
            _ => return Err(self.error("',' or '}'")),
        }
        seq.first = false;
        let key = self.string()?;
        self.eat(b':', "':'")?;
        Ok(Some(key))
    }

    /// Whether an array has another element (positioned at it), or `false` after the closing `]`.
    pub fn next_element(&mut self, seq: &mut Seq) -> Result<bool, FeedError> {
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !seq.first => self.pos += 1,
            _ if seq.first => {}
            _ => return Err(self.error("',' or ']'")),
        }
        seq.first = false;
        if self.peek().is_none() {
            return Err(self.error("array element"));
        }
        Ok(true)
    }

    /// A string's raw content (between the quotes, escapes not decoded).
    pub fn string(&mut self) -> Result<&'a str, FeedError> {
        self.eat(b'"', "string")?;
        let start = self.pos;
        let bytes = self.bytes();
        loop {
            // Skip plain characters in one sweep, then look at the one that stopped it.
            let rest = bytes.get(self.pos..).unwrap_or(&[]);
            self.pos += rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len());
            match bytes.get(self.pos) {
                None => return Err(self.error("closing '\"'")),
                Some(b'"') => break,
                Some(b'\\') => match bytes.get(self.pos + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
                    Some(b'u') => {
                        let hex = bytes.get(self.pos + 2..self.pos + 6);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return Err(self.error("4 hex digits after \\u"));
                        }
                        self.pos += 6;
                    }
                    _ => return Err(self.error("escape sequence")),
                },
                Some(&b) if b < 0x20 => return Err(self.error("no control character in string")),
                Some(_) => self.pos += 1,
            }
        }
        let s = &self.src[start..self.pos];
        self.pos += 1;
        Ok(s)
    }

    /// The input from the current position (for a caller's own fast path over plain bytes).
    pub fn rest(&self) -> &'a [u8] {
        self.bytes().get(self.pos..).unwrap_or(&[])
    }

    /// Moves past `n` bytes that a caller's fast path checked (see [`Scanner::rest`]); the caller
    /// guarantees they form complete JSON values and end on a character boundary.
    pub fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.src.len());
    }

    /// Fast path for the commonest exchange array, `["text","text"]` written without spaces or
    /// escapes (a Binance level): both strings' raw content, the scanner moved past the `]`.
    /// Anything else returns `None` and leaves the scanner where it was, for the general path.
    #[inline]
    pub fn string_pair(&mut self) -> Option<(&'a str, &'a str)> {
        let b = self.bytes();
        let start = self.pos;
        if b.get(start..start + 2)? != b"[\"" {
            return None;
        }
        let plain = |from: usize| -> Option<usize> {
            let rest = b.get(from..)?;
            let end = from + rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
            (b[end] == b'"').then_some(end)
        };
        let end1 = plain(start + 2)?;
        if b.get(end1 + 1..end1 + 3)? != b",\"" {
            return None;
        }
        let end2 = plain(end1 + 3)?;
        if b.get(end2 + 1) != Some(&b']') {
            return None;
        }
        self.pos = end2 + 2;
        Some((&self.src[start + 2..end1], &self.src[end1 + 3..end2]))
    }

    /// A number's exact source text.
    pub fn number(&mut self) -> Result<&'a str, FeedError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.bytes();
        let digits = |pos: &mut usize| {
            let s = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - s
        };
        let mut pos = self.pos;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let int_start = pos;
        let n = digits(&mut pos);
        if n == 0 || (n > 1 && bytes[int_start] == b'0') {
            return Err(self.error("number"));
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return Err(self.error("digit after '.'"));
            }
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                self.pos = pos;
                return Err(self.error("exponent digits"));
            }
        }
        self.pos = pos;
        Ok(&self.src[start..pos])
    }

    /// An unsigned integer number.
    pub fn u64(&mut self) -> Result<u64, FeedError> {
        let text = self.number()?;
        text.parse().map_err(|_| self.error("unsigned integer"))
    }

    /// An unsigned integer written either as a number or as a string (`"c":"226497374"`).
    pub fn u64_lenient(&mut self) -> Result<u64, FeedError> {
        let text = if self.peek() == Some(b'"') { self.string()? } else { self.number()? };
        text.parse().map_err(|_| self.error("unsigned integer"))
    }

    /// A string's content or a number's text, whichever comes.
    pub fn string_or_number(&mut self) -> Result<&'a str, FeedError> {
        if self.peek() == Some(b'"') {
            self.string()
        } else {
            self.number()
        }
    }

    /// `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, FeedError> {
        if self.literal("true") {
            Ok(true)
        } else if self.literal("false") {
            Ok(false)
        } else {
            Err(self.error("boolean"))
        }
    }

    fn literal(&mut self, word: &str) -> bool {
        self.skip_ws();
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Skips one value of any type, checking its grammar.
    pub fn skip_value(&mut self) -> Result<(), FeedError> {
        self.skip_nested(0)
    }

    /// Skips one value and returns its exact source text.
    pub fn value_text(&mut self) -> Result<&'a str, FeedError> {
        self.skip_ws();
        let start = self.pos;
        self.skip_value()?;
        Ok(&self.src[start..self.pos])
    }

    fn skip_nested(&mut self, depth: usize) -> Result<(), FeedError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("shallower nesting"));
        }
        match self.peek() {
            Some(b'{') => {
                let mut obj = self.begin_object()?;
                while self.next_key(&mut obj)?.is_some() {
                    self.skip_nested(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                let mut arr = self.begin_array()?;
                while self.next_element(&mut arr)? {
                    self.skip_nested(depth + 1)?;
                }
                Ok(())
            }
            Some(b'"') => self.string().map(|_| ()),
            Some(b't' | b'f') => self.bool().map(|_| ()),
            Some(b'n') if self.literal("null") => Ok(()),
            _ => self.number().map(|_| ()),
        }
    }

    /// Checks that only whitespace remains.
    pub fn finish(&mut self) -> Result<(), FeedError> {
        if self.peek().is_none() {
            Ok(())
        } else {
            Err(self.error("end of input"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(text: &str) -> Result<(), FeedError> {
        let mut sc = Scanner::new("test", text);
        sc.skip_value()?;
        sc.finish()
    }

    #[test]
    fn accepts_valid_json() {
        for ok in [r#"{"a":[1,2.5,-3e-2,"x\"y"],"b":{"c":null,"d":true,"e":false}}"#, " [ ] ", "{}", r#""\u00e9""#, "0"]
        {
            assert!(skip_all(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_invalid_json() {
        for bad in [
            "",
            "{",
            "[1,]",
            "[,1]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "01",
            "1.",
            "1e",
            "[1 2]",
            "\"abc",
            "{\"a\":1}}",
            "nul",
            "[\"\\x\"]",
            "tru",
        ] {
            assert!(skip_all(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(skip_all(&deep).is_err());
    }

    #[test]
    fn string_pair_fast_path_or_nothing() {
        let mut sc = Scanner::new("test", r#"["1.5","2"],["3", "4"]"#);
        assert_eq!(sc.string_pair(), Some(("1.5", "2")));
        assert_eq!(sc.peek(), Some(b','));
        sc.pos += 1;
        let at = sc.pos;
        assert_eq!(sc.string_pair(), None, "a space: the general path");
        assert_eq!(sc.pos, at);
        for other in [r#"["1\"","2"]"#, r#"["1","2","3"]"#, r#"["1",2]"#, r#"["1""#, "["] {
            assert_eq!(Scanner::new("test", other).string_pair(), None, "{other}");
        }
    }

    #[test]
    fn numbers_keep_their_text() {
        let mut sc = Scanner::new("test", r#"{"price":45285.2,"qty":0.00100000}"#);
        let mut obj = sc.begin_object().unwrap();
        let mut seen = Vec::new();
        while let Some(k) = sc.next_key(&mut obj).unwrap() {
            seen.push((k, sc.number().unwrap()));
        }
        assert_eq!(seen, [("price", "45285.2"), ("qty", "0.00100000")]);
    }
}
