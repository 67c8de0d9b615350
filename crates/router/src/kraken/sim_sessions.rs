//! What the Kraken simulator keeps for its WebSocket front: a session per connection, the
//! `executions` updates logged for them, what was last logged of each order, and the tokens of
//! `GetWebSocketsToken` (used by [`super::sim_ws`] and [`super::sim_funds`]; the state holds
//! them).

use std::collections::HashMap;

/// A token handed out by `GetWebSocketsToken`.
#[derive(Debug, Clone)]
pub(super) struct WsToken {
    pub(super) api_key: String,
    pub(super) created_ms: i64,
    /// Once a connection used it, it no longer expires.
    pub(super) used: bool,
}

/// One WebSocket connection's session: its `status` greeting sent, whether it subscribed to
/// `executions`, and how far into the update log it has read.
#[derive(Debug)]
pub struct KrakenWsSession {
    pub(super) id: u64,
    pub(super) greeted: bool,
    pub(super) subscribed: bool,
    pub(super) cursor: usize,
    /// The key whose account's `executions` (or `balances`) the session subscribed to.
    pub(super) api_key: String,
    /// Whether it subscribed to `balances`, how far into their log it has read, and the last
    /// `sequence` it was sent ([`super::sim_balances`]).
    pub(super) balances_subscribed: bool,
    pub(super) balance_cursor: usize,
    pub(super) balance_seq: u64,
}

/// What subscribers were last told of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Published {
    pub(super) status: &'static str,
    pub(super) executed: i64,
    pub(super) qty: i64,
    pub(super) price: i64,
}

/// The WebSocket front's state: the `executions` updates logged for the sessions (from
/// `base`, the updates before it dropped once nobody was subscribed), and what was last
/// logged of each live order.
#[derive(Default)]
pub(super) struct WsSessions {
    pub(super) next_id: u64,
    pub(super) subscribers: usize,
    /// (the account's API key, the message).
    pub(super) log: Vec<(String, String)>,
    pub(super) base: usize,
    /// What was last logged of each live order (an order that ended changes no more).
    pub(super) published: HashMap<u64, Published>,
    /// Orders from this id on were never logged.
    pub(super) next_unseen_order: u64,
    pub(super) published_trade: u64,
    /// Sessions subscribed to `balances`, the ledger entries logged for them (account, the
    /// message's `data`) from `balance_base`, what they were last told of each account, and
    /// how far the transfers and outside changes were looked at ([`super::sim_balances`]).
    pub(super) balance_subscribers: usize,
    pub(super) balance_log: Vec<(String, String)>,
    pub(super) balance_base: usize,
    pub(super) published_balances:
        HashMap<String, std::collections::BTreeMap<String, wintermute_core::decimal::Decimal>>,
    pub(super) published_transfers: usize,
    pub(super) published_outside: u64,
    pub(super) ledger_entries: u64,
    /// When each key's dead man's switch (`cancel_all_orders_after`) cancels every order of its
    /// account, for the keys that armed one.
    pub(super) dead_man_ms: HashMap<String, i64>,
}
