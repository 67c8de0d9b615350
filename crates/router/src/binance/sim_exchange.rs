//! The Binance JSON of the shared matching engine's orders and trades, and its refusals as
//! Binance's errors.

use serde_json::{json, Value};

use super::sim_errors::SimError;
use crate::sim::exchange::{
    is_open, MatchError, SimEvent, SimEventKind, SimExchange, SimOrder, SimOrderType, SimTif, SimTrade,
};

/// Binance's `type` and `timeInForce` of an order type.
fn type_and_tif(order_type: SimOrderType) -> (&'static str, &'static str) {
    match order_type {
        SimOrderType::Limit(SimTif::Gtc) => ("LIMIT", "GTC"),
        SimOrderType::Limit(SimTif::Ioc) => ("LIMIT", "IOC"),
        SimOrderType::Limit(SimTif::Fok) => ("LIMIT", "FOK"),
        SimOrderType::Market => ("MARKET", "GTC"),
        SimOrderType::LimitMaker => ("LIMIT_MAKER", "GTC"),
    }
}

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
            MatchError::InsufficientFunds => SimError::InsufficientBalance,
        }
    }
}

impl SimExchange {
    /// The Binance JSON of an order (`GET /api/v3/order`, `openOrders`, and the base of the
    /// place and cancel responses).
    pub fn order_json(&self, order: &SimOrder) -> Value {
        let Some(sym) = self.symbols.get(&order.new.symbol) else { return Value::Null };
        let (type_name, tif) = type_and_tif(order.new.order_type);
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

impl SimExchange {
    /// The `executionReport` user-data event of one logged event (the order's state right
    /// after it; a cancel's `c` is the cancel's own id, `C` the canceled order's).
    pub fn execution_report_json(&self, event: &SimEvent) -> Value {
        let Some(order) = self.orders.get(&event.order_id) else { return Value::Null };
        let Some(sym) = self.symbols.get(&order.new.symbol) else { return Value::Null };
        let (type_name, tif) = type_and_tif(order.new.order_type);
        let trade = match event.kind {
            SimEventKind::Trade(id) => self.trades.get(&id),
            _ => None,
        };
        let client = order.new.client_order_id.as_str();
        let (execution_type, c, orig) = match event.kind {
            SimEventKind::New => ("NEW", client.to_owned(), ""),
            SimEventKind::Trade(_) => ("TRADE", client.to_owned(), ""),
            SimEventKind::Canceled => ("CANCELED", format!("cancel{}", order.order_id), client),
            SimEventKind::Expired => ("EXPIRED", client.to_owned(), ""),
            SimEventKind::Amended => ("REPLACED", client.to_owned(), ""),
        };
        let mut out = json!({
            "e": "executionReport",
            "E": event.time_ms,
            "s": order.new.symbol,
            "c": c,
            "S": if order.new.is_buy { "BUY" } else { "SELL" },
            "o": type_name,
            "f": tif,
            "q": sym.step_size.format(order.new.qty),
            "p": sym.tick_size.format(order.new.price),
            "P": sym.tick_size.format(0),
            "F": sym.step_size.format(0),
            "g": -1,
            "C": orig,
        });
        let rest = json!({
            "x": execution_type,
            "X": event.status,
            "r": "NONE",
            "i": order.order_id,
            "l": sym.step_size.format(trade.map_or(0, |t| t.qty)),
            "z": sym.step_size.format(event.executed),
            "L": sym.tick_size.format(trade.map_or(0, |t| t.price)),
            "n": trade.map_or_else(|| "0".to_owned(), |t| t.commission.to_string()),
            "N": trade.map(|t| t.commission_asset.clone()),
            "T": event.time_ms,
            "t": trade.map_or(-1, |t| i64::try_from(t.id).unwrap_or(-1)),
            "I": event.seq,
            "w": event.kind == SimEventKind::New && event.status == "NEW",
            "m": trade.is_some_and(|t| t.is_maker),
            "M": false,
            "O": order.time_ms,
            "Z": event.cum_quote.to_string(),
            "Y": trade.map_or_else(|| "0".to_owned(), |t| sym.notional(t.price, t.qty).to_string()),
            "Q": sym.step_size.format(0),
            "W": order.time_ms,
            "V": "EXPIRE_MAKER",
        });
        if let (Value::Object(out), Value::Object(rest)) = (&mut out, rest) {
            out.extend(rest);
        }
        out
    }
}
