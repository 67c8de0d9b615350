use proptest::prelude::*;

use super::*;

fn btc() -> EntryInstrument {
    EntryInstrument::new("BTC-USD", ["0.01", "0.001", "0.001", "100", "1", "1000000"]).unwrap()
}

fn shown(text: &str) -> String {
    parse(&normalize(text).unwrap()).unwrap().python_str()
}

#[test]
fn values_are_shown_as_pythons_str_of_decimal_shows_them() {
    for (text, expected) in [
        ("007.50", "7.50"),
        ("0", "0"),
        ("-0", "-0"),
        ("00.000", "0.000"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1E-7"),
        ("0.00000012", "1.2E-7"),
        ("0.0000000", "0E-7"),
        ("100", "100"),
        ("12.5", "12.5"),
        ("1.5e3", "1.5E+3"),
        ("123e1", "1.23E+3"),
        ("0E+3", "0E+3"),
        ("1.00e-7", "1.00E-7"),
        ("-.5", "-0.5"),
        ("5.", "5"),
        ("1e999999999999999999", "1E+999999999999999999"),
        ("nan00", "NaN"),
        ("-snan0012", "-sNaN12"),
        ("-inf", "-Infinity"),
        ("iNfInItY", "Infinity"),
        (" \u{3000}1_000\t", "1000"),
        ("\u{661}\u{662}.\u{665}", "12.5"),
        ("\u{ff11}e\u{ff12}", "1E+2"),
    ] {
        assert_eq!(shown(text), expected, "{text:?}");
    }
}

#[test]
fn text_python_does_not_read_is_not_decimal_text() {
    for text in [
        "",
        " ",
        "_",
        ".",
        "e5",
        ".e1",
        "1e",
        "1e+",
        "1 0",
        "1,0",
        "0x10",
        "1..0",
        "1e5e5",
        "infinit",
        "infinityy",
        "nan1.5",
        "1\u{0}",
        "1\u{200b}",
        "\u{2007}",
        "++1",
        "1e1000000000000000000",
        "0e1000000000000000000",
        "0e-1999999999999999998",
        "100e-1999999999999999999",
        "1e99999999999999999999999999",
    ] {
        assert!(normalize(text).and_then(|t| parse(&t).map(|v| v.python_str())).is_none(), "{text:?}");
    }
    for text in ["0e-1999999999999999997", "1e-1999999999999999997", "99e999999999999999998", "0.0e1000000000000000000"]
    {
        assert!(normalize(text).and_then(|t| parse(&t).map(|_| ())).is_some(), "{text:?}");
    }
}

#[test]
fn quantities_are_checked_in_the_order_and_with_the_codes_of_the_python_venue() {
    let i = btc();
    assert_eq!(i.lots_of("1.5").unwrap(), 1500);
    let err = |t: &str| i.lots_of(t).unwrap_err();
    assert_eq!((err("0").code, err("0").message.as_str()), ("INVALID_QTY", "qty=0 must be positive"));
    assert_eq!(err("-0.00").message, "qty=-0.00 must be positive");
    assert_eq!(err("-1E+999").message, "qty=-1E+999 must be positive");
    assert_eq!(err("101").message, "qty=101 outside [0.001, 100] for BTC-USD");
    assert_eq!(err("0.0015").message, "qty=0.0015 is not a multiple of lot_size=0.001");
    assert_eq!(err("NaN").message, "qty=NaN is not finite");
    assert_eq!(err("1 0").message, "qty='1 0' is not a decimal");
    assert_eq!(err("it's").message, "qty=\"it's\" is not a decimal");
    // More fractional digits than a decimal holds: off the grid, or out of range.
    assert_eq!(err("1.00000000000000000001").message, "qty=1.00000000000000000001 is not a multiple of lot_size=0.001");
    assert_eq!(
        err("100.00000000000000000001").message,
        "qty=100.00000000000000000001 outside [0.001, 100] for BTC-USD"
    );
    assert!(err("99999999999999999999.9").message.contains("outside"));
    assert_eq!(err("1E-999999999").message, "qty=1E-999999999 outside [0.001, 100] for BTC-USD");
    // Exact whatever the digits: trailing zeros past 18 places are still 1.5.
    assert_eq!(i.lots_of(&format!("1.5{}", "0".repeat(100))).unwrap(), 1500);
    assert_eq!(i.lots_of("0.015e2").unwrap(), 1500);
}

#[test]
fn prices_are_checked_in_range_then_on_the_tick_grid() {
    let i = btc();
    assert_eq!(i.ticks_of("100.25").unwrap(), 10025);
    let e = i.ticks_of("0.5").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("INVALID_PRICE", "price=0.5 outside [1, 1000000] for BTC-USD"));
    let e = i.ticks_of("100.255").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("OFF_TICK", "price=100.255 is not a multiple of tick_size=0.01"));
    let e = i.ticks_of("-Infinity").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("INVALID_PRICE", "price=-Infinity is not finite"));
    assert_eq!(i.units_of(Field::Price, "x"), Err(Refused::NotDecimal));
}

#[test]
fn bounds_are_shown_as_python_shows_them_and_must_fit_the_integers() {
    let i = EntryInstrument::new("X", ["1E+1", "0.0000001", "0.0000001", "1e2", "10", "100.0"]).unwrap();
    assert_eq!(i.lots_of("0").unwrap_err().message, "qty=0 must be positive");
    assert_eq!(i.lots_of("101").unwrap_err().message, "qty=101 outside [1E-7, 1E+2] for X");
    assert_eq!(i.ticks_of("15").unwrap_err().message, "price=15 is not a multiple of tick_size=1E+1");
    assert_eq!(i.ticks_of("20").unwrap(), 2);
    assert_eq!(i.price_text(2), "20");
    assert_eq!(i.qty_text(15), "0.0000015");
    assert!(EntryInstrument::new("X", ["0", "1", "1", "2", "1", "2"]).is_err());
    assert!(EntryInstrument::new("X", ["1", "1e-19", "1", "2", "1", "2"]).is_err());
    assert!(EntryInstrument::new("X", ["1", "1", "1", "2", "1", "NaN"]).is_err());
    assert!(EntryInstrument::new("X", ["1e-18", "1", "1", "2", "1", "100"]).is_err());
    // 1e20 ticks
}

#[test]
fn repr_quotes_as_python_does() {
    assert_eq!(python_repr("abc"), "'abc'");
    assert_eq!(python_repr("a'b"), "\"a'b\"");
    assert_eq!(python_repr("a'b\""), "'a\\'b\"'");
    assert_eq!(python_repr("\t\n\r\\\u{0}\u{7f}"), "'\\t\\n\\r\\\\\\x00\\x7f'");
    assert_eq!(python_repr("\u{a0}\u{3000}é"), "'\\xa0\\u3000é'");
}

#[test]
fn integers_are_written_back_as_the_python_venue_formats_them() {
    let i = btc();
    assert_eq!(i.price_text(10025), "100.25");
    assert_eq!(i.qty_text(1500), "1.500");
    assert_eq!(i.quote_text(0), "0");
    assert_eq!(i.quote_text(10025 * 1500), "150.37500");
}

/// A reference for plain text: the value as an exact fraction of 10^-30 units (i128 holds
/// every text the strategy writes), compared and divided plainly.
fn reference(text: &str, min: i128, max: i128, unit: i128) -> Option<i64> {
    let negative = text.starts_with('-');
    let body = text.trim_start_matches('-');
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut v: i128 = format!("{int}{frac:0<30}").parse().unwrap();
    if negative {
        v = -v;
    }
    let scale = 10i128.pow(12); // bounds and unit are in 10^-18 units
    (v > 0 && v >= min * scale && v <= max * scale && v % (unit * scale) == 0).then(|| (v / (unit * scale)) as i64)
}

proptest! {
    #[test]
    fn plain_quantities_are_lots_exactly_when_the_reference_says_so(
        negative in any::<bool>(),
        int in 0u64..200,
        frac in proptest::collection::vec(0u8..10, 0..30),
    ) {
        let frac: String = frac.iter().map(|d| char::from(b'0' + d)).collect();
        let text = format!("{}{int}{}{frac}", if negative { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
        let i = btc();
        let expected = reference(&text, 10i128.pow(15), 100 * 10i128.pow(18), 10i128.pow(15));
        prop_assert_eq!(i.lots_of(&text).ok(), expected, "{}", text);
    }
}
