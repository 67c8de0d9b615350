//! The pipeline's outputs as fixed 120-byte little-endian records (Python's
//! `wintermute.pipeline.OUTPUT_DTYPE`, built from [`OUTPUT_FIELDS`] at import).
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | 80 bytes | the event record of `wintermute_core::records` (`command` is 0) |
//! | 80 | u64 | command_seq: the command's number on its gateway (from 1) |
//! | 88 | u64 | journal_seq (0: never sequenced) |
//! | 96 | u64 | ingress_ns (pipeline clock) |
//! | 104 | u64 | latency_ns: ingress to publication |
//! | 112 | u16 | gateway |
//! | 114 | u8 | outcome: [`OUTCOMES`] |
//! | 115 | u8 | last: 1 on the command's last output |
//!
//! A refused command's event part is a `rejected` record with the book's reason code (as in a
//! batch); a risk rejection's is a `rejected` record whose `reason` numbers [`RISK_CODES`]
//! (1-based).

use wintermute_core::records::tables::{record_size, Field, EVENT_FIELDS};
use wintermute_core::records::{encode_event, encode_invalid, encode_rejection, encode_unknown_instrument, EVENT_SIZE};

use super::{Output, OutputKind};
pub use crate::risk::{risk_reason, RISK_CODES};

/// Size of one output record.
pub const OUTPUT_SIZE: usize = 120;

/// The fields after the event record's ([`EVENT_FIELDS`]), with numpy type strings.
pub const OUTPUT_FIELDS: [Field; 8] = [
    ("command_seq", "<u8"),
    ("journal_seq", "<u8"),
    ("ingress_ns", "<u8"),
    ("latency_ns", "<u8"),
    ("gateway", "<u2"),
    ("outcome", "u1"),
    ("last", "u1"),
    ("_pad2", "V4"),
];

/// `outcome` codes and names: a book `event`; `no_events` (ran, nothing happened); `refused`
/// by the book's validation; `risk_rejected` by a pre-trade limit; `unknown_instrument`;
/// `halted` (the journal failed earlier).
pub const OUTCOMES: [(u8, &str); 6] =
    [(0, "event"), (1, "no_events"), (2, "refused"), (3, "risk_rejected"), (4, "unknown_instrument"), (5, "halted")];

/// The outcome code of an output.
pub const fn outcome(kind: &OutputKind) -> u8 {
    match kind {
        OutputKind::Event(_) => 0,
        OutputKind::NoEvents => 1,
        OutputKind::Refused(_) => 2,
        OutputKind::RiskRejected(_) => 3,
        OutputKind::UnknownInstrument => 4,
        OutputKind::Halted => 5,
    }
}

/// Appends the record of `o` to `out`.
pub fn encode_output(o: &Output, out: &mut Vec<u8>) {
    let event = match &o.kind {
        OutputKind::Event(e) => encode_event(e, o.instrument, 0),
        OutputKind::NoEvents | OutputKind::Halted => [0u8; EVENT_SIZE],
        OutputKind::Refused(err) => encode_invalid(err, o.instrument, 0),
        OutputKind::RiskRejected(err) => encode_rejection(0, risk_reason(err), o.instrument, 0),
        OutputKind::UnknownInstrument => encode_unknown_instrument(0, o.instrument, 0),
    };
    out.extend_from_slice(&event);
    out.extend_from_slice(&o.command.seq.to_le_bytes());
    out.extend_from_slice(&o.journal_seq.to_le_bytes());
    out.extend_from_slice(&o.stamps.ingress_ns.to_le_bytes());
    out.extend_from_slice(&o.latency_ns().to_le_bytes());
    out.extend_from_slice(&o.command.gateway.to_le_bytes());
    out.extend_from_slice(&[outcome(&o.kind), u8::from(o.last), 0, 0, 0, 0]);
}

const _: () = assert!(OUTPUT_SIZE == EVENT_SIZE + 40);

/// Byte offsets of an output record's fields, for code that reads records in place (the
/// venue's book mirrors and order table); tested equal to the offsets [`EVENT_FIELDS`] and
/// [`OUTPUT_FIELDS`] describe.
pub mod at {
    /// `order_id` (u64).
    pub const ORDER_ID: usize = 8;
    /// `other_id` (u64).
    pub const OTHER_ID: usize = 16;
    /// `price` (i64).
    pub const PRICE: usize = 24;
    /// `qty` (i64).
    pub const QTY: usize = 32;
    /// `remaining` (i64).
    pub const REMAINING: usize = 40;
    /// `other` (i64).
    pub const OTHER: usize = 48;
    /// `instrument` (u32).
    pub const INSTRUMENT: usize = 64;
    /// `kind` (u8).
    pub const KIND: usize = 72;
    /// `side` (u8).
    pub const SIDE: usize = 73;
    /// `reason` (u8).
    pub const REASON: usize = 74;
    /// `flags` (u8).
    pub const FLAGS: usize = 75;
    /// `command_seq` (u64).
    pub const COMMAND_SEQ: usize = 80;
    /// `journal_seq` (u64).
    pub const JOURNAL_SEQ: usize = 88;
    /// `ingress_ns` (u64).
    pub const INGRESS_NS: usize = 96;
    /// `latency_ns` (u64).
    pub const LATENCY_NS: usize = 104;
    /// `gateway` (u16).
    pub const GATEWAY: usize = 112;
    /// `outcome` (u8).
    pub const OUTCOME: usize = 114;
    /// `last` (u8).
    pub const LAST: usize = 115;
    /// The first padding byte, which a drained batch uses to mark a record its consumer
    /// dropped (the venue's book mirrors).
    pub const DROPPED: usize = 116;
}

/// The little-endian u64 at byte `at` of a record.
pub fn u64_at(r: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&r[at..at + 8]);
    u64::from_le_bytes(b)
}

/// The little-endian i64 at byte `at` of a record.
pub fn i64_at(r: &[u8], at: usize) -> i64 {
    u64_at(r, at) as i64
}

/// The little-endian u32 at byte `at` of a record.
pub fn u32_at(r: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&r[at..at + 4]);
    u32::from_le_bytes(b)
}

/// The little-endian u16 at byte `at` of a record.
pub fn u16_at(r: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([r[at], r[at + 1]])
}

/// The size [`OUTPUT_FIELDS`] describe, with the event's fields ahead (tested equal to
/// [`OUTPUT_SIZE`]).
pub fn described_size() -> usize {
    record_size(&EVENT_FIELDS) + record_size(&OUTPUT_FIELDS)
}

#[cfg(test)]
#[path = "output_record_tests.rs"]
mod tests;
