//! A running simulator: its venue's shared state, the HTTP front, and the WebSocket front once
//! started.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::http_server::{serve, SimVenue};
use super::shared::{SimFault, SimGuard, SimShared};
use super::ws::{serve_ws, WsServer, WsVenue};

/// A simulator serving its venue front on a free port of 127.0.0.1 (and, once
/// [`SimServer::start_ws`] is called, its WebSocket front on another); it stops when dropped.
/// Each venue's simulator is one of these (`BinanceSim`, `KrakenSim`, `CoinbaseSim`), with its
/// own `start` and test hooks.
pub struct SimServer<V> {
    addr: SocketAddr,
    venue: Arc<SimShared<V>>,
    task: JoinHandle<()>,
    ws: Option<WsServer>,
}

impl<V> std::fmt::Debug for SimServer<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ws_addr = self.ws.as_ref().map(WsServer::addr);
        f.debug_struct("SimServer").field("addr", &self.addr).field("ws_addr", &ws_addr).finish_non_exhaustive()
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
        let venue = SimShared::new(venue);
        let (addr, task) = serve(Arc::clone(&venue)).await?;
        Ok(Self { addr, venue, task, ws: None })
    }

    /// Where it listens (HTTP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next `n` requests (HTTP or WebSocket) are processed and then the connection is
    /// closed unanswered.
    pub fn lose_next_responses(&self, n: u32) {
        *self.venue().responses_to_lose() = n;
    }

    /// The next `n` requests whose method and path (HTTP: `DELETE /api/v3/order`) or text
    /// (WebSocket) contain `needle` are dropped before the venue sees them: the connection is closed unanswered and nothing
    /// happened at the venue ([`SimFault::DropRequest`]).
    pub fn drop_next_requests_to(&self, needle: &str, n: u32) {
        self.venue.fault_next(SimFault::DropRequest, needle, n);
    }

    /// The next `n` requests whose method and path (HTTP) or text (WebSocket) contain `needle`
    /// are processed and then the connection is closed unanswered ([`SimFault::LoseResponse`]; the
    /// requests other than those are answered).
    pub fn lose_next_responses_to(&self, needle: &str, n: u32) {
        self.venue.fault_next(SimFault::LoseResponse, needle, n);
    }

    /// The venue's state, locked (a change is signalled when the guard is dropped).
    pub(crate) fn venue(&self) -> SimGuard<'_, V> {
        self.venue.lock()
    }

    /// The state both fronts share.
    pub fn shared(&self) -> &Arc<SimShared<V>> {
        &self.venue
    }
}

impl<V: WsVenue> SimServer<V> {
    /// Starts the venue's WebSocket front on a free port of 127.0.0.1 (once; later calls return
    /// the same address).
    pub async fn start_ws(&mut self) -> std::io::Result<SocketAddr> {
        if let Some(ws) = &self.ws {
            return Ok(ws.addr());
        }
        let ws = serve_ws(Arc::clone(&self.venue)).await?;
        let addr = ws.addr();
        self.ws = Some(ws);
        Ok(addr)
    }
}

impl<V> SimServer<V> {
    /// Where the WebSocket front listens, once started.
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws.as_ref().map(WsServer::addr)
    }

    /// Closes every open WebSocket connection (the venue's sessions are closed; the front
    /// keeps accepting new connections).
    pub fn drop_ws_connections(&self) {
        if let Some(ws) = &self.ws {
            ws.hang_up();
        }
    }

    /// How many WebSocket connections are open.
    pub fn ws_connections(&self) -> usize {
        self.ws.as_ref().map_or(0, WsServer::connections)
    }
}
