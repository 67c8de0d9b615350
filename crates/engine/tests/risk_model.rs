//! Property test: risk's view of orders and positions, fed by a real book's events, agrees at
//! every step with the book itself and with cash-flow arithmetic done independently here.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, OrderBook, Side, StpMode, TimeInForce};
use wintermute_engine::risk::{AccountLimits, FeeRates, ManualClock, RiskEngine};

const ACCOUNTS: u32 = 3;

/// Failing seeds are kept (and replayed first) in the crate's `proptest-regressions/` folder, the
/// one place for them in this workspace (see CONTRIBUTING.md): commit that file.
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/risk_model.txt");

fn command(rng: &mut TestRng, next_id: &mut u64) -> Command {
    match rng.below(10) {
        0..=5 => {
            *next_id += 1;
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let price = 95 + rng.below(11) as i64;
            let qty = 1 + rng.below(20) as i64;
            let mut o = NewOrder::limit(*next_id, rng.below(u64::from(ACCOUNTS)) as u32, side, price, qty);
            o = match rng.below(6) {
                0 => o.with_tif(TimeInForce::Ioc),
                1 => o.with_tif(TimeInForce::Fok),
                2 => o.iceberg(1 + rng.below(qty as u64) as i64),
                3 => o.post_only(),
                _ => o,
            };
            o.stp = [StpMode::None, StpMode::CancelOldest, StpMode::Decrement][rng.below(3) as usize];
            Command::New(o)
        }
        6 | 7 => Command::Cancel { order_id: rng.below(*next_id + 1) },
        8 => Command::Amend {
            order_id: rng.below(*next_id + 1),
            price: (rng.below(2) == 0).then(|| 95 + rng.below(11) as i64),
            qty: Some(1 + rng.below(25) as i64),
        },
        _ => Command::MassCancel { account: Some(rng.below(u64::from(ACCOUNTS)) as u32), side: None },
    }
}

struct TestRng(u64);

impl TestRng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// What a run went through: trades, commands refused by risk, commands refused by the book.
#[derive(Debug, Default)]
struct Stats {
    trades: usize,
    risk_refused: usize,
    book_refused: usize,
}

fn run(seed: u64, steps: usize) -> Result<Stats, TestCaseError> {
    let mut stats = Stats::default();
    let spec = InstrumentSpec::from_units("T", "1", "1", 1, 1_000, 1, 1_000).unwrap();
    let mut risk = RiskEngine::new(ManualClock::new(), 0);
    risk.add_instrument(&spec).unwrap();
    for a in 0..ACCOUNTS {
        risk.set_limits(a, AccountLimits { max_position: 60, max_open_orders: 8, ..AccountLimits::UNLIMITED });
        risk.set_fees(a, FeeRates { maker_ppm: -50, taker_ppm: 300 });
    }
    let mut book = OrderBook::new(spec);
    let (mut rng, mut next_id, mut events) = (TestRng(seed), 0, Vec::new());
    // Cash flow per account, from trade events alone: sells bring cash in, buys take it out.
    let mut cash: HashMap<u32, i128> = HashMap::new();
    for _ in 0..steps {
        let cmd = command(&mut rng, &mut next_id);
        if risk.check(0, &cmd).is_err() {
            stats.risk_refused += 1;
            continue;
        }
        events.clear();
        match book.execute(&cmd, &mut events) {
            Ok(()) => {
                for e in &events {
                    risk.on_event(0, e);
                    if let Event::Trade { maker_account, taker_account, price, qty, aggressor, .. } = *e {
                        stats.trades += 1;
                        let n = i128::from(price) * i128::from(qty);
                        let taker_buys = aggressor == Side::Buy;
                        *cash.entry(taker_account).or_default() += if taker_buys { -n } else { n };
                        *cash.entry(maker_account).or_default() += if taker_buys { n } else { -n };
                    }
                }
            }
            Err(_) => {
                stats.book_refused += 1;
                risk.on_refused(0, &cmd);
            }
        }
        let live = book.snapshot().orders;
        let mut total = 0;
        for a in 0..ACCOUNTS {
            let mine = live.iter().filter(|o| o.account == a);
            let count = mine.clone().count() as u32;
            let buy: i64 = mine.clone().filter(|o| o.side == Side::Buy).map(|o| o.remaining).sum();
            let sell: i64 = mine.filter(|o| o.side == Side::Sell).map(|o| o.remaining).sum();
            prop_assert_eq!(risk.open_orders(a), count, "open orders of account {}", a);
            prop_assert_eq!(risk.open_qty(a, 0), (buy, sell), "open qty of account {}", a);
            let p = risk.position(a, 0).unwrap_or_default();
            prop_assert_eq!(i128::from(p.qty), p.bought - p.sold);
            prop_assert!(p.qty.abs() <= 60, "the worst-case position limit holds for fills");
            // Realized PnL minus the open cost is exactly the cash that moved.
            prop_assert_eq!(p.realized - p.cost, cash.get(&a).copied().unwrap_or(0), "account {}", a);
            total += p.qty;
        }
        prop_assert_eq!(total, 0, "every trade has two sides");
    }
    Ok(stats)
}

#[test]
fn the_stream_exercises_trades_and_both_kinds_of_refusal() {
    let stats = run(1, 2_000).unwrap();
    assert!(stats.trades > 50 && stats.risk_refused > 10 && stats.book_refused > 10, "{stats:?}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn risk_state_matches_the_book_and_the_cash(seed in any::<u64>()) {
        run(seed, 400)?;

    }
}
