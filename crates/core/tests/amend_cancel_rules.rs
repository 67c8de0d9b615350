//! Cancel, amend, mass cancel, the queries and snapshot/restore: one small scenario per rule of
//! `docs/matching.md`, each asserting the exact event list.

mod common;

use wintermute_core::{CancelReason, Command, LevelView, OrderBook, OrderError, RejectReason, StpMode};

use common::scenario::*;
use common::MAX_PRICE;

// ----- cancel and amend -----

#[test]
fn cancel_removes_total_remaining_including_hidden() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 10).iceberg(2), limit(2, 1, SELL, 100, 3)]);
    assert_eq!(b.ok(Command::Cancel { order_id: 1 }), [canceled(1, 10, 0, CancelReason::User), delta(SELL, 100, 3, 1)]);
    assert_eq!(b.ok(Command::Cancel { order_id: 2 }), [canceled(2, 3, 0, CancelReason::User), delta(SELL, 100, 0, 0)]);
    assert_eq!(b.err(Command::Cancel { order_id: 2 }), OrderError::UnknownOrder { order_id: 2 });
    // The id is free again.
    assert_eq!(b.submit(limit(2, 1, BUY, 99, 2)), [accepted(2, 1, BUY, 99, 2), delta(BUY, 99, 2, 1)]);
}

#[test]
fn amend_quantity_down_keeps_priority() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 5), limit(2, 2, SELL, 100, 5)]);
    assert_eq!(b.ok(amend(1, None, Some(3))), [amended(1, (100, 100), (5, 3), true), delta(SELL, 100, 8, 2)]);
    // Same price given explicitly, same quantity: still in place, still a delta.
    assert_eq!(b.ok(amend(1, Some(100), Some(3))), [amended(1, (100, 100), (3, 3), true), delta(SELL, 100, 8, 2)]);
    assert_eq!(b.ok(amend(1, Some(100), None)), [amended(1, (100, 100), (3, 3), true), delta(SELL, 100, 8, 2)]);
    // No minimum on amends (min_qty is 2).
    assert_eq!(b.ok(amend(1, None, Some(1))), [amended(1, (100, 100), (3, 1), true), delta(SELL, 100, 6, 2)]);
    assert_eq!(b.queue(SELL, 100), [1, 2]);
}

#[test]
fn amend_quantity_up_or_price_change_loses_priority() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 5), limit(2, 2, SELL, 100, 5), limit(3, 3, SELL, 101, 5)]);
    assert_eq!(
        b.ok(amend(1, None, Some(7))),
        [amended(1, (100, 100), (5, 7), false), delta(SELL, 100, 5, 1), delta(SELL, 100, 12, 2)]
    );
    assert_eq!(b.queue(SELL, 100), [2, 1]);
    assert_eq!(
        b.ok(amend(2, Some(101), None)),
        [amended(2, (100, 101), (5, 5), false), delta(SELL, 100, 7, 1), delta(SELL, 101, 10, 2)]
    );
    assert_eq!(b.queue(SELL, 101), [3, 2]);
    // A price change loses priority even with a quantity decrease.
    assert_eq!(
        b.ok(amend(3, Some(100), Some(2))),
        [amended(3, (101, 100), (5, 2), false), delta(SELL, 101, 5, 1), delta(SELL, 100, 9, 2)]
    );
    assert_eq!(b.queue(SELL, 100), [1, 3]);
}

#[test]
fn amend_of_an_iceberg() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 10).iceberg(4)]);
    // In place: hidden quantity goes first, visible = min(visible, new qty).
    assert_eq!(b.ok(amend(1, None, Some(6))), [amended(1, (100, 100), (10, 6), true), delta(SELL, 100, 4, 1)]);
    assert_eq!(b.ok(amend(1, None, Some(3))), [amended(1, (100, 100), (6, 3), true), delta(SELL, 100, 3, 1)]);
    // Up: re-enters showing min(display, new qty).
    assert_eq!(
        b.ok(amend(1, None, Some(8))),
        [amended(1, (100, 100), (3, 8), false), delta(SELL, 100, 0, 0), delta(SELL, 100, 4, 1)]
    );
    assert_eq!(b.remaining_and_visible(1), (8, 4));
}

#[test]
fn amend_across_the_spread_trades_without_a_new_accepted() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 101, 3), limit(2, 2, BUY, 99, 5)]);
    assert_eq!(
        b.ok(amend(2, Some(102), None)),
        [
            amended(2, (99, 102), (5, 5), false),
            delta(BUY, 99, 0, 0),
            trade((1, 1), (2, 2), BUY, 101, 3, (0, 2)),
            delta(SELL, 101, 0, 0),
            delta(BUY, 102, 2, 1),
        ]
    );
    assert_eq!(b.remaining_and_visible(2), (2, 2));
}

#[test]
fn amend_applies_the_amended_orders_self_trade_prevention() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 101, 3), limit(2, 1, BUY, 99, 5).with_stp(StpMode::CancelNewest)]);
    assert_eq!(
        b.ok(amend(2, Some(101), None)),
        [amended(2, (99, 101), (5, 5), false), delta(BUY, 99, 0, 0), canceled(2, 5, 0, SELF_TRADE)]
    );
    assert_eq!((b.book.order(2), b.book.order_count()), (None, 1));
}

#[test]
fn amend_of_post_only_that_would_trade_is_rejected_and_the_order_stays() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 101, 3), limit(2, 2, BUY, 99, 5).post_only()]);
    let before = b.book.order(2);
    assert_eq!(b.ok(amend(2, Some(101), Some(6))), [rejected(2, RejectReason::PostOnlyWouldCross)]);
    assert_eq!(b.book.order(2), before);
    assert_eq!(
        b.ok(amend(2, Some(100), None)),
        [amended(2, (99, 100), (5, 5), false), delta(BUY, 99, 0, 0), delta(BUY, 100, 5, 1)]
    );
    assert!(b.book.order(2).is_some_and(|o| o.post_only));
}

// ----- amend by total -----

fn total(order_id: u64, price: Option<i64>, qty: i64, seen_remaining: i64) -> Command {
    Command::AmendTotal { order_id, price, qty, seen_remaining }
}

#[test]
fn amend_by_total_with_nothing_unseen_is_the_plain_amend() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 10), limit(2, 2, SELL, 100, 5)]);
    assert_eq!(b.ok(total(1, None, 4, 10)), [amended(1, (100, 100), (10, 4), true), delta(SELL, 100, 9, 2)]);
    assert_eq!(
        b.ok(total(1, Some(101), 6, 4)),
        [amended(1, (100, 101), (4, 6), false), delta(SELL, 100, 5, 1), delta(SELL, 101, 6, 1)]
    );
    assert_eq!(b.queue(SELL, 100), [2]);
}

#[test]
fn fills_the_sender_had_not_seen_come_off_an_amend_by_total() {
    // The sender saw order 1 with 20 open (nothing filled) and asks for a total of 12. Before
    // its amend arrives two takers fill 3 and 2: the order ends with 5 filled and 7 open, a
    // total of 12, where setting the remaining quantity would leave 12 open (a total of 17).
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 20), limit(2, 2, SELL, 100, 5)]);
    b.submit(limit(9, 3, BUY, 100, 3));
    b.submit(limit(10, 3, BUY, 100, 2));
    assert_eq!(b.ok(total(1, None, 12, 20)), [amended(1, (100, 100), (15, 7), true), delta(SELL, 100, 12, 2)]);
    assert_eq!(b.queue(SELL, 100), [1, 2]);
    // Having seen those fills (5 filled, 7 open) it asks for a total of 16: 11 open as it saw
    // the order. One more fill of 2 races it: 7 filled and 9 open, a total of 16 again.
    b.submit(limit(11, 3, BUY, 100, 2));
    assert_eq!(
        b.ok(total(1, None, 11, 7)),
        [amended(1, (100, 100), (5, 9), false), delta(SELL, 100, 5, 1), delta(SELL, 100, 14, 2)]
    );
    assert_eq!(b.queue(SELL, 100), [2, 1]);
}

#[test]
fn an_amend_by_total_at_or_below_what_filled_cancels_the_rest() {
    // Kraken's rule: a new total at or below the filled quantity cancels what is left.
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 10), limit(2, 2, SELL, 101, 5)]);
    b.submit(limit(9, 3, BUY, 100, 6));
    let filled = CancelReason::FilledBeforeAmend;
    assert_eq!(b.ok(total(1, Some(101), 6, 10)), [canceled(1, 4, 0, filled), delta(SELL, 100, 0, 0)]);
    assert!(b.book.order(1).is_none());
    b.submit(limit(10, 3, BUY, 101, 4));
    assert_eq!(b.ok(total(2, None, 2, 5)), [canceled(2, 1, 0, filled), delta(SELL, 101, 0, 0)]);
    assert_eq!(b.book.order_count(), 0);
}

#[test]
fn a_bad_amend_by_total_is_refused_and_changes_nothing() {
    let mut b = Bench::empty();
    b.rest_all(&[limit(1, 1, SELL, 100, 10)]);
    b.submit(limit(9, 3, BUY, 100, 4));
    // The sender cannot have seen less open than the book holds.
    assert!(matches!(b.err(total(1, None, 5, 5)), OrderError::InvalidOrder { order_id: 1, .. }));
    assert_eq!(b.err(total(1, None, 5, 41)), OrderError::QtyAboveMax { order_id: 1, qty: 41, max: 40 });
    assert_eq!(b.err(total(1, None, 0, 6)), OrderError::NonPositiveQty { order_id: 1, qty: 0 });
    assert_eq!(b.err(total(1, None, 41, 6)), OrderError::QtyAboveMax { order_id: 1, qty: 41, max: 40 });
    assert_eq!(b.err(total(7, None, 5, 6)), OrderError::UnknownOrder { order_id: 7 });
    assert!(matches!(b.err(total(1, Some(MAX_PRICE + 1), 5, 6)), OrderError::PriceOutOfBand { .. }));
    assert_eq!(b.remaining_and_visible(1), (6, 6));
}

// ----- mass cancel -----

#[test]
fn mass_cancel_goes_bids_then_asks_best_first_in_queue_order() {
    let mut b = two_sided_book();
    let m = CancelReason::MassCancel;
    assert_eq!(
        b.ok(mass(None, None)),
        [
            canceled(1, 2, 0, m),
            canceled(2, 3, 0, m),
            delta(BUY, 99, 0, 0),
            canceled(3, 4, 0, m),
            delta(BUY, 98, 0, 0),
            canceled(4, 5, 0, m),
            canceled(5, 6, 0, m),
            delta(SELL, 101, 0, 0),
            canceled(6, 7, 0, m),
            delta(SELL, 102, 0, 0),
        ]
    );
    assert_eq!(b.book.order_count(), 0);
    assert_eq!(b.ok(mass(None, None)), [], "nothing to cancel: no events");
}

#[test]
fn mass_cancel_filters_by_account_and_side() {
    let m = CancelReason::MassCancel;
    let mut b = two_sided_book();
    assert_eq!(b.ok(mass(Some(1), Some(SELL))), [canceled(4, 5, 0, m), delta(SELL, 101, 6, 1)]);
    assert_eq!(
        b.ok(mass(Some(1), None)),
        [canceled(1, 2, 0, m), delta(BUY, 99, 3, 1), canceled(3, 4, 0, m), delta(BUY, 98, 0, 0)]
    );
    assert_eq!(b.ok(mass(Some(3), None)), []);
    assert_eq!(b.ok(mass(None, Some(BUY))), [canceled(2, 3, 0, m), delta(BUY, 99, 0, 0)]);
    assert_eq!(b.book.snapshot().orders.iter().map(|o| o.order_id).collect::<Vec<_>>(), [5, 6]);
    let mut b = two_sided_book();
    assert_eq!(
        b.ok(mass(Some(2), None)),
        [
            canceled(2, 3, 0, m),
            delta(BUY, 99, 2, 1),
            canceled(5, 6, 0, m),
            delta(SELL, 101, 5, 1),
            canceled(6, 7, 0, m),
            delta(SELL, 102, 0, 0)
        ]
    );
    let mut b = two_sided_book();
    assert_eq!(
        b.ok(mass(None, Some(SELL))),
        [
            canceled(4, 5, 0, m),
            canceled(5, 6, 0, m),
            delta(SELL, 101, 0, 0),
            canceled(6, 7, 0, m),
            delta(SELL, 102, 0, 0)
        ]
    );
}

// ----- queries -----

#[test]
fn queries_report_visible_quantity_best_first() {
    let mut b = two_sided_book();
    b.rest_all(&[limit(7, 3, SELL, 101, 20).iceberg(1)]);
    assert_eq!(b.book.best_bid(), Some((99, 5)));
    assert_eq!(b.book.best_ask(), Some((101, 12)));
    assert_eq!(
        b.book.depth(SELL, 5),
        [LevelView { price: 101, qty: 12, orders: 3 }, LevelView { price: 102, qty: 7, orders: 1 }]
    );
    assert_eq!(b.book.depth(BUY, 1), [LevelView { price: 99, qty: 5, orders: 2 }]);
    assert!(b.book.depth(BUY, 0).is_empty(), "depth(side, 0) has no levels");
    assert_eq!(b.queue(SELL, 101), [4, 5, 7]);
    assert!(b.book.orders_at(SELL, 100).is_empty());
    assert!(b.book.orders_at(BUY, 101).is_empty(), "orders_at looks at one side only");
    assert_eq!(b.remaining_and_visible(7), (20, 1));
    assert_eq!(b.book.order(99), None);
    assert_eq!(b.book.order_count(), 7);
}

// ----- snapshot and restore -----

#[test]
fn restore_gives_back_the_same_book_and_sequence() {
    let mut b = two_sided_book();
    b.rest_all(&[limit(7, 3, SELL, 101, 20).iceberg(1)]);
    b.submit(limit(8, 9, BUY, 101, 3)); // refills the iceberg to the back
    let snapshot = b.book.snapshot();
    let restored = OrderBook::restore(&snapshot).expect("restore accepts a book's own snapshot");
    assert_eq!(restored.snapshot(), snapshot);
    assert_eq!((restored.seq(), restored.order_count()), (b.book.seq(), b.book.order_count()));
    assert_eq!(restored.orders_at(SELL, 101), b.book.orders_at(SELL, 101));
}

#[test]
fn restore_refuses_inconsistent_snapshots() {
    let snapshot = two_sided_book().book.snapshot();
    let mut duplicate = snapshot.clone();
    duplicate.orders.push(duplicate.orders[0]);
    assert!(OrderBook::restore(&duplicate).is_err(), "a snapshot with a duplicate order id");
    let mut crossed = snapshot.clone();
    let ask = crossed.orders.iter_mut().find(|o| o.side == SELL).expect("the book has asks");
    ask.price = 99;
    assert!(OrderBook::restore(&crossed).is_err(), "a crossed snapshot");
    for (remaining, visible) in [(0, 0), (2, 0), (2, 3)] {
        let mut broken = snapshot.clone();
        broken.orders[0].remaining = remaining;
        broken.orders[0].visible = visible;
        assert!(OrderBook::restore(&broken).is_err(), "an order with remaining {remaining}, visible {visible}");
    }
    let mut out_of_band = snapshot;
    out_of_band.orders[0].price = MAX_PRICE + 1;
    assert!(OrderBook::restore(&out_of_band).is_err(), "an order outside the price band");
}
