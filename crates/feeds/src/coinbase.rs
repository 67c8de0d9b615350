//! Coinbase: the Exchange feed (`ws-feed.exchange.coinbase.com`) and Advanced Trade
//! (`advanced-trade-ws.coinbase.com`).
//!
//! Exchange messages carry `"type"`:
//!
//! - `snapshot` `{product_id, bids:[[price,size]], asks}`: the whole book;
//! - `l2update` `{product_id, time, changes:[["buy"|"sell", price, size]]}`: absolute sizes, no
//!   sequence number (the channel promises delivery);
//! - `match` / `last_match`: a trade; `side` is the **maker's** side, so the aggressor is the other;
//! - `ticker`: last trade plus `best_bid`/`best_ask` (used to cross-check rebuilt books);
//! - `subscriptions`, `heartbeat`, `error` and anything else as [`CoinbaseMessage::Other`].
//!
//! Advanced Trade messages carry `"channel"` and a per-connection `sequence_num`:
//!
//! - `l2_data` `{events:[{type:"snapshot"|"update", product_id, updates:[{side:"bid"|"offer",
//!   price_level, new_quantity}]}]}` (any side other than `bid` is the ask side);
//! - `market_trades` `{events:[{trades:[{trade_id, product_id, price, size, side, time}]}]}`;
//! - other channels (`heartbeats`, `subscriptions`, `ticker`) as [`CoinbaseMessage::Sequenced`], so
//!   the builder can still follow the sequence.

use crate::book::{Level, Side};
use crate::error::FeedError;
use crate::json::Scanner;
use crate::message::{Aggressor, LevelUpdate, Symbol, Trade};
use crate::timestamp::parse_rfc3339;
use wintermute_core::decimal::{Decimal, InlineStr};

const VENUE: &str = "coinbase";

/// Exchange message types that are recognised but carry nothing this crate uses.
const KNOWN_TYPES: &[&str] =
    &["subscriptions", "heartbeat", "error", "status", "received", "open", "done", "change", "activate"];

/// One product's part of an Advanced Trade `l2_data` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookEvent {
    /// Product id.
    pub product: Symbol,
    /// `type == "snapshot"`.
    pub snapshot: bool,
    start: u32,
    end: u32,
}

/// A parsed frame.
#[derive(Debug, Clone, Copy)]
pub enum CoinbaseMessage<'a> {
    /// Exchange `snapshot`.
    Snapshot {
        /// Product id.
        product: Symbol,
        /// Bids as sent.
        bids: &'a [Level],
        /// Asks as sent.
        asks: &'a [Level],
    },
    /// Exchange `l2update`.
    L2Update {
        /// Product id.
        product: Symbol,
        /// Changes in message order.
        changes: &'a [LevelUpdate],
        /// `time`: exchange time in ns since the epoch, when present.
        time: Option<i64>,
    },
    /// Exchange `match` or `last_match`.
    Match {
        /// The trade.
        trade: Trade,
        /// `sequence` (the full channel's counter), if present.
        sequence: Option<u64>,
    },
    /// Exchange `ticker`.
    Ticker {
        /// Product id.
        product: Symbol,
        /// `sequence` (the full channel's counter), if present.
        sequence: Option<u64>,
        /// `best_bid`.
        best_bid: Option<Decimal>,
        /// `best_ask`.
        best_ask: Option<Decimal>,
    },
    /// Advanced Trade `l2_data`.
    AdvancedBook {
        /// `sequence_num` (per connection).
        sequence_num: u64,
        /// One entry per product event.
        events: &'a [BookEvent],
        /// All updates; see [`CoinbaseMessage::event_updates`].
        updates: &'a [LevelUpdate],
    },
    /// Advanced Trade `market_trades`.
    AdvancedTrades {
        /// `sequence_num`.
        sequence_num: u64,
        /// Trades in message order.
        trades: &'a [Trade],
    },
    /// Another Advanced Trade channel (`heartbeats`, `subscriptions`, …).
    Sequenced {
        /// `channel`.
        channel: &'a str,
        /// `sequence_num`.
        sequence_num: u64,
    },
    /// Another Exchange message type (`subscriptions`, `heartbeat`, `error`, …).
    Other {
        /// `type`.
        kind: &'a str,
        /// `product_id`, if any.
        product: Option<Symbol>,
    },
}

impl<'a> CoinbaseMessage<'a> {
    /// The updates of one event of [`CoinbaseMessage::AdvancedBook`].
    pub fn event_updates(updates: &'a [LevelUpdate], event: &BookEvent) -> &'a [LevelUpdate] {
        updates.get(event.start as usize..event.end as usize).unwrap_or(&[])
    }
}

/// Parser with reusable buffers.
#[derive(Debug, Clone, Default)]
pub struct CoinbaseParser {
    bids: Vec<Level>,
    asks: Vec<Level>,
    updates: Vec<LevelUpdate>,
    events: Vec<BookEvent>,
    trades: Vec<Trade>,
}

#[derive(Default)]
struct Fields<'a> {
    kind: Option<&'a str>,
    channel: Option<&'a str>,
    product: Option<&'a str>,
    sequence: Option<u64>,
    sequence_num: Option<u64>,
    price: Option<&'a str>,
    size: Option<&'a str>,
    side: Option<&'a str>,
    trade_id: Option<u64>,
    time: Option<&'a str>,
    best_bid: Option<&'a str>,
    best_ask: Option<&'a str>,
    has_book: bool,
    events: Option<&'a str>,
}

fn missing(message: &'static str, field: &'static str) -> FeedError {
    FeedError::MissingField { venue: VENUE, message, field }
}

fn symbol(s: &str) -> Result<Symbol, FeedError> {
    InlineStr::new(s).map_err(|_| FeedError::BadField {
        venue: VENUE,
        field: "product_id",
        reason: "longer than 31 bytes",
    })
}

fn opt_decimal(field: &'static str, s: Option<&str>) -> Result<Option<Decimal>, FeedError> {
    s.map(|s| Decimal::parse_unsigned_with(s, FeedError::decimal(field))).transpose()
}

impl CoinbaseParser {
    /// A parser with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one WebSocket text frame.
    pub fn parse<'p>(&'p mut self, text: &'p str) -> Result<CoinbaseMessage<'p>, FeedError> {
        self.bids.clear();
        self.asks.clear();
        self.updates.clear();
        self.events.clear();
        self.trades.clear();
        let mut f = Fields::default();
        let mut sc = Scanner::new(VENUE, text);
        let mut obj = sc.begin_object()?;
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "type" => f.kind = Some(sc.string()?),
                "channel" => f.channel = Some(sc.string()?),
                "product_id" => f.product = Some(sc.string()?),
                "sequence" => f.sequence = Some(sc.u64()?),
                "sequence_num" => f.sequence_num = Some(sc.u64()?),
                "price" => f.price = Some(sc.string()?),
                "size" => f.size = Some(sc.string()?),
                "side" => f.side = Some(sc.string()?),
                "trade_id" => f.trade_id = Some(sc.u64_lenient()?),
                "time" => f.time = Some(sc.string()?),
                "best_bid" => f.best_bid = Some(sc.string()?),
                "best_ask" => f.best_ask = Some(sc.string()?),
                "bids" => {
                    f.has_book = true;
                    levels(&mut sc, &mut self.bids)?;
                }
                "asks" => {
                    f.has_book = true;
                    levels(&mut sc, &mut self.asks)?;
                }
                "changes" => {
                    f.has_book = true;
                    changes(&mut sc, &mut self.updates)?;
                }
                "events" => f.events = Some(sc.value_text()?),
                _ => sc.skip_value()?,
            }
        }
        sc.finish()?;
        if let Some(channel) = f.channel {
            return self.advanced(channel, &f);
        }
        let kind = f.kind.ok_or(missing("message", "type"))?;
        match kind {
            "snapshot" | "l2update" => {
                let product = symbol(f.product.ok_or(missing("snapshot", "product_id"))?)?;
                if !f.has_book {
                    return Err(missing(
                        if kind == "snapshot" { "snapshot" } else { "l2update" },
                        if kind == "snapshot" { "bids" } else { "changes" },
                    ));
                }
                Ok(if kind == "snapshot" {
                    CoinbaseMessage::Snapshot { product, bids: &self.bids, asks: &self.asks }
                } else {
                    CoinbaseMessage::L2Update { product, changes: &self.updates, time: f.time.and_then(parse_rfc3339) }
                })
            }
            "match" | "last_match" => {
                let side = f.side.ok_or(missing("match", "side"))?;
                let trade = Trade {
                    symbol: symbol(f.product.ok_or(missing("match", "product_id"))?)?,
                    price: Decimal::parse_unsigned_with(
                        f.price.ok_or(missing("match", "price"))?,
                        FeedError::decimal("price"),
                    )?,
                    qty: Decimal::parse_unsigned_with(
                        f.size.ok_or(missing("match", "size"))?,
                        FeedError::decimal("qty"),
                    )?,
                    // `side` is the maker's side.
                    aggressor: Some(if side == "sell" { Aggressor::Buy } else { Aggressor::Sell }),
                    trade_id: f.trade_id.ok_or(missing("match", "trade_id"))?,
                    exchange_ts: f.time.and_then(parse_rfc3339),
                };
                Ok(CoinbaseMessage::Match { trade, sequence: f.sequence })
            }
            "ticker" => Ok(CoinbaseMessage::Ticker {
                product: symbol(f.product.ok_or(missing("ticker", "product_id"))?)?,
                sequence: f.sequence,
                best_bid: opt_decimal("best_bid", f.best_bid)?,
                best_ask: opt_decimal("best_ask", f.best_ask)?,
            }),
            kind if KNOWN_TYPES.contains(&kind) => {
                Ok(CoinbaseMessage::Other { kind, product: f.product.and_then(|p| symbol(p).ok()) })
            }
            kind => Err(FeedError::UnknownMessage { venue: VENUE, kind: InlineStr::truncated(kind) }),
        }
    }

    fn advanced<'p>(&'p mut self, channel: &'p str, f: &Fields<'p>) -> Result<CoinbaseMessage<'p>, FeedError> {
        let sequence_num = f.sequence_num.ok_or(missing("advanced", "sequence_num"))?;
        match channel {
            "l2_data" => {
                let events = f.events.ok_or(missing("l2_data", "events"))?;
                let mut sc = Scanner::new(VENUE, events);
                let mut arr = sc.begin_array()?;
                while sc.next_element(&mut arr)? {
                    self.book_event(&mut sc)?;
                }
                Ok(CoinbaseMessage::AdvancedBook { sequence_num, events: &self.events, updates: &self.updates })
            }
            "market_trades" => {
                let events = f.events.ok_or(missing("market_trades", "events"))?;
                let mut sc = Scanner::new(VENUE, events);
                let mut arr = sc.begin_array()?;
                while sc.next_element(&mut arr)? {
                    let mut obj = sc.begin_object()?;
                    while let Some(key) = sc.next_key(&mut obj)? {
                        if key == "trades" {
                            let mut trades = sc.begin_array()?;
                            while sc.next_element(&mut trades)? {
                                let t = advanced_trade(&mut sc)?;
                                self.trades.push(t);
                            }
                        } else {
                            sc.skip_value()?;
                        }
                    }
                }
                Ok(CoinbaseMessage::AdvancedTrades { sequence_num, trades: &self.trades })
            }
            channel => Ok(CoinbaseMessage::Sequenced { channel, sequence_num }),
        }
    }

    fn book_event(&mut self, sc: &mut Scanner<'_>) -> Result<(), FeedError> {
        let start = self.updates.len() as u32;
        let (mut product, mut kind) = (None, None);
        let mut has_updates = false;
        let mut obj = sc.begin_object()?;
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "type" => kind = Some(sc.string()?),
                "product_id" => product = Some(sc.string()?),
                "updates" => {
                    has_updates = true;
                    let mut arr = sc.begin_array()?;
                    while sc.next_element(&mut arr)? {
                        let u = advanced_update(sc)?;
                        self.updates.push(u);
                    }
                }
                _ => sc.skip_value()?,
            }
        }
        if !has_updates {
            return Err(missing("l2_data", "updates"));
        }
        let snapshot = match kind.ok_or(missing("l2_data", "type"))? {
            "snapshot" => true,
            "update" => false,
            _ => {
                return Err(FeedError::BadField { venue: VENUE, field: "type", reason: "expected snapshot or update" })
            }
        };
        self.events.push(BookEvent {
            product: symbol(product.ok_or(missing("l2_data", "product_id"))?)?,
            snapshot,
            start,
            end: self.updates.len() as u32,
        });
        Ok(())
    }
}

fn advanced_update(sc: &mut Scanner<'_>) -> Result<LevelUpdate, FeedError> {
    let (mut side, mut price, mut qty) = (None, None, None);
    let mut obj = sc.begin_object()?;
    while let Some(key) = sc.next_key(&mut obj)? {
        match key {
            "side" => side = Some(sc.string()?),
            "price_level" => price = Some(sc.string()?),
            "new_quantity" => qty = Some(sc.string()?),
            _ => sc.skip_value()?,
        }
    }
    let side = match side.ok_or(missing("l2_data", "side"))? {
        "bid" => Side::Buy,
        _ => Side::Sell,
    };
    Ok(LevelUpdate {
        side,
        price: Decimal::parse_unsigned_with(
            price.ok_or(missing("l2_data", "price_level"))?,
            FeedError::decimal("price"),
        )?,
        qty: Decimal::parse_unsigned_with(qty.ok_or(missing("l2_data", "new_quantity"))?, FeedError::decimal("qty"))?,
    })
}

fn advanced_trade(sc: &mut Scanner<'_>) -> Result<Trade, FeedError> {
    let (mut product, mut price, mut size, mut side, mut id, mut time) = (None, None, None, None, None, None);
    let mut obj = sc.begin_object()?;
    while let Some(key) = sc.next_key(&mut obj)? {
        match key {
            "product_id" => product = Some(sc.string()?),
            "price" => price = Some(sc.string()?),
            "size" => size = Some(sc.string()?),
            "side" => side = Some(sc.string()?),
            "trade_id" => id = Some(sc.u64_lenient()?),
            "time" => time = Some(sc.string()?),
            _ => sc.skip_value()?,
        }
    }
    // The docs call `side` the maker's side [unverified]; we report the taker as its opposite.
    let aggressor = match side {
        Some("BUY") => Some(Aggressor::Sell),
        Some("SELL") => Some(Aggressor::Buy),
        _ => None,
    };
    Ok(Trade {
        symbol: symbol(product.ok_or(missing("market_trades", "product_id"))?)?,
        price: Decimal::parse_unsigned_with(
            price.ok_or(missing("market_trades", "price"))?,
            FeedError::decimal("price"),
        )?,
        qty: Decimal::parse_unsigned_with(size.ok_or(missing("market_trades", "size"))?, FeedError::decimal("qty"))?,
        aggressor,
        trade_id: id.unwrap_or(0),
        exchange_ts: time.and_then(parse_rfc3339),
    })
}

fn levels(sc: &mut Scanner<'_>, out: &mut Vec<Level>) -> Result<(), FeedError> {
    let mut arr = sc.begin_array()?;
    while sc.next_element(&mut arr)? {
        let mut pair = sc.begin_array()?;
        let mut next = |sc: &mut Scanner<'_>, what| -> Result<Decimal, FeedError> {
            if !sc.next_element(&mut pair)? {
                return Err(sc.error(what));
            }
            Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal(what))
        };
        let price = next(sc, "price")?;
        let qty = next(sc, "size")?;
        while sc.next_element(&mut pair)? {
            sc.skip_value()?;
        }
        out.push(Level { price, qty });
    }
    Ok(())
}

fn changes(sc: &mut Scanner<'_>, out: &mut Vec<LevelUpdate>) -> Result<(), FeedError> {
    let mut arr = sc.begin_array()?;
    while sc.next_element(&mut arr)? {
        let mut change = sc.begin_array()?;
        if !sc.next_element(&mut change)? {
            return Err(sc.error("side"));
        }
        let side = match sc.string()? {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            _ => {
                return Err(FeedError::BadField { venue: VENUE, field: "changes.side", reason: "expected buy or sell" })
            }
        };
        if !sc.next_element(&mut change)? {
            return Err(sc.error("price"));
        }
        let price = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("price"))?;
        if !sc.next_element(&mut change)? {
            return Err(sc.error("size"));
        }
        let qty = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("qty"))?;
        while sc.next_element(&mut change)? {
            sc.skip_value()?;
        }
        out.push(LevelUpdate { side, price, qty });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exchange_messages() {
        let mut p = CoinbaseParser::new();
        let snap = r#"{"type":"snapshot","product_id":"BAND-GBP","asks":[["14.8024","12.77"]],"bids":[["14.7550","1.5"],["14.70","2"]]}"#;
        let CoinbaseMessage::Snapshot { product, bids, asks } = p.parse(snap).unwrap() else { panic!() };
        assert_eq!((product.as_str(), bids.len(), asks.len()), ("BAND-GBP", 2, 1));
        let upd = r#"{"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"],["buy","0.00001300","0"]],"time":"2021-04-17T16:43:37.075687Z"}"#;
        let CoinbaseMessage::L2Update { changes, .. } = p.parse(upd).unwrap() else { panic!() };
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].side, Side::Sell);
        assert!(changes[1].qty.is_zero());
        let m = r#"{"type":"match","trade_id":280232,"maker_order_id":"a","taker_order_id":"b","side":"sell","size":"985","price":"0.00001305","product_id":"SKL-BTC","sequence":177100030,"time":"2021-04-17T16:43:37.089723Z"}"#;
        let CoinbaseMessage::Match { trade: t, sequence } = p.parse(m).unwrap() else { panic!() };
        assert_eq!(sequence, Some(177100030));
        assert_eq!((t.trade_id, t.aggressor), (280232, Some(Aggressor::Buy)));
        assert_eq!(t.exchange_ts, Some(1_618_677_817_089_723_000));
        let tick = r#"{"type":"ticker","sequence":333938798,"product_id":"BAND-GBP","price":"14.7775","best_bid":"14.7550","best_ask":"14.8060","side":"buy","trade_id":881613,"last_size":"0.04"}"#;
        let CoinbaseMessage::Ticker { best_bid, best_ask, .. } = p.parse(tick).unwrap() else { panic!() };
        assert_eq!(best_bid.unwrap().as_str(), "14.7550");
        assert_eq!(best_ask.unwrap().as_str(), "14.8060");
    }

    #[test]
    fn parses_advanced_trade() {
        let mut p = CoinbaseParser::new();
        let l2 = r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":7,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2023-02-09T20:32:50.2Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"2023-02-09T20:32:50.2Z","price_level":"21921.74","new_quantity":"0"}]}]}"#;
        let CoinbaseMessage::AdvancedBook { sequence_num, events, updates } = p.parse(l2).unwrap() else { panic!() };
        assert_eq!((sequence_num, events.len()), (7, 1));
        assert!(!events[0].snapshot);
        let ups = CoinbaseMessage::event_updates(updates, &events[0]);
        assert_eq!(ups.len(), 2);
        assert_eq!(ups[1].side, Side::Sell);
        let trades = r#"{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:19:35.39625135Z","sequence_num":0,"events":[{"type":"snapshot","trades":[{"trade_id":"000000000","product_id":"ETH-USD","price":"1260.01","size":"0.3","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}"#;
        let CoinbaseMessage::AdvancedTrades { trades, .. } = p.parse(trades).unwrap() else { panic!() };
        assert_eq!(trades.len(), 1);
        assert_eq!(trades[0].price.as_str(), "1260.01");
        let hb = r#"{"channel":"heartbeats","client_id":"","timestamp":"2023-06-23T20:31:26.122969572Z","sequence_num":3,"events":[{"current_time":"x","heartbeat_counter":3}]}"#;
        assert!(matches!(p.parse(hb).unwrap(), CoinbaseMessage::Sequenced { sequence_num: 3, .. }));
    }

    #[test]
    fn errors_are_typed() {
        let mut p = CoinbaseParser::new();
        assert!(p.parse(r#"{"type":"l2update","product_id":"X"}"#).is_err());
        assert!(p.parse(r#"{"type":"l2update","product_id":"X","changes":[["up","1","1"]]}"#).is_err());
        assert!(p.parse(r#"{"channel":"l2_data","events":[]}"#).is_err());
        assert!(p.parse(r#"{"product_id":"X"}"#).is_err());
        assert!(matches!(p.parse(r#"{"type":"heartbeat"}"#), Ok(CoinbaseMessage::Other { kind: "heartbeat", .. })));
        let unknown = p.parse(r#"{"type":"brand_new","product_id":"X"}"#).unwrap_err();
        assert!(unknown.is_unknown_message(), "{unknown}");
    }
}
