//! What a route's orders hold of the account's free balance before the venue's balances show
//! it: **reservations**, so that two orders sent back to back are not both checked against the
//! same free balance.
//!
//! The venue's own balances ([`crate::balances`]) lag what the route sent: an order queued, sent
//! and not answered, or answered while the account's next balance event has not arrived yet, is
//! not in the venue's `free` yet. Each order the route sends therefore reserves what it can take
//! of the free balance, in the instrument's integer units ([`Reserve`]): a sell its quantity in
//! lots of the base asset, a buy its quantity times its limit price in notional units (tick ×
//! lot) of the quote asset, plus its fee where the venue holds that too (Kraken holds a buy's
//! fee at the taker rate in the quote asset: [`Reserve::with_buy_fee`]). What a new order can
//! use is `free − reserved`.
//!
//! **The release rule.** A reservation is held until the venue's balances include the order,
//! and released then, so it is never counted twice (once reserved, once in `locked` or spent):
//!
//! - when a balance `Position` of its asset (the asset's free and locked after a change) is
//!   applied that was *received after* the first report that moved the order at the venue (its
//!   acknowledgment, a fill, its end: [`crate::order_state::OrderState::first_report_ns`], our
//!   receive clock on both; for an order a cancel-replace amended, the replacement's): from
//!   that report on the venue holds the order's funds in `locked` (later fills spend them from
//!   there, leaving `free` as it is), and a venue sends the account's balances after the order
//!   reports of each change (Binance: the `outboundAccountPosition` after the
//!   `executionReport`s), so that position includes the order; one received before may not,
//!   and does not release it;
//!   an order a cancel-replace placed (a `replace`'s new order, an amend up on Binance) counts
//!   on the venue pushing the request's reports and the positions after both halves before its
//!   answer, as the simulator does (assumed of Binance's WebSocket API, not confirmed against
//!   it; an entry's `positions` can wait for more than one position where a venue differs);
//! - when a REST snapshot requested after that report is loaded (a resync or a reconciliation);
//! - at once when the order ended with nothing filled at all (canceled, expired, rejected by the
//!   venue) or was never sent (refused by the route): it took nothing, and whatever it had
//!   locked is given back; until the venue's balance event says so the free balance reads lower
//!   than it is, never higher;
//! - at once on a route whose client keeps no balances (nothing to wait for).
//!
//! Where the venue's stream says nothing of holds (Kraken's ledger entries,
//! [`crate::balances::holds_streamed`]), the first rule does not apply: no streamed update
//! releases a reservation (a ledger entry received after the order's report may be another
//! change of the asset and leave the order's hold out of `locked`); the snapshot rule and the
//! order's end do, and the route asks for a snapshot when a ledger entry may have spent or freed
//! what is held ([`crate::route_balances`]).
//!
//! A report received before the balance event that follows it is the venue's order; were it the
//! other way round, the reservation would be held until the asset's next balance event or the
//! order's end (never released early: a free balance that reads low, not high).
//!
//! **Every order path.** A new order reserves its whole need. A cancel-replace's new order
//! (`Execution::replace`) reserves its need net of what the replaced order frees (its open
//! quantity, same side, at its price); if the venue then refuses the cancel (the old order was
//! gone already), the freed part is reserved too. An amend up reserves the increase
//! (the new open quantity against the old at the order's price); an amend down reserves nothing.
//! The route's orders are limit orders: the market maker's interface has no market order, so
//! every order's need is bounded by its limit price.
//!
//! The handle's side (the route's shared balances, [`crate::route_balances`]) checks and
//! reserves with two atomics per asset (free as the venue last said, reserved): no lock, no
//! allocation. The worker's side ([`Ledger`]) keeps one entry per reservation and releases it by
//! the rule above.

use wintermute_mm::execution::ClientOrderId;

use crate::order_state::Side;

/// Millionths in one: the unit of a fee rate ([`Reserve::with_buy_fee`]).
pub(crate) const PPM: i128 = 1_000_000;

/// What an order holds of the free balance, in the instrument's units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reserve {
    /// Lots of the base asset (a sell).
    pub base_lots: i64,
    /// Notional units (tick × lot) of the quote asset (a buy).
    pub quote_units: i64,
}

impl Reserve {
    /// What an order of `qty` lots at `price` ticks needs: a sell its lots, a buy its notional
    /// (saturating: an order past the range needs more than any balance).
    pub fn of(side: Side, price: i64, qty: i64) -> Self {
        let qty = qty.max(0);
        match side {
            Side::Sell => Self { base_lots: qty, quote_units: 0 },
            Side::Buy => Self { base_lots: 0, quote_units: qty.saturating_mul(price.max(0)) },
        }
    }

    /// `self` with a buy's fee held on top of its notional, at `fee_ppm` millionths of it,
    /// rounded up (a venue that holds the fee, Kraken, refuses a buy it cannot pay the fee of:
    /// [`crate::venue::VenueClient::buy_fee_held_ppm`]); saturating. A sell's lots are as they
    /// were.
    pub fn with_buy_fee(self, fee_ppm: u32) -> Self {
        if fee_ppm == 0 || self.quote_units <= 0 {
            return self;
        }
        let held = i128::from(self.quote_units) * (PPM + i128::from(fee_ppm));
        let quote_units = i64::try_from((held + PPM - 1) / PPM).unwrap_or(i64::MAX);
        Self { quote_units, ..self }
    }

    /// Nothing reserved.
    pub fn is_zero(&self) -> bool {
        self.base_lots == 0 && self.quote_units == 0
    }

    /// `self − other` in each asset, never below zero.
    pub fn less(self, other: Self) -> Self {
        Self {
            base_lots: self.base_lots.saturating_sub(other.base_lots).max(0),
            quote_units: self.quote_units.saturating_sub(other.quote_units).max(0),
        }
    }
}

/// Which of the instrument's assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetSide {
    /// The base asset.
    Base,
    /// The quote asset.
    Quote,
}

/// Where an order stands, as the release rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderView {
    /// Not sent, or refused before it reached the venue, or no longer followed: nothing held.
    Gone,
    /// Sent, not yet answered: held.
    Pending,
    /// Ended at the venue with nothing filled (any generation): nothing taken.
    EndedUnfilled,
    /// Moved at the venue (acknowledged, filled, ended after fills); `report_ns` is when
    /// the first report that moved it (its live generation) was received.
    Reported {
        /// Our receive clock, ns.
        report_ns: i64,
    },
}

/// One reservation the worker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The order it is for.
    pub client_id: ClientOrderId,
    /// What it holds.
    pub reserve: Reserve,
    /// Not released by a balance received at or before this (our clock, ns): the answer to an
    /// amend made in place, which moves no report.
    pub not_before_ns: i64,
    /// How many positions of its asset received after that it waits for (1 on the venues the
    /// router speaks to: see the module docs).
    pub positions: u8,
}

/// Something that holds the reserved totals (the atomics the handle reads).
pub trait Reserved {
    /// Adds `r` to the totals.
    fn add(&self, r: Reserve);
    /// Takes `r` off the totals.
    fn sub(&self, r: Reserve);
}

/// The worker's reservations (see the module docs for the rule).
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
}

impl Ledger {
    /// The entries held.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Records a reservation already added to the totals (by the handle's `submit`).
    pub fn hold(&mut self, entry: Entry) {
        if !entry.reserve.is_zero() {
            self.entries.push(entry);
        }
    }

    /// Adds `entry` to the totals and records it (a reservation the worker makes).
    pub fn reserve(&mut self, totals: &impl Reserved, entry: Entry) {
        if !entry.reserve.is_zero() {
            totals.add(entry.reserve);
            self.entries.push(entry);
        }
    }

    /// Releases every entry for which `release` holds.
    pub fn release_where(&mut self, totals: &impl Reserved, mut release: impl FnMut(&Entry) -> bool) {
        self.entries.retain(|e| {
            let go = release(e);
            if go {
                totals.sub(e.reserve);
            }
            !go
        });
    }

    /// Releases what no longer waits on the venue: orders gone or ended with nothing filled.
    pub fn settle(&mut self, totals: &impl Reserved, view: impl Fn(ClientOrderId) -> OrderView) {
        self.release_where(totals, |e| matches!(view(e.client_id), OrderView::Gone | OrderView::EndedUnfilled));
    }

    /// A balance `Position` of `asset` received at `receive_ns` was applied: counts it for the
    /// entries of that asset whose order's first move was received before it, releasing those
    /// that waited for no more.
    pub fn on_position(
        &mut self,
        totals: &impl Reserved,
        asset: AssetSide,
        receive_ns: i64,
        view: impl Fn(ClientOrderId) -> OrderView,
    ) {
        self.entries.retain_mut(|e| {
            let of_asset = match asset {
                AssetSide::Base => e.reserve.base_lots != 0,
                AssetSide::Quote => e.reserve.quote_units != 0,
            };
            if !of_asset || !included(e, view(e.client_id), receive_ns) {
                return true;
            }
            if e.positions > 1 {
                e.positions -= 1;
                return true;
            }
            totals.sub(e.reserve);
            false
        });
    }

    /// A snapshot of every asset requested at `request_ns` was loaded: releases the entries
    /// whose order's first move was received before the request.
    pub fn on_snapshot(&mut self, totals: &impl Reserved, request_ns: i64, view: impl Fn(ClientOrderId) -> OrderView) {
        self.release_where(totals, |e| included(e, view(e.client_id), request_ns));
    }

    /// The venue answered an amend of `client_id`: its reservation (held until now) waits for
    /// `positions` balances received after `at` (our clock, ns: the answer of an amend in place;
    /// `i64::MIN` for a new generation, whose first report says when), or is released when the
    /// amend was refused (`None`).
    pub fn amend_answered(&mut self, totals: &impl Reserved, client_id: ClientOrderId, waits_for: Option<(i64, u8)>) {
        let pending = |e: &Entry| e.client_id == client_id && e.not_before_ns == i64::MAX;
        match waits_for {
            Some((at, positions)) => self.entries.iter_mut().filter(|e| pending(e)).for_each(|e| {
                e.not_before_ns = at;
                e.positions = positions;
            }),
            None => self.release_where(totals, pending),
        }
    }

    /// What the amends of `client_id` not yet answered reserve.
    pub fn pending_amend(&self, client_id: ClientOrderId) -> Reserve {
        let pending = self.entries.iter().filter(|e| e.client_id == client_id && e.not_before_ns == i64::MAX);
        pending.fold(Reserve::default(), |sum, e| Reserve {
            base_lots: sum.base_lots.saturating_add(e.reserve.base_lots),
            quote_units: sum.quote_units.saturating_add(e.reserve.quote_units),
        })
    }

    /// Releases everything (a route that keeps no balances).
    pub fn clear(&mut self, totals: &impl Reserved) {
        self.release_where(totals, |_| true);
    }
}

/// Whether the venue's balances as of `at_ns` (our receive clock) include the entry's order.
fn included(e: &Entry, view: OrderView, at_ns: i64) -> bool {
    match view {
        OrderView::Gone | OrderView::EndedUnfilled => true,
        OrderView::Pending => false,
        OrderView::Reported { report_ns } => report_ns < at_ns && e.not_before_ns < at_ns,
    }
}

#[cfg(test)]
#[path = "reservations_tests.rs"]
mod tests;
