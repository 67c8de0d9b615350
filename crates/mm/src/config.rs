//! The market maker's pricing configuration: which venues make the fair value and how their
//! instruments map onto ours, which quote model prices around it, how σ and the trade intensity
//! are obtained, and how the quoter lays out its ladder.
//!
//! The file is JSON, read by [`PricingConfig::from_json`] with serde (`deny_unknown_fields`
//! everywhere, so a misspelt key is an error, never silently ignored) and then checked by
//! [`PricingConfig::validate`]. Every error is one [`MmConfigError`] naming the key as a path
//! (`venues[1].basis`, `model.gamma`) and the offending value.
//!
//! ```
//! use wintermute_mm::config::PricingConfig;
//! let cfg = PricingConfig::from_json(r#"{
//!   "instrument": {"symbol": "BTC-USD", "quote_currency": "USD",
//!                  "tick_size": "0.01", "lot_size": "0.0001"},
//!   "venues": [
//!     {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD",
//!      "weight": 1.0, "stale_after_ms": 500},
//!     {"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT",
//!      "weight": 2.0, "stale_after_ms": 500,
//!      "basis": {"measured": {"reference": "coinbase", "half_life_s": 60.0}}}
//!   ],
//!   "model": {"kind": "glft", "gamma": 0.05},
//!   "volatility": {"ewma": {"sample_ms": 100, "half_life_s": 60.0, "initial_sigma": 5.0}},
//!   "intensity": {"fixed": {"bid": {"a": 2.0, "k": 0.5}, "ask": {"a": 2.0, "k": 0.5}}},
//!   "quoting": {"levels": 2, "sizes_lots": [10, 20], "level_spacing_ticks": 2,
//!               "min_spread_ticks": 2, "max_spread_ticks": 400, "max_inventory_lots": 100,
//!               "inventory_unit_lots": 10, "requote_threshold_ticks": 1.0,
//!               "requote_interval_ms": 1000}
//! }"#).unwrap();
//! assert_eq!(cfg.venues.len(), 2);
//! ```
//!
//! Units, once for all: prices and spreads in **ticks of our instrument**, quantities in **lots
//! of our instrument**, σ in ticks per √second, γ per (tick · quote unit), intensity `A` in
//! trades per second and `k` per tick. A *quote unit* is `inventory_unit_lots` lots: the models'
//! inventory `q` is the inventory in lots divided by it.

use serde::Deserialize;

/// The most levels per side the quoter lays out (its fixed-size state holds this many).
pub const MAX_LEVELS: usize = 16;

/// A bad pricing configuration: what is wrong, at which key, with which value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MmConfigError {
    /// The text is not JSON of this schema (an unknown key, a missing key, a wrong type).
    #[error("pricing config does not parse: {reason}")]
    Parse {
        /// serde's message (it names the key and the line).
        reason: String,
    },
    /// A value out of its range.
    #[error("pricing config key={key} value={value}: {reason}")]
    Invalid {
        /// The key's path (`model.gamma`).
        key: String,
        /// The value as written.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// A venue name the market maker has no mapping for.
    #[error("pricing config key={key} value={value}: unknown venue (known: binance, coinbase, kraken)")]
    UnknownVenue {
        /// The key's path (`venues[2].name`).
        key: String,
        /// The name as written.
        value: String,
    },
    /// A venue quoting in another currency than our instrument, with no basis configured.
    #[error(
        "pricing config key={key} venue={venue}: venue quote_currency={venue_quote} differs from \
         the instrument's quote_currency={ours}; configure a basis (ticks or measured)"
    )]
    QuoteCurrencyWithoutBasis {
        /// The key's path (`venues[1].basis`).
        key: String,
        /// The venue's name.
        venue: String,
        /// The venue's quote currency.
        venue_quote: String,
        /// Our instrument's quote currency.
        ours: String,
    },
}

/// A venue the market maker can read: the external books it builds its fair value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VenueName {
    /// Binance spot.
    Binance,
    /// Coinbase Exchange.
    Coinbase,
    /// Kraken spot.
    Kraken,
}

impl VenueName {
    /// The venue for its lower-case name (`"binance"`), `None` for any other text.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "binance" => Some(VenueName::Binance),
            "coinbase" => Some(VenueName::Coinbase),
            "kraken" => Some(VenueName::Kraken),
            _ => None,
        }
    }

    /// The lower-case name, as in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            VenueName::Binance => "binance",
            VenueName::Coinbase => "coinbase",
            VenueName::Kraken => "kraken",
        }
    }
}

/// Everything the pricing side reads from its configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// The instrument we quote.
    pub instrument: InstrumentConfig,
    /// The external venues the fair value is built from, in order (`VenueId::External(i)`).
    pub venues: Vec<VenueConfig>,
    /// The quote model.
    pub model: ModelConfig,
    /// Where σ comes from.
    pub volatility: VolatilityConfig,
    /// Where the trade intensity `A·e^(−kδ)` comes from.
    pub intensity: IntensityConfig,
    /// The ladder and its requote rules.
    pub quoting: QuotingConfig,
}

/// The instrument we quote: its grid defines "ticks" and "lots" everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentConfig {
    /// Our symbol (`"BTC-USD"`).
    pub symbol: String,
    /// The currency prices are in (`"USD"`).
    pub quote_currency: String,
    /// One tick as decimal text (`"0.01"`).
    pub tick_size: String,
    /// One lot as decimal text (`"0.0001"`).
    pub lot_size: String,
}

/// One external venue: its instrument, its weight in the fair value and when it goes stale.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// `binance`, `coinbase` or `kraken`.
    pub name: String,
    /// The venue's own symbol (`"BTCUSDT"`).
    pub symbol: String,
    /// The venue's quote currency (`"USDT"`).
    pub quote_currency: String,
    /// Weight in the consolidated microprice (> 0; normalised over the fresh venues).
    pub weight: f64,
    /// The venue drops out of the fair value when its top is older than this (ms, > 0).
    pub stale_after_ms: u64,
    /// The venue's price minus the reference price, subtracted before weighting. Required when
    /// the quote currency differs from the instrument's.
    #[serde(default)]
    pub basis: Option<BasisConfig>,
}

/// How a venue's basis is known.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BasisConfig {
    /// A fixed basis in ticks of our instrument (`{"ticks": 12.5}`).
    Ticks(f64),
    /// Measured online: an EWMA of (this venue's mid − the reference venue's mid).
    Measured {
        /// The reference venue's name: configured, quoting in our quote currency, no basis.
        reference: String,
        /// The EWMA's half-life in seconds (> 0).
        half_life_s: f64,
    },
}

/// The quote model and its own parameters (`{"kind": "glft", "gamma": 0.05}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// Fixed half-spread around the fair value, with a linear inventory skew.
    FixedSpread {
        /// Half-spread in ticks (>= 0).
        half_spread_ticks: f64,
        /// Ticks both quotes move down per quote unit of long inventory (>= 0).
        skew_ticks_per_unit: f64,
    },
    /// Avellaneda–Stoikov (2008), finite horizon.
    AvellanedaStoikov {
        /// Risk aversion γ (> 0).
        gamma: f64,
        /// Session length in seconds (> 0): the horizon `T` ends at each multiple of it since
        /// the Unix epoch (86400: at every UTC midnight).
        session_s: f64,
    },
    /// Guéant–Lehalle–Fernandez-Tapia closed form, infinite horizon.
    Glft {
        /// Risk aversion γ (> 0).
        gamma: f64,
    },
}

/// Where σ (ticks per √s) comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum VolatilityConfig {
    /// Set by hand.
    Fixed {
        /// σ in ticks per √second (>= 0).
        sigma: f64,
    },
    /// EWMA of the fair value's changes sampled every `sample_ms`.
    Ewma {
        /// Sampling interval in milliseconds (> 0).
        sample_ms: u64,
        /// Half-life of the EWMA in seconds (> 0).
        half_life_s: f64,
        /// σ before the first sample, ticks per √second (>= 0).
        initial_sigma: f64,
    },
}

/// `A` (trades per second) and `k` (per tick) of one side's intensity `λ(δ) = A·e^(−kδ)`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntensityParams {
    /// Arrival rate at the mid, trades per second (> 0).
    pub a: f64,
    /// Decay per tick of depth (> 0).
    pub k: f64,
}

/// Where the trade intensity comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum IntensityConfig {
    /// Set by hand, per side.
    Fixed {
        /// Intensity of trades that hit our bids (sell aggressors).
        bid: IntensityParams,
        /// Intensity of trades that lift our asks (buy aggressors).
        ask: IntensityParams,
    },
    /// Fitted online from trade depths (least squares on log counts per depth bucket).
    Estimated {
        /// Rolling window in seconds (> 0).
        window_s: f64,
        /// Bucket width in ticks (> 0).
        bucket_ticks: f64,
        /// Number of buckets (>= 2).
        buckets: usize,
        /// Most trades kept in the window per side (>= 1; the oldest drop out first).
        max_trades: usize,
        /// Used until a fit exists, per side.
        fallback_bid: IntensityParams,
        /// Used until a fit exists, per side.
        fallback_ask: IntensityParams,
    },
}

/// The ladder and the requote rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotingConfig {
    /// Levels per side (1..=[`MAX_LEVELS`]).
    pub levels: usize,
    /// Size of each level in lots, best level first (one per level, each > 0).
    pub sizes_lots: Vec<i64>,
    /// Ticks between consecutive levels of one side (>= 1).
    pub level_spacing_ticks: i64,
    /// Smallest distance between our best bid and best ask, ticks (>= 1).
    pub min_spread_ticks: i64,
    /// Largest distance between our best bid and best ask, ticks (>= min_spread_ticks).
    pub max_spread_ticks: i64,
    /// The inventory a fill of our quotes may never push beyond, in lots (> 0).
    pub max_inventory_lots: i64,
    /// Lots per quote unit: the models' `q` is inventory / this (> 0).
    pub inventory_unit_lots: i64,
    /// Requote when the fair value moved at least this far since the last quote, ticks (>= 0).
    pub requote_threshold_ticks: f64,
    /// Requote at least this often, milliseconds (> 0).
    pub requote_interval_ms: u64,
}

fn invalid(key: impl Into<String>, value: impl ToString, reason: &'static str) -> MmConfigError {
    MmConfigError::Invalid { key: key.into(), value: value.to_string(), reason }
}

fn positive(key: &str, value: f64) -> Result<(), MmConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(key, value, "must be a finite number > 0"))
    }
}

fn non_negative(key: &str, value: f64) -> Result<(), MmConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(key, value, "must be a finite number >= 0"))
    }
}

/// A positive decimal step (`"0.01"`) in units of 10^-18.
pub(crate) fn step_raw(key: &str, text: &str) -> Result<i128, MmConfigError> {
    match wintermute_core::decimal::Decimal::parse(text) {
        Ok(d) if d.raw() > 0 => Ok(d.raw()),
        _ => Err(invalid(key, text, "must be a plain positive decimal such as \"0.01\"")),
    }
}

impl PricingConfig {
    /// Parses and validates a JSON configuration.
    pub fn from_json(text: &str) -> Result<Self, MmConfigError> {
        let cfg: PricingConfig =
            serde_json::from_str(text).map_err(|e| MmConfigError::Parse { reason: e.to_string() })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value; the first problem found is the error.
    pub fn validate(&self) -> Result<(), MmConfigError> {
        self.validate_instrument()?;
        self.validate_venues()?;
        self.validate_model()?;
        self.validate_estimators()?;
        self.quoting.validate()
    }

    /// The index of the configured venue with this name.
    pub fn venue_index(&self, name: &str) -> Option<usize> {
        self.venues.iter().position(|v| v.name == name)
    }

    fn validate_instrument(&self) -> Result<(), MmConfigError> {
        step_raw("instrument.tick_size", &self.instrument.tick_size)?;
        step_raw("instrument.lot_size", &self.instrument.lot_size)?;
        if self.instrument.quote_currency.is_empty() {
            return Err(invalid("instrument.quote_currency", "", "must not be empty"));
        }
        Ok(())
    }

    fn validate_venues(&self) -> Result<(), MmConfigError> {
        if self.venues.is_empty() {
            return Err(invalid("venues", "[]", "at least one venue is needed for a fair value"));
        }
        if self.venues.len() > u8::MAX as usize {
            return Err(invalid("venues", self.venues.len(), "at most 255 venues"));
        }
        for (i, v) in self.venues.iter().enumerate() {
            let key = |field: &str| format!("venues[{i}].{field}");
            if VenueName::parse(&v.name).is_none() {
                return Err(MmConfigError::UnknownVenue { key: key("name"), value: v.name.clone() });
            }
            if self.venue_index(&v.name) != Some(i) {
                return Err(invalid(key("name"), &v.name, "each venue may appear once"));
            }
            positive(&key("weight"), v.weight)?;
            if v.stale_after_ms == 0 {
                return Err(invalid(key("stale_after_ms"), 0, "must be > 0"));
            }
            match &v.basis {
                None if v.quote_currency != self.instrument.quote_currency => {
                    return Err(MmConfigError::QuoteCurrencyWithoutBasis {
                        key: key("basis"),
                        venue: v.name.clone(),
                        venue_quote: v.quote_currency.clone(),
                        ours: self.instrument.quote_currency.clone(),
                    });
                }
                Some(BasisConfig::Ticks(ticks)) if !ticks.is_finite() => {
                    return Err(invalid(key("basis.ticks"), ticks, "must be a finite number"));
                }
                None | Some(BasisConfig::Ticks(_)) => {}
                Some(BasisConfig::Measured { reference, half_life_s }) => {
                    positive(&key("basis.measured.half_life_s"), *half_life_s)?;
                    self.validate_reference(&key("basis.measured.reference"), i, reference)?;
                }
            }
        }
        Ok(())
    }

    fn validate_reference(&self, key: &str, venue: usize, reference: &str) -> Result<(), MmConfigError> {
        if VenueName::parse(reference).is_none() {
            return Err(MmConfigError::UnknownVenue { key: key.to_string(), value: reference.to_string() });
        }
        let Some(r) = self.venue_index(reference) else {
            return Err(invalid(key, reference, "the reference venue must be one of the configured venues"));
        };
        if r == venue {
            return Err(invalid(key, reference, "a venue cannot be its own reference"));
        }
        let rv = &self.venues[r];
        if rv.basis.is_some() || rv.quote_currency != self.instrument.quote_currency {
            return Err(invalid(
                key,
                reference,
                "the reference venue must quote in the instrument's quote currency with no basis",
            ));
        }
        Ok(())
    }

    fn validate_model(&self) -> Result<(), MmConfigError> {
        match self.model {
            ModelConfig::FixedSpread { half_spread_ticks, skew_ticks_per_unit } => {
                non_negative("model.half_spread_ticks", half_spread_ticks)?;
                non_negative("model.skew_ticks_per_unit", skew_ticks_per_unit)
            }
            ModelConfig::AvellanedaStoikov { gamma, session_s } => {
                positive("model.gamma", gamma)?;
                positive("model.session_s", session_s)
            }
            ModelConfig::Glft { gamma } => positive("model.gamma", gamma),
        }
    }

    fn validate_estimators(&self) -> Result<(), MmConfigError> {
        match self.volatility {
            VolatilityConfig::Fixed { sigma } => non_negative("volatility.fixed.sigma", sigma)?,
            VolatilityConfig::Ewma { sample_ms, half_life_s, initial_sigma } => {
                if sample_ms == 0 {
                    return Err(invalid("volatility.ewma.sample_ms", 0, "must be > 0"));
                }
                positive("volatility.ewma.half_life_s", half_life_s)?;
                non_negative("volatility.ewma.initial_sigma", initial_sigma)?;
            }
        }
        let params = |key: &str, p: &IntensityParams| -> Result<(), MmConfigError> {
            positive(&format!("{key}.a"), p.a)?;
            positive(&format!("{key}.k"), p.k)
        };
        match &self.intensity {
            IntensityConfig::Fixed { bid, ask } => {
                params("intensity.fixed.bid", bid)?;
                params("intensity.fixed.ask", ask)
            }
            IntensityConfig::Estimated { window_s, bucket_ticks, buckets, max_trades, fallback_bid, fallback_ask } => {
                positive("intensity.estimated.window_s", *window_s)?;
                positive("intensity.estimated.bucket_ticks", *bucket_ticks)?;
                if *buckets < 2 || *buckets > u16::MAX as usize {
                    return Err(invalid("intensity.estimated.buckets", buckets, "must be in 2..=65535"));
                }
                if *max_trades == 0 {
                    return Err(invalid("intensity.estimated.max_trades", 0, "must be >= 1"));
                }
                params("intensity.estimated.fallback_bid", fallback_bid)?;
                params("intensity.estimated.fallback_ask", fallback_ask)
            }
        }
    }
}

impl QuotingConfig {
    /// Checks the ladder and requote values.
    pub fn validate(&self) -> Result<(), MmConfigError> {
        if self.levels == 0 || self.levels > MAX_LEVELS {
            return Err(invalid("quoting.levels", self.levels, "must be in 1..=16"));
        }
        if self.sizes_lots.len() != self.levels {
            return Err(invalid(
                "quoting.sizes_lots",
                format!("{:?}", self.sizes_lots),
                "needs exactly one size per level",
            ));
        }
        if let Some((i, s)) = self.sizes_lots.iter().enumerate().find(|(_, s)| **s <= 0) {
            return Err(invalid(format!("quoting.sizes_lots[{i}]"), s, "must be > 0"));
        }
        let at_least = |key: &str, value: i64, min: i64, reason: &'static str| {
            if value < min {
                Err(invalid(key, value, reason))
            } else {
                Ok(())
            }
        };
        at_least("quoting.level_spacing_ticks", self.level_spacing_ticks, 1, "must be >= 1")?;
        at_least("quoting.min_spread_ticks", self.min_spread_ticks, 1, "must be >= 1")?;
        at_least(
            "quoting.max_spread_ticks",
            self.max_spread_ticks,
            self.min_spread_ticks,
            "must be >= quoting.min_spread_ticks",
        )?;
        at_least("quoting.max_inventory_lots", self.max_inventory_lots, 1, "must be > 0")?;
        at_least("quoting.inventory_unit_lots", self.inventory_unit_lots, 1, "must be > 0")?;
        non_negative("quoting.requote_threshold_ticks", self.requote_threshold_ticks)?;
        if self.requote_interval_ms == 0 {
            return Err(invalid("quoting.requote_interval_ms", 0, "must be > 0"));
        }
        Ok(())
    }
}
