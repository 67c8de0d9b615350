//! Scenario helpers for the hand-written rule tests: a book wrapper that checks sequence
//! numbers and "validation changes nothing", and constructors for expected events.
//!
//! Expected events are written with `seq: 0`; [`Bench::ok`] checks that the real events are
//! numbered contiguously from the book's previous `seq()` and then zeroes them for comparison.
//! Instrument: band [95, 105] ticks, quantities [2, 40] lots (see [`super::test_spec`]).

use wintermute_core::{
    AccountId, BookSnapshot, CancelReason, Command, Event, NewOrder, OrderBook, OrderError, OrderId, Price, Qty,
    RejectReason, Seq, Side,
};

use super::test_spec;

pub const BUY: Side = Side::Buy;
pub const SELL: Side = Side::Sell;

/// A book plus the checks every scenario needs.
pub struct Bench {
    pub book: OrderBook,
}

impl Bench {
    pub fn empty() -> Self {
        Self { book: OrderBook::new(test_spec()) }
    }

    /// Runs a command that must pass validation; returns its events with `seq` zeroed after
    /// checking that they are numbered `seq() + 1, + 2, …`.
    pub fn ok(&mut self, command: Command) -> Vec<Event> {
        let seq_before = self.book.seq();
        let mut events = Vec::new();
        if let Err(err) = self.book.execute(&command, &mut events) {
            panic!("{command:?} failed validation: {err}");
        }
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.seq(), seq_before + 1 + i as Seq, "seq gap in {events:?}");
        }
        assert_eq!(self.book.seq(), seq_before + events.len() as Seq, "seq() is not the last event's");
        events.into_iter().map(without_seq).collect()
    }

    pub fn submit(&mut self, order: NewOrder) -> Vec<Event> {
        self.ok(Command::New(order))
    }

    /// Places resting orders (their events are checked elsewhere).
    pub fn rest_all(&mut self, orders: &[NewOrder]) {
        for order in orders {
            self.submit(*order);
        }
    }

    /// Runs a command that must fail validation, and checks that it changed nothing at all.
    pub fn err(&mut self, command: Command) -> OrderError {
        let before: (Seq, BookSnapshot) = (self.book.seq(), self.book.snapshot());
        let mut events = Vec::new();
        let err = match self.book.execute(&command, &mut events) {
            Err(err) => err,
            Ok(()) => panic!("{command:?} passed validation with events {events:?}"),
        };
        assert!(events.is_empty(), "{command:?} failed validation but emitted {events:?}");
        assert_eq!(
            (self.book.seq(), self.book.snapshot()),
            before,
            "{command:?} failed validation but changed the book"
        );
        err
    }

    /// Order ids at a level, front to back.
    pub fn queue(&self, side: Side, price: Price) -> Vec<OrderId> {
        self.book.orders_at(side, price).iter().map(|o| o.order_id).collect()
    }

    pub fn remaining_and_visible(&self, order_id: OrderId) -> (Qty, Qty) {
        let order = self.book.order(order_id).unwrap_or_else(|| panic!("order {order_id} should be live"));
        (order.remaining, order.visible)
    }
}

pub fn without_seq(event: Event) -> Event {
    let mut event = event;
    match &mut event {
        Event::Accepted { seq, .. }
        | Event::Rejected { seq, .. }
        | Event::Trade { seq, .. }
        | Event::Canceled { seq, .. }
        | Event::Amended { seq, .. }
        | Event::BookDelta { seq, .. } => *seq = 0,
    }
    event
}

// ----- expected events (seq 0) -----

pub fn limit(order_id: OrderId, account: AccountId, side: Side, price: Price, qty: Qty) -> NewOrder {
    NewOrder::limit(order_id, account, side, price, qty)
}

pub fn accepted(order_id: OrderId, account: AccountId, side: Side, price: Price, qty: Qty) -> Event {
    Event::Accepted { seq: 0, order_id, account, side, price, qty }
}

pub fn rejected(order_id: OrderId, reason: RejectReason) -> Event {
    Event::Rejected { seq: 0, order_id, reason }
}

/// A trade: `(maker id, maker account)`, `(taker id, taker account)`, the taker's side, the
/// price and quantity, and `(maker remaining, taker remaining)` after it.
pub fn trade(
    maker: (OrderId, AccountId),
    taker: (OrderId, AccountId),
    aggressor: Side,
    price: Price,
    qty: Qty,
    remaining: (Qty, Qty),
) -> Event {
    Event::Trade {
        seq: 0,
        maker_order_id: maker.0,
        taker_order_id: taker.0,
        maker_account: maker.1,
        taker_account: taker.1,
        price,
        qty,
        aggressor,
        maker_remaining: remaining.0,
        taker_remaining: remaining.1,
    }
}

pub fn canceled(order_id: OrderId, canceled_qty: Qty, remaining_qty: Qty, reason: CancelReason) -> Event {
    Event::Canceled { seq: 0, order_id, canceled_qty, remaining_qty, reason }
}

pub fn amended(order_id: OrderId, prices: (Price, Price), qtys: (Qty, Qty), priority_kept: bool) -> Event {
    Event::Amended {
        seq: 0,
        order_id,
        old_price: prices.0,
        new_price: prices.1,
        old_qty: qtys.0,
        new_qty: qtys.1,
        priority_kept,
    }
}

pub fn delta(side: Side, price: Price, qty: Qty, orders: u32) -> Event {
    Event::BookDelta { seq: 0, side, price, qty, orders }
}

pub fn amend(order_id: OrderId, price: Option<Price>, qty: Option<Qty>) -> Command {
    Command::Amend { order_id, price, qty }
}

pub const SELF_TRADE: CancelReason = CancelReason::SelfTrade;

/// Bids: 99 [1 (acct 1) x2, 2 (acct 2) x3], 98 [3 (acct 1) x4];
/// asks: 101 [4 (acct 1) x5, 5 (acct 2) x6], 102 [6 (acct 2) x7].
pub fn two_sided_book() -> Bench {
    let mut b = Bench::empty();
    b.rest_all(&[
        limit(1, 1, BUY, 99, 2),
        limit(2, 2, BUY, 99, 3),
        limit(3, 1, BUY, 98, 4),
        limit(4, 1, SELL, 101, 5),
        limit(5, 2, SELL, 101, 6),
        limit(6, 2, SELL, 102, 7),
    ]);
    b
}

pub fn mass(account: Option<AccountId>, side: Option<Side>) -> Command {
    Command::MassCancel { account, side }
}
