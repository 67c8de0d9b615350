//! A live route's grid guard: what the grid re-checks ([`GridWatch`]) found, shared
//! with the route's execution ([`crate::execution_adapter::RoutedExecution::spawn_guarded`]).
//!
//! Once a re-check finds that the venue's tick or lot of the route's symbol is no longer the
//! market maker's, the guard is tripped: the route sends no new order (each is `Rejected` with
//! [`wintermute_mm::execution::RejectReason::Risk`], nothing sent), cancels its resting orders,
//! and stays so until the process restarts with a config on the venue's new grid. The guard
//! keeps the cause (both grids) and counts checks, unreadable answers and changes found.
//! Reading it takes no lock but [`GridGuard::cause`]'s.
//!
//! [`GridWatch`] runs the re-checks ([`GridProbe`]: a route's venue asked for its grid of the
//! route's symbol every `grid_check_s`) on a thread of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wintermute_core::decimal::Decimal;

/// What a route's grid re-checks found so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GridStats {
    /// Grids read and compared.
    pub checks: u64,
    /// Re-checks whose answer could not be read (the route keeps running; counted).
    pub unread: u64,
    /// Re-checks that found the venue's grid changed.
    pub changes: u64,
    /// Whether the route stopped sending orders.
    pub halted: bool,
}

/// One route's grid state (see the module docs).
#[derive(Debug, Default)]
pub struct GridGuard {
    halted: AtomicBool,
    checks: AtomicU64,
    unread: AtomicU64,
    changes: AtomicU64,
    cause: Mutex<Option<String>>,
}

impl GridGuard {
    /// Whether the route must send no order.
    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    /// A grid read that matched.
    pub fn checked(&self) {
        self.checks.fetch_add(1, Ordering::Relaxed);
    }

    /// A grid that could not be read.
    pub fn unreadable(&self) {
        self.unread.fetch_add(1, Ordering::Relaxed);
    }

    /// The venue's grid changed (`cause` names the route and both grids): the route halts. The
    /// first cause is kept.
    pub fn trip(&self, cause: String) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        self.changes.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut kept) = self.cause.lock() {
            kept.get_or_insert(cause);
        }
        self.halted.store(true, Ordering::Release);
    }

    /// Why the route halted, if it did.
    pub fn cause(&self) -> Option<String> {
        self.cause.lock().ok().and_then(|c| c.clone())
    }

    /// The counts and the halt.
    pub fn stats(&self) -> GridStats {
        GridStats {
            checks: self.checks.load(Ordering::Relaxed),
            unread: self.unread.load(Ordering::Relaxed),
            changes: self.changes.load(Ordering::Relaxed),
            halted: self.is_halted(),
        }
    }
}

/// A venue's answer to a grid question: (tick, lot), or why it could not be read.
pub type GridAnswer<'a> = Pin<Box<dyn Future<Output = Result<(Decimal, Decimal), String>> + 'a>>;

/// Where a route's grid is read: the venue's public market data for the route's symbol
/// (implemented by [`crate::live::RouteClient`]). The future need not be `Send`: the watch
/// runs it on its own thread.
pub trait GridSource: Send {
    /// The venue's (tick, lot) of `symbol`, exact, or why it could not be read.
    fn grid<'a>(&'a mut self, symbol: &'a str) -> GridAnswer<'a>;
}

/// One route's re-check: where its grid is read, the grid it must keep (the market maker's),
/// how often, and its guard.
pub struct GridProbe {
    /// The venue's name.
    pub venue: &'static str,
    /// The route's symbol.
    pub symbol: String,
    source: Box<dyn GridSource>,
    tick: Decimal,
    lot: Decimal,
    every: Duration,
    guard: Arc<GridGuard>,
}

impl std::fmt::Debug for GridProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GridProbe").field("venue", &self.venue).field("symbol", &self.symbol).finish_non_exhaustive()
    }
}

impl GridProbe {
    /// A re-check of `symbol` at `venue` through `source` every `every`, against the grid
    /// (tick, lot) the market maker trades on, tripping `guard`.
    pub fn new(
        venue: &'static str,
        symbol: &str,
        source: Box<dyn GridSource>,
        (tick, lot): (Decimal, Decimal),
        every: Duration,
        guard: Arc<GridGuard>,
    ) -> Self {
        Self { venue, symbol: symbol.to_owned(), source, tick, lot, every, guard }
    }

    /// Reads the venue's grid once and compares it: a match is counted, an unreadable answer
    /// counted, a change trips the guard (and is written to stderr, naming both grids).
    pub async fn check(&mut self) {
        match self.source.grid(&self.symbol).await {
            Err(_) => self.guard.unreadable(),
            Ok((tick, lot)) if tick.raw() == self.tick.raw() && lot.raw() == self.lot.raw() => self.guard.checked(),
            Ok((tick, lot)) => {
                let cause = format!(
                    "hedge route venue={} symbol={}: the venue's grid changed while running, the route is halted \
                     (no new orders, resting ones canceled): tick_size {} in the config, {tick} at the venue; \
                     lot_size {} in the config, {lot} at the venue",
                    self.venue, self.symbol, self.tick, self.lot
                );
                eprintln!("wintermute: {cause}");
                self.guard.trip(cause);
            }
        }
    }
}

/// The grid re-checks of a run's routes, on a thread of their own; stops when dropped.
#[derive(Debug)]
pub struct GridWatch {
    routes: Vec<(&'static str, String, Arc<GridGuard>)>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the watch looks whether a re-check is due (and whether it must stop).
const WATCH_TICK: Duration = Duration::from_millis(20);

impl GridWatch {
    /// Starts re-checking each probe every its own interval (the first after one interval).
    pub fn spawn(probes: Vec<GridProbe>) -> std::io::Result<Self> {
        let routes = probes.iter().map(|p| (p.venue, p.symbol.clone(), Arc::clone(&p.guard))).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("router-grids".into()).spawn(move || {
            let start = Instant::now();
            let mut due: Vec<(Instant, GridProbe)> = probes.into_iter().map(|p| (start + p.every, p)).collect();
            while !stopping.load(Ordering::Acquire) {
                let now = Instant::now();
                for (next, probe) in due.iter_mut().filter(|(next, _)| *next <= now) {
                    runtime.block_on(probe.check());
                    *next = Instant::now() + probe.every;
                }
                std::thread::sleep(WATCH_TICK);
            }
        })?;
        Ok(Self { routes, stop, thread: Some(thread) })
    }

    /// Each route's venue, symbol and counts.
    pub fn stats(&self) -> Vec<(&'static str, String, GridStats)> {
        self.routes.iter().map(|(v, s, g)| (*v, s.clone(), g.stats())).collect()
    }

    /// Each route's re-checks as the market maker's state shows them.
    pub fn views(&self) -> Vec<wintermute_mm::live_snapshot::RouteGridView> {
        self.routes
            .iter()
            .map(|(venue, symbol, guard)| {
                let stats = guard.stats();
                wintermute_mm::live_snapshot::RouteGridView {
                    venue: (*venue).to_owned(),
                    symbol: symbol.clone(),
                    checks: stats.checks,
                    unread: stats.unread,
                    changes: stats.changes,
                    halted: stats.halted,
                    cause: guard.cause(),
                }
            })
            .collect()
    }

    /// The halted routes and why.
    pub fn halted(&self) -> Vec<String> {
        self.routes.iter().filter(|(_, _, g)| g.is_halted()).filter_map(|(_, _, g)| g.cause()).collect()
    }
}

impl Drop for GridWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
