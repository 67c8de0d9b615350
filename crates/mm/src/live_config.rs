//! The market-making config file read for a **live** run: the same file, the same keys as a
//! backtest's ([`crate::backtest::BacktestConfig`], `examples/mm.toml`), of which a live run
//! uses the ones that make sense against a running engine and live feeds.
//!
//! | key | live use |
//! |---|---|
//! | `pricing` | required: the pricing stack ([`crate::config::PricingConfig`]); its venues are the feeds' streams (`name`, `symbol`) and its instrument's grid must be our venue's |
//! | `quote_on` | `"ours"` (or absent): quote on our venue; a pricing venue's name, or a list of them: quote on each of those venues through its route (the venue's simulator on paper, `[hedge.live.<venue>]` with `--live`), each with a ladder of its own (`quoting.max_inventory_lots` holds for all of them together); `"ours"` in a list with pricing venues: a ladder on our venue too, beside theirs; none may be a hedge route too, or named twice (a string is a list of one) |
//! | `hedge_on`, `hedge_threshold_lots`, `hedge_slippage_ticks` | hedge decisions once `|inventory| > hedge_threshold_lots` (0 or no `hedge_on`: none) |
//! | `hedge.routes` | live only: the pricing venues hedges are **sent** to (`hedge_on` among them); the hedger chooses among them only. Absent: decisions only |
//! | `hedge.live.<venue>` | `--live` only (a hedge route's or the `quote_on` venue's), each key optional: `url` (the venue's REST base URL; default its own, `https://`), `keys_file` (a file of `VARIABLE=value` lines holding the route's keys; default the environment), `ca_file` (extra root certificates, PEM), `ws_url` (Kraken's and Coinbase's WebSocket URL; default the venue's own), `dead_man_switch_s` (Kraken: the dead man's switch's timeout, default 60, 0 off), `grid_check_s` (how often the venue's grid is asked again while running, default 60, 0: at start only). [`LiveRouteSettings`] |
//! | `fees` | `fees.ours` books our fills; `fees.<venue>` is that venue's taker fee for hedging and, for the `quote_on` venue, its maker fee (on paper, the commission its simulator charges the quotes' fills) |
//! | `interlock` | the book-health interlock over the pricing venues (absent: none) |
//! | `timer_ms` | the runner's timer: staleness checks, timed requotes, the state snapshot |
//! | `seed`, `market`, `strategy`, `latency`, `sample_ms`, `markout_ms`, `queue_model`, `references`, `grid` | backtest only: accepted, not used (a live run's market is the feeds; markouts use the fixed horizons of [`crate::metrics::markouts`]) |
//!
//! Every error names its key ([`LiveConfigError`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use wintermute_core::decimal::Decimal;
use wintermute_feeds::Venue;

use crate::backtest::config::FeeConfig as FeeRates;
use crate::backtest::config::InterlockSettings;
use crate::config::{MmConfigError, PricingConfig};
use crate::fees::FeeSchedule;
use crate::hedger::HedgeConfig;
use crate::interlock::InterlockConfig;

/// A bad live config: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("market-making config key={key}: {why}")]
pub struct LiveConfigError {
    /// The key, as a path (`pricing.instrument.tick_size`, `fees.ours`).
    pub key: String,
    /// What is wrong.
    pub why: String,
}

fn bad(key: impl Into<String>, why: impl Into<String>) -> LiveConfigError {
    LiveConfigError { key: key.into(), why: why.into() }
}

/// The file's keys (see the module docs); unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveFile {
    #[serde(default)]
    pricing: Option<serde_json::Value>,
    #[serde(default)]
    quote_on: Option<QuoteOn>,
    #[serde(default)]
    hedge_on: Option<String>,
    #[serde(default)]
    hedge_threshold_lots: i64,
    #[serde(default = "default_slippage")]
    hedge_slippage_ticks: i64,
    #[serde(default)]
    fees: BTreeMap<String, FeeRates>,
    #[serde(default)]
    interlock: Option<InterlockSettings>,
    #[serde(default = "default_timer")]
    timer_ms: i64,
    #[serde(default)]
    hedge: Option<serde_json::Value>,
    // Backtest only (module docs).
    #[serde(default)]
    seed: Option<serde_json::Value>,
    #[serde(default)]
    market: Option<serde_json::Value>,
    #[serde(default)]
    strategy: Option<serde_json::Value>,
    #[serde(default)]
    latency: Option<serde_json::Value>,
    #[serde(default)]
    sample_ms: Option<serde_json::Value>,
    #[serde(default)]
    markout_ms: Option<serde_json::Value>,
    #[serde(default)]
    queue_model: Option<serde_json::Value>,
    #[serde(default)]
    references: Option<serde_json::Value>,
    #[serde(default)]
    grid: Option<serde_json::Value>,
}

/// `quote_on`: one venue, or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum QuoteOn {
    One(String),
    Many(Vec<String>),
}

/// `[hedge]`: where hedges are sent (live only).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct HedgeSection {
    #[serde(default)]
    routes: Vec<String>,
    #[serde(default)]
    live: BTreeMap<String, LiveRouteSettings>,
}

/// `[hedge.live.<venue>]`: where a route's hedges go and where its keys are, when the market
/// maker runs with `--live` (read by `wintermute_router::live`; ignored on paper).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRouteSettings {
    /// The venue's REST base URL (`None`: the venue's own).
    #[serde(default)]
    pub url: Option<String>,
    /// A file of `VARIABLE=value` lines with the route's keys (`None`: the environment).
    #[serde(default)]
    pub keys_file: Option<String>,
    /// A PEM file of root certificates trusted besides Mozilla's.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Kraken's and Coinbase's WebSocket URL (Kraken's v2 order entry, Coinbase's `user`
    /// channel; `None`: the venue's own).
    #[serde(default)]
    pub ws_url: Option<String>,
    /// Kraken only: the dead man's switch's timeout in seconds (`None`: 60; 0: not armed).
    #[serde(default)]
    pub dead_man_switch_s: Option<u32>,
    /// How often the venue's grid (tick and lot) of the route's symbol is asked again while
    /// running, seconds (`None`: 60; 0: checked at start only).
    #[serde(default)]
    pub grid_check_s: Option<u32>,
}

fn default_slippage() -> i64 {
    5
}
fn default_timer() -> i64 {
    100
}

/// A feed stream the fair value reads: the venue and its symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKey {
    /// The venue.
    pub venue: Venue,
    /// The venue's symbol (`XBT/USD`).
    pub symbol: String,
}

/// Everything a live run needs from the config file, checked.
#[derive(Debug, Clone)]
pub struct LiveSetup {
    /// The pricing stack.
    pub pricing: PricingConfig,
    /// Reference venue `i`'s stream (`VenueId::External(i)`).
    pub streams: Vec<StreamKey>,
    /// Fees of our fills.
    pub our_fees: FeeSchedule,
    /// Taker fees of each reference venue (for hedging), in pricing order.
    pub hedge_fees: Vec<FeeSchedule>,
    /// Hedging (`None`: never).
    pub hedge: Option<HedgeConfig>,
    /// The pricing venues (indices) hedges are sent to (`[hedge] routes`; empty: decided, not
    /// sent).
    pub hedge_routes: Vec<usize>,
    /// Each hedge route's `--live` settings, in [`Self::hedge_routes`]' order.
    pub hedge_live: Vec<LiveRouteSettings>,
    /// The pricing venues (indices) the quotes go to, in `quote_on`'s order (`"ours"` left
    /// out); empty: our venue alone.
    pub quote_venues: Vec<usize>,
    /// With [`Self::quote_venues`], whether our venue quotes too and where it stands among them:
    /// `Some(k)`, `"ours"` came after `k` of them in `quote_on` (the ladders take the inventory
    /// limit's room in that order); `None`: only they quote (or, without them, only ours).
    pub quote_ours_at: Option<usize>,
    /// Each quote venue's `--live` settings (`[hedge.live.<venue>]`; default when absent), in
    /// [`Self::quote_venues`]' order.
    pub quote_live: Vec<LiveRouteSettings>,
    /// The interlock (`None`: none).
    pub interlock: Option<InterlockConfig>,
    /// The runner's timer, ns.
    pub timer_ns: i64,
}

fn venue_of(name: &str) -> Option<Venue> {
    match name {
        "binance" => Some(Venue::Binance),
        "coinbase" => Some(Venue::Coinbase),
        "kraken" => Some(Venue::Kraken),
        _ => None,
    }
}

fn fee(key: &str, rates: Option<&FeeRates>) -> Result<FeeSchedule, LiveConfigError> {
    let r = rates.copied().unwrap_or_default();
    FeeSchedule::new(r.maker_ppm, r.taker_ppm).map_err(|e| bad(key, e.to_string()))
}

fn same_step(key: &str, ours: &str, theirs: &str) -> Result<(), LiveConfigError> {
    let parse = |t: &str| Decimal::parse(t).map_err(|_| bad(key, format!("{t:?} is not a decimal")));
    if parse(ours)?.raw() != parse(theirs)?.raw() {
        return Err(bad(key, format!("{theirs} but our venue's instrument has {ours}")));
    }
    Ok(())
}

impl LiveSetup {
    /// Reads the config (JSON: a TOML file converted as is) for a market maker quoting an
    /// instrument of tick `tick_size` and lot `lot_size` (decimal text) on our venue.
    pub fn from_json(text: &str, tick_size: &str, lot_size: &str) -> Result<Self, LiveConfigError> {
        let file: LiveFile = serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            let key = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"))
                .unwrap_or("<file>")
                .to_owned();
            bad(key, msg)
        })?;
        let _backtest_only = (
            &file.seed,
            &file.market,
            &file.strategy,
            &file.latency,
            &file.sample_ms,
            &file.markout_ms,
            &file.queue_model,
            &file.references,
            &file.grid,
        );
        let value = file.pricing.as_ref().ok_or_else(|| bad("pricing", "a live run needs [pricing]"))?;
        let pricing = PricingConfig::from_json(&value.to_string()).map_err(|e| bad(pricing_key(&e), e.to_string()))?;
        same_step("pricing.instrument.tick_size", tick_size, &pricing.instrument.tick_size)?;
        same_step("pricing.instrument.lot_size", lot_size, &pricing.instrument.lot_size)?;
        let (quote_venues, quote_ours_at) = quote_venues(file.quote_on.as_ref(), &pricing)?;
        let streams = pricing
            .venues
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let venue = venue_of(&v.name).ok_or_else(|| {
                    bad(
                        format!("pricing.venues[{i}].name"),
                        format!("{:?}: expected binance, coinbase or kraken", v.name),
                    )
                })?;
                Ok(StreamKey { venue, symbol: v.symbol.clone() })
            })
            .collect::<Result<Vec<_>, LiveConfigError>>()?;
        for name in file.fees.keys() {
            if name != "ours" && venue_of(name).is_none() {
                return Err(bad(format!("fees.{name}"), "expected ours, binance, coinbase or kraken"));
            }
        }
        let our_fees = fee("fees.ours", file.fees.get("ours"))?;
        let hedge_fees = pricing
            .venues
            .iter()
            .map(|v| fee(&format!("fees.{}", v.name), file.fees.get(&v.name)))
            .collect::<Result<Vec<_>, _>>()?;
        let hedge = match file.hedge_on.as_deref() {
            None => None,
            Some(name) if !pricing.venues.iter().any(|v| v.name == name) => {
                return Err(bad("hedge_on", format!("{name:?} is not one of the pricing venues")));
            }
            Some(_) if file.hedge_threshold_lots == 0 => None,
            Some(_) => {
                let max_age = pricing.venues.iter().map(|v| v.stale_after_ms).max().unwrap_or(1_000) as i64 * 1_000_000;
                Some(HedgeConfig::new(file.hedge_threshold_lots, 0, file.hedge_slippage_ticks, max_age).map_err(
                    |e| {
                        let key =
                            if file.hedge_slippage_ticks < 0 { "hedge_slippage_ticks" } else { "hedge_threshold_lots" };
                        bad(key, e.to_string())
                    },
                )?)
            }
        };
        let quote_names: Vec<&str> = quote_venues.iter().map(|&i| pricing.venues[i].name.as_str()).collect();
        let (hedge_routes, hedge_live, quote_live) = match file.hedge {
            None => (Vec::new(), Vec::new(), vec![LiveRouteSettings::default(); quote_venues.len()]),
            Some(value) => {
                let section: HedgeSection = serde_json::from_value(value).map_err(|e| {
                    let msg = e.to_string();
                    bad(format!("hedge.{}", msg.split('`').nth(1).unwrap_or("routes")), msg)
                })?;
                let routes = match section.routes.is_empty() && !quote_names.is_empty() {
                    // Only the quote venue's live settings.
                    true => Vec::new(),
                    false => routes(&section, &pricing, hedge.is_some(), file.hedge_on.as_deref())?,
                };
                if let Some(q) = quote_names.iter().find(|q| section.routes.iter().any(|r| r == *q)) {
                    return Err(bad(
                        "quote_on",
                        format!("{q:?} is a hedge route too: quote on some venues and hedge on others"),
                    ));
                }
                let known = |name: &String| section.routes.contains(name) || quote_names.contains(&name.as_str());
                if let Some(name) = section.live.keys().find(|name| !known(name)) {
                    return Err(bad(format!("hedge.live.{name}"), "neither one of hedge.routes nor a quote_on venue"));
                }
                let live = section.routes.iter().map(|name| section.live.get(name).cloned().unwrap_or_default());
                let quote_live =
                    quote_names.iter().map(|q| section.live.get(*q).cloned().unwrap_or_default()).collect();
                (routes, live.collect(), quote_live)
            }
        };
        let interlock = match file.interlock {
            None => None,
            Some(i) => {
                if !(i.stale_after_ms.is_finite() && i.stale_after_ms > 0.0) {
                    return Err(bad("interlock.stale_after_ms", format!("{} must be > 0", i.stale_after_ms)));
                }
                if i.cross_threshold_ticks < 0 {
                    return Err(bad(
                        "interlock.cross_threshold_ticks",
                        format!("{} must be >= 0", i.cross_threshold_ticks),
                    ));
                }
                Some(InterlockConfig {
                    venues: pricing.venues.len(),
                    stale_after_ns: (i.stale_after_ms * 1e6).round() as i64,
                    cross_threshold_ticks: i.cross_threshold_ticks,
                })
            }
        };
        if !(1..=60_000).contains(&file.timer_ms) {
            return Err(bad("timer_ms", format!("{} must be in 1..=60000", file.timer_ms)));
        }
        Ok(LiveSetup {
            pricing,
            streams,
            our_fees,
            hedge_fees,
            hedge,
            hedge_routes,
            hedge_live,
            quote_venues,
            quote_ours_at,
            quote_live,
            interlock,
            timer_ns: file.timer_ms * 1_000_000,
        })
    }
}

/// `quote_on` as pricing venue indices and where `"ours"` stands among them, checked: `"ours"`
/// (or absent) is none; a name or a list of names, each a pricing venue or `"ours"`, none twice.
fn quote_venues(
    quote_on: Option<&QuoteOn>,
    pricing: &PricingConfig,
) -> Result<(Vec<usize>, Option<usize>), LiveConfigError> {
    let names: Vec<&str> = match quote_on {
        None => return Ok((Vec::new(), None)),
        Some(QuoteOn::One(name)) => vec![name.as_str()],
        Some(QuoteOn::Many(names)) => names.iter().map(String::as_str).collect(),
    };
    if names == ["ours"] {
        return Ok((Vec::new(), None));
    }
    if names.is_empty() {
        return Err(bad("quote_on", "an empty list: name \"ours\" or pricing venues"));
    }
    let mut out = Vec::with_capacity(names.len());
    let mut ours_at = None;
    for (k, q) in names.iter().enumerate() {
        let key = match quote_on {
            Some(QuoteOn::Many(_)) => format!("quote_on[{k}]"),
            _ => "quote_on".to_owned(),
        };
        if *q == "ours" {
            if ours_at.is_some() {
                return Err(bad(key, "\"ours\" is named twice"));
            }
            ours_at = Some(out.len());
            continue;
        }
        let i = pricing
            .venues
            .iter()
            .position(|v| v.name == *q)
            .ok_or_else(|| bad(key.clone(), format!("{q:?}: expected \"ours\" or one of the pricing venues")))?;
        if out.contains(&i) {
            return Err(bad(key, format!("{q:?} is named twice")));
        }
        out.push(i);
    }
    Ok((out, ours_at))
}

/// `[hedge] routes` as pricing venue indices, checked.
fn routes(
    section: &HedgeSection,
    pricing: &PricingConfig,
    hedging: bool,
    hedge_on: Option<&str>,
) -> Result<Vec<usize>, LiveConfigError> {
    if section.routes.is_empty() {
        return Err(bad("hedge.routes", "name at least one pricing venue"));
    }
    let mut out = Vec::with_capacity(section.routes.len());
    for (k, name) in section.routes.iter().enumerate() {
        let i =
            pricing.venues.iter().position(|v| &v.name == name).ok_or_else(|| {
                bad(format!("hedge.routes[{k}]"), format!("{name:?} is not one of the pricing venues"))
            })?;
        if out.contains(&i) {
            return Err(bad(format!("hedge.routes[{k}]"), format!("{name:?} is listed twice")));
        }
        out.push(i);
    }
    if !hedging {
        return Err(bad("hedge", "routes need hedging on: hedge_on and hedge_threshold_lots > 0"));
    }
    if let Some(on) = hedge_on.filter(|on| !section.routes.iter().any(|r| r == on)) {
        return Err(bad("hedge_on", format!("{on:?} has no route in hedge.routes")));
    }
    Ok(out)
}

/// The pricing error's key, under `pricing.`.
fn pricing_key(e: &MmConfigError) -> String {
    match e {
        MmConfigError::Invalid { key, .. }
        | MmConfigError::UnknownVenue { key, .. }
        | MmConfigError::QuoteCurrencyWithoutBasis { key, .. } => format!("pricing.{key}"),
        // serde names the field between backticks.
        MmConfigError::Parse { reason } => {
            reason.split('`').nth(1).map_or_else(|| "pricing".into(), |field| format!("pricing.{field}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str, model: &str) -> String {
        format!(
            r#"{{{extra}
            "pricing": {{
              "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.001"}},
              "venues": [
                {{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 500}},
                {{"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 500}}
              ],
              "model": {model},
              "volatility": {{"fixed": {{"sigma": 5.0}}}},
              "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 1.0}}, "ask": {{"a": 1.0, "k": 1.0}}}}}},
              "quoting": {{"levels": 1, "sizes_lots": [5], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                          "max_spread_ticks": 200, "max_inventory_lots": 100, "inventory_unit_lots": 5,
                          "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}
            }}}}"#
        )
    }

    const FIXED: &str = r#"{"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 1.0}"#;

    #[test]
    fn a_good_config_gives_streams_fees_hedge_and_interlock() {
        let extra = r#""seed": 3, "hedge_on": "kraken", "hedge_threshold_lots": 20,
            "fees": {"ours": {"maker_ppm": -20, "taker_ppm": 50}, "kraken": {"maker_ppm": 0, "taker_ppm": 100}},
            "interlock": {"stale_after_ms": 1000, "cross_threshold_ticks": 20},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(s.streams[1], StreamKey { venue: Venue::Kraken, symbol: "XBT/USD".into() });
        assert_eq!(s.our_fees, FeeSchedule::new(-20, 50).unwrap());
        assert_eq!(s.hedge_fees, vec![FeeSchedule::default(), FeeSchedule::new(0, 100).unwrap()]);
        assert!(s.hedge.is_some());
        assert_eq!(s.interlock.unwrap().stale_after_ns, 1_000_000_000);
        assert_eq!(s.timer_ns, 100_000_000);
        assert!(s.hedge_routes.is_empty(), "no [hedge]: decided, not sent");
    }

    #[test]
    fn hedge_routes_name_pricing_venues_in_their_order() {
        let extra = r#""hedge_on": "kraken", "hedge_threshold_lots": 20, "hedge": {"routes": ["kraken", "coinbase"]},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(s.hedge_routes, vec![1, 0]);
        assert_eq!(s.hedge_live, vec![LiveRouteSettings::default(); 2]);
    }

    #[test]
    fn live_route_settings_follow_the_routes_and_name_only_routes() {
        let extra = r#""hedge_on": "kraken", "hedge_threshold_lots": 20, "hedge": {"routes": ["kraken", "coinbase"],
            "live": {"coinbase": {"url": "https://127.0.0.1:9443", "keys_file": "/k", "ca_file": "/ca.pem",
            "ws_url": "wss://127.0.0.1:9444"}}},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        let coinbase = LiveRouteSettings {
            url: Some("https://127.0.0.1:9443".into()),
            keys_file: Some("/k".into()),
            ca_file: Some("/ca.pem".into()),
            ws_url: Some("wss://127.0.0.1:9444".into()),
            dead_man_switch_s: None,
            grid_check_s: None,
        };
        assert_eq!(s.hedge_live, vec![LiveRouteSettings::default(), coinbase]);
        let extra = r#""hedge_on": "kraken", "hedge_threshold_lots": 20, "hedge": {"routes": ["kraken"],
            "live": {"coinbase": {"url": "https://x"}}},"#;
        let e = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap_err();
        assert_eq!(e.key, "hedge.live.coinbase");
        let extra = r#""hedge_on": "kraken", "hedge_threshold_lots": 20, "hedge": {"routes": ["kraken"],
            "live": {"kraken": {"secret": "x"}}},"#;
        let e = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap_err();
        assert_eq!(e.key, "hedge.secret", "{e}");
    }

    #[test]
    fn every_error_names_its_key() {
        let cases = [
            (config(r#""colour": 1,"#, FIXED), "colour"),
            (config("", r#"{"kind": "glft", "gamma": -1.0}"#), "pricing.model.gamma"),
            (config(r#""quote_on": "binance","#, FIXED), "quote_on"),
            (
                config(
                    r#""quote_on": "kraken", "hedge_on": "kraken", "hedge_threshold_lots": 5,
                    "hedge": {"routes": ["kraken"]},"#,
                    FIXED,
                ),
                "quote_on",
            ),
            (config(r#""hedge_on": "binance", "hedge_threshold_lots": 5,"#, FIXED), "hedge_on"),
            (config(r#""fees": {"ours": {"maker_ppm": -60, "taker_ppm": 50}},"#, FIXED), "fees.ours"),
            (config(r#""fees": {"bitstamp": {"maker_ppm": 0, "taker_ppm": 0}},"#, FIXED), "fees.bitstamp"),
            (
                config(r#""interlock": {"stale_after_ms": 0, "cross_threshold_ticks": 1},"#, FIXED),
                "interlock.stale_after_ms",
            ),
            (config(r#""timer_ms": 0,"#, FIXED), "timer_ms"),
            (
                config(r#""hedge_on": "kraken", "hedge_threshold_lots": 5, "hedge": {"routes": []},"#, FIXED),
                "hedge.routes",
            ),
            (
                config(
                    r#""hedge_on": "kraken", "hedge_threshold_lots": 5, "hedge": {"routes": ["kraken", "binance"]},"#,
                    FIXED,
                ),
                "hedge.routes[1]",
            ),
            (
                config(
                    r#""hedge_on": "kraken", "hedge_threshold_lots": 5, "hedge": {"routes": ["kraken", "kraken"]},"#,
                    FIXED,
                ),
                "hedge.routes[1]",
            ),
            (config(r#""hedge": {"routes": ["kraken"]},"#, FIXED), "hedge"),
            (
                config(r#""hedge_on": "kraken", "hedge_threshold_lots": 5, "hedge": {"routes": ["coinbase"]},"#, FIXED),
                "hedge_on",
            ),
            (
                config(r#""hedge_on": "kraken", "hedge_threshold_lots": 5, "hedge": {"route": "kraken"},"#, FIXED),
                "hedge.route",
            ),
            (r#"{"seed": 1}"#.to_string(), "pricing"),
        ];
        for (text, key) in cases {
            let e = LiveSetup::from_json(&text, "0.01", "0.001").unwrap_err();
            assert_eq!(e.key, key, "{e}");
        }
    }

    #[test]
    fn quote_on_a_pricing_venue_routes_the_quotes_there_with_its_live_settings() {
        let s = LiveSetup::from_json(&config(r#""quote_on": "kraken","#, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(s.quote_venues, vec![1]);
        assert_eq!(s.quote_live, vec![LiveRouteSettings::default()]);
        assert!(s.hedge_routes.is_empty());
        let extra = r#""quote_on": "kraken", "hedge_on": "coinbase", "hedge_threshold_lots": 5,
            "hedge": {"routes": ["coinbase"], "live": {"kraken": {"keys_file": "/k"}}},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!((s.quote_venues.clone(), s.hedge_routes), (vec![1], vec![0]));
        assert_eq!(s.quote_live[0].keys_file.as_deref(), Some("/k"));
        assert_eq!(s.hedge_live, vec![LiveRouteSettings::default()]);
        let extra = r#""quote_on": "kraken", "hedge": {"live": {"kraken": {"url": "https://x"}}},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(s.quote_live[0].url.as_deref(), Some("https://x"));
        let s = LiveSetup::from_json(&config(r#""quote_on": "ours","#, FIXED), "0.01", "0.001").unwrap();
        assert!(s.quote_venues.is_empty());
    }

    #[test]
    fn quote_on_a_list_quotes_on_each_venue_in_its_order_with_each_ones_live_settings() {
        let extra = r#""quote_on": ["kraken", "coinbase"],
            "hedge": {"live": {"coinbase": {"url": "https://c"}, "kraken": {"url": "https://k"}}},"#;
        let s = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(s.quote_venues, vec![1, 0]);
        let urls: Vec<_> = s.quote_live.iter().map(|l| l.url.as_deref()).collect();
        assert_eq!(urls, vec![Some("https://k"), Some("https://c")]);
        // A list of one is the string; ["ours"] is our venue.
        let one = LiveSetup::from_json(&config(r#""quote_on": ["kraken"],"#, FIXED), "0.01", "0.001").unwrap();
        assert_eq!(one.quote_venues, vec![1]);
        let ours = LiveSetup::from_json(&config(r#""quote_on": ["ours"],"#, FIXED), "0.01", "0.001").unwrap();
        assert!(ours.quote_venues.is_empty());
        assert_eq!(ours.quote_ours_at, None);
        assert_eq!(s.quote_ours_at, None);
        // "ours" with pricing venues: a ladder on our venue too, at its place in the list (its
        // live settings are none: the quote venues' are theirs).
        let extra = r#""quote_on": ["kraken", "ours", "coinbase"],
            "hedge": {"live": {"coinbase": {"url": "https://c"}}},"#;
        let mixed = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap();
        assert_eq!((mixed.quote_venues.clone(), mixed.quote_ours_at), (vec![1, 0], Some(1)));
        let urls: Vec<_> = mixed.quote_live.iter().map(|l| l.url.as_deref()).collect();
        assert_eq!(urls, vec![None, Some("https://c")]);
        let first = LiveSetup::from_json(&config(r#""quote_on": ["ours", "kraken"],"#, FIXED), "0.01", "0.001");
        assert_eq!(first.map(|s| (s.quote_venues, s.quote_ours_at)).unwrap(), (vec![1], Some(0)));
        let extra = r#""quote_on": ["kraken", "ours"], "hedge": {"live": {"ours": {"url": "https://o"}}},"#;
        let e = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap_err();
        assert_eq!(e.key, "hedge.live.ours", "{e}");
        let cases = [
            (r#""quote_on": ["kraken", "kraken"],"#, "quote_on[1]", "twice"),
            (r#""quote_on": ["kraken", "binance"],"#, "quote_on[1]", "pricing venues"),
            (r#""quote_on": ["ours", "kraken", "ours"],"#, "quote_on[2]", "twice"),
            (r#""quote_on": [],"#, "quote_on", "empty"),
            (
                r#""quote_on": ["coinbase", "kraken"], "hedge_on": "kraken", "hedge_threshold_lots": 5,
                "hedge": {"routes": ["kraken"]},"#,
                "quote_on",
                "hedge route",
            ),
        ];
        for (extra, key, why) in cases {
            let e = LiveSetup::from_json(&config(extra, FIXED), "0.01", "0.001").unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.why.contains(why), "{e}");
        }
    }

    #[test]
    fn a_grid_that_is_not_our_venues_is_refused() {
        let e = LiveSetup::from_json(&config("", FIXED), "0.1", "0.001").unwrap_err();
        assert_eq!(e.key, "pricing.instrument.tick_size");
        let e = LiveSetup::from_json(&config("", FIXED), "0.010", "0.0001").unwrap_err();
        assert_eq!(e.key, "pricing.instrument.lot_size", "0.010 is 0.01: only the lot differs");
    }
}
