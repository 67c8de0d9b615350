//! Blocking entry points for callers without an async runtime: the Python bindings and the
//! `wintermute feeds serve` / `wintermute feeds watch` commands.
//!
//! Each call builds its own single-threaded tokio runtime, runs to its limit, and returns a plain
//! summary; nothing async leaks out. (The bindings release the GIL around them.)
//!
//! ```no_run
//! use std::time::Duration;
//! use wintermute_feeds::net::blocking::{watch_blocking, WatchLimits};
//! use wintermute_feeds::net::client::FeedConfig;
//! use wintermute_feeds::Venue;
//! let mut config = FeedConfig::new(Venue::Kraken, vec!["XBT/USD".into()]);
//! config.ws_base = "ws://127.0.0.1:9000".into(); // e.g. a `wintermute feeds serve` on this port
//! let limits = WatchLimits { duration: Duration::from_secs(10), max_frames: None };
//! let report = watch_blocking(&config, limits)?;
//! println!("{}", report.to_json());
//! # Ok::<(), wintermute_feeds::FeedError>(())
//! ```

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::{run_feed, stop_pair, FeedConfig, FeedCounters};
use super::replay_server::{Pace, ReplayOptions, ReplayServer, ReplayStats};
use crate::error::FeedError;
use crate::message::Venue;
use crate::recording::{read_recording, Record};
use crate::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks};
use crate::verify::{handler_report, venue_from_payload, venue_from_url, StreamReport, VerifyReport};

impl FromStr for Pace {
    type Err = FeedError;

    /// `fast`, `recorded` (speed 1), or a speed factor such as `10` or `0.5`.
    fn from_str(s: &str) -> Result<Pace, FeedError> {
        match s.trim() {
            "fast" => Ok(Pace::Fast),
            "recorded" => Ok(Pace::Recorded { speed: 1.0 }),
            other => match other.trim_start_matches('x').parse::<f64>() {
                Ok(speed) if speed > 0.0 && speed.is_finite() => Ok(Pace::Recorded { speed }),
                _ => Err(FeedError::Config {
                    field: "pace",
                    reason: format!("expected fast, recorded or a speed > 0, got {other:.40}"),
                }),
            },
        }
    }
}

/// The venue and symbols a recording subscribed to: Kraken's `pair` and Coinbase's
/// `product_ids` from the first subscribe frame sent, Binance's from the streams in the URL
/// (`btcusdt@depth@100ms` → `BTCUSDT`). What a `watch` of a served recording should ask for.
pub fn recorded_subscription(path: &Path) -> Result<(Venue, Vec<String>), FeedError> {
    let text = read_recording(path)?;
    let mut venue = None;
    for record in crate::recording::records(&text) {
        match record? {
            Record::Connect { url, .. } => {
                venue = venue.or_else(|| venue_from_url(&url));
                if let Some(streams) = url.split_once("streams=").map(|(_, s)| s) {
                    let mut symbols: Vec<String> = streams
                        .split('/')
                        .filter_map(|s| s.split_once('@'))
                        .map(|(s, _)| s.to_ascii_uppercase())
                        .collect();
                    symbols.sort();
                    symbols.dedup();
                    return Ok((Venue::Binance, symbols));
                }
            }
            Record::Sent { payload, .. } => {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&payload) else { continue };
                let list = v.get("pair").or_else(|| v.get("product_ids")).and_then(|l| l.as_array());
                let symbols: Vec<String> =
                    list.into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect();
                let venue = venue.or_else(|| venue_from_payload(&payload));
                if let (Some(venue), false) = (venue, symbols.is_empty()) {
                    return Ok((venue, symbols));
                }
            }
            _ => {}
        }
    }
    Err(FeedError::UnknownVenue { hint: format!("no subscription found in {}", path.display()) })
}

fn runtime() -> Result<tokio::runtime::Runtime, FeedError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| FeedError::Network {
        url: "<runtime>".into(),
        attempts: 0,
        message: e.to_string(),
    })
}

/// When [`replay_serve_blocking`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Return after this long (`None`: only when drained, or never).
    pub duration: Option<Duration>,
    /// Return once every recorded frame has been sent and every client has disconnected.
    pub exit_when_drained: bool,
}

/// Serves the recording at `path` (see [`ReplayServer`]) and blocks until `limits` say stop.
/// `on_ready(ws_url, rest_url)` is called once both listeners are bound.
pub fn replay_serve_blocking(
    path: &Path,
    options: ReplayOptions,
    limits: ServeLimits,
    on_ready: impl FnOnce(&str, &str),
) -> Result<ReplayStats, FeedError> {
    let text = read_recording(path)?;
    runtime()?.block_on(async move {
        let mut server = ReplayServer::start(&text, options).await?;
        on_ready(&server.ws_url(), &server.rest_url());
        let start = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if limits.duration.is_some_and(|d| start.elapsed() >= d) {
                break;
            }
            let st = server.stats();
            if limits.exit_when_drained && st.cursor == st.total && st.open_connections == 0 {
                break;
            }
        }
        let stats = server.stats();
        server.shutdown();
        Ok(stats)
    })
}

/// When [`watch_blocking`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLimits {
    /// Return after this long.
    pub duration: Duration,
    /// Return once this many frames have arrived.
    pub max_frames: Option<u64>,
}

/// What a [`watch_blocking`] session saw: the `verify` report's streams plus connector counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    /// Venue watched.
    pub venue: Venue,
    /// One entry per stream, as in [`VerifyReport`].
    pub streams: Vec<StreamReport>,
    /// Frames not attributable to a stream.
    pub errors: u64,
    /// Connector counters (connections, reconnects, resyncs, …).
    pub counters: FeedCounters,
    /// Wall time of the session in ms.
    pub elapsed_ms: u64,
}

impl WatchReport {
    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The streams as a [`VerifyReport`] (compare with `verify` of a recording).
    pub fn verify_report(&self) -> VerifyReport {
        VerifyReport { streams: self.streams.clone(), errors: self.errors }
    }
}

/// Connects per `config`, keeps the books in sync until `limits` say stop, and reports.
///
/// Binance with `binance_scales` runs on integer books ([`BinanceTickFeed`](crate::sync::BinanceTickFeed));
/// the report then gives prices as the canonical text of ticks × tick size. With
/// `binance_fetch_scales`, the missing scales are fetched first (Binance `exchangeInfo`).
pub fn watch_blocking(config: &FeedConfig, limits: WatchLimits) -> Result<WatchReport, FeedError> {
    watch_blocking_with(config, limits, Duration::MAX, |_, _| {})
}

/// [`watch_blocking`], calling `on_tick` with the books' current report and the connector's
/// counters on the first frame, then at most every `tick` while frames arrive (a live view).
pub fn watch_blocking_with(
    config: &FeedConfig,
    limits: WatchLimits,
    tick: Duration,
    mut on_tick: impl FnMut(&VerifyReport, &FeedCounters),
) -> Result<WatchReport, FeedError> {
    let rt = runtime()?;
    let on_tick: &mut dyn FnMut(&VerifyReport, &FeedCounters) = &mut on_tick;
    let mut filled;
    let config = if config.binance_fetch_scales {
        filled = config.clone();
        rt.block_on(super::exchange_info::fill_binance_scales(&mut filled))?;
        &filled
    } else {
        config
    };
    if let Some(books) = config.binance_tick_feed()? {
        return rt.block_on(watch(config, limits, books, tick, on_tick));
    }
    match config.venue {
        Venue::Binance => rt.block_on(watch(config, limits, BinanceBooks::new(), tick, on_tick)),
        Venue::Coinbase => rt.block_on(watch(config, limits, CoinbaseBooks::new(), tick, on_tick)),
        Venue::Kraken => rt.block_on(watch(config, limits, KrakenBooks::new(), tick, on_tick)),
    }
}

async fn watch<H: FeedHandler>(
    config: &FeedConfig,
    limits: WatchLimits,
    mut books: H,
    tick: Duration,
    on_tick: &mut dyn FnMut(&VerifyReport, &FeedCounters),
) -> Result<WatchReport, FeedError> {
    let start = Instant::now();
    let (handle, mut stop) = stop_pair();
    let max = limits.max_frames.unwrap_or(u64::MAX);
    let mut last_tick: Option<Instant> = None;
    let counters = {
        let feed = run_feed(config, &mut books, &mut stop, |h, c| {
            if last_tick.is_none_or(|t| t.elapsed() >= tick) {
                on_tick(&handler_report(h), c);
                last_tick = Some(Instant::now());
            }
            c.frames >= max
        });
        tokio::pin!(feed);
        tokio::select! {
            r = &mut feed => r?,
            () = tokio::time::sleep(limits.duration) => {
                handle.stop();
                feed.await?
            }
        }
    };
    let report = handler_report(&books);
    Ok(WatchReport {
        venue: config.venue,
        streams: report.streams,
        errors: report.errors,
        counters,
        elapsed_ms: start.elapsed().as_millis() as u64,
    })
}
