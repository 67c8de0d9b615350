//! What the venue's answers to amends and cancel-alls mean, shared by the REST client
//! ([`super::client`]) and the WebSocket API client ([`super::ws_client`]).

use serde::Deserialize;

use super::reports::{order_reports, BinanceInstrument, BinanceOrder, ReportParseError};
use crate::order_state::{ExecutionReport, OrderTable, ReportKind};

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
