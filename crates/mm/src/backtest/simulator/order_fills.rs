//! What the strategy has been told of each order's fills, for the amends.
//!
//! An amend names the quantity the strategy wants open, as it knew the order when it sent the
//! amend. A venue amends an order's *total* quantity (Binance's and Kraken's amends do, the
//! filled part included), so the fills the strategy had not been told of by then come off the
//! new open quantity. Otherwise an amend that raises a quote while fills of its old size are
//! still on their way would let the order fill its old size and then its whole new size. With
//! this rule an amend from `old` to `new` lots fills at most `max(old, new)` lots from the
//! moment it is sent: what the unseen fills took (at most `old`) plus what is left of `new`.
//!
//! The record is kept per order: the lots booked at the venue, and each fill's lots with the
//! driver's step at which the strategy was told (a batched strategy decides as of an earlier
//! event than the driver's, so a fill counts as told only up to the step the command was
//! decided at).

use std::collections::HashMap;

#[derive(Debug, Default)]
struct Record {
    /// Lots filled at the venue.
    booked: i64,
    /// `(step told, lots)` of each fill the strategy was told of.
    told: Vec<(u64, i64)>,
}

/// Every order's fills booked and told (module docs).
#[derive(Debug, Default)]
pub(super) struct OrderFills {
    orders: HashMap<u64, Record>,
}

impl OrderFills {
    /// A fill of `lots` of order `id` was booked at its venue.
    pub(super) fn booked(&mut self, id: u64, lots: i64) {
        self.orders.entry(id).or_default().booked += lots;
    }

    /// The strategy was told of a fill of `lots` of order `id` at driver step `step`.
    pub(super) fn told(&mut self, id: u64, lots: i64, step: u64) {
        self.orders.entry(id).or_default().told.push((step, lots));
    }

    /// Lots of order `id` filled at its venue that the strategy had not been told of as of
    /// step `step`.
    pub(super) fn unseen(&self, id: u64, step: u64) -> i64 {
        self.orders.get(&id).map_or(0, |r| {
            let told: i64 = r.told.iter().filter(|&&(at, _)| at <= step).map(|&(_, lots)| lots).sum();
            (r.booked - told).max(0)
        })
    }

    /// Order `id` is done with (its last fill told, or gone at its venue): its record is
    /// dropped (a report that comes later makes a record that counts nothing unseen, and no
    /// amend reaches a gone order anyway).
    pub(super) fn forget(&mut self, id: u64) {
        self.orders.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_count_as_unseen_until_told_and_only_up_to_the_step_asked() {
        let mut f = OrderFills::default();
        assert_eq!(f.unseen(7, 0), 0);
        f.booked(7, 3);
        f.booked(7, 4);
        assert_eq!(f.unseen(7, 10), 7);
        // The second fill is told first (reports may overtake each other), at step 12.
        f.told(7, 4, 12);
        assert_eq!((f.unseen(7, 11), f.unseen(7, 12)), (7, 3));
        f.told(7, 3, 15);
        assert_eq!((f.unseen(7, 14), f.unseen(7, 15)), (3, 0));
        assert_eq!(f.unseen(8, 15), 0);
        f.forget(7);
        assert_eq!(f.unseen(7, 15), 0);
    }
}
