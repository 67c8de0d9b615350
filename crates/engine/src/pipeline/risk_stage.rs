//! The risk stage: pre-trade checks in front of the books, post-trade updates behind them.
//!
//! # Where post-trade risk lives
//!
//! [`RiskEngine::check`] *reserves* each passing new order, and [`RiskEngine::on_event`]
//! releases reservations and moves fills into positions: both write the same state, so by the
//! single-writer rule both run on **the thread that owns the risk engine** — the risk thread
//! (or the merged thread). No lock, no shared map:
//!
//! - [`super::Topology::Merged`]: the thread checks a command, runs it on the book and feeds
//!   the book's events straight back into the risk engine, before the next command. Post-trade
//!   state is never behind.
//! - [`super::Topology::Split`]: the matching thread sends the events risk needs (everything but
//!   book deltas, plus "refused by the book") back on a post-trade ring; the risk thread drains
//!   that ring before each batch of new commands, and while it waits for room in the ring to
//!   matching (so the two threads can never wait on each other). Post-trade state lags by the
//!   commands in flight between the two threads. That lag is conservative for the position and
//!   open-order limits (a reservation counts the order as filled in the worst case until its
//!   events arrive); it is not for an amend that races a fill of the same order, which is
//!   checked against the remaining quantity risk knew of. Use `Merged` where that matters.
//!
//! A rejection is not published here: it goes on to the matching stage like any command,
//! marked rejected, so that it reaches subscribers in order with the gateway's other outputs
//! (the matching stage is the only producer of the output rings) — and is never journaled.

use wintermute_core::{Command, Event, InstrumentId, InstrumentSpec};

use super::config::RiskConfig;
use super::message::{Checked, Inbound, PostTrade, SnapshotJob};
use super::snapshots::SnapshotSink;
use crate::risk::{ControlRecord, MonotonicClock, RiskEngine, RiskError, RiskState};

/// Where the matching stage hands what post-trade risk needs.
pub(crate) trait PostTradeSink {
    fn event(&mut self, instrument: InstrumentId, event: &Event);
    fn refused(&mut self, instrument: InstrumentId, command: &Command);
}

/// The risk engine (`None`: everything passes), and where it completes snapshot cuts.
#[derive(Debug)]
pub(crate) struct RiskStage {
    risk: Option<RiskEngine<MonotonicClock>>,
    cuts: Option<SnapshotSink>,
}

impl RiskStage {
    /// Builds the risk engine: instruments in book order, accounts, reference prices.
    pub(crate) fn new(config: Option<&RiskConfig>, instruments: &[InstrumentSpec]) -> Result<Self, RiskError> {
        let Some(config) = config else {
            return Ok(Self { risk: None, cuts: None });
        };
        let mut risk = RiskEngine::new(MonotonicClock::default(), config.notional_scale);
        for spec in instruments {
            risk.add_instrument(spec)?;
        }
        for &(account, limits) in &config.accounts {
            risk.set_limits(account, limits);
        }
        for &(instrument, price) in &config.reference_prices {
            risk.set_reference_price(instrument, price)?;
        }
        risk.set_default_limits(config.default_limits);
        Ok(Self { risk: Some(risk), cuts: None })
    }

    /// Where [`PostTrade::Cut`]s go once they hold the risk state.
    pub(crate) fn set_cuts(&mut self, sink: Option<SnapshotSink>) {
        self.cuts = sink;
    }

    /// Pre-sizes the risk engine's order map (see [`RiskEngine::reserve_orders`]).
    pub(crate) fn reserve_orders(&mut self, orders: usize) {
        if let Some(risk) = self.risk.as_mut() {
            risk.reserve_orders(orders);
        }
    }

    /// True when there is a risk engine.
    pub(crate) fn enabled(&self) -> bool {
        self.risk.is_some()
    }

    /// Applies a control (nothing without risk: a journal replayed without risk).
    pub(crate) fn apply_control(&mut self, control: &ControlRecord) -> Result<(), RiskError> {
        match self.risk.as_mut() {
            Some(risk) => risk.apply_control(control),
            None => Ok(()),
        }
    }

    /// The state a snapshot stores (`None` without risk).
    pub(crate) fn capture(&self) -> Option<RiskState> {
        self.risk.as_ref().map(RiskEngine::capture)
    }

    /// Puts back a snapshot's risk state.
    pub(crate) fn restore(&mut self, state: &RiskState) -> Result<(), RiskError> {
        match self.risk.as_mut() {
            Some(risk) => risk.restore(state),
            None => Ok(()),
        }
    }

    /// Adds the risk state to a cut and queues it for writing.
    pub(crate) fn complete_cut(&self, job: SnapshotJob) {
        if let Some(sink) = &self.cuts {
            sink.send(job, self.capture());
        }
    }

    /// The pre-trade verdict on one command.
    #[inline]
    pub(crate) fn admit(&mut self, inbound: Inbound, risk_ns: u64) -> Checked {
        let rejected = self.check(inbound.instrument, &inbound.command).err();
        Checked { inbound, risk_ns, rejected }
    }

    fn check(&mut self, instrument: InstrumentId, command: &Command) -> Result<(), RiskError> {
        let Some(risk) = self.risk.as_mut() else { return Ok(()) };
        risk.check(instrument, command)
    }

    /// One message from the post-trade ring.
    #[inline]
    pub(crate) fn post_trade(&mut self, msg: PostTrade) {
        match msg {
            PostTrade::Event(instrument, event) => self.event(instrument, &event),
            PostTrade::Refused(instrument, command) => self.refused(instrument, &command),
            PostTrade::Cut(job) => self.complete_cut(*job),
            // Only the running risk loop starts cuts; while it stops, nobody waits for one.
            PostTrade::CutDue | PostTrade::CutAborted => {}
        }
    }

    /// The risk engine (after the pipeline stopped: its final state).
    pub(crate) fn into_engine(self) -> Option<RiskEngine<MonotonicClock>> {
        self.risk
    }
}

impl PostTradeSink for RiskStage {
    #[inline]
    fn event(&mut self, instrument: InstrumentId, event: &Event) {
        if let Some(risk) = self.risk.as_mut() {
            risk.on_event(instrument, event);
        }
    }

    #[inline]
    fn refused(&mut self, instrument: InstrumentId, command: &Command) {
        if let Some(risk) = self.risk.as_mut() {
            risk.on_refused(instrument, command);
        }
    }
}

/// Whether risk needs to see an event (book deltas carry nothing about orders or positions).
#[inline]
pub(crate) fn matters_to_risk(event: &Event) -> bool {
    !is_book_delta(event)
}

/// A level update rather than an order event.
#[inline]
pub(crate) fn is_book_delta(event: &Event) -> bool {
    matches!(event, Event::BookDelta { .. })
}
