//! Coinbase: Exchange `level2` (snapshot + `l2update`) and Advanced Trade `l2_data`.
//!
//! **Exchange feed.** A `snapshot` loads the whole book and makes it live; `l2update` changes are
//! applied to a live book. There is no sequence number on this channel (it promises delivery), so
//! the only protection against a lost update is the connection itself: a frame that fails to
//! parse could have been a book update of any product on the connection, so every live book of that
//! connection resyncs (waits for a new snapshot, i.e. a resubscribe). `ticker` messages are
//! compared with the rebuilt top of book (`ticker_checks` / `ticker_matches` in [`StreamStats`]);
//! the channels are not synchronised with each other, so a few differences are expected.
//!
//! **Advanced Trade.** Every message on a connection carries `sequence_num`, one counter for all
//! channels (tracked per connection, see `exchange-feeds.md` §2.2). A jump is a gap: every book
//! on the connection resyncs until its next `snapshot` event. A number at or below the last one
//! is a duplicate and is ignored.
//!
//! [`StreamStats`]: crate::sync::StreamStats

use std::collections::HashMap;

use crate::coinbase::{CoinbaseMessage, CoinbaseParser};
use crate::error::FeedError;
use crate::message::{Symbol, Trade, Venue};
use crate::normalized::Tap;
use crate::sync::{BookStream, FeedEvent, FeedHandler, ResyncReason, Streams, SyncState};
use wintermute_core::decimal::InlineStr;

/// Book builder for Coinbase (all products of a session, both feeds).
#[derive(Debug, Clone, Default)]
pub struct CoinbaseBooks {
    parser: CoinbaseParser,
    streams: Streams,
    sequence: HashMap<u32, u64>,
    trades: Vec<Trade>,
    errors: u64,
    tap: Tap,
}

impl CoinbaseBooks {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream of `product`, if seen.
    pub fn stream(&self, product: &str) -> Option<&BookStream> {
        self.streams.get(&InlineStr::new(product).ok()?)
    }

    /// Trades of the last frame that carried any.
    pub fn last_trades(&self) -> &[Trade] {
        &self.trades
    }
}

/// Resyncs every live book on `conn`; returns the first symbol affected.
fn resync_connection(streams: &mut Streams, conn: u32, gap: bool) -> Option<Symbol> {
    let mut first = None;
    for s in streams.values_mut() {
        if s.conn == conn && s.state == SyncState::Live {
            if gap {
                s.stats.gaps += 1;
            }
            s.resync();
            first.get_or_insert(s.symbol);
        }
    }
    first
}

impl FeedHandler for CoinbaseBooks {
    type Book = crate::book::L2Book;

    fn venue(&self) -> Venue {
        Venue::Coinbase
    }

    fn on_disconnect(&mut self, conn: u32) -> usize {
        self.sequence.remove(&conn);
        self.streams.resync_conn(conn)
    }

    fn on_connect(&mut self, conn: u32, _url: &str) {
        self.sequence.remove(&conn);
    }

    fn on_frame(&mut self, conn: u32, payload: &str) -> Result<FeedEvent, FeedError> {
        let msg = match self.parser.parse(payload) {
            Ok(m) => m,
            Err(e) => {
                self.errors += 1;
                if !e.is_unknown_message() {
                    resync_connection(&mut self.streams, conn, false);
                }
                return Err(e);
            }
        };
        let seq = match msg {
            CoinbaseMessage::AdvancedBook { sequence_num, .. }
            | CoinbaseMessage::AdvancedTrades { sequence_num, .. }
            | CoinbaseMessage::Sequenced { sequence_num, .. } => Some(sequence_num),
            _ => None,
        };
        let mut gap_symbol = None;
        if let Some(seq) = seq {
            match self.sequence.get(&conn).copied() {
                Some(prev) if seq <= prev => return Ok(FeedEvent::Ignored),
                Some(prev) if prev.checked_add(1) != Some(seq) => {
                    gap_symbol = resync_connection(&mut self.streams, conn, true)
                }
                _ => {}
            }
            self.sequence.insert(conn, seq);
        }
        let event = match msg {
            CoinbaseMessage::Snapshot { product, bids, asks } => {
                let s = self.streams.get_or_insert(Venue::Coinbase, product, conn);
                s.stats.messages += 1;
                s.stats.snapshots += 1;
                s.conn = conn;
                s.book.load(bids, asks);
                s.state = SyncState::Live;
                s.note_applied();
                self.tap.venue_seq(None);
                self.tap.snapshot(product, &s.book);
                FeedEvent::Snapshot(product)
            }
            CoinbaseMessage::L2Update { product, changes, time } => {
                let s = self.streams.get_or_insert(Venue::Coinbase, product, conn);
                s.stats.messages += 1;
                if s.state != SyncState::Live {
                    return Ok(FeedEvent::Ignored);
                }
                for c in changes {
                    s.book.apply(c.side, c.price, c.qty);
                }
                s.stats.updates += 1;
                s.note_applied();
                self.tap.exchange_time(time);
                self.tap.venue_seq(None); // `level2` updates carry no sequence
                self.tap.deltas(product, changes);
                self.tap.bbo(product, &s.book);
                FeedEvent::Update(product)
            }
            CoinbaseMessage::Match { trade: t, sequence } => {
                let s = self.streams.get_or_insert(Venue::Coinbase, t.symbol, conn);
                s.stats.messages += 1;
                s.stats.trades += 1;
                self.trades.clear();
                self.trades.push(t);
                self.tap.exchange_time(t.exchange_ts);
                self.tap.venue_seq(sequence);
                self.tap.trades(&self.trades);
                FeedEvent::Trades(t.symbol)
            }
            CoinbaseMessage::Ticker { product, best_bid, best_ask, .. } => {
                let s = self.streams.get_or_insert(Venue::Coinbase, product, conn);
                s.stats.messages += 1;
                if let (Some(bid), Some(ask), (Some(b), Some(a))) = (best_bid, best_ask, s.top()) {
                    s.stats.ticker_checks += 1;
                    if bid == b && ask == a {
                        s.stats.ticker_matches += 1;
                    }
                }
                FeedEvent::Ticker { symbol: product, best_bid, best_ask }
            }
            CoinbaseMessage::AdvancedBook { events, updates, sequence_num } => {
                self.tap.venue_seq(Some(sequence_num));
                let mut last = FeedEvent::Ignored;
                for ev in events {
                    let s = self.streams.get_or_insert(Venue::Coinbase, ev.product, conn);
                    s.stats.messages += 1;
                    let levels = CoinbaseMessage::event_updates(updates, ev);
                    last = match s.apply_levels(conn, ev.snapshot, levels) {
                        Some(true) => {
                            self.tap.snapshot(ev.product, &s.book);
                            FeedEvent::Snapshot(ev.product)
                        }
                        Some(false) => {
                            self.tap.deltas(ev.product, levels);
                            self.tap.bbo(ev.product, &s.book);
                            FeedEvent::Update(ev.product)
                        }
                        None => continue,
                    };
                    s.note_applied();
                }
                last
            }
            CoinbaseMessage::AdvancedTrades { trades, sequence_num } => {
                self.tap.venue_seq(Some(sequence_num));
                self.trades.clear();
                self.trades.extend_from_slice(trades);
                for t in trades {
                    self.tap.exchange_time(t.exchange_ts);
                }
                self.tap.trades(trades);
                let mut last = FeedEvent::Ignored;
                for t in trades {
                    let s = self.streams.get_or_insert(Venue::Coinbase, t.symbol, conn);
                    s.stats.messages += 1;
                    s.stats.trades += 1;
                    last = FeedEvent::Trades(t.symbol);
                }
                last
            }
            CoinbaseMessage::Other { product, .. } => {
                if let Some(p) = product {
                    self.streams.get_or_insert(Venue::Coinbase, p, conn).stats.messages += 1;
                }
                FeedEvent::Ignored
            }
            CoinbaseMessage::Sequenced { .. } => FeedEvent::Ignored,
        };
        if let Some(symbol) = gap_symbol {
            return Ok(FeedEvent::Resync { symbol, reason: ResyncReason::Gap });
        }
        Ok(event)
    }

    fn tap(&self) -> Option<&Tap> {
        Some(&self.tap)
    }

    fn tap_mut(&mut self) -> Option<&mut Tap> {
        Some(&mut self.tap)
    }

    fn streams(&self) -> Vec<&BookStream> {
        self.streams.values().collect()
    }

    fn unattributed_errors(&self) -> u64 {
        self.errors
    }
}
