//! Other participants on our venue (`wintermute_mm::participants`), run against the real
//! matching engine: the same seed gives the same commands; informed takers' trades are followed
//! by a latent-price move in their direction (a positive markout, the adverse selection a market
//! maker must see), noise takers' are not; makers keep the book around the latent price; bad
//! configurations are refused.

use wintermute_core::{Command, Event, InstrumentSpec, OrderBook, Side};
use wintermute_feeds::synthetic::latent::{LatentParams, LatentPath};
use wintermute_mm::participants::{
    run_on_book, LatentPrice, LatentTicks, ParticipantKind, Participants, ParticipantsConfig, ParticipantsError,
    TimedCommand,
};

const START: i64 = 1_700_000_000_000_000_000;

fn spec() -> InstrumentSpec {
    InstrumentSpec::from_decimals("BTC-USD", "0.01", "1", "1", "1000", "1", "1000000").unwrap()
}

/// The synthetic market's latent path, sped up (8 cents per 10 ms step) so that a minute of
/// simulated time has plenty of moves, on a 0.01 grid.
fn latent(seed: u64) -> LatentTicks {
    let params = LatentParams { step_units: 8_000_000, ..LatentParams::new(seed) };
    LatentTicks::new(LatentPath::new(params), START, 1_000_000).unwrap()
}

fn commands(seed: u64, seconds: i64) -> Vec<TimedCommand> {
    let mut p = Participants::new(ParticipantsConfig::new(seed, START), &spec(), latent(seed)).unwrap();
    let mut book = OrderBook::new(spec());
    let mut out = Vec::new();
    run_on_book(&mut p, &mut book, START + seconds * 1_000_000_000, |c, _| out.push(*c));
    out
}

#[test]
fn the_same_seed_gives_the_same_commands_and_another_seed_others() {
    let a = commands(3, 20);
    assert!(a.len() > 500, "a busy market: {} commands", a.len());
    assert_eq!(a, commands(3, 20));
    assert_ne!(a, commands(4, 20));
    assert!(a.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns), "commands come in time order");
}

/// Per taker order: the signed latent move from the trade to `horizon` later, in ticks.
fn taker_moves(seed: u64, seconds: i64, horizon_ns: i64) -> (Vec<f64>, Vec<f64>) {
    let mut p = Participants::new(ParticipantsConfig::new(seed, START), &spec(), latent(seed)).unwrap();
    let mut book = OrderBook::new(spec());
    let mut taken = Vec::new();
    run_on_book(&mut p, &mut book, START + seconds * 1_000_000_000, |c, events| {
        let traded = events.iter().any(|e| matches!(e, Event::Trade { .. }));
        if let (Command::New(order), true) = (c.command, traded) {
            taken.push((c.kind, c.ts_ns, order.side));
        }
    });
    let mut path = latent(seed);
    let mut later = latent(seed);
    let (mut informed, mut noise) = (Vec::new(), Vec::new());
    for (kind, ts, side) in taken {
        let sign = if side == Side::Buy { 1.0 } else { -1.0 };
        let moved = sign * (later.ticks_at(ts + horizon_ns) - path.ticks_at(ts)) as f64;
        match kind {
            ParticipantKind::Informed => informed.push(moved),
            ParticipantKind::Noise => noise.push(moved),
            ParticipantKind::Maker(_) => {}
        }
    }
    (informed, noise)
}

/// Mean and the half width of its 99% confidence interval (normal approximation).
fn mean_ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 2.576 * (var / n).sqrt())
}

#[test]
fn informed_takers_trades_are_followed_by_a_move_their_way_and_noise_takers_are_not() {
    let horizon = ParticipantsConfig::new(0, 0).informed.unwrap().horizon_ns;
    let (informed, noise) = taker_moves(11, 600, horizon);
    let (im, ici) = mean_ci(&informed);
    let (nm, nci) = mean_ci(&noise);
    eprintln!(
        "informed: n={} mean {im:.2} +/- {ici:.2} ticks; noise: n={} mean {nm:.2} +/- {nci:.2}",
        informed.len(),
        noise.len()
    );
    assert!(informed.len() > 100 && noise.len() > 1_000, "enough trades: {} {}", informed.len(), noise.len());
    assert!(im - ici > 0.0, "informed takers' markout is positive: {im:.2} +/- {ici:.2}");
    assert!(nm.abs() <= nci, "noise takers' markout is 0 within its 99% CI: {nm:.2} +/- {nci:.2}");
}

#[test]
fn other_makers_keep_the_book_around_the_latent_price() {
    let mut p = Participants::new(ParticipantsConfig::new(5, START), &spec(), latent(5)).unwrap();
    let mut book = OrderBook::new(spec());
    let mut path = latent(5);
    let (mut checks, mut around) = (0, 0);
    for second in 1..=120 {
        let t = START + second * 1_000_000_000;
        run_on_book(&mut p, &mut book, t, |_, _| {});
        let fair = path.ticks_at(t);
        let (bid, ask) = (book.best_bid().unwrap().0, book.best_ask().unwrap().0);
        assert!(bid < ask);
        checks += 1;
        // The makers quote 2..=4 ticks around the latent price as of their last look (10 ms ago
        // at most); takers may have eaten the inner quotes since.
        around += usize::from(bid <= fair && ask >= fair && ask - bid <= 20);
    }
    assert!(around * 10 >= checks * 9, "book around the latent price in {around} of {checks} checks");
}

#[test]
fn bad_configurations_are_refused_with_the_field() {
    let base = ParticipantsConfig::new(1, START);
    let mut zero_rate = base;
    zero_rate.noise.as_mut().unwrap().rate_per_s = 0.0;
    let mut big = base;
    big.informed.as_mut().unwrap().qty = 5_000;
    let mut no_spread = base;
    no_spread.makers.as_mut().unwrap().half_spread_ticks = 0;
    for (cfg, field) in [(zero_rate, "noise.rate_per_s"), (big, "informed.qty"), (no_spread, "makers")] {
        match Participants::new(cfg, &spec(), latent(1)) {
            Err(ParticipantsError::Config { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a config error for {field}, got {other:?}"),
        }
    }
    assert!(LatentTicks::new(LatentPath::new(LatentParams::new(1)), 0, 0).is_err());
}
