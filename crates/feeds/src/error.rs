//! The one error type of this crate.
//!
//! Every variant carries its context as `key=value` pairs in the message, so a log line says what
//! failed and where without a debugger. Variants used on the per-message path hold only
//! `&'static str` and integers, so building one does not allocate; the recording and I/O variants
//! (cold paths) hold owned strings.

use wintermute_core::decimal::NotPlainDecimal;
use wintermute_core::inline_str::InlineStr;

/// Errors from reading recordings, parsing exchange messages and replaying them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// A file could not be read or written.
    #[error("io error: path={path} error={message}")]
    Io {
        /// The file involved.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A line of a recording file does not follow its format.
    #[error("malformed recording: line={line} reason={reason}")]
    Recording {
        /// 1-based line number in the file.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// An exchange message is not well-formed JSON (or not the JSON shape the venue sends).
    #[error("malformed json: venue={venue} offset={offset} expected={expected}")]
    Json {
        /// The venue whose parser failed.
        venue: &'static str,
        /// Byte offset in the message where parsing stopped.
        offset: usize,
        /// What the parser expected there.
        expected: &'static str,
    },
    /// A message lacks a field its type requires.
    #[error("missing field: venue={venue} message={message} field={field}")]
    MissingField {
        /// The venue.
        venue: &'static str,
        /// The message type.
        message: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field is present but its value is not usable.
    #[error("bad field: venue={venue} field={field} reason={reason}")]
    BadField {
        /// The venue.
        venue: &'static str,
        /// The field.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A price or quantity is a valid decimal but not a multiple of the instrument's tick or lot
    /// size (integer books: it is refused, never rounded).
    #[error("off grid: venue={venue} symbol={symbol} field={field} value={value} (not a multiple of the instrument's {})", if *field == "price" { "tick size" } else { "lot size" })]
    OffGrid {
        /// The venue.
        venue: &'static str,
        /// The symbol whose book the value was for (empty when not known where it was read).
        symbol: InlineStr,
        /// `price` or `qty`.
        field: &'static str,
        /// The value as sent (cut to an inline string).
        value: InlineStr,
    },
    /// A decimal string (price, quantity, timestamp) could not be read exactly (the rules of
    /// `wintermute_core::decimal`: plain, unsigned, at most 31 characters).
    #[error("bad decimal: field={field} reason={reason}")]
    Decimal {
        /// The field (`price`, `qty`, `timestamp`, ...).
        field: &'static str,
        /// Why it was rejected (the core reader's [`NotPlainDecimal`] reason).
        reason: &'static str,
    },
    /// A message type this crate does not know.
    #[error("unknown message: venue={venue} kind={kind}")]
    UnknownMessage {
        /// The venue.
        venue: &'static str,
        /// The type tag as sent, cut to an inline string.
        kind: InlineStr,
    },
    /// A network connection could not be opened, or broke (connector, replay server).
    #[error("network error: url={url} attempts={attempts} error={message}")]
    Network {
        /// The endpoint.
        url: String,
        /// Connection attempts made so far (0 when not connecting).
        attempts: u32,
        /// What went wrong.
        message: String,
    },
    /// An HTTP request (Binance REST snapshot) failed or returned a non-200 status.
    #[error("http error: url={url} status={status} error={message}")]
    Http {
        /// The request URL.
        url: String,
        /// The status code, 0 when no response arrived.
        status: u16,
        /// What went wrong.
        message: String,
    },
    /// A configuration value is not usable.
    #[error("bad config: field={field} reason={reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// No venue could be recognised for a recording or a frame.
    #[error("unknown venue: hint={hint}")]
    UnknownVenue {
        /// The URL or payload start that was looked at.
        hint: String,
    },
}

impl FeedError {
    /// Wraps the core decimal reader's error with the field it was reading:
    /// `Decimal::parse_unsigned_with(text, FeedError::decimal("price"))?` (no allocation).
    pub fn decimal(field: &'static str) -> impl Fn(NotPlainDecimal) -> FeedError {
        move |e| FeedError::Decimal { field, reason: e.why }
    }

    /// Whether this error says "a message type we do not handle" rather than "broken input".
    pub fn is_unknown_message(&self) -> bool {
        matches!(self, FeedError::UnknownMessage { .. })
    }
}
