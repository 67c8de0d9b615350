//! The Binance JSON of the shared matching engine's orders and trades, and its refusals as
//! Binance's errors.

use serde_json::{json, Value};

use super::sim_errors::SimError;
use crate::sim::exchange::{is_open, MatchError, SimExchange, SimOrder, SimOrderType, SimTif, SimTrade};

impl From<MatchError> for SimError {
    fn from(err: MatchError) -> Self {
        match err {
            MatchError::UnknownSymbol => SimError::InvalidSymbol,
            MatchError::BelowMinQty => SimError::Filter("LOT_SIZE"),
            MatchError::BelowMinNotional => SimError::Filter("NOTIONAL"),
            MatchError::WouldCross => SimError::WouldTake,
            MatchError::DuplicateClientId => SimError::DuplicateOrder,
            MatchError::NoLiquidity => SimError::NoLiquidity,
            MatchError::UnknownOrder => SimError::UnknownOrderSent,
        }
    }
}

impl SimExchange {
    /// The Binance JSON of an order (`GET /api/v3/order`, `openOrders`, and the base of the
    /// place and cancel responses).
    pub fn order_json(&self, order: &SimOrder) -> Value {
        let Some(sym) = self.symbols.get(&order.new.symbol) else { return Value::Null };
        let (type_name, tif) = match order.new.order_type {
            SimOrderType::Limit(SimTif::Gtc) => ("LIMIT", "GTC"),
            SimOrderType::Limit(SimTif::Ioc) => ("LIMIT", "IOC"),
            SimOrderType::Limit(SimTif::Fok) => ("LIMIT", "FOK"),
            SimOrderType::Market => ("MARKET", "GTC"),
            SimOrderType::LimitMaker => ("LIMIT_MAKER", "GTC"),
        };
        json!({
            "symbol": order.new.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.new.client_order_id,
            "price": sym.tick_size.format(order.new.price),
            "origQty": sym.step_size.format(order.new.qty),
            "executedQty": sym.step_size.format(order.executed),
            "cummulativeQuoteQty": order.cum_quote.to_string(),
            "status": order.status,
            "timeInForce": tif,
            "type": type_name,
            "side": if order.new.is_buy { "BUY" } else { "SELL" },
            "time": order.time_ms,
            "updateTime": order.update_ms,
            "workingTime": order.time_ms,
            "isWorking": is_open(order.status),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        })
    }

    /// The Binance JSON of one of our trades (`GET /api/v3/myTrades`).
    pub fn trade_json(&self, trade: &SimTrade) -> Value {
        let Some(sym) = self.symbols.get(&trade.symbol) else { return Value::Null };
        json!({
            "symbol": trade.symbol,
            "id": trade.id,
            "orderId": trade.order_id,
            "orderListId": -1,
            "price": sym.tick_size.format(trade.price),
            "qty": sym.step_size.format(trade.qty),
            "quoteQty": sym.notional(trade.price, trade.qty).to_string(),
            "commission": trade.commission.to_string(),
            "commissionAsset": trade.commission_asset,
            "time": trade.time_ms,
            "isBuyer": trade.is_buyer,
            "isMaker": trade.is_maker,
            "isBestMatch": true,
        })
    }

    /// The `fills` entry of a FULL order response.
    pub fn fill_json(&self, trade: &SimTrade) -> Value {
        let Some(sym) = self.symbols.get(&trade.symbol) else { return Value::Null };
        json!({
            "price": sym.tick_size.format(trade.price),
            "qty": sym.step_size.format(trade.qty),
            "commission": trade.commission.to_string(),
            "commissionAsset": trade.commission_asset,
            "tradeId": trade.id,
        })
    }
}
