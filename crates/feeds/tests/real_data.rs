//! The recorded exchange sessions in `data/` replayed through parsers and book builders, checked
//! against the facts in `data/PROVENANCE.md`.

mod common;

use std::collections::BTreeMap;

use common::*;
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{CoinbaseBooks, FeedEvent, FeedHandler, SyncState};
use wintermute_feeds::{verify_path, Venue};

#[test]
fn kraken_every_checksum_verifies_for_all_ten_pairs() {
    let report = verify_path(KRAKEN_BOOK.as_ref()).unwrap();
    let kraken: Vec<_> = report.streams.iter().filter(|s| s.venue == Venue::Kraken).collect();
    assert_eq!(kraken.len(), 10, "{report:#?}");
    let ok: u64 = kraken.iter().map(|s| s.checksum_ok).sum();
    let updates: u64 = kraken.iter().map(|s| s.updates).sum();
    assert_eq!(ok, 14_496);
    assert_eq!(updates, 14_496);
    for s in &kraken {
        assert_eq!((s.checksum_bad, s.resyncs, s.errors, s.snapshots), (0, 0, 0, 1), "{s:?}");
        assert_eq!(s.checksum_ok, s.updates, "{s:?}");
        assert_eq!(s.crossed, 0, "{s:?}");
        assert!(s.best_bid.is_some() && s.best_ask.is_some(), "{s:?}");
    }
    let xbt = report.stream(Venue::Kraken, "XBT/USD").unwrap();
    assert_eq!(xbt.updates, 5_788);
    assert_eq!(report.errors, 0);
}

#[test]
fn binance_all_symbols_sync_and_never_gap() {
    let report = verify_path(BINANCE.as_ref()).unwrap();
    let binance: Vec<_> = report.streams.iter().filter(|s| s.venue == Venue::Binance).collect();
    let symbols: Vec<&str> = binance.iter().map(|s| s.symbol.as_str()).collect();
    assert_eq!(symbols, ["BTCUSDT", "DOTUSDT", "ETHUSDT"]);
    let mut applied = 0;
    for s in &binance {
        assert_eq!((s.snapshots, s.gaps, s.resyncs, s.errors, s.crossed), (1, 0, 0, 0, 0), "{s:?}");
        assert!(s.updates > 100, "{s:?}");
        assert!(s.best_bid.is_some() && s.best_ask.is_some(), "{s:?}");
        applied += s.updates;
    }
    // 2,688 diffs in the file; the ones older than each snapshot are dropped, not applied.
    assert!(applied < 2_688 && applied > 2_600, "{applied}");
    assert_eq!(report.errors, 0);
}

#[test]
fn binance_snapshots_arrive_after_buffered_diffs() {
    let recs = load(BINANCE);
    let mut books = wintermute_feeds::sync::BinanceBooks::new();
    let mut buffered = BTreeMap::<String, u32>::new();
    for r in &recs {
        match r {
            Record::Received { conn, payload, .. } => {
                if let FeedEvent::Buffered(sym) = books.on_frame(*conn, payload).unwrap() {
                    *buffered.entry(sym.to_string()).or_default() += 1;
                }
            }
            Record::Http { conn, url, body, .. } => {
                assert!(matches!(books.on_http(*conn, url, body).unwrap(), FeedEvent::Snapshot(_)));
            }
            _ => {}
        }
    }
    assert_eq!(buffered.len(), 3, "every symbol buffered diffs first: {buffered:?}");
    for sym in ["BTCUSDT", "ETHUSDT", "DOTUSDT"] {
        assert_eq!(books.stream(sym).unwrap().state, SyncState::Live);
    }
}

#[test]
fn coinbase_ten_products_never_crossed_and_tickers_agree() {
    let report = verify_path(COINBASE.as_ref()).unwrap();
    let cb: Vec<_> = report.streams.iter().filter(|s| s.venue == Venue::Coinbase).collect();
    assert_eq!(cb.len(), 10);
    let updates: u64 = cb.iter().map(|s| s.updates).sum();
    assert_eq!(updates, 9_719);
    for s in &cb {
        assert_eq!((s.snapshots, s.crossed, s.errors, s.resyncs), (1, 0, 0, 0), "{s:?}");
    }
    // Ticker vs rebuilt top, computed independently of the builder's own counters.
    let recs = load(COINBASE);
    let mut books = CoinbaseBooks::new();
    let (mut tickers, mut matches) = (0, 0);
    for r in &recs {
        if let Record::Received { conn, payload, .. } = r {
            if let FeedEvent::Ticker { symbol, best_bid, best_ask } = books.on_frame(*conn, payload).unwrap() {
                tickers += 1;
                let book = &books.stream(symbol.as_str()).unwrap().book;
                let top = (book.best_bid().map(|l| l.price), book.best_ask().map(|l| l.price));
                if top == (best_bid, best_ask) {
                    matches += 1;
                }
            }
        }
    }
    assert_eq!(tickers, 107);
    assert_eq!(matches, 100, "PROVENANCE: 100 of 107");
    let checks: u64 = books.streams().iter().map(|s| s.stats.ticker_checks).sum();
    let agreed: u64 = books.streams().iter().map(|s| s.stats.ticker_matches).sum();
    assert_eq!((checks, agreed), (107, 100));
    let trades: u64 = books.streams().iter().map(|s| s.stats.trades).sum();
    assert_eq!(trades, 97 + 10, "97 matches plus one last_match per product");
}

#[test]
fn kraken_trade_and_ticker_sessions_parse_cleanly() {
    let trades = verify_path(KRAKEN_TRADE.as_ref()).unwrap();
    assert_eq!(trades.errors, 0);
    assert!(trades.streams.iter().all(|s| s.snapshots == 0 && s.best_bid.is_none()));
    let mut books = wintermute_feeds::sync::KrakenBooks::new();
    let mut n = 0;
    for f in frames(&load(KRAKEN_TRADE)) {
        if let FeedEvent::Trades(_) = books.on_frame(0, &f).unwrap() {
            n += books.last_trades().len();
        }
    }
    assert!(n >= 28, "{n}");
    let ticker = verify_path(KRAKEN_TICKER.as_ref()).unwrap();
    assert_eq!(ticker.errors, 0);
    assert_eq!(ticker.streams.len(), 10);
}

/// The same session in the three recording formats gives the same report.
#[test]
fn all_three_recording_formats_verify_the_same() {
    use wintermute_feeds::recording::{records, RecordingFormat, RecordingWriter};
    use wintermute_feeds::verify_str;

    let text = read(KRAKEN_BOOK);
    let original = verify_str(&text);
    assert_eq!(original.streams.len(), 10);

    let mut ours = RecordingWriter::new(Vec::new()).unwrap();
    let mut jsonl = String::from("{\"t\":\"header\",\"version\":1}\n");
    for r in records(&text) {
        let r = r.unwrap();
        ours.write(&r).unwrap();
        let ts = wintermute_feeds::timestamp::format_epoch_seconds(r.ts());
        let line = match &r {
            Record::Connect { url, .. } => {
                serde_json::json!({"t": "connect", "conn": 3, "ts": ts, "addr": url})
            }
            Record::Sent { url, payload, .. } => {
                serde_json::json!({"t": "send", "conn": 3, "ts": ts, "url": url, "data": payload})
            }
            Record::Received { payload, .. } => {
                serde_json::json!({"t": "recv", "conn": 3, "ts": ts, "data": payload})
            }
            Record::Http { url, body, .. } => {
                serde_json::json!({"t": "http", "conn": 3, "ts": ts, "url": url, "data": body})
            }
        };
        jsonl.push_str(&line.to_string());
        jsonl.push('\n');
    }
    let ours = String::from_utf8(ours.into_inner().unwrap()).unwrap();
    assert_eq!(records(&ours).format(), RecordingFormat::Wintermute);
    assert_eq!(records(&jsonl).format(), RecordingFormat::CryptofeedJsonl);
    assert_eq!(verify_str(&ours), original);
    assert_eq!(verify_str(&jsonl), original);
    assert_eq!(verify_str(&jsonl).to_json(), original.to_json());
}

/// One JSON-lines file holding all three sessions, without connect records: each frame's venue
/// is recognised from its shape, and the report equals the three separate ones.
#[test]
fn venues_are_recognised_from_payloads_alone() {
    use wintermute_feeds::recording::records;
    use wintermute_feeds::verify_str;

    let mut jsonl = String::from("{\"t\":\"header\"}\n");
    let mut expected = Vec::new();
    for (conn, path) in [(1, BINANCE), (2, COINBASE), (3, KRAKEN_BOOK)] {
        let text = read(path);
        expected.extend(verify_str(&text).streams);
        for r in records(&text) {
            let line = match r.unwrap() {
                Record::Received { payload, .. } => {
                    serde_json::json!({"t": "recv", "conn": conn, "ts": "1.0", "data": payload})
                }
                Record::Http { url, body, .. } => {
                    serde_json::json!({"t": "http", "conn": conn, "ts": "1.0", "url": url, "data": body})
                }
                _ => continue,
            };
            jsonl.push_str(&line.to_string());
            jsonl.push('\n');
        }
    }
    let report = verify_str(&jsonl);
    assert_eq!(report.streams.len(), 3 + 10 + 10);
    assert_eq!(report.errors, 0);
    assert_eq!(report.streams, expected);
}

#[test]
fn verify_reports_io_errors_and_counts_garbage() {
    let missing = verify_path("/nonexistent/recording.cfraw.txt".as_ref()).unwrap_err();
    assert!(matches!(missing, wintermute_feeds::FeedError::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("path=/nonexistent/recording.cfraw.txt"));
    let report = wintermute_feeds::verify_str("garbage line\n1.0: also garbage\n\n{\"t\":1}\n");
    assert!(report.streams.is_empty());
    assert_eq!(report.errors, 3);
}
