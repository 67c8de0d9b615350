//! The messages that move through the rings, and what subscribers receive.
//!
//! Every message carries the timestamps of the stages it passed (nanoseconds of the pipeline's
//! [`crate::analytics::PipelineClock`]), so each stage's latency is measured on the message
//! itself. Messages are plain values: moving one through a ring allocates nothing.

use wintermute_core::{Command, Event, InstrumentId, OrderError};

use super::control::Reply;
use crate::journal::{ClientOrderId, EngineSnapshot};
use crate::risk::{ControlRecord, RiskError};

/// Which command an output belongs to: the gateway it came through, and its number on that
/// gateway (from 1, one per accepted submit, in submission order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId {
    pub gateway: u16,
    pub seq: u64,
}

/// Gateway -> risk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inbound {
    pub(crate) id: CommandId,
    pub(crate) instrument: InstrumentId,
    pub(crate) command: Command,
    pub(crate) ingress_ns: u64,
    /// The client order id its sender gave it ([`super::Gateway::submit_tagged`]): journaled
    /// with the command.
    pub(crate) client_order_id: Option<ClientOrderId>,
}

/// Risk -> matching: a command and the risk verdict on it.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) inbound: Inbound,
    pub(crate) risk_ns: u64,
    /// `Some`: refused by a pre-trade limit; matching publishes the rejection (in order with
    /// the gateway's other outputs) and never journals the command.
    pub(crate) rejected: Option<RiskError>,
}

/// Risk -> matching ([`super::Topology::Split`]): commands, and controls in order with them.
#[derive(Debug)]
pub(crate) enum ToMatch {
    Command(Checked),
    /// A risk control the risk thread applied: journal it, then answer.
    Control(Box<(ControlRecord, Reply)>),
    /// A cut marker (from a request, or a periodic cut): take the cut here.
    Snapshot(Option<Reply>),
}

/// Matching -> risk ([`super::Topology::Split`]): what post-trade risk needs to follow orders
/// and positions, and snapshot cuts (see [`super::snapshots`]).
#[derive(Debug)]
pub(crate) enum PostTrade {
    Event(InstrumentId, Event),
    Refused(InstrumentId, Command),
    /// A periodic snapshot is due: send a cut marker.
    CutDue,
    /// The books at a journal sequence number, after every event up to it: add risk state.
    Cut(Box<SnapshotJob>),
    /// The cut asked for could not be taken (the journal failed); the request was answered.
    CutAborted,
}

/// A cut on its way to the snapshot writer ([`super::snapshots`]): the books (and, once the risk side added it, risk state).
#[derive(Debug)]
pub(crate) struct SnapshotJob {
    pub(crate) snapshot: EngineSnapshot,
    /// `Some` for a requested snapshot.
    pub(crate) reply: Option<Reply>,
}

/// Timestamps of one command, in nanoseconds of the pipeline clock.
///
/// Each engine thread reads the clock once per command: a thread takes the next command of a
/// batch the moment it is done with the previous one, so the end of one is the start of the
/// next (the first command of a batch gets a fresh reading). In [`super::Topology::Merged`]
/// the one thread checks and matches a command in one go: `risk_ns == match_ns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamps {
    /// When the command entered its gateway (or the intended send time given to
    /// [`super::Gateway::submit_at`]).
    pub ingress_ns: u64,
    /// When the risk stage took it.
    pub risk_ns: u64,
    /// When the matching stage took it.
    pub match_ns: u64,
    /// When its outputs were written to the subscription rings (they are handed over to the
    /// subscribers at the end of the matching stage's batch, see [`super::subscription`]).
    pub publish_ns: u64,
}

/// What a command did, one item per [`Output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// A book event (events of one command are contiguous and in order).
    Event(Event),
    /// The command ran and emitted no event (e.g. a mass cancel that matched nothing).
    NoEvents,
    /// The book refused the command in validation: journaled, but nothing changed (the same
    /// happens on replay).
    Refused(OrderError),
    /// A pre-trade limit refused the command; [`RiskError::code`] names the limit. Never
    /// journaled.
    RiskRejected(RiskError),
    /// No book has this instrument id. Never journaled.
    UnknownInstrument,
    /// The journal failed earlier; the pipeline no longer runs commands (see
    /// [`super::Pipeline::shutdown`] for the error). Never journaled.
    Halted,
}

/// One item a subscription receives. A command yields one or more outputs; the last one has
/// `last == true`, so "every command exactly once" can be checked without counting events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub command: CommandId,
    pub instrument: InstrumentId,
    /// The command's journal sequence number (without a journal: the number it would have);
    /// 0 when it was never sequenced (risk rejection, unknown instrument, halted).
    pub journal_seq: u64,
    pub kind: OutputKind,
    /// True on the command's last output.
    pub last: bool,
    pub stamps: Stamps,
}

impl Output {
    /// The book event, if this output is one.
    pub fn event(&self) -> Option<&Event> {
        match &self.kind {
            OutputKind::Event(e) => Some(e),
            _ => None,
        }
    }

    /// Nanoseconds from ingress to publication.
    pub fn latency_ns(&self) -> u64 {
        self.stamps.publish_ns.saturating_sub(self.stamps.ingress_ns)
    }
}
