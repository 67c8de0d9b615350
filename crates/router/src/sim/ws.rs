//! The WebSocket front of the local venue simulators: a server on 127.0.0.1 (its own free port,
//! beside the HTTP front's) that gives each connection a session of a venue's WebSocket front.
//!
//! A venue says what its WebSocket front does by implementing [`WsVenue`] on the same state as
//! its HTTP front ([`SimVenue`]), so both fronts trade on one book and one set of accounts:
//!
//! - [`WsVenue::open_session`]: a connection asks for a path (`/ws-api/v3?returnRateLimits=false`);
//!   the venue opens a session for it (per-connection state: who logged on, what it subscribed
//!   to, how far it has read the venue's events) or refuses the handshake (HTTP 404).
//! - [`WsVenue::on_text`]: one request frame (binary frames are read as text, invalid UTF-8
//!   replaced) -> the frames to send back on that connection, in order.
//! - [`WsVenue::pushes`]: after any change of the shared state (a request on any connection or
//!   on the HTTP front, a test hook such as `trade_at`; see [`super::SimShared`]), each session is
//!   asked what to push to it. A session keeps its own cursor into what the venue logged, so a
//!   push reaches each subscribed session once, in the venue's order.
//! - [`WsVenue::close_session`]: the connection ended.
//!
//! Faults for tests: [`super::SimServer::lose_next_responses`] counts WebSocket requests too (the
//! request is processed, then the connection is closed without its answer),
//! [`super::SimServer::drop_next_requests_to`] and [`super::SimServer::lose_next_responses_to`]
//! fault only the requests whose text contains a given one (the connection closed before the
//! venue sees the request, or after), and
//! [`super::SimServer::drop_ws_connections`] closes every open WebSocket connection at once.
//!
//! The server answers WebSocket pings itself; messages are limited to 1 MiB.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::http_server::SimVenue;
use super::shared::{SimFault, SimShared};

/// The largest message a session accepts.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// A venue's WebSocket front, on the same state as its HTTP front.
pub trait WsVenue: SimVenue {
    /// What the venue keeps per connection.
    type Session: Send + 'static;

    /// A connection asked for `path_and_query`: its session, or `None` to refuse it (HTTP 404).
    fn open_session(&mut self, path_and_query: &str) -> Option<Self::Session>;

    /// One request frame: the frames to send back on this connection, in order.
    fn on_text(&mut self, session: &mut Self::Session, text: &str) -> Vec<String>;

    /// The shared state changed: the frames to push to this session (empty if none). It may
    /// move the session's own cursor but must change nothing other sessions read (no change is
    /// signalled for it).
    fn pushes(&mut self, session: &mut Self::Session) -> Vec<String>;

    /// The connection ended.
    fn close_session(&mut self, session: Self::Session) {
        let _ = session;
    }
}

/// A running WebSocket front ([`super::SimServer::start_ws`]); stops when dropped.
#[derive(Debug)]
pub struct WsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
    hang_up: watch::Sender<u64>,
    open: Arc<AtomicUsize>,
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.task.abort();
        self.hang_up.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl WsServer {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection (the venue's sessions are closed; the front keeps
    /// accepting new connections).
    pub fn hang_up(&self) {
        self.hang_up.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

/// Serves `venue`'s WebSocket front on a free port of 127.0.0.1 until the server is dropped.
pub async fn serve_ws<V: WsVenue>(venue: Arc<SimShared<V>>) -> std::io::Result<WsServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let hang_up = watch::Sender::new(0u64);
    let open = Arc::new(AtomicUsize::new(0));
    let (hang_up_rx, open_count) = (hang_up.subscribe(), Arc::clone(&open));
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (venue, hang_up, open) = (Arc::clone(&venue), hang_up_rx.clone(), Arc::clone(&open_count));
            connections.spawn(async move {
                open.fetch_add(1, Ordering::SeqCst);
                connection(venue, stream, hang_up).await;
                open.fetch_sub(1, Ordering::SeqCst);
            });
            while connections.try_join_next().is_some() {}
        }
    });
    Ok(WsServer { addr, task, hang_up, open })
}

/// One connection: the handshake opens a session, then requests are answered and pushes sent
/// until either side closes or the server hangs up.
async fn connection<V: WsVenue>(venue: Arc<SimShared<V>>, stream: TcpStream, mut hang_up: watch::Receiver<u64>) {
    let mut changes = venue.changes();
    hang_up.mark_unchanged();
    let mut session = None;
    // The handshake's refusal is tungstenite's own (large) error response type.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
        session = venue.lock().open_session(target);
        if session.is_some() {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(Some(format!("no WebSocket endpoint at {target}")));
            *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
            Err(refusal)
        }
    };
    let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let Ok(Ok(mut ws)) = tokio::time::timeout(std::time::Duration::from_secs(5), handshake).await else {
        return;
    };
    let Some(mut session) = session else { return };
    loop {
        let frames = tokio::select! {
            message = ws.next() => {
                let text = match message {
                    Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                    Some(Ok(Message::Binary(data))) => String::from_utf8_lossy(&data).into_owned(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                if venue.take_fault(SimFault::DropRequest, &text) {
                    break;
                }
                let mut state = venue.lock();
                let frames = state.on_text(&mut session, &text);
                let lose = state.responses_to_lose();
                if *lose > 0 {
                    *lose -= 1;
                    break;
                }
                drop(state);
                if venue.take_fault(SimFault::LoseResponse, &text) {
                    break;
                }
                frames
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                // Reading the pushes changes nothing shared: no new change signalled.
                venue.lock_quietly().pushes(&mut session)
            }
            _ = hang_up.changed() => break,
        };
        let mut sent = Ok(());
        for frame in frames {
            sent = ws.feed(Message::text(frame)).await;
            if sent.is_err() {
                break;
            }
        }
        if sent.is_err() || ws.flush().await.is_err() {
            break;
        }
    }
    venue.lock().close_session(session);
}
