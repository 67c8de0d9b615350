//! After warm-up, the hedge path allocates nothing per event on the market maker's thread: a
//! fill past the threshold decides a hedge, it is sent on its route, the route's fill comes
//! back into the inventory (and the quotes follow) and into the PnL. The route here fills
//! every IOC whole at its limit from a pre-sized queue (the router's `RoutedExecution` does its
//! work on a thread of its own).

mod support;

use std::collections::VecDeque;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution};
use wintermute_mm::live_hedge::{HedgeRoute, LiveHedges};
use wintermute_mm::metrics::pnl::{FillRole, Mark, PnlLedger};
use wintermute_mm::types::{Fill, Liquidity, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Fills every new order whole at its limit, as a taker, for a 50-unit fee.
struct Filler {
    out: VecDeque<ExecEvent>,
}

impl Execution for Filler {
    fn venue(&self) -> VenueId {
        VenueId::External(0)
    }

    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        if let ExecCommand::New(r) = *command {
            let fill = Fill {
                ts_ns: now_ns,
                venue: VenueId::External(0),
                order_id: r.client_id,
                side: r.side,
                price: r.price,
                qty: r.qty,
                liquidity: Liquidity::Taker,
                fee: 50,
            };
            self.out.push_back(ExecEvent::Accepted { client_id: r.client_id, ts_ns: now_ns });
            self.out.push_back(ExecEvent::Filled { client_id: r.client_id, fill, open_qty: 0 });
        }
        Ok(())
    }

    fn poll(&mut self, _now_ns: i64, out: &mut ExecEvents) {
        while let Some(e) = self.out.pop_front() {
            if let Err(e) = out.push(e) {
                self.out.push_front(e);
                return;
            }
        }
    }
}

/// `n` rounds: another trader takes 4 lots of our quotes (alternating sides), the hedge
/// decided on that fill is sent and its fill applied, and we read until nothing is in flight.
fn rounds(r: &mut support::Rig, hedges: &mut LiveHedges, pnl: &mut PnlLedger, from: usize, n: usize) {
    for i in from..from + n {
        r.external(999, 1_001);
        r.settle();
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let decided = r.mm.counters().hedges;
        r.other.submit(0, Command::New(NewOrder::market(i as u64 + 1, support::OTHER, side, 4))).unwrap();
        r.poll_until(|m| m.counters().hedges > decided);
        let now = r.now();
        let h = r.mm.last_hedge().expect("a hedge past the 3-lot threshold");
        hedges.send(now, &h).unwrap();
        r.mm.set_hedge_in_flight(hedges.in_flight_lots());
        let mm = &mut r.mm;
        hedges.poll(now, |f| {
            pnl.on_fill(&f.fill, FillRole::Hedge { decision: f.decision_fair }, f.decision_fair);
            mm.on_hedge_fill(now, f.fill.side, f.fill.qty).unwrap();
        });
        r.mm.set_hedge_in_flight(hedges.in_flight_lots());
        assert_eq!(r.mm.inventory(), 0, "hedged back to flat");
        r.settle();
    }
}

#[test]
fn the_hedge_path_allocates_nothing_per_event_after_warm_up() {
    let mut r = support::rig(true);
    let route =
        HedgeRoute { venue: VenueId::External(0), execution: Box::new(Filler { out: VecDeque::with_capacity(64) }) };
    let mut hedges = LiveHedges::new(vec![route], 1, 1).unwrap();
    let mut pnl = PnlLedger::new(Mark::from_ticks(1_000));
    rounds(&mut r, &mut hedges, &mut pnl, 0, 100);
    alloc::reset();
    alloc::arm_thread();
    rounds(&mut r, &mut hedges, &mut pnl, 100, 500);
    alloc::disarm_thread();
    let allocations = alloc::allocations();
    let view = hedges.view(|_| "coinbase");
    assert_eq!((view.orders_sent, view.filled_qty, view.net_filled), (600, 2_400, 0), "the rounds did work");
    assert_eq!(r.mm.counters().hedge_fills, 600);
    assert_eq!(pnl.fills(), 600);
    assert_eq!(allocations, 0, "allocations on the market maker's thread: {:?}", r.mm.counters());
}
