//! The Kraken simulator's account over REST, through the real client: orders the account cannot
//! pay for are refused with Kraken's `EOrder:Insufficient funds`, open orders hold funds
//! (`BalanceEx`'s `hold_trade`), and fills move the balances exactly, fee included. The book is
//! the recorded XBT/USD one (best bid 58719.9, best ask 58729.4 x 0.45).

mod common;
mod kraken_common;

use common::run;
use kraken_common::*;
use wintermute_core::decimal::Decimal;
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::sim::exchange::add;

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

/// Equal in value (whatever the number of decimals written).
fn same(a: Decimal, b: &str) -> bool {
    a.normalized() == dec(b).normalized()
}

fn rejected_reason(reports: &[wintermute_router::order_state::ExecutionReport]) -> Option<String> {
    reports.iter().find_map(|r| match &r.kind {
        ReportKind::Rejected { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn a_buy_the_quote_balance_cannot_pay_with_its_fee_is_refused_and_open_buys_hold_funds() {
    run(async {
        // 0.01 XBT at 58000.0 costs 580 USD plus the 0.26 % fee, 1.508: 581.508 in all.
        let sim = sim_with(|c| {
            roomy(c);
            funded(c, &[("ZUSD", "1000")]);
        })
        .await;
        let mut client = client_with(&sim, ROOMY);
        let too_big = client.place(&order("big", Side::Buy, "0.02", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(rejected_reason(&too_big).as_deref(), Some("EOrder:Insufficient funds"));
        assert_eq!(client.orders().get("big").unwrap().status(), OrderStatus::Rejected);
        client.place(&order("b-1", Side::Buy, "0.01", limit("58000", TimeInForce::Gtc))).await.unwrap();
        let held = client.balance_ex().await.unwrap();
        let (balance, hold) = held["ZUSD"];
        assert!(same(balance, "1000") && same(hold, "581.508"), "{balance} {hold}");
        // 418.492 left: a second such order does not fit until the first is canceled.
        let second = client.place(&order("b-2", Side::Buy, "0.01", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(rejected_reason(&second).as_deref(), Some("EOrder:Insufficient funds"));
        client.cancel("XBTUSD", "b-1").await.unwrap();
        let third = client.place(&order("b-3", Side::Buy, "0.01", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(third[0].kind, ReportKind::New);
        assert_eq!(sim.open_order_count(), 1);
        assert!(same(sim.balances()["ZUSD"], "1000"), "nothing traded, nothing moved");
    });
}

#[test]
fn sells_need_the_base_asset_and_an_amend_past_the_balance_is_refused() {
    run(async {
        let sim = sim_with(|c| {
            roomy(c);
            funded(c, &[("XXBT", "0.5")]);
        })
        .await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("s-1", Side::Sell, "0.4", limit("60000", TimeInForce::Gtc))).await.unwrap();
        let over = client.place(&order("s-2", Side::Sell, "0.2", limit("60000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(rejected_reason(&over).as_deref(), Some("EOrder:Insufficient funds"));
        let fits = client.place(&order("s-3", Side::Sell, "0.1", limit("60000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(fits[0].kind, ReportKind::New);
        let amend = client.amend("XBTUSD", "s-1", Some(lots("0.41")), None).await;
        let err = amend.expect_err("0.41 + 0.1 > 0.5").to_string();
        assert!(err.contains("EOrder:Insufficient funds"), "{err}");
        client.amend("XBTUSD", "s-1", Some(lots("0.3")), None).await.unwrap();
        assert_eq!(sim.open_order_qty("s-1"), Some(lots("0.3")));
    });
}

#[test]
fn fills_move_base_quote_and_the_quote_fee_exactly() {
    run(async {
        let sim = sim_with(|c| {
            roomy(c);
            funded(c, &[("ZUSD", "100000"), ("XXBT", "0")]);
        })
        .await;
        let mut client = client_with(&sim, ROOMY);
        // Crosses 0.45 at 58729.4 and 0.05 at 58729.5 (an IOC: nothing rests).
        client.place(&order("ioc", Side::Buy, "0.5", limit("58729.5", TimeInForce::Ioc))).await.unwrap();
        let state = client.orders().get("ioc").unwrap();
        assert_eq!(state.filled_qty(), lots("0.5"));
        let mut spent = Decimal::new(0, 0);
        for fill in state.fills() {
            let cost = Decimal::new(i128::from(fill.price) * i128::from(fill.qty), 9);
            spent = add(add(spent, cost), fill.fee);
        }
        let balances = client.balance().await.unwrap();
        assert!(same(add(balances["ZUSD"], spent), "100000"), "quote out: cost plus fee");
        assert!(same(balances["XXBT"], "0.5"), "base in: the volume, no fee");
        // The XBT just bought can be sold; more cannot.
        let sell = client.place(&order("s", Side::Sell, "0.6", limit("60000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(rejected_reason(&sell).as_deref(), Some("EOrder:Insufficient funds"));
        let sell = client.place(&order("s2", Side::Sell, "0.5", limit("60000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(sell[0].kind, ReportKind::New);
    });
}

#[test]
fn a_market_buy_is_checked_at_what_the_book_would_charge() {
    run(async {
        // 0.45 at 58729.4 = 26428.23, + 0.26 % = 26496.943398: one cent short is refused.
        let sim = sim_with(|c| {
            roomy(c);
            funded(c, &[("ZUSD", "26496.93")]);
        })
        .await;
        let mut client = client_with(&sim, ROOMY);
        let mkt = wintermute_router::order::OrderType::Market;
        let short = client.place(&order("m-1", Side::Buy, "0.45", mkt)).await.unwrap();
        assert_eq!(rejected_reason(&short).as_deref(), Some("EOrder:Insufficient funds"));
        sim.set_balance("ZUSD", dec("26496.943398"));
        client.place(&order("m-2", Side::Buy, "0.45", mkt)).await.unwrap();
        assert_eq!(client.orders().get("m-2").unwrap().status(), OrderStatus::Filled);
        assert!(same(sim.balances()["ZUSD"], "0"), "{}", sim.balances()["ZUSD"]);
    });
}

#[test]
fn the_websockets_token_is_a_signed_private_call() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let a = client.websockets_token().await.unwrap();
        let b = client.websockets_token().await.unwrap();
        assert!(a.len() >= 40 && a != b, "fresh random tokens");
        let mut stranger = wintermute_router::kraken::client::KrakenRestClient::new(
            sim.addr(),
            KEY,
            wintermute_router::signing::KrakenSigner::new(OTHER_SECRET).unwrap(),
            vec![pair()],
            ROOMY,
        );
        let err = stranger.websockets_token().await.unwrap_err().to_string();
        assert!(err.contains("EAPI:Invalid signature"), "{err}");
    });
}
