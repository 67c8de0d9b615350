//! The Kraken WebSocket client's kill switch in one request (`cancel_all`) and the dead man's
//! switch (`cancel_all_orders_after`), against the simulator's WebSocket front: the client arms
//! the switch and pushes it back while it is called; the simulator cancels every order of the
//! account once the trigger time passes with no refresh.

mod common;
mod kraken_common;

use std::time::Duration;

use common::run;
use futures_util::{SinkExt, StreamExt};
use kraken_common::*;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_client::{DeadManSwitch, KrakenWsClient, KrakenWsError};
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, Side};
use wintermute_router::venue::VenueClient;

async fn setup() -> (KrakenSim, KrakenWsClient) {
    let mut sim = sim_with(roomy).await;
    let ws_addr = sim.start_ws().await.unwrap();
    let rest = client_with(&sim, ROOMY);
    let ws = KrakenWsClient::with_rest(&format!("ws://{ws_addr}/v2"), None, rest, vec![ws_pair()]).unwrap();
    (sim, ws)
}

async fn rest_three(ws: &mut KrakenWsClient) {
    for (id, price) in [("k-1", "58000"), ("k-2", "57990"), ("k-3", "57980")] {
        ws.place(&order(id, Side::Buy, "0.1", limit(price, TimeInForce::Gtc))).await.unwrap();
    }
}

fn statuses(ws: &KrakenWsClient, ids: &[&str]) -> Vec<OrderStatus> {
    ids.iter().map(|id| ws.orders().get(id).unwrap().status()).collect()
}

#[test]
fn the_kill_switch_cancels_every_open_order_of_the_account_in_one_cancel_all_request() {
    run(async {
        let (sim, mut ws) = setup().await;
        rest_three(&mut ws).await;
        // An order of the same account placed over REST: adopted from the executions channel.
        let mut rest = client_with(&sim, ROOMY);
        rest.place(&order("r-1", Side::Sell, "0.1", limit("59000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(sim.open_order_count(), 4);
        let count = ws.cancel_all_orders().await.unwrap();
        assert_eq!(count, 4);
        assert_eq!(sim.open_order_count(), 0);
        // The pushed cancels were read by cancel_all itself: no further read needed.
        assert_eq!(statuses(&ws, &["k-1", "k-2", "k-3", "r-1"]), [OrderStatus::Canceled; 4]);
        // Through the generic kill switch: nothing left to cancel, the table unchanged.
        assert_eq!(VenueClient::cancel_all(&mut ws, "XBTUSD").await.unwrap(), 0);
        assert_eq!(statuses(&ws, &["k-1", "k-2", "k-3"]), [OrderStatus::Canceled; 3]);
    });
}

#[test]
fn the_generic_kill_switch_over_the_websocket_reports_how_many_the_venue_canceled() {
    run(async {
        let (sim, mut ws) = setup().await;
        rest_three(&mut ws).await;
        assert_eq!(wintermute_router::venue::kill_switch(&mut ws, "XBTUSD").await.unwrap(), 3);
        assert_eq!(statuses(&ws, &["k-1", "k-2", "k-3"]), [OrderStatus::Canceled; 3]);
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn the_simulator_cancels_every_order_when_the_dead_mans_switch_is_not_pushed_back() {
    run(async {
        let (sim, mut ws) = setup().await;
        ws.set_dead_man_switch(Some(DeadManSwitch::new(2, Duration::from_millis(200)).unwrap()));
        rest_three(&mut ws).await;
        assert!(sim.dead_man_trigger_ms().is_some(), "armed on connecting");
        assert!(ws.dead_man_trigger_time().is_some_and(|t| t.ends_with('Z')));
        // Called every 100 ms for 2.5 s (past the 2 s timeout): the client keeps pushing the
        // trigger back, and the orders stay.
        for _ in 0..25 {
            ws.next_reports(Duration::from_millis(100)).await.unwrap();
        }
        assert_eq!(sim.open_order_count(), 3, "refreshed in time: nothing canceled");
        // The client stops calling (a hung process): the switch fires.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(sim.open_order_count(), 0, "every order canceled by the venue");
        assert_eq!(sim.dead_man_trigger_ms(), None, "disarmed once fired");
        // Back: the pushed cancels reach the table.
        for _ in 0..20 {
            if statuses(&ws, &["k-1", "k-2", "k-3"]) == [OrderStatus::Canceled; 3] {
                break;
            }
            ws.next_reports(Duration::from_millis(200)).await.unwrap();
        }
        assert_eq!(statuses(&ws, &["k-1", "k-2", "k-3"]), [OrderStatus::Canceled; 3]);
        assert!(sim.dead_man_trigger_ms().is_some(), "the client's next call armed it again");
    });
}

#[test]
fn a_disarmed_dead_mans_switch_leaves_the_orders_alone() {
    run(async {
        let (sim, mut ws) = setup().await;
        ws.set_dead_man_switch(Some(DeadManSwitch::new(1, Duration::from_millis(500)).unwrap()));
        rest_three(&mut ws).await;
        assert!(sim.dead_man_trigger_ms().is_some());
        ws.disarm_dead_man_switch().await.unwrap();
        assert_eq!(sim.dead_man_trigger_ms(), None);
        assert_eq!(ws.dead_man_trigger_time(), Some("1970-01-01T00:00:00.000Z"));
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(sim.open_order_count(), 3);
    });
}

#[test]
fn a_dead_mans_switch_timeout_out_of_range_is_refused_by_the_client_and_by_the_simulator() {
    assert!(matches!(DeadManSwitch::new(0, Duration::from_secs(1)), Err(KrakenWsError::Unsupported(_))));
    assert!(DeadManSwitch::new(86_400, Duration::from_secs(1)).is_err());
    assert!(DeadManSwitch::new(10, Duration::from_secs(10)).is_err(), "refreshed no sooner than it fires");
    assert!(DeadManSwitch::new(10, Duration::ZERO).is_err());
    assert_eq!(DeadManSwitch::new(60, Duration::from_secs(20)).unwrap(), DeadManSwitch::RECOMMENDED);
    run(async {
        let mut sim = sim_with(roomy).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let token = client_with(&sim, ROOMY).websockets_token().await.unwrap();
        let (mut raw, _) = tokio_tungstenite::connect_async(format!("ws://{ws_addr}/v2")).await.unwrap();
        let cases = [
            (r#""timeout":86400"#, Some("EGeneral:Invalid arguments:timeout")),
            (r#""timeout":-1"#, Some("EGeneral:Invalid arguments:timeout")),
            (r#""timeout":"soon""#, Some("EGeneral:Invalid arguments:timeout")),
            (r#""timeout":30,"symbol":"BTC/USD""#, Some("EGeneral:Invalid arguments:symbol")),
            (r#""timeout":30"#, None),
        ];
        for (req_id, (params, error)) in cases.into_iter().enumerate() {
            let request = format!(
                r#"{{"method":"cancel_all_orders_after","params":{{{params},"token":"{token}"}},"req_id":{req_id}}}"#
            );
            raw.send(Message::text(request)).await.unwrap();
            let answer = loop {
                let Some(Ok(Message::Text(text))) = raw.next().await else { panic!("an answer") };
                let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if v["req_id"] == req_id {
                    break v;
                }
            };
            assert_eq!(answer["error"].as_str(), error, "{params}: {answer}");
            assert_eq!(answer["success"].as_bool(), Some(error.is_none()));
            if error.is_none() {
                let (now, trigger) =
                    (answer["result"]["currentTime"].as_str(), answer["result"]["triggerTime"].as_str());
                assert!(now.is_some() && trigger.is_some() && trigger > now, "{answer}");
            }
        }
        assert!(sim.dead_man_trigger_ms().is_some());
    });
}
