//! The HTTP/1.1 server on 127.0.0.1 that hands each request to a venue's front ([`SimVenue`]).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::shared::{SimFault, SimShared};

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

/// Serves `venue` over HTTP/1.1 on a free port of 127.0.0.1 until the returned task is aborted.
pub async fn serve<V: SimVenue>(venue: Arc<SimShared<V>>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
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
    venue: Arc<SimShared<V>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    // Faults name requests by method and path (`DELETE /api/v3/order`).
    let target = format!("{} {}", parts.method, parts.uri.path());
    if venue.take_fault(SimFault::DropRequest, &target) {
        return Err(std::io::Error::other("simulated lost request"));
    }
    let body = String::from_utf8_lossy(&body);
    let request = SimRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let mut guard = venue.lock();
    let answer = guard.handle(&request);
    let lose = guard.responses_to_lose();
    if *lose > 0 {
        *lose -= 1;
        return Err(std::io::Error::other("simulated disconnect"));
    }
    if venue.take_fault(SimFault::LoseResponse, &target) {
        return Err(std::io::Error::other("simulated disconnect"));
    }
    drop(guard);
    let mut builder = Response::builder().status(answer.status).header("content-type", "application/json");
    for (name, value) in answer.headers {
        builder = builder.header(name, value);
    }
    builder.body(Full::new(Bytes::from(answer.body))).map_err(std::io::Error::other)
}
