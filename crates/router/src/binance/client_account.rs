//! The REST client's account: `GET /api/v3/account` (signed, weight 20), every asset's free and
//! locked balance as Binance writes them (decimal text, read exactly).

use std::collections::BTreeMap;

use hyper::Method;
use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use super::{BinanceClientError, BinanceRestClient};
use crate::order::ReportParseError;

#[derive(Deserialize)]
struct Account {
    balances: Vec<Balance>,
}

#[derive(Deserialize)]
struct Balance {
    asset: String,
    free: String,
    locked: String,
}

impl BinanceRestClient {
    /// `GET /api/v3/account`: every asset of the key's account, `(free, locked)`, exact (an
    /// order's lock is what its open part needs; `free` is what a new order can use).
    pub async fn balances(&mut self) -> Result<BTreeMap<String, (Decimal, Decimal)>, BinanceClientError> {
        const EP: &str = "GET /api/v3/account";
        let answer = self.send(EP, Method::GET, "/api/v3/account", String::new(), 20, true).await?;
        let body = self.expect_ok(EP, answer)?;
        let parse_error = |error| BinanceClientError::Parse { endpoint: EP, error };
        let account: Account =
            serde_json::from_slice(&body).map_err(|e| parse_error(ReportParseError::malformed("account")(e)))?;
        let exact = |field: &'static str, text: &str| {
            Decimal::parse(text).map_err(|_| parse_error(ReportParseError::bad_decimal(field, text)))
        };
        account
            .balances
            .iter()
            .map(|b| Ok((b.asset.clone(), (exact("free", &b.free)?, exact("locked", &b.locked)?))))
            .collect()
    }
}
