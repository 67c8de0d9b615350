use super::*;

/// BTCUSDT on a 0.01 / 0.001 grid, its book 100.00 bid / 110.00 ask (10 lots each), a 0.1 %
/// taker and 0.02 % maker fee in the quote asset.
fn exchange() -> SimExchange {
    let sym = SimSymbol::from_levels("BTCUSDT", ("BTC", "USDT"), ("0.01", "0.001"), [("100", "10")], [("110", "10")])
        .unwrap();
    let mut ex = SimExchange::new(vec![sym]);
    ex.fee_in_quote = true;
    ex.maker_fee_rate = Some(Decimal::new(2, 4));
    ex
}

fn limit(is_buy: bool, price: i64, qty: i64, id: &str, tif: SimTif) -> SimNewOrder {
    let order_type = SimOrderType::Limit(tif);
    SimNewOrder { symbol: "BTCUSDT".into(), is_buy, order_type, price, qty, client_order_id: id.into() }
}

#[test]
fn an_amend_across_another_accounts_order_takes_it_and_one_across_its_own_does_not() {
    let mut ex = exchange();
    let (sell, _) = ex.place_for("a", limit(false, 10_500, 4000, "s", SimTif::Gtc), 1).unwrap();
    let (own_buy, _) = ex.place_for("a", limit(true, 10_200, 1000, "b", SimTif::Gtc), 1).unwrap();
    let (buy, _) = ex.place_for("b", limit(true, 10_200, 1000, "b", SimTif::Gtc), 1).unwrap();
    assert!(ex.trades.is_empty(), "a client id is unique per account only; nothing crossed yet");

    // The own account's buy moved across its sell trades with neither it nor the book (110.00).
    assert_eq!(ex.amend(own_buy, 1000, 10_600, false, 2), Ok(vec![]));
    // Post-only: refused, nothing changed.
    assert_eq!(ex.amend(buy, 1000, 10_600, true, 2), Err(MatchError::WouldCross));
    assert_eq!(ex.orders[&buy].new.price, 10_200);

    let trades = ex.amend(buy, 1000, 10_600, false, 3).unwrap();
    assert_eq!(trades.len(), 1);
    let taker = &ex.trades[&trades[0]];
    assert_eq!((taker.order_id, taker.price, taker.qty, taker.is_maker), (buy, 10_500, 1000, false));
    // 1 BTC at 105.00: 0.105 USDT taker, 0.021 USDT maker.
    assert_eq!(taker.commission.normalized().to_string(), "0.105");
    let maker = ex.trades.values().find(|t| t.order_id == sell).unwrap();
    assert_eq!((maker.price, maker.qty, maker.is_maker), (10_500, 1000, true));
    assert_eq!(maker.commission.normalized().to_string(), "0.021");
    assert_eq!((ex.orders[&buy].status, ex.orders[&sell].status), ("FILLED", "PARTIALLY_FILLED"));
    let asks: Vec<(i64, i64)> = ex.symbols["BTCUSDT"].asks.iter().map(|(&p, &q)| (p, q)).collect();
    assert_eq!(asks, vec![(11_000, 10_000)], "the book was not touched");
    assert_eq!(ex.open_orders_of("b", None).count(), 0);
    assert_eq!(ex.open_orders_of("a", None).count(), 2);
    assert!(ex.find_of("b", None, Some(sell), None).is_none(), "another account's order is not found");
}

#[test]
fn an_amend_across_the_book_takes_its_levels_and_the_rest_rests_at_the_new_price() {
    let mut ex = exchange();
    let (buy, _) = ex.place_for("a", limit(true, 10_000, 15_000, "b", SimTif::Gtc), 1).unwrap();
    assert!(ex.trades.is_empty());
    let trades = ex.amend(buy, 15_000, 11_000, false, 2).unwrap();
    assert_eq!(trades.len(), 1);
    assert_eq!((ex.trades[&trades[0]].price, ex.trades[&trades[0]].qty), (11_000, 10_000));
    let order = &ex.orders[&buy];
    assert_eq!((order.status, order.executed, order.new.price), ("PARTIALLY_FILLED", 10_000, 11_000));
    // An amend of the quantity alone trades nothing.
    assert_eq!(ex.amend(buy, 14_000, 11_000, false, 3), Ok(vec![]));
}
