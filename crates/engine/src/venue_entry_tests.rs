use super::*;

fn btc() -> EntryInstrument {
    EntryInstrument::new("BTC-USD", ["0.01", "0.001", "0.001", "100", "1", "1000000"]).unwrap()
}

#[test]
fn python_str_writes_what_pythons_str_of_decimal_shows() {
    for (text, shown) in [
        ("007.50", "7.50"),
        ("0", "0"),
        ("00.000", "0.000"),
        ("0.000001", "0.000001"),
        ("0.0000001", "1E-7"),
        ("0.00000012", "1.2E-7"),
        ("0.0000000", "0E-7"),
        ("100", "100"),
        ("12.5", "12.5"),
    ] {
        assert_eq!(python_str(text), shown, "{text}");
    }
}

#[test]
fn quantities_are_checked_in_the_order_and_with_the_codes_of_the_python_venue() {
    let i = btc();
    assert_eq!(i.lots_of("1.5").unwrap(), 1500);
    let err = |t: &str| i.lots_of(t).unwrap_err();
    assert_eq!((err("0").code, err("0").message.as_str()), ("INVALID_QTY", "qty=0 must be positive"));
    assert_eq!(err("101").message, "qty=101 outside [0.001, 100] for BTC-USD");
    assert_eq!(err("0.0015").message, "qty=0.0015 is not a multiple of lot_size=0.001");
    // More fractional digits than a decimal holds: off the grid, or out of range.
    assert_eq!(err("1.00000000000000000001").message, "qty=1.00000000000000000001 is not a multiple of lot_size=0.001");
    assert!(err("100.00000000000000000001").message.contains("outside"));
    assert!(err("99999999999999999999.9").message.contains("outside"));
}

#[test]
fn prices_are_checked_in_range_then_on_the_tick_grid() {
    let i = btc();
    assert_eq!(i.ticks_of("100.25").unwrap(), 10025);
    let e = i.ticks_of("0.5").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("INVALID_PRICE", "price=0.5 outside [1, 1000000] for BTC-USD"));
    let e = i.ticks_of("100.255").unwrap_err();
    assert_eq!((e.code, e.message.as_str()), ("OFF_TICK", "price=100.255 is not a multiple of tick_size=0.01"));
}

#[test]
fn integers_are_written_back_as_the_python_venue_formats_them() {
    let i = btc();
    assert_eq!(i.price_text(10025), "100.25");
    assert_eq!(i.qty_text(1500), "1.500");
    assert_eq!(i.quote_text(0), "0");
    assert_eq!(i.quote_text(10025 * 1500), "150.37500");
}
