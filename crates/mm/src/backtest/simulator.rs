//! The event loop: one thread, one clock, every event in time order.
//!
//! Three sources are merged by time (ties broken in this order, so a run is a pure function of
//! its inputs and seed):
//!
//! 1. the tape at **venue time**: each external venue's book (as the venue has it) changes, and
//!    our resting orders there are filled by the queue model of the simulated venue
//!    ([`crate::sim_venue::SimVenue`], run with no latency of its own: the loop applies it);
//! 2. **scheduled actions**: our orders arriving at a venue after the order latency, our
//!    venue's participants acting, what our venue tells us (tops, trades, fills) arriving after
//!    the feed latency, the strategy's timer, the metrics sampler;
//! 3. the tape at **receive time**: what we see of the external venues, which drives the
//!    strategy's `on_book` and `on_trade`.
//!
//! Every event and fill is folded into a 64-bit FNV-1a digest: two runs of one configuration and
//! seed give the same digest, and a test checks it.
//!
//! Scheduled actions at the same instant run in the order of the loop step that scheduled them,
//! then in the order scheduled. A batched strategy ([`Strategy::BATCHED`]) sends its commands
//! after the fact, each stamped with the step of the event it was decided after
//! ([`Context::decided_at`]), so they take the place they would have taken if sent at once; the
//! loop ends a batch ([`Strategy::on_batch_end`]) before anything at or past one order latency
//! after the batch's first event, and before each metrics sample.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use wintermute_feeds::tick_book::TickBook;

use super::our_venue::{OurVenue, Outcome, OUR_FIRST_ID};
use super::record::{
    venue_code, CalibrationDecile, Counters, FillCalibration, FillRecord, QueueError, Series, VenueFill,
};
use super::synthetic::LatentPath;
use super::tape::{MdKind, Tape};
use crate::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
use crate::metrics::markouts::Markouts;
use crate::metrics::pnl::{FillRole, Mark, PnlLedger, MARK_SCALE};
use crate::sim_venue::SimVenue;
use crate::strategy::{PublicTrade, Stamp, Strategy};
use crate::types::{Fill, Level, Side, Top, VenueId};

mod answers;
mod context;
mod order_fills;
mod sample;

#[derive(Debug, Clone, Copy)]
enum Cmd {
    /// `decision2`: the quoted venue's `bid + ask` when the order was decided (a hedge's
    /// reference price).
    Place {
        venue: VenueId,
        id: u64,
        side: Side,
        price: i64,
        qty: i64,
        ioc: bool,
        decision2: i64,
    },
    Amend {
        venue: VenueId,
        id: u64,
        qty: i64,
        /// The step it was decided at: the fills told by then are the ones it knew of.
        step: u64,
    },
    Cancel {
        venue: VenueId,
        id: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Arrive(Cmd),
    SeeOurTop(Top),
    SeeTrade(PublicTrade),
    SeeFill(Fill, i64),
    SeeGone(VenueId, u64),
    /// The answer to a cancel or amend of ours.
    SeeAnswer(VenueId, u64, i64),
    Act,
    Timer,
    Sample,
}

#[derive(Debug, Clone, Copy)]
struct Scheduled {
    ts: i64,
    /// The loop step that decided it.
    step: u64,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.ts, self.step, self.seq) == (other.ts, other.step, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed: the heap pops the earliest (then the first decided, then the first scheduled).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.ts, other.step, other.seq).cmp(&(self.ts, self.step, self.seq))
    }
}

/// Timing of a run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Order latency (us → any venue), ns.
    pub order_ns: i64,
    /// Feed latency of our venue (venue → us), ns. External venues' latencies are on the tape.
    pub our_feed_ns: i64,
    /// Strategy timer period, ns (0: no timer).
    pub timer_ns: i64,
    /// Metrics sampling period, ns.
    pub sample_ns: i64,
    /// Start, ns.
    pub start_ns: i64,
    /// End, ns.
    pub end_ns: i64,
}

/// Pending fills each markout horizon can hold (more are counted in [`Markouts::dropped`]).
pub const MARKOUT_CAPACITY: usize = 1 << 16;

/// The PnL mark of a `bid + ask` (ticks): the mid on the mark grid, exact.
fn mark_of(mark2: i64) -> Mark {
    Mark(mark2 * (MARK_SCALE / 2))
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The PnL ledger at the end, marked at the (first) quoted venue's mid
    /// ([`crate::metrics::pnl`]).
    pub ledger: PnlLedger,
    /// Markouts of our maker fills, one per quote venue (in `quote_on`'s order): each venue's
    /// fills against its own mid and against the strategy's fair value, observed at every
    /// sample ([`crate::metrics::markouts`]). A maker fill on a venue not quoted on counts
    /// with the first.
    pub markouts: Vec<Markouts>,
    /// The (first) quoted venue's last `bid + ask` (0 before it was two-sided).
    pub mark2: i64,
    /// The L2 queue estimators' error against our venue's truth (empty without our venue).
    pub queue_error: Vec<QueueError>,
    /// The queue models' fill-probability calibration on our venue (empty without it).
    pub fill_calibration: Vec<FillCalibration>,
    /// Every fill.
    pub fills: Vec<FillRecord>,
    /// Sampled series.
    pub series: Series,
    /// Counters.
    pub counters: Counters,
    /// Largest |inventory| reached, lots.
    pub max_inventory: i64,
    /// Fills after which the PnL parts did not add up to the total (always 0).
    pub identity_breaks: u64,
    /// FNV-1a digest of every event and fill.
    pub digest: u64,
}

/// The simulator (see the module docs).
#[derive(Debug)]
pub struct Sim<'t> {
    tape: &'t Tape,
    xi: usize,
    ri: usize,
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    now: i64,
    timing: Timing,
    ext: Vec<SimVenue>,
    /// Whether each external venue's book is live (at venue time).
    ext_live: Vec<bool>,
    /// Lots ahead of each of our resting orders on external venues when it was placed.
    ext_ahead: Vec<(u64, i64)>,
    exec_events: ExecEvents,
    seen: Vec<TickBook>,
    seen_top: Vec<Top>,
    seen_live: Vec<bool>,
    ours: Option<OurVenue>,
    our_top: Top,
    our_sent: (i64, i64, i64, i64),
    /// Where we quote (`quote_on`, in its order; never empty).
    quote_venues: Vec<VenueId>,
    /// Each quote venue's last `bid + ask` (0 before it was two-sided; the first is `rec.mark2`).
    venue_mark2: Vec<i64>,
    inventory_seen: i64,
    /// When the last fill booked so far reaches us: a cancel's or amend's answer comes after.
    fills_seen_by: i64,
    /// Whether the strategy is told the answers to its cancels and amends.
    answers: bool,
    /// Our orders' fills booked and told, for the amends ([`order_fills`]).
    order_fills: order_fills::OrderFills,
    next_id: u64,
    outcome: Outcome,
    /// While an IOC arrives: the mark it was decided at.
    decision: Option<Mark>,
    /// While a batched strategy sends: the event its commands were decided after.
    decided_at: Option<Stamp>,
    /// The time of the first strategy callback since the last end of batch (batched strategies).
    batch_since: Option<i64>,
    rec: Recorded,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl<'t> Sim<'t> {
    /// A simulator over `tape` (its external venues simulated by `ext`), our venue if any,
    /// measuring markouts at `markout_ns`.
    pub fn new(
        tape: &'t Tape,
        ext: Vec<SimVenue>,
        ours: Option<(OurVenue, LatentPath)>,
        quote_venues: Vec<VenueId>,
        timing: Timing,
        markout_ns: &[i64],
    ) -> Self {
        let n = ext.len();
        let quote_venues = if quote_venues.is_empty() { vec![VenueId::Ours] } else { quote_venues };
        let q = quote_venues.len();
        // The latent path lives on in our venue's participants.
        let ours = ours.map(|(o, _latent)| o);
        let mut sim = Sim {
            tape,
            xi: 0,
            ri: 0,
            heap: BinaryHeap::with_capacity(1_024),
            seq: 0,
            now: timing.start_ns,
            timing,
            ext,
            ext_live: vec![false; n],
            ext_ahead: Vec::with_capacity(16),
            exec_events: ExecEvents::new(),
            seen: (0..n).map(|_| TickBook::new()).collect(),
            seen_top: vec![Top::default(); n],
            seen_live: vec![false; n],
            ours,
            our_top: Top::default(),
            our_sent: (0, 0, 0, 0),
            venue_mark2: vec![0; q],
            quote_venues,
            inventory_seen: 0,
            fills_seen_by: timing.start_ns,
            order_fills: order_fills::OrderFills::default(),
            answers: false,
            next_id: OUR_FIRST_ID,
            outcome: Outcome::default(),
            decision: None,
            decided_at: None,
            batch_since: None,
            rec: Recorded {
                ledger: PnlLedger::new(Mark::default()),
                markouts: (0..q).map(|_| Markouts::with_horizons(MARKOUT_CAPACITY, markout_ns)).collect(),
                mark2: 0,
                queue_error: Vec::new(),
                fill_calibration: Vec::new(),
                fills: Vec::new(),
                series: Series::default(),
                counters: Counters::default(),
                max_inventory: 0,
                identity_breaks: 0,
                digest: FNV_OFFSET,
            },
        };
        let start = timing.start_ns;
        if timing.timer_ns > 0 {
            sim.schedule(start + timing.timer_ns, Action::Timer);
        }
        sim.schedule(start, Action::Sample);
        sim.schedule_participants();
        sim
    }

    fn schedule(&mut self, ts: i64, action: Action) {
        self.schedule_from(self.rec.counters.loop_events, ts, action);
    }

    fn schedule_from(&mut self, step: u64, ts: i64, action: Action) {
        self.seq += 1;
        self.heap.push(Scheduled { ts, step, seq: self.seq, action });
    }

    /// A strategy callback is about to run: a batched strategy's batch is open from now.
    #[inline]
    fn open_batch<S: Strategy>(&mut self) {
        if S::BATCHED && self.batch_since.is_none() {
            self.batch_since = Some(self.now);
        }
    }

    /// Ends a batched strategy's open batch.
    fn end_batch<S: Strategy>(&mut self, strategy: &mut S) {
        if S::BATCHED && self.batch_since.take().is_some() {
            strategy.on_batch_end(self);
        }
    }

    /// When and at which step a command sent now reaches a venue.
    fn arrival(&self) -> (i64, u64) {
        match self.decided_at {
            // Never in the past: the loop ends batches in time, so this only guards.
            Some(at) => ((at.ts_ns + self.timing.order_ns).max(self.now), at.step),
            None => (self.now + self.timing.order_ns, self.rec.counters.loop_events),
        }
    }

    fn send(&mut self, cmd: Cmd) {
        let (ts, step) = self.arrival();
        self.schedule_from(step, ts, Action::Arrive(cmd));
    }

    fn schedule_participants(&mut self) {
        let next = self.ours.as_ref().map_or(i64::MAX, |o| o.next_event_ns());
        if next != i64::MAX {
            self.schedule(next.max(self.now), Action::Act);
        }
    }

    #[inline]
    fn mix(&mut self, x: u64) {
        self.rec.digest = (self.rec.digest ^ x).wrapping_mul(FNV_PRIME);
    }

    /// Runs to the end; `progress` (if any) gets the fraction done, in millionths.
    pub fn run<S: Strategy>(mut self, strategy: &mut S, progress: Option<&AtomicU64>) -> Recorded {
        let events = &self.tape.events;
        let order = &self.tape.recv_order;
        let span = (self.timing.end_ns - self.timing.start_ns).max(1) as f64;
        self.answers = strategy.wants_answers();
        loop {
            let te = events.get(self.xi).map_or(i64::MAX, |e| e.ts_exch);
            let tr = order.get(self.ri).map_or(i64::MAX, |&i| events[i as usize].ts_recv);
            let th = self.heap.peek().map_or(i64::MAX, |s| s.ts);
            let t = te.min(tr).min(th);
            if let Some(since) = self.batch_since.filter(|_| S::BATCHED) {
                // Commands decided in the open batch could reach a venue from `since + order_ns`.
                if t >= since.saturating_add(self.timing.order_ns) || t > self.timing.end_ns {
                    self.end_batch(strategy);
                    if strategy.halted() {
                        break;
                    }
                    continue;
                }
            }
            if t > self.timing.end_ns {
                break;
            }
            self.now = t;
            self.rec.counters.loop_events += 1;
            if te == t {
                self.venue_event();
            } else if th == t {
                let Some(s) = self.heap.pop() else { break };
                self.action(s.action, strategy);
            } else {
                self.seen_event(strategy);
            }
            if self.rec.counters.loop_events & 0xFFFF == 0 {
                if let Some(p) = progress {
                    p.store(((t - self.timing.start_ns) as f64 / span * 1e6) as u64, AtomicOrdering::Relaxed);
                }
            }
        }
        self.now = self.timing.end_ns;
        self.end_batch(strategy);
        self.sample(strategy.fair_value(self.now));
        if let Some(ours) = self.ours.as_mut() {
            self.rec.queue_error = ours
                .queue_truth()
                .errors()
                .map(|(model, s)| QueueError {
                    model: model.to_string(),
                    samples: s.samples() as u64,
                    dropped: s.dropped(),
                    mean_abs_lots: s.mean_abs_error().unwrap_or(0.0),
                    p90_abs_lots: s.p90_abs_error().unwrap_or(0.0),
                })
                .collect();
            let truth = ours.queue_truth();
            let counts = truth.predictions();
            let horizon_ms = truth.horizon_ns() / 1_000_000;
            self.rec.fill_calibration = truth
                .calibration()
                .map(|(formula, model, deciles)| FillCalibration {
                    model: model.to_string(),
                    formula: formula.to_string(),
                    horizon_ms,
                    predictions: counts.made,
                    filled: counts.filled,
                    censored: counts.censored,
                    survived: counts.survived,
                    dropped: counts.dropped,
                    deciles: deciles
                        .iter()
                        .enumerate()
                        .map(|(i, d)| CalibrationDecile {
                            from: i as f64 / 10.0,
                            count: d.count,
                            mean_predicted: d.mean_predicted,
                            filled: d.filled,
                            censored: d.censored,
                            realized_rate: d.realized_rate,
                        })
                        .collect(),
                })
                .collect();
        }
        if let Some(p) = progress {
            p.store(1_000_000, AtomicOrdering::Relaxed);
        }
        self.rec
    }

    /// A tape event at venue time.
    #[inline]
    fn venue_event(&mut self) {
        let ev = self.tape.events[self.xi];
        self.xi += 1;
        self.rec.counters.md_events += 1;
        self.mix(ev.ts_exch as u64);
        self.mix(ev.price as u64 ^ ((ev.qty as u64) << 20));
        self.mix(ev.venue as u64 | (ev.kind as u64) << 8 | (ev.side as u64) << 16);
        let v = ev.venue as usize;
        let (ts, ext) = (ev.ts_exch, &mut self.ext[v]);
        // A tape is in venue-time order, so no update goes back in time (one that did would be
        // refused by the venue and skipped).
        let _ = match ev.kind {
            MdKind::Level => ext.on_level(ts, ev.side, ev.price, ev.qty),
            MdKind::Trade => ext.on_trade(ts, ev.price, ev.qty, ev.side),
            MdKind::Clear | MdKind::Invalid => {
                self.ext_live[v] = ev.kind == MdKind::Clear;
                ext.on_snapshot(ts, &[], &[])
            }
        };
        if ext.resting().next().is_some() {
            self.poll_ext(v, ev.ts_recv - ev.ts_exch, None);
        }
    }

    /// Sends `cmd` to external venue `v` now.
    fn submit_ext(&mut self, v: usize, cmd: &ExecCommand) -> bool {
        // A venue the market does not have takes nothing.
        self.ext.get_mut(v).is_some_and(|e| e.submit(self.now, cmd).is_ok())
    }

    /// Books what external venue `v` answered by now, our venue telling us `delay` ns later.
    /// Returns whether `placing` (an order just sent) left without resting or filling.
    fn poll_ext(&mut self, v: usize, delay: i64, placing: Option<u64>) -> bool {
        let venue = VenueId::External(v as u8);
        let (mut gone, mut filled) = (false, false);
        loop {
            self.exec_events.clear();
            self.ext[v].poll(self.now, &mut self.exec_events);
            if self.exec_events.is_empty() {
                return gone;
            }
            for i in 0..self.exec_events.len() {
                match self.exec_events.get(i) {
                    Some(ExecEvent::Accepted { client_id, .. }) if placing == Some(client_id) => {
                        if let Some(q) = self.ext[v].queue_position(client_id) {
                            self.ext_ahead.push((client_id, q.ahead_lots()));
                        }
                    }
                    Some(ExecEvent::Filled { client_id, fill, open_qty }) => {
                        filled |= placing == Some(client_id);
                        let at = self.ext_ahead.iter().position(|&(id, _)| id == client_id);
                        let queue_ahead = at.map_or(0, |i| self.ext_ahead[i].1);
                        if let (Some(i), 0) = (at, open_qty) {
                            self.ext_ahead.swap_remove(i);
                        }
                        let f = VenueFill {
                            order_id: client_id,
                            side: fill.side,
                            price: fill.price,
                            qty: fill.qty,
                            liquidity: fill.liquidity,
                            remaining: open_qty,
                            queue_ahead: if fill.liquidity == crate::types::Liquidity::Maker { queue_ahead } else { 0 },
                        };
                        self.book_fill(venue, f, delay);
                    }
                    Some(ExecEvent::Rejected { client_id, .. }) if placing == Some(client_id) => gone = true,
                    // An IOC's unfilled remainder: gone only when nothing of it traded.
                    Some(ExecEvent::Canceled { client_id, .. }) if placing == Some(client_id) => gone |= !filled,
                    _ => {}
                }
            }
        }
    }

    /// A tape event as we see it.
    #[inline]
    fn seen_event<S: Strategy>(&mut self, strategy: &mut S) {
        let ev = self.tape.events[self.tape.recv_order[self.ri] as usize];
        self.ri += 1;
        let v = ev.venue as usize;
        let venue = VenueId::External(ev.venue);
        match ev.kind {
            MdKind::Level => {
                if self.seen[v].set(ev.side, ev.price, ev.qty).is_err() {
                    return;
                }
                let book = &self.seen[v];
                let bid = book.best_bid().map_or(Level::default(), |(price, qty)| Level { price, qty });
                let ask = book.best_ask().map_or(Level::default(), |(price, qty)| Level { price, qty });
                let top = &mut self.seen_top[v];
                top.ts_ns = self.now;
                if top.bid != bid || top.ask != ask {
                    top.bid = bid;
                    top.ask = ask;
                    let top = *top;
                    self.open_batch::<S>();
                    strategy.on_book(self, venue, &top);
                }
            }
            MdKind::Trade => {
                let trade = PublicTrade { ts_ns: self.now, venue, price: ev.price, qty: ev.qty, aggressor: ev.side };
                self.open_batch::<S>();
                strategy.on_trade(self, &trade);
            }
            MdKind::Clear | MdKind::Invalid => {
                self.seen[v].clear();
                self.seen_live[v] = ev.kind == MdKind::Clear;
                self.seen_top[v] = Top { ts_ns: self.now, ..Top::default() };
                let top = self.seen_top[v];
                self.open_batch::<S>();
                strategy.on_book(self, venue, &top);
            }
        }
    }

    fn action<S: Strategy>(&mut self, action: Action, strategy: &mut S) {
        if matches!(
            action,
            Action::SeeOurTop(_)
                | Action::SeeTrade(_)
                | Action::SeeFill(..)
                | Action::SeeGone(..)
                | Action::SeeAnswer(..)
                | Action::Timer
        ) {
            self.open_batch::<S>();
        }
        match action {
            Action::Arrive(cmd) => self.arrive(cmd),
            Action::SeeOurTop(top) => {
                self.our_top = top;
                strategy.on_book(self, VenueId::Ours, &top);
            }
            Action::SeeTrade(trade) => strategy.on_trade(self, &trade),
            Action::SeeFill(fill, remaining) => {
                self.inventory_seen += if fill.side == Side::Buy { fill.qty } else { -fill.qty };
                match remaining {
                    0 => self.order_fills.forget(fill.order_id),
                    _ => self.order_fills.told(fill.order_id, fill.qty, self.rec.counters.loop_events),
                }
                strategy.on_fill(self, &fill, remaining);
            }
            Action::SeeGone(venue, id) => strategy.on_order_gone(self, venue, id),
            Action::SeeAnswer(venue, id, open) => strategy.on_answer(self, venue, id, open),
            Action::Act => {
                if let Some(ours) = self.ours.as_mut() {
                    let mut out = std::mem::take(&mut self.outcome);
                    ours.set_now(self.now);
                    ours.act(&mut out);
                    self.our_outcome(&mut out, None);
                    self.outcome = out;
                }
                self.schedule_participants();
            }
            Action::Timer => {
                self.schedule(self.now + self.timing.timer_ns, Action::Timer);
                strategy.on_timer(self);
            }
            Action::Sample => {
                self.schedule(self.now + self.timing.sample_ns, Action::Sample);
                self.end_batch(strategy);
                self.sample(strategy.fair_value(self.now));
            }
        }
    }

    fn arrive(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Place { venue, id, side, price, qty, ioc, decision2 } => {
                self.mix(id ^ (price as u64) << 24 ^ (qty as u64) << 48);
                self.decision = ioc.then_some(mark_of(decision2));
                match venue {
                    VenueId::Ours => self.with_ours(Some(id), |o, out| o.place(id, side, price, qty, ioc, out)),
                    VenueId::External(v) => {
                        let v = v as usize;
                        let tif = if ioc { OrderTif::Ioc } else { OrderTif::PostOnly };
                        let cmd = ExecCommand::New(OrderRequest { client_id: id, side, price, qty, tif });
                        // A venue whose book is not live takes no order.
                        let gone = !self.ext_live.get(v).copied().unwrap_or(false)
                            || !self.submit_ext(v, &cmd)
                            || self.poll_ext(v, self.timing.order_ns, Some(id));
                        if gone {
                            self.rec.counters.rejects += 1;
                            self.schedule(self.now + self.timing.order_ns, Action::SeeGone(venue, id));
                        }
                    }
                }
                self.decision = None;
            }
            Cmd::Amend { venue, id, qty, step } => {
                // The venue amends the order's total quantity: the fills the strategy had not
                // been told of when it decided come off the open quantity it asked for; none
                // left, the amend cancels the order ([`order_fills`]).
                let qty = qty - self.order_fills.unseen(id, step);
                if qty <= 0 {
                    self.cancel_now(venue, id);
                    self.answer(venue, id);
                    return;
                }
                match venue {
                    VenueId::Ours => self.with_ours(None, |o, out| o.amend(id, qty, out)),
                    VenueId::External(v) => {
                        // An order already gone cannot be amended: the venue's refusal changes nothing.
                        if self.submit_ext(v as usize, &ExecCommand::Amend { client_id: id, new_qty: qty }) {
                            self.poll_ext(v as usize, self.timing.order_ns, None);
                        }
                    }
                }
                self.answer(venue, id);
            }
            Cmd::Cancel { venue, id } => {
                self.cancel_now(venue, id);
                self.answer(venue, id);
            }
        }
    }

    fn with_ours(&mut self, ioc_id: Option<u64>, f: impl FnOnce(&mut OurVenue, &mut Outcome)) {
        let Some(ours) = self.ours.as_mut() else {
            if let Some(id) = ioc_id {
                self.schedule(self.now + self.timing.order_ns, Action::SeeGone(VenueId::Ours, id));
            }
            return;
        };
        let mut out = std::mem::take(&mut self.outcome);
        ours.set_now(self.now);
        f(ours, &mut out);
        self.our_outcome(&mut out, ioc_id);
        self.outcome = out;
    }

    /// Passes on what a command on our venue did.
    fn our_outcome(&mut self, out: &mut Outcome, placed: Option<u64>) {
        let feed = self.timing.our_feed_ns;
        for &(price, qty, aggressor) in &out.trades {
            self.rec.counters.participant_trades += 1;
            let trade = PublicTrade { ts_ns: self.now + feed, venue: VenueId::Ours, price, qty, aggressor };
            self.schedule(self.now + feed, Action::SeeTrade(trade));
        }
        for f in std::mem::take(&mut out.fills) {
            self.book_fill(VenueId::Ours, f, feed);
        }
        let mut gone = std::mem::take(&mut out.gone);
        if let Some(id) = placed {
            // An IOC that did not trade at all leaves without a fill.
            let traded = self.rec.fills.last().is_some_and(|r| r.fill.order_id == id);
            let ioc_gone = !traded && self.ours.as_ref().is_some_and(|o| o.book().order(id).is_none());
            if ioc_gone && !gone.contains(&id) {
                gone.push(id);
            }
        }
        for id in gone.drain(..) {
            self.rec.counters.rejects += 1;
            self.schedule(self.now + feed, Action::SeeGone(VenueId::Ours, id));
        }
        out.clear();
        out.gone = gone;
        if let Some(ours) = self.ours.as_ref() {
            let book = ours.book();
            let (b, a) = (book.best_bid().unwrap_or((0, 0)), book.best_ask().unwrap_or((0, 0)));
            let now = (b.0, b.1, a.0, a.1);
            if now != self.our_sent {
                self.our_sent = now;
                let top = Top {
                    bid: Level { price: b.0, qty: b.1 },
                    ask: Level { price: a.0, qty: a.1 },
                    ts_ns: self.now + feed,
                };
                self.schedule(self.now + feed, Action::SeeOurTop(top));
            }
        }
    }

    /// The (first) quoted venue's `bid + ask` now (None unless two-sided).
    fn mark2(&self) -> Option<i64> {
        self.mark2_of(self.quote_venues[0])
    }

    /// `venue`'s `bid + ask` now (None unless two-sided).
    fn mark2_of(&self, venue: VenueId) -> Option<i64> {
        let (bid, ask) = match venue {
            VenueId::Ours => {
                let b = self.ours.as_ref()?.book();
                (b.best_bid()?, b.best_ask()?)
            }
            VenueId::External(v) => {
                let (bids, asks) = self.ext.get(v as usize)?.book();
                ((bids.first()?.price, 0), (asks.first()?.price, 0))
            }
        };
        Some(bid.0 + ask.0)
    }

    /// Books a fill at venue time and tells the strategy `delay` ns later.
    fn book_fill(&mut self, venue: VenueId, f: VenueFill, delay: i64) {
        let fees = match venue {
            VenueId::Ours => self.ours.as_ref().map(|o| o.fees).unwrap_or_default(),
            VenueId::External(v) => self.ext[v as usize].fees(),
        };
        let fill = Fill {
            ts_ns: self.now,
            venue,
            order_id: f.order_id,
            side: f.side,
            price: f.price,
            qty: f.qty,
            liquidity: f.liquidity,
            fee: fees.fee(f.price, f.qty, f.liquidity),
        };
        self.remark();
        let mark = mark_of(self.rec.mark2);
        let role = match f.liquidity {
            crate::types::Liquidity::Maker => FillRole::Quote,
            crate::types::Liquidity::Taker => FillRole::Hedge { decision: self.decision.unwrap_or(mark) },
        };
        let parts = self.rec.ledger.on_fill(&fill, role, mark);
        if self.rec.ledger.total() != parts.total() {
            self.rec.identity_breaks += 1;
        }
        self.rec.max_inventory = self.rec.max_inventory.max(self.rec.ledger.position().abs());
        let c = &mut self.rec.counters;
        c.fills += 1;
        match f.liquidity {
            crate::types::Liquidity::Maker => {
                c.maker_lots += f.qty;
                let k = self.quote_venues.iter().position(|&v| v == venue).unwrap_or(0);
                self.rec.markouts[k].on_fill(fill.ts_ns, fill.side, fill.price);
            }
            crate::types::Liquidity::Taker => c.taker_lots += f.qty,
        }
        self.rec.fills.push(FillRecord { fill, mark2: self.rec.mark2, queue_ahead: f.queue_ahead });
        self.mix(venue_code(venue) ^ f.order_id << 8);
        self.mix(f.price as u64 ^ (f.qty as u64) << 32 ^ (f.side as u64) << 62);
        self.fills_seen_by = self.fills_seen_by.max(self.now + delay);
        self.order_fills.booked(f.order_id, f.qty);
        self.schedule(self.now + delay, Action::SeeFill(fill, f.remaining));
    }

    /// Moves the ledger's mark to the quoted venue's mid, when it is two-sided.
    fn remark(&mut self) {
        if let Some(m) = self.mark2() {
            self.rec.mark2 = m;
            self.rec.ledger.on_mark(mark_of(m));
        }
    }
}
