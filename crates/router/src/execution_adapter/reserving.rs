//! The adapter's share of the route's reservations ([`crate::reservations`]): what `submit`
//! reserves (checked against what is available), what the worker holds for each command, and
//! where an order stands for its release; the worker's re-checks of what a replace or an
//! amend counted on.

use std::collections::HashMap;

use wintermute_mm::execution::{ClientOrderId, ExecCommand, ExecError};

use super::{mm_side, Forwarded, RoutedExecution, Worker};
use crate::order_state::OrderStatus;
use crate::reservations::{Entry, OrderView, Reserve};
use crate::venue::VenueClient;

impl RoutedExecution {
    /// What `qty` lots at `price` hold at the venue: a sell its lots, a buy its notional and the
    /// fee the venue holds with it ([`crate::venue::VenueClient::buy_fee_held_ppm`]).
    pub(super) fn need(&self, side: wintermute_mm::types::Side, price: i64, qty: i64) -> Reserve {
        Reserve::of(mm_side(side), price, qty).with_buy_fee(self.buy_fee_ppm)
    }

    /// Reserves what `qty` lots at `price` need less what `freed` gives back (an order it
    /// replaces), or refuses the order when the balance checks are on and what is available
    /// (the free balance less the reservations, plus `freed`) does not cover it.
    pub(super) fn reserve(
        &self,
        client_id: ClientOrderId,
        side: wintermute_mm::types::Side,
        price: i64,
        qty: i64,
        freed: Reserve,
    ) -> Result<Reserve, ExecError> {
        let need = self.need(side, price, qty);
        self.balances.try_reserve(need, freed, self.check_balances).map_err(|available| {
            let coverable = available.coverable_paying(mm_side(side), price, self.buy_fee_ppm).max(0);
            ExecError::InsufficientBalance { venue: self.venue, client_id, side, qty, coverable }
        })
    }
}

impl<C: VenueClient> Worker<C> {
    /// Whether what is available of the asset a `side` order takes (the free balance less the
    /// reservations) is below zero, with the balance checks on: an order counted on funds that
    /// were not given back (a replaced or amended order that filled meanwhile).
    pub(super) fn overdrawn(&self, side: wintermute_mm::types::Side) -> bool {
        let available = self.balances.shared.available_units().filter(|_| self.config.check_balances);
        available.is_some_and(|a| match side {
            wintermute_mm::types::Side::Buy => a.quote_units < 0,
            wintermute_mm::types::Side::Sell => a.base_lots < 0,
        })
    }

    /// An amend's need as the venue's table has the order (`submit` counted on the open
    /// quantity it had been told of; fills since give back nothing): the shortfall is reserved
    /// too, and whether that overdraws.
    pub(super) fn amend_overdraws(&mut self, client_id: ClientOrderId, new_qty: i64) -> bool {
        let Some(order) = self.orders.get(&client_id).filter(|o| !o.done_sent) else { return false };
        let Some(current) = order.venue_ids.last().and_then(|v| self.client.orders().get(v)) else { return false };
        let (side, price) = (mm_side(order.request.side), order.request.price);
        let fee = self.client.buy_fee_held_ppm();
        let need = |qty| Reserve::of(side, price, qty).with_buy_fee(fee);
        let want = need(new_qty).less(need(current.open_qty()));
        let shortfall = want.less(self.balances.ledger.pending_amend(client_id));
        if shortfall.is_zero() {
            return false;
        }
        self.balances.reserve(Entry { client_id, reserve: shortfall, not_before_ns: i64::MAX, positions: 1 });
        self.overdrawn(order.request.side)
    }

    /// Records what `submit` reserved for `command` (an amend's waits for its answer).
    pub(super) fn hold(&mut self, command: &ExecCommand, reserve: Reserve) {
        let (client_id, not_before_ns) = match *command {
            ExecCommand::New(r) => (r.client_id, i64::MIN),
            ExecCommand::Amend { client_id, .. } => (client_id, i64::MAX),
            ExecCommand::Cancel { client_id } => (client_id, i64::MIN),
        };
        self.balances.hold(Entry { client_id, reserve, not_before_ns, positions: 1 });
    }

    /// Where an order stands for its reservations ([`crate::reservations`]): from its live
    /// generation in the client's table (when its first move was received), and whether any
    /// generation filled.
    pub(super) fn order_view(orders: &HashMap<ClientOrderId, Forwarded>, client: &C, id: ClientOrderId) -> OrderView {
        let Some(order) = orders.get(&id) else { return OrderView::Gone };
        let table = client.orders();
        let Some(current) = order.venue_ids.last().and_then(|v| table.get(v)) else {
            return if order.done_sent { OrderView::Gone } else { OrderView::Pending };
        };
        let status = current.status();
        if status == OrderStatus::PendingNew {
            return OrderView::Pending;
        }
        let generations = || order.venue_ids.iter().filter_map(|v| table.get(v));
        if status.is_terminal() && generations().all(|g| g.filled_qty() == 0 && g.missing_qty() == 0) {
            return OrderView::EndedUnfilled;
        }
        OrderView::Reported { report_ns: current.first_report_ns() }
    }
}
