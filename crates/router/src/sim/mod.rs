//! What the local venue simulators share: the matching engine ([`exchange`]) and the HTTP/1.1
//! server on 127.0.0.1 that hands each request to a venue's front ([`serve`]), and a TLS front
//! before it ([`tls_front`]).

pub mod exchange;
pub mod tls_front;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as a venue front sees it.
#[derive(Debug)]
pub struct SimRequest<'a> {
    /// `"GET"`, `"POST"`, ...
    pub method: &'a str,
    /// The URI path.
    pub path: &'a str,
    /// The query string (without `?`; empty if none).
    pub query: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The body as text (invalid UTF-8 replaced).
    pub body: &'a str,
}

/// One answer.
#[derive(Debug)]
pub struct SimAnswer {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: String,
}

/// A venue front: answers requests; may drop the connection after processing one.
pub trait SimVenue: Send + 'static {
    /// Processes one request.
    fn handle(&mut self, request: &SimRequest<'_>) -> SimAnswer;

    /// How many of the next answers to drop, closing the connection instead (a fault injected
    /// by a test: the request was processed, the client never hears of it).
    fn responses_to_lose(&mut self) -> &mut u32;
}

/// A simulator serving its venue front on a free port of 127.0.0.1; it stops when dropped.
/// Each venue's simulator is one of these (`BinanceSim`, `KrakenSim`, `CoinbaseSim`), with its
/// own `start` and test hooks.
pub struct SimServer<V> {
    addr: SocketAddr,
    venue: Arc<Mutex<V>>,
    task: JoinHandle<()>,
}

impl<V> std::fmt::Debug for SimServer<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl<V> Drop for SimServer<V> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<V: SimVenue> SimServer<V> {
    /// Serves `venue` ([`serve`]).
    pub async fn serve(venue: V) -> std::io::Result<Self> {
        let venue = Arc::new(Mutex::new(venue));
        let (addr, task) = serve(Arc::clone(&venue)).await?;
        Ok(Self { addr, venue, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `n` requests are processed and then the connection is closed unanswered.
    pub fn lose_next_responses(&self, n: u32) {
        *self.venue().responses_to_lose() = n;
    }

    /// The venue's state, locked.
    pub(crate) fn venue(&self) -> MutexGuard<'_, V> {
        lock(&self.venue)
    }
}

/// Locks a simulator's state (a panic while holding it would be a simulator bug: keep serving).
pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `venue` over HTTP/1.1 on a free port of 127.0.0.1 until the returned task is aborted.
pub async fn serve<V: SimVenue>(venue: Arc<Mutex<V>>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let venue = Arc::clone(&venue);
            connections.spawn(async move {
                let service = service_fn(move |req| answer(Arc::clone(&venue), req));
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok((addr, task))
}

async fn answer<V: SimVenue>(
    venue: Arc<Mutex<V>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let body = String::from_utf8_lossy(&body);
    let request = SimRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let mut guard = lock(&venue);
    let answer = guard.handle(&request);
    let lose = guard.responses_to_lose();
    if *lose > 0 {
        *lose -= 1;
        return Err(std::io::Error::other("simulated disconnect"));
    }
    drop(guard);
    let mut builder = Response::builder().status(answer.status).header("content-type", "application/json");
    for (name, value) in answer.headers {
        builder = builder.header(name, value);
    }
    builder.body(Full::new(Bytes::from(answer.body))).map_err(std::io::Error::other)
}

/// Form or query parameters, in the order sent.
#[derive(Debug, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (several parts in order).
    pub fn parse<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        Params(
            parts
                .into_iter()
                .flat_map(|p| form_urlencoded::parse(p.as_bytes()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// Whether a name appears twice.
    pub fn has_duplicates(&self) -> bool {
        let mut names: Vec<&str> = self.0.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names.windows(2).any(|w| w[0] == w[1])
    }
}
