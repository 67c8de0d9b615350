//! The REST client's cancel-replace, `POST /api/v3/order/cancelReplace` (weight 1, one new order
//! counted): an open order canceled and a new one placed in one request, for what an amend that
//! keeps priority cannot do (a larger quantity, another price).
//!
//! Binance answers 200 with both halves (`cancelResult`, `newOrderResult`, `cancelResponse`,
//! `newOrderResponse`); when a half fails it answers `-2021` "Order cancel-replace partially
//! failed." (HTTP 409) or `-2022` "Order cancel-replace failed." (HTTP 400) with the same four
//! fields in the error body's `data`, each failed half as its own `{"code","msg"}`. Under
//! `STOP_ON_FAILURE` a failed cancel leaves the new order `NOT_ATTEMPTED`.

use hyper::Method;

use super::{BinanceClientError, BinanceRestClient, CancelReplaceMode, NewOrder};
use crate::binance::outcomes::{cancel_replace_reports, ReplaceAnswer};
use crate::order::local_ns;
use crate::order_state::{ExecutionReport, OrderState, ReportKind, Venue};

impl BinanceRestClient {
    /// Cancels `cancel_client_order_id` and places `new` in one request
    /// (`POST /api/v3/order/cancelReplace`, `mode` deciding whether the new order is attempted
    /// when the cancel fails). Returns the reports of both halves, applied to the table: the
    /// cancel's (`Canceled`, or `CancelRejected` with Binance's code: `-2011` for an order that
    /// is not open) and the new order's (its status and fills, or `Rejected`; "not attempted" is a
    /// `Rejected` with the request's code, `-2022`). A request refused as a whole (a bad
    /// parameter, a signature) refuses both halves with its code and message.
    pub async fn cancel_replace(
        &mut self,
        symbol: &str,
        cancel_client_order_id: &str,
        new: &NewOrder,
        mode: CancelReplaceMode,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const EP: &str = "POST /api/v3/order/cancelReplace";
        if new.symbol != symbol {
            return Err(BinanceClientError::UnknownInstrument(new.symbol.clone()));
        }
        let inst = self.instrument(symbol)?.clone();
        let mut query = new.query(&inst);
        query.push_str("&cancelReplaceMode=");
        query.push_str(mode.as_str());
        query.push_str("&cancelOrigClientOrderId=");
        query.extend(form_urlencoded::byte_serialize(cancel_client_order_id.as_bytes()));
        self.orders.insert(OrderState::new(&new.client_order_id, new.side, new.qty));
        self.order_symbols.insert(new.client_order_id.clone(), symbol.to_owned());
        if let Some(order) = self.orders.get_mut(cancel_client_order_id) {
            order.request_cancel();
        }
        let answer = match self.send(EP, Method::POST, "/api/v3/order/cancelReplace", query, 1, true).await {
            Ok(answer) => answer,
            Err(err @ BinanceClientError::RateLimited { .. }) => {
                // Refused before it reached the venue: neither half happened.
                self.forget(&new.client_order_id);
                let kind = ReportKind::CancelRejected { code: None, reason: "cancel not sent: rate limited".into() };
                let report =
                    ExecutionReport::answered(Venue::Binance, symbol, cancel_client_order_id, None, kind, local_ns());
                if self.orders.get(cancel_client_order_id).is_some() {
                    self.orders.apply(&report)?;
                }
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let parse = |error| BinanceClientError::Parse { endpoint: EP, error };
        let body: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| parse(crate::order::ReportParseError::malformed("cancel-replace")(e)))?;
        let replace = match answer.status {
            200 => ReplaceAnswer::Done(&body),
            _ => {
                let code = body.get("code").and_then(serde_json::Value::as_i64);
                let msg = body.get("msg").and_then(serde_json::Value::as_str);
                let (Some(code), Some(msg)) = (code, msg) else {
                    let error = format!("HTTP {} without code and msg", answer.status);
                    return Err(parse(crate::order::ReportParseError::Malformed { what: "cancel-replace", error }));
                };
                ReplaceAnswer::Refused { code, msg, data: body.get("data") }
            }
        };
        let ids = (cancel_client_order_id, new.client_order_id.as_str());
        let reports = cancel_replace_reports(replace, &inst, symbol, ids, local_ns()).map_err(parse)?;
        for report in &reports {
            if self.orders.get(&report.client_order_id).is_some() {
                self.orders.apply(report)?;
            }
        }
        Ok(reports)
    }
}
