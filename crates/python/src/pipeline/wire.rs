//! The pipeline config as it crosses from Python: a JSON document that `wintermute.config`
//! writes (every field present, already validated there with errors naming the key), and the
//! machine's defaults going the other way. This file converts; the engine decides.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wintermute_core::{InstrumentError, InstrumentId, InstrumentSpec};
use wintermute_engine::journal::{FsyncPolicy, JournalConfig};
use wintermute_engine::pipeline::{
    Backpressure, GatewayConfig, JournalSync, PipelineConfig, RiskConfig, SnapshotPolicy, SubscriptionConfig,
    ThreadConfig, Topology,
};
use wintermute_engine::risk::{AccountLimits, PriceBand, RateLimit};
use wintermute_engine::wait::WaitStrategy;

/// Why a wire config cannot become a [`PipelineConfig`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("pipeline config JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Instrument(#[from] InstrumentError),
    #[error("pipeline config key={key}: {why}")]
    Value { key: String, why: String },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Instrument {
    pub(crate) symbol: String,
    pub(crate) tick_size: String,
    pub(crate) lot_size: String,
    pub(crate) min_qty: String,
    pub(crate) max_qty: String,
    pub(crate) min_price: String,
    pub(crate) max_price: String,
}

/// A wait strategy: `busy_spin`, `spin_then_yield` (after `spins`) or `park` (after `spins`
/// and `yields`, at most `timeout_us` per park).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Wait {
    pub(crate) kind: WaitKind,
    pub(crate) spins: u32,
    pub(crate) yields: u32,
    pub(crate) timeout_us: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WaitKind {
    BusySpin,
    SpinThenYield,
    Park,
}

impl Wait {
    pub(crate) fn strategy(self) -> WaitStrategy {
        match self.kind {
            WaitKind::BusySpin => WaitStrategy::BusySpin,
            WaitKind::SpinThenYield => WaitStrategy::SpinThenYield { spins: self.spins },
            WaitKind::Park => WaitStrategy::Park {
                spins: self.spins,
                yields: self.yields,
                timeout: Duration::from_micros(self.timeout_us),
            },
        }
    }

    pub(crate) fn of(strategy: WaitStrategy) -> Self {
        match strategy {
            WaitStrategy::BusySpin => Wait { kind: WaitKind::BusySpin, spins: 0, yields: 0, timeout_us: 0 },
            WaitStrategy::SpinThenYield { spins } => {
                Wait { kind: WaitKind::SpinThenYield, spins, yields: 0, timeout_us: 0 }
            }
            WaitStrategy::Park { spins, yields, timeout } => Wait {
                kind: WaitKind::Park,
                spins,
                yields,
                timeout_us: u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX),
            },
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Thread {
    pub(crate) wait: Wait,
    pub(crate) core: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Gateways {
    pub(crate) count: usize,
    pub(crate) capacity: usize,
    /// `block` (wait with `wait`) or `reject`.
    pub(crate) backpressure: String,
    pub(crate) wait: Wait,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Subscriptions {
    pub(crate) count: usize,
    pub(crate) capacity: usize,
    /// One for every subscription, or one each (as many as `count`). Absent in documents
    /// written before it existed: every output, as then.
    #[serde(default = "every_output")]
    pub(crate) book_deltas: BookDeltas,
}

/// `subscriptions.book_deltas`: the same for every subscription, or one per subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum BookDeltas {
    All(bool),
    Each(Vec<bool>),
}

fn every_output() -> BookDeltas {
    BookDeltas::All(true)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Journal {
    pub(crate) dir: PathBuf,
    /// `none`, `batch` or `every`.
    pub(crate) fsync: String,
    pub(crate) batch_records: u32,
    pub(crate) batch_interval_ms: u64,
    pub(crate) segment_size: u64,
    /// `inline` or `background`.
    pub(crate) sync: String,
    pub(crate) sync_interval_ms: u64,
    /// Snapshot (books + risk state) after this many journal records; `None`: not by count.
    pub(crate) snapshot_every_records: Option<u64>,
    /// Snapshot after this many milliseconds; `None`: not by time.
    pub(crate) snapshot_every_ms: Option<u64>,
    /// Snapshot files kept (the newest).
    pub(crate) snapshot_keep: usize,
    /// The roller thread prepares segments (absent in older documents: on, the default).
    #[serde(default = "on")]
    pub(crate) prepare_segments: bool,
    /// Segments populated before they are written (absent in older documents: on).
    #[serde(default = "on")]
    pub(crate) populate: bool,
    /// Journal segments behind the oldest snapshot kept are deleted (absent: off, the default).
    #[serde(default)]
    pub(crate) prune_segments: bool,
    /// Where pruned segments go (`None`: deleted).
    #[serde(default)]
    pub(crate) archive_dir: Option<PathBuf>,
}

fn on() -> bool {
    true
}

/// Account limits: `None` = no limit. Quantities in lots, money in notional units.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
    pub(crate) max_order_qty: Option<i64>,
    pub(crate) max_order_notional: Option<i64>,
    pub(crate) max_open_orders: Option<u32>,
    pub(crate) max_position: Option<i64>,
    pub(crate) max_gross_exposure: Option<i64>,
    pub(crate) max_net_exposure: Option<i64>,
    pub(crate) price_band_ticks: Option<i64>,
    pub(crate) price_band_bps: Option<u32>,
    pub(crate) order_rate_per_second: Option<u32>,
    pub(crate) order_rate_burst: Option<u32>,
}

impl Limits {
    /// The engine's limits.
    pub(crate) fn limits(&self) -> AccountLimits {
        let u = AccountLimits::UNLIMITED;
        let price_band = match (self.price_band_ticks, self.price_band_bps) {
            (Some(t), _) => Some(PriceBand::Ticks(t)),
            (None, Some(b)) => Some(PriceBand::Bps(b)),
            (None, None) => None,
        };
        let order_rate = self
            .order_rate_per_second
            .map(|per_second| RateLimit { per_second, burst: self.order_rate_burst.unwrap_or(per_second.max(1)) });
        AccountLimits {
            max_order_qty: self.max_order_qty.unwrap_or(u.max_order_qty),
            max_order_notional: self.max_order_notional.map_or(u.max_order_notional, i128::from),
            max_open_orders: self.max_open_orders.unwrap_or(u.max_open_orders),
            max_position: self.max_position.unwrap_or(u.max_position),
            max_gross_exposure: self.max_gross_exposure.map_or(u.max_gross_exposure, i128::from),
            max_net_exposure: self.max_net_exposure.map_or(u.max_net_exposure, i128::from),
            price_band,
            order_rate,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Account {
    pub(crate) account: u32,
    pub(crate) limits: Limits,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReferencePrice {
    pub(crate) instrument: String,
    /// Exact decimal text.
    pub(crate) price: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Risk {
    pub(crate) notional_scale: u32,
    /// `None`: orders of accounts not listed are rejected (`UNKNOWN_ACCOUNT`).
    pub(crate) default_limits: Option<Limits>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) reference_prices: Vec<ReferencePrice>,
}

/// The whole config, every field present.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    pub(crate) instruments: Vec<Instrument>,
    pub(crate) order_capacity: usize,
    pub(crate) risk: Option<Risk>,
    pub(crate) journal: Option<Journal>,
    /// `merged` or `split`.
    pub(crate) topology: String,
    pub(crate) risk_thread: Thread,
    pub(crate) matching_thread: Thread,
    pub(crate) gateways: Gateways,
    pub(crate) subscriptions: Subscriptions,
    pub(crate) stage_capacity: usize,
    pub(crate) batch: usize,
    pub(crate) stats_interval_ms: u64,
}

fn bad(key: &str, why: impl Into<String>) -> WireError {
    WireError::Value { key: key.into(), why: why.into() }
}

/// Parses the JSON document into the engine's config.
pub(crate) fn parse(json: &str) -> Result<PipelineConfig, WireError> {
    let c: Config = serde_json::from_str(json)?;
    let mut specs = Vec::with_capacity(c.instruments.len());
    for i in &c.instruments {
        let spec = InstrumentSpec::from_decimals(
            &i.symbol,
            &i.tick_size,
            &i.lot_size,
            &i.min_qty,
            &i.max_qty,
            &i.min_price,
            &i.max_price,
        )?;
        specs.push(spec);
    }
    let ids: HashMap<&str, InstrumentId> =
        specs.iter().enumerate().map(|(i, s)| (s.symbol.as_str(), i as InstrumentId)).collect();
    let mut config = PipelineConfig::new(specs.clone());
    config.order_capacity = c.order_capacity;
    config.topology = match c.topology.as_str() {
        "merged" => Topology::Merged,
        "split" => Topology::Split,
        t => return Err(bad("topology", format!("{t:?}: expected 'merged' or 'split'"))),
    };
    config.risk_thread = ThreadConfig { wait: c.risk_thread.wait.strategy(), core: c.risk_thread.core };
    config.matching_thread = ThreadConfig { wait: c.matching_thread.wait.strategy(), core: c.matching_thread.core };
    let backpressure = match c.gateways.backpressure.as_str() {
        "block" => Backpressure::Block(c.gateways.wait.strategy()),
        "reject" => Backpressure::Reject,
        b => return Err(bad("gateways.backpressure", format!("{b:?}: expected 'block' or 'reject'"))),
    };
    config.gateways = vec![GatewayConfig { capacity: c.gateways.capacity, backpressure }; c.gateways.count];
    let s = &c.subscriptions;
    let deltas: Vec<bool> = match &s.book_deltas {
        BookDeltas::All(on) => vec![*on; s.count],
        BookDeltas::Each(each) if each.len() == s.count => each.clone(),
        BookDeltas::Each(each) => {
            return Err(bad(
                "subscriptions.book_deltas",
                format!(
                    "{} values for count={} subscriptions: give one per subscription, or one boolean",
                    each.len(),
                    s.count
                ),
            ))
        }
    };
    config.subscriptions =
        deltas.into_iter().map(|book_deltas| SubscriptionConfig { capacity: s.capacity, book_deltas }).collect();
    config.stage_capacity = c.stage_capacity;
    config.batch = c.batch;
    config.stats_interval = Duration::from_millis(c.stats_interval_ms.max(1));
    if let Some(r) = &c.risk {
        let mut risk = RiskConfig {
            notional_scale: r.notional_scale,
            accounts: r.accounts.iter().map(|a| (a.account, a.limits.limits())).collect(),
            default_limits: r.default_limits.as_ref().map(Limits::limits),
            reference_prices: Vec::new(),
        };
        for p in &r.reference_prices {
            let key = format!("risk.reference_prices.{}", p.instrument);
            let id = *ids.get(p.instrument.as_str()).ok_or_else(|| bad(&key, "unknown instrument"))?;
            let ticks = specs[id as usize].price_ticks(&p.price).map_err(|e| bad(&key, e.to_string()))?;
            risk.reference_prices.push((id, ticks));
        }
        config.risk = Some(risk);
    }
    if let Some(j) = &c.journal {
        let fsync = match j.fsync.as_str() {
            "none" => FsyncPolicy::None,
            "batch" => {
                FsyncPolicy::Batch { records: j.batch_records, interval: Duration::from_millis(j.batch_interval_ms) }
            }
            "every" => FsyncPolicy::EveryRecord,
            f => return Err(bad("journal.fsync", format!("{f:?}: expected 'none', 'batch' or 'every'"))),
        };
        let mut journal = JournalConfig::new(&j.dir)
            .segment_size(j.segment_size)
            .fsync(fsync)
            .prepare_segments(j.prepare_segments)
            .populate(j.populate);
        journal.archive_dir = j.archive_dir.clone();
        config.journal = Some(journal);
        config.journal_sync = match j.sync.as_str() {
            "inline" => JournalSync::Inline,
            "background" => JournalSync::Background { interval: Duration::from_millis(j.sync_interval_ms.max(1)) },
            s => return Err(bad("journal.sync", format!("{s:?}: expected 'inline' or 'background'"))),
        };
        config.snapshots = SnapshotPolicy {
            every_records: j.snapshot_every_records,
            every: j.snapshot_every_ms.map(Duration::from_millis),
            keep: j.snapshot_keep,
            prune_segments: j.prune_segments,
        };
    }
    Ok(config)
}

/// The defaults of [`PipelineConfig::for_cores`] in the wire shape (instruments empty, no
/// risk, no journal): the one source of `wintermute.config`'s defaults.
pub(crate) fn defaults(cores: usize) -> Config {
    let d = PipelineConfig::for_cores(Vec::new(), cores);
    let gateway = d.gateways.first().copied();
    let (backpressure, gateway_wait) = match gateway.map(|g| g.backpressure) {
        Some(Backpressure::Block(w)) => ("block", w),
        Some(Backpressure::Reject) => ("reject", d.risk_thread.wait),
        None => ("block", d.risk_thread.wait),
    };
    Config {
        instruments: Vec::new(),
        order_capacity: d.order_capacity,
        risk: None,
        journal: None,
        topology: match d.topology {
            Topology::Merged => "merged",
            Topology::Split => "split",
        }
        .into(),
        risk_thread: Thread { wait: Wait::of(d.risk_thread.wait), core: d.risk_thread.core },
        matching_thread: Thread { wait: Wait::of(d.matching_thread.wait), core: d.matching_thread.core },
        gateways: Gateways {
            count: d.gateways.len(),
            capacity: gateway.map_or(1 << 14, |g| g.capacity),
            backpressure: backpressure.into(),
            wait: Wait::of(gateway_wait),
        },
        subscriptions: Subscriptions {
            count: d.subscriptions.len(),
            capacity: d.subscriptions.first().map_or(1 << 16, |s| s.capacity),
            book_deltas: BookDeltas::All(d.subscriptions.first().is_none_or(|s| s.book_deltas)),
        },
        stage_capacity: d.stage_capacity,
        batch: d.batch,
        stats_interval_ms: u64::try_from(d.stats_interval.as_millis()).unwrap_or(u64::MAX),
    }
}

/// The defaults for a journal section (those of [`JournalConfig::new`], inline sync).
pub(crate) fn journal_defaults() -> Journal {
    let j = JournalConfig::new("");
    let (batch_records, batch_interval_ms) = match j.fsync {
        FsyncPolicy::Batch { records, interval } => (records, u64::try_from(interval.as_millis()).unwrap_or(10)),
        _ => (1000, 10),
    };
    Journal {
        dir: PathBuf::new(),
        fsync: "batch".into(),
        batch_records,
        batch_interval_ms,
        segment_size: j.segment_size,
        sync: "inline".into(),
        sync_interval_ms: 10,
        snapshot_every_records: None,
        snapshot_every_ms: None,
        snapshot_keep: SnapshotPolicy::default().keep,
        prepare_segments: j.prepare_segments,
        populate: j.populate,
        prune_segments: SnapshotPolicy::default().prune_segments,
        archive_dir: None,
    }
}

/// The defaults for a risk section ([`RiskConfig::permissive`]).
pub(crate) fn risk_defaults() -> Risk {
    let r = RiskConfig::permissive();
    Risk {
        notional_scale: r.notional_scale,
        default_limits: Some(Limits::default()),
        accounts: Vec::new(),
        reference_prices: Vec::new(),
    }
}
