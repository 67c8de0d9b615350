//! `wait`: what an idle thread does, in a config document and in the benchmarks, by one set
//! of names: `busy_spin`, `spin_then_yield`, `park`.
//!
//! Written as a name (`wait = "park"`) or a table (`wait = { kind = "park", timeout_us = 100 }`);
//! what a table leaves out is 100 spins, 10 yields, 50 µs per park.

use std::fmt;
use std::time::Duration;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::values::Bounded;
use crate::wait::WaitStrategy;

/// The strategy's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    BusySpin,
    SpinThenYield,
    Park,
}

impl WaitKind {
    /// Every name, in the order of [`WaitKind`].
    pub const NAMES: [&'static str; 3] = ["busy_spin", "spin_then_yield", "park"];

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "busy_spin" => Some(Self::BusySpin),
            "spin_then_yield" => Some(Self::SpinThenYield),
            "park" => Some(Self::Park),
            _ => None,
        }
    }

    /// The strategy of this kind with the table defaults (100 spins, 10 yields, 50 µs).
    pub fn strategy(self) -> WaitStrategy {
        WaitSettings::from(self).strategy()
    }
}

/// A wait strategy as a config holds it: `spins`, `yields` and `timeout_us` are those of
/// `park` (`spin_then_yield` uses `spins`; `busy_spin` none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitSettings {
    pub kind: WaitKind,
    pub spins: Option<Bounded<0, { u32::MAX as i64 }>>,
    pub yields: Option<Bounded<0, { u32::MAX as i64 }>>,
    pub timeout_us: Option<Bounded<1, 60_000_000>>,
}

const SPINS: u64 = 100;
const YIELDS: u64 = 10;
const TIMEOUT_US: u64 = 50;

impl From<WaitKind> for WaitSettings {
    fn from(kind: WaitKind) -> Self {
        Self { kind, spins: None, yields: None, timeout_us: None }.filled()
    }
}

impl WaitSettings {
    /// The same with what is left out filled with the table defaults.
    pub fn filled(self) -> Self {
        Self {
            kind: self.kind,
            spins: Some(self.spins.unwrap_or(Bounded::saturating(SPINS))),
            yields: Some(self.yields.unwrap_or(Bounded::saturating(YIELDS))),
            timeout_us: Some(self.timeout_us.unwrap_or(Bounded::saturating(TIMEOUT_US))),
        }
    }

    /// The settings of an engine strategy (what it does not use: the table defaults).
    pub fn of(strategy: WaitStrategy) -> Self {
        let (kind, spins, yields, timeout) = match strategy {
            WaitStrategy::BusySpin => (WaitKind::BusySpin, None, None, None),
            WaitStrategy::SpinThenYield { spins } => (WaitKind::SpinThenYield, Some(spins), None, None),
            WaitStrategy::Park { spins, yields, timeout } => (WaitKind::Park, Some(spins), Some(yields), Some(timeout)),
        };
        Self {
            kind,
            spins: spins.map(|s| Bounded::saturating(u64::from(s))),
            yields: yields.map(|y| Bounded::saturating(u64::from(y))),
            timeout_us: timeout.map(|t| Bounded::saturating(u64::try_from(t.as_micros()).unwrap_or(u64::MAX))),
        }
        .filled()
    }

    /// The engine's strategy.
    pub fn strategy(self) -> WaitStrategy {
        let spins = self.spins.map_or(SPINS as u32, Bounded::small);
        match self.kind {
            WaitKind::BusySpin => WaitStrategy::BusySpin,
            WaitKind::SpinThenYield => WaitStrategy::SpinThenYield { spins },
            WaitKind::Park => WaitStrategy::Park {
                spins,
                yields: self.yields.map_or(YIELDS as u32, Bounded::small),
                timeout: Duration::from_micros(self.timeout_us.map_or(TIMEOUT_US, Bounded::unsigned)),
            },
        }
    }
}

/// The table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitTable {
    kind: WaitKind,
    spins: Option<Bounded<0, { u32::MAX as i64 }>>,
    yields: Option<Bounded<0, { u32::MAX as i64 }>>,
    timeout_us: Option<Bounded<1, 60_000_000>>,
}

struct WaitVisitor;

impl<'de> Visitor<'de> for WaitVisitor {
    type Value = WaitSettings;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one of busy_spin, spin_then_yield, park, or a table with a kind")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<WaitSettings, E> {
        WaitKind::from_name(v)
            .map(|kind| WaitSettings { kind, spins: None, yields: None, timeout_us: None })
            .ok_or_else(|| E::custom(format!("expected one of {}, got {v:?}", WaitKind::NAMES.join(", "))))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WaitSettings, A::Error> {
        let t = WaitTable::deserialize(MapAccessDeserializer::new(map))?;
        Ok(WaitSettings { kind: t.kind, spins: t.spins, yields: t.yields, timeout_us: t.timeout_us })
    }
}

impl<'de> Deserialize<'de> for WaitSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WaitVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_name_or_a_table_gives_the_engine_strategy() {
        let park: WaitSettings = serde_json::from_value(json!("park")).unwrap();
        assert_eq!(park.strategy(), WaitStrategy::park(Duration::from_micros(50)));
        let spin: WaitSettings = serde_json::from_value(json!({"kind": "spin_then_yield"})).unwrap();
        assert_eq!(spin.strategy(), WaitStrategy::spin_then_yield());
        let table: WaitSettings =
            serde_json::from_value(json!({"kind": "park", "spins": 3, "timeout_us": 200})).unwrap();
        assert_eq!(table.strategy(), WaitStrategy::Park { spins: 3, yields: 10, timeout: Duration::from_micros(200) });
        assert_eq!(WaitKind::Park.strategy(), park.strategy());
    }

    #[test]
    fn every_name_round_trips_and_unknown_names_list_the_known_ones() {
        for name in WaitKind::NAMES {
            let kind = WaitKind::from_name(name).unwrap();
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
            assert_eq!(WaitSettings::of(kind.strategy()).strategy(), kind.strategy());
        }
        let e = serde_json::from_value::<WaitSettings>(json!("nap")).unwrap_err().to_string();
        assert_eq!(e, "expected one of busy_spin, spin_then_yield, park, got \"nap\"");
        let e = serde_json::from_value::<WaitSettings>(json!({"kind": "park", "nap": 1})).unwrap_err().to_string();
        assert!(e.starts_with("unknown field `nap`"), "{e}");
    }
}
