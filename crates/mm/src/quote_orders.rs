//! The bridge from the quoter's ladder slots to orders on a venue: each [`QuoteAction`] becomes
//! one [`ExecCommand`] of the [execution interface](crate::execution), and each slot remembers
//! the client id of its live order, so a fill or cancel the venue reports maps back to its slot.
//!
//! ```text
//! quoter.decide(..., &mut actions)
//! for a in actions.as_slice() { if let Some(c) = orders.command(*a) { venue.submit(now, &c)?; } }
//! ... a fill for client id c:  if let Some((side, level)) = orders.slot_of(c) {
//!                                  quoter.on_fill(side, level, qty) }
//! ```
//!
//! A place gets a fresh client id (`first_id`, `first_id + 1`, ...), posted **post-only**: a quote
//! rests or is rejected, it never takes. An amend and a cancel name the slot's current id. A
//! report for an id no slot holds any more (a fill racing a cancel-and-replace) gives `None`:
//! count it in the inventory, but it is no slot's fill.

use crate::config::MAX_LEVELS;
use crate::execution::{ClientOrderId, ExecCommand, OrderRequest, OrderTif};
use crate::quote_actions::QuoteAction;
use crate::types::Side;

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// The client id of each ladder slot's live order.
#[derive(Debug, Clone)]
pub struct QuoteOrders {
    next_id: ClientOrderId,
    ids: [[Option<ClientOrderId>; MAX_LEVELS]; 2],
}

impl QuoteOrders {
    /// Client ids from `first_id` on (keep the range apart from the hedger's own ids).
    pub fn new(first_id: ClientOrderId) -> Self {
        QuoteOrders { next_id: first_id, ids: [[None; MAX_LEVELS]; 2] }
    }

    /// The venue command for one action, recording a place's new id in its slot; `None` for an
    /// amend or cancel of a slot with no live order here (nothing to send).
    pub fn command(&mut self, action: QuoteAction) -> Option<ExecCommand> {
        match action {
            QuoteAction::Place { side, level, price, qty } => {
                let client_id = self.next_id;
                self.next_id += 1;
                self.ids[side_index(side)][level as usize % MAX_LEVELS] = Some(client_id);
                Some(ExecCommand::New(OrderRequest { client_id, side, price, qty, tif: OrderTif::PostOnly }))
            }
            QuoteAction::Amend { side, level, qty, .. } => {
                Some(ExecCommand::Amend { client_id: self.id(side, level as usize)?, new_qty: qty })
            }
            QuoteAction::Cancel { side, level, .. } => {
                let slot = &mut self.ids[side_index(side)][level as usize % MAX_LEVELS];
                Some(ExecCommand::Cancel { client_id: slot.take()? })
            }
        }
    }

    /// The client id of a slot's live order.
    pub fn id(&self, side: Side, level: usize) -> Option<ClientOrderId> {
        self.ids[side_index(side)].get(level).copied().flatten()
    }

    /// The slot a client id belongs to, if one still holds it.
    pub fn slot_of(&self, client_id: ClientOrderId) -> Option<(Side, usize)> {
        for side in [Side::Buy, Side::Sell] {
            if let Some(level) = self.ids[side_index(side)].iter().position(|id| *id == Some(client_id)) {
                return Some((side, level));
            }
        }
        None
    }

    /// Forgets a slot's order (it filled completely, or the venue reports it gone).
    pub fn forget(&mut self, side: Side, level: usize) {
        if let Some(slot) = self.ids[side_index(side)].get_mut(level) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_gets_a_fresh_post_only_id_that_amend_cancel_and_fills_find_again() {
        let mut o = QuoteOrders::new(100);
        let place = QuoteAction::Place { side: Side::Sell, level: 1, price: 105, qty: 7 };
        assert_eq!(
            o.command(place).unwrap(),
            ExecCommand::New(OrderRequest {
                client_id: 100,
                side: Side::Sell,
                price: 105,
                qty: 7,
                tif: OrderTif::PostOnly
            })
        );
        assert_eq!(o.slot_of(100), Some((Side::Sell, 1)));
        let amend = QuoteAction::Amend { side: Side::Sell, level: 1, price: 105, qty: 3 };
        assert_eq!(o.command(amend).unwrap(), ExecCommand::Amend { client_id: 100, new_qty: 3 });
        let cancel = QuoteAction::Cancel { side: Side::Sell, level: 1, price: 105 };
        assert_eq!(o.command(cancel).unwrap(), ExecCommand::Cancel { client_id: 100 });
        // After the cancel, a late report for 100 is no slot's; the replacement gets 101.
        assert_eq!(o.slot_of(100), None);
        assert!(matches!(o.command(place), Some(ExecCommand::New(OrderRequest { client_id: 101, .. }))));
        assert_eq!(o.id(Side::Sell, 1), Some(101));
        o.forget(Side::Sell, 1);
        assert_eq!(o.id(Side::Sell, 1), None);
        // Nothing to cancel or amend in an empty slot.
        assert_eq!(o.command(cancel), None);
        assert_eq!(o.command(amend), None);
    }
}
