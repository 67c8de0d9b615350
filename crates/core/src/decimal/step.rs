//! A grid step (a tick size or a lot size) and the exact conversions between decimals and
//! integer counts of steps.

use std::fmt;

use super::{parse_fixed, write_scaled, Decimal, DecimalError, Notation, INLINE_CAP, POW10, SCALE};

/// A positive grid step (a tick size or a lot size) and the exact conversions to and from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    step: Decimal,
    /// The step is `mantissa / 10^scale` (kept: the conversions run per order at the API).
    mantissa: i128,
    scale: u32,
    /// The largest count of 10^-`scale` units that the rules admit (the value at 18 fractional
    /// digits fits an `i128`).
    max_units: i128,
}

impl Step {
    /// Parses a positive step such as `"0.01"`.
    pub fn parse(text: &str) -> Result<Self, DecimalError> {
        let d = Decimal::parse(text)?;
        Self::new(d).ok_or(DecimalError::Invalid { text: text.to_owned(), why: "a step must be positive" })
    }

    /// Wraps a positive decimal; `None` for zero or negative values.
    pub fn new(step: Decimal) -> Option<Self> {
        let step = step.normalized();
        let (mantissa, scale) = (step.mantissa(), step.scale());
        let max_units = i128::MAX / POW10[(SCALE - scale) as usize] as i128;
        step.is_positive().then_some(Self { step, mantissa, scale, max_units })
    }

    /// The step as a decimal (written without trailing fractional zeros).
    pub const fn decimal(&self) -> Decimal {
        self.step
    }

    /// Exact number of steps in `value`; an error if `value` is off the grid or too large.
    pub fn units(&self, value: Decimal) -> Result<i64, DecimalError> {
        let (v, s) = (value.raw(), self.step.raw());
        if v % s != 0 {
            return Err(DecimalError::OffGrid { text: value.to_string(), step: self.step.to_string() });
        }
        i64::try_from(v / s)
            .map_err(|_| DecimalError::Overflow { text: value.to_string(), step: self.step.to_string() })
    }

    /// Parses `text` (with [`Decimal::parse`]) and converts it to steps (see [`Step::units`]).
    pub fn units_of(&self, text: &str) -> Result<i64, DecimalError> {
        match self.units_on_grid(text) {
            Some(units) => Ok(units),
            None => self.units(Decimal::parse(text)?),
        }
    }

    /// The usual case of [`Step::units_of`] without building a [`Decimal`]: the text read
    /// straight at the step's scale, in integers that mostly fit 64 bits. `None` when the text
    /// is not a value on the grid within the rules; [`Step::units_of`] then takes the general
    /// path, which gives the precise error (a property test checks that both paths agree).
    fn units_on_grid(&self, text: &str) -> Option<i64> {
        if text.len() > INLINE_CAP {
            return None;
        }
        let (negative, body) = match text.as_bytes() {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            body => (false, body),
        };
        // Fails on more non-zero fractional digits than the step has (off the grid).
        let v = parse_fixed(body, self.scale).ok()?;
        if v > self.max_units || v % self.mantissa != 0 {
            return None;
        }
        let units = i64::try_from(v / self.mantissa).ok()?;
        Some(if negative { -units } else { units })
    }

    /// The decimal value of `units` steps, at the step's own precision.
    ///
    /// # Panics
    ///
    /// When the value is outside the rules of [`crate::decimal`] (see [`Decimal::try_new`]):
    /// only for counts near the `i64` limits with steps above 18 or with more than 9
    /// fractional digits. [`Step::format`] never panics.
    pub fn value(&self, units: i64) -> Decimal {
        Decimal::new(i128::from(units) * self.mantissa, self.scale)
    }

    /// Formats `units` steps as decimal text at the step's precision (`2025` ticks of `0.05` is
    /// `"101.25"`), for any `units`.
    pub fn format(&self, units: i64) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = write_scaled(&mut text, i128::from(units) * self.mantissa, self.scale, Notation::Plain);
        text
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
    use proptest::prelude::*;

    proptest! {
        /// The grid fast path of `units_of` agrees with the general path (parse, then `units`),
        /// on values and on every error.
        #[test]
        fn units_of_agrees_with_parse_then_units(
            text in prop_oneof![
                "[-+]?[0-9]{0,22}(\\.[0-9]{0,20})?",
                "[-+]?[0-9]{0,3}\\.?[0-9]{0,4}0{0,30}",
                "[-+0-9.e]{0,12}",
            ],
            step in prop_oneof![Just("0.01"), Just("0.00000001"), Just("0.05"), Just("25"), Just("1"),
                Just("0.000000000000000001"), Just("100000000"), Just("0.5")],
        ) {
            let step = Step::parse(step).unwrap();
            let general = Decimal::parse(&text).and_then(|d| step.units(d));
            prop_assert_eq!(step.units_of(&text), general);
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

    #[test]
    fn values_and_formats_agree() {
        let tick = Step::parse("0.050").unwrap();
        assert_eq!(tick.decimal().as_str(), "0.05");
        assert_eq!(tick.value(2025), Decimal::parse("101.25").unwrap());
        assert_eq!(tick.value(2025).as_str(), tick.format(2025));
        assert_eq!(tick.value(-3).as_str(), "-0.15");
        assert_eq!(Step::parse("100").unwrap().format(i64::MAX), "922337203685477580700");
    }
}
