//! The matching engine behind every venue simulator's HTTP front: symbols with their minimums,
//! the book our orders trade against, our open orders and our trades.
//!
//! Our orders take liquidity from the book (and deplete it); what rests waits in our open
//! orders, outside the book, until [`SimExchange::trade_at`] (another participant trading at a
//! price) crosses it. Prices and quantities are integers on each symbol's grid here; each
//! venue's HTTP front converts its decimal text at the edge, maps a [`MatchError`] onto the
//! venue's own error and writes orders and trades in the venue's JSON. Order statuses are kept
//! in Binance's words (`NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`, `EXPIRED`); other
//! fronts translate them.
//!
//! Every change to one of our orders is also logged, in order, as a [`SimEvent`] (accepted, each
//! trade, canceled, expired) with the order's status and executed quantity right after it: what
//! a venue's WebSocket front pushes to its subscribed sessions, whichever front or test hook
//! caused the change. The log keeps the last [`EVENT_LOG_CAPACITY`] events.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde_json::Value;
use wintermute_core::decimal::{Decimal, Step};

/// Why the matching engine refused an order or a cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// No such symbol.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// Below the symbol's minimum quantity.
    #[error("quantity below the minimum")]
    BelowMinQty,
    /// Below the symbol's minimum notional (price × quantity).
    #[error("notional below the minimum")]
    BelowMinNotional,
    /// A post-only order that would take liquidity.
    #[error("post-only order would cross")]
    WouldCross,
    /// The client order id of an order still open.
    #[error("duplicate client order id")]
    DuplicateClientId,
    /// A market order against an empty side of the book.
    #[error("no liquidity")]
    NoLiquidity,
    /// A cancel of an order that is not open.
    #[error("unknown order")]
    UnknownOrder,
    /// More than the account's balance less what its open orders hold ([`super::funds`]).
    #[error("insufficient funds")]
    InsufficientFunds,
}

/// One symbol's static facts and its book.
#[derive(Debug, Clone)]
pub struct SimSymbol {
    /// The venue's symbol (`"BTCUSDT"`, `"XBTUSD"`).
    pub symbol: String,
    /// `"BTC"`.
    pub base_asset: String,
    /// `"USDT"`.
    pub quote_asset: String,
    /// Price tick (Binance's PRICE_FILTER `tickSize`).
    pub tick_size: Step,
    /// Quantity lot (Binance's LOT_SIZE `stepSize`).
    pub step_size: Step,
    /// Minimum quantity, in lots.
    pub min_qty_lots: i64,
    /// Minimum notional (quote units).
    pub min_notional: Decimal,
    /// Bids: price ticks -> quantity lots.
    pub bids: BTreeMap<i64, i64>,
    /// Asks: price ticks -> quantity lots.
    pub asks: BTreeMap<i64, i64>,
}

impl SimSymbol {
    /// A symbol whose book is these levels (price and quantity as decimal text; zero
    /// quantities are skipped), with a minimum of one lot and 5 quote units.
    pub fn from_levels<'t>(
        symbol: &str,
        (base_asset, quote_asset): (&str, &str),
        (tick_size, step_size): (&str, &str),
        bids: impl IntoIterator<Item = (&'t str, &'t str)>,
        asks: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Result<Self, String> {
        let tick = Step::parse(tick_size).map_err(|e| e.to_string())?;
        let step = Step::parse(step_size).map_err(|e| e.to_string())?;
        let side = |levels: &mut dyn Iterator<Item = (&str, &str)>| -> Result<BTreeMap<i64, i64>, String> {
            let mut out = BTreeMap::new();
            for (p, q) in levels {
                let qty = step.units_of(q).map_err(|e| format!("quantity {q:?}: {e}"))?;
                if qty > 0 {
                    out.insert(tick.units_of(p).map_err(|e| format!("price {p:?}: {e}"))?, qty);
                }
            }
            Ok(out)
        };
        Ok(Self {
            symbol: symbol.to_owned(),
            base_asset: base_asset.to_owned(),
            quote_asset: quote_asset.to_owned(),
            tick_size: tick,
            step_size: step,
            min_qty_lots: 1,
            min_notional: Decimal::new(5, 0),
            bids: side(&mut bids.into_iter())?,
            asks: side(&mut asks.into_iter())?,
        })
    }

    /// A symbol whose book is a Binance depth snapshot (`{"lastUpdateId":..,"bids":[["p","q"],..],
    /// "asks":..}`, as `GET /api/v3/depth` returns it and recordings hold it).
    pub fn from_depth_snapshot(
        symbol: &str,
        assets: (&str, &str),
        steps: (&str, &str),
        snapshot_json: &str,
    ) -> Result<Self, String> {
        let snapshot: Value = serde_json::from_str(snapshot_json).map_err(|e| e.to_string())?;
        let side = |name: &str| -> Result<Vec<(&str, &str)>, String> {
            let levels = snapshot[name].as_array().ok_or(format!("no {name} in snapshot"))?;
            levels
                .iter()
                .map(|level| match (level[0].as_str(), level[1].as_str()) {
                    (Some(p), Some(q)) => Ok((p, q)),
                    _ => Err(format!("bad level in {name}")),
                })
                .collect()
        };
        Self::from_levels(symbol, assets, steps, side("bids")?, side("asks")?)
    }

    /// Price × quantity, exact.
    pub fn notional(&self, price: i64, qty: i64) -> Decimal {
        let p = self.tick_size.value(price);
        let q = self.step_size.value(qty);
        Decimal::new(p.mantissa() * q.mantissa(), p.scale() + q.scale())
    }
}

/// `a < b`, exact.
pub fn less(a: Decimal, b: Decimal) -> bool {
    let scale = a.scale().max(b.scale());
    a.mantissa() * 10i128.pow(scale - a.scale()) < b.mantissa() * 10i128.pow(scale - b.scale())
}

fn mul(a: Decimal, b: Decimal) -> Decimal {
    Decimal::new(a.mantissa() * b.mantissa(), a.scale() + b.scale()).normalized()
}

/// Order types the simulator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOrderType {
    /// `LIMIT` with a time in force.
    Limit(SimTif),
    /// `MARKET`.
    Market,
    /// `LIMIT_MAKER` (post-only).
    LimitMaker,
}

/// `timeInForce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimTif {
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
}

/// A validated new order, on the symbol's grid.
#[derive(Debug, Clone)]
pub struct SimNewOrder {
    /// Symbol.
    pub symbol: String,
    /// Buy?
    pub is_buy: bool,
    /// Type.
    pub order_type: SimOrderType,
    /// Limit price in ticks (0 for market).
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
    /// `newClientOrderId`.
    pub client_order_id: String,
}

/// One order as the exchange keeps it.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// The order.
    pub new: SimNewOrder,
    /// `orderId`.
    pub order_id: u64,
    /// Lots executed.
    pub executed: i64,
    /// Quote quantity executed (exact).
    pub cum_quote: Decimal,
    /// `NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`, `EXPIRED`.
    pub status: &'static str,
    /// Creation time, ms.
    pub time_ms: i64,
    /// Last update time, ms.
    pub update_ms: i64,
    /// The account (API key) that placed it; `""` on a venue of one account
    /// ([`SimExchange::place`]). Orders of different accounts trade with each other
    /// ([`SimExchange::place_for`]).
    pub account: String,
}

/// One of our trades.
#[derive(Debug, Clone)]
pub struct SimTrade {
    /// Trade id.
    pub id: u64,
    /// Order id.
    pub order_id: u64,
    /// Symbol.
    pub symbol: String,
    /// Price ticks.
    pub price: i64,
    /// Lots.
    pub qty: i64,
    /// Commission (exact).
    pub commission: Decimal,
    /// Commission asset.
    pub commission_asset: String,
    /// Time, ms.
    pub time_ms: i64,
    /// Buyer?
    pub is_buyer: bool,
    /// Maker?
    pub is_maker: bool,
}

/// What happened to one of our orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimEventKind {
    /// The order was accepted (it may trade and end in the same request: more events follow).
    New,
    /// The order traded (the trade's id).
    Trade(u64),
    /// Our cancel took it off the book.
    Canceled,
    /// The exchange ended it (an IOC or FOK remainder, a market order's unfilled part).
    Expired,
    /// Its quantity was reduced in place ([`SimExchange::reduce_qty`]); it kept its id and its
    /// place among our resting orders.
    Amended,
}

/// One entry of the exchange's event log.
#[derive(Debug, Clone)]
pub struct SimEvent {
    /// Position in the log (1, 2, ...; never reused).
    pub seq: u64,
    /// The order.
    pub order_id: u64,
    /// What happened.
    pub kind: SimEventKind,
    /// The order's status right after it.
    pub status: &'static str,
    /// Lots executed right after it.
    pub executed: i64,
    /// Quote quantity executed right after it (exact).
    pub cum_quote: Decimal,
    /// When, ms.
    pub time_ms: i64,
}

/// How many events the log keeps (older ones are dropped; a reader that far behind reconciles).
pub const EVENT_LOG_CAPACITY: usize = 65_536;

/// The exchange: symbols, orders, trades.
#[derive(Debug)]
pub struct SimExchange {
    /// Symbols by name.
    pub symbols: BTreeMap<String, SimSymbol>,
    /// Every order by id (open and closed).
    pub orders: BTreeMap<u64, SimOrder>,
    /// Every trade by id.
    pub trades: BTreeMap<u64, SimTrade>,
    /// Commission rate (0.001 = 10 bp): a taker's, and a maker's unless `maker_fee_rate`.
    pub fee_rate: Decimal,
    /// A maker's commission rate, when it differs from `fee_rate`.
    pub maker_fee_rate: Option<Decimal>,
    /// Whether the commission is always charged in the quote asset (Kraken's default); else in
    /// the asset received (Binance).
    pub fee_in_quote: bool,
    next_order_id: u64,
    next_trade_id: u64,
    events: VecDeque<SimEvent>,
    last_event_seq: u64,
}

/// Whether an order with this status can still trade.
pub fn is_open(status: &str) -> bool {
    status == "NEW" || status == "PARTIALLY_FILLED"
}

impl SimExchange {
    /// An exchange with these symbols and a 10 bp commission in the asset received.
    pub fn new(symbols: Vec<SimSymbol>) -> Self {
        Self {
            symbols: symbols.into_iter().map(|s| (s.symbol.clone(), s)).collect(),
            orders: BTreeMap::new(),
            trades: BTreeMap::new(),
            fee_rate: Decimal::new(1, 3),
            maker_fee_rate: None,
            fee_in_quote: false,
            next_order_id: 1_000_001,
            next_trade_id: 5_000_001,
            events: VecDeque::new(),
            last_event_seq: 0,
        }
    }

    /// The sequence number of the last event logged (0 before any).
    pub fn last_event_seq(&self) -> u64 {
        self.last_event_seq
    }

    /// The events logged after `seq`, oldest first.
    pub fn events_after(&self, seq: u64) -> impl Iterator<Item = &SimEvent> + '_ {
        let first = self.events.front().map_or(self.last_event_seq + 1, |e| e.seq);
        let skip = usize::try_from(seq.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
        self.events.iter().skip(skip)
    }

    fn log(&mut self, order: &SimOrder, kind: SimEventKind, now_ms: i64) {
        self.last_event_seq += 1;
        if self.events.len() == EVENT_LOG_CAPACITY {
            self.events.pop_front();
        }
        self.events.push_back(SimEvent {
            seq: self.last_event_seq,
            order_id: order.order_id,
            kind,
            status: order.status,
            executed: order.executed,
            cum_quote: order.cum_quote,
            time_ms: now_ms,
        });
    }

    /// Checks the filters and places the order: returns its id and the trades it made.
    pub fn place(&mut self, new: SimNewOrder, now_ms: i64) -> Result<(u64, Vec<u64>), MatchError> {
        self.place_against(new, now_ms, &HashSet::new())
    }

    /// [`Self::place`], the order also trading with the resting orders in `counterparties`
    /// (another account's orders on the venue) that it crosses, at their limit price, best price
    /// first and at one price oldest first, after the book's level at that price: each such
    /// match is two trades, the resting order's as maker and the new order's as taker. A
    /// post-only order crossing one of them is refused, as one crossing the book.
    pub fn place_against(
        &mut self,
        new: SimNewOrder,
        now_ms: i64,
        counterparties: &HashSet<u64>,
    ) -> Result<(u64, Vec<u64>), MatchError> {
        self.place_in("", new, now_ms, counterparties)
    }

    /// [`Self::place`] in `account`'s name: the order trades with every other account's resting
    /// orders it crosses ([`Self::place_against`] with [`Self::counterparties_of`]), never with
    /// its own account's.
    pub fn place_for(&mut self, account: &str, new: SimNewOrder, now_ms: i64) -> Result<(u64, Vec<u64>), MatchError> {
        let others = self.counterparties_of(account, &new.symbol);
        self.place_in(account, new, now_ms, &others)
    }

    /// The open orders on `symbol` of accounts other than `account`: what `account`'s orders
    /// trade with.
    pub fn counterparties_of(&self, account: &str, symbol: &str) -> HashSet<u64> {
        self.open_orders(Some(symbol)).filter(|o| o.account != account).map(|o| o.order_id).collect()
    }

    /// The open orders of one account (all symbols, or one), oldest first.
    pub fn open_orders_of<'a>(
        &'a self,
        account: &'a str,
        symbol: Option<&'a str>,
    ) -> impl Iterator<Item = &'a SimOrder> + 'a {
        self.open_orders(symbol).filter(move |o| o.account == account)
    }

    /// An order of one account (open or closed) by id or client id ([`Self::find`] among that
    /// account's orders: another account's order is not found).
    pub fn find_of(
        &self,
        account: &str,
        symbol: Option<&str>,
        order_id: Option<u64>,
        client_id: Option<&str>,
    ) -> Option<&SimOrder> {
        self.orders.values().rev().find(|o| {
            o.account == account
                && symbol.is_none_or(|s| s == o.new.symbol)
                && order_id.is_none_or(|id| id == o.order_id)
                && client_id.is_none_or(|c| c == o.new.client_order_id)
        })
    }

    /// The best open order among `counterparties` that a `symbol` order on this side can trade
    /// with within `limit` (any price without one): (price, id); best price first, at one price
    /// the oldest.
    fn best_resting(
        &self,
        symbol: &str,
        is_buy: bool,
        limit: Option<i64>,
        counterparties: &HashSet<u64>,
    ) -> Option<(i64, u64)> {
        let mut best: Option<(i64, u64)> = None;
        for &id in counterparties {
            let Some(o) = self.orders.get(&id) else { continue };
            let (p, open) = (o.new.price, o.new.qty - o.executed);
            if !is_open(o.status) || o.new.symbol != symbol || o.new.is_buy == is_buy || open <= 0 {
                continue;
            }
            if limit.is_some_and(|l| if is_buy { p > l } else { p < l }) {
                continue;
            }
            let better = |(bp, bid): (i64, u64)| {
                if p == bp {
                    id < bid
                } else if is_buy {
                    p < bp
                } else {
                    p > bp
                }
            };
            if best.is_none_or(better) {
                best = Some((p, id));
            }
        }
        best
    }

    /// Whether an order on this side at `price` would take liquidity: it crosses the book's
    /// best level or one of `counterparties`.
    pub(crate) fn would_cross(&self, symbol: &str, is_buy: bool, price: i64, counterparties: &HashSet<u64>) -> bool {
        let Some(sym) = self.symbols.get(symbol) else { return false };
        let best = if is_buy { sym.asks.keys().next() } else { sym.bids.keys().next_back() };
        best.is_some_and(|&b| if is_buy { b <= price } else { b >= price })
            || self.best_resting(symbol, is_buy, Some(price), counterparties).is_some()
    }

    fn place_in(
        &mut self,
        account: &str,
        new: SimNewOrder,
        now_ms: i64,
        counterparties: &HashSet<u64>,
    ) -> Result<(u64, Vec<u64>), MatchError> {
        self.check_order_against(account, &new, counterparties)?;
        let limit = match new.order_type {
            SimOrderType::Market => None,
            _ => Some(new.price),
        };
        let within = |p: i64| limit.is_none_or(|l| if new.is_buy { p <= l } else { p >= l });
        let resting_available: i64 = counterparties
            .iter()
            .filter_map(|id| self.orders.get(id))
            .filter(|o| is_open(o.status) && o.new.symbol == new.symbol && o.new.is_buy != new.is_buy)
            .filter(|o| within(o.new.price))
            .map(|o| o.new.qty - o.executed)
            .sum();
        let book = self.symbols.get(&new.symbol).map(|s| if new.is_buy { &s.asks } else { &s.bids });
        let book_available: i64 = book.into_iter().flatten().filter(|(&p, _)| within(p)).map(|(_, &q)| q).sum();
        let available = book_available + resting_available;
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        let mut order = SimOrder {
            new: new.clone(),
            order_id,
            executed: 0,
            cum_quote: Decimal::new(0, 0),
            status: "NEW",
            time_ms: now_ms,
            update_ms: now_ms,
            account: account.to_owned(),
        };
        self.log(&order, SimEventKind::New, now_ms);
        let fok_short = new.order_type == SimOrderType::Limit(SimTif::Fok) && available < new.qty;
        let mut trade_ids = Vec::new();
        if !fok_short && new.order_type != SimOrderType::LimitMaker {
            trade_ids = self.take(&mut order, limit, counterparties, now_ms);
        }
        let rests = matches!(new.order_type, SimOrderType::Limit(SimTif::Gtc) | SimOrderType::LimitMaker);
        order.status = if order.executed == new.qty {
            "FILLED"
        } else if !rests {
            "EXPIRED"
        } else if order.executed > 0 {
            "PARTIALLY_FILLED"
        } else {
            "NEW"
        };
        if order.status == "EXPIRED" {
            self.log(&order, SimEventKind::Expired, now_ms);
        }
        self.orders.insert(order_id, order);
        Ok((order_id, trade_ids))
    }

    /// `order` (out of `orders` while it trades) takes liquidity up to its quantity within
    /// `limit`: the book's levels and the resting orders among `counterparties`, best price
    /// first, another account's order before the book's level at one price only when strictly
    /// better. Each match with a resting order is two trades, the resting order's as maker and
    /// `order`'s as taker. Returns `order`'s trade ids.
    fn take(
        &mut self,
        order: &mut SimOrder,
        limit: Option<i64>,
        counterparties: &HashSet<u64>,
        now_ms: i64,
    ) -> Vec<u64> {
        let (symbol, is_buy, qty_wanted) = (order.new.symbol.clone(), order.new.is_buy, order.new.qty);
        let mut trade_ids = Vec::new();
        while order.executed < qty_wanted {
            let resting = self.best_resting(&symbol, is_buy, limit, counterparties);
            let Some(sym) = self.symbols.get_mut(&symbol) else { break };
            let book = if is_buy { &mut sym.asks } else { &mut sym.bids };
            let level = if is_buy { book.iter_mut().next() } else { book.iter_mut().next_back() };
            let level = level
                .map(|(&p, q)| (p, q))
                .filter(|&(p, _)| limit.is_none_or(|l| if is_buy { p <= l } else { p >= l }));
            // Another account's order strictly better than the book's level trades first.
            let resting =
                resting.filter(|&(rp, _)| level.as_ref().is_none_or(|&(p, _)| if is_buy { rp < p } else { rp > p }));
            if let Some((price, maker_id)) = resting {
                let Some(mut maker) = self.orders.remove(&maker_id) else { break };
                let qty = (maker.new.qty - maker.executed).min(qty_wanted - order.executed);
                let maker_trade = self.record_trade(&mut maker, price, qty, true, now_ms);
                maker.status = if maker.executed == maker.new.qty { "FILLED" } else { "PARTIALLY_FILLED" };
                self.log(&maker, SimEventKind::Trade(maker_trade), now_ms);
                self.orders.insert(maker_id, maker);
                let trade_id = self.record_trade(order, price, qty, false, now_ms);
                order.status = if order.executed == qty_wanted { "FILLED" } else { "PARTIALLY_FILLED" };
                self.log(order, SimEventKind::Trade(trade_id), now_ms);
                trade_ids.push(trade_id);
                continue;
            }
            let Some((price, level_qty)) = level else { break };
            let qty = (*level_qty).min(qty_wanted - order.executed);
            *level_qty -= qty;
            if *level_qty == 0 {
                book.remove(&price);
            }
            let trade_id = self.record_trade(order, price, qty, false, now_ms);
            order.status = if order.executed == qty_wanted { "FILLED" } else { "PARTIALLY_FILLED" };
            self.log(order, SimEventKind::Trade(trade_id), now_ms);
            trade_ids.push(trade_id);
        }
        trade_ids
    }

    /// Amends an open order in place, keeping its id: its quantity to `qty` lots (above what
    /// executed; the caller checks) and its limit price to `price` ticks. Moved to a price that
    /// crosses the book or another account's resting order it trades there at once as a taker,
    /// as a new order would ([`Self::place_for`]); what remains rests at the new price. With
    /// `post_only`, an amend that would take liquidity is refused ([`MatchError::WouldCross`])
    /// and changes nothing. Returns the trade ids.
    pub fn amend(
        &mut self,
        order_id: u64,
        qty: i64,
        price: i64,
        post_only: bool,
        now_ms: i64,
    ) -> Result<Vec<u64>, MatchError> {
        let order = self.orders.get(&order_id).filter(|o| is_open(o.status)).ok_or(MatchError::UnknownOrder)?;
        let (symbol, is_buy, moves) = (order.new.symbol.clone(), order.new.is_buy, order.new.price != price);
        let others = self.counterparties_of(&order.account, &symbol);
        if moves && post_only && self.would_cross(&symbol, is_buy, price, &others) {
            return Err(MatchError::WouldCross);
        }
        let Some(mut order) = self.orders.remove(&order_id) else { return Err(MatchError::UnknownOrder) };
        order.new.qty = qty.max(order.executed);
        order.new.price = price;
        order.update_ms = now_ms;
        self.log(&order, SimEventKind::Amended, now_ms);
        let trades = if moves { self.take(&mut order, Some(price), &others, now_ms) } else { Vec::new() };
        if order.executed >= order.new.qty {
            order.status = "FILLED";
        }
        self.orders.insert(order_id, order);
        Ok(trades)
    }

    fn record_trade(&mut self, order: &mut SimOrder, price: i64, qty: i64, is_maker: bool, now_ms: i64) -> u64 {
        let id = self.next_trade_id;
        self.next_trade_id += 1;
        let (notional, base, quote, qty_dec) = match self.symbols.get(&order.new.symbol) {
            Some(s) => (s.notional(price, qty), s.base_asset.clone(), s.quote_asset.clone(), s.step_size.value(qty)),
            None => (Decimal::new(0, 0), String::new(), String::new(), Decimal::new(0, 0)),
        };
        let rate = if is_maker { self.maker_fee_rate.unwrap_or(self.fee_rate) } else { self.fee_rate };
        let (commission, commission_asset) = if order.new.is_buy && !self.fee_in_quote {
            (mul(qty_dec, rate), base)
        } else {
            (mul(notional, rate), quote)
        };
        let sum = add(order.cum_quote, notional);
        order.cum_quote = sum;
        order.executed += qty;
        order.update_ms = now_ms;
        self.trades.insert(
            id,
            SimTrade {
                id,
                order_id: order.order_id,
                symbol: order.new.symbol.clone(),
                price,
                qty,
                commission,
                commission_asset,
                time_ms: now_ms,
                is_buyer: order.new.is_buy,
                is_maker,
            },
        );
        id
    }

    /// The venue changes `symbol`'s grid (tick and lot as decimal text): its market data and
    /// every order check use the new one from now on. The book's levels and resting orders keep
    /// their tick and lot counts (a test of a grid change, not of prices).
    pub fn set_grid(&mut self, symbol: &str, tick: &str, lot: &str) -> Result<(), String> {
        let tick = wintermute_core::decimal::Step::parse(tick).map_err(|e| e.to_string())?;
        let lot = wintermute_core::decimal::Step::parse(lot).map_err(|e| e.to_string())?;
        let sym = self.symbols.get_mut(symbol).ok_or_else(|| format!("no symbol {symbol}"))?;
        (sym.tick_size, sym.step_size) = (tick, lot);
        Ok(())
    }

    /// Replaces `symbol`'s book with these levels (price ticks, quantity lots; a non-positive
    /// quantity is skipped): the market moved. Our resting orders are not matched against it
    /// (they fill through [`SimExchange::trade_at`]).
    pub fn set_book(&mut self, symbol: &str, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), MatchError> {
        let sym = self.symbols.get_mut(symbol).ok_or(MatchError::UnknownSymbol)?;
        sym.bids = bids.iter().copied().filter(|&(_, q)| q > 0).collect();
        sym.asks = asks.iter().copied().filter(|&(_, q)| q > 0).collect();
        Ok(())
    }

    /// Cancels an open order by id or client id.
    pub fn cancel(
        &mut self,
        symbol: Option<&str>,
        order_id: Option<u64>,
        client_id: Option<&str>,
        now_ms: i64,
    ) -> Result<u64, MatchError> {
        let found = self.find(symbol, order_id, client_id).filter(|o| is_open(o.status)).map(|o| o.order_id);
        let id = found.ok_or(MatchError::UnknownOrder)?;
        if let Some(mut order) = self.orders.remove(&id) {
            order.status = "CANCELED";
            order.update_ms = now_ms;
            self.log(&order, SimEventKind::Canceled, now_ms);
            self.orders.insert(id, order);
        }
        Ok(id)
    }

    /// Reduces an open order's quantity in place to `new_qty` lots, keeping its id, and so its
    /// time priority among our resting orders ([`Self::trade_at`] fills the oldest first), and
    /// optionally renaming its client order id. A `new_qty` no greater than what already
    /// executed ends the order (`EXPIRED`, its quantity then what executed). The caller checks
    /// that `new_qty` is positive and below the order's quantity.
    pub fn reduce_qty(
        &mut self,
        order_id: u64,
        new_qty: i64,
        new_client_id: Option<&str>,
        now_ms: i64,
    ) -> Result<(), MatchError> {
        let mut order = self.orders.remove(&order_id).ok_or(MatchError::UnknownOrder)?;
        if !is_open(order.status) {
            self.orders.insert(order_id, order);
            return Err(MatchError::UnknownOrder);
        }
        order.new.qty = new_qty.max(order.executed);
        if let Some(id) = new_client_id {
            order.new.client_order_id = id.to_owned();
        }
        order.update_ms = now_ms;
        let ends = order.executed >= new_qty;
        if ends {
            order.status = "EXPIRED";
        }
        self.log(&order, SimEventKind::Amended, now_ms);
        if ends {
            self.log(&order, SimEventKind::Expired, now_ms);
        }
        self.orders.insert(order_id, order);
        Ok(())
    }

    /// An order (open or closed) by id or client id (the latest with that client id).
    pub fn find(&self, symbol: Option<&str>, order_id: Option<u64>, client_id: Option<&str>) -> Option<&SimOrder> {
        self.orders.values().rev().find(|o| {
            symbol.is_none_or(|s| s == o.new.symbol)
                && order_id.is_none_or(|id| id == o.order_id)
                && client_id.is_none_or(|c| c == o.new.client_order_id)
        })
    }

    /// Open orders, oldest first.
    pub fn open_orders<'a>(&'a self, symbol: Option<&'a str>) -> impl Iterator<Item = &'a SimOrder> + 'a {
        self.orders.values().filter(move |o| is_open(o.status) && symbol.is_none_or(|s| s == o.new.symbol))
    }

    /// [`Self::trade_at`] with the price and quantity as decimal text on the symbol's grid;
    /// returns how many trades that made.
    pub fn trade_at_text(&mut self, symbol: &str, price: &str, qty: &str, now_ms: i64) -> Result<usize, String> {
        let sym = self.symbols.get(symbol).ok_or_else(|| format!("unknown symbol: {symbol}"))?;
        let price = sym.tick_size.units_of(price).map_err(|e| e.to_string())?;
        let qty = sym.step_size.units_of(qty).map_err(|e| e.to_string())?;
        Ok(self.trade_at(symbol, price, qty, now_ms).len())
    }

    /// Another participant trades up to `qty` lots at `price` ticks: our resting orders that
    /// price crosses (buys at or above it, sells at or below it) fill at their own limit price,
    /// oldest first, as makers. Returns the trade ids.
    pub fn trade_at(&mut self, symbol: &str, price: i64, mut qty: i64, now_ms: i64) -> Vec<u64> {
        let crossed: Vec<u64> = self
            .open_orders(Some(symbol))
            .filter(|o| if o.new.is_buy { o.new.price >= price } else { o.new.price <= price })
            .map(|o| o.order_id)
            .collect();
        let mut ids = Vec::new();
        for id in crossed {
            let Some(mut order) = self.orders.remove(&id) else { continue };
            let take = (order.new.qty - order.executed).min(qty);
            if take > 0 {
                qty -= take;
                let price = order.new.price;
                let trade_id = self.record_trade(&mut order, price, take, true, now_ms);
                order.status = if order.executed == order.new.qty { "FILLED" } else { "PARTIALLY_FILLED" };
                self.log(&order, SimEventKind::Trade(trade_id), now_ms);
                ids.push(trade_id);
            }
            self.orders.insert(id, order);
        }
        ids
    }
}

/// `a + b`, exact.
pub fn add(a: Decimal, b: Decimal) -> Decimal {
    let scale = a.scale().max(b.scale());
    Decimal::new(a.mantissa() * 10i128.pow(scale - a.scale()) + b.mantissa() * 10i128.pow(scale - b.scale()), scale)
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
