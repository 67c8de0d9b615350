//! Shared by the integration tests: the reference model (`reference_model`), the helpers of the
//! hand-written scenarios (`scenario`), the test instrument, and the checks that compare the
//! model with the optimized book. Each test crate uses a different subset, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod reference_model;
pub mod scenario;

use std::fmt::Display;

use wintermute_core::{BookSnapshot, Event, InstrumentSpec, OrderBook, OrderError, Qty, Seq, Side};

use reference_model::ReferenceBook;

/// Lowest and highest price of the test instrument's band, in ticks.
pub const MIN_PRICE: i64 = 95;
pub const MAX_PRICE: i64 = 105;
/// Smallest and largest quantity of a new order, in lots.
pub const MIN_QTY: Qty = 2;
pub const MAX_QTY: Qty = 40;

/// A small instrument: a narrow band so that orders cross often, and `min_qty > 1` so that
/// `QTY_BELOW_MIN` (new orders) and the missing minimum on amends are both exercised.
pub fn test_spec() -> InstrumentSpec {
    InstrumentSpec::from_units("TEST", "0.01", "1", MIN_QTY, MAX_QTY, MIN_PRICE, MAX_PRICE)
        .expect("the test instrument spec is valid")
}

/// Errors are equal when the reason, the order id and every value they carry are equal. The
/// free-text `why` of `InvalidOrder` is not part of the contract and is not compared.
pub fn same_error(a: &OrderError, b: &OrderError) -> bool {
    match (a, b) {
        (OrderError::InvalidOrder { order_id: x, .. }, OrderError::InvalidOrder { order_id: y, .. }) => x == y,
        _ => a == b,
    }
}

/// Asserts that the book and the model agree on every query.
/// `book_snapshot` is `book.snapshot()`, taken once by the caller and reused for the other checks.
pub fn assert_same_state(book: &OrderBook, book_snapshot: &BookSnapshot, model: &ReferenceBook, context: &dyn Display) {
    assert_eq!(book.seq(), model.seq(), "seq differs {context}");
    assert_eq!(book.order_count(), model.order_count(), "order_count differs {context}");
    assert_eq!(book.best_bid(), model.best_bid(), "best_bid differs {context}");
    assert_eq!(book.best_ask(), model.best_ask(), "best_ask differs {context}");
    for side in [Side::Buy, Side::Sell] {
        let expected = model.depth(side, usize::MAX);
        assert_eq!(book.depth(side, usize::MAX), expected, "full depth of {side:?} differs {context}");
        assert_eq!(book.depth(side, 2), model.depth(side, 2), "depth(2) of {side:?} differs {context}");
        for level in &expected {
            assert_eq!(
                book.orders_at(side, level.price),
                model.orders_at(side, level.price),
                "queue of {side:?} @ {} differs {context}",
                level.price
            );
        }
    }
    let snapshot = model.snapshot();
    assert_eq!(book_snapshot, &snapshot, "snapshot differs {context}");
    for order in &snapshot.orders {
        assert_eq!(book.order(order.order_id), Some(*order), "order({}) differs {context}", order.order_id);
    }
}

/// Book invariants that hold after every command, whatever the command was.
pub fn assert_invariants(book: &OrderBook, snapshot: &BookSnapshot, context: &dyn Display) {
    if let (Some((bid, _)), Some((ask, _))) = (book.best_bid(), book.best_ask()) {
        assert!(bid < ask, "book crossed: bid {bid} >= ask {ask} {context}");
    }
    for order in &snapshot.orders {
        assert!(
            0 < order.visible && order.visible <= order.remaining,
            "order {} has visible {} and remaining {} {context}",
            order.order_id,
            order.visible,
            order.remaining
        );
        if let Some(display) = order.display_qty {
            assert!(order.visible <= display, "order {} shows more than its display qty {context}", order.order_id);
        }
    }
}

/// Asserts that a command's events are numbered `seq_before + 1, + 2, …` and that the book's
/// `seq()` is the last of them.
pub fn assert_seq_contiguous(events: &[Event], seq_before: Seq, seq_after: Seq, context: &dyn Display) {
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq(), seq_before + 1 + i as Seq, "event {i} has a gap in seq {context}: {events:?}");
    }
    assert_eq!(seq_after, seq_before + events.len() as Seq, "seq() is not the last event's {context}");
}

/// Total remaining quantity on the book (hidden iceberg quantity included).
pub fn total_resting_qty(snapshot: &BookSnapshot) -> Qty {
    snapshot.orders.iter().map(|o| o.remaining).sum()
}
