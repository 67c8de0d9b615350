//! The book update path does not allocate after warm-up.
//!
//! A counting global allocator (this file is its own test binary, so it counts only this test)
//! measures a second replay of each recorded session, after a first replay has grown every
//! buffer and book to its working size. Parsing, sync checks, book updates, truncation and
//! checksums all run in the measured pass. Binance also runs on integer books
//! (`BinanceTickFeed`), with and without its normalized-event tap.

mod common;

use common::*;
use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::consolidated::ConsolidatedBook;
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, CoinbaseBooks, FeedHandler, KrakenBooks, SyncState};
use wintermute_feeds::Venue;
use wintermute_testkit::alloc::{count, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The recorded Binance session's instruments on integer books (April 2021 tick sizes).
fn binance_tick_feed() -> BinanceTickFeed {
    let lot = "0.00000001";
    let scales: Vec<(String, TickScale)> = [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")]
        .iter()
        .map(|&(s, tick)| (s.to_string(), TickScale::new(tick, lot).unwrap()))
        .collect();
    BinanceTickFeed::new(&scales, 4_096).unwrap()
}

/// Replays `recs` through `h`; returns how many updates were applied.
fn replay<H: FeedHandler + ?Sized>(h: &mut H, recs: &[Record<'static>]) -> u64 {
    let mut applied = 0;
    for r in recs {
        let ev = match r {
            Record::Received { conn, payload, .. } => h.on_frame(*conn, payload),
            Record::Http { conn, url, body, .. } => h.on_http(*conn, url, body),
            Record::Sent { conn, payload, .. } => {
                h.on_sent(*conn, payload);
                continue;
            }
            Record::Connect { .. } => continue,
        };
        if let Ok(wintermute_feeds::sync::FeedEvent::Update(_)) = ev {
            applied += 1;
        }
    }
    applied
}

fn assert_no_alloc_after_warm_up<H: FeedHandler + ?Sized>(h: &mut H, path: &str, min_updates: u64) {
    let recs = load(path);
    replay(h, &recs); // warm-up
    let mut applied = 0;
    let n = count(|| applied = replay(h, &recs));
    assert!(applied >= min_updates, "{path}: only {applied} updates applied in the measured pass");
    assert_eq!(n, 0, "{path}: {n} allocations in the measured pass");
}

#[test]
fn update_paths_do_not_allocate_after_warm_up() {
    // One test so that nothing else runs while counting.
    // The allocator does count: a pass on a cold builder allocates.
    let recs = load(KRAKEN_BOOK);
    let cold = count(|| {
        replay(&mut KrakenBooks::new(), &recs[..100]);
    });
    assert!(cold > 0);
    let mut kraken = KrakenBooks::new();
    assert_no_alloc_after_warm_up(&mut kraken, KRAKEN_BOOK, 14_000);
    let xbt = kraken.stream("XBT/USD").unwrap().stats;
    assert_eq!((xbt.checksum_ok, xbt.checksum_bad), (2 * 5_788, 0));
    let mut binance = BinanceBooks::new();
    assert_no_alloc_after_warm_up(&mut binance, BINANCE, 2_000);
    let mut coinbase = CoinbaseBooks::new();
    assert_no_alloc_after_warm_up(&mut coinbase, COINBASE, 9_000);

    // Binance on integer books, through the `FeedHandler` path the connector drives: with the
    // tap off, and with it on (its rings exist after the warm-up pass).
    for tap in [false, true] {
        let mut ticks = binance_tick_feed();
        if tap {
            ticks.tap_mut().unwrap().enable(Venue::Binance, 256);
        }
        assert_no_alloc_after_warm_up(&mut ticks, BINANCE, 2_000);
        let s = ticks.stream("BTCUSDT").unwrap();
        assert_eq!((s.state, s.stats.gaps, s.stats.errors), (SyncState::Live, 0, 0), "tap={tap}");
        assert!(!tap || ticks.tap().unwrap().ring(&s.symbol).unwrap().pushed() > 10_000);
    }

    // The consolidated book reuses its buffers too (three unrelated books stand in for venues).
    let books = [
        (Venue::Binance, &binance.stream("BTCUSDT").unwrap().book),
        (Venue::Coinbase, &coinbase.stream("SKL-USD").unwrap().book),
        (Venue::Kraken, &kraken.stream("XBT/USD").unwrap().book),
    ];
    let mut consolidated = ConsolidatedBook::new();
    consolidated.rebuild(&books, 100);
    let n = count(|| {
        for depth in [10, 50, 100] {
            consolidated.rebuild(&books, depth);
            std::hint::black_box((consolidated.bbo(), consolidated.microprice(), consolidated.cross()));
        }
    });
    assert_eq!(n, 0, "consolidated book: {n} allocations");
    assert!(consolidated.microprice().is_some());
}
