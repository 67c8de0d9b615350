//! The scalar values of a config document, each checked as it is read.
//!
//! A document ([`super::PipelineSettings`]) is made of these: an integer within bounds
//! ([`Bounded`]), a boolean ([`Flag`]), exact decimal text ([`DecimalText`]), a non-empty name
//! ([`Text`]). Each one refuses a wrong value while it is deserialized, so the error carries
//! the key path (`gateways.count: 0 is out of range [1, 65536]`), and every route into the
//! config (a TOML file, a Python dict, JSON) gets the same message.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use wintermute_core::decimal::Decimal;

/// An integer in `LO..=HI` (inclusive). Booleans, strings and floats are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const LO: i64, const HI: i64>(i64);

impl<const LO: i64, const HI: i64> Bounded<LO, HI> {
    /// `value`, if it is within the bounds.
    pub fn new(value: i64) -> Option<Self> {
        (LO..=HI).contains(&value).then_some(Self(value))
    }

    /// `value` clamped into the bounds (for defaults that come from the engine).
    pub fn saturating(value: u64) -> Self {
        Self(i64::try_from(value).unwrap_or(i64::MAX).clamp(LO, HI))
    }

    /// The value.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// The value as a `u64` (the bounds of every use are non-negative).
    pub fn unsigned(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }

    /// The value as a `usize`.
    pub fn size(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }

    /// The value as a `u32`.
    pub fn small(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }
}

impl<const LO: i64, const HI: i64> Serialize for Bounded<LO, HI> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

struct BoundedVisitor<const LO: i64, const HI: i64>;

impl<'de, const LO: i64, const HI: i64> Visitor<'de> for BoundedVisitor<LO, HI> {
    type Value = Bounded<LO, HI>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Bounded::new(v).ok_or_else(|| E::custom(format!("{v} is out of range [{LO}, {HI}]")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .ok()
            .and_then(Bounded::new)
            .ok_or_else(|| E::custom(format!("{v} is out of range [{LO}, {HI}]")))
    }
}

impl<'de, const LO: i64, const HI: i64> Deserialize<'de> for Bounded<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BoundedVisitor::<LO, HI>)
    }
}

/// `true` or `false` (not 0/1, not "on").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

struct FlagVisitor;

impl Visitor<'_> for FlagVisitor {
    type Value = Flag;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true or false")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
        Ok(Flag(v))
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FlagVisitor)
    }
}

/// Exact decimal text (`"0.01"`, or an integer). A float is refused: its binary value is not
/// the decimal the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DecimalText(String);

impl DecimalText {
    /// `text`, if it is a decimal number.
    pub fn new(text: &str) -> Option<Self> {
        Decimal::parse(text).is_ok().then(|| Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = DecimalText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal (string)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DecimalText, E> {
        DecimalText::new(v).ok_or_else(|| E::custom(format!("{v:?} is not a decimal number")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DecimalText, E> {
        Ok(DecimalText(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DecimalText, E> {
        Ok(DecimalText(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DecimalText, E> {
        Err(E::custom(format!("floats are inexact: write the decimal as a string, got {v}")))
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }
}

/// A non-empty string: a symbol ([`Name`]) or a directory path ([`DirPath`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<const PATH: bool>(String);

/// A symbol.
pub type Name = Text<false>;
/// A directory path (relative paths are taken relative to the config file).
pub type DirPath = Text<true>;

impl<const PATH: bool> Text<PATH> {
    const EXPECTED: &'static str = if PATH { "a directory path" } else { "a non-empty string" };

    /// `text`, if it is not empty.
    pub fn new(text: &str) -> Option<Self> {
        (!text.is_empty()).then(|| Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct TextVisitor<const PATH: bool>;

impl<const PATH: bool> Visitor<'_> for TextVisitor<PATH> {
    type Value = Text<PATH>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Text::<PATH>::EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<PATH>, E> {
        Text::new(v).ok_or_else(|| E::custom(format!("expected {}, got \"\"", Text::<PATH>::EXPECTED)))
    }
}

impl<'de, const PATH: bool> Deserialize<'de> for Text<PATH> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor::<PATH>)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bounded_integers_refuse_what_is_out_of_range_or_not_an_integer() {
        type Count = Bounded<1, 10>;
        assert_eq!(serde_json::from_value::<Count>(json!(10)).unwrap().get(), 10);
        let out = serde_json::from_value::<Count>(json!(0)).unwrap_err().to_string();
        assert_eq!(out, "0 is out of range [1, 10]");
        let huge = serde_json::from_value::<Count>(json!(u64::MAX)).unwrap_err().to_string();
        assert!(huge.contains("out of range"), "{huge}");
        for not_int in [json!(true), json!("4"), json!(1.5)] {
            let e = serde_json::from_value::<Count>(not_int).unwrap_err().to_string();
            assert!(e.contains("expected an integer"), "{e}");
        }
        assert_eq!(Bounded::<1, 10>::saturating(99).get(), 10);
    }

    #[test]
    fn decimals_are_text_or_integers_never_floats() {
        assert_eq!(serde_json::from_value::<DecimalText>(json!("0.01")).unwrap().as_str(), "0.01");
        assert_eq!(serde_json::from_value::<DecimalText>(json!(100)).unwrap().as_str(), "100");
        let float = serde_json::from_value::<DecimalText>(json!(0.01)).unwrap_err().to_string();
        assert!(float.starts_with("floats are inexact"), "{float}");
        let text = serde_json::from_value::<DecimalText>(json!("abc")).unwrap_err().to_string();
        assert_eq!(text, "\"abc\" is not a decimal number");
    }

    #[test]
    fn flags_and_names_refuse_lookalikes() {
        assert_eq!(serde_json::from_value::<Flag>(json!(false)).unwrap(), Flag(false));
        let one = serde_json::from_value::<Flag>(json!(1)).unwrap_err().to_string();
        assert!(one.contains("expected true or false"), "{one}");
        let empty = serde_json::from_value::<Name>(json!("")).unwrap_err().to_string();
        assert_eq!(empty, "expected a non-empty string, got \"\"");
        let seven = serde_json::from_value::<DirPath>(json!(7)).unwrap_err().to_string();
        assert!(seven.contains("expected a directory path"), "{seven}");
    }
}
