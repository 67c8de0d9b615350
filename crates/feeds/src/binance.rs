//! Binance spot: combined-stream and raw WebSocket frames, and the REST depth snapshot.
//!
//! Frames handled by [`BinanceParser::parse`]:
//!
//! - `depthUpdate` (`<symbol>@depth` / `@depth@100ms`): `U`/`u` first/final update id, `b`/`a` as
//!   `[price, qty]` string pairs, absolute quantities;
//! - `aggTrade` and `trade`: price `p`, quantity `q`, `m` = buyer is maker (so the aggressor sold);
//! - any other event (`kline`, tickers) as [`BinanceMessage::Other`], and subscription responses
//!   (`{"result":null,"id":1}`) as [`BinanceMessage::Response`].
//!
//! Both the combined form `{"stream":"btcusdt@depth@100ms","data":{…}}` and the raw form (the event
//! object alone, from `/ws/<name>`) are accepted. [`BinanceParser::parse_snapshot`] reads the
//! `GET /api/v3/depth` body `{"lastUpdateId":…,"bids":[…],"asks":[…]}`.
//!
//! Level changes and snapshot levels land in buffers owned by the parser and are lent out in the
//! returned message, so steady-state parsing does not allocate.

use crate::book::{Level, Side};
use crate::error::FeedError;
use crate::json::Scanner;
use crate::message::{Aggressor, LevelUpdate, Symbol, Trade};
use wintermute_core::decimal::{Decimal, InlineStr};

const VENUE: &str = "binance";

/// A diff-depth event.
#[derive(Debug, Clone, Copy)]
pub struct DepthUpdate<'a> {
    /// Symbol, uppercase as Binance writes it in `s`.
    pub symbol: Symbol,
    /// `U`: first update id in the event.
    pub first_update_id: u64,
    /// `u`: final update id in the event.
    pub final_update_id: u64,
    /// `E`: event time in ms.
    pub event_time_ms: u64,
    /// Bid changes then ask changes, in message order.
    pub levels: &'a [LevelUpdate],
}

/// A REST depth snapshot.
#[derive(Debug, Clone, Copy)]
pub struct DepthSnapshot<'a> {
    /// `lastUpdateId`.
    pub last_update_id: u64,
    /// Bids as sent (best first).
    pub bids: &'a [Level],
    /// Asks as sent (best first).
    pub asks: &'a [Level],
}

/// A parsed WebSocket frame.
#[derive(Debug, Clone, Copy)]
pub enum BinanceMessage<'a> {
    /// `depthUpdate`.
    Depth(DepthUpdate<'a>),
    /// `aggTrade` or `trade`.
    Trade(Trade),
    /// Another event type (its `e` and `s`).
    Other {
        /// The `e` field.
        event: &'a str,
        /// The `s` field, if any.
        symbol: Option<Symbol>,
    },
    /// A reply to a subscribe/unsubscribe request.
    Response,
}

/// Parser with reusable buffers; one per connection or per book builder.
#[derive(Debug, Clone, Default)]
pub struct BinanceParser {
    levels: Vec<LevelUpdate>,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

#[derive(Default)]
struct Fields<'a> {
    e: Option<&'a str>,
    s: Option<&'a str>,
    big_e: u64,
    first: Option<u64>,
    last: Option<u64>,
    has_b: bool,
    has_a: bool,
    p: Option<&'a str>,
    q: Option<&'a str>,
    agg_id: Option<u64>,
    t: Option<u64>,
    big_t: Option<u64>,
    m: Option<bool>,
    result: bool,
}

fn missing(message: &'static str, field: &'static str) -> FeedError {
    FeedError::MissingField { venue: VENUE, message, field }
}

impl BinanceParser {
    /// A parser with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one WebSocket text frame (combined or raw form).
    pub fn parse<'p>(&'p mut self, text: &'p str) -> Result<BinanceMessage<'p>, FeedError> {
        self.levels.clear();
        let mut f = Fields::default();
        let mut sc = Scanner::new(VENUE, text);
        self.event_object(&mut sc, &mut f, true)?;
        sc.finish()?;
        match f.e {
            Some("depthUpdate") => {
                let symbol = symbol(f.s.ok_or(missing("depthUpdate", "s"))?)?;
                if !f.has_b && !f.has_a {
                    return Err(missing("depthUpdate", "b"));
                }
                Ok(BinanceMessage::Depth(DepthUpdate {
                    symbol,
                    first_update_id: f.first.ok_or(missing("depthUpdate", "U"))?,
                    final_update_id: f.last.ok_or(missing("depthUpdate", "u"))?,
                    event_time_ms: f.big_e,
                    levels: &self.levels,
                }))
            }
            Some(kind @ ("aggTrade" | "trade")) => {
                let msg = if kind == "trade" { "trade" } else { "aggTrade" };
                let id = if kind == "trade" { f.t } else { f.agg_id };
                Ok(BinanceMessage::Trade(Trade {
                    symbol: symbol(f.s.ok_or(missing(msg, "s"))?)?,
                    price: Decimal::parse_unsigned_with(f.p.ok_or(missing(msg, "p"))?, FeedError::decimal("price"))?,
                    qty: Decimal::parse_unsigned_with(f.q.ok_or(missing(msg, "q"))?, FeedError::decimal("qty"))?,
                    aggressor: f.m.map(|m| if m { Aggressor::Sell } else { Aggressor::Buy }),
                    trade_id: id.ok_or(missing(msg, if kind == "trade" { "t" } else { "a" }))?,
                    exchange_ts: f.big_t.and_then(ms_to_ns),
                }))
            }
            Some(event) => Ok(BinanceMessage::Other { event, symbol: f.s.and_then(|s| symbol(s).ok()) }),
            None if f.result => Ok(BinanceMessage::Response),
            None => Err(missing("event", "e")),
        }
    }

    fn event_object<'a>(&mut self, sc: &mut Scanner<'a>, f: &mut Fields<'a>, top: bool) -> Result<(), FeedError> {
        let mut obj = sc.begin_object()?;
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "data" if top && sc.peek() == Some(b'{') => self.event_object(sc, f, false)?,
                "result" if top => {
                    f.result = true;
                    sc.skip_value()?;
                }
                "e" => f.e = Some(sc.string()?),
                "E" => f.big_e = sc.u64()?,
                "s" => f.s = Some(sc.string()?),
                "U" => f.first = Some(sc.u64()?),
                "u" => f.last = Some(sc.u64()?),
                "b" if sc.peek() == Some(b'[') => {
                    f.has_b = true;
                    self.update_levels(sc, Side::Buy)?;
                }
                "a" if sc.peek() == Some(b'[') => {
                    f.has_a = true;
                    self.update_levels(sc, Side::Sell)?;
                }
                "a" if sc.peek().is_some_and(|b| b.is_ascii_digit()) => f.agg_id = Some(sc.u64()?),
                "t" => f.t = Some(sc.u64()?),
                "T" => f.big_t = Some(sc.u64()?),
                "p" => f.p = Some(sc.string()?),
                "q" => f.q = Some(sc.string()?),
                "m" => f.m = Some(sc.bool()?),
                _ => sc.skip_value()?,
            }
        }
        Ok(())
    }

    fn update_levels(&mut self, sc: &mut Scanner<'_>, side: Side) -> Result<(), FeedError> {
        let mut arr = sc.begin_array()?;
        while sc.next_element(&mut arr)? {
            let (price, qty) = pair(sc)?;
            self.levels.push(LevelUpdate { side, price, qty });
        }
        Ok(())
    }

    /// Parses a REST depth snapshot body.
    pub fn parse_snapshot<'p>(&'p mut self, body: &str) -> Result<DepthSnapshot<'p>, FeedError> {
        self.bids.clear();
        self.asks.clear();
        let mut sc = Scanner::new(VENUE, body);
        let mut obj = sc.begin_object()?;
        let mut last_update_id = None;
        let (mut has_bids, mut has_asks) = (false, false);
        while let Some(key) = sc.next_key(&mut obj)? {
            let (side, seen) = match key {
                "lastUpdateId" => {
                    last_update_id = Some(sc.u64()?);
                    continue;
                }
                "bids" => (&mut self.bids, &mut has_bids),
                "asks" => (&mut self.asks, &mut has_asks),
                _ => {
                    sc.skip_value()?;
                    continue;
                }
            };
            *seen = true;
            let mut arr = sc.begin_array()?;
            while sc.next_element(&mut arr)? {
                let (price, qty) = pair(&mut sc)?;
                side.push(Level { price, qty });
            }
        }
        sc.finish()?;
        if !has_bids {
            return Err(missing("depthSnapshot", "bids"));
        }
        if !has_asks {
            return Err(missing("depthSnapshot", "asks"));
        }
        Ok(DepthSnapshot {
            last_update_id: last_update_id.ok_or(missing("depthSnapshot", "lastUpdateId"))?,
            bids: &self.bids,
            asks: &self.asks,
        })
    }
}

/// `["price","qty", …]`: the first two strings; further elements are skipped.
#[inline]
fn pair(sc: &mut Scanner<'_>) -> Result<(Decimal, Decimal), FeedError> {
    if let Some((price, qty)) = sc.string_pair() {
        return Ok((
            Decimal::parse_unsigned_with(price, FeedError::decimal("price"))?,
            Decimal::parse_unsigned_with(qty, FeedError::decimal("qty"))?,
        ));
    }
    let mut arr = sc.begin_array()?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("price"));
    }
    let price = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("price"))?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("quantity"));
    }
    let qty = Decimal::parse_unsigned_with(sc.string()?, FeedError::decimal("qty"))?;
    while sc.next_element(&mut arr)? {
        sc.skip_value()?;
    }
    Ok((price, qty))
}

fn symbol(s: &str) -> Result<Symbol, FeedError> {
    InlineStr::new(s).map_err(|_| FeedError::BadField {
        venue: VENUE,
        field: "s",
        reason: "symbol longer than 31 bytes",
    })
}

fn ms_to_ns(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1_000_000)
}

/// The `symbol=` query parameter of a REST depth URL, uppercase as Binance expects it.
pub fn snapshot_symbol(url: &str) -> Option<&str> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("symbol=")).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = r#"{"stream":"dotusdt@depth@100ms","data":{"e":"depthUpdate","E":1617566591307,"s":"DOTUSDT","U":1513939202,"u":1513939205,"b":[["43.50830000","7.00000000"],["43.50500000","0.00000000"]],"a":[["43.6","1.5"]]}}"#;

    #[test]
    fn parses_combined_and_raw_depth() {
        let mut p = BinanceParser::new();
        let raw = DIFF.split_once(r#""data":"#).map(|(_, rest)| rest.strip_suffix('}').unwrap().to_string()).unwrap();
        for text in [DIFF, raw.as_str()] {
            let BinanceMessage::Depth(d) = p.parse(text).unwrap() else { panic!("not depth: {text}") };
            assert_eq!(d.symbol.as_str(), "DOTUSDT");
            assert_eq!((d.first_update_id, d.final_update_id), (1513939202, 1513939205));
            assert_eq!(d.levels.len(), 3);
            assert_eq!(d.levels[0].side, Side::Buy);
            assert_eq!(d.levels[0].price.as_str(), "43.50830000");
            assert!(d.levels[1].qty.is_zero());
            assert_eq!(d.levels[2].side, Side::Sell);
        }
    }

    #[test]
    fn parses_trades() {
        let mut p = BinanceParser::new();
        let agg = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1617566591315,"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","f":745522877,"l":745522877,"T":1617566591314,"m":true,"M":true}}"#;
        let BinanceMessage::Trade(t) = p.parse(agg).unwrap() else { panic!() };
        assert_eq!((t.trade_id, t.aggressor), (665076760, Some(Aggressor::Sell)));
        assert_eq!(t.price.as_str(), "58001.03000000");
        assert_eq!(t.exchange_ts, Some(1_617_566_591_314_000_000));
        let trade = r#"{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","b":88,"a":50,"T":2,"m":false,"M":true}"#;
        let BinanceMessage::Trade(t) = p.parse(trade).unwrap() else { panic!() };
        assert_eq!((t.trade_id, t.aggressor), (12345, Some(Aggressor::Buy)));
    }

    #[test]
    fn parses_snapshot_and_url() {
        let mut p = BinanceParser::new();
        let s = p
            .parse_snapshot(r#"{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"],["0.0027","1"]]}"#)
            .unwrap();
        assert_eq!((s.last_update_id, s.bids.len(), s.asks.len()), (160, 1, 2));
        assert_eq!(snapshot_symbol("https://www.binance.com/api/v1/depth?symbol=DOTUSDT&limit=1000"), Some("DOTUSDT"));
        assert!(p.parse_snapshot(r#"{"bids":[],"asks":[]}"#).is_err());
    }

    #[test]
    fn errors_are_typed() {
        let mut p = BinanceParser::new();
        assert!(matches!(p.parse("{"), Err(FeedError::Json { .. })));
        assert!(matches!(
            p.parse(r#"{"e":"depthUpdate","s":"X","u":2,"b":[],"a":[]}"#),
            Err(FeedError::MissingField { field: "U", .. })
        ));
        assert!(matches!(
            p.parse(r#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["1.0"]],"a":[]}"#),
            Err(FeedError::Json { .. })
        ));
        assert!(matches!(p.parse(r#"{"result":null,"id":1}"#), Ok(BinanceMessage::Response)));
        assert!(matches!(p.parse(r#"{"e":"kline","s":"X"}"#), Ok(BinanceMessage::Other { event: "kline", .. })));
    }
}
