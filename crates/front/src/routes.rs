//! The two routes: `POST /api/orders` and `DELETE /api/orders/{order_id}`, with the Python
//! service's contract (`wintermute.service.rest.orders`): the same request model, the same
//! `Order` answer, the same statuses and `{code, message}` errors.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use wintermute_engine::venue_entry::{Canceling, PlaceRequest, Placed};
use wintermute_engine::venue_orders::{Answer, AnswerWaiter, Order, OrderTableError, OrderType, Tif, BUY, SELL};

use crate::shared::Shared;

/// An answer: status, JSON body, and whether it is a 401 (which names the auth scheme).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) unauthorized: bool,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

pub(crate) fn error(status: u16, code: &str, message: &str) -> Reply {
    let body = serde_json::to_vec(&ErrorBody { code, message, reason: None }).expect("an error serializes");
    Reply { status, body: body.into(), unauthorized: status == 401 }
}

fn venue_error(shared: &Shared, code: &str, message: &str, reason: Option<&str>) -> Reply {
    let status = shared.statuses.get(code).copied().unwrap_or(400);
    let body = serde_json::to_vec(&ErrorBody { code, message, reason }).expect("an error serializes");
    Reply { status, body: body.into(), unauthorized: false }
}

fn table_error(shared: &Shared, e: &OrderTableError) -> Reply {
    venue_error(shared, e.code, &e.message, None)
}

/// `NewOrder` of `wintermute.service.rest.models`: strict types, no other fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    symbol: String,
    side: SideText,
    #[serde(rename = "type", default = "limit")]
    order_type: OrderType,
    qty: String,
    #[serde(default)]
    price: Option<String>,
    #[serde(default = "gtc")]
    tif: Tif,
    #[serde(default)]
    client_order_id: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum SideText {
    Buy,
    Sell,
}

fn limit() -> OrderType {
    OrderType::Limit
}

fn gtc() -> Tif {
    Tif::Gtc
}

/// `DecimalText`: 1 to 20 digits, optionally `.` and 1 to 20 digits.
fn decimal_text(text: &str) -> bool {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    digits(int, 20) && frac.is_none_or(|f| digits(f, 20))
}

/// `ClientOrderId`: 1 to 36 of letters, digits and `._:/-`.
fn client_id_text(text: &str) -> bool {
    (1..=36).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
}

impl NewOrder {
    /// What the model checks beyond the types: the text patterns and lengths.
    fn check(&self) -> Result<(), String> {
        if self.symbol.is_empty() || self.symbol.chars().count() > 32 {
            return Err("symbol: String should have 1 to 32 characters".into());
        }
        if !decimal_text(&self.qty) {
            return Err("qty: String should match pattern '^[0-9]{1,20}(\\.[0-9]{1,20})?$'".into());
        }
        if self.price.as_deref().is_some_and(|p| !decimal_text(p)) {
            return Err("price: String should match pattern '^[0-9]{1,20}(\\.[0-9]{1,20})?$'".into());
        }
        if self.client_order_id.as_deref().is_some_and(|c| !client_id_text(c)) {
            return Err("client_order_id: String should match pattern '^[A-Za-z0-9._:/-]{1,36}$'".into());
        }
        Ok(())
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// `Order` of the REST models, in its field order.
#[derive(Serialize)]
struct OrderBody<'a> {
    order_id: u64,
    client_order_id: &'a str,
    account: u32,
    symbol: &'a str,
    side: &'a str,
    #[serde(rename = "type")]
    order_type: &'a str,
    tif: &'a str,
    price: Option<String>,
    qty: String,
    filled_qty: String,
    cum_quote: String,
    status: &'a str,
    reject_reason: Option<&'a str>,
    created_ns: u64,
    updated_ns: u64,
    queue_ahead: Option<String>,
}

fn order_reply(shared: &Shared, status: u16, o: &Order) -> Reply {
    let inst = &shared.entry.instruments()[o.instrument as usize];
    let queue_ahead = if o.status.is_open() { shared.entry.queue_ahead(o.instrument, o.order_id) } else { None };
    let body = OrderBody {
        order_id: o.order_id,
        client_order_id: &o.client_order_id,
        account: o.account,
        symbol: &inst.symbol,
        side: if o.side == BUY { "buy" } else { "sell" },
        order_type: o.order_type.name(),
        tif: o.tif.name(),
        price: o.price.map(|p| inst.price_text(p)),
        qty: inst.qty_text(o.qty),
        filled_qty: inst.qty_text(o.filled),
        cum_quote: inst.quote_text(o.cum_quote),
        status: o.status.name(),
        reject_reason: o.reject_reason.as_deref(),
        created_ns: o.created_ns,
        updated_ns: if o.updated_ns == 0 { o.created_ns } else { o.updated_ns },
        queue_ahead: queue_ahead.map(|lots| inst.qty_text(lots)),
    };
    let body = serde_json::to_vec(&body).expect("an order serializes");
    Reply { status, body: body.into(), unauthorized: false }
}

fn waiter() -> (AnswerWaiter, oneshot::Receiver<Answer>) {
    let (tx, rx) = oneshot::channel();
    (AnswerWaiter::new(move |a| drop(tx.send(a))), rx)
}

async fn answer(shared: &Shared, rx: oneshot::Receiver<Answer>) -> Result<Answer, Reply> {
    match tokio::time::timeout(shared.ack_timeout, rx).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(_)) => Err(venue_error(shared, "UNAVAILABLE", "the engine stopped", None)),
        Err(_) => Err(venue_error(shared, "UNAVAILABLE", "the engine did not answer in time", None)),
    }
}

fn failed(shared: &Shared, a: &Answer) -> Option<Reply> {
    match a {
        Answer::Failed { error, .. } => Some(venue_error(shared, error.code, &error.message, error.reason.as_deref())),
        _ => None,
    }
}

/// `POST /api/orders` for `account` (its key's) with the request's JSON `body`.
pub(crate) async fn place(shared: &Shared, account: u32, body: &serde_json::Value) -> Reply {
    let read = serde_path_to_error::deserialize::<_, NewOrder>(body).map_err(|e| match e.path().to_string() {
        p if p == "." => e.inner().to_string(),
        p => format!("{p}: {}", e.inner()),
    });
    let order = match read.and_then(|o| o.check().map(|()| o)) {
        Ok(o) => o,
        Err(why) => return error(400, "INVALID_REQUEST", &why),
    };
    let req = PlaceRequest {
        symbol: &order.symbol,
        side: match order.side {
            SideText::Buy => BUY,
            SideText::Sell => SELL,
        },
        order_type: order.order_type,
        qty: &order.qty,
        price: order.price.as_deref(),
        tif: order.tif,
        client_order_id: order.client_order_id.as_deref(),
    };
    let deadline = Instant::now() + shared.ack_timeout;
    loop {
        let (w, rx) = waiter();
        match shared.entry.place(account, &req, now_ns(), w) {
            Err(e) => return table_error(shared, &e),
            Ok(Placed::Repeat(o)) => return order_reply(shared, 201, &o),
            Ok(Placed::InFlight) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(1)).await,
            Ok(Placed::InFlight) => {
                return venue_error(shared, "UNAVAILABLE", "the engine did not answer in time", None);
            }
            Ok(Placed::Sent) => {
                return match answer(shared, rx).await {
                    Ok(Answer::Order(o)) => order_reply(shared, 201, &o),
                    Ok(a) => failed(shared, &a).unwrap_or_else(|| error(500, "INTERNAL", "internal error")),
                    Err(r) => r,
                };
            }
        }
    }
}

/// `DELETE /api/orders/{order_id}` with the path's id text.
pub(crate) async fn cancel(shared: &Shared, account: u32, id_text: &str) -> Reply {
    let digits = id_text.strip_prefix('-').unwrap_or(id_text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            400,
            "INVALID_REQUEST",
            "order_id: Input should be a valid integer, unable to parse string as an integer",
        );
    }
    let order_id = match id_text.parse::<i64>() {
        Ok(id) if id >= 1 => id as u64,
        _ => {
            let shown = if id_text.starts_with('-') {
                format!("-{}", digits.trim_start_matches('0'))
            } else {
                digits.trim_start_matches('0').to_owned()
            };
            let shown = if shown.is_empty() || shown == "-" { "0".to_owned() } else { shown };
            return venue_error(shared, "UNKNOWN_ORDER", &format!("no order {shown}"), None);
        }
    };
    let (w, rx) = waiter();
    match shared.entry.cancel(account, order_id, w) {
        Err(e) => table_error(shared, &e),
        Ok(Canceling::Done(o)) => order_reply(shared, 200, &o),
        Ok(Canceling::Sent) => match answer(shared, rx).await {
            Ok(Answer::Order(o)) => order_reply(shared, 200, &o),
            Ok(a @ Answer::Failed { .. }) => {
                let unknown = matches!(&a, Answer::Failed { error, .. } if error.code == "UNKNOWN_ORDER");
                match shared.entry.ended_order(account, order_id).filter(|_| unknown) {
                    Some(o) => order_reply(shared, 200, &o),
                    None => failed(shared, &a).expect("a failure"),
                }
            }
            Ok(Answer::Canceled(_)) => error(500, "INTERNAL", "internal error"),
            Err(r) => r,
        },
    }
}
