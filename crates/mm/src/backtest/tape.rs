//! The market-data tape a backtest replays: every external venue's book changes and trades,
//! on our grid, each with the time it happened at the venue and the time we saw it.
//!
//! A tape is built once, before the run (from a recording by [`super::recorded`], or by the
//! synthetic market of [`super::synthetic`]), so the event loop touches only integers.

use crate::types::Side;

/// What a tape event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MdKind {
    /// One price level was set (`qty == 0` deletes it).
    Level = 0,
    /// A public trade (`side` is the aggressor's).
    Trade = 1,
    /// The venue's book was reloaded from a snapshot: clear it; the snapshot's levels follow.
    /// The book is live again.
    Clear = 2,
    /// The venue's book can no longer be trusted (sequence gap, checksum mismatch): clear it,
    /// and treat it as down until the next [`MdKind::Clear`].
    Invalid = 3,
}

/// One market-data event of one external venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdEvent {
    /// When it happened at the venue, ns.
    pub ts_exch: i64,
    /// When we saw it, ns (`>= ts_exch`).
    pub ts_recv: i64,
    /// Price in ticks of our grid.
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
    /// External venue number (the configuration's order).
    pub venue: u8,
    /// What it does.
    pub kind: MdKind,
    /// Book side (for a trade, the aggressor's side).
    pub side: Side,
}

/// Events sorted by venue time, and the order in which we see them.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    /// Events in venue-time order (stable for equal times).
    pub events: Vec<MdEvent>,
    /// Indices into `events` in receive-time order (stable for equal times).
    pub recv_order: Vec<u32>,
    /// External venues' names, by number.
    pub venues: Vec<String>,
}

impl Tape {
    /// Sorts `events` by venue time and computes the receive order.
    pub fn new(mut events: Vec<MdEvent>, venues: Vec<String>) -> Tape {
        if !events.windows(2).all(|w| w[0].ts_exch <= w[1].ts_exch) {
            events.sort_by_key(|e| e.ts_exch);
        }
        let mut recv_order: Vec<u32> = (0..events.len() as u32).collect();
        if !events.windows(2).all(|w| w[0].ts_recv <= w[1].ts_recv) {
            recv_order.sort_by_key(|&i| events[i as usize].ts_recv);
        }
        Tape { events, recv_order, venues }
    }

    /// Time of the first event (0 for an empty tape).
    pub fn start_ns(&self) -> i64 {
        self.events.first().map_or(0, |e| e.ts_exch)
    }

    /// Time of the last event seen (0 for an empty tape).
    pub fn end_ns(&self) -> i64 {
        self.events.iter().map(|e| e.ts_recv).max().unwrap_or(0)
    }
}
