//! The config document: what a user writes (a TOML file, a Python dict, JSON), as one typed
//! schema, and how it becomes a [`PipelineConfig`](super::PipelineConfig).
//!
//! Every key is optional but `instruments`; what is left out gets the defaults of
//! [`PipelineConfig::for_cores`](super::PipelineConfig::for_cores),
//! [`JournalConfig::new`](crate::journal::JournalConfig::new),
//! [`SnapshotPolicy::default`](crate::pipeline::SnapshotPolicy) and
//! [`RiskConfig::permissive`](super::RiskConfig::permissive) — the engine's own constructors,
//! so the defaults live in one place. Reading a document checks it whole, and an error names
//! the key it is about:
//!
//! ```
//! use wintermute_engine::pipeline::config::PipelineSettings;
//!
//! let doc = r#"{"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
//!     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
//!     "max_price": "1000000"}], "gateways": {"count": 4}}"#;
//! let config = PipelineSettings::from_json(doc).unwrap().to_config(2, None).unwrap();
//! assert_eq!(config.gateways.len(), 4);
//!
//! let bad = r#"{"instruments": [], "gateways": {"count": 0}}"#;
//! let e = PipelineSettings::from_json(bad).unwrap_err();
//! assert_eq!(e.to_string(), "config key gateways.count: 0 is out of range [1, 65536]");
//! ```
//!
//! [`PipelineSettings::resolve`] (in `resolve.rs`) gives the document back with every default filled in and
//! every path made absolute: the Python `EngineConfig` is a typed view of that, and what it
//! hands to the engine is read by this same schema again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wintermute_core::InstrumentSpec;

use super::values::{Bounded, DecimalText, DirPath, Flag, Name};
use super::wait_settings::WaitSettings;
use crate::risk::{AccountLimits, PriceBand, RateLimit};

/// A config value that is missing, unknown, of the wrong type or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key {key}: {message}")]
pub struct ConfigError {
    /// The dotted path of the key (`gateways.count`, `instruments[0].tick_size`,
    /// `risk.accounts.7.max_position`); `<top>` for the document itself.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

pub(super) const MAX_RING: i64 = 1 << 30;
const U32: i64 = u32::MAX as i64;
const I64: i64 = i64::MAX;
const HOUR_MS: i64 = 3_600_000;

/// `topology`: by core count (`auto`), or as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopologyChoice {
    Auto,
    Merged,
    Split,
}

/// `gateways.backpressure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackpressureKind {
    Block,
    Reject,
}

/// `journal.fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncKind {
    None,
    Batch,
    Every,
}

/// `journal.sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Inline,
    Background,
}

/// `[[instruments]]`: exact decimal text, as the in-thread engine's `add_instrument` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentSettings {
    pub symbol: Name,
    pub tick_size: DecimalText,
    pub lot_size: DecimalText,
    pub min_qty: DecimalText,
    pub max_qty: DecimalText,
    pub min_price: DecimalText,
    pub max_price: DecimalText,
}

impl InstrumentSettings {
    /// The engine's instrument (its own check of the grid and the limits).
    pub fn spec(&self) -> Result<InstrumentSpec, wintermute_core::InstrumentError> {
        InstrumentSpec::from_decimals(
            self.symbol.as_str(),
            self.tick_size.as_str(),
            self.lot_size.as_str(),
            self.min_qty.as_str(),
            self.max_qty.as_str(),
            self.min_price.as_str(),
            self.max_price.as_str(),
        )
    }
}

/// `[threads.risk]`, `[threads.matching]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadSettings {
    pub wait: Option<WaitSettings>,
    pub core: Option<Bounded<0, 4095>>,
}

/// `[threads]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadsSettings {
    /// The risk thread, or the merged thread.
    pub risk: Option<ThreadSettings>,
    pub matching: Option<ThreadSettings>,
}

/// `[gateways]`: how many, their ring, and what a submit does on a full ring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaysSettings {
    pub count: Option<Bounded<1, 65_536>>,
    pub capacity: Option<Bounded<1, MAX_RING>>,
    pub backpressure: Option<BackpressureKind>,
    pub wait: Option<WaitSettings>,
}

/// `[subscriptions]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsSettings {
    pub count: Option<Bounded<0, 1024>>,
    pub capacity: Option<Bounded<1, MAX_RING>>,
    /// One boolean for all, or one per subscription.
    pub book_deltas: Option<BookDeltas>,
}

/// `subscriptions.book_deltas`: the same for every subscription, or one each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BookDeltas {
    All(Flag),
    Each(Vec<Flag>),
}

struct BookDeltasVisitor;

impl<'de> serde::de::Visitor<'de> for BookDeltasVisitor {
    type Value = BookDeltas;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("true or false (one for all), or a list of one per subscription")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BookDeltas, E> {
        Ok(BookDeltas::All(Flag(v)))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<BookDeltas, A::Error> {
        let mut each = Vec::new();
        while let Some(flag) = seq.next_element::<Flag>()? {
            each.push(flag);
        }
        Ok(BookDeltas::Each(each))
    }
}

impl<'de> Deserialize<'de> for BookDeltas {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BookDeltasVisitor)
    }
}

/// Pre-trade limits of an account (absent: no limit). Quantities in lots; notionals and
/// exposures in notional units; the price band in ticks or basis points; the order rate as a
/// token bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    pub max_order_qty: Option<Bounded<0, I64>>,
    pub max_order_notional: Option<Bounded<0, I64>>,
    pub max_open_orders: Option<Bounded<0, U32>>,
    pub max_position: Option<Bounded<0, I64>>,
    pub max_gross_exposure: Option<Bounded<0, I64>>,
    pub max_net_exposure: Option<Bounded<0, I64>>,
    pub price_band_ticks: Option<Bounded<0, I64>>,
    pub price_band_bps: Option<Bounded<0, U32>>,
    pub order_rate_per_second: Option<Bounded<0, U32>>,
    pub order_rate_burst: Option<Bounded<0, U32>>,
}

impl LimitsSettings {
    /// Reads a limits table from JSON; errors name keys under `key`.
    pub fn from_json(text: &str, key: &str) -> Result<Self, ConfigError> {
        let limits: Self = read_json(text).map_err(|e| e.under(key))?;
        limits.check(key)?;
        Ok(limits)
    }

    /// The checks across fields.
    pub fn check(&self, key: &str) -> Result<(), ConfigError> {
        if self.price_band_ticks.is_some() && self.price_band_bps.is_some() {
            return Err(ConfigError::new(
                format!("{key}.price_band_bps"),
                "give price_band_ticks or price_band_bps, not both",
            ));
        }
        if self.order_rate_burst.is_some() && self.order_rate_per_second.is_none() {
            return Err(ConfigError::new(format!("{key}.order_rate_burst"), "needs order_rate_per_second"));
        }
        Ok(())
    }

    /// The engine's limits.
    pub fn limits(&self) -> AccountLimits {
        let u = AccountLimits::UNLIMITED;
        let price_band = match (self.price_band_ticks, self.price_band_bps) {
            (Some(t), _) => Some(PriceBand::Ticks(t.get())),
            (None, Some(b)) => Some(PriceBand::Bps(b.small())),
            (None, None) => None,
        };
        let order_rate = self.order_rate_per_second.map(|r| RateLimit {
            per_second: r.small(),
            burst: self.order_rate_burst.map_or(r.small().max(1), Bounded::small),
        });
        AccountLimits {
            max_order_qty: self.max_order_qty.map_or(u.max_order_qty, Bounded::get),
            max_order_notional: self.max_order_notional.map_or(u.max_order_notional, |v| i128::from(v.get())),
            max_open_orders: self.max_open_orders.map_or(u.max_open_orders, Bounded::small),
            max_position: self.max_position.map_or(u.max_position, Bounded::get),
            max_gross_exposure: self.max_gross_exposure.map_or(u.max_gross_exposure, |v| i128::from(v.get())),
            max_net_exposure: self.max_net_exposure.map_or(u.max_net_exposure, |v| i128::from(v.get())),
            price_band,
            order_rate,
        }
    }

    /// The settings that give `limits` back (the inverse of [`Self::limits`]): a field at its
    /// "no limit" value, or beyond what a document can say (a notional above `i64::MAX`), is
    /// absent; the burst is always given. The journal keeps limits in the engine's form; this
    /// is how they are shown again as a user wrote them.
    /// The same limits as the engine enforces them: [`Self::from_limits`] of [`Self::limits`]
    /// (a rate's burst given, a "no limit" value absent).
    pub fn canonical(&self) -> Self {
        Self::from_limits(&self.limits())
    }

    /// [`Self::from_limits`] of limits in the engine's JSON form (as the journal's control
    /// records export them); errors name `key`.
    pub fn from_limits_json(text: &str, key: &str) -> Result<Self, ConfigError> {
        let limits: AccountLimits =
            serde_json::from_str(text).map_err(|e| ConfigError::new(key, format!("not the engine's limits: {e}")))?;
        Ok(Self::from_limits(&limits))
    }

    pub fn from_limits(limits: &AccountLimits) -> Self {
        let u = AccountLimits::UNLIMITED;
        let qty = |v: i64, none: i64| if v == none { None } else { Bounded::new(v) };
        let notional = |v: i128| if v == i128::MAX { None } else { i64::try_from(v).ok().and_then(Bounded::new) };
        let count = |v: u32| Bounded::new(i64::from(v));
        let (price_band_ticks, price_band_bps) = match limits.price_band {
            Some(PriceBand::Ticks(t)) => (Bounded::new(t), None),
            Some(PriceBand::Bps(b)) => (None, count(b)),
            None => (None, None),
        };
        Self {
            max_order_qty: qty(limits.max_order_qty, u.max_order_qty),
            max_order_notional: notional(limits.max_order_notional),
            max_open_orders: if limits.max_open_orders == u.max_open_orders {
                None
            } else {
                count(limits.max_open_orders)
            },
            max_position: qty(limits.max_position, u.max_position),
            max_gross_exposure: notional(limits.max_gross_exposure),
            max_net_exposure: notional(limits.max_net_exposure),
            price_band_ticks,
            price_band_bps,
            order_rate_per_second: limits.order_rate.and_then(|r| count(r.per_second)),
            order_rate_burst: limits.order_rate.and_then(|r| count(r.burst)),
        }
    }
}

/// `[risk]`: pre-trade risk. `default_limits` apply to accounts not in `accounts`
/// (`reject_unknown_accounts = true` instead: their orders are rejected); `reference_prices`
/// (symbol -> decimal price) centre the price bands and value market orders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSettings {
    pub notional_scale: Option<Bounded<0, 18>>,
    pub reject_unknown_accounts: Option<Flag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_limits: Option<LimitsSettings>,
    /// Account id (as text: a TOML/JSON key) -> limits.
    pub accounts: Option<BTreeMap<String, LimitsSettings>>,
    pub reference_prices: Option<BTreeMap<String, DecimalText>>,
}

/// `[journal]`: see the Python `JournalConfig` and docs/runtime.md.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalSettings {
    /// Relative to the config file.
    pub dir: Option<DirPath>,
    pub fsync: Option<FsyncKind>,
    pub batch_records: Option<Bounded<1, U32>>,
    pub batch_interval_ms: Option<Bounded<1, HOUR_MS>>,
    pub segment_size: Option<Bounded<4096, { 1 << 40 }>>,
    pub sync: Option<SyncKind>,
    pub sync_interval_ms: Option<Bounded<1, HOUR_MS>>,
    pub snapshot_every_records: Option<Bounded<1, I64>>,
    pub snapshot_every_ms: Option<Bounded<1, 86_400_000>>,
    pub snapshot_keep: Option<Bounded<1, 1_000_000>>,
    pub prepare_segments: Option<Flag>,
    pub populate: Option<Flag>,
    pub prune_segments: Option<Flag>,
    /// Where pruned segments go (absent: deleted); needs `prune_segments`.
    pub archive_dir: Option<DirPath>,
}

/// The whole document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    pub instruments: Option<Vec<InstrumentSettings>>,
    pub topology: Option<TopologyChoice>,
    pub threads: Option<ThreadsSettings>,
    pub gateways: Option<GatewaysSettings>,
    pub subscriptions: Option<SubscriptionsSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalSettings>,
    pub order_capacity: Option<Bounded<1, { 1 << 32 }>>,
    pub stage_capacity: Option<Bounded<1, MAX_RING>>,
    pub batch: Option<Bounded<1, { 1 << 20 }>>,
    pub stats_interval_ms: Option<Bounded<1, HOUR_MS>>,
}

impl ConfigError {
    /// The same error, its key under `prefix`.
    fn under(mut self, prefix: &str) -> Self {
        self.key = if self.key == "<top>" { prefix.to_owned() } else { format!("{prefix}.{}", self.key) };
        self
    }
}

/// Reads `T` from JSON text, the error naming the key path.
fn read_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ConfigError::new("<top>", format!("not valid JSON: {e}")))?;
    read_value(value)
}

/// Reads `T` from a JSON value, the error naming the key path.
fn read_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut key = String::new();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => key.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key: k } | serde_path_to_error::Segment::Enum { variant: k } => {
                    if !key.is_empty() {
                        key.push('.');
                    }
                    key.push_str(k);
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = e.inner().to_string();
        // serde names a missing field in the message; the key path names it here.
        if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            let key = if key.is_empty() { field.to_owned() } else { format!("{key}.{field}") };
            return ConfigError::new(key, "missing");
        }
        if key.is_empty() {
            key = "<top>".into();
        }
        let message =
            if let Some((_, expected)) = message.strip_prefix("unknown field `").and_then(|m| m.split_once("`, ")) {
                format!("unknown key, {expected}")
            } else if let Some((got, expected)) = message
                .strip_prefix("invalid type: ")
                .or_else(|| message.strip_prefix("invalid value: "))
                .and_then(|m| m.split_once(", expected "))
            {
                // serde's "invalid type: string \"4\", expected an integer", said the other way round.
                format!("expected {expected}, got {got}")
            } else {
                message
            };
        ConfigError::new(key, message)
    })
}

impl PipelineSettings {
    /// Reads a document from JSON text (a Python dict crosses as that, as does a `.json`
    /// file); nothing is checked across keys yet (see [`PipelineSettings::resolve`]).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        read_json(text)
    }

    /// Reads a document from a JSON value (a TOML table converts to one).
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        read_value(value)
    }
}
