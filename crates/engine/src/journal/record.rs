//! The framing of one journal record.
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | u32 | payload length (always [`PAYLOAD_SIZE`] today) |
//! | 4 | u32 | CRC32C of the length field's 4 bytes followed by the payload |
//! | 8 | u64 | journal sequence number (from 1, +1 per record, across segments) |
//! | 16 | u32 | instrument id |
//! | 20 | u32 | reserved, 0 |
//! | 24 | 48 bytes | the command ([`wintermute_core::records::encode_command`]) |
//!
//! All integers little-endian. A length of 0 with a CRC of 0 is "no record here" (a fresh
//! segment is all zeros). The CRC covers the length too, so a damaged length is caught.

use wintermute_core::order::Command;
use wintermute_core::records::{decode_command, encode_command, COMMAND_SIZE};
use wintermute_core::InstrumentId;

/// Bytes before the payload: length and CRC.
pub const HEADER_SIZE: usize = 8;
/// Payload bytes of a command record.
pub const PAYLOAD_SIZE: usize = 16 + COMMAND_SIZE;
/// Bytes of one framed record.
pub const RECORD_SIZE: usize = HEADER_SIZE + PAYLOAD_SIZE;

/// One journaled input command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalEntry {
    /// Journal sequence number.
    pub seq: u64,
    pub instrument: InstrumentId,
    pub command: Command,
}

/// A record read back, before its command is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawRecord {
    pub seq: u64,
    pub instrument: InstrumentId,
    pub command: [u8; COMMAND_SIZE],
}

impl RawRecord {
    pub fn decode(&self) -> Result<JournalEntry, wintermute_core::OrderError> {
        Ok(JournalEntry { seq: self.seq, instrument: self.instrument, command: decode_command(&self.command)? })
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

fn crc(len: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(len), payload)
}

/// Writes one framed record into `out` (exactly [`RECORD_SIZE`] bytes).
pub(crate) fn encode(out: &mut [u8], seq: u64, instrument: InstrumentId, command: &Command) {
    let (header, payload) = out[..RECORD_SIZE].split_at_mut(HEADER_SIZE);
    payload[0..8].copy_from_slice(&seq.to_le_bytes());
    payload[8..12].copy_from_slice(&instrument.to_le_bytes());
    payload[12..16].copy_from_slice(&0u32.to_le_bytes());
    payload[16..].copy_from_slice(&encode_command(command));
    let len = (PAYLOAD_SIZE as u32).to_le_bytes();
    header[0..4].copy_from_slice(&len);
    header[4..8].copy_from_slice(&crc(&len, payload).to_le_bytes());
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
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
    if len as usize != PAYLOAD_SIZE {
        return Frame::Bad("record length is not a command record's");
    }
    let Some(payload) = rest.get(HEADER_SIZE..RECORD_SIZE) else {
        return Frame::Bad("record runs past the end of the segment");
    };
    if crc(&rest[0..4], payload) != sum {
        return Frame::Bad("CRC mismatch");
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&payload[0..8]);
    let mut command = [0u8; COMMAND_SIZE];
    command.copy_from_slice(&payload[16..]);
    Frame::Record(RawRecord { seq: u64::from_le_bytes(seq), instrument: u32_at(payload, 8), command })
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

    #[test]
    fn round_trips() {
        let b = record();
        let Frame::Record(r) = parse(&b, 0) else { panic!("not a record: {:?}", parse(&b, 0)) };
        let e = r.decode().unwrap();
        assert_eq!((e.seq, e.instrument), (42, 3));
        assert_eq!(e.command, Command::New(NewOrder::limit(9, 1, Side::Sell, 101, 5)));
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
