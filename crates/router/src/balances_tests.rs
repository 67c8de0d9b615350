use super::*;

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn update(asset: &str, change: BalanceChange, ts_ns: i64) -> BalanceUpdate {
    BalanceUpdate { venue: Venue::Binance, asset: asset.into(), change, exchange_ts_ns: ts_ns, receive_ts_ns: 0 }
}

fn position(asset: &str, free: &str, locked: &str, ts_ns: i64) -> BalanceUpdate {
    update(asset, BalanceChange::Position { free: dec(free), locked: dec(locked) }, ts_ns)
}

fn transfer(asset: &str, delta: &str, ts_ns: i64) -> BalanceUpdate {
    update(asset, BalanceChange::Transfer { delta: dec(delta) }, ts_ns)
}

fn snapshot(assets: &[(&str, &str, &str)], ts_ns: i64) -> BalanceSnapshot {
    BalanceSnapshot { balances: assets.iter().map(|(a, f, l)| ((*a).to_owned(), (dec(f), dec(l)))).collect(), ts_ns }
}

/// Each asset as (free, locked) text.
fn shown(b: &AccountBalances) -> Vec<(String, String, String)> {
    b.assets().map(|(a, x)| (a.to_owned(), x.free.to_string(), x.locked.to_string())).collect()
}

fn loaded() -> AccountBalances {
    let mut b = AccountBalances::new(Venue::Binance);
    b.load(&snapshot(&[("BTC", "0.5", "0"), ("USDT", "1000", "0")], 100));
    b
}

#[test]
fn balances_are_unknown_until_a_snapshot_and_updates_before_it_are_ignored() {
    let mut b = AccountBalances::new(Venue::Binance);
    assert!(b.resync_due());
    assert_eq!(b.free("USDT"), None);
    assert_eq!(b.apply(&position("USDT", "5", "0", 50)), Ok(BalanceApplied::Unknown));
    assert_eq!(b.apply(&transfer("USDT", "5", 50)), Ok(BalanceApplied::Unknown));
    assert_eq!(b.stats().ignored_unknown, 2);
    b.load(&snapshot(&[("USDT", "1000", "0")], 100));
    assert!(!b.resync_due());
    assert_eq!(b.free("USDT"), Some(dec("1000")));
    assert_eq!(b.free("ETH"), Some(Decimal::ZERO), "an asset not listed has nothing");
}

#[test]
fn the_newest_event_time_wins_and_an_older_update_is_ignored_and_counted() {
    let mut b = loaded();
    assert_eq!(b.apply(&position("USDT", "900", "100", 200)), Ok(BalanceApplied::Applied));
    assert_eq!(b.apply(&position("USDT", "1000", "0", 150)), Ok(BalanceApplied::Stale));
    assert_eq!(b.apply(&position("USDT", "1", "0", 99)), Ok(BalanceApplied::Stale));
    assert_eq!(b.get("USDT").map(|x| (x.free, x.locked, x.ts_ns)), Some((dec("900"), dec("100"), 200)));
    // A position at the state's own time sets it (absolute); a transfer there is already in it.
    assert_eq!(b.apply(&position("USDT", "899", "101", 200)), Ok(BalanceApplied::Applied));
    assert_eq!(b.apply(&transfer("USDT", "50", 200)), Ok(BalanceApplied::Stale));
    assert_eq!(b.apply(&transfer("USDT", "50.25", 201)), Ok(BalanceApplied::Applied));
    assert_eq!(b.free("USDT"), Some(dec("949.25")));
    assert_eq!(b.get("USDT").map(|x| x.locked), Some(dec("101")));
    let s = b.stats();
    assert_eq!((s.applied, s.stale_ignored), (3, 3));
}

#[test]
fn a_deposit_of_a_new_asset_starts_from_zero_and_amounts_stay_exact() {
    let mut b = loaded();
    b.apply(&transfer("ETH", "0.1", 101)).unwrap();
    b.apply(&transfer("ETH", "0.2", 102)).unwrap();
    assert_eq!(b.free("ETH").map(|d| d.to_string()), Some("0.3".into()), "no float round trip");
}

#[test]
fn impossible_updates_are_refused_with_their_reason_and_leave_the_state_untouched() {
    let mut b = loaded();
    let before = shown(&b);
    let kraken = BalanceUpdate { venue: Venue::Kraken, ..position("USDT", "1", "0", 500) };
    assert_eq!(b.apply(&kraken), Err(BalanceError::WrongVenue { account: Venue::Binance, update: Venue::Kraken }));
    let e = b.apply(&position("USDT", "-1", "0", 500)).unwrap_err();
    assert_eq!(e.to_string(), "negative balance in update: asset=USDT field=free amount=-1");
    assert!(matches!(b.apply(&position("BTC", "1", "-0.5", 500)), Err(BalanceError::Negative { field: "locked", .. })));
    let e = b.apply(&transfer("BTC", "-0.6", 500)).unwrap_err();
    assert_eq!(e.to_string(), "withdrawal past the free balance: asset=BTC free=0.5 delta=-0.6");
    let huge = dec("100000000000000000000");
    b.apply(&update("XRP", BalanceChange::Position { free: huge, locked: Decimal::ZERO }, 500)).unwrap();
    let e = b.apply(&update("XRP", BalanceChange::Transfer { delta: huge }, 501)).unwrap_err();
    assert_eq!(e, BalanceError::OutOfRange { asset: "XRP".into() });
    assert_eq!(b.stats().refused, 5);
    let mut after = shown(&b);
    after.retain(|(a, ..)| a != "XRP");
    assert_eq!(after, before);
    assert_eq!(b.get("BTC").map(|x| x.ts_ns), Some(100), "a refused update does not move the state's time");
}

#[test]
fn dropped_updates_make_the_balances_unknown_until_a_fresh_snapshot() {
    let mut b = loaded();
    b.note_gaps(0);
    assert!(!b.resync_due(), "nothing dropped");
    b.note_gaps(3);
    assert!(b.resync_due());
    assert_eq!(b.free("USDT"), None, "never a silently wrong balance");
    let grid = CoverGrid::new("BTC", "USDT", &Step::parse("0.01").unwrap(), &Step::parse("0.001").unwrap()).unwrap();
    assert_eq!(b.covers(&grid, Side::Buy, 100), None, "nothing refused on a guess");
    assert_eq!(b.apply(&position("USDT", "5", "0", 900)), Ok(BalanceApplied::Unknown));
    b.load(&snapshot(&[("USDT", "7", "0")], 1_000));
    assert_eq!(b.free("USDT"), Some(dec("7")));
    assert_eq!(b.free("BTC"), Some(Decimal::ZERO), "the snapshot replaces every asset");
    b.note_gaps(3);
    assert!(!b.resync_due(), "the same count again is nothing new");
    assert_eq!(b.stats().forced_resyncs, 1);
}

#[test]
fn a_reconciliation_reports_each_difference_and_adopts_the_snapshot() {
    let mut b = loaded();
    b.apply(&position("USDT", "900", "100", 200)).unwrap();
    b.apply(&position("ETH", "2", "0", 5_000)).unwrap(); // newer than the snapshot: not compared
    let fresh = snapshot(&[("BTC", "0.5", "0"), ("USDT", "900", "90"), ("LTC", "1", "0")], 1_000);
    let r = b.reconcile(&fresh);
    assert!(!r.was_unknown);
    assert_eq!(
        r.differences,
        vec![
            BalanceDifference { asset: "LTC".into(), tracked: None, venue: Some((dec("1"), dec("0"))) },
            BalanceDifference {
                asset: "USDT".into(),
                tracked: Some((dec("900"), dec("100"))),
                venue: Some((dec("900"), dec("90"))),
            },
        ]
    );
    assert_eq!(b.get("USDT").map(|x| x.locked), Some(dec("90")));
    assert_eq!(b.free("ETH"), Some(dec("2")), "a state newer than the snapshot is kept");
    assert_eq!(b.stats().reconcile_differences, 1);
    let again = b.reconcile(&snapshot(&[("BTC", "0.5", "0"), ("USDT", "900", "90"), ("LTC", "1", "0")], 1_000));
    assert_eq!(again.differences, vec![], "tracked and venue agree: nothing to report");
    assert_eq!(b.stats().reconcile_differences, 1);
    // Trailing zeros are the same amount.
    let same = snapshot(&[("BTC", "0.50000000", "0"), ("USDT", "900.00", "90.0"), ("LTC", "1", "0")], 1_000);
    assert_eq!(b.reconcile(&same).differences, vec![]);
}

#[test]
fn what_the_free_balance_covers_is_floored_to_whole_lots_in_integers() {
    let mut b = loaded();
    let grid = CoverGrid::new("BTC", "USDT", &Step::parse("0.01").unwrap(), &Step::parse("0.001").unwrap()).unwrap();
    // 0.5 BTC is 500 lots; 1000 USDT at 58000.00 (5_800_000 ticks) buys 0.017 BTC (17 lots).
    assert_eq!(b.covers(&grid, Side::Sell, 5_800_000), Some(500));
    assert_eq!(b.covers(&grid, Side::Buy, 5_800_000), Some(17));
    b.apply(&position("USDT", "986", "14", 200)).unwrap(); // exactly 17 lots at 58000 is 986 USDT
    assert_eq!(b.covers(&grid, Side::Buy, 5_800_000), Some(17));
    b.apply(&position("USDT", "985.99999999", "14", 201)).unwrap();
    assert_eq!(b.covers(&grid, Side::Buy, 5_800_000), Some(16));
    assert_eq!(b.covers(&grid, Side::Buy, 0), Some(0));
    assert!(CoverGrid::new("A", "B", &Step::parse("0.0000000001").unwrap(), &Step::parse("0.0000000001").unwrap())
        .is_none());
}

fn total(asset: &str, balance: &str, ts_ns: i64) -> BalanceUpdate {
    BalanceUpdate {
        venue: Venue::Kraken,
        asset: asset.into(),
        change: BalanceChange::Total { balance: dec(balance) },
        exchange_ts_ns: ts_ns,
        receive_ts_ns: ts_ns,
    }
}

#[test]
fn a_total_sets_the_balance_and_keeps_the_snapshots_hold_up_to_it() {
    let mut b = AccountBalances::new(Venue::Kraken);
    assert_eq!(b.apply(&total("USD", "5", 50)), Ok(BalanceApplied::Unknown));
    b.load(&snapshot(&[("USD", "400", "600"), ("BTC", "1", "0")], 100));
    // A deposit of 100: the hold is as it was.
    assert_eq!(b.apply(&total("USD", "1100", 110)), Ok(BalanceApplied::Applied));
    assert_eq!((b.free("USD"), b.get("USD").unwrap().locked), (Some(dec("500")), dec("600")));
    // A fill spent 700 of the hold: the balance falls under what was held, free reads 0 (low).
    assert_eq!(b.apply(&total("USD", "400", 120)), Ok(BalanceApplied::Applied));
    assert_eq!((b.free("USD"), b.get("USD").unwrap().locked), (Some(dec("0")), dec("400")));
    // Older than the state: ignored; a new asset starts with nothing held.
    assert_eq!(b.apply(&total("USD", "9", 115)), Ok(BalanceApplied::Stale));
    assert_eq!(b.apply(&total("ETH", "2", 130)), Ok(BalanceApplied::Applied));
    assert_eq!(b.free("ETH"), Some(dec("2")));
    // A negative balance is refused and changes nothing.
    let before = shown(&b);
    assert!(matches!(b.apply(&total("BTC", "-1", 140)), Err(BalanceError::Negative { field: "balance", .. })));
    assert_eq!(shown(&b), before);
}

#[test]
fn where_the_stream_carries_no_holds_a_reconciliation_compares_totals() {
    let mut b = AccountBalances::new(Venue::Kraken);
    b.load(&snapshot(&[("USD", "1000", "0")], 100));
    // An order placed since holds 570: the venue splits the same total differently.
    let r = b.reconcile(&snapshot(&[("USD", "430", "570")], 200));
    assert_eq!(r.differences, vec![]);
    // A deposit the stream never said: the totals differ.
    let r = b.reconcile(&snapshot(&[("USD", "455.5", "570")], 300));
    assert_eq!(r.differences.len(), 1);
    assert_eq!(r.differences[0].tracked, Some((dec("430"), dec("570"))));
    // Binance's positions carry the split: there it is a difference.
    let mut b = loaded();
    let r = b.reconcile(&snapshot(&[("BTC", "0.4", "0.1"), ("USDT", "1000", "0")], 200));
    assert_eq!(r.differences.len(), 1);
}
