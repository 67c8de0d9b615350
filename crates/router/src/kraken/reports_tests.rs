use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;

fn xbt() -> KrakenPair {
    KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").unwrap()
}

const ORDERS: &str = r#"{"error":[],"result":{"OQCLML-BW3P3-BUCMWZ":{"refid":null,"userref":0,"cl_ord_id":"mine-1","status":"closed","opentm":1688666559.8974,"starttm":0,"expiretm":0,"descr":{"pair":"XBTUSD","type":"buy","ordertype":"limit","price":"30010.0","price2":"0","leverage":"none","order":"buy 1.25000000 XBTUSD @ limit 30010.0","close":""},"vol":"1.25000000","vol_exec":"0.37500000","cost":"11253.7","fee":"0.00000","price":"30010.0","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq","closetm":1688666560.5,"reason":null}}}"#;

const TRADES: &str = r#"{"error":[],"result":{"trades":{"THVRQM-33VKH-UCI7BS":{"ordertxid":"OQCLML-BW3P3-BUCMWZ","postxid":"TKH2SE-M7IF5-CFI7LT","pair":"XXBTZUSD","time":1688667796.8802,"type":"buy","ordertype":"limit","price":"30010.0","cost":"600.20000","fee":"0.00000","vol":"0.02000000","margin":"0.00000","leverage":"0","misc":"","trade_id":40274859,"maker":true}},"count":1}}"#;

#[test]
fn an_order_becomes_a_status_report_with_its_executed_volume_and_close_time() {
    let orders: QueriedOrders = parse_envelope("q", ORDERS.as_bytes()).unwrap().unwrap();
    let (txid, order) = orders.iter().next().unwrap();
    let report = order_report(txid, order, "mine-1", &xbt(), 7).unwrap();
    assert_eq!(report.kind, ReportKind::New);
    assert_eq!(report.cum_qty, Some(37_500_000));
    assert_eq!(report.exchange_ts_ns, 1_688_666_560_500_000_000);
    assert_eq!(report.venue_order_id.as_deref(), Some("OQCLML-BW3P3-BUCMWZ"));
    assert_eq!(report.venue, Venue::Kraken);
}

#[test]
fn a_trade_becomes_an_exact_fill_keyed_by_its_trade_id_with_the_fee_in_quote() {
    let page: TradesHistory = parse_envelope("t", TRADES.as_bytes()).unwrap().unwrap();
    let trade = page.trades.values().next().unwrap();
    let report = trade_report(trade, "mine-1", &xbt(), 0).unwrap();
    let ReportKind::Trade(fill) = &report.kind else { panic!("not a trade") };
    assert_eq!((fill.trade_id, fill.price, fill.qty, fill.is_maker), (40_274_859, 300_100, 2_000_000, true));
    assert_eq!((fill.fee.to_string().as_str(), fill.fee_currency.as_str()), ("0.00000", "ZUSD"));
    assert_eq!(report.exchange_ts_ns, 1_688_667_796_880_200_000);
}

#[test]
fn an_error_envelope_is_the_venues_refusal_verbatim_and_off_grid_text_is_an_error() {
    let refused = parse_envelope::<AddOrderResult>("a", br#"{"error":["EOrder:Post only order"]}"#).unwrap();
    assert_eq!(refused.unwrap_err(), vec!["EOrder:Post only order".to_owned()]);
    let off_grid = TRADES.replace("\"30010.0\",\"cost\"", "\"30010.05\",\"cost\"");
    let page: TradesHistory = parse_envelope("t", off_grid.as_bytes()).unwrap().unwrap();
    let err = trade_report(page.trades.values().next().unwrap(), "c", &xbt(), 0).unwrap_err();
    assert_eq!(err, ReportParseError::BadDecimal { field: "price", text: "30010.05".into() });
    let unknown = ORDERS.replace("\"closed\"", "\"weird\"");
    let orders: QueriedOrders = parse_envelope("q", unknown.as_bytes()).unwrap().unwrap();
    let (txid, order) = orders.iter().next().unwrap();
    assert_eq!(order_report(txid, order, "c", &xbt(), 0).unwrap_err(), ReportParseError::UnknownStatus("weird".into()));
    assert!(matches!(
        parse_envelope::<AddOrderResult>("a", b"{\"error\":[]}"),
        Err(ReportParseError::Malformed { .. })
    ));
}

type Outcomes = crate::order::FuzzOutcomes;

/// Every Kraken parser and report conversion over one input: each either yields reports, a
/// refusal, or a counted [`ReportParseError`].
fn parse_everything(bytes: &[u8], out: &mut Outcomes) {
    out.count("inputs");
    let pair = xbt();
    match parse_envelope::<QueriedOrders>("q", bytes) {
        Ok(Ok(orders)) => {
            for (txid, order) in &orders {
                match order_report(txid, order, "c", &pair, 0) {
                    Ok(_) => out.count("order report"),
                    Err(e) => out.error(&e),
                }
            }
        }
        Ok(Err(_)) => out.count("refusal"),
        Err(e) => out.error(&e),
    }
    match parse_envelope::<TradesHistory>("t", bytes) {
        Ok(Ok(page)) => {
            for trade in page.trades.values() {
                match trade_report(trade, "c", &pair, 0) {
                    Ok(_) => out.count("trade report"),
                    Err(e) => out.error(&e),
                }
            }
        }
        Ok(Err(_)) => out.count("refusal"),
        Err(e) => out.error(&e),
    }
    for result in [
        parse_envelope::<AddOrderResult>("a", bytes).map(|_| ()),
        parse_envelope::<OpenOrders>("o", bytes).map(|_| ()),
        parse_envelope::<CountResult>("c", bytes).map(|_| ()),
    ] {
        if let Err(e) = result {
            out.error(&e);
        }
    }
}

fn mutations() -> impl Strategy<Value = (bool, usize, u8, usize, &'static str, &'static str)> {
    (
        any::<bool>(),
        0usize..TRADES.len().max(ORDERS.len()),
        any::<u8>(),
        0usize..TRADES.len().max(ORDERS.len()),
        prop_oneof![Just("null"), Just("-1"), Just("\"1e5\""), Just("1e400"), Just("\"-0.5\""), Just("[]"), Just("{}")],
        prop_oneof![
            Just("\"trade_id\":"),
            Just("\"price\":"),
            Just("\"vol_exec\":"),
            Just("\"time\":"),
            Just("\"opentm\":"),
            Just("\"fee\":"),
            Just("\"status\":"),
            Just("\"error\":"),
        ],
    )
}

#[test]
fn fuzzed_kraken_answers_never_panic_and_every_malformed_one_is_a_counted_error() {
    const CASES: u32 = 3000;
    let out = std::cell::RefCell::new(Outcomes::default());
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..400), |bytes| {
            parse_everything(&bytes, &mut out.borrow_mut());
            Ok(())
        })
        .unwrap();
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&mutations(), |(trades, pos, byte, cut, value, field)| {
            let base = if trades { TRADES } else { ORDERS };
            let mut bytes = base.as_bytes().to_vec();
            let pos = pos % bytes.len();
            bytes[pos] = byte;
            parse_everything(&bytes, &mut out.borrow_mut());
            parse_everything(&base.as_bytes()[..cut % base.len()], &mut out.borrow_mut());
            if let Some(at) = base.find(field) {
                let start = at + field.len();
                let end = start + base[start..].find([',', '}']).unwrap_or(0);
                parse_everything(
                    format!("{}{}{}", &base[..start], value, &base[end..]).as_bytes(),
                    &mut out.borrow_mut(),
                );
            }
            Ok(())
        })
        .unwrap();
    let out = out.into_inner();
    println!("kraken parser fuzz outcomes: {:?}", out.0);
    let inputs = out.get("inputs");
    assert!(inputs >= u64::from(CASES) * 3, "{inputs}");
    assert!(out.get("malformed") > 0 && out.get("bad decimal") > 0, "{:?}", out.0);
    assert!(out.get("order report") + out.get("trade report") > 0);
}
