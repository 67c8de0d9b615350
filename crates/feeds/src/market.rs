//! A live market: several venues' connectors in one background thread, their books, L1 rings,
//! latency histograms and counters published for readers on other threads (Python), and a
//! consolidated book per instrument on demand.
//!
//! ```text
//!  background thread (one tokio current-thread runtime)          readers (any thread)
//!  ┌───────────────────────────────────────────────┐
//!  │ [synthetic replay servers on 127.0.0.1]        │
//!  │ run_feed(binance) ─┐                           │   Market::read(|view| …)
//!  │ run_feed(kraken)  ─┼─ publish every N ms ─────▶│── MarketView (Mutex) ──▶ Market::consolidated
//!  │ run_feed(coinbase)─┘  (and when frames pause)  │
//!  └───────────────────────────────────────────────┘
//! ```
//!
//! Each builder owns its books and emits normalized events into its [`Tap`](crate::normalized::Tap)
//! without locks; after each frame the connector's callback copies what changed (the streams
//! whose counters moved: their top `depth` levels, the new ring events; the venue's counters and
//! histograms) into the shared [`MarketView`] under a mutex that readers hold only to copy out,
//! and once more when the feed stops. So a reader sees the state after the last frame received.
//! `publish_every` (default 0: every frame) throttles this for very busy feeds, at the price of
//! a stale tail: with a throttle, the frames of a burst that ends inside the interval are
//! published with the next frame (live venues send heartbeats, so within about a second).
//!
//! **Sources.** Each venue connects to explicit endpoints ([`Source::Endpoints`]: a `wintermute
//! feeds serve`, a proxy, the real venue) or to a seeded synthetic market served on 127.0.0.1 by
//! this same thread ([`Source::Synthetic`]), the default of the Python API.
//!
//! **Integer books.** A Binance venue whose [`FeedConfig::binance_scales`] name every subscribed
//! symbol's tick and lot size runs on [`BinanceTickFeed`]; its published levels are exact
//! decimals (ticks × tick size), so readers and the consolidated book see no difference but the
//! canonical text (`58001.03`, not `58001.03000000`).
//!
//! **Instruments.** Venues name the same thing differently (`XBT/USD`, `BTC-USD`) and some names
//! that look alike are different things: `BTCUSDT` is quoted in Tether, not dollars. The
//! consolidated book never guesses: the caller maps each venue symbol to an instrument name
//! ([`Instrument`]); asking for an unmapped instrument is an error that lists the known ones.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::book::{L2Book, Level, Side};
use crate::consolidated::ConsolidatedBook;
use crate::error::FeedError;
use crate::l1::EventRing;
use crate::message::{Symbol, Venue};
use crate::net::client::{run_feed, stop_pair, FeedConfig, FeedCounters, Stop, StopHandle};
use crate::net::replay_server::{Pace, ReplayOptions, ReplayServer};
use crate::normalized::{LatencyStats, NormalizedEvent};
use crate::sync::{
    BinanceBooks, BinanceTickFeed, BookView, CoinbaseBooks, FeedHandler, KrakenBooks, StreamStats, SyncState,
};
use crate::synthetic::{generate, SyntheticConfig};

/// Where a venue's frames come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The endpoints in the feed's [`FeedConfig`] (`ws_base`, `rest_base`).
    Endpoints,
    /// A synthetic market generated with this configuration and served on 127.0.0.1 at `pace`.
    /// At real-time pace (`Recorded { speed: 1.0 }`) its exchange times are anchored to when the
    /// replay starts (the configured `start_ns` is then ignored).
    Synthetic {
        /// The market (its venue must be the feed's; its symbol replaces the feed's symbols).
        config: Box<SyntheticConfig>,
        /// Pace of the replay server.
        pace: Pace,
    },
}

/// One venue of the market.
#[derive(Debug, Clone)]
pub struct VenueFeed {
    /// Connector settings (venue, symbols, endpoints, timeouts).
    pub feed: FeedConfig,
    /// Where the frames come from.
    pub source: Source,
}

/// An instrument of the consolidated book: a name and the venue symbols that trade it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// The caller's name for it (`BTC-USD`).
    pub name: String,
    /// Venue and the venue's symbol for it.
    pub legs: Vec<(Venue, String)>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// One entry per venue (each venue at most once).
    pub venues: Vec<VenueFeed>,
    /// Instruments for [`Market::consolidated`].
    pub instruments: Vec<Instrument>,
    /// Events kept per (venue, symbol) in the L1 ring.
    pub ring_capacity: usize,
    /// Levels per side published per book.
    pub depth: usize,
    /// Least time between two publications (0: after every frame; see the module docs).
    pub publish_every: Duration,
}

impl MarketConfig {
    /// A market of `venues` with a 1024-event ring, 50 published levels, published every frame.
    pub fn new(venues: Vec<VenueFeed>) -> Self {
        MarketConfig {
            venues,
            instruments: Vec::new(),
            ring_capacity: crate::normalized::DEFAULT_RING_CAPACITY,
            depth: 50,
            publish_every: Duration::ZERO,
        }
    }
}

/// The published state of one (venue, symbol) stream.
#[derive(Debug, Clone)]
pub struct StreamView {
    /// Venue.
    pub venue: Venue,
    /// Symbol as the venue writes it.
    pub symbol: Symbol,
    /// Sync state.
    pub state: SyncState,
    /// Counters.
    pub stats: StreamStats,
    /// Best `depth` bids, best first.
    pub bids: Vec<Level>,
    /// Best `depth` asks, best first.
    pub asks: Vec<Level>,
    /// The L1 ring: the last normalized events.
    pub ring: EventRing<NormalizedEvent>,
    seen: u64,
}

/// The published state of one venue.
#[derive(Debug, Clone)]
pub struct VenueView {
    /// Venue.
    pub venue: Venue,
    /// Symbols subscribed.
    pub symbols: Vec<String>,
    /// WebSocket base URL connected to.
    pub ws_base: String,
    /// Connector counters.
    pub counters: FeedCounters,
    /// Latency histograms.
    pub latency: LatencyStats,
    /// Whether the connector still runs.
    pub running: bool,
    /// Why it stopped, if it failed.
    pub error: Option<String>,
}

/// Everything readers see (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct MarketView {
    /// Streams by (venue, symbol).
    pub streams: HashMap<(Venue, Symbol), StreamView>,
    /// Venues, in configuration order.
    pub venues: Vec<VenueView>,
}

impl MarketView {
    /// The stream of `venue`/`symbol`, if it has been seen.
    pub fn stream(&self, venue: Venue, symbol: &str) -> Option<&StreamView> {
        self.streams.get(&(venue, Symbol::new(symbol).ok()?))
    }

    /// The view of `venue`, if configured.
    pub fn venue(&self, venue: Venue) -> Option<&VenueView> {
        self.venues.iter().find(|v| v.venue == venue)
    }
}

/// A running market (see the module docs). Dropping it stops it.
pub struct Market {
    view: Arc<Mutex<MarketView>>,
    instruments: Vec<Instrument>,
    stop: StopHandle,
    thread: Mutex<Option<JoinHandle<()>>>,
}

fn config_err(field: &'static str, reason: String) -> FeedError {
    FeedError::Config { field, reason }
}

fn validate(config: &mut MarketConfig) -> Result<(), FeedError> {
    if config.ring_capacity == 0 || config.depth == 0 {
        return Err(config_err("ring_capacity", "ring_capacity and depth must be at least 1".into()));
    }
    let mut seen = Vec::new();
    for v in &mut config.venues {
        let venue = v.feed.venue;
        if seen.contains(&venue) {
            return Err(config_err("venues", format!("venue={} configured twice", venue.name())));
        }
        seen.push(venue);
        if let Source::Synthetic { config: s, .. } = &v.source {
            if s.venue != venue {
                return Err(config_err(
                    "venues",
                    format!("venue={} has a synthetic market of another venue", venue.name()),
                ));
            }
            v.feed.symbols = vec![s.symbol.clone()];
        }
        if v.feed.symbols.is_empty() {
            return Err(config_err("symbols", format!("venue={} subscribes to no symbol", venue.name())));
        }
        v.feed.binance_tick_feed()?;
    }
    if seen.is_empty() {
        return Err(config_err("venues", "no venue configured".into()));
    }
    for i in &config.instruments {
        if i.legs.is_empty() {
            return Err(config_err("instruments", format!("instrument={} maps no venue symbol", i.name)));
        }
        for (venue, symbol) in &i.legs {
            let subscribed = config.venues.iter().any(|v| v.feed.venue == *venue && v.feed.symbols.contains(symbol));
            if !subscribed {
                return Err(config_err(
                    "instruments",
                    format!("instrument={} venue={} symbol={symbol}: not subscribed", i.name, venue.name()),
                ));
            }
        }
    }
    Ok(())
}

impl Market {
    /// Validates `config`, starts the background thread (and the synthetic servers), and returns
    /// once every synthetic server listens. Connecting happens in the background: see
    /// [`Market::wait_live`].
    pub fn start(mut config: MarketConfig) -> Result<Market, FeedError> {
        validate(&mut config)?;
        let view = Arc::new(Mutex::new(MarketView::default()));
        let (stop_handle, stop) = stop_pair();
        let (ready_tx, ready_rx) = mpsc::channel();
        let shared = Arc::clone(&view);
        let instruments = config.instruments.clone();
        let thread = std::thread::Builder::new()
            .name("wintermute-market".into())
            .spawn(move || run_thread(config, shared, stop, ready_tx))
            .map_err(|e| config_err("thread", e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Market { view, instruments, stop: stop_handle, thread: Mutex::new(Some(thread)) }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(config_err("thread", "the market thread ended before it was ready".into()))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, MarketView> {
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the published view (briefly holding the lock the publisher takes).
    pub fn read<R>(&self, f: impl FnOnce(&MarketView) -> R) -> R {
        f(&self.lock())
    }

    /// Waits until every subscribed stream is live; fails if a venue's connector failed or
    /// `timeout` passes first.
    pub fn wait_live(&self, timeout: Duration) -> Result<(), FeedError> {
        let deadline = Instant::now() + timeout;
        loop {
            let (live, failed, states) = self.read(|v| {
                let failed = v.venues.iter().find_map(|x| x.error.clone().map(|e| (x.venue, e)));
                let mut states = Vec::new();
                let mut live = !v.venues.is_empty();
                for venue in &v.venues {
                    for s in &venue.symbols {
                        let state = v.stream(venue.venue, s).map(|st| st.state);
                        live &= state == Some(SyncState::Live);
                        states.push(format!("{}:{s}={state:?}", venue.venue.name()));
                    }
                }
                (live, failed, states)
            });
            if let Some((venue, e)) = failed {
                return Err(FeedError::Network { url: venue.name().into(), attempts: 0, message: e });
            }
            if live {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let message = format!("not live after {timeout:?}: {}", states.join(" "));
                return Err(FeedError::Network { url: "market".into(), attempts: 0, message });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Instruments configured.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// The consolidated book of `instrument` from the published books (top `depth` levels of
    /// each live venue book; books that are not live are left out).
    pub fn consolidated(&self, instrument: &str, depth: usize) -> Result<ConsolidatedBook, FeedError> {
        let Some(inst) = self.instruments.iter().find(|i| i.name == instrument) else {
            let known: Vec<&str> = self.instruments.iter().map(|i| i.name.as_str()).collect();
            return Err(config_err("instrument", format!("instrument={instrument:?} is not mapped; known={known:?}")));
        };
        let books: Vec<(Venue, L2Book)> = self.read(|v| {
            inst.legs
                .iter()
                .filter_map(|(venue, symbol)| {
                    let s = v.stream(*venue, symbol).filter(|s| s.state == SyncState::Live)?;
                    let mut book = L2Book::with_capacity(s.bids.len().max(s.asks.len()));
                    book.load(&s.bids, &s.asks);
                    Some((*venue, book))
                })
                .collect()
        });
        let refs: Vec<(Venue, &L2Book)> = books.iter().map(|(v, b)| (*v, b)).collect();
        let mut c = ConsolidatedBook::new();
        c.rebuild(&refs, depth);
        Ok(c)
    }

    /// Stops every connector and server and waits for the thread; the view keeps the final
    /// state. Safe to call from any thread, more than once.
    pub fn stop(&self) {
        self.stop.stop();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Whether the background thread still runs.
    pub fn is_running(&self) -> bool {
        self.thread.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Market {
    fn drop(&mut self) {
        self.stop();
    }
}

type VenueRun = Pin<Box<dyn Future<Output = ()>>>;

fn run_thread(
    config: MarketConfig,
    view: Arc<Mutex<MarketView>>,
    stop: Stop,
    ready: mpsc::Sender<Result<(), FeedError>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(config_err("runtime", e.to_string())));
            return;
        }
    };
    rt.block_on(async move {
        let (servers, feeds) = match serve_markets(&config.venues).await {
            Ok(x) => x,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        {
            let mut v = view.lock().unwrap_or_else(|e| e.into_inner());
            v.venues = feeds
                .iter()
                .map(|f| VenueView {
                    venue: f.venue,
                    symbols: f.symbols.clone(),
                    ws_base: f.ws_base.clone(),
                    counters: FeedCounters::default(),
                    latency: LatencyStats::default(),
                    running: true,
                    error: None,
                })
                .collect();
        }
        let _ = ready.send(Ok(()));
        let publish = Publish { depth: config.depth, ring_capacity: config.ring_capacity, every: config.publish_every };
        // Checked by `validate`: cannot fail here.
        let mut ticks: HashMap<usize, BinanceTickFeed> = feeds
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.binance_tick_feed().ok().flatten().map(|b| (i, b)))
            .collect();
        let runs: Vec<VenueRun> = feeds
            .into_iter()
            .enumerate()
            .map(|(i, feed)| {
                let (stop, view) = (stop.clone(), Arc::clone(&view));
                match (feed.venue, ticks.remove(&i)) {
                    (Venue::Binance, Some(books)) => Box::pin(run_venue(books, feed, stop, view, publish)) as VenueRun,
                    (Venue::Binance, None) => Box::pin(run_venue(BinanceBooks::new(), feed, stop, view, publish)),
                    (Venue::Coinbase, _) => Box::pin(run_venue(CoinbaseBooks::new(), feed, stop, view, publish)),
                    (Venue::Kraken, _) => Box::pin(run_venue(KrakenBooks::new(), feed, stop, view, publish)),
                }
            })
            .collect();
        futures_util::future::join_all(runs).await;
        for mut s in servers {
            s.shutdown();
        }
    });
}

fn real_time(pace: Pace) -> bool {
    matches!(pace, Pace::Recorded { speed } if speed == 1.0)
}

/// Generates and serves the synthetic markets; returns the servers and every venue's feed
/// configuration (pointing at its server for a synthetic venue).
///
/// At real-time pace the exchange times are anchored to when the replay will actually start: a
/// first pass measures how long generating and starting the servers take; a second pass (the
/// same markets: only the times differ) starts each market's clock at a time that leaves room for
/// it (the first pass's duration plus a quarter), and the connectors start at that time. Exchange
/// → receive then shows the simulated network delay (1–4 ms) plus the connection set-up and the
/// replay's own scheduling, instead of the start-up time. Start-up takes about twice as long.
async fn serve_markets(venues: &[VenueFeed]) -> Result<(Vec<ReplayServer>, Vec<FeedConfig>), FeedError> {
    let begun = Instant::now();
    let (mut servers, feeds, leads) = serve_pass(venues, None).await?;
    if !venues.iter().any(|v| matches!(v.source, Source::Synthetic { pace, .. } if real_time(pace))) {
        return Ok((servers, feeds));
    }
    for s in &mut servers {
        s.shutdown();
    }
    // The second pass takes about as long as the first, give or take a quarter; the clocks start
    // after that margin, and the connectors once they have (below), so no frame is due early.
    let took = begun.elapsed();
    let margin = (took / 4).max(Duration::from_millis(50));
    let at = crate::normalized::now_ns() + i64::try_from((took + margin).as_nanos()).unwrap_or(0);
    let (servers, feeds, _) = serve_pass(venues, Some((at, &leads))).await?;
    let early = at - crate::normalized::now_ns();
    if early > 0 {
        tokio::time::sleep(Duration::from_nanos(early as u64)).await;
    }
    Ok((servers, feeds))
}

type Served = (Vec<ReplayServer>, Vec<FeedConfig>, Vec<i64>);

/// One pass of [`serve_markets`]; `anchor`: the time the first frames are due, and per venue how
/// long after its market's start its first frame comes (as the first pass found).
async fn serve_pass(venues: &[VenueFeed], anchor: Option<(i64, &[i64])>) -> Result<Served, FeedError> {
    let (mut servers, mut feeds, mut leads) = (Vec::new(), Vec::new(), Vec::new());
    for (i, v) in venues.iter().enumerate() {
        let mut feed = v.feed.clone();
        let mut lead = 0;
        if let Source::Synthetic { config, pace } = &v.source {
            let mut c = config.clone();
            if let (Some((at, leads)), true) = (anchor, real_time(*pace)) {
                c.start_ns = at - leads.get(i).copied().unwrap_or(0);
            }
            let market = generate(&c)?;
            lead = market.first_receive_ns - c.start_ns;
            let options =
                ReplayOptions { pace: *pace, faults: market.faults, venue: Some(c.venue), ..Default::default() };
            let server = ReplayServer::start(&market.recording, options).await?;
            feed.ws_base = server.ws_url();
            feed.rest_base = server.rest_url();
            feed.kraken_depth = c.kraken_depth;
            servers.push(server);
        }
        feeds.push(feed);
        leads.push(lead);
    }
    Ok((servers, feeds, leads))
}

#[derive(Debug, Clone, Copy)]
struct Publish {
    depth: usize,
    ring_capacity: usize,
    every: Duration,
}

async fn run_venue<H: FeedHandler>(
    mut books: H,
    feed: FeedConfig,
    mut stop: Stop,
    view: Arc<Mutex<MarketView>>,
    publish: Publish,
) {
    let venue = feed.venue;
    if let Some(tap) = books.tap_mut() {
        tap.enable(venue, publish.ring_capacity);
    }
    let mut last_publish: Option<Instant> = None;
    let result = run_feed(&feed, &mut books, &mut stop, |h, counters| {
        let due = publish.every.is_zero() || last_publish.is_none_or(|t| t.elapsed() >= publish.every);
        if due {
            if !publish.every.is_zero() {
                last_publish = Some(Instant::now());
            }
            let mut v = view.lock().unwrap_or_else(|e| e.into_inner());
            publish_into(&mut v, h, Some(counters), publish);
        }
        false
    })
    .await;
    let mut v = view.lock().unwrap_or_else(|e| e.into_inner());
    let (counters, error) = match result {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    };
    publish_into(&mut v, &books, counters.as_ref(), publish);
    if let Some(vv) = v.venues.iter_mut().find(|x| x.venue == venue) {
        vv.running = false;
        vv.error = error;
    }
}

/// Copies what changed in `h` into the view (allocates only for a stream seen the first time).
fn publish_into<H: FeedHandler + ?Sized>(v: &mut MarketView, h: &H, counters: Option<&FeedCounters>, p: Publish) {
    let venue = h.venue();
    let tap = h.tap();
    for s in h.streams() {
        let view = v.streams.entry((venue, s.symbol)).or_insert_with(|| StreamView {
            venue,
            symbol: s.symbol,
            state: s.state,
            stats: s.stats,
            bids: Vec::with_capacity(p.depth),
            asks: Vec::with_capacity(p.depth),
            ring: EventRing::new(p.ring_capacity),
            seen: 0,
        });
        if view.stats == s.stats && view.state == s.state && view.seen > 0 {
            continue; // nothing happened to this stream since the last publication
        }
        view.state = s.state;
        view.stats = s.stats;
        view.bids.clear();
        view.asks.clear();
        if s.state == SyncState::Live {
            view.bids.extend(s.book.side_levels(Side::Buy).take(p.depth));
            view.asks.extend(s.book.side_levels(Side::Sell).take(p.depth));
        }
        if let Some(ring) = tap.and_then(|t| t.ring(&s.symbol)) {
            for ev in ring.since(view.seen) {
                view.ring.push(ev);
            }
            view.seen = ring.pushed();
        }
    }
    if let Some(vv) = v.venues.iter_mut().find(|x| x.venue == venue) {
        if let Some(c) = counters {
            vv.counters = c.clone();
        }
        if let Some(lat) = tap.and_then(|t| t.latency()) {
            vv.latency.copy_from(lat);
        }
    }
}
