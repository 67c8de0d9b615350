//! Tests of [`Decimal`] and its two readers (the step's are in `step.rs`, the fixed-point
//! reader's in `fixed_point.rs`).

use super::*;

const ONE: i128 = 1_000_000_000_000_000_000;

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
        assert_eq!(Decimal::parse_unsigned(text).unwrap_err(), NotPlainDecimal { why: "not a plain decimal" });
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
        assert!(Decimal::parse_unsigned(text).is_err(), "{text:?} should be rejected");
    }
}

#[test]
fn parses_exact_values_and_keeps_text() {
    let d = Decimal::parse_unsigned("58001.03000000").unwrap();
    assert_eq!(d.as_str(), "58001.03000000");
    assert_eq!(d.raw(), 58_001_030_000_000_000_000_000);
    assert_eq!(Decimal::parse_unsigned("1.50").unwrap(), Decimal::parse_unsigned("1.5").unwrap());
    assert!(
        Decimal::parse_unsigned("0.1").unwrap().raw() + Decimal::parse_unsigned("0.2").unwrap().raw()
            == Decimal::parse_unsigned("0.3").unwrap().raw()
    );
    assert_eq!(Decimal::parse_unsigned("7").unwrap().raw(), 7 * ONE);
    assert_eq!(Decimal::parse_unsigned(".5").unwrap().raw(), ONE / 2);
}

#[test]
fn rejects_what_it_cannot_keep_exactly() {
    for bad in ["", ".", "1.2.3", "-1", "1e5", "abc", "1.0000000000000000001", "0x10"] {
        assert!(Decimal::parse_unsigned(bad).is_err(), "{bad}");
    }
    assert!(Decimal::parse_unsigned("1.0000000000000000000").is_ok());
    assert!(Decimal::parse_unsigned("999999999999999999999999").is_err());
}

#[test]
fn the_two_readers_differ_only_in_the_sign() {
    assert_eq!(Decimal::parse_unsigned("-1").unwrap_err(), NotPlainDecimal { why: "not a plain decimal" });
    assert_eq!(Decimal::parse_unsigned("+1").unwrap_err(), NotPlainDecimal { why: "not a plain decimal" });
    let negative = Decimal::parse("-0.50").unwrap();
    assert_eq!((negative.raw(), negative.as_str()), (-ONE / 2, "-0.50"));
    assert_eq!(Decimal::parse("+7").unwrap().as_str(), "7", "a leading + is not kept");
    for text in ["0", "58001.03000000", ".5", "5.", "0.000000000000000001"] {
        let (signed, unsigned) = (Decimal::parse(text).unwrap(), Decimal::parse_unsigned(text).unwrap());
        assert_eq!((signed.raw(), signed.as_str()), (unsigned.raw(), unsigned.as_str()), "{text}");
    }
}

#[test]
fn text_longer_than_the_inline_buffer_is_refused_with_the_reason() {
    let long = "1.000000000000000000000000000000"; // 32 characters, value 1
    assert_eq!(Decimal::parse_unsigned(long).unwrap_err(), NotPlainDecimal { why: "text longer than 31 bytes" });
    let err = Decimal::parse(long).unwrap_err();
    assert!(matches!(err, DecimalError::Invalid { why: "text longer than 31 bytes", .. }), "{err}");
    assert!(Decimal::parse_unsigned(&long[..31]).is_ok());
}

#[test]
fn from_raw_writes_canonical_text() {
    assert_eq!(Decimal::from_raw(ONE / 4 * 5).unwrap().as_str(), "1.25");
    assert_eq!(Decimal::from_raw(0).unwrap().as_str(), "0");
    assert_eq!(Decimal::from_raw(42 * ONE).unwrap().as_str(), "42");
    assert_eq!(Decimal::from_raw(1).unwrap().as_str(), "0.000000000000000001");
    assert_eq!(Decimal::from_raw(-ONE / 4 * 5).unwrap().as_str(), "-1.25");
    assert_eq!(Decimal::from_raw(i128::MAX / ONE * ONE).unwrap().as_str(), "170141183460469231731");
    assert_eq!(Decimal::from_raw(i128::MAX).unwrap_err(), TextTooLong { len: 40 });
}

#[test]
fn new_writes_the_value_at_its_scale() {
    for (m, s, text) in [(-50, 2, "-0.50"), (26, 4, "0.0026"), (0, 0, "0"), (5, 0, "5")] {
        let d = Decimal::try_new(m, s);
        assert_eq!(d.map(|d| d.as_str().to_owned()).as_deref(), Some(text), "{m} {s}");
    }
    let d = Decimal::new(58_001_030_000_000, 9);
    assert_eq!((d.as_str(), d.mantissa(), d.scale()), ("58001.030000000", 58_001_030_000_000, 9));
    assert_eq!(Decimal::new(1_000, 20).as_str(), "0.000000000000000010", "trailing zeros past 18 digits drop");
    assert_eq!(Decimal::try_new(1, 19), None, "more than 18 significant fractional digits");
    assert_eq!(Decimal::try_new(i128::MAX, 0), None, "beyond the i128 value");
}

#[test]
fn equality_order_and_hash_look_at_the_value() {
    use std::collections::HashSet;
    let (a, b) = (Decimal::parse("2.50").unwrap(), Decimal::parse("2.5").unwrap());
    assert_eq!(a, b);
    assert_eq!(HashSet::from([a, b]).len(), 1);
    assert_ne!(a.as_str(), b.as_str());
    assert_eq!(a.normalized().as_str(), "2.5");
    assert!(Decimal::parse("-3").unwrap() < Decimal::ZERO);
    assert!(Decimal::ZERO < Decimal::parse_unsigned("0.000000000000000001").unwrap());
    assert!(Decimal::ZERO.is_zero() && !Decimal::ZERO.is_positive() && b.is_positive());
    assert_eq!(format!("{b:?} {b}"), "Decimal(2.5) 2.5");
    assert_eq!(b.to_f64(), 2.5);
}

#[test]
fn new_normalized_drops_trailing_fractional_zeros() {
    for (m, s, text) in [(12_500, 4, "1.25"), (0, 8, "0"), (5_800_103, 2, "58001.03"), (8_620_000, 8, "0.0862")] {
        let d = Decimal::try_new_normalized(m, s).expect("within the rules");
        assert_eq!((d.as_str(), d.raw()), (text, Decimal::parse(text).unwrap().raw()), "{m} {s}");
    }
    assert_eq!(Decimal::try_new_normalized(-1_500, 3).unwrap().as_str(), "-1.5");
    assert_eq!(Decimal::try_new_normalized(1_000, 21).unwrap().as_str(), "0.000000000000000001");
    assert_eq!(Decimal::try_new_normalized(1, 19), None, "more than 18 significant fractional digits");
    assert_eq!(Decimal::try_new_normalized(i128::MAX, 0), None, "beyond the i128 value");
}

fn mantissas() -> impl proptest::strategy::Strategy<Value = i128> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u64>().prop_map(i128::from),
        (0u64..1_000_000).prop_map(|m| i128::from(m) * 1_000_000),
        any::<i64>().prop_map(i128::from),
        any::<i128>(),
    ]
}

proptest::proptest! {
    /// The normalized constructor gives exactly `from_raw`'s value and text, in both of its
    /// paths (a mantissa within `u64`, and beyond it or negative).
    #[test]
    fn new_normalized_is_from_raw_of_the_same_value(m in mantissas(), scale in 0u32..=18) {
        let want = m.checked_mul(POW10[(SCALE - scale) as usize] as i128).and_then(|raw| Decimal::from_raw(raw).ok());
        let got = Decimal::try_new_normalized(m, scale);
        proptest::prop_assert_eq!(
            got.map(|d| (d.raw(), d.as_str().to_owned())),
            want.map(|d| (d.raw(), d.as_str().to_owned()))
        );
    }
}
