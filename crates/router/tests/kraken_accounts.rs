//! Each API key of the Kraken simulator is an account of its own: its orders, balances and
//! fills. One key never sees, queries or cancels another's orders, over REST or the WebSocket
//! front (two keys on one simulator, over 127.0.0.1, through the real clients); their orders
//! trade with each other as two participants' on the venue, each side in its own account.

mod common;
mod kraken_common;

use std::time::Duration;

use bytes::Bytes;
use common::run;
use http_body_util::Full;
use hyper::Request;
use kraken_common::*;
use serde_json::Value;
use wintermute_core::decimal::Decimal;
use wintermute_router::http::HttpConnection;
use wintermute_router::kraken::client::KrakenRestClient;
use wintermute_router::kraken::sim::{KrakenSim, KrakenSimConfig};
use wintermute_router::kraken::ws_client::KrakenWsClient;
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::signing::KrakenSigner;

const OTHER_KEY: &str = "kraken-other-key";

fn two_keys(cfg: &mut KrakenSimConfig) {
    roomy(cfg);
    cfg.keys.push((OTHER_KEY.into(), OTHER_SECRET.into()));
}

fn other_client(sim: &KrakenSim) -> KrakenRestClient {
    KrakenRestClient::new(sim.addr(), OTHER_KEY, KrakenSigner::new(OTHER_SECRET).unwrap(), vec![pair()], ROOMY)
}

/// A signed form POST of `method` with `params` after a nonce (microseconds now, as the
/// clients' nonces) by this key.
async fn call(sim: &KrakenSim, key: &str, secret: &str, method: &str, params: &str) -> Value {
    let path = format!("/0/private/{method}");
    let nonce = (wintermute_router::order::local_ns() / 1000).to_string();
    let body = if params.is_empty() { format!("nonce={nonce}") } else { format!("nonce={nonce}&{params}") };
    let sign = KrakenSigner::new(secret).unwrap().api_sign(&path, &nonce, &body);
    let request = Request::builder()
        .method("POST")
        .uri(&path)
        .header("host", sim.addr().to_string())
        .header("api-key", key)
        .header("api-sign", sign)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let answer = HttpConnection::new(sim.addr()).send(request).await.unwrap();
    serde_json::from_slice(&answer.body).unwrap()
}

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

#[test]
fn one_key_never_sees_queries_or_cancels_another_keys_orders() {
    run(async {
        let sim = sim_with(two_keys).await;
        let mut mine = client_with(&sim, ROOMY);
        let mut theirs = other_client(&sim);
        let placed = mine.place(&order("a-1", Side::Buy, "0.01", post_only("58700"))).await.unwrap();
        let txid = placed[0].venue_order_id.clone().unwrap();

        // Canceling by the other key's cl_ord_id or txid: unknown to this account.
        let refused = call(&sim, OTHER_KEY, OTHER_SECRET, "CancelOrder", "cl_ord_id=a-1").await;
        assert_eq!(refused["error"][0], "EOrder:Unknown order");
        let by_txid = call(&sim, OTHER_KEY, OTHER_SECRET, "CancelOrder", &format!("txid={txid}")).await;
        assert_eq!(by_txid["error"][0], "EOrder:Unknown order");
        let queried = call(&sim, OTHER_KEY, OTHER_SECRET, "QueryOrders", &format!("txid={txid}")).await;
        assert_eq!(queried["error"][0], "EOrder:Invalid order");
        let open = call(&sim, OTHER_KEY, OTHER_SECRET, "OpenOrders", "").await;
        assert_eq!(open["result"]["open"], serde_json::json!({}), "{open}");
        let own_open = call(&sim, KEY, SECRET, "OpenOrders", "").await;
        assert!(own_open["result"]["open"].get(&txid).is_some(), "{own_open}");

        // The same cl_ord_id in another account is no duplicate.
        let same_id = theirs.place(&order("a-1", Side::Sell, "0.01", post_only("58800"))).await.unwrap();
        assert_eq!(same_id[0].kind, ReportKind::New);
        assert_eq!((sim.open_order_count_of(KEY), sim.open_order_count_of(OTHER_KEY)), (1, 1));

        // The other key's kill switch (CancelAll) cancels its own order only.
        assert_eq!(theirs.kill_switch().await.unwrap(), 1);
        assert_eq!((sim.open_order_count_of(KEY), sim.open_order_count_of(OTHER_KEY)), (1, 0));
        assert_eq!(theirs.orders().get("a-1").unwrap().status(), OrderStatus::Canceled);
        mine.reconcile_all().await.unwrap();
        assert_eq!(mine.orders().get("a-1").unwrap().status(), OrderStatus::New);
        assert_eq!(sim.open_order_qty("a-1"), Some(lots("0.01")));
    });
}

#[test]
fn each_key_has_its_own_balances_and_fills() {
    run(async {
        let sim = sim_with(|cfg| {
            two_keys(cfg);
            funded(cfg, &[("ZUSD", "1000")]);
        })
        .await;
        let mut mine = client_with(&sim, ROOMY);
        let mut theirs = other_client(&sim);
        mine.place(&order("m-1", Side::Buy, "0.01", OrderType::Market)).await.unwrap();
        assert_eq!(mine.orders().get("m-1").unwrap().status(), OrderStatus::Filled);
        // 0.01 at 58729.4, plus the 0.26 % fee, out of this key's USD only.
        assert_eq!(sim.balances_of(KEY)["XXBT"], dec("0.01"));
        assert_eq!(sim.balances_of(KEY)["ZUSD"].raw(), dec("411.1790356").raw());
        assert_eq!(sim.balances_of(OTHER_KEY)["ZUSD"], dec("1000"));
        assert!(!sim.balances_of(OTHER_KEY).contains_key("XXBT"));

        // The other account still has its 1000 USD to spend, and nothing to sell.
        let spend = theirs.place(&order("t-1", Side::Buy, "0.016", post_only("58700"))).await.unwrap();
        assert_eq!(spend[0].kind, ReportKind::New, "{spend:?}");
        let sell = theirs.place(&order("t-2", Side::Sell, "0.001", OrderType::Market)).await.unwrap();
        assert_eq!(sell[0].kind, ReportKind::Rejected { code: None, reason: "EOrder:Insufficient funds".into() });

        // Its trade history holds none of this key's fills.
        let summary = theirs.reconcile_all().await.unwrap();
        assert_eq!((summary.new_fills, summary.unknown_trades), (0, 0));
        let history = call(&sim, OTHER_KEY, OTHER_SECRET, "TradesHistory", "").await;
        assert_eq!(history["result"]["count"], 0, "{history}");
        let own = call(&sim, KEY, SECRET, "TradesHistory", "").await;
        assert_eq!(own["result"]["count"], 1, "{own}");
        let balance = call(&sim, OTHER_KEY, OTHER_SECRET, "Balance", "").await;
        assert_eq!(balance["result"]["ZUSD"], "1000", "{balance}");

        sim.set_balance_of(OTHER_KEY, "ZUSD", dec("5"));
        assert_eq!(sim.balances_of(KEY)["ZUSD"].raw(), dec("411.1790356").raw());
    });
}

#[test]
fn a_websocket_session_gets_only_its_own_keys_executions_and_cancels_only_its_orders() {
    run(async {
        let mut sim = sim_with(two_keys).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let mut mine_rest = client_with(&sim, ROOMY);
        let mut theirs_rest = other_client(&sim);
        let token = mine_rest.websockets_token().await.unwrap();
        let other_token = theirs_rest.websockets_token().await.unwrap();
        let mut mine = KrakenWsClient::connect(ws_addr, &token, vec![ws_pair()]).await.unwrap();
        let mut theirs = KrakenWsClient::connect(ws_addr, &other_token, vec![ws_pair()]).await.unwrap();

        mine.place(&order("w-1", Side::Buy, "0.01", post_only("58700"))).await.unwrap();
        mine.place(&order("w-2", Side::Buy, "0.001", OrderType::Market)).await.unwrap();
        sim.trade_at("XBTUSD", "58700", "0.005").unwrap();
        let mut seen = Vec::new();
        for _ in 0..10 {
            if mine.orders().get("w-1").is_some_and(|o| o.filled_qty() == lots("0.005")) {
                break;
            }
            seen.extend(mine.next_reports(Duration::from_millis(300)).await.unwrap());
        }
        assert_eq!(mine.orders().get("w-1").unwrap().filled_qty(), lots("0.005"), "{seen:?}");

        // The other session was told nothing of them.
        let told = theirs.next_reports(Duration::from_millis(300)).await.unwrap();
        assert!(told.is_empty(), "{told:?}");
        assert_eq!(theirs.unattributed_executions(), 0);
        // Its cancel_all leaves them resting.
        assert_eq!(theirs.cancel_all_orders().await.unwrap(), 0);
        assert_eq!(sim.open_order_count_of(KEY), 1);
    });
}

/// Both keys reconcile; then the other key's buy `b-1` has taken 0.004 of this key's resting
/// sell `a-1` at 58500.0, each with its own side of the fill, and only `a-1` rests.
async fn the_buy_took_part_of_the_sell(sim: &KrakenSim, mine: &mut KrakenRestClient, theirs: &mut KrakenRestClient) {
    theirs.reconcile_all().await.unwrap();
    mine.reconcile_all().await.unwrap();
    let taker = theirs.orders().get("b-1").unwrap();
    assert_eq!(taker.status(), OrderStatus::Filled);
    let fills: Vec<_> = taker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
    assert_eq!(fills, vec![(ticks("58500"), lots("0.004"), false)]);
    let maker = mine.orders().get("a-1").unwrap();
    assert_eq!((maker.status(), maker.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.004")));
    let fills: Vec<_> = maker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
    assert_eq!(fills, vec![(ticks("58500"), lots("0.004"), true)]);
    assert_eq!((sim.open_order_count_of(KEY), sim.open_order_count_of(OTHER_KEY)), (1, 0));
}

/// Each account's `TradesHistory` holds its own side of the one trade at 58500.0 (this key
/// sold, the other bought), with these fees (this key's, the other's) where given.
async fn each_history_holds_its_side(sim: &KrakenSim, fees: [Option<&str>; 2]) {
    let sides = [(KEY, SECRET, "sell", fees[0]), (OTHER_KEY, OTHER_SECRET, "buy", fees[1])];
    for (key, secret, kind, fee) in sides {
        let history = call(sim, key, secret, "TradesHistory", "").await;
        assert_eq!(history["result"]["count"], 1, "{history}");
        let trade = history["result"]["trades"].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!((trade["type"].as_str(), trade["price"].as_str()), (Some(kind), Some("58500.0")), "{trade}");
        if let Some(fee) = fee {
            assert_eq!(dec(trade["fee"].as_str().unwrap()).raw(), dec(fee).raw(), "{trade}");
        }
    }
}

#[test]
fn one_keys_order_fills_another_keys_resting_order_each_account_with_its_own_side() {
    run(async {
        let sim = sim_with(|cfg| {
            two_keys(cfg);
            funded(cfg, &[("ZUSD", "1000"), ("XXBT", "1")]);
        })
        .await;
        // The book far from the trade: 58000.0 / 59000.0.
        sim.set_book("XBTUSD", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut mine = client_with(&sim, ROOMY);
        let mut theirs = other_client(&sim);
        mine.place(&order("a-1", Side::Sell, "0.01", post_only("58500"))).await.unwrap();
        // The other key buys up to 58600.0: it takes the resting sell at its price, not the book.
        theirs.place(&order("b-1", Side::Buy, "0.004", limit("58600", TimeInForce::Gtc))).await.unwrap();
        the_buy_took_part_of_the_sell(&sim, &mut mine, &mut theirs).await;
        assert_eq!(sim.open_order_qty("a-1"), Some(lots("0.01")), "the rest of the sell still rests");

        // 0.004 at 58500.0 is 234.0 USD; each side pays the 0.26 % fee, 0.6084 USD.
        let (a, b) = (sim.balances_of(KEY), sim.balances_of(OTHER_KEY));
        assert_eq!((a["XXBT"].raw(), a["ZUSD"].raw()), (dec("0.996").raw(), dec("1233.3916").raw()), "{a:?}");
        assert_eq!((b["XXBT"].raw(), b["ZUSD"].raw()), (dec("1.004").raw(), dec("765.3916").raw()), "{b:?}");
        // Each account's history holds its own side of the trade only.
        each_history_holds_its_side(&sim, [None, None]).await;

        // A post-only buy that would take the rest of the resting sell is refused, as one
        // crossing the book.
        let crossing = theirs.place(&order("b-2", Side::Buy, "0.001", post_only("58500"))).await.unwrap();
        assert!(matches!(crossing[0].kind, ReportKind::Rejected { .. }), "{crossing:?}");
        assert_eq!(sim.open_order_qty("a-1"), Some(lots("0.01")));
    });
}

#[test]
fn an_amend_moving_a_price_across_another_keys_resting_order_trades_as_the_taker() {
    run(async {
        let sim = sim_with(|cfg| {
            two_keys(cfg);
            funded(cfg, &[("ZUSD", "1000"), ("XXBT", "1")]);
            // Kraken's Starter fees: 0.16 % maker, 0.26 % taker.
            cfg.maker_fee_rate = Some(dec("0.0016"));
        })
        .await;
        sim.set_book("XBTUSD", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut mine = client_with(&sim, ROOMY);
        let mut theirs = other_client(&sim);
        mine.place(&order("a-1", Side::Sell, "0.01", post_only("58500"))).await.unwrap();
        let placed = theirs.place(&order("b-1", Side::Buy, "0.004", limit("58300", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New, "{placed:?}");
        assert!(sim.trades().is_empty());

        // The other key moves its buy up to 58600.0: it takes the resting sell at 58500.0.
        theirs.amend("XBTUSD", "b-1", None, Some(ticks("58600"))).await.unwrap();
        the_buy_took_part_of_the_sell(&sim, &mut mine, &mut theirs).await;

        // 0.004 at 58500.0 is 234.0 USD: the maker pays 0.16 % (0.3744), the taker 0.26 % (0.6084).
        let (a, b) = (sim.balances_of(KEY), sim.balances_of(OTHER_KEY));
        assert_eq!((a["XXBT"].raw(), a["ZUSD"].raw()), (dec("0.996").raw(), dec("1233.6256").raw()), "{a:?}");
        assert_eq!((b["XXBT"].raw(), b["ZUSD"].raw()), (dec("1.004").raw(), dec("765.3916").raw()), "{b:?}");
        each_history_holds_its_side(&sim, [Some("0.3744"), Some("0.6084")]).await;

        // A post-only amend that would cross is refused and leaves the order as it was; so is
        // one of an order placed post-only.
        theirs.place(&order("b-2", Side::Buy, "0.001", limit("58300", TimeInForce::Gtc))).await.unwrap();
        theirs.place(&order("b-3", Side::Buy, "0.001", post_only("58200"))).await.unwrap();
        let refused =
            call(&sim, OTHER_KEY, OTHER_SECRET, "AmendOrder", "cl_ord_id=b-2&limit_price=58600.0&post_only=true").await;
        assert_eq!(refused["error"][0], "EOrder:Post only order", "{refused}");
        let refused = call(&sim, OTHER_KEY, OTHER_SECRET, "AmendOrder", "cl_ord_id=b-3&limit_price=58600.0").await;
        assert_eq!(refused["error"][0], "EOrder:Post only order", "{refused}");
        let open = call(&sim, OTHER_KEY, OTHER_SECRET, "OpenOrders", "").await;
        let prices: std::collections::BTreeSet<_> = open["result"]["open"]
            .as_object()
            .unwrap()
            .values()
            .map(|o| (o["vol_exec"].as_str().unwrap().to_owned(), o["descr"]["price"].as_str().unwrap().to_owned()))
            .collect();
        let expected = [("0.00000000", "58300.0"), ("0.00000000", "58200.0")];
        assert_eq!(prices, expected.iter().map(|(v, p)| ((*v).to_owned(), (*p).to_owned())).collect(), "{open}");
        assert_eq!(sim.trades().len(), 2, "no trade beyond the amend's two sides");
        // A post-only amend that stays passive is taken.
        let kept =
            call(&sim, OTHER_KEY, OTHER_SECRET, "AmendOrder", "cl_ord_id=b-2&limit_price=58400.0&post_only=true").await;
        assert!(kept["error"].as_array().unwrap().is_empty(), "{kept}");
    });
}

#[test]
fn a_websocket_amend_across_another_keys_order_trades_and_a_post_only_one_is_refused() {
    run(async {
        let mut sim = sim_with(two_keys).await;
        sim.set_book("XBTUSD", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let ws_addr = sim.start_ws().await.unwrap();
        let mut mine = client_with(&sim, ROOMY);
        let mut theirs_rest = other_client(&sim);
        let token = theirs_rest.websockets_token().await.unwrap();
        let mut theirs = KrakenWsClient::connect(ws_addr, &token, vec![ws_pair()]).await.unwrap();
        mine.place(&order("a-1", Side::Sell, "0.01", post_only("58500"))).await.unwrap();
        theirs.place(&order("w-1", Side::Buy, "0.004", limit("58300", TimeInForce::Gtc))).await.unwrap();
        theirs.place(&order("w-2", Side::Buy, "0.001", post_only("58200"))).await.unwrap();

        let refused = theirs.amend("w-2", None, Some(ticks("58600"))).await;
        assert!(format!("{refused:?}").contains("EOrder:Post only order"), "{refused:?}");
        theirs.amend("w-1", None, Some(ticks("58600"))).await.unwrap();
        for _ in 0..10 {
            if theirs.orders().get("w-1").is_some_and(|o| o.status() == OrderStatus::Filled) {
                break;
            }
            theirs.next_reports(Duration::from_millis(300)).await.unwrap();
        }
        let taker = theirs.orders().get("w-1").unwrap();
        assert_eq!(taker.status(), OrderStatus::Filled);
        let fills: Vec<_> = taker.fills().map(|f| (f.price, f.qty)).collect();
        assert_eq!(fills, vec![(ticks("58500"), lots("0.004"))]);
        assert_eq!(sim.open_order_qty("w-2"), Some(lots("0.001")), "the refused amend left w-2 resting");
        assert_eq!(sim.trades().len(), 2);
        mine.reconcile_all().await.unwrap();
        assert_eq!(mine.orders().get("a-1").unwrap().filled_qty(), lots("0.004"));
    });
}
