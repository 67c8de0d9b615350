//! The runner's side of a batched strategy ([`crate::live_strategy`]): the events it hands
//! over, the orders it proposes (placed only while the interlock lets us quote), and the pull
//! of those orders, done here, in the same loop turn, however far behind the strategy is.

use std::sync::atomic::Ordering;

use super::Worker;
use crate::batched::{Command, StrategyEvent};
use crate::execution::{ExecCommand, ExecEvent, OrderRequest, OrderTif, RejectReason};
use crate::live_snapshot::{QuoteView, StrategyView};
use crate::live_strategy::{Working, STRATEGY_ORDERS};
use crate::strategy::PublicTrade;
use crate::types::{Side, Top, VenueId};

fn signed(side: Side, qty: i64) -> i64 {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

impl Worker {
    /// Hands `event` to the strategy, if there is one.
    pub(super) fn tell_strategy(&mut self, now: i64, event: StrategyEvent) {
        if let Some(s) = self.strategy.as_mut() {
            s.port.push(event, now);
        }
    }

    /// The external venues' public trades since the last turn, on our grid: a buy's price
    /// rounded up, a sell's down (onto the side it took), the quantity as the tops' (down, at
    /// least one lot); a trade whose venue does not say the aggressor is skipped, as the
    /// backtester's tape skips it. Returns whether there were any.
    pub(super) fn strategy_feed_trades(&mut self, now: i64) -> bool {
        let Some(s) = self.strategy.as_mut() else { return false };
        self.feed_trades.clear();
        self.source.read_trades(&self.streams, &mut self.feed_trades);
        for t in self.feed_trades.as_slice() {
            let Some(aggressor) = t.aggressor else { continue };
            let price = match aggressor {
                Side::Buy => self.grid.ask_ticks(t.price),
                Side::Sell => self.grid.bid_ticks(t.price),
            };
            let (Some(price), Some(qty), Ok(v)) = (price, self.grid.lots(t.qty), u8::try_from(t.stream)) else {
                continue;
            };
            if qty <= 0 {
                continue;
            }
            s.trades += 1;
            let trade = PublicTrade { ts_ns: now, venue: VenueId::External(v), price, qty, aggressor };
            s.port.push(StrategyEvent::Trade(trade), now);
        }
        !self.feed_trades.as_slice().is_empty()
    }

    /// Our venue's public trades of the last poll (anyone's, ours included, as the backtester
    /// shows them).
    pub(super) fn strategy_our_trades(&mut self, now: i64) {
        let Some(s) = self.strategy.as_mut() else { return };
        for &(price, qty, aggressor) in self.mm.venue().public_trades() {
            s.trades += 1;
            let trade = PublicTrade { ts_ns: now, venue: VenueId::Ours, price, qty, aggressor };
            s.port.push(StrategyEvent::Trade(trade), now);
        }
    }

    /// Our venue's top after the last poll, when it changed: the whole book's best bid and ask,
    /// **our own orders included** (the backtester's view of our venue), stamped `now`.
    pub(super) fn strategy_our_top(&mut self, now: i64) {
        let Some(s) = self.strategy.as_mut() else { return };
        let top = self.mm.venue().our_top();
        if (top.bid, top.ask) == s.our_top {
            return;
        }
        s.our_top = (top.bid, top.ask);
        s.our_tops += 1;
        let top = Top { ts_ns: now, ..top };
        s.port.push(StrategyEvent::Book { venue: VenueId::Ours, top, live: true }, now);
    }

    /// Our venue's events of the last poll that concern the strategy's orders.
    pub(super) fn strategy_exec_events(&mut self, now: i64) {
        let Some(s) = self.strategy.as_mut() else { return };
        let events = self.mm.events();
        let filled: i64 = events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { fill, .. } => Some(signed(fill.side, fill.qty)),
                _ => None,
            })
            .sum();
        let mut position = self.mm.inventory() - filled;
        for i in 0..events.len() {
            let Some(event) = events.get(i) else { break };
            let k = s.working.iter().position(|w| w.id == event.client_id());
            // (the order gone, untold: the strategy is told; answers owed, all at 0 open)
            let (gone, owed) = match (event, k) {
                (ExecEvent::Filled { fill, open_qty, .. }, k) => {
                    position += signed(fill.side, fill.qty);
                    let mut owed = None;
                    if let Some(k) = k {
                        s.working[k].qty = open_qty;
                        s.port.push(StrategyEvent::Fill { fill, remaining: open_qty, position }, now);
                        if open_qty == 0 {
                            let w = s.working.swap_remove(k);
                            owed = Some((w.venue, w.id, w.unanswered));
                        }
                    }
                    (None, owed)
                }
                (ExecEvent::Amended { client_id, open_qty, .. }, Some(k)) => {
                    let w = &mut s.working[k];
                    w.qty = open_qty;
                    if w.unanswered > 0 {
                        w.unanswered -= 1;
                        s.port.push_answer(w.venue, client_id, open_qty, now);
                    }
                    (None, None)
                }
                (ExecEvent::Canceled { client_id, .. }, Some(k)) => {
                    let w = s.working.swap_remove(k);
                    ((!w.canceling).then_some((w.venue, client_id)), Some((w.venue, client_id, w.unanswered)))
                }
                // A cancel or amend refused (risk, a rate limit): the order stays as it was, and
                // the refusal is that command's answer.
                (ExecEvent::Rejected { client_id, reason, .. }, Some(k))
                    if s.working[k].unanswered > 0
                        && !matches!(reason, RejectReason::UnknownOrder | RejectReason::WouldCross) =>
                {
                    let w = &mut s.working[k];
                    w.unanswered -= 1;
                    // Refused, a cancel leaves the order working: it may be canceled again, and
                    // a pull cancels it.
                    w.canceling = false;
                    s.port.push_answer(w.venue, client_id, w.qty, now);
                    (None, None)
                }
                (ExecEvent::Rejected { client_id, .. }, Some(k)) => {
                    let w = s.working.swap_remove(k);
                    (Some((w.venue, client_id)), Some((w.venue, client_id, w.unanswered)))
                }
                _ => (None, None),
            };
            if let Some((venue, order_id)) = gone {
                s.port.push(StrategyEvent::OrderGone { venue, order_id }, now);
            }
            // The order is gone: every cancel and amend of it not yet answered is, with 0 open.
            if let Some((venue, order_id, n)) = owed {
                for _ in 0..n {
                    s.port.push_answer(venue, order_id, 0, now);
                }
            }
        }
    }

    /// Cancels every working order of the strategy (a pull); the strategy is told each is gone.
    pub(super) fn pull_strategy_orders(&mut self, now: i64) {
        let Some(s) = self.strategy.as_mut() else { return };
        for w in s.working.iter_mut().filter(|w| !w.canceling) {
            if let Err(e) = self.mm.submit(now, w.venue, &ExecCommand::Cancel { client_id: w.id }) {
                self.errors += 1;
                self.error = Some(e.to_string());
            }
            s.pulled += 1;
        }
    }

    /// Applies the commands the strategy sent; returns whether there were any. New orders go
    /// out only on the venues we quote on (ours, or the quote venues), only while quoting is
    /// allowed and not to a quote venue in its cool-down after a refusal; a refused one is gone
    /// at once.
    pub(super) fn strategy_commands(&mut self, now: i64) -> bool {
        let Some(s) = self.strategy.as_mut() else { return false };
        if s.port.feed_counters().failed.load(Ordering::Acquire) && !s.failure_seen {
            // It failed: its orders are pulled, and nothing it still sends is placed.
            s.failure_seen = true;
            self.errors += 1;
            let why = s.port.feed_counters().error.lock().map(|e| e.clone()).unwrap_or_default();
            self.error = Some(format!("strategy {}: {}", s.name, why.unwrap_or_default()));
            self.pull_strategy_orders(now);
        }
        let failed = self.strategy.as_ref().is_some_and(|s| s.failure_seen);
        let quoting = !failed && !self.mm.is_halted() && self.interlock.quoting_allowed() && self.kill == 0;
        let Some(s) = self.strategy.as_mut() else { return false };
        s.port.flush_pending();
        let mut any = false;
        while let Some((command, decided_ts)) = s.port.pop_command() {
            any = true;
            self.decisions.record(now - decided_ts);
            let (request, venue) = match command {
                Command::Place { venue, side, price, qty, order_id } => {
                    (Some(OrderRequest { client_id: order_id, side, price, qty, tif: OrderTif::PostOnly }), venue)
                }
                Command::Take { venue, side, price, qty, order_id } => {
                    (Some(OrderRequest { client_id: order_id, side, price, qty, tif: OrderTif::Ioc }), venue)
                }
                Command::Amend { venue, order_id, .. } | Command::Cancel { venue, order_id } => {
                    let cancel = matches!(command, Command::Cancel { .. });
                    match s.working.iter_mut().find(|w| w.id == order_id && w.venue == venue) {
                        // Canceled already: answered with the cancel's answer (0 open).
                        Some(w) if w.canceling => w.unanswered += 1,
                        Some(w) => {
                            let exec = match command {
                                Command::Amend { qty, .. } => ExecCommand::Amend { client_id: order_id, new_qty: qty },
                                _ => ExecCommand::Cancel { client_id: order_id },
                            };
                            match self.mm.submit(now, venue, &exec) {
                                // An amended order's open lots stay the venue's until its answer.
                                Ok(()) => {
                                    w.canceling |= cancel;
                                    w.unanswered += 1;
                                }
                                Err(e) => {
                                    // Not sent: the order stays as it was, and the strategy is told so.
                                    self.errors += 1;
                                    self.error = Some(e.to_string());
                                    s.port.push_answer(venue, order_id, w.qty, now);
                                }
                            }
                        }
                        None => {
                            s.refused += u64::from(!self.mm.quotes_on(venue));
                            s.port.push_answer(venue, order_id, 0, now);
                        }
                    }
                    (None, venue)
                }
            };
            let Some(r) = request else { continue };
            // A quote venue in its cool-down after a refusal takes no new order (it is not
            // hammered); the strategy is told the order is gone.
            let sent = self.mm.quotes_on(venue)
                && !self.mm.quote_venue_held(venue, now)
                && quoting
                && s.working.len() < STRATEGY_ORDERS
                && self.mm.submit(now, venue, &ExecCommand::New(r)).is_ok();
            if sent {
                let (id, side, price, qty) = (r.client_id, r.side, r.price, r.qty);
                s.working.push(Working { venue, id, side, price, qty, canceling: false, unanswered: 0 });
            } else {
                s.refused += 1;
                s.port.push(StrategyEvent::OrderGone { venue, order_id: r.client_id }, now);
            }
        }
        any
    }

    /// The strategy's working orders as the snapshot's quotes (bids then asks).
    pub(super) fn strategy_quotes(&self) -> Option<Vec<QuoteView>> {
        let s = self.strategy.as_ref()?;
        let mut quotes: Vec<QuoteView> = s
            .working
            .iter()
            .filter(|w| !w.canceling)
            .map(|w| QuoteView {
                venue: match w.venue {
                    VenueId::External(i) => self.streams.get(i as usize).map_or("?", |k| k.venue.name()),
                    VenueId::Ours => "ours",
                },
                side: super::side_name(w.side),
                level: 0,
                order_id: w.id,
                price: w.price,
                qty: w.qty,
                queue_ahead: (w.venue == VenueId::Ours).then(|| self.mm.venue().queue_ahead(w.id)).flatten(),
            })
            .collect();
        let venue_rank = |v: &str| self.streams.iter().position(|k| k.venue.name() == v);
        quotes
            .sort_by_key(|q| (venue_rank(q.venue), q.side != "buy", if q.side == "buy" { -q.price } else { q.price }));
        let venues: Vec<&'static str> = quotes.iter().map(|q| q.venue).collect();
        for venue in venues {
            for side in ["buy", "sell"] {
                for (level, q) in quotes.iter_mut().filter(|q| q.venue == venue && q.side == side).enumerate() {
                    q.level = level;
                }
            }
        }
        Some(quotes)
    }

    /// The strategy's section of the snapshot.
    pub(super) fn strategy_view(&self) -> Option<StrategyView> {
        let s = self.strategy.as_ref()?;
        let p = s.port.stats();
        let c = s.port.feed_counters();
        let events = c.events.load(Ordering::Relaxed);
        let busy_ns = c.busy_ns.load(Ordering::Relaxed);
        Some(StrategyView {
            name: s.name.clone(),
            batches: c.batches.load(Ordering::Relaxed),
            events,
            largest_batch: c.largest.load(Ordering::Relaxed),
            busy_ns,
            queued: s.port.queued() as u64,
            sent: p.sent,
            full: p.full,
            conflated_books: p.conflated_books,
            conflated_timers: p.conflated_timers,
            dropped: p.dropped,
            dropped_trades: p.dropped_trades,
            trades: s.trades,
            our_tops: s.our_tops,
            missed_events: self.feed_trades.missed,
            commands: p.commands,
            answers: p.answers,
            unanswered: s.working.iter().map(|w| u64::from(w.unanswered)).sum(),
            refused: s.refused,
            pulled: s.pulled,
            working: s.working.iter().filter(|w| !w.canceling).count() as u64,
            failed: c.failed.load(Ordering::Relaxed),
        })
    }
}
