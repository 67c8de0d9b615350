//! Kraken WebSocket v1 (`wss://ws.kraken.com`) and v2 (`wss://ws.kraken.com/v2`), and the book
//! checksum.
//!
//! **v1** data frames are arrays `[channelID, payload…, channelName, pair]`:
//!
//! - book snapshot: `[id, {"as":[[p,v,ts]…],"bs":[…]}, "book-1000", "XBT/USD"]`;
//! - book update: `[id, {"a":[…],"c":"crc"}, "book-1000", pair]`, or `{"b":…}`, or both sides in
//!   one dict, or **two dicts** `{"a":…},{"b":…,"c":…}`; entries may carry a fourth `"r"`
//!   (republish) element; entries are applied in array order;
//! - trades: `[id, [[price, volume, time, "b"|"s", "l"|"m", misc]…], "trade", pair]` (side = taker);
//! - other channels (`ticker`, `spread`, `ohlc-*`) as [`KrakenMessage::Other`].
//!
//! v1 events are objects with `"event"`: `heartbeat`, `systemStatus`, `subscriptionStatus` (its
//! `channelName` `book-N` gives the depth), `pong`, …
//!
//! **v2** frames are objects with `"channel"`: `book` with `type` `snapshot`|`update` and
//! `data:[{symbol, bids:[{price,qty}], asks, checksum, timestamp}]` where **price and qty are JSON
//! numbers**; their exact source text is kept (the checksum hashes those digits). `trade`,
//! `heartbeat`, `status`, and `{"method":"subscribe","result":{…depth…}}` replies are handled too.
//!
//! Both versions produce [`KrakenMessage::Book`], with one [`BookPart`] per symbol (v1 has one; v2
//! may batch several).
//!
//! **Checksum** ([`checksum`]): after applying a whole message, the top 10 asks (lowest first) then
//! the top 10 bids (highest first), each as price then quantity with `.` removed and leading zeros
//! stripped, concatenated and hashed with CRC-32 (IEEE), read unsigned.

use crate::book::{L2Book, Side};
use crate::error::FeedError;
use crate::json::Scanner;
use crate::message::{Aggressor, LevelUpdate, Symbol, Trade};
use crate::timestamp::{parse_epoch_seconds, parse_rfc3339};
use wintermute_core::decimal::{Decimal, InlineStr};

const VENUE: &str = "kraken";
const MAX_ELEMENTS: usize = 8;

/// One symbol's part of a book message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookPart {
    /// Pair / symbol as Kraken writes it (`XBT/USD` in v1, `BTC/USD` in v2).
    pub symbol: Symbol,
    /// The checksum sent with it (v1: updates only; v2: snapshots and updates).
    pub checksum: Option<u32>,
    /// Exchange time in ns since the epoch: v1, the latest entry timestamp; v2, `timestamp`.
    pub exchange_ts: Option<i64>,
    start: u32,
    end: u32,
}

/// A parsed frame.
#[derive(Debug, Clone, Copy)]
pub enum KrakenMessage<'a> {
    /// Book snapshot or update.
    Book {
        /// Snapshot (`as`/`bs`, or v2 `type:"snapshot"`) rather than update.
        snapshot: bool,
        /// Depth from the v1 channel name (`book-1000` → 1000); `None` in v2.
        depth: Option<usize>,
        /// One part per symbol.
        parts: &'a [BookPart],
        /// All level changes; see [`KrakenMessage::part_levels`].
        levels: &'a [LevelUpdate],
    },
    /// Trades of one pair.
    Trades {
        /// Pair.
        symbol: Symbol,
        /// Trades in message order.
        trades: &'a [Trade],
    },
    /// A subscription was confirmed (v1 `subscriptionStatus`, v2 `method:"subscribe"` reply).
    Subscribed {
        /// Pair / symbol.
        symbol: Symbol,
        /// Channel name (`book`, `trade`, …).
        channel: &'a str,
        /// Book depth, if a book subscription says so.
        depth: Option<usize>,
    },
    /// Another data channel for one pair (`ticker`, `spread`, …).
    Other {
        /// Channel name.
        channel: &'a str,
        /// Pair.
        symbol: Symbol,
    },
    /// Connection-level events (`heartbeat`, `systemStatus`, `pong`, v2 `status`, errors).
    Event {
        /// `event` (v1), or `channel`/`method` (v2).
        kind: &'a str,
    },
}

impl<'a> KrakenMessage<'a> {
    /// The level changes of one [`BookPart`].
    pub fn part_levels(levels: &'a [LevelUpdate], part: &BookPart) -> &'a [LevelUpdate] {
        levels.get(part.start as usize..part.end as usize).unwrap_or(&[])
    }
}

/// Parser with reusable buffers.
#[derive(Debug, Clone, Default)]
pub struct KrakenParser {
    levels: Vec<LevelUpdate>,
    parts: Vec<BookPart>,
    trades: Vec<Trade>,
}

fn missing(message: &'static str, field: &'static str) -> FeedError {
    FeedError::MissingField { venue: VENUE, message, field }
}

fn symbol(s: &str) -> Result<Symbol, FeedError> {
    InlineStr::new(s).map_err(|_| FeedError::BadField { venue: VENUE, field: "pair", reason: "longer than 31 bytes" })
}

fn bad(field: &'static str, reason: &'static str) -> FeedError {
    FeedError::BadField { venue: VENUE, field, reason }
}

/// The depth in a channel name like `book-1000`.
pub fn depth_from_channel(name: &str) -> Option<usize> {
    name.strip_prefix("book-")?.parse().ok()
}

impl KrakenParser {
    /// A parser with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one WebSocket text frame (v1 or v2).
    pub fn parse<'p>(&'p mut self, text: &'p str) -> Result<KrakenMessage<'p>, FeedError> {
        self.levels.clear();
        self.parts.clear();
        self.trades.clear();
        let mut sc = Scanner::new(VENUE, text);
        match sc.peek() {
            Some(b'[') => self.v1_array(&mut sc),
            _ => self.object(&mut sc),
        }
    }

    fn v1_array<'p>(&'p mut self, sc: &mut Scanner<'p>) -> Result<KrakenMessage<'p>, FeedError> {
        let mut elements = [""; MAX_ELEMENTS];
        let mut n = 0;
        let mut arr = sc.begin_array()?;
        while sc.next_element(&mut arr)? {
            if n == MAX_ELEMENTS {
                return Err(sc.error("at most 8 array elements"));
            }
            elements[n] = sc.value_text()?;
            n += 1;
        }
        sc.finish()?;
        if n < 4 {
            return Err(sc.error("[channelID, payload, channelName, pair]"));
        }
        let channel = Scanner::new(VENUE, elements[n - 2]).string()?;
        let pair = symbol(Scanner::new(VENUE, elements[n - 1]).string()?)?;
        let payloads = &elements[1..n - 2];
        if channel.starts_with("book") {
            let mut snapshot = None;
            let mut checksum = None;
            let mut exchange_ts = None;
            for payload in payloads {
                let mut sc = Scanner::new(VENUE, payload);
                let mut obj = sc.begin_object()?;
                while let Some(key) = sc.next_key(&mut obj)? {
                    let (side, is_snapshot) = match key {
                        "as" => (Side::Sell, true),
                        "bs" => (Side::Buy, true),
                        "a" => (Side::Sell, false),
                        "b" => (Side::Buy, false),
                        "c" => {
                            let c = sc.string()?;
                            checksum = Some(c.parse().map_err(|_| bad("c", "not a u32"))?);
                            continue;
                        }
                        _ => {
                            sc.skip_value()?;
                            continue;
                        }
                    };
                    if snapshot.is_some_and(|s| s != is_snapshot) {
                        return Err(bad("book", "snapshot and update keys mixed"));
                    }
                    snapshot = Some(is_snapshot);
                    exchange_ts = exchange_ts.max(self.v1_levels(&mut sc, side)?);
                }
            }
            let snapshot = snapshot.ok_or(missing("book", "a/b/as/bs"))?;
            self.parts.push(BookPart { symbol: pair, checksum, exchange_ts, start: 0, end: self.levels.len() as u32 });
            return Ok(KrakenMessage::Book {
                snapshot,
                depth: depth_from_channel(channel),
                parts: &self.parts,
                levels: &self.levels,
            });
        }
        if channel == "trade" {
            let payload = payloads.first().ok_or(missing("trade", "trades"))?;
            let mut sc = Scanner::new(VENUE, payload);
            let mut arr = sc.begin_array()?;
            while sc.next_element(&mut arr)? {
                let t = v1_trade(&mut sc, pair)?;
                self.trades.push(t);
            }
            return Ok(KrakenMessage::Trades { symbol: pair, trades: &self.trades });
        }
        Ok(KrakenMessage::Other { channel, symbol: pair })
    }

    /// Reads `[[price, volume, timestamp, ("r")]…]`; returns the latest timestamp (ns).
    fn v1_levels(&mut self, sc: &mut Scanner<'_>, side: Side) -> Result<Option<i64>, FeedError> {
        let mut latest = None;
        let mut arr = sc.begin_array()?;
        while sc.next_element(&mut arr)? {
            let mut entry = sc.begin_array()?;
            if !sc.next_element(&mut entry)? {
                return Err(sc.error("price"));
            }
            let price = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("price"))?;
            if !sc.next_element(&mut entry)? {
                return Err(sc.error("volume"));
            }
            let qty = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("qty"))?;
            if sc.next_element(&mut entry)? {
                // The entry's timestamp; a malformed one is not worth losing the level for.
                if sc.peek() == Some(b'"') {
                    latest = latest.max(parse_epoch_seconds(sc.string()?).ok());
                } else {
                    sc.skip_value()?;
                }
                while sc.next_element(&mut entry)? {
                    sc.skip_value()?; // optional "r" flag
                }
            }
            self.levels.push(LevelUpdate { side, price, qty });
        }
        Ok(latest)
    }

    fn object<'p>(&'p mut self, sc: &mut Scanner<'p>) -> Result<KrakenMessage<'p>, FeedError> {
        let (mut event, mut channel, mut kind, mut method) = (None, None, None, None);
        let (mut data, mut result, mut subscription) = (None, None, None);
        let (mut pair, mut channel_name) = (None, None);
        let mut obj = sc.begin_object()?;
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "event" => event = Some(sc.string()?),
                "channel" => channel = Some(sc.string()?),
                "type" => kind = Some(sc.string()?),
                "method" => method = Some(sc.string()?),
                "data" => data = Some(sc.value_text()?),
                "result" => result = Some(sc.value_text()?),
                "subscription" => subscription = Some(sc.value_text()?),
                "pair" => pair = Some(sc.value_text()?),
                "channelName" => channel_name = Some(sc.string()?),
                _ => sc.skip_value()?,
            }
        }
        sc.finish()?;
        if let Some(event) = event {
            if event == "subscriptionStatus" {
                if let (Some(pair), Some(name)) = (pair, channel_name) {
                    let pair = Scanner::new(VENUE, pair).string()?;
                    let depth = depth_from_channel(name).or_else(|| subscription.and_then(|s| field_u64(s, "depth")));
                    return Ok(KrakenMessage::Subscribed {
                        symbol: symbol(pair)?,
                        channel: name.split('-').next().unwrap_or(name),
                        depth,
                    });
                }
            }
            return Ok(KrakenMessage::Event { kind: event });
        }
        if let Some(method) = method {
            if let Some(result) = result {
                if let Some(sym) = field_str(result, "symbol") {
                    return Ok(KrakenMessage::Subscribed {
                        symbol: symbol(sym)?,
                        channel: field_str(result, "channel").unwrap_or(""),
                        depth: field_u64(result, "depth"),
                    });
                }
            }
            return Ok(KrakenMessage::Event { kind: method });
        }
        let channel = channel.ok_or(missing("message", "event/channel/method"))?;
        match channel {
            "book" => {
                let snapshot = match kind.ok_or(missing("book", "type"))? {
                    "snapshot" => true,
                    "update" => false,
                    _ => return Err(bad("type", "expected snapshot or update")),
                };
                let data = data.ok_or(missing("book", "data"))?;
                let mut sc = Scanner::new(VENUE, data);
                let mut arr = sc.begin_array()?;
                while sc.next_element(&mut arr)? {
                    self.v2_book(&mut sc)?;
                }
                Ok(KrakenMessage::Book { snapshot, depth: None, parts: &self.parts, levels: &self.levels })
            }
            "trade" => {
                let data = data.ok_or(missing("trade", "data"))?;
                let mut sc = Scanner::new(VENUE, data);
                let mut arr = sc.begin_array()?;
                while sc.next_element(&mut arr)? {
                    let t = v2_trade(&mut sc)?;
                    self.trades.push(t);
                }
                let symbol = self.trades.first().map_or(InlineStr::EMPTY, |t| t.symbol);
                Ok(KrakenMessage::Trades { symbol, trades: &self.trades })
            }
            other => Ok(KrakenMessage::Event { kind: other }),
        }
    }

    fn v2_book(&mut self, sc: &mut Scanner<'_>) -> Result<(), FeedError> {
        let start = self.levels.len() as u32;
        let (mut sym, mut checksum, mut exchange_ts) = (None, None, None);
        let mut obj = sc.begin_object()?;
        while let Some(key) = sc.next_key(&mut obj)? {
            let side = match key {
                "symbol" => {
                    sym = Some(sc.string()?);
                    continue;
                }
                "checksum" => {
                    let c = sc.u64_lenient()?;
                    checksum = Some(u32::try_from(c).map_err(|_| bad("checksum", "not a u32"))?);
                    continue;
                }
                "timestamp" if sc.peek() == Some(b'"') => {
                    exchange_ts = parse_rfc3339(sc.string()?);
                    continue;
                }
                "bids" => Side::Buy,
                "asks" => Side::Sell,
                _ => {
                    sc.skip_value()?;
                    continue;
                }
            };
            let mut arr = sc.begin_array()?;
            while sc.next_element(&mut arr)? {
                let (mut price, mut qty) = (None, None);
                let mut level = sc.begin_object()?;
                while let Some(k) = sc.next_key(&mut level)? {
                    match k {
                        "price" => price = Some(sc.string_or_number()?),
                        "qty" => qty = Some(sc.string_or_number()?),
                        _ => sc.skip_value()?,
                    }
                }
                self.levels.push(LevelUpdate {
                    side,
                    price: Decimal::parse_unsigned_with(
                        price.ok_or(missing("book", "price"))?,
                        FeedError::decimal("price"),
                    )?,
                    qty: Decimal::parse_unsigned_with(qty.ok_or(missing("book", "qty"))?, FeedError::decimal("qty"))?,
                });
            }
        }
        self.parts.push(BookPart {
            symbol: symbol(sym.ok_or(missing("book", "symbol"))?)?,
            checksum,
            exchange_ts,
            start,
            end: self.levels.len() as u32,
        });
        Ok(())
    }
}

fn v1_trade(sc: &mut Scanner<'_>, pair: Symbol) -> Result<Trade, FeedError> {
    let mut entry = sc.begin_array()?;
    let mut fields = [""; 6];
    let mut n = 0;
    while sc.next_element(&mut entry)? {
        let v = sc.string_or_number()?;
        if n < fields.len() {
            fields[n] = v;
        }
        n += 1;
    }
    if n < 4 {
        return Err(missing("trade", "price/volume/time/side"));
    }
    Ok(Trade {
        symbol: pair,
        price: Decimal::parse_unsigned_with(fields[0], FeedError::decimal("price"))?,
        qty: Decimal::parse_unsigned_with(fields[1], FeedError::decimal("qty"))?,
        aggressor: match fields[3] {
            "b" => Some(Aggressor::Buy),
            "s" => Some(Aggressor::Sell),
            _ => None,
        },
        trade_id: 0,
        exchange_ts: parse_epoch_seconds(fields[2]).ok(),
    })
}

fn v2_trade(sc: &mut Scanner<'_>) -> Result<Trade, FeedError> {
    let (mut sym, mut side, mut price, mut qty, mut id, mut ts) = (None, None, None, None, 0, None);
    let mut obj = sc.begin_object()?;
    while let Some(key) = sc.next_key(&mut obj)? {
        match key {
            "symbol" => sym = Some(sc.string()?),
            "side" => side = Some(sc.string()?),
            "price" => price = Some(sc.string_or_number()?),
            "qty" => qty = Some(sc.string_or_number()?),
            "trade_id" => id = sc.u64_lenient()?,
            "timestamp" => ts = Some(sc.string()?),
            _ => sc.skip_value()?,
        }
    }
    Ok(Trade {
        symbol: symbol(sym.ok_or(missing("trade", "symbol"))?)?,
        price: Decimal::parse_unsigned_with(price.ok_or(missing("trade", "price"))?, FeedError::decimal("price"))?,
        qty: Decimal::parse_unsigned_with(qty.ok_or(missing("trade", "qty"))?, FeedError::decimal("qty"))?,
        aggressor: match side {
            Some("buy") => Some(Aggressor::Buy),
            Some("sell") => Some(Aggressor::Sell),
            _ => None,
        },
        trade_id: id,
        exchange_ts: ts.and_then(parse_rfc3339),
    })
}

/// A string field of a JSON object text (first level only).
fn field_str<'a>(object: &'a str, name: &str) -> Option<&'a str> {
    let mut sc = Scanner::new(VENUE, object);
    let mut obj = sc.begin_object().ok()?;
    while let Some(key) = sc.next_key(&mut obj).ok()? {
        if key == name && sc.peek() == Some(b'"') {
            return sc.string().ok();
        }
        sc.skip_value().ok()?;
    }
    None
}

/// An integer field of a JSON object text (first level only).
fn field_u64(object: &str, name: &str) -> Option<usize> {
    let mut sc = Scanner::new(VENUE, object);
    let mut obj = sc.begin_object().ok()?;
    while let Some(key) = sc.next_key(&mut obj).ok()? {
        if key == name {
            return usize::try_from(sc.u64_lenient().ok()?).ok();
        }
        sc.skip_value().ok()?;
    }
    None
}

/// The book depth a subscribe request asks for (v1 `subscription.depth`, v2 `params.depth`),
/// `Some(10)` (Kraken's default) for a book subscription without one, `None` for other requests.
pub fn subscribe_depth(request: &str) -> Option<usize> {
    let inner = field_raw(request, "subscription").or_else(|| field_raw(request, "params"))?;
    let channel = field_str(inner, "name").or_else(|| field_str(inner, "channel"))?;
    if channel != "book" {
        return None;
    }
    Some(field_u64(inner, "depth").unwrap_or(10))
}

fn field_raw<'a>(object: &'a str, name: &str) -> Option<&'a str> {
    let mut sc = Scanner::new(VENUE, object);
    let mut obj = sc.begin_object().ok()?;
    while let Some(key) = sc.next_key(&mut obj).ok()? {
        if key == name {
            return sc.value_text().ok();
        }
        sc.skip_value().ok()?;
    }
    None
}

/// Appends `text` without `.` and without leading zeros.
fn push_digits(buf: &mut [u8; CHECKSUM_BUF], len: &mut usize, text: &[u8]) {
    let mut leading = true;
    for &b in text {
        if b == b'.' || (leading && b == b'0') {
            continue;
        }
        leading = false;
        if let Some(slot) = buf.get_mut(*len) {
            *slot = b;
            *len += 1;
        }
    }
}

/// 20 levels x (price + qty) x at most `INLINE_CAP` bytes each.
const CHECKSUM_BUF: usize = 20 * 2 * wintermute_core::decimal::INLINE_CAP;

/// Kraken's CRC-32 of the top 10 levels of each side (see the module docs).
///
/// The input string is built in a stack buffer and hashed in one call.
pub fn checksum(book: &L2Book) -> u32 {
    let mut buf = [0u8; CHECKSUM_BUF];
    let mut len = 0;
    for l in book.asks().take(10).chain(book.bids().take(10)) {
        push_digits(&mut buf, &mut len, l.price.text_bytes());
        push_digits(&mut buf, &mut len, l.qty.text_bytes());
    }
    crc32fast::hash(&buf[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse_unsigned(s).unwrap()
    }

    #[test]
    fn checksum_matches_documented_examples() {
        // v1 docs: asks 0.05005..0.05050, bids 0.05000..0.04950 (no 0.04985), volume
        // 0.00000500 -> 974947235.
        let mut book = L2Book::new();
        let bids = [5000, 4995, 4990, 4980, 4975, 4970, 4965, 4960, 4955, 4950];
        for (i, bid) in bids.iter().enumerate() {
            let ask = format!("0.0{}", 5005 + i * 5);
            book.apply(Side::Sell, d(&ask), d("0.00000500"));
            book.apply(Side::Buy, d(&format!("0.0{bid}")), d("0.00000500"));
        }
        assert_eq!(checksum(&book), 974_947_235);
        // The 2-level v2 illustration.
        let mut book = L2Book::new();
        book.apply(Side::Sell, d("45285.2"), d("0.00100000"));
        book.apply(Side::Sell, d("45286.4"), d("1.54582015"));
        book.apply(Side::Buy, d("45283.5"), d("0.10000000"));
        book.apply(Side::Buy, d("45283.4"), d("1.54582015"));
        assert_eq!(checksum(&book), 2_178_325_928);
    }

    #[test]
    fn parses_v1_book_with_two_dicts_and_republish() {
        let mut p = KrakenParser::new();
        let text = r#"[320,{"a":[["61308.50000","0.00000000","1617666539.868687"],["61800.00000","1.48600534","1617648977.752138","r"]]},{"b":[["56123.40000","0.06137256","1617666539.870272"]],"c":"1768150633"},"book-1000","XBT/USD"]"#;
        let KrakenMessage::Book { snapshot, depth, parts, levels } = p.parse(text).unwrap() else { panic!() };
        assert!(!snapshot);
        assert_eq!(depth, Some(1000));
        assert_eq!(parts[0].checksum, Some(1_768_150_633));
        assert_eq!(parts[0].symbol.as_str(), "XBT/USD");
        let sides: Vec<Side> = levels.iter().map(|l| l.side).collect();
        assert_eq!(sides, [Side::Sell, Side::Sell, Side::Buy]);
    }

    #[test]
    fn parses_v2_book_numbers_exactly() {
        let mut p = KrakenParser::new();
        let text = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015}],"asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54582015}],"checksum":2178325928,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;
        let KrakenMessage::Book { snapshot, parts, levels, .. } = p.parse(text).unwrap() else { panic!() };
        assert!(snapshot);
        assert_eq!(parts[0].checksum, Some(2_178_325_928));
        assert_eq!(levels[0].qty.as_str(), "0.10000000");
        let mut book = L2Book::new();
        for l in KrakenMessage::part_levels(levels, &parts[0]) {
            book.apply(l.side, l.price, l.qty);
        }
        assert_eq!(Some(checksum(&book)), parts[0].checksum);
    }

    #[test]
    fn parses_trades_events_and_subscriptions() {
        let mut p = KrakenParser::new();
        let t = r#"[321,[["58721.20000","0.00511839","1617666498.239644","s","m",""],["58721.20000","0.00001161","1617666498.241382","b","l",""]],"trade","XBT/USD"]"#;
        let KrakenMessage::Trades { symbol, trades } = p.parse(t).unwrap() else { panic!() };
        assert_eq!((symbol.as_str(), trades.len()), ("XBT/USD", 2));
        assert_eq!(trades[0].aggressor, Some(Aggressor::Sell));
        assert!(matches!(p.parse(r#"{"event":"heartbeat"}"#), Ok(KrakenMessage::Event { kind: "heartbeat" })));
        let sub = r#"{"channelID":320,"channelName":"book-1000","event":"subscriptionStatus","pair":"XBT/USD","status":"subscribed","subscription":{"depth":1000,"name":"book"}}"#;
        assert!(matches!(p.parse(sub), Ok(KrakenMessage::Subscribed { depth: Some(1000), channel: "book", .. })));
        let v2 = r#"{"method":"subscribe","result":{"channel":"book","depth":25,"snapshot":true,"symbol":"BTC/USD"},"success":true}"#;
        assert!(matches!(p.parse(v2), Ok(KrakenMessage::Subscribed { depth: Some(25), .. })));
        assert_eq!(
            subscribe_depth(r#"{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":1000}}"#),
            Some(1000)
        );
        assert_eq!(
            subscribe_depth(r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"]}}"#),
            Some(10)
        );
        assert_eq!(subscribe_depth(r#"{"event":"subscribe","subscription":{"name":"trade"}}"#), None);
    }

    #[test]
    fn errors_are_typed() {
        let mut p = KrakenParser::new();
        assert!(p.parse(r#"[320,{"a":[["1.0"]]},"book-10","X"]"#).is_err());
        assert!(p.parse(r#"[320,"book-10","X"]"#).is_err());
        assert!(p.parse(r#"[320,{"c":"1"},"book-10","X"]"#).is_err());
        assert!(p.parse(r#"[320,{"a":[],"c":"x"},"book-10","X"]"#).is_err());
        assert!(p.parse(r#"{"channel":"book","type":"update"}"#).is_err());
        assert!(p.parse("").is_err());
    }
}
