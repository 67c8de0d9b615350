//! Each venue's ladder decided in turn ([`LiveMarketMaker::quote`] with quote routes): our
//! venue's beside them, and each quote venue's, under the one inventory limit.

use super::{LiveError, LiveMarketMaker};
use crate::execution::ExecEvent;
use crate::in_flight::InFlight;
use crate::quoter::Decision;
use crate::types::Side;

impl LiveMarketMaker {
    /// Lots resting on `side` in every ladder but `except` (a quote route's index; `None`: our
    /// venue's), ours counted when it quotes beside the routes.
    fn resting_elsewhere(&self, except: Option<usize>, side: Side) -> i64 {
        let others = self.quote_routes.iter().enumerate().filter(|&(j, _)| Some(j) != except);
        let routes: i64 = others.map(|(_, o)| o.quoter.resting_lots(side)).sum();
        let ours = match (self.ours_at, except) {
            (Some(_), Some(_)) => self.pricer.quoter().resting_lots(side),
            _ => 0,
        };
        routes + ours
    }

    /// Our venue's ladder beside the quote routes: decided and sent.
    pub(super) fn decide_ours(&mut self, now_ns: i64) -> Result<Decision, LiveError> {
        // The inventory limit holds for every venue's ladder together.
        let (bids, asks) = (self.resting_elsewhere(None, Side::Buy), self.resting_elsewhere(None, Side::Sell));
        let (fly_bids, fly_asks) = (self.in_flight_lots(Side::Buy), self.in_flight_lots(Side::Sell));
        self.pricer.quoter_mut().set_elsewhere(bids, asks);
        self.pricer.quoter_mut().set_in_flight(fly_bids, fly_asks);
        let our_top = self.venue.others_top();
        let our_top = (our_top.bid.qty > 0 || our_top.ask.qty > 0).then_some(our_top);
        let d = self.pricer.decide(now_ns, self.inventory, our_top, &mut self.actions)?;
        if let Decision::Requoted(_) = d {
            self.counters.requotes += 1;
            self.counters.cut_short += u64::from(self.pricer.quoter().cut_short());
        }
        self.send(now_ns, None)?;
        Ok(d)
    }

    /// Quote venue `k`'s ladder: decided and sent (held after a refusal).
    pub(super) fn decide_route(&mut self, now_ns: i64, k: usize) -> Result<Decision, LiveError> {
        if now_ns < self.quote_routes[k].held_until {
            return Ok(Decision::Held);
        }
        // The inventory limit holds for every venue's ladder together: what the others have
        // resting, and every order in flight, comes out of this one's room.
        let (bids, asks) = (self.resting_elsewhere(Some(k), Side::Buy), self.resting_elsewhere(Some(k), Side::Sell));
        let (fly_bids, fly_asks) = (self.in_flight_lots(Side::Buy), self.in_flight_lots(Side::Sell));
        let r = &mut self.quote_routes[k];
        r.quoter.set_elsewhere(bids, asks);
        r.quoter.set_in_flight(fly_bids, fly_asks);
        let top = Some(r.top).filter(|t| t.bid.qty > 0 || t.ask.qty > 0);
        let d = self.pricer.decide_with(&mut r.quoter, now_ns, self.inventory, top, &mut self.actions)?;
        if let Decision::Requoted(_) = d {
            self.counters.requotes += 1;
            self.counters.cut_short += u64::from(r.quoter.cut_short());
        }
        self.send(now_ns, Some(k))?;
        Ok(d)
    }

    /// One event of our venue (`route` `None`) or of quote venue `route`; returns whether to
    /// requote.
    pub(super) fn on_event(&mut self, now_ns: i64, route: Option<usize>, event: ExecEvent) -> Result<bool, LiveError> {
        // What may still fill of an order canceled or amended and not yet answered.
        let id = event.client_id();
        let freed = match event {
            ExecEvent::Filled { fill, .. } => self.in_flight_of(route).on_fill(id, fill.qty),
            ExecEvent::Canceled { .. } | ExecEvent::Rejected { .. } => self.in_flight_of(route).on_gone(id),
            ExecEvent::Amended { .. } => self.in_flight_of(route).on_answer(id),
            ExecEvent::Accepted { .. } => false,
        };
        if freed {
            self.room_freed();
        }
        Ok(self.on_slot_event(now_ns, route, event)? || freed)
    }

    /// The record of the cancels and amends in flight of our venue's ladder (`None`) or of quote
    /// venue `route`'s.
    pub(super) fn in_flight_of(&mut self, route: Option<usize>) -> &mut InFlight {
        match route {
            None => &mut self.in_flight,
            Some(k) => &mut self.quote_routes[k].in_flight,
        }
    }

    /// Lots on `side` every ladder's cancels and amends in flight may still fill.
    fn in_flight_lots(&self, side: Side) -> i64 {
        self.in_flight.lots(side) + self.quote_routes.iter().map(|r| r.in_flight.lots(side)).sum::<i64>()
    }

    /// Lots in flight freed: ladders quoted short because of them quote again.
    pub(super) fn room_freed(&mut self) {
        self.pricer.quoter_mut().on_room_freed();
        for r in &mut self.quote_routes {
            r.quoter.on_room_freed();
        }
    }
}
