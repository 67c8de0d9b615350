//! The L2 queue estimators against a true FIFO: a level of other traders' orders that join at
//! the back, cancel anywhere and trade from the front, with our order somewhere in it. The
//! estimators see only what an L2 feed shows (the level's total and the trades); the truth is
//! the sum of the orders ahead of ours (what the engine's `queue_position` reports on our venue).

use proptest::prelude::*;
use wintermute_mm::queue::{fill_probability, ExactQueue, QueueErrorStats, QueueModel, QueuePosition};

/// A small deterministic generator (xorshift64*), so a seeded run is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One FIFO level with our order at index `ours` of `orders` (others' sizes around it).
struct Level {
    ahead: Vec<i64>,
    behind: Vec<i64>,
}

impl Level {
    fn others(&self) -> i64 {
        self.ahead.iter().sum::<i64>() + self.behind.iter().sum::<i64>()
    }

    fn true_ahead(&self) -> i64 {
        self.ahead.iter().sum()
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Join(i64),
    Cancel(u64),
    Trade(i64),
}

fn step(rng: &mut Rng) -> Step {
    match rng.below(10) {
        0..=3 => Step::Join(1 + rng.below(5) as i64),
        4..=7 => Step::Cancel(rng.next()),
        _ => Step::Trade(1 + rng.below(4) as i64),
    }
}

/// Runs one episode: we join a level of `initial` orders, then `steps` happen; each model's
/// estimate is compared with the truth after every step. Returns whether we were reached.
fn episode(
    initial: &[i64],
    steps: &[Step],
    models: &[QueueModel],
    stats: &mut [QueueErrorStats],
    mut check: impl FnMut(&QueueModel, f64, i64),
) -> bool {
    let mut level = Level { ahead: initial.to_vec(), behind: Vec::new() };
    let mut positions: Vec<QueuePosition> = models.iter().map(|m| m.on_join(level.others())).collect();
    let mut exact = ExactQueue::new(level.true_ahead());
    for s in steps {
        let prev = level.others();
        match *s {
            Step::Join(q) => level.behind.push(q),
            Step::Cancel(pick) => {
                let n = level.ahead.len() + level.behind.len();
                if n == 0 {
                    continue;
                }
                let i = (pick % n as u64) as usize;
                if i < level.ahead.len() {
                    level.ahead.remove(i);
                } else {
                    level.behind.remove(i - level.ahead.len());
                }
            }
            Step::Trade(q) => {
                let mut left = q;
                while left > 0 {
                    let Some(front) = level.ahead.first_mut() else {
                        // The trade reached us: the order fills, the episode ends.
                        for (m, p) in models.iter().zip(positions.iter_mut()) {
                            m.on_trade(p, q);
                        }
                        return true;
                    };
                    let take = left.min(*front);
                    *front -= take;
                    left -= take;
                    if *front == 0 {
                        level.ahead.remove(0);
                    }
                }
                for (m, p) in models.iter().zip(positions.iter_mut()) {
                    m.on_trade(p, q);
                }
            }
        }
        let new = level.others();
        exact.update(level.true_ahead());
        for ((m, p), st) in models.iter().zip(positions.iter_mut()).zip(stats.iter_mut()) {
            if new != prev || matches!(s, Step::Trade(_)) {
                m.on_level_change(p, prev, new);
            }
            st.record_position(p.ahead(), exact.ahead());
            check(m, p.ahead(), exact.ahead());
        }
    }
    false
}

proptest! {
    #[test]
    fn the_risk_averse_estimate_never_falls_below_the_true_queue(
        seed in 1u64..u64::MAX,
        initial in proptest::collection::vec(1i64..6, 0..8),
        n in 1usize..200,
    ) {
        let mut rng = Rng(seed);
        let steps: Vec<Step> = (0..n).map(|_| step(&mut rng)).collect();
        let mut stats = [QueueErrorStats::new(256)];
        let mut worst = f64::INFINITY;
        episode(&initial, &steps, &[QueueModel::RiskAverse], &mut stats, |_, est, truth| {
            worst = worst.min(est - truth as f64);
        });
        prop_assert!(worst >= -1e-9, "risk-averse estimate fell {} below the truth", -worst);
    }
}

#[test]
fn with_cancels_anywhere_the_probabilistic_models_track_the_truth_closer_than_risk_averse() {
    let models = [QueueModel::RiskAverse, QueueModel::power(2.0).unwrap(), QueueModel::log()];
    let names = ["risk-averse", "power(2)", "log"];
    let mut stats: Vec<QueueErrorStats> = models.iter().map(|_| QueueErrorStats::new(1 << 20)).collect();
    let mut calibration = QueueErrorStats::new(0);
    let mut rng = Rng(0x5eed);
    for _ in 0..2_000 {
        let initial: Vec<i64> = (0..rng.below(10)).map(|_| 1 + rng.below(5) as i64).collect();
        let steps: Vec<Step> = (0..60).map(|_| step(&mut rng)).collect();
        let ahead: i64 = initial.iter().sum();
        // Expected traded volume over the 60 steps: 0.2 trades a step of 2.5 lots on average.
        let predicted = fill_probability(ahead as f64, 60.0 * 0.2 * 2.5);
        let filled = episode(&initial, &steps, &models, &mut stats, |_, _, _| {});
        calibration.record_outcome(predicted, filled);
    }
    let mut means = Vec::new();
    for (name, st) in names.iter().zip(stats.iter_mut()) {
        let mean = st.mean_abs_error().unwrap();
        let p90 = st.p90_abs_error().unwrap();
        eprintln!("{name}: mean |error| {mean:.3} lots, p90 {p90:.3} lots over {} samples", st.samples());
        means.push(mean);
    }
    for (i, c) in calibration.calibration().iter().enumerate() {
        if c.count > 0 {
            eprintln!("decile {i}: n={} predicted {:.2} realized {:.2}", c.count, c.mean_predicted, c.realized_rate);
        }
    }
    assert!(means[1] < means[0] && means[2] < means[0], "{means:?}");
}
