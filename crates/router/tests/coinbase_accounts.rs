//! Each key of the Coinbase simulator is an account of its own (two keys on one simulator, over
//! 127.0.0.1, through the real REST client and `user` channel): one key never sees, reuses or
//! cancels another's orders, and their orders trade with each other, each side in its own
//! account.

mod coinbase_common;

use coinbase_common::*;
use wintermute_router::coinbase::client::CoinbaseRestClient;
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::signing::CoinbaseJwtSigner;

const OTHER_KEY: &str = "organizations/sim/apiKeys/other";

fn run<F: std::future::Future<Output = ()>>(body: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(30), body).await.expect("finished within 30 s");
    });
}

#[test]
fn two_keys_are_two_accounts_whose_orders_trade_with_each_other() {
    run(async {
        let other_pkcs8 = pkcs8();
        let other_signer = CoinbaseJwtSigner::new(OTHER_KEY, &other_pkcs8).unwrap();
        let other_public = other_signer.public_key();
        let (sim, mut mine) = sim_and_client(&pkcs8(), |cfg| cfg.keys.push((OTHER_KEY.into(), other_public))).await;
        let mut theirs = CoinbaseRestClient::new(sim.addr(), HOST, other_signer, vec![product()]);
        // The book far from the trade: 14.0000 / 15.0000.
        sim.set_book("BAND-GBP", &[(ticks("14"), lots("100"))], &[(ticks("15"), lots("100"))]).unwrap();
        let placed = mine.place(&order("x-1", Side::Sell, "1", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New, "{placed:?}");

        // The other key's kill switch lists and cancels its own orders only.
        assert_eq!(theirs.kill_switch().await.unwrap(), 0);
        assert_eq!((sim.open_order_count_of(KEY_NAME), sim.open_order_count_of(OTHER_KEY)), (1, 0));

        // A post-only buy crossing the other key's resting sell is refused.
        let crossing = OrderType::PostOnly { price: ticks("14.5") };
        let refused = theirs.place(&order("y-0", Side::Buy, "0.4", crossing)).await.unwrap();
        assert!(matches!(refused[0].kind, ReportKind::Rejected { .. }), "{refused:?}");

        // The same client id in the other account is a new order: a buy up to 14.6000 that
        // takes the resting sell at its price, not the book's ask.
        theirs.place(&order("x-1", Side::Buy, "0.4", limit("14.6", TimeInForce::Gtc))).await.unwrap();
        theirs.reconcile_all().await.unwrap();
        let taker = theirs.orders().get("x-1").unwrap();
        assert_eq!(taker.status(), OrderStatus::Filled);
        let fills: Vec<_> = taker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
        assert_eq!(fills, vec![(ticks("14.5"), lots("0.4"), false)]);
        // 0.4 at 14.5000 is 5.8 GBP; each side pays the 0.6 % fee, 0.0348 GBP.
        let fee = taker.fills().next().unwrap();
        assert_eq!((fee.fee.normalized().to_string().as_str(), fee.fee_currency.as_str()), ("0.0348", "GBP"));

        let summary = mine.reconcile_all().await.unwrap();
        assert_eq!(summary.unknown_trades, 0);
        let maker = mine.orders().get("x-1").unwrap();
        assert_eq!((maker.status(), maker.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.4")));
        let fills: Vec<_> = maker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
        assert_eq!(fills, vec![(ticks("14.5"), lots("0.4"), true)]);
        let fee = maker.fills().next().unwrap();
        assert_eq!(fee.fee.normalized().to_string(), "0.0348");
        assert_eq!(sim.trades().len(), 2);
        assert_eq!((sim.open_order_count_of(KEY_NAME), sim.open_order_count_of(OTHER_KEY)), (1, 0));
    });
}

#[test]
fn a_user_channel_shows_only_its_own_keys_orders() {
    use wintermute_router::coinbase::user_ws::CoinbaseUserWs;
    use wintermute_router::order_state::OrderState;
    run(async {
        let (my_pkcs8, other_pkcs8) = (pkcs8(), pkcs8());
        let other_public = CoinbaseJwtSigner::new(OTHER_KEY, &other_pkcs8).unwrap().public_key();
        let (mut sim, mut mine) =
            sim_and_client(&my_pkcs8, |cfg| cfg.keys.push((OTHER_KEY.into(), other_public))).await;
        let signer = || CoinbaseJwtSigner::new(OTHER_KEY, &other_pkcs8).unwrap();
        let mut theirs = CoinbaseRestClient::new(sim.addr(), HOST, signer(), vec![product()]);
        sim.set_book("BAND-GBP", &[(ticks("14"), lots("100"))], &[(ticks("15"), lots("100"))]).unwrap();
        let addr = sim.start_ws().await.unwrap();
        let mut my_ws =
            CoinbaseUserWs::new(addr, CoinbaseJwtSigner::new(KEY_NAME, &my_pkcs8).unwrap(), vec![product()]);
        let mut their_ws = CoinbaseUserWs::new(addr, signer(), vec![product()]);
        my_ws.track(OrderState::new("m-1", Side::Sell, lots("1")));
        their_ws.track(OrderState::new("t-1", Side::Buy, lots("0.4")));
        my_ws.connect().await.unwrap();
        their_ws.connect().await.unwrap();
        mine.place(&order("m-1", Side::Sell, "1", limit("14.5", TimeInForce::Gtc))).await.unwrap();
        theirs.place(&order("t-1", Side::Buy, "0.4", limit("14.6", TimeInForce::Gtc))).await.unwrap();
        let done =
            |ws: &CoinbaseUserWs, id: &str, qty: &str| ws.orders().get(id).is_some_and(|o| o.filled_qty() == lots(qty));
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !done(&my_ws, "m-1", "0.4") {
                my_ws.next_reports().await.unwrap();
            }
            while !done(&their_ws, "t-1", "0.4") {
                their_ws.next_reports().await.unwrap();
            }
        })
        .await
        .expect("both channels delivered their own updates");
        assert_eq!(my_ws.orders().get("m-1").unwrap().status(), OrderStatus::PartiallyFilled);
        assert_eq!(their_ws.orders().get("t-1").unwrap().status(), OrderStatus::Filled);
        // Neither channel was told of the other key's order.
        assert_eq!((my_ws.orders().unknown_reports(), their_ws.orders().unknown_reports()), (0, 0));
    });
}
