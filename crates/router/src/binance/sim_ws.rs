//! The simulator's WebSocket API front, `ws://<ws_addr>/ws-api/v3`, on the same exchange (book,
//! orders, trades, request weight) as its REST front.
//!
//! Each request is answered as Binance does: the `id` echoed, `status`, then `result` or `error`
//! (`{"code":..,"msg":..}`, `data` for cancel-replace outcomes and `retryAfter`), and
//! `rateLimits` (request weight per minute; new orders per 10 s and per day), unless the request
//! or the connection URL says `returnRateLimits=false`.
//!
//! | Method | Security | Weight |
//! |---|---|---|
//! | `ping`, `time` | none | 1 |
//! | `session.logon` (Ed25519 keys only), `session.status`, `session.logout` | signed / none | 2 |
//! | `order.place`, `order.cancel`, `order.cancelReplace`, `openOrders.cancelAll` | signed | 1 |
//! | `order.amend.keepPriority` | signed | 4 |
//! | `order.status` / `openOrders.status` / `myTrades` | signed | 4 / 6 (80 without a symbol) / 20 |
//! | `userDataStream.subscribe` (a logged-on session), `userDataStream.subscribe.signature` (any key), `userDataStream.unsubscribe` | session / signed / none | 2 |
//!
//! **Signed requests** carry `apiKey`, `timestamp` (within `recvWindow`, as on REST) and
//! `signature` over every other parameter sorted by name (`-2014`/`-2015`, `-1021`, `-1131`,
//! `-1022`); on a logged-on session `apiKey` and `signature` may be left out. Parameters are
//! then checked exactly as the REST front checks them. A frame that is not a JSON object with a
//! `method` is `-1135` (status 400, `id` null); an unknown method `-1020`.
//!
//! **User data**: a subscribed session receives an `executionReport` for every change of every
//! order of the account, whichever front or test hook caused it, then the balance events of the
//! change (`balanceUpdate` for a deposit or withdrawal, one `outboundAccountPosition` with the
//! assets it moved: `sim_account.rs`), each as `{"subscriptionId":n,"event":{..}}`. Events
//! caused by a session's own request are sent before its answer (so a client sees fills before
//! the acknowledgment, as it may from Binance).

use serde_json::{json, Value};

use super::account::BalanceWatch;
use super::{check_timestamp, need, now_ms, parse_u64, BinanceSimState, SimError, SimKey};
use crate::signing::{verify_binance_ed25519, verify_binance_hmac};
use crate::sim::ws::WsVenue;
use crate::sim::Params;

/// The path of the WebSocket API.
pub const WS_API_PATH: &str = "/ws-api/v3";

/// One WebSocket API connection's session.
#[derive(Debug)]
pub struct BinanceWsSession {
    logged_on: Option<String>,
    subscription: Option<u64>,
    /// The account whose execution reports the subscription receives.
    subscribed_account: String,
    /// What the subscription last said of that account's balances.
    balances: BalanceWatch,
    next_subscription_id: u64,
    cursor: u64,
    return_rate_limits: bool,
    connected_ms: i64,
    authorized_ms: Option<i64>,
}

/// Binance's request weight of a WebSocket API method.
fn weight(method: &str, params: &Params) -> u32 {
    match method {
        "order.status" | "order.amend.keepPriority" => 4,
        "openOrders.status" if params.get("symbol").is_none() => 80,
        "openOrders.status" => 6,
        "myTrades" | "account.status" => 20,
        m if m.starts_with("session.") || m.starts_with("userDataStream.") => 2,
        _ => 1,
    }
}

/// A request's parameters as text (numbers and booleans as their JSON text; `null` is "not
/// sent"); an array or object is not a parameter this front takes.
fn params_of(request: &serde_json::Map<String, Value>) -> Result<Params, SimError> {
    let Some(params) = request.get("params") else { return Ok(Params::default()) };
    let Value::Object(params) = params else { return Err(SimError::InvalidJson) };
    let mut out = Vec::with_capacity(params.len());
    for (name, value) in params {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => return Err(SimError::InvalidJson),
        };
        out.push((name.clone(), text));
    }
    Ok(Params(out))
}

/// The signature payload: every parameter but `signature`, sorted by name, `name=value&..`.
fn payload(params: &Params) -> String {
    let mut sorted: Vec<&(String, String)> = params.0.iter().filter(|(k, _)| k != "signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

impl WsVenue for BinanceSimState {
    type Session = BinanceWsSession;

    fn open_session(&mut self, path_and_query: &str) -> Option<BinanceWsSession> {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        if path != WS_API_PATH {
            return None;
        }
        let params = Params::parse([query]);
        Some(BinanceWsSession {
            logged_on: None,
            subscription: None,
            subscribed_account: String::new(),
            balances: BalanceWatch::default(),
            next_subscription_id: 0,
            cursor: self.exchange.last_event_seq(),
            return_rate_limits: params.get("returnRateLimits") != Some("false"),
            connected_ms: now_ms(self.clock_skew_ms),
            authorized_ms: None,
        })
    }

    fn on_text(&mut self, session: &mut BinanceWsSession, text: &str) -> Vec<String> {
        let answer = self.ws_request(session, text);
        let mut frames = self.pushes(session);
        frames.push(answer);
        frames
    }

    fn pushes(&mut self, session: &mut BinanceWsSession) -> Vec<String> {
        let Some(subscription) = session.subscription else {
            session.cursor = self.exchange.last_event_seq();
            return vec![];
        };
        let ex = &self.exchange;
        let key = session.subscribed_account.as_str();
        let mut events: Vec<Value> = ex
            .events_after(session.cursor)
            .filter(|e| ex.orders.get(&e.order_id).is_some_and(|o| o.account == key))
            .map(|e| ex.execution_report_json(e))
            .collect();
        session.cursor = ex.last_event_seq();
        let orders_moved = !events.is_empty();
        events.extend(self.balance_events(&mut session.balances, orders_moved));
        events.into_iter().map(|event| json!({ "subscriptionId": subscription, "event": event }).to_string()).collect()
    }
}

impl BinanceSimState {
    fn ws_request(&mut self, session: &mut BinanceWsSession, text: &str) -> String {
        let now = now_ms(self.clock_skew_ms);
        let request = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => return json!({ "id": null, "status": 400, "error": SimError::InvalidJson.json() }).to_string(),
        };
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let method = request.get("method").and_then(Value::as_str);
        let (Some(method), true) = (method, id.is_null() || id.is_string() || id.is_u64() || id.is_i64()) else {
            return json!({ "id": null, "status": 400, "error": SimError::InvalidJson.json() }).to_string();
        };
        let method = method.strip_prefix("v3/").unwrap_or(method);
        let params = match params_of(&request) {
            Ok(params) => params,
            Err(err) => return json!({ "id": id, "status": 400, "error": err.json() }).to_string(),
        };
        let return_rate_limits = match params.get("returnRateLimits") {
            Some("false") => false,
            Some("true") => true,
            _ => session.return_rate_limits,
        };
        let (used, over) = self.count_weight(weight(method, &params), now);
        let mut headers = Vec::new();
        let result = match over {
            Some(err) => Err(err),
            None => self.ws_route(session, method, &params, now, &mut headers),
        };
        let mut answer = match result {
            Ok(result) => json!({ "id": id, "status": 200, "result": result }),
            Err(err) => {
                let mut error = err.json();
                if let SimError::TooMuchWeight { retry_after_s, .. } = &err {
                    let retry_after = now + i64::try_from(*retry_after_s).unwrap_or(60) * 1000;
                    error["data"] = json!({ "serverTime": now, "retryAfter": retry_after });
                }
                json!({ "id": id, "status": err.http_status(), "error": error })
            }
        };
        if return_rate_limits {
            answer["rateLimits"] = self.rate_limits(used, &headers);
        }
        answer.to_string()
    }

    fn rate_limits(&self, used: u32, headers: &[(&'static str, String)]) -> Value {
        let limit = |kind: &str, interval: &str, num: u32, limit: u32, count: &str| {
            json!({ "rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit,
                    "count": count.parse::<u64>().unwrap_or(0) })
        };
        let mut out = Vec::with_capacity(3);
        for (name, value) in headers {
            match *name {
                "x-mbx-order-count-10s" => out.push(limit("ORDERS", "SECOND", 10, self.orders_limit_10s, value)),
                "x-mbx-order-count-1d" => out.push(limit("ORDERS", "DAY", 1, 160_000, value)),
                _ => {}
            }
        }
        out.push(limit("REQUEST_WEIGHT", "MINUTE", 1, self.weight_limit_1m, &used.to_string()));
        Value::Array(out)
    }

    fn ws_route(
        &mut self,
        session: &mut BinanceWsSession,
        method: &str,
        params: &Params,
        now: i64,
        headers: &mut Vec<(&'static str, String)>,
    ) -> Result<Value, SimError> {
        match method {
            "ping" => return Ok(json!({})),
            "time" => return Ok(json!({ "serverTime": now })),
            "session.status" => return Ok(self.session_json(session, now)),
            "session.logout" => {
                session.logged_on = None;
                session.authorized_ms = None;
                return Ok(self.session_json(session, now));
            }
            "userDataStream.unsubscribe" => {
                session.subscription.take().ok_or(SimError::SubscriptionInactive)?;
                return Ok(json!({}));
            }
            "userDataStream.subscribe" => {
                let key = session.logged_on.clone().ok_or(SimError::Unauthorized)?;
                return self.subscribe(session, key);
            }
            _ => {}
        }
        let signed = [
            "session.logon",
            "userDataStream.subscribe.signature",
            "order.place",
            "order.cancel",
            "order.cancelReplace",
            "order.amend.keepPriority",
            "openOrders.cancelAll",
            "order.status",
            "openOrders.status",
            "myTrades",
            "account.status",
        ];
        if !signed.contains(&method) {
            return Err(SimError::Unsupported);
        }
        let explicit = matches!(method, "session.logon" | "userDataStream.subscribe.signature");
        let api_key = self.ws_authenticate(session, params, now, explicit)?;
        self.account = self.account_of(&api_key);
        match method {
            "session.logon" => {
                if !matches!(self.keys.get(&api_key), Some(SimKey::Ed25519 { .. })) {
                    return Err(SimError::Unauthorized);
                }
                session.logged_on = Some(api_key);
                session.authorized_ms = Some(now);
                Ok(self.session_json(session, now))
            }
            "userDataStream.subscribe.signature" => self.subscribe(session, api_key),
            "order.place" => self.new_order(params, now, headers),
            "order.cancel" => self.cancel_order(params, now),
            "order.cancelReplace" => self.cancel_replace(params, now, headers),
            "order.amend.keepPriority" => self.amend_keep_priority(params, now),
            "openOrders.cancelAll" => self.cancel_open_orders(params, now),
            "account.status" => self.account_json(params, now),
            "order.status" => {
                let symbol = self.symbol(params)?;
                let order_id = parse_u64(params, "orderId")?;
                let client_id = params.get("origClientOrderId");
                if order_id.is_none() && client_id.is_none() {
                    return Err(SimError::EitherOrderId);
                }
                let found = self.exchange.find_of(&self.account, Some(symbol), order_id, client_id);
                let order = found.ok_or(SimError::NoSuchOrder)?;
                Ok(self.exchange.order_json(order))
            }
            "openOrders.status" => {
                let symbol = params.get("symbol");
                if let Some(s) = symbol {
                    self.exchange.symbols.get(s).ok_or(SimError::InvalidSymbol)?;
                }
                let ex = &self.exchange;
                Ok(Value::Array(ex.open_orders_of(&self.account, symbol).map(|o| ex.order_json(o)).collect()))
            }
            _ => self.my_trades(params),
        }
    }

    /// The key a signed request acts for: its `apiKey` with a valid `signature`, or (unless
    /// `explicit`) the session's logged-on key; and its `timestamp` within `recvWindow`.
    fn ws_authenticate(
        &self,
        session: &BinanceWsSession,
        params: &Params,
        now: i64,
        explicit: bool,
    ) -> Result<String, SimError> {
        let named = params.get("apiKey");
        let api_key = match (named, &session.logged_on) {
            (Some(key), _) => key,
            (None, Some(key)) if !explicit => key.as_str(),
            (None, _) => return Err(SimError::Mandatory("apiKey")),
        };
        if api_key.len() > 256 {
            return Err(SimError::ApiKeyFormat);
        }
        let key = self.keys.get(api_key).ok_or(SimError::InvalidApiKey)?;
        check_timestamp(params, now)?;
        if named.is_some() {
            let signature = need(params, "signature")?;
            let payload = payload(params);
            let valid = match key {
                SimKey::Hmac { secret, .. } => verify_binance_hmac(secret, &payload, signature),
                SimKey::Ed25519 { public_key, .. } => verify_binance_ed25519(public_key, &payload, signature),
            };
            if !valid {
                return Err(SimError::BadSignature);
            }
        }
        Ok(api_key.to_owned())
    }

    fn subscribe(&mut self, session: &mut BinanceWsSession, api_key: String) -> Result<Value, SimError> {
        if session.subscription.is_some() {
            return Err(SimError::SubscriptionActive);
        }
        let id = session.next_subscription_id;
        session.next_subscription_id += 1;
        session.subscription = Some(id);
        session.subscribed_account = self.account_of(&api_key);
        session.cursor = self.exchange.last_event_seq();
        session.balances = self.watch(&session.subscribed_account);
        Ok(json!({ "subscriptionId": id }))
    }

    fn session_json(&self, session: &BinanceWsSession, now: i64) -> Value {
        json!({
            "apiKey": session.logged_on,
            "authorizedSince": session.authorized_ms,
            "connectedSince": session.connected_ms,
            "returnRateLimits": session.return_rate_limits,
            "serverTime": now,
            "userDataStream": session.subscription.is_some(),
        })
    }

    /// `order.cancelReplace` and `POST /api/v3/order/cancelReplace`: the cancel, then (unless it
    /// failed under `STOP_ON_FAILURE`) the new order, each checked as on its own.
    pub(super) fn cancel_replace(
        &mut self,
        params: &Params,
        now: i64,
        headers: &mut Vec<(&'static str, String)>,
    ) -> Result<Value, SimError> {
        let stop_on_failure = match need(params, "cancelReplaceMode")? {
            "STOP_ON_FAILURE" => true,
            "ALLOW_FAILURE" => false,
            _ => {
                return Err(SimError::IllegalChars {
                    name: "cancelReplaceMode",
                    range: "STOP_ON_FAILURE|ALLOW_FAILURE",
                })
            }
        };
        let symbol = self.symbol(params)?.to_owned();
        let mut cancel = vec![("symbol".to_owned(), symbol)];
        for (from, to) in [("cancelOrderId", "orderId"), ("cancelOrigClientOrderId", "origClientOrderId")] {
            if let Some(v) = params.get(from) {
                cancel.push((to.to_owned(), v.to_owned()));
            }
        }
        if cancel.len() == 1 {
            return Err(SimError::EitherCancelId);
        }
        let canceled = self.cancel_order(&Params(cancel), now);
        let placed = match (&canceled, stop_on_failure) {
            (Err(_), true) => None,
            _ => Some(self.new_order(params, now, headers)),
        };
        let outcome = |r: &Result<Value, SimError>| match r {
            Ok(v) => ("SUCCESS", v.clone()),
            Err(e) => ("FAILURE", e.json()),
        };
        let (cancel_result, cancel_response) = outcome(&canceled);
        let (new_result, new_response) = placed.as_ref().map_or(("NOT_ATTEMPTED", Value::Null), outcome);
        let data = json!({
            "cancelResult": cancel_result,
            "newOrderResult": new_result,
            "cancelResponse": cancel_response,
            "newOrderResponse": new_response,
        });
        match (canceled.is_ok(), placed.as_ref().is_some_and(Result::is_ok)) {
            (true, true) => Ok(data),
            (true, false) | (false, true) => Err(SimError::CancelReplace { partially: true, data: Box::new(data) }),
            (false, false) => Err(SimError::CancelReplace { partially: false, data: Box::new(data) }),
        }
    }
}
