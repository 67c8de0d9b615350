//! The second protocols end to end: the Kraken **v2** and Coinbase **Advanced Trade** connectors
//! against the replay server speaking those protocols (it translates the real v1 / Exchange
//! recordings frame by frame, `net::dialect`). The books must end exactly where the offline
//! `verify` of the original recording ends, every checksum must verify, and injected faults
//! must be detected (a checksum mismatch, a `sequence_num` gap) and repaired by a resubscription.

mod common;
#[path = "common/net.rs"]
mod net;

use std::time::Duration;

use common::*;
use net::{fast, local, run_until};
use wintermute_feeds::book::L2Book;
use wintermute_feeds::net::client::{FeedConfig, FeedCounters};
use wintermute_feeds::net::endpoints::Protocol;
use wintermute_feeds::net::replay_server::{Fault, ReplayServer};
use wintermute_feeds::sync::{CoinbaseBooks, FeedHandler, KrakenBooks, SyncState};
use wintermute_feeds::verify::handler_report;
use wintermute_feeds::{verify_path, StreamReport, Venue};

const LIMIT: Duration = Duration::from_secs(30);

fn config(protocol: Protocol, server: &ReplayServer, symbols: Vec<String>) -> FeedConfig {
    local(FeedConfig::for_protocol(protocol, symbols), server)
}

async fn run<H: FeedHandler>(
    cfg: &FeedConfig,
    books: &mut H,
    done: impl FnMut(&H, &FeedCounters) -> bool,
) -> FeedCounters {
    run_until(cfg, books, LIMIT, done).await
}

fn drained(server: &ReplayServer, c: &FeedCounters, books: &dyn FeedHandler<Book = L2Book>, n: usize) -> bool {
    let st = server.stats();
    let streams = books.streams();
    st.cursor == st.total
        && st.frames_sent == c.frames
        && streams.len() == n
        && streams.iter().all(|s| s.state == SyncState::Live)
}

fn offline(path: &str, venue: Venue) -> Vec<StreamReport> {
    let mut r = verify_path(path.as_ref()).unwrap();
    r.streams.retain(|s| s.venue == venue);
    r.streams
}

/// Same streams, same final top of book, no crossed book.
fn same_tops(got: &[StreamReport], want: &[StreamReport]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.symbol, w.symbol);
        assert_eq!((&g.best_bid, &g.best_ask), (&w.best_bid, &w.best_ask), "{}", g.symbol);
        assert!(g.best_bid.is_some(), "{g:?}");
        assert_eq!(g.crossed, 0, "{g:?}");
    }
}

#[tokio::test]
async fn kraken_v2_connector_verifies_every_checksum_of_the_session() {
    let server = ReplayServer::start(&read(KRAKEN_BOOK), fast(vec![])).await.unwrap();
    let pairs = subscribed(KRAKEN_BOOK, "pair");
    let cfg = config(Protocol::KrakenV2, &server, pairs.clone());
    let mut books = KrakenBooks::new();
    let c = run(&cfg, &mut books, |b, c| drained(&server, c, b, 10)).await;
    let st = server.stats();
    assert!(st.subscribes[0].starts_with(r#"{"method":"subscribe","params":{"channel":"book","depth":1000"#));
    let report = handler_report(&books);
    let ok: u64 = report.streams.iter().map(|s| s.checksum_ok).sum();
    let bad: u64 = report.streams.iter().map(|s| s.checksum_bad).sum();
    // v2 sends a checksum with each of the 10 snapshots too.
    assert_eq!((ok, bad, report.errors, c.errors, c.resyncs), (14_496 + 10, 0, 0, 0, 0));
    same_tops(&report.streams, &offline(KRAKEN_BOOK, Venue::Kraken));
}

#[tokio::test]
async fn kraken_v2_corrupt_update_resubscribes_in_v2_and_ends_right() {
    // Find an XBT/USD update well into the session.
    let frames = frames(&load(KRAKEN_BOOK));
    let k = (6000..frames.len()).find(|&i| frames[i].ends_with(r#""XBT/USD"]"#)).unwrap();
    let server = ReplayServer::start(&read(KRAKEN_BOOK), fast(vec![Fault::Corrupt(k)])).await.unwrap();
    let cfg = config(Protocol::KrakenV2, &server, subscribed(KRAKEN_BOOK, "pair"));
    let mut books = KrakenBooks::new();
    let c = run(&cfg, &mut books, |b, c| drained(&server, c, b, 10)).await;
    // Counted on the pair the cut frame still names, which resyncs (and only that pair).
    let xbt = books.stream("XBT/USD").unwrap();
    assert_eq!((xbt.stats.errors, xbt.stats.resyncs, xbt.stats.snapshots), (1, 1, 2), "{:?}", xbt.stats);
    assert_eq!((c.resyncs, c.resubscribes), (1, 1), "{c:?}");
    let st = server.stats();
    assert!(st.subscribes.iter().skip(1).all(|s| s.contains(r#""method":"subscribe""#)), "{:?}", st.subscribes);
    assert!(st.ws_snapshots >= 1);
    let report = handler_report(&books);
    assert_eq!(report.streams.iter().map(|s| s.checksum_bad).sum::<u64>(), 0);
    same_tops(&report.streams, &offline(KRAKEN_BOOK, Venue::Kraken));
}

#[tokio::test]
async fn coinbase_advanced_trade_connector_builds_the_same_books() {
    let server = ReplayServer::start(&read(COINBASE), fast(vec![])).await.unwrap();
    let cfg = config(Protocol::CoinbaseAdvanced, &server, subscribed(COINBASE, "product_ids"));
    let mut books = CoinbaseBooks::new();
    let c = run(&cfg, &mut books, |b, c| drained(&server, c, b, 10)).await;
    let st = server.stats();
    assert_eq!(st.subscribes.len(), 3, "one subscribe per channel: {:?}", st.subscribes);
    assert!(st.subscribes[0].contains(r#""channel":"level2""#));
    let report = handler_report(&books);
    assert_eq!((c.errors, c.resyncs, report.errors), (0, 0, 0));
    assert!(report.streams.iter().all(|s| s.gaps == 0), "{}", report.to_json());
    same_tops(&report.streams, &offline(COINBASE, Venue::Coinbase));
}

#[tokio::test]
async fn coinbase_advanced_trade_lost_message_is_a_sequence_gap_that_resyncs() {
    let server = ReplayServer::start(&read(COINBASE), fast(vec![Fault::Drop(4000)])).await.unwrap();
    let cfg = config(Protocol::CoinbaseAdvanced, &server, subscribed(COINBASE, "product_ids"));
    let mut books = CoinbaseBooks::new();
    let c = run(&cfg, &mut books, |b, c| drained(&server, c, b, 10)).await;
    let report = handler_report(&books);
    let gaps: u64 = report.streams.iter().map(|s| s.gaps).sum();
    assert!(gaps >= 1, "the hole in sequence_num must be seen: {}", report.to_json());
    // The per-connection sequence cannot say whose message was lost: every book resyncs.
    assert!(report.streams.iter().all(|s| s.resyncs >= 1 && s.snapshots >= 2), "{}", report.to_json());
    assert!(c.resubscribes >= 1 && server.stats().ws_snapshots >= 10, "{c:?}");
    same_tops(&report.streams, &offline(COINBASE, Venue::Coinbase));
}
