//! The connector: one venue's WebSocket session, kept alive and in sync, driving a
//! [`FeedHandler`] (the crate's book builders) frame by frame.
//!
//! ```text
//!  connect ──▶ subscribe ──▶ frames ──▶ handler.on_frame ──▶ event
//!     ▲                         │                              │ Buffered / Resync (Binance):
//!     │ backoff + jitter        │ no frame for idle_timeout,   │   GET the REST snapshot, on_http
//!     │                         │ close, error                 │ Resync (Coinbase, Kraken):
//!     └──── on_disconnect ◀─────┘ (books resync)               │   unsubscribe + subscribe
//! ```
//!
//! * **Keepalive.** After `keepalive_after` without a frame the connector pings (a WebSocket ping;
//!   Kraken's application-level `{"event":"ping"}`); after `idle_timeout` without any frame the
//!   connection is declared dead, closed, and reopened. Server pings are answered with pongs that
//!   echo the payload (tungstenite does this on the next read or flush; we flush at once).
//! * **Reconnect.** Exponential backoff with jitter ([`Backoff`]); `max_attempts` consecutive
//!   failed connects end the run with [`FeedError::Network`]. On every disconnect the handler's
//!   books of that connection resync ([`FeedHandler::on_disconnect`]): a book that missed frames
//!   is never patched, it waits for the next snapshot.
//! * **Resync.** Binance: diffs are buffered by [`BinanceBooks`](crate::sync::BinanceBooks) while
//!   one REST snapshot per symbol is in flight (fetched concurrently, the socket keeps being read);
//!   a stale or failed snapshot is fetched again after a backoff. Coinbase and Kraken: the books
//!   that resynced are resubscribed (at most once per `resubscribe_interval` per symbol), and the
//!   venue's new snapshot makes them live again.
//! * **Timestamps and recording.** Each frame gets a local receive time (ns since the epoch,
//!   [`FeedCounters::last_receive_ns`]); with `record` set, every connect, sent frame, received
//!   frame and REST body is written with [`RecordingWriter`], so the session replays later through
//!   `verify` or the [replay server](super::replay_server).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wintermute_feeds::FeedError> {
//! use wintermute_feeds::net::client::{run_feed, stop_pair, FeedConfig};
//! use wintermute_feeds::sync::KrakenBooks;
//! use wintermute_feeds::Venue;
//! let config = FeedConfig::new(Venue::Kraken, vec!["XBT/USD".into()]);
//! let (_stop_handle, mut stop) = stop_pair();
//! let mut books = KrakenBooks::new();
//! let counters = run_feed(&config, &mut books, &mut stop, |_, c| c.frames >= 1000).await?;
//! println!("{counters:?}");
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::FuturesUnordered;
use futures_util::{Future, SinkExt, StreamExt};
use rustls::ClientConfig;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

use super::endpoints::{self, Protocol};
use super::http;
use super::tls;
use crate::binance_ticks::TickScale;
use crate::error::FeedError;
use crate::message::{Symbol, Venue};
use crate::recording::{Record, RecordingWriter};
use crate::sync::{BinanceTickFeed, FeedEvent, FeedHandler, SyncState};

/// Reconnect delays: `initial * 2^attempt`, capped at `max`, minus up to `jitter` of itself at
/// random (so many clients do not reconnect in lockstep).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Fraction (0..=1) of the delay taken off at random.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(30), jitter: 0.5 }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` (0-based), given a uniform random number in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let factor = 2f64.powi(attempt.min(30) as i32);
        let full = (self.initial.as_secs_f64() * factor).min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64((full * (1.0 - jitter)).max(0.0))
    }
}

/// Default [`FeedConfig::binance_tick_window`].
pub const DEFAULT_BINANCE_TICK_WINDOW: usize = 1 << 16;

/// What to connect to and how to behave. [`FeedConfig::new`] gives the live endpoints and sane
/// timeouts; tests override `ws_base`/`rest_base` to point at 127.0.0.1.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Venue.
    pub venue: Venue,
    /// The venue's WebSocket API spoken (must be one of `venue`'s).
    pub protocol: Protocol,
    /// Symbols as the venue writes them (`BTCUSDT`, `BTC-USD`, `XBT/USD`).
    pub symbols: Vec<String>,
    /// WebSocket base URL (Binance: without `/stream?…`, which is added).
    pub ws_base: String,
    /// REST base URL (Binance snapshots).
    pub rest_base: String,
    /// Coinbase channels (the protocol's: Exchange `level2_batch`…, Advanced Trade `level2`…).
    pub coinbase_channels: Vec<String>,
    /// Kraken book depth (10, 25, 100, 500, 1000).
    pub kraken_depth: usize,
    /// Binance diff-depth stream name (`depth@100ms`, `depth`).
    pub binance_depth_stream: String,
    /// Binance REST snapshot `limit`.
    pub binance_snapshot_limit: u32,
    /// Limit on opening the WebSocket (TCP + handshake).
    pub connect_timeout: Duration,
    /// Ping after this long without a frame.
    pub keepalive_after: Duration,
    /// Declare the connection dead after this long without a frame.
    pub idle_timeout: Duration,
    /// Limit on one REST request.
    pub http_timeout: Duration,
    /// Reconnect (and snapshot retry) delays.
    pub backoff: Backoff,
    /// Consecutive failed connects before giving up (`None`: never).
    pub max_attempts: Option<u32>,
    /// Least time between two resubscriptions of one symbol.
    pub resubscribe_interval: Duration,
    /// Write the session to this file in the Wintermute recording format.
    pub record: Option<PathBuf>,
    /// Extra trusted certificate authorities (a PEM file) for `wss://` and `https://`, on top of
    /// Mozilla's roots (see [`super::tls`]); for a TLS-inspecting proxy or a private endpoint.
    pub tls_ca_file: Option<PathBuf>,
    /// Binance on integer books: each symbol's tick size and lot size (`exchangeInfo`
    /// `PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`). Empty (the default): the decimal builder.
    /// Given, it must name every subscribed symbol, and only those (see
    /// [`FeedConfig::binance_tick_feed`]).
    pub binance_scales: Vec<(String, TickScale)>,
    /// Ticks per side in the dense window of each integer book (a multiple of 64 in 64..=2^20;
    /// default 65,536: about 1 MiB per symbol, and a 1,000-level snapshot mostly inside the
    /// window, which measured 14% faster than 4,096 on the recorded session).
    pub binance_tick_window: usize,
    /// Fetch the scales of subscribed symbols that have none from Binance's
    /// `GET /api/v3/exchangeInfo` (at `rest_base`) before connecting; see
    /// [`super::exchange_info::fill_binance_scales`] (which [`watch_blocking`](super::blocking::watch_blocking)
    /// calls).
    pub binance_fetch_scales: bool,
}

impl FeedConfig {
    /// Live endpoints for `venue`'s default protocol ([`Protocol::default_for`]), default
    /// channels and timeouts.
    pub fn new(venue: Venue, symbols: Vec<String>) -> Self {
        Self::for_protocol(Protocol::default_for(venue), symbols)
    }

    /// Live endpoints for `protocol`, its default channels, and default timeouts.
    pub fn for_protocol(protocol: Protocol, symbols: Vec<String>) -> Self {
        FeedConfig {
            venue: protocol.venue(),
            protocol,
            symbols,
            ws_base: protocol.default_ws().to_string(),
            rest_base: endpoints::BINANCE_REST.to_string(),
            coinbase_channels: protocol.default_channels(),
            kraken_depth: 1000,
            binance_depth_stream: "depth@100ms".to_string(),
            binance_snapshot_limit: 1000,
            connect_timeout: Duration::from_secs(10),
            keepalive_after: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            max_attempts: None,
            resubscribe_interval: Duration::from_secs(1),
            record: None,
            tls_ca_file: None,
            binance_scales: Vec::new(),
            binance_tick_window: DEFAULT_BINANCE_TICK_WINDOW,
            binance_fetch_scales: false,
        }
    }

    /// The integer-book builder for this configuration: `None` when no scale is given (the
    /// decimal builder runs); an error when scales are given for another venue, or when they
    /// do not name exactly the subscribed symbols (a symbol without a scale cannot be read into
    /// an integer book; a scale for a symbol not subscribed is most likely a typo).
    pub fn binance_tick_feed(&self) -> Result<Option<BinanceTickFeed>, FeedError> {
        let err = |reason: String| FeedError::Config { field: "binance_scales", reason };
        if self.binance_fetch_scales {
            let why = "binance_fetch_scales is set: fetch them first (exchange_info::fill_binance_scales)";
            return Err(err(why.into()));
        }
        if self.binance_scales.is_empty() {
            return Ok(None);
        }
        if self.venue != Venue::Binance {
            return Err(err(format!("tick scales are for binance, not venue={}", self.venue.name())));
        }
        let upper = |s: &String| s.to_ascii_uppercase();
        let scaled: Vec<String> = self.binance_scales.iter().map(|(s, _)| upper(s)).collect();
        let subscribed: Vec<String> = self.symbols.iter().map(upper).collect();
        let missing: Vec<&String> = subscribed.iter().filter(|s| !scaled.contains(s)).collect();
        if !missing.is_empty() {
            return Err(err(format!(
                "no tick scale for symbols={missing:?}: give one for every subscribed symbol or none"
            )));
        }
        let extra: Vec<&String> = scaled.iter().filter(|s| !subscribed.contains(s)).collect();
        if !extra.is_empty() {
            return Err(err(format!("tick scales for symbols={extra:?} that are not subscribed")));
        }
        BinanceTickFeed::new(&self.binance_scales, self.binance_tick_window).map(Some)
    }

    /// The WebSocket URL opened.
    pub fn ws_url(&self) -> String {
        endpoints::ws_url(self.protocol, &self.ws_base, &self.symbols, &self.binance_depth_stream)
    }
}

/// Counters of a run, across reconnects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedCounters {
    /// WebSocket connections opened.
    pub connections: u64,
    /// Of those, reconnections.
    pub reconnects: u64,
    /// Connect attempts that failed.
    pub connect_failures: u64,
    /// Connections declared dead (no frame for `idle_timeout`).
    pub dead_connections: u64,
    /// Connections closed by the peer or broken.
    pub disconnects: u64,
    /// Text frames received.
    pub frames: u64,
    /// Frames the handler rejected, binary frames, recorder failures.
    pub errors: u64,
    /// Books discarded (gap, checksum mismatch, malformed frame, disconnect).
    pub resyncs: u64,
    /// Snapshots loaded (WebSocket or REST).
    pub snapshots: u64,
    /// REST snapshot requests sent.
    pub snapshot_requests: u64,
    /// REST snapshot requests that failed or came back stale.
    pub snapshot_retries: u64,
    /// Resubscriptions sent (Coinbase, Kraken).
    pub resubscribes: u64,
    /// Pings we sent.
    pub pings_sent: u64,
    /// Pings the server sent (answered).
    pub pings_received: u64,
    /// Local receive time of the last frame, ns since the epoch.
    pub last_receive_ns: i64,
}

/// Tells a running connector to stop (see [`stop_pair`]).
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl StopHandle {
    /// Asks the connector to close its connection and return.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// The connector's end of [`stop_pair`].
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                // The handle is gone: nobody can stop us any more; wait forever.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A stop handle and the signal a connector watches.
pub fn stop_pair() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), Stop(rx))
}

/// Local time in ns since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// A small splitmix64 for jitter (no cryptographic use).
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        Jitter(now_ns() as u64 ^ 0x9E37_79B9_7F4A_7C15)
    }

    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / (u64::MAX as f64 + 1.0)
    }
}

type Recorder = RecordingWriter<BufWriter<File>>;
type Fetch = Pin<Box<dyn Future<Output = (Symbol, String, Result<String, FeedError>)> + Send>>;

enum SessionEnd {
    Stopped,
    Done,
    Closed { got_frames: bool },
}

struct Run<'a, H, D> {
    config: &'a FeedConfig,
    handler: &'a mut H,
    done: D,
    counters: FeedCounters,
    recorder: Option<Recorder>,
    jitter: Jitter,
    tls: Arc<ClientConfig>,
}

/// Runs a venue's feed into `handler` until `stop` fires, `done(handler, counters)` returns true
/// (checked after every frame and snapshot), or `max_attempts` connects in a row fail.
pub async fn run_feed<H, D>(
    config: &FeedConfig,
    handler: &mut H,
    stop: &mut Stop,
    done: D,
) -> Result<FeedCounters, FeedError>
where
    H: FeedHandler,
    D: FnMut(&H, &FeedCounters) -> bool,
{
    if handler.venue() != config.venue {
        return Err(FeedError::Config { field: "venue", reason: "the handler is for another venue".into() });
    }
    if config.protocol.venue() != config.venue {
        let reason = format!("protocol {} is not a {:?} protocol", config.protocol, config.venue);
        return Err(FeedError::Config { field: "protocol", reason });
    }
    let tls = tls::client_config(config.tls_ca_file.as_deref())?;
    let recorder = match &config.record {
        None => None,
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| FeedError::Io { path: path.display().to_string(), message: e.to_string() })?;
            Some(RecordingWriter::new(BufWriter::new(file))?)
        }
    };
    let mut run =
        Run { config, handler, done, counters: FeedCounters::default(), recorder, jitter: Jitter::new(), tls };
    let result = run.reconnect_loop(stop).await;
    if let Some(r) = run.recorder.take() {
        r.into_inner()?;
    }
    result.map(|()| run.counters)
}

impl<H, D> Run<'_, H, D>
where
    H: FeedHandler,
    D: FnMut(&H, &FeedCounters) -> bool,
{
    async fn reconnect_loop(&mut self, stop: &mut Stop) -> Result<(), FeedError> {
        let url = self.config.ws_url();
        let mut failures = 0u32;
        loop {
            if stop.is_set() {
                return Ok(());
            }
            match self.session(&url, stop).await {
                Ok(SessionEnd::Stopped | SessionEnd::Done) => return Ok(()),
                Ok(SessionEnd::Closed { got_frames }) => {
                    if got_frames {
                        failures = 0;
                    }
                }
                Err(e) => {
                    self.counters.connect_failures += 1;
                    failures += 1;
                    if self.config.max_attempts.is_some_and(|m| failures >= m) {
                        let message = e.to_string();
                        return Err(FeedError::Network { url, attempts: failures, message });
                    }
                }
            }
            let delay = self.config.backoff.delay(failures, self.jitter.unit());
            tokio::select! {
                _ = stop.wait() => return Ok(()),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    fn record(&mut self, record: Record<'_>) {
        if let Some(r) = &mut self.recorder {
            if r.write(&record).is_err() {
                self.counters.errors += 1;
            }
        }
    }

    /// One connection: Err only when it could not be opened.
    async fn session(&mut self, url: &str, stop: &mut Stop) -> Result<SessionEnd, FeedError> {
        let cfg = self.config;
        let tls = Some(Connector::Rustls(Arc::clone(&self.tls)));
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, tls);
        let mut ws = match tokio::time::timeout(cfg.connect_timeout, connect).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return Err(FeedError::Network { url: url.into(), attempts: 0, message: e.to_string() }),
            Err(_) => {
                return Err(FeedError::Network { url: url.into(), attempts: 0, message: "connect timed out".into() })
            }
        };
        let conn = self.counters.connections as u32;
        self.counters.connections += 1;
        if conn > 0 {
            self.counters.reconnects += 1;
        }
        self.handler.on_connect(conn, url);
        self.record(Record::Connect { conn, url: url.into(), ts: now_ns() });
        let mut s = SessionState::default();
        let subscribe =
            endpoints::subscribe_frames(cfg.protocol, &cfg.symbols, cfg.kraken_depth, &cfg.coinbase_channels);
        for frame in subscribe {
            if ws.send(Message::text(frame.clone())).await.is_err() {
                return Ok(self.end(conn, SessionEnd::Closed { got_frames: false }));
            }
            self.handler.on_sent(conn, &frame);
            self.record(Record::Sent { conn, url: url.into(), ts: now_ns(), payload: frame.into() });
        }
        // The subscription just sent asks for fresh snapshots of every book: no resubscription
        // before `resubscribe_interval` has passed without one.
        let now = Instant::now();
        for st in self.handler.streams() {
            s.resubscribed.insert(st.symbol, now);
        }
        let mut last_rx = Instant::now();
        let mut pinged = false;
        let mut got_frames = false;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = last_rx + if pinged { cfg.idle_timeout } else { cfg.keepalive_after.min(cfg.idle_timeout) };
            tokio::select! {
                _ = stop.wait() => {
                    let _ = ws.close(None).await;
                    return Ok(self.end(conn, SessionEnd::Stopped));
                }
                Some((symbol, req, result)) = s.fetches.next(), if !s.fetches.is_empty() => {
                    s.fetching.remove(&symbol);
                    self.on_snapshot_response(conn, &mut s, symbol, &req, result);
                    if (self.done)(self.handler, &self.counters) {
                        return Ok(self.end(conn, SessionEnd::Done));
                    }
                }
                _ = tick.tick() => self.maintain(conn, &mut s, &mut ws).await,
                _ = tokio::time::sleep_until(deadline) => {
                    if pinged || last_rx + cfg.idle_timeout <= Instant::now() {
                        self.counters.dead_connections += 1;
                        return Ok(self.end(conn, SessionEnd::Closed { got_frames }));
                    }
                    pinged = true;
                    self.counters.pings_sent += 1;
                    let ping = match endpoints::app_ping(cfg.protocol, self.counters.pings_sent) {
                        Some(frame) => Message::text(frame),
                        None => Message::Ping(b"wintermute".to_vec().into()),
                    };
                    if ws.send(ping).await.is_err() {
                        self.counters.disconnects += 1;
                        return Ok(self.end(conn, SessionEnd::Closed { got_frames }));
                    }
                }
                msg = ws.next() => {
                    let msg = match msg {
                        Some(Ok(m)) => m,
                        Some(Err(_)) | None => {
                            self.counters.disconnects += 1;
                            return Ok(self.end(conn, SessionEnd::Closed { got_frames }));
                        }
                    };
                    last_rx = Instant::now();
                    pinged = false;
                    match msg {
                        Message::Text(text) => {
                            got_frames = true;
                            self.on_text(conn, &mut s, text.as_str());
                            self.maintain_now(conn, &mut s, &mut ws).await;
                            if (self.done)(self.handler, &self.counters) {
                                return Ok(self.end(conn, SessionEnd::Done));
                            }
                        }
                        Message::Ping(_) => {
                            self.counters.pings_received += 1;
                            // The pong is queued by tungstenite; send it now.
                            let _ = ws.flush().await;
                        }
                        Message::Pong(_) | Message::Frame(_) => {}
                        Message::Binary(_) => self.counters.errors += 1,
                        Message::Close(_) => {
                            self.counters.disconnects += 1;
                            return Ok(self.end(conn, SessionEnd::Closed { got_frames }));
                        }
                    }
                }
            }
        }
    }

    /// Ends a session. A lost connection discards its books (they may have missed frames); a
    /// deliberate stop or a finished run keeps them, so the final report shows the last state.
    fn end(&mut self, conn: u32, end: SessionEnd) -> SessionEnd {
        if matches!(end, SessionEnd::Closed { .. }) {
            self.counters.resyncs += self.handler.on_disconnect(conn) as u64;
        }
        end
    }

    fn on_text(&mut self, conn: u32, s: &mut SessionState, text: &str) {
        let ts = now_ns();
        self.counters.frames += 1;
        self.counters.last_receive_ns = ts;
        self.record(Record::Received { conn, ts, payload: text.into() });
        match self.handler.on_frame_at(conn, text, ts) {
            Ok(FeedEvent::Buffered(symbol)) => {
                s.diffs_seen.insert(symbol);
                s.want_snapshot.push(symbol);
            }
            Ok(FeedEvent::Resync { symbol, .. }) => {
                self.counters.resyncs += 1;
                s.diffs_seen.insert(symbol);
                s.want_snapshot.push(symbol);
            }
            Ok(FeedEvent::Snapshot(symbol)) => {
                self.counters.snapshots += 1;
                s.resubscribed.remove(&symbol);
            }
            Ok(_) => {}
            Err(_) => {
                self.counters.errors += 1;
                // A malformed frame may have resynced books (Coinbase: the connection's; Kraken: a cut
                // book frame naming no pair): look for books that are no longer live.
                s.check_resyncing = true;
            }
        }
    }

    fn on_snapshot_response(
        &mut self,
        conn: u32,
        s: &mut SessionState,
        symbol: Symbol,
        url: &str,
        result: Result<String, FeedError>,
    ) {
        let event = match result {
            Ok(body) => {
                self.record(Record::Http { conn, url: url.into(), ts: now_ns(), body: body.as_str().into() });
                self.handler.on_http(conn, url, &body)
            }
            Err(e) => Err(e),
        };
        let attempt = s.retries.entry(symbol).or_default();
        match event {
            Ok(FeedEvent::Snapshot(_)) => {
                self.counters.snapshots += 1;
                *attempt = 0;
                s.retry_at.remove(&symbol);
            }
            Ok(FeedEvent::Resync { .. }) => {
                // Loaded, but the buffered diffs after it have a gap: fetch again now.
                self.counters.resyncs += 1;
                s.want_snapshot.push(symbol);
            }
            Ok(_) | Err(_) => {
                self.counters.snapshot_retries += 1;
                let delay = self.config.backoff.delay(*attempt, self.jitter.unit());
                *attempt = attempt.saturating_add(1);
                s.retry_at.insert(symbol, Instant::now() + delay);
            }
        }
    }

    /// Starts wanted snapshot fetches (Binance) or resubscriptions (Coinbase, Kraken).
    async fn maintain_now<S>(&mut self, conn: u32, s: &mut SessionState, ws: &mut S)
    where
        S: futures_util::Sink<Message> + Unpin,
    {
        if s.want_snapshot.is_empty() && !s.check_resyncing {
            return;
        }
        self.maintain(conn, s, ws).await;
    }

    async fn maintain<S>(&mut self, conn: u32, s: &mut SessionState, ws: &mut S)
    where
        S: futures_util::Sink<Message> + Unpin,
    {
        let cfg = self.config;
        let now = Instant::now();
        let mut wanted = std::mem::take(&mut s.want_snapshot);
        // Books that are not live and have nothing in flight (retries after a backoff). Binance
        // fetches a snapshot only once this connection has buffered a diff of the symbol (the
        // documented order: open the stream, buffer, then fetch).
        for st in self.handler.streams() {
            let wants = match cfg.venue {
                Venue::Binance => st.state != SyncState::Live && s.diffs_seen.contains(&st.symbol),
                Venue::Coinbase | Venue::Kraken => st.state == SyncState::Resyncing,
            };
            if wants {
                wanted.push(st.symbol);
            }
        }
        s.check_resyncing = false;
        wanted.sort();
        wanted.dedup();
        let mut resubscribe = Vec::new();
        for symbol in wanted {
            if s.retry_at.get(&symbol).is_some_and(|t| *t > now) {
                continue;
            }
            match cfg.venue {
                Venue::Binance => {
                    if s.fetching.insert(symbol) {
                        self.counters.snapshot_requests += 1;
                        let url = endpoints::binance_snapshot_url(
                            &cfg.rest_base,
                            symbol.as_str(),
                            cfg.binance_snapshot_limit,
                        );
                        let timeout = cfg.http_timeout;
                        let tls = Arc::clone(&self.tls);
                        s.fetches.push(Box::pin(async move {
                            let result = http::get(&url, timeout, &tls).await;
                            (symbol, url, result)
                        }));
                    }
                }
                Venue::Coinbase | Venue::Kraken => {
                    let recent = s.resubscribed.get(&symbol).is_some_and(|t| now < *t + cfg.resubscribe_interval);
                    if !recent {
                        s.resubscribed.insert(symbol, now);
                        resubscribe.push(symbol.as_str().to_string());
                    }
                }
            }
        }
        if resubscribe.is_empty() {
            return;
        }
        self.counters.resubscribes += resubscribe.len() as u64;
        for frame in endpoints::resubscribe_frames(cfg.protocol, &resubscribe, cfg.kraken_depth, &cfg.coinbase_channels)
        {
            if ws.send(Message::text(frame.clone())).await.is_err() {
                return;
            }
            self.handler.on_sent(conn, &frame);
            let url = cfg.ws_url();
            self.record(Record::Sent { conn, url: url.into(), ts: now_ns(), payload: frame.into() });
        }
    }
}

#[derive(Default)]
struct SessionState {
    fetches: FuturesUnordered<Fetch>,
    fetching: HashSet<Symbol>,
    retries: HashMap<Symbol, u32>,
    retry_at: HashMap<Symbol, Instant>,
    resubscribed: HashMap<Symbol, Instant>,
    want_snapshot: Vec<Symbol>,
    diffs_seen: HashSet<Symbol>,
    check_resyncing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1), jitter: 0.5 };
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(800));
        assert_eq!(b.delay(10, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        let mut j = Jitter::new();
        for _ in 0..1000 {
            let u = j.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
