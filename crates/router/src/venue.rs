//! The interface every venue client offers the market maker's adapter
//! ([`crate::execution_adapter::RoutedExecution`]) and the kill switch.
//!
//! A venue client owns one connection to its venue and an [`OrderTable`] into which every
//! report is merged before it is returned; the adapter reads what changed from that table. The
//! client decides how our client order ids look on its venue (Binance takes free text, Kraken a
//! UUID or 18 characters), so the adapter asks it ([`VenueClient::client_order_id`]).

use std::future::Future;

use crate::order::{NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderTable, Venue};

/// What kind of failure a client error is, as the adapter must treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection failed or dropped before an answer: the outcome is unknown and
    /// reconciliation settles it.
    Transport,
    /// Refused for rate limits (locally before sending, or by the venue): nothing happened.
    RateLimited,
    /// Anything else (a bad order refused locally, an unreadable answer).
    Other,
}

/// A venue's order client.
pub trait VenueClient: Send + 'static {
    /// The client's error.
    type Error: std::error::Error + Send + 'static;

    /// Which venue.
    fn venue(&self) -> Venue;

    /// How a failure must be treated.
    fn error_kind(error: &Self::Error) -> ErrorKind;

    /// Our client order id on this venue for the adapter's order `id` and its `generation`
    /// (0 for the first order, n for its n-th cancel-replace).
    fn client_order_id(&self, id: u64, generation: usize) -> String;

    /// The orders and what is known of them.
    fn orders(&self) -> &OrderTable;

    /// Places an order; a venue refusal is a `Rejected` report, not an error.
    fn place(&mut self, order: &NewOrder) -> impl Future<Output = Result<Vec<ExecutionReport>, Self::Error>>;

    /// Cancels an order by client id: `Canceled`, or `CancelRejected` with the venue's reason.
    fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> impl Future<Output = Result<Vec<ExecutionReport>, Self::Error>>;

    /// Amends an open order in place to `new_total_qty` lots (filled included), keeping its id;
    /// `Ok(false)` where the venue has no amend (the caller cancel-replaces instead).
    fn amend(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        new_total_qty: i64,
    ) -> impl Future<Output = Result<bool, Self::Error>> {
        let _ = (symbol, client_order_id, new_total_qty);
        async { Ok(false) }
    }

    /// Fetches and merges what may have been missed (fills and statuses).
    fn reconcile(&mut self, symbol: &str) -> impl Future<Output = Result<ReconcileSummary, Self::Error>>;

    /// The kill switch's step for this venue: cancels every open order on `symbol`; returns how
    /// many the venue canceled.
    fn cancel_all(&mut self, symbol: &str) -> impl Future<Output = Result<usize, Self::Error>>;
}
