use super::*;
use crate::execution::{OrderRequest, RejectReason};
use crate::fees::FeeSchedule;
use crate::sim_venue::{SimVenue, SimVenueConfig};
use crate::types::{Level, Liquidity};

/// Venue 0 simulated: bids 99 x 5, asks 101 x 2 then 102 x 5; a 100 ppm taker fee.
fn sim(venue: u8) -> Box<dyn Execution + Send> {
    let fees = FeeSchedule::new(0, 100).unwrap();
    let mut v = SimVenue::new(SimVenueConfig::new(VenueId::External(venue), 10, 10, fees)).unwrap();
    let ask = |price, qty| Level { price, qty };
    v.on_snapshot(0, &[Level { price: 99, qty: 5 }], &[ask(101, 2), ask(102, 5)]).unwrap();
    Box::new(v)
}

/// A venue that refuses every order it is sent.
#[derive(Debug)]
struct Refusing {
    venue: VenueId,
    sent: Vec<OrderRequest>,
}

impl Execution for Refusing {
    fn venue(&self) -> VenueId {
        self.venue
    }

    fn submit(&mut self, _now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        match *command {
            ExecCommand::New(r) if r.qty > 1_000 => Err(ExecError::BadQty { client_id: r.client_id, qty: r.qty }),
            ExecCommand::New(r) => {
                self.sent.push(r);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        for r in self.sent.drain(..) {
            let _ = out.push(ExecEvent::Rejected { client_id: r.client_id, reason: RejectReason::Risk, ts_ns: now_ns });
        }
    }
}

fn decision(venue: u8, side: Side, qty: i64, limit_price: i64) -> HedgeDecision {
    HedgeDecision {
        venue: VenueId::External(venue),
        side,
        qty,
        limit_price,
        touch_price: 101,
        decision_fair: Mark::from_ticks(100),
        ts_ns: 5,
    }
}

#[test]
fn a_decision_is_an_ioc_at_the_cap_whose_fills_come_back_with_the_decision_fair_value() {
    let mut h = LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(1), execution: sim(1) }], 2, 7).unwrap();
    assert_eq!(h.venues(), vec![1]);
    let id = h.send(100, &decision(1, Side::Buy, 4, 101)).unwrap();
    assert_eq!(id, 7);
    assert_eq!(h.in_flight_lots(), 4, "the whole hedge is in flight until the venue answers");
    let mut fills = Vec::new();
    assert_eq!(h.poll(105, |f| fills.push(f)), 0, "nothing arrives before the latencies");
    assert_eq!(h.poll(200, |f| fills.push(f)), 1, "filled what the cap allowed, the rest canceled");
    // 2 lots at 101 (within the cap); 102 is past it.
    assert_eq!(fills.len(), 1);
    let f = fills[0];
    assert_eq!((f.fill.order_id, f.fill.side, f.fill.price, f.fill.qty), (7, Side::Buy, 101, 2));
    assert_eq!(f.fill.liquidity, Liquidity::Taker);
    assert_eq!(f.fill.fee, FeeSchedule::new(0, 100).unwrap().fee(101, 2, Liquidity::Taker));
    assert_eq!(f.decision_fair, Mark::from_ticks(100));
    assert_eq!(h.in_flight_lots(), 0);
    let v = h.view(|i| ["binance", "kraken"][i]);
    assert_eq!(v.routes, vec!["kraken"]);
    assert_eq!((v.orders_sent, v.fills, v.filled_qty, v.net_filled, v.canceled_qty), (1, 1, 2, 2, 2));
    assert_eq!((v.partial, v.unfilled, v.rejected, v.send_errors), (1, 0, 0, 0));
    let o = v.orders[0];
    assert_eq!(
        (o.client_id, o.venue, o.side, o.qty, o.limit_price, o.filled, o.status),
        (7, 1, "buy", 4, 101, 2, "canceled")
    );
    assert_eq!((o.notional, o.fees), (crate::types::notional(101, 2), f.fill.fee));
    assert!(h.can_send(200), "a partly filled hedge holds nothing: the rest goes out at once");
}

#[test]
fn an_ioc_that_filled_nothing_holds_hedging_for_a_while() {
    let mut h = LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(0), execution: sim(0) }], 1, 1).unwrap();
    // A buy capped at 100 below the ask at 101: canceled whole.
    h.send(0, &decision(0, Side::Buy, 3, 100)).unwrap();
    assert_eq!(h.poll(100, |_| panic!("no fill")), 1);
    let v = h.view(|_| "binance");
    assert_eq!((v.unfilled, v.partial, v.rejected, v.in_flight), (1, 0, 0, 0));
    assert!(!h.can_send(100 + HEDGE_UNFILLED_WAIT_NS - 1));
    assert_eq!(
        h.send(101, &decision(0, Side::Buy, 3, 101)),
        Err(HedgeSendError::Held { until_ns: 100 + HEDGE_UNFILLED_WAIT_NS })
    );
    assert!(h.can_send(100 + HEDGE_UNFILLED_WAIT_NS));
    h.send(100 + HEDGE_UNFILLED_WAIT_NS, &decision(0, Side::Buy, 2, 101)).unwrap();
}

#[test]
fn a_hedge_past_the_book_within_its_cap_fills_whole_and_a_sell_nets_negative() {
    let mut h = LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(0), execution: sim(0) }], 1, 1).unwrap();
    h.send(0, &decision(0, Side::Sell, 3, 98)).unwrap();
    assert_eq!(h.in_flight_lots(), -3);
    let mut filled = 0;
    assert_eq!(h.poll(100, |f| filled += f.fill.qty), 1);
    assert_eq!(filled, 3);
    let v = h.view(|_| "binance");
    assert_eq!((v.net_filled, v.partial, v.canceled_qty, v.orders[0].status), (-3, 0, 0, "filled"));
}

#[test]
fn a_refusal_is_counted_kept_and_holds_hedging_for_a_while() {
    let refusing = Refusing { venue: VenueId::External(0), sent: Vec::new() };
    let mut h =
        LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(0), execution: Box::new(refusing) }], 1, 1).unwrap();
    h.send(10, &decision(0, Side::Buy, 4, 101)).unwrap();
    assert_eq!(h.poll(20, |_| panic!("no fill")), 1);
    let v = h.view(|_| "binance");
    assert_eq!((v.rejected, v.in_flight, v.orders[0].status), (1, 0, "rejected"));
    assert!(v.last_errors[0].contains("reason=Risk"), "{:?}", v.last_errors);
    assert!(!h.can_send(20 + HEDGE_RETRY_NS - 1));
    assert_eq!(
        h.send(21, &decision(0, Side::Buy, 4, 101)),
        Err(HedgeSendError::Held { until_ns: 20 + HEDGE_RETRY_NS })
    );
    assert!(h.can_send(20 + HEDGE_RETRY_NS));
    // The route's local checks refuse: counted, nothing in flight, held again.
    let e = h.send(20 + HEDGE_RETRY_NS, &decision(0, Side::Buy, 5_000, 101)).unwrap_err();
    assert!(matches!(e, HedgeSendError::Exec(ExecError::BadQty { qty: 5_000, .. })), "{e}");
    let v = h.view(|_| "binance");
    assert_eq!((v.send_errors, v.orders_sent, v.in_flight), (1, 1, 0));
    assert_eq!(v.last_errors.len(), 2);
    assert_eq!(
        h.send(0, &decision(3, Side::Buy, 1, 1)),
        Err(HedgeSendError::Held { until_ns: 20 + 2 * HEDGE_RETRY_NS })
    );
}

#[test]
fn a_decision_without_a_route_is_refused_and_bad_routes_are_errors() {
    let mut h = LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(0), execution: sim(0) }], 2, 1).unwrap();
    assert_eq!(
        h.send(0, &decision(1, Side::Buy, 1, 101)),
        Err(HedgeSendError::NoRoute { venue: VenueId::External(1) })
    );
    let route = |venue, exec: u8| HedgeRoute { venue, execution: sim(exec) };
    let e = LiveHedges::new(vec![route(VenueId::External(2), 2)], 2, 1).unwrap_err();
    assert_eq!(e, HedgeRouteError::UnknownVenue { venue: VenueId::External(2), venues: 2 });
    let e = LiveHedges::new(vec![route(VenueId::External(0), 0), route(VenueId::External(0), 0)], 2, 1).unwrap_err();
    assert_eq!(e, HedgeRouteError::Duplicate { venue: VenueId::External(0) });
    let e = LiveHedges::new(vec![route(VenueId::External(0), 1)], 2, 1).unwrap_err();
    assert_eq!(e, HedgeRouteError::Mismatch { venue: VenueId::External(0), execution: VenueId::External(1) });
    assert!(LiveHedges::new(vec![route(VenueId::Ours, 0)], 2, 1).is_err());
}

#[test]
fn the_kept_orders_and_errors_are_bounded() {
    let refusing = Refusing { venue: VenueId::External(0), sent: Vec::new() };
    let mut h =
        LiveHedges::new(vec![HedgeRoute { venue: VenueId::External(0), execution: Box::new(refusing) }], 1, 1).unwrap();
    let mut now = 0;
    for _ in 0..HEDGE_ORDERS_KEPT + 3 {
        h.send(now, &decision(0, Side::Buy, 1, 101)).unwrap();
        h.poll(now, |_| {});
        now += HEDGE_RETRY_NS;
    }
    let v = h.view(|_| "binance");
    assert_eq!(v.orders.len(), HEDGE_ORDERS_KEPT);
    assert_eq!(v.orders.last().map(|o| o.client_id), Some(HEDGE_ORDERS_KEPT as u64 + 3));
    assert_eq!(v.last_errors.len(), HEDGE_ERRORS_KEPT);
    assert_eq!(v.rejected, HEDGE_ORDERS_KEPT as u64 + 3);
}

type Sent = std::sync::Arc<std::sync::Mutex<Vec<OrderRequest>>>;

/// A venue whose account covers `covered` lots of anything (`None`: it does not know), and
/// keeps what it was sent.
#[derive(Debug)]
struct Funded {
    covered: Option<i64>,
    sent: Sent,
}

impl Execution for Funded {
    fn venue(&self) -> VenueId {
        VenueId::External(0)
    }

    fn submit(&mut self, _now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        if let ExecCommand::New(r) = *command {
            self.sent.lock().unwrap().push(r);
        }
        Ok(())
    }

    fn poll(&mut self, _now_ns: i64, _out: &mut ExecEvents) {}

    fn coverable_qty(&self, _side: Side, _price: i64) -> Option<i64> {
        self.covered
    }

    fn balances_view(&self) -> Option<crate::live_snapshot::RouteBalancesView> {
        Some(crate::live_snapshot::RouteBalancesView { known: self.covered.is_some(), ..Default::default() })
    }
}

fn funded(covered: Option<i64>) -> (LiveHedges, Sent) {
    let sent = Sent::default();
    let route = HedgeRoute {
        venue: VenueId::External(0),
        execution: Box::new(Funded { covered, sent: std::sync::Arc::clone(&sent) }),
    };
    (LiveHedges::new(vec![route], 1, 1).unwrap(), sent)
}

#[test]
fn a_hedge_the_balance_covers_in_part_is_sent_smaller_and_the_rest_stays_inventory() {
    let (mut h, sent) = funded(Some(3));
    h.send(100, &decision(0, Side::Sell, 5, 99)).unwrap();
    assert_eq!(sent.lock().unwrap()[0].qty, 3, "sent at what the balance covers");
    assert_eq!(h.in_flight_lots(), -3, "only what was sent is in flight: 2 lots stay inventory");
    let v = h.view(|_| "binance");
    assert_eq!((v.balance_reduced, v.balance_reduced_qty, v.balance_skipped), (1, 2, 0));
    assert_eq!(v.orders[0].qty, 3);
    assert_eq!(v.balances.len(), 1);
    assert_eq!((v.balances[0].venue, v.balances[0].known), ("binance", true));
}

#[test]
fn a_hedge_the_balance_covers_none_of_is_skipped_counted_and_held() {
    let (mut h, sent) = funded(Some(0));
    let e = h.send(100, &decision(0, Side::Buy, 5, 101)).unwrap_err();
    assert_eq!(e, HedgeSendError::Balance { venue: VenueId::External(0), side: Side::Buy, qty: 5 });
    assert!(sent.lock().unwrap().is_empty(), "nothing sent to be refused");
    assert_eq!(h.in_flight_lots(), 0);
    assert!(!h.can_send(100 + HEDGE_RETRY_NS - 1), "held as after a refusal");
    assert!(h.can_send(100 + HEDGE_RETRY_NS));
    let v = h.view(|_| "binance");
    assert_eq!((v.balance_skipped, v.orders_sent, v.send_errors), (1, 0, 0));
    assert!(v.last_errors[0].contains("covers none"), "{:?}", v.last_errors);
}

#[test]
fn a_route_that_does_not_know_its_balance_sends_the_hedge_whole() {
    let (mut h, sent) = funded(None);
    h.send(100, &decision(0, Side::Buy, 5, 101)).unwrap();
    assert_eq!(sent.lock().unwrap()[0].qty, 5);
    let v = h.view(|_| "binance");
    assert_eq!((v.balance_reduced, v.balance_skipped), (0, 0));
    assert!(!v.balances[0].known);
}
