//! The Kraken simulator's order endpoints: parameters checked as Kraken documents them, orders
//! and trades written in Kraken's JSON.

use serde_json::{json, Value};

use super::ids::{legal_cl_ord_id, parse_txid, txid};
use super::rate::{amend_cost, cancel_cost};
use super::sim::{KrakenError, KrakenSimState, OrderExtra};
use crate::sim::exchange::{is_open, less, MatchError, SimNewOrder, SimOrder, SimOrderType, SimTif, SimTrade};
use crate::sim::Params;

/// An exclusive bound of `TradesHistory`: a trade txid or a unix time (ms).
#[derive(Clone, Copy)]
enum Bound {
    Trade(u64),
    Time(i64),
}

/// Trades and closed orders per page (Kraken: 50).
const PAGE: usize = 50;

impl From<MatchError> for KrakenError {
    fn from(err: MatchError) -> Self {
        KrakenError::new(match err {
            MatchError::UnknownSymbol => "EQuery:Unknown asset pair",
            MatchError::BelowMinQty => "EOrder:Order minimum not met",
            MatchError::BelowMinNotional => "EOrder:Cost minimum not met",
            MatchError::WouldCross => "EOrder:Post only order",
            MatchError::DuplicateClientId => "EOrder:Duplicate cl_ord_id",
            MatchError::NoLiquidity => "EOrder:Insufficient liquidity",
            MatchError::UnknownOrder => "EOrder:Unknown order",
            MatchError::InsufficientFunds => "EOrder:Insufficient funds",
        })
    }
}

/// Digits after the point in decimal text (None if it is not plain decimal text).
fn decimals(text: &str) -> Option<u32> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() && int.len() <= 20 && digits(int) && frac.len() <= 20 && digits(frac))
        .then(|| u32::try_from(frac.len()).unwrap_or(u32::MAX))
}

fn flag(params: &Params, name: &str) -> Result<bool, KrakenError> {
    match params.get(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(KrakenError::invalid(name)),
    }
}

/// A new order whose parameters passed the checks (not yet its funds).
pub(super) struct CheckedOrder {
    new: SimNewOrder,
    market: bool,
    descr: Value,
    validate: bool,
    userref: Option<i32>,
    cl_ord_id: Option<String>,
    oflags: String,
}

impl KrakenSimState {
    pub(super) fn add_order(&mut self, api_key: &str, params: &Params, now: i64) -> Result<Value, KrakenError> {
        self.charge_new_order(api_key, params, now)?;
        let checked = self.check_new_order(params)?;
        self.place_checked(checked, api_key, now)
    }

    /// The trading counter's fixed +1 of a new order on its pair, on receipt (even if the order
    /// then fails validation).
    pub(super) fn charge_new_order(&mut self, api_key: &str, params: &Params, now: i64) -> Result<(), KrakenError> {
        let pair = self.pair(params.get("pair").ok_or(KrakenError::invalid("pair"))?)?;
        let altname = pair.symbol.symbol.clone();
        let counter = self.trading(api_key, &altname);
        counter.try_add(1, now).map_err(|_| KrakenError::new("EOrder:Rate limit exceeded"))
    }

    /// A new order's parameters, checked as `AddOrder` checks them (everything but funds).
    pub(super) fn check_new_order(&self, params: &Params) -> Result<CheckedOrder, KrakenError> {
        let pair = self.pair(params.get("pair").ok_or(KrakenError::invalid("pair"))?)?.clone();
        let altname = pair.symbol.symbol.clone();
        let is_buy = match params.get("type") {
            Some("buy") => true,
            Some("sell") => false,
            _ => return Err(KrakenError::invalid("type")),
        };
        let ordertype = params.get("ordertype").ok_or(KrakenError::invalid("ordertype"))?;
        let market = match ordertype {
            "market" => true,
            "limit" => false,
            _ => return Err(KrakenError::invalid("ordertype")),
        };
        let mut post = false;
        let mut oflags = Vec::new();
        for f in params.get("oflags").map(|f| f.split(',')).into_iter().flatten() {
            match f {
                "post" if !market => post = true,
                "fcib" | "fciq" | "nompp" | "viqc" => {}
                _ => return Err(KrakenError::invalid("oflags")),
            }
            oflags.push(f);
        }
        let tif = match params.get("timeinforce") {
            None | Some("GTC") => SimTif::Gtc,
            Some("IOC") if !post => SimTif::Ioc,
            _ => return Err(KrakenError::invalid("timeinforce")),
        };
        let sym = &pair.symbol;
        let volume = params.get("volume").ok_or(KrakenError::invalid("volume"))?;
        if decimals(volume).is_none_or(|d| d > sym.step_size.decimal().scale()) {
            return Err(KrakenError::invalid("volume"));
        }
        let qty = sym.step_size.units_of(volume).map_err(|_| KrakenError::invalid("volume"))?;
        if qty <= 0 {
            return Err(KrakenError::invalid("volume"));
        }
        if less(sym.step_size.value(qty), pair.ordermin) {
            return Err(MatchError::BelowMinQty.into());
        }
        let price = match (market, params.get("price")) {
            (true, None) => 0,
            (true, Some(_)) => return Err(KrakenError::invalid("price")),
            (false, None) => return Err(KrakenError::invalid("price")),
            (false, Some(text)) => {
                let places = sym.tick_size.decimal().scale();
                let off_grid = || {
                    KrakenError(format!(
                        "EOrder:Invalid price:{altname} price can only be specified up to {places} decimals."
                    ))
                };
                if decimals(text).is_none_or(|d| d > places) {
                    return Err(off_grid());
                }
                let ticks = sym.tick_size.units_of(text).map_err(|_| off_grid())?;
                if ticks <= 0 {
                    return Err(KrakenError::invalid("price"));
                }
                if less(sym.notional(ticks, qty), pair.costmin) {
                    return Err(MatchError::BelowMinNotional.into());
                }
                ticks
            }
        };
        let cl_ord_id = params.get("cl_ord_id").map(str::to_owned);
        let userref = params.get("userref").map(|u| u.parse::<i32>().map_err(|_| KrakenError::invalid("userref")));
        let userref = userref.transpose()?;
        if cl_ord_id.as_deref().is_some_and(|c| !legal_cl_ord_id(c)) || (cl_ord_id.is_some() && userref.is_some()) {
            return Err(KrakenError::invalid("cl_ord_id"));
        }
        let validate = flag(params, "validate")?;
        let side = if is_buy { "buy" } else { "sell" };
        let price_text = if market { "market".to_owned() } else { format!("limit {}", sym.tick_size.format(price)) };
        let descr = json!({ "order": format!("{side} {volume} {altname} @ {price_text}") });
        let order_type = match (market, post) {
            (true, _) => SimOrderType::Market,
            (false, true) => SimOrderType::LimitMaker,
            (false, false) => SimOrderType::Limit(tif),
        };
        // The engine's client-id uniqueness applies to cl_ord_id; orders without one get a
        // private id of their own (set when placed).
        let engine_client_id = cl_ord_id.clone().unwrap_or_default();
        let new = SimNewOrder { symbol: altname, is_buy, order_type, price, qty, client_order_id: engine_client_id };
        Ok(CheckedOrder { new, market, descr, validate, userref, cl_ord_id, oflags: oflags.join(",") })
    }

    /// A checked order's funds in `api_key`'s account, then (unless it only validates) the
    /// order placed in that account.
    pub(super) fn place_checked(
        &mut self,
        checked: CheckedOrder,
        api_key: &str,
        now: i64,
    ) -> Result<Value, KrakenError> {
        let CheckedOrder { mut new, market, descr, validate, userref, cl_ord_id, oflags } = checked;
        self.check_new_order_funds(api_key, &new.symbol, new.is_buy, (!market).then_some(new.price), new.qty)?;
        if validate {
            return Ok(json!({ "descr": descr }));
        }
        // The engine's client ids are unique per account: a `cl_ord_id` another key uses is
        // no duplicate.
        new.client_order_id = match &cl_ord_id {
            Some(cl) => format!("{api_key}\u{1f}{cl}"),
            None => format!("#{}", self.exchange.orders.len()),
        };
        // Another account's resting orders are counterparties like the book's (a key never
        // trades with its own orders).
        let (order_id, _) = self.exchange.place_for(api_key, new, now)?;
        let reason = (self.exchange.orders[&order_id].status == "EXPIRED").then_some("Unfilled remainder of IOC");
        let owner = api_key.to_owned();
        self.extras.insert(order_id, OrderExtra { userref, cl_ord_id, oflags, reason, owner });
        self.settle_balances();
        Ok(json!({ "descr": descr, "txid": [txid(b'O', order_id)] }))
    }

    /// `AmendOrder`: a new quantity and/or limit price for an open limit order, keeping its
    /// queue place when only the quantity goes down (the engine keeps our resting orders outside
    /// the book, so every amend keeps it here). A limit price moved across the book or another
    /// account's resting order trades there at once, the amended order as the taker
    /// ([`crate::sim::exchange::SimExchange::amend`]); with `post_only=true`, or on an order
    /// placed post-only (`oflags=post`), such an amend is refused (`EOrder:Post only order`)
    /// and the order stays as it was.
    pub(super) fn amend_order(&mut self, api_key: &str, params: &Params, now: i64) -> Result<Value, KrakenError> {
        let id = self.named_order(api_key, params)?;
        let order = &self.exchange.orders[&id];
        if !is_open(order.status) {
            return Err(KrakenError::new("EOrder:Unknown order"));
        }
        let post_only = flag(params, "post_only")?
            || self.extras.get(&id).is_some_and(|e| e.oflags.split(',').any(|f| f == "post"));
        let symbol = order.new.symbol.clone();
        let age = now - order.update_ms;
        let counter = self.trading(api_key, &symbol);
        counter.try_add(amend_cost(age), now).map_err(|_| KrakenError::new("EOrder:Rate limit exceeded"))?;
        let sym = &self.exchange.symbols[&symbol];
        let new_qty = params
            .get("order_qty")
            .map(|q| sym.step_size.units_of(q).map_err(|_| KrakenError::invalid("order_qty")))
            .transpose()?;
        let new_price = params
            .get("limit_price")
            .map(|p| sym.tick_size.units_of(p).map_err(|_| KrakenError::invalid("limit_price")))
            .transpose()?;
        if new_qty.is_none() && new_price.is_none() {
            return Err(KrakenError::new("EGeneral:Invalid arguments"));
        }
        let current = &self.exchange.orders[&id];
        if new_qty.is_some_and(|q| q <= current.executed) {
            return Err(KrakenError::invalid("order_qty"));
        }
        let (qty, price) =
            (new_qty.unwrap_or(current.new.qty), new_price.filter(|&p| p > 0).unwrap_or(current.new.price));
        self.check_amend_funds(id, qty, price)?;
        self.exchange.amend(id, qty, price, post_only, now)?;
        self.settle_balances();
        Ok(json!({ "amend_id": txid(b'A', id) }))
    }

    /// The order of `api_key`'s account a request names by `txid` or `cl_ord_id` (another
    /// account's order is unknown).
    fn named_order(&self, api_key: &str, params: &Params) -> Result<u64, KrakenError> {
        match (params.get("txid"), params.get("cl_ord_id")) {
            (Some(t), None) => parse_txid(b'O', t).filter(|&id| self.owned_by(id, api_key)),
            (None, Some(c)) => self
                .exchange
                .orders
                .values()
                .rev()
                .find(|o| {
                    self.extras
                        .get(&o.order_id)
                        .is_some_and(|e| e.owner == api_key && e.cl_ord_id.as_deref() == Some(c))
                })
                .map(|o| o.order_id),
            _ => return Err(KrakenError::new("EGeneral:Invalid arguments")),
        }
        .ok_or(KrakenError::new("EOrder:Unknown order"))
    }

    pub(super) fn cancel_order(&mut self, api_key: &str, params: &Params, now: i64) -> Result<Value, KrakenError> {
        // `txid` may also be a userref (an integer): every open order carrying it.
        let by_userref = params.get("txid").and_then(|t| t.parse::<i32>().ok());
        let ids: Vec<u64> = match by_userref {
            Some(userref) => self
                .exchange
                .open_orders(None)
                .filter(|o| {
                    self.extras.get(&o.order_id).is_some_and(|e| e.owner == api_key && e.userref == Some(userref))
                })
                .map(|o| o.order_id)
                .collect(),
            None => vec![self.named_order(api_key, params)?],
        };
        let open: Vec<u64> = ids.into_iter().filter(|id| is_open(self.exchange.orders[id].status)).collect();
        if open.is_empty() {
            return Err(KrakenError::new("EOrder:Unknown order"));
        }
        for &id in &open {
            let order = &self.exchange.orders[&id];
            let (symbol, age) = (order.new.symbol.clone(), now - order.time_ms);
            let counter = self.trading(api_key, &symbol);
            counter.try_add(cancel_cost(age), now).map_err(|_| KrakenError::new("EOrder:Rate limit exceeded"))?;
        }
        for &id in &open {
            self.exchange.cancel(None, Some(id), None, now)?;
            self.extras.entry(id).or_default().reason = Some("User requested");
        }
        Ok(json!({ "count": open.len() }))
    }

    /// `CancelAll`: every open order of `api_key`'s account.
    pub(super) fn cancel_all(&mut self, api_key: &str, now: i64) -> Value {
        let open: Vec<u64> =
            self.exchange.open_orders(None).map(|o| o.order_id).filter(|&id| self.owned_by(id, api_key)).collect();
        for &id in &open {
            if self.exchange.cancel(None, Some(id), None, now).is_ok() {
                self.extras.entry(id).or_default().reason = Some("User requested");
            }
        }
        json!({ "count": open.len() })
    }

    fn matches_filters(&self, order: &SimOrder, params: &Params) -> Result<bool, KrakenError> {
        let extra = self.extras.get(&order.order_id);
        let userref = params.get("userref").map(|u| u.parse::<i32>().map_err(|_| KrakenError::invalid("userref")));
        let userref = userref.transpose()?;
        let cl = params.get("cl_ord_id");
        Ok(userref.is_none_or(|u| extra.and_then(|e| e.userref) == Some(u))
            && cl.is_none_or(|c| extra.and_then(|e| e.cl_ord_id.as_deref()) == Some(c)))
    }

    pub(super) fn open_orders(&self, api_key: &str, params: &Params) -> Result<Value, KrakenError> {
        let trades = flag(params, "trades")?;
        let mut open = serde_json::Map::new();
        for order in self.exchange.open_orders(None).filter(|o| self.owned_by(o.order_id, api_key)) {
            if self.matches_filters(order, params)? {
                open.insert(txid(b'O', order.order_id), self.order_json(order, trades));
            }
        }
        Ok(json!({ "open": open }))
    }

    pub(super) fn closed_orders(&self, api_key: &str, params: &Params) -> Result<Value, KrakenError> {
        let trades = flag(params, "trades")?;
        let ofs = params.get("ofs").map(|o| o.parse::<usize>().map_err(|_| KrakenError::invalid("ofs"))).transpose()?;
        let mut closed = Vec::new();
        let mine = |o: &&SimOrder| !is_open(o.status) && self.owned_by(o.order_id, api_key);
        for order in self.exchange.orders.values().rev().filter(mine) {
            if self.matches_filters(order, params)? {
                closed.push(order);
            }
        }
        let count = closed.len();
        let page = closed.into_iter().skip(ofs.unwrap_or(0)).take(PAGE);
        let closed: serde_json::Map<String, Value> =
            page.map(|o| (txid(b'O', o.order_id), self.order_json(o, trades))).collect();
        Ok(json!({ "closed": closed, "count": count }))
    }

    pub(super) fn query_orders(&self, api_key: &str, params: &Params) -> Result<Value, KrakenError> {
        let trades = flag(params, "trades")?;
        let ids = params.get("txid").ok_or(KrakenError::invalid("txid"))?;
        let ids: Vec<&str> = ids.split(',').collect();
        if ids.len() > 50 {
            return Err(KrakenError::invalid("txid"));
        }
        let mut out = serde_json::Map::new();
        for id in ids {
            let order = parse_txid(b'O', id).filter(|&n| self.owned_by(n, api_key));
            let order = order.and_then(|n| self.exchange.orders.get(&n));
            let order = order.ok_or(KrakenError::new("EOrder:Invalid order"))?;
            out.insert(id.to_owned(), self.order_json(order, trades));
        }
        Ok(Value::Object(out))
    }

    /// `TradesHistory`: newest first, 50 a page from `ofs`; `start` / `end` are exclusive
    /// bounds, a unix time or a trade txid; `count` is the number of trades matching.
    pub(super) fn trades_history(&self, api_key: &str, params: &Params) -> Result<Value, KrakenError> {
        if params.get("type").is_some_and(|t| t != "all") {
            return Err(KrakenError::invalid("type"));
        }
        let bound = |name: &'static str| -> Result<Option<Bound>, KrakenError> {
            let Some(text) = params.get(name) else { return Ok(None) };
            if let Some(id) = parse_txid(b'T', text) {
                return Ok(Some(Bound::Trade(id)));
            }
            let secs = wintermute_core::decimal::Decimal::parse(text).map_err(|_| KrakenError::invalid(name))?;
            let ms = secs.mantissa() * 1000 / 10i128.pow(secs.scale());
            Ok(Some(Bound::Time(i64::try_from(ms).unwrap_or(i64::MAX))))
        };
        let (start, end) = (bound("start")?, bound("end")?);
        let ofs = params.get("ofs").map(|o| o.parse::<usize>().map_err(|_| KrakenError::invalid("ofs"))).transpose()?;
        let after = |t: &SimTrade| match start {
            None => true,
            Some(Bound::Trade(id)) => t.id > id,
            Some(Bound::Time(ms)) => t.time_ms > ms,
        };
        let before = |t: &SimTrade| match end {
            None => true,
            Some(Bound::Trade(id)) => t.id < id,
            Some(Bound::Time(ms)) => t.time_ms < ms,
        };
        let matching: Vec<&SimTrade> = self
            .exchange
            .trades
            .values()
            .rev()
            .filter(|t| self.owned_by(t.order_id, api_key) && after(t) && before(t))
            .collect();
        let count = matching.len();
        let trades: serde_json::Map<String, Value> = matching
            .into_iter()
            .skip(ofs.unwrap_or(0))
            .take(PAGE)
            .map(|t| (txid(b'T', t.id), self.trade_json(t)))
            .collect();
        Ok(json!({ "trades": trades, "count": count }))
    }

    pub(super) fn query_trades(&self, api_key: &str, params: &Params) -> Result<Value, KrakenError> {
        let ids = params.get("txid").ok_or(KrakenError::invalid("txid"))?;
        let mut out = serde_json::Map::new();
        for id in ids.split(',') {
            let trade = parse_txid(b'T', id).and_then(|n| self.exchange.trades.get(&n));
            let trade = trade.filter(|t| self.owned_by(t.order_id, api_key));
            let trade = trade.ok_or(KrakenError::new("EOrder:Invalid order"))?;
            out.insert(id.to_owned(), self.trade_json(trade));
        }
        Ok(Value::Object(out))
    }

    /// An order in Kraken's JSON (`OpenOrders`, `ClosedOrders`, `QueryOrders`).
    pub(super) fn order_json(&self, order: &SimOrder, with_trades: bool) -> Value {
        let Some(sym) = self.exchange.symbols.get(&order.new.symbol) else { return Value::Null };
        let extra = self.extras.get(&order.order_id).cloned().unwrap_or_default();
        let status = match order.status {
            "NEW" | "PARTIALLY_FILLED" => "open",
            "FILLED" => "closed",
            "EXPIRED" => "expired",
            _ => "canceled",
        };
        let side = if order.new.is_buy { "buy" } else { "sell" };
        let (ordertype, price) = match order.new.order_type {
            SimOrderType::Market => ("market", "0".to_owned()),
            _ => ("limit", sym.tick_size.format(order.new.price)),
        };
        let volume = sym.step_size.format(order.new.qty);
        let shown = if ordertype == "market" { "market".to_owned() } else { format!("limit {price}") };
        let trades: Vec<&SimTrade> = self.exchange.trades.values().filter(|t| t.order_id == order.order_id).collect();
        let fee = trades
            .iter()
            .fold(wintermute_core::decimal::Decimal::new(0, 0), |a, t| crate::sim::exchange::add(a, t.commission));
        let avg = average_price(sym, order);
        let mut out = json!({
            "refid": null,
            "userref": extra.userref.unwrap_or(0),
            "status": status,
            "opentm": seconds(order.time_ms),
            "starttm": 0,
            "expiretm": 0,
            "descr": {
                "pair": order.new.symbol,
                "type": side,
                "ordertype": ordertype,
                "price": price,
                "price2": "0",
                "leverage": "none",
                "order": format!("{side} {volume} {} @ {shown}", order.new.symbol),
                "close": "",
            },
            "vol": volume,
            "vol_exec": sym.step_size.format(order.executed),
            "cost": order.cum_quote.to_string(),
            "fee": fee.to_string(),
            "price": avg,
            "stopprice": "0",
            "limitprice": "0",
            "misc": "",
            "oflags": extra.oflags,
        });
        if let Some(cl) = &extra.cl_ord_id {
            out["cl_ord_id"] = json!(cl);
        }
        if status != "open" {
            out["closetm"] = json!(seconds(order.update_ms));
            out["reason"] = json!(extra.reason);
        }
        if with_trades && !trades.is_empty() {
            out["trades"] = json!(trades.iter().map(|t| txid(b'T', t.id)).collect::<Vec<_>>());
        }
        out
    }

    /// A trade in Kraken's JSON (`TradesHistory`, `QueryTrades`).
    pub(super) fn trade_json(&self, trade: &SimTrade) -> Value {
        let Some(sym) = self.exchange.symbols.get(&trade.symbol) else { return Value::Null };
        let pair = self.pairs.get(&trade.symbol).map_or(trade.symbol.as_str(), |p| p.name.as_str());
        let ordertype = match self.exchange.orders.get(&trade.order_id).map(|o| o.new.order_type) {
            Some(SimOrderType::Market) => "market",
            _ => "limit",
        };
        json!({
            "ordertxid": txid(b'O', trade.order_id),
            "postxid": txid(b'P', trade.id),
            "pair": pair,
            "time": seconds(trade.time_ms),
            "type": if trade.is_buyer { "buy" } else { "sell" },
            "ordertype": ordertype,
            "price": sym.tick_size.format(trade.price),
            "cost": sym.notional(trade.price, trade.qty).to_string(),
            "fee": trade.commission.to_string(),
            "vol": sym.step_size.format(trade.qty),
            "margin": "0",
            "leverage": "0",
            "misc": "",
            "trade_id": trade.id,
            "maker": trade.is_maker,
        })
    }
}

/// Milliseconds as Kraken's seconds (a JSON number with the milliseconds as its fraction).
fn seconds(ms: i64) -> Value {
    let text = format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The average fill price at the pair's decimals (rounded half up), `"0"` before any fill.
fn average_price(sym: &crate::sim::exchange::SimSymbol, order: &SimOrder) -> String {
    if order.executed == 0 {
        return "0".to_owned();
    }
    let (cq, tick, lot) = (order.cum_quote, sym.tick_size.decimal(), sym.step_size.decimal());
    // ticks = cum_quote / (executed * lot * tick), all exact, rounded half up.
    let num = cq.mantissa() * 10i128.pow(lot.scale() + tick.scale());
    let den = i128::from(order.executed) * lot.mantissa() * tick.mantissa() * 10i128.pow(cq.scale());
    let ticks = (2 * num + den) / (2 * den);
    sym.tick_size.format(i64::try_from(ticks).unwrap_or(0))
}
