//! Validation of a new order against the instrument and the book, before anything happens:
//! ids, quantities (lots, min/max, display), prices (ticks, band) and type / time-in-force
//! combinations. A refused order changes nothing and emits nothing (`docs/matching.md`, "Validation").

use super::OrderBook;
use crate::error::OrderError;
use crate::order::{NewOrder, OrderType, TimeInForce};
use crate::{OrderId, Price};

impl OrderBook {
    pub(super) fn validate_new(&self, o: &NewOrder) -> Result<(), OrderError> {
        let id = o.order_id;
        if self.ids.get(id).is_some() {
            return Err(OrderError::DuplicateOrderId { order_id: id });
        }
        if o.qty <= 0 {
            return Err(OrderError::NonPositiveQty { order_id: id, qty: o.qty });
        }
        if o.qty < self.spec.min_qty {
            return Err(OrderError::QtyBelowMin { order_id: id, qty: o.qty, min: self.spec.min_qty });
        }
        if o.qty > self.spec.max_qty {
            return Err(OrderError::QtyAboveMax { order_id: id, qty: o.qty, max: self.spec.max_qty });
        }
        match o.order_type {
            OrderType::Market => {
                if o.post_only {
                    return Err(OrderError::InvalidOrder { order_id: id, why: "a market order cannot be post-only" });
                }
                if o.tif == TimeInForce::Gtc {
                    return Err(OrderError::InvalidOrder {
                        order_id: id,
                        why: "a market order cannot rest: use time in force IOC or FOK",
                    });
                }
                if o.display_qty.is_some() {
                    return Err(OrderError::InvalidOrder { order_id: id, why: "a market order cannot be an iceberg" });
                }
            }
            OrderType::Limit => {
                self.check_band(id, o.price)?;
                if o.post_only && o.tif != TimeInForce::Gtc {
                    return Err(OrderError::InvalidOrder {
                        order_id: id,
                        why: "a post-only order must rest: time in force must be GTC",
                    });
                }
                if let Some(display) = o.display_qty {
                    if o.tif != TimeInForce::Gtc {
                        return Err(OrderError::InvalidOrder {
                            order_id: id,
                            why: "an iceberg order must rest: time in force must be GTC",
                        });
                    }
                    if display <= 0 || display > o.qty {
                        return Err(OrderError::InvalidDisplayQty { order_id: id, display, qty: o.qty });
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    pub(super) fn check_band(&self, order_id: OrderId, price: Price) -> Result<(), OrderError> {
        if price < self.spec.min_price || price > self.spec.max_price {
            return Err(OrderError::PriceOutOfBand {
                order_id,
                price,
                min: self.spec.min_price,
                max: self.spec.max_price,
            });
        }
        Ok(())
    }
}
