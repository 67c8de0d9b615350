//! Each venue's ladder decided in turn ([`LiveMarketMaker::quote`] with quote routes): our
//! venue's beside them, and each quote venue's, under the one inventory limit.

use super::{LiveError, LiveMarketMaker};
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
        self.pricer.quoter_mut().set_elsewhere(bids, asks);
        let our_top = self.venue.others_top();
        let our_top = (our_top.bid.qty > 0 || our_top.ask.qty > 0).then_some(our_top);
        let d = self.pricer.decide(now_ns, self.inventory, our_top, &mut self.actions)?;
        if let Decision::Requoted(_) = d {
            self.counters.requotes += 1;
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
        // resting comes out of this one's room.
        let (bids, asks) = (self.resting_elsewhere(Some(k), Side::Buy), self.resting_elsewhere(Some(k), Side::Sell));
        let r = &mut self.quote_routes[k];
        r.quoter.set_elsewhere(bids, asks);
        let top = Some(r.top).filter(|t| t.bid.qty > 0 || t.ask.qty > 0);
        let d = self.pricer.decide_with(&mut r.quoter, now_ns, self.inventory, top, &mut self.actions)?;
        if let Decision::Requoted(_) = d {
            self.counters.requotes += 1;
        }
        self.send(now_ns, Some(k))?;
        Ok(d)
    }
}
