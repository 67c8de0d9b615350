//! The replay server's second protocols: a Kraken WebSocket **v1** recording served in the **v2**
//! protocol, and a Coinbase **Exchange** recording served as **Advanced Trade**, so the
//! connectors for those protocols are tested end to end on real traffic.
//!
//! The recorded sessions in `data/` are v1 and Exchange; the venues publish the same books in
//! both protocols. Each frame is rewritten into the other protocol's shape with every price and
//! quantity text kept exactly (v2 writes them as JSON numbers; Advanced Trade as strings):
//!
//! | recorded | served |
//! |---|---|
//! | Kraken v1 book snapshot `[id,{"as","bs"},"book-N",pair]` | `{"channel":"book","type":"snapshot","data":[{symbol,bids,asks,checksum}]}`, the checksum computed from the snapshot's top 10 (v2 sends one with snapshots too) |
//! | Kraken v1 book update (`a`/`b`, `c`) | `type:"update"` with `checksum` = `c`: the recorded checksum still vouches for the book |
//! | Kraken v1 trades | `{"channel":"trade","type":"update","data":[{symbol,side,price,qty,ord_type,timestamp}]}` |
//! | Kraken `heartbeat`, `systemStatus`, `subscriptionStatus`, `pong` | `heartbeat`, `status`, a `method:"subscribe"` reply, `method:"pong"` |
//! | Coinbase `snapshot` / `l2update` | `l2_data` `snapshot` / `update` events (`buy` → `bid`, `sell` → `offer`) |
//! | Coinbase `match` / `last_match` | `market_trades` (`side` upper-cased) |
//! | Coinbase `ticker`, `heartbeat`, `subscriptions` | `ticker`, `heartbeats`, `subscriptions` envelopes |
//!
//! **Advanced Trade sequence numbers** are per connection and assigned to *recorded* frames as
//! the server's cursor passes them, before any injected fault: a dropped frame leaves a hole in
//! `sequence_num`, a duplicated one repeats its number — what a client sees when the network
//! loses or repeats a message.
//!
//! Kraken v2 names pairs `BTC/USD` where v1 wrote `XBT/USD`; a translated session keeps the
//! recording's names (the books do not depend on them). A frame that does not parse (an
//! injected corruption) is sent unchanged: the client must treat it as malformed either way.

use std::fmt::Write;

use serde_json::Value;

use crate::book::{L2Book, Side};
use crate::timestamp::parse_epoch_seconds;
use wintermute_core::decimal::Decimal;

/// The protocol a replay connection speaks, chosen by its first subscribe frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The recording's own protocol.
    Native,
    /// Kraken WebSocket v2 (the subscribe frame has `"method"`).
    KrakenV2,
    /// Coinbase Advanced Trade (the subscribe frame has `"channel"`, singular).
    CoinbaseAdvanced,
}

impl Dialect {
    /// The dialect a client's subscribe frame asks for.
    pub fn of_subscribe(frame: &Value) -> Dialect {
        if frame.get("method").is_some() {
            Dialect::KrakenV2
        } else if frame.get("channel").is_some() {
            Dialect::CoinbaseAdvanced
        } else {
            Dialect::Native
        }
    }
}

/// Per-connection translation state.
#[derive(Debug, Clone)]
pub struct Translator {
    dialect: Dialect,
    /// Coinbase Advanced Trade `sequence_num` of the next frame on this connection.
    sequence: u64,
}

impl Translator {
    /// A translator into `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Translator { dialect, sequence: 0 }
    }

    /// The dialect spoken.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `frame` (in the recording's protocol) in this connection's protocol; consumes a sequence
    /// number in Advanced Trade.
    pub fn translate(&mut self, frame: &str) -> String {
        match self.dialect {
            Dialect::Native => frame.to_string(),
            Dialect::KrakenV2 => kraken_v2(frame).unwrap_or_else(|| frame.to_string()),
            Dialect::CoinbaseAdvanced => {
                let seq = self.sequence;
                self.sequence += 1;
                coinbase_advanced(frame, seq).unwrap_or_else(|| frame.to_string())
            }
        }
    }
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `[{"price":p,"qty":q},…]` from v1 `[[p,q,ts(,flag)],…]`, the texts written as JSON numbers.
fn v2_levels(out: &mut String, levels: Option<&Value>) -> Option<()> {
    out.push('[');
    for (i, l) in levels.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        let (p, q) = (l.get(0)?.as_str()?, l.get(1)?.as_str()?);
        // Numbers must be numbers: refuse anything but the exchange's plain decimal text.
        Decimal::parse_unsigned(p).ok()?;
        Decimal::parse_unsigned(q).ok()?;
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"price":{p},"qty":{q}}}"#);
    }
    out.push(']');
    Some(())
}

/// Kraken's checksum of a snapshot's top 10 levels per side.
fn snapshot_checksum(asks: Option<&Value>, bids: Option<&Value>) -> Option<u32> {
    let mut book = L2Book::new();
    for (side, levels) in [(Side::Sell, asks), (Side::Buy, bids)] {
        for l in levels.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
            let p = Decimal::parse_unsigned(l.get(0)?.as_str()?).ok()?;
            let q = Decimal::parse_unsigned(l.get(1)?.as_str()?).ok()?;
            book.apply(side, p, q);
        }
    }
    Some(crate::kraken::checksum(&book))
}

fn kraken_v2(frame: &str) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    if let Some(event) = v.get("event").and_then(Value::as_str) {
        return Some(match event {
            "heartbeat" => r#"{"channel":"heartbeat"}"#.to_string(),
            "systemStatus" => {
                let status = v.get("status").and_then(Value::as_str).unwrap_or("online");
                format!(r#"{{"channel":"status","type":"update","data":[{{"system":{}}}]}}"#, json_string(status))
            }
            "subscriptionStatus" => {
                let ok = v.get("status").and_then(Value::as_str) == Some("subscribed");
                let sub = v.get("subscription");
                let channel = sub.and_then(|s| s.get("name")).and_then(Value::as_str).unwrap_or("book");
                let depth = sub.and_then(|s| s.get("depth")).and_then(Value::as_u64).unwrap_or(10);
                let pair = v.get("pair").and_then(Value::as_str).unwrap_or("");
                format!(
                    r#"{{"method":"subscribe","result":{{"channel":{},"depth":{depth},"snapshot":true,"symbol":{}}},"success":{ok}}}"#,
                    json_string(channel),
                    json_string(pair)
                )
            }
            "pong" => {
                let id = v.get("reqid").cloned().unwrap_or(Value::Null);
                format!(r#"{{"method":"pong","req_id":{id}}}"#)
            }
            _ => return None,
        });
    }
    let parts = v.as_array()?;
    let name = parts.get(parts.len().checked_sub(2)?)?.as_str()?;
    let pair = parts.last()?.as_str()?;
    if name == "trade" {
        return kraken_v2_trades(parts.get(1)?, pair);
    }
    if !name.starts_with("book") {
        return None;
    }
    let bodies = &parts[1..parts.len() - 2];
    let first = bodies.first()?;
    let mut out = String::with_capacity(frame.len() + 64);
    if first.get("as").is_some() || first.get("bs").is_some() {
        let checksum = snapshot_checksum(first.get("as"), first.get("bs"))?;
        let _ = write!(out, r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":{},"bids":"#, json_string(pair));
        v2_levels(&mut out, first.get("bs"))?;
        out.push_str(r#","asks":"#);
        v2_levels(&mut out, first.get("as"))?;
        let _ = write!(out, r#","checksum":{checksum}}}]}}"#);
        return Some(out);
    }
    let find = |key: &str| bodies.iter().find_map(|b| b.get(key));
    let checksum = find("c").and_then(Value::as_str).and_then(|c| c.parse::<u32>().ok());
    let _ = write!(out, r#"{{"channel":"book","type":"update","data":[{{"symbol":{},"bids":"#, json_string(pair));
    v2_levels(&mut out, find("b"))?;
    out.push_str(r#","asks":"#);
    v2_levels(&mut out, find("a"))?;
    if let Some(c) = checksum {
        let _ = write!(out, r#","checksum":{c}"#);
    }
    out.push_str("}]}");
    Some(out)
}

/// v1 `[[price, volume, time, side b|s, type l|m, misc], …]` as a v2 trade update.
fn kraken_v2_trades(trades: &Value, pair: &str) -> Option<String> {
    let mut out = String::from(r#"{"channel":"trade","type":"update","data":["#);
    for (i, t) in trades.as_array()?.iter().enumerate() {
        let (p, q, time) = (t.get(0)?.as_str()?, t.get(1)?.as_str()?, t.get(2)?.as_str()?);
        Decimal::parse_unsigned(p).ok()?;
        Decimal::parse_unsigned(q).ok()?;
        let side = if t.get(3)?.as_str()? == "b" { "buy" } else { "sell" };
        let ord_type = if t.get(4).and_then(Value::as_str) == Some("m") { "market" } else { "limit" };
        let ts = rfc3339(parse_epoch_seconds(time).ok()?);
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"symbol":{},"side":"{side}","price":{p},"qty":{q},"ord_type":"{ord_type}","timestamp":{}}}"#,
            json_string(pair),
            json_string(&ts)
        );
    }
    out.push_str("]}");
    Some(out)
}

/// Nanoseconds since the epoch as UTC RFC 3339 with microseconds (`2021-04-05T19:49:50.378895Z`).
fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1_000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3_600, rem % 3_600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
}

fn envelope(channel: &str, timestamp: &str, seq: u64, events: &str) -> String {
    format!(
        r#"{{"channel":"{channel}","client_id":"","timestamp":{},"sequence_num":{seq},"events":{events}}}"#,
        json_string(timestamp)
    )
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn coinbase_advanced(frame: &str, seq: u64) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    let kind = text_of(&v, "type")?;
    let time = text_of(&v, "time").unwrap_or("1970-01-01T00:00:00Z");
    let product = text_of(&v, "product_id").unwrap_or("");
    let update = |out: &mut String, side: &str, p: &str, q: &str| {
        let side = if side == "buy" || side == "bid" { "bid" } else { "offer" };
        let _ = write!(
            out,
            r#"{{"side":"{side}","event_time":{},"price_level":{},"new_quantity":{}}}"#,
            json_string(time),
            json_string(p),
            json_string(q)
        );
    };
    match kind {
        "snapshot" | "l2update" => {
            let mut updates = String::from("[");
            let mut n = 0;
            if kind == "snapshot" {
                for (side, key) in [("bid", "bids"), ("offer", "asks")] {
                    for l in v.get(key)?.as_array()? {
                        if n > 0 {
                            updates.push(',');
                        }
                        update(&mut updates, side, l.get(0)?.as_str()?, l.get(1)?.as_str()?);
                        n += 1;
                    }
                }
            } else {
                for c in v.get("changes")?.as_array()? {
                    if n > 0 {
                        updates.push(',');
                    }
                    update(&mut updates, c.get(0)?.as_str()?, c.get(1)?.as_str()?, c.get(2)?.as_str()?);
                    n += 1;
                }
            }
            updates.push(']');
            let event_type = if kind == "snapshot" { "snapshot" } else { "update" };
            let events =
                format!(r#"[{{"type":"{event_type}","product_id":{},"updates":{updates}}}]"#, json_string(product));
            Some(envelope("l2_data", time, seq, &events))
        }
        "match" | "last_match" => {
            let side = text_of(&v, "side")?.to_ascii_uppercase();
            let id = v.get("trade_id").cloned().unwrap_or(Value::Null);
            let trade_id = json_string(&id.as_u64().map_or_else(|| id.to_string(), |n| n.to_string()));
            let events = format!(
                r#"[{{"type":"update","trades":[{{"trade_id":{trade_id},"product_id":{},"price":{},"size":{},"side":"{side}","time":{}}}]}}]"#,
                json_string(product),
                json_string(text_of(&v, "price")?),
                json_string(text_of(&v, "size")?),
                json_string(time)
            );
            Some(envelope("market_trades", time, seq, &events))
        }
        "ticker" => {
            let field = |k: &str| json_string(text_of(&v, k).unwrap_or(""));
            let events = format!(
                r#"[{{"type":"update","tickers":[{{"type":"ticker","product_id":{},"price":{},"best_bid":{},"best_ask":{}}}]}}]"#,
                json_string(product),
                field("price"),
                field("best_bid"),
                field("best_ask")
            );
            Some(envelope("ticker", time, seq, &events))
        }
        "heartbeat" => {
            let counter = v.get("sequence").and_then(Value::as_u64).unwrap_or(seq);
            let events = format!(r#"[{{"current_time":{},"heartbeat_counter":{counter}}}]"#, json_string(time));
            Some(envelope("heartbeats", time, seq, &events))
        }
        "subscriptions" => {
            let events = format!(r#"[{{"subscriptions":{}}}]"#, v.get("channels").cloned().unwrap_or(Value::Null));
            Some(envelope("subscriptions", time, seq, &events))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coinbase::{CoinbaseMessage, CoinbaseParser};
    use crate::kraken::{KrakenMessage, KrakenParser};

    #[test]
    fn rfc3339_round_trips_through_the_parser() {
        for ns in [0i64, 1_617_566_590_378_895_000, 951_782_400_000_001_000, 4_102_444_799_999_999_000] {
            let text = rfc3339(ns);
            assert_eq!(crate::timestamp::parse_rfc3339(&text), Some(ns), "{text}");
        }
        assert_eq!(rfc3339(1_617_566_590_378_895_000), "2021-04-04T20:03:10.378895Z");
    }

    #[test]
    fn dialect_from_the_subscribe_frame() {
        let v2: Value = serde_json::from_str(r#"{"method":"subscribe","params":{"channel":"book"}}"#).unwrap();
        let at: Value = serde_json::from_str(r#"{"type":"subscribe","channel":"level2","product_ids":[]}"#).unwrap();
        let ex: Value = serde_json::from_str(r#"{"type":"subscribe","channels":["level2_batch"]}"#).unwrap();
        assert_eq!(Dialect::of_subscribe(&v2), Dialect::KrakenV2);
        assert_eq!(Dialect::of_subscribe(&at), Dialect::CoinbaseAdvanced);
        assert_eq!(Dialect::of_subscribe(&ex), Dialect::Native);
    }

    #[test]
    fn kraken_v1_book_frames_become_v2_with_exact_text_and_checksums() {
        let mut t = Translator::new(Dialect::KrakenV2);
        let snap =
            t.translate(r#"[1,{"as":[["5.10","1.500","1.0"]],"bs":[["4.00","2.0","1.0"]]},"book-10","XBT/USD"]"#);
        assert!(snap.contains(r#""bids":[{"price":4.00,"qty":2.0}],"asks":[{"price":5.10,"qty":1.500}]"#), "{snap}");
        let upd = t.translate(
            r#"[1,{"a":[["5.10","0.000","2.0","r"]]},{"b":[["4.5","1","2.0"]],"c":"12345"},"book-10","XBT/USD"]"#,
        );
        assert!(upd.contains(r#""type":"update""#) && upd.contains(r#""checksum":12345"#), "{upd}");
        let mut p = KrakenParser::new();
        let Ok(KrakenMessage::Book { snapshot: true, parts, .. }) = p.parse(&snap) else { panic!("{snap}") };
        let mut book = L2Book::new();
        book.apply(Side::Sell, Decimal::parse_unsigned("5.10").unwrap(), Decimal::parse_unsigned("1.500").unwrap());
        book.apply(Side::Buy, Decimal::parse_unsigned("4.00").unwrap(), Decimal::parse_unsigned("2.0").unwrap());
        assert_eq!(parts[0].checksum, Some(crate::kraken::checksum(&book)));
        assert!(matches!(p.parse(&upd), Ok(KrakenMessage::Book { snapshot: false, .. })));
        assert_eq!(t.translate(r#"{"event":"heartbeat"}"#), r#"{"channel":"heartbeat"}"#);
        // A corrupted frame stays as it was.
        assert_eq!(t.translate("[1,{\"a\":[[\"5"), "[1,{\"a\":[[\"5");
    }

    #[test]
    fn coinbase_exchange_frames_become_advanced_trade_with_per_connection_sequence() {
        let mut t = Translator::new(Dialect::CoinbaseAdvanced);
        let snap = t
            .translate(r#"{"type":"snapshot","product_id":"BTC-USD","bids":[["10.00","1.5"]],"asks":[["11.00","2"]]}"#);
        let upd = t.translate(
            r#"{"type":"l2update","product_id":"BTC-USD","time":"2021-04-17T00:00:00.1Z","changes":[["sell","11.00","0"]]}"#,
        );
        let mut p = CoinbaseParser::new();
        let Ok(CoinbaseMessage::AdvancedBook { sequence_num: 0, updates, .. }) = p.parse(&snap) else {
            panic!("{snap}")
        };
        assert_eq!(updates.len(), 2);
        let Ok(CoinbaseMessage::AdvancedBook { sequence_num: 1, updates, .. }) = p.parse(&upd) else { panic!("{upd}") };
        assert_eq!((updates[0].price.as_str(), updates[0].qty.as_str()), ("11.00", "0"));
        let trade = t.translate(
            r#"{"type":"match","trade_id":7,"side":"sell","size":"0.5","price":"10.00","product_id":"BTC-USD","time":"2021-04-17T00:00:00.2Z"}"#,
        );
        assert!(matches!(p.parse(&trade), Ok(CoinbaseMessage::AdvancedTrades { sequence_num: 2, .. })), "{trade}");
    }
}
