//! Exact decimal text at the edges, integers inside.
//!
//! Prices and quantities cross the API boundary as decimal text (`"101.25"`, `"0.0001"`, or
//! Python's `Decimal`) and live inside the engine as integer multiples of a step: ticks for
//! prices, lots for quantities. This module does both conversions exactly — it never touches a
//! binary float, so `"0.1" + "0.2"` really is `"0.3"`, and a value that is not on the grid is an
//! error rather than a silent rounding.
//!
//! ```
//! use wintermute_core::decimal::{Decimal, Step};
//! let tick = Step::parse("0.05").unwrap();
//! assert_eq!(tick.units_of("101.25").unwrap(), 2025);
//! assert!(tick.units_of("101.26").is_err()); // off the grid
//! assert_eq!(tick.format(2025), "101.25");
//! assert_eq!(Decimal::parse("1.5E+2").unwrap().to_string(), "150");
//! ```

use std::fmt;

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

    /// Parses decimal text: optional sign, digits, optional fraction, optional exponent
    /// (`"-12.50"`, `"1E-8"`, `".5"`). Surrounding whitespace, `inf`, `nan`, hex and empty
    /// strings are rejected.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let invalid = |why| DecimalError::Invalid { text: text.to_owned(), why };
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = match bytes.first() {
            Some(b'-') => {
                i = 1;
                true
            }
            Some(b'+') => {
                i = 1;
                false
            }
            _ => false,
        };
        let mut mantissa: i128 = 0;
        let mut digits = 0u32;
        let mut significant = 0u32;
        let mut scale: i64 = 0;
        let mut seen_point = false;
        while i < bytes.len() {
            match bytes[i] {
                b @ b'0'..=b'9' => {
                    digits += 1;
                    if mantissa != 0 || b != b'0' {
                        significant += 1;
                    }
                    if significant > 36 {
                        return Err(invalid("more than 36 significant digits"));
                    }
                    mantissa = mantissa * 10 + i128::from(b - b'0');
                    if seen_point {
                        scale += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return Err(invalid("unexpected character")),
            }
            i += 1;
        }
        if digits == 0 {
            return Err(invalid("no digits"));
        }
        if i < bytes.len() {
            // Exponent part.
            let exp_text = &text[i + 1..];
            let exp: i64 = exp_text.parse().map_err(|_| invalid("malformed exponent"))?;
            if !(-64..=64).contains(&exp) {
                return Err(invalid("exponent out of range"));
            }
            scale -= exp;
        }
        if scale < 0 {
            let up = u32::try_from(-scale).map_err(|_| invalid("exponent out of range"))?;
            if significant + up > 36 {
                return Err(invalid("value too large"));
            }
            mantissa *= POW10[up as usize];
            scale = 0;
        }
        let mut scale = u32::try_from(scale).map_err(|_| invalid("too many fractional digits"))?;
        // Drop trailing fractional zeros beyond MAX_SCALE only if they are zeros.
        while scale > MAX_SCALE && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > MAX_SCALE {
            return Err(invalid("more than 18 fractional digits"));
        }
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
    fn parses_plain_and_exponent_forms() {
        for (text, m, s) in [
            ("0", 0, 0),
            ("12.50", 1250, 2),
            ("-0.001", -1, 3),
            (".5", 5, 1),
            ("5.", 5, 0),
            ("1E-8", 1, 8),
            ("1.5e+2", 150, 0),
            ("+7", 7, 0),
        ] {
            let d = Decimal::parse(text).unwrap();
            assert_eq!((d.mantissa(), d.scale()), (m, s), "{text}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in ["", "-", ".", "1.2.3", "1,5", " 1", "nan", "inf", "0x10", "1e", "1e999", "--1", "1e5x"] {
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
