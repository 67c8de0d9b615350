use proptest::prelude::*;

use super::*;

fn report(kind: ReportKind, cum_qty: Option<i64>) -> ExecutionReport {
    ExecutionReport {
        venue: Venue::Binance,
        symbol: "BTCUSDT".to_owned(),
        client_order_id: "c1".to_owned(),
        venue_order_id: Some("42".to_owned()),
        kind,
        cum_qty,
        exchange_ts_ns: 1,
        receive_ts_ns: 2,
    }
}

fn fill(trade_id: u64, qty: i64) -> FillReport {
    FillReport {
        trade_id,
        price: 100 + trade_id as i64,
        qty,
        fee: Decimal::new(i128::from(qty), 3),
        fee_currency: "USDT".to_owned(),
        is_maker: trade_id.is_multiple_of(2),
    }
}

#[test]
fn a_fill_before_the_acknowledgment_counts_and_the_late_ack_changes_nothing() {
    let mut order = OrderState::new("c1", Side::Buy, 10);
    let applied = order.apply(&report(ReportKind::Trade(fill(1, 4)), Some(4))).unwrap();
    assert_eq!(applied, Applied::NewFill { trade_id: 1, status: OrderStatus::PartiallyFilled });
    assert_eq!(order.apply(&report(ReportKind::New, Some(0))).unwrap(), Applied::Unchanged);
    assert_eq!(order.status(), OrderStatus::PartiallyFilled);
    assert_eq!(order.filled_qty(), 4);
    assert_eq!(order.open_qty(), 6);
    assert_eq!(order.venue_order_id.as_deref(), Some("42"));
}

#[test]
fn a_duplicate_fill_is_counted_once_and_counted_as_a_duplicate() {
    let mut order = OrderState::new("c1", Side::Sell, 10);
    order.apply(&report(ReportKind::Trade(fill(7, 3)), None)).unwrap();
    assert_eq!(order.apply(&report(ReportKind::Trade(fill(7, 3)), None)).unwrap(), Applied::Unchanged);
    assert_eq!(order.filled_qty(), 3);
    assert_eq!(order.duplicate_fills(), 1);
}

#[test]
fn a_fill_that_races_our_cancel_still_counts_and_the_order_ends_canceled() {
    let mut order = OrderState::new("c1", Side::Buy, 10);
    order.apply(&report(ReportKind::New, None)).unwrap();
    order.request_cancel();
    assert_eq!(order.status(), OrderStatus::PendingCancel);
    order.apply(&report(ReportKind::Canceled, Some(6))).unwrap();
    assert_eq!(order.status(), OrderStatus::Canceled);
    assert_eq!(order.missing_qty(), 6, "the venue says 6 filled; no fill seen yet");
    order.apply(&report(ReportKind::Trade(fill(1, 6)), Some(6))).unwrap();
    assert_eq!(order.status(), OrderStatus::Canceled);
    assert_eq!((order.filled_qty(), order.missing_qty(), order.open_qty()), (6, 0, 0));
}

#[test]
fn a_cancel_refused_as_unknown_after_the_last_fill_leaves_the_order_filled() {
    let mut order = OrderState::new("c1", Side::Buy, 5);
    order.request_cancel();
    let unknown = ReportKind::CancelRejected { code: Some(-2011), reason: "Unknown order sent.".into() };
    assert_eq!(order.apply(&report(unknown, None)).unwrap(), Applied::Status(OrderStatus::PendingNew));
    order.apply(&report(ReportKind::Trade(fill(1, 5)), Some(5))).unwrap();
    assert_eq!(order.status(), OrderStatus::Filled);
}

#[test]
fn a_rejection_keeps_the_venue_reason() {
    let mut order = OrderState::new("c1", Side::Buy, 5);
    let kind = ReportKind::Rejected { code: Some(-2010), reason: "Order would immediately match and take.".into() };
    assert_eq!(order.apply(&report(kind, None)).unwrap(), Applied::Status(OrderStatus::Rejected));
    assert_eq!(order.reject_reason(), Some("Order would immediately match and take."));
}

#[test]
fn bad_conflicting_or_excess_fills_are_errors_that_leave_the_state_untouched() {
    let mut order = OrderState::new("c1", Side::Buy, 5);
    order.apply(&report(ReportKind::Trade(fill(1, 3)), None)).unwrap();
    let mut other = fill(1, 3);
    other.price += 1;
    let errors = [
        order.apply(&report(ReportKind::Trade(other), None)).unwrap_err(),
        order.apply(&report(ReportKind::Trade(fill(2, 3)), None)).unwrap_err(),
        order.apply(&report(ReportKind::Trade(fill(3, 0)), None)).unwrap_err(),
    ];
    assert!(matches!(errors[0], OrderStateError::ConflictingFill { trade_id: 1, .. }));
    assert!(matches!(errors[1], OrderStateError::Overfill { filled_qty: 6, .. }));
    assert!(matches!(errors[2], OrderStateError::BadFill { qty: 0, .. }));
    assert!(errors[1].to_string().contains("client_order_id=c1"));
    assert_eq!((order.filled_qty(), order.fills().count()), (3, 1));
}

#[test]
fn a_report_for_an_order_the_table_does_not_hold_is_counted_and_refused() {
    let mut table = OrderTable::new();
    let err = table.apply(&report(ReportKind::New, None)).unwrap_err();
    assert!(matches!(err, OrderStateError::UnknownOrder { .. }));
    assert_eq!(table.unknown_reports(), 1);
    table.insert(OrderState::new("c1", Side::Buy, 1));
    table.apply(&report(ReportKind::New, None)).unwrap();
    assert_eq!(table.get("c1").map(OrderState::status), Some(OrderStatus::New));
}

/// How a random order's life ends on the venue.
#[derive(Debug, Clone, Copy)]
enum End {
    FilledOut,
    CanceledAfterSome,
    ExpiredAfterSome,
    Rejected,
}

/// An ordered venue stream: an order of `qty` lots split into fills of `sizes` (some), ended by
/// `end`; each report carries the venue's cumulative quantity.
fn ordered_stream(sizes: &[i64], end: End) -> (i64, Vec<ExecutionReport>) {
    if let End::Rejected = end {
        let kind = ReportKind::Rejected { code: Some(-1013), reason: "Filter failure: LOT_SIZE".into() };
        return (10, vec![report(kind, None)]);
    }
    let filled: i64 = sizes.iter().sum();
    let qty = match end {
        End::FilledOut => filled,
        _ => filled + 1,
    };
    let mut out = vec![report(ReportKind::New, Some(0))];
    let mut cum = 0;
    for (i, &size) in sizes.iter().enumerate() {
        cum += size;
        out.push(report(ReportKind::Trade(fill(1000 + i as u64, size)), Some(cum)));
    }
    match end {
        End::CanceledAfterSome => out.push(report(ReportKind::Canceled, Some(cum))),
        End::ExpiredAfterSome => out.push(report(ReportKind::Expired, Some(cum))),
        _ => {}
    }
    (qty, out)
}

fn end_strategy() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::FilledOut), Just(End::CanceledAfterSome), Just(End::ExpiredAfterSome), Just(End::Rejected)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any permutation and duplication of a venue's report stream ends in the same state with
    /// the same fills as the ordered stream: no fill lost, none counted twice.
    #[test]
    fn any_permutation_or_duplication_of_reports_ends_in_the_same_state_and_fills(
        (sizes, end, shuffled_positions, duplicate_picks) in
            (prop::collection::vec(1i64..50, 1..12), end_strategy())
                .prop_flat_map(|(sizes, end)| {
                    let n = ordered_stream(&sizes, end).1.len();
                    (
                        Just(sizes),
                        Just(end),
                        Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                        prop::collection::vec(0..n, 0..8),
                    )
                }),
        cancel_in_flight in any::<bool>(),
    ) {
        let (qty, stream) = ordered_stream(&sizes, end);
        let mut ordered = OrderState::new("c1", Side::Buy, qty);
        let mut scrambled = OrderState::new("c1", Side::Buy, qty);
        if cancel_in_flight {
            ordered.request_cancel();
            scrambled.request_cancel();
        }
        for r in &stream {
            ordered.apply(r).unwrap();
        }
        let mut replay: Vec<&ExecutionReport> = shuffled_positions.iter().map(|&i| &stream[i]).collect();
        for (k, &i) in duplicate_picks.iter().enumerate() {
            replay.insert((k * 7) % (replay.len() + 1), &stream[i]);
        }
        for r in replay {
            scrambled.apply(r).unwrap();
        }
        prop_assert_eq!(scrambled.status(), ordered.status());
        prop_assert_eq!(scrambled.fills().collect::<Vec<_>>(), ordered.fills().collect::<Vec<_>>());
        prop_assert_eq!(scrambled.filled_qty(), ordered.filled_qty());
        prop_assert_eq!(scrambled.missing_qty(), 0);
        let expected_filled: i64 = if matches!(end, End::Rejected) { 0 } else { sizes.iter().sum() };
        prop_assert_eq!(scrambled.filled_qty(), expected_filled);
        let expected_status = match end {
            End::FilledOut => OrderStatus::Filled,
            End::CanceledAfterSome => OrderStatus::Canceled,
            End::ExpiredAfterSome => OrderStatus::Expired,
            End::Rejected => OrderStatus::Rejected,
        };
        prop_assert_eq!(scrambled.status(), expected_status);
    }
}
