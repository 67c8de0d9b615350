//! The live market over 127.0.0.1: three synthetic venues served by replay servers in the
//! market's own thread, their connectors, the published views (books, L1 rings, latency), the
//! consolidated book of a mapped instrument, and configuration errors. Every wait is bounded.

use std::time::{Duration, Instant};

use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::book::Level;
use wintermute_feeds::consolidated::Cross;
use wintermute_feeds::market::{Instrument, Market, MarketConfig, Source, VenueFeed};
use wintermute_feeds::net::client::FeedConfig;
use wintermute_feeds::net::replay_server::Pace;
use wintermute_feeds::normalized::EventKind;
use wintermute_feeds::sync::SyncState;
use wintermute_feeds::synthetic::{generate, SyntheticConfig};
use wintermute_feeds::Venue;

fn synthetic(venue: Venue, seed: u64, steps: usize, pace: Pace) -> VenueFeed {
    let config = SyntheticConfig { steps, ..SyntheticConfig::new(venue, seed) };
    let mut feed = FeedConfig::new(venue, vec![]);
    feed.max_attempts = Some(3);
    feed.resubscribe_interval = Duration::from_millis(50);
    VenueFeed { feed, source: Source::Synthetic { config: Box::new(config), pace } }
}

fn btc_usd() -> Instrument {
    Instrument {
        name: "BTC-USD".into(),
        legs: vec![(Venue::Coinbase, "BTC-USD".into()), (Venue::Kraken, "XBT/USD".into())],
    }
}

#[test]
fn three_synthetic_venues_publish_books_events_latency_and_a_consolidated_book() {
    let steps = 400;
    let venues = Venue::ALL.iter().enumerate().map(|(i, v)| synthetic(*v, 100 + i as u64, steps, Pace::Fast)).collect();
    let mut config = MarketConfig::new(venues);
    config.instruments = vec![btc_usd()];
    config.ring_capacity = 64;
    config.depth = 20;
    let market = Market::start(config).unwrap();
    market.wait_live(Duration::from_secs(20)).unwrap();
    // Wait for every venue to receive every frame of its finite market, then stop.
    let want: Vec<(Venue, u64)> = Venue::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let m = generate(&SyntheticConfig { steps, ..SyntheticConfig::new(*v, 100 + i as u64) }).unwrap();
            (*v, m.frames as u64)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !market.read(|v| want.iter().all(|(venue, n)| v.venue(*venue).is_some_and(|x| x.counters.frames >= *n))) {
        assert!(Instant::now() < deadline, "frames did not all arrive");
        std::thread::sleep(Duration::from_millis(10));
    }
    let c = market.consolidated("BTC-USD", 10).unwrap();
    let bbo = c.bbo().expect("both sides");
    assert!(c.microprice().is_some());
    assert!(bbo.bid.venues().count() >= 1 && c.bids().len() <= 10);
    // The cross flag agrees with the venues' own tops.
    let (kb, ka, cb, ca) = market.read(|v| {
        let k = v.stream(Venue::Kraken, "XBT/USD").unwrap();
        let cb = v.stream(Venue::Coinbase, "BTC-USD").unwrap();
        (k.bids[0].price, k.asks[0].price, cb.bids[0].price, cb.asks[0].price)
    });
    let crossed = kb > ca || cb > ka;
    let locked = kb == ca || cb == ka;
    match c.cross() {
        Cross::Crossed { .. } => assert!(crossed),
        Cross::Locked { .. } => assert!(locked && !crossed),
        Cross::None => assert!(!crossed && !locked),
    }
    market.stop();
    assert!(!market.is_running());
    for (venue, symbol) in [(Venue::Binance, "BTCUSDT"), (Venue::Coinbase, "BTC-USD"), (Venue::Kraken, "XBT/USD")] {
        let i = Venue::ALL.iter().position(|v| *v == venue).unwrap() as u64;
        let truth = generate(&SyntheticConfig { steps, ..SyntheticConfig::new(venue, 100 + i) }).unwrap().truth;
        market.read(|v| {
            let s = v.stream(venue, symbol).unwrap();
            assert_eq!(s.state, SyncState::Live);
            let bids: Vec<_> =
                s.bids.iter().map(|l| (l.price.as_str().to_string(), l.qty.as_str().to_string())).collect();
            let want: Vec<_> =
                truth.bids().take(20).map(|l| (l.price.as_str().to_string(), l.qty.as_str().to_string())).collect();
            assert_eq!(bids, want, "{venue:?}");
            assert_eq!(s.ring.len(), 64, "{venue:?}: the ring is full");
            let events: Vec<_> = s.ring.iter().collect();
            assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1), "{venue:?}: contiguous");
            assert!(events.iter().any(|e| e.kind == EventKind::Delta));
            let vv = v.venue(venue).unwrap();
            assert!(!vv.running && vv.error.is_none());
            assert!(vv.latency.receive_to_normalized_summary().count >= vv.counters.frames - 5);
            assert!(vv.latency.exchange_to_receive_summary().count > 0);
        });
    }
}

#[test]
fn mapping_and_configuration_errors_are_clear() {
    let one = || vec![synthetic(Venue::Kraken, 1, 50, Pace::Fast)];
    let market = Market::start(MarketConfig::new(one())).unwrap();
    let e = market.consolidated("ETH-USD", 5).unwrap_err().to_string();
    assert!(e.contains("instrument=\"ETH-USD\" is not mapped"), "{e}");
    drop(market);
    // A leg that is not subscribed.
    let mut config = MarketConfig::new(one());
    config.instruments = vec![btc_usd()];
    let e = Market::start(config).err().unwrap().to_string();
    assert!(e.contains("instrument=BTC-USD venue=coinbase symbol=BTC-USD: not subscribed"), "{e}");
    // The same venue twice; no venue at all.
    let mut twice = one();
    twice.extend(one());
    assert!(Market::start(MarketConfig::new(twice)).err().unwrap().to_string().contains("configured twice"));
    assert!(Market::start(MarketConfig::new(vec![])).err().unwrap().to_string().contains("no venue"));
    // A venue nobody serves: the connector gives up and wait_live says why.
    let mut feed = FeedConfig::new(Venue::Binance, vec!["BTCUSDT".into()]);
    feed.ws_base = "ws://127.0.0.1:9".into();
    feed.rest_base = "http://127.0.0.1:9".into();
    feed.max_attempts = Some(1);
    let market = Market::start(MarketConfig::new(vec![VenueFeed { feed, source: Source::Endpoints }])).unwrap();
    let e = market.wait_live(Duration::from_secs(10)).unwrap_err().to_string();
    assert!(e.starts_with("network error: url=binance"), "{e}");
}

/// At real-time pace the synthetic exchange times are anchored to the replay's start: exchange →
/// receive is the simulated network delay plus set-up, not the generation time, and never
/// negative.
#[test]
fn real_time_synthetic_exchange_times_are_anchored() {
    let venues = vec![synthetic(Venue::Kraken, 5, 2_000, Pace::Recorded { speed: 1.0 })];
    let market = Market::start(MarketConfig::new(venues)).unwrap();
    market.wait_live(Duration::from_secs(20)).unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    let (ex, negative) = market.read(|v| {
        let lat = &v.venue(Venue::Kraken).unwrap().latency;
        (lat.exchange_to_receive_summary(), lat.negative)
    });
    assert!(ex.count >= 5, "{ex:?}");
    assert_eq!(negative, 0, "{ex:?}");
    // 1-4 ms simulated delay plus connection set-up; generating took far longer than this.
    assert!(ex.p50 >= 1_000_000 && ex.p50 < 100_000_000, "{ex:?}");
}

/// Binance on integer books in a market: the published levels are exact decimals (ticks × tick
/// size) equal in value to the generator's truth, the ring has the normalized events, and the
/// consolidated book of an instrument mapped to it works as with the decimal books.
#[test]
fn binance_on_integer_books_publishes_exact_levels_and_consolidates() {
    let steps = 300;
    let mut binance = synthetic(Venue::Binance, 41, steps, Pace::Fast);
    binance.feed.binance_scales = vec![("BTCUSDT".into(), TickScale::new("0.01", "0.00000001").unwrap())];
    let mut config = MarketConfig::new(vec![binance, synthetic(Venue::Kraken, 42, steps, Pace::Fast)]);
    config.instruments = vec![Instrument { name: "BTC-USDT".into(), legs: vec![(Venue::Binance, "BTCUSDT".into())] }];
    config.depth = 20;
    let market = Market::start(config).unwrap();
    market.wait_live(Duration::from_secs(20)).unwrap();
    let m = generate(&SyntheticConfig { steps, ..SyntheticConfig::new(Venue::Binance, 41) }).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !market.read(|v| v.venue(Venue::Binance).is_some_and(|x| x.counters.frames >= m.frames as u64)) {
        assert!(Instant::now() < deadline, "frames did not all arrive");
        std::thread::sleep(Duration::from_millis(10));
    }
    market.stop();
    let value = |l: &Level| (l.price.raw(), l.qty.raw());
    let (bids, asks, ring_kinds) = market.read(|v| {
        let s = v.stream(Venue::Binance, "BTCUSDT").unwrap();
        assert_eq!((s.state, s.stats.errors, s.stats.gaps), (SyncState::Live, 0, 0), "{:?}", s.stats);
        assert!(!s.bids[0].price.as_str().ends_with('0'), "canonical text: {}", s.bids[0].price);
        let kinds: Vec<EventKind> = s.ring.iter().map(|e| e.kind).collect();
        (s.bids.iter().map(value).collect::<Vec<_>>(), s.asks.iter().map(value).collect::<Vec<_>>(), kinds)
    });
    assert_eq!(bids, m.truth.bids().take(20).map(value).collect::<Vec<_>>());
    assert_eq!(asks, m.truth.asks().take(20).map(value).collect::<Vec<_>>());
    assert!(ring_kinds.contains(&EventKind::Delta) && ring_kinds.contains(&EventKind::Bbo));
    let c = market.consolidated("BTC-USDT", 5).unwrap();
    let bbo = c.bbo().unwrap();
    assert_eq!((bbo.bid.price.raw(), bbo.ask.price.raw()), (bids[0].0, asks[0].0));
    assert!(c.microprice().is_some());

    // A scale for a symbol that is not subscribed is refused at start.
    let mut bad = synthetic(Venue::Binance, 1, 50, Pace::Fast);
    bad.feed.binance_scales = vec![("ETHUSDT".into(), TickScale::new("0.01", "0.00000001").unwrap())];
    let e = Market::start(MarketConfig::new(vec![bad])).err().unwrap().to_string();
    assert!(e.contains("field=binance_scales") && e.contains("BTCUSDT"), "{e}");
}
