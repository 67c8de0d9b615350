//! Normalized events on the real recordings: what the builders emit when their tap is enabled,
//! stamped with the recording's receive times, and proof that emitting (events into the L1 rings,
//! samples into the HDR histograms) does not allocate after warm-up.
//!
//! A counting global allocator (this file is its own test binary, so it counts only this test).

mod common;

use std::sync::Mutex;
use wintermute_testkit::alloc::{count, CountingAlloc};

use common::*;
use wintermute_feeds::book::L2Book;
use wintermute_feeds::normalized::{EventKind, NormalizedEvent};
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedEvent, FeedHandler, KrakenBooks};
use wintermute_feeds::{Symbol, Venue};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Tests of this binary run one at a time, so that nothing else allocates while one counts.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Replays with receive times (as a connector would); returns (frames, updates, trade frames).
fn replay(h: &mut dyn FeedHandler<Book = L2Book>, recs: &[Record<'static>]) -> (u64, u64) {
    let (mut frames, mut updates) = (0, 0);
    for r in recs {
        let ev = match r {
            Record::Received { conn, ts, payload } => {
                frames += 1;
                h.on_frame_at(*conn, payload, *ts)
            }
            Record::Http { conn, url, body, .. } => h.on_http(*conn, url, body),
            Record::Sent { conn, payload, .. } => {
                h.on_sent(*conn, payload);
                continue;
            }
            Record::Connect { .. } => continue,
        };
        if let Ok(FeedEvent::Update(_)) = ev {
            updates += 1;
        }
    }
    (frames, updates)
}

fn ring(h: &dyn FeedHandler<Book = L2Book>, symbol: &str) -> Vec<NormalizedEvent> {
    h.tap().unwrap().ring(&Symbol::new(symbol).unwrap()).unwrap().iter().collect()
}

#[test]
fn emitting_does_not_allocate_after_warm_up() {
    let _one_at_a_time = serial();
    for (path, mut h) in [
        (KRAKEN_BOOK, Box::new(KrakenBooks::new()) as Box<dyn FeedHandler<Book = L2Book>>),
        (BINANCE, Box::new(BinanceBooks::new())),
        (COINBASE, Box::new(CoinbaseBooks::new())),
    ] {
        let venue = h.venue();
        h.tap_mut().unwrap().enable(venue, 256);
        let recs = load(path);
        // Warm-up: rings, books and buffers reach their size (the allocator does count).
        let cold = count(|| {
            replay(h.as_mut(), &recs);
        });
        assert!(cold > 0);
        let mut updates = 0;
        let n = count(|| updates = replay(h.as_mut(), &recs).1);
        assert!(updates > 2_000, "{path}: {updates}");
        assert_eq!(n, 0, "{path}: {n} allocations in the measured pass");
        let lat = h.tap().unwrap().latency().unwrap();
        assert!(lat.receive_to_normalized_summary().count > 4_000);
    }
}

#[test]
fn kraken_events_carry_levels_checksummed_books_and_times() {
    let _one_at_a_time = serial();
    let recs = load(KRAKEN_BOOK);
    let mut h = KrakenBooks::new();
    h.tap_mut().unwrap().enable(Venue::Kraken, 1 << 16);
    let (frames, _) = replay(&mut h, &recs);
    let events = ring(&h, "XBT/USD");
    let stream = h.stream("XBT/USD").unwrap();
    // Nothing overwritten: the ring saw every event of the pair, numbered from 1.
    assert!(events.len() < 1 << 16);
    assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    assert_eq!(events[0].kind, EventKind::Snapshot);
    let count = |k| events.iter().filter(|e| e.kind == k).count() as u64;
    assert_eq!(count(EventKind::Snapshot), stream.stats.snapshots);
    assert!(count(EventKind::Delta) >= stream.stats.updates);
    assert!(count(EventKind::Bbo) > 100);
    // The last BBO event is the book's top now.
    let last_bbo = events.iter().rev().find(|e| e.kind == EventKind::Bbo).unwrap();
    assert_eq!(last_bbo.bid.unwrap().price().raw(), stream.book.best_bid().unwrap().price.raw());
    assert_eq!(last_bbo.ask.unwrap().qty().raw(), stream.book.best_ask().unwrap().qty.raw());
    // Receive times come from the recording; Kraken v1 entries carry exchange times.
    let first_rx =
        recs.iter().find_map(|r| if let Record::Received { ts, .. } = r { Some(*ts) } else { None }).unwrap();
    for e in events.iter().filter(|e| e.kind == EventKind::Delta) {
        assert!(e.receive_ts >= first_rx && e.normalized_ts >= e.receive_ts);
        let ex = e.exchange_ts.expect("v1 updates carry timestamps");
        assert!(ex > 1_617_000_000_000_000_000 && ex < e.receive_ts + 5_000_000_000, "{ex}");
    }
    let lat = h.tap().unwrap().latency().unwrap();
    assert_eq!(lat.receive_to_normalized_summary().count, frames);
    let ex = lat.exchange_to_receive_summary();
    // Kraken's republished entries keep old timestamps: the per-frame maximum is used, and the
    // median delay of the recorded session is well under a second.
    assert!(ex.count > 14_000 && ex.p50 < 1_000_000_000, "{ex:?}");
}

#[test]
fn trades_and_deltas_match_the_messages() {
    let _one_at_a_time = serial();
    let recs = load(COINBASE);
    let mut h = CoinbaseBooks::new();
    h.tap_mut().unwrap().enable(Venue::Coinbase, 1 << 16);
    replay(&mut h, &recs);
    let mut trades = 0;
    let mut deltas = 0;
    for s in h.streams() {
        let events = ring(&h, s.symbol.as_str());
        let trade_events: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Trade).collect();
        assert_eq!(trade_events.len() as u64, s.stats.trades, "{}", s.symbol);
        assert!(trade_events.iter().all(|e| e.trade_id > 0 && e.aggressor.is_some() && e.exchange_ts.is_some()));
        trades += trade_events.len();
        deltas += events.iter().filter(|e| e.kind == EventKind::Delta).count();
    }
    // 97 `match` and one `last_match` per product.
    let matches = recs
        .iter()
        .filter(|r| matches!(r, Record::Received { payload, .. } if payload.contains(r#""type":"match""#) || payload.contains(r#""type":"last_match""#)))
        .count();
    assert_eq!((trades, matches), (107, 107));
    // Every change of every applied l2update is one delta event.
    let changes: usize = recs
        .iter()
        .filter_map(|r| match r {
            Record::Received { payload, .. } if payload.contains(r#""type":"l2update""#) => {
                let v: serde_json::Value = serde_json::from_str(payload).unwrap();
                Some(v["changes"].as_array().unwrap().len())
            }
            _ => None,
        })
        .sum();
    assert_eq!(deltas, changes);
}
