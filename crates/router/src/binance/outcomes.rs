//! What the venue's answers to amends, cancel-replaces, cancel-alls and reconciliation queries
//! (`myTrades`, open orders) mean, shared by the REST client ([`super::client`]) and the WebSocket
//! API client ([`super::ws_client`]).

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::reports::{order_reports, trade_report, BinanceInstrument, BinanceOrder, BinanceTrade, ReportParseError};
use crate::order::{local_ns, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderState, OrderTable, ReportKind, Side, Venue};

/// Takes into `orders` (and `order_symbols`) each of `open`, the venue's open orders on
/// `symbol`, that the table does not hold (orders another process placed), with what the
/// venue says of it merged; returns how many it took. Both clients' `adopt_open_orders`.
pub(crate) fn adopt(
    orders: &mut OrderTable,
    order_symbols: &mut HashMap<String, String>,
    symbol: &str,
    inst: &BinanceInstrument,
    open: &[BinanceOrder],
) -> Result<usize, ReportParseError> {
    let mut adopted = 0;
    for order in open {
        if orders.get(&order.client_order_id).is_some() {
            continue;
        }
        let side = match order.side.as_deref() {
            Some("BUY") => Side::Buy,
            Some("SELL") => Side::Sell,
            _ => return Err(ReportParseError::bad_decimal("side", order.side.as_deref().unwrap_or(""))),
        };
        let qty = inst.lots("origQty", order.orig_qty.as_deref().unwrap_or(""))?;
        orders.insert(OrderState::new(&order.client_order_id, side, qty));
        order_symbols.insert(order.client_order_id.clone(), symbol.to_owned());
        let reports = order_reports(order, inst, local_ns())?;
        ReconcileSummary::default().merge(orders, &reports);
        adopted += 1;
    }
    Ok(adopted)
}

/// Merges one page of `myTrades` (`symbol`'s trades, oldest first) into `orders`: each trade of
/// an order the table holds as a fill, any other counted in `unknown_trades`; `watermark` (the
/// last reconciled trade id per symbol) moves past each trade. Both clients' `fetch_trades`.
pub(crate) fn merge_trades(
    orders: &mut OrderTable,
    watermark: &mut HashMap<String, u64>,
    symbol: &str,
    inst: &BinanceInstrument,
    trades: &[BinanceTrade],
    summary: &mut ReconcileSummary,
) -> Result<(), ReportParseError> {
    let receive = local_ns();
    for trade in trades {
        let venue_id = trade.order_id.to_string();
        let client = orders
            .iter()
            .find(|o| o.venue_order_id.as_deref() == Some(venue_id.as_str()))
            .map(|o| o.client_order_id.clone());
        match client {
            Some(client) => {
                let report = trade_report(trade, &client, inst, receive)?;
                summary.merge(orders, std::slice::from_ref(&report));
            }
            None => summary.unknown_trades += 1,
        }
        let mark = watermark.entry(symbol.to_owned()).or_insert(0);
        *mark = (*mark).max(trade.id);
    }
    Ok(())
}

/// Merges the venue's open orders on a symbol into `orders`; returns their client ids. Both
/// clients' `merge_open_orders`.
pub(crate) fn merge_open(
    orders: &mut OrderTable,
    inst: &BinanceInstrument,
    open: &[BinanceOrder],
    summary: &mut ReconcileSummary,
) -> Result<HashSet<String>, ReportParseError> {
    let receive = local_ns();
    let mut listed = HashSet::new();
    for order in open {
        listed.insert(order.client_order_id.clone());
        let reports = order_reports(order, inst, receive)?;
        summary.merge(orders, &reports);
    }
    Ok(listed)
}

/// Whether an amend to `new_total_qty` is one Binance makes in place (`keepPriority`): a
/// known order whose quantity goes down.
pub(crate) fn reduces(orders: &OrderTable, client_order_id: &str, new_total_qty: i64) -> bool {
    orders.get(client_order_id).is_some_and(|order| new_total_qty < order.qty)
}

/// The orders a cancel-all answer canceled.
pub(crate) fn canceled_count(reports: &[ExecutionReport]) -> usize {
    reports.iter().filter(|r| r.kind == ReportKind::Canceled).count()
}

/// The reports of a cancel-all answer (`DELETE /api/v3/openOrders`, `openOrders.cancelAll`): each
/// order's cancel report, under the canceled order's client id; an order list's entry
/// contributes its orders' reports.
pub fn canceled_reports(
    entries: &[serde_json::Value],
    inst: &BinanceInstrument,
    receive_ts_ns: i64,
) -> Result<Vec<ExecutionReport>, ReportParseError> {
    let mut reports = Vec::with_capacity(entries.len());
    for entry in entries {
        let orders = match entry.get("orderReports").and_then(serde_json::Value::as_array) {
            Some(list) => list.iter().collect(),
            None => vec![entry],
        };
        for order in orders {
            let order = BinanceOrder::deserialize(order).map_err(ReportParseError::malformed("canceled order"))?;
            reports.extend(order_reports(&order, inst, receive_ts_ns)?);
        }
    }
    Ok(reports)
}

/// How a cancel-replace goes on when its cancel fails (`cancelReplaceMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReplaceMode {
    /// `STOP_ON_FAILURE`: if the cancel fails, the new order is not attempted.
    StopOnFailure,
    /// `ALLOW_FAILURE`: the new order is attempted whatever the cancel's outcome.
    AllowFailure,
}

impl CancelReplaceMode {
    /// Binance's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReplaceMode::StopOnFailure => "STOP_ON_FAILURE",
            CancelReplaceMode::AllowFailure => "ALLOW_FAILURE",
        }
    }
}

/// A cancel-replace answer as both APIs give it: the success body (`result` on the WebSocket
/// API), or Binance's error (`code`, `msg`, and for `-2021` / `-2022` the halves' outcomes in
/// `data`).
pub(crate) enum ReplaceAnswer<'a> {
    /// Both halves succeeded: `cancelResponse` and `newOrderResponse`.
    Done(&'a serde_json::Value),
    /// The venue's error.
    Refused {
        /// Binance's code.
        code: i64,
        /// Binance's message.
        msg: &'a str,
        /// `cancelResult`, `newOrderResult`, `cancelResponse`, `newOrderResponse` (`-2021`,
        /// `-2022`); none for a request refused as a whole (a bad parameter, a signature).
        data: Option<&'a serde_json::Value>,
    },
}

/// The reports of a cancel-replace answer: the cancel's (`Canceled`, or `CancelRejected` with
/// Binance's code and message) under `cancel_id`, then the new order's (its status and fills,
/// or `Rejected`) under `new_id`. A new order "not attempted" (`STOP_ON_FAILURE` after a failed
/// cancel) is `Rejected` with the request's code; a request refused as a whole refuses both
/// halves with its code and message.
pub(crate) fn cancel_replace_reports(
    answer: ReplaceAnswer<'_>,
    inst: &BinanceInstrument,
    symbol: &str,
    (cancel_id, new_id): (&str, &str),
    receive_ts_ns: i64,
) -> Result<Vec<ExecutionReport>, ReportParseError> {
    use serde_json::Value;
    let whole;
    let (cancel_part, new_part, code) = match answer {
        ReplaceAnswer::Done(body) => (body.get("cancelResponse"), body.get("newOrderResponse"), None),
        ReplaceAnswer::Refused { code, data: Some(data), .. } => {
            (data.get("cancelResponse"), data.get("newOrderResponse"), Some(code))
        }
        ReplaceAnswer::Refused { code, msg, data: None } => {
            whole = serde_json::json!({ "code": code, "msg": msg });
            (Some(&whole), Some(&whole), Some(code))
        }
    };
    let answered = |id: &str, kind| ExecutionReport::answered(Venue::Binance, symbol, id, None, kind, receive_ts_ns);
    let half = |part: Option<&Value>, id: &str, refused: &dyn Fn(i64, String) -> ReportKind| {
        let part = part.ok_or_else(|| ReportParseError::Malformed {
            what: "cancel-replace",
            error: "a half's response is missing".into(),
        })?;
        if let (Some(code), Some(msg)) =
            (part.get("code").and_then(Value::as_i64), part.get("msg").and_then(Value::as_str))
        {
            return Ok(vec![answered(id, refused(code, msg.to_owned()))]);
        }
        let order = BinanceOrder::deserialize(part).map_err(ReportParseError::malformed("cancel-replace order"))?;
        order_reports(&order, inst, receive_ts_ns)
    };
    let mut reports =
        half(cancel_part, cancel_id, &|code, reason| ReportKind::CancelRejected { code: Some(code), reason })?;
    match new_part {
        None | Some(Value::Null) => {
            let reason = "new order not attempted: the cancel failed".to_owned();
            reports.push(answered(new_id, ReportKind::Rejected { code, reason }));
        }
        part => reports.extend(half(part, new_id, &|code, reason| ReportKind::Rejected { code: Some(code), reason })?),
    }
    Ok(reports)
}
