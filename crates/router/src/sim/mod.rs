//! What the local venue simulators share: the matching engine ([`exchange`]), the HTTP/1.1
//! server on 127.0.0.1 that hands each request to a venue's front ([`serve`]), and the
//! WebSocket server that gives each connection a session of a venue's WebSocket front ([`ws`]),
//! and a TLS front before the HTTP server ([`tls_front`]). A running simulator is a
//! [`SimServer`]. Each venue's accounts (balances, holds, the funds check, settlement) are kept
//! by [`funds::SimFunds`].
//!
//! Both fronts of a simulator work on one state, [`SimShared`]: a venue's mutex-guarded state
//! and a change counter. Whoever locks the state through [`SimShared::lock`] (an HTTP request, a
//! WebSocket request, a test hook such as `trade_at`) bumps the counter when the lock is
//! released, and every WebSocket session then asks the venue what to push to it
//! ([`ws::WsVenue::pushes`]).

pub mod exchange;
pub mod funds;
mod http_server;
mod order_checks;
mod server;
mod shared;
pub mod tls_front;
pub mod ws;

pub use http_server::{serve, SimAnswer, SimRequest, SimVenue};
pub use server::SimServer;
pub use shared::{lock, SimFault, SimGuard, SimShared};

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
