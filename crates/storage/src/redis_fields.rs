//! The Redis hot tier's key layout and the bytes of its values (`docs/storage.md`, *The Redis
//! hot tier*). Keys are hash-tagged by instrument (`wm:{BTC-USD}:book`), so one instrument's
//! keys share a Redis Cluster slot.
//!
//! Decimals are written as Python's `str(Decimal)` writes them (`"64000.25"`, `"0.500"`, and
//! `"1E-8"` below 10^-6), so what the Python reader, `redis-cli` and any earlier writer see is
//! one format.
//!
//! ```
//! use wintermute_storage::redis_fields::{key, python_decimal, KeyKind};
//!
//! assert_eq!(key("wm", "BTC-USD", KeyKind::Book), "wm:{BTC-USD}:book");
//! assert_eq!(key("wm", "BTC-USD", KeyKind::VenueTrades("kraken")), "wm:{BTC-USD}:venue:kraken:trades");
//! let mut s = String::new();
//! python_decimal(&mut s, "0.00000001");
//! assert_eq!(s, "1E-8");
//! ```

use std::fmt::Write as _;

use redis::Cmd;
use wintermute_core::{OrderBook, Side};
use wintermute_engine::audit_rows::{present, AuditColumns, SIDE_NAMES};

/// The `kind` code of a trade row (`audit_rows::KIND_NAMES`).
pub const TRADE: u8 = 3;

/// Which key of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind<'a> {
    /// `{p}:{SYMBOL}:book`: our venue's book (hash).
    Book,
    /// `{p}:{SYMBOL}:trades`: our venue's trades (stream).
    Trades,
    /// `{p}:{SYMBOL}:venue:VENUE:book`: an external venue's book (hash).
    VenueBook(&'a str),
    /// `{p}:{SYMBOL}:venue:VENUE:trades`: its trades (stream).
    VenueTrades(&'a str),
    /// `{p}:{SYMBOL}:consolidated`: the consolidated BBO (hash).
    Consolidated,
    /// `{p}:{SYMBOL}:consolidated:ticks`: its changes (stream).
    Ticks,
}

impl<'a> KeyKind<'a> {
    /// The kinds by name, as Python names them (`_core.redis_key`).
    pub const NAMES: [&'static str; 6] = ["book", "trades", "venue_book", "venue_trades", "consolidated", "ticks"];

    /// The kind named `name` (one of [`KeyKind::NAMES`]); the venue kinds with `venue`, the
    /// others without one. `None` for any other name, or a venue given or missing where it
    /// does not belong.
    pub fn named(name: &str, venue: Option<&'a str>) -> Option<Self> {
        Some(match (name, venue) {
            ("book", None) => KeyKind::Book,
            ("trades", None) => KeyKind::Trades,
            ("venue_book", Some(v)) => KeyKind::VenueBook(v),
            ("venue_trades", Some(v)) => KeyKind::VenueTrades(v),
            ("consolidated", None) => KeyKind::Consolidated,
            ("ticks", None) => KeyKind::Ticks,
            _ => return None,
        })
    }
}

/// The key of `symbol`'s `kind` under `prefix`.
pub fn key(prefix: &str, symbol: &str, kind: KeyKind<'_>) -> String {
    let mut k = format!("{prefix}:{{{symbol}}}:");
    match kind {
        KeyKind::Book => k.push_str("book"),
        KeyKind::Trades => k.push_str("trades"),
        KeyKind::VenueBook(v) => {
            let _ = write!(k, "venue:{v}:book");
        }
        KeyKind::VenueTrades(v) => {
            let _ = write!(k, "venue:{v}:trades");
        }
        KeyKind::Consolidated => k.push_str("consolidated"),
        KeyKind::Ticks => k.push_str("consolidated:ticks"),
    }
    k
}

/// Appends to `out` what Python's `str(Decimal(plain))` prints for the plain decimal text
/// `plain` (an optional `-`, digits, an optional `.` and digits, as the instrument steps
/// format them): the text itself, less leading zeros of the integer part, unless the value's
/// adjusted exponent is below -6, where it is scientific (`"1E-8"`, `"1.0E-7"`, `"0E-8"`).
pub fn python_decimal(out: &mut String, plain: &str) {
    let (sign, body) = plain.strip_prefix('-').map_or(("", plain), |b| ("-", b));
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int = int.trim_start_matches('0');
    // The coefficient's digits without leading zeros ("0" for zero), and the exponent.
    let lead = if int.is_empty() { frac.len() - frac.trim_start_matches('0').len() } else { 0 };
    let coeff_int = int;
    let coeff_frac = &frac[lead..];
    let digits = coeff_int.len() + coeff_frac.len();
    let exponent = -(frac.len() as i64);
    let adjusted = exponent + digits.max(1) as i64 - 1;
    out.push_str(sign);
    if adjusted >= -6 {
        // Plain notation: the integer part ("0" when none), then the fraction as written.
        out.push_str(if int.is_empty() { "0" } else { int });
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        return;
    }
    if digits == 0 {
        out.push('0');
    } else {
        let mut all = coeff_int.chars().chain(coeff_frac.chars());
        out.extend(all.next());
        let rest: String = all.collect();
        if !rest.is_empty() {
            out.push('.');
            out.push_str(&rest);
        }
    }
    let _ = write!(out, "E{adjusted}");
}

/// `python_decimal` of a price (`price = true`, ticks) or quantity (lots) of `book`'s
/// instrument.
fn book_decimal(out: &mut String, book: &OrderBook, units: i64, price: bool) {
    let spec = book.spec();
    let plain = if price { spec.format_price(units) } else { spec.format_qty(units) };
    python_decimal(out, &plain);
}

/// The JSON list of a side's top `levels` levels: `[["price", "qty", orders], ...]`, with
/// the separators of Python's `json.dumps`.
fn levels_json(out: &mut String, book: &OrderBook, side: Side, levels: usize) {
    out.push('[');
    for (i, l) in book.depth(side, levels).iter().enumerate() {
        out.push_str(if i == 0 { "[\"" } else { ", [\"" });
        book_decimal(out, book, l.price, true);
        out.push_str("\", \"");
        book_decimal(out, book, l.qty, false);
        let _ = write!(out, "\", {}]", l.orders);
    }
    out.push(']');
}

/// `HSET` of our venue's book hash for `book` (its top `levels` levels) as of journal
/// sequence `seq`: `seq`, `ts_ns`, `bid`, `bid_qty`, `ask`, `ask_qty` (empty for an empty
/// side), `bids`, `asks` (JSON), in that order.
pub fn book_hset(prefix: &str, book: &OrderBook, seq: u64, ts_ns: u64, levels: usize) -> (String, Cmd) {
    let k = key(prefix, &book.spec().symbol, KeyKind::Book);
    let mut c = redis::cmd("HSET");
    c.arg(&k).arg("seq").arg(seq).arg("ts_ns").arg(ts_ns);
    let mut text = String::with_capacity(64);
    for (side, price_name, qty_name) in [(Side::Buy, "bid", "bid_qty"), (Side::Sell, "ask", "ask_qty")] {
        let top = book.depth(side, 1);
        let (mut p, mut q) = (String::new(), String::new());
        if let Some(l) = top.first() {
            book_decimal(&mut p, book, l.price, true);
            book_decimal(&mut q, book, l.qty, false);
        }
        c.arg(price_name).arg(&p).arg(qty_name).arg(&q);
    }
    for (side, name) in [(Side::Buy, "bids"), (Side::Sell, "asks")] {
        text.clear();
        levels_json(&mut text, book, side, levels);
        c.arg(name).arg(&text);
    }
    (k, c)
}

/// `XADD key MAXLEN ~ stream_len *` (the fields follow).
pub fn xadd(key: &str, stream_len: u64) -> Cmd {
    let mut c = redis::cmd("XADD");
    c.arg(key).arg("MAXLEN").arg("~").arg(stream_len).arg("*");
    c
}

/// The `XADD` of trade row `i` of `rows` to its instrument's trades stream: `journal_seq`,
/// `n`, `price`, `qty`, `side` (the aggressor's, or empty), `ts_ns`.
pub fn trade_xadd(prefix: &str, rows: &AuditColumns, i: usize, stream_len: u64, text: &mut String) -> Cmd {
    let instrument = rows.instrument[i];
    let symbol = &rows.instruments[instrument as usize].0;
    let mut c = xadd(&key(prefix, symbol, KeyKind::Trades), stream_len);
    c.arg("journal_seq").arg(rows.journal_seq[i]).arg("n").arg(rows.n[i]);
    text.clear();
    python_decimal(text, &rows.decimal_text(instrument, rows.price[i], true));
    c.arg("price").arg(text.as_str());
    text.clear();
    python_decimal(text, &rows.decimal_text(instrument, rows.qty[i], false));
    c.arg("qty").arg(text.as_str());
    let side = if rows.present[i] & present::SIDE != 0 { SIDE_NAMES[rows.side[i] as usize] } else { "" };
    c.arg("side").arg(side).arg("ts_ns").arg(rows.ts_ns[i]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(plain: &str) -> String {
        let mut s = String::new();
        python_decimal(&mut s, plain);
        s
    }

    #[test]
    fn decimals_print_as_python_prints_them() {
        // Each pair checked against CPython's str(Decimal(text)).
        for (plain, python) in [
            ("64000.25", "64000.25"),
            ("0.500", "0.500"),
            ("0.00", "0.00"),
            ("12", "12"),
            ("0", "0"),
            ("0.000001", "0.000001"),
            ("0.0000010", "0.0000010"),
            ("0.00000001", "1E-8"),
            ("0.00000010", "1.0E-7"),
            ("0.00000123", "0.00000123"),
            ("0.00000000", "0E-8"),
            ("0.0000000", "0E-7"),
            ("0.000000", "0.000000"),
            ("-0.00000001", "-1E-8"),
            ("007.50", "7.50"),
            ("-1.5", "-1.5"),
        ] {
            assert_eq!(py(plain), python, "{plain}");
        }
    }

    #[test]
    fn keys_follow_the_documented_layout() {
        assert_eq!(key("wm", "ETH-USD", KeyKind::Trades), "wm:{ETH-USD}:trades");
        assert_eq!(key("p", "ETH-USD", KeyKind::VenueBook("binance")), "p:{ETH-USD}:venue:binance:book");
        assert_eq!(key("wm", "ETH-USD", KeyKind::Consolidated), "wm:{ETH-USD}:consolidated");
        assert_eq!(key("wm", "ETH-USD", KeyKind::Ticks), "wm:{ETH-USD}:consolidated:ticks");
    }

    #[test]
    fn every_kind_is_found_by_its_name_and_a_venue_only_where_it_belongs() {
        let found: Vec<_> = KeyKind::NAMES
            .iter()
            .map(|name| KeyKind::named(name, None).or_else(|| KeyKind::named(name, Some("x"))))
            .collect();
        assert_eq!(
            found,
            [
                Some(KeyKind::Book),
                Some(KeyKind::Trades),
                Some(KeyKind::VenueBook("x")),
                Some(KeyKind::VenueTrades("x")),
                Some(KeyKind::Consolidated),
                Some(KeyKind::Ticks),
            ]
        );
        assert_eq!(KeyKind::named("book", Some("x")), None);
        assert_eq!(KeyKind::named("venue_book", None), None);
        assert_eq!(KeyKind::named("Book", None), None);
    }
}
