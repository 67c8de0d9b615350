//! Live hedge routes and the kill switch across venues: each `[hedge] routes` venue of a live
//! config reached through its real clients ([`RouteClient`]: Binance's WebSocket API client and
//! Kraken's WebSocket v2 client, each with its REST companion, Coinbase's REST client with its
//! `user` channel), at the venue's own endpoints (or the route's `url` and `ws_url`), with the
//! route's keys.
//!
//! # Settings
//! Each route reads `[hedge.live.<venue>]` ([`LiveRouteSettings`]): `url` (default: the venue's
//! own, [`BINANCE_LIVE`], [`KRAKEN_LIVE`], [`COINBASE_LIVE`]), `ws_url` (default
//! [`BINANCE_WS_LIVE`], [`KRAKEN_WS_LIVE`], [`COINBASE_USER_WS_LIVE`]), `keys_file` (a [`KeyFile`] of the
//! venue's key variables; default: the process environment, the same variables, see
//! [`crate::credentials`]), `ca_file` (root certificates trusted besides Mozilla's) and, for
//! Kraken, `dead_man_switch_s` (the dead man's switch armed on live routes: default 60 s,
//! [`DeadManSwitch::RECOMMENDED`], pushed back every third of it; 0 leaves it unarmed).
//!
//! # The venue's grid
//! Before a live route starts, [`check_grids`] asks each venue for its grid of the route's
//! symbol and refuses a config whose tick or lot differs ([`LiveRouteError::Grid`]). While the
//! routes run, [`live_routes`]' [`GridWatch`] asks again every `grid_check_s` (default
//! [`GRID_CHECK_EVERY`], 0: never): a route whose venue changed its tick or lot halts (no new
//! orders, its resting ones canceled, the cause kept and counted; [`crate::grid_guard`]).
//!
//! # Modes
//! [`Mode::Live`] (`--live`) refuses an `http://` URL: keys and orders never travel in plain
//! text. [`Mode::Local`] (the kill switch without `--live`) takes any URL, but each route must
//! name one (a venue simulator run by hand, a test): a paper run's simulators live and die
//! inside the market maker's process.
//!
//! Everything is checked and every key loaded before anything starts: a route without keys, a
//! key file others can read or with a bad line, a bad URL is an error naming the route and the
//! key (never its value), and nothing is sent.
//!
//! # The kill switch
//! [`kill_all`] runs the generic [`crate::venue::kill_switch`] on every route: Binance cancels
//! every open order of the symbol in one request (`openOrders.cancelAll`), orders placed by
//! another process included, after taking them into its table so that the reconciliation reports
//! their final states; Kraken and Coinbase cancel account-wide. Each venue's
//! outcome is reported on its own: one failing does not stop the others.

use std::path::Path;
use std::sync::Arc;

use wintermute_feeds::Venue;
use wintermute_mm::batched::BatchSink;
use wintermute_mm::engine_venue::EngineVenue;
use wintermute_mm::live_config::{LiveRouteSettings, LiveSetup};
use wintermute_mm::live_hedge::HedgeRoute;
use wintermute_mm::live_runner::{BookSource, FeedBooks, RunnerOptions};
use wintermute_mm::types::VenueId;

use wintermute_core::decimal::Decimal;

use crate::binance::client::BinanceRestClient;
use crate::binance::ws_client::BinanceWsClient;
use crate::coinbase::client::CoinbaseRestClient;
use crate::coinbase::reports::CoinbaseProduct;
use crate::coinbase::route::CoinbaseRoute;
use crate::coinbase::user_ws::{CoinbaseUserWs, COINBASE_USER_WS_LIVE};
use crate::credentials::{BinanceCredentials, CoinbaseCredentials, CredentialsError, KeyFile, KrakenCredentials};
use crate::execution_adapter::RoutedExecution;
use crate::grid_guard::{GridGuard, GridProbe, GridSource, GridWatch};
use crate::http::{Endpoint, HttpConnection, BINANCE_LIVE, COINBASE_LIVE, KRAKEN_LIVE};
use crate::kraken::client::KrakenRestClient;
use crate::kraken::rate::Tier;
use crate::kraken::reports::KrakenPair;
use crate::kraken::ws_client::{DeadManSwitch, KrakenWsClient};
use crate::kraken::ws_messages::{v2_symbol, KrakenWsPair};
use crate::paper::{LiveStrategy, PaperError, PaperMarketMaker, RouteSymbol};
use crate::venue::{kill_switch, VenueClient};
use crate::ws::{BINANCE_WS_LIVE, KRAKEN_WS_LIVE};

/// Where routes may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The venues themselves: `https://` only, the venue's own URL by default.
    Live,
    /// Any URL, which each route must name (a simulator run by hand).
    Local,
}

/// The venue's own REST base URL.
pub fn live_url(venue: Venue) -> &'static str {
    match venue {
        Venue::Binance => BINANCE_LIVE,
        Venue::Kraken => KRAKEN_LIVE,
        Venue::Coinbase => COINBASE_LIVE,
    }
}

/// The venue's own WebSocket URL for its route (`None`: a route that is REST only).
pub fn live_ws_url(venue: Venue) -> Option<&'static str> {
    match venue {
        Venue::Binance => Some(BINANCE_WS_LIVE),
        Venue::Kraken => Some(KRAKEN_WS_LIVE),
        Venue::Coinbase => Some(COINBASE_USER_WS_LIVE),
    }
}

/// A venue's grid for a route's symbol that is not the config's (`pricing.instrument`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "hedge route venue={venue} symbol={symbol}: the venue's grid is not the config's, refusing to start: \
     tick_size {config_tick} in the config (pricing.instrument.tick_size), {venue_tick} at the venue; \
     lot_size {config_lot} in the config (pricing.instrument.lot_size), {venue_lot} at the venue"
)]
pub struct GridMismatch {
    /// The venue.
    pub venue: &'static str,
    /// The route's symbol.
    pub symbol: String,
    /// The config's tick.
    pub config_tick: String,
    /// The venue's tick, as it wrote it.
    pub venue_tick: String,
    /// The config's lot.
    pub config_lot: String,
    /// The venue's lot, as it wrote it (Kraken's from `lot_decimals`).
    pub venue_lot: String,
}

impl GridMismatch {
    /// The config key at fault: `pricing.instrument.tick_size` when the ticks differ (as
    /// numbers: `0.01000000` is `0.01`), else `pricing.instrument.lot_size`.
    pub fn key(&self) -> &'static str {
        let same =
            |a: &str, b: &str| matches!((Decimal::parse(a), Decimal::parse(b)), (Ok(a), Ok(b)) if a.raw() == b.raw());
        if same(&self.config_tick, &self.venue_tick) {
            "pricing.instrument.lot_size"
        } else {
            "pricing.instrument.tick_size"
        }
    }
}

/// Why a live route cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum LiveRouteError {
    /// The route's URL or root certificates.
    #[error("hedge route venue={venue} key=hedge.live.{venue}.{key}: {why}")]
    Endpoint {
        /// The venue.
        venue: &'static str,
        /// `url` or `ca_file`.
        key: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The route's keys.
    #[error("hedge route venue={venue} keys={keys}: {error}")]
    Keys {
        /// The venue.
        venue: &'static str,
        /// Where they were looked for (`keys_file=PATH` or `environment`).
        keys: String,
        /// What is wrong (names a variable or a path, never a value).
        error: CredentialsError,
    },
    /// The route's symbol.
    #[error(transparent)]
    Route(#[from] PaperError),
    /// The venue's grid for the route's symbol is not the config's (`pricing.instrument`).
    #[error(transparent)]
    Grid(Box<GridMismatch>),
    /// The venue's grid for the route's symbol could not be read.
    #[error("hedge route venue={venue} symbol={symbol} at {endpoint}: the venue's grid could not be read: {why}")]
    GridUnread {
        /// The venue.
        venue: &'static str,
        /// The route's symbol.
        symbol: String,
        /// Where.
        endpoint: String,
        /// What failed.
        why: String,
    },
    /// A route's worker thread could not start.
    #[error("hedge route venue={venue}: {source}")]
    Start {
        /// The venue.
        venue: &'static str,
        /// The failure.
        source: std::io::Error,
    },
}

impl LiveRouteError {
    /// The config key at fault (`hedge.live.kraken.keys_file`), or `None` when the config is
    /// not (a thread that could not start).
    pub fn key(&self) -> Option<String> {
        match self {
            LiveRouteError::Endpoint { venue, key, .. } => Some(format!("hedge.live.{venue}.{key}")),
            LiveRouteError::Keys { venue, keys, .. } if keys.starts_with("keys_file=") => {
                Some(format!("hedge.live.{venue}.keys_file"))
            }
            LiveRouteError::Keys { venue, .. } => Some(format!("hedge.live.{venue}")),
            LiveRouteError::Route(PaperError::Symbol { .. }) => Some("hedge.routes".into()),
            LiveRouteError::Grid(g) => Some(g.key().into()),
            LiveRouteError::GridUnread { venue, .. } => Some(format!("hedge.live.{venue}.url")),
            LiveRouteError::Route(_) | LiveRouteError::Start { .. } => None,
        }
    }
}

/// The process environment, as a key lookup.
pub fn process_env(variable: &str) -> Option<String> {
    std::env::var(variable).ok()
}

/// Checks `setup`'s routes as [`route_clients`] makes them under `--live` (`live`; paper
/// routes need nothing more), keys from their files or the process environment, then asks
/// each venue for its grid of the route's symbol ([`check_grids`]: public market data, no
/// order sent).
pub fn check_routes(setup: &LiveSetup, live: bool) -> Result<(), LiveRouteError> {
    if live {
        let mut targets = route_clients(setup, Mode::Live, &process_env)?;
        check_grids_blocking(&mut targets)?;
    }
    Ok(())
}

/// The kill switch on every route of `setup` (`--live`: the venues; else each route's `url`),
/// keys from the routes' files or the process environment: every client made first (an error
/// there sends nothing), then [`kill_all`] on a runtime of its own. No dead man's switch is
/// armed, and the venues' grids are not asked for: a kill switch runs whatever the config says.
pub fn kill_routes(setup: &LiveSetup, live: bool) -> Result<Vec<KillOutcome>, LiveRouteError> {
    let mode = if live { Mode::Live } else { Mode::Local };
    let mut targets = route_clients(setup, mode, &process_env)?;
    for t in &mut targets {
        if let RouteClient::Kraken(c) = &mut t.client {
            c.set_dead_man_switch(None);
        }
    }
    kill_all_blocking(targets).map_err(|source| LiveRouteError::Start { venue: "runtime", source })
}

/// A venue client of one route, ready to send (nothing sent yet, nothing connected).
#[derive(Debug)]
pub enum RouteClient {
    /// Binance spot: the WebSocket API client with its REST companion
    /// ([`BinanceWsClient::with_rest`]).
    Binance(BinanceWsClient),
    /// Coinbase Advanced Trade: REST and the `user` channel ([`CoinbaseRoute`]).
    Coinbase(CoinbaseRoute),
    /// Kraken spot: the WebSocket v2 client with its REST companion
    /// ([`KrakenWsClient::with_rest`]).
    Kraken(KrakenWsClient),
}

/// The venue's grid (tick, lot) of `symbol`, asked of its public market data: Binance
/// `exchangeInfo` (PRICE_FILTER `tickSize`, LOT_SIZE `stepSize`), Kraken `AssetPairs`
/// (`tick_size`, `lot_decimals`), Coinbase `market/products/{id}` (`quote_increment`,
/// `base_increment`).
async fn venue_grid(client: &mut RouteClient, symbol: &str) -> Result<(Decimal, Decimal), String> {
    match client {
        RouteClient::Binance(c) => c.exchange_grid(symbol).await.map_err(|e| e.to_string()),
        RouteClient::Coinbase(c) => c.rest_mut().product_grid(symbol).await.map_err(|e| e.to_string()),
        RouteClient::Kraken(c) => match c.rest_mut() {
            Some(rest) => rest.pair_grid(symbol).await.map_err(|e| e.to_string()),
            None => Err("no REST client".into()),
        },
    }
}

impl GridSource for RouteClient {
    fn grid<'a>(&'a mut self, symbol: &'a str) -> crate::grid_guard::GridAnswer<'a> {
        Box::pin(venue_grid(self, symbol))
    }
}

/// How often a live route's venue grid is asked again while running, unless its
/// `grid_check_s` says otherwise.
pub const GRID_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The grid re-check interval of a route's settings (`None`: 0 turns the re-checks off).
pub fn grid_check_every(settings: &LiveRouteSettings) -> Option<std::time::Duration> {
    match settings.grid_check_s {
        None => Some(GRID_CHECK_EVERY),
        Some(0) => None,
        Some(s) => Some(std::time::Duration::from_secs(u64::from(s))),
    }
}

/// Asks each route's venue for its grid of the route's symbol and compares it with the
/// config's (`pricing.instrument`): the router passes prices and quantities through on the
/// config's grid, so a route whose venue trades on another is refused
/// ([`LiveRouteError::Grid`], naming both), as is a venue that cannot say
/// ([`LiveRouteError::GridUnread`]). Stops at the first route refused.
pub async fn check_grids(targets: &mut [RouteTarget]) -> Result<(), LiveRouteError> {
    for t in targets {
        let (venue, symbol) = (t.venue.name(), t.symbol.clone());
        let (tick, lot) = venue_grid(&mut t.client, &symbol).await.map_err(|why| LiveRouteError::GridUnread {
            venue,
            symbol: symbol.clone(),
            endpoint: t.endpoint.to_string(),
            why,
        })?;
        let inst = &t.route.config.instrument;
        let (ours_tick, ours_lot) = (inst.tick_size.decimal(), inst.step_size.decimal());
        if tick.raw() != ours_tick.raw() || lot.raw() != ours_lot.raw() {
            return Err(LiveRouteError::Grid(Box::new(GridMismatch {
                venue,
                symbol,
                config_tick: ours_tick.to_string(),
                venue_tick: tick.to_string(),
                config_lot: ours_lot.to_string(),
                venue_lot: lot.to_string(),
            })));
        }
    }
    Ok(())
}

/// [`check_grids`] on a runtime of its own, for callers without one.
pub fn check_grids_blocking(targets: &mut [RouteTarget]) -> Result<(), LiveRouteError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| LiveRouteError::Start { venue: "runtime", source })?;
    runtime.block_on(check_grids(targets))
}

/// One route: its pricing venue index, symbol, endpoint and client.
#[derive(Debug)]
pub struct RouteTarget {
    /// The venue.
    pub venue: Venue,
    /// The pricing venue index (`VenueId::External(index)`).
    pub index: usize,
    /// The venue's REST symbol.
    pub symbol: String,
    /// Where the client connects.
    pub endpoint: Endpoint,
    /// The client.
    pub client: RouteClient,
    route: RouteSymbol,
}

/// The clients of every `[hedge] routes` venue of `setup` (see the module docs), keys looked
/// up in each route's key file or else through `env` (the process environment:
/// `|name| std::env::var(name).ok()`).
pub fn route_clients(
    setup: &LiveSetup,
    mode: Mode,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<RouteTarget>, LiveRouteError> {
    let none = LiveRouteSettings::default();
    let mut out = Vec::with_capacity(setup.hedge_routes.len() + setup.quote_venues.len());
    for (k, &i) in setup.hedge_routes.iter().enumerate() {
        let settings = setup.hedge_live.get(k).unwrap_or(&none);
        out.push(route_client(setup, i, settings, mode, env)?);
    }
    for (k, &q) in setup.quote_venues.iter().enumerate() {
        out.push(route_client(setup, q, setup.quote_live.get(k).unwrap_or(&none), mode, env)?);
    }
    Ok(out)
}

/// The taker fee of venue `i` as the config gives it (`[fees.<venue>]`), in millionths; `None`
/// where none is configured or it is zero (Kraken and Coinbase charge every spot taker a fee):
/// the client then assumes its venue's default.
fn configured_taker_ppm(setup: &LiveSetup, i: usize) -> Option<u32> {
    let taker = setup.hedge_fees.get(i).map_or(0, |f| f.taker_ppm());
    u32::try_from(taker).ok().filter(|&t| t > 0)
}

fn route_client(
    setup: &LiveSetup,
    i: usize,
    settings: &LiveRouteSettings,
    mode: Mode,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RouteTarget, LiveRouteError> {
    let venue = setup.streams[i].venue;
    let name = venue.name();
    let endpoint_err = |key, why: String| LiveRouteError::Endpoint { venue: name, key, why };
    let url = match (&settings.url, mode) {
        (Some(url), _) => url.as_str(),
        (None, Mode::Live) => live_url(venue),
        (None, Mode::Local) => {
            return Err(endpoint_err("url", "without --live a route must name its url (a simulator)".into()));
        }
    };
    let endpoint = Endpoint::parse(url).map_err(|e| endpoint_err("url", e.to_string()))?;
    if mode == Mode::Live && !endpoint.is_tls() {
        return Err(endpoint_err(
            "url",
            format!("{endpoint}: --live needs https:// (keys and orders never in plain text)"),
        ));
    }
    let connection = HttpConnection::open(url, settings.ca_file.as_deref().map(Path::new))
        .map_err(|e| endpoint_err("ca_file", e.to_string()))?;
    let (keys_shown, file) = match &settings.keys_file {
        Some(path) => {
            let shown = format!("keys_file={path}");
            let file = KeyFile::read(Path::new(path)).map_err(|error| LiveRouteError::Keys {
                venue: name,
                keys: shown.clone(),
                error,
            })?;
            (shown, Some(file))
        }
        None => ("environment".to_owned(), None),
    };
    let lookup = |variable: &str| match &file {
        Some(f) => f.get(variable),
        None => env(variable),
    };
    let keys_err = |error| LiveRouteError::Keys { venue: name, keys: keys_shown.clone(), error };
    let route = RouteSymbol::of(setup, i)?;
    let inst = &setup.pricing.instrument;
    let bad = |why: String| PaperError::Symbol { venue: name, symbol: route.symbol.clone(), why };
    let ws_url = match (&settings.ws_url, live_ws_url(venue), mode) {
        (Some(_), None, _) => return Err(endpoint_err("ws_url", format!("the {name} route is REST only"))),
        (_, None, _) => None,
        (Some(url), Some(_), _) => Some(url.as_str()),
        (None, Some(own), Mode::Live) => Some(own),
        (None, Some(_), Mode::Local) => {
            let why = "without --live a route must name its ws_url (a simulator's WebSocket front)";
            return Err(endpoint_err("ws_url", why.into()));
        }
    };
    if let Some(url) = ws_url {
        if mode == Mode::Live && !url.starts_with("wss://") {
            let why = format!("{url}: --live needs wss:// (keys and orders never in plain text)");
            return Err(endpoint_err("ws_url", why));
        }
    }
    if settings.dead_man_switch_s.is_some() && venue != Venue::Kraken {
        return Err(endpoint_err("dead_man_switch_s", format!("the {name} route has no dead man's switch")));
    }
    let dead_man = match settings.dead_man_switch_s {
        None => Some(DeadManSwitch::RECOMMENDED),
        Some(0) => None,
        Some(s) => Some(
            DeadManSwitch::new(s, std::time::Duration::from_millis(u64::from(s) * 1000 / 3))
                .map_err(|e| endpoint_err("dead_man_switch_s", e.to_string()))?,
        ),
    };
    let roots = settings.ca_file.as_deref().map(Path::new);
    let client = match venue {
        Venue::Binance => {
            let creds = BinanceCredentials::from_lookup(lookup).map_err(keys_err)?;
            // The REST companion's signer: the same key, loaded again (a signer is not copied).
            let rest_signer = BinanceCredentials::from_lookup(lookup).map_err(keys_err)?.signer;
            let instruments = vec![route.config.instrument.clone()];
            let rest = BinanceRestClient::new(connection, &creds.api_key, rest_signer, instruments.clone());
            let url = ws_url.unwrap_or_default();
            let client = BinanceWsClient::with_rest(url, roots, &creds.api_key, creds.signer, rest, instruments)
                .map_err(|e| endpoint_err("ws_url", e.to_string()))?;
            RouteClient::Binance(client)
        }
        Venue::Coinbase => {
            let creds = CoinbaseCredentials::from_lookup(lookup).map_err(keys_err)?;
            // The channel's signer: the same key, loaded again (a signer is not copied).
            let channel_signer = CoinbaseCredentials::from_lookup(lookup).map_err(keys_err)?.signer;
            let product =
                CoinbaseProduct::new(&route.symbol, &inst.tick_size, &inst.lot_size, &route.quote).map_err(bad)?;
            let channel =
                CoinbaseUserWs::open(ws_url.unwrap_or_default(), roots, channel_signer, vec![product.clone()])
                    .map_err(|e| endpoint_err("ws_url", e.to_string()))?;
            let mut rest = CoinbaseRestClient::new(connection, endpoint.host(), creds.signer, vec![product]);
            // The account's taker fee as configured (`[fees.<venue>]`); none (or zero):
            // Coinbase's default, its entry tier's.
            rest.set_taker_fee_ppm(configured_taker_ppm(setup, i));
            RouteClient::Coinbase(CoinbaseRoute::new(rest, channel))
        }
        Venue::Kraken => {
            let creds = KrakenCredentials::from_lookup(lookup).map_err(keys_err)?;
            let pair = KrakenPair::new(&route.symbol, &inst.tick_size, &inst.lot_size, &route.quote).map_err(bad)?;
            let ws_pair = KrakenWsPair { pair: pair.clone(), symbol: v2_symbol(&setup.streams[i].symbol) };
            let rest = KrakenRestClient::new(connection, &creds.api_key, creds.signer, vec![pair], Tier::STARTER);
            let mut client = KrakenWsClient::with_rest(ws_url.unwrap_or_default(), roots, rest, vec![ws_pair])
                .map_err(|e| endpoint_err("ws_url", e.to_string()))?;
            if mode == Mode::Live {
                client.set_dead_man_switch(dead_man);
            }
            // The account's taker fee as configured (`[fees.<venue>]`); none (or zero, which
            // Kraken never charges on spot): Kraken's default.
            client.set_taker_fee_ppm(configured_taker_ppm(setup, i));
            RouteClient::Kraken(client)
        }
    };
    Ok(RouteTarget { venue, index: i, symbol: route.symbol.clone(), endpoint, client, route })
}

/// The live hedge routes of `setup` (see the module docs): every client made and every key
/// loaded first, each venue's grid checked ([`check_grids`], on a runtime of its own: call it
/// outside one), then a [`RoutedExecution`] worker for each. With `quote_on` venues, the last
/// ones are the quote venues' routes, in `quote_on`'s order ([`split_quote_routes`]). The
/// routes' grids are then asked again every `grid_check_s` ([`GRID_CHECK_EVERY`] by default)
/// by the returned [`GridWatch`] (through clients of their own, public market data only): a
/// route whose venue changed its tick or lot halts ([`crate::grid_guard`]). Keep the watch as
/// long as the routes run.
pub fn live_routes(
    setup: &LiveSetup,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<HedgeRoute>, GridWatch), LiveRouteError> {
    let mut targets = route_clients(setup, Mode::Live, env)?;
    check_grids_blocking(&mut targets)?;
    // The re-checks' own clients (the route's are owned by its worker).
    let probes_clients = route_clients(setup, Mode::Live, env)?;
    let none = LiveRouteSettings::default();
    let mut routes = Vec::with_capacity(targets.len());
    let mut probes = Vec::with_capacity(targets.len());
    for (t, probe) in targets.into_iter().zip(probes_clients) {
        let start = |source| LiveRouteError::Start { venue: t.venue.name(), source };
        let mut config = t.route.config;
        if setup.quote_venues.contains(&t.index) {
            config.reconcile_every = crate::paper::QUOTE_RECONCILE_EVERY;
        }
        let settings = match setup.hedge_routes.iter().position(|&i| i == t.index) {
            Some(k) => setup.hedge_live.get(k).unwrap_or(&none),
            None => setup
                .quote_venues
                .iter()
                .position(|&i| i == t.index)
                .and_then(|k| setup.quote_live.get(k))
                .unwrap_or(&none),
        };
        let guard = Arc::new(GridGuard::default());
        if let Some(every) = grid_check_every(settings) {
            let grid = (config.instrument.tick_size.decimal(), config.instrument.step_size.decimal());
            let source = Box::new(probe.client);
            probes.push(GridProbe::new(t.venue.name(), &t.symbol, source, grid, every, Arc::clone(&guard)));
        }
        let execution = match t.client {
            RouteClient::Binance(c) => RoutedExecution::spawn_guarded(c, config, guard),
            RouteClient::Coinbase(c) => RoutedExecution::spawn_guarded(c, config, guard),
            RouteClient::Kraken(c) => RoutedExecution::spawn_guarded(c, config, guard),
        }
        .map_err(start)?;
        routes.push(HedgeRoute { venue: VenueId::External(t.index as u8), execution: Box::new(execution) });
    }
    let watch = GridWatch::spawn(probes).map_err(|source| LiveRouteError::Start { venue: "grids", source })?;
    Ok((routes, watch))
}

/// `routes` ([`live_routes`]) as the hedge routes and the quote venues' routes (`quote_on`,
/// in its order: the last `quote_venues.len()` of `routes`).
pub fn split_quote_routes(setup: &LiveSetup, mut routes: Vec<HedgeRoute>) -> (Vec<HedgeRoute>, Vec<HedgeRoute>) {
    let at = routes.len().saturating_sub(setup.quote_venues.len());
    let quotes = routes.split_off(at);
    (routes, quotes)
}

/// The live market maker hedging through `setup`'s routes at the venues themselves
/// ([`live_routes`]: every key loaded and checked first, keys looked up in each route's key
/// file or else through `env`); no simulator is started.
pub fn start_market_maker(
    setup: LiveSetup,
    venue: EngineVenue,
    books: FeedBooks,
    options: RunnerOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PaperMarketMaker, LiveRouteError> {
    let (routes, watch) = live_routes(&setup, env)?;
    let routes = split_quote_routes(&setup, routes);
    let mut mm = PaperMarketMaker::start_with_routes(setup, venue, books, options, routes)?;
    mm.watch_grids(watch);
    Ok(mm)
}

/// [`start_market_maker`] with `live` (keys from the routes' files or the process
/// environment), else [`PaperMarketMaker::start`] (the routes' simulators).
pub fn start_hedged(
    setup: LiveSetup,
    venue: EngineVenue,
    books: FeedBooks,
    options: RunnerOptions,
    live: bool,
) -> Result<PaperMarketMaker, LiveRouteError> {
    if live {
        start_market_maker(setup, venue, books, options, &process_env)
    } else {
        Ok(PaperMarketMaker::start(setup, venue, books, options)?)
    }
}

/// [`start_hedged`] with the reference books read from `source` (`books`, when given, feeds
/// the paper venues' simulators) and quoting with `strategy` when given
/// ([`PaperMarketMaker::start_with`] on paper, [`PaperMarketMaker::start_routed`] with `live`).
pub fn start_hedged_with<K>(
    setup: LiveSetup,
    venue: EngineVenue,
    books: Option<FeedBooks>,
    source: Box<dyn BookSource>,
    options: RunnerOptions,
    strategy: Option<LiveStrategy<K>>,
    live: bool,
) -> Result<PaperMarketMaker, LiveRouteError>
where
    K: BatchSink + Send + 'static,
    K::Error: std::fmt::Display,
{
    if live {
        let (routes, watch) = live_routes(&setup, &process_env)?;
        let routes = split_quote_routes(&setup, routes);
        let mut mm = PaperMarketMaker::start_routed(setup, venue, source, options, routes, strategy)?;
        mm.watch_grids(watch);
        Ok(mm)
    } else {
        Ok(PaperMarketMaker::start_with(setup, venue, books, source, options, strategy)?)
    }
}

/// What the kill switch did on one venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillOutcome {
    /// The venue.
    pub venue: &'static str,
    /// The symbol.
    pub symbol: String,
    /// Where.
    pub endpoint: String,
    /// How many orders the venue canceled, or why it failed.
    pub result: Result<usize, String>,
}

async fn kill_one<C: VenueClient>(client: &mut C, symbol: &str) -> Result<usize, String> {
    kill_switch(client, symbol).await.map_err(|e| e.to_string())
}

/// The kill switch on every route (see the module docs), venues one after the other, each
/// outcome on its own.
pub async fn kill_all(targets: Vec<RouteTarget>) -> Vec<KillOutcome> {
    let mut out = Vec::with_capacity(targets.len());
    for mut t in targets {
        let symbol = t.symbol.clone();
        let result = match &mut t.client {
            RouteClient::Binance(c) => match c.adopt_open_orders(&symbol).await {
                Ok(_) => kill_one(c, &symbol).await,
                Err(e) => Err(e.to_string()),
            },
            RouteClient::Coinbase(c) => kill_one(c, &symbol).await,
            RouteClient::Kraken(c) => kill_one(c, &symbol).await,
        };
        out.push(KillOutcome { venue: t.venue.name(), symbol, endpoint: t.endpoint.to_string(), result });
    }
    out
}

/// [`kill_all`] on a runtime of its own, for callers without one (the CLI).
pub fn kill_all_blocking(targets: Vec<RouteTarget>) -> std::io::Result<Vec<KillOutcome>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(kill_all(targets)))
}
