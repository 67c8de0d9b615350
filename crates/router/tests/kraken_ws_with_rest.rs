//! The Kraken WebSocket client with its REST companion (`KrakenWsClient::with_rest`), end to
//! end against the simulator's two fronts: tokens fetched by the client itself, and what a
//! reconnect's snapshot cannot tell (orders canceled or filled while away, fills past its last
//! 50) settled over REST, each fill counted once. The book is the recorded XBT/USD one (best
//! ask 58729.4); the test's orders rest above it and fill when another participant trades.

mod common;
mod kraken_common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::run;
use kraken_common::*;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_client::{KrakenWsClient, KrakenWsError};
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::venue::{ErrorKind, VenueClient};

const WAIT: Duration = Duration::from_secs(2);

/// A simulator with its WebSocket front, and a WebSocket client relying on a REST client of the
/// same key (not connected yet: it fetches its own token on first use).
async fn setup() -> (KrakenSim, KrakenWsClient) {
    let mut sim = sim_with(roomy).await;
    let ws_addr = sim.start_ws().await.unwrap();
    let rest = client_with(&sim, ROOMY);
    let ws = KrakenWsClient::with_rest(&format!("ws://{ws_addr}/v2"), None, rest, vec![ws_pair()]).unwrap();
    (sim, ws)
}

/// Reads pushed reports until `done` holds for the client's table (bounded).
async fn until(ws: &mut KrakenWsClient, done: impl Fn(&KrakenWsClient) -> bool) {
    for _ in 0..20 {
        if done(ws) {
            return;
        }
        ws.next_reports(WAIT).await.unwrap();
    }
    assert!(done(ws), "the pushed executions arrived");
}

/// Closes every WebSocket connection and waits until the simulator has closed their sessions
/// (so nothing done afterwards is pushed to the old connection).
async fn drop_connections(sim: &KrakenSim) {
    sim.drop_ws_connections();
    for _ in 0..200 {
        if sim.ws_connections() == 0 && sim.ws_subscribers() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the simulator closed its sessions");
}

fn trade_ids_of(ws: &KrakenWsClient, client_order_id: &str) -> BTreeSet<u64> {
    ws.orders().get(client_order_id).unwrap().fills().map(|f| f.trade_id).collect()
}

#[test]
fn orders_filled_and_canceled_while_disconnected_are_settled_once_after_a_reconnect_with_an_expired_token() {
    run(async {
        let (sim, mut ws) = setup().await;
        assert_eq!(ws.tokens_fetched(), 0, "nothing fetched before the first use");
        ws.place(&order("w-a", Side::Sell, "0.5", limit("58740", TimeInForce::Gtc))).await.unwrap();
        ws.place(&order("w-b", Side::Sell, "0.2", limit("58800", TimeInForce::Gtc))).await.unwrap();
        ws.place(&order("w-c", Side::Sell, "0.1", limit("58900", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(ws.tokens_fetched(), 1, "the first connection fetched its token");
        sim.trade_at("XBTUSD", "58740", "0.2").unwrap();
        until(&mut ws, |c| c.orders().get("w-a").unwrap().filled_qty() == lots("0.2")).await;

        // Away: w-a fills completely in 60 trades (more than the snapshot's 50), w-b is canceled
        // (over REST, by the same key), w-c rests untouched; then every token expires.
        drop_connections(&sim).await;
        for _ in 0..60 {
            assert_eq!(sim.trade_at("XBTUSD", "58740", "0.005").unwrap(), 1);
        }
        let mut other = client_with(&sim, ROOMY);
        let _ = other.cancel("XBTUSD", "w-b").await; // not in that client's table: the venue cancels
        assert_eq!(sim.open_order_count(), 1);
        sim.expire_ws_tokens();

        let summary = ws.reconcile("XBTUSD").await.unwrap();
        assert_eq!(ws.tokens_fetched(), 2, "the reconnect fetched a fresh token by itself");
        assert_eq!(summary.new_fills, 60, "each fill made while away counted once: {summary:?}");
        let a = ws.orders().get("w-a").unwrap();
        assert_eq!((a.status(), a.filled_qty(), a.fills().count()), (OrderStatus::Filled, lots("0.5"), 61));
        let venue_a: BTreeSet<u64> = sim.trades().iter().filter(|t| t.1 == "w-a").map(|t| t.0).collect();
        assert_eq!(trade_ids_of(&ws, "w-a"), venue_a, "the client's fills are the venue's trades");
        assert_eq!(ws.orders().get("w-b").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(ws.orders().get("w-c").unwrap().status(), OrderStatus::New);
        assert!(ws.unlisted().is_empty(), "nothing left for anyone else to settle: {:?}", ws.unlisted());

        // Reconciling again changes nothing; live again, w-c's fill is pushed.
        let again = ws.reconcile("XBTUSD").await.unwrap();
        assert_eq!((again.new_fills, again.status_changes), (0, 0), "{again:?}");
        sim.trade_at("XBTUSD", "58900", "0.1").unwrap();
        until(&mut ws, |c| c.orders().get("w-c").unwrap().status() == OrderStatus::Filled).await;
        assert_eq!(ws.orders().get("w-a").unwrap().filled_qty(), lots("0.5"));
    });
}

#[test]
fn an_order_whose_answer_was_lost_and_that_ended_while_away_is_read_back_by_its_client_id() {
    run(async {
        let (sim, mut ws) = setup().await;
        ws.place(&order("w-x", Side::Sell, "0.1", limit("58900", TimeInForce::Gtc))).await.unwrap();
        // The venue takes the next order and the connection drops before its answer; the order
        // is then canceled (by the same key over REST) before the client is back.
        sim.lose_next_responses(1);
        let lost = ws.place(&order("w-lost", Side::Sell, "0.3", limit("58750", TimeInForce::Gtc))).await;
        assert!(matches!(&lost, Err(e) if KrakenWsClient::error_kind(e) == ErrorKind::Transport), "{lost:?}");
        assert_eq!(ws.orders().get("w-lost").unwrap().venue_order_id, None);
        let _ = client_with(&sim, ROOMY).cancel("XBTUSD", "w-lost").await;
        assert_eq!(sim.open_order_count(), 1);
        let summary = ws.reconcile("XBTUSD").await.unwrap();
        let settled = ws.orders().get("w-lost").unwrap();
        assert_eq!(settled.status(), OrderStatus::Canceled, "{summary:?}");
        assert!(settled.venue_order_id.as_deref().is_some_and(|t| t.starts_with('O')), "its txid, from ClosedOrders");
        assert_eq!(ws.orders().get("w-x").unwrap().status(), OrderStatus::New);
        assert!(ws.unlisted().is_empty());
    });
}

#[test]
fn a_token_the_venue_stops_accepting_is_replaced_and_the_request_sent_again() {
    run(async {
        let (sim, mut ws) = setup().await;
        ws.place(&order("t-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc))).await.unwrap();
        sim.expire_ws_tokens();
        let placed = ws.place(&order("t-2", Side::Buy, "0.1", limit("57990", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New, "{placed:?}");
        assert_eq!(ws.tokens_fetched(), 2);
        assert_eq!(sim.open_order_count(), 2);
        assert!(ws.is_connected(), "the same connection, a new token");
    });
}

#[test]
fn without_a_reachable_rest_client_an_order_is_rejected_as_not_sent() {
    run(async {
        let (sim, _) = setup().await;
        // The REST front is unreachable: no token, no connection, nothing sent.
        let rest = wintermute_router::kraken::client::KrakenRestClient::new(
            "127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap(),
            KEY,
            wintermute_router::signing::KrakenSigner::new(SECRET).unwrap(),
            vec![pair()],
            ROOMY,
        );
        let url = format!("ws://{}/v2", sim.ws_addr().unwrap());
        let mut ws = KrakenWsClient::with_rest(&url, None, rest, vec![ws_pair()]).unwrap();
        let first = order("n-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc));
        let err = KrakenWsClient::place(&mut ws, &first).await.unwrap_err();
        assert!(matches!(err, KrakenWsError::Rest(_)), "{err:?}");
        assert_eq!(KrakenWsClient::error_kind(&err), ErrorKind::Transport);
        let reports = VenueClient::place(&mut ws, &order("n-2", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc)))
            .await
            .unwrap();
        assert!(
            matches!(&reports[0].kind, ReportKind::Rejected { reason, .. } if reason.starts_with("not sent:")),
            "{reports:?}"
        );
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn a_refused_token_with_no_new_one_to_be_had_leaves_the_order_rejected_not_unknown() {
    run(async {
        let mut sim = sim_with(roomy).await;
        let ws_addr = sim.start_ws().await.unwrap();
        // The REST client's own API counter allows one call: the first token, then no more.
        let one_call = wintermute_router::kraken::rate::Tier { api_max: 1, api_decay_milli_per_s: 1, ..ROOMY };
        let rest = client_with(&sim, one_call);
        let mut ws = KrakenWsClient::with_rest(&format!("ws://{ws_addr}/v2"), None, rest, vec![ws_pair()]).unwrap();
        ws.place(&order("t-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc))).await.unwrap();
        sim.expire_ws_tokens();
        let refused = ws.place(&order("t-2", Side::Buy, "0.1", limit("57990", TimeInForce::Gtc))).await.unwrap();
        assert!(
            matches!(&refused[0].kind, ReportKind::Rejected { reason, .. } if reason == "EAPI:Invalid key"),
            "{refused:?}"
        );
        assert_eq!(ws.orders().get("t-2").unwrap().status(), OrderStatus::Rejected);
        assert_eq!((ws.tokens_fetched(), sim.open_order_count()), (1, 1));
    });
}
