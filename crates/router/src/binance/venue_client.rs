//! The [`crate::venue::VenueClient`] implementation of both Binance order clients
//! ([`super::client::BinanceRestClient`] and [`super::ws_client::BinanceWsClient`]): the same
//! steps over each client's own requests, written once.
//!
//! Each client supplies, as inherent methods of the same names: `place`, `cancel`,
//! `amend_keep_priority`, `cancel_open_orders`, and for reconciliation `query_order` (one order
//! by client id, `-2013` meaning it never arrived), `fetch_trades` (`myTrades` from the last
//! reconciled trade, every page) and `fetch_open_orders` (the symbol's open orders merged;
//! which of ours were listed); and the fields `orders` and `order_symbols`. What differs beyond
//! those (the one-request cancel-replace's arguments, the WebSocket client's balances and
//! pushed events) is written where the macro is invoked, inside the same `impl` block.

/// `impl VenueClient for $client { <the shared items> <the items given> }`.
macro_rules! binance_venue_client {
    ($client:ident { $($own:tt)* }) => {
        impl $crate::venue::VenueClient for $client {
            type Error = $crate::binance::client::BinanceClientError;

            fn venue(&self) -> $crate::order_state::Venue {
                $crate::order_state::Venue::Binance
            }

            fn error_kind(error: &Self::Error) -> $crate::venue::ErrorKind {
                error.kind()
            }

            fn orders(&self) -> &$crate::order_state::OrderTable {
                &self.orders
            }

            async fn place(
                &mut self,
                order: &$crate::order::NewOrder,
            ) -> Result<Vec<$crate::order_state::ExecutionReport>, Self::Error> {
                $client::place(self, order).await
            }

            async fn cancel(
                &mut self,
                symbol: &str,
                client_order_id: &str,
            ) -> Result<Vec<$crate::order_state::ExecutionReport>, Self::Error> {
                $client::cancel(self, symbol, client_order_id).await
            }

            /// Binance's order queries are per symbol.
            fn reconciles(&self, symbol: &str, client_order_id: &str) -> bool {
                self.order_symbols.get(client_order_id).is_some_and(|s| s == symbol)
            }

            /// Each order queried by client id (`GET /api/v3/order`, `order.status`).
            async fn settle_unanswered(
                &mut self,
                symbol: &str,
                client_order_ids: &[String],
                summary: &mut $crate::order::ReconcileSummary,
            ) -> Result<(), Self::Error> {
                for id in client_order_ids {
                    self.query_order(symbol, id, summary).await?;
                }
                Ok(())
            }

            /// `myTrades` from the last reconciled trade id (every page).
            async fn merge_missed_fills(
                &mut self,
                symbol: &str,
                summary: &mut $crate::order::ReconcileSummary,
            ) -> Result<(), Self::Error> {
                self.fetch_trades(symbol, summary).await
            }

            /// The symbol's open orders (`GET /api/v3/openOrders`, `openOrders.status`).
            async fn merge_open_orders(
                &mut self,
                symbol: &str,
                summary: &mut $crate::order::ReconcileSummary,
            ) -> Result<std::collections::HashSet<String>, Self::Error> {
                self.fetch_open_orders(symbol, summary).await
            }

            /// Each order queried by client id (`-2013`: it never arrived, so rejected).
            async fn settle_unlisted(
                &mut self,
                symbol: &str,
                client_order_ids: &[String],
                summary: &mut $crate::order::ReconcileSummary,
            ) -> Result<(), Self::Error> {
                self.settle_unanswered(symbol, client_order_ids, summary).await
            }

            /// In place when only the quantity goes down (`keepPriority`: the queue place is
            /// kept); `Ok(false)` otherwise, or when the order was amended as often as the venue
            /// allows (`MAX_NUM_ORDER_AMENDS`), and the adapter cancel-replaces.
            async fn amend(
                &mut self,
                symbol: &str,
                client_order_id: &str,
                new_total_qty: i64,
            ) -> Result<bool, Self::Error> {
                if !$crate::binance::outcomes::reduces(&self.orders, client_order_id, new_total_qty) {
                    return Ok(false);
                }
                let amended = self.amend_keep_priority(symbol, client_order_id, new_total_qty).await;
                $crate::binance::client::amended_in_place(amended)
            }

            /// Every open order on the symbol canceled in one request (`DELETE
            /// /api/v3/openOrders`, `openOrders.cancelAll`).
            async fn cancel_open(&mut self, symbol: &str) -> Result<usize, Self::Error> {
                Ok($crate::binance::outcomes::canceled_count(&self.cancel_open_orders(symbol).await?))
            }

            $($own)*
        }
    };
}
