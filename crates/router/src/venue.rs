//! The interface every venue client offers the market maker's adapter
//! ([`crate::execution_adapter::RoutedExecution`]) and the kill switch.
//!
//! A venue client owns one connection to its venue and an [`OrderTable`] into which every
//! report is merged before it is returned; the adapter reads what changed from that table. The
//! client decides how our client order ids look on its venue (Binance takes free text, Kraken a
//! UUID or 18 characters), so the adapter asks it ([`VenueClient::client_order_id`]).
//!
//! ## Reconciliation and the kill switch
//!
//! A venue client's [`OrderTable`] falls behind the venue when
//! an answer is lost (the connection dropped after the venue acted), when a resting order fills
//! while nobody asks, or when a status says more executed than the fills seen. [`reconcile`]
//! brings it level, in five steps; each step is a request and its parsing that the venue
//! supplies through [`VenueClient`], and every report a step fetches is merged into the table
//! ([`ReconcileSummary::merge`]), so a report seen twice counts once:
//!
//! 1. [`VenueClient::settle_unanswered`]: the live orders that have no venue order id yet (their
//!    place answer was lost) learn it, or learn that they never reached the book (rejected).
//!    Trades name orders by venue id, so this comes before the fills.
//! 2. [`VenueClient::merge_missed_fills`]: the fills the table may have missed (the account's
//!    trades since the last one reconciled, where the venue lists them so).
//! 3. [`VenueClient::merge_open_orders`]: the venue's open orders; it says which of ours it
//!    listed.
//! 4. [`VenueClient::settle_unlisted`]: each live order the venue did not list: its final state.
//! 5. If any order's venue-reported executed quantity is still ahead of its fills, step 2 again.
//!
//! Reconciling twice changes nothing. Which orders a reconciliation of one symbol covers is the
//! venue's call ([`VenueClient::reconciles`]): Binance's queries are per symbol, Kraken's and
//! Coinbase's account-wide.
//!
//! [`kill_switch`]: the venue cancels every open order (one call where it has one, order by
//! order where it has not: [`VenueClient::cancel_open`]), then a reconciliation leaves the
//! table with each order's final state, fills included.

use std::collections::HashSet;
use std::future::Future;

use crate::balances::BalanceSnapshot;
use crate::order::{BalanceUpdate, NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderState, OrderTable, Venue};

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
    /// (0 for the first order, n for its n-th cancel-replace): `wm<id>`, and `wm<id>r<n>` for
    /// the n-th replacement, unless the venue needs another form.
    fn client_order_id(&self, id: u64, generation: usize) -> String {
        if generation == 0 {
            format!("wm{id}")
        } else {
            format!("wm{id}r{generation}")
        }
    }

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

    /// Cancels `cancel_client_order_id` and places `new` in one request, where the venue has one
    /// (Binance `cancelReplace`, the new order not attempted if the cancel fails): the reports of
    /// both halves, the cancel's first. `Ok(None)` where the venue has none (the caller cancels,
    /// then places).
    fn cancel_replace(
        &mut self,
        symbol: &str,
        cancel_client_order_id: &str,
        new: &NewOrder,
    ) -> impl Future<Output = Result<Option<Vec<ExecutionReport>>, Self::Error>> {
        let _ = (symbol, cancel_client_order_id, new);
        async { Ok(None) }
    }

    /// Fetches and merges what may have been missed (fills and statuses): the steps below, run
    /// in the order the module docs give.
    fn reconcile(&mut self, symbol: &str) -> impl Future<Output = Result<ReconcileSummary, Self::Error>> {
        reconcile(self, symbol)
    }

    /// The kill switch's step for this venue: cancels every open order (on `symbol`, or every
    /// symbol where the venue's cancel is account-wide), then reconciles; returns how many the
    /// venue canceled.
    fn cancel_all(&mut self, symbol: &str) -> impl Future<Output = Result<usize, Self::Error>> {
        kill_switch(self, symbol)
    }

    // The reconciliation steps (what differs per venue; see the module docs). Each merges
    // what it fetches into the table.

    /// Whether a reconciliation of `symbol` covers the order `client_order_id` (venues whose
    /// queries are account-wide cover every order).
    fn reconciles(&self, symbol: &str, client_order_id: &str) -> bool;

    /// Step 1: live orders with no venue order id yet (their place answer was lost) learn it, or
    /// that they never reached the book.
    fn settle_unanswered(
        &mut self,
        symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// Steps 2 and 5: the fills the table may have missed.
    fn merge_missed_fills(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// Step 3: the venue's open orders; returns the client ids of ours it listed.
    fn merge_open_orders(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> impl Future<Output = Result<HashSet<String>, Self::Error>>;

    /// Step 4: the final state of live orders the venue did not list.
    fn settle_unlisted(
        &mut self,
        symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// The kill switch's cancels: every open order (on `symbol`, or account-wide), as few calls
    /// as the venue allows; returns how many the venue canceled.
    fn cancel_open(&mut self, symbol: &str) -> impl Future<Output = Result<usize, Self::Error>>;

    // Balances ([`crate::balances`]): what a client that streams them offers. The defaults are
    // a client that does not: its route's balances stay unknown and nothing is refused on them.

    /// The account's REST snapshot; `Ok(None)` where the client has none.
    fn balance_snapshot(&mut self) -> impl Future<Output = Result<Option<BalanceSnapshot>, Self::Error>> {
        async { Ok(None) }
    }

    /// Whether the account's balances come from the snapshot alone, polled (a venue with no
    /// balance stream: Coinbase), rather than from a stream.
    fn balances_polled(&self) -> bool {
        false
    }

    /// The name the client's balances give `asset` as a route's config names it (Kraken's
    /// `XBT` and `XXBT` are `BTC`); the name itself where the client keeps it.
    fn balance_asset(&self, asset: &str) -> String {
        asset.to_owned()
    }

    /// What the venue holds of the quote asset for a buy's fee on top of its notional, in
    /// millionths of the notional: its taker rate where it holds the fee (Kraken, Coinbase), 0 where it
    /// does not (Binance takes a buyer's fee out of the base received). A route's balance check
    /// counts it ([`crate::reservations::Reserve::with_buy_fee`]).
    fn buy_fee_held_ppm(&self) -> u32 {
        0
    }

    /// The streamed balance updates read since the last call, oldest first.
    fn take_balance_updates(&mut self) -> Vec<BalanceUpdate> {
        Vec::new()
    }

    /// How many times so far the client may have missed streamed balance updates: each update
    /// it dropped (its queue overflowed) and each connection it opened (what was pushed before
    /// it, or while it was away, is not sent again). Any increase forces a REST resync.
    fn balance_gaps(&self) -> u64 {
        0
    }

    /// Reads what the venue pushed meanwhile (user-data events), waiting at most `wait`.
    fn read_pushed(&mut self, wait: std::time::Duration) -> impl Future<Output = Result<(), Self::Error>> {
        let _ = wait;
        async { Ok(()) }
    }
}

/// Fetches and merges what the client's table may have missed (see the module docs).
pub async fn reconcile<C: VenueClient + ?Sized>(client: &mut C, symbol: &str) -> Result<ReconcileSummary, C::Error> {
    let mut summary = ReconcileSummary::default();
    let unanswered = live_orders(client, symbol, |o| o.venue_order_id.is_none());
    if !unanswered.is_empty() {
        client.settle_unanswered(symbol, &unanswered, &mut summary).await?;
    }
    client.merge_missed_fills(symbol, &mut summary).await?;
    let listed = client.merge_open_orders(symbol, &mut summary).await?;
    let unlisted = live_orders(client, symbol, |o| !listed.contains(&o.client_order_id));
    if !unlisted.is_empty() {
        client.settle_unlisted(symbol, &unlisted, &mut summary).await?;
    }
    if client.orders().iter().any(|o| o.missing_qty() > 0) {
        client.merge_missed_fills(symbol, &mut summary).await?;
    }
    Ok(summary)
}

/// The kill switch's step for `symbol`: every open order canceled, then a reconciliation.
/// Returns how many orders the venue canceled.
pub async fn kill_switch<C: VenueClient + ?Sized>(client: &mut C, symbol: &str) -> Result<usize, C::Error> {
    let canceled = client.cancel_open(symbol).await?;
    reconcile(client, symbol).await?;
    Ok(canceled)
}

/// The client ids of the orders the table holds as live that a reconciliation of `symbol`
/// covers and that pass `filter`.
pub fn live_orders<C: VenueClient + ?Sized>(
    client: &C,
    symbol: &str,
    filter: impl Fn(&OrderState) -> bool,
) -> Vec<String> {
    client
        .orders()
        .iter()
        .filter(|o| !o.status().is_terminal() && filter(o) && client.reconciles(symbol, &o.client_order_id))
        .map(|o| o.client_order_id.clone())
        .collect()
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
