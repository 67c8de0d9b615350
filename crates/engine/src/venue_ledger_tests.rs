use proptest::prelude::*;

use super::*;
use crate::venue_orders::{OrderType, Tif, SELL};

fn dec(s: &str) -> Decimal {
    Decimal::parse(s).expect("a decimal")
}

fn inst(base: &str, quote: &str, tick: &str, lot: &str) -> InstrumentAssets {
    InstrumentAssets { base: base.into(), quote: quote.into(), tick: dec(tick), lot: dec(lot) }
}

/// BTC-USD (tick 0.01, lot 0.001) and ETH-USD (tick 0.1, lot 0.0001): USD is shared at
/// different scales. Fees 1 / 5 bps; account 7 starts with its own balances.
fn ledger() -> VenueLedger {
    VenueLedger::new(&LedgerConfig {
        instruments: vec![inst("BTC", "USD", "0.01", "0.001"), inst("ETH", "USD", "0.1", "0.0001")],
        maker_bps: dec("1"),
        taker_bps: dec("5"),
        defaults: vec![("USD".into(), dec("1000")), ("BTC".into(), dec("1"))],
        accounts: vec![(7, vec![("USD".into(), dec("5"))])],
    })
    .expect("a valid config")
}

fn balances(l: &VenueLedger, account: u32) -> Vec<(String, String, String)> {
    l.balances(account).into_iter().map(|(a, f, k)| (a.to_owned(), f.to_string(), k.to_string())).collect()
}

fn row(a: &str, free: &str, locked: &str) -> (String, String, String) {
    (a.into(), free.into(), locked.into())
}

/// The digits of Python's `str(Decimal)`, from core's writer (whose tests hold the cases).
#[test]
fn shown_amounts_print_like_python_decimals() {
    assert_eq!(Shown { units: 98_500, scale: 3 }.to_string(), "98.500");
    assert_eq!(Shown { units: -123, scale: 9 }.to_string(), "-1.23E-7");
}

#[test]
fn a_fresh_account_shows_its_starting_balances_as_configured() {
    let l = ledger();
    assert_eq!(balances(&l, 1), [row("BTC", "1", "0"), row("USD", "1000", "0")]);
    assert_eq!(balances(&l, 7), [row("USD", "5", "0")]);
}

#[test]
fn holds_and_fills_move_free_and_locked_exactly() {
    let mut l = ledger();
    // A buy of 2 BTC at 100.25: 10025 ticks x 2000 lots held.
    l.lock(1, 0, BUY, 10_025 * 2_000).unwrap();
    assert_eq!(balances(&l, 1), [row("BTC", "1", "0"), row("USD", "799.50000", "200.50000")]);
    // Filled 1 at 99 as a taker: 100.25 leaves the hold, 99 is paid (1.25 back), fee 5 bps.
    let fee = l.fill(1, 0, BUY, 9_900, 1_000, false, 10_025 * 1_000).unwrap();
    assert_eq!(fee.to_string(), "0.04950");
    assert_eq!(
        balances(&l, 1),
        [row("BTC", "2.000", "0"), row("USD", "800.70050", "100.25000")],
        "1000 - 200.50 + 1.25 - 0.0495"
    );
    // The rest given back.
    l.release(1, 0, BUY, 10_025 * 1_000).unwrap();
    assert_eq!(balances(&l, 1)[1], row("USD", "900.95050", "0.00000"));
}

#[test]
fn a_sell_holds_the_base_and_receives_the_quote_less_the_fee() {
    let mut l = ledger();
    l.lock(1, 0, SELL, 500).unwrap(); // 0.5 BTC
    let fee = l.fill(1, 0, SELL, 10_000, 500, true, 500).unwrap(); // at 100, maker 1 bps
    assert_eq!(fee.to_string(), "0.00500");
    assert_eq!(balances(&l, 1), [row("BTC", "0.500", "0.000"), row("USD", "1049.99500", "0")]);
}

#[test]
fn more_than_the_free_balance_is_refused_with_the_amounts_and_nothing_changes() {
    let mut l = ledger();
    let before = balances(&l, 7);
    let e = l.lock(7, 0, BUY, 501 * 1_000).unwrap_err(); // 1 BTC at 5.01
    assert_eq!(e.code, "INSUFFICIENT_BALANCE");
    assert_eq!(e.message, "account=7 asset=USD needs=5.01000 free=5");
    assert_eq!(balances(&l, 7), before);
    let e = l.lock(7, 0, SELL, 1).unwrap_err(); // account 7 has no BTC
    assert_eq!(e.message, "account=7 asset=BTC needs=0.001 free=0");
    // Asked about, BTC now shows (as Python's ledger did).
    assert_eq!(balances(&l, 7), [row("BTC", "0", "0"), row("USD", "5", "0")]);
    l.check(7, 0, BUY, 500 * 1_000).unwrap(); // exactly free: fine, nothing taken
    assert_eq!(balances(&l, 7)[1], row("USD", "5", "0"));
}

#[test]
fn a_shared_quote_keeps_both_instruments_exact() {
    let mut l = ledger();
    // ETH-USD: buy 0.0003 ETH at 2000.1 (20001 ticks x 3 lots) = 0.60003 USD.
    l.lock(1, 1, BUY, 20_001 * 3).unwrap();
    // BTC-USD: buy 0.001 BTC at 0.01 (1 tick x 1 lot) = 0.00001 USD.
    l.lock(1, 0, BUY, 1).unwrap();
    let fee = l.fill(1, 1, BUY, 20_001, 3, false, 20_001 * 3).unwrap(); // 5 bps of 0.60003
    assert_eq!(fee.to_string(), "0.000300015");
    let fee = l.fill(1, 0, BUY, 1, 1, true, 1).unwrap(); // 1 bp of 0.00001
    assert_eq!(fee.to_string(), "1E-9");
    let b = balances(&l, 1);
    assert_eq!(b[..2], [row("BTC", "1.001", "0"), row("ETH", "0.0003", "0")]);
    assert_eq!(b[2], row("USD", "999.399659984", "0.00000"), "1000 - 0.60003 - 0.000300015 - 0.00001 - 1e-9");
}

#[test]
fn average_cost_pnl_through_a_reduction_and_a_flip() {
    let mut l = VenueLedger::new(&LedgerConfig {
        instruments: vec![inst("BTC", "USD", "1", "1")],
        maker_bps: dec("0"),
        taker_bps: dec("0"),
        ..LedgerConfig::default()
    })
    .unwrap();
    for (side, price, lots) in [(BUY, 100, 2), (BUY, 110, 2), (SELL, 120, 1), (SELL, 90, 5)] {
        l.hold(1, 0, side, 0).unwrap();
        l.fill(1, 0, side, price, lots, true, 0).unwrap();
    }
    // Long 2 @ 100, long 4 @ 105, sell 1 at 120 (+15), sell 5 at 90: close 3 (-45), short 2 @ 90.
    let [p] = l.positions(1).unwrap()[..] else { panic!("one position") };
    assert_eq!((p.qty.to_string(), p.cost.units, p.cost.scale), ("-2".into(), -180 * 10i128.pow(10), 10));
    assert_eq!(p.realized.units, -30 * 10i128.pow(10));
}

#[test]
fn a_partial_close_removes_the_cost_rounded_half_to_even_at_the_pnl_unit() {
    let mut l =
        VenueLedger::new(&LedgerConfig { instruments: vec![inst("BTC", "USD", "1", "1")], ..LedgerConfig::default() })
            .unwrap();
    // Long 3 at an average of 100 + 1/3, then sell 1 at 101: realized 2/3.
    for (side, price, lots) in [(BUY, 100, 2), (BUY, 101, 1), (SELL, 101, 1)] {
        l.fill(1, 0, side, price, lots, true, 0).unwrap();
    }
    let p = l.positions(1).unwrap()[0];
    assert_eq!(p.realized.units, 6_666_666_667, "0.6666666667 at 10 digits");
    assert_eq!(p.cost.units, 2_006_666_666_667, "301 less 100.3333333333");
}

#[test]
fn an_overflow_is_an_error_and_changes_nothing() {
    let mut l = ledger();
    let before = balances(&l, 1);
    assert_eq!(l.lock(1, 0, BUY, i128::MAX / 2).unwrap_err().code, "OVERFLOW");
    assert_eq!(l.fill(1, 0, BUY, i64::MAX, i64::MAX, true, 0).unwrap_err().code, "OVERFLOW");
    assert_eq!(balances(&l, 1), before);
    assert!(l.positions(1).unwrap().is_empty());
}

#[test]
fn bad_configs_are_refused() {
    let bad = |c: LedgerConfig| VenueLedger::new(&c).unwrap_err().code;
    let mut c = LedgerConfig { instruments: vec![inst("BTC", "USD", "0", "1")], ..LedgerConfig::default() };
    assert_eq!(bad(c.clone()), "INVALID_CONFIG");
    c.instruments = vec![inst("BTC", "USD", "1", "1")];
    c.maker_bps = dec("-1");
    assert_eq!(bad(c.clone()), "INVALID_CONFIG");
    c.maker_bps = dec("1");
    // 18 + 18 digits of tick x lot, 4 of basis points: USD would need 40 decimals.
    let fine = dec("0.000000000000000001");
    c.instruments = vec![InstrumentAssets { tick: fine, lot: fine, ..inst("BTC", "USD", "1", "1") }];
    assert_eq!(bad(c.clone()), "INVALID_CONFIG");
    c.instruments = vec![inst("BTC", "USD", "1", "1")];
    c.taker_bps = dec("-0.5");
    assert_eq!(bad(c), "INVALID_CONFIG");
}

proptest! {
    /// A configured amount comes back with its digits and scale (`"2.50"` shows `2.50`), in
    /// Python's `str(Decimal)` notation (`0.0000012`, `1.5E-7`).
    #[test]
    fn configured_decimals_round_trip_with_their_digits(
        mantissa in -(10i128.pow(20) - 1)..10i128.pow(20),
        scale in 0u32..=18,
    ) {
        let amount = Decimal::new(mantissa, scale);
        let back = Decimal::parse(amount.as_str()).expect("its own text reads back");
        prop_assert_eq!((back.mantissa(), back.scale()), (mantissa, scale));
        let config = LedgerConfig { defaults: vec![("USD".into(), back)], ..LedgerConfig::default() };
        let l = VenueLedger::new(&config).expect("a valid config");
        let [(asset, free, locked)] = l.balances(1)[..] else { panic!("one balance") };
        prop_assert_eq!((asset, free, locked), ("USD", Shown { units: mantissa, scale }, Shown::default()));
        // Plain text when Python's str would be plain (at most six zeros after the point).
        let digits = mantissa.unsigned_abs().to_string().len() as i64;
        if digits - i64::from(scale) > -6 {
            prop_assert_eq!(free.to_string(), amount.as_str());
        } else {
            prop_assert!(free.to_string().contains('E'), "{} for {}", free, amount);
        }
    }
}

#[test]
fn carry_out_gives_holds_back_and_charges_fills_then_only_the_rest_is_left() {
    let mut orders = VenueOrders::new(2, 0, 10);
    let mut l = ledger();
    let o = NewOrder {
        account: 7,
        client_order_id: None,
        instrument: 0,
        side: BUY,
        order_type: OrderType::Limit,
        tif: Tif::Gtc,
        price: Some(600),
        qty: 1_000,
        held: 600 * 1_000,
        now_ns: 1,
    };
    // 6 USD held of 5 free: refused, neither the table nor the ledger changes.
    let e = place_with_hold(&mut orders, &mut l, &o).unwrap_err();
    assert_eq!((e.code, orders.next_id()), ("INSUFFICIENT_BALANCE", 1));
    let o = NewOrder { price: Some(400), held: 400 * 1_000, ..o };
    let id = place_with_hold(&mut orders, &mut l, &o).unwrap();
    assert_eq!(balances(&l, 7), [row("USD", "1.00000", "4.00000")]);
    let mut effects = vec![
        Effect::Trade { instrument: 0, price: 300, qty: 1_000, side: SELL },
        Effect::Fill {
            order_id: id,
            client_order_id: "wm-1".into(),
            account: 7,
            instrument: 0,
            side: BUY,
            qty: 1_000,
            price: 300,
            maker: true,
            from_hold: 400 * 1_000,
            fee: 0,
            fee_scale: 0,
        },
        Effect::Unlock { account: 7, instrument: 0, side: BUY, units: 0 },
    ];
    assert!(l.carry_out(&mut effects).is_empty());
    assert_eq!(effects.len(), 2, "the unlock is done");
    assert!(matches!(effects[1], Effect::Fill { fee: 30, fee_scale: 5, .. }), "1 bp of 3.00000");
    assert_eq!(balances(&l, 7), [row("BTC", "1.000", "0"), row("USD", "1.99970", "0.00000")]);
}
