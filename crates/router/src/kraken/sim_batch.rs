//! The Kraken simulator's WebSocket v2 batches: `batch_add` (2 to 15 orders of one pair) and
//! `batch_cancel` (2 to 50 orders), on the same checks and matching as single orders.
//!
//! `batch_add` charges each order's fixed +1 on the trading counter on receipt, then checks
//! every order's parameters as `add_order` does (`deadline`, if given, must be 500 ms to 60 s
//! ahead): one failing order refuses the whole batch with its error. Then each order is placed
//! in turn; one that fails its pre-match checks (funds, a duplicate `cl_ord_id`, post-only
//! crossing) is refused alone, the others placed. The answer's `result` lists, per order in the
//! request's order, its `order_id` and `cl_ord_id`, or (the simulator's choice, after the REST
//! `AddOrderBatch`'s per-order `error`) the `error` that refused it.
//!
//! `batch_cancel` cancels by Kraken `order_id` (or `order_userref`) in `orders` and by
//! `cl_ord_id`, 2 to 50 identifiers in all, and answers the `count` canceled; an identifier that
//! names no open order cancels nothing (the simulator's choice: the count says so).

use std::collections::HashMap;

use serde_json::value::RawValue;

use super::sim::{KrakenError, KrakenSimState};
use super::sim_ws::{param_text, v2_error};
use super::ws_messages::JsonWriter;
use crate::sim::Params;

/// How many orders a `batch_add` holds (Kraken: 2 to 15).
const BATCH_ADD: std::ops::RangeInclusive<usize> = 2..=15;
/// How many identifiers a `batch_cancel` names (Kraken: 2 to 50).
const BATCH_CANCEL: std::ops::RangeInclusive<usize> = 2..=50;

fn invalid(name: &str) -> String {
    format!("EGeneral:Invalid arguments:{name}")
}

impl KrakenSimState {
    /// `batch_add` (module docs).
    pub(super) fn ws_batch_add(
        &mut self,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
        now: i64,
    ) -> Result<String, String> {
        let allowed = ["token", "symbol", "orders", "validate", "deadline"];
        if let Some(unknown) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(invalid(unknown));
        }
        let symbol = params.get("symbol").and_then(|s| param_text(s)).ok_or_else(|| invalid("symbol"))?;
        let altname = self.altname_of(&symbol)?;
        let validate = match params.get("validate").map(|v| param_text(v)) {
            None => false,
            Some(Some(v)) if v == "false" => false,
            Some(Some(v)) if v == "true" => true,
            Some(_) => return Err(invalid("validate")),
        };
        if let Some(raw) = params.get("deadline") {
            let at = param_text(raw).and_then(|d| crate::time::parse_rfc3339_ns(&d)).map(|ns| ns / 1_000_000);
            if !at.is_some_and(|ms| (500..=60_000).contains(&(ms - now))) {
                return Err(invalid("deadline"));
            }
        }
        let orders: Vec<HashMap<String, &RawValue>> = params
            .get("orders")
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .filter(|o: &Vec<_>| BATCH_ADD.contains(&o.len()))
            .ok_or_else(|| invalid("orders"))?;
        let mut requests = Vec::with_capacity(orders.len());
        for order in &orders {
            let mut rest = self.v2_order_params(order, true)?;
            rest.push(("pair".into(), altname.clone()));
            if validate {
                rest.push(("validate".into(), "true".into()));
            }
            requests.push(Params(rest));
        }
        let placed = self.place_batch(api_key, &requests, now).map_err(v2_error)?;
        let mut entries = Vec::with_capacity(placed.len());
        for (outcome, request) in placed.into_iter().zip(&requests) {
            let mut entry = JsonWriter::new();
            match outcome {
                Ok(result) => {
                    if let Some(id) = result["txid"].get(0).and_then(|t| t.as_str()) {
                        entry.str("order_id", id);
                    }
                    if let Some(cl) = request.get("cl_ord_id") {
                        entry.str("cl_ord_id", cl);
                    }
                }
                Err(error) => {
                    if let Some(cl) = request.get("cl_ord_id") {
                        entry.str("cl_ord_id", cl);
                    }
                    entry.str("error", &v2_error(error));
                }
            }
            entries.push(entry.finish());
        }
        Ok(format!("[{}]", entries.join(",")))
    }

    /// A batch's orders (`AddOrder`'s parameters, `pair` in each) for `api_key`: each order's
    /// fixed +1 charged on the trading counter, then every order checked (one failing refuses
    /// the whole batch with its error), then each placed in turn (its funds, a duplicate
    /// `cl_ord_id`, a crossing post-only refusing that order alone). The outcomes, in order.
    pub(super) fn place_batch(
        &mut self,
        api_key: &str,
        requests: &[Params],
        now: i64,
    ) -> Result<Vec<Result<serde_json::Value, KrakenError>>, KrakenError> {
        for request in requests {
            self.charge_new_order(api_key, request, now)?;
        }
        let checked: Vec<_> = requests.iter().map(|r| self.check_new_order(r)).collect::<Result<_, _>>()?;
        Ok(checked.into_iter().map(|order| self.place_checked(order, api_key, now)).collect())
    }

    /// `batch_cancel` (module docs).
    pub(super) fn ws_batch_cancel(
        &mut self,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
        now: i64,
    ) -> Result<String, String> {
        if let Some(unknown) = params.keys().find(|k| !["token", "orders", "cl_ord_id"].contains(&k.as_str())) {
            return Err(invalid(unknown));
        }
        let list = |name: &str| -> Result<Option<Vec<String>>, String> {
            params.get(name).map(|raw| serde_json::from_str(raw.get()).map_err(|_| invalid(name))).transpose()
        };
        let by_id = list("orders")?.ok_or_else(|| invalid("orders"))?;
        let by_client = list("cl_ord_id")?.unwrap_or_default();
        if !BATCH_CANCEL.contains(&(by_id.len() + by_client.len())) {
            return Err(invalid("orders"));
        }
        let named = by_id.into_iter().map(|id| ("txid", id)).chain(by_client.into_iter().map(|c| ("cl_ord_id", c)));
        let mut count = 0;
        for (rest_name, id) in named {
            let params = Params(vec![(rest_name.to_owned(), id)]);
            if let Ok(result) = self.cancel_order(api_key, &params, now) {
                count += result["count"].as_u64().unwrap_or(0);
            }
        }
        Ok(JsonWriter::new().int("count", count).finish())
    }
}
