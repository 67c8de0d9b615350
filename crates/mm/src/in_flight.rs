//! The orders of one ladder that may still fill beyond what its quoter counts: canceled (or
//! canceled to be replaced) and not yet confirmed gone, or amended and not yet confirmed.
//!
//! ## Worst-case inventory
//! The one inventory limit, `max_inventory_lots`, bounds the **worst-case inventory** on each
//! side: the inventory we have been told of, plus every lot that could still fill on that side
//! if every order of ours filled as much as it could before each of its commands reached its
//! venue. On the buy side (the sell side alike, with the inventory negated):
//!
//! ```text
//! worst_case_bids = inventory
//!                 + resting bids                  (every ladder's slots, as each quoter counts them)
//!                 + new bids in flight            (counted from the moment they are sent)
//!                 + amended bids not yet answered at max(old, new) lots, less fills reported since
//!                 + canceled bids not yet answered at their open lots, less fills reported since
//!                 <= max_inventory_lots
//! ```
//!
//! and it holds after every event, whatever order the venues' fills, reports and answers come
//! in (`crates/mm/tests/worst_case_inventory.rs` checks it against a model of the venues over
//! random interleavings). An amend counts `max(old, new)` because a venue amends the order's
//! total quantity: the fills the sender had not been told of come off the new open quantity,
//! so from the moment it is sent the order fills at most what the unseen fills took (at most
//! `old`) plus what is left of `new` (the backtester's venues do so, `backtest::simulator`).
//!
//! The quoter counts what rests in its slots from the moment it decides (a place counts before
//! the venue has it), and drops a slot's order from the count the moment it cancels it. Yet until
//! the venue's answer to the cancel comes back, the order may still fill: with a latency, the old
//! orders on every venue and their replacements can all fill. So each ladder keeps this record
//! beside its quoter, and [`InFlight::lots`] is what the record adds to the exposure:
//!
//! | command sent | counted until its answer (or the order's end) |
//! |---|---|
//! | cancel of an order resting `q` lots | `q` (less the fills reported since) |
//! | amend from `old` to `new` lots | `max(old, new) − new` beyond the quoter's `new` |
//!
//! Every venue amends by total, our own engine included (its market maker link sends an amend
//! by total, `docs/matching.md`, "Amend by total"), so one rule counts them all.
//!
//! A fill of a recorded order lowers what it may still fill; its fills reaching what it could
//! fill, a refusal that says it is gone, an answer that says it is gone (open quantity 0), or
//! the answer to its last pending cancel or amend takes it out. The room a ladder may quote
//! ([`crate::quoter::Quoter::set_in_flight`]) is the inventory limit less the inventory, the
//! other ladders' resting lots and every ladder's in-flight lots; a ladder quoted short because
//! of in-flight lots quotes again once they are confirmed gone
//! ([`crate::quoter::Quoter::on_room_freed`]). A strategy whose driver does not answer its
//! cancels and amends ([`crate::strategy::Context::answers_commands`] false) records nothing:
//! the limit then counts what rests only. The backtester and the live runner answer every one
//! (a live batched strategy gets its answers on a ring that never drops,
//! [`crate::live_strategy`]).
//!
//! The record is a vector sized at construction for [`IN_FLIGHT_CAPACITY`] orders: recording,
//! looking up and removing never allocate below that (more unanswered commands on one ladder
//! would grow it once).

use crate::quote_actions::QuoteAction;
use crate::types::Side;

/// Unanswered orders one ladder's record holds without growing.
pub const IN_FLIGHT_CAPACITY: usize = 256;

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u64,
    side: Side,
    /// Lots the order may still fill at most.
    worst: i64,
    /// Of those, what the quoter counts in the order's slot (0 once canceled).
    counted: i64,
    /// Cancels and amends sent and not answered.
    pending: u32,
}

/// One ladder's unanswered cancels and amends (module docs).
#[derive(Debug, Clone)]
pub struct InFlight {
    entries: Vec<Entry>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl InFlight {
    /// An empty record with room for [`IN_FLIGHT_CAPACITY`] orders.
    pub fn new() -> Self {
        InFlight { entries: Vec::with_capacity(IN_FLIGHT_CAPACITY) }
    }

    fn entry(&mut self, id: u64, side: Side, open: i64) -> &mut Entry {
        let at = match self.entries.iter().position(|e| e.id == id) {
            Some(at) => at,
            None => {
                let open = open.max(0);
                self.entries.push(Entry { id, side, worst: open, counted: open, pending: 0 });
                self.entries.len() - 1
            }
        };
        &mut self.entries[at]
    }

    /// Records what one quoter action did to order `id`, whose slot the quoter counted `was`
    /// lots before the decision ([`crate::quoter::Quoter::was`]): a cancel and an amend are
    /// recorded, a place is not (the quoter counts it).
    pub fn on_action(&mut self, action: QuoteAction, id: u64, was: i64) {
        match action {
            QuoteAction::Cancel { side, .. } => self.on_cancel(id, side, was),
            QuoteAction::Amend { side, qty, .. } => self.on_amend(id, side, was, qty),
            QuoteAction::Place { .. } => {}
        }
    }

    /// A cancel of order `id` was sent; the quoter counted `open` lots of it.
    pub fn on_cancel(&mut self, id: u64, side: Side, open: i64) {
        let e = self.entry(id, side, open);
        e.counted = 0;
        e.pending += 1;
    }

    /// An amend of order `id` from `old` to `new` lots was sent (the quoter counts `new`).
    pub fn on_amend(&mut self, id: u64, side: Side, old: i64, new: i64) {
        let e = self.entry(id, side, old);
        // A total amended: the order fills at most the larger.
        e.worst = e.worst.max(new);
        e.counted = new.max(0);
        e.pending += 1;
    }

    /// A fill of `qty` lots of order `id`; returns whether a recorded order ended (nothing of
    /// it may fill any more). Its lots count down with the fills reported, not with the open
    /// quantity the venue gives: a report may overtake an earlier one (a backtest's fills at a
    /// command's arrival and on the tape travel apart), and what the earlier fills took is
    /// counted until they are reported or the command's answer comes, which comes after them.
    pub fn on_fill(&mut self, id: u64, qty: i64) -> bool {
        let Some(at) = self.entries.iter().position(|e| e.id == id) else { return false };
        let e = &mut self.entries[at];
        e.worst -= qty;
        e.counted = (e.counted - qty).max(0);
        let done = e.worst <= 0;
        if done {
            self.entries.swap_remove(at);
        }
        done
    }

    /// The answer to one cancel or amend of order `id` came back; returns whether lots were
    /// freed (its last pending command answered: from now on the quoter's count is the truth).
    pub fn on_answer(&mut self, id: u64) -> bool {
        let Some(at) = self.entries.iter().position(|e| e.id == id) else { return false };
        let e = &mut self.entries[at];
        e.pending = e.pending.saturating_sub(1);
        if e.pending > 0 {
            return false;
        }
        let freed = e.worst > e.counted;
        self.entries.swap_remove(at);
        freed
    }

    /// Order `id` is gone for good (canceled, refused as unknown); returns whether it was
    /// recorded.
    pub fn on_gone(&mut self, id: u64) -> bool {
        let Some(at) = self.entries.iter().position(|e| e.id == id) else { return false };
        self.entries.swap_remove(at);
        true
    }

    /// Lots on `side` that may still fill beyond what the quoter counts.
    pub fn lots(&self, side: Side) -> i64 {
        self.entries.iter().filter(|e| side_index(e.side) == side_index(side)).map(|e| e.worst - e.counted).sum()
    }

    /// Whether order `id` is recorded.
    pub fn holds(&self, id: u64) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }

    /// Orders recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canceled_order_counts_until_its_answer_less_its_fills() {
        let mut f = InFlight::new();
        f.on_cancel(7, Side::Buy, 10);
        assert_eq!((f.lots(Side::Buy), f.lots(Side::Sell)), (10, 0));
        assert!(!f.on_fill(7, 4));
        assert_eq!(f.lots(Side::Buy), 6);
        assert!(f.on_answer(7));
        assert_eq!(f.lots(Side::Buy), 0);
        assert!(f.is_empty());
        // Its last fill ends it too; an unknown id changes nothing.
        f.on_cancel(8, Side::Sell, 3);
        assert!(f.on_fill(8, 3));
        assert!(!f.on_answer(8) && !f.on_fill(9, 1) && !f.on_gone(9));
        assert!(f.is_empty());
    }

    #[test]
    fn an_amend_counts_the_larger_of_old_and_new_until_answered() {
        let mut f = InFlight::new();
        // Down from 10 to 4: the quoter counts 4, 6 more may fill until the answer.
        f.on_amend(1, Side::Sell, 10, 4);
        assert_eq!(f.lots(Side::Sell), 6);
        // 5 fill: 5 may still fill, the quoter counts 0 of them.
        assert!(!f.on_fill(1, 5));
        assert_eq!(f.lots(Side::Sell), 5);
        // Then a cancel before the answer: two answers to wait for.
        f.on_cancel(1, Side::Sell, 0);
        assert!(!f.on_answer(1));
        assert_eq!(f.lots(Side::Sell), 5);
        assert!(f.on_answer(1));
        assert!(f.is_empty());
        // Up from 4 to 10: the quoter counts 10 already, nothing more.
        f.on_amend(2, Side::Buy, 4, 10);
        assert_eq!(f.lots(Side::Buy), 0);
        assert!(!f.on_answer(2));
        assert!(f.is_empty());
    }

    #[test]
    fn on_action_records_cancels_and_amends_not_places() {
        let mut f = InFlight::new();
        f.on_action(QuoteAction::Place { side: Side::Buy, level: 0, price: 5, qty: 3 }, 1, 0);
        assert!(f.is_empty());
        f.on_action(QuoteAction::Cancel { side: Side::Buy, level: 0, price: 5 }, 1, 3);
        f.on_action(QuoteAction::Amend { side: Side::Sell, level: 1, price: 9, qty: 2 }, 2, 7);
        assert_eq!((f.lots(Side::Buy), f.lots(Side::Sell)), (3, 5));
        assert!(f.holds(1) && f.holds(2) && f.on_gone(1));
        assert_eq!(f.len(), 1);
    }
}
