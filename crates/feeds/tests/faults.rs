//! Fault injection on real recorded messages: gaps, reordering, duplicates, corrupted data,
//! malformed JSON, unknown types and missing fields. Each fault must be counted, must make the
//! affected book resync when it concerns book data, must never panic, and the book must be right
//! again after the next snapshot (built here from a clean replay of the same session).

mod common;

use common::*;
use wintermute_core::inline_str::InlineStr;
use wintermute_feeds::binance::{BinanceMessage, BinanceParser};
use wintermute_feeds::book::L2Book;
use wintermute_feeds::kraken::{checksum, KrakenMessage, KrakenParser};
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{
    BinanceBooks, CoinbaseBooks, FeedEvent, FeedHandler, KrakenBooks, ResyncReason, SyncState,
};

/// (price, qty) texts of the bids and of the asks, best first.
type Sides = (Vec<(String, String)>, Vec<(String, String)>);

fn levels_text(book: &L2Book) -> Sides {
    let t = |l: &wintermute_feeds::book::Level| (l.price.as_str().to_string(), l.qty.as_str().to_string());
    (book.bids().map(t).collect(), book.asks().map(t).collect())
}

fn assert_same_book(a: &L2Book, b: &L2Book) {
    let (ab, aa) = levels_text(a);
    let (bb, ba) = levels_text(b);
    assert!(!ab.is_empty() && !aa.is_empty());
    assert_eq!(ab, bb, "bids differ");
    assert_eq!(aa, ba, "asks differ");
}

fn pairs_json(levels: impl Iterator<Item = (String, String)>, extra: &str) -> String {
    let v: Vec<String> = levels.map(|(p, q)| format!("[\"{p}\",\"{q}\"{extra}]")).collect();
    format!("[{}]", v.join(","))
}

// ---------------------------------------------------------------- Binance

/// Binance session as (is_http, url, payload) in recording order.
fn binance_items() -> Vec<(bool, String, String)> {
    load(BINANCE)
        .into_iter()
        .filter_map(|r| match r {
            Record::Received { payload, .. } => Some((false, String::new(), payload.into_owned())),
            Record::Http { url, body, .. } => Some((true, url.into_owned(), body.into_owned())),
            _ => None,
        })
        .collect()
}

fn feed_binance(
    books: &mut BinanceBooks,
    item: &(bool, String, String),
) -> Result<FeedEvent, wintermute_feeds::FeedError> {
    if item.0 {
        books.on_http(0, &item.1, &item.2)
    } else {
        books.on_frame(0, &item.2)
    }
}

/// Indices of BTCUSDT diffs in the session.
fn btc_diffs(items: &[(bool, String, String)]) -> Vec<usize> {
    let mut p = BinanceParser::new();
    items
        .iter()
        .enumerate()
        .filter(|(_, it)| !it.0)
        .filter(|(_, it)| matches!(p.parse(&it.2), Ok(BinanceMessage::Depth(d)) if d.symbol.as_str() == "BTCUSDT"))
        .map(|(i, _)| i)
        .collect()
}

/// Replays `items` with `mutate` applied at their indices, then at `recover_at` gives the faulty
/// builder a BTCUSDT snapshot taken from the clean replay; returns (clean, faulty).
fn binance_with_fault(
    fault: impl Fn(usize, &(bool, String, String)) -> Vec<(bool, String, String)>,
    recover_at: usize,
) -> (BinanceBooks, BinanceBooks) {
    let items = binance_items();
    let mut clean = BinanceBooks::new();
    let mut faulty = BinanceBooks::new();
    let mut parser = BinanceParser::new();
    let mut last_u = 0;
    for (i, item) in items.iter().enumerate() {
        if let Ok(FeedEvent::Update(sym)) = feed_binance(&mut clean, item) {
            if sym.as_str() == "BTCUSDT" {
                if let Ok(BinanceMessage::Depth(d)) = parser.parse(&item.2) {
                    last_u = d.final_update_id;
                }
            }
        }
        for it in fault(i, item) {
            let _ = feed_binance(&mut faulty, &it); // errors are expected; they must not panic
        }
        if i == recover_at {
            let book = &clean.stream("BTCUSDT").unwrap().book;
            let (bids, asks) = levels_text(book);
            let body = format!(
                "{{\"lastUpdateId\":{last_u},\"bids\":{},\"asks\":{}}}",
                pairs_json(bids.into_iter(), ""),
                pairs_json(asks.into_iter(), "")
            );
            let ev = faulty.on_snapshot(0, InlineStr::new("BTCUSDT").unwrap(), &body).unwrap();
            assert_eq!(ev, FeedEvent::Snapshot(InlineStr::new("BTCUSDT").unwrap()));
        }
    }
    (clean, faulty)
}

fn assert_recovered(clean: &BinanceBooks, faulty: &BinanceBooks, gaps: u64) {
    let f = faulty.stream("BTCUSDT").unwrap();
    assert_eq!(f.state, SyncState::Live);
    assert_eq!((f.stats.gaps, f.stats.resyncs), (gaps, gaps), "{:?}", f.stats);
    assert_same_book(&clean.stream("BTCUSDT").unwrap().book, &f.book);
    for other in ["ETHUSDT", "DOTUSDT"] {
        let s = faulty.stream(other).unwrap();
        assert_eq!((s.stats.gaps, s.state), (0, SyncState::Live));
        assert_same_book(&clean.stream(other).unwrap().book, &s.book);
    }
}

#[test]
fn binance_dropped_diff_is_a_gap_then_recovers() {
    let diffs = btc_diffs(&binance_items());
    let (drop, recover) = (diffs[200], diffs[260]);
    // Right after the gap, the builder asks for a BTCUSDT snapshot (and only that).
    let (_, faulty) = binance_with_fault(|i, it| if i == drop { vec![] } else { vec![it.clone()] }, usize::MAX);
    let pending: Vec<String> = faulty.pending_snapshots().iter().map(|s| s.to_string()).collect();
    assert_eq!(pending, ["BTCUSDT"]);
    let (clean, faulty) = binance_with_fault(|i, it| if i == drop { vec![] } else { vec![it.clone()] }, recover);
    assert_recovered(&clean, &faulty, 1);
}

#[test]
fn binance_reordered_diffs_are_a_gap_then_recover() {
    let items = binance_items();
    let diffs = btc_diffs(&items);
    let (a, b) = (diffs[300], diffs[301]);
    let (clean, faulty) = binance_with_fault(
        |i, it| {
            if i == a {
                vec![] // held back, delivered after b
            } else if i == b {
                vec![it.clone(), items[a].clone()]
            } else {
                vec![it.clone()]
            }
        },
        diffs[350],
    );
    assert_recovered(&clean, &faulty, 1);
}

#[test]
fn binance_duplicate_diff_is_ignored_without_resync() {
    let diffs = btc_diffs(&binance_items());
    let dup = diffs[400];
    let (clean, faulty) = binance_with_fault(
        |i, it| {
            if i == dup {
                vec![it.clone(), it.clone()]
            } else {
                vec![it.clone()]
            }
        },
        usize::MAX,
    );
    assert_recovered(&clean, &faulty, 0);
    let f = faulty.stream("BTCUSDT").unwrap();
    assert_eq!(f.stats.updates, clean.stream("BTCUSDT").unwrap().stats.updates);
}

#[test]
fn binance_malformed_and_incomplete_diffs_are_counted_and_resync() {
    let diffs = btc_diffs(&binance_items());
    let (bad, missing) = (diffs[150], diffs[500]);
    let (clean, faulty) = binance_with_fault(
        |i, it| {
            let mut it = it.clone();
            if i == bad {
                it.2.truncate(it.2.len() / 2); // malformed JSON
            } else if i == missing {
                it.2 = it.2.replacen("\"U\":", "\"X\":", 1); // missing field U
            }
            vec![it]
        },
        diffs[600],
    );
    assert_eq!(faulty.unattributed_errors(), 2);
    // The malformed diff is lost, so the next diff is a gap and the book resyncs; the diff with a
    // missing field arrives while the stream still waits for its snapshot (given at diffs[600]),
    // so it is counted but causes no second gap.
    let f = faulty.stream("BTCUSDT").unwrap();
    assert_eq!(f.stats.gaps, 1);
    assert_recovered(&clean, &faulty, 1);
}

#[test]
fn binance_unknown_event_is_ignored() {
    let mut books = BinanceBooks::new();
    let ev = books.on_frame(0, r#"{"stream":"x","data":{"e":"brandNew","s":"BTCUSDT","x":[1,{"y":null}]}}"#);
    assert_eq!(ev.unwrap(), FeedEvent::Ignored);
    assert_eq!(books.stream("BTCUSDT").unwrap().stats.messages, 1);
    assert!(books.on_frame(0, r#"{"no_event":1}"#).is_err());
    assert_eq!(books.unattributed_errors(), 1);
    assert!(books.on_http(0, "https://x/depth?limit=5", "{}").is_err());
}

// ---------------------------------------------------------------- Kraken

const XBT: &str = "XBT/USD";

fn kraken_frames() -> Vec<String> {
    frames(&load(KRAKEN_BOOK))
}

/// Index of an XBT/USD update (after `from`) whose first level lands in the clean top 10, so a
/// change to it must change the checksum.
fn visible_update(frames: &[String], from: usize) -> usize {
    let mut books = KrakenBooks::new();
    let mut parser = KrakenParser::new();
    for (i, f) in frames.iter().enumerate() {
        let ev = books.on_frame(0, f).unwrap();
        if i < from || ev != FeedEvent::Update(InlineStr::new(XBT).unwrap()) {
            continue;
        }
        let Ok(KrakenMessage::Book { levels, .. }) = parser.parse(f) else {
            continue;
        };
        let l = levels[0];
        let book = &books.stream(XBT).unwrap().book;
        if !l.qty.is_zero() && book.levels(l.side).take(10).any(|x| x.price == l.price) {
            return i;
        }
    }
    panic!("no visible update");
}

fn kraken_snapshot(book: &L2Book) -> String {
    let (bids, asks) = levels_text(book);
    format!(
        "[320,{{\"as\":{},\"bs\":{}}},\"book-1000\",\"{XBT}\"]",
        pairs_json(asks.into_iter(), ",\"0\""),
        pairs_json(bids.into_iter(), ",\"0\"")
    )
}

fn kraken_with_fault(fault_at: usize, faulty_frame: Option<String>, recover_at: usize) -> (KrakenBooks, KrakenBooks) {
    let frames = kraken_frames();
    let (mut clean, mut faulty) = (KrakenBooks::new(), KrakenBooks::new());
    for (i, f) in frames.iter().enumerate() {
        clean.on_frame(0, f).unwrap();
        let r = if i == fault_at {
            faulty_frame.as_deref().map(|g| faulty.on_frame(0, g))
        } else {
            Some(faulty.on_frame(0, f))
        };
        if let Some(Ok(FeedEvent::Resync { reason, .. })) = r {
            assert_eq!(reason, ResyncReason::ChecksumMismatch);
        }
        if i == recover_at {
            let snap = kraken_snapshot(&clean.stream(XBT).unwrap().book);
            assert!(matches!(faulty.on_frame(0, &snap), Ok(FeedEvent::Snapshot(_))));
        }
    }
    (clean, faulty)
}

fn assert_kraken_recovered(clean: &KrakenBooks, faulty: &KrakenBooks) {
    let (c, f) = (clean.stream(XBT).unwrap(), faulty.stream(XBT).unwrap());
    assert_eq!(f.state, SyncState::Live);
    assert_eq!((f.stats.checksum_bad, f.stats.resyncs, f.stats.snapshots), (1, 1, 2), "{:?}", f.stats);
    assert_same_book(&c.book, &f.book);
    assert_eq!(checksum(&c.book), checksum(&f.book));
    // Every update applied after the recovery verified.
    assert!(f.stats.checksum_ok > 1000 && f.stats.checksum_ok < c.stats.checksum_ok);
    for other in faulty.streams() {
        if other.symbol.as_str() != XBT {
            assert_eq!((other.stats.checksum_bad, other.stats.resyncs), (0, 0));
        }
    }
}

#[test]
fn kraken_corrupted_quantity_fails_checksum_then_recovers() {
    let frames = kraken_frames();
    let i = visible_update(&frames, 2000);
    let mut parser = KrakenParser::new();
    let Ok(KrakenMessage::Book { levels, .. }) = parser.parse(&frames[i]) else { panic!() };
    let qty = levels[0].qty.as_str().to_string();
    let mut changed = qty.clone().into_bytes();
    let last = changed.len() - 1;
    changed[last] = if changed[last] == b'9' { b'8' } else { changed[last] + 1 };
    let changed = String::from_utf8(changed).unwrap();
    let corrupted = frames[i].replacen(&format!("\"{qty}\""), &format!("\"{changed}\""), 1);
    assert_ne!(corrupted, frames[i]);
    let (clean, faulty) = kraken_with_fault(i, Some(corrupted), i + 500);
    assert_kraken_recovered(&clean, &faulty);
}

#[test]
fn kraken_dropped_or_malformed_update_is_caught_by_the_checksum() {
    let frames = kraken_frames();
    let i = visible_update(&frames, 4000);
    let (clean, faulty) = kraken_with_fault(i, None, i + 300);
    assert_kraken_recovered(&clean, &faulty);
}

#[test]
fn kraken_update_cut_before_its_pair_name_resyncs_every_book_of_the_connection() {
    // Cut short, the frame no longer says whose update it was; Kraken has no sequence numbers
    // and the checksum covers only the top 10 levels, so no book of the connection can be
    // vouched for: all of them resync (never a silently wrong deep book).
    let frames = kraken_frames();
    let j = visible_update(&frames, 6000);
    let mut books = KrakenBooks::new();
    for f in &frames[..j] {
        books.on_frame(0, f).unwrap();
    }
    let live = books.streams().iter().filter(|s| s.state == SyncState::Live).count();
    assert!(live >= 2, "{live}");
    let truncated = &frames[j][..frames[j].len() - 7];
    assert!(books.on_frame(0, truncated).is_err());
    assert_eq!(books.unattributed_errors(), 1);
    assert!(books.streams().iter().all(|s| s.state != SyncState::Live));
    assert_eq!(books.streams().iter().map(|s| s.stats.resyncs).sum::<u64>(), live as u64);
}

#[test]
fn kraken_unknown_and_incomplete_messages_never_break_the_book() {
    let frames = kraken_frames();
    let mut books = KrakenBooks::new();
    for f in &frames[..3000] {
        books.on_frame(0, f).unwrap();
    }
    let before = books.stream(XBT).unwrap().stats;
    for weird in [
        r#"[320,{"x":1},"spread","XBT/USD"]"#,
        r#"{"event":"somethingNew","foo":[1,2]}"#,
        r#"{"channel":"nothing_known","type":"update","data":[]}"#,
    ] {
        assert_eq!(books.on_frame(0, weird).unwrap(), FeedEvent::Ignored, "{weird}");
    }
    // A book frame for a followed pair that does not parse is a lost update: that pair resyncs
    // (its top-10 checksum could not prove the deeper levels right).
    let broken_book = r#"[320,{"a":[["58729.40000"]],"c":"1"},"book-1000","XBT/USD"]"#;
    assert!(matches!(
        books.on_frame(0, broken_book).unwrap(),
        FeedEvent::Resync { reason: ResyncReason::Malformed, .. }
    ));
    for broken in [
        r#"[320,{"a":[["58729.40000","1.0","1.0"]],"c":"1"},"book-1000"]"#,
        r#"{"channel":"book","type":"update","data":[{"bids":[],"asks":[]}]}"#,
        "",
        "[",
    ] {
        assert!(books.on_frame(0, broken).is_err(), "{broken}");
    }
    assert_eq!(books.unattributed_errors(), 4);
    let after = books.stream(XBT).unwrap().stats;
    assert_eq!(after.messages, before.messages + 1); // the spread frame
    assert_eq!((after.checksum_bad, after.resyncs, after.errors), (0, 1, 1));
    for f in &frames[3000..] {
        books.on_frame(0, f).unwrap();
    }
    assert_eq!(books.stream(XBT).unwrap().stats.checksum_bad, 0);
}

// ---------------------------------------------------------------- Coinbase

#[test]
fn coinbase_malformed_frame_resyncs_the_connection_then_recovers() {
    let frames = frames(&load(COINBASE));
    let (mut clean, mut faulty) = (CoinbaseBooks::new(), CoinbaseBooks::new());
    let fault_at = 5000;
    let product = "SKL-USD";
    for (i, f) in frames.iter().enumerate() {
        clean.on_frame(0, f).unwrap();
        if i == fault_at {
            assert!(faulty.on_frame(0, &f[..f.len() / 2]).is_err());
            // Unknown types and missing fields are counted too; unknown types do not resync.
            assert!(faulty
                .on_frame(0, r#"{"type":"brand_new","product_id":"SKL-USD"}"#)
                .unwrap_err()
                .is_unknown_message());
            assert!(faulty.on_frame(0, r#"{"type":"l2update","changes":[["buy","1","1"]]}"#).is_err());
        } else {
            faulty.on_frame(0, f).unwrap();
        }
        if i == fault_at + 1000 {
            let (bids, asks) = levels_text(&clean.stream(product).unwrap().book);
            let snap = format!(
                "{{\"type\":\"snapshot\",\"product_id\":\"{product}\",\"bids\":{},\"asks\":{}}}",
                pairs_json(bids.into_iter(), ""),
                pairs_json(asks.into_iter(), "")
            );
            assert!(matches!(faulty.on_frame(0, &snap), Ok(FeedEvent::Snapshot(_))));
        }
    }
    assert_eq!(faulty.unattributed_errors(), 3);
    for s in faulty.streams() {
        // Two malformed frames, each resyncing every live book (the second finds none live).
        assert_eq!(s.stats.resyncs, 1, "{}", s.symbol);
        if s.symbol.as_str() == product {
            assert_eq!(s.state, SyncState::Live);
            assert_same_book(&clean.stream(product).unwrap().book, &s.book);
        } else {
            assert_ne!(s.state, SyncState::Live);
            assert!(s.top() == (None, None));
        }
    }
}

#[test]
fn coinbase_advanced_trade_sequence_gap_resyncs_the_connection() {
    let snap = |seq: u64, product: &str| {
        format!(
            r#"{{"channel":"l2_data","client_id":"","timestamp":"2023-02-09T20:32:50.714964855Z","sequence_num":{seq},"events":[{{"type":"snapshot","product_id":"{product}","updates":[{{"side":"bid","event_time":"t","price_level":"100.00","new_quantity":"1.5"}},{{"side":"offer","event_time":"t","price_level":"101.00","new_quantity":"2"}}]}}]}}"#
        )
    };
    let update = |seq: u64, product: &str, side: &str, price: &str, qty: &str| {
        format!(
            r#"{{"channel":"l2_data","client_id":"","timestamp":"t","sequence_num":{seq},"events":[{{"type":"update","product_id":"{product}","updates":[{{"side":"{side}","event_time":"t","price_level":"{price}","new_quantity":"{qty}"}}]}}]}}"#
        )
    };
    let hb = |seq: u64| {
        format!(
            r#"{{"channel":"heartbeats","client_id":"","timestamp":"t","sequence_num":{seq},"events":[{{"current_time":"t","heartbeat_counter":{seq}}}]}}"#
        )
    };
    let mut b = CoinbaseBooks::new();
    b.on_connect(7, "wss://advanced-trade-ws.coinbase.com");
    assert!(matches!(b.on_frame(7, &snap(0, "BTC-USD")).unwrap(), FeedEvent::Snapshot(_)));
    assert!(matches!(b.on_frame(7, &snap(1, "ETH-USD")).unwrap(), FeedEvent::Snapshot(_)));
    assert!(matches!(b.on_frame(7, &update(2, "BTC-USD", "bid", "100.50", "3")).unwrap(), FeedEvent::Update(_)));
    b.on_frame(7, &hb(3)).unwrap();
    // Duplicate: ignored.
    assert_eq!(b.on_frame(7, &update(2, "BTC-USD", "bid", "100.50", "9")).unwrap(), FeedEvent::Ignored);
    assert_eq!(b.stream("BTC-USD").unwrap().book.best_bid().unwrap().qty.as_str(), "3");
    // Gap (4 is missing): both books on the connection resync.
    let ev = b.on_frame(7, &update(5, "BTC-USD", "offer", "100.90", "1")).unwrap();
    assert!(matches!(ev, FeedEvent::Resync { reason: ResyncReason::Gap, .. }));
    for p in ["BTC-USD", "ETH-USD"] {
        let s = b.stream(p).unwrap();
        assert_eq!((s.stats.gaps, s.stats.resyncs, s.state), (1, 1, SyncState::Resyncing));
    }
    // Updates are ignored until a new snapshot; then the book is exactly the snapshot.
    assert_eq!(b.on_frame(7, &update(6, "BTC-USD", "bid", "99", "1")).unwrap(), FeedEvent::Ignored);
    b.on_frame(7, &snap(7, "BTC-USD")).unwrap();
    let s = b.stream("BTC-USD").unwrap();
    assert_eq!(s.state, SyncState::Live);
    assert_eq!(s.book.best_bid().unwrap().price.as_str(), "100.00");
    assert_eq!(s.book.best_ask().unwrap().price.as_str(), "101.00");
    assert_eq!(s.book.bids().len() + s.book.asks().len(), 2);
    // A new connection restarts the sequence.
    b.on_connect(7, "wss://advanced-trade-ws.coinbase.com");
    b.on_frame(7, &hb(0)).unwrap();
    assert_eq!(b.stream("BTC-USD").unwrap().stats.gaps, 1);
}

// ---------------------------------------------------------------- extremes

#[test]
fn extreme_ids_and_values_do_not_overflow() {
    let mut b = BinanceBooks::new();
    let sym = InlineStr::new("BTCUSDT").unwrap();
    let max = u64::MAX;
    let body = format!(r#"{{"lastUpdateId":{max},"bids":[["1","1"]],"asks":[["2","1"]]}}"#);
    b.on_snapshot(0, sym, &body).unwrap();
    let diff = format!(r#"{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{max},"u":{max},"b":[],"a":[]}}"#);
    assert_eq!(b.on_frame(0, &diff).unwrap(), FeedEvent::Ignored);

    let mut c = CoinbaseBooks::new();
    let hb = |seq: u64| format!(r#"{{"channel":"heartbeats","sequence_num":{seq},"events":[]}}"#);
    c.on_frame(0, &hb(max)).unwrap();
    assert_eq!(c.on_frame(0, &hb(0)).unwrap(), FeedEvent::Ignored);

    use wintermute_core::decimal::Decimal;
    use wintermute_feeds::book::Side;
    use wintermute_feeds::consolidated::ConsolidatedBook;
    use wintermute_feeds::Venue;
    let big = Decimal::parse_unsigned("170000000000000000000").unwrap();
    let mut x = L2Book::new();
    x.apply(Side::Buy, big, big);
    x.apply(Side::Sell, big, big);
    let mut cons = ConsolidatedBook::new();
    cons.rebuild(&[(Venue::Binance, &x), (Venue::Kraken, &x)], 5);
    let _ = (cons.microprice(), cons.mid(), cons.cross(), cons.bbo());
}
