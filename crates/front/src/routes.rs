//! The two routes: `POST /api/orders` and `DELETE /api/orders/{order_id}`, with the Python
//! service's contract (`wintermute.service.rest.orders`): the same request model, the same
//! `Order` answer, the same statuses and `{code, message}` errors.

use std::borrow::Cow;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use wintermute_engine::venue_entry::{Canceling, PlaceRequest, Placed};
use wintermute_engine::venue_input::EntryInstrument;
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

/// `NewOrder` of `wintermute.service.rest.models`: strict types, no other fields (texts
/// borrowed from the body unless they hold escapes).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOrder<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    side: SideText,
    #[serde(rename = "type", default = "limit")]
    order_type: OrderType,
    #[serde(borrow)]
    qty: Cow<'a, str>,
    #[serde(default, borrow)]
    price: Option<Cow<'a, str>>,
    #[serde(default = "gtc")]
    tif: Tif,
    #[serde(default, borrow)]
    client_order_id: Option<Cow<'a, str>>,
}

/// A place's body: read as a new order straight away, or a JSON document that did not (read
/// again here, for its error's path).
pub(crate) enum Body<'a> {
    Order(NewOrder<'a>),
    Document(serde_json::Value),
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

impl NewOrder<'_> {
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

/// A JSON text being written (the `Order` answer, written by hand: the listener's largest
/// cost per request when serde wrote it through its generic writer).
struct Json(Vec<u8>);

impl std::fmt::Write for Json {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Json {
    fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// A JSON string, escaped as `serde_json` escapes it (a text without quotes, backslashes
    /// and control characters is copied as it is).
    fn str(&mut self, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.0.push(b'"');
            self.0.extend_from_slice(s.as_bytes());
            self.0.push(b'"');
        } else {
            serde_json::to_writer(&mut self.0, s).expect("a string serializes");
        }
    }

    fn int(&mut self, n: impl itoa::Integer) {
        self.0.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// A decimal text (digits, a sign and a point: nothing to escape).
    fn decimal(&mut self, write: impl FnOnce(&mut Self) -> std::fmt::Result) {
        self.0.push(b'"');
        let _ = write(self);
        self.0.push(b'"');
    }
}

/// `Order` of the REST models, in its field order (as `serde_json` writes the `OrderBody` of
/// the tests), of an order of `inst` with `queue_ahead` lots ahead of it.
fn order_json(inst: &EntryInstrument, queue_ahead: Option<i64>, o: &Order) -> Vec<u8> {
    let mut j = Json(Vec::with_capacity(400));
    j.raw("{\"order_id\":");
    j.int(o.order_id);
    j.raw(",\"client_order_id\":");
    j.str(&o.client_order_id);
    j.raw(",\"account\":");
    j.int(o.account);
    j.raw(",\"symbol\":");
    j.str(&inst.symbol);
    j.raw(if o.side == BUY { ",\"side\":\"buy\",\"type\":" } else { ",\"side\":\"sell\",\"type\":" });
    j.str(o.order_type.name());
    j.raw(",\"tif\":");
    j.str(o.tif.name());
    j.raw(",\"price\":");
    match o.price {
        Some(p) => j.decimal(|f| inst.write_price(f, p)),
        None => j.raw("null"),
    }
    j.raw(",\"qty\":");
    j.decimal(|f| inst.write_qty(f, o.qty));
    j.raw(",\"filled_qty\":");
    j.decimal(|f| inst.write_qty(f, o.filled));
    j.raw(",\"cum_quote\":");
    j.decimal(|f| inst.write_quote(f, o.cum_quote));
    j.raw(",\"status\":");
    j.str(o.status.name());
    j.raw(",\"reject_reason\":");
    match &o.reject_reason {
        Some(r) => j.str(r),
        None => j.raw("null"),
    }
    j.raw(",\"created_ns\":");
    j.int(o.created_ns);
    j.raw(",\"updated_ns\":");
    j.int(if o.updated_ns == 0 { o.created_ns } else { o.updated_ns });
    j.raw(",\"queue_ahead\":");
    match queue_ahead {
        Some(lots) => j.decimal(|f| inst.write_qty(f, lots)),
        None => j.raw("null"),
    }
    j.raw("}");
    j.0
}

fn order_reply(shared: &Shared, status: u16, o: &Order) -> Reply {
    let inst = &shared.entry.instruments()[o.instrument as usize];
    let queue_ahead = if o.status.is_open() { shared.entry.queue_ahead(o.instrument, o.order_id) } else { None };
    Reply { status, body: order_json(inst, queue_ahead, o).into(), unauthorized: false }
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

/// The engine's answer, with a refusal counted as the Python venue counts its own.
async fn counted_answer(shared: &Shared, rx: oneshot::Receiver<Answer>) -> Result<Answer, Reply> {
    let a = answer(shared, rx).await;
    if let Ok(Answer::Failed { error, counted: true, .. }) = &a {
        shared.counters.rejected(error.code);
    }
    a
}

/// `POST /api/orders` for `account` (its key's) with the request's JSON `body`.
pub(crate) async fn place(shared: &Shared, account: u32, body: Body<'_>) -> Reply {
    match body {
        Body::Order(order) => place_order(shared, account, order).await,
        Body::Document(v) => {
            let read = serde_path_to_error::deserialize::<_, NewOrder>(&v).map_err(|e| match e.path().to_string() {
                p if p == "." => e.inner().to_string(),
                p => format!("{p}: {}", e.inner()),
            });
            match read {
                Ok(order) => place_order(shared, account, order).await,
                Err(why) => error(400, "INVALID_REQUEST", &why),
            }
        }
    }
}

async fn place_order(shared: &Shared, account: u32, order: NewOrder<'_>) -> Reply {
    if let Err(why) = order.check() {
        return error(400, "INVALID_REQUEST", &why);
    }
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
                shared.counters.placed();
                return match counted_answer(shared, rx).await {
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
        Err(e) => return table_error(shared, &e),
        Ok(Canceling::Done(o)) => return order_reply(shared, 200, &o),
        Ok(Canceling::Sent) => shared.counters.canceling(),
    }
    match counted_answer(shared, rx).await {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wintermute_engine::venue_orders::{NewOrder as TableOrder, Status, VenueOrders};

    /// The reference: `Order` of the REST models as `serde_json` writes it.
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

    fn reference(inst: &EntryInstrument, queue_ahead: Option<i64>, o: &Order) -> Vec<u8> {
        serde_json::to_vec(&OrderBody {
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
        })
        .unwrap()
    }

    #[test]
    fn the_order_answer_is_written_as_serde_json_writes_the_model() {
        let mut table = VenueOrders::new(2, 0, 10);
        let new = |side, price: Option<i64>, cid| TableOrder {
            account: 7,
            client_order_id: cid,
            instrument: 0,
            side,
            order_type: if price.is_some() { OrderType::Limit } else { OrderType::Market },
            tif: if price.is_some() { Tif::Gtc } else { Tif::Ioc },
            price,
            qty: 1500,
            held: 0,
            now_ns: 1_700_000_000_123_456_789,
        };
        let a = table.place(&new(BUY, Some(10025), Some("a.b_c:d/e-1"))).unwrap();
        let b = table.place(&new(SELL, None, None)).unwrap();
        let c = table.place(&new(SELL, Some(1), Some("x"))).unwrap();
        let mut orders: Vec<Order> = [a, b, c].iter().map(|id| table.order(*id).unwrap().clone()).collect();
        orders[1].status = Status::Expired;
        orders[1].filled = 700;
        orders[1].cum_quote = 700 * 10_001;
        orders[1].updated_ns = 1_700_000_000_999_000_000;
        orders[2].status = Status::Rejected;
        orders[2].reject_reason = Some("RISK \"quoted\" \\ back\u{1}slash, caf\u{e9}".into());
        orders[2].client_order_id = "with \"quotes\"\n".into();
        let btc = EntryInstrument::new("BTC-USD", ["0.01", "0.001", "0.001", "100", "1", "1000000"]).unwrap();
        let odd = EntryInstrument::new("Q\"\\X", ["5", "100", "100", "1000000", "5", "1000000"]).unwrap();
        for inst in [&btc, &odd] {
            for o in &orders {
                for ahead in [None, Some(0), Some(123_456)] {
                    let ours = order_json(inst, ahead, o);
                    assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(reference(inst, ahead, o)).unwrap());
                }
            }
        }
    }
}
