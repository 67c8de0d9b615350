//! The Binance simulator's balances, over 127.0.0.1 through the real REST and WebSocket API
//! clients: an order the account cannot pay for is refused with Binance's `-2010` "Account has
//! insufficient balance for requested action." and nothing rests, open orders lock funds
//! (`GET /api/v3/account`'s `locked`) until filled or canceled, fills move base, quote and the
//! commission exactly, and two keys' accounts are independent. The book is set to 58000.00 x 1 /
//! 59000.00 x 1.

mod common;
mod execution_common;
mod funds_common;

use common::*;
use funds_common::{dec, held};
use wintermute_core::decimal::Decimal;
use wintermute_router::binance::client::TimeInForce;
use wintermute_router::binance::sim::{BinanceSim, SimConfig};
use wintermute_router::order_state::{ExecutionReport, OrderStatus, ReportKind, Side};

const INSUFFICIENT: &str = "Account has insufficient balance for requested action.";

fn funded(cfg: &mut SimConfig, balances: &[(&str, &str)]) {
    cfg.check_funds = true;
    cfg.balances = balances.iter().map(|(a, v)| ((*a).to_owned(), dec(v))).collect();
}

async fn funded_sim(balances: &[(&str, &str)]) -> BinanceSim {
    let sim = sim_with(|c| funded(c, balances)).await;
    sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
    sim
}

fn refusal(reports: &[ExecutionReport]) -> Option<(Option<i64>, String)> {
    reports.iter().find_map(|r| match &r.kind {
        ReportKind::Rejected { code, reason } => Some((*code, reason.clone())),
        _ => None,
    })
}

fn insufficient() -> Option<(Option<i64>, String)> {
    Some((Some(-2010), INSUFFICIENT.to_owned()))
}

/// `GET /api/v3/account` signed with the HMAC key: (status, body).
async fn account(addr: std::net::SocketAddr) -> (u16, serde_json::Value) {
    let target = signed_path("/api/v3/account", "omitZeroBalances=false");
    let (status, _, body) = raw(addr, "GET", &target, Some(HMAC_KEY)).await;
    (status, body)
}

/// The HMAC key's (free, locked) of `asset` as `GET /api/v3/account` writes them.
async fn free_and_locked(sim: &BinanceSim, asset: &str) -> (Decimal, Decimal) {
    let (status, body) = account(sim.addr()).await;
    assert_eq!(status, 200, "{body}");
    let entry = body["balances"].as_array().unwrap().iter().find(|b| b["asset"] == asset).cloned();
    let entry = entry.unwrap_or_else(|| panic!("no {asset} in {body}"));
    (dec(entry["free"].as_str().unwrap()), dec(entry["locked"].as_str().unwrap()))
}

/// One key's (balance, locked) of `asset` from the simulator.
fn held_by(sim: &BinanceSim, key: &str, asset: &str) -> (Decimal, Decimal) {
    held(&sim.balances_of(key), asset)
}

#[test]
fn an_order_beyond_the_balance_is_refused_and_a_cancel_releases_what_an_open_order_locks() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0")]).await;
        let mut rest = hmac_client(&sim);
        // 0.02 at 58500.00 costs 1170 USDT: more than the 1000 there are.
        let big = rest.place(&order("big", Side::Buy, "0.02", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&big), insufficient());
        assert_eq!(rest.orders().get("big").unwrap().status(), OrderStatus::Rejected);
        // No BTC to sell.
        let sell = rest.place(&order("s", Side::Sell, "0.001", limit("59500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&sell), insufficient());
        assert_eq!(sim.open_order_count("BTCUSDT"), 0, "nothing rests");
        // Filters come first: a sell under the minimum notional is -1013, not -2010.
        let tiny = rest.place(&order("tiny", Side::Sell, "0.00001", limit("59500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&tiny).and_then(|r| r.0), Some(-1013));

        // 0.01 at 58500.00 locks 585 USDT (a buyer's fee is paid in BTC: nothing more).
        let one = rest.place(&order("b-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(one[0].kind, ReportKind::New);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("415"), dec("585")));
        // The client reads the same, exactly.
        let (free, locked) = rest.balances().await.unwrap()["USDT"];
        assert_eq!((free.normalized(), locked.normalized()), (dec("415"), dec("585")));
        let two = rest.place(&order("b-2", Side::Buy, "0.008", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&two), insufficient(), "468 > the 415 free");
        rest.cancel("BTCUSDT", "b-1").await.unwrap();
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("1000"), dec("0")));
        let three = rest.place(&order("b-3", Side::Buy, "0.008", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(three[0].kind, ReportKind::New);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("532"), dec("468")));
    });
}

#[test]
fn fills_move_base_quote_and_the_commission_exactly() {
    run(async {
        let sim = funded_sim(&[("USDT", "100000")]).await;
        let mut rest = hmac_client(&sim);
        // Takes 0.5 at 59000.00: 29500 USDT out, 0.5 BTC in less the 0.1 % commission in BTC.
        rest.place(&order("t", Side::Buy, "0.5", limit("59000", TimeInForce::Ioc))).await.unwrap();
        let fill = rest.orders().get("t").unwrap().fills().next().unwrap().clone();
        assert_eq!((fill.fee.normalized(), fill.fee_currency.as_str()), (dec("0.0005"), "BTC"));
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("70500"), dec("0")));
        assert_eq!(free_and_locked(&sim, "BTC").await, (dec("0.4995"), dec("0")));
        // Selling more than the 0.4995 received is refused; all of it sells at the bid, the
        // commission in USDT: 28971 in, 28.971 out.
        let over = rest.place(&order("o", Side::Sell, "0.4996", limit("58000", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(refusal(&over), insufficient());
        rest.place(&order("s", Side::Sell, "0.4995", limit("58000", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(rest.orders().get("s").unwrap().status(), OrderStatus::Filled);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("99442.029"), dec("0")));
        assert_eq!(free_and_locked(&sim, "BTC").await, (dec("0"), dec("0")));
        // A resting buy filled as a maker: its lock becomes the trade.
        rest.place(&order("m", Side::Buy, "0.1", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("93592.029"), dec("5850")));
        assert_eq!(sim.trade_at("BTCUSDT", "58500", "0.1").unwrap(), 1);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("93592.029"), dec("0")));
        assert_eq!(free_and_locked(&sim, "BTC").await, (dec("0.0999"), dec("0")));
    });
}

#[test]
fn two_keys_balances_are_independent_and_their_trade_moves_both_exactly() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut mine = ed25519_client(&sim);
        let mut theirs = hmac_client(&sim);
        // Each account starts with 1000 USDT; one key's open buy locks its own only.
        mine.place(&order("e-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(held_by(&sim, ED_KEY, "USDT"), (dec("1000"), dec("585")));
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("1000"), dec("0")));
        // The HMAC key's account now has 100 USDT and 1 BTC: its 585 buy is refused, the
        // other's second buy of 408.8 fits in its 415 free.
        sim.set_balance_of(HMAC_KEY, "USDT", dec("100"));
        sim.set_balance_of(HMAC_KEY, "BTC", dec("1"));
        let refused = theirs.place(&order("h-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&refused), insufficient());
        let fits = mine.place(&order("e-2", Side::Buy, "0.007", limit("58400", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(fits[0].kind, ReportKind::New);
        // The HMAC key sells 0.01 into the other's resting buy at 58500.00: 585 USDT changes
        // hands; the buyer pays 0.00001 BTC, the seller 0.585 USDT.
        let sold = theirs.place(&order("h-2", Side::Sell, "0.01", limit("58500", TimeInForce::Ioc))).await.unwrap();
        assert!(refusal(&sold).is_none(), "{sold:?}");
        assert_eq!(theirs.orders().get("h-2").unwrap().status(), OrderStatus::Filled);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("684.415"), dec("0")));
        assert_eq!(free_and_locked(&sim, "BTC").await, (dec("0.99"), dec("0")));
        assert_eq!(held_by(&sim, ED_KEY, "USDT"), (dec("415"), dec("408.8")));
        assert_eq!(held_by(&sim, ED_KEY, "BTC"), (dec("0.00999"), dec("0")));
    });
}

#[test]
fn the_websocket_api_refuses_the_same_and_a_cancel_replace_is_checked_after_its_cancel() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut ws = ws_hmac_client(&sim);
        let big = ws.place(&order("w-0", Side::Buy, "0.02", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(refusal(&big), insufficient());
        ws.place(&order("w-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        // Replacing the 585 buy by a 994.5 one fits: the cancel releases the lock first.
        let next = order("w-2", Side::Buy, "0.017", limit("58500", TimeInForce::Gtc));
        let replaced = ws.cancel_replace("BTCUSDT", "w-1", &next).await.unwrap();
        assert!(refusal(&replaced).is_none(), "{replaced:?}");
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("5.5"), dec("994.5")));
        // A replacement of 1053 does not: the cancel stands, the new order is refused with
        // -2010 (the request -2021, partially failed), and nothing is locked.
        let over = order("w-3", Side::Buy, "0.018", limit("58500", TimeInForce::Gtc));
        let half = ws.cancel_replace("BTCUSDT", "w-2", &over).await.unwrap();
        assert_eq!(refusal(&half), insufficient(), "{half:?}");
        assert_eq!(ws.orders().get("w-2").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("1000"), dec("0")));
    });
}

#[test]
fn funds_are_unlimited_unless_configured() {
    run(async {
        let sim = sim_with(|_| {}).await;
        sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut rest = hmac_client(&sim);
        let sold = rest.place(&order("s", Side::Sell, "0.5", limit("58000", TimeInForce::Ioc))).await.unwrap();
        assert!(refusal(&sold).is_none(), "{sold:?}");
        // The balances still move: 0.5 BTC out (below zero), 29000 less 29 USDT in.
        assert_eq!(free_and_locked(&sim, "BTC").await, (dec("-0.5"), dec("0")));
        assert_eq!(free_and_locked(&sim, "USDT").await, (dec("28971"), dec("0")));
    });
}

#[test]
fn the_market_maker_sees_a_funds_refusal_as_risk() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let inst = wintermute_router::order::Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let mut exec = execution_common::adapter(hmac_client(&sim), 1, inst, ("BTC", "USDT"));
        execution_common::a_funds_refusal_is_risk(&mut exec, ticks("58500"), lots("0.02")).await;
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}
