//! The engine threads' loops, and how they are started, pinned and woken.
//!
//! | topology | thread | loop |
//! |---|---|---|
//! | split | `wm-risk` | post-trade ring, then each gateway ring round-robin: check, push to matching |
//! | split | `wm-matching` | risk -> matching ring: journal, book, post-trade ring, subscriptions |
//! | merged | `wm-engine` | each gateway ring round-robin: check, journal, book, post-trade, subscriptions |
//!
//! Each loop takes at most `batch` messages from a ring at a time, samples the ring's occupancy
//! once per batch, hands what the batch wrote into the next rings over with one store per ring
//! (at least every [`PUBLISH_EVERY`] messages; always before it waits for room), reads the
//! clock once per command, and waits with its [`Idle`] when a whole round found nothing (parks
//! lengthen once it has been idle for [`IDLE_PATIENCE`], up to [`IDLE_LONGEST_PARK`]). The first
//! thread (risk or merged) looks at the control inbox once per round ([`super::control`]); the
//! thread that owns the books checks once per round whether a periodic snapshot is due
//! ([`super::snapshots`]).
//!
//! # Stopping
//!
//! [`super::Pipeline::shutdown`] raises `stop` and unparks the first thread. It closes every
//! gateway (see [`super::gateway`]: no submit can succeed afterwards, every successful one is
//! in a ring), drains them all, and drops its ring into the next stage; the matching thread
//! drains that ring, flushes the journal and drops the subscription rings. In split mode the
//! risk thread keeps draining the post-trade ring until the matching thread is gone, so
//! neither can wait on the other.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use wintermute_core::{Command, Engine, Event, InstrumentId};

use super::control::{ControlError, ControlOp, ControlReply, ControlRequest, ControlShared};
use super::gateway::GatewayShared;
use super::match_stage::MatchStage;
use super::message::{Inbound, PostTrade, SnapshotJob, ToMatch};
use super::risk_stage::{PostTradeSink, RiskStage};
use super::subscription::PUBLISH_EVERY;
use crate::analytics::{MeterPublisher, PipelineClock, Stage};
use crate::journal::JournalError;
use crate::spsc::{Consumer, Producer, PushError};
use crate::wait::{Idle, WaitStrategy, Waker};

/// How long an engine thread parks at its configured timeout after its last work before its
/// parks lengthen ([`Idle::lengthening_to`]). A thread between commands keeps its short parks
/// (waking one that parked long ago costs more: on a VM its vCPU may have halted); only one
/// idle for longer than this parks longer.
pub(crate) const IDLE_PATIENCE: std::time::Duration = std::time::Duration::from_millis(20);

/// The longest an idle engine thread parks: its parks double from the configured timeout up to
/// this once [`IDLE_PATIENCE`] is spent. Every producer of an engine loop unparks it when it
/// hands it work (a gateway's submit, a control request, the other engine thread, `shutdown`),
/// so a command never waits for a park to end; this only bounds how late an idle thread hands
/// over its measurements ([`PipelineConfig::stats_interval`](super::PipelineConfig)) or starts
/// a periodic snapshot, and the cost of an unpark that could be missed.
pub(crate) const IDLE_LONGEST_PARK: std::time::Duration = std::time::Duration::from_millis(10);

/// Starts a named thread, pinned to `core` when it exists. `pinned` tells whether that worked.
pub(crate) fn spawn<T: Send + 'static>(
    name: &str,
    core: Option<usize>,
    pinned: Arc<AtomicBool>,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    thread::Builder::new().name(name.to_owned()).spawn(move || {
        if let Some(core) = core {
            pinned.store(pin(core), Ordering::Relaxed);
        }
        f()
    })
}

/// Pins the current thread to `core` if this machine has it; never fails.
fn pin(core: usize) -> bool {
    // Not checked against `core_affinity::get_core_ids()`: that lists the cores of this
    // thread's affinity mask, inherited from the thread that started the pipeline — a caller
    // pinned to one core would make every other core look missing. The kernel refuses a core
    // that does not exist or is not allowed to the process (`sched_setaffinity`: EINVAL).
    const CPU_SETSIZE: usize = 1024;
    core < CPU_SETSIZE && core_affinity::set_for_current(core_affinity::CoreId { id: core })
}

/// One gateway ring, as the first engine thread sees it.
#[derive(Debug)]
pub(crate) struct GatewayInput {
    pub(crate) consumer: Consumer<Inbound>,
    pub(crate) shared: Arc<GatewayShared>,
    /// Index in the pipeline's ring table.
    pub(crate) ring: usize,
}

/// What the first thread shares with every loop: its stop flag and batch size.
#[derive(Debug, Clone)]
pub(crate) struct LoopConfig {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) wait: WaitStrategy,
    pub(crate) batch: usize,
    pub(crate) clock: PipelineClock,
}

/// What a thread hands back when it ends.
#[derive(Debug)]
pub(crate) enum ThreadResult {
    Risk(RiskStage),
    Matching { engine: Engine, last_seq: u64, error: Option<JournalError> },
    Merged { engine: Engine, last_seq: u64, error: Option<JournalError>, risk: RiskStage },
}

/// Closes every gateway once `stop` is up; true when they are closed.
fn close_if_stopping(cfg: &LoopConfig, inputs: &[GatewayInput], closed: &mut bool) -> bool {
    if !*closed && cfg.stop.load(Ordering::Acquire) {
        inputs.iter().for_each(|i| i.shared.close());
        *closed = true;
    }
    *closed
}

// ---------------------------------------------------------------- merged

/// One control request on the merged thread: apply, journal, answer.
fn merged_control(r: ControlRequest, risk: &mut RiskStage, stage: &mut MatchStage, control: &ControlShared) {
    match r.op {
        ControlOp::Risk(c) => {
            let op = r.op.name();
            let result = match stage.halted(op) {
                Some(e) => Err(e),
                None => match risk.apply_control(&c) {
                    Err(source) => Err(ControlError::Risk { op, source }),
                    Ok(()) => {
                        control.applied.fetch_add(1, Ordering::Relaxed);
                        stage.journal_control(&c).map(|journal_seq| ControlReply::Applied { journal_seq })
                    }
                },
            };
            r.answer(result);
        }
        ControlOp::Snapshot => {
            if let Some(job) = stage.cut(Some(r.reply)) {
                stage.send_cut(job, risk.capture());
            }
        }
    }
}

/// The merged loop: risk and matching in one thread.
pub(crate) fn run_merged(
    cfg: LoopConfig,
    mut inputs: Vec<GatewayInput>,
    mut risk: RiskStage,
    mut stage: MatchStage,
    control: Arc<ControlShared>,
) -> ThreadResult {
    let mut idle = Idle::new(cfg.wait).lengthening_to(IDLE_LONGEST_PARK, IDLE_PATIENCE);
    let mut closed = false;
    loop {
        let closing = close_if_stopping(&cfg, &inputs, &mut closed);
        let mut work = 0;
        if let Some(requests) = control.take() {
            work += requests.len();
            for r in requests {
                merged_control(r, &mut risk, &mut stage, &control);
            }
        }
        for input in &mut inputs {
            let len = input.consumer.len();
            if len == 0 {
                continue;
            }
            stage.meter.local.rings[input.ring].observe(len);
            // One clock read per command: a command is taken (risk and matching, `risk_ns` =
            // `match_ns`) the moment the previous one of the batch was published.
            let mut now = cfg.clock.now_ns();
            stage.mark_time();
            let taken = input.consumer.pop_batch(cfg.batch, |msg| {
                stage.meter.local.latency.record(Stage::GatewayToRisk, now.saturating_sub(msg.ingress_ns));
                stage.meter.local.counters.received += 1;
                let checked = risk.admit(msg, now);
                now = stage.process(checked, now, &mut risk);
            });
            stage.flush();
            stage.record_merged_batch(taken);
            work += taken;
        }
        let now = cfg.clock.now_ns();
        stage.meter.tick(now);
        if stage.cut_due(now) {
            if let Some(job) = stage.cut(None) {
                stage.send_cut(job, risk.capture());
            }
        }
        if work > 0 {
            idle.reset();
            stage.observe_rings();
        } else if closing {
            // Closed and a whole round found nothing: no submit can land any more.
            break;
        } else {
            idle.idle();
        }
    }
    control.close();
    drop(inputs);
    let (engine, last_seq, error) = stage.finish();
    ThreadResult::Merged { engine, last_seq, error, risk }
}

// ---------------------------------------------------------------- split: risk

/// The risk thread's side of the rings to and from matching.
#[derive(Debug)]
pub(crate) struct RiskLinks {
    pub(crate) to_match: Producer<ToMatch>,
    pub(crate) to_match_ring: usize,
    pub(crate) post_trade: Option<Consumer<PostTrade>>,
    pub(crate) post_trade_ring: usize,
    pub(crate) wake_matching: Waker,
}

/// The risk thread's state besides its inputs.
struct RiskSide {
    risk: RiskStage,
    links: RiskLinks,
    meter: MeterPublisher,
    push_idle: Idle,
    clock: PipelineClock,
    /// A cut marker went to matching and its cut has not come back: controls wait (see
    /// [`super::snapshots`]).
    cut_pending: bool,
    /// Matching asked for a periodic cut.
    cut_due: bool,
    /// Control requests waiting for the pending cut, in arrival order.
    deferred: VecDeque<ControlRequest>,
}

impl RiskSide {
    /// Applies everything on the post-trade ring; returns how many.
    fn drain_post_trade(&mut self) -> usize {
        let Some(rx) = self.links.post_trade.as_mut() else { return 0 };
        let len = rx.len();
        if len == 0 {
            return 0;
        }
        self.meter.local.rings[self.links.post_trade_ring].observe(len);
        let (risk, pending, due) = (&mut self.risk, &mut self.cut_pending, &mut self.cut_due);
        rx.pop_batch(len, |m| match m {
            PostTrade::CutDue => *due = true,
            PostTrade::Cut(job) => {
                risk.complete_cut(*job);
                *pending = false;
            }
            PostTrade::CutAborted => *pending = false,
            other => risk.post_trade(other),
        })
    }

    /// Sends a cut marker to matching (periodic, or for a request); controls wait until the
    /// cut comes back on the post-trade ring.
    fn start_cut(&mut self, reply: Option<super::control::Reply>) {
        // Without risk there is no post-trade ring: no cut comes back, and no risk state
        // (nor control) to hold back.
        self.cut_pending = self.links.post_trade.is_some();
        self.forward(ToMatch::Snapshot(reply));
        self.links.wake_matching.wake();
    }

    /// Runs the control requests that can run now; returns how many ran.
    fn run_controls(&mut self, control: &ControlShared) -> usize {
        if self.cut_due && !self.cut_pending {
            self.cut_due = false;
            self.start_cut(None);
        }
        if let Some(requests) = control.take() {
            self.deferred.extend(requests);
        }
        let mut ran = 0;
        while !self.cut_pending {
            let Some(r) = self.deferred.pop_front() else { break };
            self.control(r, control);
            ran += 1;
        }
        ran
    }

    fn handle(&mut self, msg: Inbound) {
        let now = self.clock.now_ns();
        self.meter.local.latency.record(Stage::GatewayToRisk, now.saturating_sub(msg.ingress_ns));
        self.meter.local.counters.received += 1;
        let checked = self.risk.admit(msg, now);
        self.forward_deferred(ToMatch::Command(checked));
    }

    /// One control request: a risk change is applied here, then journaled (and answered) by
    /// the matching thread, in order with the commands around it.
    fn control(&mut self, r: ControlRequest, control: &ControlShared) {
        match r.op {
            ControlOp::Risk(c) => match self.risk.apply_control(&c) {
                Err(source) => {
                    let op = r.op.name();
                    r.answer(Err(ControlError::Risk { op, source }));
                }
                Ok(()) => {
                    control.applied.fetch_add(1, Ordering::Relaxed);
                    self.forward(ToMatch::Control(Box::new((c, r.reply))));
                }
            },
            ControlOp::Snapshot => self.start_cut(Some(r.reply)),
        }
        self.links.wake_matching.wake();
    }

    /// Pushes one message to the matching thread and hands it over at once.
    fn forward(&mut self, msg: ToMatch) {
        self.forward_deferred(msg);
        self.links.to_match.publish();
    }

    /// Writes one message into the ring to the matching thread, waiting while the ring is
    /// full; it is handed over at the end of the batch ([`run_risk`]), or once
    /// [`PUBLISH_EVERY`] messages are waiting, or before this thread waits for room.
    fn forward_deferred(&mut self, msg: ToMatch) {
        let mut item = msg;
        let mut waited = false;
        loop {
            match self.links.to_match.push_deferred(item) {
                Ok(()) => {
                    if self.links.to_match.unpublished() >= PUBLISH_EVERY {
                        self.links.to_match.publish();
                    }
                    break;
                }
                Err(PushError::Full(back)) => {
                    // Matching can only free what it can see.
                    self.links.to_match.publish();
                    if self.links.to_match.is_abandoned() {
                        // The matching thread died; shutdown reports its panic.
                        return;
                    }
                    if !waited {
                        waited = true;
                        self.meter.local.rings[self.links.to_match_ring].full();
                    }
                    item = back;
                    self.links.wake_matching.wake();
                    // Keep the post-trade ring moving, or matching could wait on us.
                    self.drain_post_trade();
                    self.push_idle.idle();
                }
            }
        }
        if waited {
            self.push_idle.reset();
        }
    }
}

/// The split risk loop.
pub(crate) fn run_risk(
    cfg: LoopConfig,
    mut inputs: Vec<GatewayInput>,
    risk: RiskStage,
    links: RiskLinks,
    meter: MeterPublisher,
    control: Arc<ControlShared>,
) -> ThreadResult {
    let mut side = RiskSide {
        risk,
        links,
        meter,
        push_idle: Idle::new(cfg.wait),
        clock: cfg.clock,
        cut_pending: false,
        cut_due: false,
        deferred: VecDeque::new(),
    };
    let mut idle = Idle::new(cfg.wait).lengthening_to(IDLE_LONGEST_PARK, IDLE_PATIENCE);
    let mut closed = false;
    loop {
        let closing = close_if_stopping(&cfg, &inputs, &mut closed);
        let mut work = side.drain_post_trade();
        work += side.run_controls(&control);
        let mut forwarded = 0;
        for input in &mut inputs {
            let len = input.consumer.len();
            if len == 0 {
                continue;
            }
            side.meter.local.rings[input.ring].observe(len);
            forwarded += input.consumer.pop_batch(cfg.batch, |msg| side.handle(msg));
        }
        work += forwarded;
        if forwarded > 0 {
            side.links.to_match.publish();
            side.links.wake_matching.wake();
        }
        side.meter.tick(cfg.clock.now_ns());
        if work > 0 {
            idle.reset();
        } else if closing {
            break;
        } else {
            idle.idle();
        }
    }
    control.close();
    for r in side.deferred.drain(..) {
        let op = r.op.name();
        r.answer(Err(ControlError::Stopped { op }));
    }
    drop(inputs);
    let RiskSide { mut risk, links, mut meter, .. } = side;
    let RiskLinks { to_match, post_trade, post_trade_ring, wake_matching, .. } = links;
    // Matching sees the ring abandoned once it has drained it.
    drop(to_match);
    wake_matching.wake();
    if let Some(mut rx) = post_trade {
        let mut idle = Idle::new(cfg.wait);
        loop {
            let len = rx.len();
            meter.local.rings[post_trade_ring].observe(len);
            if rx.pop_batch(len.max(1), |m| risk.post_trade(m)) > 0 {
                idle.reset();
            } else if rx.is_abandoned() {
                if rx.is_empty() {
                    break;
                }
            } else {
                idle.idle();
            }
        }
    }
    meter.finish();
    ThreadResult::Risk(risk)
}

// ---------------------------------------------------------------- split: matching

/// The matching thread's end of the post-trade ring (`None` without risk).
#[derive(Debug)]
pub(crate) struct PostTradePort {
    pub(crate) producer: Option<Producer<PostTrade>>,
    pub(crate) ring: usize,
    pub(crate) wake_risk: Waker,
    idle: Idle,
    /// Pushes that met a full ring since the last batch (moved into the meter per batch).
    full_events: u64,
}

impl PostTradePort {
    pub(crate) fn new(
        producer: Option<Producer<PostTrade>>,
        ring: usize,
        wake_risk: Waker,
        wait: WaitStrategy,
    ) -> Self {
        Self { producer, ring, wake_risk, idle: Idle::new(wait), full_events: 0 }
    }

    /// Pushes one message to the risk thread and hands it over at once.
    fn push(&mut self, msg: PostTrade) {
        self.push_deferred(msg);
        self.flush();
    }

    /// Hands everything written so far over to the risk thread.
    fn flush(&mut self) {
        if let Some(tx) = self.producer.as_mut() {
            tx.publish();
        }
    }

    /// Writes one message into the ring to the risk thread, waiting while the ring is full;
    /// it is handed over at the end of the matching batch, or once [`PUBLISH_EVERY`] messages
    /// are waiting, or before this thread waits for room.
    fn push_deferred(&mut self, msg: PostTrade) {
        let Some(tx) = self.producer.as_mut() else { return };
        let mut item = msg;
        let mut waited = false;
        loop {
            match tx.push_deferred(item) {
                Ok(()) => {
                    if tx.unpublished() >= PUBLISH_EVERY {
                        tx.publish();
                    }
                    break;
                }
                Err(PushError::Full(back)) => {
                    // Risk can only free what it can see.
                    tx.publish();
                    if tx.is_abandoned() {
                        return;
                    }
                    if !waited {
                        waited = true;
                        self.full_events += 1;
                    }
                    item = back;
                    self.wake_risk.wake();
                    self.idle.idle();
                }
            }
        }
        if waited {
            self.idle.reset();
        }
    }
}

impl PostTradeSink for PostTradePort {
    #[inline]
    fn event(&mut self, instrument: InstrumentId, event: &Event) {
        self.push_deferred(PostTrade::Event(instrument, *event));
    }

    #[inline]
    fn refused(&mut self, instrument: InstrumentId, command: &Command) {
        self.push_deferred(PostTrade::Refused(instrument, *command));
    }
}

/// Hands a cut to the risk thread (behind the events it has to see first), or, without risk,
/// straight to the writer.
fn cut_to_risk(post: &mut PostTradePort, stage: &MatchStage, job: SnapshotJob) {
    if post.producer.is_some() {
        post.push(PostTrade::Cut(Box::new(job)));
        post.wake_risk.wake();
    } else {
        stage.send_cut(job, None);
    }
}

/// The split matching loop.
pub(crate) fn run_matching(
    cfg: LoopConfig,
    mut rx: Consumer<ToMatch>,
    rx_ring: usize,
    mut post: PostTradePort,
    mut stage: MatchStage,
) -> ThreadResult {
    let mut idle = Idle::new(cfg.wait).lengthening_to(IDLE_LONGEST_PARK, IDLE_PATIENCE);
    // A periodic cut asked of the risk thread, whose marker has not arrived yet.
    let mut cut_asked = false;
    loop {
        let len = rx.len();
        let n = if len > 0 {
            stage.meter.local.rings[rx_ring].observe(len);
            // One clock read per command: the next command is taken when the previous one
            // was published.
            let mut now = cfg.clock.now_ns();
            stage.mark_time();
            let n = rx.pop_batch(cfg.batch, |msg| match msg {
                ToMatch::Command(checked) => now = stage.process(checked, now, &mut post),
                ToMatch::Control(order) => {
                    let (control, reply) = *order;
                    stage.control(&control, reply);
                    now = cfg.clock.now_ns();
                }
                ToMatch::Snapshot(reply) => {
                    cut_asked = false;
                    match stage.cut(reply) {
                        Some(job) => cut_to_risk(&mut post, &stage, job),
                        // Answered already; the risk thread must not wait for it.
                        None => post.push(PostTrade::CutAborted),
                    }
                    now = cfg.clock.now_ns();
                }
            });
            stage.flush();
            post.flush();
            n
        } else {
            0
        };
        if post.full_events > 0 {
            stage.meter.local.rings[post.ring].full_events += std::mem::take(&mut post.full_events);
        }
        let now = cfg.clock.now_ns();
        stage.meter.tick(now);
        if !cut_asked && stage.cut_due(now) {
            if post.producer.is_some() {
                // The risk thread starts the cut, so that no control slips in between.
                post.push(PostTrade::CutDue);
                post.wake_risk.wake();
                cut_asked = true;
            } else if let Some(job) = stage.cut(None) {
                stage.send_cut(job, None);
            }
        }
        if n > 0 {
            idle.reset();
            stage.observe_rings();
            post.wake_risk.wake();
        } else if rx.is_abandoned() {
            if rx.is_empty() {
                break;
            }
        } else {
            idle.idle();
        }
    }
    // Dropping the post-trade producer tells the risk thread we are done.
    drop(post);
    let (engine, last_seq, error) = stage.finish();
    ThreadResult::Matching { engine, last_seq, error }
}
