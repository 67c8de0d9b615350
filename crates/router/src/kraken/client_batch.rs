//! The Kraken REST client's batches: `AddOrderBatch` (2 to 15 orders of one pair, an optional
//! `deadline`, `validate`) and `CancelOrderBatch` (up to 50 orders by `cl_ord_id`).
//!
//! Both take a JSON body, `nonce` its first member; `API-Sign` is Kraken's usual signature over
//! the URI path and SHA-256 of nonce + the JSON text exactly as sent. Each order of a batch is
//! checked before anything is sent (as [`KrakenRestClient::place`] checks one), and each gets
//! its own report: `New` with its txid, or `Rejected` with the error Kraken gave that order
//! alone (funds, a crossing post-only); an error for the whole batch rejects every order.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{is_rate_limit, KrakenClientError, KrakenRestClient};
use crate::kraken::ids::legal_cl_ord_id;
use crate::kraken::rate::cancel_cost;
use crate::kraken::reports::{parse_envelope, CountResult, KrakenPair};
use crate::order::{local_ms, local_ns, NewOrder, OrderType, ReconcileSummary, ReportParseError, TimeInForce};
use crate::order_state::{ExecutionReport, OrderState, ReportKind, Side, Venue};

/// How many orders `AddOrderBatch` takes (Kraken: 2 to 15).
pub const BATCH_ADD_ORDERS: std::ops::RangeInclusive<usize> = 2..=15;
/// How many orders `CancelOrderBatch` names (Kraken: at most 50).
pub const BATCH_CANCEL_ORDERS: std::ops::RangeInclusive<usize> = 1..=50;
/// The range of `deadline` Kraken takes, from now.
const DEADLINE: std::ops::RangeInclusive<Duration> = Duration::from_millis(500)..=Duration::from_secs(60);

/// What `CancelOrderBatch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCancel {
    /// How many orders Kraken says it canceled.
    pub count: u64,
    /// The named orders' states as queried after the cancel (`Canceled`, or a fill that came
    /// first), each merged into the client's table.
    pub reports: Vec<ExecutionReport>,
}

#[derive(Deserialize)]
struct BatchEntry {
    #[serde(default)]
    txid: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct BatchResult {
    orders: Vec<BatchEntry>,
}

/// One order of a batch, in `AddOrder`'s parameters (exact decimals at the pair's grid).
fn batch_order(order: &NewOrder, pair: &KrakenPair) -> Value {
    let inst = &pair.instrument;
    let mut o = Map::new();
    let (ordertype, price) = match order.order_type {
        OrderType::Market => ("market", None),
        OrderType::Limit { price, .. } | OrderType::PostOnly { price } => ("limit", Some(price)),
    };
    o.insert("ordertype".into(), json!(ordertype));
    if let Some(price) = price {
        o.insert("price".into(), json!(inst.tick_size.format(price)));
    }
    o.insert("type".into(), json!(if order.side == Side::Buy { "buy" } else { "sell" }));
    o.insert("volume".into(), json!(inst.step_size.format(order.qty)));
    match order.order_type {
        OrderType::Limit { tif: TimeInForce::Ioc, .. } => {
            o.insert("timeinforce".into(), json!("IOC"));
        }
        OrderType::PostOnly { .. } => {
            o.insert("oflags".into(), json!("post"));
        }
        _ => {}
    }
    o.insert("cl_ord_id".into(), json!(order.client_order_id));
    Value::Object(o)
}

/// The JSON body of `AddOrderBatch`: `{"nonce":..,"deadline":..,"orders":[..],"pair":..,
/// "validate":..}` (`deadline` when given, RFC 3339 with milliseconds).
pub fn add_order_batch_body(
    orders: &[NewOrder],
    pair: &KrakenPair,
    nonce: u64,
    deadline_ms: Option<i64>,
    validate: bool,
) -> String {
    let orders: Vec<Value> = orders.iter().map(|o| batch_order(o, pair)).collect();
    let mut rest = Map::new();
    if let Some(ms) = deadline_ms {
        rest.insert("deadline".into(), json!(crate::time::format_rfc3339_ms(ms)));
    }
    rest.insert("orders".into(), Value::Array(orders));
    rest.insert("pair".into(), json!(pair.instrument.symbol));
    if validate {
        rest.insert("validate".into(), json!(true));
    }
    // `nonce` first, as in a form body.
    let rest = Value::Object(rest).to_string();
    format!("{{\"nonce\":{nonce},{}", &rest[1..])
}

impl KrakenRestClient {
    /// Checks a batch as [`Self::place`] checks one order, before anything is sent: 2 to 15
    /// orders, one pair, no fill-or-kill, legal and unused client ids, a deadline Kraken takes.
    fn check_batch(&self, orders: &[NewOrder], deadline: Option<Duration>) -> Result<KrakenPair, KrakenClientError> {
        let unsupported = |why: String| Err(KrakenClientError::Unsupported(why));
        if !BATCH_ADD_ORDERS.contains(&orders.len()) {
            return unsupported(format!("a Kraken batch holds 2 to 15 orders, not {}", orders.len()));
        }
        let symbol = &orders[0].symbol;
        if let Some(other) = orders.iter().find(|o| o.symbol != *symbol) {
            return unsupported(format!("a Kraken batch is one pair: {symbol} and {}", other.symbol));
        }
        if deadline.is_some_and(|d| !DEADLINE.contains(&d)) {
            return unsupported("a Kraken batch's deadline is 500 ms to 60 s ahead".into());
        }
        let mut ids = HashSet::new();
        for order in orders {
            if matches!(order.order_type, OrderType::Limit { tif: TimeInForce::Fok, .. }) {
                return unsupported("Kraken spot has no fill-or-kill time in force".into());
            }
            if !legal_cl_ord_id(&order.client_order_id) {
                return unsupported(format!(
                    "cl_ord_id must be a UUID or at most 18 printable characters: {:?}",
                    order.client_order_id.chars().take(40).collect::<String>()
                ));
            }
            if self.orders.get(&order.client_order_id).is_some() || !ids.insert(order.client_order_id.as_str()) {
                return unsupported(format!("cl_ord_id already used by this client: {}", order.client_order_id));
            }
        }
        Ok(self.pair(symbol)?.clone())
    }

    /// Places 2 to 15 orders of one pair in one `AddOrderBatch` (`deadline`: Kraken stops
    /// matching them that long after now, 500 ms to 60 s). One report per order, in order:
    /// `New` (then, for an order that may have traded, its status and trades as
    /// [`Self::place`] fetches them), or `Rejected` with Kraken's reason for that order. A
    /// refusal of the whole batch rejects every order with its error; a lost answer leaves
    /// them pending-new for reconciliation ([`KrakenClientError::Transport`]).
    pub async fn place_batch(
        &mut self,
        orders: &[NewOrder],
        deadline: Option<Duration>,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        const EP: &str = "AddOrderBatch";
        let pair = self.check_batch(orders, deadline)?;
        let symbol = pair.instrument.symbol.clone();
        let now = local_ms();
        let count = i64::try_from(orders.len()).unwrap_or(i64::MAX);
        if let Err(wait) = self.trading(&symbol).try_add(count, now) {
            return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: wait, local: true });
        }
        for order in orders {
            self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
            self.order_pairs.insert(order.client_order_id.clone(), symbol.clone());
            self.placed_ms.insert(order.client_order_id.clone(), now);
        }
        let deadline_ms = deadline.map(|d| now + i64::try_from(d.as_millis()).unwrap_or(60_000));
        let json = "application/json";
        let body = self.private_as(EP, json, |nonce| add_order_batch_body(orders, &pair, nonce, deadline_ms, false));
        let body = body.await?;
        let receive = local_ns();
        let answer = parse_envelope::<BatchResult>(EP, &body)
            .map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
        let report = |order: &NewOrder, txid: Option<String>, kind| {
            ExecutionReport::answered(Venue::Kraken, &symbol, &order.client_order_id, txid, kind, receive)
        };
        let mut reports: Vec<ExecutionReport> = match answer {
            Ok(result) if result.orders.len() == orders.len() => orders
                .iter()
                .zip(result.orders)
                .map(|(order, entry)| match (entry.txid, entry.error) {
                    (Some(txid), None) => report(order, Some(txid), ReportKind::New),
                    (_, error) => {
                        let reason = error.unwrap_or_else(|| "no txid".into());
                        report(order, None, ReportKind::Rejected { code: None, reason })
                    }
                })
                .collect(),
            Ok(result) => {
                let error = format!("{} results for {} orders", result.orders.len(), orders.len());
                let error = ReportParseError::Malformed { what: "kraken AddOrderBatch", error };
                return Err(KrakenClientError::Parse { endpoint: EP, error });
            }
            Err(errors) if is_rate_limit(&errors) => {
                for order in orders {
                    self.forget(&order.client_order_id);
                }
                self.trading(&symbol).fill(local_ms());
                return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: 1000, local: false });
            }
            Err(errors) => {
                let reason = errors.join(", ");
                let kind = || ReportKind::Rejected { code: None, reason: reason.clone() };
                orders.iter().map(|o| report(o, None, kind())).collect()
            }
        };
        for r in &reports {
            self.orders.apply(r)?;
        }
        let may_have_traded: Vec<String> = orders
            .iter()
            .zip(&reports)
            .filter(|(o, r)| r.kind == ReportKind::New && !matches!(o.order_type, OrderType::PostOnly { .. }))
            .map(|(o, _)| o.client_order_id.clone())
            .collect();
        if !may_have_traded.is_empty() {
            let mut summary = ReconcileSummary::default();
            match self.refresh(&may_have_traded, &mut summary).await {
                Ok(more) => reports.extend(more),
                Err(KrakenClientError::RateLimited { .. } | KrakenClientError::Transport { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(reports)
    }

    /// Asks Kraken to check a batch without placing it (`validate`): `Ok` when every order
    /// passed, else [`KrakenClientError::Venue`] with Kraken's errors. Nothing enters the table.
    pub async fn validate_batch(&mut self, orders: &[NewOrder]) -> Result<(), KrakenClientError> {
        const EP: &str = "AddOrderBatch";
        let pair = self.check_batch(orders, None)?;
        let body = self
            .private_as(EP, "application/json", |nonce| add_order_batch_body(orders, &pair, nonce, None, true))
            .await?;
        let result: BatchResult = self.result(EP, &body)?;
        let errors: Vec<String> = result.orders.into_iter().filter_map(|e| e.error).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(KrakenClientError::Venue { endpoint: EP, errors })
        }
    }

    /// Cancels up to 50 orders of `symbol` by client id in one `CancelOrderBatch`, then
    /// queries them for their final states ([`BatchCancel`]). Kraken's refusal of the whole
    /// batch is [`KrakenClientError::Venue`].
    pub async fn cancel_batch(
        &mut self,
        symbol: &str,
        client_order_ids: &[&str],
    ) -> Result<BatchCancel, KrakenClientError> {
        const EP: &str = "CancelOrderBatch";
        self.pair(symbol)?;
        if !BATCH_CANCEL_ORDERS.contains(&client_order_ids.len()) {
            let why = format!("a Kraken batch cancel names 1 to 50 orders, not {}", client_order_ids.len());
            return Err(KrakenClientError::Unsupported(why));
        }
        let now = local_ms();
        let cost: i64 =
            client_order_ids.iter().map(|c| cancel_cost(now - self.placed_ms.get(*c).copied().unwrap_or(now))).sum();
        if let Err(wait) = self.trading(symbol).try_add(cost, now) {
            return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: wait, local: true });
        }
        for c in client_order_ids {
            if let Some(order) = self.orders.get_mut(c) {
                order.request_cancel();
            }
        }
        let body = self
            .private_as(EP, "application/json", |nonce| {
                format!("{{\"nonce\":{nonce},\"cl_ord_ids\":{}}}", json!(client_order_ids))
            })
            .await?;
        let answer = parse_envelope::<CountResult>(EP, &body)
            .map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
        let count = match answer {
            Ok(CountResult { count }) => count,
            Err(errors) if is_rate_limit(&errors) => {
                self.trading(symbol).fill(local_ms());
                return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: 1000, local: false });
            }
            Err(errors) => return Err(KrakenClientError::Venue { endpoint: EP, errors }),
        };
        let ids: Vec<String> = client_order_ids.iter().map(|c| (*c).to_owned()).collect();
        let mut summary = ReconcileSummary::default();
        let reports = match self.refresh(&ids, &mut summary).await {
            Ok(reports) => reports,
            Err(KrakenClientError::RateLimited { .. } | KrakenClientError::Transport { .. }) => Vec::new(),
            Err(err) => return Err(err),
        };
        Ok(BatchCancel { count, reports })
    }
}
