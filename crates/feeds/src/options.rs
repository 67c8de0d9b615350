//! The options of the blocking entry points as documents: what Python's `wintermute.feeds`
//! sends (JSON), checked here against the Rust types' own defaults, so that a binding converts,
//! calls and maps the error.
//!
//! - [`ServeOptions`] for [`crate::net::blocking::replay_serve_blocking`] (a replay server), with
//!   its counters back as a [`ServeSummary`];
//! - [`WatchOptions`] for [`crate::net::blocking::watch_blocking_with`] (the connectors), with
//!   [`tick_json`] for the live view's document;
//! - [`SyntheticOptions`] for [`crate::synthetic::generate`], with [`write_synthetic`] writing
//!   the recording and returning a [`SyntheticSummary`];
//! - [`MarketOptions`] for [`crate::market::Market::start`]: each venue's connector and whether
//!   its frames come from its endpoints or a synthetic market served on 127.0.0.1.
//!
//! Every field but the venue (and the symbols to watch) may be left out: the default is the
//! Rust type's ([`ReplayOptions::default`], [`FeedConfig::new`], [`SyntheticConfig::new`]).
//! An unknown key, a value of the wrong type or out of range is a [`FeedError::Config`] naming
//! it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::binance_ticks::TickScale;
use crate::market::{Instrument, MarketConfig, Source, VenueFeed};
use crate::net::blocking::{ServeLimits, WatchLimits};
use crate::net::client::{FeedConfig, FeedCounters};
use crate::net::endpoints::Protocol;
use crate::net::replay_server::{Fault, Pace, ReplayOptions, ReplayStats};
use crate::synthetic::latent::Dislocation;
use crate::synthetic::{generate, SyntheticConfig};
use crate::verify::VerifyReport;
use crate::{FeedError, Venue};

fn from_json<T: DeserializeOwned>(document: &str, what: &'static str) -> Result<T, FeedError> {
    serde_json::from_str(document).map_err(|e| FeedError::Config { field: what, reason: e.to_string() })
}

/// The venue called `name` (`binance`, `coinbase`, `kraken`).
pub fn venue_named(name: &str) -> Result<Venue, FeedError> {
    let known = Venue::ALL.into_iter().find(|v| v.name() == name);
    known.ok_or_else(|| FeedError::Config {
        field: "venue",
        reason: format!("venue={name:?}: expected binance, coinbase or kraken"),
    })
}

/// `{symbol: (tick_size, lot_size)}` as the connector's per-symbol scales, sorted by symbol.
pub fn tick_scales<'a>(
    scales: impl IntoIterator<Item = (&'a String, &'a (String, String))>,
) -> Result<Vec<(String, TickScale)>, FeedError> {
    let mut out = Vec::new();
    for (symbol, (tick, lot)) in scales {
        let scale = TickScale::new(tick, lot).map_err(|e| FeedError::Config {
            field: "scales",
            reason: format!("scales[{symbol:?}]=({tick:?}, {lot:?}): {e}"),
        })?;
        out.push((symbol.clone(), scale));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn seconds(field: &'static str, s: f64) -> Result<Duration, FeedError> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| FeedError::Config { field, reason: format!("{field}={s}: expected seconds >= 0") })
}

/// A replay server's options (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeOptions {
    /// `recorded` (the default), `fast`, or a speed factor such as `10`.
    pub pace: Option<String>,
    /// WebSocket port on 127.0.0.1 (0, the default: a free one).
    #[serde(default)]
    pub port: u16,
    /// HTTP (REST) port on 127.0.0.1 (0: a free one).
    #[serde(default)]
    pub http_port: u16,
    /// Stop after this many seconds (default: only when drained, or never).
    pub seconds: Option<f64>,
    /// Stop once every frame was sent and every client left.
    #[serde(default)]
    pub exit_when_drained: bool,
    /// Indices of recorded frames to drop on the wire.
    #[serde(default)]
    pub drop_frames: Vec<usize>,
    /// Indices of recorded frames to cut in half on the wire.
    #[serde(default)]
    pub corrupt_frames: Vec<usize>,
    /// `{symbol: (tick_size, lot_size)}` served at Binance's `GET /api/v3/exchangeInfo`.
    #[serde(default)]
    pub exchange_info: BTreeMap<String, (String, String)>,
}

impl ServeOptions {
    /// The options in a JSON document.
    pub fn from_json(document: &str) -> Result<Self, FeedError> {
        from_json(document, "serve options")
    }

    /// The server's options and when serving stops.
    pub fn resolve(&self) -> Result<(ReplayOptions, ServeLimits), FeedError> {
        let pace: Pace = self.pace.as_deref().unwrap_or("recorded").parse()?;
        let drops = self.drop_frames.iter().map(|&k| Fault::Drop(k));
        let faults = drops.chain(self.corrupt_frames.iter().map(|&k| Fault::Corrupt(k))).collect();
        let binance_exchange_info =
            self.exchange_info.iter().map(|(s, (tick, lot))| (s.clone(), tick.clone(), lot.clone())).collect();
        let options = ReplayOptions {
            addr: ([127, 0, 0, 1], self.port).into(),
            http_addr: ([127, 0, 0, 1], self.http_port).into(),
            pace,
            faults,
            binance_exchange_info,
            ..ReplayOptions::default()
        };
        let duration = self.seconds.map(|s| seconds("seconds", s)).transpose()?;
        Ok((options, ServeLimits { duration, exit_when_drained: self.exit_when_drained }))
    }
}

/// What a replay server did, as `wintermute.feeds.ReplayServer.stats` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServeSummary {
    /// WebSocket connections accepted.
    pub connections: u64,
    /// Text frames sent.
    pub frames_sent: u64,
    /// Recorded frames in all.
    pub frames_total: usize,
    /// Recorded frames consumed.
    pub frames_replayed: usize,
    /// Subscribe frames received.
    pub subscribes: usize,
    /// Snapshots synthesized for WebSocket resubscriptions.
    pub ws_snapshots: u64,
    /// REST snapshot requests answered with the recorded body.
    pub rest_recorded: u64,
    /// REST snapshot requests answered from the reference book.
    pub rest_synthesized: u64,
}

impl From<&ReplayStats> for ServeSummary {
    fn from(s: &ReplayStats) -> Self {
        ServeSummary {
            connections: s.connections,
            frames_sent: s.frames_sent,
            frames_total: s.total,
            frames_replayed: s.cursor,
            subscribes: s.subscribes.len(),
            ws_snapshots: s.ws_snapshots,
            rest_recorded: s.rest_recorded,
            rest_synthesized: s.rest_synthesized,
        }
    }
}

/// A connector session's options (see the module docs).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchOptions {
    /// `binance`, `coinbase` or `kraken`.
    pub venue: String,
    /// The venue's symbols to subscribe to.
    pub symbols: Vec<String>,
    /// WebSocket base (default: the venue's own endpoint).
    pub ws_base: Option<String>,
    /// REST base (default: the venue's own endpoint).
    pub rest_base: Option<String>,
    /// How long to watch.
    pub seconds: f64,
    /// Stop once this many frames arrived.
    pub max_frames: Option<u64>,
    /// Record the session to this file.
    pub record: Option<PathBuf>,
    /// Seconds between live views (default 1, at least 0.01).
    pub tick: Option<f64>,
    /// Connection attempts in a row before giving up (default: retry until `seconds` run out).
    pub max_attempts: Option<u32>,
    /// The venue's protocol by name (default: the venue's current one).
    pub protocol: Option<String>,
    /// An extra root certificate authority (PEM) for `wss://` and `https://`.
    pub tls_ca_file: Option<PathBuf>,
    /// Binance: `{symbol: (tick_size, lot_size)}` runs integer books.
    pub scales: Option<BTreeMap<String, (String, String)>>,
    /// Binance: fetch the missing scales from `exchangeInfo` first.
    #[serde(default)]
    pub fetch_scales: bool,
}

impl WatchOptions {
    /// The options in a JSON document.
    pub fn from_json(document: &str) -> Result<Self, FeedError> {
        from_json(document, "watch options")
    }

    /// The connector's config, when the session stops, and the live view's period. Checks the
    /// scales before anything connects (unless they are to be fetched).
    pub fn resolve(&self) -> Result<(FeedConfig, WatchLimits, Duration), FeedError> {
        let venue = venue_named(&self.venue)?;
        let symbols = self.symbols.clone();
        let mut config = match &self.protocol {
            None => FeedConfig::new(venue, symbols),
            Some(name) => {
                let protocol: Protocol = name.parse()?;
                if protocol.venue() != venue {
                    let reason = format!("protocol={name} is not a {} protocol", venue.name());
                    return Err(FeedError::Config { field: "protocol", reason });
                }
                FeedConfig::for_protocol(protocol, symbols)
            }
        };
        config.tls_ca_file.clone_from(&self.tls_ca_file);
        if let Some(ws) = &self.ws_base {
            config.ws_base.clone_from(ws);
        }
        if let Some(rest) = &self.rest_base {
            config.rest_base.clone_from(rest);
        }
        config.record.clone_from(&self.record);
        config.max_attempts = self.max_attempts;
        config.binance_scales = tick_scales(self.scales.iter().flatten())?;
        config.binance_fetch_scales = self.fetch_scales;
        if !self.fetch_scales {
            config.binance_tick_feed()?;
        }
        let limits = WatchLimits { duration: seconds("seconds", self.seconds.max(0.0))?, max_frames: self.max_frames };
        let tick = seconds("tick", self.tick.unwrap_or(1.0).max(0.01))?;
        Ok((config, limits, tick))
    }
}

/// The live view's document: `{"report": <the books' report>, "counters": <the connector's>}`.
pub fn tick_json(report: &VerifyReport, counters: &FeedCounters) -> String {
    let counters = serde_json::to_string(counters).unwrap_or_else(|_| "null".into());
    format!("{{\"report\":{},\"counters\":{counters}}}", report.to_json())
}

/// A synthetic market's options (see the module docs and [`SyntheticConfig`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticOptions {
    /// `binance`, `coinbase` or `kraken`: whose protocol is spoken (in a market's venue, the
    /// venue's own when left out).
    pub venue: Option<String>,
    /// [`SyntheticConfig::seed`] (default 7).
    pub seed: Option<u64>,
    /// [`SyntheticConfig::steps`].
    pub steps: Option<usize>,
    /// [`SyntheticConfig::gap_rate`].
    pub gap_rate: Option<f64>,
    /// [`SyntheticConfig::gap_spacing`].
    pub gap_spacing: Option<usize>,
    /// [`SyntheticConfig::burst_rate`].
    pub burst_rate: Option<f64>,
    /// [`SyntheticConfig::trade_rate`].
    pub trade_rate: Option<f64>,
    /// [`SyntheticConfig::depth`].
    pub depth: Option<usize>,
    /// [`SyntheticConfig::kraken_depth`].
    pub kraken_depth: Option<usize>,
    /// [`SyntheticConfig::symbol`].
    pub symbol: Option<String>,
    /// [`SyntheticConfig::start_ns`].
    pub start_ns: Option<i64>,
    /// Follow the latent price of this path seed ([`SyntheticConfig::with_latent`]).
    pub latent_seed: Option<u64>,
    /// With `latent_seed`: `(start_ns, duration_ns, units)` of a [`Dislocation`].
    pub dislocation: Option<(i64, i64, i64)>,
}

impl SyntheticOptions {
    /// The options in a JSON document.
    pub fn from_json(document: &str) -> Result<Self, FeedError> {
        from_json(document, "synthetic options")
    }

    /// The generator's config: [`SyntheticConfig::new`] with the given fields set (the
    /// generator checks their ranges). The document must name its venue.
    pub fn config(&self) -> Result<SyntheticConfig, FeedError> {
        let name = self.venue.as_deref().ok_or_else(|| FeedError::Config {
            field: "venue",
            reason: "missing venue: expected binance, coinbase or kraken".into(),
        })?;
        self.config_for(venue_named(name)?)
    }

    /// [`Self::config`] for `venue` (the document's `venue`, if any, must be the same).
    pub fn config_for(&self, venue: Venue) -> Result<SyntheticConfig, FeedError> {
        if let Some(name) = self.venue.as_deref().filter(|n| *n != venue.name()) {
            let reason = format!("synthetic venue={name:?} in the market's venue={:?}", venue.name());
            return Err(FeedError::Config { field: "venue", reason });
        }
        let defaults = SyntheticConfig::new(venue, self.seed.unwrap_or(7));
        let mut config = SyntheticConfig {
            steps: self.steps.unwrap_or(defaults.steps),
            gap_rate: self.gap_rate.unwrap_or(defaults.gap_rate),
            gap_spacing: self.gap_spacing.unwrap_or(defaults.gap_spacing),
            burst_rate: self.burst_rate.unwrap_or(defaults.burst_rate),
            trade_rate: self.trade_rate.unwrap_or(defaults.trade_rate),
            depth: self.depth.unwrap_or(defaults.depth),
            kraken_depth: self.kraken_depth.unwrap_or(defaults.kraken_depth),
            symbol: self.symbol.clone().unwrap_or_else(|| defaults.symbol.clone()),
            start_ns: self.start_ns.unwrap_or(defaults.start_ns),
            ..defaults
        };
        if let Some(seed) = self.latent_seed {
            config = config.with_latent(seed);
        }
        if let Some((start_ns, duration_ns, units)) = self.dislocation {
            let latent = config.latent.as_mut().ok_or_else(|| FeedError::Config {
                field: "dislocation",
                reason: "a dislocation needs latent_seed (a venue following the latent price)".into(),
            })?;
            latent.dislocation = Some(Dislocation { start_ns, duration_ns, units });
        }
        Ok(config)
    }
}

/// One venue of a [`MarketOptions`]: its connector, and where its frames come from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketVenueOptions {
    /// `binance`, `coinbase` or `kraken`.
    pub venue: String,
    /// The venue's symbols to subscribe to (a synthetic venue trades its own one).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// WebSocket base (default: the venue's own endpoint).
    pub ws_base: Option<String>,
    /// REST base (default: the venue's own endpoint).
    pub rest_base: Option<String>,
    /// Kraken: the subscribed book depth.
    pub kraken_depth: Option<usize>,
    /// Connection attempts in a row before the venue gives up (default: no bound).
    pub max_attempts: Option<u32>,
    /// An extra root certificate authority (PEM) for `wss://` and `https://`.
    pub tls_ca_file: Option<PathBuf>,
    /// Binance: `{symbol: (tick_size, lot_size)}` runs integer books.
    pub scales: Option<BTreeMap<String, (String, String)>>,
    /// A synthetic market served on 127.0.0.1 instead of the endpoints.
    pub synthetic: Option<SyntheticOptions>,
    /// The synthetic market's pace: `recorded` (the default), `fast` or a speed factor.
    pub pace: Option<String>,
}

/// A market's options ([`MarketConfig`]): its venues, the instruments of its consolidated
/// book, and its rings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketOptions {
    /// One entry per venue.
    pub venues: Vec<MarketVenueOptions>,
    /// `[(name, {venue: venue symbol})]`: what the consolidated book merges.
    #[serde(default)]
    pub instruments: Vec<(String, BTreeMap<String, String>)>,
    /// L1 ring capacity per stream.
    pub ring_capacity: Option<usize>,
    /// Levels per side kept in each venue's book view.
    pub depth: Option<usize>,
    /// Seconds between published views (0: every frame).
    pub publish_every: Option<f64>,
}

impl MarketOptions {
    /// The options in a JSON document.
    pub fn from_json(document: &str) -> Result<Self, FeedError> {
        from_json(document, "market options")
    }

    /// The market's config.
    pub fn config(&self) -> Result<MarketConfig, FeedError> {
        let venues = self.venues.iter().map(MarketVenueOptions::feed).collect::<Result<Vec<_>, _>>()?;
        let mut config = MarketConfig::new(venues);
        for (name, legs) in &self.instruments {
            let legs = legs.iter().map(|(v, s)| Ok((venue_named(v)?, s.clone()))).collect::<Result<_, FeedError>>()?;
            config.instruments.push(Instrument { name: name.clone(), legs });
        }
        config.ring_capacity = self.ring_capacity.unwrap_or(config.ring_capacity);
        config.depth = self.depth.unwrap_or(config.depth);
        if let Some(s) = self.publish_every {
            config.publish_every = seconds("publish_every", s)?;
        }
        Ok(config)
    }
}

impl MarketVenueOptions {
    fn feed(&self) -> Result<VenueFeed, FeedError> {
        let venue = venue_named(&self.venue)?;
        let mut feed = FeedConfig::new(venue, self.symbols.clone());
        if let Some(ws) = &self.ws_base {
            feed.ws_base.clone_from(ws);
        }
        if let Some(rest) = &self.rest_base {
            feed.rest_base.clone_from(rest);
        }
        feed.kraken_depth = self.kraken_depth.unwrap_or(feed.kraken_depth);
        feed.max_attempts = self.max_attempts;
        feed.tls_ca_file.clone_from(&self.tls_ca_file);
        feed.binance_scales = tick_scales(self.scales.iter().flatten())?;
        feed.resubscribe_interval = Duration::from_millis(100);
        let source = match &self.synthetic {
            None => Source::Endpoints,
            Some(s) => {
                let pace = self.pace.as_deref().unwrap_or("recorded").parse()?;
                Source::Synthetic { config: Box::new(s.config_for(venue)?), pace }
            }
        };
        Ok(VenueFeed { feed, source })
    }
}

/// What [`write_synthetic`] wrote: frames, trades, the gap frames to drop or corrupt when
/// serving it, and the final book as exact text (`[[price, qty], ...]`, best first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntheticSummary {
    /// Whose protocol the recording speaks.
    pub venue: &'static str,
    /// The symbol as the venue writes it.
    pub symbol: String,
    /// Received frames in the recording.
    pub frames: usize,
    /// Trades generated.
    pub trades: usize,
    /// Indices (among received frames) of the injected gaps.
    pub gaps: Vec<usize>,
    /// The gap frames a replay server must drop.
    pub drop_frames: Vec<usize>,
    /// The gap frames a replay server must cut in half.
    pub corrupt_frames: Vec<usize>,
    /// The final book's bids, best first.
    pub bids: Vec<(String, String)>,
    /// The final book's asks, best first.
    pub asks: Vec<(String, String)>,
}

/// Generates the market of `config` and writes its recording to `path`.
pub fn write_synthetic(config: &SyntheticConfig, path: &Path) -> Result<SyntheticSummary, FeedError> {
    let market = generate(config)?;
    std::fs::write(path, market.recording.as_bytes())
        .map_err(|e| FeedError::Io { path: path.display().to_string(), message: e.to_string() })?;
    let (mut drop_frames, mut corrupt_frames) = (Vec::new(), Vec::new());
    for f in &market.faults {
        match f {
            Fault::Drop(k) => drop_frames.push(*k),
            Fault::Corrupt(k) => corrupt_frames.push(*k),
            _ => {}
        }
    }
    let text = |l: &crate::book::Level| (l.price.as_str().to_owned(), l.qty.as_str().to_owned());
    Ok(SyntheticSummary {
        venue: market.venue.name(),
        bids: market.truth.bids().map(text).collect(),
        asks: market.truth.asks().map(text).collect(),
        symbol: market.symbol,
        frames: market.frames,
        trades: market.trades,
        gaps: market.gaps,
        drop_frames,
        corrupt_frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl std::fmt::Debug, FeedError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn serve_defaults_are_the_replay_servers() {
        let (options, limits) = ServeOptions::from_json("{}").unwrap().resolve().unwrap();
        let d = ReplayOptions::default();
        assert_eq!((options.addr, options.http_addr, options.pace), (d.addr, d.http_addr, d.pace));
        assert!(options.faults.is_empty() && options.binance_exchange_info.is_empty());
        assert_eq!(limits, ServeLimits { duration: None, exit_when_drained: false });
    }

    #[test]
    fn serve_options_set_faults_ports_and_limits() {
        let doc = r#"{"pace": "fast", "port": 9001, "seconds": 1.5, "exit_when_drained": true,
            "drop_frames": [3], "corrupt_frames": [5, 8],
            "exchange_info": {"ETHUSDT": ["0.01", "0.0001"], "BTCUSDT": ["0.01", "0.00001"]}}"#;
        let (options, limits) = ServeOptions::from_json(doc).unwrap().resolve().unwrap();
        assert_eq!(options.addr.port(), 9001);
        assert_eq!(options.pace, Pace::Fast);
        assert_eq!(options.faults, vec![Fault::Drop(3), Fault::Corrupt(5), Fault::Corrupt(8)]);
        assert_eq!(options.binance_exchange_info[0].0, "BTCUSDT", "sorted by symbol");
        assert_eq!(limits, ServeLimits { duration: Some(Duration::from_millis(1500)), exit_when_drained: true });
    }

    #[test]
    fn bad_serve_options_name_what_is_wrong() {
        assert!(err(ServeOptions::from_json(r#"{"prt": 1}"#)).contains("unknown field `prt`"));
        assert!(err(ServeOptions::from_json(r#"{"port": -1}"#)).contains("serve options"));
        assert!(err(ServeOptions::from_json(r#"{"seconds": -1}"#).unwrap().resolve()).contains("seconds=-1"));
        assert!(err(ServeOptions::from_json(r#"{"pace": "slowly"}"#).unwrap().resolve()).contains("slowly"));
    }

    #[test]
    fn watch_options_build_the_connectors_config() {
        let doc = r#"{"venue": "binance", "symbols": ["BTCUSDT"], "ws_base": "ws://127.0.0.1:1",
            "seconds": 2, "tick": 0.001, "max_attempts": 3, "scales": {"BTCUSDT": ["0.01", "0.00001"]}}"#;
        let (config, limits, tick) = WatchOptions::from_json(doc).unwrap().resolve().unwrap();
        assert_eq!(config.ws_base, "ws://127.0.0.1:1");
        assert_eq!(config.rest_base, FeedConfig::new(Venue::Binance, vec![]).rest_base, "the default");
        assert_eq!(config.max_attempts, Some(3));
        assert_eq!(config.binance_scales.len(), 1);
        assert_eq!(limits.duration, Duration::from_secs(2));
        assert_eq!(tick, Duration::from_millis(10), "at least 0.01 s");
    }

    #[test]
    fn bad_watch_options_are_refused_before_connecting() {
        let base = r#""symbols": ["XBT/USD"], "seconds": 1"#;
        let w = |extra: &str| WatchOptions::from_json(&format!("{{{base}, {extra}}}")).unwrap().resolve();
        assert!(err(w(r#""venue": "bitmex""#)).contains("venue=\"bitmex\""));
        assert!(err(w(r#""venue": "kraken", "protocol": "binance""#)).contains("not a kraken protocol"));
        assert!(err(w(r#""venue": "kraken", "scales": {"XBT/USD": ["0.1", "1"]}"#)).contains("not venue=kraken"));
        let missing = WatchOptions::from_json(r#"{"venue": "kraken", "seconds": 1}"#);
        assert!(err(missing).contains("missing field `symbols`"));
    }

    #[test]
    fn synthetic_defaults_are_the_generators_and_fields_override_them() {
        let o = SyntheticOptions::from_json(r#"{"venue": "kraken"}"#).unwrap();
        let mut want = SyntheticConfig::new(Venue::Kraken, 7);
        assert_eq!(o.config().unwrap(), want);
        assert_eq!(o.config_for(Venue::Kraken).unwrap(), want);
        assert!(err(o.config_for(Venue::Binance)).contains("synthetic venue=\"kraken\""));
        assert!(err(SyntheticOptions::from_json("{}").unwrap().config()).contains("missing venue"));
        let o = SyntheticOptions::from_json(r#"{"venue": "kraken", "seed": 3, "steps": 50, "symbol": "ETH/USD"}"#);
        want = SyntheticConfig { steps: 50, symbol: "ETH/USD".into(), ..SyntheticConfig::new(Venue::Kraken, 3) };
        assert_eq!(o.unwrap().config().unwrap(), want);
        assert!(err(SyntheticOptions::from_json(r#"{"venue": "kraken", "stepz": 1}"#)).contains("stepz"));
    }

    #[test]
    fn a_latent_synthetic_venue_may_carry_a_dislocation() {
        let o = SyntheticOptions::from_json(r#"{"latent_seed": 9, "dislocation": [1000, 2000, -300000000]}"#);
        let config = o.unwrap().config_for(Venue::Coinbase).unwrap();
        let latent = config.latent.expect("latent");
        assert_eq!(latent.dislocation, Some(Dislocation { start_ns: 1000, duration_ns: 2000, units: -300_000_000 }));
        assert_eq!(
            latent,
            SyntheticConfig::new(Venue::Coinbase, 7)
                .with_latent(9)
                .latent
                .map(|mut l| {
                    l.dislocation = Some(Dislocation { start_ns: 1000, duration_ns: 2000, units: -300_000_000 });
                    l
                })
                .unwrap()
        );
        let walk = SyntheticOptions::from_json(r#"{"dislocation": [1, 2, 3]}"#).unwrap();
        assert!(err(walk.config_for(Venue::Coinbase)).contains("needs latent_seed"));
    }

    #[test]
    fn market_options_build_each_venues_feed_and_the_instruments() {
        let doc = r#"{"venues": [
            {"venue": "coinbase", "synthetic": {"seed": 3, "steps": 100}, "pace": "fast", "max_attempts": 2},
            {"venue": "kraken", "symbols": ["XBT/USD"], "ws_base": "ws://127.0.0.1:9", "tls_ca_file": "ca.pem"}],
            "instruments": [["BTC-USD", {"coinbase": "BTC-USD", "kraken": "XBT/USD"}]],
            "ring_capacity": 64, "publish_every": 0.25}"#;
        let config = MarketOptions::from_json(doc).unwrap().config().unwrap();
        let (cb, kr) = (&config.venues[0], &config.venues[1]);
        match &cb.source {
            Source::Synthetic { config, pace } => {
                assert_eq!(**config, SyntheticConfig { steps: 100, ..SyntheticConfig::new(Venue::Coinbase, 3) });
                assert_eq!(*pace, Pace::Fast);
            }
            Source::Endpoints => panic!("coinbase is synthetic"),
        }
        assert_eq!(cb.feed.max_attempts, Some(2));
        assert!(matches!(kr.source, Source::Endpoints));
        assert_eq!(
            (kr.feed.ws_base.as_str(), kr.feed.symbols.clone()),
            ("ws://127.0.0.1:9", vec!["XBT/USD".to_string()])
        );
        assert_eq!(kr.feed.tls_ca_file, Some(PathBuf::from("ca.pem")));
        assert_eq!(
            config.instruments[0].legs,
            vec![(Venue::Coinbase, "BTC-USD".into()), (Venue::Kraken, "XBT/USD".into())]
        );
        assert_eq!((config.ring_capacity, config.publish_every), (64, Duration::from_millis(250)));
    }

    #[test]
    fn bad_market_options_name_what_is_wrong() {
        let m = |doc: &str| MarketOptions::from_json(doc).and_then(|o| o.config());
        assert!(err(m(r#"{"venues": [{"venue": "bitmex"}]}"#)).contains("venue=\"bitmex\""));
        assert!(err(m(r#"{"venues": [{"venue": "kraken", "wsbase": "x"}]}"#)).contains("unknown field `wsbase`"));
        assert!(err(m(r#"{"venues": [], "publish_every": -1}"#)).contains("publish_every=-1"));
        let bad_leg = r#"{"venues": [], "instruments": [["BTC-USD", {"ftx": "BTC/USD"}]]}"#;
        assert!(err(m(bad_leg)).contains("venue=\"ftx\""));
        let bad_pace = r#"{"venues": [{"venue": "kraken", "synthetic": {}, "pace": "soon"}]}"#;
        assert!(err(m(bad_pace)).contains("soon"));
    }

    #[test]
    fn a_written_synthetic_market_is_its_recording_and_summary() {
        let path = std::env::temp_dir().join(format!("wm-synth-options-{}.jsonl", std::process::id()));
        let config = SyntheticOptions::from_json(r#"{"venue": "coinbase", "seed": 2, "steps": 300, "gap_rate": 0.02}"#)
            .unwrap()
            .config()
            .unwrap();
        let summary = write_synthetic(&config, &path).unwrap();
        let market = generate(&config).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), market.recording);
        std::fs::remove_file(&path).unwrap();
        assert_eq!((summary.venue, summary.frames, summary.trades), ("coinbase", market.frames, market.trades));
        let mut faults = [summary.drop_frames.clone(), summary.corrupt_frames.clone()].concat();
        faults.sort_unstable();
        assert_eq!(faults, market.gaps);
        assert_eq!(summary.bids[0].0, market.truth.bids().next().unwrap().price.as_str());
        let bad = SyntheticConfig { gap_rate: 2.0, ..config };
        assert!(err(write_synthetic(&bad, &path)).contains("field=gap_rate"));
        assert!(!path.exists(), "nothing written for a bad config");
    }
}
