//! Three synthetic venues following one latent price (`synthetic::latent`): the books between
//! venues are crossed only in a small fraction of the time, and only when the venues' lagged
//! views of the latent price disagree (or inside an injected dislocation); each venue's mid
//! tracks the latent price it sees within its noise, spread and a few ticks; the same seed gives
//! the same market. Independent random walks (no latent price), by contrast, are crossed most of
//! the time.

use wintermute_feeds::synthetic::latent::{Dislocation, LatentPath, UNITS_PER_DOLLAR};
use wintermute_feeds::synthetic::{generate, Generator, SyntheticConfig};
use wintermute_feeds::Venue;

const VENUES: [Venue; 3] = [Venue::Binance, Venue::Coinbase, Venue::Kraken];

/// What one merged run saw, one sample per step of any venue (in exchange-time order).
#[derive(Debug, Default)]
struct RunStats {
    samples: usize,
    /// Samples where some venue's best bid >= another venue's best ask.
    crossed: usize,
    /// Crossed samples where the crossing venues' views of the latent price (lagged, at each
    /// venue's last update) did not differ in the crossing direction by more than their spreads
    /// leave room for: must be none.
    crossed_without_lag: usize,
    /// Crossed samples inside the dislocation window.
    crossed_in_dislocation: usize,
    /// Samples while the dislocated venue's last step was inside the dislocation window.
    in_dislocation: usize,
    /// Per venue: samples whose mid is within the bound of the latent price the venue sees, and
    /// the sum of absolute deviations.
    tracked: [usize; 3],
    abs_dev_sum: [f64; 3],
}

fn configs(seed: u64, steps: usize, latent: bool) -> Vec<SyntheticConfig> {
    VENUES
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let cfg = SyntheticConfig { steps, ..SyntheticConfig::new(v, seed + i as u64) };
            if latent {
                cfg.with_latent(seed)
            } else {
                cfg
            }
        })
        .collect()
}

/// Steps the venues in exchange-time order and samples the cross after every step.
fn run(cfgs: &[SyntheticConfig], steps: usize) -> RunStats {
    let mut gens: Vec<Generator> = cfgs.iter().map(|c| Generator::new(c).unwrap()).collect();
    let start = cfgs[0].start_ns;
    let mut paths: Vec<Option<LatentPath>> = cfgs.iter().map(|c| c.latent.map(|l| LatentPath::new(l.path))).collect();
    let mut stats = RunStats::default();
    let total = steps * gens.len();
    for _ in 0..total {
        let next = (0..gens.len()).min_by_key(|&i| (gens[i].clock_ns(), i)).unwrap();
        gens[next].step();
        stats.samples += 1;
        // Each venue's lagged latent price at its last step, and its top.
        let seen: Vec<Option<i64>> = gens
            .iter()
            .zip(cfgs)
            .zip(paths.iter_mut())
            .map(|((g, c), p)| {
                let (l, p) = (c.latent?, p.as_mut()?);
                Some(p.price_at(g.clock_ns() - start - l.lag_ns))
            })
            .collect();
        let tops: Vec<(Option<i64>, Option<i64>)> = gens.iter().map(Generator::top_units).collect();
        let dislocated = cfgs.iter().position(|c| c.latent.and_then(|l| l.dislocation).is_some());
        let in_window = dislocated.is_some_and(|k| {
            let d = cfgs[k].latent.unwrap().dislocation.unwrap();
            d.offset_at(gens[k].clock_ns() - start) != 0
        });
        stats.in_dislocation += usize::from(in_window);
        let mut crossed = false;
        for (a, top_a) in tops.iter().enumerate() {
            for (b, top_b) in tops.iter().enumerate() {
                let (Some(bid), Some(ask)) = (top_a.0, top_b.1) else { continue };
                if a == b || bid < ask {
                    continue;
                }
                crossed = true;
                if let (Some(la), Some(lb)) = (seen[a], seen[b]) {
                    let (fa, fb) = (cfgs[a].latent.unwrap(), cfgs[b].latent.unwrap());
                    let room = fa.half_spread_units + fb.half_spread_units - fa.noise_units - fb.noise_units;
                    if la - lb < room && !in_window {
                        stats.crossed_without_lag += 1;
                    }
                }
            }
        }
        stats.crossed += usize::from(crossed);
        stats.crossed_in_dislocation += usize::from(crossed && in_window);
        for (i, (g, c)) in gens.iter().zip(cfgs).enumerate() {
            let (Some(l), Some(latent), (Some(bid), Some(ask))) = (c.latent, seen[i], tops[i]) else { continue };
            let jump = l.dislocation.map_or(0, |d| d.offset_at(g.clock_ns() - start));
            let dev = ((bid + ask) as f64 / 2.0 - (latent + jump) as f64).abs();
            stats.abs_dev_sum[i] += dev;
            let bound = (l.noise_units + l.half_spread_units + 3 * g.tick_units()) as f64;
            stats.tracked[i] += usize::from(dev <= bound);
        }
    }
    stats
}

#[test]
fn venues_following_one_latent_price_are_rarely_crossed_and_only_when_their_lagged_views_differ() {
    let steps = 4_000;
    let latent = run(&configs(5, steps, true), steps);
    let fraction = latent.crossed as f64 / latent.samples as f64;
    eprintln!("latent: {latent:?} crossed fraction {fraction:.4}");
    assert!(fraction < 0.01, "stated bound: under 1% of samples crossed, got {fraction:.4}");
    assert_eq!(latent.crossed_without_lag, 0, "every cross comes from the lag between the venues' views");

    let walks = run(&configs(5, steps, false), steps);
    let walks_fraction = walks.crossed as f64 / walks.samples as f64;
    eprintln!("independent walks: crossed fraction {walks_fraction:.4}");
    assert!(walks_fraction > 0.5, "independent walks are crossed most of the time: {walks_fraction:.4}");
}

#[test]
fn in_a_fast_market_the_crosses_that_happen_all_come_from_a_venue_that_has_not_caught_up() {
    let steps = 4_000;
    let mut cfgs = configs(6, steps, true);
    for c in &mut cfgs {
        // Four times the default volatility: the lag (and the 100 ms between a venue's updates)
        // now sometimes exceeds the room the spreads leave.
        c.latent = c.latent.map(|mut l| {
            l.path.step_units *= 4;
            l
        });
    }
    let stats = run(&cfgs, steps);
    let fraction = stats.crossed as f64 / stats.samples as f64;
    eprintln!("fast latent: {stats:?} crossed fraction {fraction:.4}");
    assert!(stats.crossed > 0, "the fast market does cross sometimes");
    assert!(fraction < 0.15, "stated bound: under 15% of samples crossed, got {fraction:.4}");
    assert_eq!(stats.crossed_without_lag, 0, "every cross comes from the lag between the venues' views");
}

#[test]
fn each_venues_mid_tracks_the_latent_price_it_sees_within_its_noise_and_spread() {
    let steps = 4_000;
    let stats = run(&configs(8, steps, true), steps);
    for (i, venue) in VENUES.iter().enumerate() {
        let fraction = stats.tracked[i] as f64 / stats.samples as f64;
        let mean_dev = stats.abs_dev_sum[i] / stats.samples as f64 / (UNITS_PER_DOLLAR / 100) as f64;
        eprintln!("{venue:?}: within bound {fraction:.4}, mean |mid - latent| {mean_dev:.2} cents");
        assert!(
            stats.tracked[i] as f64 >= 0.95 * stats.samples as f64,
            "{venue:?}: mid within noise + half spread + 3 ticks in only {} of {} samples",
            stats.tracked[i],
            stats.samples
        );
    }
}

#[test]
fn an_injected_dislocation_crosses_the_consolidated_book_for_its_duration_only() {
    let steps = 3_000;
    let mut cfgs = configs(21, steps, true);
    let dollar = UNITS_PER_DOLLAR;
    let jump = Dislocation { start_ns: 100_000_000_000, duration_ns: 20_000_000_000, units: 3 * dollar };
    cfgs[2].latent = cfgs[2].latent.map(|l| l.with_dislocation(jump));
    let stats = run(&cfgs, steps);
    eprintln!("dislocation: {stats:?}");
    assert!(stats.in_dislocation > 200, "the window is sampled: {}", stats.in_dislocation);
    let inside = stats.crossed_in_dislocation as f64 / stats.in_dislocation as f64;
    assert!(inside > 0.95, "crossed in {inside:.3} of the window");
    let outside = (stats.crossed - stats.crossed_in_dislocation) as f64 / (stats.samples - stats.in_dislocation) as f64;
    assert!(outside < 0.03, "outside the window crossed {outside:.4}");
    assert_eq!(stats.crossed_without_lag, 0);
}

#[test]
fn a_latent_market_is_byte_for_byte_deterministic_for_a_seed_and_differs_for_another() {
    for venue in VENUES {
        let cfg = SyntheticConfig { steps: 500, gap_rate: 0.02, ..SyntheticConfig::new(venue, 3) }.with_latent(77);
        let a = generate(&cfg).unwrap();
        assert_eq!(a.recording, generate(&cfg).unwrap().recording, "{venue:?}");
        let other = SyntheticConfig { latent: None, ..cfg.clone() }.with_latent(78);
        assert_ne!(a.recording, generate(&other).unwrap().recording, "{venue:?}");
    }
}

#[test]
fn a_latent_feed_with_a_negative_lag_spread_or_step_is_refused() {
    let base = SyntheticConfig::new(Venue::Coinbase, 1).with_latent(1);
    let mut bad = Vec::new();
    for edit in [
        |l: &mut wintermute_feeds::synthetic::latent::LatentFeed| l.lag_ns = -1,
        |l: &mut wintermute_feeds::synthetic::latent::LatentFeed| l.half_spread_units = -1,
        |l: &mut wintermute_feeds::synthetic::latent::LatentFeed| l.path.step_ns = 0,
    ] {
        let mut cfg = base.clone();
        edit(cfg.latent.as_mut().unwrap());
        bad.push(Generator::new(&cfg).unwrap_err().to_string());
    }
    assert!(bad[0].contains("latent") && bad[2].contains("latent.path"), "{bad:?}");
    assert!(Generator::new(&base).is_ok());
}
