//! Gateways: the handles producers submit commands through.
//!
//! Each [`Gateway`] owns the producer half of its own SPSC ring into the risk stage, so any
//! number of producer threads submit at once without a lock between them: move one gateway to
//! each thread. The risk stage polls the gateway rings round-robin.
//!
//! # Backpressure
//!
//! A full ring either waits ([`Backpressure::Block`], with the gateway's wait strategy) or
//! hands the command back at once ([`SubmitError::Full`]); in both cases the gateway counts a
//! full-ring event. Nothing is ever dropped.
//!
//! # Closing
//!
//! After [`super::Pipeline::shutdown`] (or when the pipeline is dropped) a submit returns
//! [`SubmitError::Closed`] with the command. The hand-over is exact: a submit either returns
//! `Ok` — and then the command is processed before shutdown returns — or `Closed` with the
//! command. It works by a two-flag handshake (Dekker style, `SeqCst`): the gateway raises
//! `busy` and then reads `closed`; the closing risk stage raises `closed` and then waits for
//! `busy` to fall before its last drain. The two flags live on the gateway's own cache line,
//! which the risk stage reads only while closing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;
use wintermute_core::{Command, InstrumentId};

use super::config::Backpressure;
use super::message::{CommandId, Inbound};
use crate::analytics::PipelineClock;
use crate::journal::ClientOrderId;
use crate::spsc::{Producer, PushError};
use crate::wait::{Idle, Waker};

/// Why a submit failed; the command is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("gateway={gateway} ring full capacity={capacity} (backpressure=reject); command handed back")]
    Full { gateway: u16, capacity: usize, command: Command },
    #[error("gateway={gateway} closed: the pipeline is shutting down or stopped; command handed back")]
    Closed { gateway: u16, command: Command },
    /// The gateway is out on a [`super::GatewayLease`] (a live market maker trades through
    /// it); nothing was submitted.
    #[error("gateway={gateway} is lent (to a live market maker) until its lessee stops; nothing submitted")]
    Lent { gateway: u16 },
}

impl SubmitError {
    /// The command that was handed back (`None`: the gateway was lent, the caller kept it).
    pub fn into_command(self) -> Option<Command> {
        match self {
            SubmitError::Full { command, .. } | SubmitError::Closed { command, .. } => Some(command),
            SubmitError::Lent { .. } => None,
        }
    }
}

/// What the gateway side knows; read by the risk stage only while closing, and by stats.
#[derive(Debug, Default)]
pub(crate) struct GatewayShared {
    /// Raised by the gateway around each push attempt.
    busy: CachePadded<AtomicBool>,
    /// Raised once by the risk stage when it closes.
    closed: AtomicBool,
    /// Accepted submits (written by the gateway only).
    submitted: AtomicU64,
    /// Submits that met a full ring (written by the gateway only).
    full_events: AtomicU64,
}

impl GatewayShared {
    /// Risk side: no submit can succeed after this returns, and every successful one is in
    /// the ring (visible to the consumer).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        while self.busy.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    pub(crate) fn submitted(&self) -> u64 {
        self.submitted.load(Ordering::Relaxed)
    }

    pub(crate) fn full_events(&self) -> u64 {
        self.full_events.load(Ordering::Relaxed)
    }
}

/// A gateway's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayStats {
    pub gateway: u16,
    /// Commands accepted into the ring.
    pub submitted: u64,
    /// Submits that met a full ring (once per submit, however long it waited; in reject mode,
    /// the commands handed back).
    pub full_events: u64,
    pub capacity: usize,
}

/// A producer handle. See the module docs.
#[derive(Debug)]
pub struct Gateway {
    id: u16,
    producer: Producer<Inbound>,
    shared: Arc<GatewayShared>,
    backpressure: Backpressure,
    clock: PipelineClock,
    waker: Waker,
    next_seq: u64,
    /// Local copies of the shared counters (single writer: no read-modify-write needed).
    submitted: u64,
    full_events: u64,
}

impl Gateway {
    pub(crate) fn new(
        id: u16,
        producer: Producer<Inbound>,
        shared: Arc<GatewayShared>,
        backpressure: Backpressure,
        clock: PipelineClock,
        waker: Waker,
    ) -> Self {
        Self { id, producer, shared, backpressure, clock, waker, next_seq: 1, submitted: 0, full_events: 0 }
    }

    /// This gateway's number (the `gateway` of its [`CommandId`]s).
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The pipeline's clock (timestamps for [`Gateway::submit_at`]).
    pub fn clock(&self) -> PipelineClock {
        self.clock
    }

    /// Submits `command` for `instrument`, stamped now.
    #[inline]
    pub fn submit(&mut self, instrument: InstrumentId, command: Command) -> Result<CommandId, SubmitError> {
        let now = self.clock.now_ns();
        self.submit_at(instrument, command, now)
    }

    /// Submits `command` with an explicit ingress time: for open-loop load, the time it was
    /// *meant* to be sent, so that latency includes any wait behind earlier commands
    /// (coordinated-omission correction).
    pub fn submit_at(
        &mut self,
        instrument: InstrumentId,
        command: Command,
        ingress_ns: u64,
    ) -> Result<CommandId, SubmitError> {
        self.push(instrument, command, ingress_ns, None)
    }

    /// Submits `command` stamped now, with the client order id its sender gave it: a
    /// journaled pipeline writes the two together (a tagged record, see
    /// [`crate::journal::record`]), so an order table kept beside the engine can be rebuilt
    /// from the journal. Otherwise as [`Gateway::submit`].
    #[inline]
    pub fn submit_tagged(
        &mut self,
        instrument: InstrumentId,
        command: Command,
        client_order_id: ClientOrderId,
    ) -> Result<CommandId, SubmitError> {
        let now = self.clock.now_ns();
        self.push(instrument, command, now, Some(client_order_id))
    }

    fn push(
        &mut self,
        instrument: InstrumentId,
        command: Command,
        ingress_ns: u64,
        client_order_id: Option<ClientOrderId>,
    ) -> Result<CommandId, SubmitError> {
        let id = CommandId { gateway: self.id, seq: self.next_seq };
        let mut msg = Inbound { id, instrument, command, ingress_ns, client_order_id };
        let mut idle = match self.backpressure {
            Backpressure::Block(wait) => Some(Idle::new(wait)),
            Backpressure::Reject => None,
        };
        let mut waited = false;
        loop {
            self.shared.busy.store(true, Ordering::SeqCst);
            if self.shared.closed.load(Ordering::SeqCst) || self.producer.is_abandoned() {
                self.shared.busy.store(false, Ordering::Release);
                return Err(SubmitError::Closed { gateway: self.id, command });
            }
            let pushed = self.producer.push(msg);
            self.shared.busy.store(false, Ordering::Release);
            match pushed {
                Ok(()) => break,
                Err(PushError::Full(back)) => {
                    // One full-ring event per submit that met a full ring, however long it waits.
                    if !waited {
                        waited = true;
                        self.full_events += 1;
                        self.shared.full_events.store(self.full_events, Ordering::Relaxed);
                    }
                    let Some(idle) = idle.as_mut() else {
                        return Err(SubmitError::Full {
                            gateway: self.id,
                            capacity: self.producer.capacity(),
                            command,
                        });
                    };
                    msg = back;
                    // The consumer may be parked: make sure it will drain.
                    self.waker.wake();
                    idle.idle();
                }
            }
        }
        self.next_seq += 1;
        self.submitted += 1;
        self.shared.submitted.store(self.submitted, Ordering::Relaxed);
        self.waker.wake();
        Ok(id)
    }

    /// Submits a prefix of `commands` for `instrument`: as many as the ring has room for
    /// right now, **never waiting** (whatever the backpressure setting), with one closing
    /// handshake and one hand-over to the risk stage for all of them — the cheap way to offer
    /// a burst. `ingress_ns(i)` is the ingress time of `commands[i]` (see
    /// [`Gateway::submit_at`]). Returns how many were accepted, numbered in order as single
    /// submits would be; 0 when the ring is full (one full-ring event) or `commands` is empty.
    /// A closed gateway returns [`SubmitError::Closed`] with the first command, accepting none.
    pub fn submit_batch_at<F: Fn(usize) -> u64>(
        &mut self,
        instrument: InstrumentId,
        commands: &[Command],
        ingress_ns: F,
    ) -> Result<usize, SubmitError> {
        let Some(&first) = commands.first() else { return Ok(0) };
        self.shared.busy.store(true, Ordering::SeqCst);
        if self.shared.closed.load(Ordering::SeqCst) || self.producer.is_abandoned() {
            self.shared.busy.store(false, Ordering::Release);
            return Err(SubmitError::Closed { gateway: self.id, command: first });
        }
        let mut accepted = 0;
        for (i, &command) in commands.iter().enumerate() {
            let id = CommandId { gateway: self.id, seq: self.next_seq };
            if !self.producer.push_deferred_with(|| Inbound {
                id,
                instrument,
                command,
                ingress_ns: ingress_ns(i),
                client_order_id: None,
            }) {
                break;
            }
            self.next_seq += 1;
            accepted += 1;
        }
        // Visible to the risk stage before `busy` falls: a closing stage drains all of them.
        self.producer.publish();
        self.shared.busy.store(false, Ordering::Release);
        if accepted == 0 {
            self.full_events += 1;
            self.shared.full_events.store(self.full_events, Ordering::Relaxed);
            return Ok(0);
        }
        self.submitted += accepted as u64;
        self.shared.submitted.store(self.submitted, Ordering::Relaxed);
        self.waker.wake();
        Ok(accepted)
    }

    /// Counters so far.
    pub fn stats(&self) -> GatewayStats {
        GatewayStats {
            gateway: self.id,
            submitted: self.submitted,
            full_events: self.full_events,
            capacity: self.producer.capacity(),
        }
    }

    /// True once the pipeline has closed this gateway.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst) || self.producer.is_abandoned()
    }
}
