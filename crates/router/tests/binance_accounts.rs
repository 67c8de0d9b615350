//! Each API key of the Binance simulator is an account of its own (two keys on one simulator,
//! over 127.0.0.1, through the real REST and WebSocket API clients): one key never sees or
//! cancels another's orders, a user data stream carries only its own key's executions, and the
//! two keys' orders trade with each other, each side in its own account.

mod common;

use std::time::Duration;

use common::*;
use wintermute_router::binance::client::{BinanceOrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

fn signed(params: &str) -> String {
    signed_path("/api/v3/order", params)
}

#[test]
fn two_keys_are_two_accounts_whose_orders_trade_with_each_other() {
    run(async {
        let sim = sim_with(|_| {}).await;
        // The book far from the trade: 58000.00 / 59000.00.
        sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut mine = ed25519_client(&sim);
        let mut theirs = hmac_client(&sim);
        let placed = mine.place(&order("a-1", Side::Sell, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New, "{placed:?}");

        // The other key sees none of it: no open order, and a query or a cancel of its client
        // id is of an unknown order.
        assert_eq!(theirs.adopt_open_orders("BTCUSDT").await.unwrap(), 0);
        let named = "symbol=BTCUSDT&origClientOrderId=a-1";
        let (status, _, body) = raw(sim.addr(), "GET", &signed(named), Some(HMAC_KEY)).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-2013)), "{body}");
        let (status, _, body) = raw(sim.addr(), "DELETE", &signed(named), Some(HMAC_KEY)).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-2011)), "{body}");
        let open_orders = signed_path("/api/v3/openOrders", "symbol=BTCUSDT");
        let (status, _, body) = raw(sim.addr(), "GET", &open_orders, Some(HMAC_KEY)).await;
        assert_eq!((status, body), (200, serde_json::json!([])));
        assert_eq!((sim.open_order_count_of(ED_KEY, "BTCUSDT"), sim.open_order_count_of(HMAC_KEY, "BTCUSDT")), (1, 0));

        // A post-only buy crossing the other key's resting sell is refused, as one crossing the book.
        let crossing = BinanceOrderType::PostOnly { price: ticks("58500") };
        let refused = theirs.place(&order("b-0", Side::Buy, "0.001", crossing)).await.unwrap();
        assert_eq!(
            refused[0].kind,
            ReportKind::Rejected { code: Some(-2010), reason: "Order would immediately match and take.".into() }
        );

        // The other key buys up to 58600.00 with the same client id: it takes the resting sell
        // at its price, not the book's ask.
        let reports = theirs.place(&order("a-1", Side::Buy, "0.004", limit("58600", TimeInForce::Gtc))).await.unwrap();
        assert!(reports.iter().all(|r| !matches!(r.kind, ReportKind::Rejected { .. })), "{reports:?}");
        let taker = theirs.orders().get("a-1").unwrap();
        assert_eq!(taker.status(), OrderStatus::Filled);
        let fills: Vec<_> = taker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
        assert_eq!(fills, vec![(ticks("58500"), lots("0.004"), false)]);
        // The buyer pays 0.1 % of the BTC it receives.
        let fee = taker.fills().next().unwrap();
        assert_eq!((fee.fee.to_string().as_str(), fee.fee_currency.as_str()), ("0.000004", "BTC"));

        mine.reconcile("BTCUSDT").await.unwrap();
        let maker = mine.orders().get("a-1").unwrap();
        assert_eq!((maker.status(), maker.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.004")));
        let fills: Vec<_> = maker.fills().map(|f| (f.price, f.qty, f.is_maker)).collect();
        assert_eq!(fills, vec![(ticks("58500"), lots("0.004"), true)]);
        // The seller pays 0.1 % of the 234 USDT it receives.
        let fee = maker.fills().next().unwrap();
        assert_eq!((fee.fee.to_string().as_str(), fee.fee_currency.as_str()), ("0.234", "USDT"));
        // Each account's trade history holds its own side only.
        let summary = theirs.reconcile("BTCUSDT").await.unwrap();
        assert_eq!((summary.new_fills, summary.unknown_trades), (0, 0));
        assert_eq!(sim.trades().len(), 2);
        assert_eq!((sim.open_order_count_of(ED_KEY, "BTCUSDT"), sim.open_order_count_of(HMAC_KEY, "BTCUSDT")), (1, 0));

        // The other key's kill switch cancels nothing of this account.
        assert_eq!(theirs.cancel_all("BTCUSDT").await.unwrap(), 0);
        assert_eq!(sim.open_order_count_of(ED_KEY, "BTCUSDT"), 1);
    });
}

#[test]
fn a_user_data_stream_carries_only_its_own_keys_executions() {
    run(async {
        let sim = sim_with(|_| {}).await;
        sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut mine = ws_hmac_client(&sim);
        let mut theirs = ws_ed25519_client(&sim);
        mine.subscribe_user_data().await.unwrap();
        theirs.subscribe_user_data().await.unwrap();
        mine.place(&order("w-1", Side::Sell, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        // Their buy takes part of it.
        theirs.place(&order("t-1", Side::Buy, "0.004", limit("58600", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(theirs.orders().get("t-1").unwrap().status(), OrderStatus::Filled);

        let (mut my_events, mut their_events) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            mine.poll_events(Duration::from_millis(100)).await.unwrap();
            my_events.extend(mine.take_events());
            theirs.poll_events(Duration::from_millis(100)).await.unwrap();
            their_events.extend(theirs.take_events());
            if my_events.iter().any(|r| matches!(r.kind, ReportKind::Trade(_))) {
                break;
            }
        }
        // Each session hears of its own order only.
        assert!(my_events.iter().all(|r| r.client_order_id == "w-1"), "{my_events:?}");
        assert!(their_events.iter().all(|r| r.client_order_id == "t-1"), "{their_events:?}");
        let maker_trade = my_events.iter().find_map(|r| match &r.kind {
            ReportKind::Trade(f) => Some((f.price, f.qty, f.is_maker)),
            _ => None,
        });
        assert_eq!(maker_trade, Some((ticks("58500"), lots("0.004"), true)), "{my_events:?}");
        let maker = mine.orders().get("w-1").unwrap();
        assert_eq!((maker.status(), maker.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.004")));
    });
}

#[test]
fn keys_of_one_account_share_its_orders_and_never_trade_with_each_other() {
    run(async {
        let sim = sim_with(one_account).await;
        sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
        let mut mine = ed25519_client(&sim);
        let mut theirs = hmac_client(&sim);
        mine.place(&order("s-1", Side::Sell, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(theirs.adopt_open_orders("BTCUSDT").await.unwrap(), 1);
        // A crossing buy of the same account takes the book, not its own resting sell.
        theirs.place(&order("s-2", Side::Buy, "0.004", limit("59000", TimeInForce::Gtc))).await.unwrap();
        let fills: Vec<_> = theirs.orders().get("s-2").unwrap().fills().map(|f| f.price).collect();
        assert_eq!(fills, vec![ticks("59000")]);
        assert_eq!(sim.open_order_count_of(ED_KEY, "BTCUSDT"), 1);
    });
}
