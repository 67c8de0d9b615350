//! Fixed-size little-endian records for commands and events: the batch API's wire format
//! (numpy structured arrays on the Python side, `wintermute.batch.COMMAND_DTYPE` and
//! `EVENT_DTYPE`), and later the journal's.
//!
//! A [`CommandRecord`] is 48 bytes, an event record 80 bytes. Decoding never panics: a record
//! with an unknown enum value decodes to an [`OrderError::InvalidOrder`].
//!
//! Command record layout (offsets in bytes):
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | u64 | order_id |
//! | 8 | i64 | price (ticks) |
//! | 16 | i64 | qty (lots) |
//! | 24 | i64 | display_qty (lots, 0 = not an iceberg); amend by total: seen remaining (lots) |
//! | 32 | u32 | account |
//! | 36 | u8 | kind: 0 new, 1 cancel, 2 amend, 3 mass cancel, 4 amend by total |
//! | 37 | u8 | side: 0 buy, 1 sell (mass cancel: 2 = both sides) |
//! | 38 | u8 | order type: 0 limit, 1 market |
//! | 39 | u8 | time in force: 0 GTC, 1 IOC, 2 FOK |
//! | 40 | u8 | STP: 0 none, 1 cancel newest, 2 cancel oldest, 3 cancel both, 4 decrement |
//! | 41 | u8 | flags: 1 post-only; amend: 2 price given, 4 qty given; amend by total: 2 price given; mass cancel: 8 account given |
//!
//! An amend by total ([`Command::AmendTotal`]) always carries its quantity (16) and the
//! remaining quantity its sender saw (24). It has a kind of its own, so that a reader built
//! before it refuses it ("command kind must be ...") rather than replaying it as an amend that
//! sets the remaining quantity.
//!
//! Event record layout: see [`encode_event`].

pub mod pending;
pub mod tables;

use crate::error::OrderError;
use crate::event::{Event, EventSink, RejectReason};
use crate::order::{Command, NewOrder, OrderType, Side, StpMode, TimeInForce};
use crate::order_book::OrderBook;

/// Size of an encoded command.
pub const COMMAND_SIZE: usize = 48;
/// Size of an encoded event.
pub const EVENT_SIZE: usize = 80;

/// Event kind codes in event records.
pub mod kind {
    pub const ACCEPTED: u8 = 1;
    pub const REJECTED: u8 = 2;
    pub const TRADE: u8 = 3;
    pub const CANCELED: u8 = 4;
    pub const AMENDED: u8 = 5;
    pub const BOOK_DELTA: u8 = 6;
}

/// Command flag bits.
pub mod flags {
    pub const POST_ONLY: u8 = 1;
    pub const HAS_PRICE: u8 = 2;
    pub const HAS_QTY: u8 = 4;
    pub const HAS_ACCOUNT: u8 = 8;
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

#[inline]
fn i64_at(b: &[u8], off: usize) -> i64 {
    u64_at(b, off) as i64
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

#[inline]
fn side_of(v: u8) -> Option<Side> {
    match v {
        0 => Some(Side::Buy),
        1 => Some(Side::Sell),
        _ => None,
    }
}

#[inline]
fn stp_of(v: u8) -> Option<StpMode> {
    Some(match v {
        0 => StpMode::None,
        1 => StpMode::CancelNewest,
        2 => StpMode::CancelOldest,
        3 => StpMode::CancelBoth,
        4 => StpMode::Decrement,
        _ => return None,
    })
}

/// Builds a new order from the record's numeric codes (see the table above); unknown codes are
/// an [`OrderError::InvalidOrder`]. `display == 0` means not an iceberg.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn new_order(
    order_id: u64,
    account: u32,
    side: u8,
    order_type: u8,
    tif: u8,
    stp: u8,
    post_only: bool,
    price: i64,
    qty: i64,
    display: i64,
) -> Result<NewOrder, OrderError> {
    let bad = |why| OrderError::InvalidOrder { order_id, why };
    Ok(NewOrder {
        order_id,
        account,
        side: side_of(side).ok_or_else(|| bad("side must be 0 (buy) or 1 (sell)"))?,
        order_type: match order_type {
            0 => OrderType::Limit,
            1 => OrderType::Market,
            _ => return Err(bad("order type must be 0 (limit) or 1 (market)")),
        },
        tif: match tif {
            0 => TimeInForce::Gtc,
            1 => TimeInForce::Ioc,
            2 => TimeInForce::Fok,
            _ => return Err(bad("time in force must be 0 (GTC), 1 (IOC) or 2 (FOK)")),
        },
        price,
        qty,
        post_only,
        display_qty: (display != 0).then_some(display),
        stp: stp_of(stp).ok_or_else(|| bad("stp must be 0..=4"))?,
    })
}

/// An amend: by total ([`Command::AmendTotal`]) when `seen_remaining` is given, which needs
/// `qty`; else one that sets the remaining quantity ([`Command::Amend`]).
pub fn amend(
    order_id: u64,
    price: Option<i64>,
    qty: Option<i64>,
    seen_remaining: Option<i64>,
) -> Result<Command, OrderError> {
    Ok(match (qty, seen_remaining) {
        (_, None) => Command::Amend { order_id, price, qty },
        (Some(qty), Some(seen_remaining)) => Command::AmendTotal { order_id, price, qty, seen_remaining },
        (None, Some(_)) => {
            let why = "an amend by total (seen_remaining given) needs a qty";
            return Err(OrderError::InvalidOrder { order_id, why });
        }
    })
}

/// Decodes one 48-byte command record.
#[inline]
pub fn decode_command(b: &[u8; COMMAND_SIZE]) -> Result<Command, OrderError> {
    let order_id = u64_at(b, 0);
    let bad = |why| OrderError::InvalidOrder { order_id, why };
    let (price, qty, display, account) = (i64_at(b, 8), i64_at(b, 16), i64_at(b, 24), u32_at(b, 32));
    let (kind, side, ty, tif, stp, fl) = (b[36], b[37], b[38], b[39], b[40], b[41]);
    Ok(match kind {
        0 => Command::New(new_order(
            order_id,
            account,
            side,
            ty,
            tif,
            stp,
            fl & flags::POST_ONLY != 0,
            price,
            qty,
            display,
        )?),
        1 => Command::Cancel { order_id },
        2 => Command::Amend {
            order_id,
            price: (fl & flags::HAS_PRICE != 0).then_some(price),
            qty: (fl & flags::HAS_QTY != 0).then_some(qty),
        },
        4 => Command::AmendTotal {
            order_id,
            price: (fl & flags::HAS_PRICE != 0).then_some(price),
            qty,
            seen_remaining: display,
        },
        3 => Command::MassCancel {
            account: (fl & flags::HAS_ACCOUNT != 0).then_some(account),
            side: match side {
                2 => None,
                s => Some(side_of(s).ok_or_else(|| bad("mass cancel side must be 0, 1 or 2 (both)"))?),
            },
        },
        _ => {
            return Err(bad(
                "command kind must be 0 (new), 1 (cancel), 2 (amend), 3 (mass cancel) or 4 (amend by total)",
            ))
        }
    })
}

/// Runs one 48-byte command record on `book`, events to `sink`: the same as
/// [`decode_command`] then [`OrderBook::execute`] (the same events, the same error), but
/// dispatched straight from the record's kind byte, with no [`Command`] built and moved on the
/// way. For callers that do not keep the decoded command (a journal needs it: use
/// [`decode_command`] there).
// Always inlined into the batch loop: left to the compiler's judgement it stayed a call once
// the book gained the amend by total (4% more instructions per command, docs/benchmarks.md).
#[inline(always)]
pub fn execute_record<S: EventSink>(
    book: &mut OrderBook,
    b: &[u8; COMMAND_SIZE],
    sink: &mut S,
) -> Result<(), OrderError> {
    let order_id = u64_at(b, 0);
    let (kind, fl) = (b[36], b[41]);
    match kind {
        0 => {
            let order = new_order(
                order_id,
                u32_at(b, 32),
                b[37],
                b[38],
                b[39],
                b[40],
                fl & flags::POST_ONLY != 0,
                i64_at(b, 8),
                i64_at(b, 16),
                i64_at(b, 24),
            )?;
            book.submit(&order, sink)
        }
        1 => book.cancel(order_id, sink),
        2 => {
            let price = (fl & flags::HAS_PRICE != 0).then(|| i64_at(b, 8));
            let qty = (fl & flags::HAS_QTY != 0).then(|| i64_at(b, 16));
            book.amend(order_id, price, qty, sink)
        }
        // A mass cancel, an amend by total, or an unknown kind's error: rare, so through the
        // decoder.
        _ => decode_command(b).and_then(|cmd| book.execute(&cmd, sink)),
    }
}

/// Encodes a command into a 48-byte record (the inverse of [`decode_command`]).
pub fn encode_command(cmd: &Command) -> [u8; COMMAND_SIZE] {
    let mut b = [0u8; COMMAND_SIZE];
    let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
    match *cmd {
        Command::New(o) => {
            put(0, &o.order_id.to_le_bytes());
            put(8, &o.price.to_le_bytes());
            put(16, &o.qty.to_le_bytes());
            put(24, &o.display_qty.unwrap_or(0).to_le_bytes());
            put(32, &o.account.to_le_bytes());
            put(36, &[0, o.side as u8, o.order_type as u8, o.tif as u8, o.stp as u8, u8::from(o.post_only)]);
        }
        Command::Cancel { order_id } => {
            put(0, &order_id.to_le_bytes());
            put(36, &[1]);
        }
        Command::Amend { order_id, price, qty } => {
            put(0, &order_id.to_le_bytes());
            put(8, &price.unwrap_or(0).to_le_bytes());
            put(16, &qty.unwrap_or(0).to_le_bytes());
            let fl =
                if price.is_some() { flags::HAS_PRICE } else { 0 } | if qty.is_some() { flags::HAS_QTY } else { 0 };
            put(36, &[2, 0, 0, 0, 0, fl]);
        }
        Command::AmendTotal { order_id, price, qty, seen_remaining } => {
            put(0, &order_id.to_le_bytes());
            put(8, &price.unwrap_or(0).to_le_bytes());
            put(16, &qty.to_le_bytes());
            put(24, &seen_remaining.to_le_bytes());
            put(36, &[4, 0, 0, 0, 0, if price.is_some() { flags::HAS_PRICE } else { 0 }]);
        }
        Command::MassCancel { account, side } => {
            put(32, &account.unwrap_or(0).to_le_bytes());
            let fl = if account.is_some() { flags::HAS_ACCOUNT } else { 0 };
            put(36, &[3, side.map_or(2, |s| s as u8), 0, 0, 0, fl]);
        }
    }
    b
}

/// Encodes one event into an 80-byte record.
///
/// | off | type | accepted | rejected | trade | canceled | amended | book delta |
/// |----:|------|----------|----------|-------|----------|---------|------------|
/// | 0 | u64 seq | | | | | | |
/// | 8 | u64 order_id | order | order | maker order | order | order | |
/// | 16 | u64 other_id | | | taker order | | | |
/// | 24 | i64 price | limit price | | price | | new price | price |
/// | 32 | i64 qty | qty | | qty | canceled qty | new qty | visible qty |
/// | 40 | i64 remaining | | | maker remaining | remaining | old qty | orders |
/// | 48 | i64 other | | | taker remaining | | old price | |
/// | 56 | u32 account | account | | maker account | | | |
/// | 60 | u32 other_account | | | taker account | | | |
/// | 64 | u32 instrument | | | | | | |
/// | 68 | u32 command | index of the command that caused it | | | | | |
/// | 72 | u8 kind | 1 | 2 | 3 | 4 | 5 | 6 |
/// | 73 | u8 side | side | | aggressor | | | side |
/// | 74 | u8 reason | | reject reason | | cancel reason | | |
/// | 75 | u8 flags | | | | | 1 = priority kept | |
///
/// A field a kind leaves empty, and bytes 76..80, are zero.
pub fn encode_event(ev: &Event, instrument: u32, command: u32) -> [u8; EVENT_SIZE] {
    record_of(event_words(ev, instrument, command))
}

/// The ten little-endian 8-byte words of `ev`'s record (see [`encode_event`]): the one encoder
/// behind [`encode_event`] and [`RecordSink`]. Every word is written, empty fields as zero, so
/// that a record costs ten word stores (no zeroing aside, no byte stores).
#[inline(always)]
fn event_words(ev: &Event, instrument: u32, command: u32) -> [u64; 10] {
    let tail = |kind: u8, side: u8, reason: u8, flags: u8| u64::from_le_bytes([kind, side, reason, flags, 0, 0, 0, 0]);
    let pair = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    let at = pair(instrument, command);
    match *ev {
        Event::Accepted { seq, order_id, account, side, price, qty } => [
            seq,
            order_id,
            0,
            price as u64,
            qty as u64,
            0,
            0,
            pair(account, 0),
            at,
            tail(kind::ACCEPTED, side as u8, 0, 0),
        ],
        Event::Rejected { seq, order_id, reason } => {
            [seq, order_id, 0, 0, 0, 0, 0, 0, at, tail(kind::REJECTED, 0, reason as u8, 0)]
        }
        Event::Trade {
            seq,
            maker_order_id,
            taker_order_id,
            maker_account,
            taker_account,
            price,
            qty,
            aggressor,
            maker_remaining,
            taker_remaining,
        } => [
            seq,
            maker_order_id,
            taker_order_id,
            price as u64,
            qty as u64,
            maker_remaining as u64,
            taker_remaining as u64,
            pair(maker_account, taker_account),
            at,
            tail(kind::TRADE, aggressor as u8, 0, 0),
        ],
        Event::Canceled { seq, order_id, canceled_qty, remaining_qty, reason } => [
            seq,
            order_id,
            0,
            0,
            canceled_qty as u64,
            remaining_qty as u64,
            0,
            0,
            at,
            tail(kind::CANCELED, 0, reason as u8, 0),
        ],
        Event::Amended { seq, order_id, old_price, new_price, old_qty, new_qty, priority_kept } => [
            seq,
            order_id,
            0,
            new_price as u64,
            new_qty as u64,
            old_qty as u64,
            old_price as u64,
            0,
            at,
            tail(kind::AMENDED, 0, 0, u8::from(priority_kept)),
        ],
        Event::BookDelta { seq, side, price, qty, orders } => {
            [seq, 0, 0, price as u64, qty as u64, u64::from(orders), 0, 0, at, tail(kind::BOOK_DELTA, side as u8, 0, 0)]
        }
    }
}

/// A rejection's words (seq 0, see [`encode_rejection`]).
#[inline(always)]
fn rejection_words(order_id: u64, reason: u8, instrument: u32, command: u32) -> [u64; 10] {
    let at = u64::from(instrument) | u64::from(command) << 32;
    [0, order_id, 0, 0, 0, 0, 0, 0, at, u64::from(kind::REJECTED) | u64::from(reason) << 16]
}

/// The record of ten words, each little-endian.
#[inline(always)]
fn record_of(words: [u64; 10]) -> [u8; EVENT_SIZE] {
    let mut b = [0u8; EVENT_SIZE];
    for (chunk, w) in b.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// The record of a command refused by validation inside a batch: kind "rejected", seq 0 (it
/// consumed no sequence number), and the reason code.
pub fn encode_invalid(err: &OrderError, instrument: u32, command: u32) -> [u8; EVENT_SIZE] {
    encode_rejection(err.order_id(), err.reason() as u8, instrument, command)
}

/// Same as [`encode_invalid`] for an instrument the engine does not know.
pub fn encode_unknown_instrument(order_id: u64, instrument: u32, command: u32) -> [u8; EVENT_SIZE] {
    encode_rejection(order_id, RejectReason::UnknownInstrument as u8, instrument, command)
}

/// A "rejected" record (seq 0) with any `reason` number: the book's [`RejectReason`]s, or the
/// numbering of another table (the pipeline's risk rejections).
pub fn encode_rejection(order_id: u64, reason: u8, instrument: u32, command: u32) -> [u8; EVENT_SIZE] {
    record_of(rejection_words(order_id, reason, instrument, command))
}

/// An [`EventSink`] that appends encoded event records ([`encode_event`]'s layout) to a byte
/// buffer.
///
/// The buffer holds whole records (`[u8; EVENT_SIZE]`): an event is built as one record value
/// (its kind's fields, zero elsewhere, which the compiler turns into the record's word stores)
/// and pushed, so a record costs one capacity check and its stores, with no room zeroed aside
/// and no per-byte bounds checks. The records are handed over as bytes without a copy.
#[derive(Debug, Default)]
pub struct RecordSink {
    /// The records.
    buf: Vec<[u8; EVENT_SIZE]>,
    pub instrument: u32,
    pub command: u32,
    /// Drop the book's level updates ([`Event::BookDelta`]) instead of recording them: for a
    /// caller that wants only the order events (acks, rejects, fills, cancels, amends). The
    /// book still numbers them, so the records kept have the same `seq` either way (with gaps
    /// where the level updates were).
    pub skip_book_deltas: bool,
}

impl RecordSink {
    /// An empty sink whose buffer holds `records` records before it reallocates.
    pub fn with_capacity(records: usize) -> Self {
        Self { buf: Vec::with_capacity(records), ..Self::default() }
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The records held, 80 bytes each.
    pub fn records(&self) -> &[u8] {
        self.buf.as_flattened()
    }

    /// Bytes the buffer holds before it reallocates.
    pub fn capacity(&self) -> usize {
        self.buf.capacity() * EVENT_SIZE
    }

    /// Appends one encoded record (e.g. [`encode_invalid`]'s).
    #[inline]
    pub fn push_record(&mut self, record: &[u8; EVENT_SIZE]) {
        self.buf.push(*record);
    }

    /// Appends the "rejected" record of a command refused before it reached the book (see
    /// [`encode_invalid`]), numbered with the sink's `command`.
    #[inline]
    pub fn push_invalid(&mut self, err: &OrderError) {
        self.buf.push(record_of(rejection_words(err.order_id(), err.reason() as u8, self.instrument, self.command)));
    }

    /// The records held, as a vector of their bytes (without copying them).
    pub fn into_records(self) -> Vec<u8> {
        self.buf.into_flattened()
    }

    /// Hands over the records held (without copying them) and starts a new buffer with room for
    /// as many records as were just drained, up to [`RecordSink::MAX_RESERVE`] bytes. A caller
    /// draining every few thousand commands thus fills a buffer that does not grow (no
    /// reallocation, no copy of the records already written), and what it hands over holds no
    /// more slack than the size of one drain varies by.
    pub fn drain_records(&mut self) -> Vec<u8> {
        let next = Vec::with_capacity(self.buf.len().min(Self::MAX_RESERVE / EVENT_SIZE));
        std::mem::replace(&mut self.buf, next).into_flattened()
    }

    /// Most bytes [`RecordSink::drain_records`] reserves for the next buffer (8 MiB: 104,857
    /// events), so that one large drain does not pin a large buffer for ever.
    pub const MAX_RESERVE: usize = 8 << 20;
}

impl EventSink for RecordSink {
    #[inline(always)]
    fn push(&mut self, event: Event) {
        if self.skip_book_deltas && matches!(event, Event::BookDelta { .. }) {
            return;
        }
        self.buf.push(record_of(event_words(&event, self.instrument, self.command)));
    }
}

#[cfg(test)]
mod tests;
