//! The matching stage: sequence, journal, run on the book, publish.
//!
//! For each command that passed risk, in the order it arrives:
//!
//! 1. **journal** it ([`Journal::append`], or [`Journal::append_tagged`] with the client
//!    order id its gateway was given): the record is in the memory-mapped segment — it
//!    survives a crash of the process — *before* any of its effects is visible to anyone.
//!    Without a journal the stage still numbers commands the same way (1, 2, ...);
//! 2. **run** it through [`journal::apply`], the very function replay uses, so the live books
//!    and a replay of the journal cannot drift apart;
//! 3. hand the risk-relevant events to **post-trade** risk (see [`super::risk_stage`]);
//! 4. **publish** one [`Output`] per event (or one `NoEvents` / `Refused`) to every
//!    subscription (book deltas only to those that take them): built in place in the ring
//!    slot, handed over to the subscriber at the end of the batch (see
//!    [`super::subscription`]).
//!
//! The stage reads the clock once per command (`MatchStage::process`): the end of one
//! command is the start of the next one of the batch. It reads the wall clock once per batch
//! ([`MatchStage::mark_time`]): the journal stamps the batch's records with it.
//!
//! Risk rejections and commands for unknown instruments are published without being
//! journaled. If the journal fails, the stage *halts*: it keeps the error (returned by
//! [`super::Pipeline::shutdown`]), runs no further command, and answers each with
//! [`OutputKind::Halted`] — a command is never applied without its journal record.
//!
//! Between commands it also journals the risk controls that reach it ([`super::control`]) and
//! takes the book half of snapshot cuts ([`super::snapshots`]).
//!
//! With `FsyncPolicy::Batch` the journal flushes to disk every N records or T time, inside
//! `append` (so on this thread; [`super::JournalSync::Background`] moves the flush to a thread
//! of its own). Publication never waits for a flush (group commit is future work), so a machine
//! crash can lose the last flush interval of published commands — a process crash cannot.

use wintermute_core::{Engine, Event, InstrumentId};

use super::control::{control_name, ControlError, ControlReply, Reply};
use super::message::{Checked, CommandId, Output, OutputKind, SnapshotJob, Stamps};
use super::risk_stage::{is_book_delta, matters_to_risk, PostTradeSink};
use super::snapshots::{SnapshotSchedule, SnapshotSink};
use super::subscription::OutputPort;
use crate::analytics::{MeterPublisher, PipelineClock, Stage};
use crate::journal::{self, EngineSnapshot, Journal, JournalError, Outcome};
use crate::risk::{risk_reason, ControlRecord, RiskState};
use crate::wait::{Idle, WaitStrategy};

/// Nanoseconds since the Unix epoch now (1 if the clock is set before it: 0 means "no time").
fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1))
}

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
    /// Periodic snapshots (`None`: on request only).
    schedule: Option<SnapshotSchedule>,
    /// The snapshot writer (`None` without a journal).
    cuts: Option<SnapshotSink>,
    /// Risk runs on this thread, right before matching: `risk_to_match` is 0 for every command,
    /// recorded per batch by the thread ([`MatchStage::record_merged_batch`]).
    merged: bool,
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
            schedule: None,
            cuts: None,
            merged: false,
        }
    }

    /// The stage of the merged topology (see [`MatchStage::record_merged_batch`]).
    pub(crate) fn merged(mut self) -> Self {
        self.merged = true;
        self
    }

    /// Records `risk_to_match` (0) for the `commands` of one batch of the merged thread.
    #[inline]
    pub(crate) fn record_merged_batch(&mut self, commands: usize) {
        self.meter.local.latency.record_n(Stage::RiskToMatch, 0, commands as u64);
    }

    /// Takes snapshots: periodically by `schedule` (if any), and into `cuts`.
    pub(crate) fn with_snapshots(mut self, schedule: Option<SnapshotSchedule>, cuts: Option<SnapshotSink>) -> Self {
        self.schedule = schedule;
        self.cuts = cuts;
        self
    }

    /// Starts a batch: the journal records after this carry the wall-clock time read now (one
    /// clock read per batch; a time mark is written before the batch's first record, see
    /// [`crate::journal::record`]). Nothing without a journal.
    #[inline]
    pub(crate) fn mark_time(&mut self) {
        if let Some(j) = self.journal.as_mut() {
            j.mark_time(wall_clock_ns());
        }
    }

    /// The error a control gets once the journal has failed (`None` while it works).
    pub(crate) fn halted(&self, op: &'static str) -> Option<ControlError> {
        self.halted.as_ref().map(|e| ControlError::Halted { op, why: e.to_string() })
    }

    /// Journals a control the risk side applied; returns its sequence number (0 without a
    /// journal). A journal failure halts the stage, as for a command.
    pub(crate) fn journal_control(&mut self, control: &ControlRecord) -> Result<u64, ControlError> {
        let op = control_name(control);
        if let Some(e) = &self.halted {
            return Err(ControlError::Halted { op, why: e.to_string() });
        }
        let Some(j) = self.journal.as_mut() else { return Ok(0) };
        j.mark_time(wall_clock_ns());
        match j.append_control(control) {
            Ok(seq) => {
                if let Some(s) = self.schedule.as_mut() {
                    s.since += 1;
                }
                Ok(seq)
            }
            Err(e) => {
                let why = e.to_string();
                self.halted = Some(e);
                Err(ControlError::Halted { op, why })
            }
        }
    }

    /// [`Self::journal_control`], answering `reply`.
    pub(crate) fn control(&mut self, control: &ControlRecord, reply: Reply) {
        let answer = self.journal_control(control).map(|journal_seq| ControlReply::Applied { journal_seq });
        let _ = reply.send(answer);
    }

    /// True when a periodic snapshot is due (and the writer is free).
    #[inline]
    pub(crate) fn cut_due(&mut self, now_ns: u64) -> bool {
        let free = self.cuts.as_ref().is_some_and(SnapshotSink::idle);
        self.schedule.as_mut().is_some_and(|s| s.due(now_ns)) && free
    }

    /// Takes the book half of a snapshot at the last journaled record, after flushing the
    /// journal up to it. `None` (with `reply` answered) when there is no journal or it failed.
    pub(crate) fn cut(&mut self, reply: Option<Reply>) -> Option<SnapshotJob> {
        let fail = |reply: Option<Reply>, e: ControlError| {
            if let Some(r) = reply {
                let _ = r.send(Err(e));
            }
        };
        if let Some(e) = &self.halted {
            fail(reply, ControlError::Halted { op: "snapshot", why: e.to_string() });
            return None;
        }
        let Some(j) = self.journal.as_mut() else {
            fail(reply, ControlError::NoJournal { op: "snapshot" });
            return None;
        };
        if let Err(e) = j.sync() {
            fail(reply, ControlError::Halted { op: "snapshot", why: e.to_string() });
            self.halted = Some(e);
            return None;
        }
        let seq = j.last_seq();
        let now = self.clock.now_ns();
        if let Some(s) = self.schedule.as_mut() {
            s.reset(now);
        }
        Some(SnapshotJob { snapshot: EngineSnapshot::capture(&self.engine, seq), reply })
    }

    /// Queues a completed cut for writing.
    pub(crate) fn send_cut(&self, job: SnapshotJob, risk: Option<RiskState>) {
        if let Some(sink) = &self.cuts {
            sink.send(job, risk);
        }
    }

    /// Sequences, journals, runs and publishes one command, taken by this stage at
    /// `match_ns`. Returns its `publish_ns` (the one clock read per command here): the thread
    /// takes the next command of the batch right away, so that is the next one's `match_ns`.
    /// See the module docs.
    pub(crate) fn process<P: PostTradeSink>(&mut self, checked: Checked, match_ns: u64, post: &mut P) -> u64 {
        let Checked { inbound, risk_ns, rejected } = checked;
        let (id, instrument, command) = (inbound.id, inbound.instrument, inbound.command);
        let client_order_id = inbound.client_order_id;
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
            // A risk rejection goes into the journal (with its reason) so that the audit trail
            // rebuilt from it holds every rejection; it changes no book.
            let journal_seq = match (&kind, self.journal.as_mut()) {
                (OutputKind::RiskRejected(err), Some(j)) => {
                    let reason = risk_reason(err);
                    let appended = match &client_order_id {
                        Some(tag) => j.append_tagged_rejection(instrument, &command, reason, tag),
                        None => j.append_rejection(instrument, &command, reason),
                    };
                    match appended {
                        Ok(seq) => seq,
                        Err(e) => {
                            self.halted = Some(e);
                            0
                        }
                    }
                }
                _ => 0,
            };
            stamps.publish_ns = self.clock.now_ns();
            self.record(&stamps);
            self.publish_one(|| Output {
                command: id,
                instrument,
                journal_seq,
                kind: kind.clone(),
                last: true,
                stamps,
            });
            return stamps.publish_ns;
        }
        let appended = self.journal.as_mut().map(|j| match client_order_id.as_ref() {
            Some(tag) => j.append_tagged(instrument, &command, tag),
            None => j.append(instrument, &command),
        });
        let seq = match appended {
            Some(appended) => match appended {
                Ok(seq) => seq,
                Err(e) => {
                    self.halted = Some(e);
                    self.meter.local.counters.not_run += 1;
                    stamps.publish_ns = self.clock.now_ns();
                    self.record(&stamps);
                    self.publish_one(|| Output {
                        command: id,
                        instrument,
                        journal_seq: 0,
                        kind: OutputKind::Halted,
                        last: true,
                        stamps,
                    });
                    return stamps.publish_ns;
                }
            },
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                seq
            }
        };
        self.meter.local.counters.sequenced += 1;
        if let Some(s) = self.schedule.as_mut() {
            s.since += 1;
        }
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
                self.publish_one(|| head.output(OutputKind::Refused(err), true));
            }
            Outcome::Executed if self.events.is_empty() => self.publish_one(|| head.output(OutputKind::NoEvents, true)),
            Outcome::Executed => self.publish_events(&head),
        }
        stamps.publish_ns
    }

    /// Publishes the command's events (at least one) to every live subscription: all of them,
    /// or — to a subscription without book deltas — the order events, ending with the last
    /// one; a command with nothing but deltas still ends with its last delta there.
    fn publish_events(&mut self, head: &Head) {
        let events = &self.events;
        let n = events.len();
        let counters = &mut self.meter.local.counters;
        counters.events += n as u64;
        counters.outputs += n as u64;
        let last_order_event = events.iter().rposition(|e| !is_book_delta(e)).unwrap_or(n - 1);
        let rings = &mut self.meter.local.rings;
        for port in &mut self.ports {
            if port.is_abandoned() {
                continue;
            }
            let last = if port.book_deltas { n - 1 } else { last_order_event };
            for (i, event) in events[..=last].iter().enumerate() {
                if port.book_deltas || i == last || !is_book_delta(event) {
                    let make = || head.output(OutputKind::Event(*event), i == last);
                    port.publish(make, &mut self.idle, &mut rings[port.ring]);
                }
            }
        }
    }

    fn record(&mut self, s: &Stamps) {
        let latency = &mut self.meter.local.latency;
        if !self.merged {
            latency.record(Stage::RiskToMatch, s.match_ns.saturating_sub(s.risk_ns));
        }
        latency.record(Stage::MatchToPublish, s.publish_ns.saturating_sub(s.match_ns));
        latency.record(Stage::EndToEnd, s.publish_ns.saturating_sub(s.ingress_ns));
    }

    /// Writes one output, built by `make` in each ring's slot, to every live subscription.
    #[inline]
    fn publish_one<F: Fn() -> Output>(&mut self, make: F) {
        self.meter.local.counters.outputs += 1;
        let rings = &mut self.meter.local.rings;
        for port in &mut self.ports {
            if !port.is_abandoned() {
                port.publish(&make, &mut self.idle, &mut rings[port.ring]);
            }
        }
    }

    /// Hands every output written so far to the subscribers. Called after each batch of
    /// commands, before the thread does anything else (waits, controls, cuts).
    #[inline]
    pub(crate) fn flush(&mut self) {
        for port in &mut self.ports {
            port.flush();
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
