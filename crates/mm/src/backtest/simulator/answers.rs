//! Cancels, and the answers to cancels and amends: when they reach the strategy.

use super::{Action, Sim};
use crate::execution::ExecCommand;
use crate::types::VenueId;

impl Sim<'_> {
    /// Cancels order `id` at `venue` now.
    pub(super) fn cancel_now(&mut self, venue: VenueId, id: u64) {
        match venue {
            VenueId::Ours => self.with_ours(None, |o, out| o.cancel(id, out)),
            VenueId::External(v) => {
                self.ext_ahead.retain(|&(o, _)| o != id);
                if self.submit_ext(v as usize, &ExecCommand::Cancel { client_id: id }) {
                    self.poll_ext(v as usize, self.timing.order_ns, None);
                }
            }
        }
    }

    /// Tells the strategy that a cancel or amend of `id` took effect, when the venue's answer
    /// reaches us: one order latency (our venue: its feed latency) after it arrived, and never
    /// before a fill booked so far (the venue reports the order's fills before the answer).
    /// An order the command left gone is done with: its fills' record is dropped.
    pub(super) fn answer(&mut self, venue: VenueId, id: u64) {
        let (delay, open) = match venue {
            VenueId::Ours => {
                let open = self.ours.as_ref().and_then(|o| o.book().order(id)).map_or(0, |o| o.remaining);
                (self.timing.our_feed_ns, open)
            }
            VenueId::External(v) => {
                (self.timing.order_ns, self.ext.get(v as usize).and_then(|e| e.open_qty(id)).unwrap_or(0))
            }
        };
        if open == 0 {
            self.order_fills.forget(id);
        }
        if self.answers {
            self.schedule((self.now + delay).max(self.fills_seen_by), Action::SeeAnswer(venue, id, open));
        }
    }
}
