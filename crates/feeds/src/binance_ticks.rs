//! Binance diff-depth straight into an integer book: the hot path when the exchange's text is not
//! needed.
//!
//! [`sync::BinanceBooks`](crate::sync::BinanceBooks) keeps every level's decimal text (one
//! builder for all venues' needs, Kraken's checksum included). A strategy that only needs prices
//! and sizes can skip the text: [`BinanceTickBook`] reads one symbol's `depthUpdate` frames and
//! REST snapshots, converts each `["price","qty"]` to integer ticks and lots of the instrument
//! ([`TickScale`], exact: a price off the tick grid is an error, never rounded), and keeps a
//! [`TickBook`] in sync with the same documented procedure (`exchange-feeds.md` §1.1): buffer
//! diffs until a snapshot, drop a snapshot older than the buffer, chain `U`/`u` from
//! `lastUpdateId`, and on a gap discard the book and wait for the next snapshot.
//!
//! A frame is parsed and checked completely before anything is applied, so a malformed frame
//! changes nothing (it is counted in `errors`; the gap it leaves shows on the next diff). Frames of
//! other symbols and other events are ignored. After warm-up (buffers at their working size, the
//! windows wide enough for the book's levels), a frame allocates nothing.
//!
//! ```
//! use wintermute_feeds::binance_ticks::{BinanceTickBook, TickScale};
//! let scale = TickScale::new("0.01", "0.00001").unwrap();
//! let mut book = BinanceTickBook::new("BTCUSDT", scale, 4_096).unwrap();
//! book.on_snapshot(r#"{"lastUpdateId":10,"bids":[["100.00","1.5"]],"asks":[["100.02","2"]]}"#).unwrap();
//! book.on_frame(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":11,"u":11,"b":[["100.01","0.25"]],"a":[]}"#).unwrap();
//! assert_eq!(book.book().best_bid(), Some((10_001, 25_000)));
//! assert!(book.on_frame(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":12,"u":12,"b":[["100.001","1"]],"a":[]}"#).is_err());
//! ```

use crate::binance::snapshot_symbol;
use crate::book::Side;
use crate::decimal::{InlineStr, Symbol};
use crate::error::FeedError;
use crate::json::Scanner;
use crate::sync::binance::MAX_BUFFERED;
use crate::sync::{FeedEvent, ResyncReason, SyncState};
use crate::tick_book::{TickBook, MAX_PRICE};

const VENUE: &str = "binance";
/// Most fractional digits a [`TickScale`] accepts (so 10^digits and 19-digit mantissas fit i64).
pub const MAX_DECIMALS: u32 = 18;
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// An instrument's price tick and quantity lot, for exact decimal -> integer conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickScale {
    price_decimals: u32,
    tick: i64,
    qty_decimals: u32,
    lot: i64,
}

impl TickScale {
    /// From the tick size and lot size as decimal text (`"0.01"`, `"0.00001"`).
    pub fn new(tick_size: &str, lot_size: &str) -> Result<Self, FeedError> {
        let (price_decimals, tick) = step(tick_size, "tick_size")?;
        let (qty_decimals, lot) = step(lot_size, "lot_size")?;
        Ok(TickScale { price_decimals, tick, qty_decimals, lot })
    }

    /// A price's text in ticks (exact; off the grid or too large is an error).
    #[inline]
    pub fn price(&self, text: &str) -> Result<i64, FeedError> {
        to_units(text, self.price_decimals, self.tick, "price")
    }

    /// A quantity's text in lots (exact; off the grid or too large is an error).
    #[inline]
    pub fn qty(&self, text: &str) -> Result<i64, FeedError> {
        to_units(text, self.qty_decimals, self.lot, "qty")
    }
}

fn bad(field: &'static str, reason: &'static str) -> FeedError {
    FeedError::BadField { venue: VENUE, field, reason }
}

/// A step size's fractional digits and value in units of 10^-digits.
fn step(text: &str, field: &'static str) -> Result<(u32, i64), FeedError> {
    let digits = match text.split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len() as u32,
        None => 0,
    };
    if digits > MAX_DECIMALS {
        return Err(bad(field, "more than 18 fractional digits"));
    }
    let units = fixed(text.as_bytes(), digits).ok_or(bad(field, "not a plain decimal"))?;
    if units <= 0 {
        return Err(bad(field, "must be positive"));
    }
    Ok((digits, units))
}

/// Plain decimal text in units of 10^-`decimals`, exactly (extra fractional digits must be zeros).
#[inline]
fn fixed(s: &[u8], decimals: u32) -> Option<i64> {
    let n = s.len();
    let mut i = 0;
    let mut m: i64 = 0;
    while i < n && s[i].is_ascii_digit() {
        m = m.checked_mul(10)?.checked_add(i64::from(s[i] - b'0'))?;
        i += 1;
    }
    let mut digits = i;
    let mut frac = 0u32;
    if i < n && s[i] == b'.' {
        i += 1;
        let start = i;
        while i < n && s[i].is_ascii_digit() {
            if frac < decimals {
                m = m.checked_mul(10)?.checked_add(i64::from(s[i] - b'0'))?;
                frac += 1;
            } else if s[i] != b'0' {
                return None;
            }
            i += 1;
        }
        digits += i - start;
    }
    if i != n || digits == 0 {
        return None;
    }
    m.checked_mul(POW10[(decimals - frac) as usize])
}

#[inline]
fn to_units(text: &str, decimals: u32, step: i64, field: &'static str) -> Result<i64, FeedError> {
    let units = fixed(text.as_bytes(), decimals).ok_or_else(|| bad(field, "not an exact decimal on the scale"))?;
    // A power-of-ten step (the usual case) is 1 unit: no division.
    if step == 1 {
        return Ok(units);
    }
    if units % step != 0 {
        return Err(bad(field, "not a multiple of the step size"));
    }
    Ok(units / step)
}

/// Counters of a [`BinanceTickBook`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickBookStats {
    /// Frames and snapshots of this symbol.
    pub messages: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
    /// Diffs applied to the live book.
    pub updates: u64,
    /// Update-id gaps.
    pub gaps: u64,
    /// Times the book was discarded.
    pub resyncs: u64,
    /// Malformed frames (any symbol) and snapshots.
    pub errors: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: u64,
    last: u64,
    start: usize,
    end: usize,
}

type Change = (Side, i64, i64);

/// One symbol's integer book, synced from Binance diff-depth frames: see the module docs.
#[derive(Debug, Clone)]
pub struct BinanceTickBook {
    symbol: Symbol,
    scale: TickScale,
    book: TickBook,
    state: SyncState,
    local: u64,
    first_pending: bool,
    changes: Vec<Change>,
    buffered: Vec<Pending>,
    buffered_changes: Vec<Change>,
    stats: TickBookStats,
}

struct Diff {
    first: u64,
    last: u64,
}

impl BinanceTickBook {
    /// A book for `symbol` (uppercase, as in `s`) with `window` ticks per side in the dense part.
    pub fn new(symbol: &str, scale: TickScale, window: usize) -> Result<Self, FeedError> {
        let book = TickBook::with_window(window).map_err(|_| bad("window", "a multiple of 64 in 64..=2^20"))?;
        Ok(BinanceTickBook {
            symbol: InlineStr::new(symbol)?,
            scale,
            book,
            state: SyncState::Buffering,
            local: 0,
            first_pending: false,
            changes: Vec::with_capacity(64),
            buffered: Vec::new(),
            buffered_changes: Vec::new(),
            stats: TickBookStats::default(),
        })
    }

    /// The symbol, as in `s`.
    pub fn symbol(&self) -> &str {
        self.symbol.as_str()
    }

    /// The book (empty unless live).
    pub fn book(&self) -> &TickBook {
        &self.book
    }

    /// Sync state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> TickBookStats {
        self.stats
    }

    /// Feeds one WebSocket frame (combined or raw form).
    pub fn on_frame(&mut self, text: &str) -> Result<FeedEvent, FeedError> {
        match parse_for(std::slice::from_mut(self), text) {
            Ok(Some((_, diff))) => Ok(self.on_diff(diff)),
            Ok(None) => Ok(FeedEvent::Ignored),
            Err(e) => {
                self.stats.errors += 1;
                Err(e)
            }
        }
    }

    /// A parsed diff (its levels in `self.changes`) through the sync procedure.
    fn on_diff(&mut self, diff: Diff) -> FeedEvent {
        self.stats.messages += 1;
        if self.state != SyncState::Live {
            self.buffer(diff.first, diff.last);
            return FeedEvent::Buffered(self.symbol);
        }
        let changes = std::mem::take(&mut self.changes);
        let step = self.apply(diff.first, diff.last, &changes);
        self.changes = changes;
        match step {
            Step::Stale => FeedEvent::Ignored,
            Step::Applied => FeedEvent::Update(self.symbol),
            Step::Gap => {
                self.buffered.clear();
                self.buffered_changes.clear();
                self.buffer(diff.first, diff.last);
                FeedEvent::Resync { symbol: self.symbol, reason: ResyncReason::Gap }
            }
        }
    }

    /// Feeds the REST depth snapshot body (`GET /api/v3/depth`).
    pub fn on_snapshot(&mut self, body: &str) -> Result<FeedEvent, FeedError> {
        self.stats.messages += 1;
        self.changes.clear();
        let last_update_id = match self.parse_snapshot(body) {
            Ok(id) => id,
            Err(e) => {
                self.stats.errors += 1;
                return Err(e);
            }
        };
        if let Some(first) = self.buffered.first() {
            // `lastUpdateId == U - 1` still chains; anything older misses events.
            if last_update_id.saturating_add(1) < first.first {
                return Ok(FeedEvent::StaleSnapshot(self.symbol));
            }
        }
        self.stats.snapshots += 1;
        self.book.clear();
        for &(side, price, qty) in &self.changes {
            // Checked while parsing (price range, non-negative quantity): cannot fail.
            let _ = self.book.set(side, price, qty);
        }
        self.state = SyncState::Live;
        self.local = last_update_id;
        self.first_pending = true;
        // Replay the buffer; from a gap on, the rest waits for the next snapshot.
        let pending = std::mem::take(&mut self.buffered);
        let changes = std::mem::take(&mut self.buffered_changes);
        let gap_at =
            pending.iter().position(|p| matches!(self.apply(p.first, p.last, &changes[p.start..p.end]), Step::Gap));
        self.buffered = pending;
        self.buffered_changes = changes;
        match gap_at {
            None => {
                self.buffered.clear();
                self.buffered_changes.clear();
                Ok(FeedEvent::Snapshot(self.symbol))
            }
            Some(g) => {
                let offset = self.buffered[g].start;
                self.buffered.drain(..g);
                self.buffered_changes.drain(..offset);
                for p in &mut self.buffered {
                    p.start -= offset;
                    p.end -= offset;
                }
                Ok(FeedEvent::Resync { symbol: self.symbol, reason: ResyncReason::Gap })
            }
        }
    }

    /// Applies one diff to the live book (step 4 of the procedure).
    fn apply(&mut self, first: u64, last: u64, changes: &[Change]) -> Step {
        if self.state != SyncState::Live {
            return Step::Gap;
        }
        if last <= self.local {
            return Step::Stale;
        }
        let next = self.local.saturating_add(1);
        let chained = if self.first_pending { first <= next } else { first == next };
        if !chained {
            self.stats.gaps += 1;
            self.stats.resyncs += 1;
            self.book.clear();
            self.state = SyncState::Resyncing;
            return Step::Gap;
        }
        for &(side, price, qty) in changes {
            // Checked while parsing: cannot fail.
            let _ = self.book.set(side, price, qty);
        }
        self.local = last;
        self.first_pending = false;
        self.stats.updates += 1;
        Step::Applied
    }

    fn buffer(&mut self, first: u64, last: u64) {
        if self.buffered.len() >= MAX_BUFFERED {
            self.buffered.clear();
            self.buffered_changes.clear();
        }
        let start = self.buffered_changes.len();
        self.buffered_changes.extend_from_slice(&self.changes);
        self.buffered.push(Pending { first, last, start, end: self.buffered_changes.len() });
    }

    /// Parses a snapshot into `self.changes`; returns `lastUpdateId`.
    fn parse_snapshot(&mut self, body: &str) -> Result<u64, FeedError> {
        let mut sc = Scanner::new(VENUE, body);
        let mut obj = sc.begin_object()?;
        let (mut id, mut has_bids, mut has_asks) = (None, false, false);
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "lastUpdateId" => id = Some(sc.u64()?),
                "bids" => {
                    has_bids = true;
                    levels(&mut sc, Side::Bid, &self.scale, &mut self.changes)?;
                }
                "asks" => {
                    has_asks = true;
                    levels(&mut sc, Side::Ask, &self.scale, &mut self.changes)?;
                }
                _ => sc.skip_value()?,
            }
        }
        sc.finish()?;
        if !has_bids {
            return Err(missing("depthSnapshot", "bids"));
        }
        if !has_asks {
            return Err(missing("depthSnapshot", "asks"));
        }
        id.ok_or_else(|| missing("depthSnapshot", "lastUpdateId"))
    }
}

/// Parses a frame for whichever of `books` its symbol belongs to: that book's index and the
/// diff's ids, its levels in the book's `changes`; `None` for another symbol or event.
fn parse_for(books: &mut [BinanceTickBook], text: &str) -> Result<Option<(usize, Diff)>, FeedError> {
    for b in books.iter_mut() {
        b.changes.clear();
    }
    let mut f = Fields::default();
    let mut sc = Scanner::new(VENUE, text);
    fields(books, &mut sc, &mut f, true)?;
    sc.finish()?;
    let Some(i) = f.book.filter(|_| f.e == Some("depthUpdate")) else { return Ok(None) };
    let book = &mut books[i];
    // Arrays met before `e` and `s` were known.
    for (side, deferred) in [(Side::Bid, f.deferred_b), (Side::Ask, f.deferred_a)] {
        if let Some(text) = deferred {
            let mut sc = Scanner::new(VENUE, text);
            levels(&mut sc, side, &book.scale, &mut book.changes)?;
        }
    }
    if !f.has_b && !f.has_a {
        return Err(missing("depthUpdate", "b"));
    }
    let first = f.first.ok_or_else(|| missing("depthUpdate", "U"))?;
    let last = f.last.ok_or_else(|| missing("depthUpdate", "u"))?;
    Ok(Some((i, Diff { first, last })))
}

fn fields<'a>(
    books: &mut [BinanceTickBook],
    sc: &mut Scanner<'a>,
    f: &mut Fields<'a>,
    top: bool,
) -> Result<(), FeedError> {
    let mut obj = sc.begin_object()?;
    while let Some(key) = sc.next_key(&mut obj)? {
        match key {
            "data" if top && sc.peek() == Some(b'{') => fields(books, sc, f, false)?,
            "e" => f.e = Some(sc.string()?),
            "s" => {
                let s = sc.string()?;
                f.book = books.iter().position(|b| b.symbol.as_str() == s);
            }
            "U" => f.first = Some(sc.u64()?),
            "u" => f.last = Some(sc.u64()?),
            "b" | "a" if sc.peek() == Some(b'[') => {
                let side = if key == "b" { Side::Bid } else { Side::Ask };
                if side == Side::Bid {
                    f.has_b = true;
                } else {
                    f.has_a = true;
                }
                match f.book.filter(|_| f.e == Some("depthUpdate")) {
                    Some(i) => {
                        let book = &mut books[i];
                        levels(sc, side, &book.scale, &mut book.changes)?;
                    }
                    None if side == Side::Bid => f.deferred_b = Some(sc.value_text()?),
                    None => f.deferred_a = Some(sc.value_text()?),
                }
            }
            _ => sc.skip_value()?,
        }
    }
    Ok(())
}

/// Several symbols' [`BinanceTickBook`]s behind one connection: each frame is parsed once and
/// goes to the book of its `s`; snapshots go by the URL's `symbol=`.
#[derive(Debug, Clone, Default)]
pub struct BinanceTickBooks {
    books: Vec<BinanceTickBook>,
    errors: u64,
}

impl BinanceTickBooks {
    /// No books yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a symbol's book (replacing one of the same symbol).
    pub fn add(&mut self, book: BinanceTickBook) {
        self.books.retain(|b| b.symbol != book.symbol);
        self.books.push(book);
    }

    /// The book of `symbol`, if added.
    pub fn book(&self, symbol: &str) -> Option<&BinanceTickBook> {
        self.books.iter().find(|b| b.symbol.as_str() == symbol)
    }

    /// Malformed frames (not attributed to a symbol's book).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Feeds one WebSocket frame.
    pub fn on_frame(&mut self, text: &str) -> Result<FeedEvent, FeedError> {
        match parse_for(&mut self.books, text) {
            Ok(Some((i, diff))) => Ok(self.books[i].on_diff(diff)),
            Ok(None) => Ok(FeedEvent::Ignored),
            Err(e) => {
                self.errors += 1;
                Err(e)
            }
        }
    }

    /// Feeds a REST depth snapshot fetched from `url` (its `symbol=` picks the book).
    pub fn on_http(&mut self, url: &str, body: &str) -> Result<FeedEvent, FeedError> {
        let symbol = snapshot_symbol(url);
        match self.books.iter_mut().find(|b| symbol.is_some_and(|s| b.symbol.as_str().eq_ignore_ascii_case(s))) {
            Some(b) => b.on_snapshot(body),
            None => {
                self.errors += 1;
                Err(bad("url", "no book for the snapshot url's symbol="))
            }
        }
    }
}

#[derive(Default)]
struct Fields<'a> {
    e: Option<&'a str>,
    first: Option<u64>,
    last: Option<u64>,
    has_b: bool,
    has_a: bool,
    deferred_b: Option<&'a str>,
    deferred_a: Option<&'a str>,
    book: Option<usize>,
}

fn missing(message: &'static str, field: &'static str) -> FeedError {
    FeedError::MissingField { venue: VENUE, message, field }
}

/// `[["price","qty", …], …]` into integer changes.
fn levels(sc: &mut Scanner<'_>, side: Side, scale: &TickScale, out: &mut Vec<Change>) -> Result<(), FeedError> {
    let mut arr = sc.begin_array()?;
    while sc.next_element(&mut arr)? {
        if let Some((price, qty, used)) = fast_level(sc.rest(), scale) {
            sc.advance(used);
            out.push((side, price, qty));
            continue;
        }
        let (p, q) = match sc.string_pair() {
            Some(pair) => pair,
            None => general_pair(sc)?,
        };
        let price = scale.price(p)?;
        let qty = scale.qty(q)?;
        if price > MAX_PRICE {
            return Err(bad("price", "beyond the integer book's range"));
        }
        out.push((side, price, qty));
    }
    Ok(())
}

/// One pass over `["price","qty"]` written plainly (digits, one `.`, no spaces), scanning and
/// converting at once: (ticks, lots, bytes used). Anything unusual, including every error case,
/// returns `None` and the general path (which reports the precise error) takes over.
#[inline]
fn fast_level(b: &[u8], scale: &TickScale) -> Option<(i64, i64, usize)> {
    if b.get(..2)? != b"[\"" {
        return None;
    }
    let (price, end) = fast_decimal(b, 2, scale.price_decimals)?;
    if b.get(end..end + 3)? != b"\",\"" {
        return None;
    }
    let (qty, end) = fast_decimal(b, end + 3, scale.qty_decimals)?;
    if b.get(end..end + 2)? != b"\"]" {
        return None;
    }
    let price = on_step(price, scale.tick)?;
    let qty = on_step(qty, scale.lot)?;
    (price <= MAX_PRICE).then_some((price, qty, end + 2))
}

/// Decimal digits from `b[i]` to the next byte that is not a digit or the one `.`, in units of
/// 10^-`decimals`: (units, index of the byte after the number). At most 18 significant digits.
#[inline]
fn fast_decimal(b: &[u8], mut i: usize, decimals: u32) -> Option<(i64, usize)> {
    let mut m: i64 = 0;
    let mut digits = 0u32;
    while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
        m = m * 10 + i64::from(d);
        digits += 1;
        i += 1;
        if digits > 18 {
            return None;
        }
    }
    if digits == 0 {
        return None;
    }
    let mut frac = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        // Binance writes exactly 8 fractional digits: take them in one word when they are there.
        if let Some(word) = b.get(i..i + 8) {
            let v = u64::from_le_bytes(word.try_into().ok()?);
            if eight_digits(v) && !b.get(i + 8).is_some_and(u8::is_ascii_digit) {
                let (value, used) = fraction8(v, decimals)?;
                if digits + used > 18 {
                    return None;
                }
                m = m * POW10[used as usize] + value;
                return Some((m.checked_mul(POW10[(decimals - used) as usize])?, i + 8));
            }
        }
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
            if frac < decimals {
                m = m * 10 + i64::from(d);
                frac += 1;
                digits += 1;
                if digits > 18 {
                    return None;
                }
            } else if d != 0 {
                return None;
            }
            i += 1;
        }
    }
    Some((m.checked_mul(POW10[(decimals - frac) as usize])?, i))
}

/// Whether the 8 bytes of `v` (little-endian) are all ASCII digits (simdjson's test).
#[inline]
fn eight_digits(v: u64) -> bool {
    ((v & 0xF0F0_F0F0_F0F0_F0F0) | ((v.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4))
        == 0x3333_3333_3333_3333
}

/// The value of 8 ASCII digits (little-endian word, first digit in the low byte): simdjson's
/// SWAR conversion.
#[inline]
fn parse8(v: u64) -> i64 {
    let mask = 0x0000_00FF_0000_00FF;
    let mul1 = 100 + (1_000_000 << 32);
    let mul2 = 1 + (10_000 << 32);
    let mut val = v.wrapping_sub(0x3030_3030_3030_3030);
    val = val.wrapping_mul(10).wrapping_add(val >> 8);
    val = (val & mask).wrapping_mul(mul1).wrapping_add(((val >> 16) & mask).wrapping_mul(mul2)) >> 32;
    val as i64
}

/// An 8-digit fraction at `decimals` places: (value of its first `min(decimals, 8)` digits, how
/// many), or `None` when a digit past `decimals` is not zero.
#[inline]
fn fraction8(v: u64, decimals: u32) -> Option<(i64, u32)> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    if decimals >= 8 {
        return Some((parse8(v), 8));
    }
    if decimals == 0 {
        return (v == ZEROS).then_some((0, 0));
    }
    let keep = 8 * decimals;
    // Digits past `decimals` sit in the high bytes: they must all be '0'.
    if v >> keep != ZEROS >> keep {
        return None;
    }
    // Move the kept digits to the top and fill below with '0': the word then reads as them.
    Some((parse8((v << (64 - keep)) | (ZEROS >> keep)), decimals))
}

#[inline]
fn on_step(units: i64, step: i64) -> Option<i64> {
    if step == 1 {
        Some(units)
    } else if units % step == 0 {
        Some(units / step)
    } else {
        None
    }
}

fn general_pair<'a>(sc: &mut Scanner<'a>) -> Result<(&'a str, &'a str), FeedError> {
    let mut arr = sc.begin_array()?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("price"));
    }
    let price = sc.string()?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("quantity"));
    }
    let qty = sc.string()?;
    while sc.next_element(&mut arr)? {
        sc.skip_value()?;
    }
    Ok((price, qty))
}

enum Step {
    Stale,
    Applied,
    Gap,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(first: u64, last: u64, bid: &str) -> String {
        format!(r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[]}}"#)
    }

    fn snapshot(id: u64) -> String {
        format!(r#"{{"lastUpdateId":{id},"bids":[["1.0","5"]],"asks":[["9.0","5"]]}}"#)
    }

    fn book() -> BinanceTickBook {
        BinanceTickBook::new("BNBBTC", TickScale::new("0.1", "1").unwrap(), 64).unwrap()
    }

    #[test]
    fn eight_digit_fractions_in_one_word() {
        let level = |text: &str, s: &TickScale| fast_level(text.as_bytes(), s).map(|(p, q, _)| (p, q));
        let dot = TickScale::new("0.0001", "0.00000001").unwrap();
        assert_eq!(level(r#"["43.50830000","7.00000000"]"#, &dot), Some((435_083, 700_000_000)));
        assert_eq!(level(r#"["43.50830001","7.00000000"]"#, &dot), None, "off the tick");
        let btc = TickScale::new("0.01", "0.000001").unwrap();
        assert_eq!(level(r#"["58001.03000000","0.08620500"]"#, &btc), Some((5_800_103, 86_205)));
        assert_eq!(level(r#"["58001.03000000","0.08620501"]"#, &btc), None, "off the lot");
        let whole = TickScale::new("1", "1").unwrap();
        assert_eq!(level(r#"["7.00000000","12.00000000"]"#, &whole), Some((7, 12)));
        assert_eq!(level(r#"["7.10000000","1"]"#, &whole), None);
        assert_eq!(level(r#"["7.123456789","1"]"#, &dot), None, "nine digits: loop path, off the tick");
        assert_eq!(level(r#"["7.12340000","1"]"#, &dot).map(|l| l.0), Some(71_234));
    }

    #[test]
    fn scales_are_exact() {
        let s = TickScale::new("0.05", "0.001").unwrap();
        assert_eq!(s.price("100.05").unwrap(), 2001);
        assert_eq!(s.price("100.0500000").unwrap(), 2001);
        assert!(s.price("100.01").is_err(), "off the 0.05 grid");
        assert!(s.price("100.0501").is_err());
        assert_eq!(s.qty("1.5").unwrap(), 1500);
        assert_eq!(s.qty("0.00000000").unwrap(), 0);
        for bad in ["", ".", "1.2.3", "-1", "1e5", "99999999999999999999"] {
            assert!(s.price(bad).is_err(), "{bad}");
        }
        assert!(TickScale::new("0", "1").is_err());
        assert!(TickScale::new("abc", "1").is_err());
        assert_eq!(TickScale::new("1", "10").unwrap().qty("30").unwrap(), 3);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3_000))]

        /// The one-pass fast path and the general path (scanner + `to_units`) agree on every
        /// level text, errors included (the fast path declines whatever the general one rejects).
        #[test]
        fn fast_path_agrees_with_general_path(
            price in proptest::prop_oneof!["[0-9]{1,10}(\\.[0-9]{0,10})?", "[0-9.x ]{0,21}"],
            qty in proptest::prop_oneof!["[0-9]{1,6}(\\.[0-9]{0,10})?", "[0-9.]{0,12}"],
            tick in 0usize..3,
        ) {
            let scale = match tick {
                0 => TickScale::new("0.01", "0.001"),
                1 => TickScale::new("0.05", "1"),
                _ => TickScale::new("1", "0.00000001"),
            }
            .unwrap();
            let text = format!(r#"["{price}","{qty}"]"#);
            let general = (|| -> Result<(i64, i64), FeedError> {
                let mut sc = Scanner::new(VENUE, &text);
                let (p, q) = general_pair(&mut sc)?;
                let (p, q) = (scale.price(p)?, scale.qty(q)?);
                if p > MAX_PRICE { return Err(bad("price", "range")); }
                Ok((p, q))
            })();
            match fast_level(text.as_bytes(), &scale) {
                Some((p, q, used)) => {
                    proptest::prop_assert_eq!(used, text.len());
                    proptest::prop_assert_eq!(general.ok(), Some((p, q)));
                }
                None => {
                    let by_design = price.starts_with('.')
                        || qty.starts_with('.')
                        || price.contains(' ')
                        || price.bytes().filter(u8::is_ascii_digit).count() > 18;
                    proptest::prop_assert!(general.is_err() || by_design, "declined {}", text);
                }
            }
        }
    }

    /// The worked trace of `exchange-feeds.md` §1.1 (as `sync::binance`'s test).
    #[test]
    fn documented_worked_trace() {
        let mut b = book();
        for (first, last, bid) in [(990, 999, "2.0"), (1000, 1003, "3.0"), (1004, 1004, "4.0")] {
            assert!(matches!(b.on_frame(&diff(first, last, bid)).unwrap(), FeedEvent::Buffered(_)));
        }
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!((b.state(), b.stats().updates), (SyncState::Live, 2));
        assert_eq!(b.book().qty_at(Side::Bid, 20), 0, "[990-999] was dropped");
        assert_eq!(b.book().qty_at(Side::Bid, 30), 1);
        assert_eq!(b.book().best_bid(), Some((40, 1)));
        assert!(matches!(b.on_frame(&diff(1006, 1010, "5.0")).unwrap(), FeedEvent::Resync { .. }));
        assert_eq!((b.state(), b.stats().gaps, b.stats().resyncs), (SyncState::Resyncing, 1, 1));
        assert!(b.book().is_empty());
        // The gap frame waits in the buffer and chains to the next snapshot.
        assert!(matches!(b.on_snapshot(&snapshot(1005)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!(b.book().best_bid(), Some((50, 1)));
    }

    #[test]
    fn stale_snapshot_and_gap_inside_the_buffer() {
        let mut b = book();
        b.on_frame(&diff(1006, 1010, "5.0")).unwrap();
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::StaleSnapshot(_)));
        let mut b = book();
        for (first, last) in [(1001, 1002), (1004, 1005), (1006, 1007)] {
            b.on_frame(&diff(first, last, "2.0")).unwrap();
        }
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::Resync { .. }));
        assert!(matches!(b.on_snapshot(&snapshot(1003)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!((b.state(), b.stats().updates, b.stats().gaps), (SyncState::Live, 3, 1));
    }

    #[test]
    fn bad_frames_change_nothing_and_others_are_ignored() {
        let mut b = book();
        b.on_snapshot(&snapshot(10)).unwrap();
        let off_grid = r#"{"e":"depthUpdate","s":"BNBBTC","U":11,"u":11,"b":[["1.5","1"],["1.55","1"]],"a":[]}"#;
        assert!(matches!(b.on_frame(off_grid), Err(FeedError::BadField { field: "price", .. })));
        assert_eq!(b.book().qty_at(Side::Bid, 15), 0, "the valid first level was not applied either");
        let other = r#"{"e":"depthUpdate","s":"ETHBTC","U":11,"u":11,"b":[["1.55","1"]],"a":[]}"#;
        assert!(matches!(b.on_frame(other).unwrap(), FeedEvent::Ignored));
        let trade = r#"{"e":"aggTrade","s":"BNBBTC","a":5,"p":"1.0","q":"1"}"#;
        assert!(matches!(b.on_frame(trade).unwrap(), FeedEvent::Ignored));
        // `b` before `s`: parsed once the symbol is known.
        let late = r#"{"b":[["1.6", "2"]],"a":[],"e":"depthUpdate","s":"BNBBTC","U":11,"u":11}"#;
        assert!(matches!(b.on_frame(late).unwrap(), FeedEvent::Update(_)));
        assert_eq!(b.book().best_bid(), Some((16, 2)));
        assert!(matches!(
            b.on_frame(r#"{"e":"depthUpdate","s":"BNBBTC","u":12,"b":[]}"#),
            Err(FeedError::MissingField { field: "U", .. })
        ));
        assert_eq!(b.stats().errors, 2);
    }
}
