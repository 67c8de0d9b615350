//! The venue's REST order entry served from Rust: an HTTP/1.1 listener (hyper on tokio) for
//! the two hot routes of the service's REST API, `POST /api/orders` and
//! `DELETE /api/orders/{order_id}`, with the Python routes' contract (the same `X-API-Key`
//! auth, request model, `Order` answer, statuses and `{code, message}` errors, the same
//! per-key token bucket with its `RateLimit-*` headers and 429 + `Retry-After`, the same body
//! size limit and 413).
//!
//! The orders are the venue's: a [`VenueEntry`] shares the Python venue's order table, ledger
//! and book mirrors and sends through a gateway of the venue's pipeline of its own; the
//! venue's drain thread hands the answers of its commands to the waiting requests (see
//! `wintermute_engine::venue_entry`). Every other route stays with the Python app.
//!
//! ```no_run
//! # fn entry() -> wintermute_engine::venue_entry::VenueEntry { unimplemented!() }
//! use wintermute_front::{Front, FrontConfig};
//! let front = Front::start(entry(), FrontConfig::new("127.0.0.1:0".parse().unwrap())).unwrap();
//! println!("order entry on http://{}", front.local_addr());
//! front.stop();
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wintermute_engine::pipeline::SharedGateway;
use wintermute_engine::venue_books::VenueBooks;
use wintermute_engine::venue_entry::VenueEntry;
use wintermute_engine::venue_input::EntryInstrument;
use wintermute_engine::venue_ledger::VenueLedger;
use wintermute_engine::venue_orders::VenueOrders;

pub mod access;
mod routes;
mod shared;

pub use access::{ApiKey, KeyStore, RateLimits};
pub use shared::EntryCounters;

/// An instrument as `(symbol, tick, lot, min_qty, max_qty, min_price, max_price)` text.
pub type InstrumentText = (String, String, String, String, String, String, String);

/// The venue's parts the listener shares: its order table, ledger and book mirrors, and the
/// gateway of the listener's own.
pub type VenueParts = (Arc<Mutex<VenueOrders>>, Arc<Mutex<VenueLedger>>, Arc<Mutex<VenueBooks>>, SharedGateway);
use shared::Shared;

/// How the listener runs.
#[derive(Debug)]
pub struct FrontConfig {
    /// Where it listens (port 0: any free port, see [`Front::local_addr`]).
    pub bind: SocketAddr,
    /// The API keys.
    pub keys: Vec<ApiKey>,
    /// Tokens a second of each key's bucket.
    pub rate_limit_per_s: f64,
    /// A bucket's size.
    pub rate_limit_burst: u32,
    /// Larger request bodies are answered 413.
    pub max_body_bytes: usize,
    /// How long a request waits for the engine's answer (then 503).
    pub ack_timeout: Duration,
    /// Venue error code -> HTTP status (codes not listed: 400).
    pub statuses: HashMap<String, u16>,
    /// Threads of its runtime.
    pub threads: usize,
}

impl FrontConfig {
    /// Defaults (no keys: every request is refused 401) listening on `bind`.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            keys: Vec::new(),
            rate_limit_per_s: 1_000_000.0,
            rate_limit_burst: 1_000_000,
            max_body_bytes: 65_536,
            ack_timeout: Duration::from_secs(5),
            statuses: HashMap::new(),
            threads: 2,
        }
    }
}

/// The running listener; [`Front::stop`] (or drop) stops it.
#[derive(Debug)]
pub struct Front {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
    counters: Arc<EntryCounters>,
}

impl Front {
    /// Binds and starts serving (its own runtime's threads); an error if the address cannot
    /// be bound or a key is listed twice.
    pub fn start(entry: VenueEntry, config: FrontConfig) -> std::io::Result<Self> {
        let keys = KeyStore::new(config.keys).map_err(std::io::Error::other)?;
        if config.rate_limit_per_s.is_nan() || config.rate_limit_per_s <= 0.0 || config.rate_limit_burst == 0 {
            return Err(std::io::Error::other("rate_limit_per_s and rate_limit_burst must be positive"));
        }
        let limits = RateLimits::new(config.rate_limit_per_s, config.rate_limit_burst);
        let shared = Arc::new(Shared {
            entry,
            keys,
            rate_limit: limits.limit().into(),
            limits,
            max_body_bytes: config.max_body_bytes,
            ack_timeout: config.ack_timeout,
            statuses: config.statuses,
            counters: Arc::default(),
        });
        let counters = Arc::clone(&shared.counters);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads.max(1))
            .thread_name("order-entry")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(TcpListener::bind(config.bind))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        runtime.spawn(serve(listener, shared, stopped));
        Ok(Self { addr, stop, runtime: Some(runtime), counters })
    }

    /// Starts the listener for the venue whose parts these are (its order table, ledger and
    /// book mirrors, and the gateway of its own it sends through; see [`VenueEntry::new`]):
    /// `instruments` as `(symbol, tick, lot, min_qty, max_qty, min_price, max_price)` decimal
    /// text in the engine's id order, `keys` as `(key, account)`, `bind` as `host:port`,
    /// `limits` as `(rate_limit_per_s, rate_limit_burst, max_body_bytes, ack_timeout_s)`.
    pub fn start_venue(
        parts: VenueParts,
        instruments: &[InstrumentText],
        keys: Vec<(String, u32)>,
        bind: &str,
        (rate_limit_per_s, rate_limit_burst, max_body_bytes, ack_timeout_s): (f64, u32, usize, f64),
        statuses: HashMap<String, u16>,
        threads: usize,
    ) -> std::io::Result<Self> {
        let config_error = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let instruments = (instruments.iter())
            .map(|(s, t, l, q0, q1, p0, p1)| EntryInstrument::new(s, [t, l, q0, q1, p0, p1]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(config_error)?;
        let bind = bind.parse().map_err(|e| config_error(format!("order_entry_bind={bind:?}: {e}")))?;
        let (orders, ledger, books, gateway) = parts;
        let config = FrontConfig {
            keys: keys.into_iter().map(|(key, account)| ApiKey { key, account }).collect(),
            rate_limit_per_s,
            rate_limit_burst,
            max_body_bytes,
            ack_timeout: Duration::from_secs_f64(ack_timeout_s.max(0.0)),
            statuses,
            threads,
            ..FrontConfig::new(bind)
        };
        Self::start(VenueEntry::new(orders, ledger, books, gateway, instruments), config)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its counts of commands sent and refused (readable after it stopped too).
    pub fn counters(&self) -> Arc<EntryCounters> {
        Arc::clone(&self.counters)
    }

    /// Stops accepting, closes its connections and stops its threads (requests waiting for
    /// the engine are dropped; their commands still apply).
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.shut_down();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut conn_stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(&shared, peer.ip(), req).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = conn_stopped.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

// Header names made once (a name given as text is parsed again at each use).
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const WWW_AUTHENTICATE: HeaderName = HeaderName::from_static("www-authenticate");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");

fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a [u8]> {
    headers.get(name).map(HeaderValue::as_bytes)
}

/// Longest rate limit client text: `k:` and 128 bytes of a key, or `a:` and an address.
const CLIENT_TEXT: usize = 2 + 128;

/// The rate limit's client, written into `buf`: `k:` and the key's first 128 bytes, or `a:`
/// and the peer's address without one.
fn client_of<'b>(headers: &HeaderMap, peer: IpAddr, buf: &'b mut [u8; CLIENT_TEXT]) -> &'b [u8] {
    let mut w = &mut buf[..];
    let _ = match header(headers, &X_API_KEY) {
        Some(k) => w.write_all(b"k:").and_then(|()| w.write_all(&k[..k.len().min(128)])),
        None => write!(w, "a:{peer}"),
    };
    let n = CLIENT_TEXT - w.len();
    &buf[..n]
}

async fn handle(shared: &Shared, peer: IpAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let mut buf = [0; CLIENT_TEXT];
    let taken = shared.limits.take(client_of(req.headers(), peer, &mut buf), Instant::now());
    let reply = if taken.allowed {
        route(shared, req).await
    } else {
        // The Python limiter's body (`json.dumps` with its default separators).
        let body = br#"{"code": "RATE_LIMITED", "message": "too many requests for this key"}"#;
        routes::Reply { status: 429, body: Bytes::from_static(body), unauthorized: false }
    };
    let mut res = Response::new(Full::new(reply.body));
    *res.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if reply.unauthorized {
        h.insert(WWW_AUTHENTICATE, HeaderValue::from_static("ApiKey"));
    }
    h.insert(RATELIMIT_LIMIT, shared.rate_limit.clone());
    h.insert(RATELIMIT_REMAINING, taken.remaining.into());
    h.insert(RATELIMIT_RESET, taken.reset_s.into());
    if !taken.allowed {
        h.insert(RETRY_AFTER, taken.retry_after_s.into());
    }
    res
}

fn too_large(shared: &Shared) -> routes::Reply {
    // The Python limiter's body (`json.dumps` with its default separators).
    let body = format!(r#"{{"code": "PAYLOAD_TOO_LARGE", "message": "body over {} bytes"}}"#, shared.max_body_bytes);
    routes::Reply { status: 413, body: body.into(), unauthorized: false }
}

async fn route(shared: &Shared, req: Request<Incoming>) -> routes::Reply {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let declared =
        header(headers, &CONTENT_LENGTH).map(|v| std::str::from_utf8(v).ok().and_then(|s| s.parse::<usize>().ok()));
    if declared.is_some_and(|n| n.is_none_or(|n| n > shared.max_body_bytes)) {
        return too_large(shared);
    }
    let path = parts.uri.path();
    let place = parts.method == Method::POST && path == "/api/orders";
    let cancel_id = (parts.method == Method::DELETE).then(|| path.strip_prefix("/api/orders/")).flatten();
    let cancel_id = cancel_id.filter(|id| !id.is_empty() && !id.contains('/'));
    if !place && cancel_id.is_none() {
        return routes::error(404, "NOT_FOUND", "Not Found");
    }
    let key = header(headers, &X_API_KEY);
    let json = header(headers, &CONTENT_TYPE).map(|v| {
        let media = v.split(|b| *b == b';').next().unwrap_or_default().trim_ascii().to_ascii_lowercase();
        media == b"application/json" || (media.starts_with(b"application/") && media.ends_with(b"+json"))
    });
    let body = match Limited::new(body, shared.max_body_bytes).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(shared),
        Err(_) => return routes::error(400, "BAD_REQUEST", "the request body could not be read"),
    };
    // As FastAPI: a body that is not JSON is refused before the key is looked at. A body that
    // reads as a new order straight away skips the document (its errors come from the
    // document, with their paths).
    let value = if place && !body.is_empty() && json.unwrap_or(false) {
        match serde_json::from_slice::<routes::NewOrder<'_>>(&body) {
            Ok(order) => Some(routes::Body::Order(order)),
            Err(_) => match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) => Some(routes::Body::Document(v)),
                Err(e) => return routes::error(400, "INVALID_REQUEST", &format!("body: JSON decode error: {e}")),
            },
        }
    } else {
        None
    };
    let Some(account) = key.filter(|k| !k.is_empty()).map(|k| shared.keys.lookup(k).map(|k| k.account)) else {
        return routes::error(401, "UNAUTHORIZED", "missing X-API-Key header");
    };
    let Some(account) = account else { return routes::error(401, "UNAUTHORIZED", "unknown API key") };
    match (cancel_id, value) {
        (Some(id), _) => routes::cancel(shared, account, id).await,
        (None, Some(v)) => routes::place(shared, account, v).await,
        (None, None) if body.is_empty() => routes::error(400, "INVALID_REQUEST", "body: Field required"),
        (None, None) => routes::error(400, "INVALID_REQUEST", "body: Input should be a valid dictionary"),
    }
}
