//! The market maker on the real pricing stack: [`Pricer`] (fair value across venues with
//! staleness and basis, online σ and (A, k) estimates, fixed / Avellaneda–Stoikov / GLFT, the
//! no-flicker quoter with amend-in-place) driven as a [`Strategy`], plus a simple hedger.
//!
//! Each external venue's top goes to [`Pricer::on_top`] and each trade to
//! [`Pricer::on_trade`]; after every event the pricer decides, and its slot actions become
//! orders through the [`Context`]: a `Place` sends a post-only order and remembers its id in the
//! slot, an `Amend` lowers the slot's order in place, a `Cancel` cancels it. Fills and orders
//! that leave the book go back to the quoter by slot. A decision without a usable fair value
//! pulls every quote (counted in [`PricedMarketMaker::pulls`]).
//!
//! On several venues ([`PricedMarketMaker::on_venues`], a backtest's `quote_on` list) each
//! venue has a ladder of its own — the pricer's quoter for the first, a
//! [`Quoter::idle_copy`] for each other — decided off the one fair value and inventory, each
//! priced not to cross its own venue's top, in `quote_on`'s order. A fill on one venue makes
//! every other ladder requote (they skew alike), and the inventory limit holds for all of them
//! together: what the other ladders rest on a side comes out of a ladder's room
//! ([`Quoter::set_elsewhere`]), as the live market maker's ladders do ([`crate::live`]).
//! So does every order that may still fill though no slot holds it any more: each ladder
//! records its cancels and amends until the venue's answer comes back ([`InFlight`],
//! [`Strategy::on_answer`]), and every ladder's room counts every ladder's record, one venue
//! alone included ([`Quoter::set_in_flight`]).
//!
//! With an [`Interlock`] ([`crate::interlock`]), every reference venue's sync state and top go to
//! it too (a top change counts as the venue's update), and the timer checks staleness: on a
//! pull the quoter's quotes are cancelled within the same event, and no decision is made until
//! the interlock returns.

use wintermute_feeds::sync::SyncState;

use crate::config::{PricingConfig, MAX_LEVELS};
use crate::in_flight::InFlight;
use crate::interlock::{Interlock, InterlockEvent, InterlockStats, Transition};
use crate::pricer::Pricer;
use crate::quote_actions::{ActionBuffer, QuoteAction};
use crate::quoter::{Decision, Quoter};
use crate::strategy::{Context, PublicTrade, Strategy};
use crate::types::{Fill, Liquidity, Side, Top, VenueId};

/// Hedging: inventory beyond `threshold_lots` is sent as an IOC on `venue`, at most
/// `slippage_ticks` through its touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeRule {
    /// Where to hedge.
    pub venue: VenueId,
    /// |inventory| above which to hedge, lots.
    pub threshold_lots: i64,
    /// Worst price, ticks beyond the touch.
    pub slippage_ticks: i64,
}

/// The order ids resting in a ladder's slots.
type Slots = [[Option<u64>; MAX_LEVELS]; 2];

/// A ladder on a quote venue after the first (the first's quoter is the pricer's own).
#[derive(Debug)]
struct Ladder {
    venue: VenueId,
    quoter: Quoter,
    slots: Slots,
    in_flight: InFlight,
}

/// The market maker on the pricing stack (see the module docs).
#[derive(Debug)]
pub struct PricedMarketMaker {
    pricer: Pricer,
    actions: ActionBuffer,
    quote_venue: VenueId,
    slots: Slots,
    /// The first ladder's cancels and amends not yet answered.
    in_flight: InFlight,
    /// The other quote venues' ladders, in order.
    more: Vec<Ladder>,
    hedge: Option<HedgeRule>,
    hedge_in_flight: Option<u64>,
    pulls: u64,
    requotes: u64,
    interlock: Option<Interlock>,
    live: [bool; crate::interlock::MAX_VENUES],
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

impl PricedMarketMaker {
    /// From a pricing configuration (validated by [`Pricer::from_config`]).
    pub fn new(
        cfg: &PricingConfig,
        quote_venue: VenueId,
        hedge: Option<HedgeRule>,
    ) -> Result<Self, crate::config::MmConfigError> {
        Self::on_venues(cfg, &[quote_venue], hedge)
    }

    /// As [`PricedMarketMaker::new`], quoting on each of `quote_venues` (in order; none: our
    /// venue) with a ladder of its own (module docs).
    pub fn on_venues(
        cfg: &PricingConfig,
        quote_venues: &[VenueId],
        hedge: Option<HedgeRule>,
    ) -> Result<Self, crate::config::MmConfigError> {
        let pricer = Pricer::from_config(cfg)?;
        let actions = ActionBuffer::for_levels(pricer.levels());
        let quote_venue = quote_venues.first().copied().unwrap_or(VenueId::Ours);
        let more = quote_venues
            .iter()
            .skip(1)
            .map(|&venue| Ladder {
                venue,
                quoter: pricer.quoter().idle_copy(),
                slots: [[None; MAX_LEVELS]; 2],
                in_flight: InFlight::new(),
            })
            .collect();
        Ok(PricedMarketMaker {
            pricer,
            actions,
            quote_venue,
            slots: [[None; MAX_LEVELS]; 2],
            in_flight: InFlight::new(),
            more,
            hedge,
            hedge_in_flight: None,
            pulls: 0,
            requotes: 0,
            interlock: None,
            live: [false; crate::interlock::MAX_VENUES],
        })
    }

    /// The same, guarded by `interlock`.
    pub fn with_interlock(mut self, interlock: Interlock) -> Self {
        self.interlock = Some(interlock);
        self
    }

    /// The interlock's counters at `now_ns` (pulls and raises per cause, time pulled).
    pub fn interlock_stats(&self, now_ns: i64) -> Option<InterlockStats> {
        self.interlock.as_ref().map(|i| i.stats(now_ns))
    }

    /// Applies an interlock transition: a pull cancels every quote now.
    fn on_interlock<C: Context>(&mut self, ctx: &mut C, event: Option<InterlockEvent>) {
        if event.is_some_and(|e| e.transition == Transition::Pull) {
            self.actions.clear();
            // The buffer is sized for the ladder, so a pull cannot fail.
            let _ = self.pricer.pull(&mut self.actions);
            self.apply(ctx, 0);
            for k in 1..=self.more.len() {
                let _ = self.more[k - 1].quoter.pull(&mut self.actions);
                self.apply(ctx, k);
            }
        }
    }

    fn quoting_allowed(&self) -> bool {
        self.interlock.as_ref().is_none_or(Interlock::quoting_allowed)
    }

    /// Decisions that pulled every quote (no usable fair value).
    pub fn pulls(&self) -> u64 {
        self.pulls
    }

    /// Decisions that recomputed the ladder.
    pub fn requotes(&self) -> u64 {
        self.requotes
    }

    fn decide<C: Context>(&mut self, ctx: &mut C) {
        if !self.quoting_allowed() {
            return;
        }
        let (mut pulled, mut requoted) = (false, false);
        for k in 0..=self.more.len() {
            self.actions.clear();
            let venue = self.venue(k);
            let top = Some(ctx.top(venue)).filter(|t| t.bid.qty > 0 || t.ask.qty > 0);
            let (now, inventory) = (ctx.now_ns(), ctx.inventory());
            // One inventory limit for every ladder: the others' resting lots and every order
            // in flight come out of this one's room.
            let (bids, asks) = (self.resting_elsewhere(k, Side::Buy), self.resting_elsewhere(k, Side::Sell));
            let (fly_bids, fly_asks) = (self.in_flight_lots(Side::Buy), self.in_flight_lots(Side::Sell));
            let quoter = self.quoter_mut(k);
            quoter.set_elsewhere(bids, asks);
            quoter.set_in_flight(fly_bids, fly_asks);
            // The buffer is sized for the ladder, so a decision cannot fail.
            let decision = match k {
                0 => self.pricer.decide(now, inventory, top, &mut self.actions),
                _ => self.pricer.decide_with(&mut self.more[k - 1].quoter, now, inventory, top, &mut self.actions),
            };
            match decision {
                Ok(Decision::Pulled) => pulled = true,
                Ok(Decision::Requoted(_)) => requoted = true,
                Ok(Decision::Held) | Err(_) => {}
            }
            self.apply(ctx, k);
        }
        self.pulls += u64::from(pulled);
        self.requotes += u64::from(requoted);
        self.hedge(ctx);
    }

    /// Quote venue `k` (0: the first).
    fn venue(&self, k: usize) -> VenueId {
        match k {
            0 => self.quote_venue,
            _ => self.more[k - 1].venue,
        }
    }

    fn quoter(&self, k: usize) -> &Quoter {
        match k {
            0 => self.pricer.quoter(),
            _ => &self.more[k - 1].quoter,
        }
    }

    fn quoter_mut(&mut self, k: usize) -> &mut Quoter {
        match k {
            0 => self.pricer.quoter_mut(),
            _ => &mut self.more[k - 1].quoter,
        }
    }

    fn slots_mut(&mut self, k: usize) -> &mut Slots {
        match k {
            0 => &mut self.slots,
            _ => &mut self.more[k - 1].slots,
        }
    }

    fn in_flight_mut(&mut self, k: usize) -> &mut InFlight {
        match k {
            0 => &mut self.in_flight,
            _ => &mut self.more[k - 1].in_flight,
        }
    }

    /// Lots on `side` every ladder's cancels and amends in flight may still fill.
    fn in_flight_lots(&self, side: Side) -> i64 {
        self.in_flight.lots(side) + self.more.iter().map(|l| l.in_flight.lots(side)).sum::<i64>()
    }

    /// Applies `f` to every ladder's record; true when it did for any. Order ids are unique
    /// across venues here, so at most one record holds an id.
    fn any_in_flight(&mut self, mut f: impl FnMut(&mut InFlight) -> bool) -> bool {
        let mut any = f(&mut self.in_flight);
        for l in &mut self.more {
            any |= f(&mut l.in_flight);
        }
        any
    }

    /// Lots in flight freed: the ladders quoted short because of them quote again.
    fn room_freed(&mut self) {
        for k in 0..=self.more.len() {
            self.quoter_mut(k).on_room_freed();
        }
    }

    /// Lots resting on `side` in every ladder but `k`'s.
    fn resting_elsewhere(&self, k: usize, side: Side) -> i64 {
        (0..=self.more.len()).filter(|&j| j != k).map(|j| self.quoter(j).resting_lots(side)).sum()
    }

    /// Sends ladder `k`'s actions to its venue.
    fn apply<C: Context>(&mut self, ctx: &mut C, k: usize) {
        let venue = self.venue(k);
        for i in 0..self.actions.len() {
            let action = self.actions.as_slice()[i];
            let slots = self.slots_mut(k);
            match action {
                QuoteAction::Place { side, level, price, qty } => {
                    let id = ctx.place(venue, side, price, qty);
                    slots[side_index(side)][level as usize] = Some(id);
                }
                QuoteAction::Amend { side, level, qty, .. } => {
                    if let Some(id) = slots[side_index(side)][level as usize] {
                        ctx.amend(venue, id, qty);
                        if ctx.answers_commands() {
                            let was = self.quoter(k).was(side, level as usize);
                            self.in_flight_mut(k).on_action(action, id, was);
                        }
                    }
                }
                QuoteAction::Cancel { side, level, .. } => {
                    if let Some(id) = slots[side_index(side)][level as usize].take() {
                        ctx.cancel(venue, id);
                        if ctx.answers_commands() {
                            let was = self.quoter(k).was(side, level as usize);
                            self.in_flight_mut(k).on_action(action, id, was);
                        }
                    }
                }
            }
        }
    }

    fn hedge<C: Context>(&mut self, ctx: &mut C) {
        let Some(rule) = self.hedge else { return };
        let inventory = ctx.inventory();
        if inventory.abs() <= rule.threshold_lots || self.hedge_in_flight.is_some() {
            return;
        }
        let top = ctx.top(rule.venue);
        let excess = inventory - inventory.signum() * rule.threshold_lots;
        let id = if excess > 0 && top.bid.qty > 0 {
            ctx.take(rule.venue, Side::Sell, top.bid.price - rule.slippage_ticks, excess)
        } else if excess < 0 && top.ask.qty > 0 {
            ctx.take(rule.venue, Side::Buy, top.ask.price + rule.slippage_ticks, -excess)
        } else {
            return;
        };
        self.hedge_in_flight = Some(id);
    }

    /// The ladder, side and level `order_id` rests in.
    fn slot_of(&self, order_id: u64) -> Option<(usize, Side, usize)> {
        let ladders = std::iter::once(&self.slots).chain(self.more.iter().map(|l| &l.slots));
        for (k, slots) in ladders.enumerate() {
            for (s, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
                if let Some(level) = slots[s].iter().position(|&id| id == Some(order_id)) {
                    return Some((k, side, level));
                }
            }
        }
        None
    }
}

impl Strategy for PricedMarketMaker {
    fn on_book<C: Context>(&mut self, ctx: &mut C, venue: VenueId, top: &Top) {
        if let VenueId::External(v) = venue {
            // A venue the pricing config does not name is not a reference: ignore its top.
            let _ = self.pricer.on_top(venue, *top);
            let now = ctx.now_ns();
            let live = ctx.book_live(venue);
            if let Some(lock) = self.interlock.as_mut() {
                let mut event = None;
                let was = self.live.get_mut(v as usize);
                if let Some(was) = was.filter(|w| **w != live) {
                    *was = live;
                    let state = if live { SyncState::Live } else { SyncState::Resyncing };
                    event = lock.on_sync_state(venue, now, state).ok().flatten();
                }
                if live && top.bid.qty > 0 && top.ask.qty > 0 {
                    event = event.or(lock.on_book(venue, now, *top).ok().flatten());
                }
                self.on_interlock(ctx, event);
            }
        }
        self.decide(ctx);
    }

    fn on_trade<C: Context>(&mut self, _ctx: &mut C, trade: &PublicTrade) {
        if let VenueId::External(_) = trade.venue {
            self.pricer.on_trade(trade.ts_ns, trade.aggressor, trade.price);
        }
    }

    fn on_fill<C: Context>(&mut self, ctx: &mut C, fill: &Fill, remaining: i64) {
        if fill.liquidity == Liquidity::Taker && self.hedge_in_flight == Some(fill.order_id) {
            if remaining == 0 {
                self.hedge_in_flight = None;
            }
        } else if let Some((k, side, level)) = self.slot_of(fill.order_id) {
            // The level exists: it came from this quoter.
            let _ = self.quoter_mut(k).on_fill(side, level, fill.qty);
            // An amend down not yet arrived: the order still rests what the venue says.
            self.quoter_mut(k).on_still_open(side, level, fill.price, remaining);
            if remaining == 0 {
                self.slots_mut(k)[side_index(side)][level] = None;
            }
            // The other ladders follow the inventory too.
            for j in (0..=self.more.len()).filter(|&j| j != k) {
                self.quoter_mut(j).on_inventory_change();
            }
        }
        let (id, qty) = (fill.order_id, fill.qty);
        if self.any_in_flight(|f| f.on_fill(id, qty)) {
            self.room_freed();
        }
        self.decide(ctx);
    }

    fn on_order_gone<C: Context>(&mut self, ctx: &mut C, _venue: VenueId, order_id: u64) {
        if self.hedge_in_flight == Some(order_id) {
            self.hedge_in_flight = None;
        } else if let Some((k, side, level)) = self.slot_of(order_id) {
            self.quoter_mut(k).on_order_gone(side, level);
            self.slots_mut(k)[side_index(side)][level] = None;
            self.room_freed();
        } else if self.any_in_flight(|f| f.on_gone(order_id)) {
            self.room_freed();
        }
        self.decide(ctx);
    }

    fn on_answer<C: Context>(&mut self, ctx: &mut C, _venue: VenueId, order_id: u64, open_qty: i64) {
        let mut freed = self.any_in_flight(|f| f.on_answer(order_id));
        if open_qty == 0 {
            // Gone: nothing of it fills any more, whatever else is still on its way to it.
            freed |= self.any_in_flight(|f| f.on_gone(order_id));
        }
        if let Some((k, side, level)) = self.slot_of(order_id) {
            if open_qty > 0 {
                // An amend's answer: the slot rests what the venue says, once no other amend
                // of it is on its way (the record counts the larger until then).
                if !self.any_in_flight(|f| f.holds(order_id)) {
                    self.quoter_mut(k).on_amended(side, level, open_qty);
                }
            } else {
                self.quoter_mut(k).on_order_gone(side, level);
                self.slots_mut(k)[side_index(side)][level] = None;
                freed = true;
            }
        }
        if freed {
            self.room_freed();
            self.decide(ctx);
        }
    }

    fn on_timer<C: Context>(&mut self, ctx: &mut C) {
        let event = self.interlock.as_mut().and_then(|lock| lock.on_timer(ctx.now_ns()));
        self.on_interlock(ctx, event);
        self.decide(ctx);
    }

    fn fair_value(&self, now_ns: i64) -> Option<f64> {
        self.pricer.fair_value_engine().fair_value(now_ns).map(|f| f.price)
    }
}

/// The pricing configuration of a backtest, parsed from its JSON value.
pub fn pricing_config(value: &serde_json::Value) -> Result<PricingConfig, crate::config::MmConfigError> {
    PricingConfig::from_json(&value.to_string())
}
