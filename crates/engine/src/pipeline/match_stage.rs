//! The matching stage: sequence, journal, run on the book, publish.
//!
//! For each command that passed risk, in the order it arrives:
//!
//! 1. **journal** it ([`Journal::append`]): the record is in the memory-mapped segment — it
//!    survives a crash of the process — *before* any of its effects is visible to anyone.
//!    Without a journal the stage still numbers commands the same way (1, 2, ...);
//! 2. **run** it through [`journal::apply`], the very function replay uses, so the live books
//!    and a replay of the journal cannot drift apart;
//! 3. hand the risk-relevant events to **post-trade** risk (see [`super::risk_stage`]);
//! 4. **publish** one [`Output`] per event (or one `NoEvents` / `Refused`) to every
//!    subscription.
//!
//! Risk rejections and commands for unknown instruments are published without being
//! journaled. If the journal fails, the stage *halts*: it keeps the error (returned by
//! [`super::Pipeline::shutdown`]), runs no further command, and answers each with
//! [`OutputKind::Halted`] — a command is never applied without its journal record.
//!
//! With `FsyncPolicy::Batch` the journal flushes to disk every N records or T time, inside
//! `append` (so on this thread; [`super::JournalSync::Background`] moves the flush to a thread
//! of its own). Publication never waits for a flush (group commit is future work), so a machine
//! crash can lose the last flush interval of published commands — a process crash cannot.

use wintermute_core::{Engine, Event, InstrumentId};

use super::message::{Checked, CommandId, Output, OutputKind, Stamps};
use super::risk_stage::{matters_to_risk, PostTradeSink};
use super::subscription::OutputPort;
use crate::analytics::{MeterPublisher, PipelineClock, Stage};
use crate::journal::{self, Journal, JournalError, Outcome};
use crate::wait::{Idle, WaitStrategy};

/// The state the matching thread owns.
#[derive(Debug)]
pub(crate) struct MatchStage {
    pub(crate) engine: Engine,
    journal: Option<Journal>,
    /// Next sequence number when there is no journal.
    next_seq: u64,
    halted: Option<JournalError>,
    events: Vec<Event>,
    ports: Vec<OutputPort>,
    idle: Idle,
    clock: PipelineClock,
    pub(crate) meter: MeterPublisher,
}

impl MatchStage {
    pub(crate) fn new(
        engine: Engine,
        journal: Option<Journal>,
        ports: Vec<OutputPort>,
        wait: WaitStrategy,
        clock: PipelineClock,
        meter: MeterPublisher,
    ) -> Self {
        let next_seq = journal.as_ref().map_or(1, |j| j.last_seq() + 1);
        Self {
            engine,
            journal,
            next_seq,
            halted: None,
            events: Vec::with_capacity(1024),
            ports,
            idle: Idle::new(wait),
            clock,
            meter,
        }
    }

    /// Sequences, journals, runs and publishes one command. See the module docs.
    pub(crate) fn process<P: PostTradeSink>(&mut self, checked: Checked, post: &mut P) {
        let match_ns = self.clock.now_ns();
        let Checked { inbound, risk_ns, rejected } = checked;
        let (id, instrument, command) = (inbound.id, inbound.instrument, inbound.command);
        let mut stamps = Stamps { ingress_ns: inbound.ingress_ns, risk_ns, match_ns, publish_ns: 0 };
        let counters = &mut self.meter.local.counters;
        let unsequenced = if let Some(err) = rejected {
            counters.risk_rejected += 1;
            Some(OutputKind::RiskRejected(err))
        } else if self.halted.is_some() {
            counters.not_run += 1;
            Some(OutputKind::Halted)
        } else if self.engine.get(instrument).is_none() {
            counters.not_run += 1;
            Some(OutputKind::UnknownInstrument)
        } else {
            None
        };
        if let Some(kind) = unsequenced {
            stamps.publish_ns = self.clock.now_ns();
            self.record(&stamps);
            self.publish_one(Output { command: id, instrument, journal_seq: 0, kind, last: true, stamps });
            return;
        }
        let seq = match self.journal.as_mut() {
            Some(j) => match j.append(instrument, &command) {
                Ok(seq) => seq,
                Err(e) => {
                    self.halted = Some(e);
                    self.meter.local.counters.not_run += 1;
                    stamps.publish_ns = self.clock.now_ns();
                    self.record(&stamps);
                    let halted = Output {
                        command: id,
                        instrument,
                        journal_seq: 0,
                        kind: OutputKind::Halted,
                        last: true,
                        stamps,
                    };
                    self.publish_one(halted);
                    return;
                }
            },
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                seq
            }
        };
        self.meter.local.counters.sequenced += 1;
        self.events.clear();
        let outcome = match journal::apply(&mut self.engine, seq, instrument, &command, &mut self.events) {
            Ok(outcome) => outcome,
            // `apply` fails only on an unknown instrument, ruled out above.
            Err(_) => Outcome::Executed,
        };
        match outcome {
            Outcome::Executed => {
                for event in &self.events {
                    if matters_to_risk(event) {
                        post.event(instrument, event);
                    }
                }
            }
            Outcome::Refused(_) => post.refused(instrument, &command),
        }
        stamps.publish_ns = self.clock.now_ns();
        self.record(&stamps);
        let head = Head { id, instrument, seq, stamps };
        match outcome {
            Outcome::Refused(err) => {
                self.meter.local.counters.refused += 1;
                self.publish_one(head.output(OutputKind::Refused(err), true));
            }
            Outcome::Executed if self.events.is_empty() => self.publish_one(head.output(OutputKind::NoEvents, true)),
            Outcome::Executed => {
                let n = self.events.len();
                self.meter.local.counters.events += n as u64;
                for i in 0..n {
                    let output = head.output(OutputKind::Event(self.events[i]), i + 1 == n);
                    self.publish_one(output);
                }
            }
        }
    }

    fn record(&mut self, s: &Stamps) {
        let latency = &mut self.meter.local.latency;
        latency.record(Stage::RiskToMatch, s.match_ns.saturating_sub(s.risk_ns));
        latency.record(Stage::MatchToPublish, s.publish_ns.saturating_sub(s.match_ns));
        latency.record(Stage::EndToEnd, s.publish_ns.saturating_sub(s.ingress_ns));
    }

    /// Pushes one output to every live subscription (cloned for all but the last).
    fn publish_one(&mut self, output: Output) {
        self.meter.local.counters.outputs += 1;
        let Some((last, rest)) = self.ports.split_last_mut() else { return };
        let rings = &mut self.meter.local.rings;
        for port in rest {
            if !port.is_abandoned() {
                port.publish(output.clone(), &mut self.idle, &mut rings[port.ring]);
            }
        }
        if !last.is_abandoned() {
            last.publish(output, &mut self.idle, &mut rings[last.ring]);
        }
    }

    /// Samples the occupancy of the output rings (once per batch).
    pub(crate) fn observe_rings(&mut self) {
        for port in &self.ports {
            port.observe(&mut self.meter.local.rings[port.ring]);
        }
    }

    /// Flushes and closes the journal; returns the engine, the last journal sequence number
    /// and the first error (a halt, or the final flush).
    pub(crate) fn finish(mut self) -> (Engine, u64, Option<JournalError>) {
        self.meter.finish();
        let last_seq = self.journal.as_ref().map_or(self.next_seq - 1, Journal::last_seq);
        let mut error = self.halted.take();
        if let Some(journal) = self.journal.take() {
            if let Err(e) = journal.close() {
                error.get_or_insert(e);
            }
        }
        (self.engine, last_seq, error)
    }
}

/// What every output of one command shares.
struct Head {
    id: CommandId,
    instrument: InstrumentId,
    seq: u64,
    stamps: Stamps,
}

impl Head {
    #[inline]
    fn output(&self, kind: OutputKind, last: bool) -> Output {
        Output { command: self.id, instrument: self.instrument, journal_seq: self.seq, kind, last, stamps: self.stamps }
    }
}
