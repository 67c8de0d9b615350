//! A local exchange: serves a recording over WebSocket (and Binance's REST snapshot over HTTP) in
//! the venue's own protocol, so connectors are tested end to end without the internet.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wintermute_feeds::FeedError> {
//! use wintermute_feeds::net::replay_server::{Pace, ReplayOptions, ReplayServer};
//! let text = std::fs::read_to_string("data/kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt").unwrap();
//! let server = ReplayServer::start(&text, ReplayOptions { pace: Pace::Fast, ..Default::default() }).await?;
//! println!("connect to {} (REST at {})", server.ws_url(), server.rest_url());
//! # Ok(()) }
//! ```
//!
//! # What it serves
//!
//! The recording's received frames, in order, on a **single cursor shared by all connections**:
//! the "exchange" moves on; a client that reconnects continues where the previous connection
//! stopped (frames are never replayed twice). Per venue:
//!
//! * **Binance**: streams start when the WebSocket opens (the streams are in the URL; the path is
//!   kept in [`ReplayStats::paths`]). `GET /api/v3/depth?symbol=S&limit=N` on
//!   [`ReplayServer::rest_url`] returns the recorded snapshot of `S` the first time, then a
//!   snapshot of the reference book (the recording so far, run through our own builders) at the
//!   current cursor, so a client that re-fetches after a gap gets a snapshot that chains to the
//!   diffs it is receiving.
//! * **Coinbase, Kraken**: the server waits for a subscribe frame. On the first connection the
//!   recording is served as recorded (its own subscription replies and snapshots first). A later
//!   subscribe (after a reconnect, or a resubscribe after a checksum mismatch) is answered with
//!   fresh snapshots of the reference books it names, then the recording continues. Kraken's
//!   `{"event":"ping"}` is answered with `{"event":"pong"}`.
//! * **Second protocols**: a connection whose subscribe frame is Kraken v2's
//!   (`{"method":"subscribe",…}`) or Coinbase Advanced Trade's (`"channel":"level2"`) is served
//!   the same recording translated into that protocol (see [`super::dialect`]): a v1 recording
//!   tests the v2 connector, an Exchange recording the Advanced Trade one, on real traffic.
//!
//! Pace: [`Pace::Recorded`] keeps the recorded gaps between receive timestamps (divided by a speed
//! factor); [`Pace::Fast`] sends as fast as the socket takes them.
//!
//! # Faults
//!
//! [`Fault`]s name a frame by its 0-based index among the recorded received frames and fire once:
//! drop it, send it twice, swap it with the next, corrupt it, send garbage after it, close the
//! TCP connection abruptly after it (no close frame), or stall after it (send nothing, read
//! nothing, until the client gives up).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::dialect::{Dialect, Translator};
use super::http;
use super::reference::Reference;
use crate::error::FeedError;
use crate::message::Venue;
use crate::recording::{records, Record};
use crate::verify::{venue_from_payload, venue_from_url};

/// How fast frames are sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// The recorded gaps between frames, divided by `speed` (2.0 = twice as fast).
    Recorded {
        /// Speed factor (> 0).
        speed: f64,
    },
    /// As fast as the socket takes them.
    Fast,
}

/// A fault injected at recorded frame `k` (0-based among received frames); each fires once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Frame k is not sent.
    Drop(usize),
    /// Frame k is sent twice.
    Duplicate(usize),
    /// Frames k and k+1 are sent in reverse order.
    Swap(usize),
    /// Frame k is cut in half and sent (invalid JSON).
    Corrupt(usize),
    /// After frame k, a garbage text frame is sent.
    Garbage(usize),
    /// After frame k, the TCP connection is dropped without a close frame.
    CloseAfter(usize),
    /// After frame k, the server goes silent on that connection (no frames, no pongs).
    StallAfter(usize),
}

impl Fault {
    fn at(&self) -> usize {
        match *self {
            Fault::Drop(k)
            | Fault::Duplicate(k)
            | Fault::Swap(k)
            | Fault::Corrupt(k)
            | Fault::Garbage(k)
            | Fault::CloseAfter(k)
            | Fault::StallAfter(k) => k,
        }
    }
}

/// The garbage frame [`Fault::Garbage`] sends.
pub const GARBAGE: &str = "\u{1}garbage{{not json";

/// Server options.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// WebSocket listen address (default `127.0.0.1:0`, a free port).
    pub addr: SocketAddr,
    /// HTTP (REST snapshot) listen address (default `127.0.0.1:0`).
    pub http_addr: SocketAddr,
    /// Pace.
    pub pace: Pace,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Send a WebSocket ping this often (the client must answer with a pong).
    pub ping_every: Option<Duration>,
    /// Send a close frame once the recording is exhausted (default: stay open and idle).
    pub close_at_end: bool,
    /// The venue, when the recording's URLs and frames do not tell.
    pub venue: Option<Venue>,
    /// Answer this many REST depth requests with HTTP 429 before serving any (rate-limit drill).
    pub rest_failures: u32,
    /// `(symbol, tick_size, lot_size)` served at `GET /api/v3/exchangeInfo` (Binance's shape,
    /// see [`super::exchange_info`]); empty: that path is refused like any unknown one.
    pub binance_exchange_info: Vec<(String, String, String)>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pace: Pace::Recorded { speed: 1.0 },
            faults: Vec::new(),
            ping_every: None,
            close_at_end: false,
            venue: None,
            rest_failures: 0,
            binance_exchange_info: Vec::new(),
        }
    }
}

/// What the server has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// WebSocket connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open_connections: u64,
    /// Request paths of those connections (Binance's streams are in them).
    pub paths: Vec<String>,
    /// Subscribe frames received, as sent by the client.
    pub subscribes: Vec<String>,
    /// Text frames sent (recorded, duplicated, synthesized, garbage, pongs to app-level pings).
    pub frames_sent: u64,
    /// Recorded frames consumed (the cursor).
    pub cursor: usize,
    /// Recorded frames in all.
    pub total: usize,
    /// Snapshots synthesized from the reference books (WebSocket resubscriptions).
    pub ws_snapshots: u64,
    /// REST snapshot requests answered with the recorded body.
    pub rest_recorded: u64,
    /// REST snapshot requests answered from the reference book.
    pub rest_synthesized: u64,
    /// REST requests refused (unknown path or symbol, or a `rest_failures` drill).
    pub rest_refused: u64,
    /// Pongs received (answers to our pings).
    pub pongs: u64,
    /// Kraken application-level pings answered.
    pub app_pings: u64,
}

struct RecordedSnapshot {
    /// Received frames before it in the recording.
    position: usize,
    symbol: String,
    url: String,
    body: String,
}

struct State {
    reference: Reference,
    /// Recorded frames fed to `reference` so far (it lags the cursor until needed).
    fed: usize,
    next_snapshot: usize,
    served_recorded: HashSet<String>,
    faults: Vec<Fault>,
    stats: ReplayStats,
}

struct Shared {
    venue: Venue,
    frames: Vec<(i64, String)>,
    snapshots: Vec<RecordedSnapshot>,
    options: ReplayOptions,
    state: Mutex<State>,
}

/// What to do after sending a step's frames.
enum After {
    Continue,
    Close,
    Stall,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind: keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the cursor past one recorded frame (two for a swap), feeding the reference with the
    /// originals, and returns what goes on the wire.
    fn take(&self, st: &mut State, tr: &mut Translator) -> Option<(Vec<String>, After)> {
        let k = st.stats.cursor;
        let (_, recorded) = self.frames.get(k)?;
        // Translated before the fault: a dropped frame still used its sequence number.
        let frame = &tr.translate(recorded);
        let fault = st.faults.iter().position(|f| f.at() == k).map(|i| st.faults.swap_remove(i));
        let mut out = Vec::with_capacity(2);
        let mut after = After::Continue;
        let mut consumed = 1;
        match fault {
            None => out.push(frame.clone()),
            Some(Fault::Drop(_)) => {}
            Some(Fault::Duplicate(_)) => out.extend([frame.clone(), frame.clone()]),
            Some(Fault::Swap(_)) => {
                if let Some((_, next)) = self.frames.get(k + 1) {
                    out.push(tr.translate(next));
                    consumed = 2;
                }
                out.push(frame.clone());
            }
            Some(Fault::Corrupt(_)) => {
                let mut cut = frame.len() / 2;
                while !frame.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push(format!("{}#corrupt", &frame[..cut]));
            }
            Some(Fault::Garbage(_)) => out.extend([frame.clone(), GARBAGE.to_string()]),
            Some(Fault::CloseAfter(_)) => {
                out.push(frame.clone());
                after = After::Close;
            }
            Some(Fault::StallAfter(_)) => {
                out.push(frame.clone());
                after = After::Stall;
            }
        }
        st.stats.cursor = k + consumed;
        Some((out, after))
    }

    /// Brings the reference books up to the cursor. Lazy: only a request for a fresh snapshot
    /// pays for it, so a clean replay costs the server nothing but the sends.
    fn catch_up(&self, st: &mut State) {
        while st.fed < st.stats.cursor {
            let i = st.fed;
            while let Some(s) = self.snapshots.get(st.next_snapshot).filter(|s| s.position <= i) {
                st.reference.feed_http(&s.url, &s.body);
                st.next_snapshot += 1;
            }
            if let Some((_, frame)) = self.frames.get(i) {
                st.reference.feed_frame(self.venue, frame);
            }
            st.fed += 1;
        }
    }

    /// The body of a REST depth request for `symbol`, and whether it came from the recording.
    fn rest_snapshot(&self, symbol: &str, limit: usize) -> Option<(String, bool)> {
        let mut st = self.lock();
        let recorded = self.snapshots.iter().find(|s| s.symbol == symbol);
        if let Some(r) = recorded.filter(|_| !st.served_recorded.contains(symbol)) {
            st.served_recorded.insert(symbol.to_string());
            st.stats.rest_recorded += 1;
            return Some((r.body.clone(), true));
        }
        self.catch_up(&mut st);
        if let Some(body) = st.reference.binance_snapshot(symbol, limit) {
            st.stats.rest_synthesized += 1;
            return Some((body, false));
        }
        // Not live in the reference yet: the recorded snapshot is the best there is.
        let body = recorded?.body.clone();
        st.stats.rest_recorded += 1;
        Some((body, true))
    }
}

/// A running replay server; dropping it stops it.
pub struct ReplayServer {
    ws_addr: SocketAddr,
    http_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn net_err(addr: SocketAddr, e: impl std::fmt::Display) -> FeedError {
    FeedError::Network { url: addr.to_string(), attempts: 0, message: e.to_string() }
}

/// A recording split for serving: venue, received frames `(ts, text)`, REST snapshots.
type Loaded = (Venue, Vec<(i64, String)>, Vec<RecordedSnapshot>);

/// Splits a recording into the frames and snapshots a server replays.
fn load(text: &str, venue: Option<Venue>) -> Result<Loaded, FeedError> {
    let mut frames = Vec::new();
    let mut snapshots = Vec::new();
    let mut venue = venue;
    for record in records(text) {
        match record? {
            Record::Connect { url, .. } => venue = venue.or_else(|| venue_from_url(&url)),
            Record::Sent { .. } => {}
            Record::Received { ts, payload, .. } => {
                venue = venue.or_else(|| venue_from_payload(&payload));
                frames.push((ts, payload.into_owned()));
            }
            Record::Http { url, body, .. } => {
                if let Some(symbol) = crate::binance::snapshot_symbol(&url) {
                    let symbol = symbol.to_ascii_uppercase();
                    snapshots.push(RecordedSnapshot {
                        position: frames.len(),
                        symbol,
                        url: url.into_owned(),
                        body: body.into_owned(),
                    });
                }
            }
        }
    }
    let venue = venue.ok_or_else(|| FeedError::UnknownVenue { hint: "replay recording".into() })?;
    Ok((venue, frames, snapshots))
}

impl ReplayServer {
    /// Loads a recording (any format [`crate::recording`] reads), binds both listeners and starts
    /// serving. Must be called inside a tokio runtime.
    pub async fn start(recording: &str, options: ReplayOptions) -> Result<ReplayServer, FeedError> {
        if let Pace::Recorded { speed } = options.pace {
            if !(speed > 0.0 && speed.is_finite()) {
                return Err(FeedError::Config { field: "pace.speed", reason: format!("must be > 0, got {speed}") });
            }
        }
        let (venue, frames, snapshots) = load(recording, options.venue)?;
        let ws = TcpListener::bind(options.addr).await.map_err(|e| net_err(options.addr, e))?;
        let web = TcpListener::bind(options.http_addr).await.map_err(|e| net_err(options.http_addr, e))?;
        let ws_addr = ws.local_addr().map_err(|e| net_err(options.addr, e))?;
        let http_addr = web.local_addr().map_err(|e| net_err(options.http_addr, e))?;
        let stats = ReplayStats { total: frames.len(), ..Default::default() };
        let state = State {
            reference: Reference::default(),
            fed: 0,
            next_snapshot: 0,
            served_recorded: HashSet::new(),
            faults: options.faults.clone(),
            stats,
        };
        let shared = Arc::new(Shared { venue, frames, snapshots, options, state: Mutex::new(state) });
        let (stop, stop_rx) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(accept_ws(ws, shared.clone(), stop_rx.clone())),
            tokio::spawn(accept_http(web, shared.clone(), stop_rx)),
        ];
        Ok(ReplayServer { ws_addr, http_addr, shared, stop, tasks })
    }

    /// The venue served.
    pub fn venue(&self) -> Venue {
        self.shared.venue
    }

    /// `ws://127.0.0.1:PORT` (a connector's WebSocket base URL).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    /// `http://127.0.0.1:PORT` (a connector's REST base URL).
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Counters so far.
    pub fn stats(&self) -> ReplayStats {
        self.shared.lock().stats.clone()
    }

    /// Stops serving and closes every connection.
    pub fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_ws(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve_ws(stream, shared.clone(), stop.clone()));
                }
            }
        }
    }
}

async fn accept_http(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(10), serve_http(stream, &shared)).await;
                    });
                }
            }
        }
    }
}

fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

async fn serve_http(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let line = http::read_request_head(&mut stream).await?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let depth_path = path.ends_with("/depth") && path.starts_with("/api/");
    if method == "GET" && path == "/api/v3/exchangeInfo" && !shared.options.binance_exchange_info.is_empty() {
        let body = super::exchange_info::exchange_info_body(&shared.options.binance_exchange_info);
        return http::write_response(&mut stream, 200, "OK", &body).await;
    }
    let symbol = query_param(target, "symbol").map(str::to_ascii_uppercase);
    let limit = query_param(target, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).min(5000);
    let drill = {
        let mut st = shared.lock();
        let failing = st.stats.rest_refused < u64::from(shared.options.rest_failures);
        if failing {
            st.stats.rest_refused += 1;
        }
        failing
    };
    if drill {
        let body = r#"{"code":-1003,"msg":"Too many requests."}"#;
        return http::write_response(&mut stream, 429, "Too Many Requests", body).await;
    }
    let answer = match (method, depth_path, symbol) {
        ("GET", true, Some(sym)) => shared.rest_snapshot(&sym, limit),
        _ => None,
    };
    match answer {
        Some((body, _)) => http::write_response(&mut stream, 200, "OK", &body).await,
        None => {
            shared.lock().stats.rest_refused += 1;
            let body = r#"{"code":-1121,"msg":"Invalid symbol."}"#;
            http::write_response(&mut stream, 400, "Bad Request", body).await
        }
    }
}

/// Symbols named by a subscribe frame (`pair` for Kraken v1, `params.symbol` for v2,
/// `product_ids` for Coinbase).
fn subscribe_symbols(frame: &serde_json::Value) -> Vec<String> {
    let list = frame.get("pair").or_else(|| frame.get("product_ids")).or_else(|| frame.pointer("/params/symbol"));
    let list = list.and_then(|l| l.as_array()).map(Vec::as_slice).unwrap_or(&[]);
    list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn serve_ws(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut path = String::new();
    #[allow(clippy::result_large_err)] // the handshake callback's signature is tungstenite's
    let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                    resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
        path = req.uri().to_string();
        Ok(resp)
    };
    let Ok(Ok(mut ws)) =
        tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::accept_hdr_async(stream, callback)).await
    else {
        return;
    };
    {
        let mut st = shared.lock();
        st.stats.connections += 1;
        st.stats.open_connections += 1;
        st.stats.paths.push(path);
    }
    let _open = OpenConnection(&shared);
    let venue = shared.venue;
    let mut streaming = venue == Venue::Binance;
    let mut base = (Instant::now(), None::<i64>);
    let mut next_ping = shared.options.ping_every.map(|d| Instant::now() + d);
    let far = Duration::from_secs(3600);
    let mut sent = 0u64;
    // The protocol this connection speaks: the recording's, until a subscribe says otherwise.
    let mut tr = Translator::new(Dialect::Native);
    loop {
        let due = if streaming { next_due(&shared, &mut base) } else { None };
        if next_ping.is_some_and(|p| p <= Instant::now()) {
            if ws.send(Message::Ping(b"wintermute".to_vec().into())).await.is_err() {
                return;
            }
            next_ping = shared.options.ping_every.map(|d| Instant::now() + d);
        }
        if due.is_some_and(|d| d <= Instant::now()) {
            // Due now (always, at Pace::Fast): no timer (its 1 ms resolution would cap the rate),
            // but the client's frames are looked at first and other tasks get their turn.
            if let Some(msg) = ws.next().now_or_never() {
                let Some(Ok(msg)) = msg else { return };
                match on_client_message(&shared, &mut ws, &mut tr, msg).await {
                    Ok(true) => base = (Instant::now(), None),
                    Ok(false) => {}
                    Err(()) => return,
                }
                continue;
            }
            if *stop.borrow() {
                return;
            }
            match send_next(&shared, &mut ws, &mut tr).await {
                Ok(After::Continue) => {}
                Ok(After::Close) | Err(()) => return,
                Ok(After::Stall) => {
                    // Silent: no frames, no reads (so no pongs either), until stopped.
                    let _ = tokio::time::timeout(Duration::from_secs(60), stop.changed()).await;
                    return;
                }
            }
            sent += 1;
            if sent.is_multiple_of(64) {
                tokio::task::yield_now().await;
            }
            continue;
        }
        let wake = [due, next_ping].into_iter().flatten().min().unwrap_or_else(|| Instant::now() + far);
        tokio::select! {
            _ = stop.changed() => return,
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                match on_client_message(&shared, &mut ws, &mut tr, msg).await {
                    Ok(true) => {
                        streaming = true;
                        base = (Instant::now(), None);
                    }
                    Ok(false) => {}
                    Err(()) => return,
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// Counts a connection as closed when its task ends, however it ends.
struct OpenConnection<'a>(&'a Shared);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.stats.open_connections = st.stats.open_connections.saturating_sub(1);
    }
}

/// When the next recorded frame is due, or `None` at the end of the recording.
fn next_due(shared: &Shared, base: &mut (Instant, Option<i64>)) -> Option<Instant> {
    let cursor = shared.lock().stats.cursor;
    let (ts, _) = shared.frames.get(cursor)?;
    match shared.options.pace {
        Pace::Fast => Some(Instant::now()),
        Pace::Recorded { speed } => {
            let first = *base.1.get_or_insert(*ts);
            let gap_ns = (ts.saturating_sub(first)).max(0) as f64 / speed;
            Some(base.0 + Duration::from_nanos(gap_ns.min(3.6e12) as u64))
        }
    }
}

async fn send_next(shared: &Shared, ws: &mut Ws, tr: &mut Translator) -> Result<After, ()> {
    let step = {
        let mut st = shared.lock();
        let step = shared.take(&mut st, tr);
        if let Some((frames, _)) = &step {
            st.stats.frames_sent += frames.len() as u64;
        }
        step
    };
    let Some((frames, after)) = step else {
        if shared.options.close_at_end {
            let _ = ws.close(None).await;
            return Ok(After::Close);
        }
        return Ok(After::Continue);
    };
    for f in frames {
        ws.send(Message::text(f)).await.map_err(|_| ())?;
    }
    Ok(after)
}

/// Handles a client frame; `Ok(true)` when it was a subscribe (streaming starts).
async fn on_client_message(shared: &Shared, ws: &mut Ws, tr: &mut Translator, msg: Message) -> Result<bool, ()> {
    let text = match msg {
        Message::Text(t) => t.as_str().to_string(),
        Message::Pong(_) => {
            shared.lock().stats.pongs += 1;
            return Ok(false);
        }
        Message::Close(_) => return Err(()),
        _ => return Ok(false),
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { return Ok(false) };
    let kind = ["event", "type", "method"].iter().find_map(|k| value.get(*k)).and_then(|v| v.as_str()).unwrap_or("");
    match kind {
        "ping" => {
            {
                let mut st = shared.lock();
                st.stats.app_pings += 1;
                st.stats.frames_sent += 1;
            }
            // v1 `reqid`, v2 `req_id`; the answer goes through the connection's dialect.
            let reqid = value.get("reqid").or_else(|| value.get("req_id")).cloned();
            let pong = serde_json::json!({"event": "pong", "reqid": reqid.unwrap_or(serde_json::Value::Null)});
            ws.send(Message::text(tr.translate(&pong.to_string()))).await.map_err(|_| ())?;
            Ok(false)
        }
        "subscribe" => {
            if tr.dialect() == Dialect::Native {
                *tr = Translator::new(Dialect::of_subscribe(&value));
            }
            let frames = {
                let mut st = shared.lock();
                st.stats.subscribes.push(text);
                if st.stats.cursor == 0 || !subscribes_book(&value) {
                    Vec::new()
                } else {
                    shared.catch_up(&mut st);
                    let frames = st.reference.snapshot_frames(shared.venue, &subscribe_symbols(&value));
                    st.stats.ws_snapshots += frames.len() as u64;
                    st.stats.frames_sent += frames.len() as u64;
                    frames
                }
            };
            for f in frames {
                ws.send(Message::text(tr.translate(&f))).await.map_err(|_| ())?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Whether a subscribe frame asks for a book (which gets fresh snapshots): Kraken v1
/// `subscription.name` / v2 `params.channel` = `book`, Coinbase `channels` / `channel` level2*.
fn subscribes_book(frame: &serde_json::Value) -> bool {
    let named = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str()).is_some_and(|c| c == "book" || c.starts_with("level2"))
    };
    let channels = frame.get("channels").and_then(|c| c.as_array());
    named(frame.pointer("/subscription/name"))
        || named(frame.pointer("/params/channel"))
        || named(frame.get("channel"))
        || channels.is_some_and(|cs| cs.iter().any(|c| named(Some(c)) || named(c.get("name"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(faults: Vec<Fault>) -> Shared {
        let frames = (0..6).map(|i| (i as i64, format!("{{\"frame\":{i}}}"))).collect();
        let state = State {
            reference: Reference::default(),
            fed: 0,
            next_snapshot: 0,
            served_recorded: HashSet::new(),
            faults: faults.clone(),
            stats: ReplayStats::default(),
        };
        let options = ReplayOptions { faults, ..Default::default() };
        Shared { venue: Venue::Kraken, frames, snapshots: Vec::new(), options, state: Mutex::new(state) }
    }

    /// Every frame the server would send, with `|` where it closes and `~` where it stalls.
    fn wire(faults: Vec<Fault>) -> Vec<String> {
        let shared = shared(faults);
        let mut st = shared.lock();
        let mut out = Vec::new();
        while let Some((frames, after)) = shared.take(&mut st, &mut Translator::new(Dialect::Native)) {
            out.extend(frames.into_iter().map(|f| f.replace("{\"frame\":", "").replace('}', "")));
            match after {
                After::Continue => {}
                After::Close => out.push("|".into()),
                After::Stall => out.push("~".into()),
            }
        }
        assert_eq!(st.stats.cursor, 6);
        out
    }

    #[test]
    fn faults_fire_once_at_their_frame() {
        assert_eq!(wire(vec![]), ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(wire(vec![Fault::Drop(1), Fault::Duplicate(3)]), ["0", "2", "3", "3", "4", "5"]);
        assert_eq!(wire(vec![Fault::Swap(2)]), ["0", "1", "3", "2", "4", "5"]);
        assert_eq!(wire(vec![Fault::Garbage(0), Fault::CloseAfter(4)]), ["0", GARBAGE, "1", "2", "3", "4", "|", "5"]);
        assert_eq!(wire(vec![Fault::StallAfter(5)]), ["0", "1", "2", "3", "4", "5", "~"]);
        let corrupt = wire(vec![Fault::Corrupt(2)]);
        assert!(corrupt[2].ends_with("#corrupt") && serde_json::from_str::<serde_json::Value>(&corrupt[2]).is_err());
    }

    #[test]
    fn query_parameters() {
        let t = "/api/v3/depth?symbol=btcusdt&limit=1000";
        assert_eq!((query_param(t, "symbol"), query_param(t, "limit")), (Some("btcusdt"), Some("1000")));
        assert_eq!(query_param("/api/v3/depth", "symbol"), None);
        let v = serde_json::json!({"event": "subscribe", "pair": ["XBT/USD", "ETH/USD"]});
        assert_eq!(subscribe_symbols(&v), ["XBT/USD", "ETH/USD"]);
    }
}
