//! A route's account balances ([`crate::balances`]) as
//! [`crate::execution_adapter::RoutedExecution`] keeps them: its worker
//! loads the venue client's REST snapshot when it starts, applies every streamed balance update
//! after each step, resyncs from REST when the client may have missed some (it dropped updates,
//! or reconnected), and publishes what the
//! free balances cover in the instrument's integer units to the handle through two atomics, so
//! `submit` checks a new order against them without a lock or an allocation. What the route's
//! orders hold before the venue's balances show them is reserved ([`crate::reservations`]): two
//! more atomics, added to by `submit`, taken off by the worker when the venue's balances include
//! the order.
//!
//! Where the venue's stream says nothing of holds (Kraken's ledger entries,
//! [`crate::balances::holds_streamed`]), no streamed update releases a reservation: a ledger
//! entry received after an order's acknowledgment may be another asset's change and still leave
//! the order's hold out of the tracked `locked`. The worker instead loads a fresh snapshot
//! (without making the balances unknown) after a ledger entry of the instrument's assets when
//! the tracked balances may now read low: something was locked at the last snapshot (a fill or
//! cancel may have released it), or a reservation is held (a fill may have spent it). At most
//! once per [`REFRESH_EVERY`]; the snapshot releases what its rule says.
//!
//! Where the venue has no balance stream at all (Coinbase,
//! [`crate::venue::VenueClient::balances_polled`]), the worker loads the snapshot every
//! [`POLL_EVERY`]; between two, the reservations bridge the gap: each order's is held until a
//! snapshot requested after its first report (or its end with nothing filled), as on Kraken.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wintermute_mm::live_snapshot::{AssetBalanceView, RouteBalancesView};

use crate::balances::{AccountBalances, BalanceApplied, BalanceReconciliation, CoverGrid, FreeUnits};
use crate::order::{local_ns, BalanceChange, Instrument};
use crate::reservations::{AssetSide, Entry, Ledger, OrderView, Reserve, Reserved};
use crate::venue::VenueClient;

/// What the atomics hold while the balances are unknown.
const UNKNOWN: i64 = i64::MIN;

/// How long the worker waits for pushed events on an idle tick: not at all (it reads what has
/// arrived, so a command coming meanwhile does not wait on it).
const READ_PUSHED_IDLE: Duration = Duration::ZERO;
/// How long the stream is read before a snapshot is compared or the first one is taken (events
/// on their way in).
const READ_PUSHED_SETTLE: Duration = Duration::from_millis(5);

/// How often the snapshot is loaded where the venue has no balance stream (Coinbase).
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// The least time between two snapshots a ledger entry calls for where the stream says nothing
/// of holds (Kraken: each `BalanceEx` costs one call of the API counter, which regains one
/// every 3 s on the Starter tier, and the route's reconciliations need the counter too).
pub const REFRESH_EVERY: Duration = Duration::from_secs(3);

/// A balance reconciliation that could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceReconcileError {
    /// The route's venue client has no account snapshot (no balances tracked).
    #[error("balance reconciliation: venue={venue:?} has no account snapshot on this route")]
    Unsupported {
        /// The market maker's id of the venue.
        venue: wintermute_mm::types::VenueId,
    },
    /// The snapshot request failed.
    #[error("balance reconciliation: venue={venue:?} error={error}")]
    Venue {
        /// The market maker's id of the venue.
        venue: wintermute_mm::types::VenueId,
        /// The client's error.
        error: String,
    },
    /// The worker did not answer in time (or is gone).
    #[error("balance reconciliation: venue={venue:?} no answer from the route")]
    NoAnswer {
        /// The market maker's id of the venue.
        venue: wintermute_mm::types::VenueId,
    },
}

/// What the worker publishes and the handle reads.
#[derive(Debug)]
pub(crate) struct SharedBalances {
    base_lots: AtomicI64,
    quote_units: AtomicI64,
    /// What the route's orders reserve ([`crate::reservations`]), in the same units.
    reserved_base: AtomicI64,
    reserved_quote: AtomicI64,
    /// Whether the route tracks balances at all (its client has snapshots).
    tracked: std::sync::atomic::AtomicBool,
    view: Mutex<AccountBalances>,
}

impl SharedBalances {
    pub(crate) fn new(venue: crate::order_state::Venue) -> Self {
        Self {
            base_lots: AtomicI64::new(UNKNOWN),
            quote_units: AtomicI64::new(UNKNOWN),
            reserved_base: AtomicI64::new(0),
            reserved_quote: AtomicI64::new(0),
            tracked: std::sync::atomic::AtomicBool::new(false),
            view: Mutex::new(AccountBalances::new(venue)),
        }
    }

    /// The free balances in the instrument's units; `None` while unknown.
    pub(crate) fn free_units(&self) -> Option<FreeUnits> {
        let base_lots = self.base_lots.load(Ordering::Acquire);
        let quote_units = self.quote_units.load(Ordering::Acquire);
        (base_lots != UNKNOWN && quote_units != UNKNOWN).then_some(FreeUnits { base_lots, quote_units })
    }

    /// What the route's orders reserve now ([`crate::reservations`]).
    pub(crate) fn reserved(&self) -> Reserve {
        Reserve {
            base_lots: self.reserved_base.load(Ordering::Acquire),
            quote_units: self.reserved_quote.load(Ordering::Acquire),
        }
    }

    /// What a new order can use: the free balances less the reservations; `None` while unknown.
    pub(crate) fn available_units(&self) -> Option<FreeUnits> {
        let free = self.free_units()?;
        let reserved = self.reserved();
        Some(FreeUnits {
            base_lots: free.base_lots.saturating_sub(reserved.base_lots),
            quote_units: free.quote_units.saturating_sub(reserved.quote_units),
        })
    }

    /// Reserves `need` less `freed` (what the order it replaces gives back) when `check` is off,
    /// the balances unknown, or what is available plus `freed` covers `need`; else reserves
    /// nothing and answers what is available plus `freed` (in `need`'s asset). One thread
    /// reserves (the handle's), so nothing comes between the check and the reservation but the
    /// worker's releases, which only make more available.
    pub(crate) fn try_reserve(&self, need: Reserve, freed: Reserve, check: bool) -> Result<Reserve, FreeUnits> {
        if let Some(available) = self.available_units().filter(|_| check) {
            let with_freed = FreeUnits {
                base_lots: available.base_lots.saturating_add(freed.base_lots),
                quote_units: available.quote_units.saturating_add(freed.quote_units),
            };
            if need.base_lots > with_freed.base_lots || need.quote_units > with_freed.quote_units {
                return Err(with_freed);
            }
        }
        let reserve = need.less(freed);
        self.add(reserve);
        Ok(reserve)
    }

    /// Gives back a reservation that was never queued.
    pub(crate) fn unreserve(&self, r: Reserve) {
        self.sub(r);
    }

    /// A copy of the balances as the worker last published them; `None` where the route tracks
    /// none.
    pub(crate) fn balances(&self) -> Option<AccountBalances> {
        if !self.tracked.load(Ordering::Acquire) {
            return None;
        }
        self.view.lock().ok().map(|b| b.clone())
    }

    /// The snapshot's view.
    pub(crate) fn view(&self) -> Option<RouteBalancesView> {
        let b = self.balances()?;
        let stats = b.stats();
        Some(RouteBalancesView {
            venue: "",
            known: !b.resync_due(),
            assets: b
                .assets()
                .map(|(asset, a)| AssetBalanceView {
                    asset: asset.to_owned(),
                    free: a.free.to_string(),
                    locked: a.locked.to_string(),
                })
                .collect(),
            stale_ignored: stats.stale_ignored,
            refused: stats.refused,
            forced_resyncs: stats.forced_resyncs,
            reconcile_differences: stats.reconcile_differences,
        })
    }
}

impl Reserved for SharedBalances {
    fn add(&self, r: Reserve) {
        self.reserved_base.fetch_add(r.base_lots, Ordering::AcqRel);
        self.reserved_quote.fetch_add(r.quote_units, Ordering::AcqRel);
    }

    fn sub(&self, r: Reserve) {
        self.reserved_base.fetch_sub(r.base_lots, Ordering::AcqRel);
        self.reserved_quote.fetch_sub(r.quote_units, Ordering::AcqRel);
    }
}

/// The worker's side.
#[derive(Debug)]
pub(crate) struct BalanceTracking {
    balances: AccountBalances,
    grid: Option<CoverGrid>,
    /// Until the client answers that it has no snapshot.
    supported: bool,
    /// After a failed snapshot, when the next may be tried.
    retry_at: Option<Instant>,
    pub(crate) shared: std::sync::Arc<SharedBalances>,
    /// The route's id for the market maker (in errors).
    venue_id: wintermute_mm::types::VenueId,
    /// How long a failed snapshot waits before the next try (`reconcile_every`, at most 1 s).
    retry_wait: Duration,
    /// The reservations held ([`crate::reservations`]).
    pub(crate) ledger: Ledger,
    /// A snapshot is wanted where the stream says nothing of holds (module docs).
    refresh_due: bool,
    /// When the last such snapshot was requested.
    refreshed_at: Option<Instant>,
}

impl BalanceTracking {
    /// The balances of a route trading `instrument` (`assets`: base and quote) on `venue`.
    pub(crate) fn new(
        venue: crate::order_state::Venue,
        venue_id: wintermute_mm::types::VenueId,
        instrument: &Instrument,
        (base, quote): (&str, &str),
        reconcile_every: Duration,
    ) -> Self {
        let inst = instrument;
        Self {
            venue_id,
            retry_wait: reconcile_every.min(Duration::from_secs(1)),
            balances: AccountBalances::new(venue),
            grid: CoverGrid::new(base, quote, &inst.tick_size, &inst.step_size),
            supported: true,
            retry_at: None,
            shared: std::sync::Arc::new(SharedBalances::new(venue)),
            ledger: Ledger::default(),
            refresh_due: false,
            refreshed_at: None,
        }
    }

    fn publish(&self) {
        let units = self.grid.as_ref().and_then(|g| self.balances.free_units(g));
        let (base, quote) = units.map_or((UNKNOWN, UNKNOWN), |u| (u.base_lots, u.quote_units));
        self.shared.base_lots.store(base, Ordering::Release);
        self.shared.quote_units.store(quote, Ordering::Release);
        self.shared.tracked.store(self.supported, Ordering::Release);
        if let Ok(mut view) = self.shared.view.lock() {
            view.clone_from(&self.balances);
        }
    }
}

impl BalanceTracking {
    /// Applies the balance updates the client read, notes gaps (a resync is then due),
    /// and loads a REST snapshot when one is due (after a failure, the next try waits
    /// `reconcile_every`, at most a second); publishes when anything changed.
    /// Releases the reservations the venue's balances now include (`view`: where each order
    /// stands).
    pub(crate) async fn track<C: VenueClient>(&mut self, client: &mut C, view: impl Fn(&C, u64) -> OrderView) {
        if !self.supported {
            self.ledger.clear(&*self.shared);
            return;
        }
        let was_due = self.balances.resync_due();
        let before = self.balances.stats();
        self.balances.note_gaps(client.balance_gaps());
        self.apply_updates(client, &view);
        let due = self.balances.resync_due();
        let min_gap = if client.balances_polled() { POLL_EVERY } else { REFRESH_EVERY };
        if client.balances_polled() && self.refreshed_at.is_none_or(|t| t.elapsed() >= POLL_EVERY) {
            self.refresh_due = true;
        }
        let refresh = !due
            && self.refresh_due
            && self.retry_at.is_none_or(|t| Instant::now() >= t)
            && self.refreshed_at.is_none_or(|t| t.elapsed() >= min_gap);
        if (due || refresh) && self.retry_at.is_none_or(|t| Instant::now() >= t) {
            self.retry_at = None;
            self.refreshed_at = Some(Instant::now());
            let requested = local_ns();
            match client.balance_snapshot().await {
                Ok(Some(snapshot)) => {
                    self.balances.load(&snapshot);
                    self.refresh_due = false;
                    self.ledger.on_snapshot(&*self.shared, requested, |id| view(client, id));
                }
                Ok(None) => {
                    self.supported = false;
                    self.ledger.clear(&*self.shared);
                }
                Err(_) => {
                    self.retry_at = Some(Instant::now() + self.retry_wait);
                }
            }
        }
        if was_due != self.balances.resync_due() || before != self.balances.stats() {
            self.publish();
        }
    }

    /// Applies the balance updates the client read, in order, each position releasing the
    /// reservations it includes; then those that wait on nothing.
    fn apply_updates<C: VenueClient>(&mut self, client: &mut C, view: &impl Fn(&C, u64) -> OrderView) {
        for update in client.take_balance_updates() {
            // A refused update is counted and leaves the balances as they were.
            let applied = self.balances.apply(&update);
            let Some(grid) = self.grid.as_ref() else { continue };
            if applied != Ok(BalanceApplied::Applied) {
                continue;
            }
            let asset = if update.asset == grid.base {
                AssetSide::Base
            } else if update.asset == grid.quote {
                AssetSide::Quote
            } else {
                continue;
            };
            match update.change {
                BalanceChange::Position { .. } => {
                    self.ledger.on_position(&*self.shared, asset, update.receive_ts_ns, |id| view(client, id));
                }
                // The stream said nothing of holds: a snapshot says what they are now (module docs).
                BalanceChange::Total { .. } => {
                    let locked = self.balances.get(&update.asset).is_some_and(|b| b.locked.raw() > 0);
                    self.refresh_due |= locked || !self.ledger.entries().is_empty();
                }
                BalanceChange::Transfer { .. } => {}
            }
        }
        self.ledger.settle(&*self.shared, |id| view(client, id));
    }

    /// Records a reservation the handle made.
    pub(crate) fn hold(&mut self, entry: Entry) {
        self.ledger.hold(entry);
    }

    /// Makes a reservation of the worker's own (a replace's cancel the venue refused).
    pub(crate) fn reserve(&mut self, entry: Entry) {
        self.ledger.reserve(&*self.shared, entry);
    }

    /// Releases the reservations of `client_id` (an order refused before it was sent).
    pub(crate) fn release(&mut self, client_id: u64) {
        self.ledger.release_where(&*self.shared, |e| e.client_id == client_id);
    }

    /// Opens the client's stream before the first snapshot (where it has one), so the snapshot
    /// is not followed by a connection that would force another.
    pub(crate) async fn open_stream<C: VenueClient>(&self, client: &mut C) {
        // A failure is the next request's to report; the first connection later forces a resync.
        let _ = client.read_pushed(READ_PUSHED_SETTLE).await;
    }

    /// Reads what the venue pushed while the route was idle (balance and order events).
    pub(crate) async fn read_pushed<C: VenueClient>(&self, client: &mut C) {
        if self.supported {
            // A failure (the connection dropped) is the next request's to report.
            let _ = client.read_pushed(READ_PUSHED_IDLE).await;
        }
    }

    /// Compares the tracked balances with a fresh REST snapshot (the updates read so far
    /// applied first), reports the differences and adopts the snapshot. Updates missed in a gap
    /// (a reconnect, dropped updates) since the last look show here as differences.
    pub(crate) async fn reconcile<C: VenueClient>(
        &mut self,
        client: &mut C,
        view: impl Fn(&C, u64) -> OrderView,
    ) -> Result<BalanceReconciliation, BalanceReconcileError> {
        let venue = self.venue_id;
        if !self.supported {
            return Err(BalanceReconcileError::Unsupported { venue });
        }
        let _ = client.read_pushed(READ_PUSHED_SETTLE).await;
        // A gap since the last look is what a reconciliation reports, not a reason to forget.
        let gaps = client.balance_gaps();
        self.apply_updates(client, &view);
        let requested = local_ns();
        let outcome = match client.balance_snapshot().await {
            Ok(Some(snapshot)) => {
                let found = self.balances.reconcile(&snapshot);
                self.balances.absorb_gaps(gaps);
                self.refresh_due = false;
                self.refreshed_at = Some(Instant::now());
                self.ledger.on_snapshot(&*self.shared, requested, |id| view(client, id));
                Ok(found)
            }
            Ok(None) => {
                self.supported = false;
                Err(BalanceReconcileError::Unsupported { venue })
            }
            Err(e) => Err(BalanceReconcileError::Venue { venue, error: e.to_string() }),
        };
        self.publish();
        outcome
    }
}
