//! Runtime control of a running pipeline: limits, kill switches, reference prices, snapshots.
//!
//! ```
//! use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::pipeline::{OutputKind, Pipeline, PipelineConfig, RiskConfig};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 100_000).unwrap();
//! let (pipeline, mut handles) = Pipeline::start(PipelineConfig::new(vec![spec]).risk(RiskConfig::permissive())).unwrap();
//! let control = pipeline.control();
//! control.set_account_kill(7, true).unwrap(); // returns once the risk stage applied it
//! handles.gateways[0].submit(0, Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 1))).unwrap();
//! drop(pipeline);
//! let mut out = Vec::new();
//! handles.subscriptions[0].poll(&mut out);
//! let OutputKind::RiskRejected(err) = &out[0].kind else { panic!("{out:?}") };
//! assert_eq!(err.code(), "ACCOUNT_KILL_SWITCH");
//! ```
//!
//! # How a change reaches the engine
//!
//! A [`Control`] (from [`super::Pipeline::control`]; clone it freely, share it between threads)
//! puts a request in a mutex-guarded inbox and raises a flag. The thread that owns the risk
//! state (the risk thread, or the merged thread) reads that flag once per loop round — one
//! relaxed atomic load, no lock on the command path — and, when it is up, takes the requests
//! and applies them **between two commands**:
//!
//! - a risk change ([`crate::risk::ControlRecord`]) is applied to the risk engine, then
//!   journaled as a control record in order with the commands (in [`super::Topology::Split`] it
//!   travels to the matching thread through the same ring as the commands, so it lands in the
//!   journal exactly between the commands checked before it and those checked after it);
//! - a snapshot request takes a consistent cut of books and risk state (see
//!   [`super::snapshots`]) and waits for the file to be written.
//!
//! The call returns when that is done — so every command submitted after it returns is checked
//! under the new settings — with the control record's journal sequence number (0 without a
//! journal), or a [`ControlError`]: the pipeline stopped, no answer within the timeout, no risk
//! or no journal configured, or the risk engine refused the change (an unknown instrument, or a
//! kill switch for an account that does not exist while there are no default limits to create
//! it with: creating it would let its orders through).
//!
//! Ordering is defined by the call's return, not by wall-clock time: commands submitted (on
//! any gateway) after it returns are checked under the new setting; commands submitted before
//! it and still waiting in a gateway ring may be checked before or after it. The returned
//! journal sequence number says exactly where the change sits among the commands.
//!
//! Recovery re-applies journaled controls where they happened, and snapshots carry the risk
//! settings, so every change survives a restart. A control record is as durable as a command
//! record: in the memory-mapped journal (safe from a process crash) when the call returns, on
//! disk by the journal's fsync policy.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wintermute_core::{AccountId, InstrumentId, Price};

use crate::risk::{AccountLimits, ControlRecord, RiskError};
use crate::wait::Waker;

/// Why a control call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("control op={op}: the pipeline has stopped; nothing was applied")]
    Stopped { op: &'static str },
    #[error("control op={op}: no answer within timeout_ms={timeout_ms}; the change may still be applied")]
    Timeout { op: &'static str, timeout_ms: u64 },
    #[error("control op={op}: the pipeline runs without risk (PipelineConfig::risk is None)")]
    NoRisk { op: &'static str },
    #[error("control op={op}: the pipeline runs without a journal, where snapshots are written")]
    NoJournal { op: &'static str },
    #[error("control op={op}: refused: {source}")]
    Risk {
        op: &'static str,
        #[source]
        source: RiskError,
    },
    #[error("control op={op}: the journal failed and the pipeline halted: {why}")]
    Halted { op: &'static str, why: String },
    #[error("control op={op}: snapshot failed: {why}")]
    Snapshot { op: &'static str, why: String },
}

/// A snapshot written on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The last journal record it includes.
    pub journal_seq: u64,
    pub path: PathBuf,
}

/// What a request is answered with.
#[derive(Debug)]
pub(crate) enum ControlReply {
    Applied { journal_seq: u64 },
    Snapshot(SnapshotInfo),
}

/// Where a request is answered.
pub(crate) type Reply = SyncSender<Result<ControlReply, ControlError>>;

/// What a request asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ControlOp {
    Risk(ControlRecord),
    Snapshot,
}

impl ControlOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ControlOp::Risk(c) => control_name(c),
            ControlOp::Snapshot => "snapshot",
        }
    }
}

/// The operation name of a control, for error messages.
pub(crate) fn control_name(c: &ControlRecord) -> &'static str {
    match c {
        ControlRecord::SetLimits { .. } => "set_limits",
        ControlRecord::SetDefaultLimits { .. } => "set_default_limits",
        ControlRecord::AccountKill { .. } => "set_account_kill",
        ControlRecord::GlobalKill { .. } => "set_global_kill",
        ControlRecord::ReferencePrice { .. } => "set_reference_price",
    }
}

/// One request and where to answer it.
#[derive(Debug)]
pub(crate) struct ControlRequest {
    pub(crate) op: ControlOp,
    pub(crate) reply: Reply,
}

impl ControlRequest {
    pub(crate) fn answer(self, result: Result<ControlReply, ControlError>) {
        // The caller may have timed out and gone: nobody to tell.
        let _ = self.reply.send(result);
    }
}

#[derive(Debug, Default)]
struct Inbox {
    requests: Vec<ControlRequest>,
    closed: bool,
}

/// What the [`Control`] handles and the owning thread share.
#[derive(Debug)]
pub(crate) struct ControlShared {
    pending: AtomicBool,
    inbox: Mutex<Inbox>,
    waker: Waker,
    /// Risk changes applied (counted by the owning thread).
    pub(crate) applied: AtomicU64,
}

impl ControlShared {
    pub(crate) fn new(waker: Waker) -> Self {
        Self { pending: AtomicBool::new(false), inbox: Mutex::default(), waker, applied: AtomicU64::new(0) }
    }

    /// Owning thread: the requests waiting, if any (one atomic load when there are none).
    #[inline]
    pub(crate) fn take(&self) -> Option<Vec<ControlRequest>> {
        if !self.pending.load(Ordering::Acquire) {
            return None;
        }
        let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        self.pending.store(false, Ordering::Release);
        Some(std::mem::take(&mut inbox.requests))
    }

    /// Refuses every later request and answers the waiting ones with `Stopped`.
    pub(crate) fn close(&self) {
        let waiting = {
            let mut inbox = self.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            inbox.closed = true;
            std::mem::take(&mut inbox.requests)
        };
        for r in waiting {
            let op = r.op.name();
            r.answer(Err(ControlError::Stopped { op }));
        }
    }
}

/// A handle that changes risk settings of a running pipeline and requests snapshots. See the
/// module docs. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Control {
    shared: Arc<ControlShared>,
    has_risk: bool,
    has_journal: bool,
    timeout: Duration,
}

/// How long a call waits for its answer unless told otherwise.
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

impl Control {
    pub(crate) fn new(shared: Arc<ControlShared>, has_risk: bool, has_journal: bool) -> Self {
        Self { shared, has_risk, has_journal, timeout: DEFAULT_CONTROL_TIMEOUT }
    }

    /// The same handle, waiting at most `timeout` for each answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets (or replaces) `account`'s limits. Returns the control record's journal sequence
    /// number (0 without a journal).
    pub fn set_limits(&self, account: AccountId, limits: AccountLimits) -> Result<u64, ControlError> {
        self.risk(ControlRecord::SetLimits { account, limits })
    }

    /// Sets the limits an account seen for the first time starts with (`None`: such accounts'
    /// orders are refused with `UNKNOWN_ACCOUNT`). Accounts that exist keep theirs.
    pub fn set_default_limits(&self, limits: Option<AccountLimits>) -> Result<u64, ControlError> {
        self.risk(ControlRecord::SetDefaultLimits { limits })
    }

    /// Engages (`true`) or releases `account`'s kill switch: while engaged, its new orders and
    /// amends that add risk are rejected with `ACCOUNT_KILL_SWITCH` (cancels pass).
    pub fn set_account_kill(&self, account: AccountId, engaged: bool) -> Result<u64, ControlError> {
        self.risk(ControlRecord::AccountKill { account, engaged })
    }

    /// Engages (`true`) or releases the global kill switch (`GLOBAL_KILL_SWITCH`).
    pub fn set_global_kill(&self, engaged: bool) -> Result<u64, ControlError> {
        self.risk(ControlRecord::GlobalKill { engaged })
    }

    /// Moves `instrument`'s reference price (price band centre, mark for exposure and PnL).
    pub fn set_reference_price(&self, instrument: InstrumentId, price: Price) -> Result<u64, ControlError> {
        self.risk(ControlRecord::ReferencePrice { instrument, price })
    }

    /// Applies any control record (the methods above are shorthands).
    pub fn apply(&self, control: ControlRecord) -> Result<u64, ControlError> {
        self.risk(control)
    }

    /// Takes a snapshot now (books and risk state at one journal sequence number) and returns
    /// once it is on disk.
    pub fn snapshot(&self) -> Result<SnapshotInfo, ControlError> {
        if !self.has_journal {
            return Err(ControlError::NoJournal { op: "snapshot" });
        }
        match self.call(ControlOp::Snapshot)? {
            ControlReply::Snapshot(info) => Ok(info),
            ControlReply::Applied { .. } => Err(ControlError::Snapshot { op: "snapshot", why: "wrong answer".into() }),
        }
    }

    fn risk(&self, control: ControlRecord) -> Result<u64, ControlError> {
        if !self.has_risk {
            return Err(ControlError::NoRisk { op: control_name(&control) });
        }
        match self.call(ControlOp::Risk(control))? {
            ControlReply::Applied { journal_seq } => Ok(journal_seq),
            ControlReply::Snapshot(_) => {
                Err(ControlError::Halted { op: control_name(&control), why: "wrong answer".into() })
            }
        }
    }

    fn call(&self, op: ControlOp) -> Result<ControlReply, ControlError> {
        let name = op.name();
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut inbox = self.shared.inbox.lock().unwrap_or_else(PoisonError::into_inner);
            if inbox.closed {
                return Err(ControlError::Stopped { op: name });
            }
            inbox.requests.push(ControlRequest { op, reply: tx });
            self.shared.pending.store(true, Ordering::Release);
        }
        self.shared.waker.wake();
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(ControlError::Timeout {
                op: name,
                timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(ControlError::Stopped { op: name }),
        }
    }
}
