//! The runner's snapshot: what [`super::LiveRunner::snapshot`] shows, built on the runner's
//! thread every timer tick.

use super::{kill_sources, side_name, state_name, Worker, HEDGES_KEPT};
use crate::hedger::HedgeDecision;
use crate::interlock::PullCause;
use crate::live::LiveCounters;
use crate::live_snapshot::{
    CountersView, HedgeView, HedgingView, InterlockView, LiveSnapshot, MarkoutView, PnlView, QuoteVenueView, QuoteView,
    ReferenceView,
};
use crate::metrics::markouts::{MarkoutReference, Markouts, RunningStats, MARKOUT_HORIZONS_NS};
use crate::quote_orders::QuoteOrders;
use crate::quoter::Quoter;
use crate::types::{Side, VenueId};

/// The markouts per horizon of every one of `venues`' fills together.
fn markout_views(venues: &[Markouts]) -> Vec<MarkoutView> {
    let merged = |i, reference| {
        let mut all = RunningStats::default();
        for m in venues {
            all.merge(&m.stats(i, reference).unwrap_or_default());
        }
        all.summary()
    };
    MARKOUT_HORIZONS_NS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (mid, fair) = (merged(i, MarkoutReference::Mid), merged(i, MarkoutReference::Fair));
            MarkoutView {
                horizon_ms: h / 1_000_000,
                count: mid.count,
                vs_mid_bps: mid.mean_bps,
                vs_fair_bps: fair.mean_bps,
            }
        })
        .collect()
}

impl Worker {
    /// Keeps a hedge decision for the snapshot (the latest [`HEDGES_KEPT`]).
    pub(super) fn keep_hedge(&mut self, h: HedgeDecision) {
        if self.hedges.len() == HEDGES_KEPT {
            self.hedges.pop_front();
        }
        let venue = match h.venue {
            VenueId::External(i) => i as usize,
            VenueId::Ours => usize::MAX,
        };
        self.hedges.push_back(HedgeView {
            venue,
            side: side_name(h.side),
            qty: h.qty,
            limit_price: h.limit_price,
            touch_price: h.touch_price,
            decision_fair: h.decision_fair.to_ticks_f64(),
            ts_ns: h.ts_ns,
        });
    }

    pub(super) fn snapshot(&self, now: i64, running: bool) -> LiveSnapshot {
        let mm = &self.mm;
        let mut quotes = Vec::new();
        let sides = if self.strategy.is_some() { &[][..] } else { &[Side::Buy, Side::Sell][..] };
        let name = |v: VenueId| match v {
            VenueId::External(i) => self.streams.get(i as usize).map_or("?", |k| k.venue.name()),
            VenueId::Ours => "ours",
        };
        // Each ladder in `quote_on`'s order: our venue's (the pricer's), each quote venue's.
        let ladder = |v: VenueId| -> (VenueId, &Quoter, &QuoteOrders) {
            match mm.quote_routes().iter().find(|r| r.venue() == v) {
                Some(r) => (v, r.quoter(), r.orders()),
                None => (v, mm.pricer().quoter(), mm.quote_orders()),
            }
        };
        let ladders: Vec<(VenueId, &Quoter, &QuoteOrders)> = self.ladder_venues.iter().map(|&v| ladder(v)).collect();
        for (venue, quoter, orders) in ladders {
            for &side in sides {
                for level in 0..quoter.levels() {
                    let (Some(id), Some(l)) = (orders.id(side, level), quoter.resting(side, level)) else {
                        continue;
                    };
                    quotes.push(QuoteView {
                        venue: name(venue),
                        side: side_name(side),
                        level,
                        order_id: id,
                        price: l.price,
                        qty: l.qty,
                        queue_ahead: (venue == VenueId::Ours).then(|| mm.venue().queue_ahead(id)).flatten(),
                    });
                }
            }
        }
        let parts = self.pnl.parts();
        let stats = self.interlock.stats(now);
        let c: LiveCounters = mm.counters();
        LiveSnapshot {
            running,
            ts_ns: now,
            fair_value: mm.pricer().fair_value_engine().fair_value(now).map(|f| f.price),
            halted: mm.is_halted(),
            inventory: mm.inventory(),
            pnl: PnlView {
                total: parts.total(),
                spread_capture: parts.spread_capture,
                inventory_mtm: parts.inventory_mtm,
                fees: parts.fees,
                hedge_slippage: parts.hedge_slippage,
            },
            markouts: markout_views(&self.markouts),
            interlock: InterlockView {
                quoting: self.interlock.quoting_allowed(),
                causes: self.interlock.causes().iter().map(PullCause::name).collect(),
                pulls: PullCause::ALL.iter().map(|c| (c.name(), stats.pulls[*c as usize])).collect(),
                returns: stats.returns,
                uptime: stats.uptime(),
            },
            hedges: self.hedges.iter().copied().collect(),
            hedging: HedgingView {
                hold: (self.kill != 0).then_some("kill_switch"),
                kill_switch: kill_sources(self.kill),
                holds: self.hedge_holds,
                held_decisions: self.held_decisions,
                due: mm.hedge_due(now),
                ..self
                    .hedging
                    .as_ref()
                    .map(|h| h.view(|i| self.streams.get(i).map_or("?", |k| k.venue.name())))
                    .unwrap_or_default()
            },
            quote_venues: self
                .ladder_venues
                .iter()
                .enumerate()
                .filter(|_| !mm.quote_routes().is_empty())
                .map(|(k, &v)| {
                    let route = mm.quote_routes().iter().find(|r| r.venue() == v);
                    let (q, open) = match route {
                        Some(r) => (r.stats(), r.open_orders()),
                        None => (mm.ours_stats(), mm.venue().open_orders() + mm.venue().in_flight()),
                    };
                    QuoteVenueView {
                        venue: name(v),
                        open,
                        orders_sent: q.orders_sent,
                        amends: q.amends,
                        cancels: q.cancels,
                        fills: q.fills,
                        filled_qty: q.filled_qty,
                        fees: q.fees,
                        canceled: q.canceled,
                        rejected: q.rejected,
                        would_cross: q.would_cross,
                        last_reject: q.last_reject.map(|(id, reason)| format!("client_id={id} reason={reason:?}")),
                        markouts: markout_views(self.markouts.get(k..=k).unwrap_or_default()),
                    }
                })
                .collect(),
            references: self
                .streams
                .iter()
                .zip(&self.books)
                .zip(&self.tops)
                .map(|((k, b), t)| ReferenceView {
                    venue: k.venue.name(),
                    symbol: k.symbol.clone(),
                    state: state_name(b.state),
                    bid: t.filter(|t| t.bid.qty > 0).map(|t| t.bid.price),
                    ask: t.filter(|t| t.ask.qty > 0).map(|t| t.ask.price),
                })
                .collect(),
            counters: CountersView {
                updates: c.updates,
                requotes: c.requotes,
                commands: c.commands,
                fills: c.fills,
                risk_rejections: c.risk_rejections,
                pulls: c.pulls,
                hedges: c.hedges,
                hedge_fills: c.hedge_fills,
                cut_short: c.cut_short,
                errors: self.errors,
                turns: self.turns,
            },
            quotes: self.strategy_quotes().unwrap_or(quotes),
            strategy: self.strategy_view(),
            decisions: self.decisions.view(),
            error: self.error.clone(),
            grids: Vec::new(),
        }
    }
}
