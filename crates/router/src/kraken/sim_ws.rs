//! The Kraken simulator's WebSocket v2 front: order entry and the `executions` channel on the
//! same exchange, accounts and counters as the REST front. It is the shared WebSocket server's
//! venue ([`crate::sim::ws::WsVenue`]): `KrakenSim::start_ws()` serves it on its own port of
//! 127.0.0.1, at Kraken's path `/v2`.
//!
//! Every request but `ping` carries a token from `GetWebSocketsToken` (valid 15 minutes until
//! first used, then for good): a missing, unknown or stale one is refused with
//! `EAPI:Invalid key`. `add_order`, `amend_order`, `cancel_order` and `cancel_all` are the REST
//! endpoints' own checks and matching, their parameters renamed (`order_qty` is `volume`,
//! `limit_price` is `price`, `symbol` the v2 pair name); an unknown parameter is
//! `EGeneral:Invalid arguments:<name>`. Answers carry the request's `req_id`, `success`, and
//! Kraken's error string or a `result` (`order_id`, `cl_ord_id`, `amend_id`).
//!
//! `subscribe` to `executions` sends a snapshot (open orders, and with `snap_trades` the last 50
//! fills) and from then on every change of every order, whichever front or event caused it (a
//! REST order's fill, another participant's trade [`KrakenSim::trade_at`]): `new`, `trade`
//! (with `trade_id`, `last_qty`, `last_price`, `liquidity_ind`, `fees`), `filled`, `canceled`,
//! `expired`, `amended`. Changes are found by comparing each order with what was last logged,
//! after every request of either front and every test hook that trades; each session reads the
//! log from its own cursor, so every update reaches each subscribed session once, in order.
//!
//! `subscribe` to `balances` is in [`super::sim_balances`]: the account's ledger entries.
//!
//! Each API key is an account of its own: a session's snapshot and updates are those of the
//! key whose token subscribed it, and its requests see and cancel only that key's orders.
//!
//! `cancel_all_orders_after` arms the key's dead man's switch (`timeout` seconds, 0
//! disarms): when its trigger time passes with no later request, every open order of the key's
//! account is canceled
//! (checked before every request of either front, and by a timer every 20 ms). `batch_add` and
//! `batch_cancel` are in [`super::sim_batch`].
//!
//! Faults for tests: `KrakenSim::drop_ws_connections()` closes every session;
//! `lose_next_responses` counts WebSocket requests too; `KrakenSim::expire_ws_tokens()` makes
//! every token invalid.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::ids::txid;
use super::sim::{KrakenError, KrakenSim, KrakenSimState};
use super::sim_sessions::{KrakenWsSession, Published};
use super::ws_messages::{v2_symbol, JsonWriter};
use crate::order::local_ms;
use crate::sim::exchange::{is_open, SimOrder, SimOrderType, SimTif, SimTrade};
use crate::sim::ws::WsVenue;
use crate::sim::Params;

impl KrakenSim {
    /// Sessions subscribed to `executions`.
    pub fn ws_subscribers(&self) -> usize {
        self.venue().ws.subscribers
    }
}

impl WsVenue for KrakenSimState {
    type Session = KrakenWsSession;

    /// Kraken's path, `/v2` (a query string is ignored); any other path is refused.
    fn open_session(&mut self, path_and_query: &str) -> Option<KrakenWsSession> {
        let path = path_and_query.split('?').next().unwrap_or("");
        (path == "/v2").then(|| {
            self.ws.next_id += 1;
            KrakenWsSession {
                id: self.ws.next_id,
                greeted: false,
                subscribed: false,
                cursor: 0,
                api_key: String::new(),
                balances_subscribed: false,
                balance_cursor: 0,
                balance_seq: 0,
            }
        })
    }

    fn on_text(&mut self, session: &mut KrakenWsSession, text: &str) -> Vec<String> {
        self.ws_request(session, text, local_ms())
    }

    /// The `status` greeting first, then every `executions` update since the session last read.
    fn pushes(&mut self, session: &mut KrakenWsSession) -> Vec<String> {
        let mut out = Vec::new();
        if !session.greeted {
            session.greeted = true;
            out.push(status_message(session.id));
        }
        if session.subscribed {
            let from = session.cursor.saturating_sub(self.ws.base);
            let mine = self.ws.log.iter().skip(from).filter(|(owner, _)| *owner == session.api_key);
            out.extend(mine.map(|(_, message)| message.clone()));
            session.cursor = self.ws.base + self.ws.log.len();
        }
        out.extend(self.balance_pushes(session));
        out
    }

    fn close_session(&mut self, session: KrakenWsSession) {
        self.close_balances(&session);
        if session.subscribed {
            self.ws.subscribers = self.ws.subscribers.saturating_sub(1);
            if self.ws.subscribers == 0 {
                // Nobody reads the log any more.
                self.ws.base += self.ws.log.len();
                self.ws.log.clear();
            }
        }
    }
}

/// The `status` message a connection gets first.
fn status_message(connection_id: u64) -> String {
    let data = JsonWriter::new()
        .str("api_version", "v2")
        .int("connection_id", connection_id)
        .str("system", "online")
        .str("version", "2.0.10")
        .finish();
    JsonWriter::new().str("channel", "status").str("type", "update").raw("data", &format!("[{data}]")).finish()
}

#[derive(Deserialize)]
struct Request<'a> {
    method: String,
    #[serde(default, borrow)]
    params: HashMap<String, &'a RawValue>,
    #[serde(default)]
    req_id: Option<u64>,
}

/// A parameter's value as text (a string's contents, a number's or boolean's own text).
pub(super) fn param_text(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str(text).ok()
    } else if text.starts_with(['[', '{']) || text == "null" {
        None
    } else {
        Some(text.to_owned())
    }
}

/// A REST argument error renamed to the v2 parameter.
pub(super) fn v2_error(err: KrakenError) -> String {
    let renames = [
        ("volume", "order_qty"),
        ("price", "limit_price"),
        ("type", "side"),
        ("ordertype", "order_type"),
        ("pair", "symbol"),
        ("timeinforce", "time_in_force"),
        ("oflags", "post_only"),
        ("txid", "order_id"),
    ];
    match err.0.strip_prefix("EGeneral:Invalid arguments:") {
        Some(name) => {
            let v2 = renames.iter().find(|(rest, _)| *rest == name).map_or(name, |(_, v2)| v2);
            format!("EGeneral:Invalid arguments:{v2}")
        }
        None => err.0,
    }
}

pub(super) fn time_text(ms: i64) -> String {
    crate::time::format_rfc3339_ms(ms)
}

impl KrakenSimState {
    /// Answers one request of a session (the frames to send back), then logs what changed for
    /// the subscribers.
    fn ws_request(&mut self, session: &mut KrakenWsSession, text: &str, now: i64) -> Vec<String> {
        self.fire_dead_man_if_due(now);
        let time_in = time_text(now);
        let answer = |method: &str, req_id: Option<u64>, outcome: Result<String, String>| {
            let mut w = JsonWriter::new();
            w.str("method", method);
            if let Some(id) = req_id {
                w.int("req_id", id);
            }
            match outcome {
                Ok(result) => w.raw("result", &result).bool("success", true),
                Err(error) => w.str("error", &error).bool("success", false),
            };
            w.str("time_in", &time_in).str("time_out", &time_text(local_ms())).finish()
        };
        let Ok(request) = serde_json::from_str::<Request<'_>>(text) else {
            let error = JsonWriter::new()
                .str("error", "EGeneral:Invalid arguments")
                .bool("success", false)
                .str("time_in", &time_in)
                .str("time_out", &time_text(local_ms()))
                .finish();
            return vec![error];
        };
        let (method, req_id) = (request.method.as_str(), request.req_id);
        if method == "ping" {
            let mut pong = JsonWriter::new();
            pong.str("method", "pong");
            if let Some(id) = req_id {
                pong.int("req_id", id);
            }
            let pong = pong.str("time_in", &time_in).str("time_out", &time_text(local_ms())).finish();
            return vec![pong];
        }
        let token = request.params.get("token").and_then(|t| param_text(t));
        let Some(api_key) = token.and_then(|t| self.ws_token_key(&t, now)) else {
            return vec![answer(method, req_id, Err("EAPI:Invalid key".into()))];
        };
        let answers: Vec<Result<String, String>> = match method {
            "subscribe" if request.params.get("channel").and_then(|c| param_text(c)).as_deref() == Some("balances") => {
                return match self.ws_subscribe_balances(session, &api_key, &request.params) {
                    Ok((result, snapshot)) => {
                        std::iter::once(answer(method, req_id, Ok(result))).chain(snapshot).collect()
                    }
                    Err(error) => vec![answer(method, req_id, Err(error))],
                };
            }
            "subscribe" => {
                let outcome = self.ws_subscribe(session, &api_key, &request.params);
                let ok = outcome.is_ok();
                let mut frames = vec![answer(method, req_id, outcome)];
                if ok {
                    let snap_trades = request.params.get("snap_trades").and_then(|t| param_text(t));
                    let snap_orders = request.params.get("snap_orders").and_then(|t| param_text(t));
                    let (orders, trades) =
                        (snap_orders.as_deref() != Some("false"), snap_trades.as_deref() == Some("true"));
                    let snapshot = self.snapshot(&api_key, orders, trades);
                    frames.push(snapshot);
                }
                return frames;
            }
            "add_order" => vec![self.ws_add_order(&api_key, &request.params, now)],
            "amend_order" => vec![self.ws_amend_order(&api_key, &request.params, now)],
            "cancel_order" => self.ws_cancel_order(&api_key, &request.params, now),
            "cancel_all" => match request.params.keys().find(|k| k.as_str() != "token") {
                Some(unknown) => vec![Err(format!("EGeneral:Invalid arguments:{unknown}"))],
                None => {
                    let count = self.cancel_all(&api_key, now)["count"].to_string();
                    vec![Ok(JsonWriter::new().raw("count", &count).finish())]
                }
            },
            "cancel_all_orders_after" => vec![self.ws_cancel_all_orders_after(&api_key, &request.params, now)],
            "batch_add" => vec![self.ws_batch_add(&api_key, &request.params, now)],
            "batch_cancel" => vec![self.ws_batch_cancel(&api_key, &request.params, now)],
            _ => vec![Err("EGeneral:Invalid arguments:method".into())],
        };
        self.settle_balances();
        self.publish();
        answers.into_iter().map(|outcome| answer(method, req_id, outcome)).collect()
    }

    /// Arms (`timeout` seconds > 0) or disarms (0) `api_key`'s dead man's switch; returns when
    /// it fires (0: disarmed).
    fn arm_dead_man(&mut self, api_key: &str, timeout: u32, now: i64) -> i64 {
        if timeout == 0 {
            self.ws.dead_man_ms.remove(api_key);
            return 0;
        }
        let at = now + i64::from(timeout) * 1000;
        self.ws.dead_man_ms.insert(api_key.to_owned(), at);
        at
    }

    /// `cancel_all_orders_after`: `timeout` whole seconds (under 86400) from now every order of
    /// the key's account is canceled, unless a later request pushes the trigger back; 0 disarms
    /// it. Answers Kraken's `currentTime` and `triggerTime` (the epoch when disarmed).
    fn ws_cancel_all_orders_after(
        &mut self,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
        now: i64,
    ) -> Result<String, String> {
        if let Some(unknown) = params.keys().find(|k| !["token", "timeout"].contains(&k.as_str())) {
            return Err(format!("EGeneral:Invalid arguments:{unknown}"));
        }
        let timeout = params.get("timeout").and_then(|t| param_text(t)).and_then(|t| t.parse::<u32>().ok());
        let timeout = timeout.filter(|&t| t < 86_400).ok_or_else(|| "EGeneral:Invalid arguments:timeout".to_owned())?;
        let at = self.arm_dead_man(api_key, timeout, now);
        Ok(JsonWriter::new().str("currentTime", &time_text(now)).str("triggerTime", &time_text(at)).finish())
    }

    /// REST `CancelAllOrdersAfter`: the same switch as the WebSocket's, `timeout` a form
    /// parameter.
    pub(super) fn cancel_all_orders_after(
        &mut self,
        api_key: &str,
        params: &Params,
        now: i64,
    ) -> Result<serde_json::Value, KrakenError> {
        let timeout = params.get("timeout").and_then(|t| t.parse::<u32>().ok()).filter(|&t| t < 86_400);
        let timeout = timeout.ok_or_else(|| KrakenError::invalid("timeout"))?;
        let at = self.arm_dead_man(api_key, timeout, now);
        Ok(serde_json::json!({ "currentTime": time_text(now), "triggerTime": time_text(at) }))
    }

    /// For each key whose dead man's switch's trigger time has come: every open order of its
    /// account canceled, its switch disarmed, the cancels logged for the subscribers. Returns
    /// whether one fired.
    pub(super) fn fire_dead_man_if_due(&mut self, now: i64) -> bool {
        let due: Vec<String> =
            self.ws.dead_man_ms.iter().filter(|(_, &at)| now >= at).map(|(k, _)| k.clone()).collect();
        for key in &due {
            self.ws.dead_man_ms.remove(key);
            self.cancel_all(key, now);
        }
        if !due.is_empty() {
            self.publish();
        }
        !due.is_empty()
    }

    /// Whether a key's dead man's switch is armed and its trigger time has come.
    pub(super) fn dead_man_due(&self, now: i64) -> bool {
        self.ws.dead_man_ms.values().any(|&at| now >= at)
    }

    /// Subscribes the session to `executions` of `api_key`'s account from now on (its snapshot
    /// holds the rest).
    fn ws_subscribe(
        &mut self,
        session: &mut KrakenWsSession,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
    ) -> Result<String, String> {
        if params.get("channel").and_then(|c| param_text(c)).as_deref() != Some("executions") {
            return Err("EGeneral:Invalid arguments:channel".into());
        }
        if !session.subscribed {
            session.subscribed = true;
            self.ws.subscribers += 1;
        }
        session.cursor = self.ws.base + self.ws.log.len();
        api_key.clone_into(&mut session.api_key);
        Ok(JsonWriter::new().str("channel", "executions").bool("snapshot", true).finish())
    }

    /// The REST pair (altname) a v2 symbol names.
    pub(super) fn altname_of(&self, symbol: &str) -> Result<String, String> {
        self.pairs
            .values()
            .find(|p| v2_symbol(&p.wsname) == symbol || p.wsname == symbol)
            .map(|p| p.symbol.symbol.clone())
            .ok_or_else(|| "EQuery:Unknown asset pair".to_owned())
    }

    fn ws_add_order(&mut self, api_key: &str, params: &HashMap<String, &RawValue>, now: i64) -> Result<String, String> {
        let rest = self.v2_order_params(params, false)?;
        let cl_ord_id = rest.iter().find(|(k, _)| k == "cl_ord_id").map(|(_, v)| v.clone());
        let result = self.add_order(api_key, &Params(rest), now).map_err(v2_error)?;
        let mut w = JsonWriter::new();
        if let Some(id) = result["txid"].get(0).and_then(|t| t.as_str()) {
            w.str("order_id", id);
        }
        if let Some(cl) = &cl_ord_id {
            w.str("cl_ord_id", cl);
        }
        Ok(w.finish())
    }

    /// An order's v2 parameters as `AddOrder`'s (`order_qty` is `volume`, ...); a batch's
    /// order (`in_batch`) names no `symbol`, `token` or `validate` of its own.
    pub(super) fn v2_order_params(
        &self,
        params: &HashMap<String, &RawValue>,
        in_batch: bool,
    ) -> Result<Vec<(String, String)>, String> {
        let mut rest = Vec::new();
        for (name, raw) in params {
            let text = param_text(raw).ok_or_else(|| format!("EGeneral:Invalid arguments:{name}"))?;
            let (rest_name, value) = match name.as_str() {
                "token" if !in_batch => continue,
                "order_type" => ("ordertype", text),
                "side" => ("type", text),
                "order_qty" => ("volume", text),
                "limit_price" => ("price", text),
                "symbol" if !in_batch => ("pair", self.altname_of(&text)?),
                "cl_ord_id" => ("cl_ord_id", text),
                "validate" if !in_batch => ("validate", text),
                "time_in_force" => match text.as_str() {
                    "gtc" => ("timeinforce", "GTC".to_owned()),
                    "ioc" => ("timeinforce", "IOC".to_owned()),
                    _ => return Err("EGeneral:Invalid arguments:time_in_force".into()),
                },
                "post_only" => match text.as_str() {
                    "true" => ("oflags", "post".to_owned()),
                    "false" => continue,
                    _ => return Err("EGeneral:Invalid arguments:post_only".into()),
                },
                _ => return Err(format!("EGeneral:Invalid arguments:{name}")),
            };
            rest.push((rest_name.to_owned(), value));
        }
        Ok(rest)
    }

    fn ws_amend_order(
        &mut self,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
        now: i64,
    ) -> Result<String, String> {
        let mut rest = Vec::new();
        let mut named = JsonWriter::new();
        for (name, raw) in params {
            let text = param_text(raw).ok_or_else(|| format!("EGeneral:Invalid arguments:{name}"))?;
            let rest_name = match name.as_str() {
                "token" => continue,
                "order_id" => "txid",
                "cl_ord_id" | "order_qty" | "limit_price" | "post_only" => name.as_str(),
                _ => return Err(format!("EGeneral:Invalid arguments:{name}")),
            };
            if rest_name == "txid" || rest_name == "cl_ord_id" {
                named.str(name, &text);
            }
            rest.push((rest_name.to_owned(), text));
        }
        let result = self.amend_order(api_key, &Params(rest), now).map_err(v2_error)?;
        let amend_id = result["amend_id"].as_str().unwrap_or_default();
        Ok(named.str("amend_id", amend_id).finish())
    }

    /// One answer per order named (`order_id` or `cl_ord_id`, each a list).
    fn ws_cancel_order(
        &mut self,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
        now: i64,
    ) -> Vec<Result<String, String>> {
        let list = |name: &str| -> Result<Vec<String>, String> {
            match params.get(name) {
                None => Ok(Vec::new()),
                Some(raw) => serde_json::from_str(raw.get()).map_err(|_| format!("EGeneral:Invalid arguments:{name}")),
            }
        };
        if let Some(unknown) = params.keys().find(|k| !["token", "order_id", "cl_ord_id"].contains(&k.as_str())) {
            return vec![Err(format!("EGeneral:Invalid arguments:{unknown}"))];
        }
        let (by_txid, by_client) = match (list("order_id"), list("cl_ord_id")) {
            (Ok(t), Ok(c)) if !(t.is_empty() && c.is_empty()) => (t, c),
            (Err(e), _) | (_, Err(e)) => return vec![Err(e)],
            _ => return vec![Err("EGeneral:Invalid arguments".into())],
        };
        let named = by_txid.into_iter().map(|t| ("txid", "order_id", t));
        let named = named.chain(by_client.into_iter().map(|c| ("cl_ord_id", "cl_ord_id", c)));
        named
            .map(|(rest_name, v2_name, id)| {
                let params = Params(vec![(rest_name.to_owned(), id.clone())]);
                self.cancel_order(api_key, &params, now).map_err(v2_error)?;
                Ok(JsonWriter::new().str(v2_name, &id).finish())
            })
            .collect()
    }

    /// One `executions` entry for `order`.
    fn execution_json(
        &self,
        order: &SimOrder,
        exec_type: &str,
        status: &str,
        trade: Option<&SimTrade>,
        cum: i64,
    ) -> String {
        let Some(sym) = self.exchange.symbols.get(&order.new.symbol) else { return "{}".into() };
        let extra = self.extras.get(&order.order_id);
        let symbol = self.pairs.get(&order.new.symbol).map_or(order.new.symbol.clone(), |p| v2_symbol(&p.wsname));
        let mut w = JsonWriter::new();
        w.str("exec_type", exec_type).str("order_id", &txid(b'O', order.order_id));
        if let Some(cl) = extra.and_then(|e| e.cl_ord_id.as_deref()) {
            w.str("cl_ord_id", cl);
        }
        w.str("symbol", &symbol).str("side", if order.new.is_buy { "buy" } else { "sell" });
        match order.new.order_type {
            SimOrderType::Market => {
                w.str("order_type", "market");
            }
            kind => {
                w.str("order_type", "limit").num("limit_price", &sym.tick_size.format(order.new.price));
                let tif = if kind == SimOrderType::Limit(SimTif::Ioc) { "ioc" } else { "gtc" };
                w.str("time_in_force", tif).bool("post_only", kind == SimOrderType::LimitMaker);
            }
        }
        w.num("order_qty", &sym.step_size.format(order.new.qty))
            .str("order_status", status)
            .num("cum_qty", &sym.step_size.format(cum));
        let time = match trade {
            Some(t) => {
                let quote = self.pairs.get(&t.symbol).map_or(sym.quote_asset.clone(), |p| {
                    v2_symbol(&p.wsname).split_once('/').map_or(sym.quote_asset.clone(), |(_, q)| q.to_owned())
                });
                let mut fee = JsonWriter::new();
                fee.str("asset", &quote).num("qty", &t.commission.to_string());
                w.str("exec_id", &txid(b'T', t.id))
                    .int("trade_id", t.id)
                    .num("last_qty", &sym.step_size.format(t.qty))
                    .num("last_price", &sym.tick_size.format(t.price))
                    .num("cost", &sym.notional(t.price, t.qty).to_string())
                    .str("liquidity_ind", if t.is_maker { "m" } else { "t" })
                    .raw("fees", &format!("[{}]", fee.finish()));
                t.time_ms
            }
            None if exec_type == "new" => order.time_ms,
            None => order.update_ms,
        };
        if let Some(reason) = extra.and_then(|e| e.reason).filter(|_| matches!(exec_type, "canceled" | "expired")) {
            w.str("reason", reason);
        }
        w.str("timestamp", &time_text(time)).finish()
    }

    /// The `executions` snapshot of `api_key`'s account: open orders, and the last 50 fills if
    /// asked.
    fn snapshot(&self, api_key: &str, orders: bool, trades: bool) -> String {
        let mut data = Vec::new();
        if orders {
            for order in self.exchange.open_orders(None).filter(|o| self.owned_by(o.order_id, api_key)) {
                let status = if order.executed > 0 { "partially_filled" } else { "new" };
                data.push(self.execution_json(order, "new", status, None, order.executed));
            }
        }
        if trades {
            let mine = |t: &&SimTrade| self.owned_by(t.order_id, api_key);
            let last: Vec<&SimTrade> = self.exchange.trades.values().rev().filter(mine).take(50).collect();
            for t in last.into_iter().rev() {
                let Some(order) = self.exchange.orders.get(&t.order_id) else { continue };
                let cum: i64 = self
                    .exchange
                    .trades
                    .range(..=t.id)
                    .filter(|(_, x)| x.order_id == t.order_id)
                    .map(|(_, x)| x.qty)
                    .sum();
                let status = if cum >= order.new.qty { "filled" } else { "partially_filled" };
                data.push(self.execution_json(order, "trade", status, Some(t), cum));
            }
        }
        let data = format!("[{}]", data.join(","));
        JsonWriter::new().str("channel", "executions").str("type", "snapshot").raw("data", &data).finish()
    }

    /// Logs for the subscribers what changed since they were last told (every order, every
    /// trade), whichever front or event changed it, one message per account; each session
    /// reads its account's messages from its own cursor ([`WsVenue::pushes`]).
    pub(super) fn publish(&mut self) {
        let any = self.ws.subscribers > 0;
        let first_new_trade = self.ws.published_trade + 1;
        let mut by_owner: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
        let mut updates = Vec::new();
        // Only live orders and new ones can change: an order that ended stays as it was.
        let mut ids: Vec<u64> = self.ws.published.keys().copied().collect();
        ids.extend(self.exchange.orders.range(self.ws.next_unseen_order..).map(|(&id, _)| id));
        ids.sort_unstable();
        for order in ids.iter().filter_map(|id| self.exchange.orders.get(id)) {
            let now = Published {
                status: order.status,
                executed: order.executed,
                qty: order.new.qty,
                price: order.new.price,
            };
            let before = self.ws.published.get(&order.order_id).copied();
            if before == Some(now) {
                continue;
            }
            updates.push((order.order_id, now));
            if !any {
                continue;
            }
            let owner = self.extras.get(&order.order_id).map_or_else(String::new, |e| e.owner.clone());
            let events = by_owner.entry(owner).or_default();
            let mut cum = before.map_or(0, |b| b.executed);
            if before.is_none() {
                events.push(self.execution_json(order, "new", "new", None, 0));
            }
            let trades = self.exchange.trades.range(first_new_trade..).map(|(_, t)| t);
            for t in trades.filter(|t| t.order_id == order.order_id) {
                cum += t.qty;
                let status = if cum >= order.new.qty { "filled" } else { "partially_filled" };
                events.push(self.execution_json(order, "trade", status, Some(t), cum));
            }
            let status_changed = before.is_none_or(|b| b.status != order.status);
            let ending = match order.status {
                "FILLED" => Some(("filled", "filled")),
                "CANCELED" => Some(("canceled", "canceled")),
                "EXPIRED" => Some(("expired", "expired")),
                _ => None,
            };
            match ending {
                Some((exec_type, status)) if status_changed => {
                    events.push(self.execution_json(order, exec_type, status, None, order.executed));
                }
                _ if is_open(order.status) && before.is_some_and(|b| b.qty != now.qty || b.price != now.price) => {
                    let status = if order.executed > 0 { "partially_filled" } else { "new" };
                    events.push(self.execution_json(order, "amended", status, None, order.executed));
                }
                _ => {}
            }
        }
        for (id, published) in updates {
            if is_open(published.status) {
                self.ws.published.insert(id, published);
            } else {
                self.ws.published.remove(&id);
            }
        }
        if let Some((&last, _)) = self.exchange.orders.iter().next_back() {
            self.ws.next_unseen_order = last + 1;
        }
        if let Some((&last, _)) = self.exchange.trades.iter().next_back() {
            self.ws.published_trade = last;
        }
        for (owner, events) in by_owner.into_iter().filter(|(_, e)| !e.is_empty()) {
            let data = format!("[{}]", events.join(","));
            let message =
                JsonWriter::new().str("channel", "executions").str("type", "update").raw("data", &data).finish();
            self.ws.log.push((owner, message));
        }
        self.publish_balances();
    }
}
