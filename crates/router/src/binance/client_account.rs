//! The REST client's account: `GET /api/v3/account` (signed, weight 20), every asset's free and
//! locked balance as Binance writes them (decimal text, read exactly), and
//! `GET /sapi/v1/account/status` (signed, weight 1): whether the account is in good standing.

use std::collections::BTreeMap;

use hyper::Method;
use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use super::{BinanceClientError, BinanceRestClient};
use crate::balances::BalanceSnapshot;
use crate::order::{local_ns, ReportParseError};

#[derive(Deserialize)]
struct Account {
    balances: Vec<Balance>,
    #[serde(rename = "updateTime", default)]
    update_time: Option<i64>,
}

#[derive(Deserialize)]
struct AccountStatus {
    data: String,
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
        Ok(self.account_snapshot().await?.balances)
    }

    /// `GET /api/v3/account` as a [`BalanceSnapshot`]: every asset's `(free, locked)` and the
    /// account's `updateTime` (the venue time of its latest change; the local time when the
    /// answer has none).
    pub async fn account_snapshot(&mut self) -> Result<BalanceSnapshot, BinanceClientError> {
        const EP: &str = "GET /api/v3/account";
        let answer = self.send(EP, Method::GET, "/api/v3/account", String::new(), 20, true).await?;
        let body = self.expect_ok(EP, answer)?;
        let parse_error = |error| BinanceClientError::Parse { endpoint: EP, error };
        let account: Account =
            serde_json::from_slice(&body).map_err(|e| parse_error(ReportParseError::malformed("account")(e)))?;
        let exact = |field: &'static str, text: &str| {
            Decimal::parse(text).map_err(|_| parse_error(ReportParseError::bad_decimal(field, text)))
        };
        let balances = account
            .balances
            .iter()
            .map(|b| Ok((b.asset.clone(), (exact("free", &b.free)?, exact("locked", &b.locked)?))))
            .collect::<Result<_, BinanceClientError>>()?;
        let ts_ns = account.update_time.map_or_else(local_ns, |ms| ms.saturating_mul(1_000_000));
        Ok(BalanceSnapshot { balances, ts_ns })
    }

    /// `GET /sapi/v1/account/status`: the account's standing as Binance words it (`"Normal"`
    /// for an account in good standing; anything else names a restriction). A key the venue
    /// does not know is [`BinanceClientError::Venue`] (`-2015`).
    pub async fn account_status(&mut self) -> Result<String, BinanceClientError> {
        const EP: &str = "GET /sapi/v1/account/status";
        let answer = self.send(EP, Method::GET, "/sapi/v1/account/status", String::new(), 1, true).await?;
        let body = self.expect_ok(EP, answer)?;
        let status: AccountStatus = serde_json::from_slice(&body).map_err(|e| BinanceClientError::Parse {
            endpoint: EP,
            error: ReportParseError::malformed("account status")(e),
        })?;
        Ok(status.data)
    }
}
