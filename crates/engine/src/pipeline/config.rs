//! What a pipeline is started from: instruments, risk, journal, rings, threads.
//!
//! [`PipelineConfig::new`] picks defaults for the machine it runs on
//! (`std::thread::available_parallelism`):
//!
//! | cores | topology | engine threads wait by | gateways wait by (when full) |
//! |---|---|---|---|
//! | < 4 | [`Topology::Merged`]: risk and matching in one thread | park (after 2,000 spins — about 50 µs — and 10 yields) | park (after 100 spins, 10 yields) |
//! | >= 4 | [`Topology::Split`]: a risk thread and a matching thread | busy-spin | spin, then yield |
//!
//! so that a small machine never has more spinning threads than cores (producers and consumers
//! need cores too). An idle engine thread spins about 50 µs before it yields and parks: a
//! command arriving within that time (at 100k commands/s and more, nearly all of them) finds
//! it awake, instead of paying a wake-up (a microsecond or more); a pipeline with nothing to do
//! still parks within a few tens of microseconds, and parks longer once idle for 20 ms (up to
//! 10 ms a park; every producer unparks it when it brings work, so no command waits for that). Threads are pinned only when a core id is given ([`ThreadConfig::core`]),
//! and only if that core exists; a pin that cannot be made is reported in the stats, never an
//! error.
//!
//! A user writes a config as a document (TOML, a Python dict, JSON): [`PipelineSettings`] is
//! its schema, the one place it is checked, with the defaults above filled in from
//! [`PipelineConfig::for_cores`].

use std::time::Duration;

use wintermute_core::{AccountId, InstrumentId, InstrumentSpec, Price};

mod resolve;
mod settings;
#[cfg(test)]
mod settings_tests;
pub mod values;
mod wait_settings;

pub use settings::{
    BackpressureKind, BookDeltas, ConfigError, FsyncKind, GatewaysSettings, InstrumentSettings, JournalSettings,
    LimitsSettings, PipelineSettings, RiskSettings, SubscriptionsSettings, SyncKind, ThreadSettings, ThreadsSettings,
    TopologyChoice,
};
pub use wait_settings::{WaitKind, WaitSettings};

use super::durability::JournalSync;
use super::snapshots::SnapshotPolicy;
use crate::journal::JournalConfig;
use crate::risk::AccountLimits;
use crate::wait::WaitStrategy;

/// How the risk and matching stages map onto threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// A risk thread and a matching thread, joined by a ring (and a post-trade ring back).
    /// Best when each has a core of its own.
    Split,
    /// One thread runs the risk check and then the book for each command: no hand-over
    /// between them, no post-trade lag. Best on small machines.
    Merged,
}

impl Topology {
    /// [`Topology::Split`] from 4 cores on, [`Topology::Merged`] below.
    pub fn for_cores(cores: usize) -> Self {
        if cores >= 4 {
            Topology::Split
        } else {
            Topology::Merged
        }
    }

    /// Engine threads this topology starts.
    pub const fn threads(self) -> usize {
        match self {
            Topology::Split => 2,
            Topology::Merged => 1,
        }
    }
}

/// How one engine thread runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadConfig {
    /// What the thread does when it finds no work.
    pub wait: WaitStrategy,
    /// Pin the thread to this core (if it exists; otherwise the thread runs unpinned).
    pub core: Option<usize>,
}

impl ThreadConfig {
    /// Unpinned, waiting with `wait`.
    pub const fn new(wait: WaitStrategy) -> Self {
        Self { wait, core: None }
    }

    /// The same, pinned to `core`.
    pub const fn pinned(mut self, core: usize) -> Self {
        self.core = Some(core);
        self
    }
}

/// What a gateway does when its ring is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// Wait (with this strategy) until there is room. Nothing is lost; the producer slows down.
    Block(WaitStrategy),
    /// Return [`super::SubmitError::Full`] with the command, at once.
    Reject,
}

/// One gateway: a producer handle with its own ring into the risk stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Ring capacity (rounded up to a power of two).
    pub capacity: usize,
    pub backpressure: Backpressure,
}

/// One subscription: a ring of outputs from the matching stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionConfig {
    /// Ring capacity (rounded up to a power of two). The matching stage waits when it is full:
    /// poll it (or drop it) to keep the pipeline moving.
    pub capacity: usize,
    /// Receive the book's [`wintermute_core::Event::BookDelta`]s (on by default). Off: the
    /// subscription gets the order events (accepted, trades, cancels, amends, rejections) and
    /// the non-event outputs, not the level updates — an execution feed: 1.05 outputs per
    /// command instead of 2.88 on the exchange-core mix (`pipeline_bench --outputs both`). A
    /// command whose every event is a book delta still ends with one output (its last delta),
    /// so `last` marks every command in both cases.
    pub book_deltas: bool,
}

impl SubscriptionConfig {
    /// A subscription of `capacity` outputs that receives everything.
    pub const fn new(capacity: usize) -> Self {
        Self { capacity, book_deltas: true }
    }

    /// The same without book deltas (see [`SubscriptionConfig::book_deltas`]).
    pub const fn without_book_deltas(mut self) -> Self {
        self.book_deltas = false;
        self
    }
}

/// Pre-trade risk: the [`crate::risk::RiskEngine`] the pipeline builds (instruments are
/// registered in the same order as the books).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    /// Money is in units of `10^-notional_scale` quote currency.
    pub notional_scale: u32,
    /// Accounts and their limits.
    pub accounts: Vec<(AccountId, AccountLimits)>,
    /// Limits for an account seen for the first time (`None`: its orders are rejected with
    /// `UNKNOWN_ACCOUNT`).
    pub default_limits: Option<AccountLimits>,
    /// Initial reference prices (price band centre and mark).
    pub reference_prices: Vec<(InstrumentId, Price)>,
}

impl RiskConfig {
    /// No account configured, every new account unlimited, money in 10^-6 units.
    pub fn permissive() -> Self {
        Self {
            notional_scale: 6,
            accounts: Vec::new(),
            default_limits: Some(AccountLimits::UNLIMITED),
            reference_prices: Vec::new(),
        }
    }

    /// The same with `account` under `limits`.
    pub fn account(mut self, account: AccountId, limits: AccountLimits) -> Self {
        self.accounts.push((account, limits));
        self
    }
}

/// Everything [`super::Pipeline::start`] needs. See the module docs for the defaults.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// One book per instrument; ids count from 0 in this order.
    pub instruments: Vec<InstrumentSpec>,
    /// Orders each book is pre-sized for.
    pub order_capacity: usize,
    /// `None`: no pre-trade risk (every command goes to the book).
    pub risk: Option<RiskConfig>,
    /// `None`: no journal (sequence numbers are still assigned).
    pub journal: Option<JournalConfig>,
    /// Where the journal's flushes run (see [`super::durability`]).
    pub journal_sync: JournalSync,
    /// When snapshots are taken, and how many are kept (see [`super::snapshots`]; needs a
    /// journal when periodic).
    pub snapshots: SnapshotPolicy,
    pub topology: Topology,
    /// One entry per gateway handle.
    pub gateways: Vec<GatewayConfig>,
    /// One entry per subscription.
    pub subscriptions: Vec<SubscriptionConfig>,
    /// Capacity of the risk -> matching ring and of the post-trade ring back ([`Topology::Split`]).
    pub stage_capacity: usize,
    /// The risk thread ([`Topology::Split`]) or the merged thread ([`Topology::Merged`]).
    pub risk_thread: ThreadConfig,
    /// The matching thread ([`Topology::Split`] only).
    pub matching_thread: ThreadConfig,
    /// Most messages a stage takes from one ring in one go.
    pub batch: usize,
    /// How often threads merge their measurements for [`super::Pipeline::stats`].
    pub stats_interval: Duration,
}

/// Spins of an idle engine thread before it yields and parks, on a machine without a spare
/// core (~25 ns a spin-loop hint on the VMs we measure on: ~50 µs).
const ENGINE_SPINS: u32 = 2_000;

/// Cores of this machine (1 if unknown).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl PipelineConfig {
    /// Defaults for this machine: one gateway, one subscription, no risk, no journal.
    pub fn new(instruments: Vec<InstrumentSpec>) -> Self {
        Self::for_cores(instruments, available_cores())
    }

    /// Defaults for a machine with `cores` cores (see the module docs).
    pub fn for_cores(instruments: Vec<InstrumentSpec>, cores: usize) -> Self {
        let topology = Topology::for_cores(cores);
        let spare = cores >= topology.threads() + 2;
        let (engine_wait, gateway_wait) = if spare {
            (WaitStrategy::BusySpin, WaitStrategy::spin_then_yield())
        } else {
            let timeout = Duration::from_micros(50);
            (WaitStrategy::Park { spins: ENGINE_SPINS, yields: 10, timeout }, WaitStrategy::park(timeout))
        };
        Self {
            instruments,
            order_capacity: 1 << 16,
            risk: None,
            journal: None,
            journal_sync: JournalSync::Inline,
            snapshots: SnapshotPolicy::default(),
            topology,
            gateways: vec![GatewayConfig { capacity: 1 << 14, backpressure: Backpressure::Block(gateway_wait) }],
            subscriptions: vec![SubscriptionConfig::new(1 << 16)],
            stage_capacity: 1 << 14,
            risk_thread: ThreadConfig::new(engine_wait),
            matching_thread: ThreadConfig::new(engine_wait),
            batch: 256,
            stats_interval: Duration::from_millis(100),
        }
    }

    /// The same with `n` gateways like the first one (or the default, if there is none).
    pub fn gateways(mut self, n: usize) -> Self {
        let template = self.gateways.first().copied().unwrap_or(GatewayConfig {
            capacity: 1 << 14,
            backpressure: Backpressure::Block(WaitStrategy::park(Duration::from_micros(50))),
        });
        self.gateways = vec![template; n];
        self
    }

    /// The same with every gateway using `capacity` and `backpressure`.
    pub fn gateway_ring(mut self, capacity: usize, backpressure: Backpressure) -> Self {
        self.gateways.iter_mut().for_each(|g| *g = GatewayConfig { capacity, backpressure });
        self
    }

    /// The same with `n` subscriptions of `capacity` each.
    pub fn subscriptions(mut self, n: usize, capacity: usize) -> Self {
        self.subscriptions = vec![SubscriptionConfig::new(capacity); n];
        self
    }

    /// The same with pre-trade risk.
    pub fn risk(mut self, risk: RiskConfig) -> Self {
        self.risk = Some(risk);
        self
    }

    /// The same with a journal.
    pub fn journal(mut self, journal: JournalConfig) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The same with journal flushes on a background thread every `interval`.
    pub fn background_sync(mut self, interval: std::time::Duration) -> Self {
        self.journal_sync = JournalSync::Background { interval };
        self
    }

    /// The same with snapshots taken by `policy`.
    pub fn snapshots(mut self, policy: SnapshotPolicy) -> Self {
        self.snapshots = policy;
        self
    }

    /// The same with another topology (wait strategies unchanged).
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    /// The same with every engine thread waiting by `wait`.
    pub fn engine_wait(mut self, wait: WaitStrategy) -> Self {
        self.risk_thread.wait = wait;
        self.matching_thread.wait = wait;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_machines_park_and_merge() {
        let c = PipelineConfig::for_cores(Vec::new(), 2);
        assert_eq!(c.topology, Topology::Merged);
        assert!(matches!(c.risk_thread.wait, WaitStrategy::Park { .. }));
        assert!(matches!(c.gateways[0].backpressure, Backpressure::Block(WaitStrategy::Park { .. })));
    }

    #[test]
    fn big_machines_split_and_spin() {
        let c = PipelineConfig::for_cores(Vec::new(), 8);
        assert_eq!(c.topology, Topology::Split);
        assert_eq!(c.risk_thread.wait, WaitStrategy::BusySpin);
        assert_eq!(c.matching_thread.wait, WaitStrategy::BusySpin);
        // 4 cores split: 2 engine threads + 2 spare cores, so they may spin.
        assert_eq!(PipelineConfig::for_cores(Vec::new(), 4).risk_thread.wait, WaitStrategy::BusySpin);
    }
}
