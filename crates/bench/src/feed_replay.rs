//! Recorded exchange messages through a book builder in a Rust loop, timed: the rows of
//! `wintermute bench feeds` that parse raw exchange JSON, which the bindings'
//! `feeds_replay_timed` and `binance_ticks_replay_timed` call with the GIL released.
//!
//! A replay runs the messages once untimed (the warm-up a live session has: the books exist and
//! are sized), then `repeat` times timed. A message is `(url, text)`: `url` is `None` for a
//! WebSocket frame and the request URL for an HTTP response (a REST snapshot).

use std::time::Instant;

use wintermute_feeds::binance_ticks::{BinanceTickBook, BinanceTickBooks, TickScale};
use wintermute_feeds::book::Level;
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, BookView, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::{FeedError, Venue};

/// One recorded message: `(url, text)` (`url`: `None` for a WebSocket frame).
pub type Message = (Option<String>, String);

/// One instrument's integer scale: `(symbol, tick_size, lot_size)` as exact decimal text.
pub type Scale = (String, String, String);

/// What one replay through a venue's book builder measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedReplay {
    /// Messages replayed in the timed passes.
    pub messages: usize,
    /// Wall-clock seconds of the timed passes.
    pub seconds: f64,
    /// Frames rejected in the last pass.
    pub errors: u64,
    /// Book updates applied over all passes (the warm-up included).
    pub updates: u64,
    /// Each stream's final `(symbol, best bid price, best ask price)`, prices as exact text.
    pub tops: Vec<(String, Option<String>, Option<String>)>,
}

/// `messages` through `handler` once untimed, then `repeat` times timed.
pub fn replay<H: FeedHandler>(handler: &mut H, messages: &[Message], repeat: usize) -> FeedReplay {
    let pass = |h: &mut H| {
        let mut errors = 0u64;
        for (url, text) in messages {
            let r = match url {
                None => h.on_frame(0, text),
                Some(u) => h.on_http(0, u, text),
            };
            errors += u64::from(r.is_err());
        }
        errors
    };
    pass(handler);
    let mut errors = 0;
    let start = Instant::now();
    for _ in 0..repeat {
        errors = pass(handler);
    }
    let seconds = start.elapsed().as_secs_f64();
    let streams = handler.streams();
    let updates: u64 = streams.iter().map(|s| s.stats.updates).sum();
    let text = |l: Option<Level>| l.map(|l| l.price.as_str().to_owned());
    let tops = streams
        .iter()
        .map(|s| (s.symbol.as_str().to_owned(), text(s.book.best_bid_level()), text(s.book.best_ask_level())))
        .collect();
    FeedReplay { messages: messages.len() * repeat, seconds, errors, updates, tops }
}

/// `messages` through a fresh book builder of `venue` (see [`replay`]). With `scales` (Binance
/// only) the builder is the connector's integer handler ([`BinanceTickFeed`], `window` ticks per
/// side); without, the venue's decimal book builder. Scales for another venue are a
/// [`FeedError::Config`] of field `scales`.
pub fn replay_venue(
    venue: Venue,
    scales: Option<&[Scale]>,
    window: usize,
    messages: &[Message],
    repeat: usize,
) -> Result<FeedReplay, FeedError> {
    Ok(match (venue, scales) {
        (Venue::Binance, Some(scales)) => {
            let list = scales
                .iter()
                .map(|(symbol, tick, lot)| Ok((symbol.clone(), TickScale::new(tick, lot)?)))
                .collect::<Result<Vec<_>, FeedError>>()?;
            replay(&mut BinanceTickFeed::new(&list, window)?, messages, repeat)
        }
        (v, Some(_)) => {
            let reason = format!("venue={}: tick scales are for binance only", v.name());
            return Err(FeedError::Config { field: "scales", reason });
        }
        (Venue::Binance, None) => replay(&mut BinanceBooks::new(), messages, repeat),
        (Venue::Coinbase, None) => replay(&mut CoinbaseBooks::new(), messages, repeat),
        (Venue::Kraken, None) => replay(&mut KrakenBooks::new(), messages, repeat),
    })
}

/// What one replay through the Binance integer books measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TicksReplay {
    /// Messages replayed in the timed passes.
    pub messages: usize,
    /// Wall-clock seconds of the timed passes.
    pub seconds: f64,
    /// Frames the books rejected, over all passes.
    pub errors: u64,
    /// Each book's final `(symbol, best bid ticks, best ask ticks)`, in the order of `books`.
    pub tops: Vec<(String, Option<i64>, Option<i64>)>,
}

/// Binance messages through the integer path ([`BinanceTickBooks`], one book per `books` entry,
/// `window` ticks per side), once untimed then `repeat` times timed.
pub fn replay_binance_ticks(
    books: &[Scale],
    window: usize,
    messages: &[Message],
    repeat: usize,
) -> Result<TicksReplay, FeedError> {
    let mut router = BinanceTickBooks::new();
    for (symbol, tick, lot) in books {
        router.add(BinanceTickBook::new(symbol, TickScale::new(tick, lot)?, window)?);
    }
    let pass = |r: &mut BinanceTickBooks| {
        for (url, text) in messages {
            let _ = match url {
                None => r.on_frame(text),
                Some(u) => r.on_http(u, text),
            };
        }
    };
    pass(&mut router);
    let start = Instant::now();
    for _ in 0..repeat {
        pass(&mut router);
    }
    let seconds = start.elapsed().as_secs_f64();
    let tops = books
        .iter()
        .filter_map(|(symbol, _, _)| {
            let b = router.book(symbol)?.book();
            Some((symbol.clone(), b.best_bid().map(|l| l.0), b.best_ask().map(|l| l.0)))
        })
        .collect();
    Ok(TicksReplay { messages: messages.len() * repeat, seconds, errors: router.errors(), tops })
}
