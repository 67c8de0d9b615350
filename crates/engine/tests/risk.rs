//! Pre-trade limits one by one, and post-trade state driven by a real order book's events.

use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, OrderBook, Side, TimeInForce};
use wintermute_engine::risk::{
    AccountLimits, FeeRates, InstrumentLimits, ManualClock, PriceBand, RateLimit, RiskEngine, RiskError,
};

const A: u32 = 1;
const B: u32 = 2;

fn spec(symbol: &str) -> InstrumentSpec {
    // tick 0.5, lot 0.001: with notional scale 4, multiplier = 0.0005 × 10^4 = 5.
    InstrumentSpec::from_units(symbol, "0.5", "0.001", 1, 1_000_000, 1, 1_000_000).unwrap()
}

fn setup(limits: AccountLimits) -> (RiskEngine<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    let mut risk = RiskEngine::new(clock.clone(), 4);
    assert_eq!(risk.add_instrument(&spec("BTC-USD")).unwrap(), 0);
    assert_eq!(risk.add_instrument(&spec("ETH-USD")).unwrap(), 1);
    risk.set_limits(A, limits);
    risk.set_limits(B, AccountLimits::UNLIMITED);
    (risk, clock)
}

fn buy(id: u64, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, A, Side::Buy, price, qty))
}

fn sell(id: u64, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, A, Side::Sell, price, qty))
}

fn code(r: Result<(), RiskError>) -> &'static str {
    r.map_or_else(|e| e.code(), |()| "OK")
}

/// Risk + one book, wired as the pipeline will be: check, execute, feed events back.
struct Venue {
    risk: RiskEngine<ManualClock>,
    book: OrderBook,
    events: Vec<Event>,
}

impl Venue {
    fn new(risk: RiskEngine<ManualClock>) -> Self {
        Self { risk, book: OrderBook::new(spec("BTC-USD")), events: Vec::new() }
    }

    fn send(&mut self, cmd: Command) -> Result<(), RiskError> {
        self.risk.check(0, &cmd)?;
        self.events.clear();
        match self.book.execute(&cmd, &mut self.events) {
            Ok(()) => self.events.iter().for_each(|e| self.risk.on_event(0, e)),
            Err(_) => self.risk.on_refused(0, &cmd),
        }
        Ok(())
    }
}

#[test]
fn multiplier_is_exact_or_refused() {
    let (risk, _) = setup(AccountLimits::UNLIMITED);
    assert_eq!(risk.multiplier(0), Some(5));
    let mut coarse = RiskEngine::new(ManualClock::new(), 2);
    let err = coarse.add_instrument(&spec("X")).unwrap_err();
    assert_eq!(err.code(), "INSTRUMENT");
    assert!(err.to_string().contains("symbol=X"), "{err}");
}

#[test]
fn max_order_qty_and_per_instrument_override() {
    let (mut risk, _) = setup(AccountLimits { max_order_qty: 10, ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 100, 10))), "OK");
    assert_eq!(code(risk.check(0, &buy(2, 100, 11))), "MAX_ORDER_QTY");
    risk.set_instrument_limits(A, 1, Some(InstrumentLimits { max_order_qty: 50, max_position: i64::MAX }));
    assert_eq!(code(risk.check(1, &buy(3, 100, 50))), "OK");
    assert_eq!(code(risk.check(1, &buy(4, 100, 51))), "MAX_ORDER_QTY");
    assert_eq!(code(risk.check(0, &buy(5, 100, 11))), "MAX_ORDER_QTY", "override is per instrument");
}

#[test]
fn max_order_notional_is_exact_at_the_boundary() {
    // 100 ticks × 20 lots × 5 = 10,000 units.
    let (mut risk, _) = setup(AccountLimits { max_order_notional: 10_000, ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 100, 20))), "OK");
    let err = risk.check(0, &buy(2, 100, 21)).unwrap_err();
    assert_eq!(err, RiskError::MaxOrderNotional { account: A, instrument: 0, notional: 10_500, limit: 10_000 });
    // A market order is valued at the reference price, and needs one.
    let market = Command::New(NewOrder::market(3, A, Side::Sell, 20));
    assert_eq!(code(risk.check(0, &market)), "NO_REFERENCE_PRICE");
    risk.set_reference_price(0, 101).unwrap();
    assert_eq!(code(risk.check(0, &market)), "MAX_ORDER_NOTIONAL");
    risk.set_reference_price(0, 100).unwrap();
    assert_eq!(code(risk.check(0, &market)), "OK");
}

#[test]
fn notional_overflow_is_refused_not_wrapped() {
    let (mut risk, _) = setup(AccountLimits { max_order_notional: 1, ..AccountLimits::UNLIMITED });
    let mut huge = RiskEngine::new(ManualClock::new(), 30);
    huge.add_instrument(&spec("BIG")).unwrap();
    huge.set_limits(A, AccountLimits { max_order_notional: 1, ..AccountLimits::UNLIMITED });
    assert_eq!(code(huge.check(0, &buy(1, i64::MAX, i64::MAX))), "OVERFLOW");
    assert_eq!(code(risk.check(0, &buy(1, i64::MAX, 1_000))), "MAX_ORDER_NOTIONAL");
}

#[test]
fn max_open_orders_counts_reservations_and_releases_on_done() {
    let (risk, _) = setup(AccountLimits { max_open_orders: 2, ..AccountLimits::UNLIMITED });
    let mut v = Venue::new(risk);
    v.send(buy(1, 100, 1)).unwrap();
    v.send(buy(2, 99, 1)).unwrap();
    assert_eq!(v.risk.open_orders(A), 2);
    assert_eq!(code(v.send(buy(3, 98, 1))), "MAX_OPEN_ORDERS");
    v.send(Command::Cancel { order_id: 1 }).unwrap();
    assert_eq!(v.risk.open_orders(A), 1);
    v.send(buy(3, 98, 1)).unwrap();
    // An IOC that does not rest is counted while in flight, then released by its cancel.
    v.send(Command::Cancel { order_id: 3 }).unwrap();
    v.send(Command::New(NewOrder::limit(4, A, Side::Sell, 500, 1).with_tif(TimeInForce::Ioc))).unwrap();
    assert_eq!(v.risk.open_orders(A), 1);
}

#[test]
fn book_refusals_and_rejections_release_reservations() {
    let (risk, _) = setup(AccountLimits { max_open_orders: 1, ..AccountLimits::UNLIMITED });
    let mut v = Venue::new(risk);
    // Refused in validation (price out of the instrument's band): no event, on_refused.
    v.send(buy(1, 0, 1)).unwrap();
    assert_eq!(v.risk.open_orders(A), 0);
    // Rejected by the market state (FOK not fillable): a Rejected event.
    v.send(Command::New(NewOrder::limit(2, A, Side::Buy, 100, 5).with_tif(TimeInForce::Fok))).unwrap();
    assert!(matches!(v.events[..], [Event::Rejected { .. }]));
    assert_eq!(v.risk.open_orders(A), 0);
    v.send(buy(3, 100, 1)).unwrap();
    assert_eq!(v.risk.open_orders(A), 1);
}

#[test]
fn duplicate_live_order_id_is_refused() {
    let (mut risk, _) = setup(AccountLimits::UNLIMITED);
    risk.check(0, &buy(1, 100, 1)).unwrap();
    assert_eq!(code(risk.check(0, &buy(1, 100, 1))), "DUPLICATE_ORDER_ID");
    assert_eq!(code(risk.check(1, &buy(1, 100, 1))), "OK", "ids are per instrument");
}

#[test]
fn price_band_in_ticks_and_bps_against_the_reference() {
    let (mut risk, _) = setup(AccountLimits { price_band: Some(PriceBand::Ticks(10)), ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 5_000, 1))), "OK", "no reference: no band");
    risk.set_reference_price(0, 1_000).unwrap();
    assert_eq!(code(risk.check(0, &buy(2, 1_010, 1))), "OK");
    assert_eq!(code(risk.check(0, &sell(3, 989, 1))), "PRICE_BAND");
    risk.set_limits(A, AccountLimits { price_band: Some(PriceBand::Bps(100)), ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &sell(4, 990, 1))), "OK");
    let err = risk.check(0, &buy(5, 1_011, 1)).unwrap_err();
    assert_eq!(err.code(), "PRICE_BAND");
    assert!(err.to_string().contains("price=1011 reference=1000 band=Bps(100)"), "{err}");
}

#[test]
fn position_limit_counts_fills_and_same_side_open_orders() {
    let (risk, _) = setup(AccountLimits { max_position: 10, ..AccountLimits::UNLIMITED });
    let mut v = Venue::new(risk);
    v.risk.set_limits(B, AccountLimits::UNLIMITED);
    v.send(Command::New(NewOrder::limit(100, B, Side::Sell, 100, 50))).unwrap();
    v.send(buy(1, 100, 6)).unwrap(); // fills: position +6
    assert_eq!(v.risk.position(A, 0).unwrap().qty, 6);
    v.send(buy(2, 90, 3)).unwrap(); // rests: worst case 9
    assert_eq!(code(v.send(buy(3, 90, 2))), "MAX_POSITION");
    assert_eq!(code(v.send(buy(3, 90, 1))), "OK");
    // Selling reduces: down to -10 is fine (6 - 16), beyond is not.
    assert_eq!(code(v.send(sell(4, 200, 16))), "OK");
    assert_eq!(code(v.send(sell(5, 200, 1))), "MAX_POSITION");
}

/// A trade on `instrument` where `taker` bought or sold `qty` from/to account B.
fn trade(risk: &mut RiskEngine<ManualClock>, instrument: u32, taker_buys: bool, price: i64, qty: i64) {
    let aggressor = if taker_buys { Side::Buy } else { Side::Sell };
    risk.on_event(
        instrument,
        &Event::Trade {
            seq: 1,
            maker_order_id: 1_000,
            taker_order_id: 1_001,
            maker_account: B,
            taker_account: A,
            price,
            qty,
            aggressor,
            maker_remaining: 0,
            taker_remaining: 0,
        },
    );
}

#[test]
fn gross_and_net_exposure_across_instruments() {
    // Reference 100 ticks, multiplier 5: one lot is 500 units.
    let (mut risk, _) =
        setup(AccountLimits { max_gross_exposure: 10_000, max_net_exposure: 5_000, ..AccountLimits::UNLIMITED });
    risk.set_reference_price(0, 100).unwrap();
    risk.set_reference_price(1, 100).unwrap();
    trade(&mut risk, 0, true, 100, 10);
    assert_eq!(risk.exposure(A), (5_000, 5_000));
    assert_eq!(code(risk.check(1, &buy(2, 100, 1))), "MAX_NET_EXPOSURE");
    let err = risk.check(1, &sell(3, 100, 11)).unwrap_err();
    assert_eq!(err, RiskError::MaxGrossExposure { account: A, worst: 10_500, limit: 10_000 });
    assert_eq!(code(risk.check(1, &sell(4, 100, 10))), "OK"); // gross 10,000, net 0
                                                              // The reservation of order 4 now counts in instrument 1's worst case.
    assert_eq!(code(risk.check(1, &sell(5, 100, 1))), "MAX_GROSS_EXPOSURE");
    // Reducing the position in instrument 0 frees room.
    trade(&mut risk, 0, false, 100, 4);
    assert_eq!(risk.exposure(A), (3_000, 3_000));
    assert_eq!(code(risk.check(1, &sell(5, 100, 1))), "OK");
}

#[test]
fn exposure_is_remarked_when_the_reference_moves() {
    let (risk, _) = setup(AccountLimits::UNLIMITED);
    let mut v = Venue::new(risk);
    v.risk.set_reference_price(0, 100).unwrap();
    v.send(Command::New(NewOrder::limit(100, B, Side::Sell, 100, 4))).unwrap();
    v.send(buy(1, 100, 4)).unwrap();
    assert_eq!(v.risk.exposure(A), (2_000, 2_000));
    assert_eq!(v.risk.exposure(B), (-2_000, 2_000));
    v.risk.set_reference_price(0, 150).unwrap();
    assert_eq!(v.risk.exposure(A), (3_000, 3_000));
    assert_eq!(v.risk.unrealized(A, 0), Some(4 * 50 * 5));
    assert_eq!(v.risk.unrealized(B, 0), Some(-4 * 50 * 5));
}

#[test]
fn order_rate_token_bucket_with_injected_clock() {
    let (mut risk, clock) =
        setup(AccountLimits { order_rate: Some(RateLimit { per_second: 2, burst: 2 }), ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 100, 1))), "OK");
    assert_eq!(code(risk.check(0, &buy(2, 100, 1))), "OK");
    assert_eq!(code(risk.check(0, &buy(3, 100, 1))), "ORDER_RATE");
    // Cancels are never rate-limited.
    assert_eq!(code(risk.check(0, &Command::Cancel { order_id: 1 })), "OK");
    clock.advance(499_999_999);
    assert_eq!(code(risk.check(0, &buy(3, 100, 1))), "ORDER_RATE");
    clock.advance(1);
    assert_eq!(code(risk.check(0, &buy(3, 100, 1))), "OK");
}

#[test]
fn kill_switches_block_new_risk_but_not_cancels() {
    let (mut risk, _) = setup(AccountLimits::UNLIMITED);
    risk.check(0, &buy(1, 100, 5)).unwrap();
    risk.set_account_kill(A, true);
    assert_eq!(code(risk.check(0, &buy(2, 100, 1))), "ACCOUNT_KILL_SWITCH");
    assert_eq!(code(risk.check(0, &Command::Cancel { order_id: 1 })), "OK");
    assert_eq!(code(risk.check(0, &Command::MassCancel { account: Some(A), side: None })), "OK");
    // An amend that only reduces passes; one that adds risk does not.
    let down = Command::Amend { order_id: 1, price: None, qty: Some(2) };
    let up = Command::Amend { order_id: 1, price: None, qty: Some(9) };
    assert_eq!((code(risk.check(0, &down)), code(risk.check(0, &up))), ("OK", "ACCOUNT_KILL_SWITCH"));
    assert_eq!(code(risk.check(0, &Command::New(NewOrder::limit(9, B, Side::Buy, 100, 1)))), "OK");
    risk.set_global_kill(true);
    assert_eq!(code(risk.check(0, &Command::New(NewOrder::limit(10, B, Side::Buy, 100, 1)))), "GLOBAL_KILL_SWITCH");
    risk.set_global_kill(false);
    risk.set_account_kill(A, false);
    assert_eq!(code(risk.check(0, &buy(2, 100, 1))), "OK");
}

#[test]
fn unknown_account_instrument_and_order() {
    let (mut risk, _) = setup(AccountLimits::UNLIMITED);
    assert_eq!(code(risk.check(0, &Command::New(NewOrder::limit(1, 99, Side::Buy, 1, 1)))), "UNKNOWN_ACCOUNT");
    assert_eq!(code(risk.check(7, &buy(1, 1, 1))), "UNKNOWN_INSTRUMENT");
    assert_eq!(code(risk.check(0, &Command::Amend { order_id: 5, price: Some(1), qty: None })), "UNKNOWN_ORDER");
}

#[test]
fn limits_change_at_runtime() {
    let (mut risk, _) = setup(AccountLimits { max_order_qty: 5, ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 100, 6))), "MAX_ORDER_QTY");
    risk.set_limits(A, AccountLimits { max_order_qty: 6, ..AccountLimits::UNLIMITED });
    assert_eq!(code(risk.check(0, &buy(1, 100, 6))), "OK");
    assert_eq!(risk.limits(A).map(|l| l.max_order_qty), Some(6));
}

#[test]
fn positions_pnl_and_fees_from_book_trades_including_a_flip() {
    let (risk, _) = setup(AccountLimits::UNLIMITED);
    let mut v = Venue::new(risk);
    v.risk.set_fees(A, FeeRates { maker_ppm: -100, taker_ppm: 500 });
    v.risk.set_fees(B, FeeRates { maker_ppm: 0, taker_ppm: 0 });
    // B offers 10 @ 100 and 10 @ 104; A lifts 15: 10 @ 100 + 5 @ 104 (taker).
    v.send(Command::New(NewOrder::limit(100, B, Side::Sell, 100, 10))).unwrap();
    v.send(Command::New(NewOrder::limit(101, B, Side::Sell, 104, 10))).unwrap();
    v.send(Command::New(NewOrder::limit(1, A, Side::Buy, 104, 15).with_tif(TimeInForce::Ioc))).unwrap();
    let a = v.risk.position(A, 0).unwrap();
    let cost = (10 * 100 + 5 * 104) * 5;
    assert_eq!((a.qty, a.cost, a.realized), (15, cost, 0));
    // Taker fee 500 ppm of each fill, rounded up: 5,000 → 3 (2.5 up), 2,600 → 2 (1.3 up).
    assert_eq!(a.fees, 3 + 2);
    assert_eq!(v.risk.position(B, 0).unwrap().qty, -15);
    // A rests a sell of 20 @ 110 (maker); B (its last offer canceled) buys it all: A goes
    // from +15 to -5.
    v.send(Command::Cancel { order_id: 101 }).unwrap();
    v.send(sell(2, 110, 20)).unwrap();
    v.send(Command::New(NewOrder::limit(102, B, Side::Buy, 110, 20))).unwrap();
    let a = v.risk.position(A, 0).unwrap();
    assert_eq!(a.qty, -5);
    assert_eq!(a.realized, 15 * 110 * 5 - cost);
    assert_eq!(a.cost, -5 * 110 * 5);
    // Maker rebate 100 ppm of 11,000, toward zero: -1.
    assert_eq!(a.fees, 5 - 1);
    assert_eq!(v.risk.open_orders(A), 0);
    // Marked at 100, the short gains 10 ticks × 5 lots × 5.
    v.risk.set_reference_price(0, 100).unwrap();
    assert_eq!(v.risk.unrealized(A, 0), Some(250));
    assert_eq!(a.total_pnl(100, 5), a.realized + 250 - a.fees);
    // Every trade has two sides: positions across accounts sum to zero.
    assert_eq!(a.qty + v.risk.position(B, 0).unwrap().qty, 0);
}

#[test]
fn amend_up_is_checked_and_amended_quantities_are_followed() {
    let (risk, _) = setup(AccountLimits { max_position: 10, max_order_qty: 8, ..AccountLimits::UNLIMITED });
    let mut v = Venue::new(risk);
    v.send(buy(1, 90, 5)).unwrap();
    v.send(buy(2, 91, 4)).unwrap(); // worst case 9
    assert_eq!(code(v.send(Command::Amend { order_id: 1, price: None, qty: Some(9) })), "MAX_ORDER_QTY");
    assert_eq!(code(v.send(Command::Amend { order_id: 1, price: None, qty: Some(7) })), "MAX_POSITION");
    assert_eq!(code(v.send(Command::Amend { order_id: 1, price: None, qty: Some(6) })), "OK");
    assert_eq!(code(v.send(Command::Amend { order_id: 2, price: None, qty: Some(1) })), "OK");
    // 6 + 1 open now: room for 3 more.
    assert_eq!(code(v.send(buy(3, 80, 4))), "MAX_POSITION");
    assert_eq!(code(v.send(buy(3, 80, 3))), "OK");
}
