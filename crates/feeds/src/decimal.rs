//! Exact decimals: the exchange's own text plus a fixed-point integer for ordering.
//!
//! The text is read by the core's one decimal reader ([`wintermute_core::decimal::parse_fixed`],
//! re-exported here with its SWAR helpers), under the one set of rules of
//! [`wintermute_core::decimal`]: plain decimals, no exponent. A feed decimal is also unsigned
//! (prices and quantities of a book).
//!
//! Exchanges send prices and quantities as decimal text (`"58001.03000000"`), and some checksums
//! (Kraken) hash that very text, so a level must keep it byte for byte. Ordering and arithmetic need
//! a number, and binary floats are wrong for both (`0.1 + 0.2 != 0.3`). A [`Decimal`] keeps both:
//!
//! - the text, inline in a fixed 31-byte buffer ([`InlineStr`]), so copying a level never touches
//!   the heap;
//! - the value as an `i128` count of 10^-18 units ([`SCALE`]). Every decimal with at most 18
//!   fractional digits (more are accepted when the extra digits are zeros) and an integer part below
//!   1.7e20 is represented exactly, whatever the venue or instrument, so books need no per-stream
//!   scale. Instrument ticks (the core crate's `i64`) are derived from this at the engine edge.
//!
//! ```
//! use wintermute_feeds::Decimal;
//! let p = Decimal::parse("0.05005").unwrap();
//! assert_eq!(p.as_str(), "0.05005");
//! assert_eq!(p.raw(), 50_050_000_000_000_000);
//! assert!(Decimal::parse("1e5").is_err()); // plain decimals only (the rules of wintermute_core::decimal)
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};

pub use wintermute_core::decimal::{eight_digits, parse8, parse_fixed};

pub use crate::inline_str::{InlineStr, Symbol, INLINE_CAP};

use crate::error::FeedError;

/// Number of fractional decimal digits in [`Decimal::raw`].
pub const SCALE: u32 = 18;

const ONE: i128 = 1_000_000_000_000_000_000;

/// An exact non-negative decimal: the source text and its fixed-point value.
///
/// Equality and hashing compare the value only (`"1.50"` == `"1.5"`); [`Decimal::as_str`] still
/// gives back the text as it was received.
#[derive(Clone, Copy)]
pub struct Decimal {
    raw: i128,
    text: InlineStr,
}

impl Decimal {
    /// Zero, written `"0"`.
    pub const ZERO: Decimal = Decimal { raw: 0, text: InlineStr::ZERO_DIGIT };

    /// Reads plain decimal text: digits with at most one `.`, no sign, no exponent.
    pub fn parse(s: &str) -> Result<Self, FeedError> {
        let raw = parse_fixed(s.as_bytes(), SCALE)?;
        Ok(Decimal { raw, text: InlineStr::new(s)? })
    }

    /// Builds a decimal from a raw value (units of 10^-18), writing its canonical text.
    pub fn from_raw(raw: i128) -> Result<Self, FeedError> {
        if raw < 0 {
            return Err(FeedError::Decimal { reason: "negative value" });
        }
        let mut buf = [0u8; 64];
        let int = raw / ONE;
        let mut frac = raw % ONE;
        let mut n = write_int(&mut buf, int);
        if frac != 0 {
            buf[n] = b'.';
            n += 1;
            let mut digits = SCALE as usize;
            while frac % 10 == 0 {
                frac /= 10;
                digits -= 1;
            }
            let mut tmp = [b'0'; 18];
            let mut f = frac;
            for i in (0..digits).rev() {
                tmp[i] = b'0' + (f % 10) as u8;
                f /= 10;
            }
            buf[n..n + digits].copy_from_slice(&tmp[..digits]);
            n += digits;
        }
        let text = std::str::from_utf8(&buf[..n]).map_err(|_| FeedError::Decimal { reason: "non-ascii output" })?;
        Ok(Decimal { raw, text: InlineStr::new(text)? })
    }

    /// A decimal from its raw value and its text, which the caller guarantees are the same
    /// number (the integer books' fast formatting, checked against [`Decimal::from_raw`] by a
    /// property test).
    pub(crate) fn from_parts(raw: i128, text: InlineStr) -> Self {
        Decimal { raw, text }
    }

    /// The value in units of 10^-[`SCALE`].
    pub fn raw(&self) -> i128 {
        self.raw
    }

    /// The text exactly as received.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The text's bytes, exactly as received (ASCII digits and at most one `.`).
    pub fn text_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Whether the value is zero (a deletion, for a book quantity).
    pub fn is_zero(&self) -> bool {
        self.raw == 0
    }

    /// The value as `f64`, for display and statistics only (never for keys or sums).
    pub fn to_f64(&self) -> f64 {
        self.raw as f64 / ONE as f64
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Decimal {}

impl Hash for Decimal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({})", self.as_str())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn write_int(buf: &mut [u8; 64], mut v: i128) -> usize {
    let mut tmp = [0u8; 40];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = tmp.len() - i;
    buf[..n].copy_from_slice(&tmp[i..]);
    n
}

/// Reads an epoch time in seconds with a decimal fraction (`"1617666424.207714"`) as nanoseconds.
pub fn parse_epoch_seconds(s: &str) -> Result<i64, FeedError> {
    let ns = parse_fixed(s.as_bytes(), 9)?;
    i64::try_from(ns).map_err(|_| FeedError::Decimal { reason: "timestamp out of range" })
}

/// Writes nanoseconds since the epoch as seconds with 9 fractional digits, trailing zeros kept.
pub fn format_epoch_seconds(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// Reads a UTC RFC 3339 time (`"2021-04-17T16:43:37.089723Z"`) as ns since the epoch.
///
/// Only the `Z` form the exchanges send is accepted; anything else gives `None`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return None;
    }
    let secs_text = s.get(17..s.len() - 1)?;
    let sec_ns = i64::try_from(parse_fixed(secs_text.as_bytes(), 9).ok()?).ok()?;
    if sec_ns >= 61_000_000_000 {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3_600 + mm * 60;
    secs.checked_mul(1_000_000_000)?.checked_add(sec_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_values_and_keeps_text() {
        let d = Decimal::parse("58001.03000000").unwrap();
        assert_eq!(d.as_str(), "58001.03000000");
        assert_eq!(d.raw(), 58_001_030_000_000_000_000_000);
        assert_eq!(Decimal::parse("1.50").unwrap(), Decimal::parse("1.5").unwrap());
        assert!(
            Decimal::parse("0.1").unwrap().raw() + Decimal::parse("0.2").unwrap().raw()
                == Decimal::parse("0.3").unwrap().raw()
        );
        assert_eq!(Decimal::parse("7").unwrap().raw(), 7 * ONE);
        assert_eq!(Decimal::parse(".5").unwrap().raw(), ONE / 2);
    }

    #[test]
    fn rejects_what_it_cannot_keep_exactly() {
        for bad in ["", ".", "1.2.3", "-1", "1e5", "abc", "1.0000000000000000001", "0x10"] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
        assert!(Decimal::parse("1.0000000000000000000").is_ok());
        assert!(Decimal::parse("999999999999999999999999").is_err());
    }

    #[test]
    fn from_raw_writes_canonical_text() {
        assert_eq!(Decimal::from_raw(ONE / 4 * 5).unwrap().as_str(), "1.25");
        assert_eq!(Decimal::from_raw(0).unwrap().as_str(), "0");
        assert_eq!(Decimal::from_raw(42 * ONE).unwrap().as_str(), "42");
        assert_eq!(Decimal::from_raw(1).unwrap().as_str(), "0.000000000000000001");
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2021-04-17T16:43:37.089723Z"), Some(1_618_677_817_089_723_000));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:01.5Z"), Some(951_868_801_500_000_000));
        assert_eq!(parse_rfc3339("2021-13-17T16:43:37Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn epoch_seconds_round_trip() {
        let ns = parse_epoch_seconds("1617666424.207714").unwrap();
        assert_eq!(ns, 1_617_666_424_207_714_000);
        assert_eq!(format_epoch_seconds(ns), "1617666424.207714000");
        assert_eq!(parse_epoch_seconds("1617566592.1065369").unwrap() % 1000, 900);
    }
}
