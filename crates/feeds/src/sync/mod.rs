//! Book builders: from parsed exchange messages to local books that are provably in sync.
//!
//! Every (venue, symbol) stream runs the same state machine:
//!
//! ```text
//!            snapshot (+ buffered diffs that chain)
//! Buffering ───────────────────────────────────────▶ Live
//!     ▲                                              │ gap in sequence / checksum mismatch /
//!     │            next snapshot                     │ malformed book data
//! Resyncing ◀────────────────────────────────────────┘ (book discarded, never patched)
//! ```
//!
//! The venue rules live in [`binance`], [`coinbase`] and [`kraken`]; each builder implements
//! [`FeedHandler`], the interface a connector or a replay feeds with frames. The decimal builders
//! keep each level's exchange text in an [`L2Book`]; [`crate::binance_ticks::feed`] is Binance on integer
//! books ([`BinanceTickFeed`], ticks and lots with each symbol's [`ScaledBook`] scale), the fast
//! path when the tick and lot sizes are known. [`FeedHandler::Book`] says which book a builder's
//! streams hold, and [`BookView`] reads either as exact decimal levels. Builders never
//! panic on input: a frame that does not parse is counted in `errors` (and, when the venue has no
//! other way to detect a lost book message, makes the affected books resync), and the `Result`
//! tells the caller what went wrong.
//!
//! Counters per stream ([`StreamStats`]):
//!
//! | counter | counts |
//! |---|---|
//! | `messages` | frames attributed to the stream (book, trade, ticker, …) |
//! | `snapshots` | snapshots received |
//! | `updates` | book updates applied to a live book |
//! | `checksum_ok` / `checksum_bad` | exchange checksums verified / failed (Kraken) |
//! | `gaps` | sequence gaps (Binance `U`/`u`, Coinbase Advanced `sequence_num`) |
//! | `resyncs` | times the book was discarded to wait for a new snapshot |
//! | `crossed` | applied messages after which best bid >= best ask |
//! | `errors` | malformed frames attributed to the stream |
//!
//! The update path does not allocate once buffers and books have grown (see
//! `tests/no_alloc.rs`): books keep their capacity across resyncs, parsers reuse their buffers,
//! and streams are looked up by inline [`Symbol`].
//!
//! Each builder also owns a [`Tap`] (see [`crate::normalized`]): when enabled, it emits
//! normalized snapshot / delta / trade / BBO events into per-stream L1 rings as frames are
//! applied, and a connector that calls [`FeedHandler::on_frame_at`] with each frame's receive
//! time gets per-venue latency histograms. Disabled (the default), it costs one branch per
//! emission point.

pub mod binance;
pub mod book_view;
pub mod coinbase;
pub mod kraken;

use std::collections::HashMap;

use crate::book::L2Book;
use crate::error::FeedError;
use crate::message::{LevelUpdate, Symbol, Venue};
use crate::normalized::Tap;
use wintermute_core::decimal::Decimal;

pub use crate::binance_ticks::feed::BinanceTickFeed;
pub use binance::BinanceBooks;
pub use book_view::{BookView, ScaledBook};
pub use coinbase::CoinbaseBooks;
pub use kraken::KrakenBooks;

/// Where a stream's book stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No snapshot yet; diffs are buffered where the venue needs that.
    Buffering,
    /// Snapshot applied and every later message chained: the book is trustworthy.
    Live,
    /// A gap or checksum mismatch discarded the book; waiting for a new snapshot.
    Resyncing,
}

/// Counters of one stream (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Frames attributed to the stream.
    pub messages: u64,
    /// Snapshots received.
    pub snapshots: u64,
    /// Updates applied to a live book.
    pub updates: u64,
    /// Checksums that matched.
    pub checksum_ok: u64,
    /// Checksums that did not.
    pub checksum_bad: u64,
    /// Sequence gaps.
    pub gaps: u64,
    /// Books discarded.
    pub resyncs: u64,
    /// Applied messages that left the book crossed.
    pub crossed: u64,
    /// Malformed frames.
    pub errors: u64,
    /// Trades seen.
    pub trades: u64,
    /// Tickers compared with the rebuilt top of book (Coinbase).
    pub ticker_checks: u64,
    /// Of those, tickers whose best bid and ask equal the book's.
    pub ticker_matches: u64,
}

/// One (venue, symbol) stream: its book, state and counters.
///
/// The book is the decimal [`L2Book`] (exchange text kept) for every builder but
/// [`BinanceTickFeed`], whose streams hold a [`ScaledBook`] (integer ticks and lots with the
/// instrument's scale). Consumers that serve both read the book through [`BookView`].
#[derive(Debug, Clone)]
pub struct BookStream<B = L2Book> {
    /// Venue.
    pub venue: Venue,
    /// Symbol as the venue writes it.
    pub symbol: Symbol,
    /// Connection the stream arrives on.
    pub conn: u32,
    /// Sync state.
    pub state: SyncState,
    /// The local book (empty unless `Live`).
    pub book: B,
    /// Counters.
    pub stats: StreamStats,
}

impl<B: BookView> BookStream<B> {
    /// A new stream waiting for its snapshot, with `book` (empty) as its book.
    pub fn with_book(venue: Venue, symbol: Symbol, conn: u32, book: B) -> Self {
        BookStream { venue, symbol, conn, state: SyncState::Buffering, book, stats: StreamStats::default() }
    }

    /// Discards the book and waits for a new snapshot.
    pub fn resync(&mut self) {
        self.book.clear();
        self.state = SyncState::Resyncing;
        self.stats.resyncs += 1;
    }

    /// Counts a crossed book after an applied message.
    #[inline]
    pub fn note_applied(&mut self) {
        if self.book.is_crossed() {
            self.stats.crossed += 1;
        }
    }

    /// Best bid and ask prices as exact decimals, when the book is live.
    pub fn top(&self) -> (Option<Decimal>, Option<Decimal>) {
        if self.state != SyncState::Live {
            return (None, None);
        }
        (self.book.best_bid_level().map(|l| l.price), self.book.best_ask_level().map(|l| l.price))
    }
}

impl BookStream {
    /// A new stream waiting for its snapshot.
    pub fn new(venue: Venue, symbol: Symbol, conn: u32) -> Self {
        Self::with_book(venue, symbol, conn, L2Book::new())
    }

    /// Applies a book message that carries absolute levels: a snapshot (replaces the book, the
    /// stream goes live, owned by `conn`) or an update (applied only while live). Returns
    /// `Some(true)` for a snapshot, `Some(false)` for an applied update, `None` when an update
    /// was ignored because the stream is not live.
    pub fn apply_levels(&mut self, conn: u32, snapshot: bool, levels: &[LevelUpdate]) -> Option<bool> {
        if snapshot {
            self.stats.snapshots += 1;
            self.conn = conn;
            self.book.load_updates(levels);
            self.state = SyncState::Live;
        } else if self.state == SyncState::Live {
            for l in levels {
                self.book.apply(l.side, l.price, l.qty);
            }
            self.stats.updates += 1;
        } else {
            return None;
        }
        Some(snapshot)
    }
}

/// Why a book was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// A sequence number was skipped.
    Gap,
    /// The exchange checksum did not match the rebuilt book.
    ChecksumMismatch,
    /// A frame could not be parsed and the venue cannot otherwise prove nothing was lost.
    Malformed,
}

/// What a frame did, for callers that react to it (tests, the engine's market-data stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEvent {
    /// Nothing to report (heartbeats, subscription replies, stale or duplicate diffs, updates
    /// for a book that is not live).
    Ignored,
    /// A diff was buffered until the snapshot arrives.
    Buffered(Symbol),
    /// A snapshot was loaded; the book is live.
    Snapshot(Symbol),
    /// A snapshot was too old for the buffered diffs and was dropped (fetch another).
    StaleSnapshot(Symbol),
    /// An update was applied.
    Update(Symbol),
    /// Trades arrived (see the builder's `last_trades`).
    Trades(Symbol),
    /// A ticker, with its best bid and ask.
    Ticker {
        /// Symbol.
        symbol: Symbol,
        /// `best_bid`.
        best_bid: Option<Decimal>,
        /// `best_ask`.
        best_ask: Option<Decimal>,
    },
    /// The book was discarded; a new snapshot is needed.
    Resync {
        /// Symbol (for a connection-wide gap, the first affected stream).
        symbol: Symbol,
        /// Why.
        reason: ResyncReason,
    },
}

/// The interface a connector or a replay drives a venue's builder through.
///
/// `Book` is the book type of the builder's streams: [`L2Book`] for the decimal builders,
/// [`ScaledBook`] for [`BinanceTickFeed`]. Code generic over `H: FeedHandler` reads either
/// through [`BookView`]; a trait object names it (`dyn FeedHandler<Book = L2Book>`).
pub trait FeedHandler {
    /// The book type held by the streams.
    type Book: BookView;
    /// The venue handled.
    fn venue(&self) -> Venue;
    /// A connection opened (a fresh connection restarts per-connection sequences).
    fn on_connect(&mut self, _conn: u32, _url: &str) {}
    /// A connection closed or was declared dead: its live books can no longer be proven in sync,
    /// so they resync (discarded until the next snapshot). Returns how many books resynced.
    fn on_disconnect(&mut self, _conn: u32) -> usize {
        0
    }
    /// We sent a frame (subscriptions tell Kraken's builder the book depth).
    fn on_sent(&mut self, _conn: u32, _payload: &str) {}
    /// A REST response arrived (Binance depth snapshots).
    fn on_http(&mut self, _conn: u32, _url: &str, _body: &str) -> Result<FeedEvent, FeedError> {
        Ok(FeedEvent::Ignored)
    }
    /// A WebSocket frame arrived.
    fn on_frame(&mut self, conn: u32, payload: &str) -> Result<FeedEvent, FeedError>;
    /// A WebSocket frame arrived at local time `receive_ns` (ns since the epoch): what a
    /// connector calls, so the builder's [`Tap`] can stamp normalized events and measure
    /// latency. Same effect on the books as [`FeedHandler::on_frame`].
    fn on_frame_at(&mut self, conn: u32, payload: &str, receive_ns: i64) -> Result<FeedEvent, FeedError> {
        if let Some(tap) = self.tap_mut() {
            tap.begin_frame(receive_ns);
        }
        let event = self.on_frame(conn, payload);
        if let Some(tap) = self.tap_mut() {
            tap.end_frame();
        }
        event
    }
    /// The builder's normalized-event tap, if it has one (see [`crate::normalized`]).
    fn tap(&self) -> Option<&Tap> {
        None
    }
    /// The builder's tap, to enable it or to stamp frames.
    fn tap_mut(&mut self) -> Option<&mut Tap> {
        None
    }
    /// All streams seen so far, in no particular order.
    fn streams(&self) -> Vec<&BookStream<Self::Book>>;
    /// Malformed frames that could not be attributed to a stream.
    fn unattributed_errors(&self) -> u64;

    /// Streams whose book is not live: a connector fetches a REST snapshot (Binance) or
    /// resubscribes (Coinbase, Kraken) for each. Sorted by symbol.
    fn pending_snapshots(&self) -> Vec<Symbol> {
        let mut out: Vec<Symbol> =
            self.streams().into_iter().filter(|s| s.state != SyncState::Live).map(|s| s.symbol).collect();
        out.sort();
        out
    }
}

/// Streams of one venue keyed by symbol, created on first sight.
#[derive(Debug, Clone, Default)]
pub(crate) struct Streams {
    map: HashMap<Symbol, BookStream>,
}

impl Streams {
    pub(crate) fn get_or_insert(&mut self, venue: Venue, symbol: Symbol, conn: u32) -> &mut BookStream {
        self.map.entry(symbol).or_insert_with(|| BookStream::new(venue, symbol, conn))
    }

    pub(crate) fn get(&self, symbol: &Symbol) -> Option<&BookStream> {
        self.map.get(symbol)
    }

    pub(crate) fn get_mut(&mut self, symbol: &Symbol) -> Option<&mut BookStream> {
        self.map.get_mut(symbol)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &BookStream> {
        self.map.values()
    }

    /// Resyncs every live stream of `conn`; returns how many.
    pub(crate) fn resync_conn(&mut self, conn: u32) -> usize {
        let mut n = 0;
        for s in self.map.values_mut().filter(|s| s.conn == conn && s.state == SyncState::Live) {
            s.resync();
            n += 1;
        }
        n
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut BookStream> {
        self.map.values_mut()
    }
}
