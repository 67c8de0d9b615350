//! The metrics sampler: the marks of the quote venues, the markouts' observations, and the
//! quote and market spreads, uptime and time at the touch, every `sample_ms`.

use super::Sim;
use crate::types::{Side, VenueId};

impl Sim<'_> {
    /// A metrics sample; `fair` is the strategy's fair value now (ticks), if it has one.
    pub(super) fn sample(&mut self, fair: Option<f64>) {
        self.remark();
        self.venue_mark2[0] = self.rec.mark2;
        for k in 1..self.quote_venues.len() {
            if let Some(m) = self.mark2_of(self.quote_venues[k]) {
                self.venue_mark2[k] = m;
            }
        }
        if let Some(fair) = fair.filter(|f| f.is_finite()) {
            for (m, markouts) in self.venue_mark2.iter().zip(self.rec.markouts.iter_mut()) {
                if *m != 0 {
                    markouts.on_market(self.now, *m as f64 / 2.0, fair);
                }
            }
        }
        // The quoted and market spreads are the first quote venue's; a two-sided quote works on
        // every quote venue, and a quote at the touch on any.
        let (mut quoted, mut market) = (-1, -1);
        let (mut two_sided, mut at_touch) = (true, false);
        for k in 0..self.quote_venues.len() {
            let (q, m, two, touch) = self.quote_sample(self.quote_venues[k]);
            if k == 0 {
                (quoted, market) = (q, m);
            }
            two_sided &= two;
            at_touch |= touch;
        }
        let c = &mut self.rec.counters;
        c.samples += 1;
        c.two_sided_samples += two_sided as u64;
        c.at_touch_samples += at_touch as u64;
        self.rec.series.push(self.now, self.rec.mark2, &self.rec.ledger, quoted, market);
    }

    /// Our quotes on `venue` now: our quoted spread and the venue's (ticks, −1 unless
    /// two-sided), whether we quote both sides, whether our bid or ask is at its touch.
    fn quote_sample(&self, venue: VenueId) -> (i64, i64, bool, bool) {
        let (mut bid, mut ask) = (i64::MIN, i64::MAX);
        let (vbid, vask) = match venue {
            VenueId::Ours => {
                if let Some(o) = self.ours.as_ref() {
                    for (side, price) in o.our_orders() {
                        match side {
                            Side::Buy => bid = bid.max(price),
                            Side::Sell => ask = ask.min(price),
                        }
                    }
                    (o.book().best_bid().map(|b| b.0), o.book().best_ask().map(|a| a.0))
                } else {
                    (None, None)
                }
            }
            VenueId::External(v) => {
                let e = &self.ext[v as usize];
                for (side, price) in e.resting() {
                    match side {
                        Side::Buy => bid = bid.max(price),
                        Side::Sell => ask = ask.min(price),
                    }
                }
                let (bids, asks) = e.book();
                (bids.first().map(|b| b.price), asks.first().map(|a| a.price))
            }
        };
        let two_sided = bid != i64::MIN && ask != i64::MAX;
        let quoted = if two_sided { ask - bid } else { -1 };
        let market = match (vbid, vask) {
            (Some(b), Some(a)) => a - b,
            _ => -1,
        };
        let at_touch = vbid.is_some_and(|b| bid >= b) || vask.is_some_and(|a| ask <= a);
        (quoted, market, two_sided, at_touch)
    }
}
