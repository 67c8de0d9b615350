//! The book-health interlock (`wintermute_mm::interlock`): quotes are pulled within the same event
//! on a stale, desynced, checksum-failed or crossed reference book, on risk and on the kill
//! switch; they come back only once every cause is cleared; every pull and return is counted per
//! cause with the time pulled. A property test checks the interlock against a from-scratch
//! reference over random event sequences, and a run over the synthetic market shows it pulling on
//! an injected dislocation and nowhere else.

use proptest::prelude::*;
use wintermute_feeds::book::L2Book;
use wintermute_feeds::sync::{FeedEvent, FeedHandler, KrakenBooks, ResyncReason, SyncState};
use wintermute_feeds::synthetic::latent::Dislocation;
use wintermute_feeds::synthetic::{Generator, SyntheticConfig};
use wintermute_feeds::Venue;
use wintermute_mm::interlock::{
    Interlock, InterlockConfig, InterlockError, InterlockEvent, PullCause, Transition, CAUSES,
};
use wintermute_mm::types::{Level, Top, VenueId};

const V0: VenueId = VenueId::External(0);
const V1: VenueId = VenueId::External(1);
const STALE: i64 = 1_000;

fn top(bid: i64, ask: i64) -> Top {
    Top { bid: Level { price: bid, qty: 1 }, ask: Level { price: ask, qty: 1 }, ts_ns: 0 }
}

/// Two venues, both live with uncrossed books at time 10: quoting allowed.
fn live_pair(threshold: i64) -> Interlock {
    let cfg = InterlockConfig { venues: 2, stale_after_ns: STALE, cross_threshold_ticks: threshold };
    let mut lock = Interlock::new(cfg, 0).unwrap();
    assert!(!lock.quoting_allowed(), "starts pulled: nothing is live");
    for v in [V0, V1] {
        lock.on_sync_state(v, 10, SyncState::Live).unwrap();
        lock.on_book(v, 10, top(100, 102)).unwrap();
    }
    assert!(lock.quoting_allowed());
    lock
}

fn pull(ts_ns: i64, cause: PullCause, venue: Option<VenueId>) -> Option<InterlockEvent> {
    Some(InterlockEvent { ts_ns, transition: Transition::Pull, cause, venue })
}

fn ret(ts_ns: i64, cause: PullCause, venue: Option<VenueId>) -> Option<InterlockEvent> {
    Some(InterlockEvent { ts_ns, transition: Transition::Return, cause, venue })
}

#[test]
fn a_stale_book_pulls_within_the_event_that_notices_it_and_an_update_returns() {
    let mut lock = live_pair(0);
    lock.on_book(V1, 600, top(100, 102)).unwrap();
    // Venue 0 last updated at 10: at 1_011 it is stale, noticed by venue 1's update.
    let event = lock.on_book(V1, 1_011, top(100, 102)).unwrap();
    assert_eq!(event, pull(1_011, PullCause::Stale, Some(V0)));
    assert!(!lock.quoting_allowed());
    assert_eq!(lock.on_book(V0, 1_050, top(100, 102)).unwrap(), ret(1_050, PullCause::Stale, Some(V0)));
    // And on the timer alone.
    assert_eq!(lock.on_timer(2_051), pull(2_051, PullCause::Stale, Some(V0)));
    assert_eq!(lock.stats(2_051).pulls[PullCause::Stale as usize], 2);
}

#[test]
fn a_sequence_gap_pulls_and_quotes_return_only_after_the_resync() {
    let mut lock = live_pair(0);
    let event = lock.on_resync(V1, 50, ResyncReason::Gap).unwrap();
    assert_eq!(event, pull(50, PullCause::SequenceGap, Some(V1)));
    let causes: Vec<_> = lock.venue_causes(V1).unwrap().iter().collect();
    assert_eq!(causes, [PullCause::NotLive, PullCause::SequenceGap]);
    // Venue 0 keeps updating: still pulled.
    assert_eq!(lock.on_book(V0, 60, top(100, 102)).unwrap(), None);
    assert!(!lock.quoting_allowed());
    // The new snapshot: live again.
    assert_eq!(lock.on_sync_state(V1, 70, SyncState::Live).unwrap(), ret(70, PullCause::SequenceGap, Some(V1)));
    assert!(lock.quoting_allowed());
}

#[test]
fn a_checksum_failure_and_a_malformed_frame_pull_with_their_own_cause() {
    for (reason, cause) in
        [(ResyncReason::ChecksumMismatch, PullCause::ChecksumMismatch), (ResyncReason::Malformed, PullCause::Malformed)]
    {
        let mut lock = live_pair(0);
        assert_eq!(lock.on_resync(V0, 20, reason).unwrap(), pull(20, cause, Some(V0)));
        assert_eq!(lock.on_sync_state(V0, 30, SyncState::Resyncing).unwrap(), None, "still resyncing");
        assert_eq!(lock.on_sync_state(V0, 40, SyncState::Live).unwrap(), ret(40, cause, Some(V0)));
    }
}

#[test]
fn a_cross_beyond_the_threshold_pulls_and_a_smaller_one_does_not() {
    let mut lock = live_pair(2);
    // Venue 0's bid 104 against venue 1's ask 102: 2 ticks, not beyond the threshold.
    assert_eq!(lock.on_book(V0, 20, top(104, 106)).unwrap(), None);
    assert!(lock.quoting_allowed());
    // 3 ticks: pulled, within this very update.
    assert_eq!(lock.on_book(V0, 30, top(105, 107)).unwrap(), pull(30, PullCause::Crossed, Some(V0)));
    // Venue 1 catches up: back.
    assert_eq!(lock.on_book(V1, 40, top(104, 106)).unwrap(), ret(40, PullCause::Crossed, Some(V0)));
}

#[test]
fn a_crossed_venue_that_goes_stale_or_resyncs_no_longer_counts_as_crossed_but_as_its_own_cause() {
    let mut lock = live_pair(0);
    assert_eq!(lock.on_book(V0, 20, top(110, 112)).unwrap(), pull(20, PullCause::Crossed, Some(V0)));
    assert_eq!(lock.on_resync(V0, 30, ResyncReason::Gap).unwrap(), None, "still pulled");
    let causes: Vec<_> = lock.causes().iter().collect();
    assert_eq!(causes, [PullCause::NotLive, PullCause::SequenceGap], "the cross went with the book");
}

#[test]
fn the_kill_switch_and_risk_pull_and_every_cause_must_clear_before_quotes_return() {
    let mut lock = live_pair(0);
    assert_eq!(lock.set_kill_switch(20, true), pull(20, PullCause::KillSwitch, None));
    assert_eq!(lock.set_risk_block(25, true), None);
    assert_eq!(lock.on_resync(V0, 30, ResyncReason::Gap).unwrap(), None);
    assert_eq!(lock.set_kill_switch(40, false), None, "risk and the gap remain");
    assert_eq!(lock.on_sync_state(V0, 50, SyncState::Live).unwrap(), None, "risk remains");
    assert_eq!(lock.set_risk_block(60, false), ret(60, PullCause::Risk, None));
    let stats = lock.stats(100);
    let mut pulls = [0; CAUSES];
    pulls[PullCause::NotLive as usize] = 1; // the start
    pulls[PullCause::KillSwitch as usize] = 1;
    assert_eq!(stats.pulls, pulls);
    assert_eq!(stats.returns, 2);
    for (cause, raised) in
        [(PullCause::KillSwitch, 1), (PullCause::Risk, 1), (PullCause::SequenceGap, 1), (PullCause::NotLive, 3)]
    {
        assert_eq!(stats.raised[cause as usize], raised, "{cause:?}");
    }
    // Pulled from 0 to 10 (start) and from 20 to 60: 50 of 100 ns.
    assert_eq!((stats.pulled_ns, stats.elapsed_ns), (50, 100));
    assert!((stats.uptime() - 0.5).abs() < 1e-12);
}

#[test]
fn unknown_venues_and_bad_configurations_are_refused_and_leave_the_state_alone() {
    let mut lock = live_pair(0);
    let before = format!("{lock:?}");
    let err = lock.on_book(VenueId::External(2), 20, top(1, 2)).unwrap_err();
    assert_eq!(err, InterlockError::UnknownVenue { venue: VenueId::External(2), venues: 2 });
    assert!(lock.on_resync(VenueId::Ours, 20, ResyncReason::Gap).is_err());
    assert_eq!(format!("{lock:?}"), before);
    let good = InterlockConfig { venues: 2, stale_after_ns: 1, cross_threshold_ticks: 0 };
    for (cfg, field) in [
        (InterlockConfig { venues: 0, ..good }, "venues"),
        (InterlockConfig { venues: 9, ..good }, "venues"),
        (InterlockConfig { stale_after_ns: 0, ..good }, "stale_after_ns"),
        (InterlockConfig { cross_threshold_ticks: -1, ..good }, "cross_threshold_ticks"),
    ] {
        assert!(matches!(Interlock::new(cfg, 0), Err(InterlockError::Config { field: f, .. }) if f == field));
    }
}

// ----- property test against a from-scratch reference -----

#[derive(Debug, Clone)]
enum Op {
    Book(u8, i64, i64),
    State(u8, SyncState),
    Resync(u8, ResyncReason),
    Timer,
    Kill(bool),
    Risk(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let venue = 0..3u8;
    prop_oneof![
        6 => (venue.clone(), 95..105i64, 1..4i64).prop_map(|(v, bid, w)| Op::Book(v, bid, bid + w)),
        2 => (venue.clone(), prop_oneof![Just(SyncState::Live), Just(SyncState::Resyncing), Just(SyncState::Buffering)])
            .prop_map(|(v, s)| Op::State(v, s)),
        1 => (venue, prop_oneof![Just(ResyncReason::Gap), Just(ResyncReason::ChecksumMismatch), Just(ResyncReason::Malformed)])
            .prop_map(|(v, r)| Op::Resync(v, r)),
        2 => Just(Op::Timer),
        1 => any::<bool>().prop_map(Op::Kill),
        1 => any::<bool>().prop_map(Op::Risk),
    ]
}

/// The reference: the raw facts per venue, and "may quote" computed from scratch.
#[derive(Debug, Clone, Copy)]
struct RefVenue {
    live: bool,
    last_ns: i64,
    top: Option<(i64, i64)>,
}

fn may_quote(venues: &[RefVenue], kill: bool, risk: bool, now: i64, threshold: i64) -> bool {
    let fresh = |v: &RefVenue| v.live && now - v.last_ns <= STALE;
    if kill || risk || !venues.iter().all(fresh) {
        return false;
    }
    let tops: Vec<(i64, i64)> = venues.iter().filter_map(|v| v.top).collect();
    !tops.iter().any(|a| tops.iter().any(|b| a.0 - b.1 > threshold))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_interlock_allows_quoting_exactly_when_the_reference_says_so_and_counts_every_transition(
        ops in proptest::collection::vec((op(), 0..700i64), 1..120),
        threshold in 0..3i64,
    ) {
        let cfg = InterlockConfig { venues: 3, stale_after_ns: STALE, cross_threshold_ticks: threshold };
        let mut lock = Interlock::new(cfg, 0).unwrap();
        let mut venues = [RefVenue { live: false, last_ns: 0, top: None }; 3];
        let (mut kill, mut risk, mut now) = (false, false, 0);
        let (mut pulls, mut returns, mut pulled_since, mut pulled_ns) = (1u64, 0u64, Some(0i64), 0i64);
        for (op, dt) in ops {
            now += dt;
            let event = match op {
                Op::Book(v, bid, ask) => {
                    // The feed only applies updates to a live book.
                    if !venues[v as usize].live { continue; }
                    venues[v as usize].last_ns = now;
                    venues[v as usize].top = Some((bid, ask));
                    lock.on_book(VenueId::External(v), now, top(bid, ask)).unwrap()
                }
                Op::State(v, s) => {
                    let r = &mut venues[v as usize];
                    r.live = s == SyncState::Live;
                    if r.live { r.last_ns = now; } else { r.top = None; }
                    lock.on_sync_state(VenueId::External(v), now, s).unwrap()
                }
                Op::Resync(v, reason) => {
                    venues[v as usize].live = false;
                    venues[v as usize].top = None;
                    lock.on_resync(VenueId::External(v), now, reason).unwrap()
                }
                Op::Timer => lock.on_timer(now),
                Op::Kill(on) => { kill = on; lock.set_kill_switch(now, on) }
                Op::Risk(on) => { risk = on; lock.set_risk_block(now, on) }
            };
            let expected = may_quote(&venues, kill, risk, now, threshold);
            prop_assert_eq!(lock.quoting_allowed(), expected, "after {:?} at {}", op, now);
            match event.map(|e| e.transition) {
                Some(Transition::Pull) => { pulls += 1; pulled_since = Some(now); }
                Some(Transition::Return) => {
                    returns += 1;
                    pulled_ns += now - pulled_since.take().unwrap();
                }
                None => {}
            }
            prop_assert_eq!(pulls - returns, u64::from(!expected), "one event per transition");
            let stats = lock.stats(now);
            prop_assert_eq!(stats.pulls.iter().sum::<u64>(), pulls);
            prop_assert_eq!(stats.returns, returns);
            prop_assert_eq!(stats.pulled_ns, pulled_ns + pulled_since.map_or(0, |s| now - s));
        }
    }
}

// ----- on the synthetic market -----

/// Coinbase and Kraken follow one latent price; Kraken jumps $3 up for 20 s from 100 s. Tops go
/// to the interlock on a 0.01 grid after every step: it pulls on the dislocation (crossed) and
/// nowhere else, and returns when it ends.
#[test]
fn on_the_synthetic_market_the_interlock_pulls_for_the_injected_dislocation_only() {
    let dislocation = Dislocation { start_ns: 100_000_000_000, duration_ns: 20_000_000_000, units: 300_000_000 };
    let mut cfgs = [Venue::Coinbase, Venue::Kraken].map(|v| SyntheticConfig::new(v, 3).with_latent(3));
    cfgs[1].latent = cfgs[1].latent.map(|l| l.with_dislocation(dislocation));
    let start = cfgs[0].start_ns;
    let mut gens = cfgs.map(|c| Generator::new(&c).unwrap());
    let cfg = InterlockConfig { venues: 2, stale_after_ns: 500_000_000, cross_threshold_ticks: 5 };
    let mut lock = Interlock::new(cfg, start).unwrap();
    let mut events = Vec::new();
    for i in 0..2u8 {
        events.extend(lock.on_sync_state(VenueId::External(i), start, SyncState::Live).unwrap());
    }
    for _ in 0..2 * 2_000 {
        let i = if gens[0].clock_ns() <= gens[1].clock_ns() { 0 } else { 1 };
        gens[i].step();
        let (Some(bid), Some(ask)) = gens[i].top_units() else { continue };
        let t = Top {
            bid: Level { price: bid / 1_000_000, qty: 1 },
            ask: Level { price: ask / 1_000_000, qty: 1 },
            ts_ns: 0,
        };
        events.extend(lock.on_book(VenueId::External(i as u8), gens[i].clock_ns(), t).unwrap());
    }
    let pulls: Vec<_> = events.iter().filter(|e| e.transition == Transition::Pull).collect();
    assert_eq!(pulls.len(), 1, "one pull: {events:?}");
    assert_eq!((pulls[0].cause, pulls[0].venue), (PullCause::Crossed, Some(VenueId::External(1))));
    let (pulled_at, back_at) = (pulls[0].ts_ns - start, events.last().unwrap().ts_ns - start);
    assert!((100_000_000_000..100_200_000_000).contains(&pulled_at), "pulled at {pulled_at}");
    assert!((120_000_000_000..120_300_000_000).contains(&back_at), "back at {back_at}");
    let stats = lock.stats(gens[0].clock_ns());
    assert_eq!(stats.pulled_ns, back_at - pulled_at, "pulled exactly while dislocated");
    assert!(stats.uptime() > 0.8 && stats.uptime() < 1.0, "uptime {}", stats.uptime());
}

/// Kraken's top on a 0.01 grid (prices are exact decimals: raw units of 1e-18).
fn kraken_top(book: &L2Book) -> Option<Top> {
    let ticks = |d: &wintermute_core::decimal::Decimal| (d.raw() / 10i128.pow(16)) as i64;
    let (bid, ask) = (book.bids().next()?, book.asks().next()?);
    Some(Top {
        bid: Level { price: ticks(&bid.price), qty: 1 },
        ask: Level { price: ticks(&ask.price), qty: 1 },
        ts_ns: 0,
    })
}

/// The real Kraken book builder over a synthetic session whose gap frames are lost: each loss
/// fails the next checksum, and `on_feed_event` pulls within that very frame with the cause
/// `ChecksumMismatch`; the new snapshot brings the quotes back.
#[test]
fn fed_by_the_kraken_builder_each_lost_frame_pulls_on_its_checksum_and_the_snapshot_returns() {
    let cfg = SyntheticConfig { steps: 1_500, gap_rate: 0.02, ..SyntheticConfig::new(Venue::Kraken, 4) }.with_latent(4);
    let mut g = Generator::new(&cfg).unwrap();
    let mut h = KrakenBooks::new();
    h.on_sent(0, &g.subscribe_frame().unwrap());
    let lock_cfg = InterlockConfig { venues: 1, stale_after_ns: 5_000_000_000, cross_threshold_ticks: 0 };
    let mut lock = Interlock::new(lock_cfg, cfg.start_ns).unwrap();
    let feed = |h: &mut KrakenBooks, lock: &mut Interlock, text: &str, now: i64| {
        let event = h.on_frame(0, text).unwrap();
        let top = h.streams().first().and_then(|s| kraken_top(&s.book));
        (event, lock.on_feed_event(V0, now, &event, top).unwrap())
    };
    let (mut gaps, mut pulls_seen) = (0, 0);
    let mut live_at = 0;
    for f in g.preamble() {
        feed(&mut h, &mut lock, &f.text, f.receive_ns);
        live_at = f.receive_ns;
    }
    assert!(lock.quoting_allowed(), "live after the snapshot");
    for _ in 0..cfg.steps {
        for f in g.step() {
            if f.gap {
                gaps += 1;
                continue;
            }
            let (event, transition) = feed(&mut h, &mut lock, &f.text, f.receive_ns);
            if let FeedEvent::Resync { reason, .. } = event {
                assert_eq!(reason, ResyncReason::ChecksumMismatch);
                assert_eq!(transition, pull(f.receive_ns, PullCause::ChecksumMismatch, Some(V0)), "in the same frame");
                pulls_seen += 1;
                let (event, back) = feed(&mut h, &mut lock, &g.snapshot(), f.receive_ns + 1);
                assert!(matches!(event, FeedEvent::Snapshot(_)));
                assert_eq!(back, ret(f.receive_ns + 1, PullCause::ChecksumMismatch, Some(V0)));
            } else {
                assert_eq!(transition, None, "nothing else moves the interlock: {event:?}");
            }
        }
    }
    assert!(gaps >= 10, "{gaps} gaps");
    assert_eq!(pulls_seen, gaps);
    let stats = lock.stats(g.clock_ns());
    assert_eq!(stats.pulls[PullCause::ChecksumMismatch as usize], gaps as u64);
    assert_eq!(stats.returns, gaps as u64 + 1, "one return per gap, and the first snapshot");
    // Pulled until the first snapshot, then 1 ns per gap (the new snapshot came 1 ns later).
    assert_eq!(stats.pulled_ns, live_at - cfg.start_ns + gaps as i64);
}
