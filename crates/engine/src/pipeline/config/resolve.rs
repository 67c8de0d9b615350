//! Resolving a config document: the defaults filled in from the engine's constructors,
//! relative paths made absolute, the checks across keys (instruments, account ids, reference
//! prices, the risk engine's notional units, the journal's archive), and the engine's
//! [`PipelineConfig`] built from the result.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wintermute_core::{InstrumentSpec, Price};

use super::settings::{
    BackpressureKind, BookDeltas, ConfigError, FsyncKind, GatewaysSettings, JournalSettings, PipelineSettings,
    RiskSettings, SubscriptionsSettings, SyncKind, ThreadSettings, ThreadsSettings, TopologyChoice, MAX_RING,
};
use super::values::{Bounded, DecimalText, DirPath, Flag};
use super::wait_settings::WaitSettings;
use super::{Backpressure, GatewayConfig, PipelineConfig, RiskConfig, SubscriptionConfig, ThreadConfig, Topology};
use crate::journal::{FsyncPolicy, JournalConfig};
use crate::pipeline::durability::JournalSync;
use crate::pipeline::snapshots::SnapshotPolicy;
use crate::risk::{AccountLimits, ManualClock, RiskEngine};

/// `raw` made absolute against `base` (after `~` expansion).
fn resolve_path(raw: &str, base: Option<&Path>) -> PathBuf {
    let expanded = match (raw.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if raw == "~" => std::env::var_os("HOME").map_or_else(|| PathBuf::from(raw), PathBuf::from),
        _ => PathBuf::from(raw),
    };
    match base {
        Some(base) if expanded.is_relative() => base.join(expanded),
        _ => expanded,
    }
}

fn dir_text(path: &Path) -> Result<DirPath, ConfigError> {
    path.to_str()
        .and_then(DirPath::new)
        .ok_or_else(|| ConfigError::new("journal.dir", format!("{}: not a UTF-8 path", path.display())))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl PipelineSettings {
    /// The instruments, checked by the engine, in id order.
    fn specs(&self) -> Result<Vec<InstrumentSpec>, ConfigError> {
        let list = self.instruments.as_deref().unwrap_or_default();
        if list.is_empty() {
            return Err(ConfigError::new("instruments", "expected a non-empty list of instrument tables"));
        }
        let mut seen = HashSet::new();
        let mut specs = Vec::with_capacity(list.len());
        for (i, instrument) in list.iter().enumerate() {
            let spec = instrument.spec().map_err(|e| ConfigError::new(format!("instruments[{i}]"), e.to_string()))?;
            if !seen.insert(spec.symbol.clone()) {
                return Err(ConfigError::new(
                    format!("instruments[{i}].symbol"),
                    format!("duplicate symbol {:?}", spec.symbol),
                ));
            }
            specs.push(spec);
        }
        Ok(specs)
    }

    /// The document with every default filled in (for a machine of `cores` cores), every
    /// relative path made absolute against `base`, and every check made: what
    /// [`PipelineSettings::to_config`] builds from, and what the Python `EngineConfig` shows.
    pub fn resolve(&self, cores: usize, base: Option<&Path>) -> Result<Self, ConfigError> {
        if !(1..=65_536).contains(&cores) {
            return Err(ConfigError::new("cores", format!("{cores} is out of range [1, 65536]")));
        }
        let specs = self.specs()?;
        let d = PipelineConfig::for_cores(Vec::new(), cores);
        let topology = match self.topology.unwrap_or(TopologyChoice::Auto) {
            TopologyChoice::Auto => match d.topology {
                Topology::Merged => TopologyChoice::Merged,
                Topology::Split => TopologyChoice::Split,
            },
            given => given,
        };
        let threads = self.threads.clone().unwrap_or_default();
        let thread = |given: Option<ThreadSettings>, default: ThreadConfig| {
            let given = given.unwrap_or_default();
            ThreadSettings {
                wait: Some(given.wait.map_or_else(|| WaitSettings::of(default.wait), WaitSettings::filled)),
                core: given.core.or(default.core.map(|c| Bounded::saturating(c as u64))),
            }
        };
        let (gateway_capacity, gateway_block, gateway_wait) = match d.gateways.first() {
            Some(GatewayConfig { capacity, backpressure: Backpressure::Block(w) }) => (*capacity, true, *w),
            Some(GatewayConfig { capacity, backpressure: Backpressure::Reject }) => {
                (*capacity, false, d.risk_thread.wait)
            }
            None => (1 << 14, true, d.risk_thread.wait),
        };
        let g = self.gateways.clone().unwrap_or_default();
        let gateways = GatewaysSettings {
            count: Some(g.count.unwrap_or(Bounded::saturating(d.gateways.len() as u64))),
            capacity: Some(g.capacity.unwrap_or(Bounded::saturating(gateway_capacity as u64))),
            backpressure: Some(g.backpressure.unwrap_or(if gateway_block {
                BackpressureKind::Block
            } else {
                BackpressureKind::Reject
            })),
            wait: Some(g.wait.map_or_else(|| WaitSettings::of(gateway_wait), WaitSettings::filled)),
        };
        let s = self.subscriptions.clone().unwrap_or_default();
        let count = s.count.unwrap_or(Bounded::saturating(d.subscriptions.len() as u64));
        let book_deltas = match s.book_deltas {
            None => BookDeltas::All(Flag(d.subscriptions.first().is_none_or(|s| s.book_deltas))),
            Some(BookDeltas::Each(each)) if each.len() != count.size() => {
                return Err(ConfigError::new(
                    "subscriptions.book_deltas",
                    format!(
                        "{} values for count={} subscriptions: give one per subscription, or one boolean",
                        each.len(),
                        count.get()
                    ),
                ))
            }
            Some(given) => given,
        };
        let subscriptions = SubscriptionsSettings {
            count: Some(count),
            capacity: Some(
                s.capacity
                    .unwrap_or(Bounded::saturating(d.subscriptions.first().map_or(1 << 16, |s| s.capacity) as u64)),
            ),
            book_deltas: Some(book_deltas),
        };
        let risk = self.risk.as_ref().map(|r| resolve_risk(r, &specs)).transpose()?;
        let journal = self.journal.as_ref().map(|j| resolve_journal(j, base)).transpose()?;
        Ok(Self {
            instruments: self.instruments.clone(),
            topology: Some(topology),
            threads: Some(ThreadsSettings {
                risk: Some(thread(threads.risk, d.risk_thread)),
                matching: Some(thread(threads.matching, d.matching_thread)),
            }),
            gateways: Some(gateways),
            subscriptions: Some(subscriptions),
            risk,
            journal,
            order_capacity: Some(self.order_capacity.unwrap_or(Bounded::saturating(d.order_capacity as u64))),
            stage_capacity: Some(self.stage_capacity.unwrap_or(Bounded::saturating(d.stage_capacity as u64))),
            batch: Some(self.batch.unwrap_or(Bounded::saturating(d.batch as u64))),
            stats_interval_ms: Some(self.stats_interval_ms.unwrap_or(Bounded::saturating(ms(d.stats_interval)))),
        })
    }

    /// The engine's config: [`PipelineSettings::resolve`], then each value where the engine
    /// wants it.
    pub fn to_config(&self, cores: usize, base: Option<&Path>) -> Result<PipelineConfig, ConfigError> {
        let r = self.resolve(cores, base)?;
        let specs = r.specs()?;
        let mut config = PipelineConfig::for_cores(specs.clone(), cores);
        let size = |b: Option<Bounded<1, MAX_RING>>, default: usize| b.map_or(default, Bounded::size);
        if let Some(c) = r.order_capacity {
            config.order_capacity = c.size();
        }
        config.stage_capacity = size(r.stage_capacity, config.stage_capacity);
        if let Some(b) = r.batch {
            config.batch = b.size();
        }
        if let Some(s) = r.stats_interval_ms {
            config.stats_interval = Duration::from_millis(s.unsigned());
        }
        config.topology = match r.topology {
            Some(TopologyChoice::Split) => Topology::Split,
            Some(TopologyChoice::Merged) => Topology::Merged,
            _ => config.topology,
        };
        let threads = r.threads.unwrap_or_default();
        for (given, thread) in
            [(threads.risk, &mut config.risk_thread), (threads.matching, &mut config.matching_thread)]
        {
            let given = given.unwrap_or_default();
            *thread = ThreadConfig {
                wait: given.wait.map_or(thread.wait, |w| w.strategy()),
                core: given.core.map(Bounded::size),
            };
        }
        let g = r.gateways.unwrap_or_default();
        let wait = g.wait.map_or(config.risk_thread.wait, |w| w.strategy());
        let backpressure = match g.backpressure {
            Some(BackpressureKind::Reject) => Backpressure::Reject,
            _ => Backpressure::Block(wait),
        };
        let capacity = size(g.capacity, 1 << 14);
        config.gateways = vec![GatewayConfig { capacity, backpressure }; g.count.map_or(1, Bounded::size)];
        let s = r.subscriptions.unwrap_or_default();
        let count = s.count.map_or(1, Bounded::size);
        let capacity = size(s.capacity, 1 << 16);
        let deltas = match s.book_deltas {
            Some(BookDeltas::Each(each)) => each.iter().map(|f| f.0).collect(),
            Some(BookDeltas::All(Flag(on))) => vec![on; count],
            None => vec![true; count],
        };
        config.subscriptions =
            deltas.into_iter().map(|book_deltas| SubscriptionConfig { capacity, book_deltas }).collect();
        if let Some(risk) = &r.risk {
            config.risk = Some(risk_config(risk, &specs)?);
        }
        if let Some(j) = &r.journal {
            journal_config(j, &mut config);
        }
        Ok(config)
    }
}

fn resolve_risk(r: &RiskSettings, specs: &[InstrumentSpec]) -> Result<RiskSettings, ConfigError> {
    let reject = r.reject_unknown_accounts.unwrap_or(Flag(false));
    if reject.0 && r.default_limits.is_some() {
        return Err(ConfigError::new(
            "risk.reject_unknown_accounts",
            "give default_limits or reject_unknown_accounts, not both",
        ));
    }
    let default_limits = if reject.0 { None } else { Some(r.default_limits.unwrap_or_default()) };
    if let Some(limits) = &default_limits {
        limits.check("risk.default_limits")?;
    }
    let accounts = r.accounts.clone().unwrap_or_default();
    for (name, limits) in &accounts {
        let key = format!("risk.accounts.{name}");
        name.parse::<u32>()
            .map_err(|_| ConfigError::new(&key, "an account id must be an integer in [0, 4294967295]"))?;
        limits.check(&key)?;
    }
    let prices = r.reference_prices.clone().unwrap_or_default();
    for (symbol, price) in &prices {
        reference_price(specs, symbol, price)?;
    }
    let scale = r.notional_scale.unwrap_or(Bounded::saturating(u64::from(RiskConfig::permissive().notional_scale)));
    // The risk engine's own check: each instrument's tick x lot must be whole notional units.
    let mut risk = RiskEngine::new(ManualClock::new(), scale.small());
    for spec in specs {
        risk.add_instrument(spec).map_err(|e| ConfigError::new("risk.notional_scale", e.to_string()))?;
    }
    Ok(RiskSettings {
        notional_scale: Some(scale),
        reject_unknown_accounts: Some(reject),
        default_limits,
        accounts: Some(accounts),
        reference_prices: Some(prices),
    })
}

/// The instrument id and the price in ticks of a `risk.reference_prices` entry.
fn reference_price(specs: &[InstrumentSpec], symbol: &str, price: &DecimalText) -> Result<(u32, Price), ConfigError> {
    let key = format!("risk.reference_prices.{symbol}");
    let Some(id) = specs.iter().position(|s| s.symbol == symbol) else {
        let known: Vec<&str> = specs.iter().map(|s| s.symbol.as_str()).collect();
        return Err(ConfigError::new(key, format!("unknown instrument (known: {})", known.join(", "))));
    };
    let spec = &specs[id];
    let not_a_price = |why: String| {
        ConfigError::new(
            &key,
            format!(
                "{} is not a price of {symbol} (tick {}, {}..{}): {why}",
                price.as_str(),
                spec.tick_size,
                spec.tick().format(spec.min_price),
                spec.tick().format(spec.max_price)
            ),
        )
    };
    let ticks = spec.price_ticks(price.as_str()).map_err(|e| not_a_price(e.to_string()))?;
    if !(spec.min_price..=spec.max_price).contains(&ticks) {
        return Err(not_a_price("outside the instrument's price range".into()));
    }
    Ok((u32::try_from(id).unwrap_or(u32::MAX), ticks))
}

fn risk_config(r: &RiskSettings, specs: &[InstrumentSpec]) -> Result<RiskConfig, ConfigError> {
    let mut accounts: Vec<(u32, AccountLimits)> = Vec::new();
    for (name, limits) in r.accounts.iter().flatten() {
        let id =
            name.parse::<u32>().map_err(|_| ConfigError::new(format!("risk.accounts.{name}"), "not an integer"))?;
        accounts.push((id, limits.limits()));
    }
    accounts.sort_by_key(|(id, _)| *id);
    let mut reference_prices = Vec::new();
    for (symbol, price) in r.reference_prices.iter().flatten() {
        reference_prices.push(reference_price(specs, symbol, price)?);
    }
    let reject = r.reject_unknown_accounts.is_some_and(|f| f.0);
    Ok(RiskConfig {
        notional_scale: r.notional_scale.map_or(RiskConfig::permissive().notional_scale, Bounded::small),
        accounts,
        default_limits: if reject { None } else { Some(r.default_limits.unwrap_or_default().limits()) },
        reference_prices,
    })
}

fn resolve_journal(j: &JournalSettings, base: Option<&Path>) -> Result<JournalSettings, ConfigError> {
    let Some(dir) = &j.dir else {
        return Err(ConfigError::new("journal.dir", "expected a directory path, got nothing"));
    };
    let prune = j.prune_segments.unwrap_or(Flag(SnapshotPolicy::default().prune_segments));
    if j.archive_dir.is_some() && !prune.0 {
        return Err(ConfigError::new(
            "journal.archive_dir",
            "needs prune_segments = true (only pruned segments go there)",
        ));
    }
    let defaults = JournalConfig::new("");
    let (batch_records, batch_interval) = match defaults.fsync {
        FsyncPolicy::Batch { records, interval } => (records, interval),
        _ => (1000, Duration::from_millis(10)),
    };
    Ok(JournalSettings {
        dir: Some(dir_text(&resolve_path(dir.as_str(), base))?),
        fsync: Some(j.fsync.unwrap_or(FsyncKind::Batch)),
        batch_records: Some(j.batch_records.unwrap_or(Bounded::saturating(u64::from(batch_records)))),
        batch_interval_ms: Some(j.batch_interval_ms.unwrap_or(Bounded::saturating(ms(batch_interval)))),
        segment_size: Some(j.segment_size.unwrap_or(Bounded::saturating(defaults.segment_size))),
        sync: Some(j.sync.unwrap_or(SyncKind::Inline)),
        sync_interval_ms: Some(j.sync_interval_ms.unwrap_or(Bounded::saturating(10))),
        snapshot_every_records: j.snapshot_every_records,
        snapshot_every_ms: j.snapshot_every_ms,
        snapshot_keep: Some(j.snapshot_keep.unwrap_or(Bounded::saturating(SnapshotPolicy::default().keep as u64))),
        prepare_segments: Some(j.prepare_segments.unwrap_or(Flag(defaults.prepare_segments))),
        populate: Some(j.populate.unwrap_or(Flag(defaults.populate))),
        prune_segments: Some(prune),
        archive_dir: j.archive_dir.as_ref().map(|a| dir_text(&resolve_path(a.as_str(), base))).transpose()?,
    })
}

/// Puts a resolved journal section into `config`.
fn journal_config(j: &JournalSettings, config: &mut PipelineConfig) {
    let defaults = JournalConfig::new("");
    let fsync = match j.fsync {
        Some(FsyncKind::None) => FsyncPolicy::None,
        Some(FsyncKind::Every) => FsyncPolicy::EveryRecord,
        Some(FsyncKind::Batch) | None => match defaults.fsync {
            FsyncPolicy::Batch { records, interval } => FsyncPolicy::Batch {
                records: j.batch_records.map_or(records, Bounded::small),
                interval: j.batch_interval_ms.map_or(interval, |m| Duration::from_millis(m.unsigned())),
            },
            other => other,
        },
    };
    let dir = j.dir.as_ref().map_or("", DirPath::as_str);
    let mut journal = JournalConfig::new(dir)
        .segment_size(j.segment_size.map_or(defaults.segment_size, Bounded::unsigned))
        .fsync(fsync)
        .prepare_segments(j.prepare_segments.map_or(defaults.prepare_segments, |f| f.0))
        .populate(j.populate.map_or(defaults.populate, |f| f.0));
    journal.archive_dir = j.archive_dir.as_ref().map(|a| PathBuf::from(a.as_str()));
    config.journal = Some(journal);
    config.journal_sync = match j.sync {
        Some(SyncKind::Background) => JournalSync::Background {
            interval: Duration::from_millis(j.sync_interval_ms.map_or(10, Bounded::unsigned)),
        },
        _ => JournalSync::Inline,
    };
    let policy = SnapshotPolicy::default();
    config.snapshots = SnapshotPolicy {
        every_records: j.snapshot_every_records.map(Bounded::unsigned),
        every: j.snapshot_every_ms.map(|m| Duration::from_millis(m.unsigned())),
        keep: j.snapshot_keep.map_or(policy.keep, Bounded::size),
        prune_segments: j.prune_segments.map_or(policy.prune_segments, |f| f.0),
    };
}
