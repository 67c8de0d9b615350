use std::cell::RefCell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;
use crate::order::FuzzOutcomes;

fn band() -> CoinbaseProduct {
    CoinbaseProduct::new("BAND-GBP", "0.0001", "0.01", "GBP").unwrap()
}

const ORDER: &str = r#"{"order":{"order_id":"00000000-0000-4000-8000-0000000f4241","product_id":"BAND-GBP","user_id":"u","order_configuration":{"limit_limit_gtc":{"base_size":"30.00","limit_price":"14.8069","post_only":false}},"side":"BUY","client_order_id":"lim-1","status":"OPEN","time_in_force":"GOOD_UNTIL_CANCELLED","created_time":"2021-04-17T16:43:37.077Z","last_fill_time":"2021-04-17T16:43:37.078Z","filled_size":"25.26","filled_value":"374.0662","number_of_fills":"2","total_fees":"2.24439","pending_cancel":false,"size_in_quote":false,"order_type":"LIMIT","product_type":"SPOT","settled":false}}"#;

const FILLS: &str = r#"{"fills":[{"entry_id":"e","trade_id":"00000000-0000-4000-9000-0000004c4b41","order_id":"00000000-0000-4000-8000-0000000f4241","trade_time":"2021-04-17T16:43:37.078Z","trade_type":"FILL","price":"14.8024","size":"12.77","commission":"1.13413188","product_id":"BAND-GBP","sequence_timestamp":"2021-04-17T16:43:37.078Z","liquidity_indicator":"TAKER","size_in_quote":false,"user_id":"u","side":"BUY"}],"cursor":""}"#;

#[test]
fn an_order_and_its_fill_become_exact_reports_and_a_trade_id_keeps_its_number() {
    let read: OrderResponse = parse("order", ORDER.as_bytes()).unwrap();
    let report = order_report(&read.order, "lim-1", &band(), 0).unwrap();
    assert_eq!((report.kind.clone(), report.cum_qty), (ReportKind::New, Some(2526)));
    assert_eq!(report.exchange_ts_ns, 1_618_677_817_078_000_000);
    let page: FillsPage = parse("fills", FILLS.as_bytes()).unwrap();
    let mut ids = TradeIds::default();
    let first = fill_report(&page.fills[0], "lim-1", &band(), &mut ids, 0).unwrap();
    let again = fill_report(&page.fills[0], "lim-1", &band(), &mut ids, 0).unwrap();
    assert_eq!(first, again, "the same trade id, the same number");
    let ReportKind::Trade(fill) = &first.kind else { panic!("not a trade") };
    assert_eq!((fill.price, fill.qty, fill.is_maker, fill.fee_currency.as_str()), (148_024, 1277, false, "GBP"));
    assert_eq!(fill.fee.to_string(), "1.13413188");
}

fn parse_everything(bytes: &[u8], out: &mut FuzzOutcomes) {
    out.count("inputs");
    let product = band();
    let mut ids = TradeIds::default();
    match parse::<OrderResponse>("order", bytes) {
        Ok(read) => match order_report(&read.order, "c", &product, 0) {
            Ok(_) => out.count("order report"),
            Err(e) => out.error(&e),
        },
        Err(e) => out.error(&e),
    }
    match parse::<FillsPage>("fills", bytes) {
        Ok(page) => {
            for fill in &page.fills {
                match fill_report(fill, "c", &product, &mut ids, 0) {
                    Ok(_) => out.count("fill report"),
                    Err(e) => out.error(&e),
                }
            }
        }
        Err(e) => out.error(&e),
    }
    for result in [
        parse::<OrdersPage>("orders", bytes).map(|_| ()),
        parse::<CreateOrderResponse>("create", bytes).map(|_| ()),
        parse::<ErrorBody>("error", bytes).map(|_| ()),
    ] {
        if let Err(e) = result {
            out.error(&e);
        }
    }
}

#[test]
fn fuzzed_coinbase_answers_never_panic_and_every_malformed_one_is_a_counted_error() {
    const CASES: u32 = 3000;
    let out = RefCell::new(FuzzOutcomes::default());
    let config = || Config { cases: CASES, failure_persistence: None, ..Config::default() };
    TestRunner::new(config())
        .run(&prop::collection::vec(any::<u8>(), 0..400), |bytes| {
            parse_everything(&bytes, &mut out.borrow_mut());
            Ok(())
        })
        .unwrap();
    let fields = prop_oneof![
        Just("\"price\":"),
        Just("\"size\":"),
        Just("\"filled_size\":"),
        Just("\"trade_time\":"),
        Just("\"created_time\":"),
        Just("\"status\":"),
        Just("\"liquidity_indicator\":"),
        Just("\"commission\":"),
    ];
    let values = prop_oneof![
        Just("null"),
        Just("-1"),
        Just("\"1e5\""),
        Just("\"2021-13-01T00:00:00Z\""),
        Just("\"-0.5\""),
        Just("[]")
    ];
    TestRunner::new(config())
        .run(
            &(any::<bool>(), any::<usize>(), any::<u8>(), any::<usize>(), values, fields),
            |(fills, pos, byte, cut, value, field)| {
                let base = if fills { FILLS } else { ORDER };
                let mut bytes = base.as_bytes().to_vec();
                bytes[pos % base.len()] = byte;
                let mut out = out.borrow_mut();
                parse_everything(&bytes, &mut out);
                parse_everything(&base.as_bytes()[..cut % base.len()], &mut out);
                if let Some(at) = base.find(field) {
                    let start = at + field.len();
                    let end = start + base[start..].find([',', '}']).unwrap_or(0);
                    parse_everything(format!("{}{}{}", &base[..start], value, &base[end..]).as_bytes(), &mut out);
                }
                Ok(())
            },
        )
        .unwrap();
    let out = out.into_inner();
    println!("coinbase parser fuzz outcomes: {:?}", out.0);
    assert!(out.get("inputs") >= u64::from(CASES) * 3);
    assert!(out.get("malformed") > 0 && out.get("bad decimal") > 0, "{:?}", out.0);
    assert!(out.get("order report") + out.get("fill report") > 0);
}
