//! The integer Binance path (`binance_ticks`) against the decimal one (`sync::BinanceBooks`) on
//! the real recorded session: after every message, each symbol's sync state and best bid/ask
//! agree, and at the end every level and counter does. A third replay (after two warm-up passes) allocates nothing.

mod common;

use common::*;
use wintermute_feeds::binance_ticks::{BinanceTickBook, BinanceTickBooks, TickScale};
use wintermute_feeds::book::{L2Book, Level, Side};
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{BinanceBooks, FeedHandler, SyncState};
use wintermute_testkit::alloc::{count, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The session's instruments in April 2021: (symbol, tick size, ticks per price unit).
const SYMBOLS: [(&str, &str, i128); 3] =
    [("BTCUSDT", "0.01", 100), ("ETHUSDT", "0.01", 100), ("DOTUSDT", "0.0001", 10_000)];
/// Binance writes quantities with 8 decimals.
const LOT: &str = "0.00000001";
const WINDOW: usize = 1 << 16;

fn tick_books() -> BinanceTickBooks {
    let mut books = BinanceTickBooks::new();
    for &(s, tick, _) in &SYMBOLS {
        books.add(BinanceTickBook::new(s, TickScale::new(tick, LOT).expect("scale"), WINDOW).expect("book"));
    }
    books
}

/// A decimal level in (ticks, lots).
fn ticks(l: &Level, per_unit: i128) -> (i64, i64) {
    let unit = 1_000_000_000_000_000_000i128;
    let price = l.price.raw() * per_unit;
    assert_eq!(price % unit, 0, "price {} on the tick grid", l.price);
    let qty = l.qty.raw() / 10_000_000_000;
    (i64::try_from(price / unit).expect("ticks"), i64::try_from(qty).expect("lots"))
}

fn feed(books: &mut BinanceTickBooks, rec: &Record<'_>) {
    match rec {
        Record::Received { payload, .. } => drop(books.on_frame(payload).expect("frame")),
        Record::Http { url, body, .. } => drop(books.on_http(url, body).expect("snapshot")),
        _ => {}
    }
}

fn same_books(decimal: &L2Book, ints: &BinanceTickBook, per_unit: i128) {
    for side in [Side::Buy, Side::Sell] {
        let want: Vec<(i64, i64)> = decimal.levels(side).map(|l| ticks(l, per_unit)).collect();
        let got: Vec<(i64, i64)> = ints.book().levels(side).collect();
        assert_eq!(got, want, "{side:?} levels");
    }
}

/// One test function: the parts run in order on one thread (the counter counts only the thread
/// that armed it).
#[test]
fn recorded_session() {
    agrees_with_the_decimal_builder_on_the_recorded_session();
    a_warm_replay_allocates_nothing();
}

fn agrees_with_the_decimal_builder_on_the_recorded_session() {
    let recs = load(BINANCE);
    let mut decimal = BinanceBooks::new();
    let mut ints = tick_books();
    let mut live_checks = 0;
    for rec in &recs {
        match rec {
            Record::Received { payload, .. } => drop(decimal.on_frame(0, payload)),
            Record::Http { url, body, .. } => drop(decimal.on_http(0, url, body)),
            _ => {}
        }
        feed(&mut ints, rec);
        for &(symbol, _, per_unit) in &SYMBOLS {
            let b = ints.book(symbol).expect("book");
            let Some(s) = decimal.stream(symbol) else { continue };
            assert_eq!(b.state() == SyncState::Live, s.state == SyncState::Live, "{symbol} state");
            if s.state == SyncState::Live {
                let bid = s.book.best_bid().map(|l| ticks(l, per_unit));
                let ask = s.book.best_ask().map(|l| ticks(l, per_unit));
                assert_eq!((b.book().best_bid(), b.book().best_ask()), (bid, ask), "{symbol} top");
                live_checks += 1;
            }
        }
    }
    assert!(live_checks > 2_000, "the books were live for most of the session: {live_checks}");
    assert_eq!(ints.errors(), 0);
    for &(symbol, _, per_unit) in &SYMBOLS {
        let b = ints.book(symbol).expect("book");
        let s = decimal.stream(symbol).expect("stream");
        same_books(&s.book, b, per_unit);
        assert_eq!(
            (b.stats().updates, b.stats().gaps, b.stats().snapshots),
            (s.stats.updates, s.stats.gaps, s.stats.snapshots)
        );
        assert_eq!(b.stats().errors, 0);
    }
}

fn a_warm_replay_allocates_nothing() {
    let recs = load(BINANCE);
    let mut ints = tick_books();
    // Two warm-up passes: the second starts from live books (as the measured one does), so its
    // diff buffers grow to what the measured pass needs.
    for _ in 0..2 {
        for rec in &recs {
            feed(&mut ints, rec);
        }
    }
    let allocations = count(|| {
        for rec in &recs {
            feed(&mut ints, rec);
        }
    });
    assert_eq!(allocations, 0);
}
