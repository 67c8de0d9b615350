//! One latent price that every synthetic venue follows.
//!
//! Without it each venue random-walks on its own, and a consolidated book of several synthetic
//! venues is crossed most of the time. With a [`LatentFeed`] in its [`SyntheticConfig`]
//! (`crate::synthetic::SyntheticConfig::latent`), a venue's reference price is, at each step of
//! its exchange clock `t`,
//!
//! ```text
//! seen(t) = latent(t - lag) + basis + noise + dislocation(t)
//! bid reference = floor((seen - half_spread) / tick), ask reference = ceil((seen + half_spread) / tick)
//! ```
//!
//! where `latent` is a [`LatentPath`] (the same seed on every venue gives the same path),
//! `noise` is drawn uniformly in `-noise..=noise` at each step, and `dislocation` is
//! [`Dislocation::units`] inside its time window and 0 outside. All prices are integers in
//! [`UNITS_PER_DOLLAR`]-ths of a quote-currency unit (1e-8), so that every venue's tick is a whole
//! number of units.
//!
//! **Why the consolidated book stays uncrossed.** Venue A's best bid is at most
//! `seen_A - half_spread_A` and venue B's best ask at least `seen_B + half_spread_B`. With
//! `noise <= half_spread` on both venues, A's bid can only reach B's ask when
//! `latent(t - lag_A) - latent(t - lag_B) > half_spread_A + half_spread_B - noise_A - noise_B`
//! (plus any basis or dislocation difference): when the latent price moved, within the lag
//! difference, by more than the two venues' spreads leave room for. That is the "lagging venue
//! has not caught up" cross, and it is rare for the default parameters (see the tests); an
//! injected dislocation makes a real, lasting cross on purpose.
//!
//! ```
//! use wintermute_feeds::synthetic::latent::{LatentParams, LatentPath};
//! let mut a = LatentPath::new(LatentParams::new(42));
//! let mut b = LatentPath::new(LatentParams::new(42));
//! let later = a.price_at(5_000_000_000);
//! assert_eq!(later, b.price_at(5_000_000_000)); // one seed, one path
//! assert_eq!(a.price_at(0), LatentParams::new(42).start_units);
//! ```

use wintermute_core::rng::SplitMix64;

use crate::message::Venue;

/// Latent price units per unit of the quote currency (prices are integers of 1e-8).
pub const UNITS_PER_DOLLAR: i64 = 100_000_000;

/// The latent random walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatentParams {
    /// Seed of the path: venues with the same seed follow the same price.
    pub seed: u64,
    /// Price at elapsed time 0, in units (1e-8).
    pub start_units: i64,
    /// Time between two moves of the path, ns (> 0).
    pub step_ns: i64,
    /// Each move is the sum of four uniform draws in `-step_units..=step_units` (close to a normal
    /// with standard deviation `1.15 * step_units`).
    pub step_units: i64,
}

impl LatentParams {
    /// 60,000.00 at the start, a move every 10 ms of about 0.3 cents standard deviation (about 1
    /// cent per 100 ms, 3 cents per second: a calm market, slow enough for venues that update
    /// every 100 ms to agree).
    pub fn new(seed: u64) -> Self {
        LatentParams { seed, start_units: 60_000 * UNITS_PER_DOLLAR, step_ns: 10_000_000, step_units: 270_000 }
    }
}

/// The latent price as a function of elapsed time (see the module docs): a seeded random walk on
/// a fixed time grid. Queries are cheap when their times do not decrease (the walk advances); an
/// earlier time replays the walk from its start.
#[derive(Debug, Clone)]
pub struct LatentPath {
    params: LatentParams,
    rng: SplitMix64,
    index: i64,
    price: i64,
}

impl LatentPath {
    /// The path of `params` (a `step_ns` below 1 is taken as 1).
    pub fn new(params: LatentParams) -> Self {
        LatentPath { params, rng: SplitMix64::new(params.seed ^ 0x1a7e_57ed), index: 0, price: params.start_units }
    }

    /// The parameters.
    pub fn params(&self) -> &LatentParams {
        &self.params
    }

    /// The price, in units, at `elapsed_ns` after the path's start (negative: the start price).
    pub fn price_at(&mut self, elapsed_ns: i64) -> i64 {
        let target = elapsed_ns.max(0) / self.params.step_ns.max(1);
        if target < self.index {
            *self = LatentPath::new(self.params);
        }
        let a = self.params.step_units.max(0);
        let width = 2 * a as u64 + 1;
        while self.index < target {
            let mut step = 0;
            for _ in 0..4 {
                step += self.rng.below(width) as i64 - a;
            }
            self.price += step;
            self.index += 1;
        }
        self.price
    }
}

/// A venue jumps away from the latent price for a while (to show an interlock pulling quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dislocation {
    /// Start, ns after the session's `start_ns`.
    pub start_ns: i64,
    /// How long, ns.
    pub duration_ns: i64,
    /// How far the venue's price jumps, in units (1e-8; negative: down).
    pub units: i64,
}

impl Dislocation {
    /// The offset at `elapsed_ns`: `units` inside the window, 0 outside.
    pub fn offset_at(&self, elapsed_ns: i64) -> i64 {
        let inside = elapsed_ns >= self.start_ns && elapsed_ns < self.start_ns.saturating_add(self.duration_ns);
        if inside {
            self.units
        } else {
            0
        }
    }
}

/// How one venue follows the latent price (see the module docs). All prices in units (1e-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatentFeed {
    /// The shared path.
    pub path: LatentParams,
    /// The venue sees the latent price this late, ns (>= 0).
    pub lag_ns: i64,
    /// Per-step noise bound (uniform in `-noise..=noise`); keep it `<= half_spread`.
    pub noise_units: i64,
    /// Half of the venue's quoted spread around the price it sees (>= 0).
    pub half_spread_units: i64,
    /// A constant offset (a quote-currency basis: BTCUSDT vs BTC-USD).
    pub basis_units: i64,
    /// An optional injected dislocation.
    pub dislocation: Option<Dislocation>,
}

impl LatentFeed {
    /// The defaults of each venue for a path seeded with `seed`: Binance leads (no lag, half a
    /// cent of noise, 2 cents of half spread), Coinbase lags 20 ms (half a cent, 2 cents), Kraken
    /// lags 120 ms (2 cents, 5 cents; its tick is 10 cents).
    pub fn for_venue(venue: Venue, seed: u64) -> Self {
        let cent = UNITS_PER_DOLLAR / 100;
        let (lag_ns, noise, half_spread) = match venue {
            Venue::Binance => (0, cent / 2, 2 * cent),
            Venue::Coinbase => (20_000_000, cent / 2, 2 * cent),
            Venue::Kraken => (120_000_000, 2 * cent, 5 * cent),
        };
        LatentFeed {
            path: LatentParams::new(seed),
            lag_ns,
            noise_units: noise,
            half_spread_units: half_spread,
            basis_units: 0,
            dislocation: None,
        }
    }

    /// The same feed with a dislocation.
    pub fn with_dislocation(mut self, dislocation: Dislocation) -> Self {
        self.dislocation = Some(dislocation);
        self
    }
}

/// A venue's view of the latent path (what the generator asks at each step).
#[derive(Debug, Clone)]
pub(crate) struct LatentView {
    feed: LatentFeed,
    path: LatentPath,
}

impl LatentView {
    pub(crate) fn new(feed: LatentFeed) -> Self {
        LatentView { feed, path: LatentPath::new(feed.path) }
    }

    /// The price the venue sees at `elapsed_ns` before noise: lagged latent + basis + dislocation.
    pub(crate) fn seen(&mut self, elapsed_ns: i64) -> i64 {
        let latent = self.path.price_at(elapsed_ns - self.feed.lag_ns);
        let jump = self.feed.dislocation.map_or(0, |d| d.offset_at(elapsed_ns));
        latent + self.feed.basis_units + jump
    }

    pub(crate) fn feed(&self) -> &LatentFeed {
        &self.feed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_replays_the_same_prices_forwards_and_after_going_back() {
        let mut path = LatentPath::new(LatentParams::new(3));
        let forward: Vec<i64> = (0..200).map(|i| path.price_at(i * 7_000_000)).collect();
        let mut again = LatentPath::new(LatentParams::new(3));
        assert_eq!(again.price_at(199 * 7_000_000), forward[199]);
        assert_eq!(again.price_at(50 * 7_000_000), forward[50], "an earlier time replays from the start");
        assert_ne!(forward[0], forward[199], "the path moves");
    }

    #[test]
    fn the_step_spread_is_close_to_its_stated_standard_deviation() {
        let params = LatentParams::new(11);
        let mut path = LatentPath::new(params);
        let n = 20_000;
        let mut prev = path.price_at(0);
        let mut sum_sq = 0.0;
        for i in 1..=n {
            let p = path.price_at(i * params.step_ns);
            sum_sq += ((p - prev) as f64).powi(2);
            prev = p;
        }
        let sd = (sum_sq / n as f64).sqrt();
        let expected = params.step_units as f64 * (4.0f64 / 3.0).sqrt();
        assert!((sd / expected - 1.0).abs() < 0.05, "sd {sd} vs {expected}");
    }

    #[test]
    fn a_dislocation_applies_only_inside_its_window() {
        let d = Dislocation { start_ns: 100, duration_ns: 50, units: -7 };
        assert_eq!([d.offset_at(99), d.offset_at(100), d.offset_at(149), d.offset_at(150)], [0, -7, -7, 0]);
    }
}
