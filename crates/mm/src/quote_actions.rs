//! What the quoter asks the execution side to do ([`QuoteAction`]) and the caller-owned,
//! fixed-capacity buffer it writes them into ([`ActionBuffer`]).
//!
//! A ladder slot is `(side, level)`: level 0 is the best (closest to the fair value). The
//! quoter keeps at most one order per slot, so the execution side maps a slot to its order id.

use crate::types::Side;

/// One instruction for one ladder slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteAction {
    /// Send a new order for an empty slot.
    Place {
        /// Buy (a bid) or sell (an ask).
        side: Side,
        /// Ladder level, 0 = best.
        level: u8,
        /// Price, ticks.
        price: i64,
        /// Quantity, lots.
        qty: i64,
    },
    /// Change only the quantity of the slot's order (same price). On our engine a smaller
    /// quantity keeps the order's time priority.
    Amend {
        /// Side of the slot.
        side: Side,
        /// Ladder level.
        level: u8,
        /// The order's price (unchanged), ticks.
        price: i64,
        /// The new quantity, lots.
        qty: i64,
    },
    /// Cancel the slot's order.
    Cancel {
        /// Side of the slot.
        side: Side,
        /// Ladder level.
        level: u8,
        /// The price of the order being cancelled, ticks.
        price: i64,
    },
}

/// A caller-owned buffer of actions with a fixed capacity: filling it never allocates.
///
/// One decision writes at most four actions per level (a cancel and a place on each side), so
/// [`ActionBuffer::for_levels`] sizes it for a ladder.
#[derive(Debug, Clone)]
pub struct ActionBuffer {
    actions: Vec<QuoteAction>,
}

impl ActionBuffer {
    /// Room for `capacity` actions.
    pub fn with_capacity(capacity: usize) -> Self {
        ActionBuffer { actions: Vec::with_capacity(capacity) }
    }

    /// Room for the most actions one decision on a ladder of `levels` can emit (`4·levels`).
    pub fn for_levels(levels: usize) -> Self {
        Self::with_capacity(4 * levels)
    }

    /// How many actions fit.
    pub fn capacity(&self) -> usize {
        self.actions.capacity()
    }

    /// Removes every action (keeps the room).
    pub fn clear(&mut self) {
        self.actions.clear();
    }

    /// Appends an action; a full buffer hands it back.
    pub fn push(&mut self, action: QuoteAction) -> Result<(), QuoteAction> {
        if self.actions.len() == self.actions.capacity() {
            return Err(action);
        }
        self.actions.push(action);
        Ok(())
    }

    /// The actions, in the order to send them (cancels first).
    pub fn as_slice(&self) -> &[QuoteAction] {
        &self.actions
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// No actions.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_hands_the_action_back_and_keeps_its_capacity() {
        let mut b = ActionBuffer::with_capacity(1);
        let a = QuoteAction::Cancel { side: Side::Buy, level: 0, price: 5 };
        assert_eq!(b.push(a), Ok(()));
        assert_eq!(b.push(a), Err(a));
        assert_eq!((b.len(), b.capacity()), (1, 1));
        b.clear();
        assert!(b.is_empty());
        assert_eq!(b.capacity(), 1);
    }
}
