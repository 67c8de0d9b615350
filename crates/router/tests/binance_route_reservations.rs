//! A Binance route's reservations end to end, over 127.0.0.1 (the route as live and paper
//! routes build it, the simulator checking funds; book 58000.00 x 1 / 59000.00 x 1): each order
//! sent holds what it can take of the free balance until the venue's balances include it, so
//! orders sent back to back are checked against what the others left; a replace's new order
//! and an amend up are checked net of what they give back; every reservation is released when
//! its order rests, fills, is canceled, rejected or expires, and the route's available balance
//! is then the venue's to the unit.

mod common;
mod execution_common;
mod funds_common;
mod route_balances_common;

use std::time::Duration;

use common::*;
use execution_common::{events_until, new_order};
use route_balances_common::*;
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, Execution, OrderRequest, OrderTif, RejectReason};
use wintermute_mm::types::Side as MmSide;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::reservations::Reserve;

/// USDT in the instrument's notional units (tick × lot: 0.01 × 0.000001 = 1e-8 USDT).
fn usdt(price: &str, qty: &str) -> i64 {
    ticks(price) * lots(qty)
}

/// Waits until the route holds no reservation, at most 5 s.
async fn released(exec: &RoutedExecution) {
    for _ in 0..500 {
        if exec.reserved() == Reserve::default() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("reservations never released: {:?}", exec.reserved());
}

/// No reservation left, and the route's balances are the venue's.
async fn settled(exec: &RoutedExecution, sim: &wintermute_router::binance::sim::BinanceSim) {
    released(exec).await;
    let venue_assets: Vec<String> = sim.balances_of(HMAC_KEY).into_iter().map(|(a, _)| a).collect();
    let b = balances_until(exec, |b| venue_assets.iter().all(|a| free_locked(b, a) == venue_free_locked(sim, a))).await;
    assert!(!b.resync_due());
    assert_eq!(exec.reserved(), Reserve::default(), "nothing reserved once the venue's balances say it all");
}

fn insufficient(e: ExecError) -> (u64, i64, i64) {
    match e {
        ExecError::InsufficientBalance { client_id, qty, coverable, .. } => (client_id, qty, coverable),
        other => panic!("not a refusal for funds: {other:?}"),
    }
}

#[test]
fn orders_sent_back_to_back_are_checked_against_what_the_others_left() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0.01")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;

        // Sent at once, one after the other: the venue has answered none of them yet.
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: usdt("57000", "0.01") });
        let e = exec.submit(0, &new_order(2, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap_err();
        // 430 USDT left: 0.007543 BTC at 57000.00.
        assert_eq!(insufficient(e), (2, lots("0.008"), lots("0.007543")));
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007543")));
        exec.submit(0, &new_order(3, MmSide::Sell, ticks("60000"), lots("0.006"), OrderTif::Gtc)).unwrap();
        let e = exec.submit(0, &new_order(4, MmSide::Sell, ticks("60000"), lots("0.005"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("0.005"), lots("0.004")));
        assert_eq!(exec.reserved(), Reserve { base_lots: lots("0.006"), quote_units: usdt("57000", "0.01") });

        let events =
            events_until(&mut exec, |e| e.iter().filter(|e| matches!(e, ExecEvent::Accepted { .. })).count() == 2)
                .await;
        assert!(events.iter().all(|e| [1, 3].contains(&e.client_id())), "{events:?}");
        // The venue's balances now hold both orders; the reservations are gone, not counted twice.
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("430".into(), "570".into()));
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007543")));
        assert_eq!(exec.coverable_qty(MmSide::Sell, ticks("60000")), Some(lots("0.004")));
        assert_eq!(sim.open_order_count("BTCUSDT"), 2, "the refused orders never reached the venue");
    });
}

#[test]
fn reservations_are_released_on_fill_cancel_reject_and_expiry() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;

        // Filled: an IOC buy at the ask (the buyer's commission comes out of the BTC).
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("59000"), lots("0.01"), OrderTif::Ioc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(exec.balances().unwrap().free("USDT"), Some(dec("410")));

        // Canceled while resting.
        exec.submit(0, &new_order(2, MmSide::Buy, ticks("57000"), lots("0.005"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        exec.submit(0, &ExecCommand::Cancel { client_id: 2 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("410".into(), "0".into()));

        // Rejected by the venue (a post-only buy at the ask would cross).
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("59000"), lots("0.001"), OrderTif::PostOnly)).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("59000", "0.001"));
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }))).await;
        assert!(events.iter().any(|e| matches!(e, ExecEvent::Rejected { reason: RejectReason::WouldCross, .. })));
        released(&exec).await;

        // Expired: an IOC below the ask.
        exec.submit(0, &new_order(4, MmSide::Buy, ticks("57000"), lots("0.001"), OrderTif::Ioc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("410".into(), "0".into()));
        // What the balance covers is the venue's free balance again: 410 USDT at 57000.00.
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007192")));
    });
}

#[test]
fn a_replace_and_an_amend_up_are_checked_net_of_what_the_order_gives_back() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        settled(&exec, &sim).await;

        // 430 free and the 570 the replaced order gives back: 969 fits, 1026 does not.
        let order = |client_id, qty| OrderRequest {
            client_id,
            side: MmSide::Buy,
            price: ticks("57000"),
            qty: lots(qty),
            tif: OrderTif::Gtc,
        };
        let e = exec.replace(0, 1, &order(2, "0.018")).unwrap_err();
        assert_eq!(insufficient(e), (2, lots("0.018"), lots("0.017543")));
        exec.replace(0, 1, &order(3, "0.017")).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("57000", "0.007"), "net of what the old order frees");
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 1, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("31".into(), "969".into()));

        // An amend up needs what it adds: 31 free covers 0.0005 more, not 0.001.
        let e = exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.018") }).unwrap_err();
        assert_eq!(insufficient(e), (3, lots("0.018"), lots("0.017543")));
        exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.0175") }).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("57000", "0.0005"));
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 3, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("2.5".into(), "997.5".into()));

        // An amend down reserves nothing; the cancel gives everything back.
        exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.001") }).unwrap();
        assert_eq!(exec.reserved(), Reserve::default());
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 3, .. }))).await;
        exec.submit(0, &ExecCommand::Cancel { client_id: 3 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 3, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("1000".into(), "0".into()));
    });
}

/// A pseudo-random walk (fixed seed): orders in bursts, IOCs filled at the ask, cancels, and
/// either replaces and amends or other participants' trades filling resting orders (not both:
/// a replace or an amend up counting on what an order gives back while it fills unseen is a
/// race the route cannot see coming), the route's balance close to exhausted all along. No
/// order is refused for funds but those the route refuses itself when an order it counted on
/// had ended unseen, and once everything has ended, nothing is reserved and the route's
/// balances are the venue's.
async fn random_walk(resting_fills: bool) {
    {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0.02")]).await;
        let mut exec = route(&sim, Duration::from_millis(5));
        balances_until(&exec, |b| !b.resync_due()).await;
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (buy_px, sell_px, ask) = (ticks("57500"), ticks("59500"), ticks("59000"));
        let lot = lots("0.001");
        let mut live: Vec<u64> = Vec::new();
        let (mut replaced, mut amended) = (Vec::new(), Vec::new());
        let (mut sent, mut refused, mut all) = (0u32, 0u32, Vec::new());
        let mut buf = wintermute_mm::execution::ExecEvents::new();
        for id in 1..=400u64 {
            let qty = lot * (1 + next(6) as i64);
            let result = match next(10) {
                0..=2 => exec.submit(0, &new_order(id, MmSide::Buy, buy_px, qty, OrderTif::Gtc)),
                3..=4 => exec.submit(0, &new_order(id, MmSide::Sell, sell_px, qty, OrderTif::Gtc)),
                5 => exec.submit(0, &new_order(id, MmSide::Buy, ask, qty, OrderTif::Ioc)),
                6 if !live.is_empty() && !resting_fills => {
                    let old = live[next(live.len() as u64) as usize];
                    replaced.push((id, old));
                    let side = if next(2) == 0 { MmSide::Buy } else { MmSide::Sell };
                    let price = if side == MmSide::Buy { buy_px } else { sell_px };
                    exec.replace(0, old, &OrderRequest { client_id: id, side, price, qty, tif: OrderTif::Gtc })
                }
                7 if !live.is_empty() && !resting_fills => {
                    let target = live[next(live.len() as u64) as usize];
                    amended.push(target);
                    exec.submit(0, &ExecCommand::Amend { client_id: target, new_qty: qty })
                }
                8 if !live.is_empty() => {
                    exec.submit(0, &ExecCommand::Cancel { client_id: live[next(live.len() as u64) as usize] })
                }
                _ if !resting_fills => Ok(()),
                _ => {
                    let (price, qty) = if next(2) == 0 { ("57500", "0.002") } else { ("59500", "0.002") };
                    sim.trade_at("BTCUSDT", price, qty).unwrap();
                    Ok(())
                }
            };
            match result {
                Ok(()) => sent += 1,
                Err(ExecError::InsufficientBalance { .. }) => refused += 1,
                // The route's queue is full while the simulator waits for this task: let it run.
                Err(ExecError::InFlightFull { .. }) => tokio::time::sleep(Duration::from_millis(2)).await,
                Err(e) => panic!("{e:?}"),
            }
            if next(4) == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            buf.clear();
            exec.poll(0, &mut buf);
            for e in buf.iter() {
                match *e {
                    ExecEvent::Accepted { client_id, .. } => live.push(client_id),
                    ExecEvent::Filled { client_id, open_qty: 0, .. }
                    | ExecEvent::Canceled { client_id, .. }
                    | ExecEvent::Rejected { client_id, .. } => live.retain(|&c| c != client_id),
                    _ => {}
                }
                all.push(*e);
            }
        }
        // Everything still open is canceled (its events polled first, so nothing is missed).
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            buf.clear();
            exec.poll(0, &mut buf);
            all.extend(buf.iter().copied());
            let ended = |id: u64| {
                all.iter().any(|e| {
                    e.client_id() == id
                        && matches!(
                            e,
                            ExecEvent::Filled { open_qty: 0, .. }
                                | ExecEvent::Canceled { .. }
                                | ExecEvent::Rejected { .. }
                        )
                })
            };
            let open: Vec<u64> =
                (1..=400u64).filter(|&id| all.iter().any(|e| e.client_id() == id) && !ended(id)).collect();
            if open.is_empty() && sim.open_order_count("BTCUSDT") == 0 {
                break;
            }
            for client_id in open {
                let _ = exec.submit(0, &ExecCommand::Cancel { client_id });
            }
        }
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        settled(&exec, &sim).await;
        all.extend(events_until(&mut exec, |_| true).await);
        // Refusals: cancels and amends of orders already gone, and what the route refuses
        // itself when an order it counted on giving funds back had ended unseen (an IOC filled
        // before the replace or the amend up reached it): the new order of a replace whose
        // cancel the venue refused, an amend up of an order that filled. Nothing else, and
        // nothing the venue refused for funds.
        let gone = |id: u64| {
            all.iter().any(
                |e| matches!(e, ExecEvent::Rejected { client_id, reason: RejectReason::UnknownOrder, .. } if *client_id == id),
            )
        };
        let filled = |id: u64| all.iter().any(|e| matches!(e, ExecEvent::Filled { client_id, .. } if *client_id == id));
        let ended_unseen = |id: u64| {
            replaced.iter().any(|&(new, old)| new == id && gone(old)) || (amended.contains(&id) && filled(id))
        };
        // (The venue's order-rate limit may refuse some of a burst: `TooManyOrders`, not funds.)
        let refusals: Vec<_> = all
            .iter()
            .filter(|e| {
                matches!(e, ExecEvent::Rejected { reason, .. }
                    if !matches!(reason, RejectReason::UnknownOrder | RejectReason::TooManyOrders))
            })
            .collect();
        let unexplained: Vec<_> = refusals.iter().filter(|e| !ended_unseen(e.client_id())).collect();
        assert!(unexplained.is_empty(), "refused for funds: {unexplained:?}");
        assert!(refusals.len() * 20 < sent as usize, "races are rare: {} of {sent}", refusals.len());
        assert!(sent > 100 && refused > 20, "sent={sent} refused={refused}");
    }
}

#[test]
fn a_random_walk_with_replaces_and_amends_never_overdraws_and_leaves_nothing_reserved() {
    run(random_walk(false));
}

#[test]
fn a_random_walk_with_resting_fills_never_overdraws_and_leaves_nothing_reserved() {
    run(random_walk(true));
}
