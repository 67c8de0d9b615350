//! Where the runner's reference books and the external venues' public trades come from: a
//! [`BookSource`] (the feeds' live market, [`FeedBooks`], or books set by hand).

use std::sync::{Arc, Mutex, PoisonError};

use wintermute_feeds::market::Market;
use wintermute_feeds::message::Aggressor;
use wintermute_feeds::normalized::EventKind;
use wintermute_feeds::sync::SyncState;

use crate::live_config::StreamKey;
use crate::types::Side;

/// One reference stream as a [`BookSource`] reads it: exact decimals (units of 10^-18).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefBook {
    /// Sync state (`None`: the stream has not been seen yet).
    pub state: Option<SyncState>,
    /// Best bid (price, quantity), raw.
    pub bid: Option<(i128, i128)>,
    /// Best ask (price, quantity), raw.
    pub ask: Option<(i128, i128)>,
    /// Sequence gaps so far.
    pub gaps: u64,
    /// Checksum mismatches so far.
    pub checksum_bad: u64,
    /// Malformed frames so far.
    pub errors: u64,
}

/// One public trade of a reference stream as a [`BookSource`] reads it: exact decimals (units
/// of 10^-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedTrade {
    /// The stream's index in the runner's streams.
    pub stream: usize,
    /// Price, raw.
    pub price: i128,
    /// Quantity, raw.
    pub qty: i128,
    /// The side that took liquidity (`None`: the venue does not say).
    pub aggressor: Option<Side>,
}

/// The public trades read in one loop turn: a buffer sized once ([`FeedTrades::with_capacity`]),
/// never grown; a source stops at its capacity and hands the rest over at the next read.
#[derive(Debug, Clone, Default)]
pub struct FeedTrades {
    trades: Vec<FeedTrade>,
    /// Market-data events a source found overwritten in its ring before it read them (trades
    /// among them are lost).
    pub missed: u64,
}

impl FeedTrades {
    /// Room for `capacity` trades per read, allocated now.
    pub fn with_capacity(capacity: usize) -> Self {
        FeedTrades { trades: Vec::with_capacity(capacity), missed: 0 }
    }

    /// Adds `trade`; `false` (and nothing added) when the buffer is full.
    pub fn push(&mut self, trade: FeedTrade) -> bool {
        if self.trades.len() == self.trades.capacity() {
            return false;
        }
        self.trades.push(trade);
        true
    }

    /// The trades read, oldest first per stream.
    pub fn as_slice(&self) -> &[FeedTrade] {
        &self.trades
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.trades.clear();
    }
}

/// Where the reference books come from.
pub trait BookSource: Send {
    /// Reads each of `streams` into `out` (same order and length).
    fn read(&mut self, streams: &[StreamKey], out: &mut [RefBook]);

    /// Adds to `out` the public trades of `streams` printed since the previous call, as far as
    /// `out` has room (the rest comes with the next call); the first call only takes its places
    /// (the trades before it are history). The default has none.
    fn read_trades(&mut self, _streams: &[StreamKey], _out: &mut FeedTrades) {}
}

/// The feeds' live [`Market`] as a [`BookSource`], replaceable while the runner runs (a demo
/// restarts its synthetic market when it has replayed).
#[derive(Clone)]
pub struct FeedBooks {
    market: Arc<Mutex<Arc<Market>>>,
    /// This reader's place in each stream's ring of normalized events (trades read up to it),
    /// and the market those places are in (a replaced market starts again from its first).
    trade_seen: Vec<u64>,
    trade_market: Option<Arc<Market>>,
}

impl std::fmt::Debug for FeedBooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedBooks").finish_non_exhaustive()
    }
}

impl FeedBooks {
    /// Reads `market`.
    pub fn new(market: Arc<Market>) -> Self {
        FeedBooks { market: Arc::new(Mutex::new(market)), trade_seen: Vec::new(), trade_market: None }
    }

    /// Reads `market` from now on (a clone of this handle changes the runner's source too).
    pub fn replace(&self, market: Arc<Market>) {
        *self.market.lock().unwrap_or_else(PoisonError::into_inner) = market;
    }

    /// Reads the current market's published view (every stream's full published depth).
    pub fn read_view<R>(&self, f: impl FnOnce(&wintermute_feeds::market::MarketView) -> R) -> R {
        let market = Arc::clone(&self.market.lock().unwrap_or_else(PoisonError::into_inner));
        market.read(f)
    }
}

impl BookSource for FeedBooks {
    fn read_trades(&mut self, streams: &[StreamKey], out: &mut FeedTrades) {
        let market = Arc::clone(&self.market.lock().unwrap_or_else(PoisonError::into_inner));
        let first = self.trade_market.is_none();
        if !self.trade_market.as_ref().is_some_and(|m| Arc::ptr_eq(m, &market)) {
            // The first read, or a new market: its rings start from their first event.
            self.trade_seen.clear();
            self.trade_seen.resize(streams.len(), 0);
            self.trade_market = Some(Arc::clone(&market));
        }
        let seen = &mut self.trade_seen;
        market.read(|view| {
            for (i, key) in streams.iter().enumerate() {
                let Some(s) = view.stream(key.venue, &key.symbol) else { continue };
                let pushed = s.ring.pushed();
                if first {
                    seen[i] = pushed;
                    continue;
                }
                // The ring's index of the first event not read yet, and of the oldest it holds.
                let held_from = pushed - s.ring.len() as u64;
                if seen[i] < held_from {
                    out.missed += held_from - seen[i];
                    seen[i] = held_from;
                }
                for ev in s.ring.since(seen[i]) {
                    if ev.kind == EventKind::Trade {
                        let aggressor = ev.aggressor.map(|a| match a {
                            Aggressor::Buy => Side::Buy,
                            Aggressor::Sell => Side::Sell,
                        });
                        let trade =
                            FeedTrade { stream: i, price: ev.level.price_raw, qty: ev.level.qty_raw, aggressor };
                        if !out.push(trade) {
                            return;
                        }
                    }
                    seen[i] += 1;
                }
            }
        });
    }

    fn read(&mut self, streams: &[StreamKey], out: &mut [RefBook]) {
        let market = Arc::clone(&self.market.lock().unwrap_or_else(PoisonError::into_inner));
        market.read(|view| {
            for (key, book) in streams.iter().zip(out.iter_mut()) {
                *book = match view.stream(key.venue, &key.symbol) {
                    None => RefBook::default(),
                    Some(s) => RefBook {
                        state: Some(s.state),
                        bid: s.bids.first().map(|l| (l.price.raw(), l.qty.raw())),
                        ask: s.asks.first().map(|l| (l.price.raw(), l.qty.raw())),
                        gaps: s.stats.gaps,
                        checksum_bad: s.stats.checksum_bad,
                        errors: s.stats.errors,
                    },
                };
            }
        });
    }
}
