//! The simulator as the strategy's [`Context`]: what it reads (the time, the tops as we have
//! seen them, our inventory as the fills we were told of) and the orders it sends, which reach
//! their venue one order latency after the decision.

use super::{Cmd, Sim};
use crate::strategy::{Context, Stamp};
use crate::types::{Side, Top, VenueId};

impl Context for Sim<'_> {
    fn now_ns(&self) -> i64 {
        self.now
    }

    fn top(&self, venue: VenueId) -> Top {
        match venue {
            VenueId::Ours => self.our_top,
            VenueId::External(v) => self.seen_top.get(v as usize).copied().unwrap_or_default(),
        }
    }

    fn book_live(&self, venue: VenueId) -> bool {
        match venue {
            VenueId::Ours => self.ours.is_some(),
            VenueId::External(v) => self.seen_live.get(v as usize).copied().unwrap_or(false),
        }
    }

    fn inventory(&self) -> i64 {
        self.inventory_seen
    }

    fn place(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.rec.counters.orders += 1;
        self.rec.counters.quoted_lots += qty;
        self.send(Cmd::Place { venue, id, side, price, qty, ioc: false, decision2: 0 });
        id
    }

    fn take(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.rec.counters.orders += 1;
        let decision2 = match self.decided_at {
            Some(at) => at.mark,
            None => self.mark2().unwrap_or(self.rec.mark2),
        };
        self.send(Cmd::Place { venue, id, side, price, qty, ioc: true, decision2 });
        id
    }

    fn amend(&mut self, venue: VenueId, order_id: u64, qty: i64) {
        self.rec.counters.amends += 1;
        let step = self.decided_at.map_or(self.rec.counters.loop_events, |at| at.step);
        self.send(Cmd::Amend { venue, id: order_id, qty, step });
    }

    fn cancel(&mut self, venue: VenueId, order_id: u64) {
        self.rec.counters.cancels += 1;
        self.send(Cmd::Cancel { venue, id: order_id });
    }

    fn stamp(&self) -> Stamp {
        let mark = self.mark2().unwrap_or(self.rec.mark2);
        Stamp { ts_ns: self.now, step: self.rec.counters.loop_events, mark }
    }

    fn decided_at(&mut self, at: Option<Stamp>) {
        self.decided_at = at;
    }

    fn next_order_id(&self) -> Option<u64> {
        Some(self.next_id)
    }

    fn answers_commands(&self) -> bool {
        self.answers
    }
}
