//! The Kraken simulator's REST batches, `AddOrderBatch` and `CancelOrderBatch`: a JSON body
//! (`Content-Type: application/json`, its `nonce` a number or a string, `API-Sign` over the JSON
//! text exactly as sent, as for a form body).
//!
//! `AddOrderBatch` takes `pair` (one pair for the whole batch), `orders` (2 to 15, each with
//! `AddOrder`'s own parameters: `ordertype`, `type`, `volume`, `price`, `timeinforce`, `oflags`,
//! `cl_ord_id`, `userref`), and optionally `deadline` (RFC 3339, 500 ms to 60 s ahead) and
//! `validate`. Every order's fixed +1 is charged on the trading counter on receipt; every
//! order is checked before any is placed (one failing refuses the whole batch with its error);
//! an order that fails its pre-match checks (funds, a duplicate `cl_ord_id`, a crossing
//! post-only) is refused alone in the result, the others placed:
//! `{"orders":[{"txid":"O..","descr":{"order":".."}},{"error":"EOrder:Insufficient funds"}]}`.
//! With `validate`, nothing is placed and each entry holds its `descr` only.
//!
//! `CancelOrderBatch` takes `orders` (txids or userrefs, strings or integers) and
//! `cl_ord_ids`, at most 50 identifiers in all (at least one), and answers the `count` of
//! orders canceled; an identifier naming no open order of the key's account cancels nothing.

use serde_json::{json, Map, Value};

use super::sim::{json_text, KrakenError, KrakenSimState};
use crate::sim::Params;

/// How many orders an `AddOrderBatch` holds (Kraken: 2 to 15).
const BATCH_ADD: std::ops::RangeInclusive<usize> = 2..=15;
/// How many identifiers a `CancelOrderBatch` names (Kraken: at most 50).
const BATCH_CANCEL: std::ops::RangeInclusive<usize> = 1..=50;
/// The parameters an order of a batch may carry.
const ORDER_PARAMS: [&str; 8] =
    ["ordertype", "type", "volume", "price", "timeinforce", "oflags", "cl_ord_id", "userref"];

fn unknown_param(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), KrakenError> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(name) => Err(KrakenError::invalid(name)),
        None => Ok(()),
    }
}

impl KrakenSimState {
    /// `AddOrderBatch` (module docs).
    pub(super) fn add_order_batch(
        &mut self,
        api_key: &str,
        body: &Map<String, Value>,
        now: i64,
    ) -> Result<Value, KrakenError> {
        unknown_param(body, &["nonce", "pair", "orders", "deadline", "validate"])?;
        let pair = body.get("pair").and_then(json_text).ok_or(KrakenError::invalid("pair"))?;
        let altname = self.pair(&pair)?.symbol.symbol.clone();
        let validate = match body.get("validate").map(json_text) {
            None => false,
            Some(Some(v)) if v == "false" => false,
            Some(Some(v)) if v == "true" => true,
            Some(_) => return Err(KrakenError::invalid("validate")),
        };
        if let Some(deadline) = body.get("deadline") {
            let at = json_text(deadline).and_then(|d| crate::time::parse_rfc3339_ns(&d)).map(|ns| ns / 1_000_000);
            if !at.is_some_and(|ms| (500..=60_000).contains(&(ms - now))) {
                return Err(KrakenError::invalid("deadline"));
            }
        }
        let orders = body.get("orders").and_then(Value::as_array).filter(|o| BATCH_ADD.contains(&o.len()));
        let orders = orders.ok_or(KrakenError::invalid("orders"))?;
        let mut requests = Vec::with_capacity(orders.len());
        for order in orders {
            let order = order.as_object().ok_or(KrakenError::invalid("orders"))?;
            let mut params = Vec::with_capacity(order.len() + 2);
            for (name, value) in order {
                if !ORDER_PARAMS.contains(&name.as_str()) {
                    return Err(KrakenError::invalid(name));
                }
                params.push((name.clone(), json_text(value).ok_or_else(|| KrakenError::invalid(name))?));
            }
            params.push(("pair".into(), altname.clone()));
            if validate {
                params.push(("validate".into(), "true".into()));
            }
            requests.push(Params(params));
        }
        let placed = self.place_batch(api_key, &requests, now)?;
        let entries: Vec<Value> = placed
            .into_iter()
            .map(|outcome| match outcome {
                Ok(result) => {
                    let mut entry = json!({ "descr": result["descr"] });
                    if let Some(id) = result["txid"].get(0) {
                        entry["txid"] = id.clone();
                    }
                    entry
                }
                Err(KrakenError(error)) => json!({ "error": error }),
            })
            .collect();
        Ok(json!({ "orders": entries }))
    }

    /// `CancelOrderBatch` (module docs).
    pub(super) fn cancel_order_batch(
        &mut self,
        api_key: &str,
        body: &Map<String, Value>,
        now: i64,
    ) -> Result<Value, KrakenError> {
        unknown_param(body, &["nonce", "orders", "cl_ord_ids"])?;
        let list = |name: &str| -> Result<Vec<String>, KrakenError> {
            match body.get(name) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => {
                    items.iter().map(|i| json_text(i).ok_or_else(|| KrakenError::invalid(name))).collect()
                }
                Some(_) => Err(KrakenError::invalid(name)),
            }
        };
        let (by_id, by_client) = (list("orders")?, list("cl_ord_ids")?);
        if !BATCH_CANCEL.contains(&(by_id.len() + by_client.len())) {
            return Err(KrakenError::invalid("orders"));
        }
        let named = by_id.into_iter().map(|id| ("txid", id)).chain(by_client.into_iter().map(|c| ("cl_ord_id", c)));
        let mut count = 0;
        for (name, id) in named {
            let params = Params(vec![(name.to_owned(), id)]);
            match self.cancel_order(api_key, &params, now) {
                Ok(result) => count += result["count"].as_u64().unwrap_or(0),
                Err(KrakenError(e)) if e == "EOrder:Rate limit exceeded" => return Err(KrakenError(e)),
                Err(_) => {}
            }
        }
        Ok(json!({ "count": count }))
    }
}
