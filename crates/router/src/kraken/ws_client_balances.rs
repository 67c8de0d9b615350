//! The Kraken WebSocket client's account balances: the `balances` channel (the account's ledger
//! entries: each trade, deposit or withdrawal with the asset's whole balance after it) and its
//! REST companion's `BalanceEx` (each asset's balance and what open orders hold of it), as a
//! route's balances ([`crate::balances`]) take them.
//!
//! A client built [`KrakenWsClient::with_rest`] subscribes to `balances` on every connection,
//! after `executions`, without the channel's snapshot (totals only; the route loads `BalanceEx`
//! instead). Should Kraken refuse the subscription, the client trades on without balances
//! ([`KrakenWsClient::balances_refused`]) and its snapshot is `None`, so its route checks
//! nothing against them. Each update's entries become [`BalanceChange::Total`]s queued for
//! [`KrakenWsClient::take_balance_updates`] (65,536 at most: the oldest is dropped and counted
//! as a gap). A message that cannot be read is counted ([`KrakenWsClient::malformed_balances`]
//! and `malformed_frames`) and queues nothing. The client may have missed entries, and counts a
//! gap ([`KrakenWsClient::balance_gaps`]), on every connection it subscribes (what was pushed
//! while it was away is not sent again) and on every entry it dropped. The messages' `sequence`
//! is not read as a gap: Kraken's executions messages carry one too, and its documentation does
//! not say whether the count is each channel's or the connection's, so a skip could be another
//! channel's message; a false gap would send the route to REST on every order event.
//!
//! Kraken holds an open buy's fee at the taker rate in the quote asset, on top of its notional,
//! and refuses a buy whose notional and fee the free balance does not cover
//! (`EOrder:Insufficient funds`); the client tells its route that rate
//! ([`crate::venue::VenueClient::buy_fee_held_ppm`]): the account's, when it was given
//! ([`KrakenWsClient::set_taker_fee_ppm`]), else [`KRAKEN_DEFAULT_TAKER_FEE_PPM`].
//!
//! Asset names are Kraken's v2 codes ([`crate::kraken::assets::v2_asset`]): `BalanceEx` says
//! `XXBT` and `ZUSD` where the channel says `BTC` and `USD`.

use std::time::Duration;

use serde_json::value::RawValue;
use wintermute_core::decimal::Decimal;

use super::{KrakenWsClient, KrakenWsError};
use crate::balances::BalanceSnapshot;
use crate::kraken::assets::v2_asset;
use crate::kraken::client::KrakenClientError;
use crate::kraken::ws_messages::{balance_updates, subscribe_balances_message};
use crate::order::{local_ns, BalanceUpdate, ReportParseError};

/// Balance updates queued at most (the oldest dropped beyond, as a gap).
pub const BALANCE_QUEUE_CAPACITY: usize = 65_536;

/// Kraken's default spot taker fee, 0.40 % in millionths: the entry tier of its spot fee
/// schedule (kraken.com/features/fee-schedule), the highest taker fee it charges on spot
/// pairs, so a route that does not know the account's fee never reads a buy's hold low.
pub const KRAKEN_DEFAULT_TAKER_FEE_PPM: u32 = 4_000;

/// A fee rate (0.0026) in millionths (2,600), rounded up, for
/// [`KrakenWsClient::set_taker_fee_ppm`]; `None` if negative or past `u32`.
pub fn taker_fee_ppm_of(rate: Decimal) -> Option<u32> {
    let per_ppm = 10i128.pow(wintermute_core::decimal::SCALE - 6);
    let raw = u128::try_from(rate.raw()).ok()?;
    u32::try_from(raw.div_ceil(per_ppm.unsigned_abs())).ok()
}

impl KrakenWsClient {
    /// The account's taker fee, in millionths of the notional (`None`: not known, and
    /// [`KRAKEN_DEFAULT_TAKER_FEE_PPM`] is assumed): what Kraken holds of the quote asset for a
    /// buy's fee, which the route's balance check counts.
    pub fn set_taker_fee_ppm(&mut self, taker_fee_ppm: Option<u32>) {
        self.taker_fee_ppm = taker_fee_ppm;
    }

    /// The taker fee the client assumes, in millionths (see [`Self::set_taker_fee_ppm`]).
    pub fn taker_fee_ppm(&self) -> u32 {
        self.taker_fee_ppm.unwrap_or(KRAKEN_DEFAULT_TAKER_FEE_PPM)
    }

    /// The balance updates read since the last call, oldest first.
    pub fn take_balance_updates(&mut self) -> Vec<BalanceUpdate> {
        self.balances.drain(..).collect()
    }

    /// How many times the client may have missed balance entries (module docs).
    pub fn balance_gaps(&self) -> u64 {
        self.balance_gaps
    }

    /// The last `sequence` the `balances` channel sent on this connection.
    pub fn last_balance_sequence(&self) -> Option<u64> {
        self.balance_seq
    }

    /// `balances` messages that could not be read (nothing of them queued).
    pub fn malformed_balances(&self) -> u64 {
        self.malformed_balances
    }

    /// Whether the client follows the account's balances: it has a REST companion and the
    /// venue did not refuse its `balances` subscription.
    pub fn tracks_balances(&self) -> bool {
        self.rest.is_some() && self.balances_refused.is_none()
    }

    /// Kraken's error, if it refused the `balances` subscription (a key without the funds
    /// query permission): the client then trades on, and its route tracks no balances.
    pub fn balances_refused(&self) -> Option<&str> {
        self.balances_refused.as_deref()
    }

    /// The REST companion's `BalanceEx` as a snapshot: each asset (by its v2 name) free (its
    /// balance less `hold_trade`, never below zero) and locked (`hold_trade`, at most the
    /// balance); stamped with our clock when the answer came (`BalanceEx` carries no venue
    /// time; the channel's entries are stamped with ours too). `None` without a companion.
    pub async fn balance_snapshot(&mut self) -> Result<Option<BalanceSnapshot>, KrakenWsError> {
        if !self.tracks_balances() {
            return Ok(None);
        }
        let Some(rest) = self.rest.as_mut() else { return Ok(None) };
        let entries = rest.balance_ex().await?;
        let mut snapshot = BalanceSnapshot { balances: Default::default(), ts_ns: local_ns() };
        for (asset, (balance, hold)) in entries {
            let bad = |field| KrakenClientError::Parse {
                endpoint: "BalanceEx",
                error: ReportParseError::bad_decimal(field, &format!("{asset}: negative")),
            };
            if balance.raw() < 0 {
                return Err(bad("balance").into());
            }
            if hold.raw() < 0 {
                return Err(bad("hold_trade").into());
            }
            let locked = hold.min(balance);
            let free = Decimal::from_raw(balance.raw() - locked.raw()).unwrap_or(Decimal::ZERO);
            let name = v2_asset(&asset).to_owned();
            // Two names of one asset (never seen from Kraken): their amounts add up.
            let entry = snapshot.balances.entry(name).or_insert((Decimal::ZERO, Decimal::ZERO));
            let sum = |a: Decimal, b: Decimal| Decimal::from_raw(a.raw().saturating_add(b.raw())).unwrap_or(a);
            *entry = (sum(entry.0, free), sum(entry.1, locked));
        }
        Ok(Some(snapshot))
    }

    /// Reads what the venue pushed (executions applied, balance entries queued) for up to
    /// `wait`, connecting first when the connection dropped.
    pub async fn read_pushed(&mut self, wait: Duration) -> Result<(), KrakenWsError> {
        self.ensure_connected().await?;
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(text) = self.next_frame(deadline).await? {
            self.on_frame(&text, None);
        }
        Ok(())
    }

    /// Subscribes the new connection to `balances` (a client with a REST companion): a gap.
    pub(super) async fn subscribe_balances(&mut self) -> Result<(), KrakenWsError> {
        if !self.tracks_balances() {
            return Ok(());
        }
        let answer = self.request_with_token("subscribe", subscribe_balances_message).await?;
        if let Err(error) = answer.outcome {
            // Orders go on; the route learns there are no balances from the snapshot (`None`).
            self.balances_refused = Some(error);
            return Ok(());
        }
        self.balance_seq = None;
        self.balance_gaps += 1;
        Ok(())
    }

    /// A `balances` message: an update's entries queued (a snapshot's totals are not: they say
    /// nothing of holds), an unreadable one counted; its `sequence` kept as the last seen.
    pub(super) fn on_balances(&mut self, snapshot: bool, sequence: Option<u64>, data: &RawValue) {
        if sequence.is_some() {
            self.balance_seq = sequence;
        }
        if snapshot {
            return;
        }
        match balance_updates(data, local_ns()) {
            Ok(updates) => {
                for update in updates {
                    if self.balances.len() == BALANCE_QUEUE_CAPACITY {
                        self.balances.pop_front();
                        self.balance_gaps += 1;
                    }
                    self.balances.push_back(update);
                }
            }
            Err(_) => {
                self.malformed += 1;
                self.malformed_balances += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::BalanceChange;

    fn client() -> KrakenWsClient {
        KrakenWsClient::new("ws://127.0.0.1:1/v2", None, "token", Vec::new()).unwrap()
    }

    fn update(seq: u64, asset: &str, balance: &str) -> String {
        format!(
            r#"{{"channel":"balances","type":"update","data":[{{"ledger_id":"L","ref_id":"R","timestamp":"2024-05-24T14:01:53.526524Z","type":"trade","asset":"{asset}","asset_class":"currency","category":"trade","wallet_type":"spot","wallet_id":"main","amount":-1,"fee":0,"balance":{balance}}}],"sequence":{seq}}}"#
        )
    }

    #[test]
    fn entries_are_queued_in_order_and_a_bad_message_is_counted() {
        let mut c = client();
        c.on_frame(r#"{"channel":"balances","type":"snapshot","data":[{"asset":"USD","asset_class":"currency","balance":5,"wallets":[]}],"sequence":1}"#, None);
        c.on_frame(&update(2, "USD", "118.0558"), None);
        c.on_frame(&update(3, "XBT", "0.5"), None);
        assert_eq!(c.balance_gaps(), 0);
        let taken = c.take_balance_updates();
        let got: Vec<(&str, BalanceChange)> = taken.iter().map(|u| (u.asset.as_str(), u.change)).collect();
        let total = |t: &str| BalanceChange::Total { balance: Decimal::parse(t).unwrap() };
        assert_eq!(got, [("USD", total("118.0558")), ("BTC", total("0.5"))], "the snapshot's totals are not queued");
        assert!(c.take_balance_updates().is_empty());

        // A skipped sequence may be another channel's message: no gap (module docs).
        c.on_frame(&update(5, "USD", "1"), None);
        assert_eq!((c.balance_gaps(), c.last_balance_sequence()), (0, Some(5)));
        c.on_frame(&update(6, "USD", "1e2"), None);
        assert_eq!((c.malformed_balances(), c.malformed_frames()), (1, 1));
        assert_eq!(c.take_balance_updates().len(), 1, "nothing of the bad message");
        assert_eq!(c.balance_gaps(), 0);
    }

    #[test]
    fn a_full_queue_drops_its_oldest_entry_as_a_gap() {
        let mut c = client();
        for seq in 1..=(BALANCE_QUEUE_CAPACITY as u64 + 2) {
            c.on_frame(&update(seq, "USD", &seq.to_string()), None);
        }
        assert_eq!(c.balance_gaps(), 2, "two entries dropped");
        let taken = c.take_balance_updates();
        assert_eq!(taken.len(), BALANCE_QUEUE_CAPACITY);
        assert_eq!(taken[0].change, BalanceChange::Total { balance: Decimal::new(3, 0) });
    }
}
