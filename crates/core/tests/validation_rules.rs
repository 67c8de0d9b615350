//! Validation: every error of `docs/matching.md`, the order in which rules are checked, and that
//! a command failing validation changes nothing (no event, no sequence number, same book).

mod common;

use wintermute_core::{Command, NewOrder, OrderError, OrderId, Price, TimeInForce};

use common::scenario::*;
use common::{MAX_PRICE, MAX_QTY, MIN_PRICE, MIN_QTY};

// ----- validation: the first broken rule is reported and nothing changes -----

fn invalid_order(order_id: OrderId, err: OrderError) {
    assert!(
        matches!(err, OrderError::InvalidOrder { order_id: id, .. } if id == order_id),
        "expected INVALID_ORDER, got {err:?}"
    );
}

fn band(order_id: OrderId, price: Price) -> OrderError {
    OrderError::PriceOutOfBand { order_id, price, min: MIN_PRICE, max: MAX_PRICE }
}

#[test]
fn new_order_validation_errors_in_rule_order() {
    let mut b = two_sided_book();
    let new = |order: NewOrder| Command::New(order);
    // 1. duplicate id wins over everything else.
    assert_eq!(b.err(new(limit(1, 9, SELL, 999, 0))), OrderError::DuplicateOrderId { order_id: 1 });
    // 2. quantity, before any type or price check.
    assert_eq!(b.err(new(limit(10, 1, BUY, 999, 0))), OrderError::NonPositiveQty { order_id: 10, qty: 0 });
    assert_eq!(b.err(new(limit(10, 1, BUY, 100, -5))), OrderError::NonPositiveQty { order_id: 10, qty: -5 });
    let below = OrderError::QtyBelowMin { order_id: 10, qty: MIN_QTY - 1, min: MIN_QTY };
    assert_eq!(b.err(new(limit(10, 1, BUY, 999, MIN_QTY - 1))), below);
    let above = OrderError::QtyAboveMax { order_id: 10, qty: MAX_QTY + 1, max: MAX_QTY };
    assert_eq!(b.err(new(NewOrder::market(10, 1, BUY, MAX_QTY + 1).post_only())), above);
    // 3. market orders: post-only, GTC, iceberg; the price field is ignored.
    invalid_order(10, b.err(new(NewOrder::market(10, 1, BUY, 2).post_only())));
    invalid_order(10, b.err(new(NewOrder::market(10, 1, BUY, 2).with_tif(TimeInForce::Gtc))));
    invalid_order(10, b.err(new(NewOrder::market(10, 1, BUY, 2).iceberg(1))));
    let mut far_price = NewOrder::market(10, 1, SELL, 2);
    far_price.price = 9_999;
    assert_eq!(b.ok(new(far_price))[0], accepted(10, 1, SELL, 0, 2));
    // 4. limit orders: band first, then post-only / iceberg need GTC, then the display quantity.
    assert_eq!(
        b.err(new(limit(11, 1, BUY, MIN_PRICE - 1, 2).post_only().with_tif(TimeInForce::Ioc))),
        band(11, MIN_PRICE - 1)
    );
    assert_eq!(b.err(new(limit(11, 1, SELL, MAX_PRICE + 1, 2))), band(11, MAX_PRICE + 1));
    invalid_order(11, b.err(new(limit(11, 1, BUY, 97, 2).post_only().with_tif(TimeInForce::Ioc))));
    invalid_order(11, b.err(new(limit(11, 1, BUY, 97, 2).post_only().with_tif(TimeInForce::Fok))));
    invalid_order(11, b.err(new(limit(11, 1, BUY, 97, 2).iceberg(9).with_tif(TimeInForce::Fok))));
    for display in [0, -1, 3] {
        let err = OrderError::InvalidDisplayQty { order_id: 11, display, qty: 2 };
        assert_eq!(b.err(new(limit(11, 1, BUY, 97, 2).iceberg(display))), err);
    }
    // The band edges and the quantity limits themselves are fine.
    assert_eq!(b.submit(limit(12, 1, BUY, MIN_PRICE, MIN_QTY))[0], accepted(12, 1, BUY, MIN_PRICE, MIN_QTY));
    assert_eq!(b.submit(limit(13, 1, SELL, MAX_PRICE, MAX_QTY))[0], accepted(13, 1, SELL, MAX_PRICE, MAX_QTY));
    assert_eq!(b.submit(limit(14, 1, SELL, 104, 2).iceberg(2))[0], accepted(14, 1, SELL, 104, 2));
}

#[test]
fn amend_validation_errors_in_rule_order() {
    let mut b = two_sided_book();
    assert_eq!(b.err(amend(77, None, None)), OrderError::UnknownOrder { order_id: 77 });
    assert_eq!(b.err(amend(77, Some(999), Some(0))), OrderError::UnknownOrder { order_id: 77 });
    invalid_order(1, b.err(amend(1, None, None)));
    assert_eq!(b.err(amend(1, Some(MAX_PRICE + 1), Some(0))), band(1, MAX_PRICE + 1));
    assert_eq!(b.err(amend(1, Some(MIN_PRICE - 1), None)), band(1, MIN_PRICE - 1));
    assert_eq!(b.err(amend(1, Some(99), Some(0))), OrderError::NonPositiveQty { order_id: 1, qty: 0 });
    assert_eq!(b.err(amend(1, None, Some(-3))), OrderError::NonPositiveQty { order_id: 1, qty: -3 });
    let above = OrderError::QtyAboveMax { order_id: 1, qty: MAX_QTY + 1, max: MAX_QTY };
    assert_eq!(b.err(amend(1, None, Some(MAX_QTY + 1))), above);
    assert_eq!(b.ok(amend(1, None, Some(MAX_QTY)))[0], amended(1, (99, 99), (2, MAX_QTY), false));
}

#[test]
fn rejections_consume_a_sequence_number_but_validation_errors_do_not() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 2)]);
    assert_eq!(b.book.seq(), 2);
    b.err(Command::Cancel { order_id: 5 });
    assert_eq!(b.book.seq(), 2);
    b.submit(limit(2, 2, BUY, 100, 3).with_tif(TimeInForce::Fok));
    assert_eq!(b.book.seq(), 3);
}

#[test]
fn ids_may_be_reused_once_the_order_is_gone() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 2)]);
    b.submit(limit(2, 2, BUY, 100, 2));
    assert_eq!(b.submit(limit(1, 3, BUY, 99, 2)), [accepted(1, 3, BUY, 99, 2), delta(BUY, 99, 2, 1)]);
    assert_eq!(b.submit(limit(2, 3, BUY, 98, 2)), [accepted(2, 3, BUY, 98, 2), delta(BUY, 98, 2, 1)]);
}
