//! The strategy interface: what a market maker sees and what it may do.
//!
//! A [`Strategy`] reacts to four callbacks, each with a [`Context`] through which it reads the
//! venues' tops, its inventory and the clock, and places, amends and cancels orders:
//!
//! | callback | called when |
//! |---|---|
//! | [`Strategy::on_book`] | a venue's top of book changed (as seen by us, after the feed latency) |
//! | [`Strategy::on_trade`] | a public trade printed on a venue |
//! | [`Strategy::on_fill`] | one of our orders was filled (partly or fully) |
//! | [`Strategy::on_order_gone`] | one of our orders left the book without our asking (rejected, filled) |
//! | [`Strategy::on_answer`] | the venue's answer to one of our cancels or amends reached us |
//! | [`Strategy::on_timer`] | the periodic timer fired |
//!
//! The strategy never learns where its events come from: the backtester
//! ([`crate::backtest`]) and a live runner drive the same code through the same [`Context`].
//! Orders are fire-and-forget: [`Context::place`] returns the order id at once, the order
//! reaches the venue after the configured order latency, and what becomes of it comes back as
//! fills and [`Strategy::on_order_gone`].
//!
//! ## Batched strategies
//! A strategy that is costly to call once per event (one written in Python) buffers its events
//! and decides once per batch: it sets [`Strategy::BATCHED`], keeps each event's [`Stamp`]
//! ([`Context::stamp`]), and in [`Strategy::on_batch_end`] replays its decisions, each after the
//! event it was made after ([`Context::decided_at`]), so that a batched strategy trades exactly
//! as it would have if called per event. [`crate::batched`] does all of this for a callback sink.
//!
//! ```
//! use wintermute_mm::strategy::{Context, PublicTrade, Strategy};
//! use wintermute_mm::types::{Fill, Side, Top, VenueId};
//!
//! /// Buys one lot at the best bid of our venue whenever it has no order working.
//! #[derive(Default)]
//! struct JoinBid { working: Option<u64> }
//!
//! impl Strategy for JoinBid {
//!     fn on_book<C: Context>(&mut self, ctx: &mut C, venue: VenueId, top: &Top) {
//!         if venue == VenueId::Ours && self.working.is_none() && top.bid.qty > 0 {
//!             self.working = Some(ctx.place(VenueId::Ours, Side::Buy, top.bid.price, 1));
//!         }
//!     }
//!     fn on_order_gone<C: Context>(&mut self, _ctx: &mut C, _venue: VenueId, order_id: u64) {
//!         if self.working == Some(order_id) { self.working = None; }
//!     }
//! }
//! ```

use crate::types::{Fill, Side, Top, VenueId};

/// A public trade on a venue, on our grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicTrade {
    /// When we saw it, nanoseconds.
    pub ts_ns: i64,
    /// Where it printed.
    pub venue: VenueId,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
    /// The side that took liquidity.
    pub aggressor: Side,
}

/// A point in the driver's sequence of events: where a strategy saw one event. A batched
/// strategy takes one per event ([`Context::stamp`]) and hands it back with the commands it
/// decided after that event ([`Context::decided_at`]), so that they take effect as if they had
/// been sent right then. The fields are the driver's; a strategy passes them back untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    /// The time of the event, nanoseconds.
    pub ts_ns: i64,
    /// The driver's step counter at the event (ties between commands that reach a venue at the
    /// same instant are broken by it).
    pub step: u64,
    /// The driver's reference price at the event (the backtester: the quoted venue's
    /// `bid + ask`), the reference of the hedge slippage of an IOC decided then.
    pub mark: i64,
}

/// What a strategy may read and do while handling a callback.
pub trait Context {
    /// The current time, nanoseconds (simulated time in a backtest).
    fn now_ns(&self) -> i64;
    /// The latest top of `venue` as we have seen it (all zero before its first update).
    fn top(&self, venue: VenueId) -> Top;
    /// Whether `venue`'s book is trustworthy now (live and in sync; false while it resyncs).
    fn book_live(&self, venue: VenueId) -> bool;
    /// Our position in lots (> 0 long), counting every fill we have been told about.
    fn inventory(&self) -> i64;
    /// Sends a post-only limit order; returns its id.
    fn place(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64;
    /// Sends an immediate-or-cancel limit order (takes liquidity up to `price`); returns its id.
    fn take(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64;
    /// Lowers a working order's remaining quantity to `qty`, keeping its queue priority.
    fn amend(&mut self, venue: VenueId, order_id: u64, qty: i64);
    /// Cancels a working order (nothing happens if it is already gone when the cancel arrives).
    fn cancel(&mut self, venue: VenueId, order_id: u64);
    /// Where the driver is now (see [`Stamp`]). The default has the time only.
    fn stamp(&self) -> Stamp {
        Stamp { ts_ns: self.now_ns(), ..Stamp::default() }
    }
    /// The orders, amends and cancels sent from now on were decided at `at` (a batched strategy
    /// replaying its decisions), or now (`None`, the default state). A driver that sends at once
    /// (a live one) ignores it: there the batch's delay is real.
    fn decided_at(&mut self, _at: Option<Stamp>) {}
    /// The id the next [`Context::place`] or [`Context::take`] will return, when the driver
    /// numbers its orders in sequence (a batched strategy hands its ids out ahead of sending);
    /// `None` by default.
    fn next_order_id(&self) -> Option<u64> {
        None
    }
    /// Whether the driver tells the strategy the answers to its cancels and amends
    /// ([`Strategy::on_answer`]); `false` by default (a strategy must then not wait for them).
    fn answers_commands(&self) -> bool {
        false
    }
}

/// A market-making strategy. Every callback has a default that does nothing.
pub trait Strategy {
    /// Whether the strategy buffers its events and decides in [`Strategy::on_batch_end`]: the
    /// driver then calls it before any of the commands it could have sent after the batch's
    /// first event would take effect, and before reading [`Strategy::fair_value`].
    const BATCHED: bool = false;
    /// The end of a batch of events (called only when [`Strategy::BATCHED`]).
    fn on_batch_end<C: Context>(&mut self, _ctx: &mut C) {}
    /// Whether the strategy has stopped for good (a batched strategy whose callback failed):
    /// the driver ends the run (read only when [`Strategy::BATCHED`]).
    fn halted(&self) -> bool {
        false
    }
    /// A venue's top changed.
    fn on_book<C: Context>(&mut self, _ctx: &mut C, _venue: VenueId, _top: &Top) {}
    /// A public trade printed.
    fn on_trade<C: Context>(&mut self, _ctx: &mut C, _trade: &PublicTrade) {}
    /// One of our orders was filled; `remaining` lots of it are still working.
    fn on_fill<C: Context>(&mut self, _ctx: &mut C, _fill: &Fill, _remaining: i64) {}
    /// One of our orders left the book without a cancel of ours (rejected, or fully filled).
    fn on_order_gone<C: Context>(&mut self, _ctx: &mut C, _venue: VenueId, _order_id: u64) {}
    /// The venue's answer to a cancel or an amend of ours for `order_id` reached us: the order
    /// had `open_qty` lots open once the command took effect (0: gone), and fills at most those
    /// from now on. The fills it had before are reported first. Until then a canceled order may
    /// still fill, and an amended one up to the larger of its old and new quantity (the one
    /// inventory limit counts them, [`crate::in_flight`]). Called only when
    /// [`Strategy::wants_answers`].
    fn on_answer<C: Context>(&mut self, _ctx: &mut C, _venue: VenueId, _order_id: u64, _open_qty: i64) {}
    /// Whether the strategy is to be told the answers ([`Strategy::on_answer`]): by default
    /// when it is not batched (a batched one whose sink takes them says so).
    fn wants_answers(&self) -> bool {
        !Self::BATCHED
    }
    /// The periodic timer fired.
    fn on_timer<C: Context>(&mut self, _ctx: &mut C) {}
    /// The strategy's fair value at `now_ns`, ticks, if it has one: the reference of the
    /// fair-value markouts ([`crate::metrics::markouts`]).
    fn fair_value(&self, _now_ns: i64) -> Option<f64> {
        None
    }
}
