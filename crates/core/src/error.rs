//! The book's error type: a command that fails validation changes nothing, consumes no sequence
//! number, and comes back as an [`OrderError`] naming the rule and the offending values.

use crate::event::RejectReason;
use crate::{OrderId, Price, Qty};

/// A command refused by validation. The book is untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("duplicate order_id={order_id}: an order with this id is live")]
    DuplicateOrderId { order_id: OrderId },
    #[error("unknown order_id={order_id}: no live order with this id")]
    UnknownOrder { order_id: OrderId },
    #[error("order_id={order_id}: qty={qty} lots must be positive")]
    NonPositiveQty { order_id: OrderId, qty: Qty },
    #[error("order_id={order_id}: qty={qty} lots is below min_qty={min} lots")]
    QtyBelowMin { order_id: OrderId, qty: Qty, min: Qty },
    #[error("order_id={order_id}: qty={qty} lots is above max_qty={max} lots")]
    QtyAboveMax { order_id: OrderId, qty: Qty, max: Qty },
    #[error("order_id={order_id}: price={price} ticks is outside the band [{min}, {max}] ticks")]
    PriceOutOfBand { order_id: OrderId, price: Price, min: Price, max: Price },
    #[error("order_id={order_id}: {why}")]
    InvalidOrder { order_id: OrderId, why: &'static str },
    #[error("order_id={order_id}: display_qty={display} lots must satisfy 0 < display_qty <= qty={qty} lots")]
    InvalidDisplayQty { order_id: OrderId, display: Qty, qty: Qty },
}

impl OrderError {
    /// The stable reason code for this error.
    pub const fn reason(&self) -> RejectReason {
        match self {
            Self::DuplicateOrderId { .. } => RejectReason::DuplicateOrderId,
            Self::UnknownOrder { .. } => RejectReason::UnknownOrder,
            Self::NonPositiveQty { .. } => RejectReason::NonPositiveQty,
            Self::QtyBelowMin { .. } => RejectReason::QtyBelowMin,
            Self::QtyAboveMax { .. } => RejectReason::QtyAboveMax,
            Self::PriceOutOfBand { .. } => RejectReason::PriceOutOfBand,
            Self::InvalidOrder { .. } => RejectReason::InvalidOrder,
            Self::InvalidDisplayQty { .. } => RejectReason::InvalidDisplayQty,
        }
    }

    /// The order id the error is about.
    pub const fn order_id(&self) -> OrderId {
        match *self {
            Self::DuplicateOrderId { order_id }
            | Self::UnknownOrder { order_id }
            | Self::NonPositiveQty { order_id, .. }
            | Self::QtyBelowMin { order_id, .. }
            | Self::QtyAboveMax { order_id, .. }
            | Self::PriceOutOfBand { order_id, .. }
            | Self::InvalidOrder { order_id, .. }
            | Self::InvalidDisplayQty { order_id, .. } => order_id,
        }
    }
}
