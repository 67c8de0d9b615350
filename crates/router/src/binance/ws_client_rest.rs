//! The Binance WebSocket API client's REST companion, and what a route needs besides order
//! entry: one client (one [`crate::venue::VenueClient`]) trades over the WebSocket API, and a
//! [`BinanceRestClient`] of the same key answers what a route asks before it trades.
//!
//! - **Orders, cancels, cancel-replaces, amends, the kill switch and reconciliation** all go over
//!   the WebSocket API (`order.place`, `order.cancel`, `order.cancelReplace`,
//!   `order.amend.keepPriority`, `openOrders.cancelAll`, `order.status`, `myTrades`,
//!   `openOrders.status`), so one connection and one [`crate::order_state::OrderTable`] see
//!   every answer and every user-data event.
//! - **The symbol's grid** before a live route starts (`GET /api/v3/exchangeInfo`:
//!   [`BinanceWsClient::exchange_grid`]) comes from the REST companion.
//! - **User data**: a client built [`BinanceWsClient::with_rest`] subscribes on every connection
//!   it opens (the first, and each reconnect), and measures the server-time offset there first.
//!   Fills made while it was disconnected come from the next reconciliation (`myTrades`, merged
//!   by trade id), so none is lost and none counts twice.

use wintermute_core::decimal::Decimal;

use super::{expect_ok, parse_error, BinanceWsClient, UserDataAuth};
use crate::binance::client::{BinanceClientError, BinanceRestClient};
use crate::binance::reports::{BinanceInstrument, BinanceOrder, ReportParseError};
use crate::http::EndpointError;
use crate::order::local_ms;
use crate::signing::BinanceSigner;

impl BinanceWsClient {
    /// A client for the WebSocket API at `url` (as [`Self::open`]: it connects on first use)
    /// with `rest` (the same key's REST client) as its companion (module docs of [`super`]):
    /// every connection it opens measures the server-time offset and subscribes to user data.
    pub fn with_rest(
        url: &str,
        extra_roots: Option<&std::path::Path>,
        api_key: &str,
        signer: BinanceSigner,
        rest: BinanceRestClient,
        instruments: Vec<BinanceInstrument>,
    ) -> Result<Self, EndpointError> {
        let auth = match signer {
            BinanceSigner::Ed25519(_) => UserDataAuth::SessionLogon,
            BinanceSigner::HmacSha256(..) => UserDataAuth::Signature,
        };
        let mut client = Self::open(url, extra_roots, api_key, signer, instruments)?;
        client.user_data = Some(auth);
        client.rest = Some(rest);
        Ok(client)
    }

    /// The REST companion, if any.
    pub fn rest(&self) -> Option<&BinanceRestClient> {
        self.rest.as_ref()
    }

    /// The REST companion, to call it directly.
    pub fn rest_mut(&mut self) -> Option<&mut BinanceRestClient> {
        self.rest.as_mut()
    }

    /// The symbol's grid (tick, lot) from the REST companion's `exchangeInfo`; an error without
    /// one.
    pub async fn exchange_grid(&mut self, symbol: &str) -> Result<(Decimal, Decimal), BinanceClientError> {
        match self.rest.as_mut() {
            Some(rest) => rest.exchange_grid(symbol).await,
            None => Err(BinanceClientError::Transport {
                endpoint: "GET /api/v3/exchangeInfo",
                error: "no REST companion (BinanceWsClient::with_rest)".into(),
            }),
        }
    }

    /// The server-time offset, on the connection just opened (`time`, weight 1).
    pub(super) async fn offset_on_connect(&mut self) -> Result<(), BinanceClientError> {
        const M: &str = "time";
        let t0 = local_ms();
        let id = self.next_id();
        let answer = self.exchange(M, id, super::request(id, M, &[])).await?;
        let t1 = local_ms();
        let server_ms = expect_ok(M, answer)?["serverTime"].as_i64().ok_or(BinanceClientError::Parse {
            endpoint: M,
            error: ReportParseError::Malformed { what: "time", error: "no serverTime".into() },
        })?;
        self.time_offset_ms = server_ms - (t0 + (t1 - t0) / 2);
        Ok(())
    }

    /// Takes into the table each open order on `symbol` that the venue lists
    /// (`openOrders.status`) and the table does not hold (orders another process placed), so
    /// that the kill switch cancels them too and the reconciliation after it reports their final
    /// states; returns how many it took.
    pub async fn adopt_open_orders(&mut self, symbol: &str) -> Result<usize, BinanceClientError> {
        const M: &str = "openOrders.status";
        let inst = self.instrument(symbol)?.clone();
        let answer = self.request(M, vec![("symbol", symbol.into())], 6, true, false).await?;
        let parse = parse_error(M);
        let open: Vec<BinanceOrder> = serde_json::from_value(expect_ok(M, answer)?)
            .map_err(|e| parse(ReportParseError::malformed("openOrders")(e)))?;
        crate::binance::outcomes::adopt(&mut self.orders, &mut self.order_symbols, symbol, &inst, &open).map_err(parse)
    }
}
