//! The REST client's accounts: `GET /api/v3/brokerage/accounts` (every page), each currency's
//! available balance and hold as Coinbase writes them (decimal text, read exactly).

use std::collections::BTreeMap;

use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use super::{CoinbaseClientError, CoinbaseRestClient};
use crate::coinbase::reports::parse;
use crate::order::ReportParseError;

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
