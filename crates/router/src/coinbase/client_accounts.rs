//! The REST client's accounts: `GET /api/v3/brokerage/accounts` (every page), each currency's
//! available balance and hold as Coinbase writes them (decimal text, read exactly).
//!
//! Coinbase holds an open buy's fee at the taker rate in the quote currency, on top of its
//! notional (it is in the `hold`), and refuses a buy whose notional and fee the available balance
//! does not cover (`INSUFFICIENT_FUND`); the client tells its route that rate
//! ([`crate::venue::VenueClient::buy_fee_held_ppm`]): the account's, when it was given
//! ([`CoinbaseRestClient::set_taker_fee_ppm`]), else [`COINBASE_DEFAULT_TAKER_FEE_PPM`].

use std::collections::BTreeMap;

use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use super::{CoinbaseClientError, CoinbaseRestClient};
use crate::coinbase::reports::parse;
use crate::order::ReportParseError;

/// Coinbase Advanced's default taker fee, 1.20 % in millionths: the entry tier ("Intro 1",
/// under 1,000 USD of 30-day volume) of its published fee schedule
/// (help.coinbase.com/en/coinbase/trading-and-funding/advanced-trade/advanced-trade-fees), the
/// highest taker fee it charges, so a route that does not know the account's fee never reads a
/// buy's hold low.
pub const COINBASE_DEFAULT_TAKER_FEE_PPM: u32 = 12_000;

#[derive(Deserialize)]
struct AccountsPage {
    accounts: Vec<Account>,
    #[serde(default)]
    has_next: bool,
    #[serde(default)]
    cursor: String,
}

#[derive(Deserialize)]
struct Account {
    currency: String,
    available_balance: Amount,
    hold: Amount,
}

#[derive(Deserialize)]
struct Amount {
    value: String,
}

impl CoinbaseRestClient {
    /// The account's taker fee, in millionths of the notional (`None`: not known, and
    /// [`COINBASE_DEFAULT_TAKER_FEE_PPM`] is assumed): what Coinbase holds of the quote currency
    /// for a buy's fee, which the route's balance check counts.
    pub fn set_taker_fee_ppm(&mut self, taker_fee_ppm: Option<u32>) {
        self.taker_fee_ppm = taker_fee_ppm;
    }

    /// The taker fee the client assumes, in millionths (see [`Self::set_taker_fee_ppm`]).
    pub fn taker_fee_ppm(&self) -> u32 {
        self.taker_fee_ppm.unwrap_or(COINBASE_DEFAULT_TAKER_FEE_PPM)
    }

    /// `GET /api/v3/brokerage/accounts` (all pages): every currency of the key's account,
    /// `(available, hold)`, exact (`hold` is what open orders need, the fee included).
    pub async fn accounts(&mut self) -> Result<BTreeMap<String, (Decimal, Decimal)>, CoinbaseClientError> {
        const EP: &str = "GET /accounts";
        let parse_error = |error| CoinbaseClientError::Parse { endpoint: EP, error };
        let exact = |field: &'static str, text: &str| {
            Decimal::parse(text).map_err(|_| parse_error(ReportParseError::bad_decimal(field, text)))
        };
        let mut out = BTreeMap::new();
        let mut cursor = String::new();
        loop {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("limit", "250");
            if !cursor.is_empty() {
                query.append_pair("cursor", &cursor);
            }
            let answer = self.send(EP, "GET", "/api/v3/brokerage/accounts", &query.finish(), String::new()).await?;
            let body = self.expect_ok(EP, answer)?;
            let page: AccountsPage = parse("accounts", &body).map_err(parse_error)?;
            for a in page.accounts {
                let amounts = (exact("available_balance", &a.available_balance.value)?, exact("hold", &a.hold.value)?);
                out.insert(a.currency, amounts);
            }
            if !page.has_next || page.cursor.is_empty() {
                return Ok(out);
            }
            cursor = page.cursor;
        }
    }
}
