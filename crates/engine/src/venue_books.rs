//! The service venue's mirrors of the engine's books, applied in Rust: the L2 levels with a
//! sequence number, and every resting order in its level's FIFO, so that the exact quantity
//! ahead of an order (its queue position) is known — without a Python call per output.
//!
//! The venue (`wintermute.service.venue`) drains every output of one subscription (book deltas
//! included). [`VenueBooks::apply`] takes a drained batch of 120-byte output records
//! ([`crate::pipeline::output_record`]), updates the mirrors, collects the level changes of
//! each command as one [`BookUpdate`] per command (only for instruments someone watches), and
//! copies out the records the Python side still needs: every record but the book deltas.
//!
//! - A command's `last` mark moves to its last kept record, so the venue still sees where each
//!   command ends; a command made only of book deltas keeps its last one.
//! - The last kept record of a command carries, in its final four bytes (`_pad2`, a little-endian
//!   `u32`), the number of book deltas dropped from that command (a traced command reports it).
//!
//! Why the FIFO is exact: the outputs carry every event that changes a resting order —
//! `accepted` (an order arrives as a taker), `trade` (maker and taker quantities left),
//! `canceled` (quantity left), `amended` (priority kept or lost) — in the matching thread's
//! order, so replaying them with the rules of `docs/matching.md` gives the engine's own FIFO:
//!
//! - an order that still has quantity when its command ends rests at the **back** of its level
//!   (a GTC remainder; IOC and market remainders are canceled before the command ends);
//! - a trade or cancel leaves a maker in place with less, or removes it at zero;
//! - an amend that keeps priority changes the quantity in place; one that loses it takes the
//!   order out and matches it again like a new arrival (then it rests at the back).
//!
//! The levels come from the book deltas (the engine's own totals). Everything is integer ticks
//! and lots. The service places no icebergs, so every resting order shows its whole quantity.

use std::collections::BTreeMap;

use wintermute_core::records::kind;

use crate::pipeline::output_record::{at, i64_at, u32_at, u64_at, OUTPUT_SIZE};

/// Side codes of the records (`0` buy, `1` sell).
pub const BUY: u8 = 0;
/// See [`BUY`].
pub const SELL: u8 = 1;

/// One event of a book, as the record carries it (the fields the mirror reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookEvent {
    /// `wintermute_core::records::kind` code.
    pub kind: u8,
    /// The order (the maker of a trade).
    pub order_id: u64,
    /// The taker of a trade.
    pub other_id: u64,
    /// Side (of an accepted order or a level).
    pub side: u8,
    /// Price in ticks (a level's, an accepted order's, an amend's new price).
    pub price: i64,
    /// Lots (a level's visible total, an accepted order's, an amend's new remaining).
    pub qty: i64,
    /// Lots left (a trade's maker, a cancel's order); a level's order count.
    pub remaining: i64,
    /// A trade's taker lots left.
    pub other: i64,
    /// Bit 0: an amend kept its priority.
    pub flags: u8,
}

/// The level changes of one command on one book: levels after it, `qty == 0` gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookUpdate {
    /// The instrument's id.
    pub instrument: u32,
    /// Sequence number of the first level change in it.
    pub first_seq: u64,
    /// Sequence number of the last one.
    pub last_seq: u64,
    /// `(price, qty)` per changed bid level, best (highest) first.
    pub bids: Vec<(i64, i64)>,
    /// `(price, qty)` per changed ask level, best (lowest) first.
    pub asks: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, Copy)]
struct Taker {
    side: u8,
    price: i64,
    remaining: i64,
}

#[derive(Debug, Clone, Copy)]
struct Place {
    side: u8,
    price: i64,
    /// Arrival number: the key of the order in its level's FIFO.
    arrival: u64,
}

/// One instrument's levels (from book deltas) and resting orders (FIFO per level).
#[derive(Debug, Default)]
pub struct BookMirror {
    seq: u64,
    levels: [BTreeMap<i64, i64>; 2],
    /// `(side, price)` -> arrival -> `(order id, lots left)`, in queue order.
    queues: HashMap<(u8, i64), BTreeMap<u64, (u64, i64)>>,
    places: HashMap<u64, Place>,
    arrivals: u64,
    /// Orders of the command being applied that may still rest when it ends (a handful).
    takers: Vec<(u64, Taker)>,
    /// Level changes of the command being applied: `(side, price, qty)`.
    changes: Vec<(u8, i64, i64)>,
}

impl BookMirror {
    /// Book sequence: +1 for every level change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Applies one event of the command being applied.
    pub fn event(&mut self, e: &BookEvent) {
        match e.kind {
            kind::BOOK_DELTA => self.level(e.side, e.price, e.qty),
            kind::ACCEPTED => self.takers.push((e.order_id, Taker { side: e.side, price: e.price, remaining: e.qty })),
            kind::TRADE => {
                self.set_resting(e.order_id, e.remaining);
                if let Some(t) = self.taker(e.other_id) {
                    t.remaining = e.other;
                }
            }
            kind::CANCELED => {
                if self.places.contains_key(&e.order_id) {
                    self.set_resting(e.order_id, e.remaining);
                } else if let Some(t) = self.taker(e.order_id) {
                    t.remaining = e.remaining;
                }
            }
            kind::AMENDED => {
                if e.flags & 1 != 0 {
                    self.set_resting(e.order_id, e.qty);
                } else if let Some(place) = self.places.get(&e.order_id).copied() {
                    self.set_resting(e.order_id, 0);
                    self.takers.push((e.order_id, Taker { side: place.side, price: e.price, remaining: e.qty }));
                }
            }
            _ => {}
        }
    }

    /// Ends a command: takers with quantity left rest at the back of their level. Returns the
    /// command's level changes as an update (None if it changed no level).
    pub fn command_done(&mut self, instrument: u32) -> Option<BookUpdate> {
        for (order_id, t) in std::mem::take(&mut self.takers) {
            if t.remaining > 0 {
                self.arrivals += 1;
                let arrival = self.arrivals;
                self.queues.entry((t.side, t.price)).or_default().insert(arrival, (order_id, t.remaining));
                self.places.insert(order_id, Place { side: t.side, price: t.price, arrival });
            }
        }
        if self.changes.is_empty() {
            return None;
        }
        let n = self.changes.len() as u64;
        let mut bids: Vec<(i64, i64)> = Vec::new();
        let mut asks: Vec<(i64, i64)> = Vec::new();
        for (side, price, qty) in self.changes.drain(..) {
            let levels = if side == BUY { &mut bids } else { &mut asks };
            match levels.iter_mut().find(|(p, _)| *p == price) {
                Some(level) => level.1 = qty,
                None => levels.push((price, qty)),
            }
        }
        bids.sort_unstable_by_key(|b| std::cmp::Reverse(b.0));
        asks.sort_unstable_by_key(|a| a.0);
        Some(BookUpdate { instrument, first_seq: self.seq - n + 1, last_seq: self.seq, bids, asks })
    }

    fn level(&mut self, side: u8, price: i64, qty: i64) {
        let book = &mut self.levels[usize::from(side & 1)];
        if qty == 0 {
            book.remove(&price);
        } else {
            book.insert(price, qty);
        }
        self.seq += 1;
        self.changes.push((side, price, qty));
    }

    fn taker(&mut self, order_id: u64) -> Option<&mut Taker> {
        self.takers.iter_mut().find(|(id, _)| *id == order_id).map(|(_, t)| t)
    }

    fn set_resting(&mut self, order_id: u64, left: i64) {
        let Some(place) = self.places.get(&order_id).copied() else { return };
        let key = (place.side, place.price);
        let Some(queue) = self.queues.get_mut(&key) else { return };
        if left > 0 {
            queue.insert(place.arrival, (order_id, left));
            return;
        }
        queue.remove(&place.arrival);
        self.places.remove(&order_id);
        if queue.is_empty() {
            self.queues.remove(&key);
        }
    }

    /// Up to `limit` levels `(price, qty)` of a side, best first.
    pub fn depth(&self, side: u8, limit: usize) -> Vec<(i64, i64)> {
        let book = &self.levels[usize::from(side & 1)];
        let copy = |(p, q): (&i64, &i64)| (*p, *q);
        if side == BUY {
            book.iter().rev().take(limit).map(copy).collect()
        } else {
            book.iter().take(limit).map(copy).collect()
        }
    }

    /// The best price of a side, or None.
    pub fn best(&self, side: u8) -> Option<i64> {
        let book = &self.levels[usize::from(side & 1)];
        if side == BUY { book.keys().next_back() } else { book.keys().next() }.copied()
    }

    /// The lots an order has resting, or None if it does not rest.
    pub fn resting(&self, order_id: u64) -> Option<i64> {
        let place = self.places.get(&order_id)?;
        self.queues.get(&(place.side, place.price))?.get(&place.arrival).map(|(_, lots)| *lots)
    }

    /// The lots resting ahead of an order at its price, or None if it does not rest.
    pub fn queue_ahead(&self, order_id: u64) -> Option<i64> {
        let place = self.places.get(&order_id)?;
        let queue = self.queues.get(&(place.side, place.price))?;
        Some(queue.range(..place.arrival).map(|(_, (_, lots))| *lots).sum())
    }

    /// The FIFO's total per level of a side, `(price, lots)` by price (the tests compare it
    /// with the levels).
    pub fn queue_totals(&self, side: u8) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = self
            .queues
            .iter()
            .filter(|((s, _), _)| *s == side)
            .map(|((_, p), q)| (*p, q.values().map(|(_, lots)| *lots).sum()))
            .collect();
        out.sort_unstable();
        out
    }
}

/// The book event of an output record.
pub fn book_event(r: &[u8]) -> BookEvent {
    BookEvent {
        kind: r[at::KIND],
        order_id: u64_at(r, at::ORDER_ID),
        other_id: u64_at(r, at::OTHER_ID),
        side: r[at::SIDE],
        price: i64_at(r, at::PRICE),
        qty: i64_at(r, at::QTY),
        remaining: i64_at(r, at::REMAINING),
        other: i64_at(r, at::OTHER),
        flags: r[at::FLAGS],
    }
}

/// A batch's length is not a whole number of output records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("venue books: a batch of {len} bytes is not a whole number of {OUTPUT_SIZE}-byte output records")]
pub struct BatchSizeError {
    /// The batch's length in bytes.
    pub len: usize,
}

/// Every instrument's [`BookMirror`], fed with drained batches (see the module docs).
#[derive(Debug)]
pub struct VenueBooks {
    books: Vec<BookMirror>,
    watched: Vec<bool>,
    updates: Vec<BookUpdate>,
    /// Book deltas dropped from the command being applied.
    dropped: u32,
}

impl VenueBooks {
    /// Mirrors of `instruments` empty books, none watched.
    pub fn new(instruments: usize) -> Self {
        Self {
            books: (0..instruments).map(|_| BookMirror::default()).collect(),
            watched: vec![false; instruments],
            updates: Vec::new(),
            dropped: 0,
        }
    }

    /// One instrument's mirror (None past the last instrument).
    pub fn book(&self, instrument: usize) -> Option<&BookMirror> {
        self.books.get(instrument)
    }

    /// Whether the book updates of `instrument` are collected (someone watches its topic).
    pub fn watch(&mut self, instrument: usize, watched: bool) {
        if let Some(w) = self.watched.get_mut(instrument) {
            *w = watched;
        }
    }

    /// One event of a command outside a batch (the venue's restart replays the journal so).
    pub fn event(&mut self, instrument: usize, e: &BookEvent) {
        if let Some(book) = self.books.get_mut(instrument) {
            book.event(e);
        }
    }

    /// Ends a command outside a batch (see [`Self::event`]); its update is collected if watched.
    pub fn command_done(&mut self, instrument: usize) {
        let Some(book) = self.books.get_mut(instrument) else { return };
        let update = book.command_done(instrument as u32);
        if let (Some(update), true) = (update, self.watched[instrument]) {
            self.updates.push(update);
        }
    }

    /// Applies a drained batch of output records and appends to `kept` the records the Python
    /// side needs (see the module docs). Returns the number of records kept.
    pub fn apply(&mut self, batch: &[u8], kept: &mut Vec<u8>) -> Result<usize, BatchSizeError> {
        if !batch.len().is_multiple_of(OUTPUT_SIZE) {
            return Err(BatchSizeError { len: batch.len() });
        }
        let start = kept.len();
        // The kept record that is the tail of the command being applied, if any (a command's
        // outputs are contiguous; one cut by the batch's end goes on in the next batch).
        let mut tail: Option<usize> = None;
        for r in batch.chunks_exact(OUTPUT_SIZE) {
            let instrument = u32_at(r, at::INSTRUMENT) as usize;
            let is_event = r[at::OUTCOME] == 0;
            if is_event {
                self.event(instrument, &book_event(r));
            }
            let last = r[at::LAST] != 0;
            let delta = is_event && r[at::KIND] == kind::BOOK_DELTA;
            if delta {
                self.dropped += 1;
            }
            if !delta || (last && tail.is_none()) {
                tail = Some(kept.len());
                kept.extend_from_slice(r);
            }
            if last {
                if let Some(at) = tail.take() {
                    kept[at + at::LAST] = 1;
                    let dropped = self.dropped.to_le_bytes();
                    kept[at + at::DROPPED..at + OUTPUT_SIZE].copy_from_slice(&dropped);
                }
                self.command_done(instrument);
                self.dropped = 0;
            }
        }
        Ok((kept.len() - start) / OUTPUT_SIZE)
    }

    /// The book updates collected since the last call, in the engine's order.
    pub fn take_updates(&mut self) -> Vec<BookUpdate> {
        std::mem::take(&mut self.updates)
    }
}

mod state;

/// The maps of resting orders and queues: `ahash`, randomly keyed as the risk stage's maps are
/// (SipHash was a tenth of the order entry's instructions per order).
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

#[cfg(test)]
#[path = "venue_books_tests.rs"]
mod tests;
