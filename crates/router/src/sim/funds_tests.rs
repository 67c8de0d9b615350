use super::*;
use crate::sim::exchange::{SimSymbol, SimTif};

/// BTCUSDT on a 0.01 / 0.001 grid, its book 100.00 bid / 110.00 ask (10 BTC each), a 0.1 % fee
/// in the asset received (Binance's way).
fn exchange() -> SimExchange {
    let sym = SimSymbol::from_levels("BTCUSDT", ("BTC", "USDT"), ("0.01", "0.001"), [("100", "10")], [("110", "10")])
        .unwrap();
    SimExchange::new(vec![sym])
}

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap().normalized()
}

fn funds(balances: &[(&str, &str)], hold_fee: bool) -> SimFunds {
    let start = balances.iter().map(|(a, v)| ((*a).to_owned(), dec(v))).collect();
    SimFunds::new(start, ["a".to_owned(), "b".to_owned()], true, hold_fee)
}

fn order(is_buy: bool, price: i64, qty: i64, id: &str, order_type: SimOrderType) -> SimNewOrder {
    SimNewOrder { symbol: "BTCUSDT".into(), is_buy, order_type, price, qty, client_order_id: id.into() }
}

fn gtc(is_buy: bool, price: i64, qty: i64, id: &str) -> SimNewOrder {
    order(is_buy, price, qty, id, SimOrderType::Limit(SimTif::Gtc))
}

fn held(f: &SimFunds, ex: &SimExchange, account: &str, asset: &str) -> Decimal {
    f.held(ex, account, None).get(asset).copied().unwrap_or_else(zero).normalized()
}

#[test]
fn a_buy_holds_the_fee_only_where_the_venue_charges_it_in_the_quote_asset() {
    let mut ex = exchange();
    let mut quote_fee = funds(&[("USDT", "1000")], true);
    let base_fee = funds(&[("USDT", "1000")], false);
    // 2 BTC at 105.00: 210 USDT, and 0.21 more where the fee is held.
    quote_fee.place(&mut ex, "a", gtc(true, 10_500, 2000, "b-1"), 1).unwrap();
    assert_eq!(held(&quote_fee, &ex, "a", "USDT"), dec("210.21"));
    assert_eq!(held(&base_fee, &ex, "a", "USDT"), dec("210"));
    assert_eq!(held(&base_fee, &ex, "b", "USDT"), dec("0"), "another account holds nothing");
}

#[test]
fn an_order_past_the_available_balance_is_refused_and_changes_nothing() {
    let mut ex = exchange();
    let mut f = funds(&[("USDT", "1000"), ("BTC", "1")], false);
    f.place(&mut ex, "a", gtc(true, 10_000, 9000, "b-1"), 1).unwrap();
    // 900 held: a buy of 100.01 does not fit, one of exactly 100 does.
    assert_eq!(f.place(&mut ex, "a", gtc(true, 10_001, 1000, "b-2"), 1), Err(MatchError::InsufficientFunds));
    assert_eq!(ex.orders.len(), 1, "nothing placed");
    f.place(&mut ex, "a", gtc(true, 10_000, 1000, "b-3"), 1).unwrap();
    // A sell needs the base asset: 1 BTC, not 1.001.
    assert_eq!(f.place(&mut ex, "a", gtc(false, 12_000, 1001, "s-1"), 1), Err(MatchError::InsufficientFunds));
    // A market buy is checked at what the asks charge: 10 BTC at 110.00 is 1100, more than 1000.
    let mut other = funds(&[("USDT", "1000")], false);
    let market = order(true, 0, 9100, "m", SimOrderType::Market);
    assert_eq!(other.place(&mut ex, "b", market, 1), Err(MatchError::InsufficientFunds));
    // The engine's checks come first: a sell under the minimum notional (5 USDT) with no BTC
    // is refused for its notional, not its funds.
    assert_eq!(other.place(&mut ex, "b", gtc(false, 10_000, 10, "tiny"), 1), Err(MatchError::BelowMinNotional));
}

#[test]
fn an_amend_is_checked_without_its_own_hold_and_a_cancel_releases_it() {
    let mut ex = exchange();
    let mut f = funds(&[("BTC", "0.5")], false);
    let (id, _) = f.place(&mut ex, "a", gtc(false, 12_000, 400, "s-1"), 1).unwrap();
    assert_eq!(f.check_amend(&ex, id, 500, 12_000), Ok(()));
    assert_eq!(f.check_amend(&ex, id, 501, 12_000), Err(MatchError::InsufficientFunds));
    ex.cancel(None, Some(id), None, 2).unwrap();
    assert_eq!(held(&f, &ex, "a", "BTC"), dec("0"));
    assert_eq!(f.balances_of("a").unwrap()["BTC"], dec("0.5"));
}

#[test]
fn trades_settle_base_quote_and_the_commission_in_its_asset_and_a_partial_fill_shrinks_the_hold() {
    let mut ex = exchange();
    let mut f = funds(&[("USDT", "1000")], false);
    // 2 BTC bought from the book at 110.00: 220 USDT out, 2 BTC in less 0.002 BTC commission.
    f.place(&mut ex, "a", order(true, 11_000, 2000, "t", SimOrderType::Limit(SimTif::Ioc)), 1).unwrap();
    assert_eq!(f.balances_of("a").unwrap()["USDT"].normalized(), dec("780"));
    assert_eq!(f.balances_of("a").unwrap()["BTC"].normalized(), dec("1.998"));
    // A resting buy of 3 at 105.00 half filled by another participant: 1.5 still held.
    f.place(&mut ex, "a", gtc(true, 10_500, 3000, "r"), 1).unwrap();
    ex.trade_at("BTCUSDT", 10_500, 1500, 2);
    f.settle(&ex);
    assert_eq!(held(&f, &ex, "a", "USDT"), dec("157.5"));
    assert_eq!(f.balances_of("a").unwrap()["USDT"].normalized(), dec("622.5"));
    assert_eq!(f.balances_of("a").unwrap()["BTC"].normalized(), dec("3.4965"));
    let statement = f.statement(&ex, "a");
    let usdt = statement.iter().find(|(a, _)| a == "USDT").unwrap().1;
    assert_eq!(usdt.available.normalized(), dec("465"));
}

#[test]
fn a_deposit_adds_and_a_withdrawal_takes_no_more_than_what_open_orders_leave_free() {
    let mut ex = exchange();
    let mut f = funds(&[("USDT", "1000")], false);
    assert_eq!(f.deposit("a", "USDT", dec("0.5"), 5), Ok(dec("1000.5")));
    assert_eq!(f.deposit("c", "BTC", dec("2"), 5), Ok(dec("2")), "a new account starts with the start balances");
    assert_eq!(f.balances_of("c").unwrap()["USDT"], dec("1000"));
    // 900 held by an open buy: 100.5 free.
    f.place(&mut ex, "a", gtc(true, 10_000, 9000, "b-1"), 1).unwrap();
    assert_eq!(f.withdraw(&ex, "a", "USDT", dec("100.51"), 6), Err(TransferError::Insufficient));
    assert_eq!(f.withdraw(&ex, "a", "USDT", dec("100.5"), 6), Ok(dec("900")));
    for bad in ["0", "-1"] {
        assert_eq!(f.deposit("a", "USDT", dec(bad), 5), Err(TransferError::NotPositive));
        assert_eq!(f.withdraw(&ex, "a", "USDT", dec(bad), 6), Err(TransferError::NotPositive));
    }
    // 10^20 fits the exact decimals; twice that does not.
    let huge = dec("100000000000000000000");
    assert_eq!(f.deposit("a", "BTC", huge, 5), Ok(huge));
    assert_eq!(f.deposit("a", "BTC", huge, 5), Err(TransferError::OutOfRange));
    assert_eq!(f.balances_of("a").unwrap()["BTC"], huge);
    assert_eq!(f.balances_of("a").unwrap()["USDT"].normalized(), dec("900"), "refusals change nothing");
    let logged: Vec<(&str, &str, Decimal, i64)> =
        f.transfers().iter().map(|t| (t.account.as_str(), t.asset.as_str(), t.delta.normalized(), t.time_ms)).collect();
    let expected = [
        ("a", "USDT", dec("0.5"), 5),
        ("c", "BTC", dec("2"), 5),
        ("a", "USDT", dec("-100.5"), 6),
        ("a", "BTC", huge, 5),
    ];
    assert_eq!(logged, expected, "the refused ones are not logged");
}
