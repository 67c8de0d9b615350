//! A Kraken route's account balances end to end, over 127.0.0.1: the route (the WebSocket v2
//! client with its REST companion, as live and paper routes build it, under the market maker's
//! `RoutedExecution`) loads `BalanceEx`, follows the `balances` channel's ledger entries,
//! refuses an order the free balance less the reservations cannot cover before it is sent,
//! holds each order's reservation until a snapshot shows its hold (Kraken's stream never
//! does), reconciles against a fresh snapshot, and resyncs after a reconnect. The simulator
//! checks funds (a buy holds its fee too, at 0.26 %, which the route counts); the book is
//! 58000.0 x 1 / 59000.0 x 1.
//! The channel's own messages, and what a hostile venue could send on it, are at the end.

mod common;
mod execution_common;
mod funds_common;
mod kraken_common;
mod kraken_route_common;
mod route_balances_common;

use std::time::Duration;

use common::run;
use execution_common::{events_until, new_order};
use funds_common::{hang_up, reconcile_finds_nothing, reconcile_finds_one, shown};
use kraken_common::*;
use kraken_route_common::*;
use route_balances_common::{balances_until, dec, free_locked};
use serde_json::Value;
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, Execution, OrderTif};
use wintermute_mm::types::{Side as MmSide, VenueId};
use wintermute_router::balances::{AccountBalances, BalanceApplied, BalanceSnapshot};
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_messages::{balance_updates, parse_frame, WsMessage};
use wintermute_router::order_state::Venue;
use wintermute_router::reservations::Reserve;
use wintermute_router::sim::ws::WsVenue;

/// USD in the instrument's notional units (tick × lot: 0.1 × 0.00000001 = 1e-9 USD).
fn usd(price: &str, qty: &str) -> i64 {
    ticks(price) * lots(qty)
}

fn insufficient(e: ExecError) -> (u64, i64, i64) {
    match e {
        ExecError::InsufficientBalance { client_id, qty, coverable, .. } => (client_id, qty, coverable),
        other => panic!("not a refusal for funds: {other:?}"),
    }
}

/// Waits (at most 5 s) until nothing is reserved and the route's balances of these assets (v2
/// name, REST name) are the venue's `BalanceEx`.
async fn settled(exec: &RoutedExecution, sim: &KrakenSim, assets: &[(&str, &str)]) -> AccountBalances {
    let v2: Vec<&str> = assets.iter().map(|(v2, _)| *v2).collect();
    funds_common::settled(exec, &v2, || async {
        let mut venue = Vec::new();
        for (_, rest) in assets {
            venue.push(kraken_free_locked(sim, rest).await);
        }
        venue
    })
    .await
}

#[test]
fn the_route_follows_the_account_and_refuses_what_the_free_balance_cannot_cover_before_sending_it() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "1000"), ("XXBT", "0.01")]).await;
        let mut exec = kraken_route(&sim, Duration::from_millis(10));
        let b = balances_until(&exec, |b| !b.resync_due()).await;
        // BalanceEx names XXBT and ZUSD; the route keeps Kraken's v2 names.
        assert_eq!(free_locked(&b, "USD"), ("1000".into(), "0".into()));
        assert_eq!(free_locked(&b, "BTC"), ("0.01".into(), "0".into()));
        assert_eq!(sim.balance_subscribers(), 1, "the route follows the balances channel");

        // 0.02 BTC at 58000.0 is 1160 USD; 1000 USD covers 0.01719666 BTC and its 0.26 % fee.
        let e = exec.submit(0, &new_order(1, MmSide::Buy, ticks("58000"), lots("0.02"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(
            e,
            ExecError::InsufficientBalance {
                venue: VenueId::External(0),
                client_id: 1,
                side: MmSide::Buy,
                qty: lots("0.02"),
                coverable: lots("0.01719666"),
            }
        );
        let e = exec.submit(0, &new_order(2, MmSide::Sell, ticks("59000"), lots("0.02"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (2, lots("0.02"), lots("0.01")));

        // A buy the balance covers rests. Kraken streams nothing for its hold: the reservation
        // stands for it, acknowledged or not.
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        assert!(events.iter().all(|e| e.client_id() == 3), "nothing of the refused orders was sent: {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        // 570 USD and its 1.482 fee.
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: usd("57148.2", "0.01") });
        assert_eq!(free_locked(&exec.balances().unwrap(), "USD"), ("1000".into(), "0".into()));
        // 428.518 USD available: 0.00749836 BTC at 57000.0 with its fee.
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("0.008"), lots("0.00749836")));

        // A deposit while the route is idle: the ledger entry comes in, and the snapshot it calls
        // for shows the order's hold (570 and its 1.482 fee): the reservation is released.
        sim.deposit(KEY, "ZUSD", dec("100")).unwrap();
        let b = settled(&exec, &sim, &[("USD", "ZUSD")]).await;
        assert_eq!(free_locked(&b, "USD"), ("528.518".into(), "571.482".into()));
        exec.submit(0, &new_order(5, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 5, .. }))).await;

        // A fill (order 3, as maker) moves both assets; the route ends at the venue's to the unit.
        sim.trade_at("XBTUSD", "57000", "0.01").unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 3, .. }))).await;
        let b = settled(&exec, &sim, &[("USD", "ZUSD"), ("BTC", "XXBT")]).await;
        assert_eq!(free_locked(&b, "BTC"), ("0.02".into(), "0".into()));
        // 1100 − 570 − 1.482 fee; order 5 holds 456 and its 1.1856 fee.
        assert_eq!(free_locked(&b, "USD"), ("71.3324".into(), "457.1856".into()));
        let (stats, _exec) =
            reconcile_finds_nothing(exec, "the stream and its snapshots told the route everything").await;
        assert!(stats.applied >= 3, "{stats:?}");
    });
}

#[test]
fn a_buy_counts_the_taker_fee_kraken_holds_with_it_before_it_is_sent() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "1000"), ("XXBT", "0")]).await;
        // 0.0172 BTC at 58000.0 is 997.6 USD, and its 0.26 % fee 2.59376: 1000.19376 in all.
        // A route that counts no fee sends it, and Kraken refuses it for funds.
        let mut blind = kraken_route_paying(&sim, Duration::from_millis(10), Some(0));
        balances_until(&blind, |b| !b.resync_due()).await;
        blind.submit(0, &new_order(1, MmSide::Buy, ticks("58000"), lots("0.0172"), OrderTif::Gtc)).unwrap();
        let events =
            events_until(&mut blind, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { client_id: 1, .. }))).await;
        assert!(!events.iter().any(|e| matches!(e, ExecEvent::Accepted { .. })), "{events:?}");
        drop(blind);

        // The route that knows the account's fee refuses it before sending; what it covers, the
        // venue takes, and holds the notional and the fee.
        let mut exec = kraken_route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;
        let e = exec.submit(0, &new_order(2, MmSide::Buy, ticks("58000"), lots("0.0172"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (2, lots("0.0172"), lots("0.01719666")));
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("58000"), lots("0.01719666"), OrderTif::Gtc)).unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 3, .. }))).await;
        assert!(events.iter().all(|e| e.client_id() == 3), "{events:?}");
        // 997.40628 USD and its 2.593256328 fee: the route reserved all of it (rounded up).
        let (free, locked) = kraken_free_locked(&sim, "ZUSD").await;
        assert_eq!(locked, "999.999536328");
        assert_eq!(free, "0.000463672");
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: 999_999_536_328 });
        drop(exec);

        // A route that does not know the account's fee assumes Kraken's default taker fee
        // (0.40 %, the entry tier's): 1000 USD covers 0.01717268 BTC at 58000.0 with it.
        let fresh = funded_kraken(&[("ZUSD", "1000"), ("XXBT", "0")]).await;
        let mut exec = kraken_route_paying(&fresh, Duration::from_millis(10), None);
        balances_until(&exec, |b| !b.resync_due()).await;
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("58000"), lots("0.0172"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("0.0172"), lots("0.01717268")));
        exec.submit(0, &new_order(5, MmSide::Buy, ticks("58000"), lots("0.01717268"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 5, .. }))).await;
    });
}

#[test]
fn a_reconciliation_reports_what_the_stream_never_said_and_a_reconnect_forces_a_resync() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "1000")]).await;
        // No idle ticks: the route reads its stream only when it works.
        let exec = kraken_route(&sim, Duration::from_secs(3600));
        balances_until(&exec, |b| !b.resync_due()).await;
        assert_eq!(sim.ws_connections(), 1, "the route opened its stream before the snapshot");
        hang_up(&sim).await;
        // Nobody is subscribed to push this deposit to the route.
        sim.deposit(KEY, "ZUSD", dec("25.5")).unwrap();
        let (d, mut exec) = reconcile_finds_one(exec, "USD", "1000", "1025.5").await;
        assert_eq!(d.venue, Some((dec("1025.5"), dec("0"))));

        // Away again: a withdrawal nobody pushes. The next order reconnects the stream, and the
        // reconnect forces a resync from REST: the route never trades on the stale 1025.5.
        hang_up(&sim).await;
        sim.withdraw(KEY, "ZUSD", dec("0.5")).unwrap();
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.001"), OrderTif::Gtc)).unwrap();
        let b = balances_until(&exec, |b| {
            b.stats().forced_resyncs == 1 && b.get("USD").is_some_and(|u| u.locked == dec("57.1482"))
        })
        .await;
        assert_eq!(free_locked(&b, "USD"), ("967.8518".into(), "57.1482".into()));
        assert_eq!(free_locked(&b, "USD"), kraken_free_locked(&sim, "ZUSD").await);
        assert_eq!(exec.reserved(), Reserve::default(), "the resync's snapshot shows the order's hold");
    });
}

#[test]
fn orders_sent_back_to_back_hold_their_reservations_until_they_end_or_a_snapshot_shows_them() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "1000"), ("XXBT", "0.01")]).await;
        let mut exec = kraken_route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;

        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        let e = exec.submit(0, &new_order(2, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap_err();
        // 1000 USD less 571.482 (570 and its fee): 0.00749836 BTC at 57000.0 with its fee.
        assert_eq!(insufficient(e), (2, lots("0.008"), lots("0.00749836")));
        exec.submit(0, &new_order(3, MmSide::Sell, ticks("60000"), lots("0.006"), OrderTif::Gtc)).unwrap();
        let e = exec.submit(0, &new_order(4, MmSide::Sell, ticks("60000"), lots("0.005"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("0.005"), lots("0.004")));
        let both = Reserve { base_lots: lots("0.006"), quote_units: usd("57148.2", "0.01") };
        assert_eq!(exec.reserved(), both);
        events_until(&mut exec, |e| e.iter().filter(|e| matches!(e, ExecEvent::Accepted { .. })).count() == 2).await;
        // Acknowledged and resting: no ledger entry, no snapshot, the reservations stand.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(exec.reserved(), both);

        // Canceled with nothing filled: released at once.
        exec.submit(0, &ExecCommand::Cancel { client_id: 1 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 1, .. }))).await;
        assert_eq!(exec.reserved(), Reserve { base_lots: lots("0.006"), quote_units: 0 });
        // A fill of the sell: its ledger entries call for a snapshot, which releases the rest.
        sim.trade_at("XBTUSD", "60000", "0.006").unwrap();
        let b = settled(&exec, &sim, &[("USD", "ZUSD"), ("BTC", "XXBT")]).await;
        // 0.006 BTC sold at 60000.0 for 360 USD, less the 0.936 fee.
        assert_eq!(free_locked(&b, "USD"), ("1359.064".into(), "0".into()));
        assert_eq!(free_locked(&b, "BTC"), ("0.004".into(), "0".into()));
        assert_eq!(exec.coverable_qty(MmSide::Sell, ticks("60000")), Some(lots("0.004")));
    });
}

/// What the simulator's channel says, checked the way Kraken documents the subscription: a bad
/// `snapshot`, an unknown parameter and a missing token are refused; the snapshot and every
/// update carry the next `sequence`; an update is a ledger entry with the balance after it.
#[test]
fn the_simulators_balances_channel_is_strict_and_numbers_its_messages() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "1000"), ("XXBT", "0.5")]).await;
        let token = client_with(&sim, ROOMY).websockets_token().await.unwrap();
        let shared = sim.shared();
        let mut state = shared.lock();
        let mut session = state.open_session("/v2").unwrap();
        let ask = |params: &str| format!(r#"{{"method":"subscribe","params":{params},"req_id":7}}"#);
        let answer = |frames: Vec<String>| -> Value { serde_json::from_str(&frames[0]).unwrap() };
        for (params, error) in [
            (
                format!(r#"{{"channel":"balances","token":"{token}","snapshot":"yes"}}"#),
                "EGeneral:Invalid arguments:snapshot",
            ),
            (
                format!(r#"{{"channel":"balances","token":"{token}","snap_orders":true}}"#),
                "EGeneral:Invalid arguments:snap_orders",
            ),
            (r#"{"channel":"balances"}"#.to_owned(), "EAPI:Invalid key"),
            (r#"{"channel":"balances","token":"not-a-token"}"#.to_owned(), "EAPI:Invalid key"),
        ] {
            let a = answer(state.on_text(&mut session, &ask(&params)));
            assert_eq!((a["success"].as_bool(), a["error"].as_str()), (Some(false), Some(error)), "{params}");
        }
        drop(state);
        assert_eq!(sim.balance_subscribers(), 0, "nothing refused subscribed");
        let mut state = shared.lock();
        let frames = state.on_text(&mut session, &ask(&format!(r#"{{"channel":"balances","token":"{token}"}}"#)));
        assert_eq!(frames.len(), 2, "the answer, then the snapshot: {frames:?}");
        let a: Value = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!((a["success"].as_bool(), a["req_id"].as_u64()), (Some(true), Some(7)));
        assert_eq!(a["result"], serde_json::json!({"channel": "balances", "snapshot": true}));
        let snap: Value = serde_json::from_str(&frames[1]).unwrap();
        assert_eq!((snap["type"].as_str(), snap["sequence"].as_u64()), (Some("snapshot"), Some(1)));
        let assets: Vec<&str> = snap["data"].as_array().unwrap().iter().map(|e| e["asset"].as_str().unwrap()).collect();
        assert_eq!(assets, ["BTC", "USD"], "v2 names");
        assert!(frames[1].contains(r#""balance":1000,"#) || frames[1].contains(r#""balance":1000.0"#), "{}", frames[1]);
        drop(state);

        sim.deposit(KEY, "ZUSD", dec("12.5")).unwrap();
        let mut state = shared.lock();
        let pushed = state.pushes(&mut session);
        let updates: Vec<Value> = pushed.iter().map(|f| serde_json::from_str(f).unwrap()).collect();
        let update = updates.iter().find(|u| u["channel"] == "balances").expect("the deposit's ledger entry");
        assert_eq!((update["type"].as_str(), update["sequence"].as_u64()), (Some("update"), Some(2)));
        let entry = &update["data"][0];
        assert_eq!((entry["type"].as_str(), entry["asset"].as_str()), (Some("deposit"), Some("USD")));
        assert_eq!((entry["wallet_type"].as_str(), entry["wallet_id"].as_str()), (Some("spot"), Some("main")));
        // The numbers as the client reads them: exact, from their own text.
        let frame = pushed.iter().find(|f| f.contains("\"balances\"")).unwrap();
        let Ok(WsMessage::Balances { snapshot: false, sequence: Some(2), data }) = parse_frame(frame) else {
            panic!("{frame}")
        };
        let read = balance_updates(data, 9).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].asset, "USD");
        assert_eq!(read[0].change, wintermute_router::order::BalanceChange::Total { balance: dec("1012.5") });
        state.close_session(session);
    });
}

/// What a hostile venue could send on the channel, through the client's real parser into a
/// route's balances: each frame a parse error or a refusal, and the balances exactly as before.
#[test]
fn hostile_balance_frames_are_parse_errors_or_refusals_and_change_nothing() {
    let mut b = AccountBalances::new(Venue::Kraken);
    let snapshot = BalanceSnapshot {
        balances: [("BTC", "0.5", "0.1"), ("USD", "1000", "0")]
            .iter()
            .map(|(a, f, l)| ((*a).to_owned(), (dec(f), dec(l))))
            .collect(),
        ts_ns: 100,
    };
    b.load(&snapshot);
    let before = shown(&b);
    let entry = |asset: &str, balance: &str| {
        format!(
            r#"{{"channel":"balances","type":"update","data":[{{"asset":"{asset}","balance":{balance},"wallet_type":"spot","wallet_id":"main"}}],"sequence":3}}"#
        )
    };
    let frames = [
        // Not decimals, missing fields, bad asset names, no list, no type: the parser's errors.
        entry("USD", "1e3"),
        entry("USD", r#""NaN""#),
        entry("USD", "null"),
        entry("US D", "1"),
        entry("", "1"),
        entry("USD", "99999999999999999999999999999999999999999"),
        r#"{"channel":"balances","type":"update","data":[{"asset":"USD"}],"sequence":3}"#.to_owned(),
        r#"{"channel":"balances","type":"update","data":{"asset":"USD","balance":1},"sequence":3}"#.to_owned(),
        r#"{"channel":"balances","data":[{"asset":"USD","balance":1}],"sequence":3}"#.to_owned(),
        r#"{"channel":"balances","type":"update","sequence":3}"#.to_owned(),
        // One good entry and one bad: nothing of the message is taken.
        r#"{"channel":"balances","type":"update","data":[{"asset":"USD","balance":5},{"asset":"BTC","balance":"x"}]}"#
            .to_owned(),
        // Parseable, impossible: the balances' refusal.
        entry("USD", "-5"),
    ];
    let (mut parse_errors, mut refused) = (0, 0);
    for frame in &frames {
        let data = match parse_frame(frame) {
            Ok(WsMessage::Balances { data, .. }) => data,
            Ok(other) => panic!("{frame}: {other:?}"),
            Err(_) => {
                parse_errors += 1;
                continue;
            }
        };
        match balance_updates(data, 200) {
            Err(_) => parse_errors += 1,
            Ok(updates) => {
                for u in updates {
                    assert!(b.apply(&u).is_err(), "{frame}");
                    refused += 1;
                }
            }
        }
        assert_eq!(shown(&b), before, "{frame}");
    }
    assert_eq!((parse_errors, refused), (11, 1));
    assert_eq!(b.stats().refused, 1);

    // Another wallet's entry (earn) is not the trading balance: nothing to apply.
    let earn = r#"{"channel":"balances","type":"update","data":[{"asset":"USD","balance":7,"wallet_type":"earn","wallet_id":"flex"}]}"#;
    let Ok(WsMessage::Balances { data, .. }) = parse_frame(earn) else { panic!() };
    assert_eq!(balance_updates(data, 200).unwrap(), vec![]);

    // A good entry: the total set, the snapshot's hold kept up to it.
    let Ok(WsMessage::Balances { data, .. }) =
        parse_frame(r#"{"channel":"balances","type":"update","data":[{"asset":"XXBT","balance":0.05}]}"#)
    else {
        panic!()
    };
    for u in balance_updates(data, 200).unwrap() {
        assert_eq!(b.apply(&u), Ok(BalanceApplied::Applied));
    }
    let btc = b.get("BTC").unwrap();
    assert_eq!((btc.free, btc.locked), (dec("0"), dec("0.05")), "the hold read as it was, up to the balance");
}

/// A key without the funds query permission: Kraken refuses the `balances` subscription and
/// `BalanceEx`. The route trades on, tracking no balances (nothing refused on a guess).
#[test]
fn a_key_that_may_not_query_funds_trades_on_without_balances() {
    run(async {
        let sim = funded_kraken(&[("ZUSD", "10")]).await;
        sim.deny_funds_query(KEY);
        let mut exec = kraken_route(&sim, Duration::from_millis(10));
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.0001"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 1, .. }))).await;
        assert_eq!(sim.balance_subscribers(), 0);
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert!(exec.balances().is_none(), "no balances on this route");
        }
        assert_eq!(exec.reserved(), Reserve::default(), "nothing held where nothing is tracked");
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), None);
    });
}
