//! The synthetic market as an oracle: our own builders must rebuild the generator's book exactly
//! (every level, the exchange's text included), every Kraken checksum the generator computes must
//! verify, and each injected gap must cost exactly one resync: offline (builders driven frame by
//! frame) and over 127.0.0.1 (replay server with the gap faults, real connector).

use std::time::Duration;

use wintermute_feeds::book::L2Book;
use wintermute_feeds::net::client::{run_feed, stop_pair, Backoff, FeedConfig, Stop};
use wintermute_feeds::net::replay_server::{Pace, ReplayOptions, ReplayServer};
use wintermute_feeds::normalized::EventKind;
use wintermute_feeds::sync::{
    BinanceBooks, CoinbaseBooks, FeedEvent, FeedHandler, KrakenBooks, ResyncReason, SyncState,
};
use wintermute_feeds::synthetic::{generate, Generator, SyntheticConfig};
use wintermute_feeds::{verify_str, Venue};

/// A book side as exact (price, qty) text, best first.
type TextLevels = Vec<(String, String)>;

fn levels(book: &L2Book) -> (TextLevels, TextLevels) {
    let text = |l: &wintermute_feeds::book::Level| (l.price.as_str().to_string(), l.qty.as_str().to_string());
    (book.bids().map(text).collect(), book.asks().map(text).collect())
}

fn handler(venue: Venue) -> Box<dyn FeedHandler<Book = L2Book>> {
    match venue {
        Venue::Binance => Box::new(BinanceBooks::new()),
        Venue::Coinbase => Box::new(CoinbaseBooks::new()),
        Venue::Kraken => Box::new(KrakenBooks::new()),
    }
}

/// Gives the builder the venue's snapshot of the moment (REST for Binance, a frame otherwise).
fn resnapshot(h: &mut dyn FeedHandler<Book = L2Book>, g: &Generator) -> FeedEvent {
    if g.config().venue == Venue::Binance {
        h.on_http(0, &g.snapshot_url(), &g.snapshot()).unwrap()
    } else {
        h.on_frame(0, &g.snapshot()).unwrap()
    }
}

struct Outcome {
    gaps: usize,
    resyncs: u64,
    checksum_ok: u64,
    checksum_bad: u64,
    book: L2Book,
    truth: L2Book,
}

/// Drives a builder with the generator's frames, losing the gap frames the way the replay server
/// would (dropped; cut in half on Coinbase), and answering every resync with a fresh snapshot.
fn drive(cfg: &SyntheticConfig) -> Outcome {
    let mut g = Generator::new(cfg).unwrap();
    let mut h = handler(cfg.venue);
    if let Some(sub) = g.subscribe_frame() {
        h.on_sent(0, &sub);
    }
    for f in g.preamble() {
        h.on_frame(0, &f.text).unwrap();
    }
    let mut gaps = 0;
    let mut first = true;
    for _ in 0..cfg.steps {
        for f in g.step() {
            let event = if f.gap {
                gaps += 1;
                if cfg.venue != Venue::Coinbase {
                    continue;
                }
                let cut = &f.text[..f.text.len() / 2];
                h.on_frame(0, cut).unwrap_err();
                FeedEvent::Resync { symbol: h.streams()[0].symbol, reason: ResyncReason::Malformed }
            } else {
                h.on_frame(0, &f.text).unwrap()
            };
            // Binance: the first diff is buffered until the REST snapshot arrives.
            let stale = matches!(event, FeedEvent::Buffered(_)) && first;
            if matches!(event, FeedEvent::Resync { .. }) || stale {
                first = false;
                let ev = resnapshot(h.as_mut(), &g);
                assert!(matches!(ev, FeedEvent::Snapshot(_)), "{ev:?}");
            }
        }
    }
    let stream = h.streams()[0].clone();
    assert_eq!(stream.state, SyncState::Live);
    Outcome {
        gaps,
        resyncs: stream.stats.resyncs,
        checksum_ok: stream.stats.checksum_ok,
        checksum_bad: stream.stats.checksum_bad,
        book: stream.book.clone(),
        truth: g.truth(),
    }
}

#[test]
fn builders_rebuild_the_generators_book_exactly() {
    for venue in Venue::ALL {
        for seed in [1, 2, 3, 42] {
            let walk = SyntheticConfig { steps: 1_500, burst_rate: 0.02, ..SyntheticConfig::new(venue, seed) };
            // The same with the venue following a latent price (synthetic::latent).
            for cfg in [walk.clone(), walk.with_latent(seed + 100)] {
                let latent = cfg.latent.is_some();
                let out = drive(&cfg);
                assert_eq!(out.resyncs, 0, "{venue:?} seed={seed} latent={latent}");
                assert_eq!(levels(&out.book), levels(&out.truth), "{venue:?} seed={seed} latent={latent}");
                assert!(out.book.bids().len() >= 10 && out.book.asks().len() >= 10);
                if venue == Venue::Kraken {
                    assert_eq!(out.checksum_bad, 0, "seed={seed} latent={latent}");
                    assert!(out.checksum_ok > 1_000, "seed={seed} latent={latent}: {}", out.checksum_ok);
                }
            }
        }
    }
}

#[test]
fn the_clean_recording_verifies_and_is_reproducible() {
    for venue in Venue::ALL {
        let cfg = SyntheticConfig { steps: 800, gap_rate: 0.02, ..SyntheticConfig::new(venue, 9) };
        let a = generate(&cfg).unwrap();
        let b = generate(&cfg).unwrap();
        assert_eq!(a.recording, b.recording, "same seed, same bytes");
        assert_ne!(a.recording, generate(&SyntheticConfig { seed: 10, ..cfg.clone() }).unwrap().recording);
        assert!(!a.gaps.is_empty() && a.gaps.len() == a.faults.len());
        assert!(a.trades > 0);
        // The recording holds the truth (gap frames included): nothing is lost offline.
        let report = verify_str(&a.recording);
        let s = report.stream(venue, &a.symbol).unwrap();
        assert_eq!((s.gaps, s.resyncs, s.checksum_bad, s.errors), (0, 0, 0, 0), "{venue:?}");
        assert!(s.best_bid.is_some() && s.best_ask.is_some(), "{venue:?}: the book is live");
    }
}

#[test]
fn each_injected_gap_costs_exactly_one_resync() {
    for venue in Venue::ALL {
        for seed in [5, 6, 7] {
            let walk = SyntheticConfig { steps: 2_000, gap_rate: 0.03, ..SyntheticConfig::new(venue, seed) };
            for cfg in [walk.clone(), walk.with_latent(seed + 100)] {
                let latent = cfg.latent.is_some();
                let out = drive(&cfg);
                assert!(out.gaps >= 20, "{venue:?} seed={seed} latent={latent}: only {} gaps", out.gaps);
                assert_eq!(out.resyncs, out.gaps as u64, "{venue:?} seed={seed} latent={latent}");
                if venue == Venue::Kraken {
                    assert_eq!(out.checksum_bad, out.gaps as u64, "seed={seed} latent={latent}");
                }
                // After the last resync the book is exactly the venue's again.
                assert_eq!(levels(&out.book), levels(&out.truth), "{venue:?} seed={seed} latent={latent}");
            }
        }
    }
}

#[test]
fn bad_configurations_are_refused() {
    let base = SyntheticConfig::new(Venue::Kraken, 1);
    for bad in [
        SyntheticConfig { kraken_depth: 7, ..base.clone() },
        SyntheticConfig { gap_rate: 1.5, ..base.clone() },
        SyntheticConfig { depth: 1, ..base.clone() },
        SyntheticConfig { symbol: "a\"b".into(), ..base.clone() },
    ] {
        let e = generate(&bad).unwrap_err();
        assert!(e.to_string().starts_with("bad config: field="), "{e}");
    }
}

/// Over 127.0.0.1: the replay server loses the gap frames; the connector detects each loss,
/// resyncs (REST snapshot or resubscription) and ends with the generator's book. The tap stamps
/// events with receive times and fills the latency histograms.
#[test]
fn served_synthetic_market_with_gaps_resyncs_once_per_gap() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for venue in Venue::ALL {
        // No bursts and gaps 100 steps (200 ms at this pace) apart: each resync finishes
        // before the next loss, so every loss is seen by a live book.
        let cfg = SyntheticConfig {
            steps: 3_000,
            gap_rate: 0.01,
            gap_spacing: 100,
            burst_rate: 0.0,
            ..SyntheticConfig::new(venue, 11)
        };
        let market = generate(&cfg).unwrap();
        assert!(market.gaps.len() >= 4, "{venue:?}: {} gaps", market.gaps.len());
        rt.block_on(async {
            // Recorded pace x50: frames 2 ms apart, time for each resync to finish before the next gap.
            let options = ReplayOptions {
                pace: Pace::Recorded { speed: 50.0 },
                faults: market.faults.clone(),
                venue: Some(venue),
                ..Default::default()
            };
            let server = ReplayServer::start(&market.recording, options).await.unwrap();
            let mut c = FeedConfig::new(venue, vec![market.symbol.clone()]);
            c.ws_base = server.ws_url();
            c.rest_base = server.rest_url();
            c.kraken_depth = cfg.kraken_depth;
            c.coinbase_channels = vec!["level2".into(), "matches".into()];
            c.backoff = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(50), jitter: 0.0 };
            c.resubscribe_interval = Duration::from_millis(20);
            c.max_attempts = Some(3);
            let total = market.frames as u64 - market.gaps.len() as u64;
            let (_stop_handle, mut stop) = stop_pair();
            let (counters, stream, ring_kinds, latency) = match venue {
                Venue::Binance => feed_until_drained(BinanceBooks::new(), &c, &server, &mut stop).await,
                Venue::Coinbase => feed_until_drained(CoinbaseBooks::new(), &c, &server, &mut stop).await,
                Venue::Kraken => feed_until_drained(KrakenBooks::new(), &c, &server, &mut stop).await,
            };
            let mut server = server;
            server.shutdown();
            let gaps = market.gaps.len() as u64;
            assert_eq!(stream.stats.resyncs, gaps, "{venue:?}: {counters:?}");
            assert_eq!(counters.connections, 1, "{venue:?}");
            assert_eq!(levels(&stream.book), levels(&market.truth), "{venue:?}");
            assert!(ring_kinds.contains(&EventKind::Delta) && ring_kinds.contains(&EventKind::Bbo), "{venue:?}");
            let (count, negative) = latency;
            assert!(count >= total - 10, "{venue:?}: {count} latency samples for {total} frames");
            assert_eq!(negative, 0, "{venue:?}: receive time before exchange time");
        });
    }
}

/// Runs the feed into `books` (its tap on) until every recorded frame is served, every frame
/// sent received, and the book live (60 s at most); what it saw.
async fn feed_until_drained<H: FeedHandler<Book = L2Book>>(
    mut books: H,
    config: &FeedConfig,
    server: &ReplayServer,
    stop: &mut Stop,
) -> Summary {
    books.tap_mut().unwrap().enable(config.venue, 64);
    let drained = |h: &H, frames: u64| {
        let st = server.stats();
        st.cursor == st.total && frames >= st.frames_sent && h.pending_snapshots().is_empty()
    };
    let counters =
        tokio::time::timeout(Duration::from_secs(60), run_feed(config, &mut books, stop, |h, c| drained(h, c.frames)))
            .await
            .expect("timed out")
            .unwrap();
    summarize(counters, &books)
}

type Summary =
    (wintermute_feeds::net::client::FeedCounters, wintermute_feeds::sync::BookStream, Vec<EventKind>, (u64, u64));

fn summarize(c: wintermute_feeds::net::client::FeedCounters, h: &dyn FeedHandler<Book = L2Book>) -> Summary {
    let stream = h.streams()[0].clone();
    let tap = h.tap().unwrap();
    let ring = tap.ring(&stream.symbol).unwrap();
    let kinds = ring.iter().map(|e| e.kind).collect();
    let lat = tap.latency().unwrap();
    (c, stream, kinds, (lat.receive_to_normalized_summary().count, lat.negative))
}
