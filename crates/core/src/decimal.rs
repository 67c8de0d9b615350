//! Exact decimal text at the edges, integers inside: the one decimal type of Wintermute.
//!
//! Prices and quantities cross the edges as decimal text: exchange frames (`"58001.03000000"`),
//! the Python API (`"101.25"`, or Python's `Decimal`), configuration files, venues' order
//! reports. Inside, the engine counts integer multiples of a step: ticks for prices, lots for
//! quantities. This module does both conversions exactly — it never touches a binary float, so
//! `"0.1" + "0.2"` really is `"0.3"`, and a value that is not on the grid is an error rather
//! than a silent rounding.
//!
//! # The rules of decimal text (one set, for every decimal the engine reads)
//!
//! A decimal is **plain**: digits with at most one `.` (`"101.25"`, `".5"`, `"5."`), at most
//! [`MAX_SCALE`] fractional digits (more only when they are zeros), an integer part below
//! about 1.7 × 10^20 (the value at 18 fractional digits must fit an `i128`), and at most
//! [`INLINE_CAP`] characters (the text is kept, inline). No exponent (`"1e5"`, `"1.5E+2"`), no
//! whitespace, no `inf`/`nan`, no hex.
//!
//! Two readers apply the rules, one per kind of edge:
//!
//! - [`Decimal::parse`]: an optional leading sign (`"-0.50"`, `"+7"`), for values that may be
//!   negative (fees, balances, configuration, the Python API). Its [`DecimalError`] quotes the
//!   text.
//! - [`Decimal::parse_unsigned`]: the strict exchange reader, no sign (a book's prices and
//!   quantities), allocation-free even on error ([`NotPlainDecimal`] is `Copy`): the feeds run
//!   it on every price and quantity of every frame, and wrap its error with the field.
//!
//! Both rest on [`parse_fixed`] (fixed-point, with a fast path for the usual exchange text).
//! The other way, one writer, [`write_scaled`], writes every decimal the engine prints: plain
//! text (a built decimal's, a [`Step`]'s multiples) or, as [`Notation::PythonStr`], the text
//! Python's `str(Decimal)` would show (the service ledger's amounts).
//!
//! Why no exponent: exchange feeds send plain decimals, and their checksums (Kraken's) hash the
//! text itself, so a feed must keep the text byte for byte; an exponent is also a way for a few
//! characters to name a huge or tiny value. One rule for every edge means a price that the API
//! accepts is one a feed could have sent. Python's `decimal.Decimal` writes exponents
//! (`str(Decimal("0.00000001"))` is `"1E-8"`): the Python edge asks it for plain text
//! (`format(d, "f")`, in the bindings and in `wintermute.config`), so no caller needs exponents.
//!
//! # The value
//!
//! A [`Decimal`] holds both the value, as an `i128` count of 10^-18 units ([`SCALE`]; exact for
//! every decimal the rules admit, whatever the venue or instrument), and the text as it was
//! written, inline ([`InlineStr`]; copying a decimal never touches the heap). Equality, order and
//! hashing look at the value only (`"1.50" == "1.5"`); [`Decimal::as_str`] gives the text back
//! byte for byte; [`Decimal::scale`] is the text's number of fractional digits. A decimal built
//! from a number ([`Decimal::new`], [`Decimal::from_raw`]) writes its canonical text.
//!
//! ```
//! use wintermute_core::decimal::{Decimal, Step};
//! let tick = Step::parse("0.05").unwrap();
//! assert_eq!(tick.units_of("101.25").unwrap(), 2025);
//! assert!(tick.units_of("101.26").is_err()); // off the grid
//! assert_eq!(tick.format(2025), "101.25");
//! assert_eq!(Decimal::parse("-0.50").unwrap().to_string(), "-0.50");
//! assert!(Decimal::parse("1.5E+2").is_err()); // plain decimals only
//! let p = Decimal::parse_unsigned("0.05005").unwrap(); // an exchange's price
//! assert_eq!((p.as_str(), p.raw()), ("0.05005", 50_050_000_000_000_000));
//! assert!(Decimal::parse_unsigned("-1").is_err());
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};

mod fixed_point;
mod step;
mod text;

pub use fixed_point::{eight_digits, parse8, parse_fixed, NotPlainDecimal};
pub use step::Step;
pub use text::{write_scaled, Notation};

pub use crate::inline_str::{InlineStr, TextTooLong, INLINE_CAP};

/// Number of fractional decimal digits in [`Decimal::raw`].
pub const SCALE: u32 = 18;

/// Most fractional digits accepted in a decimal (and in a tick or lot size): [`SCALE`].
pub const MAX_SCALE: u32 = SCALE;

/// Why text longer than [`INLINE_CAP`] is refused (the feeds' `FeedError` quotes it).
const TOO_LONG: &str = "text longer than 31 bytes";

const ONE: u128 = 1_000_000_000_000_000_000;

/// 10^0 ..= 10^38.
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Why a decimal string could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// The text is not a plain decimal number.
    #[error("invalid decimal text={text:?}: {why}")]
    Invalid { text: String, why: &'static str },
    /// The value is representable but is not a whole multiple of the step.
    #[error("value={text} is not a multiple of step={step}")]
    OffGrid { text: String, step: String },
    /// The value does not fit a 64-bit count of steps.
    #[error("value={text} overflows 64-bit units of step={step}")]
    Overflow { text: String, step: String },
}

/// An exact decimal: its value in units of 10^-[`SCALE`] and its text (see the module docs).
#[derive(Clone, Copy)]
pub struct Decimal {
    raw: i128,
    text: InlineStr,
}

impl Decimal {
    /// Zero, written `"0"`.
    pub const ZERO: Decimal = Decimal { raw: 0, text: InlineStr::ZERO_DIGIT };

    /// Reads decimal text under the rules above with an optional sign (`"-12.50"`, `".5"`,
    /// `"+7"`). The text is kept as written, less a leading `+`.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let invalid = |why| DecimalError::Invalid { text: text.to_owned(), why };
        let (negative, kept, body) = match text.as_bytes() {
            [b'-', rest @ ..] => (true, text, rest),
            [b'+', rest @ ..] => (false, &text[1..], rest),
            body => (false, text, body),
        };
        let raw = parse_fixed(body, SCALE).map_err(|e| invalid(e.why))?;
        let text = InlineStr::new(kept).map_err(|_| invalid(TOO_LONG))?;
        Ok(Self { raw: if negative { -raw } else { raw }, text })
    }

    /// The strict exchange reader: unsigned plain decimal text (digits with at most one `.`, no
    /// sign, no exponent), kept byte for byte. Allocation-free, on success or on error.
    #[inline]
    pub fn parse_unsigned(text: &str) -> Result<Self, NotPlainDecimal> {
        Self::parse_unsigned_with(text, |e| e)
    }

    /// [`Decimal::parse_unsigned`] with the error turned into the caller's own
    /// (`Decimal::parse_unsigned_with(text, FeedError::decimal("price"))`): the result is built in
    /// place, with no second copy of the decimal on the feeds' hot path.
    #[inline]
    pub fn parse_unsigned_with<E>(text: &str, error: impl FnOnce(NotPlainDecimal) -> E) -> Result<Self, E> {
        let raw = match parse_fixed(text.as_bytes(), SCALE) {
            Ok(raw) => raw,
            Err(e) => return Err(error(e)),
        };
        match InlineStr::new(text) {
            Ok(text) => Ok(Self { raw, text }),
            Err(_) => Err(error(NotPlainDecimal { why: TOO_LONG })),
        }
    }

    /// `mantissa / 10^scale`, written at `scale` fractional digits (`new(-50, 2)` is `"-0.50"`).
    ///
    /// # Panics
    ///
    /// When the value is outside the rules (see [`Decimal::try_new`]); for constants and exact
    /// arithmetic on values that are.
    pub fn new(mantissa: i128, scale: u32) -> Self {
        match Self::try_new(mantissa, scale) {
            Some(d) => d,
            None => {
                panic!("decimal mantissa={mantissa} scale={scale} is outside the rules of wintermute_core::decimal")
            }
        }
    }

    /// `mantissa / 10^scale`; `None` when it has more than [`MAX_SCALE`] significant fractional
    /// digits, does not fit the `i128` value, or takes more than [`INLINE_CAP`] characters.
    pub fn try_new(mantissa: i128, scale: u32) -> Option<Self> {
        let (mut mantissa, mut scale) = (mantissa, scale);
        while scale > SCALE && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > SCALE {
            return None;
        }
        let raw = mantissa.checked_mul(POW10[(SCALE - scale) as usize] as i128)?;
        Some(Self { raw, text: write_text(mantissa, scale).ok()? })
    }

    /// `mantissa / 10^scale` with its canonical text, as [`Decimal::from_raw`] writes it (no
    /// trailing fractional zeros: `(12_500, 4)` is `"1.25"`); `None` as for [`Decimal::try_new`].
    /// The same decimal as `try_new(..)` then [`Decimal::normalized`], in one step and, for a
    /// mantissa that fits 64 bits (a book's prices and quantities in ticks and lots times their
    /// step), without an `i128` division: for code that turns integer counts of a step back into
    /// decimals in bulk (the feeds' integer books).
    pub fn try_new_normalized(mantissa: i128, scale: u32) -> Option<Self> {
        if scale > SCALE {
            return Self::try_new(mantissa, scale).map(Self::normalized);
        }
        let (mantissa, scale) = without_trailing_zeros(mantissa, scale);
        let raw = mantissa.checked_mul(POW10[(SCALE - scale) as usize] as i128)?;
        Some(Self { raw, text: write_text(mantissa, scale).ok()? })
    }

    /// A decimal from its value in units of 10^-[`SCALE`], with its canonical text (no trailing
    /// fractional zeros: `1_250_000_000_000_000_000` is `"1.25"`).
    pub fn from_raw(raw: i128) -> Result<Self, TextTooLong> {
        let mut frac = raw.unsigned_abs() % ONE;
        let mut digits = 0;
        if frac != 0 {
            digits = SCALE;
            while frac.is_multiple_of(10) {
                frac /= 10;
                digits -= 1;
            }
        }
        Ok(Self { raw, text: write_text(raw / POW10[(SCALE - digits) as usize] as i128, digits)? })
    }

    /// The value in units of 10^-[`SCALE`].
    #[inline]
    pub fn raw(&self) -> i128 {
        self.raw
    }

    /// The text exactly as written (less a leading `+`), or the canonical text of a built value.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// The text's bytes (ASCII digits, at most one `.`, and a leading `-` on a negative value).
    #[inline]
    pub fn text_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The number of fractional digits the text has (at most [`MAX_SCALE`]: further ones are
    /// zeros).
    pub fn scale(&self) -> u32 {
        let text = self.text.as_bytes();
        let fraction = text.iter().position(|&b| b == b'.').map_or(0, |dot| text.len() - dot - 1);
        (fraction as u32).min(SCALE)
    }

    /// The integer mantissa at [`Decimal::scale`]: the value is `mantissa / 10^scale`.
    pub fn mantissa(&self) -> i128 {
        self.raw / POW10[(SCALE - self.scale()) as usize] as i128
    }

    /// True when the value is zero (a deletion, for a book quantity).
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.raw == 0
    }

    /// True when the value is strictly positive.
    pub fn is_positive(&self) -> bool {
        self.raw > 0
    }

    /// The same value written without trailing fractional zeros (`"2.50"` gives `"2.5"`).
    pub fn normalized(self) -> Self {
        Self::from_raw(self.raw).unwrap_or(self)
    }

    /// The value as `f64`, for display and statistics only (never for keys or sums).
    pub fn to_f64(&self) -> f64 {
        self.raw as f64 / ONE as f64
    }
}

/// Writes `mantissa / 10^scale` (`scale` at most [`SCALE`]) with `scale` fractional digits,
/// without touching the heap.
fn write_text(mantissa: i128, scale: u32) -> Result<InlineStr, TextTooLong> {
    let mut buf = [0u8; text::PLAIN_BUF];
    if let Some(ascii) = text::plain_bytes(mantissa, scale, &mut buf) {
        return InlineStr::from_ascii(ascii);
    }
    // 48 bytes hold any i128 at 18 digits (39 digits, a sign and a point).
    let mut text = text::StackText::<48>::new();
    write_scaled(&mut text, mantissa, scale, Notation::Plain).map_err(|_| TextTooLong { len: 48 })?;
    InlineStr::new(text.as_str())
}

/// `mantissa / 10^scale` less its trailing fractional zeros: the same value at the smallest
/// scale (zero is `(0, 0)`). In `u64` arithmetic when the mantissa fits.
fn without_trailing_zeros(mantissa: i128, mut scale: u32) -> (i128, u32) {
    if let Ok(mut m) = u64::try_from(mantissa) {
        while scale > 0 && m % 10 == 0 {
            m /= 10;
            scale -= 1;
        }
        return (i128::from(m), scale);
    }
    let mut m = mantissa;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    (m, scale)
}

impl Default for Decimal {
    /// [`Decimal::ZERO`].
    fn default() -> Self {
        Self::ZERO
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

#[cfg(test)]
mod tests;
