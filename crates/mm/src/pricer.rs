//! [`Pricer`]: the pricing side in one value, built from a [`PricingConfig`]: venue tops in,
//! trades in, fills in, quote actions out.
//!
//! ```text
//! on_top(venue, top) ──> FairValueEngine ──> fair value ──> VolatilityEstimator (σ)
//! on_trade(ts, aggressor, price) ──> IntensityEstimator per side (A, k)
//! decide(now, inventory, our_top, &mut actions) ──> QuoteModel ──> Quoter ──> actions
//! on_fill(side, level, qty) ──> Quoter (requote on the next decision)
//! ```
//!
//! ```
//! use wintermute_mm::{config::PricingConfig, pricer::Pricer, quote_actions::ActionBuffer};
//! use wintermute_mm::types::{Level, Top, VenueId};
//! let cfg = PricingConfig::from_json(r#"{
//!   "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
//!   "venues": [{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD",
//!                "weight": 1.0, "stale_after_ms": 500}],
//!   "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 1.0},
//!   "volatility": {"fixed": {"sigma": 1.0}},
//!   "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
//!   "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
//!               "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
//!               "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}
//! }"#).unwrap();
//! let mut pricer = Pricer::from_config(&cfg).unwrap();
//! let mut actions = ActionBuffer::for_levels(pricer.levels());
//! let top = Top { bid: Level { price: 1000, qty: 5 }, ask: Level { price: 1002, qty: 5 }, ts_ns: 0 };
//! pricer.on_top(VenueId::External(0), top).unwrap();
//! pricer.decide(0, 0, None, &mut actions).unwrap();
//! assert_eq!(actions.len(), 2); // a bid at 998 and an ask at 1004
//! ```

use crate::config::{IntensityConfig, MmConfigError, PricingConfig, VolatilityConfig};
use crate::estimate::{IntensityEstimator, VolatilityEstimator};
use crate::fair_value::{FairValueEngine, UnknownVenueError};
use crate::instrument_map::InstrumentMap;
use crate::models::{Intensity, QuoteModel};
use crate::quote_actions::ActionBuffer;
use crate::quoter::{Decision, QuoteContext, Quoter, QuoterError, Trigger};
use crate::types::{Side, Top, VenueId};

#[derive(Debug, Clone)]
enum Sigma {
    Fixed(f64),
    Ewma(VolatilityEstimator),
}

#[derive(Debug, Clone)]
enum Intensities {
    Fixed {
        bid: Intensity,
        ask: Intensity,
    },
    /// Per side: the estimator and the intensity to use until it has a fit.
    Estimated {
        bid: (IntensityEstimator, Intensity),
        ask: (IntensityEstimator, Intensity),
    },
}

/// Fair value, estimators, model and quoter, wired as the configuration says.
#[derive(Debug, Clone)]
pub struct Pricer {
    map: InstrumentMap,
    fair: FairValueEngine,
    sigma: Sigma,
    intensity: Intensities,
    model: QuoteModel,
    quoter: Quoter,
    /// σ and the (bid, ask) intensities of the last requote.
    market: (f64, Intensity, Intensity),
}

impl Pricer {
    /// Builds everything from a configuration (validated here).
    pub fn from_config(cfg: &PricingConfig) -> Result<Self, MmConfigError> {
        let map = InstrumentMap::from_config(cfg)?;
        let fair = FairValueEngine::new(&map);
        let sigma =
            match cfg.volatility {
                VolatilityConfig::Fixed { sigma } => Sigma::Fixed(sigma),
                VolatilityConfig::Ewma { sample_ms, half_life_s, initial_sigma } => Sigma::Ewma(
                    VolatilityEstimator::new((sample_ms as i64).saturating_mul(1_000_000), half_life_s, initial_sigma),
                ),
            };
        let p = |i: crate::config::IntensityParams| Intensity { a: i.a, k: i.k };
        let intensity = match cfg.intensity {
            IntensityConfig::Fixed { bid, ask } => Intensities::Fixed { bid: p(bid), ask: p(ask) },
            IntensityConfig::Estimated { window_s, bucket_ticks, buckets, max_trades, fallback_bid, fallback_ask } => {
                let est = || IntensityEstimator::new((window_s * 1e9) as i64, bucket_ticks, buckets, max_trades);
                Intensities::Estimated { bid: (est(), p(fallback_bid)), ask: (est(), p(fallback_ask)) }
            }
        };
        let market = match &intensity {
            Intensities::Fixed { bid, ask } => (0.0, *bid, *ask),
            Intensities::Estimated { bid, ask } => (0.0, bid.1, ask.1),
        };
        Ok(Pricer {
            market,
            fair,
            sigma,
            intensity,
            model: QuoteModel::from_config(&cfg.model)?,
            quoter: Quoter::new(&cfg.quoting)?,
            map,
        })
    }

    /// The instrument map (venue ids, grid conversion of feed books).
    pub fn instrument_map(&self) -> &InstrumentMap {
        &self.map
    }

    /// Levels per side (size an [`ActionBuffer`] with [`ActionBuffer::for_levels`]).
    pub fn levels(&self) -> usize {
        self.quoter.levels()
    }

    /// The quoter (what rests in each slot).
    pub fn quoter(&self) -> &Quoter {
        &self.quoter
    }

    /// The quoter, to change (its share of the inventory limit with other ladders,
    /// [`Quoter::set_elsewhere`]).
    pub fn quoter_mut(&mut self) -> &mut Quoter {
        &mut self.quoter
    }

    /// The fair value engine (bases, fair value at any instant).
    pub fn fair_value_engine(&self) -> &FairValueEngine {
        &self.fair
    }

    /// A venue's new top on our grid (see [`crate::instrument_map::GridScale`]); feeds the
    /// volatility estimator with the resulting fair value.
    pub fn on_top(&mut self, venue: VenueId, top: Top) -> Result<(), UnknownVenueError> {
        self.fair.update(venue, top)?;
        if let (Sigma::Ewma(v), Some(fv)) = (&mut self.sigma, self.fair.fair_value(top.ts_ns)) {
            v.on_mid(top.ts_ns, fv.price);
        }
        Ok(())
    }

    /// A trade on a reference venue at `price` ticks (our grid), `aggressor` the taker's side: a
    /// buyer lifts asks (its depth `price − fair value` prices our asks), a seller hits bids.
    /// Ignored without a fair value or with hand-set intensities.
    pub fn on_trade(&mut self, ts_ns: i64, aggressor: Side, price: i64) {
        let Intensities::Estimated { bid, ask } = &mut self.intensity else { return };
        let Some(fv) = self.fair.fair_value(ts_ns) else { return };
        match aggressor {
            Side::Buy => ask.0.record(ts_ns, price as f64 - fv.price),
            Side::Sell => bid.0.record(ts_ns, fv.price - price as f64),
        }
    }

    /// A fill of one of our quotes (its ladder slot and quantity).
    pub fn on_fill(&mut self, side: Side, level: usize, qty: i64) -> Result<(), QuoterError> {
        self.quoter.on_fill(side, level, qty)
    }

    /// A slot's order's open quantity as the venue reports it ([`Quoter::on_amended`]).
    pub fn on_amended(&mut self, side: Side, level: usize, open_qty: i64) -> bool {
        self.quoter.on_amended(side, level, open_qty)
    }

    /// A slot's order is gone without a fill (rejected, expired, canceled by the venue).
    pub fn on_order_gone(&mut self, side: Side, level: usize) {
        self.quoter.on_order_gone(side, level);
    }

    /// Pulls every quote now (book-health interlock, kill switch): cancels into `out`; the next
    /// decision with a fair value quotes afresh.
    pub fn pull(&mut self, out: &mut ActionBuffer) -> Result<(), QuoterError> {
        self.quoter.pull(out)
    }

    /// The (bid, ask) intensities in use at `now_ns`: hand-set, fitted, or the fallback of a
    /// side with no fit yet.
    pub fn intensities(&mut self, now_ns: i64) -> (Intensity, Intensity) {
        current_intensities(&mut self.intensity, now_ns)
    }

    /// σ in use now, ticks per √second.
    pub fn sigma(&self) -> f64 {
        current_sigma(&self.sigma)
    }

    /// Decides the actions at `now_ns` for `inventory_lots`, given our venue's own top if known.
    pub fn decide(
        &mut self,
        now_ns: i64,
        inventory_lots: i64,
        our_top: Option<Top>,
        out: &mut ActionBuffer,
    ) -> Result<Decision, QuoterError> {
        let fair_value = self.fair.fair_value(now_ns).map(|f| f.price);
        let (quoter, view) = (&mut self.quoter, Market { sigma: &self.sigma, intensity: &mut self.intensity });
        decide_on(quoter, view, &mut self.market, &self.model, (now_ns, fair_value, inventory_lots, our_top), out)
    }

    /// As [`Pricer::decide`], for the ladder `quoter` keeps (another venue's, made with
    /// [`Quoter::idle_copy`]) instead of the pricer's own; `venue_top` is that venue's top.
    pub fn decide_with(
        &mut self,
        quoter: &mut Quoter,
        now_ns: i64,
        inventory_lots: i64,
        venue_top: Option<Top>,
        out: &mut ActionBuffer,
    ) -> Result<Decision, QuoterError> {
        let fair_value = self.fair.fair_value(now_ns).map(|f| f.price);
        let view = Market { sigma: &self.sigma, intensity: &mut self.intensity };
        decide_on(quoter, view, &mut self.market, &self.model, (now_ns, fair_value, inventory_lots, venue_top), out)
    }
}

/// The estimators a decision reads.
struct Market<'a> {
    sigma: &'a Sigma,
    intensity: &'a mut Intensities,
}

fn current_intensities(intensity: &mut Intensities, now_ns: i64) -> (Intensity, Intensity) {
    match intensity {
        Intensities::Fixed { bid, ask } => (*bid, *ask),
        Intensities::Estimated { bid, ask } => (bid.0.fit(now_ns).unwrap_or(bid.1), ask.0.fit(now_ns).unwrap_or(ask.1)),
    }
}

fn current_sigma(sigma: &Sigma) -> f64 {
    match sigma {
        Sigma::Fixed(s) => *s,
        Sigma::Ewma(v) => v.sigma(),
    }
}

fn decide_on(
    quoter: &mut Quoter,
    view: Market<'_>,
    market: &mut (f64, Intensity, Intensity),
    model: &QuoteModel,
    (now_ns, fair_value, inventory_lots, our_top): (i64, Option<f64>, i64, Option<Top>),
    out: &mut ActionBuffer,
) -> Result<Decision, QuoterError> {
    // σ and the intensity fits are computed only when the quoter will requote; a decision
    // that holds never reads them.
    if let Trigger::Requote(..) = quoter.trigger(now_ns, fair_value) {
        let (bid, ask) = current_intensities(view.intensity, now_ns);
        *market = (current_sigma(view.sigma), bid, ask);
    }
    let (sigma, bid_intensity, ask_intensity) = *market;
    let ctx = QuoteContext { now_ns, fair_value, inventory_lots, sigma, bid_intensity, ask_intensity, our_top };
    quoter.decide(&ctx, model, out)
}
