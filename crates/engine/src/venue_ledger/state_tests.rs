//! The order table's and the ledger's state documents (`to_state` / `load_state`).

use wintermute_core::decimal::Decimal;
use wintermute_core::records::kind;

use crate::venue_ledger::{place_with_hold, InstrumentAssets, LedgerConfig, VenueLedger};
use crate::venue_orders::{hold_units, Effect, NewOrder, OrderEvent, OrderType, Tif, VenueOrders, BUY, SELL};

/// `mantissa x 10^exponent`.
fn dec(mantissa: i128, exponent: i32) -> Decimal {
    match u32::try_from(exponent) {
        Ok(up) => Decimal::new(mantissa * 10i128.pow(up), 0),
        Err(_) => Decimal::new(mantissa, exponent.unsigned_abs()),
    }
}

/// BTC-USD (tick 0.01, lot 0.001) and ETH-USD (tick 0.1, lot 0.0001); fees 1 / 5 bps.
fn ledger() -> VenueLedger {
    let inst = |base: &str, tick, lot| InstrumentAssets { base: base.into(), quote: "USD".into(), tick, lot };
    VenueLedger::new(&LedgerConfig {
        instruments: vec![inst("BTC", dec(1, -2), dec(1, -3)), inst("ETH", dec(1, -1), dec(1, -4))],
        maker_bps: dec(1, 0),
        taker_bps: dec(5, 0),
        defaults: vec![("USD".into(), dec(1000, 0)), ("BTC".into(), dec(10, 0))],
        accounts: vec![(7, vec![("USD".into(), dec(5, 0))])],
    })
    .expect("a valid config")
}

fn limit<'a>(account: u32, cid: &'a str, side: u8, price: i64, qty: i64) -> NewOrder<'a> {
    NewOrder {
        account,
        client_order_id: Some(cid),
        instrument: 0,
        side,
        order_type: OrderType::Limit,
        tif: Tif::Gtc,
        price: Some(price),
        qty,
        held: hold_units(side, qty, price),
        now_ns: 1_000,
    }
}

/// Applies one command's events to the table and the ledger.
fn run(orders: &mut VenueOrders, ledger: &mut VenueLedger, events: &[OrderEvent]) {
    let mut effects: Vec<Effect> = Vec::new();
    for e in events {
        orders.event(e, None, 2_000, &mut effects);
    }
    orders.command_done();
    assert!(ledger.carry_out(&mut effects).is_empty());
}

fn ev(kind: u8, order_id: u64, other_id: u64, price: i64, qty: i64, remaining: i64) -> OrderEvent {
    OrderEvent { kind, order_id, other_id, side: BUY, price, qty, remaining, ..OrderEvent::default() }
}

/// Account 1 rests a sell of 2 BTC at 100 (`a1`) and a buy of 1 at 90 (`a2`); account 2's
/// buy of 0.5 at 100 (`b1`) takes part of the sell.
fn traded() -> (VenueOrders, VenueLedger) {
    let (mut orders, mut ledger) = (VenueOrders::new(2, 0, 100), ledger());
    let ask = place_with_hold(&mut orders, &mut ledger, &limit(1, "a1", SELL, 10_000, 2_000)).unwrap();
    run(&mut orders, &mut ledger, &[ev(kind::ACCEPTED, ask, 0, 10_000, 2_000, 2_000)]);
    let bid = place_with_hold(&mut orders, &mut ledger, &limit(1, "a2", BUY, 9_000, 1_000)).unwrap();
    run(&mut orders, &mut ledger, &[ev(kind::ACCEPTED, bid, 0, 9_000, 1_000, 1_000)]);
    let taker = place_with_hold(&mut orders, &mut ledger, &limit(2, "b1", BUY, 10_000, 500)).unwrap();
    run(
        &mut orders,
        &mut ledger,
        &[ev(kind::ACCEPTED, taker, 0, 10_000, 500, 500), ev(kind::TRADE, ask, taker, 10_000, 500, 1_500)],
    );
    (orders, ledger)
}

fn balances(l: &VenueLedger, account: u32) -> Vec<String> {
    l.balances(account).into_iter().map(|(a, f, k)| format!("{a} {f} {k}")).collect()
}

#[test]
fn the_order_table_and_the_ledger_load_back_as_they_were() {
    let (orders, ledger) = traded();
    let (mut orders2, mut ledger2) = (VenueOrders::new(2, 0, 100), self::ledger());
    orders2.load_state(&orders.to_state()).unwrap();
    ledger2.load_state(&ledger.to_state()).unwrap();
    assert_eq!(orders2.to_state(), orders.to_state());
    assert_eq!(ledger2.to_state(), ledger.to_state());
    let a1 = orders2.by_client(1, "a1").expect("the client order id is known");
    assert_eq!((a1.status.name(), a1.filled, a1.held), ("partially_filled", 500, 1_500));
    assert_eq!(orders2.by_client(2, "b1").map(|o| o.status.name()), Some("filled"));
    let open: Vec<u64> = orders2.open_orders(1).map(|o| o.order_id).collect();
    assert_eq!(open, [1, 2]);
    assert_eq!(orders2.next_id(), 4);
    for account in [1, 2, 7] {
        assert_eq!(balances(&ledger2, account), balances(&ledger, account));
        assert_eq!(ledger2.positions(account).unwrap(), ledger.positions(account).unwrap());
    }
    assert_eq!(balances(&ledger2, 2)[0], "BTC 10.500 0");
}

#[test]
fn a_loaded_table_goes_on_like_the_original() {
    let (mut orders, mut ledger) = traded();
    let (mut orders2, mut ledger2) = (VenueOrders::new(2, 0, 100), self::ledger());
    orders2.load_state(&orders.to_state()).unwrap();
    ledger2.load_state(&ledger.to_state()).unwrap();
    // The resting sell is canceled; a repeated client order id is refused in both.
    for (o, l) in [(&mut orders, &mut ledger), (&mut orders2, &mut ledger2)] {
        run(o, l, &[ev(kind::CANCELED, 1, 0, 10_000, 0, 0)]);
        let again = place_with_hold(o, l, &limit(1, "a2", BUY, 9_000, 1_000)).unwrap_err();
        assert_eq!(again.code, "DUPLICATE_CLIENT_ORDER_ID");
        assert_eq!(place_with_hold(o, l, &limit(1, "a3", BUY, 9_000, 1_000)).unwrap(), 4);
    }
    assert_eq!(orders2.to_state(), orders.to_state());
    assert_eq!(ledger2.to_state(), ledger.to_state());
    // 1000 USD - two bids of 1 at 90 held + 0.5 sold at 100 - the maker fee (1 bp, 0.005);
    // 10 BTC - the 0.5 sold (the rest of the hold given back by the cancel).
    assert_eq!(balances(&ledger2, 1), ["BTC 9.500 0.000", "USD 869.99500 180.00000"]);
}

#[test]
fn a_foreign_or_damaged_document_is_an_error_and_changes_nothing() {
    let (orders, ledger) = traded();
    let (mut orders2, mut ledger2) = traded();
    let (o, l) = (orders.to_state(), ledger.to_state());
    let cases = [
        ("{".to_owned(), "not a state document"),
        ("[1, 2]".to_owned(), "not a state document"),
        (r#"{"part": "books", "version": 1}"#.to_owned(), "expected \"orders\""),
        (o.replace(r#""version":1"#, r#""version":9"#), "version 9; this build reads version 1"),
        (o.replace(r#""client_order_id":"a1""#, r#""client_order_id":7"#), "orders[0].client_order_id"),
        (o.replace(r#""instrument":0"#, r#""instrument":5"#), "instrument=5"),
        (o.replace(r#""closed":["#, r#""closed":[99,"#), "closed order 99"),
    ];
    for (doc, why) in cases {
        let e = orders2.load_state(&doc).unwrap_err();
        assert!(e.to_string().contains(why), "{e} / {why}");
        assert_eq!(orders2.to_state(), o);
    }
    let e = ledger2.load_state(&o).unwrap_err();
    assert_eq!(e.to_string(), r#"venue state (ledger): the document is part=Some("orders"), expected "ledger""#);
    let e = ledger2.load_state(&l.replace(r#"["BTC","#, r#"["DOGE","#)).unwrap_err();
    assert!(e.to_string().contains(r#"an unknown asset"#), "{e}");
    let e = ledger2.load_state(&l.replace(r#"[[0,{"#, r#"[[4,{"#)).unwrap_err();
    assert!(e.to_string().contains("instrument 4"), "{e}");
    assert_eq!(ledger2.to_state(), l);
}

#[test]
fn the_binary_documents_load_back_as_the_json_ones_do() {
    let (orders, ledger) = traded();
    let (mut orders2, mut ledger2) = (VenueOrders::new(2, 0, 100), self::ledger());
    orders2.load_state_bin(&orders.to_state_bin()).unwrap();
    ledger2.load_state_bin(&ledger.to_state_bin()).unwrap();
    assert_eq!((orders2.to_state(), orders2.to_state_bin()), (orders.to_state(), orders.to_state_bin()));
    assert_eq!((ledger2.to_state(), ledger2.to_state_bin()), (ledger.to_state(), ledger.to_state_bin()));
    // Smaller than the JSON documents by far.
    assert!(orders.to_state_bin().len() * 3 < orders.to_state().len(), "{}", orders.to_state_bin().len());
    assert!(ledger.to_state_bin().len() * 2 < ledger.to_state().len(), "{}", ledger.to_state_bin().len());
}

#[test]
fn a_foreign_or_damaged_binary_document_is_an_error_and_changes_nothing() {
    let (orders, ledger) = traded();
    let (mut orders2, mut ledger2) = traded();
    let (o, l) = (orders.to_state_bin(), ledger.to_state_bin());
    let cut = &o[..o.len() - 2];
    let longer = [o.as_slice(), &[0]].concat();
    let json = orders.to_state();
    let cases: [(&[u8], &str); 5] = [
        (&[], "not a binary state document"),
        (&l, "expected \"orders\""),
        (cut, "damaged"),
        (&longer, "1 bytes after the document"),
        (json.as_bytes(), "expected \"orders\""),
    ];
    for (doc, why) in cases {
        let e = orders2.load_state_bin(doc).unwrap_err();
        assert!(e.to_string().contains(why), "{e} / {why}");
        assert_eq!(orders2.to_state_bin(), o);
    }
    let e = ledger2.load_state_bin(&o).unwrap_err();
    assert_eq!(e.to_string(), r#"venue state (ledger): the document is part=Some("orders"), expected "ledger""#);
    assert_eq!(ledger2.to_state_bin(), l);
}

#[test]
fn unsent_orders_are_those_registered_and_not_yet_sent() {
    let (mut orders, mut ledger) = traded();
    assert!(orders.unsent().is_empty());
    let id = place_with_hold(&mut orders, &mut ledger, &limit(1, "a9", BUY, 9_000, 1_000)).unwrap();
    assert_eq!(orders.unsent(), [id]);
    let mut back = VenueOrders::new(2, 0, 100);
    back.load_state_bin(&orders.to_state_bin()).unwrap();
    assert_eq!(back.unsent(), [id]);
}
