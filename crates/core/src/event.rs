//! Events: what a command did. Every event carries the book's sequence number, which grows by
//! one per event, so a consumer can detect a gap. Events of one command are contiguous.

use serde::{Deserialize, Serialize};

use crate::order::Side;
use crate::{AccountId, OrderId, Price, Qty, Seq};

/// Reason codes for rejections and validation errors. Stable: the numeric values appear in the
/// batch API's output and the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum RejectReason {
    /// The order id is already live on this book.
    DuplicateOrderId = 1,
    /// The order id is not live on this book.
    UnknownOrder = 2,
    /// Quantity is zero or negative.
    NonPositiveQty = 3,
    /// Quantity below the instrument's minimum.
    QtyBelowMin = 4,
    /// Quantity above the instrument's maximum.
    QtyAboveMax = 5,
    /// Limit price outside the instrument's price band.
    PriceOutOfBand = 6,
    /// The combination of type, time in force and flags is not allowed.
    InvalidOrder = 7,
    /// A post-only order (or an amend of one) would have taken liquidity.
    PostOnlyWouldCross = 8,
    /// A fill-or-kill order could not be filled in full.
    FokNotFillable = 9,
    /// A fill-or-kill order would have met its own account's order (self-trade prevention on).
    FokSelfTrade = 10,
    /// The instrument is not known to the engine.
    UnknownInstrument = 11,
    /// A display quantity outside 0 < display <= qty.
    InvalidDisplayQty = 12,
}

impl RejectReason {
    /// Upper-snake-case code, as used in Python exceptions and reports.
    pub const fn code(self) -> &'static str {
        match self {
            Self::DuplicateOrderId => "DUPLICATE_ORDER_ID",
            Self::UnknownOrder => "UNKNOWN_ORDER",
            Self::NonPositiveQty => "NON_POSITIVE_QTY",
            Self::QtyBelowMin => "QTY_BELOW_MIN",
            Self::QtyAboveMax => "QTY_ABOVE_MAX",
            Self::PriceOutOfBand => "PRICE_OUT_OF_BAND",
            Self::InvalidOrder => "INVALID_ORDER",
            Self::PostOnlyWouldCross => "POST_ONLY_WOULD_CROSS",
            Self::FokNotFillable => "FOK_NOT_FILLABLE",
            Self::FokSelfTrade => "FOK_SELF_TRADE",
            Self::UnknownInstrument => "UNKNOWN_INSTRUMENT",
            Self::InvalidDisplayQty => "INVALID_DISPLAY_QTY",
        }
    }

    /// The reason for a numeric code.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::DuplicateOrderId,
            2 => Self::UnknownOrder,
            3 => Self::NonPositiveQty,
            4 => Self::QtyBelowMin,
            5 => Self::QtyAboveMax,
            6 => Self::PriceOutOfBand,
            7 => Self::InvalidOrder,
            8 => Self::PostOnlyWouldCross,
            9 => Self::FokNotFillable,
            10 => Self::FokSelfTrade,
            11 => Self::UnknownInstrument,
            12 => Self::InvalidDisplayQty,
            _ => return None,
        })
    }
}

/// Why an order (or part of it) left the book without trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum CancelReason {
    /// Canceled on request.
    User = 1,
    /// The unfilled remainder of an IOC or market order.
    Unfilled = 2,
    /// Self-trade prevention.
    SelfTrade = 3,
    /// A mass cancel.
    MassCancel = 4,
    /// An amend by total ([`crate::Command::AmendTotal`]) found the order filled, since its
    /// sender looked, up to or beyond the new total: the rest is canceled.
    FilledBeforeAmend = 5,
}

impl CancelReason {
    /// Upper-snake-case code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Unfilled => "UNFILLED",
            Self::SelfTrade => "SELF_TRADE",
            Self::MassCancel => "MASS_CANCEL",
            Self::FilledBeforeAmend => "FILLED_BEFORE_AMEND",
        }
    }

    /// The reason with this code (`None` for an unknown code).
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::User,
            2 => Self::Unfilled,
            3 => Self::SelfTrade,
            4 => Self::MassCancel,
            5 => Self::FilledBeforeAmend,
            _ => return None,
        })
    }
}

/// One outcome of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A new order passed validation and entered matching. Always the first event of an
    /// accepted new order.
    Accepted { seq: Seq, order_id: OrderId, account: AccountId, side: Side, price: Price, qty: Qty },
    /// A command was refused by the market state (post-only would cross, FOK not fillable).
    /// Nothing else changed.
    Rejected { seq: Seq, order_id: OrderId, reason: RejectReason },
    /// A trade at the maker's price.
    Trade {
        seq: Seq,
        maker_order_id: OrderId,
        taker_order_id: OrderId,
        maker_account: AccountId,
        taker_account: AccountId,
        price: Price,
        qty: Qty,
        /// The taker's side.
        aggressor: Side,
        /// Maker's total remaining quantity after this trade (0: maker done).
        maker_remaining: Qty,
        /// Taker's remaining quantity after this trade.
        taker_remaining: Qty,
    },
    /// `canceled_qty` lots left the order; `remaining_qty` are still live (non-zero only for a
    /// self-trade decrement).
    Canceled { seq: Seq, order_id: OrderId, canceled_qty: Qty, remaining_qty: Qty, reason: CancelReason },
    /// A live order's price and/or quantity changed.
    Amended {
        seq: Seq,
        order_id: OrderId,
        old_price: Price,
        new_price: Price,
        old_qty: Qty,
        new_qty: Qty,
        /// True when the order kept its place in the queue.
        priority_kept: bool,
    },
    /// The visible quantity and order count at one price level after a change (0/0: level gone).
    BookDelta { seq: Seq, side: Side, price: Price, qty: Qty, orders: u32 },
}

impl Event {
    /// The event's sequence number.
    pub const fn seq(&self) -> Seq {
        match *self {
            Event::Accepted { seq, .. }
            | Event::Rejected { seq, .. }
            | Event::Trade { seq, .. }
            | Event::Canceled { seq, .. }
            | Event::Amended { seq, .. }
            | Event::BookDelta { seq, .. } => seq,
        }
    }
}

/// Where a book writes its events. `Vec<Event>` is the usual sink; reuse it between commands
/// (clear, don't drop) to stay allocation-free.
pub trait EventSink {
    fn push(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    #[inline]
    fn push(&mut self, event: Event) {
        Vec::push(self, event);
    }
}

/// A sink that only counts events (benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingSink {
    pub events: u64,
    pub trades: u64,
}

impl EventSink for CountingSink {
    #[inline]
    fn push(&mut self, event: Event) {
        self.events += 1;
        if matches!(event, Event::Trade { .. }) {
            self.trades += 1;
        }
    }
}
