//! The framing of one journal record.
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | u32 | payload length: [`PAYLOAD_SIZE`] (command), [`CONTROL_PAYLOAD_SIZE`] (control), [`REJECTION_PAYLOAD_SIZE`] (risk rejection), [`TAGGED_PAYLOAD_SIZE`] (tagged command), [`TAGGED_REJECTION_PAYLOAD_SIZE`] (tagged risk rejection) or [`TIME_PAYLOAD_SIZE`] (time mark) |
//! | 4 | u32 | CRC32C of the length field's 4 bytes followed by the payload |
//! | 8 | u64 | journal sequence number (from 1, +1 per record, across segments; a time mark: the number of the record after it) |
//! | 16 | u32 | instrument id (a control record that names no instrument: 0) |
//! | 20 | u32 | record kind: 0 command, 1 control, 2 risk rejection, 3 tagged command, 4 tagged risk rejection, 5 time mark |
//! | 24 | 48 bytes | command: the command ([`wintermute_core::records::encode_command`]) |
//! | 24 | 112 bytes | control: the control ([`super::control`]) |
//! | 24 | 48 bytes | risk rejection: the command pre-trade risk refused |
//! | 72 | u8 | risk rejection: the reason, numbering [`crate::risk::RISK_CODES`] from 1 |
//! | 73 | 7 bytes | risk rejection: 0 |
//! | 24 | 48 bytes | tagged command: the command |
//! | 72 | 40 bytes | tagged command: its client order id ([`super::client_id`]) |
//! | 24 | 56 bytes | tagged risk rejection: as a risk rejection (command, reason, 7 zero bytes) |
//! | 80 | 40 bytes | tagged risk rejection: the command's client order id |
//! | 24 | u64 | time mark: wall-clock time, nanoseconds since the Unix epoch |
//! | 32 | 8 bytes | time mark: 0 |
//!
//! All integers little-endian. A length of 0 with a CRC of 0 is "no record here" (a fresh
//! segment is all zeros). The CRC covers the length too, so a damaged length is caught.
//!
//! # Versions
//!
//! Journals written before control records existed hold command records only, with a kind
//! field of 0 (it was "reserved, 0"): they read unchanged. The length doubles as the format's
//! version check: a reader that knows only command records stops at the first control record
//! with "record length is not a command record's", never misreading it as a command. A
//! record whose kind does not match its length is invalid.
//!
//! Risk rejections (kind 2) came later still: a command refused by a pre-trade limit takes a
//! sequence number like any record, so that the audit trail, rebuilt from the journal, holds
//! every rejection with its reason. Recovery reads past them (they changed no book).
//!
//! Tagged commands and tagged risk rejections (kinds 3 and 4) came next: the same command or
//! rejection with the client order id its sender gave it, so that the service's venue can
//! rebuild its order table from the journal. They decode as [`JournalEntry`] /
//! [`RejectionEntry`] with `client_order_id` set (`None` for kinds 0 and 2), so recovery and
//! every reader treat them as the untagged kinds; journals without them read unchanged, and
//! a reader that predates them stops at the first one ("record length is not a command
//! record's"), as it does at any kind it does not know.
//!
//! Time marks (kind 5) came with them: the wall-clock time of the records that follow it, up
//! to the next mark. A time mark is not a record of its own: it takes no sequence number (its
//! sequence field holds the number of the record after it, and nothing checks it), readers
//! never yield it, and each record they yield carries the time of the last mark before it in
//! its segment as `wall_ns` (0 where there is none: journals written before time marks, and
//! records written without a clock, as by [`super::Journal`] alone). The pipeline marks the
//! time once per matching batch, before the batch's first record, and again at the top of
//! each new segment, so that a segment read alone has its times.

use wintermute_core::order::Command;
use wintermute_core::records::{decode_command, encode_command, COMMAND_SIZE};
use wintermute_core::InstrumentId;

use super::client_id::{ClientOrderId, CLIENT_ID_SIZE};
use super::control::CONTROL_BODY_SIZE;
use crate::risk::ControlRecord;

/// Bytes before the payload: length and CRC.
pub const HEADER_SIZE: usize = 8;
/// Payload bytes before the body: sequence number, instrument id, record kind.
const PREFIX_SIZE: usize = 16;
/// Payload bytes of a command record.
pub const PAYLOAD_SIZE: usize = PREFIX_SIZE + COMMAND_SIZE;
/// Bytes of one framed command record.
pub const RECORD_SIZE: usize = HEADER_SIZE + PAYLOAD_SIZE;
/// Payload bytes of a control record.
pub const CONTROL_PAYLOAD_SIZE: usize = PREFIX_SIZE + CONTROL_BODY_SIZE;
/// Bytes of one framed control record.
pub const CONTROL_RECORD_SIZE: usize = HEADER_SIZE + CONTROL_PAYLOAD_SIZE;
/// Bytes of a risk rejection's body: the command, the reason, 7 zero bytes.
pub const REJECTION_BODY_SIZE: usize = COMMAND_SIZE + 8;
/// Payload bytes of a risk rejection record.
pub const REJECTION_PAYLOAD_SIZE: usize = PREFIX_SIZE + REJECTION_BODY_SIZE;
/// Bytes of one framed risk rejection record.
pub const REJECTION_RECORD_SIZE: usize = HEADER_SIZE + REJECTION_PAYLOAD_SIZE;
/// Payload bytes of a tagged command record (a command with its client order id).
pub const TAGGED_PAYLOAD_SIZE: usize = PAYLOAD_SIZE + CLIENT_ID_SIZE;
/// Bytes of one framed tagged command record.
pub const TAGGED_RECORD_SIZE: usize = HEADER_SIZE + TAGGED_PAYLOAD_SIZE;
/// Payload bytes of a tagged risk rejection record.
pub const TAGGED_REJECTION_PAYLOAD_SIZE: usize = REJECTION_PAYLOAD_SIZE + CLIENT_ID_SIZE;
/// Bytes of one framed tagged risk rejection record.
pub const TAGGED_REJECTION_RECORD_SIZE: usize = HEADER_SIZE + TAGGED_REJECTION_PAYLOAD_SIZE;
/// The largest framed record.
pub const MAX_RECORD_SIZE: usize = CONTROL_RECORD_SIZE;

const KIND_COMMAND: u32 = 0;
const KIND_CONTROL: u32 = 1;
const KIND_REJECTION: u32 = 2;
const KIND_TAGGED: u32 = 3;
const KIND_TAGGED_REJECTION: u32 = 4;
const KIND_TIME: u32 = 5;

/// Bytes of a time mark's body: the wall-clock time and 8 zero bytes.
const TIME_BODY_SIZE: usize = 16;
/// Payload bytes of a time mark.
pub const TIME_PAYLOAD_SIZE: usize = PREFIX_SIZE + TIME_BODY_SIZE;
/// Bytes of one framed time mark.
pub const TIME_RECORD_SIZE: usize = HEADER_SIZE + TIME_PAYLOAD_SIZE;
const SIZES: [usize; 6] = [
    PAYLOAD_SIZE,
    CONTROL_PAYLOAD_SIZE,
    REJECTION_PAYLOAD_SIZE,
    TAGGED_PAYLOAD_SIZE,
    TAGGED_REJECTION_PAYLOAD_SIZE,
    TIME_PAYLOAD_SIZE,
];

// Every kind's length has its own low byte ([`starts_record`]), and none outgrows a control.
const _: () = {
    let sizes = SIZES;
    let mut i = 0;
    while i < sizes.len() {
        assert!(sizes[i] < 256 && HEADER_SIZE + sizes[i] <= MAX_RECORD_SIZE);
        let mut k = i + 1;
        while k < sizes.len() {
            assert!(sizes[i] != sizes[k]);
            k += 1;
        }
        i += 1;
    }
};

/// One journaled input command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalEntry {
    /// Journal sequence number.
    pub seq: u64,
    pub instrument: InstrumentId,
    pub command: Command,
    /// The client order id its sender gave it (a tagged command record), if any.
    pub client_order_id: Option<ClientOrderId>,
    /// Wall-clock time when the engine journaled it, nanoseconds since the Unix epoch (the
    /// last time mark before it; 0: none, see the module docs).
    pub wall_ns: u64,
}

/// One journaled control (a risk setting changed at runtime, see [`super::control`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlEntry {
    /// Journal sequence number.
    pub seq: u64,
    pub control: ControlRecord,
    /// Wall-clock time when the engine journaled it (as [`JournalEntry::wall_ns`]).
    pub wall_ns: u64,
}

/// One journaled risk rejection: a command pre-trade risk refused (it never reached a book).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectionEntry {
    /// Journal sequence number.
    pub seq: u64,
    pub instrument: InstrumentId,
    pub command: Command,
    /// The reason: [`crate::risk::RISK_CODES`]`[reason - 1]`.
    pub reason: u8,
    /// The client order id its sender gave it (a tagged risk rejection record), if any.
    pub client_order_id: Option<ClientOrderId>,
    /// Wall-clock time when the engine journaled it (as [`JournalEntry::wall_ns`]).
    pub wall_ns: u64,
}

impl RejectionEntry {
    /// The reason's code (`"MAX_ORDER_QTY"`, ...; `"UNKNOWN"` for a number outside the table,
    /// which a decoded record never has).
    pub fn code(&self) -> &'static str {
        crate::risk::RISK_CODES.get(usize::from(self.reason).wrapping_sub(1)).copied().unwrap_or("UNKNOWN")
    }
}

/// Any journal record: commands, controls and risk rejections share one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalRecord {
    Command(JournalEntry),
    Control(ControlEntry),
    Rejection(RejectionEntry),
}

impl JournalRecord {
    /// The record's journal sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            JournalRecord::Command(e) => e.seq,
            JournalRecord::Control(c) => c.seq,
            JournalRecord::Rejection(r) => r.seq,
        }
    }

    /// Its wall-clock time (see [`JournalEntry::wall_ns`]).
    pub fn wall_ns(&self) -> u64 {
        match self {
            JournalRecord::Command(e) => e.wall_ns,
            JournalRecord::Control(c) => c.wall_ns,
            JournalRecord::Rejection(r) => r.wall_ns,
        }
    }

    /// The record with its wall-clock time set.
    pub(crate) fn at(mut self, wall_ns: u64) -> Self {
        match &mut self {
            JournalRecord::Command(e) => e.wall_ns = wall_ns,
            JournalRecord::Control(c) => c.wall_ns = wall_ns,
            JournalRecord::Rejection(r) => r.wall_ns = wall_ns,
        }
        self
    }
}

/// The body of a record read back, before it is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawBody {
    Command([u8; COMMAND_SIZE]),
    Control([u8; CONTROL_BODY_SIZE]),
    Rejection([u8; REJECTION_BODY_SIZE]),
    TaggedCommand([u8; COMMAND_SIZE], [u8; CLIENT_ID_SIZE]),
    TaggedRejection([u8; REJECTION_BODY_SIZE], [u8; CLIENT_ID_SIZE]),
    /// A time mark: the wall-clock time of the records after it.
    Time(u64),
}

/// A record read back, before its body is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawRecord {
    pub seq: u64,
    pub instrument: InstrumentId,
    pub body: RawBody,
}

/// Why a record's body did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    Command(wintermute_core::OrderError),
    Control(&'static str),
    Rejection(&'static str),
    ClientOrderId(&'static str),
    /// A time mark holds no record (readers take its time, see [`RawRecord::time_mark`]).
    TimeMark,
}

fn client_id(b: &[u8; CLIENT_ID_SIZE]) -> Result<Option<ClientOrderId>, DecodeError> {
    ClientOrderId::decode(b).map(Some).map_err(|e| DecodeError::ClientOrderId(e.why))
}

impl RawRecord {
    /// Framed size of this record.
    pub fn size(&self) -> usize {
        match self.body {
            RawBody::Command(_) => RECORD_SIZE,
            RawBody::Control(_) => CONTROL_RECORD_SIZE,
            RawBody::Rejection(_) => REJECTION_RECORD_SIZE,
            RawBody::TaggedCommand(..) => TAGGED_RECORD_SIZE,
            RawBody::TaggedRejection(..) => TAGGED_REJECTION_RECORD_SIZE,
            RawBody::Time(_) => TIME_RECORD_SIZE,
        }
    }

    /// The wall-clock time of a time mark (`None`: a record).
    pub fn time_mark(&self) -> Option<u64> {
        match self.body {
            RawBody::Time(wall_ns) => Some(wall_ns),
            _ => None,
        }
    }

    pub fn decode(&self) -> Result<JournalRecord, DecodeError> {
        match &self.body {
            RawBody::Command(b) => self.command(b, None),
            RawBody::TaggedCommand(b, id) => self.command(b, client_id(id)?),
            RawBody::Rejection(b) => self.rejection(b, None),
            RawBody::TaggedRejection(b, id) => self.rejection(b, client_id(id)?),
            RawBody::Time(_) => Err(DecodeError::TimeMark),
            RawBody::Control(b) => Ok(JournalRecord::Control(ControlEntry {
                seq: self.seq,
                control: ControlRecord::decode(self.instrument, b).map_err(DecodeError::Control)?,
                wall_ns: 0,
            })),
        }
    }

    fn command(
        &self,
        b: &[u8; COMMAND_SIZE],
        client_order_id: Option<ClientOrderId>,
    ) -> Result<JournalRecord, DecodeError> {
        Ok(JournalRecord::Command(JournalEntry {
            seq: self.seq,
            instrument: self.instrument,
            command: decode_command(b).map_err(DecodeError::Command)?,
            client_order_id,
            wall_ns: 0,
        }))
    }

    fn rejection(
        &self,
        b: &[u8; REJECTION_BODY_SIZE],
        client_order_id: Option<ClientOrderId>,
    ) -> Result<JournalRecord, DecodeError> {
        let (command, rest) = b.split_at(COMMAND_SIZE);
        let command: &[u8; COMMAND_SIZE] = command.try_into().expect("the body starts with a command");
        let reason = rest[0];
        if reason == 0 || usize::from(reason) > crate::risk::RISK_CODES.len() {
            return Err(DecodeError::Rejection("unknown risk rejection reason"));
        }
        if rest[1..].iter().any(|&b| b != 0) {
            return Err(DecodeError::Rejection("nonzero padding after the reason"));
        }
        Ok(JournalRecord::Rejection(RejectionEntry {
            seq: self.seq,
            instrument: self.instrument,
            command: decode_command(command).map_err(DecodeError::Command)?,
            reason,
            client_order_id,
            wall_ns: 0,
        }))
    }
}

/// What the bytes at an offset hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A complete record whose CRC checks.
    Record(RawRecord),
    /// Zeros (or too few bytes left for a header): the end of the written part.
    End,
    /// Something that is not a valid record.
    Bad(&'static str),
}

/// CRC32C of a record's 4 length bytes followed by its payload.
///
/// On x86-64 with SSE4.2 (every x86-64 server CPU since 2008) this is the `crc32` instruction
/// over the frame, 8 bytes at a time: about 20 instructions for a command record. The `crc32c`
/// crate, which stays the fallback and the reference the tests compare with, is built for long
/// buffers: two calls per record cost about 250 instructions on the matching thread (callgrind,
/// see docs/runtime.md).
fn crc(len: u32, payload: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { crc_sse42(len, payload) };
    }
    crc32c::crc32c_append(crc32c::crc32c(&len.to_le_bytes()), payload)
}

/// [`crc`] with the SSE4.2 `crc32` instruction (the CRC32C polynomial): the same bits as the
/// `crc32c` crate, the frame consumed in order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn crc_sse42(len: u32, payload: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    // The instruction takes its operand's bytes least significant first: the little-endian
    // bytes of `len`, in order.
    let mut c = _mm_crc32_u32(!0, len);
    let mut chunks = payload.chunks_exact(8);
    let mut c64 = u64::from(c);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        c64 = _mm_crc32_u64(c64, u64::from_le_bytes(word));
    }
    // `_mm_crc32_u64` keeps the CRC in the low 32 bits.
    c = c64 as u32;
    for &b in chunks.remainder() {
        c = _mm_crc32_u8(c, b);
    }
    !c
}

/// Frames a payload whose body is already in `out[HEADER_SIZE + PREFIX_SIZE..]`.
fn frame(out: &mut [u8], seq: u64, instrument: InstrumentId, kind: u32, payload_size: usize) {
    let (header, payload) = out[..HEADER_SIZE + payload_size].split_at_mut(HEADER_SIZE);
    payload[0..8].copy_from_slice(&seq.to_le_bytes());
    payload[8..12].copy_from_slice(&instrument.to_le_bytes());
    payload[12..16].copy_from_slice(&kind.to_le_bytes());
    let len = payload_size as u32;
    header[0..4].copy_from_slice(&len.to_le_bytes());
    header[4..8].copy_from_slice(&crc(len, payload).to_le_bytes());
}

/// Writes one framed command record into `out` (exactly [`RECORD_SIZE`] bytes).
pub(crate) fn encode(out: &mut [u8], seq: u64, instrument: InstrumentId, command: &Command) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..RECORD_SIZE].copy_from_slice(&encode_command(command));
    frame(out, seq, instrument, KIND_COMMAND, PAYLOAD_SIZE);
}

/// Writes one framed risk rejection record into `out` (exactly [`REJECTION_RECORD_SIZE`] bytes).
pub(crate) fn encode_rejection(out: &mut [u8], seq: u64, instrument: InstrumentId, command: &Command, reason: u8) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..body + COMMAND_SIZE].copy_from_slice(&encode_command(command));
    out[body + COMMAND_SIZE..REJECTION_RECORD_SIZE].copy_from_slice(&[reason, 0, 0, 0, 0, 0, 0, 0]);
    frame(out, seq, instrument, KIND_REJECTION, REJECTION_PAYLOAD_SIZE);
}

/// Writes one framed tagged command record into `out` (exactly [`TAGGED_RECORD_SIZE`] bytes).
pub(crate) fn encode_tagged(
    out: &mut [u8],
    seq: u64,
    instrument: InstrumentId,
    command: &Command,
    client_order_id: &ClientOrderId,
) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..body + COMMAND_SIZE].copy_from_slice(&encode_command(command));
    out[body + COMMAND_SIZE..TAGGED_RECORD_SIZE].copy_from_slice(&client_order_id.encode());
    frame(out, seq, instrument, KIND_TAGGED, TAGGED_PAYLOAD_SIZE);
}

/// Writes one framed tagged risk rejection record into `out` (exactly
/// [`TAGGED_REJECTION_RECORD_SIZE`] bytes).
pub(crate) fn encode_tagged_rejection(
    out: &mut [u8],
    seq: u64,
    instrument: InstrumentId,
    command: &Command,
    reason: u8,
    client_order_id: &ClientOrderId,
) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..body + COMMAND_SIZE].copy_from_slice(&encode_command(command));
    out[body + COMMAND_SIZE..body + REJECTION_BODY_SIZE].copy_from_slice(&[reason, 0, 0, 0, 0, 0, 0, 0]);
    out[body + REJECTION_BODY_SIZE..TAGGED_REJECTION_RECORD_SIZE].copy_from_slice(&client_order_id.encode());
    frame(out, seq, instrument, KIND_TAGGED_REJECTION, TAGGED_REJECTION_PAYLOAD_SIZE);
}

/// Writes one framed time mark into `out` (exactly [`TIME_RECORD_SIZE`] bytes): `wall_ns`
/// for the records after it, the first of which will have sequence number `next_seq`.
pub(crate) fn encode_time(out: &mut [u8], next_seq: u64, wall_ns: u64) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..body + 8].copy_from_slice(&wall_ns.to_le_bytes());
    out[body + 8..TIME_RECORD_SIZE].fill(0);
    frame(out, next_seq, 0, KIND_TIME, TIME_PAYLOAD_SIZE);
}

/// Writes one framed control record into `out` (exactly [`CONTROL_RECORD_SIZE`] bytes).
pub(crate) fn encode_control(out: &mut [u8], seq: u64, control: &ControlRecord) {
    let body = HEADER_SIZE + PREFIX_SIZE;
    out[body..CONTROL_RECORD_SIZE].copy_from_slice(&control.encode());
    frame(out, seq, control.instrument(), KIND_CONTROL, CONTROL_PAYLOAD_SIZE);
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// True when `byte` can be the first byte of a record (the low byte of a known length).
pub(crate) fn starts_record(byte: u8) -> bool {
    SIZES.iter().any(|&size| byte == size as u8)
}

/// Parses the frame at `off` in `bytes`.
pub(crate) fn parse(bytes: &[u8], off: usize) -> Frame {
    let Some(rest) = bytes.get(off..) else { return Frame::End };
    if rest.len() < HEADER_SIZE {
        return if rest.iter().all(|&b| b == 0) { Frame::End } else { Frame::Bad("partial record header") };
    }
    let (len, sum) = (u32_at(rest, 0), u32_at(rest, 4));
    if len == 0 && sum == 0 {
        return Frame::End;
    }
    let len = len as usize;
    if !SIZES.contains(&len) {
        return Frame::Bad("record length is not a command record's");
    }
    let Some(payload) = rest.get(HEADER_SIZE..HEADER_SIZE + len) else {
        return Frame::Bad("record runs past the end of the segment");
    };
    if crc(u32_at(rest, 0), payload) != sum {
        return Frame::Bad("CRC mismatch");
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&payload[0..8]);
    let (seq, instrument, kind) = (u64::from_le_bytes(seq), u32_at(payload, 8), u32_at(payload, 12));
    let body = match (len, kind) {
        (PAYLOAD_SIZE, KIND_COMMAND) => {
            let mut command = [0u8; COMMAND_SIZE];
            command.copy_from_slice(&payload[PREFIX_SIZE..]);
            RawBody::Command(command)
        }
        (CONTROL_PAYLOAD_SIZE, KIND_CONTROL) => {
            let mut control = [0u8; CONTROL_BODY_SIZE];
            control.copy_from_slice(&payload[PREFIX_SIZE..]);
            RawBody::Control(control)
        }
        (REJECTION_PAYLOAD_SIZE, KIND_REJECTION) => {
            let mut rejection = [0u8; REJECTION_BODY_SIZE];
            rejection.copy_from_slice(&payload[PREFIX_SIZE..]);
            RawBody::Rejection(rejection)
        }
        (TAGGED_PAYLOAD_SIZE, KIND_TAGGED) => {
            let (mut command, mut id) = ([0u8; COMMAND_SIZE], [0u8; CLIENT_ID_SIZE]);
            command.copy_from_slice(&payload[PREFIX_SIZE..PREFIX_SIZE + COMMAND_SIZE]);
            id.copy_from_slice(&payload[PREFIX_SIZE + COMMAND_SIZE..]);
            RawBody::TaggedCommand(command, id)
        }
        (TAGGED_REJECTION_PAYLOAD_SIZE, KIND_TAGGED_REJECTION) => {
            let (mut rejection, mut id) = ([0u8; REJECTION_BODY_SIZE], [0u8; CLIENT_ID_SIZE]);
            rejection.copy_from_slice(&payload[PREFIX_SIZE..PREFIX_SIZE + REJECTION_BODY_SIZE]);
            id.copy_from_slice(&payload[PREFIX_SIZE + REJECTION_BODY_SIZE..]);
            RawBody::TaggedRejection(rejection, id)
        }
        (TIME_PAYLOAD_SIZE, KIND_TIME) => {
            let mut wall = [0u8; 8];
            wall.copy_from_slice(&payload[PREFIX_SIZE..PREFIX_SIZE + 8]);
            if payload[PREFIX_SIZE + 8..].iter().any(|&b| b != 0) {
                return Frame::Bad("nonzero padding in a time mark");
            }
            RawBody::Time(u64::from_le_bytes(wall))
        }
        _ => return Frame::Bad("record kind does not match its length"),
    };
    Frame::Record(RawRecord { seq, instrument, body })
}

#[cfg(test)]
mod tests {
    use wintermute_core::{NewOrder, Side};

    use super::*;

    fn record() -> [u8; RECORD_SIZE] {
        let mut b = [0u8; RECORD_SIZE];
        encode(&mut b, 42, 3, &Command::New(NewOrder::limit(9, 1, Side::Sell, 101, 5)));
        b
    }

    fn control() -> [u8; CONTROL_RECORD_SIZE] {
        let mut b = [0u8; CONTROL_RECORD_SIZE];
        encode_control(&mut b, 43, &ControlRecord::ReferencePrice { instrument: 3, price: -17 });
        b
    }

    fn rejection(reason: u8) -> [u8; REJECTION_RECORD_SIZE] {
        let mut b = [0u8; REJECTION_RECORD_SIZE];
        encode_rejection(&mut b, 44, 3, &Command::New(NewOrder::limit(9, 1, Side::Sell, 101, 500)), reason);
        b
    }

    /// The SSE4.2 path, where the CPU has it.
    fn sse(len: u32, payload: &[u8]) -> Option<u32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU has SSE4.2, checked just above.
            #[allow(unsafe_code)]
            return Some(unsafe { crc_sse42(len, payload) });
        }
        None
    }

    /// The reference: the `crc32c` crate over the frame in one piece.
    fn reference(len: u32, payload: &[u8]) -> u32 {
        crc32c::crc32c(&[len.to_le_bytes().as_slice(), payload].concat())
    }

    #[test]
    fn crc_is_crc32c() {
        // The CRC-32C check value (RFC 3720, and every CRC catalogue): "123456789".
        let len = u32::from_le_bytes(*b"1234");
        assert_eq!(crc(len, b"56789"), 0xE306_9283);
        assert_eq!(reference(len, b"56789"), 0xE306_9283);
        if let Some(sum) = sse(len, b"56789") {
            assert_eq!(sum, 0xE306_9283);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn crc_matches_the_crate(
            len in proptest::prelude::any::<u32>(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            proptest::prop_assert_eq!(crc(len, &payload), reference(len, &payload));
            if let Some(sum) = sse(len, &payload) {
                proptest::prop_assert_eq!(sum, reference(len, &payload));
            }
        }
    }

    #[test]
    fn round_trips() {
        let b = record();
        let Frame::Record(r) = parse(&b, 0) else { panic!("not a record: {:?}", parse(&b, 0)) };
        let JournalRecord::Command(e) = r.decode().unwrap() else { panic!("not a command") };
        assert_eq!((e.seq, e.instrument), (42, 3));
        assert_eq!(e.command, Command::New(NewOrder::limit(9, 1, Side::Sell, 101, 5)));
        let c = control();
        let Frame::Record(r) = parse(&c, 0) else { panic!("not a record: {:?}", parse(&c, 0)) };
        assert_eq!(r.size(), CONTROL_RECORD_SIZE);
        let decoded = r.decode().unwrap();
        let expected =
            ControlEntry { seq: 43, control: ControlRecord::ReferencePrice { instrument: 3, price: -17 }, wall_ns: 0 };
        assert_eq!(decoded, JournalRecord::Control(expected));
        let j = rejection(8);
        assert!(starts_record(j[0]));
        let Frame::Record(r) = parse(&j, 0) else { panic!("not a record: {:?}", parse(&j, 0)) };
        assert_eq!(r.size(), REJECTION_RECORD_SIZE);
        let JournalRecord::Rejection(e) = r.decode().unwrap() else { panic!("not a rejection") };
        assert_eq!((e.seq, e.instrument, e.reason, e.code()), (44, 3, 8, "MAX_ORDER_QTY"));
        assert_eq!(e.command, Command::New(NewOrder::limit(9, 1, Side::Sell, 101, 500)));
    }

    #[test]
    fn a_rejection_with_an_unknown_reason_does_not_decode() {
        for reason in [0, crate::risk::RISK_CODES.len() as u8 + 1, u8::MAX] {
            let j = rejection(reason);
            let Frame::Record(r) = parse(&j, 0) else { panic!("the frame itself is whole") };
            assert_eq!(r.decode(), Err(DecodeError::Rejection("unknown risk rejection reason")), "reason {reason}");
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let good = record();
        for byte in 0..RECORD_SIZE {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(matches!(parse(&b, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
        let good = rejection(1);
        for byte in 0..REJECTION_RECORD_SIZE {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(matches!(parse(&b, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
        let good = control();
        for byte in 0..CONTROL_RECORD_SIZE {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                // A flip of the length may make it a command record's length: then the frame is
                // either cut short (CRC) or names the wrong kind; never a record.
                assert!(matches!(parse(&b, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
    }

    #[test]
    fn a_kind_that_does_not_match_the_length_is_invalid() {
        let mut b = record();
        // Kind 1 (control) on a command-sized record, with a matching CRC.
        let (header, payload) = b.split_at_mut(HEADER_SIZE);
        payload[12] = 1;
        let sum = crc(u32_at(header, 0), payload);
        header[4..8].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(parse(&b, 0), Frame::Bad("record kind does not match its length"));
    }

    fn tagged() -> [u8; TAGGED_RECORD_SIZE] {
        let mut b = [0u8; TAGGED_RECORD_SIZE];
        let id = ClientOrderId::new("client-7").expect("valid");
        encode_tagged(&mut b, 45, 2, &Command::New(NewOrder::limit(9, 1, Side::Buy, 99, 5)), &id);
        b
    }

    fn tagged_rejection() -> [u8; TAGGED_REJECTION_RECORD_SIZE] {
        let mut b = [0u8; TAGGED_REJECTION_RECORD_SIZE];
        let id = ClientOrderId::new("r/1").expect("valid");
        encode_tagged_rejection(&mut b, 46, 1, &Command::New(NewOrder::limit(9, 1, Side::Buy, 99, 500)), 8, &id);
        b
    }

    #[test]
    fn tagged_records_round_trip_with_their_client_order_id() {
        let b = tagged();
        assert!(starts_record(b[0]));
        let Frame::Record(r) = parse(&b, 0) else { panic!("not a record: {:?}", parse(&b, 0)) };
        assert_eq!(r.size(), TAGGED_RECORD_SIZE);
        let JournalRecord::Command(e) = r.decode().unwrap() else { panic!("not a command") };
        assert_eq!((e.seq, e.instrument), (45, 2));
        assert_eq!(e.command, Command::New(NewOrder::limit(9, 1, Side::Buy, 99, 5)));
        assert_eq!(e.client_order_id.map(|c| c.to_string()).as_deref(), Some("client-7"));
        let b = tagged_rejection();
        assert!(starts_record(b[0]));
        let Frame::Record(r) = parse(&b, 0) else { panic!("not a record: {:?}", parse(&b, 0)) };
        assert_eq!(r.size(), TAGGED_REJECTION_RECORD_SIZE);
        let JournalRecord::Rejection(e) = r.decode().unwrap() else { panic!("not a rejection") };
        assert_eq!((e.seq, e.instrument, e.code()), (46, 1, "MAX_ORDER_QTY"));
        assert_eq!(e.client_order_id.map(|c| c.to_string()).as_deref(), Some("r/1"));
        // Untagged kinds carry none.
        let Frame::Record(r) = parse(&record(), 0) else { panic!("a record") };
        assert!(matches!(r.decode(), Ok(JournalRecord::Command(JournalEntry { client_order_id: None, .. }))));
    }

    #[test]
    fn every_single_bit_flip_of_a_tagged_record_is_detected() {
        let good = tagged();
        for byte in 0..TAGGED_RECORD_SIZE {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(matches!(parse(&b, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
        let good = tagged_rejection();
        for byte in 0..TAGGED_REJECTION_RECORD_SIZE {
            for bit in 0..8 {
                let mut b = good;
                b[byte] ^= 1 << bit;
                assert!(matches!(parse(&b, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
    }

    #[test]
    fn a_tagged_record_with_a_bad_client_order_id_does_not_decode() {
        let mut b = tagged();
        // A space in the id, with a matching CRC.
        b[HEADER_SIZE + PREFIX_SIZE + COMMAND_SIZE + 2] = b' ';
        let (header, payload) = b.split_at_mut(HEADER_SIZE);
        let sum = crc(u32_at(header, 0), payload);
        header[4..8].copy_from_slice(&sum.to_le_bytes());
        let Frame::Record(r) = parse(&b, 0) else { panic!("the frame itself is whole") };
        assert!(matches!(r.decode(), Err(DecodeError::ClientOrderId(_))), "{:?}", r.decode());
    }

    #[test]
    fn a_time_mark_reads_back_as_a_time_and_decodes_as_no_record() {
        let mut b = [0u8; TIME_RECORD_SIZE];
        encode_time(&mut b, 47, 1_765_000_000_123_456_789);
        assert!(starts_record(b[0]));
        let Frame::Record(r) = parse(&b, 0) else { panic!("not a record: {:?}", parse(&b, 0)) };
        assert_eq!((r.seq, r.size(), r.time_mark()), (47, TIME_RECORD_SIZE, Some(1_765_000_000_123_456_789)));
        assert_eq!(r.decode(), Err(DecodeError::TimeMark));
        let Frame::Record(r) = parse(&record(), 0) else { panic!("a record") };
        assert_eq!(r.time_mark(), None);
        for byte in 0..TIME_RECORD_SIZE {
            for bit in 0..8 {
                let mut c = b;
                c[byte] ^= 1 << bit;
                assert!(matches!(parse(&c, 0), Frame::Bad(_)), "flip at byte {byte} bit {bit} not detected");
            }
        }
    }

    #[test]
    fn zeros_and_short_tails() {
        assert_eq!(parse(&[0u8; 100], 0), Frame::End);
        assert_eq!(parse(&[0u8; 3], 0), Frame::End);
        assert_eq!(parse(&[0u8, 1], 0), Frame::Bad("partial record header"));
        let b = record();
        assert_eq!(parse(&b[..RECORD_SIZE - 1], 0), Frame::Bad("record runs past the end of the segment"));
        assert_eq!(parse(&b, RECORD_SIZE + 5), Frame::End);
    }
}
