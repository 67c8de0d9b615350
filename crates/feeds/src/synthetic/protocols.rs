//! The synthetic market written in each venue's own protocol: the exact frame shapes the parsers
//! of this crate read from the real exchanges (see `exchange-feeds.md`).
//!
//! * Binance spot: combined-stream `depthUpdate` diffs with chained `U`/`u`, `aggTrade`, and the
//!   REST depth snapshot `{lastUpdateId, bids, asks}`.
//! * Coinbase Exchange: `snapshot`, `l2update` (with `time`), `match` (`side` = the maker's side).
//! * Kraken WebSocket v1: `book-N` snapshot and updates with the CRC-32 checksum `c` of the top 10
//!   levels, `trade` arrays (side = the taker's).

use std::fmt::Write;

use crate::book::{L2Book, Side};
use crate::message::Aggressor;

/// How a venue writes one instrument's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Fractional digits of prices.
    pub price_decimals: u32,
    /// One tick in units of 10^-price_decimals.
    pub tick_units: i64,
}

/// Fractional digits of quantities (lots are 10^-8).
pub const QTY_DECIMALS: u32 = 8;

/// `value` in units of 10^-`decimals`, written with exactly `decimals` fractional digits.
pub fn fixed(value: i64, decimals: u32) -> String {
    let unit = 10i64.pow(decimals);
    let sign = if value < 0 { "-" } else { "" };
    let v = value.unsigned_abs();
    if decimals == 0 {
        return format!("{sign}{v}");
    }
    format!("{sign}{}.{:0width$}", v / unit as u64, v % unit as u64, width = decimals as usize)
}

impl Format {
    /// One tick in latent units ([`super::latent::UNITS_PER_DOLLAR`]-ths: 1e-8 of the quote
    /// currency; every venue here writes at most 8 price decimals).
    pub fn tick_in_units(&self) -> i64 {
        10i64.pow(8u32.saturating_sub(self.price_decimals)) * self.tick_units
    }

    /// A price in ticks as the venue writes it.
    pub fn price(&self, ticks: i64) -> String {
        fixed(ticks * self.tick_units, self.price_decimals)
    }
}

/// A quantity in lots as text.
pub fn qty(lots: i64) -> String {
    fixed(lots, QTY_DECIMALS)
}

/// ns since the epoch as RFC 3339 with microseconds (`2021-04-17T16:43:37.089723Z`).
pub fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1_000;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3_600, sod % 3_600 / 60, sod % 60)
}

/// ns since the epoch as Kraken's `seconds.micros` text.
pub fn epoch_micros(ns: i64) -> String {
    fixed(ns / 1_000, 6)
}

fn pairs<'a>(out: &mut String, levels: impl Iterator<Item = &'a (String, String)>) {
    out.push('[');
    for (i, (p, q)) in levels.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"["{p}","{q}"]"#);
    }
    out.push(']');
}

/// Binance `depthUpdate` on the combined stream.
pub fn binance_diff(
    symbol: &str,
    event_ms: i64,
    first: u64,
    last: u64,
    bids: &[(String, String)],
    asks: &[(String, String)],
) -> String {
    let lower = symbol.to_ascii_lowercase();
    let mut out = format!(
        r#"{{"stream":"{lower}@depth@100ms","data":{{"e":"depthUpdate","E":{event_ms},"s":"{symbol}","U":{first},"u":{last},"b":"#
    );
    pairs(&mut out, bids.iter());
    out.push_str(r#","a":"#);
    pairs(&mut out, asks.iter());
    out.push_str("}}");
    out
}

/// Binance REST depth snapshot body.
pub fn binance_snapshot(last_update_id: u64, bids: &[(String, String)], asks: &[(String, String)]) -> String {
    let mut out = format!(r#"{{"lastUpdateId":{last_update_id},"bids":"#);
    pairs(&mut out, bids.iter());
    out.push_str(r#","asks":"#);
    pairs(&mut out, asks.iter());
    out.push('}');
    out
}

/// Binance `aggTrade` on the combined stream.
#[allow(clippy::too_many_arguments)]
pub fn binance_trade(symbol: &str, event_ms: i64, id: u64, price: &str, qty: &str, aggressor: Aggressor) -> String {
    let lower = symbol.to_ascii_lowercase();
    // `m`: the buyer is the maker, i.e. the aggressor sold.
    let m = aggressor == Aggressor::Sell;
    format!(
        r#"{{"stream":"{lower}@aggTrade","data":{{"e":"aggTrade","E":{event_ms},"s":"{symbol}","a":{id},"p":"{price}","q":"{qty}","f":{id},"l":{id},"T":{event_ms},"m":{m},"M":true}}}}"#
    )
}

/// Coinbase Exchange `snapshot`.
pub fn coinbase_snapshot(product: &str, bids: &[(String, String)], asks: &[(String, String)]) -> String {
    let mut out = format!(r#"{{"type":"snapshot","product_id":"{product}","bids":"#);
    pairs(&mut out, bids.iter());
    out.push_str(r#","asks":"#);
    pairs(&mut out, asks.iter());
    out.push('}');
    out
}

/// Coinbase Exchange `l2update`.
pub fn coinbase_update(product: &str, time_ns: i64, changes: &[(Side, String, String)]) -> String {
    let mut out = format!(r#"{{"type":"l2update","product_id":"{product}","changes":["#);
    for (i, (side, p, q)) in changes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let s = if *side == Side::Buy { "buy" } else { "sell" };
        let _ = write!(out, r#"["{s}","{p}","{q}"]"#);
    }
    let _ = write!(out, r#"],"time":"{}"}}"#, rfc3339(time_ns));
    out
}

/// Coinbase Exchange `match` (`side` is the maker's side).
pub fn coinbase_match(product: &str, time_ns: i64, id: u64, price: &str, qty: &str, aggressor: Aggressor) -> String {
    let maker = if aggressor == Aggressor::Buy { "sell" } else { "buy" };
    format!(
        r#"{{"type":"match","trade_id":{id},"maker_order_id":"m{id}","taker_order_id":"t{id}","side":"{maker}","size":"{qty}","price":"{price}","product_id":"{product}","sequence":{id},"time":"{}"}}"#,
        rfc3339(time_ns)
    )
}

/// Kraken v1 subscribe request for a book of `depth` levels.
pub fn kraken_subscribe(pair: &str, depth: usize) -> String {
    format!(r#"{{"event":"subscribe","pair":["{pair}"],"subscription":{{"name":"book","depth":{depth}}}}}"#)
}

/// Kraken v1 `subscriptionStatus` for the book channel.
pub fn kraken_subscribed(channel_id: u32, pair: &str, depth: usize) -> String {
    format!(
        r#"{{"channelID":{channel_id},"channelName":"book-{depth}","event":"subscriptionStatus","pair":"{pair}","status":"subscribed","subscription":{{"depth":{depth},"name":"book"}}}}"#
    )
}

fn kraken_entries<'a>(out: &mut String, levels: impl Iterator<Item = &'a (String, String)>, ts: &str) {
    out.push('[');
    for (i, (p, q)) in levels.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"["{p}","{q}","{ts}"]"#);
    }
    out.push(']');
}

/// Kraken v1 book snapshot.
pub fn kraken_snapshot(
    channel_id: u32,
    pair: &str,
    depth: usize,
    time_ns: i64,
    bids: &[(String, String)],
    asks: &[(String, String)],
) -> String {
    let ts = epoch_micros(time_ns);
    let mut out = format!(r#"[{channel_id},{{"as":"#);
    kraken_entries(&mut out, asks.iter(), &ts);
    out.push_str(r#","bs":"#);
    kraken_entries(&mut out, bids.iter(), &ts);
    let _ = write!(out, r#"}},"book-{depth}","{pair}"]"#);
    out
}

/// Kraken v1 book update with its checksum; `asks`/`bids` may be empty (the key is then left out).
#[allow(clippy::too_many_arguments)]
pub fn kraken_update(
    channel_id: u32,
    pair: &str,
    depth: usize,
    time_ns: i64,
    bids: &[(String, String)],
    asks: &[(String, String)],
    checksum: u32,
) -> String {
    let ts = epoch_micros(time_ns);
    let mut out = format!("[{channel_id},{{");
    if !asks.is_empty() {
        out.push_str(r#""a":"#);
        kraken_entries(&mut out, asks.iter(), &ts);
        out.push(',');
    }
    if !bids.is_empty() {
        out.push_str(r#""b":"#);
        kraken_entries(&mut out, bids.iter(), &ts);
        out.push(',');
    }
    let _ = write!(out, r#""c":"{checksum}"}},"book-{depth}","{pair}"]"#);
    out
}

/// Kraken v1 trade frame (side = the taker's).
pub fn kraken_trade(channel_id: u32, pair: &str, time_ns: i64, price: &str, qty: &str, aggressor: Aggressor) -> String {
    let side = if aggressor == Aggressor::Buy { "b" } else { "s" };
    format!(r#"[{channel_id},[["{price}","{qty}","{}","{side}","l",""]],"trade","{pair}"]"#, epoch_micros(time_ns))
}

/// The checksum Kraken would send for `book` (top 10 of each side).
pub fn kraken_checksum(book: &L2Book) -> u32 {
    crate::kraken::checksum(book)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::{parse_epoch_seconds, parse_rfc3339};

    #[test]
    fn numbers_and_times_round_trip() {
        assert_eq!(fixed(6_000_012, 2), "60000.12");
        assert_eq!(fixed(5, 8), "0.00000005");
        assert_eq!(Format { price_decimals: 5, tick_units: 10_000 }.price(600_005), "60000.50000");
        for ns in [0, 1_618_677_817_089_723_000, 951_868_801_500_000_000, 1_700_000_000_123_456_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ns)), Some(ns), "{}", rfc3339(ns));
            assert_eq!(parse_epoch_seconds(&epoch_micros(ns)).unwrap(), ns);
        }
    }
}
