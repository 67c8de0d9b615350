//! The Coinbase simulator's balances, over 127.0.0.1 through the real REST client: an order the
//! account cannot pay for (fee included) is answered `success: false`, `INSUFFICIENT_FUND`, and
//! nothing rests; open orders hold funds (`GET /api/v3/brokerage/accounts`' `hold`) until filled
//! or canceled; fills move base, quote and the quote fee exactly; two keys' accounts are
//! independent. The book is set to 14.0000 x 100 / 15.0000 x 100; the fee is 0.6 %.

mod coinbase_common;
mod execution_common;
mod funds_common;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::time::{SystemTime, UNIX_EPOCH};

use coinbase_common::*;
use funds_common::{dec, held};
use wintermute_core::decimal::Decimal;
use wintermute_router::coinbase::client::CoinbaseRestClient;
use wintermute_router::coinbase::sim::{CoinbaseSim, CoinbaseSimConfig};
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{ExecutionReport, OrderStatus, ReportKind, Side};
use wintermute_router::signing::CoinbaseJwtSigner;

const INSUFFICIENT: &str = "INSUFFICIENT_FUND: Insufficient balance in source account";
const OTHER_KEY: &str = "organizations/sim/apiKeys/other";

fn run<F: std::future::Future<Output = ()>>(body: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(30), body).await.expect("finished within 30 s");
    });
}

fn funded(cfg: &mut CoinbaseSimConfig, balances: &[(&str, &str)]) {
    cfg.check_funds = true;
    cfg.balances = balances.iter().map(|(a, v)| ((*a).to_owned(), dec(v))).collect();
}

fn reason(reports: &[ExecutionReport]) -> Option<String> {
    reports.iter().find_map(|r| match &r.kind {
        ReportKind::Rejected { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

/// A funded simulator with a second key, the first key's client and its PKCS#8, and the other
/// key's client.
async fn funded_sim(balances: &[(&str, &str)]) -> (CoinbaseSim, CoinbaseRestClient, Vec<u8>, CoinbaseRestClient) {
    let (key, other) = (pkcs8(), pkcs8());
    let other_signer = CoinbaseJwtSigner::new(OTHER_KEY, &other).unwrap();
    let other_public = other_signer.public_key();
    let (sim, client) = sim_and_client(&key, |cfg| {
        funded(cfg, balances);
        cfg.keys.push((OTHER_KEY.into(), other_public));
    })
    .await;
    sim.set_book("BAND-GBP", &[(ticks("14"), lots("100"))], &[(ticks("15"), lots("100"))]).unwrap();
    let theirs = CoinbaseRestClient::new(sim.addr(), HOST, other_signer, vec![product()]);
    (sim, client, key, theirs)
}

/// `GET /api/v3/brokerage/accounts` with the first key's token: each currency's (available, hold).
async fn accounts(sim: &CoinbaseSim, key: &[u8], currency: &str) -> (Decimal, Decimal) {
    const PATH: &str = "/api/v3/brokerage/accounts";
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
    let token = CoinbaseJwtSigner::new(KEY_NAME, key).unwrap().token("GET", HOST, PATH, now);
    let bearer = format!("Bearer {token}");
    let (status, _, body) = raw_http::request(sim.addr(), "GET", PATH, &[("Authorization", &bearer)]).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = body["accounts"].as_array().unwrap();
    let account = list.iter().find(|a| a["currency"] == currency).unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (account["available_balance"]["currency"].as_str(), account["hold"]["currency"].as_str()),
        (Some(currency), Some(currency))
    );
    let value = |v: &serde_json::Value| dec(v["value"].as_str().unwrap());
    (value(&account["available_balance"]), value(&account["hold"]))
}

/// One key's (balance, hold) of `currency` from the simulator.
fn held_by(sim: &CoinbaseSim, key: &str, currency: &str) -> (Decimal, Decimal) {
    held(&sim.balances_of(key), currency)
}

#[test]
fn an_order_beyond_the_balance_is_refused_and_a_cancel_releases_its_hold() {
    run(async {
        let (sim, mut client, key, _) = funded_sim(&[("GBP", "100")]).await;
        // 7 at 14.5000 is 101.5 GBP plus the 0.609 fee: more than the 100 there are.
        let big = client.place(&order("big", Side::Buy, "7", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reason(&big).as_deref(), Some(INSUFFICIENT));
        assert_eq!(client.orders().get("big").unwrap().status(), OrderStatus::Rejected);
        let sell = client.place(&order("s", Side::Sell, "1", limit("16", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reason(&sell).as_deref(), Some(INSUFFICIENT), "no BAND to sell");
        assert_eq!(sim.open_order_count(), 0, "nothing rests");

        // 6 at 14.5000 holds 87 + 0.522.
        let one = client.place(&order("b-1", Side::Buy, "6", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(one[0].kind, ReportKind::New);
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("12.478"), dec("87.522")));
        // The client reads the same, exactly, and lists the base currency too.
        let listed = client.accounts().await.unwrap();
        let normalized = |(a, h): (Decimal, Decimal)| (a.normalized(), h.normalized());
        assert_eq!(normalized(listed["GBP"]), (dec("12.478"), dec("87.522")));
        assert_eq!(normalized(listed["BAND"]), (dec("0"), dec("0")));
        let two = client.place(&order("b-2", Side::Buy, "1", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reason(&two).as_deref(), Some(INSUFFICIENT), "14.587 > 12.478");
        client.cancel("BAND-GBP", "b-1").await.unwrap();
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("100"), dec("0")));
        // A market buy is checked at what the asks would charge: 6.7 at 15 is 100.5 (+ fee).
        let market = client.place(&order("m-1", Side::Buy, "6.7", OrderType::Market)).await.unwrap();
        assert_eq!(reason(&market).as_deref(), Some(INSUFFICIENT));
        let market = client.place(&order("m-2", Side::Buy, "6.6", OrderType::Market)).await.unwrap();
        assert!(reason(&market).is_none(), "{market:?}");
        // 99 + 0.594 spent, 6.6 BAND in.
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("0.406"), dec("0")));
        assert_eq!(accounts(&sim, &key, "BAND").await, (dec("6.6"), dec("0")));
    });
}

#[test]
fn fills_move_base_quote_and_the_fee_exactly() {
    run(async {
        let (sim, mut client, key, _) = funded_sim(&[("GBP", "100")]).await;
        // 5 at 15.0000: 75 + 0.45 out, 5 BAND in.
        client.place(&order("t", Side::Buy, "5", limit("15", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("24.55"), dec("0")));
        assert_eq!(accounts(&sim, &key, "BAND").await, (dec("5"), dec("0")));
        // 5 sold at 14.0000: 70 - 0.42 in.
        client.place(&order("s", Side::Sell, "5", limit("14", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("94.13"), dec("0")));
        assert_eq!(accounts(&sim, &key, "BAND").await, (dec("0"), dec("0")));
        // A resting buy filled as a maker: its hold (29 + 0.174) becomes the trade.
        client.place(&order("m", Side::Buy, "2", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("64.956"), dec("29.174")));
        assert_eq!(sim.trade_at("BAND-GBP", "14.5", "2").unwrap(), 1);
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("64.956"), dec("0")));
        assert_eq!(accounts(&sim, &key, "BAND").await, (dec("2"), dec("0")));
    });
}

#[test]
fn two_keys_balances_are_independent_and_their_trade_moves_both_exactly() {
    run(async {
        let (sim, mut mine, key, mut theirs) = funded_sim(&[("GBP", "100")]).await;
        mine.place(&order("x-1", Side::Buy, "4", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("41.652"), dec("58.348")));
        assert_eq!(held_by(&sim, OTHER_KEY, "GBP"), (dec("100"), dec("0")));
        sim.set_balance_of(OTHER_KEY, "BAND", dec("10"));
        // The other key sells 4 into the resting buy at 14.5000: 58 GBP changes hands, each
        // side paying 0.348.
        let sold = theirs.place(&order("y-1", Side::Sell, "4", limit("14.5", TimeInForce::Ioc))).await.unwrap();
        assert!(reason(&sold).is_none(), "{sold:?}");
        assert_eq!(accounts(&sim, &key, "GBP").await, (dec("41.652"), dec("0")));
        assert_eq!(accounts(&sim, &key, "BAND").await, (dec("4"), dec("0")));
        assert_eq!(held_by(&sim, OTHER_KEY, "GBP"), (dec("157.652"), dec("0")));
        assert_eq!(held_by(&sim, OTHER_KEY, "BAND"), (dec("6"), dec("0")));
    });
}

#[test]
fn funds_are_unlimited_unless_configured() {
    run(async {
        let (sim, mut client) = sim_and_client(&pkcs8(), |_| {}).await;
        sim.set_book("BAND-GBP", &[(ticks("14"), lots("100"))], &[(ticks("15"), lots("100"))]).unwrap();
        let sold = client.place(&order("s", Side::Sell, "5", limit("14", TimeInForce::Ioc))).await.unwrap();
        assert!(reason(&sold).is_none(), "{sold:?}");
        assert_eq!(held_by(&sim, KEY_NAME, "BAND"), (dec("-5"), dec("0")));
        assert_eq!(held_by(&sim, KEY_NAME, "GBP"), (dec("69.58"), dec("0")));
    });
}

#[test]
fn the_market_maker_sees_a_funds_refusal_as_risk() {
    run(async {
        let (sim, client, _, _) = funded_sim(&[("GBP", "100")]).await;
        let mut exec = execution_common::adapter(client, 3, product().instrument, ("BAND", "GBP"));
        execution_common::a_funds_refusal_is_risk(&mut exec, ticks("14.5"), lots("7")).await;
        assert_eq!(sim.open_order_count(), 0);
    });
}
