//! A local Kraken spot REST venue on 127.0.0.1, for testing order clients without the internet.
//!
//! It speaks Kraken's protocol: every answer is HTTP 200 with `{"error":[..],"result":{..}}`
//! (errors as Kraken's own strings), and checks every private request the way Kraken documents
//! it, in this order:
//!
//! - **Method**: an unknown `/0/private/` or `/0/public/` name is `EGeneral:Unknown method`.
//! - **Key**: the `API-Key` header must name a registered key: else `EAPI:Invalid key`.
//! - **Signature**: `API-Sign` must be base64(HMAC-SHA512(base64-decoded secret, URI path +
//!   SHA-256(nonce + POST body))) of the body exactly as sent: else `EAPI:Invalid signature`.
//! - **Nonce**: the body's `nonce` must be greater than every nonce this key used before (a
//!   refused request does not use it up): else `EAPI:Invalid nonce`.
//! - **Counters** ([`super::rate`]): the API call counter per key (`EAPI:Rate limit exceeded`)
//!   and, for `AddOrder`, `CancelOrder` and `AmendOrder`, the trading counter per pair
//!   (`EOrder:Rate limit exceeded`; its fixed +1 counts even when the order is then refused).
//! - **Parameters** ([`super::sim_orders`]): `EGeneral:Invalid arguments:<name>` for a missing,
//!   malformed or contradictory one, `EQuery:Unknown asset pair`, `EOrder:Invalid price:..` past
//!   the pair's decimals, `EOrder:Order minimum not met` / `EOrder:Cost minimum not met`,
//!   `EOrder:Post only order` for a post-only order that would cross, `EOrder:Unknown order`.
//!
//! **Accounts.** Each registered API key is an account of its own: its orders, fills, balances
//! and dead man's switch. A key's queries list only its own orders and trades; a txid or
//! `cl_ord_id` of another key's order is unknown to it (`EOrder:Unknown order`,
//! `EOrder:Invalid order`), `CancelAll` cancels its own orders only, and a `cl_ord_id` need only
//! be unique within its account.
//!
//! Orders trade against the pair's book (the shared matching engine,
//! [`crate::sim::exchange::SimExchange`]; a recorded Kraken book through
//! [`SimSymbol::from_levels`]); fees are charged in the quote currency (Kraken's default), at
//! the rate [`KrakenSimConfig::fee_rate`] (a maker's at [`KrakenSimConfig::maker_fee_rate`]
//! when set). Two keys' orders trade with each other: a new order, or an `AmendOrder` moving a
//! limit price, that crosses another key's resting order takes it as the taker (a post-only
//! one is refused, `EOrder:Post only order`). Each key's balances start at
//! [`KrakenSimConfig::balances`] and
//! move with every trade; with [`KrakenSimConfig::check_funds`] an order the account cannot pay
//! for (open orders holding their share) is refused with `EOrder:Insufficient funds`
//! ([`super::sim_funds`]).
//! Resting orders fill when the test says another participant traded ([`KrakenSim::trade_at`]).
//!
//! Endpoints: public `Time`, `AssetPairs`; private `AddOrder`, `AddOrderBatch` and
//! `CancelOrderBatch` (a JSON body, [`super::sim_batch_rest`]), `AmendOrder`, `CancelOrder`,
//! `CancelAll`, `OpenOrders`, `ClosedOrders`, `QueryOrders`, `TradesHistory`, `QueryTrades`,
//! `Balance`, `BalanceEx`, `GetWebSocketsToken`, `CancelAllOrdersAfter` (the dead man's switch,
//! shared with the WebSocket front, checked by a timer). The same exchange also answers Kraken's
//! WebSocket v2 order entry ([`super::sim_ws`], [`KrakenSim::start_ws`]).
//!
//! Faults for tests: [`KrakenSim::lose_next_responses`] processes the next requests and then
//! closes the connection without answering. The server stops when the [`KrakenSim`] is dropped.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::rate::{api_cost, Counter, Tier};
use super::sim_sessions::{WsSessions, WsToken};
use crate::order::local_ms;
use crate::signing::KrakenSigner;
use crate::sim::exchange::SimExchange;
pub use crate::sim::exchange::SimSymbol;
use crate::sim::funds::SimFunds;
use crate::sim::{Params, SimAnswer, SimRequest, SimServer, SimVenue};

/// A pair the simulator trades, with Kraken's names and limits.
#[derive(Debug, Clone)]
pub struct KrakenSimPair {
    /// The book and grid; `symbol` is the altname (`"XBTUSD"`), `base_asset` / `quote_asset`
    /// Kraken's asset names (`"XXBT"`, `"ZUSD"`).
    pub symbol: SimSymbol,
    /// The pair's key in `AssetPairs` and its name in trades (`"XXBTZUSD"`).
    pub name: String,
    /// `wsname` (`"XBT/USD"`).
    pub wsname: String,
    /// `ordermin`: minimum volume (base units).
    pub ordermin: Decimal,
    /// `costmin`: minimum cost (quote units).
    pub costmin: Decimal,
}

/// What the simulator serves.
#[derive(Debug, Clone)]
pub struct KrakenSimConfig {
    /// Pairs and their books.
    pub pairs: Vec<KrakenSimPair>,
    /// Registered keys: (API key, secret as Kraken shows it, base64).
    pub keys: Vec<(String, String)>,
    /// The account's tier (its counters).
    pub tier: Tier,
    /// Commission rate (Kraken's starter taker fee, 0.26 %, by default).
    pub fee_rate: Decimal,
    /// A maker's commission rate when it differs from `fee_rate` (Kraken's Starter maker fee is
    /// 0.16 %); `None`: every trade pays `fee_rate`.
    pub maker_fee_rate: Option<Decimal>,
    /// Starting balances by Kraken asset name (`"ZUSD"`, `"XXBT"`), of each key's account.
    pub balances: Vec<(String, Decimal)>,
    /// Whether orders are checked against the balances (`EOrder:Insufficient funds`); off by
    /// default, so a paper venue trades on unlimited funds.
    pub check_funds: bool,
}

impl KrakenSimConfig {
    /// These pairs and keys, the Starter tier, a 0.26 % fee, no balances, funds not checked.
    pub fn new(pairs: Vec<KrakenSimPair>, keys: Vec<(String, String)>) -> Self {
        Self {
            pairs,
            keys,
            tier: Tier::STARTER,
            fee_rate: Decimal::new(26, 4),
            maker_fee_rate: None,
            balances: Vec::new(),
            check_funds: false,
        }
    }
}

/// Kraken's refusal of a call the key has no permission for.
pub const PERMISSION_DENIED: &str = "EGeneral:Permission denied";

/// One of Kraken's refusals: its error string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KrakenError(pub String);

impl KrakenError {
    pub(super) fn new(text: &str) -> Self {
        KrakenError(text.to_owned())
    }

    pub(super) fn invalid(param: &str) -> Self {
        KrakenError(format!("EGeneral:Invalid arguments:{param}"))
    }
}

pub(super) struct Key {
    pub(super) verifier: KrakenSigner,
    pub(super) last_nonce: u64,
    pub(super) api: Counter,
}

#[derive(Debug, Default, Clone)]
pub(super) struct OrderExtra {
    pub(super) userref: Option<i32>,
    pub(super) cl_ord_id: Option<String>,
    pub(super) oflags: String,
    pub(super) reason: Option<&'static str>,
    /// The API key whose account placed the order.
    pub(super) owner: String,
}

/// The simulated venue's state: what its front answers from.
pub struct KrakenSimState {
    pub(super) exchange: SimExchange,
    pub(super) pairs: BTreeMap<String, KrakenSimPair>,
    pub(super) keys: HashMap<String, Key>,
    pub(super) tier: Tier,
    pub(super) trading: HashMap<(String, String), Counter>,
    pub(super) extras: HashMap<u64, OrderExtra>,
    /// Each key's account balances (every key starts with [`KrakenSimConfig::balances`]).
    pub(super) funds: SimFunds,
    /// The first key of the config (whose account [`KrakenSim::balances`] shows).
    first_key: String,
    pub(super) tokens: HashMap<String, WsToken>,
    pub(super) ws: WsSessions,
    lose_responses: u32,
    /// Keys without the funds query permission (`Balance`, `BalanceEx`, the `balances` channel).
    pub(super) funds_denied: std::collections::HashSet<String>,
}

/// A running simulator (stops when dropped).
pub type KrakenSim = SimServer<KrakenSimState>;

impl KrakenSim {
    /// Starts serving on 127.0.0.1 (a free port). A key whose secret is not base64 is an error.
    pub async fn start(config: KrakenSimConfig) -> std::io::Result<Self> {
        let mut keys = HashMap::new();
        let first_key = config.keys.first().map(|(k, _)| k.clone()).unwrap_or_default();
        // Kraken charges the fee in the quote currency: a buy holds it too.
        let funds =
            SimFunds::new(config.balances, config.keys.iter().map(|(k, _)| k.clone()), config.check_funds, true);
        for (api_key, secret) in config.keys {
            let verifier = KrakenSigner::new(&secret).map_err(std::io::Error::other)?;
            let api = Counter::new(config.tier.api_max, config.tier.api_decay_milli_per_s);
            keys.insert(api_key, Key { verifier, last_nonce: 0, api });
        }
        let mut exchange = SimExchange::new(config.pairs.iter().map(|p| p.symbol.clone()).collect());
        exchange.fee_rate = config.fee_rate;
        exchange.maker_fee_rate = config.maker_fee_rate;
        exchange.fee_in_quote = true;
        let sim = SimServer::serve(KrakenSimState {
            exchange,
            pairs: config.pairs.into_iter().map(|p| (p.symbol.symbol.clone(), p)).collect(),
            keys,
            tier: config.tier,
            trading: HashMap::new(),
            extras: HashMap::new(),
            funds,
            first_key,
            tokens: HashMap::new(),
            ws: WsSessions::default(),
            lose_responses: 0,
            funds_denied: std::collections::HashSet::new(),
        })
        .await?;
        spawn_dead_man_timer(std::sync::Arc::downgrade(sim.shared()));
        Ok(sim)
    }

    /// Another participant trades `qty` at `price` (decimal text) on the pair (altname): our
    /// resting orders that it crosses fill as makers. Returns how many trades that made.
    pub fn trade_at(&self, pair: &str, price: &str, qty: &str) -> Result<usize, String> {
        let mut state = self.venue();
        let now = local_ms();
        let made = state.exchange.trade_at_text(pair, price, qty, now)?;
        state.settle_balances();
        state.publish();
        Ok(made)
    }

    /// [`KrakenSimState::set_pair_grid`]: the venue changes `pair`'s tick and lot.
    pub fn set_pair_grid(&self, pair: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.venue().set_pair_grid(pair, tick, lot)
    }

    /// Replaces `pair`'s book (price ticks, quantity lots on the pair's grid; `pair` is the
    /// altname, `XBTUSD`): the market moved.
    pub fn set_book(&self, pair: &str, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), String> {
        self.venue().exchange.set_book(pair, bids, asks).map_err(|e| e.to_string())
    }

    /// Open orders (all pairs, every key).
    pub fn open_order_count(&self) -> usize {
        self.venue().exchange.open_orders(None).count()
    }

    /// Open orders of one key's account (all pairs).
    pub fn open_order_count_of(&self, api_key: &str) -> usize {
        self.venue().open_orders_of(api_key)
    }

    /// The quantity (lots, filled included) of the open order with this `cl_ord_id`.
    pub fn open_order_qty(&self, cl_ord_id: &str) -> Option<i64> {
        let state = self.venue();
        let ex = &state.exchange;
        let mut open = ex.open_orders(None);
        open.find(|o| state.extras.get(&o.order_id).and_then(|e| e.cl_ord_id.as_deref()) == Some(cl_ord_id))
            .map(|o| o.new.qty)
    }

    /// Every trade the exchange made for us: (trade id, `cl_ord_id` of its order, lots).
    pub fn trades(&self) -> Vec<(u64, String, i64)> {
        let state = self.venue();
        let ex = &state.exchange;
        ex.trades
            .values()
            .map(|t| {
                let client = state.extras.get(&t.order_id).and_then(|e| e.cl_ord_id.clone());
                (t.id, client.unwrap_or_default(), t.qty)
            })
            .collect()
    }

    /// Sets an asset's balance in the first key's account (a deposit or withdrawal made
    /// elsewhere).
    pub fn set_balance(&self, asset: &str, amount: Decimal) {
        let mut state = self.venue();
        let key = state.first_key.clone();
        state.funds.set_balance(&key, asset, amount);
        state.publish();
    }

    /// Sets an asset's balance in `api_key`'s account (none for an unknown key).
    pub fn set_balance_of(&self, api_key: &str, asset: &str, amount: Decimal) {
        let mut state = self.venue();
        if state.funds.balances_of(api_key).is_some() {
            state.funds.set_balance(api_key, asset, amount);
            state.publish();
        }
    }

    /// Deposits `amount` (positive) of `asset` (Kraken's REST name, `ZUSD`) into `api_key`'s
    /// account; the `balances` channel says so. Returns the new balance.
    pub fn deposit(&self, api_key: &str, asset: &str, amount: Decimal) -> Result<Decimal, String> {
        let mut state = self.venue();
        let balance = state.funds.deposit(api_key, asset, amount, local_ms()).map_err(|e| e.to_string())?;
        state.publish();
        Ok(balance)
    }

    /// Withdraws `amount` (positive) of `asset` from `api_key`'s account, at most what its open
    /// orders do not hold; the `balances` channel says so. Returns the new balance.
    pub fn withdraw(&self, api_key: &str, asset: &str, amount: Decimal) -> Result<Decimal, String> {
        let mut state = self.venue();
        let state = &mut *state;
        let balance =
            state.funds.withdraw(&state.exchange, api_key, asset, amount, local_ms()).map_err(|e| e.to_string())?;
        state.publish();
        Ok(balance)
    }

    /// Sessions subscribed to `balances`.
    pub fn balance_subscribers(&self) -> usize {
        self.venue().ws.balance_subscribers
    }

    /// Takes the funds query permission from `api_key`, as a key created without it: its
    /// `Balance`, `BalanceEx` and `balances` subscriptions are refused with
    /// `EGeneral:Permission denied`.
    pub fn deny_funds_query(&self, api_key: &str) {
        self.venue().funds_denied.insert(api_key.to_owned());
    }

    /// Every asset's balance in the first key's account.
    pub fn balances(&self) -> BTreeMap<String, Decimal> {
        let state = self.venue();
        state.funds.balances_of(&state.first_key).cloned().unwrap_or_default()
    }

    /// Every asset's balance in `api_key`'s account (empty for an unknown key).
    pub fn balances_of(&self, api_key: &str) -> BTreeMap<String, Decimal> {
        self.venue().funds.balances_of(api_key).cloned().unwrap_or_default()
    }

    /// Every asset's (balance, hold) in `api_key`'s account, as `BalanceEx` answers
    /// (`balance`, `hold_trade`), read from the simulator's state: no request, so a test that
    /// looks spends none of the key's nonces or API counter.
    pub fn balance_ex_of(&self, api_key: &str) -> BTreeMap<String, (Decimal, Decimal)> {
        let state = self.venue();
        state.funds.statement(&state.exchange, api_key).into_iter().map(|(a, b)| (a, (b.balance, b.held))).collect()
    }

    /// Makes every WebSocket token `ms` older (a test of their 15-minute first-use window).
    pub fn age_ws_tokens(&self, ms: i64) {
        for token in self.venue().tokens.values_mut() {
            token.created_ms -= ms;
        }
    }

    /// Makes every WebSocket token handed out so far invalid, even one a connection uses (as
    /// if it had expired): the next request naming it is refused with `EAPI:Invalid key`.
    pub fn expire_ws_tokens(&self) {
        self.venue().tokens.clear();
    }

    /// How many WebSocket tokens `GetWebSocketsToken` has handed out and are still valid or
    /// in use.
    pub fn ws_tokens(&self) -> usize {
        self.venue().tokens.len()
    }

    /// When the first armed dead man's switch fires (ms since the epoch), if any key armed one.
    pub fn dead_man_trigger_ms(&self) -> Option<i64> {
        self.venue().ws.dead_man_ms.values().min().copied()
    }

    /// The last nonce the key used (0 if none).
    pub fn last_nonce(&self, api_key: &str) -> u64 {
        self.venue().keys.get(api_key).map_or(0, |k| k.last_nonce)
    }
}

impl SimVenue for KrakenSimState {
    fn handle(&mut self, request: &SimRequest<'_>) -> SimAnswer {
        let now = local_ms();
        self.fire_dead_man_if_due(now);
        let result = self.route(request, now);
        self.publish();
        let body = match result {
            Ok(result) => json!({ "error": [], "result": result }),
            Err(KrakenError(text)) => json!({ "error": [text] }),
        };
        SimAnswer { status: 200, headers: Vec::new(), body: body.to_string() }
    }

    fn responses_to_lose(&mut self) -> &mut u32 {
        &mut self.lose_responses
    }
}

const PRIVATE: [&str; 15] = [
    "AddOrder",
    "AddOrderBatch",
    "CancelOrderBatch",
    "AmendOrder",
    "CancelOrder",
    "CancelAll",
    "OpenOrders",
    "ClosedOrders",
    "QueryOrders",
    "TradesHistory",
    "Balance",
    "QueryTrades",
    "BalanceEx",
    "GetWebSocketsToken",
    "CancelAllOrdersAfter",
];

impl KrakenSimState {
    fn route(&mut self, request: &SimRequest<'_>, now: i64) -> Result<Value, KrakenError> {
        if let Some(method) = request.path.strip_prefix("/0/public/") {
            let params = Params::parse([request.query, request.body]);
            return match method {
                "Time" => Ok(time_json(now)),
                "AssetPairs" => self.asset_pairs(&params),
                _ => Err(KrakenError::new("EGeneral:Unknown method")),
            };
        }
        let method = request.path.strip_prefix("/0/private/").filter(|m| PRIVATE.contains(m));
        let Some(method) = method.filter(|_| request.method == "POST") else {
            return Err(KrakenError::new("EGeneral:Unknown method"));
        };
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        // The batches take a JSON body (its `nonce` a member); the other calls a form.
        let batch = matches!(method, "AddOrderBatch" | "CancelOrderBatch");
        let json_body = header("content-type").is_some_and(|c| c.starts_with("application/json"));
        let (params, body) = if batch && json_body {
            (Params::default(), serde_json::from_str::<serde_json::Map<String, Value>>(request.body).ok())
        } else {
            (Params::parse([request.body]), None)
        };
        let api_key = header("api-key").unwrap_or("").to_owned();
        let key = self.keys.get_mut(&api_key).ok_or(KrakenError::new("EAPI:Invalid key"))?;
        let nonce_text = match &body {
            Some(b) => b.get("nonce").and_then(json_text).unwrap_or_default(),
            None => params.get("nonce").unwrap_or("").to_owned(),
        };
        let nonce_text = nonce_text.as_str();
        let signature = header("api-sign").unwrap_or("");
        if !key.verifier.verify(request.path, nonce_text, request.body, signature) {
            return Err(KrakenError::new("EAPI:Invalid signature"));
        }
        let nonce = nonce_text.parse::<u64>().ok().filter(|&n| n > key.last_nonce);
        key.last_nonce = nonce.ok_or(KrakenError::new("EAPI:Invalid nonce"))?;
        if let Some(cost) = api_cost(method) {
            key.api.try_add(cost, now).map_err(|_| KrakenError::new("EAPI:Rate limit exceeded"))?;
        }
        if params.has_duplicates() {
            return Err(KrakenError::new("EGeneral:Invalid arguments"));
        }
        if matches!(method, "Balance" | "BalanceEx") && self.funds_denied.contains(&api_key) {
            return Err(KrakenError::new(PERMISSION_DENIED));
        }
        if batch {
            let body = body.ok_or(KrakenError::new("EGeneral:Invalid arguments"))?;
            return match method {
                "AddOrderBatch" => self.add_order_batch(&api_key, &body, now),
                _ => self.cancel_order_batch(&api_key, &body, now),
            };
        }
        match method {
            "AddOrder" => self.add_order(&api_key, &params, now),
            "AmendOrder" => self.amend_order(&api_key, &params, now),
            "CancelOrder" => self.cancel_order(&api_key, &params, now),
            "CancelAll" => Ok(self.cancel_all(&api_key, now)),
            "OpenOrders" => self.open_orders(&api_key, &params),
            "ClosedOrders" => self.closed_orders(&api_key, &params),
            "QueryOrders" => self.query_orders(&api_key, &params),
            "TradesHistory" => self.trades_history(&api_key, &params),
            "QueryTrades" => self.query_trades(&api_key, &params),
            "BalanceEx" => Ok(self.balance_ex(&api_key)),
            "GetWebSocketsToken" => self.new_ws_token(&api_key, now),
            "CancelAllOrdersAfter" => self.cancel_all_orders_after(&api_key, &params, now),
            _ => Ok(self.balance(&api_key)),
        }
    }

    /// The venue changes `pair`'s grid (altname; tick and lot as decimal text): `AssetPairs`
    /// and every order check use the new one from now on. The book's levels keep their tick
    /// and lot counts (a test of a grid change, not of prices).
    pub fn set_pair_grid(&mut self, pair: &str, tick: &str, lot: &str) -> Result<(), String> {
        self.exchange.set_grid(pair, tick, lot)?;
        let (tick, lot) = match self.exchange.symbols.get(pair) {
            Some(sym) => (sym.tick_size, sym.step_size),
            None => return Err(format!("no pair {pair}")),
        };
        if let Some(p) = self.pairs.get_mut(pair) {
            (p.symbol.tick_size, p.symbol.step_size) = (tick, lot);
        }
        Ok(())
    }

    /// Open orders of one key's account (all pairs).
    pub fn open_orders_of(&self, api_key: &str) -> usize {
        self.exchange.open_orders(None).filter(|o| self.owned_by(o.order_id, api_key)).count()
    }

    /// Whether order `id` belongs to `api_key`'s account.
    pub(super) fn owned_by(&self, id: u64, api_key: &str) -> bool {
        self.extras.get(&id).is_some_and(|e| e.owner == api_key)
    }

    /// The pair named by its altname or its `AssetPairs` key.
    pub(super) fn pair(&self, name: &str) -> Result<&KrakenSimPair, KrakenError> {
        self.pairs
            .get(name)
            .or_else(|| self.pairs.values().find(|p| p.name == name))
            .ok_or(KrakenError::new("EQuery:Unknown asset pair"))
    }

    /// The trading counter of a key on a pair.
    pub(super) fn trading(&mut self, api_key: &str, pair: &str) -> &mut Counter {
        let tier = self.tier;
        self.trading
            .entry((api_key.to_owned(), pair.to_owned()))
            .or_insert_with(|| Counter::new(tier.trading_max, tier.trading_decay_milli_per_s))
    }

    fn asset_pairs(&self, params: &Params) -> Result<Value, KrakenError> {
        let wanted: Option<Vec<&str>> = params.get("pair").map(|p| p.split(',').collect());
        let mut out = serde_json::Map::new();
        for pair in self.pairs.values() {
            let named = wanted.as_ref().is_none_or(|w| w.iter().any(|n| *n == pair.name || *n == pair.symbol.symbol));
            if named {
                out.insert(pair.name.clone(), asset_pair_json(pair));
            }
        }
        if let Some(w) = &wanted {
            if out.len() < w.len() {
                return Err(KrakenError::new("EQuery:Unknown asset pair"));
            }
        }
        Ok(Value::Object(out))
    }
}

/// A JSON scalar as form text (`None` for an array, an object or null).
pub(super) fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// How often the dead man's switch's trigger time is checked while nobody sends a request.
const DEAD_MAN_TICK: std::time::Duration = std::time::Duration::from_millis(20);

/// Checks the dead man's switch every [`DEAD_MAN_TICK`] until the simulator is dropped: when its
/// trigger time has come, every open order is canceled (and the cancels pushed), whether or not
/// a request arrives.
fn spawn_dead_man_timer(state: std::sync::Weak<crate::sim::SimShared<KrakenSimState>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DEAD_MAN_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(shared) = state.upgrade() else { break };
            let now = local_ms();
            if shared.lock_quietly().dead_man_due(now) {
                // Locked so that the change is signalled: the sessions push the cancels.
                shared.lock().fire_dead_man_if_due(now);
            }
        }
    });
}

/// `Time`: `unixtime` and `rfc1123` (`"Sun, 06 Dec 26 15:00:00 +0000"`).
fn time_json(now_ms: i64) -> Value {
    let secs = now_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::time::civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let weekday = WEEKDAYS[days.rem_euclid(7) as usize];
    let rfc1123 = format!(
        "{weekday}, {day:02} {} {:02} {:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        year % 100,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    json!({ "unixtime": secs, "rfc1123": rfc1123 })
}

fn asset_pair_json(pair: &KrakenSimPair) -> Value {
    let sym = &pair.symbol;
    json!({
        "altname": sym.symbol,
        "wsname": pair.wsname,
        "aclass_base": "currency",
        "base": sym.base_asset,
        "aclass_quote": "currency",
        "quote": sym.quote_asset,
        "lot": "unit",
        "cost_decimals": sym.tick_size.decimal().scale() + sym.step_size.decimal().scale(),
        "pair_decimals": sym.tick_size.decimal().scale(),
        "lot_decimals": sym.step_size.decimal().scale(),
        "lot_multiplier": 1,
        "ordermin": pair.ordermin.to_string(),
        "costmin": pair.costmin.to_string(),
        "tick_size": sym.tick_size.decimal().to_string(),
        "status": "online",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_endpoint_writes_rfc1123_dates() {
        assert_eq!(time_json(0)["rfc1123"], "Thu, 01 Jan 70 00:00:00 +0000");
        assert_eq!(time_json(1_688_669_448_000)["rfc1123"], "Thu, 06 Jul 23 18:50:48 +0000");
        assert_eq!(time_json(1_688_669_448_999)["unixtime"], 1_688_669_448);
    }
}
