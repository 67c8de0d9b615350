use proptest::prelude::*;

use super::*;

fn xbt() -> KrakenWsPair {
    KrakenWsPair { pair: KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").unwrap(), symbol: "BTC/USD".into() }
}

fn order(order_type: OrderType) -> NewOrder {
    NewOrder { symbol: "XBTUSD".into(), client_order_id: "q-1".into(), side: Side::Buy, qty: 125_000_000, order_type }
}

#[test]
fn add_order_writes_krakens_v2_fields_with_exact_numbers() {
    let limit = order(OrderType::Limit { price: 375_000, tif: TimeInForce::Gtc });
    let text = add_order_message(&limit, &xbt(), "tok", 7);
    assert_eq!(
        text,
        r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":1.25000000,"symbol":"BTC/USD","limit_price":37500.0,"cl_ord_id":"q-1","token":"tok"},"req_id":7}"#
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["params"]["order_qty"].to_string(), "1.25");
    let ioc = add_order_message(&order(OrderType::Limit { price: 1, tif: TimeInForce::Ioc }), &xbt(), "t", 1);
    assert!(ioc.contains(r#""limit_price":0.1,"time_in_force":"ioc""#), "{ioc}");
    let post = add_order_message(&order(OrderType::PostOnly { price: 1 }), &xbt(), "t", 1);
    assert!(post.contains(r#""post_only":true"#), "{post}");
    let market = add_order_message(&order(OrderType::Market), &xbt(), "t", 1);
    assert!(market.contains(r#""order_type":"market""#) && !market.contains("limit_price"), "{market}");
}

#[test]
fn cancel_amend_and_subscribe_name_the_order_and_carry_the_token() {
    assert_eq!(
        cancel_order_message("q-1", "tok", 3),
        r#"{"method":"cancel_order","params":{"cl_ord_id":["q-1"],"token":"tok"},"req_id":3}"#
    );
    assert_eq!(
        amend_order_message("q-1", &xbt(), Some(50_000_000), Some(375_001), "tok", 4),
        r#"{"method":"amend_order","params":{"cl_ord_id":"q-1","order_qty":0.50000000,"limit_price":37500.1,"token":"tok"},"req_id":4}"#
    );
    let sub = subscribe_executions_message("tok", 1);
    assert!(sub.contains(r#""channel":"executions","token":"tok","snap_orders":true,"snap_trades":true"#));
}

#[test]
fn cancel_all_and_the_dead_mans_switch_are_krakens_v2_requests() {
    assert_eq!(cancel_all_message("tok", 5), r#"{"method":"cancel_all","params":{"token":"tok"},"req_id":5}"#);
    assert_eq!(
        cancel_all_orders_after_message(60, "tok", 6),
        r#"{"method":"cancel_all_orders_after","params":{"timeout":60,"token":"tok"},"req_id":6}"#
    );
    let answer = r#"{"method":"cancel_all_orders_after","req_id":6,"result":{"currentTime":"2023-03-24T17:41:56Z","triggerTime":"2023-03-24T17:42:56Z"},"success":true,"time_in":"x","time_out":"y"}"#;
    let WsMessage::Response(r) = parse_frame(answer).unwrap() else { panic!("a response") };
    assert_eq!(r.outcome.unwrap().trigger_time.as_deref(), Some("2023-03-24T17:42:56Z"));
    let counted = r#"{"method":"cancel_all","req_id":5,"result":{"count":3},"success":true}"#;
    let WsMessage::Response(r) = parse_frame(counted).unwrap() else { panic!("a response") };
    assert_eq!(r.outcome.unwrap().count, Some(3));
}

#[test]
fn batches_list_their_orders_without_a_symbol_each_and_name_orders_by_both_ids() {
    let mut second = order(OrderType::PostOnly { price: 375_001 });
    second.client_order_id = "q-2".into();
    second.side = Side::Sell;
    let text = batch_add_message(
        &[order(OrderType::Limit { price: 375_000, tif: TimeInForce::Ioc }), second],
        &xbt(),
        "tok",
        8,
    );
    assert_eq!(
        text,
        r#"{"method":"batch_add","params":{"orders":[{"order_type":"limit","side":"buy","order_qty":1.25000000,"limit_price":37500.0,"time_in_force":"ioc","cl_ord_id":"q-1"},{"order_type":"limit","side":"sell","order_qty":1.25000000,"limit_price":37500.1,"post_only":true,"cl_ord_id":"q-2"}],"symbol":"BTC/USD","token":"tok"},"req_id":8}"#
    );
    assert_eq!(
        batch_cancel_message(&["OA".into()], &["q-\"1".into()], "tok", 9),
        r#"{"method":"batch_cancel","params":{"orders":["OA"],"cl_ord_id":["q-\"1"],"token":"tok"},"req_id":9}"#
    );
    assert_eq!(
        batch_cancel_message(&["OA".into(), "OB".into()], &[], "t", 1),
        r#"{"method":"batch_cancel","params":{"orders":["OA","OB"],"token":"t"},"req_id":1}"#
    );
    let answer = r#"{"method":"batch_add","req_id":8,"result":[{"order_id":"OA","cl_ord_id":"q-1"},{"cl_ord_id":"q-2","error":"EOrder:Insufficient funds"}],"success":true}"#;
    let WsMessage::Response(r) = parse_frame(answer).unwrap() else { panic!("a response") };
    let batch = r.outcome.unwrap().batch;
    assert_eq!(batch.len(), 2);
    assert_eq!(
        (batch[0].order_id.as_deref(), batch[1].error.as_deref()),
        (Some("OA"), Some("EOrder:Insufficient funds"))
    );
}

#[test]
fn strings_are_escaped() {
    let mut out = String::new();
    push_json_string(&mut out, "a\"b\\c\n");
    assert_eq!(out, r#""a\"b\\c\u000a""#);
    assert_eq!(serde_json::from_str::<String>(&out).unwrap(), "a\"b\\c\n");
}

#[test]
fn v2_symbols_rename_xbt_and_xdg() {
    assert_eq!(v2_symbol("XBT/USD"), "BTC/USD");
    assert_eq!(v2_symbol("XDG/EUR"), "DOGE/EUR");
    assert_eq!(v2_symbol("ETH/XBT"), "ETH/BTC");
}

#[test]
fn responses_are_matched_by_req_id_and_carry_krakens_error() {
    let ok = r#"{"method":"add_order","req_id":7,"result":{"order_id":"OABC","cl_ord_id":"q-1"},"success":true,"time_in":"2026-12-06T21:00:00.000000Z","time_out":"2026-12-06T21:00:00.000100Z"}"#;
    let WsMessage::Response(r) = parse_frame(ok).unwrap() else { panic!("a response") };
    assert_eq!(r.req_id, Some(7));
    assert_eq!(r.outcome.unwrap().order_id.as_deref(), Some("OABC"));
    let refused = r#"{"method":"add_order","req_id":8,"success":false,"error":"EOrder:Insufficient funds","time_in":"x","time_out":"y"}"#;
    let WsMessage::Response(r) = parse_frame(refused).unwrap() else { panic!("a response") };
    assert_eq!(r.outcome, Err("EOrder:Insufficient funds".to_owned()));
    assert!(matches!(parse_frame(r#"{"method":"add_order","req_id":9}"#), Err(ReportParseError::Malformed { .. })));
    assert!(matches!(parse_frame(r#"{"channel":"heartbeat"}"#), Ok(WsMessage::Other)));
}

#[test]
fn a_trade_execution_becomes_a_fill_with_exact_decimals() {
    let frame = r#"{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"OABC","cl_ord_id":"q-1","symbol":"BTC/USD","side":"buy","order_type":"limit","order_qty":1.25,"limit_price":37500.0,"order_status":"partially_filled","cum_qty":0.45,"cum_cost":16875.0,"timestamp":"2026-12-06T21:00:00.123456Z","exec_id":"T1","trade_id":40274859,"last_qty":0.45,"last_price":37500.0,"cost":16875.0,"liquidity_ind":"t","fees":[{"asset":"USD","qty":43.875}],"fee_usd_equiv":43.875}]}"#;
    let WsMessage::Executions { snapshot: false, executions } = parse_frame(frame).unwrap() else { panic!() };
    let report = execution_report(&executions[0], "q-1", &xbt(), 5).unwrap();
    assert_eq!(report.cum_qty, Some(45_000_000));
    assert_eq!(report.exchange_ts_ns, 1_796_590_800_123_456_000);
    let ReportKind::Trade(fill) = report.kind else { panic!("a fill") };
    assert_eq!((fill.trade_id, fill.price, fill.qty, fill.is_maker), (40_274_859, 375_000, 45_000_000, false));
    assert_eq!((fill.fee.to_string(), fill.fee_currency.as_str()), ("43.875".to_owned(), "ZUSD"));
}

#[test]
fn statuses_map_and_unknown_ones_are_errors() {
    let exec = |t: &str| {
        format!(
            r#"{{"channel":"executions","type":"snapshot","data":[{{"exec_type":"{t}","order_id":"O1","timestamp":"2026-12-06T21:00:00Z","cum_qty":0}}]}}"#
        )
    };
    for (t, kind) in [("new", ReportKind::New), ("canceled", ReportKind::Canceled), ("expired", ReportKind::Expired)] {
        let text = exec(t);
        let WsMessage::Executions { snapshot: true, executions } = parse_frame(&text).unwrap() else { panic!() };
        assert_eq!(execution_report(&executions[0], "c", &xbt(), 0).unwrap().kind, kind);
    }
    let text = exec("teleported");
    let WsMessage::Executions { executions, .. } = parse_frame(&text).unwrap() else { panic!() };
    assert!(matches!(execution_report(&executions[0], "c", &xbt(), 0), Err(ReportParseError::UnknownStatus(_))));
    let off_grid = exec("new").replace(r#""cum_qty":0"#, r#""cum_qty":1e-9"#);
    let WsMessage::Executions { executions, .. } = parse_frame(&off_grid).unwrap() else { panic!() };
    assert!(matches!(execution_report(&executions[0], "c", &xbt(), 0), Err(ReportParseError::BadDecimal { .. })));
}

const SAMPLE: &str = r#"{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"OABC","cl_ord_id":"q-1","cum_qty":0.45,"timestamp":"2026-12-06T21:00:00.123456Z","trade_id":4,"last_qty":0.45,"last_price":37500.0,"liquidity_ind":"m","fees":[{"asset":"USD","qty":1.5}]}]}"#;

/// Parses a frame and every execution in it; must never panic.
fn parse_all(text: &str) -> usize {
    match parse_frame(text) {
        Ok(WsMessage::Executions { executions, .. }) => {
            executions.iter().filter(|e| execution_report(e, "q-1", &xbt(), 0).is_ok()).count()
        }
        Ok(_) | Err(_) => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_frames_never_panic(text in ".{0,300}") {
        parse_all(&text);
    }

    #[test]
    fn mutated_execution_frames_never_panic(cut in 0usize..SAMPLE.len(), byte in any::<u8>(), at in 0usize..SAMPLE.len()) {
        let mut bytes = SAMPLE.as_bytes().to_vec();
        bytes[at] = byte;
        bytes.truncate(cut.max(at + 1));
        if let Ok(text) = std::str::from_utf8(&bytes) {
            parse_all(text);
        }
    }

    #[test]
    fn fields_with_random_values_never_panic(
        field in prop::sample::select(vec!["cum_qty", "last_qty", "last_price", "trade_id", "timestamp", "exec_type", "qty"]),
        value in prop::sample::select(vec!["-1", "1e400", "\"x\"", "null", "[]", "{}", "18446744073709551616", "0.000000001", "\"2026-13-45T99:00:00Z\""]),
    ) {
        let pattern = format!("\"{field}\":");
        if let Some(at) = SAMPLE.find(&pattern) {
            let start = at + pattern.len();
            let end = SAMPLE[start..].find([',', '}', ']']).map_or(SAMPLE.len(), |e| start + e);
            let text = format!("{}{}{}", &SAMPLE[..start], value, &SAMPLE[end..]);
            parse_all(&text);
        }
    }
}

#[test]
fn the_sample_frame_parses() {
    assert_eq!(parse_all(SAMPLE), 1);
}
