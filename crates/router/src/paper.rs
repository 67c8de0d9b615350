//! Paper hedge routes: the live market maker's hedges sent through the real venue clients to
//! each venue's local simulator, started in-process on 127.0.0.1.
//!
//! For each `[hedge] routes` venue of a live config ([`LiveSetup::hedge_routes`]),
//! [`PaperVenues::start`] starts that venue's simulator ([`crate::binance::sim`],
//! [`crate::coinbase::sim`], [`crate::kraken::sim`]) serving the pricing venue's symbol, with a
//! fresh random key registered (HMAC for Binance and Kraken, ES256 for Coinbase), the config's
//! taker fee for that venue as the simulator's commission, and a [`RoutedExecution`] over the
//! venue's client as a live route has it (Binance's WebSocket API client and Kraken's WebSocket
//! v2 client, each with its REST companion; Coinbase's REST client with its `user` channel, on
//! the simulators' WebSocket fronts): the route the live runner sends hedges through. Nothing leaves
//! 127.0.0.1; the keys live and die with the process.
//!
//! # The simulators' books follow the feeds
//! A thread copies each routed stream's published book (the feeds' [`FeedBooks`], the same books
//! the market maker prices off) into its simulator every [`MIRROR_EVERY`], so a hedge fills against
//! the book the feed showed, walked level by level, never at a price or size it did not show:
//! prices are rounded onto our grid away from us (bids down, asks up) and quantities down to whole
//! lots. A hedge takes liquidity out of the simulator's book until the next copy.
//!
//! # The quote venues
//! With `quote_on = "<venue>"` or a list of venues ([`LiveSetup::quote_venues`]) each of those
//! venues' simulators is started too, its book following the feed like a hedge route's,
//! charging the config's **maker** fee for that venue, and the route to it carries the quotes
//! (the built-in model's ladder for that venue, or a strategy's orders for it): post-only orders that rest among
//! the simulator's open orders until another participant trades through them
//! (`trade_at`), or are refused when the simulator's book (the feed's, copied) has moved
//! through them.
//!
//! # With the market maker
//! [`PaperMarketMaker`] starts both: the venues, then the live runner with their routes
//! ([`LiveRunner::start_hedged`]); stopping it stops the runner (its hedges in flight finish)
//! and then the venues.
//!
//! # The grid
//! A simulated symbol trades on **our** instrument's grid (its tick and lot), so hedge prices
//! and quantities pass through the route unchanged (the router's adapter requires the market
//! maker's grid to be the venue's).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use wintermute_core::decimal::Decimal;
use wintermute_feeds::sync::SyncState;
use wintermute_feeds::Venue;
use wintermute_mm::batched::BatchSink;
use wintermute_mm::engine_venue::EngineVenue;
use wintermute_mm::instrument_map::GridScale;
use wintermute_mm::live_config::{LiveSetup, StreamKey};
use wintermute_mm::live_hedge::HedgeRoute;
use wintermute_mm::live_runner::{BookSource, FeedBooks, LiveRunError, LiveRunner, LiveSnapshot, RunnerOptions};
use wintermute_mm::live_strategy::{self, LiveStrategyConfig, StrategyThread};
use wintermute_mm::types::VenueId;

use crate::binance::client::BinanceRestClient;
use crate::binance::sim::{BinanceSim, SimConfig, SimKey};
use crate::binance::ws_client::BinanceWsClient;
use crate::coinbase::client::CoinbaseRestClient;
use crate::coinbase::reports::CoinbaseProduct;
use crate::coinbase::route::CoinbaseRoute;
use crate::coinbase::sim::{CoinbaseSim, CoinbaseSimConfig};
use crate::coinbase::user_ws::CoinbaseUserWs;
use crate::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use crate::kraken::client::KrakenRestClient;
use crate::kraken::reports::KrakenPair;
use crate::kraken::sim::{KrakenSim, KrakenSimConfig, KrakenSimPair};
use crate::kraken::ws_client::{taker_fee_ppm_of, KrakenWsClient};
use crate::kraken::ws_messages::{v2_symbol, KrakenWsPair};
use crate::order::Instrument;
use crate::signing::{BinanceSigner, CoinbaseJwtSigner, KrakenSigner};
use crate::sim::exchange::SimSymbol;

/// How often the simulators' books are copied from the feeds.
pub const MIRROR_EVERY: Duration = Duration::from_millis(20);
/// How often a route reconciles while a hedge is live.
pub const RECONCILE_EVERY: Duration = Duration::from_millis(20);
/// How often the quote venue's route reconciles while quotes rest there: slower than a hedge
/// route's, since quotes rest all the time and each reconciliation costs the venue's rate
/// limit (Coinbase's 30 requests a second, Kraken's API counter).
pub const QUOTE_RECONCILE_EVERY: Duration = Duration::from_millis(250);
/// Commands a route queues at once.
pub const ROUTE_IN_FLIGHT: usize = 64;

/// Why the paper venues could not start.
#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    /// A venue symbol whose base and quote assets cannot be told apart.
    #[error("paper hedge route: venue={venue} symbol={symbol:?}: {why}")]
    Symbol {
        /// The venue.
        venue: &'static str,
        /// Its symbol.
        symbol: String,
        /// What is wrong.
        why: String,
    },
    /// A key could not be made.
    #[error("paper hedge route: venue={venue}: key: {why}")]
    Key {
        /// The venue.
        venue: &'static str,
        /// What failed.
        why: String,
    },
    /// The market maker could not start.
    #[error(transparent)]
    Runner(#[from] LiveRunError),
    /// Hedge routes asked for without the feeds' market their simulators copy books from.
    #[error("paper hedge route: [hedge] routes need the feeds' market (a stepped book source has none)")]
    NoFeed,
    /// A simulator, its runtime or a route's thread could not start.
    #[error("paper hedge route: venue={venue}: {source}")]
    Start {
        /// The venue (`runtime` for the simulators' runtime).
        venue: &'static str,
        /// The failure.
        source: std::io::Error,
    },
}

pub(crate) enum Sim {
    Binance(BinanceSim),
    Coinbase(CoinbaseSim),
    Kraken(KrakenSim),
}

impl Sim {
    fn set_book(&self, symbol: &str, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Result<(), String> {
        match self {
            Sim::Binance(s) => s.set_book(symbol, bids, asks),
            Sim::Coinbase(s) => s.set_book(symbol, bids, asks),
            Sim::Kraken(s) => s.set_book(symbol, bids, asks),
        }
    }

    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        match self {
            Sim::Binance(s) => s.addr(),
            Sim::Coinbase(s) => s.addr(),
            Sim::Kraken(s) => s.addr(),
        }
    }

    /// The WebSocket front the route uses (Binance's WebSocket API and Kraken's v2 order
    /// entry, Coinbase's `user` channel).
    pub(crate) fn ws_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Sim::Binance(s) => s.ws_addr(),
            Sim::Coinbase(s) => s.ws_addr(),
            Sim::Kraken(s) => s.ws_addr(),
        }
    }

    /// The route's WebSocket URL at `addr` (the simulator's front, or a TLS front before it).
    pub(crate) fn ws_url(&self, addr: std::net::SocketAddr, tls: bool) -> String {
        let scheme = if tls { "wss" } else { "ws" };
        match self {
            Sim::Kraken(_) => format!("{scheme}://{addr}/v2"),
            Sim::Binance(_) => format!("{scheme}://{addr}/ws-api/v3"),
            _ => format!("{scheme}://{addr}"),
        }
    }
}

/// A simulator to start, and the client of its route (Binance's HMAC secret as hex text,
/// Coinbase's key also as PKCS#8, for the key files of the routes' simulators).
pub(crate) enum Plan {
    Binance(SimConfig, Vec<u8>),
    Coinbase(CoinbaseSimConfig, CoinbaseJwtSigner, CoinbaseProduct, Vec<u8>),
    Kraken(KrakenSimConfig, KrakenSigner, KrakenPair),
}

/// A simulator's configuration, for the thread that starts it.
#[derive(Clone)]
enum SimPlan {
    Binance(SimConfig),
    Coinbase(CoinbaseSimConfig),
    Kraken(KrakenSimConfig),
}

impl SimPlan {
    fn venue(&self) -> &'static str {
        match self {
            SimPlan::Binance(_) => "binance",
            SimPlan::Coinbase(_) => "coinbase",
            SimPlan::Kraken(_) => "kraken",
        }
    }

    async fn start(self) -> std::io::Result<Sim> {
        Ok(match self {
            SimPlan::Binance(cfg) => Sim::Binance(BinanceSim::start(cfg).await?),
            SimPlan::Coinbase(cfg) => {
                let mut sim = CoinbaseSim::start(cfg).await?;
                sim.start_ws().await?;
                Sim::Coinbase(sim)
            }
            SimPlan::Kraken(cfg) => {
                let mut sim = KrakenSim::start(cfg).await?;
                sim.start_ws().await?;
                Sim::Kraken(sim)
            }
        })
    }
}

impl Plan {
    fn sim(&self) -> SimPlan {
        match self {
            Plan::Binance(cfg, _) => SimPlan::Binance(cfg.clone()),
            Plan::Coinbase(cfg, ..) => SimPlan::Coinbase(cfg.clone()),
            Plan::Kraken(cfg, ..) => SimPlan::Kraken(cfg.clone()),
        }
    }

    /// The route to the started simulator `sim`: Binance's WebSocket API client with its REST
    /// companion ([`BinanceWsClient::with_rest`]), Coinbase's REST client and `user` channel
    /// ([`CoinbaseRoute`]), Kraken's WebSocket v2 client with its REST companion
    /// ([`KrakenWsClient::with_rest`]), as a live route.
    fn route(self, sim: &Sim, config: RoutedExecutionConfig) -> std::io::Result<RoutedExecution> {
        let addr = sim.addr();
        let ws_url = sim.ws_addr().map(|ws| sim.ws_url(ws, false)).unwrap_or_default();
        match self {
            Plan::Binance(_, secret) => {
                // The REST companion's signer: the same key again (a signer is not copied).
                let rest_signer = BinanceSigner::hmac_sha256(secret.clone());
                let instruments = vec![config.instrument.clone()];
                let rest = BinanceRestClient::new(addr, API_KEY, rest_signer, instruments.clone());
                let signer = BinanceSigner::hmac_sha256(secret);
                let client = BinanceWsClient::with_rest(&ws_url, None, API_KEY, signer, rest, instruments)
                    .map_err(std::io::Error::other)?;
                RoutedExecution::spawn(client, config)
            }
            Plan::Coinbase(cfg, signer, product, pkcs8) => {
                // The channel's signer: the same key again (a signer is not copied).
                let key_name = format!("organizations/paper/apiKeys/{API_KEY}");
                let channel_signer = CoinbaseJwtSigner::new(&key_name, &pkcs8).map_err(std::io::Error::other)?;
                let channel = CoinbaseUserWs::open(&ws_url, None, channel_signer, vec![product.clone()])
                    .map_err(std::io::Error::other)?;
                let mut rest = CoinbaseRestClient::new(addr, &cfg.host, signer, vec![product]);
                rest.set_taker_fee_ppm(taker_fee_ppm_of(cfg.fee_rate)); // the simulator's, held as Coinbase does
                RoutedExecution::spawn(CoinbaseRoute::new(rest, channel), config)
            }
            Plan::Kraken(cfg, signer, pair) => {
                let ws_pair = KrakenWsPair {
                    pair: pair.clone(),
                    symbol: cfg.pairs.first().map(|p| v2_symbol(&p.wsname)).unwrap_or_default(),
                };
                let rest = KrakenRestClient::new(addr, API_KEY, signer, vec![pair], cfg.tier);
                let mut ws =
                    KrakenWsClient::with_rest(&ws_url, None, rest, vec![ws_pair]).map_err(std::io::Error::other)?;
                ws.set_taker_fee_ppm(taker_fee_ppm_of(cfg.fee_rate)); // the simulator's, held as Kraken does
                RoutedExecution::spawn(ws, config)
            }
        }
    }
}

/// One simulated venue: the feed stream it follows and its symbol there.
struct Mirrored {
    stream: StreamKey,
    sim_symbol: String,
    sim: Sim,
}

/// The thread whose runtime serves the simulators, and how to end it.
pub(crate) struct Served {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

/// The simulators behind the paper routes, the thread serving them and the thread copying
/// their books (see the module docs). Dropping it stops them.
pub struct PaperVenues {
    venues: Arc<Vec<Mirrored>>,
    /// The routes to the quote venues' simulators, until the runner takes them (a mutex: the
    /// venues are shared across threads, a route is only sent between them).
    quote: Mutex<Vec<HedgeRoute>>,
    stop: Arc<AtomicBool>,
    mirror: Mutex<Option<JoinHandle<()>>>,
    served: Mutex<Option<Served>>,
}

impl std::fmt::Debug for PaperVenues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaperVenues").field("venues", &self.venues()).finish_non_exhaustive()
    }
}

impl Drop for PaperVenues {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The base and quote assets of a venue symbol (`BTCUSDT` with quote `USDT`, `BTC-USD`, `XBT/USD`).
fn assets(venue: Venue, symbol: &str, quote: &str) -> Result<(String, String), PaperError> {
    let split = match venue {
        Venue::Binance => symbol.strip_suffix(quote).map(|base| (base, quote)),
        Venue::Coinbase => symbol.split_once('-'),
        Venue::Kraken => symbol.split_once('/'),
    };
    match split {
        Some((base, quote)) if !base.is_empty() && !quote.is_empty() => Ok((base.to_owned(), quote.to_owned())),
        _ => Err(PaperError::Symbol {
            venue: venue.name(),
            symbol: symbol.to_owned(),
            why: format!("expected BASE{quote} (binance), BASE-QUOTE (coinbase) or BASE/QUOTE (kraken)"),
        }),
    }
}

fn random_bytes(venue: &'static str, n: usize) -> Result<Vec<u8>, PaperError> {
    use ring::rand::SecureRandom;
    let mut out = vec![0; n];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| PaperError::Key { venue, why: "no randomness".into() })?;
    Ok(out)
}

fn start_error(venue: &'static str) -> impl Fn(std::io::Error) -> PaperError {
    move |source| PaperError::Start { venue, source }
}

pub(crate) const API_KEY: &str = "wintermute-paper";

/// Pricing venue `i`'s route, whether paper or live: the venue's REST symbol (`BTCUSDT`,
/// `BTC-USD`, `XBTUSD`), its base and quote assets, and the route's configuration (on our
/// instrument's grid).
#[derive(Debug)]
pub(crate) struct RouteSymbol {
    pub(crate) symbol: String,
    pub(crate) base: String,
    pub(crate) quote: String,
    pub(crate) config: RoutedExecutionConfig,
}

impl RouteSymbol {
    pub(crate) fn of(setup: &LiveSetup, i: usize) -> Result<Self, PaperError> {
        let (stream, venue_cfg) = (&setup.streams[i], &setup.pricing.venues[i]);
        let inst = &setup.pricing.instrument;
        let (base, quote) = assets(stream.venue, &stream.symbol, &venue_cfg.quote_currency)?;
        let symbol = stream.symbol.replace('/', "");
        let instrument = Instrument::new(&symbol, &inst.tick_size, &inst.lot_size)
            .map_err(|why| PaperError::Symbol { venue: stream.venue.name(), symbol: stream.symbol.clone(), why })?;
        let config = RoutedExecutionConfig {
            venue: VenueId::External(i as u8),
            instrument,
            assets: (base.clone(), quote.clone()),
            reconcile_every: RECONCILE_EVERY,
            in_flight: ROUTE_IN_FLIGHT,
            check_balances: true,
        };
        Ok(RouteSymbol { symbol, base, quote, config })
    }
}

/// What a paper Binance account starts with, whole units of the base and the quote asset: far
/// more than any hedge.
pub const PAPER_FUNDS: (i128, i128) = (1_000_000, 1_000_000_000_000);

/// The simulator and client of pricing venue `i`'s route, the simulator's symbol and the
/// route's configuration.
pub(crate) fn plan(setup: &LiveSetup, i: usize) -> Result<(Plan, String, RoutedExecutionConfig), PaperError> {
    plan_charging(setup, i, setup.hedge_fees.get(i).map_or(0, |f| f.taker_ppm()))
}

/// Paper funds ([`PAPER_FUNDS`] of `base` and `quote`): every route checks hedges against the
/// account's free balances (`crate::balances`); the simulator's funds are otherwise unlimited.
fn paper_funds(base: &str, quote: &str) -> Vec<(String, Decimal)> {
    vec![(base.to_owned(), Decimal::new(PAPER_FUNDS.0, 0)), (quote.to_owned(), Decimal::new(PAPER_FUNDS.1, 0))]
}

/// [`plan`] with the simulator charging `fee_ppm` (millionths of the notional) on every fill.
fn plan_charging(
    setup: &LiveSetup,
    i: usize,
    fee_ppm: i64,
) -> Result<(Plan, String, RoutedExecutionConfig), PaperError> {
    let stream = &setup.streams[i];
    let inst = &setup.pricing.instrument;
    let name = stream.venue.name();
    let RouteSymbol { symbol: sim_symbol, base, quote, config } = RouteSymbol::of(setup, i)?;
    let fee_rate = Decimal::new(fee_ppm.into(), 6);
    let bad = |why: String| PaperError::Symbol { venue: name, symbol: stream.symbol.clone(), why };
    let key = |why: String| PaperError::Key { venue: name, why };
    let none: [(&str, &str); 0] = [];
    let symbol = SimSymbol::from_levels(&sim_symbol, (&base, &quote), (&inst.tick_size, &inst.lot_size), none, none)
        .map_err(bad)?;
    let plan = match stream.venue {
        Venue::Binance => {
            let secret: String = random_bytes(name, 32)?.iter().map(|b| format!("{b:02x}")).collect();
            let secret = secret.into_bytes();
            let keys = vec![SimKey::Hmac { api_key: API_KEY.into(), secret: secret.clone() }];
            let mut cfg = SimConfig::new(vec![symbol], keys);
            (cfg.fee_rate, cfg.balances) = (fee_rate, paper_funds(&base, &quote));
            Plan::Binance(cfg, secret)
        }
        Venue::Coinbase => {
            let rng = ring::rand::SystemRandom::new();
            let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng)
                .map_err(|_| key("P-256 key generation failed".into()))?;
            let key_name = format!("organizations/paper/apiKeys/{API_KEY}");
            let signer = CoinbaseJwtSigner::new(&key_name, pkcs8.as_ref()).map_err(|e| key(e.to_string()))?;
            let mut cfg = CoinbaseSimConfig::new(vec![symbol], vec![(key_name, signer.public_key())]);
            (cfg.fee_rate, cfg.balances) = (fee_rate, paper_funds(&base, &quote));
            let product = CoinbaseProduct::new(&sim_symbol, &inst.tick_size, &inst.lot_size, &quote).map_err(bad)?;
            Plan::Coinbase(cfg, signer, product, pkcs8.as_ref().to_vec())
        }
        Venue::Kraken => {
            use base64::Engine as _;
            let secret = base64::engine::general_purpose::STANDARD.encode(random_bytes(name, 64)?);
            let signer = KrakenSigner::new(&secret).map_err(|e| key(e.to_string()))?;
            let lot = Decimal::parse(&inst.lot_size).map_err(|e| bad(e.to_string()))?;
            let pair = KrakenSimPair {
                symbol,
                name: sim_symbol.clone(),
                wsname: stream.symbol.clone(),
                ordermin: lot,
                costmin: Decimal::new(5, 1),
            };
            let mut cfg = KrakenSimConfig::new(vec![pair], vec![(API_KEY.into(), secret)]);
            (cfg.fee_rate, cfg.balances) = (fee_rate, paper_funds(&base, &quote));
            let pair = KrakenPair::new(&sim_symbol, &inst.tick_size, &inst.lot_size, &quote).map_err(bad)?;
            Plan::Kraken(cfg, signer, pair)
        }
    };
    Ok((plan, sim_symbol, config))
}

/// Starts the simulators of `plans` on a thread of their own (a current-thread runtime that
/// serves them until told to stop).
fn serve(plans: &[Plan]) -> Result<(Vec<Sim>, Served), PaperError> {
    let (sims, served) = serve_with(plans, None)?;
    Ok((sims.into_iter().map(|(sim, _)| sim).collect(), served))
}

/// A started simulator and, behind TLS, its front's address and its WebSocket front's.
pub(crate) type SimAndFront = (Sim, Option<(std::net::SocketAddr, Option<std::net::SocketAddr>)>);

/// [`serve`], and with `tls` a TLS front on 127.0.0.1 for each simulator, served by the same
/// thread (its address beside the simulator).
pub(crate) fn serve_with(
    plans: &[Plan],
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(Vec<SimAndFront>, Served), PaperError> {
    let starts: Vec<SimPlan> = plans.iter().map(Plan::sim).collect();
    let (sims_tx, sims_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("wm-paper-venues".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return drop(sims_tx.send(Err(start_error("runtime")(e)))),
            };
            runtime.block_on(async move {
                let mut sims = Vec::with_capacity(starts.len());
                for plan in starts {
                    let venue = plan.venue();
                    let started = match plan.start().await {
                        Ok(sim) => match &tls {
                            None => Ok((sim, None)),
                            Some(config) => {
                                let front = |addr| crate::sim::tls_front::tls_front(Arc::clone(config), addr);
                                match (front(sim.addr()).await, sim.ws_addr()) {
                                    (Ok(http), None) => Ok((sim, Some((http, None)))),
                                    (Ok(http), Some(ws)) => front(ws).await.map(|ws| (sim, Some((http, Some(ws))))),
                                    (Err(e), _) => Err(e),
                                }
                            }
                        },
                        Err(e) => Err(e),
                    };
                    match started {
                        Ok(sim) => sims.push(sim),
                        Err(e) => return drop(sims_tx.send(Err(start_error(venue)(e)))),
                    }
                }
                if sims_tx.send(Ok(sims)).is_ok() {
                    let _ = stopped.await; // serve until told to stop (or the sender is gone)
                }
            });
        })
        .map_err(start_error("runtime"))?;
    let served = Served { stop, thread };
    match sims_rx.recv() {
        Ok(Ok(sims)) => Ok((sims, served)),
        Ok(Err(e)) => {
            served.end();
            Err(e)
        }
        Err(_) => {
            served.end();
            Err(start_error("runtime")(std::io::Error::other("the simulators' thread ended")))
        }
    }
}

impl Served {
    pub(crate) fn end(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

impl PaperVenues {
    fn empty() -> Self {
        PaperVenues {
            venues: Arc::new(Vec::new()),
            quote: Mutex::new(Vec::new()),
            stop: Arc::new(AtomicBool::new(false)),
            mirror: Mutex::new(None),
            served: Mutex::new(None),
        }
    }

    /// Starts a simulator and a route for each of `setup`'s hedge routes and for each of its
    /// quote venues (none: nothing is started), their books following `books`. The quote
    /// venues' routes are kept for [`PaperVenues::take_quote_routes`].
    pub fn start(setup: &LiveSetup, books: FeedBooks) -> Result<(Self, Vec<HedgeRoute>), PaperError> {
        let mut paper = PaperVenues::empty();
        if setup.hedge_routes.is_empty() && setup.quote_venues.is_empty() {
            return Ok((paper, Vec::new()));
        }
        let inst = &setup.pricing.instrument;
        let grid = GridScale::new(&inst.tick_size, &inst.lot_size).map_err(|e| PaperError::Symbol {
            venue: "ours",
            symbol: inst.symbol.clone(),
            why: e.to_string(),
        })?;
        let (mut plans, mut rest) = (Vec::new(), Vec::new());
        for &i in &setup.hedge_routes {
            let (plan, sim_symbol, config) = plan(setup, i)?;
            plans.push(plan);
            rest.push((i, sim_symbol, config));
        }
        for &q in &setup.quote_venues {
            let maker = setup.hedge_fees.get(q).map_or(0, |f| f.maker_ppm());
            let (plan, sim_symbol, mut config) = plan_charging(setup, q, maker)?;
            config.reconcile_every = QUOTE_RECONCILE_EVERY;
            plans.push(plan);
            rest.push((q, sim_symbol, config));
        }
        let (sims, served) = serve(&plans)?;
        // From here on, dropping `paper` ends the simulators' thread.
        *paper.served.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(served);
        let (mut venues, mut routes) = (Vec::new(), Vec::new());
        for ((plan, sim), (i, sim_symbol, config)) in plans.into_iter().zip(sims).zip(rest) {
            let stream = &setup.streams[i];
            let execution = plan.route(&sim, config).map_err(start_error(stream.venue.name()))?;
            let route = HedgeRoute { venue: VenueId::External(i as u8), execution: Box::new(execution) };
            match setup.quote_venues.contains(&i) {
                // In `quote_on`'s order: the quote venues were planned after the hedge routes.
                true => paper.quote.get_mut().unwrap_or_else(PoisonError::into_inner).push(route),
                false => routes.push(route),
            }
            venues.push(Mirrored { stream: stream.clone(), sim_symbol, sim });
        }
        paper.venues = Arc::new(venues);
        let (v, s) = (Arc::clone(&paper.venues), Arc::clone(&paper.stop));
        let thread = std::thread::Builder::new()
            .name("wm-paper-books".into())
            .spawn(move || mirror(&v, &books, grid, &s))
            .map_err(start_error("mirror"))?;
        *paper.mirror.get_mut().unwrap_or_else(PoisonError::into_inner) = Some(thread);
        Ok((paper, routes))
    }

    /// The routes to the quote venues' simulators (`quote_on`, in its order), once.
    pub fn take_quote_routes(&mut self) -> Vec<HedgeRoute> {
        std::mem::take(self.quote.get_mut().unwrap_or_else(PoisonError::into_inner))
    }

    /// Each simulated venue's name and address (`127.0.0.1:port`).
    pub fn venues(&self) -> Vec<(&'static str, std::net::SocketAddr)> {
        self.venues.iter().map(|m| (m.stream.venue.name(), m.sim.addr())).collect()
    }

    /// Stops copying books and serving the simulators (stop the runner first: its hedges in
    /// flight would fail). Idempotent.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.mirror.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = t.join();
        }
        if let Some(served) = self.served.lock().unwrap_or_else(PoisonError::into_inner).take() {
            served.end();
        }
    }
}

/// The live market maker with its hedges routed to the paper venues (see the module docs).
#[derive(Debug)]
pub struct PaperMarketMaker {
    // First: dropped (stopped) before the venues its routes talk to.
    runner: LiveRunner,
    strategy: Option<StrategyThread>,
    venues: PaperVenues,
    grids: Option<crate::grid_guard::GridWatch>,
}

/// A batched strategy to quote with instead of the built-in model
/// ([`wintermute_mm::live_strategy`]).
#[derive(Debug)]
pub struct LiveStrategy<K> {
    /// Its name in the snapshot.
    pub name: String,
    /// The strategy.
    pub sink: K,
    /// Batches, queues, order ids.
    pub link: LiveStrategyConfig,
    /// Sleep of its thread when nothing waits.
    pub idle: std::time::Duration,
    /// Runs the strategy thread's whole life ([`StrategyThread::spawn_hosted`]).
    pub host: fn(&mut (dyn FnMut() + Send)),
}

impl PaperMarketMaker {
    /// Starts the paper venues of `setup`'s hedge routes, then the runner quoting on `venue`
    /// off `books` and hedging through them ([`LiveRunner::start_hedged`]).
    pub fn start(
        setup: LiveSetup,
        venue: EngineVenue,
        books: FeedBooks,
        options: RunnerOptions,
    ) -> Result<Self, PaperError> {
        let (mut venues, routes) = PaperVenues::start(&setup, books.clone())?;
        let quotes = venues.take_quote_routes();
        let runner = LiveRunner::start_routed(setup, venue, Box::new(books), options, routes, quotes)?;
        Ok(PaperMarketMaker { runner, strategy: None, venues, grids: None })
    }

    /// As [`PaperMarketMaker::start`], reading the reference books from `source` (`books`,
    /// when given, feeds the hedge simulators: required with `[hedge]` routes), and quoting
    /// with `strategy` on a thread of its own when given.
    pub fn start_with<K>(
        setup: LiveSetup,
        venue: EngineVenue,
        books: Option<FeedBooks>,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        strategy: Option<LiveStrategy<K>>,
    ) -> Result<Self, PaperError>
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        let (mut venues, routes) = match books {
            Some(books) => PaperVenues::start(&setup, books)?,
            None if setup.hedge_routes.is_empty() && setup.quote_venues.is_empty() => {
                (PaperVenues::empty(), Vec::new())
            }
            None => return Err(PaperError::NoFeed),
        };
        let quotes = venues.take_quote_routes();
        Self::assemble(setup, venue, source, options, (routes, quotes), venues, strategy)
    }

    /// As [`PaperMarketMaker::start_with`], hedging through `routes` and quoting through
    /// `quotes` (the `quote_on` venues' routes in its order; none with `quote_on = "ours"`),
    /// made elsewhere
    /// (the live module's, to the venues themselves); no simulator is started.
    pub fn start_routed<K>(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        (routes, quotes): (Vec<HedgeRoute>, Vec<HedgeRoute>),
        strategy: Option<LiveStrategy<K>>,
    ) -> Result<Self, PaperError>
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        Self::assemble(setup, venue, source, options, (routes, quotes), PaperVenues::empty(), strategy)
    }

    fn assemble<K>(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        (routes, quotes): (Vec<HedgeRoute>, Vec<HedgeRoute>),
        venues: PaperVenues,
        strategy: Option<LiveStrategy<K>>,
    ) -> Result<Self, PaperError>
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        let Some(s) = strategy else {
            let runner = LiveRunner::start_routed(setup, venue, source, options, routes, quotes)?;
            return Ok(PaperMarketMaker { runner, strategy: None, venues, grids: None });
        };
        let (port, feed) = live_strategy::link(s.link);
        let runner = LiveRunner::start_with_strategy(setup, venue, source, options, (routes, quotes), s.name, port)?;
        let thread = StrategyThread::spawn_hosted(feed, s.sink, s.idle, s.host).map_err(LiveRunError::Spawn)?;
        Ok(PaperMarketMaker { runner, strategy: Some(thread), venues, grids: None })
    }

    /// Starts the runner hedging through `routes` and quoting through `quotes` (the
    /// `quote_on` venues' routes), both made elsewhere (the live module's); no simulator is
    /// started.
    pub fn start_with_routes(
        setup: LiveSetup,
        venue: EngineVenue,
        books: FeedBooks,
        options: RunnerOptions,
        (routes, quotes): (Vec<HedgeRoute>, Vec<HedgeRoute>),
    ) -> Result<Self, PaperError> {
        let runner = LiveRunner::start_routed(setup, venue, Box::new(books), options, routes, quotes)?;
        Ok(PaperMarketMaker { runner, strategy: None, venues: PaperVenues::empty(), grids: None })
    }

    /// The runner (snapshot, kill switch).
    pub fn runner(&self) -> &LiveRunner {
        &self.runner
    }

    /// The runner's latest state.
    pub fn snapshot(&self) -> LiveSnapshot {
        let mut snapshot = self.runner.snapshot();
        if let Some(watch) = &self.grids {
            snapshot.grids = watch.views();
        }
        snapshot
    }

    /// Keeps the live routes' grid re-checks running with the market maker.
    pub fn watch_grids(&mut self, watch: crate::grid_guard::GridWatch) {
        self.grids = Some(watch);
    }

    /// The live routes' grid re-checks (`None` on paper): counts, and the halted routes' causes.
    pub fn grids(&self) -> Option<&crate::grid_guard::GridWatch> {
        self.grids.as_ref()
    }

    /// The simulated venues: name and address.
    pub fn venues(&self) -> Vec<(&'static str, std::net::SocketAddr)> {
        self.venues.venues()
    }

    /// Stops the runner (quotes pulled, hedges in flight finished), then the venues.
    /// Idempotent.
    pub fn stop(&self) {
        self.runner.stop();
        if let Some(s) = &self.strategy {
            s.stop();
        }
        self.venues.stop();
    }
}

/// One side of a feed book on our grid: prices away from us, whole lots, merged per tick.
fn side(levels: &[wintermute_feeds::book::Level], grid: GridScale, is_bid: bool, out: &mut Vec<(i64, i64)>) {
    out.clear();
    for l in levels {
        let price = if is_bid { grid.bid_ticks(l.price.raw()) } else { grid.ask_ticks(l.price.raw()) };
        let (Some(price), Some(qty)) = (price, grid.whole_lots(l.qty.raw())) else { continue };
        if qty <= 0 {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.0 == price => last.1 += qty,
            _ => out.push((price, qty)),
        }
    }
}

fn mirror(venues: &[Mirrored], books: &FeedBooks, grid: GridScale, stop: &AtomicBool) {
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    while !stop.load(Ordering::Acquire) {
        for m in venues {
            let live = books.read_view(|view| {
                let Some(s) = view.stream(m.stream.venue, &m.stream.symbol).filter(|s| s.state == SyncState::Live)
                else {
                    return false;
                };
                side(&s.bids, grid, true, &mut bids);
                side(&s.asks, grid, false, &mut asks);
                true
            });
            if live {
                // The symbol is the simulator's own: this cannot fail.
                let _ = m.sim.set_book(&m.sim_symbol, &bids, &asks);
            }
        }
        std::thread::sleep(MIRROR_EVERY);
    }
}

#[cfg(test)]
#[path = "paper_tests.rs"]
mod tests;
