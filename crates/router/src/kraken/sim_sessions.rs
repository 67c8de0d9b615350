//! What the Kraken simulator keeps for its WebSocket front: the sessions, what they were last
//! told of each order, and the tokens of `GetWebSocketsToken` (used by [`super::sim_ws`] and
//! [`super::sim_funds`]; the state holds them).

use std::collections::HashMap;

use tokio::sync::mpsc;

/// A token handed out by `GetWebSocketsToken`.
#[derive(Debug, Clone)]
pub(super) struct WsToken {
    pub(super) api_key: String,
    pub(super) created_ms: i64,
    /// Once a connection used it, it no longer expires.
    pub(super) used: bool,
}

/// A frame for a session's socket.
pub(super) enum Outgoing {
    /// A text frame.
    Text(String),
    /// Close the connection.
    Close,
}

/// One connection: its outgoing frames, and whether it subscribed to `executions`.
pub(super) struct Session {
    pub(super) tx: mpsc::UnboundedSender<Outgoing>,
    pub(super) subscribed: bool,
}

/// What subscribers were last told of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Published {
    pub(super) status: &'static str,
    pub(super) executed: i64,
    pub(super) qty: i64,
    pub(super) price: i64,
}

/// Aborts the listener when the simulator's state goes.
pub(super) struct AbortOnDrop(pub(super) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The WebSocket sessions and what they have been told.
#[derive(Default)]
pub(super) struct WsSessions {
    pub(super) next_id: u64,
    pub(super) sessions: HashMap<u64, Session>,
    pub(super) published: HashMap<u64, Published>,
    pub(super) published_trade: u64,
    pub(super) listener: Option<AbortOnDrop>,
}
