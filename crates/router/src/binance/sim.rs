//! A local Binance spot venue on 127.0.0.1 (REST, and the WebSocket API on its own port: see
//! `sim_ws.rs`), for testing order clients without the internet.
//!
//! It checks every request the way Binance documents it and answers with Binance's own status
//! codes and error bodies:
//!
//! - **Rate limits first**: each endpoint's request weight is added to a per-minute counter
//!   (reported in `X-MBX-USED-WEIGHT-1M` on every response); past the limit the answer is HTTP
//!   429, `-1003`, with `Retry-After` (seconds to the next minute). New orders also count in
//!   `X-MBX-ORDER-COUNT-10S` / `-1D` (`-1015` past 100 per 10 s).
//! - **Signed endpoints**: `X-MBX-APIKEY` must name a registered key (`-2014` / `-2015`,
//!   HTTP 401); `timestamp` must be within `recvWindow` (default 5000 ms, at most 60000:
//!   `-1131`) behind the server's clock and at most 1000 ms ahead (`-1021`); the `signature`
//!   must be the key's HMAC-SHA256 (hex) or Ed25519 (base64) of the parameters exactly as sent,
//!   the query string followed by the body, without the `signature` parameter (`-1022`).
//! - **Parameters**: mandatory ones (`-1102`), ones the order type does not take (`-1106`),
//!   legal text of decimals and client ids (`-1100`), duplicates (`-1101`), enums (`-1115`,
//!   `-1116`, `-1117`), the symbol (`-1121`), and the filters PRICE_FILTER, LOT_SIZE and
//!   NOTIONAL (`-1013`).
//! - **Orders** trade against the symbol's book (a depth snapshot, e.g. from a recording; see
//!   [`SimSymbol::from_depth_snapshot`]): LIMIT GTC/IOC/FOK, MARKET, LIMIT_MAKER (post-only,
//!   `-2010` if it would cross); responses ACK / RESULT / FULL (with `fills` and trade ids).
//!   Resting orders fill when the test says another participant traded ([`BinanceSim::trade_at`]).
//! - **Accounts**: each registered API key is an account of its own, unless
//!   [`SimConfig::shared_accounts`] puts several keys in one account. Its requests (REST, and
//!   the WebSocket API's signed or logged-on requests) see its own orders and trades only:
//!   another key's `orderId` or client id is unknown (`-2013` on a query, `-2011` on a cancel),
//!   `openOrders` and `myTrades` list its own, a client id need only be unique within its
//!   account, and a user data stream gets its own key's `executionReport`s. Two keys' orders
//!   trade with each other as two participants' would: a new order crossing another key's
//!   resting order takes it at the resting order's price (the resting order as maker), and a
//!   LIMIT_MAKER that would is refused (`-2010`); a key never trades with itself.
//! - **Balances** (`sim_account.rs`): each account's balances move with its trades and
//!   show in `GET /api/v3/account`; with [`SimConfig::check_funds`] an order the account cannot
//!   pay for is refused with `-2010` "Account has insufficient balance for requested action.".
//!
//! Endpoints: `GET /api/v3/ping`, `GET /api/v3/time`, `POST /api/v3/order`,
//! `DELETE /api/v3/order`, `GET /api/v3/order`, `GET /api/v3/openOrders`, `GET /api/v3/myTrades`,
//! `GET /api/v3/account`, `GET /sapi/v1/account/status` (signed, weight 1: `{"data": "Normal"}`,
//! or what [`BinanceSim::set_account_status`] set),
//! `PUT /api/v3/order/amend/keepPriority` (the quantity reduced in place, the queue place kept),
//! `POST /api/v3/order/cancelReplace` (a cancel and a new order in one request, as
//! `order.cancelReplace`: `cancelReplaceMode` `STOP_ON_FAILURE` or `ALLOW_FAILURE`; a half that
//! failed is `-2021` (HTTP 409) or, both failed or the new order not attempted, `-2022`
//! (HTTP 400), with each half's outcome in the body's `data`) and `DELETE /api/v3/openOrders`
//! (every open order of a symbol canceled in one request).
//!
//! Faults for tests: [`BinanceSim::lose_next_responses`] processes the next requests and then
//! closes the connection without answering (the connection dropped mid-fill),
//! [`BinanceSim::drop_next_requests_to`] closes it before the venue sees the next requests to a
//! path (lost on the way: nothing happened), [`BinanceSim::lose_next_responses_to`] after it
//! processed them, and [`BinanceSim::set_clock_skew_ms`] moves the server's clock.
//!
//! The server stops when the [`BinanceSim`] is dropped.

use std::collections::HashMap;

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

pub use super::sim_errors::SimError;
use crate::order::local_ms;
use crate::signing::{verify_binance_ed25519, verify_binance_hmac};
use crate::sim::exchange::{is_open, MatchError, SimNewOrder, SimOrderType, SimTif};
pub use crate::sim::exchange::{SimExchange, SimSymbol};
use crate::sim::funds::SimFunds;
use crate::sim::{Params, SimAnswer, SimRequest, SimServer, SimVenue};
pub use ws_front::BinanceWsSession;

/// A registered API key.
#[derive(Clone)]
pub enum SimKey {
    /// An HMAC key: the venue keeps the secret.
    Hmac {
        /// The API key (the `X-MBX-APIKEY` value).
        api_key: String,
        /// The secret.
        secret: Vec<u8>,
    },
    /// An Ed25519 key: the venue keeps the public key.
    Ed25519 {
        /// The API key.
        api_key: String,
        /// The 32-byte public key.
        public_key: Vec<u8>,
    },
}

impl std::fmt::Debug for SimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimKey::Hmac { api_key, .. } => write!(f, "SimKey::Hmac({api_key}, <redacted>)"),
            SimKey::Ed25519 { api_key, .. } => write!(f, "SimKey::Ed25519({api_key})"),
        }
    }
}

impl SimKey {
    fn api_key(&self) -> &str {
        match self {
            SimKey::Hmac { api_key, .. } | SimKey::Ed25519 { api_key, .. } => api_key,
        }
    }
}

/// What the simulator serves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Symbols and their books.
    pub symbols: Vec<SimSymbol>,
    /// Registered keys.
    pub keys: Vec<SimKey>,
    /// Request weight per minute (Binance: 6000).
    pub weight_limit_1m: u32,
    /// New orders per 10 seconds (Binance: 100).
    pub orders_limit_10s: u32,
    /// Commission rate, charged in the asset received (Binance's base rate, 0.1 %, by default).
    pub fee_rate: Decimal,
    /// Amends an order may have (the `MAX_NUM_ORDER_AMENDS` filter; Binance: 10).
    pub max_order_amends: u32,
    /// Keys of one account, as several API keys of one Binance account: (API key, account
    /// name). A key not named here is an account of its own (the default: one per key).
    pub shared_accounts: Vec<(String, String)>,
    /// Starting balances by asset (`"USDT"`, `"BTC"`), of each account (`sim_account.rs`).
    pub balances: Vec<(String, Decimal)>,
    /// Whether orders are checked against the balances (`-2010`, "Account has insufficient
    /// balance for requested action."); off by default: unlimited funds.
    pub check_funds: bool,
}

impl SimConfig {
    /// Binance's published limits, these symbols and keys.
    pub fn new(symbols: Vec<SimSymbol>, keys: Vec<SimKey>) -> Self {
        Self {
            symbols,
            keys,
            weight_limit_1m: 6000,
            orders_limit_10s: 100,
            fee_rate: Decimal::new(1, 3),
            max_order_amends: 10,
            shared_accounts: Vec::new(),
            balances: Vec::new(),
            check_funds: false,
        }
    }
}

/// The simulated venue's state: what its front answers from.
#[derive(Debug)]
pub struct BinanceSimState {
    exchange: SimExchange,
    keys: HashMap<String, SimKey>,
    weight_limit_1m: u32,
    orders_limit_10s: u32,
    weight_window: (i64, u32),
    orders_10s: (i64, u32),
    orders_1d: (i64, u32),
    clock_skew_ms: i64,
    lose_responses: u32,
    next_client_id: u64,
    max_order_amends: u32,
    amends: HashMap<u64, u32>,
    /// REST requests received, by method and path.
    requests: HashMap<(String, String), u64>,
    /// The account of the request being handled: whose orders and trades it sees
    /// ([`SimExchange::place_for`]).
    account: String,
    /// Accounts of the keys that share one ([`SimConfig::shared_accounts`]).
    shared_accounts: HashMap<String, String>,
    /// Each account's balances.
    funds: SimFunds,
    /// Accounts whose `GET /sapi/v1/account/status` is not `Normal`
    /// ([`BinanceSim::set_account_status`]).
    account_statuses: HashMap<String, String>,
}

/// A running simulator (stops when dropped).
pub type BinanceSim = SimServer<BinanceSimState>;

impl BinanceSim {
    /// Starts serving REST on a free port of 127.0.0.1, and the WebSocket API on another
    /// ([`Self::ws_url`]).
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let mut exchange = SimExchange::new(config.symbols);
        exchange.fee_rate = config.fee_rate;
        let shared: HashMap<String, String> = config.shared_accounts.into_iter().collect();
        let accounts =
            config.keys.iter().map(|k| shared.get(k.api_key()).map_or(k.api_key(), String::as_str).to_owned());
        // A buyer's fee comes out of the base asset received: a buy holds no fee.
        let funds = SimFunds::new(config.balances, accounts.collect::<Vec<_>>(), config.check_funds, false);
        let mut sim = SimServer::serve(BinanceSimState {
            exchange,
            keys: config.keys.into_iter().map(|k| (k.api_key().to_owned(), k)).collect(),
            weight_limit_1m: config.weight_limit_1m,
            orders_limit_10s: config.orders_limit_10s,
            weight_window: (0, 0),
            orders_10s: (0, 0),
            orders_1d: (0, 0),
            clock_skew_ms: 0,
            lose_responses: 0,
            next_client_id: 1,
            max_order_amends: config.max_order_amends,
            amends: HashMap::new(),
            requests: HashMap::new(),
            account_statuses: HashMap::new(),
            account: String::new(),
            shared_accounts: shared,
            funds,
        })
        .await?;
        sim.start_ws().await?;
        Ok(sim)
    }

    /// The WebSocket API's URL (`ws://127.0.0.1:<port>/ws-api/v3`).
    pub fn ws_url(&self) -> String {
        match self.ws_addr() {
            Some(addr) => format!("ws://{addr}/ws-api/v3"),
            None => String::new(),
        }
    }

    /// Another participant trades `qty` at `price` (decimal text): resting orders of ours that
    /// it crosses fill as makers. Returns how many trades that made.
    pub fn trade_at(&self, symbol: &str, price: &str, qty: &str) -> Result<usize, String> {
        let mut state = self.venue();
        let now = now_ms(state.clock_skew_ms);
        let made = state.exchange.trade_at_text(symbol, price, qty, now)?;
        let state = &mut *state;
        state.funds.settle(&state.exchange);
        Ok(made)
    }

    /// Replaces `symbol`'s book (price ticks, quantity lots on the symbol's grid): the market
    /// moved.
    pub fn set_book(&self, symbol: &str, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), String> {
        self.venue().exchange.set_book(symbol, bids, asks).map_err(|e| e.to_string())
    }

    /// Moves the server's clock by `ms` from the system clock.
    pub fn set_clock_skew_ms(&self, ms: i64) {
        self.venue().clock_skew_ms = ms;
    }

    /// Open orders on a symbol.
    pub fn open_order_count(&self, symbol: &str) -> usize {
        self.venue().exchange.open_orders(Some(symbol)).count()
    }

    /// Open orders on `symbol` of one key's account.
    pub fn open_order_count_of(&self, api_key: &str, symbol: &str) -> usize {
        let venue = self.venue();
        let account = venue.account_of(api_key);
        venue.exchange.open_orders_of(&account, Some(symbol)).count()
    }

    /// [`BinanceSimState::set_symbol_grid`]: the venue changes `symbol`'s tick and lot.
    pub fn set_symbol_grid(&self, symbol: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.venue().set_symbol_grid(symbol, tick, lot)
    }

    /// How many REST requests of `method` to `path` the venue received (`"POST"`,
    /// `"/api/v3/order/cancelReplace"`), answered or not (requests dropped before the venue
    /// saw them are not counted).
    pub fn rest_requests(&self, method: &str, path: &str) -> u64 {
        self.venue().requests.get(&(method.to_owned(), path.to_owned())).copied().unwrap_or(0)
    }

    /// Every trade the exchange made for us: (trade id, client order id, lots).
    pub fn trades(&self) -> Vec<(u64, String, i64)> {
        let state = self.venue();
        let ex = &state.exchange;
        ex.trades
            .values()
            .map(|t| {
                let client = ex.orders.get(&t.order_id).map(|o| o.new.client_order_id.clone());
                (t.id, client.unwrap_or_default(), t.qty)
            })
            .collect()
    }
}

fn now_ms(skew_ms: i64) -> i64 {
    local_ms() + skew_ms
}

impl BinanceSimState {
    /// The venue changes `symbol`'s grid (tick and lot as decimal text): `exchangeInfo`
    /// (PRICE_FILTER, LOT_SIZE) and every order check use the new one from now on. The book's
    /// levels keep their tick and lot counts (a test of a grid change, not of prices).
    pub fn set_symbol_grid(&mut self, symbol: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.exchange.set_grid(symbol, tick, lot)
    }

    /// Open orders of `symbol`.
    pub fn open_orders_of(&self, symbol: &str) -> usize {
        self.exchange.open_orders(Some(symbol)).count()
    }
}

impl SimVenue for BinanceSimState {
    fn handle(&mut self, request: &SimRequest<'_>) -> SimAnswer {
        let api_key = request.headers.get("x-mbx-apikey").and_then(|v| v.to_str().ok());
        self.handle(request.method, request.path, request.query, request.body, api_key)
    }

    fn responses_to_lose(&mut self) -> &mut u32 {
        &mut self.lose_responses
    }
}

#[path = "sim_ws.rs"]
mod ws_front;

#[path = "sim_account.rs"]
mod account;

fn need<'p>(params: &'p Params, name: &'static str) -> Result<&'p str, SimError> {
    params.get(name).ok_or(SimError::Mandatory(name))
}

const DECIMAL_RANGE: &str = "^([0-9]{1,20})(\\.[0-9]{1,20})?$";
const CLIENT_ID_RANGE: &str = "^[a-zA-Z0-9-_]{1,36}$";

fn legal_decimal(text: &str) -> bool {
    let mut parts = text.splitn(2, '.');
    let digits = |s: &str| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    parts.next().is_some_and(digits) && parts.next().is_none_or(digits)
}

fn legal_client_id(text: &str) -> bool {
    (1..=36).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn parse_u64(params: &Params, name: &'static str) -> Result<Option<u64>, SimError> {
    params.get(name).map(|v| v.parse().map_err(|_| SimError::IllegalChars { name, range: "^[0-9]{1,20}$" })).transpose()
}

/// `timestamp` within `recvWindow` (default 5000 ms, at most 60000) behind the server's clock and
/// less than 1000 ms ahead of it.
fn check_timestamp(params: &Params, now: i64) -> Result<(), SimError> {
    let timestamp = parse_u64(params, "timestamp")?.ok_or(SimError::Mandatory("timestamp"))?;
    let recv_window = parse_u64(params, "recvWindow")?.unwrap_or(5000);
    if recv_window > 60_000 {
        return Err(SimError::RecvWindowTooLarge);
    }
    let timestamp = i64::try_from(timestamp).unwrap_or(i64::MAX);
    let recv_window = i64::try_from(recv_window).unwrap_or(0);
    if timestamp < now + 1000 && now - timestamp <= recv_window {
        Ok(())
    } else {
        Err(SimError::OutsideRecvWindow)
    }
}

/// Removes the `signature` parameter from raw parameter text, keeping the rest byte for byte.
fn without_signature(raw: &str) -> String {
    raw.split('&').filter(|part| !part.starts_with("signature=")).collect::<Vec<_>>().join("&")
}

impl BinanceSimState {
    fn handle(&mut self, method: &str, path: &str, query: &str, body: &str, api_key: Option<&str>) -> SimAnswer {
        let now = now_ms(self.clock_skew_ms);
        *self.requests.entry((method.to_owned(), path.to_owned())).or_insert(0) += 1;
        let params = Params::parse([query, body]);
        let weight = match (method, path) {
            ("GET", "/api/v3/order") | ("PUT", "/api/v3/order/amend/keepPriority") => 4,
            ("GET", "/api/v3/openOrders") if params.get("symbol").is_none() => 80,
            ("GET", "/api/v3/openOrders") => 6,
            ("GET", "/api/v3/myTrades" | "/api/v3/exchangeInfo" | "/api/v3/account") => 20,
            _ => 1,
        };
        let (used, over) = self.count_weight(weight, now);
        let mut headers = vec![("x-mbx-used-weight-1m", used.to_string())];
        let result = match over {
            Some(err @ SimError::TooMuchWeight { retry_after_s, .. }) => {
                headers.push(("retry-after", retry_after_s.to_string()));
                Err(err)
            }
            _ => self.route(method, path, query, body, api_key, &params, now, &mut headers),
        };
        match result {
            Ok(Some(value)) => SimAnswer { status: 200, headers, body: value.to_string() },
            Ok(None) => SimAnswer { status: 404, headers, body: String::new() },
            Err(err) => SimAnswer { status: err.http_status(), headers, body: err.body() },
        }
    }

    /// Adds `weight` to the current minute's request weight (shared by the HTTP and WebSocket
    /// fronts, as Binance counts weight per IP): the weight used, and the refusal if it is past
    /// the limit.
    fn count_weight(&mut self, weight: u32, now: i64) -> (u32, Option<SimError>) {
        let minute = now.div_euclid(60_000);
        if self.weight_window.0 != minute {
            self.weight_window = (minute, 0);
        }
        self.weight_window.1 += weight;
        let used = self.weight_window.1;
        if used <= self.weight_limit_1m {
            return (used, None);
        }
        let retry_after_s = u64::try_from((minute + 1) * 60_000 - now).unwrap_or(0).div_ceil(1000);
        (used, Some(SimError::TooMuchWeight { limit: self.weight_limit_1m, retry_after_s }))
    }

    /// `GET /api/v3/exchangeInfo` (every symbol, or `symbol=`): each symbol's assets, order
    /// types and filters (PRICE_FILTER `tickSize`, LOT_SIZE `stepSize`, NOTIONAL), decimals at
    /// 8 places as Binance writes them.
    fn exchange_info(&self, params: &Params, now: i64) -> Result<Value, SimError> {
        let symbols: Vec<&SimSymbol> = match params.get("symbol") {
            Some(name) => vec![self.exchange.symbols.get(name).ok_or(SimError::InvalidSymbol)?],
            None => self.exchange.symbols.values().collect(),
        };
        let eight = |d: Decimal| -> String {
            match d.scale() {
                s if s <= 8 => Decimal::new(d.mantissa() * 10i128.pow(8 - s), 8).to_string(),
                _ => d.to_string(),
            }
        };
        let symbols: Vec<Value> = symbols
            .into_iter()
            .map(|s| {
                let (tick, step) = (s.tick_size.decimal(), s.step_size.decimal());
                let min_qty = Decimal::new(step.mantissa() * i128::from(s.min_qty_lots), step.scale());
                json!({
                    "symbol": s.symbol,
                    "status": "TRADING",
                    "baseAsset": s.base_asset,
                    "baseAssetPrecision": 8,
                    "quoteAsset": s.quote_asset,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                    "isSpotTradingAllowed": true,
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": eight(tick), "maxPrice": "1000000.00000000",
                         "tickSize": eight(tick)},
                        {"filterType": "LOT_SIZE", "minQty": eight(min_qty), "maxQty": "9000.00000000",
                         "stepSize": eight(step)},
                        {"filterType": "NOTIONAL", "minNotional": eight(s.min_notional), "applyMinToMarket": true,
                         "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
                    ],
                    "permissions": [],
                })
            })
            .collect();
        Ok(json!({
            "timezone": "UTC",
            "serverTime": now,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": self.weight_limit_1m},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        body: &str,
        api_key: Option<&str>,
        params: &Params,
        now: i64,
        headers: &mut Vec<(&'static str, String)>,
    ) -> Result<Option<Value>, SimError> {
        match (method, path) {
            ("GET", "/api/v3/ping") => return Ok(Some(json!({}))),
            ("GET", "/api/v3/time") => return Ok(Some(json!({ "serverTime": now }))),
            ("GET", "/api/v3/exchangeInfo") => return self.exchange_info(params, now).map(Some),
            ("POST" | "DELETE" | "GET", "/api/v3/order")
            | ("POST", "/api/v3/order/cancelReplace")
            | ("GET" | "DELETE", "/api/v3/openOrders")
            | ("GET", "/api/v3/myTrades" | "/api/v3/account" | "/sapi/v1/account/status")
            | ("PUT", "/api/v3/order/amend/keepPriority") => {}
            _ => return Ok(None),
        }
        self.authenticate(query, body, api_key, params, now)?;
        self.account = self.account_of(api_key.unwrap_or_default());
        match (method, path) {
            ("POST", "/api/v3/order/cancelReplace") => self.cancel_replace(params, now, headers).map(Some),
            ("POST", _) => self.new_order(params, now, headers).map(Some),
            ("PUT", _) => self.amend_keep_priority(params, now).map(Some),
            ("DELETE", "/api/v3/openOrders") => self.cancel_open_orders(params, now).map(Some),
            ("DELETE", _) => self.cancel_order(params, now).map(Some),
            ("GET", "/api/v3/account") => self.account_json(params, now).map(Some),
            ("GET", "/sapi/v1/account/status") => {
                let status = self.account_statuses.get(&self.account).map_or("Normal", String::as_str);
                Ok(Some(json!({ "data": status })))
            }
            ("GET", "/api/v3/order") => {
                let symbol = self.symbol(params)?;
                let order_id = parse_u64(params, "orderId")?;
                let client_id = params.get("origClientOrderId");
                if order_id.is_none() && client_id.is_none() {
                    return Err(SimError::EitherOrderId);
                }
                let found = self.exchange.find_of(&self.account, Some(symbol), order_id, client_id);
                let order = found.ok_or(SimError::NoSuchOrder)?;
                Ok(Some(self.exchange.order_json(order)))
            }
            ("GET", "/api/v3/openOrders") => {
                let symbol = params.get("symbol");
                if let Some(s) = symbol {
                    self.exchange.symbols.get(s).ok_or(SimError::InvalidSymbol)?;
                }
                let ex = &self.exchange;
                Ok(Some(Value::Array(ex.open_orders_of(&self.account, symbol).map(|o| ex.order_json(o)).collect())))
            }
            _ => self.my_trades(params).map(Some),
        }
    }

    /// The account of `api_key`: its own, or the one it shares ([`SimConfig::shared_accounts`]).
    pub(super) fn account_of(&self, api_key: &str) -> String {
        self.shared_accounts.get(api_key).map_or(api_key, String::as_str).to_owned()
    }

    fn symbol<'p>(&self, params: &'p Params) -> Result<&'p str, SimError> {
        let symbol = need(params, "symbol")?;
        self.exchange.symbols.contains_key(symbol).then_some(symbol).ok_or(SimError::InvalidSymbol)
    }

    fn authenticate(
        &self,
        query: &str,
        body: &str,
        api_key: Option<&str>,
        params: &Params,
        now: i64,
    ) -> Result<(), SimError> {
        let api_key = api_key.filter(|k| !k.is_empty() && k.len() <= 256).ok_or(SimError::ApiKeyFormat)?;
        let key = self.keys.get(api_key).ok_or(SimError::InvalidApiKey)?;
        if params.has_duplicates() {
            return Err(SimError::DuplicateParam);
        }
        check_timestamp(params, now)?;
        let signature = need(params, "signature")?;
        let payload = format!("{}{}", without_signature(query), without_signature(body));
        let valid = match key {
            SimKey::Hmac { secret, .. } => verify_binance_hmac(secret, &payload, signature),
            SimKey::Ed25519 { public_key, .. } => verify_binance_ed25519(public_key, &payload, signature),
        };
        valid.then_some(()).ok_or(SimError::BadSignature)
    }

    fn new_order(
        &mut self,
        params: &Params,
        now: i64,
        headers: &mut Vec<(&'static str, String)>,
    ) -> Result<Value, SimError> {
        for (window, span_ms, name) in [
            (&mut self.orders_10s, 10_000, "x-mbx-order-count-10s"),
            (&mut self.orders_1d, 86_400_000, "x-mbx-order-count-1d"),
        ] {
            let slot = now.div_euclid(span_ms);
            if window.0 != slot {
                *window = (slot, 0);
            }
            window.1 += 1;
            headers.push((name, window.1.to_string()));
        }
        if self.orders_10s.1 > self.orders_limit_10s {
            return Err(SimError::TooManyOrders { limit: self.orders_limit_10s });
        }
        let symbol = self.symbol(params)?.to_owned();
        let is_buy = match need(params, "side")? {
            "BUY" => true,
            "SELL" => false,
            _ => return Err(SimError::InvalidSide),
        };
        let tif = params.get("timeInForce");
        let order_type = match need(params, "type")? {
            "LIMIT" => SimOrderType::Limit(match tif.ok_or(SimError::Mandatory("timeInForce"))? {
                "GTC" => SimTif::Gtc,
                "IOC" => SimTif::Ioc,
                "FOK" => SimTif::Fok,
                _ => return Err(SimError::InvalidTif),
            }),
            "MARKET" => SimOrderType::Market,
            "LIMIT_MAKER" => SimOrderType::LimitMaker,
            _ => return Err(SimError::InvalidOrderType),
        };
        let takes_no_tif = matches!(order_type, SimOrderType::Market | SimOrderType::LimitMaker);
        if takes_no_tif && tif.is_some() {
            return Err(SimError::NotRequired("timeInForce"));
        }
        if order_type == SimOrderType::Market && params.get("price").is_some() {
            return Err(SimError::NotRequired("price"));
        }
        let sym = &self.exchange.symbols[&symbol];
        let qty_text = need(params, "quantity")?;
        if !legal_decimal(qty_text) {
            return Err(SimError::IllegalChars { name: "quantity", range: DECIMAL_RANGE });
        }
        let qty = sym.step_size.units_of(qty_text).map_err(|_| SimError::Filter("LOT_SIZE"))?;
        let price = if order_type == SimOrderType::Market {
            0
        } else {
            let text = need(params, "price")?;
            if !legal_decimal(text) {
                return Err(SimError::IllegalChars { name: "price", range: DECIMAL_RANGE });
            }
            let price = sym.tick_size.units_of(text).map_err(|_| SimError::Filter("PRICE_FILTER"))?;
            if price <= 0 {
                return Err(SimError::Filter("PRICE_FILTER"));
            }
            price
        };
        let client_order_id = match params.get("newClientOrderId") {
            Some(id) if legal_client_id(id) => id.to_owned(),
            Some(_) => return Err(SimError::IllegalChars { name: "newClientOrderId", range: CLIENT_ID_RANGE }),
            None => {
                self.next_client_id += 1;
                format!("sim{:019}", self.next_client_id)
            }
        };
        let resp_type = match params.get("newOrderRespType") {
            None | Some("FULL") => "FULL",
            Some("RESULT") => "RESULT",
            Some("ACK") => "ACK",
            Some(_) => return Err(SimError::IllegalChars { name: "newOrderRespType", range: "ACK|RESULT|FULL" }),
        };
        let new = SimNewOrder { symbol, is_buy, order_type, price, qty, client_order_id };
        let (order_id, trade_ids) = self.funds.place(&mut self.exchange, &self.account, new, now)?;
        let ex = &self.exchange;
        let order = &ex.orders[&order_id];
        let mut out = ex.order_json(order);
        out["transactTime"] = json!(now);
        if resp_type == "ACK" {
            return Ok(json!({
                "symbol": out["symbol"], "orderId": order_id, "orderListId": -1,
                "clientOrderId": out["clientOrderId"], "transactTime": now,
            }));
        }
        if let Some(map) = out.as_object_mut() {
            for gone in ["time", "updateTime", "isWorking"] {
                map.remove(gone);
            }
        }
        if resp_type == "FULL" {
            out["fills"] = Value::Array(trade_ids.iter().map(|id| ex.fill_json(&ex.trades[id])).collect());
        }
        Ok(out)
    }

    fn cancel_order(&mut self, params: &Params, now: i64) -> Result<Value, SimError> {
        let symbol = self.symbol(params)?.to_owned();
        let order_id = parse_u64(params, "orderId")?;
        let client_id = params.get("origClientOrderId");
        if order_id.is_none() && client_id.is_none() {
            return Err(SimError::EitherOrderId);
        }
        // Another account's order is unknown to this one.
        let found = self.exchange.find_of(&self.account, Some(&symbol), order_id, client_id);
        let id = found.filter(|o| is_open(o.status)).map(|o| o.order_id).ok_or(MatchError::UnknownOrder)?;
        self.exchange.cancel(None, Some(id), None, now)?;
        Ok(self.canceled_json(id, now))
    }

    /// A cancel's answer for the order `id`: the order, its client id as `origClientOrderId`,
    /// the cancel's own id as `clientOrderId`.
    fn canceled_json(&self, id: u64, now: i64) -> Value {
        let Some(order) = self.exchange.orders.get(&id) else { return Value::Null };
        let mut out = self.exchange.order_json(order);
        out["origClientOrderId"] = json!(order.new.client_order_id);
        out["clientOrderId"] = json!(format!("cancel{id}"));
        out["transactTime"] = json!(now);
        out
    }

    /// `DELETE /api/v3/openOrders` and `openOrders.cancelAll`: every open order on the symbol
    /// canceled, oldest first, each answered as a single cancel is; none open is `-2011`
    /// "Unknown order sent.", as Binance answers.
    fn cancel_open_orders(&mut self, params: &Params, now: i64) -> Result<Value, SimError> {
        let symbol = self.symbol(params)?.to_owned();
        let ids: Vec<u64> = self.exchange.open_orders_of(&self.account, Some(&symbol)).map(|o| o.order_id).collect();
        if ids.is_empty() {
            return Err(SimError::UnknownOrderSent);
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            self.exchange.cancel(Some(&symbol), Some(id), None, now)?;
            out.push(self.canceled_json(id, now));
        }
        Ok(Value::Array(out))
    }

    /// `PUT /api/v3/order/amend/keepPriority` and `order.amend.keepPriority`: an open order's
    /// quantity reduced in place (`newQty` positive, on the LOT_SIZE grid and below the order's
    /// quantity), its id and its place in the queue kept; its client id becomes
    /// `newClientOrderId` (the same one keeps it; none sent: a generated one). Refusals leave the
    /// order as it was: `-2038` with the matching engine's message for an order that is not open,
    /// a quantity increase or no change, a `newClientOrderId` another open order holds, or an
    /// order amended [`SimConfig::max_order_amends`] times already (`MAX_NUM_ORDER_AMENDS`); `-2039`
    /// when `orderId` and `origClientOrderId` name different orders.
    fn amend_keep_priority(&mut self, params: &Params, now: i64) -> Result<Value, SimError> {
        const UNKNOWN: &str = "Unknown order sent.";
        let symbol = self.symbol(params)?.to_owned();
        let qty_text = need(params, "newQty")?;
        if !legal_decimal(qty_text) {
            return Err(SimError::IllegalChars { name: "newQty", range: DECIMAL_RANGE });
        }
        let order_id = parse_u64(params, "orderId")?;
        let client_id = params.get("origClientOrderId");
        if order_id.is_none() && client_id.is_none() {
            return Err(SimError::EitherOrderId);
        }
        let new_client = match params.get("newClientOrderId") {
            Some(id) if legal_client_id(id) => Some(id.to_owned()),
            Some(_) => return Err(SimError::IllegalChars { name: "newClientOrderId", range: CLIENT_ID_RANGE }),
            None => None,
        };
        let sym = &self.exchange.symbols[&symbol];
        let new_qty = sym.step_size.units_of(qty_text).map_err(|_| SimError::Filter("LOT_SIZE"))?;
        if new_qty < sym.min_qty_lots {
            return Err(SimError::Filter("LOT_SIZE"));
        }
        let order = self
            .exchange
            .find_of(&self.account, Some(&symbol), order_id, if order_id.is_some() { None } else { client_id })
            .ok_or(SimError::AmendRejected(UNKNOWN))?;
        if order_id.is_some() && client_id.is_some_and(|c| c != order.new.client_order_id) {
            return Err(SimError::ClientIdMismatch);
        }
        if !is_open(order.status) {
            return Err(SimError::AmendRejected(UNKNOWN));
        }
        if new_qty > order.new.qty {
            return Err(SimError::AmendRejected("Order amend (quantity increase) is not supported."));
        }
        if new_qty == order.new.qty {
            return Err(SimError::AmendRejected("The requested action would change no state; rejecting"));
        }
        let (id, orig) = (order.order_id, order.new.client_order_id.clone());
        if self.amends.get(&id).copied().unwrap_or(0) >= self.max_order_amends {
            return Err(SimError::AmendRejected("Filter failure: MAX_NUM_ORDER_AMENDS"));
        }
        let new_client = match new_client {
            Some(c) => c,
            None => {
                self.next_client_id += 1;
                format!("sim{:019}", self.next_client_id)
            }
        };
        let taken = self
            .exchange
            .open_orders_of(&self.account, None)
            .any(|o| o.order_id != id && o.new.client_order_id == new_client);
        if taken {
            return Err(SimError::AmendRejected("Duplicate order sent."));
        }
        self.exchange.reduce_qty(id, new_qty, Some(&new_client), now)?;
        *self.amends.entry(id).or_insert(0) += 1;
        let ex = &self.exchange;
        let mut amended = ex.order_json(&ex.orders[&id]);
        if let Some(map) = amended.as_object_mut() {
            for (from, to) in [("origQty", "qty"), ("cummulativeQuoteQty", "cumulativeQuoteQty")] {
                if let Some(v) = map.remove(from) {
                    map.insert(to.to_owned(), v);
                }
            }
            for gone in ["time", "updateTime", "isWorking"] {
                map.remove(gone);
            }
        }
        amended["origClientOrderId"] = json!(orig);
        amended["preventedQty"] = json!(ex.symbols[&symbol].step_size.format(0));
        amended["quoteOrderQty"] = json!("0");
        Ok(json!({ "transactTime": now, "executionId": ex.last_event_seq(), "amendedOrder": amended }))
    }

    fn my_trades(&self, params: &Params) -> Result<Value, SimError> {
        let symbol = self.symbol(params)?;
        let from_id = parse_u64(params, "fromId")?;
        let order_id = parse_u64(params, "orderId")?;
        let limit = parse_u64(params, "limit")?.unwrap_or(500).clamp(1, 1000) as usize;
        let ex = &self.exchange;
        let mine =
            |t: &&crate::sim::exchange::SimTrade| ex.orders.get(&t.order_id).is_some_and(|o| o.account == self.account);
        let matching = ex.trades.values().filter(|t| {
            t.symbol == symbol && order_id.is_none_or(|o| o == t.order_id) && from_id.is_none_or(|f| t.id >= f)
        });
        let matching = matching.filter(mine);
        let picked: Vec<Value> = if from_id.is_some() {
            matching.take(limit).map(|t| ex.trade_json(t)).collect()
        } else {
            let all: Vec<_> = matching.collect();
            all[all.len().saturating_sub(limit)..].iter().map(|t| ex.trade_json(t)).collect()
        };
        Ok(Value::Array(picked))
    }
}
