use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;

fn btc() -> BinanceInstrument {
    BinanceInstrument::new("BTCUSDT", "0.01", "0.00001").unwrap()
}

const FULL: &str = r#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,"price":"0.00000000","origQty":"10.00000000","executedQty":"10.00000000","cummulativeQuoteQty":"10.00000000","status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL","fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56},{"price":"3999.00000000","qty":"5.00000000","commission":"19.99500000","commissionAsset":"USDT","tradeId":57}]}"#;

#[test]
fn a_full_response_becomes_a_status_report_and_one_exact_fill_per_entry() {
    let order = parse_order(FULL.as_bytes()).unwrap();
    let reports = order_reports(&order, &btc(), 7).unwrap();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0].kind, ReportKind::New);
    assert_eq!(reports[0].cum_qty, Some(1_000_000));
    assert_eq!(reports[0].exchange_ts_ns, 1_507_725_176_595_000_000);
    let ReportKind::Trade(fill) = &reports[2].kind else { panic!("not a trade") };
    assert_eq!((fill.trade_id, fill.price, fill.qty), (57, 399_900, 500_000));
    assert_eq!(fill.fee.to_string(), "19.99500000");
    assert_eq!(reports[2].client_order_id, "6gCrw2kRUAF9CvJDGP16IP");
    assert_eq!(reports[2].venue_order_id.as_deref(), Some("28"));
}

#[test]
fn a_cancel_response_reports_the_original_client_id() {
    let body = r#"{"symbol":"BTCUSDT","origClientOrderId":"mine","orderId":4,"orderListId":-1,"clientOrderId":"cancelMyOrder1","transactTime":1684804350068,"price":"2.00","origQty":"1.00000","executedQty":"0.50000","cummulativeQuoteQty":"1.00","status":"CANCELED","timeInForce":"GTC","type":"LIMIT","side":"BUY"}"#;
    let reports = order_reports(&parse_order(body.as_bytes()).unwrap(), &btc(), 0).unwrap();
    assert_eq!(reports[0].client_order_id, "mine");
    assert_eq!(reports[0].kind, ReportKind::Canceled);
    assert_eq!(reports[0].cum_qty, Some(50_000));
}

#[test]
fn off_grid_decimals_and_unknown_statuses_are_clear_errors() {
    let off_grid = FULL.replace("\"3999.00000000\"", "\"3999.001\"");
    let err = order_reports(&parse_order(off_grid.as_bytes()).unwrap(), &btc(), 0).unwrap_err();
    assert_eq!(err, ReportParseError::BadDecimal { field: "price", text: "3999.001".into() });
    let odd = FULL.replace("\"FILLED\"", "\"HALF_BAKED\"");
    let err = order_reports(&parse_order(odd.as_bytes()).unwrap(), &btc(), 0).unwrap_err();
    assert!(err.to_string().contains("status=HALF_BAKED"));
    assert!(matches!(parse_order(b"{\"code\":-1}"), Err(ReportParseError::Malformed { .. })));
}

static FUZZ_INPUTS: AtomicU64 = AtomicU64::new(0);
static FUZZ_ERRORS: AtomicU64 = AtomicU64::new(0);

fn parse_everything(bytes: &[u8]) {
    FUZZ_INPUTS.fetch_add(1, Ordering::Relaxed);
    let mut failed = false;
    match parse_order(bytes) {
        Ok(order) => failed |= order_reports(&order, &btc(), 0).is_err(),
        Err(_) => failed = true,
    }
    match parse_trades(bytes) {
        Ok(trades) => {
            for t in &trades {
                failed |= trade_report(t, "c", &btc(), 0).is_err();
            }
        }
        Err(_) => failed = true,
    }
    failed |= parse_orders(bytes).is_err() | parse_error(bytes).is_err();
    if failed {
        FUZZ_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bytes never panic a parser; each input is an error or reports.
    #[test]
    fn random_bytes_never_panic_the_binance_parsers(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&bytes);
    }

    /// A valid FULL response with one byte changed, cut short or a field's value swapped for
    /// another JSON value never panics.
    #[test]
    fn mutated_binance_messages_never_panic_the_parsers(
        pos in 0usize..FULL.len(),
        byte in any::<u8>(),
        cut in 0usize..FULL.len(),
        value in prop_oneof![Just("null"), Just("-1"), Just("\"1e5\""), Just("99999999999999999999"), Just("\"-0.5\""), Just("[]")],
        field in prop_oneof![Just("\"tradeId\":"), Just("\"price\":"), Just("\"executedQty\":"), Just("\"transactTime\":"), Just("\"commission\":")],
    ) {
        let mut bytes = FULL.as_bytes().to_vec();
        bytes[pos] = byte;
        parse_everything(&bytes);
        parse_everything(&FULL.as_bytes()[..cut]);
        if let Some(at) = FULL.find(field) {
            let start = at + field.len();
            let end = start + FULL[start..].find([',', '}']).unwrap_or(0);
            parse_everything(format!("{}{}{}", &FULL[..start], value, &FULL[end..]).as_bytes());
        }
    }
}

#[test]
fn the_fuzzed_parsers_counted_their_inputs_and_errors() {
    // Runs after or alongside the property tests; it checks the counters work on known input.
    let before = FUZZ_ERRORS.load(Ordering::Relaxed);
    parse_everything(b"not json");
    assert!(FUZZ_ERRORS.load(Ordering::Relaxed) > before);
    assert!(FUZZ_INPUTS.load(Ordering::Relaxed) >= 1);
}
