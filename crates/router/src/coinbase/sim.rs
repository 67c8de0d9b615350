//! A local Coinbase Advanced Trade REST venue on 127.0.0.1.
//!
//! Every request must carry `Authorization: Bearer <JWT>`: an ES256 token that verifies with a
//! registered key's public key, inside its validity window, whose `uri` claim is this request's
//! method, host and path (`"POST api.coinbase.com/api/v3/brokerage/orders"`); else HTTP 401
//! `{"error":"UNAUTHENTICATED",..}`. Each key may make [`CoinbaseSimConfig::requests_per_s`]
//! requests a second (Coinbase: 30); past that, HTTP 429 `{"error":"RATE_LIMIT_EXCEEDED",..}`.
//! A body that is not the JSON an endpoint takes is HTTP 400 `{"error":"INVALID_ARGUMENT",..}`;
//! an order the venue refuses is HTTP 200 with `"success": false` and an `error_response`
//! naming the reason (`INVALID_LIMIT_PRICE_POST_ONLY`, `INVALID_PRODUCT_ID`,
//! `UNSUPPORTED_ORDER_CONFIGURATION`, `INVALID_SIZE_PRECISION`, `INVALID_PRICE_PRECISION`,
//! `INVALID_NO_LIQUIDITY`; `INVALID_REQUEST` for an order under the product's minimums, the
//! simulator's choice). A `client_order_id` already used returns that order again, as Coinbase
//! documents (a retried request creates nothing).
//!
//! Endpoints: `POST /api/v3/brokerage/orders` (`market_market_ioc`, `limit_limit_gtc` with
//! `post_only`, `sor_limit_ioc`, `limit_limit_fok`; sizes in base units), `POST
//! /api/v3/brokerage/orders/batch_cancel`, `GET /api/v3/brokerage/orders/historical/{id}`,
//! `GET .../historical/batch` (`order_status`, `product_ids`, `limit`, `cursor`) and `GET
//! .../historical/fills` (`order_ids`, `product_ids`, `limit`, `cursor`, newest first).
//!
//! Orders trade against the product's book through the shared matching engine
//! ([`crate::sim::exchange`]); the fee (0.6 % by default) is charged in the quote currency.
//!
//! Each registered key is an account of its own: its requests (and its `user` channel) see its
//! own orders and fills only; another key's order id is not found, a batch cancel of it fails
//! (`UNKNOWN_CANCEL_ORDER`), and a `client_order_id` is unique within the account. Two keys'
//! orders trade with each other as two participants' would: a new order crossing another key's
//! resting order takes it at that order's price (the resting one as maker); a post-only one is
//! refused (`INVALID_LIMIT_PRICE_POST_ONLY`).
//!
//! Each account's balances move with its trades and show in `GET /api/v3/brokerage/accounts`
//! (`available_balance` and `hold` per currency, `sim_account.rs`); with
//! [`CoinbaseSimConfig::check_funds`] an order the account cannot pay for (open orders holding
//! their share) is answered `success: false`, `INSUFFICIENT_FUND`.
//! The `user` WebSocket channel on the same exchange: [`super::sim_ws`], `CoinbaseSim::start_ws`.

use std::collections::HashMap;

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use crate::order::local_ms;
use crate::signing::verify_coinbase_jwt;
pub use crate::sim::exchange::SimSymbol;
use crate::sim::exchange::{is_open, MatchError, SimExchange, SimNewOrder, SimOrder, SimOrderType, SimTif, SimTrade};
use crate::sim::funds::SimFunds;
use crate::sim::{Params, SimAnswer, SimRequest, SimServer, SimVenue};
use crate::time::format_rfc3339_ms;

#[path = "sim_account.rs"]
mod account;

/// What the simulator serves.
#[derive(Debug, Clone)]
pub struct CoinbaseSimConfig {
    /// Products (`symbol` is the product id, `"BAND-GBP"`) and their books.
    pub products: Vec<SimSymbol>,
    /// Registered keys: (key name, public key as an uncompressed P-256 point).
    pub keys: Vec<(String, Vec<u8>)>,
    /// The host the tokens must name (`"api.coinbase.com"`).
    pub host: String,
    /// Requests a second per key (Coinbase: 30).
    pub requests_per_s: u32,
    /// Commission rate.
    pub fee_rate: Decimal,
    /// Starting balances by currency (`"GBP"`, `"BAND"`), of each key's account
    /// (`sim_account.rs`).
    pub balances: Vec<(String, Decimal)>,
    /// Whether orders are checked against the balances (`INSUFFICIENT_FUND`); off by default:
    /// unlimited funds.
    pub check_funds: bool,
}

impl CoinbaseSimConfig {
    /// These products and keys, host `api.coinbase.com`, 30 requests a second, 0.6 % fee.
    pub fn new(products: Vec<SimSymbol>, keys: Vec<(String, Vec<u8>)>) -> Self {
        Self {
            products,
            keys,
            host: "api.coinbase.com".into(),
            requests_per_s: 30,
            fee_rate: Decimal::new(6, 3),
            balances: Vec::new(),
            check_funds: false,
        }
    }
}

struct Placed {
    configuration: Value,
}

/// The simulated venue's state: what its front answers from.
pub struct CoinbaseSimState {
    exchange: SimExchange,
    keys: Vec<(String, Vec<u8>)>,
    host: String,
    requests_per_s: u32,
    windows: HashMap<String, (i64, u32)>,
    /// Orders by (account, client order id).
    by_client_id: HashMap<(String, String), u64>,
    placed: HashMap<u64, Placed>,
    lose_responses: u32,
    /// The account (key name) of the request being handled.
    account: String,
    /// Each key's account balances.
    funds: SimFunds,
}

/// A running simulator (stops when dropped).
pub type CoinbaseSim = SimServer<CoinbaseSimState>;

/// The simulator's order id for its `n`-th order, a UUID.
pub fn order_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// The simulator's trade id for its `n`-th trade, a UUID.
pub fn trade_uuid(n: u64) -> String {
    format!("00000000-0000-4000-9000-{n:012x}")
}

fn parse_uuid(prefix: &str, text: &str) -> Option<u64> {
    let hex = text.strip_prefix(prefix)?;
    (hex.len() == 12).then(|| u64::from_str_radix(hex, 16).ok())?
}

impl CoinbaseSim {
    /// Starts serving on 127.0.0.1 (a free port).
    pub async fn start(config: CoinbaseSimConfig) -> std::io::Result<Self> {
        let mut exchange = SimExchange::new(config.products);
        exchange.fee_rate = config.fee_rate;
        exchange.fee_in_quote = true;
        // The fee is charged in the quote currency: a buy holds it too.
        let names: Vec<String> = config.keys.iter().map(|(name, _)| name.clone()).collect();
        let funds = SimFunds::new(config.balances, names, config.check_funds, true);
        SimServer::serve(CoinbaseSimState {
            exchange,
            keys: config.keys,
            host: config.host,
            requests_per_s: config.requests_per_s,
            windows: HashMap::new(),
            by_client_id: HashMap::new(),
            placed: HashMap::new(),
            lose_responses: 0,
            account: String::new(),
            funds,
        })
        .await
    }

    /// Another participant trades `qty` at `price` (decimal text): our resting orders that it
    /// crosses fill as makers. Returns how many trades that made.
    pub fn trade_at(&self, product: &str, price: &str, qty: &str) -> Result<usize, String> {
        let mut state = self.venue();
        let state = &mut *state;
        let made = state.exchange.trade_at_text(product, price, qty, local_ms())?;
        state.funds.settle(&state.exchange);
        Ok(made)
    }

    /// Replaces `product`'s book (price ticks, quantity lots on the product's grid): the market
    /// moved.
    pub fn set_book(&self, product: &str, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), String> {
        self.venue().exchange.set_book(product, bids, asks).map_err(|e| e.to_string())
    }

    /// [`CoinbaseSimState::set_product_grid`]: the venue changes `product`'s increments.
    pub fn set_product_grid(&self, product: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.venue().set_product_grid(product, tick, lot)
    }

    /// Open orders of one key's account (all products).
    pub fn open_order_count_of(&self, key_name: &str) -> usize {
        self.venue().exchange.open_orders_of(key_name, None).count()
    }

    /// Open orders (all products).
    pub fn open_order_count(&self) -> usize {
        self.venue().exchange.open_orders(None).count()
    }

    /// Every trade the exchange made for us: (trade id, client order id, lots).
    pub fn trades(&self) -> Vec<(String, String, i64)> {
        let state = self.venue();
        let ex = &state.exchange;
        ex.trades
            .values()
            .map(|t| {
                let client = ex.orders.get(&t.order_id).map(|o| o.new.client_order_id.clone()).unwrap_or_default();
                (trade_uuid(t.id), client, t.qty)
            })
            .collect()
    }
}

impl CoinbaseSimState {
    /// The venue changes `product`'s grid (`quote_increment` and `base_increment`, decimal
    /// text): the product's description and every order check use the new one from now on. The
    /// book's levels keep their tick and lot counts (a test of a grid change, not of prices).
    pub fn set_product_grid(&mut self, product: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.exchange.set_grid(product, tick, lot)
    }

    /// Open orders (all products).
    pub fn open_orders(&self) -> usize {
        self.exchange.open_orders(None).count()
    }
}

/// `GET /api/v3/brokerage/market/products/{product_id}` (public, no token): the product as
/// Coinbase describes it, its grid in `quote_increment` (and `price_increment`) and
/// `base_increment`.
fn product_json(p: &SimSymbol) -> String {
    let (tick, step) = (p.tick_size.decimal(), p.step_size.decimal());
    let min_size = Decimal::new(step.mantissa() * i128::from(p.min_qty_lots), step.scale());
    json!({
        "product_id": p.symbol,
        "base_increment": step.to_string(),
        "quote_increment": tick.to_string(),
        "price_increment": tick.to_string(),
        "base_min_size": min_size.to_string(),
        "base_max_size": "10000",
        "quote_min_size": p.min_notional.to_string(),
        "quote_max_size": "100000000",
        "base_currency_id": p.base_asset,
        "quote_currency_id": p.quote_asset,
        "base_display_symbol": p.base_asset,
        "quote_display_symbol": p.quote_asset,
        "display_name": p.symbol,
        "status": "online",
        "product_type": "SPOT",
        "is_disabled": false,
        "trading_disabled": false,
        "cancel_only": false,
        "limit_only": false,
        "post_only": false,
        "auction_mode": false,
        "view_only": false,
    })
    .to_string()
}

/// A refusal before the endpoint: HTTP status and Coinbase's error body.
fn refusal(status: u16, error: &str, message: &str) -> SimAnswer {
    let body = json!({ "error": error, "error_details": message, "message": message });
    SimAnswer { status, headers: Vec::new(), body: body.to_string() }
}

impl SimVenue for CoinbaseSimState {
    fn handle(&mut self, request: &SimRequest<'_>) -> SimAnswer {
        let now = local_ms();
        if let Some(id) = request.path.strip_prefix("/api/v3/brokerage/market/products/") {
            return match (request.method, self.exchange.symbols.get(id)) {
                ("GET", Some(product)) => SimAnswer { status: 200, headers: Vec::new(), body: product_json(product) },
                ("GET", None) => refusal(404, "NOT_FOUND", "ProductID is invalid"),
                _ => refusal(404, "NOT_FOUND", "Not Found"),
            };
        }
        let route = request.path.strip_prefix("/api/v3/brokerage/orders");
        if route.is_none() && request.path != "/api/v3/brokerage/accounts" {
            return refusal(404, "NOT_FOUND", "Not Found");
        }
        let token = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let uri = format!("{} {}{}", request.method, self.host, request.path);
        let key = self.keys.iter().find_map(|(name, public)| {
            verify_coinbase_jwt(token, public, now.div_euclid(1000))
                .ok()
                .filter(|claims| claims.sub == *name && claims.uri == uri)
                .map(|_| name.clone())
        });
        let Some(key) = key else {
            return refusal(401, "UNAUTHENTICATED", "invalid or expired token for this request");
        };
        self.account.clone_from(&key);
        let second = now.div_euclid(1000);
        let window = self.windows.entry(key).or_insert((second, 0));
        if window.0 != second {
            *window = (second, 0);
        }
        window.1 += 1;
        if window.1 > self.requests_per_s {
            return refusal(429, "RATE_LIMIT_EXCEEDED", "Too many requests");
        }
        let params = Params::parse([request.query]);
        let result = match (request.method, route) {
            ("GET", None) => self.list_accounts(&params),
            ("POST", Some("")) => self.create_order(request.body, now),
            ("POST", Some("/batch_cancel")) => self.batch_cancel(request.body, now),
            ("GET", Some("/historical/batch")) => self.list_orders(&params),
            ("GET", Some("/historical/fills")) => self.list_fills(&params),
            ("GET", Some(id)) if id.starts_with("/historical/") => {
                let id = &id["/historical/".len()..];
                let found = parse_uuid("00000000-0000-4000-8000-", id).and_then(|n| self.exchange.orders.get(&n));
                // Another account's order is not found.
                match found.filter(|o| o.account == self.account) {
                    Some(order) => Ok(json!({ "order": self.order_json(order) })),
                    None => return refusal(404, "NOT_FOUND", "order with this orderID was not found"),
                }
            }
            _ => return refusal(404, "NOT_FOUND", "Not Found"),
        };
        match result {
            Ok(body) => SimAnswer { status: 200, headers: Vec::new(), body: body.to_string() },
            Err(message) => refusal(400, "INVALID_ARGUMENT", &message),
        }
    }

    fn responses_to_lose(&mut self) -> &mut u32 {
        &mut self.lose_responses
    }
}

/// An order failure: HTTP 200, `success: false`.
fn failure(reason: &str, message: &str, configuration: &Value) -> Value {
    json!({
        "success": false,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": reason,
            "message": message,
            "error_details": message,
            "new_order_failure_reason": reason,
        },
        "order_configuration": configuration,
    })
}

impl CoinbaseSimState {
    /// The matching engine (the WebSocket front reads it).
    pub(super) fn exchange(&self) -> &SimExchange {
        &self.exchange
    }

    /// The registered keys: (name, public key).
    pub(super) fn key_names_and_public_keys(&self) -> impl Iterator<Item = (&String, &[u8])> + '_ {
        self.keys.iter().map(|(name, public)| (name, public.as_slice()))
    }

    fn create_order(&mut self, body: &str, now: i64) -> Result<Value, String> {
        let request: Value = serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))?;
        let text = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_owned);
        let client_order_id = text("client_order_id").filter(|c| !c.is_empty()).ok_or("client_order_id is required")?;
        let product = text("product_id").ok_or("product_id is required")?;
        let side = text("side").ok_or("side is required")?;
        let configuration = request.get("order_configuration").cloned().ok_or("order_configuration is required")?;
        if let Some(&id) = self.by_client_id.get(&(self.account.clone(), client_order_id.clone())) {
            return Ok(self.success(id));
        }
        let Some(sym) = self.exchange.symbols.get(&product) else {
            return Ok(failure("INVALID_PRODUCT_ID", "Invalid product_id", &configuration));
        };
        let is_buy = match side.as_str() {
            "BUY" => true,
            "SELL" => false,
            _ => return Ok(failure("INVALID_SIDE", "Invalid side", &configuration)),
        };
        let Some((kind, spec)) = configuration.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next())
        else {
            return Ok(failure("UNSUPPORTED_ORDER_CONFIGURATION", "one order configuration", &configuration));
        };
        let field = |name: &str| spec.get(name).and_then(Value::as_str);
        let post_only = spec.get("post_only").and_then(Value::as_bool).unwrap_or(false);
        let order_type = match kind.as_str() {
            "market_market_ioc" if field("base_size").is_some() => SimOrderType::Market,
            "limit_limit_gtc" if post_only => SimOrderType::LimitMaker,
            "limit_limit_gtc" => SimOrderType::Limit(SimTif::Gtc),
            "sor_limit_ioc" => SimOrderType::Limit(SimTif::Ioc),
            "limit_limit_fok" => SimOrderType::Limit(SimTif::Fok),
            _ => {
                return Ok(failure(
                    "UNSUPPORTED_ORDER_CONFIGURATION",
                    "Unsupported order configuration",
                    &configuration,
                ))
            }
        };
        let Some(qty) = field("base_size").and_then(|s| sym.step_size.units_of(s).ok()).filter(|&q| q > 0) else {
            return Ok(failure("INVALID_SIZE_PRECISION", "Invalid base_size", &configuration));
        };
        let price = if order_type == SimOrderType::Market {
            0
        } else {
            match field("limit_price").and_then(|p| sym.tick_size.units_of(p).ok()).filter(|&p| p > 0) {
                Some(p) => p,
                None => return Ok(failure("INVALID_PRICE_PRECISION", "Invalid limit_price", &configuration)),
            }
        };
        let new =
            SimNewOrder { symbol: product, is_buy, order_type, price, qty, client_order_id: client_order_id.clone() };
        let id = match self.funds.place(&mut self.exchange, &self.account, new, now) {
            Ok((id, _)) => id,
            Err(err) => {
                let (reason, message) = match err {
                    MatchError::WouldCross => ("INVALID_LIMIT_PRICE_POST_ONLY", "post-only order would cross"),
                    MatchError::NoLiquidity => ("INVALID_NO_LIQUIDITY", "no liquidity"),
                    MatchError::UnknownSymbol => ("INVALID_PRODUCT_ID", "Invalid product_id"),
                    MatchError::InsufficientFunds => ("INSUFFICIENT_FUND", "Insufficient balance in source account"),
                    _ => ("INVALID_REQUEST", "order size below the product's minimum"),
                };
                return Ok(failure(reason, message, &configuration));
            }
        };
        self.by_client_id.insert((self.account.clone(), client_order_id), id);
        self.placed.insert(id, Placed { configuration });
        Ok(self.success(id))
    }

    fn success(&self, id: u64) -> Value {
        let order = &self.exchange.orders[&id];
        json!({
            "success": true,
            "success_response": {
                "order_id": order_uuid(id),
                "product_id": order.new.symbol,
                "side": if order.new.is_buy { "BUY" } else { "SELL" },
                "client_order_id": order.new.client_order_id,
            },
            "order_configuration": self.placed.get(&id).map(|p| p.configuration.clone()),
        })
    }

    fn batch_cancel(&mut self, body: &str, now: i64) -> Result<Value, String> {
        let request: Value = serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))?;
        let ids = request.get("order_ids").and_then(Value::as_array).ok_or("order_ids is required")?;
        if ids.len() > 100 {
            return Err("at most 100 order_ids".into());
        }
        let mut results = Vec::new();
        for id in ids {
            let text = id.as_str().unwrap_or("");
            let n = parse_uuid("00000000-0000-4000-8000-", text);
            let mine = n.filter(|n| self.exchange.orders.get(n).is_some_and(|o| o.account == self.account));
            let canceled = mine.is_some_and(|n| self.exchange.cancel(None, Some(n), None, now).is_ok());
            results.push(json!({
                "success": canceled,
                "failure_reason": if canceled { "UNKNOWN_CANCEL_FAILURE_REASON" } else { "UNKNOWN_CANCEL_ORDER" },
                "order_id": text,
            }));
        }
        Ok(json!({ "results": results }))
    }

    fn status(order: &SimOrder) -> &'static str {
        match order.status {
            s if is_open(s) => "OPEN",
            "FILLED" => "FILLED",
            "EXPIRED" => "EXPIRED",
            _ => "CANCELLED",
        }
    }

    fn list_orders(&self, params: &Params) -> Result<Value, String> {
        let statuses: Vec<&str> =
            params.0.iter().filter(|(k, _)| k == "order_status").map(|(_, v)| v.as_str()).collect();
        let products: Vec<&str> =
            params.0.iter().filter(|(k, _)| k == "product_ids").map(|(_, v)| v.as_str()).collect();
        let limit =
            params.get("limit").map_or(Ok(100), |l| l.parse::<usize>().map_err(|_| "bad limit"))?.clamp(1, 1000);
        let from = params.get("cursor").map_or(Ok(0), |c| c.parse::<usize>().map_err(|_| "bad cursor"))?;
        let matching: Vec<&SimOrder> = self
            .exchange
            .orders
            .values()
            .rev()
            .filter(|o| o.account == self.account)
            .filter(|o| statuses.is_empty() || statuses.contains(&Self::status(o)))
            .filter(|o| products.is_empty() || products.contains(&o.new.symbol.as_str()))
            .collect();
        let page: Vec<Value> = matching.iter().skip(from).take(limit).map(|o| self.order_json(o)).collect();
        let has_next = from + page.len() < matching.len();
        let cursor = if has_next { (from + page.len()).to_string() } else { String::new() };
        Ok(json!({ "orders": page, "sequence": "0", "has_next": has_next, "cursor": cursor }))
    }

    fn list_fills(&self, params: &Params) -> Result<Value, String> {
        let orders: Vec<u64> = params
            .0
            .iter()
            .filter(|(k, _)| k == "order_ids" || k == "order_id")
            .map(|(_, v)| parse_uuid("00000000-0000-4000-8000-", v).ok_or("bad order id"))
            .collect::<Result<_, _>>()?;
        let products: Vec<&str> =
            params.0.iter().filter(|(k, _)| k == "product_ids").map(|(_, v)| v.as_str()).collect();
        let limit =
            params.get("limit").map_or(Ok(100), |l| l.parse::<usize>().map_err(|_| "bad limit"))?.clamp(1, 1000);
        let from = params.get("cursor").map_or(Ok(0), |c| c.parse::<usize>().map_err(|_| "bad cursor"))?;
        let matching: Vec<&SimTrade> = self
            .exchange
            .trades
            .values()
            .rev()
            .filter(|t| self.exchange.orders.get(&t.order_id).is_some_and(|o| o.account == self.account))
            .filter(|t| orders.is_empty() || orders.contains(&t.order_id))
            .filter(|t| products.is_empty() || products.contains(&t.symbol.as_str()))
            .collect();
        let page: Vec<Value> = matching.iter().skip(from).take(limit).map(|t| self.fill_json(t)).collect();
        let cursor = if from + page.len() < matching.len() { (from + page.len()).to_string() } else { String::new() };
        Ok(json!({ "fills": page, "cursor": cursor }))
    }

    fn order_json(&self, order: &SimOrder) -> Value {
        let Some(sym) = self.exchange.symbols.get(&order.new.symbol) else { return Value::Null };
        let trades: Vec<&SimTrade> = self.exchange.trades.values().filter(|t| t.order_id == order.order_id).collect();
        let fees = trades.iter().fold(Decimal::new(0, 0), |a, t| crate::sim::exchange::add(a, t.commission));
        let (order_type, tif) = match order.new.order_type {
            SimOrderType::Market => ("MARKET", "IMMEDIATE_OR_CANCEL"),
            SimOrderType::Limit(SimTif::Ioc) => ("LIMIT", "IMMEDIATE_OR_CANCEL"),
            SimOrderType::Limit(SimTif::Fok) => ("LIMIT", "FILL_OR_KILL"),
            _ => ("LIMIT", "GOOD_UNTIL_CANCELLED"),
        };
        json!({
            "order_id": order_uuid(order.order_id),
            "product_id": order.new.symbol,
            "user_id": "sim-user",
            "order_configuration": self.placed.get(&order.order_id).map(|p| p.configuration.clone()),
            "side": if order.new.is_buy { "BUY" } else { "SELL" },
            "client_order_id": order.new.client_order_id,
            "status": Self::status(order),
            "time_in_force": tif,
            "created_time": format_rfc3339_ms(order.time_ms),
            "last_fill_time": trades.last().map(|t| format_rfc3339_ms(t.time_ms)),
            "filled_size": sym.step_size.format(order.executed),
            "filled_value": order.cum_quote.to_string(),
            "number_of_fills": trades.len().to_string(),
            "total_fees": fees.to_string(),
            "pending_cancel": false,
            "size_in_quote": false,
            "order_type": order_type,
            "product_type": "SPOT",
            "settled": !is_open(order.status),
            "reject_reason": "",
            "cancel_message": "",
        })
    }

    fn fill_json(&self, trade: &SimTrade) -> Value {
        let Some(sym) = self.exchange.symbols.get(&trade.symbol) else { return Value::Null };
        json!({
            "entry_id": trade_uuid(trade.id),
            "trade_id": trade_uuid(trade.id),
            "order_id": order_uuid(trade.order_id),
            "trade_time": format_rfc3339_ms(trade.time_ms),
            "trade_type": "FILL",
            "price": sym.tick_size.format(trade.price),
            "size": sym.step_size.format(trade.qty),
            "commission": trade.commission.to_string(),
            "product_id": trade.symbol,
            "sequence_timestamp": format_rfc3339_ms(trade.time_ms),
            "liquidity_indicator": if trade.is_maker { "MAKER" } else { "TAKER" },
            "size_in_quote": false,
            "user_id": "sim-user",
            "side": if trade.is_buyer { "BUY" } else { "SELL" },
        })
    }
}
