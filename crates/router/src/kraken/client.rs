//! A Kraken spot REST order client: place, amend, cancel, cancel all, reconcile.
//!
//! ```text
//! let mut client = KrakenRestClient::new(addr, "api-key", signer, pairs, Tier::STARTER);
//! let reports = client.place(&order).await?;        // New (+ status and Trades), or Rejected
//! client.cancel("XBTUSD", "my-order-1").await?;    // Canceled, or CancelRejected
//! client.reconcile_all().await?;                    // after a disconnect
//! client.kill_switch().await?;                      // CancelAll, then reconcile
//! ```
//!
//! Every report is applied to the client's [`OrderTable`] before it is returned, so the table
//! is the merged truth: a fill fetched after a place and again by reconciliation counts once
//! (fills are keyed by Kraken's `trade_id`).
//!
//! **Signing.** Private calls are `POST /0/private/<Method>` with a form body that starts with
//! `nonce` (microseconds since the epoch, strictly increasing per client), `API-Key` and
//! `API-Sign` ([`KrakenSigner`]). Prices and volumes are written exactly from ticks and lots at
//! the pair's decimals.
//!
//! **Counters.** The client keeps Kraken's two counters ([`super::rate`]) for its key and
//! refuses locally, with [`KrakenClientError::RateLimited`] (`local: true`), a call that would
//! pass one: the API call counter (+1, +2 for `TradesHistory`) and the trading counter per pair
//! (+1 an order, a cancel by the order's age). A venue's `EAPI:Rate limit exceeded` or
//! `EOrder:Rate limit exceeded` fills the local counter and comes back the same way
//! (`local: false`).
//!
//! **Fills.** Kraken's `AddOrder` answers with the order's txid only. An order that can trade
//! on arrival (market, IOC, a limit that may cross) is then queried (`QueryOrders`) and, if it
//! executed, the account's trades since the last one seen are fetched (`TradesHistory`); if
//! the counter refuses those calls, reconciliation brings the fills later.
//!
//! **Unknown outcomes and reconciliation.** If the connection drops before the answer,
//! `place` returns [`KrakenClientError::Transport`] and the order stays pending-new.
//! [`KrakenRestClient::reconcile_all`] settles every order: the trades since the last one
//! reconciled (all pages of `TradesHistory` from that txid; a trade of an order whose txid the
//! client does not know yet is attributed by querying that order's `cl_ord_id`), the open
//! orders, then each live order the venue no longer lists (`QueryOrders` by txid, or
//! `ClosedOrders` by `cl_ord_id` for one whose txid never arrived; not found anywhere means it
//! never reached the book: rejected).

use std::collections::HashMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use wintermute_core::decimal::Decimal;

use super::ids::{legal_cl_ord_id, NonceSource};
use super::rate::{amend_cost, api_cost, cancel_cost, Counter, Tier};
use super::reports::{order_report, parse_envelope, AddOrderResult, AmendResult, CountResult, KrakenOrder, KrakenPair};
use crate::http::HttpConnection;
use crate::order::{local_ms, local_ns, NewOrder, OrderType, ReconcileSummary, ReportParseError, TimeInForce};
use crate::order_state::{ExecutionReport, OrderState, OrderStateError, OrderTable, ReportKind, Side, Venue};
use crate::signing::KrakenSigner;

/// Why a request did not produce reports.
#[derive(Debug, thiserror::Error)]
pub enum KrakenClientError {
    /// The connection failed or dropped before an answer: the outcome is unknown.
    #[error("transport error: endpoint={endpoint} error={error}")]
    Transport {
        /// `"AddOrder"`.
        endpoint: &'static str,
        /// What failed.
        error: String,
    },
    /// Refused for a counter, locally or by the venue; retry after this long.
    #[error("rate limited: endpoint={endpoint} retry_after_ms={retry_after_ms} local={local}")]
    RateLimited {
        /// Which endpoint.
        endpoint: &'static str,
        /// How long until the counter has room (an estimate when the venue refused).
        retry_after_ms: u64,
        /// Whether the client refused before sending.
        local: bool,
    },
    /// The venue refused a request that is not an order (its error strings, verbatim).
    #[error("venue error: endpoint={endpoint} errors={errors:?}")]
    Venue {
        /// Which endpoint.
        endpoint: &'static str,
        /// Kraken's error strings.
        errors: Vec<String>,
    },
    /// An answer that could not be read.
    #[error("bad answer: endpoint={endpoint} error={error}")]
    Parse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What was wrong.
        error: ReportParseError,
    },
    /// A pair the client has no instrument for.
    #[error("unknown pair: pair={0}")]
    UnknownPair(String),
    /// An order Kraken spot cannot take as asked (nothing was sent).
    #[error("unsupported order: {0}")]
    Unsupported(String),
    /// A report the order table refused.
    #[error(transparent)]
    State(#[from] OrderStateError),
}

/// The client (one connection, re-opened after a failure).
pub struct KrakenRestClient {
    connection: HttpConnection,
    api_key: String,
    signer: KrakenSigner,
    pairs: HashMap<String, KrakenPair>,
    nonces: NonceSource,
    tier: Tier,
    api_counter: Counter,
    trading: HashMap<String, Counter>,
    orders: OrderTable,
    order_pairs: HashMap<String, String>,
    placed_ms: HashMap<String, i64>,
    trade_watermark: Option<String>,
}

impl std::fmt::Debug for KrakenRestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KrakenRestClient")
            .field("addr", &self.connection.addr())
            .field("signer", &self.signer)
            .field("tier", &self.tier)
            .finish_non_exhaustive()
    }
}

fn is_rate_limit(errors: &[String]) -> bool {
    errors.iter().any(|e| e.ends_with(":Rate limit exceeded"))
}

/// The form body `nonce=<nonce>&<name>=<value>` (a call naming one order, or a list of txids).
fn nonce_and(nonce: u64, name: &str, value: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("nonce", &nonce.to_string())
        .append_pair(name, value)
        .finish()
}

/// The form body of `AddOrder` for `order` after `nonce=<nonce>` (prices and volumes written
/// exactly at the pair's decimals).
pub fn add_order_body(order: &NewOrder, pair: &KrakenPair, nonce: u64) -> String {
    let inst = &pair.instrument;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("nonce", &nonce.to_string());
    let (ordertype, price) = match order.order_type {
        OrderType::Market => ("market", None),
        OrderType::Limit { price, .. } | OrderType::PostOnly { price } => ("limit", Some(price)),
    };
    q.append_pair("ordertype", ordertype);
    q.append_pair("pair", &inst.symbol);
    if let Some(price) = price {
        q.append_pair("price", &inst.tick_size.format(price));
    }
    q.append_pair("type", if order.side == Side::Buy { "buy" } else { "sell" });
    q.append_pair("volume", &inst.step_size.format(order.qty));
    match order.order_type {
        OrderType::Limit { tif: TimeInForce::Ioc, .. } => {
            q.append_pair("timeinforce", "IOC");
        }
        OrderType::PostOnly { .. } => {
            q.append_pair("oflags", "post");
        }
        _ => {}
    }
    q.append_pair("cl_ord_id", &order.client_order_id);
    q.finish()
}

impl KrakenRestClient {
    /// A client for the venue at `addr` (a simulator's `SocketAddr`, plain HTTP, or an
    /// [`HttpConnection::open`] to any URL, `https://` for Kraken itself) with this key, these
    /// pairs, and the counters of this tier.
    pub fn new(
        addr: impl Into<HttpConnection>,
        api_key: &str,
        signer: KrakenSigner,
        pairs: Vec<KrakenPair>,
        tier: Tier,
    ) -> Self {
        Self {
            connection: addr.into(),
            api_key: api_key.to_owned(),
            signer,
            pairs: pairs.into_iter().map(|p| (p.instrument.symbol.clone(), p)).collect(),
            nonces: NonceSource::default(),
            tier,
            api_counter: Counter::new(tier.api_max, tier.api_decay_milli_per_s),
            trading: HashMap::new(),
            orders: OrderTable::new(),
            order_pairs: HashMap::new(),
            placed_ms: HashMap::new(),
            trade_watermark: None,
        }
    }

    /// Starts nonces above `last` (one this key already used elsewhere).
    pub fn set_nonce_floor(&mut self, last: u64) {
        self.nonces = NonceSource::after(last);
    }

    /// The orders and what is known of them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Adds (or replaces) a pair the client trades.
    pub fn add_pair(&mut self, pair: KrakenPair) {
        self.pairs.insert(pair.instrument.symbol.clone(), pair);
    }

    /// Reconciliation's trade queries start after `start` (a trade txid, or a unix time in
    /// seconds) until they have read further: trades before it are never fetched.
    pub fn start_trades_after(&mut self, start: &str) {
        if self.trade_watermark.is_none() {
            self.trade_watermark = Some(start.to_owned());
        }
    }

    /// Tracks `order` on `pair` (replacing the table's order of that client id), as another
    /// client of the same key knows it: the WebSocket client lends its orders for the REST
    /// reconciliation steps.
    pub(crate) fn track(&mut self, order: OrderState, pair: &str) {
        self.order_pairs.insert(order.client_order_id.clone(), pair.to_owned());
        self.orders.insert(order);
    }

    /// The local API call counter's level, thousandths.
    pub fn api_counter_milli(&mut self) -> i64 {
        self.api_counter.level_milli(local_ms())
    }

    fn pair(&self, name: &str) -> Result<&KrakenPair, KrakenClientError> {
        self.pairs.get(name).ok_or_else(|| KrakenClientError::UnknownPair(name.to_owned()))
    }

    fn trading(&mut self, pair: &str) -> &mut Counter {
        let tier = self.tier;
        self.trading
            .entry(pair.to_owned())
            .or_insert_with(|| Counter::new(tier.trading_max, tier.trading_decay_milli_per_s))
    }

    /// `GET /0/public/Time`: the server's unix time, seconds.
    pub async fn server_time(&mut self) -> Result<i64, KrakenClientError> {
        #[derive(serde::Deserialize)]
        struct Time {
            unixtime: i64,
        }
        let body = self.public("Time", "").await?;
        let time: Time = self.result("Time", &body)?;
        Ok(time.unixtime)
    }

    /// `GET /0/public/AssetPairs?pair=..`: the pairs' grids as Kraken publishes them
    /// (`tick_size`, `lot_decimals`, `quote`); they replace the client's own.
    pub async fn load_pairs(&mut self, altnames: &[&str]) -> Result<Vec<KrakenPair>, KrakenClientError> {
        const EP: &str = "AssetPairs";
        #[derive(serde::Deserialize)]
        struct Info {
            altname: String,
            quote: String,
            tick_size: String,
            lot_decimals: u32,
        }
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("pair", &altnames.join(",")).finish();
        let body = self.public(EP, &query).await?;
        let infos: HashMap<String, Info> = self.result(EP, &body)?;
        let mut loaded = Vec::new();
        for info in infos.into_values() {
            let lot = if info.lot_decimals == 0 {
                "1".to_owned()
            } else {
                format!("0.{:0>1$}", "1", info.lot_decimals as usize)
            };
            let pair = KrakenPair::new(&info.altname, &info.tick_size, &lot, &info.quote).map_err(|e| {
                KrakenClientError::Parse { endpoint: EP, error: ReportParseError::bad_decimal("tick_size", &e) }
            })?;
            self.pairs.insert(pair.instrument.symbol.clone(), pair.clone());
            loaded.push(pair);
        }
        Ok(loaded)
    }

    /// `GET /0/public/AssetPairs?pair=`: one pair's grid as Kraken publishes it, `tick_size`
    /// and the lot `lot_decimals` stands for (`3`: 0.001), exact. The client's own pairs are
    /// left as they are.
    pub async fn pair_grid(&mut self, altname: &str) -> Result<(Decimal, Decimal), KrakenClientError> {
        const EP: &str = "AssetPairs";
        #[derive(serde::Deserialize)]
        struct Info {
            altname: String,
            tick_size: String,
            lot_decimals: u32,
        }
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("pair", altname).finish();
        let body = self.public(EP, &query).await?;
        let infos: HashMap<String, Info> = self.result(EP, &body)?;
        let info = infos.into_values().find(|i| i.altname == altname).ok_or_else(|| KrakenClientError::Parse {
            endpoint: EP,
            error: ReportParseError::Malformed { what: "AssetPairs", error: format!("no pair {altname}") },
        })?;
        let tick = Decimal::parse(&info.tick_size).map_err(|_| KrakenClientError::Parse {
            endpoint: EP,
            error: ReportParseError::bad_decimal("tick_size", &info.tick_size),
        })?;
        let lot = Decimal::try_new(1, info.lot_decimals).ok_or_else(|| KrakenClientError::Parse {
            endpoint: EP,
            error: ReportParseError::bad_decimal("lot_decimals", &info.lot_decimals.to_string()),
        })?;
        Ok((tick, lot))
    }

    /// `Balance`: every asset's balance, exact.
    pub async fn balance(&mut self) -> Result<std::collections::BTreeMap<String, Decimal>, KrakenClientError> {
        const EP: &str = "Balance";
        let body = self.private(EP, |nonce| format!("nonce={nonce}")).await?;
        let balances: std::collections::BTreeMap<String, String> = self.result(EP, &body)?;
        balances
            .into_iter()
            .map(|(asset, amount)| match Decimal::parse(&amount) {
                Ok(d) => Ok((asset, d)),
                Err(_) => Err(KrakenClientError::Parse {
                    endpoint: EP,
                    error: ReportParseError::bad_decimal("balance", &amount),
                }),
            })
            .collect()
    }

    /// `BalanceEx`: every asset's balance and what open orders hold of it
    /// (`(balance, hold_trade)`), exact.
    pub async fn balance_ex(
        &mut self,
    ) -> Result<std::collections::BTreeMap<String, (Decimal, Decimal)>, KrakenClientError> {
        const EP: &str = "BalanceEx";
        #[derive(serde::Deserialize)]
        struct Entry {
            balance: String,
            #[serde(default)]
            hold_trade: Option<String>,
        }
        let body = self.private(EP, |nonce| format!("nonce={nonce}")).await?;
        let entries: std::collections::BTreeMap<String, Entry> = self.result(EP, &body)?;
        let exact = |field: &'static str, text: &str| {
            Decimal::parse(text).map_err(|_| KrakenClientError::Parse {
                endpoint: EP,
                error: ReportParseError::bad_decimal(field, text),
            })
        };
        entries
            .into_iter()
            .map(|(asset, e)| {
                let hold = exact("hold_trade", e.hold_trade.as_deref().unwrap_or("0"))?;
                Ok((asset, (exact("balance", &e.balance)?, hold)))
            })
            .collect()
    }

    /// `GetWebSocketsToken`: a token for Kraken's authenticated WebSocket (to be used within 15
    /// minutes; it then lasts as long as the connection). Never logged: callers keep it secret
    /// like the key.
    pub async fn websockets_token(&mut self) -> Result<String, KrakenClientError> {
        const EP: &str = "GetWebSocketsToken";
        #[derive(serde::Deserialize)]
        struct Token {
            token: String,
        }
        let body = self.private(EP, |nonce| format!("nonce={nonce}")).await?;
        let token: Token = self.result(EP, &body)?;
        Ok(token.token)
    }

    /// `CancelAllOrdersAfter`: the dead man's switch, armed (or pushed back) to cancel every
    /// order of the account `timeout_s` seconds from now (under 86400); 0 disarms it. Returns
    /// Kraken's `triggerTime` (RFC 3339).
    pub async fn cancel_all_orders_after(&mut self, timeout_s: u32) -> Result<String, KrakenClientError> {
        const EP: &str = "CancelAllOrdersAfter";
        #[derive(serde::Deserialize)]
        struct Switch {
            #[serde(rename = "triggerTime")]
            trigger_time: String,
        }
        let body = self.private(EP, |nonce| nonce_and(nonce, "timeout", &timeout_s.to_string())).await?;
        let switch: Switch = self.result(EP, &body)?;
        Ok(switch.trigger_time)
    }

    /// Places an order; returns the reports it produced (applied to the table). A venue
    /// refusal is a `Rejected` report with Kraken's error strings, not an error.
    pub async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        const EP: &str = "AddOrder";
        let pair = self.pair(&order.symbol)?.clone();
        if matches!(order.order_type, OrderType::Limit { tif: TimeInForce::Fok, .. }) {
            return Err(KrakenClientError::Unsupported("Kraken spot has no fill-or-kill time in force".into()));
        }
        if !legal_cl_ord_id(&order.client_order_id) {
            return Err(KrakenClientError::Unsupported(format!(
                "cl_ord_id must be a UUID or at most 18 printable characters: {:?}",
                order.client_order_id.chars().take(40).collect::<String>()
            )));
        }
        if self.orders.get(&order.client_order_id).is_some() {
            return Err(KrakenClientError::Unsupported(format!(
                "cl_ord_id already used by this client: {}",
                order.client_order_id
            )));
        }
        let now = local_ms();
        if let Err(wait) = self.trading(&order.symbol).try_add(1, now) {
            return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: wait, local: true });
        }
        self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
        self.order_pairs.insert(order.client_order_id.clone(), order.symbol.clone());
        self.placed_ms.insert(order.client_order_id.clone(), now);
        let body = self.private(EP, |nonce| add_order_body(order, &pair, nonce)).await?;
        let receive = local_ns();
        let answer = parse_envelope::<AddOrderResult>(EP, &body)
            .map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
        let report = |venue_order_id: Option<String>, kind| {
            ExecutionReport::answered(
                Venue::Kraken,
                &order.symbol,
                &order.client_order_id,
                venue_order_id,
                kind,
                receive,
            )
        };
        let mut reports = match answer {
            Ok(result) => {
                let txid = result.txid.into_iter().next().ok_or(KrakenClientError::Parse {
                    endpoint: EP,
                    error: ReportParseError::Malformed { what: "kraken AddOrder", error: "no txid".into() },
                })?;
                vec![report(Some(txid), ReportKind::New)]
            }
            Err(errors) if is_rate_limit(&errors) => {
                // Refused before it reached the book: the order never existed.
                self.forget(&order.client_order_id);
                self.trading(&order.symbol).fill(local_ms());
                return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: 1000, local: false });
            }
            Err(errors) => vec![report(None, ReportKind::Rejected { code: None, reason: errors.join(", ") })],
        };
        for r in &reports {
            self.orders.apply(r)?;
        }
        let may_have_traded = !matches!(order.order_type, OrderType::PostOnly { .. });
        if may_have_traded && reports[0].kind == ReportKind::New {
            // Counter refusals and lost answers here leave the fills to reconciliation; an
            // unreadable answer is an error (the table already holds the acknowledgment).
            let mut summary = ReconcileSummary::default();
            match self.refresh(std::slice::from_ref(&order.client_order_id), &mut summary).await {
                Ok(more) => reports.extend(more),
                Err(KrakenClientError::RateLimited { .. } | KrakenClientError::Transport { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(reports)
    }

    fn forget(&mut self, client_order_id: &str) {
        self.order_pairs.remove(client_order_id);
        self.placed_ms.remove(client_order_id);
        self.orders.remove(client_order_id);
    }

    /// Queries orders the table knows the txid of, merges their status, and fetches the trades
    /// if the venue says more executed than the fills seen. Returns the reports merged.
    async fn refresh(
        &mut self,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        let txids: HashMap<String, String> = client_order_ids
            .iter()
            .filter_map(|c| self.orders.get(c).and_then(|o| o.venue_order_id.clone()).map(|t| (t, c.clone())))
            .collect();
        let mut reports = self.query_orders(&txids, summary).await?;
        if client_order_ids.iter().any(|c| self.orders.get(c).is_some_and(|o| o.missing_qty() > 0)) {
            reports.extend(self.fetch_trades(summary).await?);
        }
        Ok(reports)
    }

    fn order_report(
        &self,
        endpoint: &'static str,
        txid: &str,
        order: &KrakenOrder,
        client: &str,
        receive: i64,
    ) -> Result<ExecutionReport, KrakenClientError> {
        let pair_name = self.order_pairs.get(client).map_or(order.descr.pair.as_str(), String::as_str);
        let pair = self.pair(pair_name)?;
        order_report(txid, order, client, pair, receive).map_err(|error| KrakenClientError::Parse { endpoint, error })
    }

    /// Amends an open limit order's quantity (lots, the new total) and/or price (ticks) in
    /// place (`AmendOrder`). The order's queue priority is the venue's business; its fills
    /// still report under the same client id. Returns Kraken's amend id.
    pub async fn amend(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        new_qty: Option<i64>,
        new_price: Option<i64>,
    ) -> Result<String, KrakenClientError> {
        const EP: &str = "AmendOrder";
        let inst = self.pair(symbol)?.instrument.clone();
        let now = local_ms();
        let age = now - self.placed_ms.get(client_order_id).copied().unwrap_or(now);
        if let Err(wait) = self.trading(symbol).try_add(amend_cost(age), now) {
            return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: wait, local: true });
        }
        let body = self
            .private(EP, |nonce| {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("nonce", &nonce.to_string());
                q.append_pair("cl_ord_id", client_order_id);
                if let Some(qty) = new_qty {
                    q.append_pair("order_qty", &inst.step_size.format(qty));
                }
                if let Some(price) = new_price {
                    q.append_pair("limit_price", &inst.tick_size.format(price));
                }
                q.finish()
            })
            .await?;
        let result: AmendResult = self.result(EP, &body)?;
        if let (Some(qty), Some(order)) = (new_qty, self.orders.get_mut(client_order_id)) {
            order.qty = qty;
        }
        self.placed_ms.insert(client_order_id.to_owned(), now);
        Ok(result.amend_id)
    }

    /// Cancels an order by client id: `Canceled` (then the order is queried for what executed
    /// before), or `CancelRejected` with Kraken's reason (`EOrder:Unknown order`: already gone).
    pub async fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        const EP: &str = "CancelOrder";
        self.pair(symbol)?;
        let now = local_ms();
        let age = now - self.placed_ms.get(client_order_id).copied().unwrap_or(now);
        if let Err(wait) = self.trading(symbol).try_add(cancel_cost(age), now) {
            return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: wait, local: true });
        }
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.request_cancel();
        }
        let body = self.private(EP, |nonce| nonce_and(nonce, "cl_ord_id", client_order_id)).await?;
        let receive = local_ns();
        let answer = parse_envelope::<CountResult>(EP, &body)
            .map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
        let venue_order_id = self.orders.get(client_order_id).and_then(|o| o.venue_order_id.clone());
        let kind = match answer {
            Ok(CountResult { count: 0 }) => ReportKind::CancelRejected { code: None, reason: "count 0".into() },
            Ok(_) => ReportKind::Canceled,
            Err(errors) if is_rate_limit(&errors) => {
                self.trading(symbol).fill(local_ms());
                return Err(KrakenClientError::RateLimited { endpoint: EP, retry_after_ms: 1000, local: false });
            }
            Err(errors) => ReportKind::CancelRejected { code: None, reason: errors.join(", ") },
        };
        let canceled = kind == ReportKind::Canceled;
        let mut reports =
            vec![ExecutionReport::answered(Venue::Kraken, symbol, client_order_id, venue_order_id, kind, receive)];
        self.orders.apply(&reports[0])?;
        if canceled {
            let mut summary = ReconcileSummary::default();
            match self.refresh(&[client_order_id.to_owned()], &mut summary).await {
                Ok(more) => reports.extend(more),
                Err(KrakenClientError::RateLimited { .. } | KrakenClientError::Transport { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(reports)
    }

    /// The kill switch: `CancelAll` (every open order of the key, every pair), then a
    /// reconciliation so the table holds each order's final state. Returns Kraken's count.
    pub async fn kill_switch(&mut self) -> Result<usize, KrakenClientError> {
        crate::venue::kill_switch(self, ACCOUNT_WIDE).await
    }

    /// The result of an answer, or the venue's refusal as an error.
    fn result<T: DeserializeOwned>(&mut self, endpoint: &'static str, body: &[u8]) -> Result<T, KrakenClientError> {
        match parse_envelope::<T>(endpoint, body).map_err(|error| KrakenClientError::Parse { endpoint, error })? {
            Ok(result) => Ok(result),
            Err(errors) if is_rate_limit(&errors) => {
                self.api_counter.fill(local_ms());
                let mut probe = self.api_counter;
                let wait = probe.try_add(1, local_ms()).err().unwrap_or(0);
                Err(KrakenClientError::RateLimited { endpoint, retry_after_ms: wait, local: false })
            }
            Err(errors) => Err(KrakenClientError::Venue { endpoint, errors }),
        }
    }

    async fn public(&mut self, method: &'static str, query: &str) -> Result<Bytes, KrakenClientError> {
        let uri = if query.is_empty() { format!("/0/public/{method}") } else { format!("/0/public/{method}?{query}") };
        let answer = self
            .connection
            .request("GET", &uri, &[], Bytes::new())
            .await
            .map_err(|error| KrakenClientError::Transport { endpoint: method, error })?;
        Ok(answer.body)
    }

    /// Sends one private call with a form body: the API counter checked and charged, a fresh
    /// nonce, the body built by `body(nonce)`, `API-Key` and `API-Sign`.
    async fn private(
        &mut self,
        method: &'static str,
        body: impl FnOnce(u64) -> String,
    ) -> Result<Bytes, KrakenClientError> {
        self.private_as(method, "application/x-www-form-urlencoded; charset=utf-8", body).await
    }

    /// [`Self::private`] with a body of this content type (the batches' JSON); `API-Sign`
    /// covers the body exactly as sent, whatever its type.
    async fn private_as(
        &mut self,
        method: &'static str,
        content_type: &'static str,
        body: impl FnOnce(u64) -> String,
    ) -> Result<Bytes, KrakenClientError> {
        let now = local_ms();
        if let Some(cost) = api_cost(method) {
            if let Err(wait) = self.api_counter.try_add(cost, now) {
                return Err(KrakenClientError::RateLimited { endpoint: method, retry_after_ms: wait, local: true });
            }
        }
        let now_us = u64::try_from(local_ns() / 1000).unwrap_or(0);
        let nonce = self.nonces.next(now_us);
        let body = body(nonce);
        let path = format!("/0/private/{method}");
        let sign = self.signer.api_sign(&path, &nonce.to_string(), &body);
        let headers = [("api-key", self.api_key.as_str()), ("api-sign", sign.as_str()), ("content-type", content_type)];
        let answer = self
            .connection
            .request("POST", &path, &headers, Bytes::from(body))
            .await
            .map_err(|error| KrakenClientError::Transport { endpoint: method, error })?;
        Ok(answer.body)
    }
}

#[path = "client_reconcile.rs"]
mod reconcile;

#[path = "client_batch.rs"]
mod batch;
pub use batch::{add_order_batch_body, BatchCancel};

/// The symbol Kraken's reconciliation and kill switch are called with: its queries and
/// `CancelAll` are account-wide, so every pair's orders are covered.
const ACCOUNT_WIDE: &str = "";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_add_order_body_writes_krakens_documented_order_exactly_then_our_id() {
        let pair = KrakenPair::new("XBTUSD", "1", "0.01", "ZUSD").unwrap();
        let order = NewOrder {
            symbol: "XBTUSD".into(),
            client_order_id: "q-1".into(),
            side: Side::Buy,
            qty: 125,
            order_type: OrderType::Limit { price: 37_500, tif: TimeInForce::Gtc },
        };
        let body = add_order_body(&order, &pair, 1_616_492_376_594);
        let documented = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
        assert_eq!(body, format!("{documented}&cl_ord_id=q-1"));
        let signer = KrakenSigner::new(
            "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
        )
        .unwrap();
        assert_eq!(
            signer.api_sign("/0/private/AddOrder", "1616492376594", documented),
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
        assert!(signer.verify(
            "/0/private/AddOrder",
            "1616492376594",
            documented,
            &signer.api_sign("/0/private/AddOrder", "1616492376594", documented)
        ));
    }

    #[test]
    fn post_only_and_ioc_orders_carry_their_flags_and_exact_decimals() {
        let pair = KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").unwrap();
        let mut order = NewOrder {
            symbol: "XBTUSD".into(),
            client_order_id: "p".into(),
            side: Side::Sell,
            qty: 1,
            order_type: OrderType::PostOnly { price: 587_295 },
        };
        assert_eq!(
            add_order_body(&order, &pair, 5),
            "nonce=5&ordertype=limit&pair=XBTUSD&price=58729.5&type=sell&volume=0.00000001&oflags=post&cl_ord_id=p"
        );
        order.order_type = OrderType::Limit { price: 10, tif: TimeInForce::Ioc };
        assert!(add_order_body(&order, &pair, 6).contains("&price=1.0&type=sell&volume=0.00000001&timeinforce=IOC&"));
        order.order_type = OrderType::Market;
        assert_eq!(
            add_order_body(&order, &pair, 7),
            "nonce=7&ordertype=market&pair=XBTUSD&type=sell&volume=0.00000001&cl_ord_id=p"
        );
    }
}
