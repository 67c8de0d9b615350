//! Exact decimal text at the edges, integers inside.
//!
//! Prices and quantities cross the API boundary as decimal text (`"101.25"`, `"0.0001"`, or
//! Python's `Decimal`) and live inside the engine as integer multiples of a step: ticks for
//! prices, lots for quantities. This module does both conversions exactly — it never touches a
//! binary float, so `"0.1" + "0.2"` really is `"0.3"`, and a value that is not on the grid is an
//! error rather than a silent rounding.
//!
//! # The rules of decimal text (one set, for every decimal the engine reads)
//!
//! A decimal is **plain**: digits with at most one `.` (`"101.25"`, `".5"`, `"5."`), at most
//! [`MAX_SCALE`] fractional digits (more only when they are zeros), and an integer part below
//! about 1.7 × 10^20 (the value at 18 fractional digits must fit an `i128`). No
//! exponent (`"1e5"`, `"1.5E+2"`), no whitespace, no `inf`/`nan`, no hex. A leading sign is part
//! of the text only where the value may be negative (this module's [`Decimal`]; the feeds'
//! prices and quantities are unsigned).
//!
//! Why no exponent: exchange feeds send plain decimals, and their checksums (Kraken's) hash the
//! text itself, so a feed must keep the text byte for byte; an exponent is also a way for a few
//! characters to name a huge or tiny value. One rule for every edge means a price that the API
//! accepts is one a feed could have sent. Python's `decimal.Decimal` writes exponents for small
//! values (`str(Decimal("0.00000001"))` is `"1E-8"`): the bindings ask it for plain text.
//!
//! One reader implements the rules: [`parse_fixed`] (fixed-point, allocation-free, with the
//! fast path the feeds run per frame); [`Decimal::parse`] and the feeds' decimals both use it.
//!
//! ```
//! use wintermute_core::decimal::{Decimal, Step};
//! let tick = Step::parse("0.05").unwrap();
//! assert_eq!(tick.units_of("101.25").unwrap(), 2025);
//! assert!(tick.units_of("101.26").is_err()); // off the grid
//! assert_eq!(tick.format(2025), "101.25");
//! assert_eq!(Decimal::parse("-0.50").unwrap().to_string(), "-0.50");
//! assert!(Decimal::parse("1.5E+2").is_err()); // plain decimals only
//! ```

use std::fmt;

mod fixed_point;

pub use fixed_point::{eight_digits, parse8, parse_fixed, NotPlainDecimal};

/// Most fractional digits accepted in a decimal (and in a tick or lot size).
pub const MAX_SCALE: u32 = 18;

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

/// An exact decimal number: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

impl Decimal {
    /// Builds `mantissa / 10^scale`.
    pub const fn new(mantissa: i128, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    /// The integer mantissa.
    pub const fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// The number of fractional digits.
    pub const fn scale(&self) -> u32 {
        self.scale
    }

    /// Parses decimal text under the rules above: an optional sign, then a plain decimal
    /// (`"-12.50"`, `".5"`, `"0.00000001"`). The value keeps the text's own number of fractional
    /// digits (at most [`MAX_SCALE`]; more are accepted when they are zeros).
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let invalid = |e: NotPlainDecimal| DecimalError::Invalid { text: text.to_owned(), why: e.why };
        let (negative, body) = match text.as_bytes() {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            body => (false, body),
        };
        let raw = parse_fixed(body, MAX_SCALE).map_err(invalid)?;
        let fraction = body.iter().position(|&b| b == b'.').map_or(0, |dot| body.len() - dot - 1);
        let scale = u32::try_from(fraction).unwrap_or(u32::MAX).min(MAX_SCALE);
        let mantissa = raw / POW10[(MAX_SCALE - scale) as usize];
        Ok(Self { mantissa: if negative { -mantissa } else { mantissa }, scale })
    }

    /// True when the value is zero.
    pub const fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// True when the value is strictly positive.
    pub const fn is_positive(&self) -> bool {
        self.mantissa > 0
    }

    /// The same value with trailing fractional zeros removed.
    pub fn normalized(mut self) -> Self {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.mantissa, self.scale)
    }
}

fn write_scaled(f: &mut impl fmt::Write, mantissa: i128, scale: u32) -> fmt::Result {
    if mantissa < 0 {
        f.write_char('-')?;
    }
    let abs = mantissa.unsigned_abs();
    if scale == 0 {
        return write!(f, "{abs}");
    }
    let p = POW10[scale as usize] as u128;
    write!(f, "{}.{:0width$}", abs / p, abs % p, width = scale as usize)
}

/// A positive grid step (a tick size or a lot size) and the exact conversions to and from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    step: Decimal,
}

impl Step {
    /// Parses a positive step such as `"0.01"`.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let d = Decimal::parse(text)?;
        Self::new(d).ok_or(DecimalError::Invalid { text: text.to_owned(), why: "a step must be positive" })
    }

    /// Wraps a positive decimal; `None` for zero or negative values.
    pub fn new(step: Decimal) -> Option<Self> {
        step.is_positive().then(|| Self { step: step.normalized() })
    }

    /// The step as a decimal.
    pub const fn decimal(&self) -> Decimal {
        self.step
    }

    /// Exact number of steps in `value`; an error if `value` is off the grid or too large.
    pub fn units(&self, value: Decimal) -> Result<i64, DecimalError> {
        let scale = value.scale.max(self.step.scale);
        let overflow = || DecimalError::Overflow { text: value.to_string(), step: self.step.to_string() };
        let v = value.mantissa.checked_mul(POW10[(scale - value.scale) as usize]).ok_or_else(overflow)?;
        let s = self.step.mantissa * POW10[(scale - self.step.scale) as usize];
        if v % s != 0 {
            return Err(DecimalError::OffGrid { text: value.to_string(), step: self.step.to_string() });
        }
        i64::try_from(v / s).map_err(|_| overflow())
    }

    /// Parses `text` and converts it to steps (see [`Step::units`]).
    pub fn units_of(&self, text: &str) -> Result<i64, DecimalError> {
        self.units(Decimal::parse(text)?)
    }

    /// The decimal value of `units` steps, at the step's own precision.
    pub fn value(&self, units: i64) -> Decimal {
        Decimal::new(i128::from(units) * self.step.mantissa, self.step.scale)
    }

    /// Formats `units` steps as decimal text at the step's precision (`2025` ticks of `0.05` is `"101.25"`).
    pub fn format(&self, units: i64) -> String {
        self.value(units).to_string()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.step.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_forms_keeping_their_scale() {
        for (text, m, s) in [
            ("0", 0, 0),
            ("12.50", 1250, 2),
            ("-0.001", -1, 3),
            (".5", 5, 1),
            ("5.", 5, 0),
            ("0.00000001", 1, 8),
            ("150", 150, 0),
            ("+7", 7, 0),
            ("1.00000000000000000000", 1_000_000_000_000_000_000, 18),
        ] {
            let d = Decimal::parse(text).unwrap();
            assert_eq!((d.mantissa(), d.scale()), (m, s), "{text}");
        }
    }

    #[test]
    fn exponents_are_refused_by_the_one_rule() {
        // Formerly accepted here (and refused by the feeds): now refused everywhere, since
        // exchanges send plain decimals and the feeds keep their text (module docs).
        for text in ["1E-8", "1.5e+2", "1e5"] {
            let err = Decimal::parse(text).unwrap_err();
            assert!(matches!(err, DecimalError::Invalid { why: "not a plain decimal", .. }), "{text}: {err}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "-",
            ".",
            "1.2.3",
            "1,5",
            " 1",
            "nan",
            "inf",
            "0x10",
            "1e",
            "1e999",
            "--1",
            "1e5x",
            "1.0000000000000000001",
            "999999999999999999999",
        ] {
            assert!(Decimal::parse(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn converts_exactly_without_floats() {
        let tick = Step::parse("0.1").unwrap();
        let a = tick.units_of("0.1").unwrap();
        let b = tick.units_of("0.2").unwrap();
        assert_eq!(tick.format(a + b), "0.3");
        let lot = Step::parse("0.00000001").unwrap();
        assert_eq!(lot.units_of("0.00000500").unwrap(), 500);
        assert_eq!(lot.format(500), "0.00000500");
        assert!(matches!(tick.units_of("0.15"), Err(DecimalError::OffGrid { .. })));
        assert!(matches!(
            Step::parse("1").unwrap().units_of("99999999999999999999"),
            Err(DecimalError::Overflow { .. })
        ));
        assert!(Step::parse("0").is_err());
        assert!(Step::parse("-1").is_err());
    }

    #[test]
    fn formats_negative_and_integral_steps() {
        let step = Step::parse("25").unwrap();
        assert_eq!(step.units_of("-50").unwrap(), -2);
        assert_eq!(step.format(-2), "-50");
        assert_eq!(Step::parse("0.010").unwrap().format(-5), "-0.05");
    }
}
