//! Saving and loading the ledger (see [`crate::venue_state`]): every account's holdings (free
//! and locked, by asset name) and positions. The assets, instruments, fee rates and starting
//! balances are the configuration's, not the state's.

use serde::{Deserialize, Serialize};

use super::{Account, Holding, Pos, VenueLedger};
use crate::venue_state::{parse, parse_bin, state_error, to_bin, StateError, JSON_STATE_VERSION, STATE_VERSION};

const PART: &str = "ledger";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerState {
    part: String,
    version: u32,
    accounts: Vec<AccountState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountState {
    account: u32,
    /// `(asset, holding)`.
    holdings: Vec<(String, Holding)>,
    /// `(instrument id, position)`.
    positions: Vec<(u32, Pos)>,
}

impl VenueLedger {
    /// The accounts as a binary state document (the same ledger gives the same bytes).
    pub fn to_state_bin(&self) -> Vec<u8> {
        to_bin(&self.state(STATE_VERSION))
    }

    /// The accounts as a JSON state document (the same ledger gives the same text).
    pub fn to_state(&self) -> String {
        serde_json::to_string(&self.state(JSON_STATE_VERSION)).expect("the ledger serializes")
    }

    fn state(&self, version: u32) -> LedgerState {
        let mut accounts: Vec<AccountState> = (self.accounts.iter())
            .map(|(account, a)| {
                let holdings = (a.holdings.iter().enumerate())
                    .filter_map(|(id, h)| h.map(|h| (self.assets[id].name.clone(), h)))
                    .collect();
                let mut positions: Vec<(u32, Pos)> = a.positions.iter().map(|(i, p)| (*i, *p)).collect();
                positions.sort_unstable_by_key(|(i, _)| *i);
                AccountState { account: *account, holdings, positions }
            })
            .collect();
        accounts.sort_unstable_by_key(|a| a.account);
        LedgerState { part: PART.to_owned(), version, accounts }
    }

    /// Replaces every account's holdings and positions with those of a state document from
    /// [`Self::to_state`]. A document that is not one, or that does not fit this ledger (an
    /// asset it does not know, an instrument id past its last, an account twice), is an error
    /// and the ledger is unchanged.
    pub fn load_state(&mut self, json: &str) -> Result<(), StateError> {
        self.load(parse(PART, json)?)
    }

    /// [`Self::load_state`] for a binary document from [`Self::to_state_bin`].
    pub fn load_state_bin(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        self.load(parse_bin(PART, bytes)?)
    }

    fn load(&mut self, s: LedgerState) -> Result<(), StateError> {
        let mut accounts = std::collections::HashMap::with_capacity(s.accounts.len());
        for a in s.accounts {
            let mut account = Account { holdings: vec![None; self.assets.len()], ..Account::default() };
            for (name, h) in a.holdings {
                let Some(id) = self.assets.iter().position(|x| x.name == name) else {
                    return Err(state_error(PART, format!("account {} holds {name:?}, an unknown asset", a.account)));
                };
                account.holdings[id] = Some(h);
            }
            for (instrument, p) in a.positions {
                if instrument as usize >= self.instruments.len() {
                    return Err(state_error(
                        PART,
                        format!("account {} has a position in instrument {instrument}", a.account),
                    ));
                }
                account.positions.insert(instrument, p);
            }
            if accounts.insert(a.account, account).is_some() {
                return Err(state_error(PART, format!("account {} twice", a.account)));
            }
        }
        self.accounts = accounts;
        Ok(())
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
