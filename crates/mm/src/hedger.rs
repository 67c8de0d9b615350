//! Hedging: when inventory drifts past a threshold, take liquidity on the external venue with
//! the best price to bring it back.
//!
//! # The decision
//! With inventory `q`, threshold `T > 0` and target `0 <= K < T`:
//!
//! * `q > T`: sell `q − K` lots; `q < −T`: buy `−q − K` lots; otherwise nothing.
//! * The venue: among venues whose top is fresh (`now − top.ts_ns <= max_top_age_ns`) and shows
//!   the side we take, the best price **after the taker fee**, compared exactly in money per lot
//!   (a buy minimizes `ask·1 + fee(ask, 1)`, a sell maximizes `bid·1 − fee(bid, 1)`); ties go to
//!   the first venue listed (deterministic).
//! * The order: IOC at the venue's touch moved `slippage_cap_ticks` against us (the worst price
//!   it may fill at), for the whole quantity; what the book does not show within the cap is
//!   canceled and hedged again on a later decision.
//!
//! The decision records the **fair value at decision time** ([`HedgeDecision::decision_fair`]);
//! keep it by client id in a [`PendingHedges`] table and hand it to the PnL ledger with each
//! hedge fill ([`crate::metrics::pnl::FillRole::Hedge`]) so hedge slippage is measured against
//! it.

use crate::execution::{ClientOrderId, OrderRequest, OrderTif};
use crate::fees::FeeSchedule;
use crate::metrics::pnl::Mark;
use crate::types::{notional, Liquidity, Side, Top, VenueId};

/// Bad hedger configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HedgeConfigError {
    /// The threshold must be positive.
    #[error("hedge threshold must be > 0: threshold={threshold}")]
    BadThreshold {
        /// The value given.
        threshold: i64,
    },
    /// The target must be in `[0, threshold)`.
    #[error("hedge target must be in [0, threshold): target={target} threshold={threshold}")]
    BadTarget {
        /// The target given.
        target: i64,
        /// The threshold.
        threshold: i64,
    },
    /// The slippage cap must not be negative.
    #[error("hedge slippage cap must be >= 0: slippage_cap_ticks={slippage_cap_ticks}")]
    BadSlippageCap {
        /// The value given.
        slippage_cap_ticks: i64,
    },
    /// The staleness cut-off must be positive.
    #[error("hedge max top age must be > 0: max_top_age_ns={max_top_age_ns}")]
    BadMaxAge {
        /// The value given.
        max_top_age_ns: i64,
    },
}

/// When and how to hedge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeConfig {
    threshold: i64,
    target: i64,
    slippage_cap_ticks: i64,
    max_top_age_ns: i64,
}

impl HedgeConfig {
    /// Hedge when `|inventory| > threshold` back to `|inventory| = target`, IOC capped
    /// `slippage_cap_ticks` past the touch, using only tops younger than `max_top_age_ns`.
    pub fn new(
        threshold: i64,
        target: i64,
        slippage_cap_ticks: i64,
        max_top_age_ns: i64,
    ) -> Result<Self, HedgeConfigError> {
        if threshold <= 0 {
            return Err(HedgeConfigError::BadThreshold { threshold });
        }
        if !(0..threshold).contains(&target) {
            return Err(HedgeConfigError::BadTarget { target, threshold });
        }
        if slippage_cap_ticks < 0 {
            return Err(HedgeConfigError::BadSlippageCap { slippage_cap_ticks });
        }
        if max_top_age_ns <= 0 {
            return Err(HedgeConfigError::BadMaxAge { max_top_age_ns });
        }
        Ok(Self { threshold, target, slippage_cap_ticks, max_top_age_ns })
    }
}

/// One venue the hedger may use: its latest top and its fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeVenue {
    /// Which venue.
    pub venue: VenueId,
    /// Its best bid and ask on our grid.
    pub top: Top,
    /// Its fees.
    pub fees: FeeSchedule,
}

/// A hedge to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeDecision {
    /// Where.
    pub venue: VenueId,
    /// Buy or sell.
    pub side: Side,
    /// Lots.
    pub qty: i64,
    /// The IOC's limit: the touch moved by the slippage cap against us.
    pub limit_price: i64,
    /// The touch price it was chosen on.
    pub touch_price: i64,
    /// The fair value when it was decided (hedge slippage is measured against it).
    pub decision_fair: Mark,
    /// When it was decided.
    pub ts_ns: i64,
}

impl HedgeDecision {
    /// The IOC order for this hedge.
    pub fn order(&self, client_id: ClientOrderId) -> OrderRequest {
        OrderRequest { client_id, side: self.side, price: self.limit_price, qty: self.qty, tif: OrderTif::Ioc }
    }
}

/// Decides hedges (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hedger {
    cfg: HedgeConfig,
}

impl Hedger {
    /// A hedger with its configuration.
    pub fn new(cfg: HedgeConfig) -> Self {
        Self { cfg }
    }

    /// The hedge for `inventory` lots now, or `None` (inside the threshold, or no fresh venue
    /// shows the side we need).
    pub fn decide(&self, now_ns: i64, inventory: i64, fair: Mark, venues: &[HedgeVenue]) -> Option<HedgeDecision> {
        let (side, qty) = if inventory > self.cfg.threshold {
            (Side::Sell, inventory - self.cfg.target)
        } else if inventory < -self.cfg.threshold {
            (Side::Buy, -inventory - self.cfg.target)
        } else {
            return None;
        };
        // Money per lot after the taker fee; lower is better for a buy, higher for a sell.
        let mut best: Option<(i128, &HedgeVenue, i64)> = None;
        for v in venues {
            if now_ns - v.top.ts_ns > self.cfg.max_top_age_ns {
                continue;
            }
            let level = match side {
                Side::Buy => v.top.ask,
                Side::Sell => v.top.bid,
            };
            if level.qty <= 0 {
                continue;
            }
            let fee = v.fees.fee(level.price, 1, Liquidity::Taker);
            let per_lot = match side {
                Side::Buy => notional(level.price, 1) + fee,
                Side::Sell => notional(level.price, 1) - fee,
            };
            let better = match (best, side) {
                (None, _) => true,
                (Some((b, _, _)), Side::Buy) => per_lot < b,
                (Some((b, _, _)), Side::Sell) => per_lot > b,
            };
            if better {
                best = Some((per_lot, v, level.price));
            }
        }
        let (_, v, touch) = best?;
        let limit_price = match side {
            Side::Buy => touch.saturating_add(self.cfg.slippage_cap_ticks),
            Side::Sell => touch.saturating_sub(self.cfg.slippage_cap_ticks),
        };
        Some(HedgeDecision {
            venue: v.venue,
            side,
            qty,
            limit_price,
            touch_price: touch,
            decision_fair: fair,
            ts_ns: now_ns,
        })
    }
}

/// Hedge orders in flight, by client id, with their decision fair value (fixed capacity,
/// allocated once).
#[derive(Debug, Clone)]
pub struct PendingHedges {
    entries: Vec<(ClientOrderId, Mark)>,
    capacity: usize,
}

impl PendingHedges {
    /// Room for `capacity` hedges in flight.
    pub fn new(capacity: usize) -> Self {
        Self { entries: Vec::with_capacity(capacity), capacity }
    }

    /// Records a hedge sent; hands it back when the table is full.
    pub fn insert(&mut self, client_id: ClientOrderId, decision_fair: Mark) -> Result<(), (ClientOrderId, Mark)> {
        if self.entries.len() == self.capacity {
            return Err((client_id, decision_fair));
        }
        self.entries.push((client_id, decision_fair));
        Ok(())
    }

    /// The decision fair value of a hedge in flight.
    pub fn decision_fair(&self, client_id: ClientOrderId) -> Option<Mark> {
        self.entries.iter().find(|e| e.0 == client_id).map(|e| e.1)
    }

    /// The hedge is done (filled, canceled or rejected).
    pub fn remove(&mut self, client_id: ClientOrderId) -> Option<Mark> {
        let i = self.entries.iter().position(|e| e.0 == client_id)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// Hedges in flight.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is in flight.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
