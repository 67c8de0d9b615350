//! A Coinbase Advanced Trade REST order client: place, cancel, reconcile, kill switch.
//!
//! Every request carries a fresh ES256 JWT ([`CoinbaseJwtSigner`]) naming its method, host and
//! path. The client allows itself [`CoinbaseRestClient::set_requests_per_s`] requests a second
//! (Coinbase's published 30 by default) and refuses locally past that; the venue's 429 comes
//! back the same way ([`CoinbaseClientError::RateLimited`]).
//!
//! `POST /orders` answers with the order id only, so an order that can trade on arrival (not
//! post-only) is then read back (`historical/{id}`) and, if it executed more than the fills
//! seen, its fills are fetched (`historical/fills?order_ids=`). A retried order with the same
//! `client_order_id` creates nothing: Coinbase returns the first.
//!
//! [`CoinbaseRestClient::reconcile_all`]: orders whose answer was lost are found by their
//! client id in the order list (`historical/batch`; absent, they never reached the book:
//! rejected), every live order is read back, and the fills of each order the venue says
//! executed more than the fills seen are fetched (all pages), so nothing is lost or doubled.
//! The kill switch lists the open orders and cancels them all (`batch_cancel`), then
//! reconciles.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use serde_json::json;

use super::reports::{
    fill_report, order_report, parse, CoinbaseProduct, CreateOrderResponse, ErrorBody, FillsPage, OrderResponse,
    OrdersPage, TradeIds,
};
use crate::http::{HttpAnswer, HttpConnection};
use crate::order::{local_ms, local_ns, NewOrder, OrderType, ReconcileSummary, ReportParseError, TimeInForce};
use crate::order_state::{
    ExecutionReport, OrderState, OrderStateError, OrderStatus, OrderTable, ReportKind, Side, Venue,
};
use crate::signing::CoinbaseJwtSigner;
use crate::venue::{ErrorKind, VenueClient};

const ORDERS: &str = "/api/v3/brokerage/orders";

/// The symbol Coinbase's reconciliation and kill switch are called with: its order list is
/// account-wide, so every product's orders are covered.
const ACCOUNT_WIDE: &str = "";

/// Why a request did not produce reports.
#[derive(Debug, thiserror::Error)]
pub enum CoinbaseClientError {
    /// The connection failed or dropped before an answer: the outcome is unknown.
    #[error("transport error: endpoint={endpoint} error={error}")]
    Transport {
        /// Which endpoint.
        endpoint: &'static str,
        /// What failed.
        error: String,
    },
    /// Refused for the request rate, locally or by the venue (429).
    #[error("rate limited: endpoint={endpoint} retry_after_ms={retry_after_ms} local={local}")]
    RateLimited {
        /// Which endpoint.
        endpoint: &'static str,
        /// How long to wait.
        retry_after_ms: u64,
        /// Whether the client refused before sending.
        local: bool,
    },
    /// The venue refused a request (its status, error and message).
    #[error("venue error: endpoint={endpoint} status={status} error={error} message={message}")]
    Venue {
        /// Which endpoint.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Coinbase's error.
        error: String,
        /// Its message.
        message: String,
    },
    /// An answer that could not be read.
    #[error("bad answer: endpoint={endpoint} error={error}")]
    Parse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What was wrong.
        error: ReportParseError,
    },
    /// A client order id the client already used (nothing was sent).
    #[error("duplicate client order id: {0}")]
    DuplicateClientId(String),
    /// A product the client has no instrument for.
    #[error("unknown product: product={0}")]
    UnknownProduct(String),
    /// A report the order table refused.
    #[error(transparent)]
    State(#[from] OrderStateError),
}

/// The client (one connection, re-opened after a failure).
pub struct CoinbaseRestClient {
    connection: HttpConnection,
    signer: CoinbaseJwtSigner,
    host: String,
    products: HashMap<String, CoinbaseProduct>,
    requests_per_s: u32,
    window: (i64, u32),
    orders: OrderTable,
    order_products: HashMap<String, String>,
    trade_ids: TradeIds,
    requests_sent: u64,
    /// The account's taker fee, in millionths (`client_accounts.rs`); none: Coinbase's default.
    taker_fee_ppm: Option<u32>,
}

impl std::fmt::Debug for CoinbaseRestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoinbaseRestClient")
            .field("addr", &self.connection.addr())
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// The JSON body of `POST /orders` for `order` (sizes and prices exact at the product's
/// increments).
pub fn create_order_body(order: &NewOrder, product: &CoinbaseProduct) -> String {
    let inst = &product.instrument;
    let size = inst.step_size.format(order.qty);
    let configuration = match order.order_type {
        OrderType::Market => json!({ "market_market_ioc": { "base_size": size } }),
        OrderType::Limit { price, tif } => {
            let kind = match tif {
                TimeInForce::Gtc => "limit_limit_gtc",
                TimeInForce::Ioc => "sor_limit_ioc",
                TimeInForce::Fok => "limit_limit_fok",
            };
            let mut spec = json!({ "base_size": size, "limit_price": inst.tick_size.format(price) });
            if tif == TimeInForce::Gtc {
                spec["post_only"] = json!(false);
            }
            json!({ kind: spec })
        }
        OrderType::PostOnly { price } => json!({
            "limit_limit_gtc": { "base_size": size, "limit_price": inst.tick_size.format(price), "post_only": true }
        }),
    };
    json!({
        "client_order_id": order.client_order_id,
        "product_id": inst.symbol,
        "side": if order.side == Side::Buy { "BUY" } else { "SELL" },
        "order_configuration": configuration,
    })
    .to_string()
}

impl CoinbaseRestClient {
    /// A client for the venue at `addr` (a simulator's `SocketAddr`, plain HTTP, or an
    /// [`HttpConnection::open`] to any URL, `https://` for Coinbase itself), whose tokens name
    /// `host`, with these products.
    pub fn new(
        addr: impl Into<HttpConnection>,
        host: &str,
        signer: CoinbaseJwtSigner,
        products: Vec<CoinbaseProduct>,
    ) -> Self {
        Self {
            connection: addr.into(),
            signer,
            host: host.to_owned(),
            products: products.into_iter().map(|p| (p.instrument.symbol.clone(), p)).collect(),
            requests_per_s: 30,
            window: (0, 0),
            orders: OrderTable::new(),
            order_products: HashMap::new(),
            trade_ids: TradeIds::default(),
            requests_sent: 0,
            taker_fee_ppm: None,
        }
    }

    /// Sets the requests allowed a second (Coinbase's published 30 by default).
    pub fn set_requests_per_s(&mut self, n: u32) {
        self.requests_per_s = n;
    }

    /// The orders and what is known of them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Requests sent to the venue so far (refused locally ones not counted).
    pub fn requests_sent(&self) -> u64 {
        self.requests_sent
    }

    /// Reads one order back (`historical/{id}`) and, if the venue says it executed more than the
    /// fills seen, fetches its fills (`historical/fills`, every page: trade ids, prices, fees
    /// and `liquidity_indicator`), merging what is new; returns the reports fetched. An order
    /// whose venue id is not known yet is left for reconciliation (nothing fetched).
    pub async fn refresh_order(
        &mut self,
        client_order_id: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        self.refresh(client_order_id, summary).await
    }

    fn product(&self, id: &str) -> Result<&CoinbaseProduct, CoinbaseClientError> {
        self.products.get(id).ok_or_else(|| CoinbaseClientError::UnknownProduct(id.to_owned()))
    }

    /// Places an order; a venue refusal is a `Rejected` report (`error: message`), not an error.
    pub async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        const EP: &str = "POST /orders";
        let product = self.product(&order.symbol)?.clone();
        let body = create_order_body(order, &product);
        match self.orders.get(&order.client_order_id) {
            // A retry of a request whose answer was lost: Coinbase answers with the first order.
            Some(o) if o.status() == OrderStatus::PendingNew && o.venue_order_id.is_none() => {}
            Some(_) => return Err(CoinbaseClientError::DuplicateClientId(order.client_order_id.clone())),
            None => self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty)),
        }
        self.order_products.insert(order.client_order_id.clone(), order.symbol.clone());
        let answer = match self.send(EP, "POST", ORDERS, "", body).await {
            Ok(answer) => answer,
            Err(err @ CoinbaseClientError::RateLimited { .. }) => {
                self.order_products.remove(&order.client_order_id);
                self.orders.remove(&order.client_order_id);
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let receive = local_ns();
        let report = |venue_order_id, kind| {
            ExecutionReport::answered(
                Venue::Coinbase,
                &order.symbol,
                &order.client_order_id,
                venue_order_id,
                kind,
                receive,
            )
        };
        let first = if answer.status == 200 {
            let created: CreateOrderResponse = parse("create order", &answer.body)
                .map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
            match (created.success, created.success_response, created.error_response) {
                (true, Some(ok), _) => report(Some(ok.order_id), ReportKind::New),
                (_, _, Some(err)) => {
                    report(None, ReportKind::Rejected { code: None, reason: format!("{}: {}", err.error, err.message) })
                }
                _ => {
                    let error = ReportParseError::Malformed { what: "create order", error: "no response".into() };
                    return Err(CoinbaseClientError::Parse { endpoint: EP, error });
                }
            }
        } else {
            let err: ErrorBody =
                parse("error", &answer.body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
            report(
                None,
                ReportKind::Rejected {
                    code: Some(i64::from(answer.status)),
                    reason: format!("{}: {}", err.error, err.message),
                },
            )
        };
        self.orders.apply(&first)?;
        let mut reports = vec![first];
        if reports[0].kind == ReportKind::New && !matches!(order.order_type, OrderType::PostOnly { .. }) {
            let mut summary = ReconcileSummary::default();
            // Rate refusals and lost answers here leave the fills to reconciliation; an
            // unreadable answer is an error (the table already holds the acknowledgment).
            match self.refresh(&order.client_order_id, &mut summary).await {
                Ok(more) => reports.extend(more),
                Err(CoinbaseClientError::RateLimited { .. } | CoinbaseClientError::Transport { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(reports)
    }

    /// Reads an order back and fetches its fills if the venue says more executed than seen.
    async fn refresh(
        &mut self,
        client_order_id: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        const EP: &str = "GET /orders/historical/{id}";
        let Some(venue_id) = self.orders.get(client_order_id).and_then(|o| o.venue_order_id.clone()) else {
            return Ok(Vec::new());
        };
        let path = format!("{ORDERS}/historical/{venue_id}");
        let answer = self.send(EP, "GET", &path, "", String::new()).await?;
        let body = self.expect_ok(EP, answer)?;
        let read: OrderResponse =
            parse("order", &body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
        let product = self.product(&read.order.product_id)?.clone();
        let report = order_report(&read.order, client_order_id, &product, local_ns())
            .map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
        summary.merge(&mut self.orders, std::slice::from_ref(&report));
        let mut reports = vec![report];
        if self.orders.get(client_order_id).is_some_and(|o| o.missing_qty() > 0) {
            reports.extend(self.fetch_fills(client_order_id, &venue_id, summary).await?);
        }
        Ok(reports)
    }

    /// Every fill of one order (all pages), merged.
    async fn fetch_fills(
        &mut self,
        client_order_id: &str,
        venue_id: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        const EP: &str = "GET /orders/historical/fills";
        let product = self.product(self.order_products.get(client_order_id).map_or("", String::as_str))?.clone();
        let mut reports = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("order_ids", venue_id).append_pair("limit", "100");
            if !cursor.is_empty() {
                query.append_pair("cursor", &cursor);
            }
            let answer =
                self.send(EP, "GET", &format!("{ORDERS}/historical/fills"), &query.finish(), String::new()).await?;
            let body = self.expect_ok(EP, answer)?;
            let page: FillsPage =
                parse("fills", &body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
            let receive = local_ns();
            for fill in &page.fills {
                let report = fill_report(fill, client_order_id, &product, &mut self.trade_ids, receive)
                    .map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
                reports.push(report);
            }
            if page.cursor.is_empty() || page.fills.is_empty() {
                break;
            }
            cursor = page.cursor;
        }
        summary.merge(&mut self.orders, &reports);
        Ok(reports)
    }

    /// Cancels an order by client id (`batch_cancel` of its venue id): `Canceled` (then it is
    /// read back for what executed before), or `CancelRejected` with Coinbase's reason.
    pub async fn cancel(
        &mut self,
        product: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        self.product(product)?;
        if self.orders.get(client_order_id).is_some_and(|o| o.venue_order_id.is_none()) {
            self.reconcile_all().await?; // learn the venue id of an order whose answer was lost
        }
        let venue_id = self.orders.get(client_order_id).and_then(|o| o.venue_order_id.clone());
        let receive = local_ns();
        let report = |kind| {
            ExecutionReport::answered(Venue::Coinbase, product, client_order_id, venue_id.clone(), kind, receive)
        };
        let Some(id) = venue_id.clone() else {
            let reason = "UNKNOWN_CANCEL_ORDER: not known at the venue".to_owned();
            return Ok(vec![report(ReportKind::CancelRejected { code: None, reason })]);
        };
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.request_cancel();
        }
        let canceled = self.batch_cancel(&[id]).await?;
        let kind = match canceled.first() {
            Some((_, true, _)) => ReportKind::Canceled,
            Some((_, false, reason)) => ReportKind::CancelRejected { code: None, reason: reason.clone() },
            None => ReportKind::CancelRejected { code: None, reason: "no result".into() },
        };
        let first = report(kind);
        self.orders.apply(&first)?;
        let mut reports = vec![first];
        let mut summary = ReconcileSummary::default();
        match self.refresh(client_order_id, &mut summary).await {
            Ok(more) => reports.extend(more),
            Err(CoinbaseClientError::RateLimited { .. } | CoinbaseClientError::Transport { .. }) => {}
            Err(err) => return Err(err),
        }
        Ok(reports)
    }

    /// `batch_cancel` of these venue ids (100 a call): (id, canceled, failure reason).
    async fn batch_cancel(&mut self, ids: &[String]) -> Result<Vec<(String, bool, String)>, CoinbaseClientError> {
        const EP: &str = "POST /orders/batch_cancel";
        #[derive(serde::Deserialize)]
        struct Results {
            results: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            success: bool,
            #[serde(default)]
            failure_reason: String,
            order_id: String,
        }
        let mut out = Vec::new();
        for chunk in ids.chunks(100) {
            let body = json!({ "order_ids": chunk }).to_string();
            let answer = self.send(EP, "POST", &format!("{ORDERS}/batch_cancel"), "", body).await?;
            let body = self.expect_ok(EP, answer)?;
            let results: Results =
                parse("batch_cancel", &body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
            out.extend(results.results.into_iter().map(|r| (r.order_id, r.success, r.failure_reason)));
        }
        Ok(out)
    }

    /// Every order in the venue's list with these statuses (all pages; none: every status).
    async fn list_orders(
        &mut self,
        statuses: &[&str],
    ) -> Result<Vec<super::reports::CoinbaseOrder>, CoinbaseClientError> {
        const EP: &str = "GET /orders/historical/batch";
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for s in statuses {
                query.append_pair("order_status", s);
            }
            query.append_pair("limit", "100");
            if !cursor.is_empty() {
                query.append_pair("cursor", &cursor);
            }
            let answer =
                self.send(EP, "GET", &format!("{ORDERS}/historical/batch"), &query.finish(), String::new()).await?;
            let body = self.expect_ok(EP, answer)?;
            let page: OrdersPage =
                parse("orders", &body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
            all.extend(page.orders);
            if !page.has_next || page.cursor.is_empty() {
                return Ok(all);
            }
            cursor = page.cursor;
        }
    }

    /// Settles every order ([`crate::venue`]): those whose answer was lost are found by
    /// client id in the order list (or rejected: never reached the book), every live one is read
    /// back, and the fills the venue says exist are fetched.
    pub async fn reconcile_all(&mut self) -> Result<ReconcileSummary, CoinbaseClientError> {
        crate::venue::reconcile(self, ACCOUNT_WIDE).await
    }

    /// The kill switch: every open order in the venue's list is canceled (`batch_cancel`),
    /// then a reconciliation. Returns how many the venue canceled.
    pub async fn kill_switch(&mut self) -> Result<usize, CoinbaseClientError> {
        crate::venue::kill_switch(self, ACCOUNT_WIDE).await
    }

    /// `GET /api/v3/brokerage/market/products/{product_id}`: the product's grid as Coinbase
    /// publishes it, `quote_increment` and `base_increment` (decimal text, exact). The client's
    /// own products are left as they are.
    pub async fn product_grid(
        &mut self,
        product_id: &str,
    ) -> Result<(wintermute_core::decimal::Decimal, wintermute_core::decimal::Decimal), CoinbaseClientError> {
        const EP: &str = "GET /api/v3/brokerage/market/products/{product_id}";
        #[derive(serde::Deserialize)]
        struct Product {
            quote_increment: String,
            base_increment: String,
        }
        let path = format!("/api/v3/brokerage/market/products/{product_id}");
        let answer = self.send(EP, "GET", &path, "", String::new()).await?;
        let body = self.expect_ok(EP, answer)?;
        let product: Product =
            parse("product", &body).map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?;
        let exact = |field: &'static str, text: &str| {
            wintermute_core::decimal::Decimal::parse(text).map_err(|_| CoinbaseClientError::Parse {
                endpoint: EP,
                error: ReportParseError::bad_decimal(field, text),
            })
        };
        Ok((exact("quote_increment", &product.quote_increment)?, exact("base_increment", &product.base_increment)?))
    }

    fn expect_ok(&self, endpoint: &'static str, answer: HttpAnswer) -> Result<Bytes, CoinbaseClientError> {
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let err: ErrorBody =
            parse("error", &answer.body).map_err(|error| CoinbaseClientError::Parse { endpoint, error })?;
        Err(CoinbaseClientError::Venue { endpoint, status: answer.status, error: err.error, message: err.message })
    }

    /// Sends one request: the per-second limit, a fresh JWT, 429 handling.
    async fn send(
        &mut self,
        endpoint: &'static str,
        method: &str,
        path: &str,
        query: &str,
        body: String,
    ) -> Result<HttpAnswer, CoinbaseClientError> {
        let now = local_ms();
        let second = now.div_euclid(1000);
        if self.window.0 != second {
            self.window = (second, 0);
        }
        if self.window.1 >= self.requests_per_s {
            let retry_after_ms = u64::try_from((second + 1) * 1000 - now).unwrap_or(0);
            return Err(CoinbaseClientError::RateLimited { endpoint, retry_after_ms, local: true });
        }
        self.window.1 += 1;
        self.requests_sent += 1;
        let token = self.signer.token(method, &self.host, path, second);
        let uri = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let bearer = format!("Bearer {token}");
        let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
        let answer = self
            .connection
            .request(method, &uri, &headers, Bytes::from(body))
            .await
            .map_err(|error| CoinbaseClientError::Transport { endpoint, error })?;
        if answer.status == 429 {
            self.window = (second, self.requests_per_s);
            let retry_after_ms = u64::try_from((second + 1) * 1000 - local_ms()).unwrap_or(0);
            return Err(CoinbaseClientError::RateLimited { endpoint, retry_after_ms, local: false });
        }
        Ok(answer)
    }
}

impl VenueClient for CoinbaseRestClient {
    type Error = CoinbaseClientError;

    fn venue(&self) -> Venue {
        Venue::Coinbase
    }

    fn error_kind(error: &CoinbaseClientError) -> ErrorKind {
        match error {
            CoinbaseClientError::Transport { .. } => ErrorKind::Transport,
            CoinbaseClientError::RateLimited { .. } => ErrorKind::RateLimited,
            _ => ErrorKind::Other,
        }
    }

    fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Coinbase holds a buy's fee at the taker rate: the account's
    /// ([`CoinbaseRestClient::set_taker_fee_ppm`]), or [`COINBASE_DEFAULT_TAKER_FEE_PPM`].
    fn buy_fee_held_ppm(&self) -> u32 {
        self.taker_fee_ppm()
    }

    async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        CoinbaseRestClient::place(self, order).await
    }

    async fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        CoinbaseRestClient::cancel(self, symbol, client_order_id).await
    }

    /// Coinbase's order list is account-wide: every product's orders.
    fn reconciles(&self, _symbol: &str, _client_order_id: &str) -> bool {
        true
    }

    /// Each looked up by client id in the order list (`historical/batch`, every status);
    /// absent, it never reached the book: rejected.
    async fn settle_unanswered(
        &mut self,
        _symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        const EP: &str = "GET /orders/historical/batch";
        let listed = self.list_orders(&[]).await?;
        let receive = local_ns();
        for client in client_order_ids {
            let report = match listed.iter().find(|o| &o.client_order_id == client) {
                Some(order) => {
                    let product = self.product(&order.product_id)?.clone();
                    order_report(order, client, &product, receive)
                        .map_err(|error| CoinbaseClientError::Parse { endpoint: EP, error })?
                }
                None => {
                    let product = self.order_products.get(client).map_or("", String::as_str);
                    ExecutionReport::never_reached_the_book(Venue::Coinbase, product, client, receive)
                }
            };
            summary.merge(&mut self.orders, std::slice::from_ref(&report));
        }
        Ok(())
    }

    /// Coinbase lists fills per order: every finished order that the venue says executed more
    /// than the fills seen is read back and its fills fetched.
    async fn merge_missed_fills(
        &mut self,
        _symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        let finished: Vec<String> = self
            .orders
            .iter()
            .filter(|o| o.venue_order_id.is_some() && o.status().is_terminal() && o.missing_qty() > 0)
            .map(|o| o.client_order_id.clone())
            .collect();
        for client in finished {
            self.refresh(&client, summary).await?;
        }
        Ok(())
    }

    /// None: Coinbase's reconciliation reads every live order back instead (the next step).
    async fn merge_open_orders(
        &mut self,
        _symbol: &str,
        _summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, CoinbaseClientError> {
        Ok(HashSet::new())
    }

    /// Each read back (`historical/{id}`), and its fills fetched if the venue says more
    /// executed than seen.
    async fn settle_unlisted(
        &mut self,
        _symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        for client in client_order_ids {
            if self.orders.get(client).is_some_and(|o| o.venue_order_id.is_some()) {
                self.refresh(client, summary).await?;
            }
        }
        Ok(())
    }

    /// The open orders in the venue's list (every product), canceled by `batch_cancel`.
    async fn cancel_open(&mut self, _symbol: &str) -> Result<usize, CoinbaseClientError> {
        let open: Vec<String> = self.list_orders(&["OPEN"]).await?.into_iter().map(|o| o.order_id).collect();
        Ok(self.batch_cancel(&open).await?.iter().filter(|(_, ok, _)| *ok).count())
    }
}

#[path = "client_accounts.rs"]
mod accounts;
pub use accounts::COINBASE_DEFAULT_TAKER_FEE_PPM;
