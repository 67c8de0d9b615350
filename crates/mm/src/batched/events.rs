//! What a batched strategy hands over: one [`StrategyEvent`] per callback, and its flat form
//! for a sink in another language ([`StrategyEvent::to_words`]: one row of [`EVENT_FIELDS`]
//! 64-bit integers, which Python reads as one row of a numpy structured array).
//!
//! The codes, which a sink reads from here (Python: from `wintermute._core`) rather than
//! copying them:
//!
//! | field | codes |
//! |---|---|
//! | `kind` | [`KIND_BOOK`], [`KIND_TRADE`], [`KIND_FILL`], [`KIND_ORDER_GONE`], [`KIND_TIMER`] |
//! | `venue` | [`VENUE_OURS`] (−1) for our venue, `n` for the n-th external venue |
//! | `side` | [`SIDE_BUY`] (0), [`SIDE_SELL`] (1): a fill's side, a trade's aggressor |
//! | `liquidity` | [`LIQUIDITY_MAKER`] (0), [`LIQUIDITY_TAKER`] (1) |
//!
//! A field an event kind does not use is 0.

use crate::strategy::PublicTrade;
use crate::types::{Fill, Liquidity, Money, Side, Top, VenueId};

/// One callback a batched strategy received, in the order it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyEvent {
    /// A venue's top changed ([`crate::strategy::Strategy::on_book`]); `live`: whether the
    /// venue's book was live then ([`crate::strategy::Context::book_live`]).
    Book {
        /// The venue.
        venue: VenueId,
        /// Its new top.
        top: Top,
        /// Whether its book was live.
        live: bool,
    },
    /// A public trade.
    Trade(PublicTrade),
    /// One of our fills; `remaining` lots of the order still work and our position after it
    /// is `position` lots ([`crate::strategy::Context::inventory`]).
    Fill {
        /// The fill.
        fill: Fill,
        /// Lots of the order still working.
        remaining: i64,
        /// Our position after the fill, lots.
        position: i64,
    },
    /// One of our orders left without our cancel.
    OrderGone {
        /// Where it rested.
        venue: VenueId,
        /// Its id.
        order_id: u64,
    },
    /// The periodic timer fired.
    Timer,
    /// The answer to a cancel or amend of ours ([`crate::strategy::Strategy::on_answer`]); only
    /// for a sink that takes them ([`super::BatchSink::takes_answers`]).
    Answer {
        /// Where the order was.
        venue: VenueId,
        /// Its id.
        order_id: u64,
        /// Its open lots once the command took effect.
        open_qty: i64,
    },
}

/// `kind` of a top-of-book change.
pub const KIND_BOOK: i64 = 0;
/// `kind` of a public trade.
pub const KIND_TRADE: i64 = 1;
/// `kind` of one of our fills.
pub const KIND_FILL: i64 = 2;
/// `kind` of an order that left without our cancel.
pub const KIND_ORDER_GONE: i64 = 3;
/// `kind` of a timer tick.
pub const KIND_TIMER: i64 = 4;
/// `kind` of the answer to a cancel or amend (handed only to a sink that takes answers,
/// [`super::BatchSink::takes_answers`]): `order_id` and its open lots once the command took
/// effect in `remaining` (0: gone).
pub const KIND_ANSWER: i64 = 5;
/// The kinds by name, as Python reads them.
pub const EVENT_KINDS: [(&str, i64); 6] = [
    ("book", KIND_BOOK),
    ("trade", KIND_TRADE),
    ("fill", KIND_FILL),
    ("order_gone", KIND_ORDER_GONE),
    ("timer", KIND_TIMER),
    ("answer", KIND_ANSWER),
];

/// `venue` of our own venue (an external venue is its index, from 0).
pub const VENUE_OURS: i64 = -1;
/// `side` of a buy.
pub const SIDE_BUY: i64 = 0;
/// `side` of a sell.
pub const SIDE_SELL: i64 = 1;
/// `liquidity` of a maker fill.
pub const LIQUIDITY_MAKER: i64 = 0;
/// `liquidity` of a taker fill.
pub const LIQUIDITY_TAKER: i64 = 1;
/// The sides by name.
pub const SIDE_CODES: [(&str, i64); 2] = [("buy", SIDE_BUY), ("sell", SIDE_SELL)];
/// The liquidities by name.
pub const LIQUIDITY_CODES: [(&str, i64); 2] = [("maker", LIQUIDITY_MAKER), ("taker", LIQUIDITY_TAKER)];

/// The fields of one event row, in order; every field is an `i64`.
///
/// `ts_ns` is when the strategy saw the event; `origin_ts_ns` the time its data carries (a
/// top's update time, a trade's time, a fill's time at the venue); `fee` is in
/// [`Money`](crate::types::Money) units (tick·lot / 10^6; negative: a rebate).
pub const EVENT_FIELDS: [&str; 17] = [
    "kind",
    "venue",
    "ts_ns",
    "origin_ts_ns",
    "order_id",
    "side",
    "price",
    "qty",
    "remaining",
    "liquidity",
    "fee",
    "position",
    "bid_price",
    "bid_qty",
    "ask_price",
    "ask_qty",
    "live",
];

/// Words per event row.
pub const EVENT_WORDS: usize = EVENT_FIELDS.len();

/// An event that has no exact flat form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventWordsError {
    /// A fee beyond the 64-bit range.
    #[error("strategy event: fee={fee} money units does not fit in 64 bits")]
    FeeTooLarge {
        /// The fee.
        fee: Money,
    },
    /// An order id beyond the 63-bit range.
    #[error("strategy event: order_id={order_id} does not fit in 63 bits")]
    OrderIdTooLarge {
        /// The id.
        order_id: u64,
    },
}

/// The `venue` code of a venue.
#[inline]
pub fn venue_code(venue: VenueId) -> i64 {
    match venue {
        VenueId::Ours => VENUE_OURS,
        VenueId::External(n) => n as i64,
    }
}

/// The venue of a `venue` code (`None`: not a venue code).
#[inline]
pub fn venue_of(code: i64) -> Option<VenueId> {
    match code {
        VENUE_OURS => Some(VenueId::Ours),
        0..=255 => Some(VenueId::External(code as u8)),
        _ => None,
    }
}

/// The `side` code of a side.
#[inline]
pub fn side_code(side: Side) -> i64 {
    match side {
        Side::Buy => SIDE_BUY,
        Side::Sell => SIDE_SELL,
    }
}

/// The side of a `side` code.
#[inline]
pub fn side_of(code: i64) -> Option<Side> {
    match code {
        SIDE_BUY => Some(Side::Buy),
        SIDE_SELL => Some(Side::Sell),
        _ => None,
    }
}

fn id_word(order_id: u64) -> Result<i64, EventWordsError> {
    i64::try_from(order_id).map_err(|_| EventWordsError::OrderIdTooLarge { order_id })
}

impl StrategyEvent {
    /// The event's row of [`EVENT_FIELDS`], seen at `ts_ns`.
    pub fn to_words(&self, ts_ns: i64) -> Result<[i64; EVENT_WORDS], EventWordsError> {
        let mut w = [0i64; EVENT_WORDS];
        w[2] = ts_ns;
        match *self {
            StrategyEvent::Book { venue, top, live } => {
                w[0] = KIND_BOOK;
                w[1] = venue_code(venue);
                w[3] = top.ts_ns;
                w[12..17].copy_from_slice(&[top.bid.price, top.bid.qty, top.ask.price, top.ask.qty, live as i64]);
            }
            StrategyEvent::Trade(t) => {
                w[0] = KIND_TRADE;
                w[1] = venue_code(t.venue);
                w[3] = t.ts_ns;
                w[5..8].copy_from_slice(&[side_code(t.aggressor), t.price, t.qty]);
            }
            StrategyEvent::Fill { fill, remaining, position } => {
                let fee = i64::try_from(fill.fee).map_err(|_| EventWordsError::FeeTooLarge { fee: fill.fee })?;
                let liquidity = match fill.liquidity {
                    Liquidity::Maker => LIQUIDITY_MAKER,
                    Liquidity::Taker => LIQUIDITY_TAKER,
                };
                w[0] = KIND_FILL;
                w[1] = venue_code(fill.venue);
                w[3] = fill.ts_ns;
                w[4] = id_word(fill.order_id)?;
                w[5..12].copy_from_slice(&[
                    side_code(fill.side),
                    fill.price,
                    fill.qty,
                    remaining,
                    liquidity,
                    fee,
                    position,
                ]);
            }
            StrategyEvent::OrderGone { venue, order_id } => {
                w[0] = KIND_ORDER_GONE;
                w[1] = venue_code(venue);
                w[4] = id_word(order_id)?;
            }
            StrategyEvent::Timer => {
                w[0] = KIND_TIMER;
                w[1] = VENUE_OURS;
                w[3] = ts_ns;
            }
            StrategyEvent::Answer { venue, order_id, open_qty } => {
                w[0] = KIND_ANSWER;
                w[1] = venue_code(venue);
                w[3] = ts_ns;
                w[4] = id_word(order_id)?;
                w[8] = open_qty;
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Level;

    fn field(name: &str) -> usize {
        EVENT_FIELDS.iter().position(|f| *f == name).unwrap()
    }

    #[test]
    fn a_book_row_carries_the_top_and_liveness_under_their_field_names() {
        let top = Top { bid: Level { price: 99, qty: 4 }, ask: Level { price: 101, qty: 6 }, ts_ns: 5 };
        let w = StrategyEvent::Book { venue: VenueId::External(2), top, live: true }.to_words(7).unwrap();
        let get = |n: &str| w[field(n)];
        assert_eq!((get("kind"), get("venue"), get("ts_ns"), get("origin_ts_ns")), (KIND_BOOK, 2, 7, 5));
        assert_eq!(
            (get("bid_price"), get("bid_qty"), get("ask_price"), get("ask_qty"), get("live")),
            (99, 4, 101, 6, 1)
        );
        assert_eq!(get("price"), 0, "fields a kind does not use are 0");
    }

    #[test]
    fn a_fill_row_carries_our_order_and_position_and_a_rebate_stays_negative() {
        let fill = Fill {
            ts_ns: 3,
            venue: VenueId::Ours,
            order_id: 42,
            side: Side::Sell,
            price: 1_000,
            qty: 2,
            liquidity: Liquidity::Maker,
            fee: -40,
        };
        let w = StrategyEvent::Fill { fill, remaining: 1, position: -2 }.to_words(9).unwrap();
        let get = |n: &str| w[field(n)];
        assert_eq!((get("kind"), get("venue"), get("order_id"), get("side")), (KIND_FILL, VENUE_OURS, 42, SIDE_SELL));
        assert_eq!((get("price"), get("qty"), get("remaining"), get("position")), (1_000, 2, 1, -2));
        assert_eq!((get("liquidity"), get("fee"), get("origin_ts_ns"), get("ts_ns")), (LIQUIDITY_MAKER, -40, 3, 9));
    }

    #[test]
    fn a_fee_beyond_64_bits_is_an_error_not_a_wrapped_number() {
        let fill = Fill {
            ts_ns: 0,
            venue: VenueId::Ours,
            order_id: 1,
            side: Side::Buy,
            price: 1,
            qty: 1,
            liquidity: Liquidity::Taker,
            fee: i64::MAX as i128 + 1,
        };
        let e = StrategyEvent::Fill { fill, remaining: 0, position: 1 }.to_words(0).unwrap_err();
        assert_eq!(e, EventWordsError::FeeTooLarge { fee: i64::MAX as i128 + 1 });
    }

    #[test]
    fn venue_and_side_codes_round_trip() {
        for v in [VenueId::Ours, VenueId::External(0), VenueId::External(255)] {
            assert_eq!(venue_of(venue_code(v)), Some(v));
        }
        assert_eq!(venue_of(256), None);
        assert_eq!(venue_of(-2), None);
        for s in [Side::Buy, Side::Sell] {
            assert_eq!(side_of(side_code(s)), Some(s));
        }
        assert_eq!(side_of(2), None);
    }
}
