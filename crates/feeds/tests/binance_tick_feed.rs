//! Binance on integer books through the `FeedHandler` path (`sync::BinanceTickFeed`).
//!
//! Offline, on the real recorded session: after every record, each symbol's state, counters and
//! top of book (exact decimals) agree with the decimal builder's, the normalized events carry
//! the same values, and at the end every level agrees. Over 127.0.0.1: the replay server serves
//! the recording in Binance's protocol and the real connector, configured with the symbols' tick
//! and lot sizes, keeps the integer books continuous and ends where `verify` ends; dropped,
//! duplicated, swapped and cut frames resync and end right; a price off the tick grid is a
//! counted error that resyncs the book from a fresh snapshot. Every network test is bounded.

mod common;
#[path = "common/net.rs"]
mod net;

use std::time::Duration;

use common::*;
use net::{fast, local, run_until};
use wintermute_core::decimal::Decimal;
use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::book::{Level, Side};
use wintermute_feeds::net::client::{FeedConfig, FeedCounters};
use wintermute_feeds::net::exchange_info::fill_binance_scales;
use wintermute_feeds::net::replay_server::{Fault, Pace, ReplayOptions, ReplayServer};
use wintermute_feeds::normalized::NormalizedEvent;
use wintermute_feeds::recording::{records, Record};
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, BookView, FeedHandler, SyncState};
use wintermute_feeds::verify::{handler_report, Replay, StreamReport};
use wintermute_feeds::{verify_path, FeedError, Venue, VerifyReport};

const LIMIT: Duration = Duration::from_secs(20);
const SYMBOLS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "DOTUSDT"];

/// The session's instruments in April 2021: tick sizes; quantities have 8 decimals.
fn scales() -> Vec<(String, TickScale)> {
    [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")]
        .iter()
        .map(|&(s, tick)| (s.to_string(), TickScale::new(tick, "0.00000001").unwrap()))
        .collect()
}

fn feed<H: FeedHandler + ?Sized>(h: &mut H, rec: &Record<'_>) -> Option<Result<(), FeedError>> {
    let r = match rec {
        Record::Received { conn, payload, .. } => h.on_frame(*conn, payload),
        Record::Http { conn, url, body, .. } => h.on_http(*conn, url, body),
        _ => return None,
    };
    Some(r.map(|_| ()))
}

/// What a normalized event says, without its times.
fn content(e: &NormalizedEvent) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {} {:?}",
        e.kind, e.seq, e.side, e.level, e.bid, e.ask, e.trade_id, e.exchange_ts
    )
}

fn levels<B: BookView>(book: &B, side: Side) -> Vec<Level> {
    book.side_levels(side).collect()
}

#[test]
fn agrees_with_the_decimal_builder_record_by_record() {
    let recs = load(BINANCE);
    let mut decimal = BinanceBooks::new();
    let mut ticks = BinanceTickFeed::new(&scales(), 4_096).unwrap();
    decimal.tap_mut().unwrap().enable(Venue::Binance, 1 << 16);
    ticks.tap_mut().unwrap().enable(Venue::Binance, 1 << 16);
    let mut live_checks = 0;
    for rec in &recs {
        let a = feed(&mut decimal, rec);
        let b = feed(&mut ticks, rec);
        assert_eq!(a.map(|r| r.is_ok()), b.map(|r| r.is_ok()), "{rec:?}");
        for sym in SYMBOLS {
            let (Some(d), Some(t)) = (decimal.stream(sym), ticks.stream(sym)) else { continue };
            assert_eq!((d.state, d.stats), (t.state, t.stats), "{sym}");
            assert_eq!(d.top(), t.top(), "{sym}");
            if d.state == SyncState::Live {
                assert_eq!(d.book.best_bid_level(), t.book.best_bid_level(), "{sym} bid (price and qty)");
                assert_eq!(d.book.best_ask_level(), t.book.best_ask_level(), "{sym} ask");
                live_checks += 1;
            }
        }
    }
    assert!(live_checks > 5_000, "the books were live for most of the session: {live_checks}");
    assert_eq!((decimal.unattributed_errors(), ticks.unattributed_errors()), (0, 0));
    for sym in SYMBOLS {
        let (d, t) = (decimal.stream(sym).unwrap(), ticks.stream(sym).unwrap());
        assert!(d.stats.updates > 500 && d.stats.trades > 100, "{sym}: {:?}", d.stats);
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(levels(&d.book, side), levels(&t.book, side), "{sym} {side:?}: every level");
        }
        // The same normalized events (kinds, sequence numbers, exact values, exchange times).
        let ring = |h: &dyn Fn() -> Vec<NormalizedEvent>| h().iter().map(content).collect::<Vec<_>>();
        let de = ring(&|| decimal.tap().unwrap().ring(&d.symbol).unwrap().iter().collect());
        let te = ring(&|| ticks.tap().unwrap().ring(&t.symbol).unwrap().iter().collect());
        assert!(de.len() > 1_000, "{sym}: {} events", de.len());
        assert_eq!(de, te, "{sym} events");
    }
    // The report: the same counters; prices equal as decimals (the decimal builder keeps the
    // exchange's text `58001.03000000`, the integer books give the canonical `58001.03`).
    let (dr, tr) = (handler_report(&decimal), handler_report(&ticks));
    assert_eq!(comparable(&dr), comparable(&tr));
    let btc = tr.stream(Venue::Binance, "BTCUSDT").unwrap();
    assert!(!btc.best_bid.as_deref().unwrap().ends_with('0'), "canonical text: {btc:?}");
}

/// A report with its prices as exact values (for comparing text-keeping and integer books).
fn comparable(r: &VerifyReport) -> Vec<StreamReport> {
    let value = |t: &Option<String>| t.as_deref().map(|t| Decimal::parse_unsigned(t).unwrap().raw().to_string());
    r.streams
        .iter()
        .map(|s| StreamReport { best_bid: value(&s.best_bid), best_ask: value(&s.best_ask), ..s.clone() })
        .collect()
}

fn config(server: &ReplayServer) -> FeedConfig {
    let mut c = local(FeedConfig::new(Venue::Binance, SYMBOLS.iter().map(|s| s.to_string()).collect()), server);
    c.binance_scales = scales();
    c
}

async fn serve(text: &str, faults: Vec<Fault>) -> ReplayServer {
    ReplayServer::start(text, fast(faults)).await.unwrap()
}

/// Runs the connector on the integer books the configuration asks for, until the server is
/// drained and every book is live (bounded by [`LIMIT`]).
async fn run_ticks(cfg: &FeedConfig, server: &ReplayServer) -> (BinanceTickFeed, FeedCounters) {
    let mut books = cfg.binance_tick_feed().unwrap().expect("scales are configured");
    let done = |h: &BinanceTickFeed, c: &FeedCounters| {
        let st = server.stats();
        let live = h.streams().iter().all(|s| s.state == SyncState::Live);
        st.cursor == st.total && st.frames_sent == c.frames && live
    };
    let counters = run_until(cfg, &mut books, LIMIT, done).await;
    (books, counters)
}

/// The final decimal books the whole recording implies.
fn truth() -> Replay {
    let text = read(BINANCE);
    let mut replay = Replay::new();
    for r in records(&text) {
        replay.feed(&r.unwrap());
    }
    replay
}

fn assert_ends_right(books: &BinanceTickFeed) {
    let truth = truth();
    for sym in SYMBOLS {
        let (t, d) = (books.stream(sym).unwrap(), truth.binance.stream(sym).unwrap());
        for side in [Side::Buy, Side::Sell] {
            let got: Vec<Level> = t.book.side_levels(side).take(200).collect();
            let want: Vec<Level> = d.book.side_levels(side).take(200).collect();
            assert_eq!(got, want, "{sym} {side:?}");
        }
    }
}

#[tokio::test]
async fn network_path_on_integer_books_is_continuous_and_ends_where_verify_ends() {
    let server = serve(&read(BINANCE), vec![]).await;
    let (books, c) = run_ticks(&config(&server), &server).await;
    let report = handler_report(&books);
    let mut offline = verify_path(BINANCE.as_ref()).unwrap();
    offline.streams.retain(|s| s.venue == Venue::Binance);
    assert_eq!(comparable(&report), comparable(&offline));
    for s in &report.streams {
        assert_eq!((s.snapshots, s.gaps, s.resyncs, s.errors, s.crossed), (1, 0, 0, 0, 0), "{s:?}");
        assert!(s.updates > 500, "{s:?}");
    }
    assert_eq!((c.snapshot_requests, c.snapshots, c.snapshot_retries, c.resyncs, c.errors), (3, 3, 0, 0, 0));
    assert_ends_right(&books);
}

/// Index (among received frames) of the first depth diff of `symbol` at or after `from`.
fn diff_index(symbol: &str, from: usize) -> usize {
    let frames = frames(&load(BINANCE));
    let needle = format!(r#""s":"{symbol}","U""#);
    (from..frames.len()).find(|&i| frames[i].contains(&needle)).unwrap()
}

#[tokio::test]
async fn faults_on_the_wire_resync_and_end_right() {
    let drop = diff_index("BTCUSDT", 2000);
    let dup = diff_index("ETHUSDT", 1000);
    let cut = diff_index("DOTUSDT", 3000);
    let swap = diff_index("ETHUSDT", 3500);
    let faults = vec![Fault::Drop(drop), Fault::Duplicate(dup), Fault::Corrupt(cut), Fault::Swap(swap)];
    let server = serve(&read(BINANCE), faults).await;
    let (books, c) = run_ticks(&config(&server), &server).await;
    let stats = |s: &str| books.stream(s).unwrap().stats;
    // A lost diff (dropped, or cut and refused) is a gap on the next one: one resync each.
    assert_eq!((stats("BTCUSDT").gaps, stats("BTCUSDT").resyncs, stats("BTCUSDT").snapshots), (1, 1, 2));
    assert_eq!((stats("DOTUSDT").gaps, stats("DOTUSDT").resyncs, stats("DOTUSDT").snapshots), (1, 1, 2));
    // A duplicate is stale; two swapped diffs of one symbol are a gap, then the late one stale.
    let eth = stats("ETHUSDT");
    let swapped_same_symbol = frames(&load(BINANCE))[swap + 1].contains(r#""s":"ETHUSDT","U""#);
    assert_eq!(eth.resyncs, u64::from(swapped_same_symbol), "{eth:?}");
    assert_eq!((c.errors, books.unattributed_errors()), (1, 1), "the cut frame");
    assert_eq!(server.stats().rest_synthesized as u64, 2 + u64::from(swapped_same_symbol));
    assert_ends_right(&books);
}

#[tokio::test]
async fn a_price_off_the_tick_grid_is_a_counted_error_that_resyncs() {
    // One BTCUSDT diff gains a level at 58001.031 (the tick is 0.01) with quantity 0: the decimal
    // builder (and the server's reference book) take it as a no-op delete; the integer books
    // refuse the frame rather than round it.
    let text = read(BINANCE);
    let needle = r#""s":"BTCUSDT","U""#;
    let line = text.lines().filter(|l| l.contains(needle)).nth(600).unwrap();
    assert!(line.contains(r#""b":[["#));
    let off_grid = line.replacen(r#""b":[["#, r#""b":[["58001.031","0.00000000"],["#, 1);
    let text = text.replacen(line, &off_grid, 1);
    let server = serve(&text, vec![]).await;
    let (books, c) = run_ticks(&config(&server), &server).await;
    let btc = books.stream("BTCUSDT").unwrap().stats;
    assert_eq!((btc.errors, btc.resyncs, btc.gaps, btc.snapshots), (1, 1, 0, 2), "{btc:?}");
    assert_eq!((c.errors, c.snapshot_requests, books.unattributed_errors()), (1, 4, 0));
    for sym in ["ETHUSDT", "DOTUSDT"] {
        let s = books.stream(sym).unwrap().stats;
        assert_eq!((s.errors, s.resyncs, s.snapshots), (0, 0, 1), "{sym}");
    }
    assert_eq!(server.stats().rest_synthesized, 1);
    assert_ends_right(&books);
}

#[test]
fn scales_must_cover_exactly_the_subscribed_symbols() {
    let mut c = FeedConfig::new(Venue::Binance, vec!["btcusdt".into(), "ETHUSDT".into()]);
    assert!(c.binance_tick_feed().unwrap().is_none(), "no scales: the decimal builder");
    c.binance_scales = vec![("BTCUSDT".into(), TickScale::new("0.01", "0.00001").unwrap())];
    let e = c.binance_tick_feed().unwrap_err().to_string();
    assert!(e.contains("field=binance_scales") && e.contains("ETHUSDT"), "{e}");
    c.binance_scales.push(("ethusdt".into(), TickScale::new("0.01", "0.0001").unwrap()));
    let feed = c.binance_tick_feed().unwrap().unwrap();
    assert_eq!(feed.streams().len(), 2);
    c.binance_scales.push(("DOTUSDT".into(), TickScale::new("0.0001", "0.01").unwrap()));
    assert!(c.binance_tick_feed().unwrap_err().to_string().contains("not subscribed"));
    let mut k = FeedConfig::new(Venue::Kraken, vec!["XBT/USD".into()]);
    k.binance_scales = c.binance_scales.clone();
    assert!(k.binance_tick_feed().unwrap_err().to_string().contains("venue=kraken"));
    c.binance_scales.pop();
    c.binance_tick_window = 100;
    assert!(c.binance_tick_feed().unwrap_err().to_string().contains("window=100"));
}

#[tokio::test]
async fn missing_scales_are_fetched_from_exchange_info() {
    // The server describes ETHUSDT and DOTUSDT (and another symbol); BTCUSDT's scale is given.
    let info = vec![
        ("ETHUSDT".to_string(), "0.01".to_string(), "0.00000001".to_string()),
        ("DOTUSDT".to_string(), "0.0001".to_string(), "0.00000001".to_string()),
        ("BNBBTC".to_string(), "0.000001".to_string(), "0.001".to_string()),
    ];
    let options = ReplayOptions { pace: Pace::Fast, binance_exchange_info: info.clone(), ..Default::default() };
    let server = ReplayServer::start(&read(BINANCE), options).await.unwrap();
    let mut cfg = config(&server);
    cfg.binance_scales.retain(|(s, _)| s == "BTCUSDT");
    cfg.binance_fetch_scales = true;
    let e = cfg.binance_tick_feed().unwrap_err().to_string();
    assert!(e.contains("fetch them first"), "{e}");
    fill_binance_scales(&mut cfg).await.unwrap();
    assert!(!cfg.binance_fetch_scales);
    let fetched: Vec<(&str, String, String)> = cfg
        .binance_scales
        .iter()
        .map(|(s, sc)| (s.as_str(), sc.tick_size().to_string(), sc.lot_size().to_string()))
        .collect();
    assert_eq!(
        fetched,
        [
            ("BTCUSDT", "0.01".into(), "0.00000001".into()),
            ("ETHUSDT", "0.01000000".into(), "0.00000001".into()),
            ("DOTUSDT", "0.00010000".into(), "0.00000001".into()),
        ]
    );
    // The session runs on the fetched scales, continuous, and ends right.
    let (books, c) = run_ticks(&cfg, &server).await;
    assert_eq!((c.errors, c.resyncs), (0, 0));
    assert_ends_right(&books);

    // A symbol the answer does not describe is an error that names it.
    let mut cfg = config(&server);
    cfg.symbols.push("XRPUSDT".into());
    cfg.binance_scales.clear();
    cfg.binance_fetch_scales = true;
    let e = fill_binance_scales(&mut cfg).await.unwrap_err().to_string();
    assert!(e.contains("symbol=BTCUSDT: not described"), "{e}");
    // A server without exchangeInfo: the request fails, clearly.
    let plain = serve(&read(BINANCE), vec![]).await;
    let mut cfg = config(&plain);
    cfg.binance_scales.clear();
    cfg.binance_fetch_scales = true;
    let e = fill_binance_scales(&mut cfg).await.unwrap_err().to_string();
    assert!(e.contains("http error") && e.contains("exchangeInfo"), "{e}");
}
