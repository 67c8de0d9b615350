//! The exact place of one of our resting orders in its level's FIFO queue on **our** venue,
//! followed from the engine's output stream (book deltas included).
//!
//! The matching thread owns the book, so the market maker cannot ask it; but every change of
//! a level reaches the subscription as events, and from them the queue ahead of our order is
//! known exactly (in visible lots):
//!
//! | event at our (side, price) | the lots ahead of us |
//! |---|---|
//! | the level's delta right after our order joined | `level − our visible` (everything there before us) |
//! | another order accepted there | unchanged; it is **behind** us (its id is remembered) |
//! | a trade against another maker there | `− qty` (FIFO: the front trades first) |
//! | a cancel of another order there | `− canceled` if it was not behind us; unchanged if it was |
//! | an amend of another order there | a decrease keeping priority `− (old − new)` if ahead; losing priority: it leaves the front and, at our price, joins behind |
//! | every level delta | never more than `level − our visible` |
//!
//! A cancel carries no price: the delta that follows it in the same command says which level
//! it left ([`FifoPlace::on_left`] is called with the cancels gathered until that delta).
//!
//! Two cases make the figure an **upper bound** instead of the truth, and say so
//! ([`FifoPlace::is_exact`]): more than [`BEHIND_CAPACITY`] orders joined behind us (the ids
//! no longer fit), and icebergs ahead of us (a refilled slice goes to the back of the level,
//! which the events do not show; the last row then keeps the bound).

/// Order ids remembered behind each of our orders.
pub const BEHIND_CAPACITY: usize = 32;

/// Our order's place in its level (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoPlace {
    ahead: i64,
    joined: bool,
    exact: bool,
    behind: [u64; BEHIND_CAPACITY],
    behind_len: usize,
}

impl Default for FifoPlace {
    fn default() -> Self {
        Self::new()
    }
}

impl FifoPlace {
    /// An order that has not joined its level yet.
    pub const fn new() -> Self {
        FifoPlace { ahead: 0, joined: false, exact: true, behind: [0; BEHIND_CAPACITY], behind_len: 0 }
    }

    /// Visible lots ahead of us, once the join was seen.
    pub fn ahead(&self) -> Option<i64> {
        self.joined.then_some(self.ahead)
    }

    /// Whether [`FifoPlace::ahead`] is the engine's truth (see the module docs).
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Whether the join (the level's delta after our order rested) was seen.
    pub fn has_joined(&self) -> bool {
        self.joined
    }

    /// Our order joined the back of its level: `level_qty` lots now show there, ours included.
    pub fn on_join(&mut self, level_qty: i64, own_visible: i64) {
        self.ahead = (level_qty - own_visible).max(0);
        self.joined = true;
        self.behind_len = 0;
    }

    /// Our order lost its priority (an amend up): it joins again at the next delta.
    pub fn rejoin(&mut self) {
        self.joined = false;
    }

    fn behind_index(&self, order_id: u64) -> Option<usize> {
        self.behind[..self.behind_len].iter().position(|&id| id == order_id)
    }

    /// Another order joined our level (behind us).
    pub fn on_other_joined(&mut self, order_id: u64) {
        if !self.joined || self.behind_index(order_id).is_some() {
            return;
        }
        if self.behind_len == BEHIND_CAPACITY {
            self.exact = false;
            return;
        }
        self.behind[self.behind_len] = order_id;
        self.behind_len += 1;
    }

    /// A trade at our level against another maker: it was ahead of us.
    pub fn on_trade_ahead(&mut self, qty: i64) {
        self.ahead = (self.ahead - qty).max(0);
    }

    /// `qty` lots of another order left our level (`gone`: the whole order).
    pub fn on_left(&mut self, order_id: u64, qty: i64, gone: bool) {
        match self.behind_index(order_id) {
            Some(i) => {
                if gone {
                    self.behind_len -= 1;
                    self.behind[i] = self.behind[self.behind_len];
                }
            }
            None => self.ahead = (self.ahead - qty).max(0),
        }
    }

    /// Another order at our level was amended: it moved to `stays_at_level` (its price is still
    /// ours) with `old_qty -> new_qty`, keeping its priority or not.
    pub fn on_other_amended(&mut self, order_id: u64, old_qty: i64, new_qty: i64, priority_kept: bool, stays: bool) {
        let was_behind = self.behind_index(order_id);
        match (was_behind, priority_kept) {
            (Some(_), _) if stays => {}
            (Some(i), _) => {
                self.behind_len -= 1;
                self.behind[i] = self.behind[self.behind_len];
            }
            (None, true) => self.ahead = (self.ahead - (old_qty - new_qty)).max(0),
            (None, false) => {
                self.ahead = (self.ahead - old_qty).max(0);
                if stays {
                    self.on_other_joined(order_id);
                }
            }
        }
    }

    /// The level's visible total after a change, ours included: the queue ahead cannot be
    /// longer than what is not ours.
    pub fn on_level(&mut self, level_qty: i64, own_visible: i64) {
        if self.joined {
            self.ahead = self.ahead.min((level_qty - own_visible).max(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_and_cancels_ahead_move_us_forward_and_those_behind_do_not() {
        let mut p = FifoPlace::new();
        assert_eq!(p.ahead(), None);
        p.on_join(12, 2); // 10 lots were there before us
        p.on_other_joined(77);
        p.on_trade_ahead(3);
        assert_eq!(p.ahead(), Some(7));
        p.on_left(77, 5, true); // behind us: no change
        assert_eq!(p.ahead(), Some(7));
        p.on_left(42, 4, true); // not behind: it was ahead
        assert_eq!(p.ahead(), Some(3));
        p.on_other_amended(43, 3, 1, true, true); // ahead, shrinks in place
        assert_eq!(p.ahead(), Some(1));
        p.on_level(2, 2); // only we are left
        assert_eq!(p.ahead(), Some(0));
        assert!(p.is_exact());
    }

    #[test]
    fn too_many_orders_behind_make_the_figure_a_bound() {
        let mut p = FifoPlace::new();
        p.on_join(5, 1);
        for id in 0..=BEHIND_CAPACITY as u64 {
            p.on_other_joined(id);
        }
        assert!(!p.is_exact());
    }
}
