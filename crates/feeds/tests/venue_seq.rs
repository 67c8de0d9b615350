//! The venue's own sequence identifiers on normalized events (`NormalizedEvent::venue_seq`), on
//! the real recordings: every event a frame produced carries the number read independently from
//! that frame's JSON (Binance diff `u`, `aggTrade` `a`; Coinbase `match` `sequence`), a
//! snapshot the update id its book is at, and `None` where the venue sends no number (Coinbase
//! `level2`, every Kraken event).

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;
use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::normalized::{EventKind, NormalizedEvent};
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::{Symbol, Venue};

/// What one record should stamp on the events it produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Every new event carries this value.
    Each(Option<u64>),
    /// A snapshot: the update id the book is at (computed by the caller).
    Snapshot(u64),
}

/// Events emitted since `seen`, per stream, then `seen` moved past them.
fn new_events<H: FeedHandler + ?Sized>(h: &H, seen: &mut HashMap<Symbol, u64>) -> Vec<NormalizedEvent> {
    let mut out = Vec::new();
    for (symbol, stream) in h.tap().unwrap().streams() {
        let before = seen.get(symbol).copied().unwrap_or(0);
        let pushed = stream.ring.pushed();
        assert!(pushed - before <= stream.ring.capacity() as u64, "ring too small for one frame");
        out.extend(stream.ring.since(before));
        seen.insert(*symbol, pushed);
    }
    out
}

/// Replays `path` through `h` (tap enabled), checking each record's new events against
/// `expect(record)`; returns (events checked, events with a venue number).
fn check<H: FeedHandler + ?Sized>(
    h: &mut H,
    venue: Venue,
    path: &str,
    mut expect: impl FnMut(&Record<'_>) -> Option<Expect>,
) -> (usize, usize) {
    h.tap_mut().unwrap().enable(venue, 4096);
    let mut seen = HashMap::new();
    let (mut checked, mut numbered) = (0, 0);
    for r in &load(path) {
        let result = match r {
            Record::Received { conn, ts, payload } => h.on_frame_at(*conn, payload, *ts),
            Record::Http { conn, url, body, .. } => h.on_http(*conn, url, body),
            Record::Sent { conn, payload, .. } => {
                h.on_sent(*conn, payload);
                continue;
            }
            Record::Connect { .. } => continue,
        };
        assert!(result.is_ok(), "{r:?}: {result:?}");
        let events = new_events(h, &mut seen);
        let want = expect(r);
        for e in &events {
            let value = match want {
                Some(Expect::Each(v)) => v,
                Some(Expect::Snapshot(id)) => {
                    assert_eq!(e.kind, EventKind::Snapshot, "{e:?}");
                    Some(id)
                }
                None => panic!("{r:?} emitted {e:?} but was not expected to"),
            };
            assert_eq!(e.venue_seq, value, "{r:?}\n{e:?}");
            checked += 1;
            numbered += usize::from(e.venue_seq.is_some());
        }
    }
    (checked, numbered)
}

fn json(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap()
}

/// Binance: a diff's events carry its `u`, a trade its `a`, a snapshot the larger of
/// `lastUpdateId` and the `u` of the diffs buffered before it (replayed onto the book).
fn binance_expect() -> impl FnMut(&Record<'_>) -> Option<Expect> {
    let mut buffered_u: HashMap<String, u64> = HashMap::new();
    let mut live: HashMap<String, bool> = HashMap::new();
    move |r| match r {
        Record::Received { payload, .. } => {
            let v = json(payload);
            let data = v.get("data").unwrap_or(&v);
            let symbol = data["s"].as_str().unwrap_or_default().to_string();
            match data["e"].as_str() {
                Some("depthUpdate") => {
                    let u = data["u"].as_u64().unwrap();
                    if !live.get(&symbol).copied().unwrap_or(false) {
                        buffered_u.insert(symbol, u);
                    }
                    Some(Expect::Each(Some(u)))
                }
                Some("aggTrade") => Some(Expect::Each(Some(data["a"].as_u64().unwrap()))),
                _ => None,
            }
        }
        Record::Http { url, body, .. } => {
            let symbol = url.split("symbol=").nth(1).unwrap().split('&').next().unwrap().to_string();
            let last = json(body)["lastUpdateId"].as_u64().unwrap();
            live.insert(symbol.clone(), true);
            Some(Expect::Snapshot(buffered_u.get(&symbol).copied().unwrap_or(0).max(last)))
        }
        _ => None,
    }
}

#[test]
fn binance_events_carry_the_diff_final_update_id_and_the_trade_id() {
    let (checked, numbered) = check(&mut BinanceBooks::new(), Venue::Binance, BINANCE, binance_expect());
    assert!(checked > 10_000, "{checked}");
    assert_eq!(numbered, checked, "every Binance event is numbered by the venue");
}

#[test]
fn binance_integer_books_carry_the_same_venue_numbers() {
    let scales: Vec<(String, TickScale)> = [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")]
        .iter()
        .map(|&(s, tick)| (s.to_string(), TickScale::new(tick, "0.00000001").unwrap()))
        .collect();
    let mut feed = BinanceTickFeed::new(&scales, 4096).unwrap();
    let (checked, numbered) = check(&mut feed, Venue::Binance, BINANCE, binance_expect());
    assert!(checked > 10_000, "{checked}");
    assert_eq!(numbered, checked);
}

#[test]
fn binance_snapshot_is_stamped_with_the_update_id_the_book_is_at() {
    let mut books = BinanceBooks::new();
    books.tap_mut().unwrap().enable(Venue::Binance, 1 << 16);
    let recs = load(BINANCE);
    for r in &recs {
        match r {
            Record::Received { conn, ts, payload } => drop(books.on_frame_at(*conn, payload, *ts)),
            Record::Http { conn, url, body, .. } => drop(books.on_http(*conn, url, body)),
            _ => {}
        }
    }
    let dot = Symbol::new("DOTUSDT").unwrap();
    let events: Vec<NormalizedEvent> = books.tap().unwrap().ring(&dot).unwrap().iter().collect();
    let snap = events.iter().find(|e| e.kind == EventKind::Snapshot).unwrap();
    // The REST snapshot said 1513939277; diffs buffered before it were replayed on top.
    assert!(snap.venue_seq.unwrap() >= 1_513_939_277, "{snap:?}");
    let first_delta = events.iter().find(|e| e.kind == EventKind::Delta).unwrap();
    assert!(first_delta.venue_seq > snap.venue_seq, "{first_delta:?}");
}

#[test]
fn coinbase_match_carries_sequence_and_level2_carries_none() {
    let mut matches = 0;
    let expect = |r: &Record<'_>| match r {
        Record::Received { payload, .. } => {
            let v = json(payload);
            match v["type"].as_str() {
                Some("match") | Some("last_match") => {
                    matches += 1;
                    Some(Expect::Each(Some(v["sequence"].as_u64().unwrap())))
                }
                Some("snapshot") | Some("l2update") => Some(Expect::Each(None)),
                _ => None,
            }
        }
        _ => None,
    };
    let (checked, numbered) = check(&mut CoinbaseBooks::new(), Venue::Coinbase, COINBASE, expect);
    assert!(matches > 0 && numbered >= matches, "{matches} match frames, {numbered} numbered events");
    assert!(checked > numbered, "level2 events carry no venue number");
}

#[test]
fn kraken_books_and_trades_carry_no_venue_number() {
    for path in [KRAKEN_BOOK, KRAKEN_TRADE] {
        let (checked, numbered) = check(&mut KrakenBooks::new(), Venue::Kraken, path, |_| Some(Expect::Each(None)));
        assert!(checked >= 20, "{path}: {checked}");
        assert_eq!(numbered, 0);
    }
}

#[test]
fn coinbase_advanced_trade_events_carry_the_message_sequence_num() {
    let frames = [
        r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":0,"events":[{"type":"snapshot","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2023-02-09T20:32:50.2Z","price_level":"21921.73","new_quantity":"0.06317902"},{"side":"offer","event_time":"2023-02-09T20:32:50.2Z","price_level":"21921.74","new_quantity":"1"}]}]}"#,
        r#"{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:51.714964855Z","sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"2023-02-09T20:32:51.2Z","price_level":"21921.72","new_quantity":"2"},{"side":"bid","event_time":"2023-02-09T20:32:51.2Z","price_level":"21921.73","new_quantity":"0"}]}]}"#,
        r#"{"channel":"market_trades","client_id":"","timestamp":"2023-02-09T20:32:52.39625135Z","sequence_num":2,"events":[{"type":"update","trades":[{"trade_id":"7","product_id":"BTC-USD","price":"21921.74","size":"0.3","side":"BUY","time":"2023-02-09T20:32:52.265Z"},{"trade_id":"8","product_id":"BTC-USD","price":"21921.74","size":"0.1","side":"BUY","time":"2023-02-09T20:32:52.266Z"}]}]}"#,
    ];
    let mut books = CoinbaseBooks::new();
    books.tap_mut().unwrap().enable(Venue::Coinbase, 64);
    let mut seen = HashMap::new();
    let mut per_frame = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        books.on_frame_at(0, f, 1_000 + i as i64).unwrap();
        let events = new_events(&books, &mut seen);
        per_frame.push(events.iter().map(|e| (e.kind, e.venue_seq)).collect::<Vec<_>>());
    }
    assert_eq!(per_frame[0], [(EventKind::Snapshot, Some(0))]);
    assert_eq!(per_frame[1], [(EventKind::Delta, Some(1)), (EventKind::Delta, Some(1)), (EventKind::Bbo, Some(1))]);
    assert_eq!(per_frame[2], [(EventKind::Trade, Some(2)), (EventKind::Trade, Some(2))]);
}
