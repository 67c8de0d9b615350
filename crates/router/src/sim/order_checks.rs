//! The matching engine's checks of a new order, apart from placing it: a venue front runs them
//! first ([`SimExchange::check_order`]) so that its own later checks (the account's funds,
//! [`super::funds`]) come after the symbol's filters, as the venues order them.

use std::collections::HashSet;

use super::exchange::{is_open, less, MatchError, SimExchange, SimNewOrder, SimOrderType};

impl SimExchange {
    /// What [`SimExchange::place_for`] would refuse `new` for in `account`'s name, before it
    /// trades: the symbol, its minimum quantity and notional, a post-only order that would cross,
    /// a client id still open in the account.
    pub fn check_order(&self, account: &str, new: &SimNewOrder) -> Result<(), MatchError> {
        let others = self.counterparties_of(account, &new.symbol);
        self.check_order_against(account, new, &others)
    }

    /// [`Self::check_order`] with these counterparties.
    pub(crate) fn check_order_against(
        &self,
        account: &str,
        new: &SimNewOrder,
        counterparties: &HashSet<u64>,
    ) -> Result<(), MatchError> {
        let sym = self.symbols.get(&new.symbol).ok_or(MatchError::UnknownSymbol)?;
        if new.qty < sym.min_qty_lots {
            return Err(MatchError::BelowMinQty);
        }
        let book = if new.is_buy { &sym.asks } else { &sym.bids };
        let best = if new.is_buy { book.keys().next() } else { book.keys().next_back() };
        let notional_price = match new.order_type {
            SimOrderType::Market => *best.ok_or(MatchError::NoLiquidity)?,
            _ => new.price,
        };
        if less(sym.notional(notional_price, new.qty), sym.min_notional) {
            return Err(MatchError::BelowMinNotional);
        }
        if new.order_type == SimOrderType::LimitMaker
            && self.would_cross(&new.symbol, new.is_buy, new.price, counterparties)
        {
            return Err(MatchError::WouldCross);
        }
        let duplicate = self
            .orders
            .values()
            .any(|o| is_open(o.status) && o.account == account && o.new.client_order_id == new.client_order_id);
        if duplicate {
            return Err(MatchError::DuplicateClientId);
        }
        Ok(())
    }
}
