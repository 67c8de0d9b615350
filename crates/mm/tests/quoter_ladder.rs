//! The quoter's ladder and its requote rules, against prices worked out by hand in each test.

use wintermute_mm::config::QuotingConfig;
use wintermute_mm::models::{AvellanedaStoikov, FixedSpread, Glft, Intensity, QuoteModel};
use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
use wintermute_mm::quoter::{Decision, QuoteContext, Quoter, QuoterError, RequoteReason};
use wintermute_mm::types::{Level, Side, Top};

const MS: i64 = 1_000_000;
const BUY: Side = Side::Buy;
const SELL: Side = Side::Sell;

fn quoting(levels: usize, sizes: &[i64]) -> QuotingConfig {
    QuotingConfig {
        levels,
        sizes_lots: sizes.to_vec(),
        level_spacing_ticks: 2,
        min_spread_ticks: 2,
        max_spread_ticks: 20,
        max_inventory_lots: 50,
        inventory_unit_lots: 10,
        requote_threshold_ticks: 1.0,
        requote_interval_ms: 1000,
    }
}

fn fixed(half: f64, skew: f64) -> QuoteModel {
    QuoteModel::Fixed(FixedSpread { half_spread: half, skew_per_unit: skew })
}

fn ctx(now_ns: i64, fv: f64, inventory: i64) -> QuoteContext {
    let i = Intensity { a: 1.0, k: 1.5 };
    QuoteContext {
        now_ns,
        fair_value: Some(fv),
        inventory_lots: inventory,
        sigma: 2.0,
        bid_intensity: i,
        ask_intensity: i,
        our_top: None,
    }
}

fn place(side: Side, level: u8, price: i64, qty: i64) -> QuoteAction {
    QuoteAction::Place { side, level, price, qty }
}

fn cancel(side: Side, level: u8, price: i64) -> QuoteAction {
    QuoteAction::Cancel { side, level, price }
}

/// One decision from a fresh one-level quoter (size 10): its actions.
fn first_quote(model: QuoteModel, c: QuoteContext) -> Vec<QuoteAction> {
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    assert_eq!(q.decide(&c, &model, &mut out), Ok(Decision::Requoted(RequoteReason::First)));
    out.as_slice().to_vec()
}

#[test]
fn quotes_sit_the_half_spread_around_the_fair_value_and_move_with_it() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [place(BUY, 0, 98, 10), place(SELL, 0, 102, 10)]);
    // The fair value moves 5 ticks up: both quotes follow, cancels first.
    assert_eq!(q.decide(&ctx(MS, 105.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::FairValueMoved)));
    assert_eq!(
        out.as_slice(),
        [cancel(BUY, 0, 98), cancel(SELL, 0, 102), place(BUY, 0, 103, 10), place(SELL, 0, 107, 10)]
    );
    assert_eq!(q.resting(BUY, 0), Some(Level { price: 103, qty: 10 }));
}

#[test]
fn long_inventory_lowers_both_quotes_and_short_inventory_raises_them() {
    // Half-spread 2, skew 0.5 tick per quote unit (10 lots): ±20 lots is q = ±2, a 1-tick shift.
    let model = fixed(2.0, 0.5);
    assert_eq!(first_quote(model, ctx(0, 100.0, 0)), [place(BUY, 0, 98, 10), place(SELL, 0, 102, 10)]);
    assert_eq!(first_quote(model, ctx(0, 100.0, 20)), [place(BUY, 0, 97, 10), place(SELL, 0, 101, 10)]);
    assert_eq!(first_quote(model, ctx(0, 100.0, -20)), [place(BUY, 0, 99, 10), place(SELL, 0, 103, 10)]);
}

#[test]
fn prices_round_away_from_the_touch() {
    // fv 100.5, half-spread 2.3: 98.2 rounds down to 98, 102.8 up to 103.
    assert_eq!(first_quote(fixed(2.3, 0.0), ctx(0, 100.5, 0)), [place(BUY, 0, 98, 10), place(SELL, 0, 103, 10)]);
}

#[test]
fn the_spread_is_held_within_its_min_and_max_around_the_models_centre() {
    // Half-spread 0.2 -> spread 0.4 < min 2: 100 ± 1. Half-spread 50 -> spread 100 > max 20: 100 ± 10.
    assert_eq!(first_quote(fixed(0.2, 0.0), ctx(0, 100.0, 0)), [place(BUY, 0, 99, 10), place(SELL, 0, 101, 10)]);
    assert_eq!(first_quote(fixed(50.0, 0.0), ctx(0, 100.0, 0)), [place(BUY, 0, 90, 10), place(SELL, 0, 110, 10)]);
}

#[test]
fn a_skewed_quote_never_crosses_the_fair_value() {
    // Long 20 lots (q = 2) with skew 6: centre 88, quotes 86 / 90; the ask is held at 101, one
    // tick above the fair value, so we never offer below what we think it is worth.
    assert_eq!(first_quote(fixed(2.0, 6.0), ctx(0, 100.0, 20)), [place(BUY, 0, 86, 10), place(SELL, 0, 101, 10)]);
    // Same short: the bid is held at 99.
    assert_eq!(first_quote(fixed(2.0, 6.0), ctx(0, 100.0, -20)), [place(BUY, 0, 99, 10), place(SELL, 0, 114, 10)]);
}

#[test]
fn quotes_never_cross_our_venues_own_top() {
    // Our venue's ask is at 97, below our 98 bid: the bid drops to 96 (it rests, never takes).
    let mut c = ctx(0, 100.0, 0);
    c.our_top = Some(Top { bid: Level { price: 95, qty: 3 }, ask: Level { price: 97, qty: 3 }, ts_ns: 0 });
    assert_eq!(first_quote(fixed(2.0, 0.0), c), [place(BUY, 0, 96, 10), place(SELL, 0, 102, 10)]);
}

#[test]
fn levels_step_away_by_the_spacing_with_their_own_sizes() {
    let mut q = Quoter::new(&quoting(3, &[1, 2, 3])).unwrap();
    let mut out = ActionBuffer::for_levels(3);
    q.decide(&ctx(0, 100.0, 0), &fixed(2.0, 0.0), &mut out).unwrap();
    assert_eq!(
        out.as_slice(),
        [
            place(BUY, 0, 98, 1),
            place(BUY, 1, 96, 2),
            place(BUY, 2, 94, 3),
            place(SELL, 0, 102, 1),
            place(SELL, 1, 104, 2),
            place(SELL, 2, 106, 3)
        ]
    );
}

#[test]
fn the_side_that_would_grow_inventory_past_the_max_is_cut_then_stops() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(2, &[10, 10])).unwrap();
    let mut out = ActionBuffer::for_levels(2);
    // Inventory 45, max 50: the bids may add 5 lots: level 0 is cut to 5, level 1 not quoted.
    q.decide(&ctx(0, 100.0, 45), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [place(BUY, 0, 98, 5), place(SELL, 0, 102, 10), place(SELL, 1, 104, 10)]);
    // At the max, a fill on the bid (reported) leaves no room: the bid is cancelled.
    q.on_fill(BUY, 0, 5).unwrap();
    q.decide(&ctx(MS, 100.0, 50), &model, &mut out).unwrap();
    assert!(out.as_slice().is_empty(), "the filled slot is already empty: {:?}", out.as_slice());
    assert_eq!(q.resting(BUY, 0), None);
    // Short at the max: no asks at all.
    let mut short = Quoter::new(&quoting(2, &[10, 10])).unwrap();
    short.decide(&ctx(0, 100.0, -50), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [place(BUY, 0, 98, 10), place(BUY, 1, 96, 10)]);
}

#[test]
fn a_fair_value_move_within_the_threshold_sends_nothing() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    // Threshold 1 tick: 100.9 and 99.0 (exactly 1.0 away) are not "past" it.
    for (t, fv) in [(1, 100.9), (2, 99.0), (3, 100.4)] {
        assert_eq!(q.decide(&ctx(t * MS, fv, 0), &model, &mut out), Ok(Decision::Held));
        assert!(out.is_empty());
    }
    // 101.1 is past it (measured from 100, the fair value of the last requote).
    assert_eq!(
        q.decide(&ctx(4 * MS, 101.1, 0), &model, &mut out),
        Ok(Decision::Requoted(RequoteReason::FairValueMoved))
    );
    assert_eq!(out.len(), 4);
}

#[test]
fn the_timer_requotes_and_an_unchanged_ladder_sends_nothing() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    assert_eq!(q.decide(&ctx(999 * MS, 100.0, 0), &model, &mut out), Ok(Decision::Held));
    assert_eq!(q.decide(&ctx(1000 * MS, 100.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::Timer)));
    assert!(out.is_empty());
}

#[test]
fn a_partial_fill_is_topped_up_with_an_amend_not_a_cancel_and_new() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    q.on_fill(BUY, 0, 4).unwrap();
    assert_eq!(q.resting(BUY, 0), Some(Level { price: 98, qty: 6 }));
    assert_eq!(q.decide(&ctx(MS, 100.0, 4), &model, &mut out), Ok(Decision::Requoted(RequoteReason::Fill)));
    assert_eq!(out.as_slice(), [QuoteAction::Amend { side: BUY, level: 0, price: 98, qty: 10 }]);
}

#[test]
fn nearing_the_inventory_limit_shrinks_a_level_with_an_amend_down() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    // The inventory is now 43 (bought elsewhere, say a hedge): room for 7 more lots. The
    // timer requotes at the same prices; only the bid's size changes.
    assert_eq!(q.decide(&ctx(1000 * MS, 100.0, 43), &model, &mut out), Ok(Decision::Requoted(RequoteReason::Timer)));
    assert_eq!(out.as_slice(), [QuoteAction::Amend { side: BUY, level: 0, price: 98, qty: 7 }]);
}

#[test]
fn without_a_fair_value_every_resting_quote_is_pulled_and_comes_back_after() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    let mut none = ctx(MS, 100.0, 0);
    none.fair_value = None;
    assert_eq!(q.decide(&none, &model, &mut out), Ok(Decision::Pulled));
    assert_eq!(out.as_slice(), [cancel(BUY, 0, 98), cancel(SELL, 0, 102)]);
    assert_eq!(q.decide(&ctx(2 * MS, 100.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::First)));
    assert_eq!(out.as_slice(), [place(BUY, 0, 98, 10), place(SELL, 0, 102, 10)]);
}

#[test]
fn avellaneda_stoikov_quotes_round_the_hand_computed_prices_onto_the_grid() {
    // As in models::avellaneda_stoikov's test: s = 100, γ = 0.1, σ = 2, k = 1.5, T − t = 10 s,
    // γσ²(T−t) = 4, half-spread 2.6453852114.
    // Short 5 lots (q = −0.5): r = 100 + 0.5·4 = 102 -> bid 99.3546 -> 99, ask 104.6454 -> 105.
    let model = QuoteModel::AvellanedaStoikov(AvellanedaStoikov { gamma: 0.1, session_s: 60.0 });
    assert_eq!(first_quote(model, ctx(50_000 * MS, 100.0, -5)), [place(BUY, 0, 99, 10), place(SELL, 0, 105, 10)]);
    // Long 20 lots (q = 2): r = 92 -> bid 89.3546 -> 89; the ask 94.6454 is below the fair value
    // and is held at 101.
    assert_eq!(first_quote(model, ctx(50_000 * MS, 100.0, 20)), [place(BUY, 0, 89, 10), place(SELL, 0, 101, 10)]);
}

#[test]
fn glft_quotes_round_the_hand_computed_prices_onto_the_grid() {
    // As in models::glft's flat symmetric test (A = 2 /s, k = 0.5 /tick, σ = 2, γ = 0.1):
    // 97.7904 and 102.2096 -> 97 and 103.
    let mut c = ctx(0, 100.0, 0);
    c.bid_intensity = Intensity { a: 2.0, k: 0.5 };
    c.ask_intensity = Intensity { a: 2.0, k: 0.5 };
    assert_eq!(first_quote(QuoteModel::Glft(Glft { gamma: 0.1 }), c), [place(BUY, 0, 97, 10), place(SELL, 0, 103, 10)]);
}

#[test]
fn a_buffer_too_small_is_an_error_and_changes_nothing() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(2, &[10, 10])).unwrap();
    let mut small = ActionBuffer::with_capacity(7);
    assert_eq!(
        q.decide(&ctx(0, 100.0, 0), &model, &mut small),
        Err(QuoterError::BufferTooSmall { capacity: 7, needed: 8 })
    );
    assert_eq!(q.resting(BUY, 0), None);
    let mut out = ActionBuffer::for_levels(2);
    assert_eq!(q.decide(&ctx(0, 100.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::First)));
}

#[test]
fn a_fill_for_a_level_beyond_the_ladder_is_an_error() {
    let mut q = Quoter::new(&quoting(2, &[10, 10])).unwrap();
    assert_eq!(q.on_fill(SELL, 2, 1), Err(QuoterError::NoSuchLevel { level: 2, levels: 2 }));
}

#[test]
fn a_pull_cancels_every_resting_slot_and_the_next_decision_quotes_afresh() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(2, &[10, 10])).unwrap();
    let mut out = ActionBuffer::for_levels(2);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    assert_eq!(
        q.pull(&mut ActionBuffer::with_capacity(3)),
        Err(QuoterError::BufferTooSmall { capacity: 3, needed: 8 })
    );
    assert_eq!(q.resting(SELL, 1), Some(Level { price: 104, qty: 10 }), "a refused pull changes nothing");
    q.pull(&mut out).unwrap();
    assert_eq!(out.as_slice(), [cancel(BUY, 0, 98), cancel(BUY, 1, 96), cancel(SELL, 0, 102), cancel(SELL, 1, 104)]);
    assert_eq!(q.decide(&ctx(MS, 100.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::First)));
    assert_eq!(out.len(), 4);
}

#[test]
fn an_order_gone_without_a_fill_is_placed_again_on_the_next_decision() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    q.on_order_gone(SELL, 0);
    assert_eq!(q.decide(&ctx(MS, 100.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::OrderGone)));
    assert_eq!(out.as_slice(), [place(SELL, 0, 102, 10)]);
}

#[test]
fn an_amended_quantity_the_venue_reports_is_what_the_slot_rests_and_forces_a_requote_that_amends_it_back() {
    let model = fixed(2.0, 0.0);
    let mut q = Quoter::new(&quoting(1, &[10])).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    // The venue says the bid rests 4 lots (an amend whose answer was lost, settled).
    assert!(q.on_amended(BUY, 0, 4));
    assert_eq!(q.resting(BUY, 0), Some(Level { price: 98, qty: 4 }));
    assert!(!q.on_amended(BUY, 0, 4), "the same quantity again changes nothing");
    assert!(!q.on_amended(BUY, 3, 4), "no such slot");
    // The correction forces a requote at the next decision (not the timer's, 2 s on): it moves
    // the slot back onto the ladder with one amend.
    assert_eq!(
        q.decide(&ctx(MS, 100.0, 0), &model, &mut out),
        Ok(Decision::Requoted(RequoteReason::QuantityCorrected))
    );
    assert_eq!(out.as_slice(), [QuoteAction::Amend { side: BUY, level: 0, price: 98, qty: 10 }]);
    // Once: the next decision holds.
    assert_eq!(q.decide(&ctx(2 * MS, 100.0, 0), &model, &mut out), Ok(Decision::Held));
}

#[test]
fn a_moved_quote_waits_for_its_cancel_at_the_limit_and_comes_back_when_it_is_confirmed() {
    // One level of 10 lots, a limit of 10: moving the bid cancels the old one, but until the
    // venue confirms the cancel the old bid may still fill, so no new bid yet.
    let mut cfg = quoting(1, &[10]);
    cfg.max_inventory_lots = 10;
    let mut q = Quoter::new(&cfg).unwrap();
    let model = fixed(2.0, 0.0);
    let mut out = ActionBuffer::for_levels(1);
    q.decide(&ctx(0, 100.0, 0), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [place(Side::Buy, 0, 98, 10), place(Side::Sell, 0, 102, 10)]);
    assert!(!q.cut_short());
    q.decide(&ctx(MS, 105.0, 0), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [cancel(Side::Buy, 0, 98), cancel(Side::Sell, 0, 102)]);
    assert_eq!((q.was(Side::Buy, 0), q.resting(Side::Buy, 0)), (10, None));
    assert!(q.cut_short(), "both sides quoted short while their old orders may fill");
    // The canceled orders are in flight (what `InFlight` records); nothing to do until then.
    q.set_in_flight(10, 10);
    q.on_room_freed();
    assert_eq!(q.decide(&ctx(2 * MS, 105.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::RoomFreed)));
    assert!(out.is_empty(), "{:?}", out.as_slice());
    // The bid's cancel is confirmed: the bid comes back, the ask still waits.
    q.set_in_flight(0, 10);
    q.on_room_freed();
    assert_eq!(q.decide(&ctx(3 * MS, 105.0, 0), &model, &mut out), Ok(Decision::Requoted(RequoteReason::RoomFreed)));
    assert_eq!(out.as_slice(), [place(Side::Buy, 0, 103, 10)]);
    assert!(q.cut_short(), "the ask still");
    q.set_in_flight(0, 0);
    q.on_room_freed();
    q.decide(&ctx(4 * MS, 105.0, 0), &model, &mut out).unwrap();
    assert_eq!(out.as_slice(), [place(Side::Sell, 0, 107, 10)]);
    assert!(!q.cut_short());
    // Nothing cut any more: a freed room is no trigger.
    q.on_room_freed();
    assert_eq!(q.decide(&ctx(5 * MS, 105.0, 0), &model, &mut out), Ok(Decision::Held));
}
