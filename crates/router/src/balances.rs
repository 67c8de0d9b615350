//! A venue account's balances as the routing layer knows them: each asset's `free` (what a new
//! order can use) and `locked` (what open orders hold), exact decimals, kept current from the
//! venue's REST account snapshot and the balance updates its user-data stream sends
//! ([`BalanceUpdate`]: Binance's `outboundAccountPosition` and `balanceUpdate`).
//!
//! ```text
//!   REST snapshot (GET /api/v3/account) ──load──┐
//!                                                ▼
//!   user data: Position { free, locked } ──apply──> AccountBalances ──> covers(side, qty, price)
//!              Transfer { delta }        ──apply──┘      │                 (RoutedExecution: an
//!   gaps (dropped updates, reconnect) ─> resync due ────┘                  order refused before
//!   fresh REST snapshot ──reconcile──> differences reported, snapshot adopted      it is sent)
//! ```
//!
//! **Kraken's stream carries no holds.** Its `balances` channel sends one ledger entry per
//! change of an asset (a trade, a deposit, a withdrawal) with the asset's whole balance after it
//! ([`BalanceChange::Total`]), and nothing when an order places or releases a hold. A `Total`
//! sets the asset's balance and keeps what the last snapshot said open orders hold, up to the
//! balance: `locked = min(locked, balance)`, `free = balance − locked`. A hold released since
//! (a fill, a cancel) then reads as still locked, and a hold placed since reads as free; the
//! route covers the second with its reservations ([`crate::reservations`]) and loads a fresh
//! snapshot for the first ([`crate::route_balances`]). For the same reason a reconciliation on
//! a venue whose stream carries no holds compares each asset's total, not how it splits.
//!
//! **The newest event time wins.** Every asset keeps the venue time of what it was last set
//! from (the snapshot's `updateTime`, or an update's event time). A `Position` (the asset's free
//! and locked after a change) older than that is ignored and counted
//! ([`BalanceStats::stale_ignored`]); one at the same time or newer sets both amounts. A
//! `Transfer` (a deposit or withdrawal's signed amount) is applied only when strictly newer: one
//! at the state's own time is already in it (a venue follows every transfer with a `Position`
//! of the asset, which sets it absolutely either way).
//!
//! **Bad updates leave the state untouched.** An update for another venue, a negative amount, a
//! withdrawal past the free balance or a sum that overflows is refused with a
//! [`BalanceError`] and counted ([`BalanceStats::refused`]); nothing of it is applied.
//!
//! **No silently wrong balance.** Until a snapshot is loaded, and from the moment the client
//! may have missed a balance update (it dropped one when its queue overflowed, or it
//! reconnected: what was pushed meanwhile is not sent again), the balances are *unknown*: a resync is due
//! ([`AccountBalances::resync_due`]), [`AccountBalances::covers`] answers `None` (no refusal on
//! a guess) and [`AccountBalances::free`] is `None`, until a fresh REST snapshot is loaded.

use std::collections::BTreeMap;

use wintermute_core::decimal::{Decimal, Step};

use crate::order::{BalanceChange, BalanceUpdate};
use crate::order_state::{Side, Venue};

/// One asset's balance, and the venue time it was last set from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetBalance {
    /// What a new order can use.
    pub free: Decimal,
    /// What open orders hold.
    pub locked: Decimal,
    /// The venue time (ns since the Unix epoch) of the snapshot or update it was set from.
    pub ts_ns: i64,
}

/// A venue's REST account snapshot: every asset's `(free, locked)` and the venue's time of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceSnapshot {
    /// Each asset's (free, locked).
    pub balances: BTreeMap<String, (Decimal, Decimal)>,
    /// The venue's time of the snapshot (Binance's `updateTime`), ns since the Unix epoch.
    pub ts_ns: i64,
}

/// An update refused (the state untouched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// An update of another venue's account.
    #[error("balance update of another venue: account={account:?} update={update:?}")]
    WrongVenue {
        /// The account's venue.
        account: Venue,
        /// The update's.
        update: Venue,
    },
    /// A negative free or locked amount.
    #[error("negative balance in update: asset={asset} field={field} amount={amount}")]
    Negative {
        /// The asset.
        asset: String,
        /// `free` or `locked`.
        field: &'static str,
        /// The amount.
        amount: Decimal,
    },
    /// A withdrawal of more than the free balance.
    #[error("withdrawal past the free balance: asset={asset} free={free} delta={delta}")]
    Overdrawn {
        /// The asset.
        asset: String,
        /// The free balance.
        free: Decimal,
        /// The signed amount.
        delta: Decimal,
    },
    /// A sum past the decimals' range.
    #[error("balance out of range: asset={asset}")]
    OutOfRange {
        /// The asset.
        asset: String,
    },
}

/// What [`AccountBalances::apply`] did with an update it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceApplied {
    /// The asset's balance changed (or was confirmed).
    Applied,
    /// Older than the asset's state: ignored (counted).
    Stale,
    /// The balances are unknown (no snapshot yet, or a resync due): ignored until the snapshot
    /// that replaces them.
    Unknown,
}

/// One asset on which the tracked balances and a fresh snapshot differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceDifference {
    /// The asset.
    pub asset: String,
    /// What was tracked (`None`: not known).
    pub tracked: Option<(Decimal, Decimal)>,
    /// What the venue's snapshot says (`None`: not listed).
    pub venue: Option<(Decimal, Decimal)>,
}

/// What a reconciliation against a fresh snapshot found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceReconciliation {
    /// The assets that differed (empty: the tracked balances were the venue's).
    pub differences: Vec<BalanceDifference>,
    /// Whether the balances were unknown before (nothing to compare: a resync).
    pub was_unknown: bool,
}

/// What the balances counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BalanceStats {
    /// Updates applied.
    pub applied: u64,
    /// Updates older than the asset's state, ignored.
    pub stale_ignored: u64,
    /// Updates ignored while the balances were unknown.
    pub ignored_unknown: u64,
    /// Updates refused ([`BalanceError`]).
    pub refused: u64,
    /// Snapshots loaded (the first, resyncs, reconciliations).
    pub snapshots: u64,
    /// Resyncs forced by gaps in the updates (dropped updates, reconnects).
    pub forced_resyncs: u64,
    /// Reconciliations that found a difference.
    pub reconcile_differences: u64,
}

/// A venue account's balances (see the module docs).
#[derive(Debug, Clone)]
pub struct AccountBalances {
    venue: Venue,
    assets: BTreeMap<String, AssetBalance>,
    known: bool,
    gaps_seen: u64,
    stats: BalanceStats,
}

fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    Decimal::from_raw(a.raw().checked_add(b.raw())?).ok()
}

/// Whether a venue's balance stream says what open orders hold (Binance's positions do;
/// Kraken's ledger entries do not, and Coinbase has no balance stream).
pub fn holds_streamed(venue: Venue) -> bool {
    venue == Venue::Binance
}

impl AccountBalances {
    /// The balances of an account at `venue`: unknown until a snapshot is loaded.
    pub fn new(venue: Venue) -> Self {
        Self { venue, assets: BTreeMap::new(), known: false, gaps_seen: 0, stats: BalanceStats::default() }
    }

    /// The venue.
    pub fn venue(&self) -> Venue {
        self.venue
    }

    /// Whether the balances are unknown until a fresh snapshot is loaded (none yet, or balance
    /// updates may have been missed).
    pub fn resync_due(&self) -> bool {
        !self.known
    }

    /// What was counted.
    pub fn stats(&self) -> BalanceStats {
        self.stats
    }

    /// Every asset's balance (empty while unknown).
    pub fn assets(&self) -> impl Iterator<Item = (&str, &AssetBalance)> {
        self.assets.iter().filter(|_| self.known).map(|(a, b)| (a.as_str(), b))
    }

    /// One asset's balance; `None` while the balances are unknown. An asset the venue did not
    /// list has nothing: zero.
    pub fn get(&self, asset: &str) -> Option<AssetBalance> {
        self.known.then(|| {
            self.assets.get(asset).copied().unwrap_or(AssetBalance {
                free: Decimal::ZERO,
                locked: Decimal::ZERO,
                ts_ns: i64::MIN,
            })
        })
    }

    /// One asset's free balance; `None` while the balances are unknown.
    pub fn free(&self, asset: &str) -> Option<Decimal> {
        self.get(asset).map(|b| b.free)
    }

    /// Loads a REST snapshot: every asset it lists, and nothing else (an asset it leaves out has
    /// nothing), except an asset whose state is newer than the snapshot (an update read after
    /// it was taken), which keeps that state. The balances are known from here on.
    pub fn load(&mut self, snapshot: &BalanceSnapshot) {
        let (ts, known) = (snapshot.ts_ns, self.known);
        self.assets.retain(|asset, b| snapshot.balances.contains_key(asset) || (known && b.ts_ns > ts));
        for (asset, &(free, locked)) in &snapshot.balances {
            match self.assets.get_mut(asset) {
                Some(b) if known && b.ts_ns > ts => {}
                Some(b) => *b = AssetBalance { free, locked, ts_ns: ts },
                None => {
                    self.assets.insert(asset.clone(), AssetBalance { free, locked, ts_ns: ts });
                }
            }
        }
        self.known = true;
        self.stats.snapshots += 1;
    }

    /// Compares the tracked balances with a fresh REST snapshot (assets whose tracked state is
    /// newer than the snapshot are not compared: the snapshot is behind them), then loads it.
    /// Where the venue's stream says nothing of holds ([`holds_streamed`]), each asset's total
    /// (free plus locked) is compared.
    pub fn reconcile(&mut self, snapshot: &BalanceSnapshot) -> BalanceReconciliation {
        let was_unknown = !self.known;
        let mut differences = Vec::new();
        if self.known {
            let zero = (Decimal::ZERO, Decimal::ZERO);
            let mut names: Vec<&String> = self.assets.keys().chain(snapshot.balances.keys()).collect();
            names.sort();
            names.dedup();
            for asset in names {
                let tracked = self.assets.get(asset);
                if tracked.is_some_and(|b| b.ts_ns > snapshot.ts_ns) {
                    continue;
                }
                let tracked = tracked.map(|b| (b.free, b.locked));
                let venue = snapshot.balances.get(asset).copied();
                let (t, v) = (tracked.unwrap_or(zero), venue.unwrap_or(zero));
                let differ = if holds_streamed(self.venue) { t != v } else { add(t.0, t.1) != add(v.0, v.1) };
                if differ {
                    differences.push(BalanceDifference { asset: asset.clone(), tracked, venue });
                }
            }
        }
        if !differences.is_empty() {
            self.stats.reconcile_differences += 1;
        }
        self.load(snapshot);
        BalanceReconciliation { differences, was_unknown }
    }

    /// The client's count of gaps in its balance updates (updates it dropped when its queue
    /// overflowed, reconnects): any increase since the last call makes the balances unknown
    /// until a fresh snapshot is loaded.
    pub fn note_gaps(&mut self, gaps_total: u64) {
        if gaps_total > self.gaps_seen {
            self.gaps_seen = gaps_total;
            if self.known {
                self.stats.forced_resyncs += 1;
            }
            self.known = false;
        }
    }

    /// Records the client's gap count without making the balances unknown: a snapshot taken
    /// after those gaps was just loaded ([`Self::reconcile`]).
    pub fn absorb_gaps(&mut self, gaps_total: u64) {
        self.gaps_seen = self.gaps_seen.max(gaps_total);
    }

    /// Applies one streamed update (see the module docs); an error leaves the state untouched.
    pub fn apply(&mut self, update: &BalanceUpdate) -> Result<BalanceApplied, BalanceError> {
        let outcome = self.check_and_apply(update);
        match &outcome {
            Ok(BalanceApplied::Applied) => self.stats.applied += 1,
            Ok(BalanceApplied::Stale) => self.stats.stale_ignored += 1,
            Ok(BalanceApplied::Unknown) => self.stats.ignored_unknown += 1,
            Err(_) => self.stats.refused += 1,
        }
        outcome
    }

    fn check_and_apply(&mut self, update: &BalanceUpdate) -> Result<BalanceApplied, BalanceError> {
        if update.venue != self.venue {
            return Err(BalanceError::WrongVenue { account: self.venue, update: update.venue });
        }
        let asset = &update.asset;
        let negative = |field, amount: Decimal| {
            (amount.raw() < 0).then(|| BalanceError::Negative { asset: asset.clone(), field, amount })
        };
        let ts = update.exchange_ts_ns;
        let current = self.assets.get(asset).copied();
        let next = match update.change {
            BalanceChange::Position { free, locked } => {
                if let Some(e) = negative("free", free).or_else(|| negative("locked", locked)) {
                    return Err(e);
                }
                if !self.known {
                    return Ok(BalanceApplied::Unknown);
                }
                if current.is_some_and(|b| ts < b.ts_ns) {
                    return Ok(BalanceApplied::Stale);
                }
                AssetBalance { free, locked, ts_ns: ts }
            }
            BalanceChange::Transfer { delta } => {
                if !self.known {
                    return Ok(BalanceApplied::Unknown);
                }
                if current.is_some_and(|b| ts <= b.ts_ns) {
                    return Ok(BalanceApplied::Stale);
                }
                let b = current.unwrap_or(AssetBalance { free: Decimal::ZERO, locked: Decimal::ZERO, ts_ns: ts });
                let free = add(b.free, delta).ok_or_else(|| BalanceError::OutOfRange { asset: asset.clone() })?;
                if free.raw() < 0 {
                    return Err(BalanceError::Overdrawn { asset: asset.clone(), free: b.free, delta });
                }
                AssetBalance { free, locked: b.locked, ts_ns: ts }
            }
            BalanceChange::Total { balance } => {
                if let Some(e) = negative("balance", balance) {
                    return Err(e);
                }
                if !self.known {
                    return Ok(BalanceApplied::Unknown);
                }
                if current.is_some_and(|b| ts < b.ts_ns) {
                    return Ok(BalanceApplied::Stale);
                }
                // What the last snapshot said open orders hold, up to the balance.
                let locked = current.map_or(Decimal::ZERO, |b| b.locked).min(balance);
                let free = Decimal::from_raw(balance.raw() - locked.raw())
                    .map_err(|_| BalanceError::OutOfRange { asset: asset.clone() })?;
                AssetBalance { free, locked, ts_ns: ts }
            }
        };
        self.assets.insert(asset.clone(), next);
        Ok(BalanceApplied::Applied)
    }

    /// How many lots of an order the free balance covers: a sell needs its quantity of `base`,
    /// a buy its notional at `price` ticks in `quote` (a buyer's fee comes out of the base
    /// received). `None` while the balances are unknown (nothing is refused on a guess).
    pub fn covers(&self, grid: &CoverGrid, side: Side, price: i64) -> Option<i64> {
        let lots = self.free_units(grid)?;
        Some(lots.coverable(side, price))
    }

    /// The free base in lots and the free quote in notional units (tick × lot), rounded down;
    /// `None` while unknown.
    pub fn free_units(&self, grid: &CoverGrid) -> Option<FreeUnits> {
        let base = self.free(&grid.base)?;
        let quote = self.free(&grid.quote)?;
        Some(FreeUnits { base_lots: units(base, grid.lot_raw), quote_units: units(quote, grid.notional_raw) })
    }
}

/// `amount` in whole units of `unit_raw` (a raw decimal at the core's scale), rounded down;
/// saturating.
fn units(amount: Decimal, unit_raw: i128) -> i64 {
    if unit_raw <= 0 || amount.raw() <= 0 {
        return 0;
    }
    i64::try_from(amount.raw() / unit_raw).unwrap_or(i64::MAX)
}

/// An instrument's assets and grid, as [`AccountBalances::covers`] needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverGrid {
    /// The base asset (`"BTC"`).
    pub base: String,
    /// The quote asset (`"USDT"`).
    pub quote: String,
    lot_raw: i128,
    notional_raw: i128,
}

impl CoverGrid {
    /// The grid of an instrument (`tick`, `lot`) of `base` priced in `quote`; `None` when one
    /// notional unit (tick × lot) is finer than the decimals' 18 places.
    pub fn new(base: &str, quote: &str, tick: &Step, lot: &Step) -> Option<Self> {
        let one = 10i128.pow(wintermute_core::decimal::SCALE);
        let product = tick.decimal().raw().checked_mul(lot.decimal().raw())?;
        (product % one == 0 && product > 0).then(|| Self {
            base: base.to_owned(),
            quote: quote.to_owned(),
            lot_raw: lot.decimal().raw(),
            notional_raw: product / one,
        })
    }
}

/// Free balances in the instrument's integer units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeUnits {
    /// Free base, in lots.
    pub base_lots: i64,
    /// Free quote, in notional units (tick × lot).
    pub quote_units: i64,
}

impl FreeUnits {
    /// How many lots a `side` order at `price` ticks can be: a sell's base lots, a buy's quote
    /// units over the price (a price <= 0 covers nothing).
    pub fn coverable(&self, side: Side, price: i64) -> i64 {
        match side {
            Side::Sell => self.base_lots,
            Side::Buy if price > 0 => self.quote_units / price,
            Side::Buy => 0,
        }
    }

    /// [`Self::coverable`] where the venue holds a buy's fee too, at `buy_fee_ppm` millionths
    /// of its notional ([`crate::reservations::Reserve::with_buy_fee`]): the most lots whose
    /// notional and fee, rounded up, the quote units cover.
    pub fn coverable_paying(&self, side: Side, price: i64, buy_fee_ppm: u32) -> i64 {
        match side {
            Side::Buy if price > 0 && buy_fee_ppm > 0 => {
                let ppm = 1_000_000i128;
                let per_lot = i128::from(price) * (ppm + i128::from(buy_fee_ppm));
                let lots = i128::from(self.quote_units) * ppm / per_lot;
                i64::try_from(lots).unwrap_or(if lots < 0 { i64::MIN } else { i64::MAX })
            }
            _ => self.coverable(side, price),
        }
    }
}

#[cfg(test)]
#[path = "balances_tests.rs"]
mod tests;
