//! The Coinbase simulator's WebSocket front: the `user` channel on the same exchange and keys
//! as the REST front. It is the shared WebSocket server's venue ([`crate::sim::ws::WsVenue`]):
//! `CoinbaseSim::start_ws()` serves it on its own port of 127.0.0.1, at the root path `/`.
//!
//! `{"type":"subscribe","channel":"user","jwt":..}` must carry a JWT that verifies with a
//! registered key's public key, inside its validity window, naming that key (`sub`) and no
//! `uri` (a REST request's token is refused); else `{"type":"error","message":"authentication
//! failure"}`. A good subscription is answered with the `subscriptions` message and a
//! `snapshot` of the open orders; from then on every change of any order (placed, traded,
//! canceled, expired; whichever front or test hook caused it) is pushed as an `update` with the
//! order's totals right after it: `status`, `cumulative_quantity`, `leaves_quantity`,
//! `avg_price` (the exact quotient, or truncated at 8 digits past the tick), `total_fees`.
//! Subscribing again (a fresh token) sends a new snapshot. `heartbeats` is acknowledged (no
//! heartbeats are sent); any other channel or message type is an `error`.

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::sim::{order_uuid, CoinbaseSimState};
use crate::order::local_ms;
use crate::signing::verify_coinbase_jwt;
use crate::sim::exchange::{add, is_open, SimEvent, SimOrder};
use crate::sim::ws::WsVenue;
use crate::time::format_rfc3339_ms;

/// One connection of the `user` front.
#[derive(Debug, Default)]
pub struct CoinbaseWsSession {
    subscribed: bool,
    cursor: u64,
    sequence: u64,
    /// The account (key name) whose orders the subscription shows.
    account: String,
}

fn error(message: &str) -> String {
    json!({ "type": "error", "message": message }).to_string()
}

impl WsVenue for CoinbaseSimState {
    type Session = CoinbaseWsSession;

    fn open_session(&mut self, path_and_query: &str) -> Option<CoinbaseWsSession> {
        (path_and_query.split('?').next() == Some("/")).then(CoinbaseWsSession::default)
    }

    fn on_text(&mut self, session: &mut CoinbaseWsSession, text: &str) -> Vec<String> {
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return vec![error("malformed JSON")];
        };
        let field = |name| request.get(name).and_then(Value::as_str).unwrap_or("");
        let channel = field("channel");
        match (field("type"), channel) {
            ("subscribe", "user") => {}
            ("subscribe", "heartbeats") => return vec![self.frame(session, "subscriptions", json!([]))],
            ("subscribe" | "unsubscribe", _) => return vec![error(&format!("Failed to subscribe to {channel:.32}"))],
            _ => return vec![error("unknown message type")],
        }
        let now_s = local_ms().div_euclid(1000);
        let token = field("jwt");
        let account = self.key_names_and_public_keys().find_map(|(name, public)| {
            verify_coinbase_jwt(token, public, now_s)
                .is_ok_and(|c| c.sub == *name && c.uri.is_empty())
                .then(|| name.clone())
        });
        let Some(account) = account else {
            return vec![error("authentication failure")];
        };
        session.subscribed = true;
        session.account = account;
        session.cursor = self.exchange().last_event_seq();
        let open: Vec<Value> =
            self.exchange().open_orders_of(&session.account, None).map(|o| self.user_order(o, None)).collect();
        let subscriptions = json!([{ "subscriptions": { "user": [] } }]);
        let snapshot = json!([{ "type": "snapshot", "orders": open }]);
        vec![self.frame(session, "subscriptions", subscriptions), self.frame(session, "user", snapshot)]
    }

    fn pushes(&mut self, session: &mut CoinbaseWsSession) -> Vec<String> {
        if !session.subscribed {
            return Vec::new();
        }
        let events: Vec<SimEvent> = self.exchange().events_after(session.cursor).cloned().collect();
        let mut out = Vec::new();
        for event in events {
            session.cursor = event.seq;
            let order = self.exchange().orders.get(&event.order_id).filter(|o| o.account == session.account);
            let Some(order) = order else { continue };
            let entry = self.user_order(order, Some(&event));
            out.push(self.frame(session, "user", json!([{ "type": "update", "orders": [entry] }])));
        }
        out
    }
}

impl CoinbaseSimState {
    fn frame(&self, session: &mut CoinbaseWsSession, channel: &str, events: Value) -> String {
        let frame = json!({
            "channel": channel,
            "client_id": "",
            "timestamp": format_rfc3339_ms(local_ms()),
            "sequence_num": session.sequence,
            "events": events,
        });
        session.sequence += 1;
        frame.to_string()
    }

    /// An order as the `user` channel shows it, right after `event` (or now).
    fn user_order(&self, order: &SimOrder, event: Option<&SimEvent>) -> Value {
        let ex = self.exchange();
        let Some(sym) = ex.symbols.get(&order.new.symbol) else { return Value::Null };
        let (status, executed, cum_quote) =
            event.map_or((order.status, order.executed, order.cum_quote), |e| (e.status, e.executed, e.cum_quote));
        // The fees of the order's first trades, up to `executed`.
        let (mut fees, mut counted) = (Decimal::new(0, 0), 0);
        for trade in ex.trades.values().filter(|t| t.order_id == order.order_id) {
            if counted >= executed {
                break;
            }
            counted += trade.qty;
            fees = add(fees, trade.commission);
        }
        let status = match status {
            s if is_open(s) => "OPEN",
            "FILLED" => "FILLED",
            "EXPIRED" => "EXPIRED",
            _ => "CANCELLED",
        };
        let leaves = if status == "OPEN" { order.new.qty - executed } else { 0 };
        let avg = average(cum_quote, sym.step_size.value(executed), sym.tick_size.value(1).scale() + 8);
        json!({
            "order_id": order_uuid(order.order_id),
            "client_order_id": order.new.client_order_id,
            "cumulative_quantity": sym.step_size.format(executed),
            "leaves_quantity": sym.step_size.format(leaves),
            "avg_price": avg,
            "status": status,
            "total_fees": fees.to_string(),
            "product_id": order.new.symbol,
            "creation_time": format_rfc3339_ms(order.time_ms),
            "order_side": if order.new.is_buy { "BUY" } else { "SELL" },
            "order_type": if order.new.order_type == crate::sim::exchange::SimOrderType::Market { "Market" } else { "Limit" },
            "cancel_reason": "",
            "reject_reason": "",
            "product_type": "SPOT",
        })
    }
}

/// `value / qty` as decimal text, truncated at `scale` digits (`"0"` for no quantity).
fn average(value: Decimal, qty: Decimal, scale: u32) -> String {
    let (Some(p_scale), Some(p_qty)) = (10i128.checked_pow(scale + qty.scale()), 10i128.checked_pow(value.scale()))
    else {
        return "0".into();
    };
    let num = value.mantissa().checked_mul(p_scale);
    let den = qty.mantissa().checked_mul(p_qty);
    match (num, den) {
        (Some(n), Some(d)) if d > 0 => Decimal::new(n / d, scale).normalized().to_string(),
        _ => "0".into(),
    }
}
