//! The quoter: turns the fair value, a quote model and the inventory into a ladder of orders,
//! and into the few actions that move the resting ladder onto it.
//!
//! ## From a model quote to a ladder
//! 1. The model gives an unrounded bid and ask (ticks) for `q = inventory / inventory_unit_lots`.
//! 2. **Spread bounds**: a spread below `min_spread_ticks` or above `max_spread_ticks` is set to
//!    the bound, around the model's own centre (so the inventory skew is kept). Steps 3 and 4
//!    only ever widen the quote further.
//! 3. **Rounding away from the touch**: the bid is rounded down, the ask up. Rounding only
//!    widens, by less than one tick per side.
//! 4. **Never through the fair value**: the bid stays strictly below the fair value and the ask
//!    strictly above it (a heavily skewed model quote is held one tick off the fair value), and
//!    when the caller passes our venue's own top, a bid stays below its best ask and an ask
//!    above its best bid (the quotes rest; they never take).
//! 5. **Levels**: level `i` of the bids is `i·level_spacing_ticks` below level 0, level `i` of
//!    the asks as far above; level `i` has `sizes_lots[i]`.
//! 6. **Inventory limit**: the bids may add at most `max_inventory_lots − inventory` lots, the
//!    asks at most `max_inventory_lots + inventory`; levels are filled best first, the level that
//!    meets the limit is cut to the room left and the ones behind it are not quoted. So a side that
//!    would grow the inventory past the limit stops being quoted (at the limit, not at all).
//!    With several ladders on one inventory (one per quote venue), what the other ladders have
//!    resting on a side ([`Quoter::set_elsewhere`]) is taken from that side's room first, so the
//!    inventory plus every venue's resting bids stays within `max_inventory_lots` (and the
//!    asks likewise). What may still fill though no ladder counts it any more — orders canceled
//!    (or amended down) and not yet confirmed, on any ladder, this one's included
//!    ([`Quoter::set_in_flight`], [`crate::in_flight`]) — is taken from the room too.
//! 7. **Nothing new past the limit while the old may fill**: a slot whose price moves is
//!    cancelled, but until the venue confirms it the old order may still fill, so the places and
//!    the amends up of one decision add at most the room less what this ladder rested before it
//!    (levels best first; a place is cut to what is left, or not sent). A ladder cut short by
//!    orders in flight quotes the rest once they are confirmed gone
//!    ([`Quoter::on_room_freed`]: a [`RequoteReason::RoomFreed`]).
//!
//! ## No flicker
//! The ladder is recomputed only when one of these holds (the [`RequoteReason`]):
//! nothing is quoted yet, a fill was reported ([`Quoter::on_fill`]), an order vanished
//! ([`Quoter::on_order_gone`]), the venue corrected a slot's quantity ([`Quoter::on_amended`]),
//! in-flight orders that cut the ladder short were confirmed gone ([`Quoter::on_room_freed`]),
//! the fair value moved **more than** `requote_threshold_ticks`
//! since the last requote, or `requote_interval_ms` passed since it. Otherwise
//! [`Quoter::decide`] returns [`Decision::Held`] and emits nothing. A requote then compares each
//! slot's target with what rests there:
//!
//! | resting | target | action |
//! |---|---|---|
//! | none | level | `Place` |
//! | level | none | `Cancel` |
//! | same price, same qty | | nothing |
//! | same price, other qty | | `Amend` (keeps the order; on our engine a smaller qty keeps priority) |
//! | other price | | `Cancel` then `Place` |
//!
//! Cancels are emitted before amends and places. With no fair value (every venue stale) the
//! quoter pulls: it cancels every resting slot ([`Decision::Pulled`]).
//!
//! ## No allocation
//! The quoter's state is fixed-size arrays ([`MAX_LEVELS`] slots per side) and the actions go
//! into a caller-owned [`ActionBuffer`]: after construction nothing allocates
//! (`tests/quoter_no_alloc.rs` counts).

use crate::config::{MmConfigError, QuotingConfig, MAX_LEVELS};
use crate::models::{Intensity, ModelInput, QuoteModel};
use crate::quote_actions::{ActionBuffer, QuoteAction};
use crate::types::{Level, Side, Top};

/// Why a ladder was recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequoteReason {
    /// Nothing was quoted (start, or after a pull).
    First,
    /// A fill was reported since the last requote.
    Fill,
    /// An order left its slot without a fill ([`Quoter::on_order_gone`]).
    OrderGone,
    /// The fair value moved past the threshold.
    FairValueMoved,
    /// The requote timer expired.
    Timer,
    /// Orders in flight that had cut this ladder short were confirmed gone
    /// ([`Quoter::on_room_freed`]).
    RoomFreed,
    /// The venue said a slot's order rests another quantity than the quoter believed (an
    /// amend answered with a corrected quantity, [`Quoter::on_amended`]).
    QuantityCorrected,
}

/// What one [`Quoter::decide`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No trigger: nothing emitted.
    Held,
    /// The ladder was recomputed (the actions may still be empty when it did not change).
    Requoted(RequoteReason),
    /// No usable fair value (or model output): every resting slot was cancelled.
    Pulled,
}

/// What the next decision would do ([`Quoter::trigger`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// No trigger: hold.
    Hold,
    /// No usable fair value: pull.
    Pull,
    /// Requote around this fair value, for this reason.
    Requote(f64, RequoteReason),
}

/// A decision that could not be made; nothing was emitted and the quoter's state is untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoterError {
    /// The action buffer cannot hold one decision's worst case.
    #[error("quoter: action buffer capacity={capacity} is below needed={needed} (4 per level)")]
    BufferTooSmall {
        /// Its capacity.
        capacity: usize,
        /// What a decision may need.
        needed: usize,
    },
    /// A fill for a slot that does not exist.
    #[error("quoter: fill for level={level} but the ladder has levels={levels}")]
    NoSuchLevel {
        /// The level given.
        level: usize,
        /// Levels configured.
        levels: usize,
    },
}

/// Everything a decision reads besides the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteContext {
    /// Now, nanoseconds since the Unix epoch.
    pub now_ns: i64,
    /// The fair value in ticks (`None`: no fresh venue, pull).
    pub fair_value: Option<f64>,
    /// Our inventory, lots (long > 0).
    pub inventory_lots: i64,
    /// Volatility σ, ticks per √second.
    pub sigma: f64,
    /// Intensity of the trades that would hit our bids.
    pub bid_intensity: Intensity,
    /// Intensity of the trades that would lift our asks.
    pub ask_intensity: Intensity,
    /// Our venue's own top, when known: our quotes never cross it.
    pub our_top: Option<Top>,
}

type Ladder = [[Option<Level>; MAX_LEVELS]; 2];

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

const SIDES: [Side; 2] = [Side::Buy, Side::Sell];

/// Lays out and maintains one ladder per side.
#[derive(Debug, Clone)]
pub struct Quoter {
    levels: usize,
    sizes: [i64; MAX_LEVELS],
    spacing: i64,
    min_spread: f64,
    max_spread: f64,
    max_inventory: i64,
    unit_lots: f64,
    threshold: f64,
    interval_ns: i64,
    /// What rests in each slot, as far as the quoter knows (it assumes its actions succeed).
    resting: Ladder,
    target: Ladder,
    last_fair_value: Option<f64>,
    last_requote_ns: i64,
    /// A fill or a vanished order since the last requote (a fill wins).
    slot_event: Option<RequoteReason>,
    /// Lots the other ladders on the same inventory have resting, bids and asks
    /// ([`Quoter::set_elsewhere`]): taken from each side's room.
    elsewhere: [i64; 2],
    /// Lots canceled or amended away on any ladder and not yet confirmed, bids and asks
    /// ([`Quoter::set_in_flight`]): taken from each side's room.
    in_flight: [i64; 2],
    /// Each side's room at the last requote.
    room: [i64; 2],
    /// What rested in each slot before the last decision's actions (lots; 0: empty).
    was: [[i64; MAX_LEVELS]; 2],
    /// A side quoted short of its ladder while lots were in flight: requote once freed.
    starved: [bool; 2],
}

impl Quoter {
    /// A quoter for a (validated here) quoting configuration, with nothing resting.
    pub fn new(cfg: &QuotingConfig) -> Result<Self, MmConfigError> {
        cfg.validate()?;
        let mut sizes = [0; MAX_LEVELS];
        sizes[..cfg.levels].copy_from_slice(&cfg.sizes_lots);
        Ok(Quoter {
            levels: cfg.levels,
            sizes,
            spacing: cfg.level_spacing_ticks,
            min_spread: cfg.min_spread_ticks as f64,
            max_spread: cfg.max_spread_ticks as f64,
            max_inventory: cfg.max_inventory_lots,
            unit_lots: cfg.inventory_unit_lots as f64,
            threshold: cfg.requote_threshold_ticks,
            interval_ns: (cfg.requote_interval_ms as i64).saturating_mul(1_000_000),
            resting: [[None; MAX_LEVELS]; 2],
            target: [[None; MAX_LEVELS]; 2],
            last_fair_value: None,
            last_requote_ns: 0,
            slot_event: None,
            elsewhere: [0; 2],
            in_flight: [0; 2],
            room: [0; 2],
            was: [[0; MAX_LEVELS]; 2],
            starved: [false; 2],
        })
    }

    /// A quoter of the same configuration with nothing resting and nothing decided yet: the
    /// ladder of another venue quoted off the same pricing (one quoter per quote venue).
    pub fn idle_copy(&self) -> Self {
        Quoter {
            resting: [[None; MAX_LEVELS]; 2],
            target: [[None; MAX_LEVELS]; 2],
            last_fair_value: None,
            last_requote_ns: 0,
            slot_event: None,
            elsewhere: [0; 2],
            in_flight: [0; 2],
            room: [0; 2],
            was: [[0; MAX_LEVELS]; 2],
            starved: [false; 2],
            ..self.clone()
        }
    }

    /// The lots other ladders quoting off the same inventory (the other quote venues') have
    /// resting now, bids and asks: the next ladder this quoter lays out takes them from its
    /// room, so the inventory limit holds for all the ladders together (module docs, step 6).
    /// Not a requote trigger: each ladder lays out within what the others leave it, so
    /// together they stay within the limit without the others requoting (a fill moves the
    /// inventory and the filled ladder's resting lots alike).
    pub fn set_elsewhere(&mut self, bid_lots: i64, ask_lots: i64) {
        self.elsewhere = [bid_lots.max(0), ask_lots.max(0)];
    }

    /// The lots that may still fill though no ladder's slots count them any more — orders
    /// canceled, or amended down, and not yet confirmed, on every ladder of the inventory this
    /// one's included ([`crate::in_flight::InFlight::lots`]), bids and asks: taken from the room
    /// as [`Quoter::set_elsewhere`]'s are (module docs, steps 6 and 7).
    pub fn set_in_flight(&mut self, bid_lots: i64, ask_lots: i64) {
        self.in_flight = [bid_lots.max(0), ask_lots.max(0)];
    }

    /// Lots in flight were confirmed gone (a cancel's or an amend's answer): when a side was
    /// quoted short while lots were in flight, the next decision requotes
    /// ([`RequoteReason::RoomFreed`]); otherwise nothing changes.
    pub fn on_room_freed(&mut self) {
        if self.last_fair_value.is_some() && (self.starved[0] || self.starved[1]) {
            self.slot_event.get_or_insert(RequoteReason::RoomFreed);
        }
    }

    /// Lots a slot rested before the last decision's actions (0: empty): what a cancel or an
    /// amend of that decision took away from the slot, for [`crate::in_flight::InFlight`].
    pub fn was(&self, side: Side, level: usize) -> i64 {
        self.was[side_index(side)].get(level).copied().unwrap_or(0)
    }

    /// Whether the last decision quoted a side short of its ladder while lots were in flight
    /// (module docs, step 7): it quotes the rest once they are confirmed gone.
    pub fn cut_short(&self) -> bool {
        self.starved[0] || self.starved[1]
    }

    /// Lots resting on one side of this ladder (as the quoter believes).
    pub fn resting_lots(&self, side: Side) -> i64 {
        self.resting[side_index(side)][..self.levels].iter().flatten().map(|l| l.qty).sum()
    }

    /// The inventory moved by a fill elsewhere (another venue's quote): the next decision
    /// requotes, so this ladder's skew follows the inventory as the filled one's does.
    pub fn on_inventory_change(&mut self) {
        if self.last_fair_value.is_some() {
            self.slot_event.get_or_insert(RequoteReason::Fill);
        }
    }

    /// Levels per side.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// What rests in a slot (as the quoter believes), `None` when empty.
    pub fn resting(&self, side: Side, level: usize) -> Option<Level> {
        self.resting[side_index(side)].get(level).copied().flatten()
    }

    /// Reports a fill of `qty` lots on a slot: its resting quantity drops (the slot empties when
    /// fully filled) and the next decision requotes.
    pub fn on_fill(&mut self, side: Side, level: usize, qty: i64) -> Result<(), QuoterError> {
        if level >= self.levels {
            return Err(QuoterError::NoSuchLevel { level, levels: self.levels });
        }
        let slot = &mut self.resting[side_index(side)][level];
        if let Some(l) = slot {
            l.qty -= qty;
            if l.qty <= 0 {
                *slot = None;
            }
        }
        self.slot_event = Some(RequoteReason::Fill);
        Ok(())
    }

    /// Reports the open quantity the venue says a slot's order has (an amend's answer, or the
    /// settled outcome of an amend whose answer was lost): the slot rests that quantity from
    /// now on (its price is unchanged); returns whether it differed from what the quoter
    /// believed. A difference makes the next decision requote
    /// ([`RequoteReason::QuantityCorrected`]), which moves the slot onto the ladder again.
    pub fn on_amended(&mut self, side: Side, level: usize, open_qty: i64) -> bool {
        let Some(Some(l)) = self.resting[side_index(side)].get_mut(level) else { return false };
        let changed = l.qty != open_qty;
        l.qty = open_qty;
        if changed {
            self.slot_event.get_or_insert(RequoteReason::QuantityCorrected);
        }
        changed
    }

    /// Reports that a slot's order still has `open_qty` lots open at `price` after a fill (the
    /// venue's count): a slot the fill emptied (an amend down still on its way) rests them again,
    /// so that they count until the order is canceled or filled. Otherwise nothing changes.
    pub fn on_still_open(&mut self, side: Side, level: usize, price: i64, open_qty: i64) {
        if let Some(slot @ None) = self.resting[side_index(side)].get_mut(level) {
            if open_qty > 0 {
                *slot = Some(Level { price, qty: open_qty });
            }
        }
    }

    /// Reports that a slot's order is gone without a fill (rejected, expired, cancelled by
    /// someone else, pulled by an interlock): the slot is empty and the next decision requotes.
    pub fn on_order_gone(&mut self, side: Side, level: usize) {
        if let Some(slot) = self.resting[side_index(side)].get_mut(level) {
            *slot = None;
            self.slot_event.get_or_insert(RequoteReason::OrderGone);
        }
    }

    /// Decides what to send now; the actions replace `out`'s contents. See the module docs.
    pub fn decide(
        &mut self,
        ctx: &QuoteContext,
        model: &QuoteModel,
        out: &mut ActionBuffer,
    ) -> Result<Decision, QuoterError> {
        let needed = 4 * self.levels;
        if out.capacity() < needed {
            return Err(QuoterError::BufferTooSmall { capacity: out.capacity(), needed });
        }
        out.clear();
        let (fv, reason) = match self.trigger(ctx.now_ns, ctx.fair_value) {
            Trigger::Hold => return Ok(Decision::Held),
            Trigger::Pull => {
                self.cancel_all(out);
                return Ok(Decision::Pulled);
            }
            Trigger::Requote(fv, reason) => (fv, reason),
        };
        if !self.compute_target(fv, ctx, model) {
            self.cancel_all(out);
            return Ok(Decision::Pulled);
        }
        self.emit_diff(out);
        self.last_fair_value = Some(fv);
        self.last_requote_ns = ctx.now_ns;
        self.slot_event = None;
        Ok(Decision::Requoted(reason))
    }

    /// What a decision at `now_ns` with this fair value would do, without doing it (a caller can
    /// skip computing the model's inputs when it would hold).
    pub fn trigger(&self, now_ns: i64, fair_value: Option<f64>) -> Trigger {
        let Some(fv) = fair_value.filter(|f| f.is_finite()) else { return Trigger::Pull };
        let reason = match (self.last_fair_value, self.slot_event) {
            (None, _) => RequoteReason::First,
            (Some(_), Some(event)) => event,
            (Some(last), None) if (fv - last).abs() > self.threshold => RequoteReason::FairValueMoved,
            (Some(_), None) if now_ns - self.last_requote_ns >= self.interval_ns => RequoteReason::Timer,
            (Some(_), None) => return Trigger::Hold,
        };
        Trigger::Requote(fv, reason)
    }

    /// Cancels every resting slot (the actions replace `out`'s contents) and forgets the last
    /// fair value, so the next quote is a `First`: what a book-health interlock or a kill switch
    /// calls, within the event that trips it.
    pub fn pull(&mut self, out: &mut ActionBuffer) -> Result<(), QuoterError> {
        let needed = 4 * self.levels;
        if out.capacity() < needed {
            return Err(QuoterError::BufferTooSmall { capacity: out.capacity(), needed });
        }
        out.clear();
        self.cancel_all(out);
        Ok(())
    }

    /// Cancels every resting slot into `out` (whose capacity was checked).
    fn cancel_all(&mut self, out: &mut ActionBuffer) {
        self.remember_was();
        self.starved = [false; 2];
        for side in SIDES {
            for level in 0..self.levels {
                if let Some(l) = self.resting[side_index(side)][level].take() {
                    let _ = out.push(QuoteAction::Cancel { side, level: level as u8, price: l.price });
                }
            }
        }
        self.last_fair_value = None;
        self.slot_event = None;
    }

    /// Fills `self.target`; false when the model's quote is not a finite number.
    fn compute_target(&mut self, fv: f64, ctx: &QuoteContext, model: &QuoteModel) -> bool {
        let input = ModelInput {
            fair_value: fv,
            q: ctx.inventory_lots as f64 / self.unit_lots,
            sigma: ctx.sigma,
            bid_intensity: ctx.bid_intensity,
            ask_intensity: ctx.ask_intensity,
            now_ns: ctx.now_ns,
        };
        let raw = model.quote(&input);
        if !raw.bid.is_finite() || !raw.ask.is_finite() {
            return false;
        }
        let center = (raw.bid + raw.ask) / 2.0;
        let half = (raw.ask - raw.bid).clamp(self.min_spread, self.max_spread) / 2.0;
        let mut bid = (center - half).floor() as i64;
        let mut ask = (center + half).ceil() as i64;
        bid = bid.min(fv.ceil() as i64 - 1);
        ask = ask.max(fv.floor() as i64 + 1);
        if let Some(top) = ctx.our_top {
            if top.ask.qty > 0 {
                bid = bid.min(top.ask.price - 1);
            }
            if top.bid.qty > 0 {
                ask = ask.max(top.bid.price + 1);
            }
        }
        let inventory = ctx.inventory_lots;
        let rooms = [
            self.max_inventory.saturating_sub(inventory).saturating_sub(self.elsewhere[0]),
            self.max_inventory.saturating_add(inventory).saturating_sub(self.elsewhere[1]),
        ];
        let full: i64 = self.sizes[..self.levels].iter().sum();
        for (s, room) in rooms.into_iter().enumerate() {
            let room = room.saturating_sub(self.in_flight[s]);
            self.room[s] = room;
            // Cut short while lots are in flight: quote the rest once they are gone.
            self.starved[s] = self.in_flight[s] > 0 && room < full;
        }
        for (s, mut room) in self.room.into_iter().enumerate() {
            for level in 0..MAX_LEVELS {
                let offset = (level as i64).saturating_mul(self.spacing);
                let price = if s == 0 { bid.saturating_sub(offset) } else { ask.saturating_add(offset) };
                let qty = if level < self.levels { self.sizes[level].min(room) } else { 0 };
                self.target[s][level] = (qty > 0 && price > 0).then_some(Level { price, qty });
                room -= qty.max(0);
            }
        }
        true
    }

    /// Copies what rests in each slot into `was`.
    fn remember_was(&mut self) {
        for (was, resting) in self.was.iter_mut().zip(&self.resting) {
            for (w, r) in was.iter_mut().zip(resting) {
                *w = r.map_or(0, |l| l.qty);
            }
        }
    }

    /// Emits the actions that move `resting` onto `target`, cancels first, and applies them;
    /// the places and amends up add at most the room less what rested before (step 7).
    fn emit_diff(&mut self, out: &mut ActionBuffer) {
        self.remember_was();
        let mut budget = [0; 2];
        for (s, b) in budget.iter_mut().enumerate() {
            *b = self.room[s].saturating_sub(self.was[s][..self.levels].iter().sum()).max(0);
        }
        for side in SIDES {
            let s = side_index(side);
            for level in 0..self.levels {
                if let (Some(r), t) = (self.resting[s][level], self.target[s][level]) {
                    if t.map(|t| t.price) != Some(r.price) {
                        let _ = out.push(QuoteAction::Cancel { side, level: level as u8, price: r.price });
                        self.resting[s][level] = None;
                    }
                }
            }
        }
        for side in SIDES {
            let s = side_index(side);
            for level in 0..self.levels {
                let lv = level as u8;
                let (resting, target) = (self.resting[s][level], self.target[s][level]);
                // What the slot may add now: its old order may still fill until confirmed.
                let had = resting.map_or(0, |r| r.qty);
                let qty = target.map(|t| t.qty.min(had.max(0) + budget[s]));
                if let Some(q) = qty {
                    budget[s] -= (q - had).max(0);
                    self.starved[s] |= target.is_some_and(|t| q < t.qty);
                }
                match (resting, target, qty) {
                    (None, Some(t), Some(q)) if q > 0 => {
                        let _ = out.push(QuoteAction::Place { side, level: lv, price: t.price, qty: q });
                    }
                    (Some(r), Some(t), Some(q)) if r.qty != q => {
                        let _ = out.push(QuoteAction::Amend { side, level: lv, price: t.price, qty: q });
                    }
                    _ => {}
                }
                self.resting[s][level] = match (target, qty) {
                    (Some(t), Some(q)) if q > 0 => Some(Level { price: t.price, qty: q }),
                    _ => None,
                };
            }
        }
    }
}
