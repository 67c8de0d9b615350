//! A Binance route's account balances end to end, over 127.0.0.1: the route (the WebSocket API
//! client with its REST companion, as live and paper routes build it, under the market maker's
//! `RoutedExecution`) loads `GET /api/v3/account`, follows the user-data stream's
//! `outboundAccountPosition` and `balanceUpdate` events, refuses an order the free balance cannot
//! cover before it is sent, reconciles against a fresh snapshot, and resyncs after a reconnect.
//! The simulator checks funds; the book is 58000.00 x 1 / 59000.00 x 1.

mod common;
mod execution_common;
mod funds_common;
mod route_balances_common;

use std::time::Duration;

use common::*;
use execution_common::{events_until, new_order};
use funds_common::{hang_up, reconcile_finds_nothing, reconcile_finds_one, shown};
use route_balances_common::*;
use wintermute_core::decimal::Decimal;
use wintermute_mm::execution::{ExecError, ExecEvent, Execution, OrderTif};
use wintermute_mm::types::{Side as MmSide, VenueId};
use wintermute_router::balances::{AccountBalances, BalanceApplied, BalanceSnapshot};
use wintermute_router::binance::client::{BinanceClientError, BinanceRestClient};
use wintermute_router::binance::ws_api::balance_updates;
use wintermute_router::order_state::Venue;
use wintermute_router::signing::BinanceSigner;

#[test]
fn the_route_follows_the_account_and_refuses_what_the_free_balance_cannot_cover_before_sending_it() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0.01")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        let b = balances_until(&exec, |b| !b.resync_due()).await;
        assert_eq!(free_locked(&b, "USDT"), ("1000".into(), "0".into()));
        assert_eq!(free_locked(&b, "BTC"), ("0.01".into(), "0".into()));

        // 0.02 BTC at 58000.00 is 1160 USDT; 1000 USDT covers 0.017241 BTC.
        let e = exec.submit(0, &new_order(1, MmSide::Buy, ticks("58000"), lots("0.02"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(
            e,
            ExecError::InsufficientBalance {
                venue: VenueId::External(0),
                client_id: 1,
                side: MmSide::Buy,
                qty: lots("0.02"),
                coverable: lots("0.017241"),
            }
        );
        assert!(e.to_string().starts_with("insufficient balance: venue=External(0) client_id=1 side=Buy"), "{e}");
        let e = exec.submit(0, &new_order(2, MmSide::Sell, ticks("59000"), lots("0.02"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("0.01")), "{e}");

        // A buy the balance covers rests: its lock arrives as an outboundAccountPosition.
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        assert!(events.iter().all(|e| e.client_id() == 3), "nothing of the refused orders was sent: {events:?}");
        let b = balances_until(&exec, |b| b.get("USDT").is_some_and(|x| x.locked == dec("570"))).await;
        assert_eq!(free_locked(&b, "USDT"), ("430".into(), "570".into()));
        assert_eq!(free_locked(&b, "USDT"), venue_free_locked(&sim, "USDT"));
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("0.007543")), "{e}");
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007543")));

        // A deposit while the route is idle: the balanceUpdate and position come in anyway.
        sim.deposit(HMAC_KEY, "USDT", dec("100")).unwrap();
        let b = balances_until(&exec, |b| b.free("USDT") == Some(dec("530"))).await;
        assert_eq!(free_locked(&b, "USDT"), venue_free_locked(&sim, "USDT"));
        exec.submit(0, &new_order(5, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap();

        // A fill moves both assets; the tracked balances stay the venue's to the unit.
        sim.trade_at("BTCUSDT", "57000", "0.01").unwrap();
        // (the buyer's commission comes out of the BTC received)
        let b = balances_until(&exec, |b| b.free("BTC").is_some_and(|f| f > dec("0.01"))).await;
        assert_eq!(free_locked(&b, "BTC"), venue_free_locked(&sim, "BTC"));
        let (stats, _exec) = reconcile_finds_nothing(exec, "the stream told the route everything").await;
        assert!(stats.applied >= 4, "{stats:?}");
    });
}

#[test]
fn a_reconciliation_reports_what_the_stream_never_said_and_a_reconnect_forces_a_resync() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        // No idle ticks: the route reads its stream only when it works.
        let exec = route(&sim, Duration::from_secs(3600));
        balances_until(&exec, |b| !b.resync_due()).await;
        assert_eq!(sim.ws_connections(), 1, "the route opened its stream before the snapshot");
        // The stream drops; nobody pushes this deposit to the route.
        hang_up(&sim).await;
        sim.deposit(HMAC_KEY, "USDT", dec("25.5")).unwrap();
        let (_, mut exec) = reconcile_finds_one(exec, "USDT", "1000", "1025.5").await;

        // Still away: a withdrawal nobody pushes. The next order reconnects the stream, and the
        // reconnect forces a resync from REST: the route never trades on the stale 1025.5.
        sim.withdraw(HMAC_KEY, "USDT", dec("0.5")).unwrap();
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.001"), OrderTif::Gtc)).unwrap();
        let b = balances_until(&exec, |b| {
            b.stats().forced_resyncs == 1 && b.get("USDT").is_some_and(|u| u.locked == dec("57"))
        })
        .await;
        assert_eq!(free_locked(&b, "USDT"), ("968".into(), "57".into()));
        assert_eq!(free_locked(&b, "USDT"), venue_free_locked(&sim, "USDT"));
    });
}

#[test]
fn account_status_is_read_signed_and_a_wrong_key_is_the_venues_error() {
    run(async {
        let sim = funded_sim(&[]).await;
        assert_eq!(hmac_client(&sim).account_status().await.unwrap(), "Normal");
        assert_eq!(ed25519_client(&sim).account_status().await.unwrap(), "Normal");
        sim.set_account_status(HMAC_KEY, "Account under review");
        assert_eq!(hmac_client(&sim).account_status().await.unwrap(), "Account under review");
        assert_eq!(ed25519_client(&sim).account_status().await.unwrap(), "Normal", "one account's status");

        let mut stranger = BinanceRestClient::new(
            sim.addr(),
            "not-a-registered-key",
            BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec()),
            vec![instrument()],
        );
        match stranger.account_status().await {
            Err(BinanceClientError::Venue { endpoint, status, code, .. }) => {
                assert_eq!((endpoint, status, code), ("GET /sapi/v1/account/status", 401, -2015));
            }
            other => panic!("a key the venue does not know: {other:?}"),
        }
        let mut wrong_secret = BinanceRestClient::new(
            sim.addr(),
            HMAC_KEY,
            BinanceSigner::hmac_sha256(b"not the secret".to_vec()),
            vec![instrument()],
        );
        match wrong_secret.account_status().await {
            Err(BinanceClientError::Venue { code, .. }) => assert_eq!(code, -1022, "a bad signature"),
            other => panic!("a wrong secret: {other:?}"),
        }
        assert_eq!(sim.rest_requests("GET", "/sapi/v1/account/status"), 6);
    });
}

/// What a hostile venue could send on the stream, through the client's real parser into a
/// route's balances: each frame a parse error, a refusal or an ignored stale update, and the
/// balances exactly as before.
#[test]
fn hostile_venue_frames_are_parse_errors_or_refusals_and_change_nothing() {
    let mut b = AccountBalances::new(Venue::Binance);
    let btc_usdt = [("BTC", "0.5"), ("USDT", "1000")];
    let snapshot = BalanceSnapshot {
        balances: btc_usdt.iter().map(|(a, f)| ((*a).to_owned(), (dec(f), Decimal::ZERO))).collect(),
        ts_ns: 100_000_000,
    };
    b.load(&snapshot);
    let before = shown(&b);
    let frames = [
        // Not decimals, missing fields, bad asset names: the parser's errors.
        r#"{"e":"outboundAccountPosition","E":500,"u":500,"B":[{"a":"USDT","f":"1e3","l":"0"}]}"#,
        r#"{"e":"outboundAccountPosition","E":500,"u":500,"B":[{"a":"USDT","f":"NaN","l":"0"}]}"#,
        r#"{"e":"outboundAccountPosition","E":500,"u":500,"B":[{"a":"US DT","f":"1","l":"0"}]}"#,
        r#"{"e":"outboundAccountPosition","E":500,"B":[{"a":"USDT","f":"1"}]}"#,
        r#"{"e":"balanceUpdate","E":500,"a":"USDT","d":"0x10","T":500}"#,
        r#"{"e":"balanceUpdate","E":"soon","a":"USDT","d":"1","T":500}"#,
        // Parseable, impossible: the balances' refusals.
        r#"{"e":"outboundAccountPosition","E":500,"u":500,"B":[{"a":"USDT","f":"-5","l":"0"}]}"#,
        r#"{"e":"balanceUpdate","E":500,"a":"BTC","d":"-100","T":500}"#,
        // Parseable and older than the state: ignored.
        r#"{"e":"outboundAccountPosition","E":99,"u":99,"B":[{"a":"USDT","f":"1","l":"0"}]}"#,
    ];
    let (mut parse_errors, mut refused, mut stale) = (0, 0, 0);
    for frame in frames {
        let event: serde_json::Value = serde_json::from_str(frame).unwrap();
        match balance_updates(&event, 0) {
            Err(_) => parse_errors += 1,
            Ok(updates) => {
                for u in updates {
                    match b.apply(&u) {
                        Err(_) => refused += 1,
                        Ok(BalanceApplied::Stale) => stale += 1,
                        Ok(other) => panic!("{frame} was {other:?}"),
                    }
                }
            }
        }
    }
    assert_eq!((parse_errors, refused, stale), (6, 2, 1));
    assert_eq!(shown(&b), before);
}
