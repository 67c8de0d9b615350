//! Properties of every ladder the quoter lays out, over random fair values, inventories, models
//! and requote sequences: the rules of `quoter.rs`'s module docs, checked as invariants.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_mm::config::QuotingConfig;
use wintermute_mm::models::{AvellanedaStoikov, FixedSpread, Glft, Intensity, QuoteModel};
use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
use wintermute_mm::quoter::{Decision, QuoteContext, Quoter};
use wintermute_mm::types::Side;

fn model_strategy() -> impl Strategy<Value = QuoteModel> {
    prop_oneof![
        (0.0..20.0f64, 0.0..5.0f64)
            .prop_map(|(h, s)| QuoteModel::Fixed(FixedSpread { half_spread: h, skew_per_unit: s })),
        (0.001..1.0f64, 1.0..1000.0f64)
            .prop_map(|(g, t)| QuoteModel::AvellanedaStoikov(AvellanedaStoikov { gamma: g, session_s: t })),
        (0.001..1.0f64).prop_map(|g| QuoteModel::Glft(Glft { gamma: g })),
    ]
}

fn config(levels: usize) -> QuotingConfig {
    QuotingConfig {
        levels,
        sizes_lots: (1..=levels as i64).map(|i| 5 * i).collect(),
        level_spacing_ticks: 3,
        min_spread_ticks: 2,
        max_spread_ticks: 60,
        max_inventory_lots: 40,
        inventory_unit_lots: 5,
        requote_threshold_ticks: 0.5,
        requote_interval_ms: 100,
    }
}

const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/quoter_properties.txt");

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_ladder_rests_on_the_right_side_of_the_fair_value_in_order_and_within_the_inventory_limit(
        model in model_strategy(),
        levels in 1usize..5,
        steps in prop::collection::vec((-30.0..30.0f64, -60i64..60, 0.1..10.0f64, 0.05..3.0f64), 1..40),
    ) {
        let cfg = config(levels);
        let mut q = Quoter::new(&cfg).unwrap();
        let mut out = ActionBuffer::for_levels(levels);
        for (i, (fv_move, inventory, sigma, k)) in steps.into_iter().enumerate() {
            let fv = 10_000.0 + fv_move;
            let intensity = Intensity { a: 2.0, k };
            let ctx = QuoteContext {
                now_ns: 1_000_000_000 + i as i64 * 37_000_000,
                fair_value: Some(fv),
                inventory_lots: inventory,
                sigma,
                bid_intensity: intensity,
                ask_intensity: intensity,
                our_top: None,
            };
            let before: Vec<_> = (0..levels).map(|l| (q.resting(Side::Buy, l), q.resting(Side::Sell, l))).collect();
            let decision = q.decide(&ctx, &model, &mut out).unwrap();
            if decision == Decision::Held {
                prop_assert!(out.is_empty());
            }
            // Cancels come before any place or amend.
            let first_other = out.as_slice().iter().position(|a| !matches!(a, QuoteAction::Cancel { .. }));
            if let Some(p) = first_other {
                let later_cancel = out.as_slice()[p..].iter().any(|a| matches!(a, QuoteAction::Cancel { .. }));
                prop_assert!(!later_cancel);
            }
            // An amend keeps the slot's price.
            for a in out.as_slice() {
                if let QuoteAction::Amend { side, level, price, .. } = *a {
                    let was = if side == Side::Buy { before[level as usize].0 } else { before[level as usize].1 };
                    prop_assert_eq!(was.map(|l| l.price), Some(price));
                }
            }
            if decision == Decision::Held {
                continue;
            }
            let (mut bid_total, mut ask_total) = (0, 0);
            let (mut last_bid, mut last_ask) = (i64::MAX, i64::MIN);
            for l in 0..levels {
                if let Some(b) = q.resting(Side::Buy, l) {
                    prop_assert!((b.price as f64) < fv, "bid {} >= fv {}", b.price, fv);
                    prop_assert!(b.price < last_bid);
                    last_bid = b.price;
                    bid_total += b.qty;
                }
                if let Some(a) = q.resting(Side::Sell, l) {
                    prop_assert!((a.price as f64) > fv, "ask {} <= fv {}", a.price, fv);
                    prop_assert!(a.price > last_ask);
                    last_ask = a.price;
                    ask_total += a.qty;
                }
            }
            prop_assert!(inventory + bid_total <= cfg.max_inventory_lots.max(inventory));
            prop_assert!(inventory - ask_total >= (-cfg.max_inventory_lots).min(inventory));
            // Best quotes at least min_spread apart.
            if let (Some(b), Some(a)) = (q.resting(Side::Buy, 0), q.resting(Side::Sell, 0)) {
                prop_assert!(a.price - b.price >= cfg.min_spread_ticks);
            }
        }
    }
}
