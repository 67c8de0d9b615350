//! What a backtest records: the PnL ledger, every fill, and time series sampled at a fixed
//! interval; and the summary computed from them at the end (markouts, fill ratio, uptime).
//!
//! **PnL decomposition** (exact, in [`Money`] units). The mark is the quoted venue's mid, kept
//! as `bid + ask` (twice the mid, so it is an integer). At each fill of `q` lots at price `p`
//! (sign `s` = +1 buy, −1 sell) with mark `m`:
//!
//! * spread capture (maker fills) or hedge slippage (taker fills) `+= s·q·(m/2 − p)`;
//! * fees `−= fee` (a rebate is a negative fee);
//! * and, before the inventory changes, inventory mark-to-market `+= inventory·(m − m_prev)/2`
//!   (also at every sample, so the parts are current).
//!
//! Summing by parts, `cash + inventory·m/2 = spread + hedge + mtm + fees` exactly; the test
//! `pnl_parts_add_up_to_the_total_after_every_fill` checks it after every fill.
//!
//! **Stand-in.** The exec module's metrics (markouts against the fair value with confidence
//! intervals, queue position at fill, hedge slippage against the decision fair value, the same
//! code live) replace this recorder as they land.

use serde::Serialize;

use crate::types::{notional, Fill, Liquidity, Money, Side, VenueId, MONEY_SCALE};

/// The PnL ledger (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    /// Position, lots.
    pub inventory: i64,
    /// Cash, money units.
    pub cash: Money,
    /// Spread captured by maker fills.
    pub spread: Money,
    /// Mark-to-market of the inventory held.
    pub mtm: Money,
    /// Fees (negative: paid) and rebates (positive: received).
    pub fees: Money,
    /// Hedge slippage: what taker fills paid against the mark.
    pub hedge: Money,
    /// The last mark (`bid + ask` of the quoted venue, ticks).
    pub mark2: i64,
}

fn half(x: Money) -> Money {
    // MONEY_SCALE is even, so `x` (a multiple of it) halves exactly.
    x / 2
}

impl Ledger {
    /// Moves the mark to `mark2`, booking the inventory's mark-to-market.
    pub fn mark(&mut self, mark2: i64) {
        self.mtm += half(self.inventory as i128 * (mark2 - self.mark2) as i128 * MONEY_SCALE);
        self.mark2 = mark2;
    }

    /// Books a fill at the current mark.
    pub fn fill(&mut self, fill: &Fill) {
        let s: i128 = if fill.side == Side::Buy { 1 } else { -1 };
        let value = notional(fill.price, fill.qty);
        let at_mark = half(notional(self.mark2, fill.qty));
        let edge = s * (at_mark - value);
        match fill.liquidity {
            Liquidity::Maker => self.spread += edge,
            Liquidity::Taker => self.hedge += edge,
        }
        self.cash -= s * value + fill.fee;
        self.fees -= fill.fee;
        self.inventory += s as i64 * fill.qty;
    }

    /// Total PnL at the current mark.
    pub fn total(&self) -> Money {
        self.cash + half(notional(self.mark2, self.inventory))
    }

    /// The sum of the parts (equal to [`Ledger::total`]).
    pub fn parts(&self) -> Money {
        self.spread + self.hedge + self.mtm + self.fees
    }
}

/// One of our fills as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillRecord {
    /// The fill.
    pub fill: Fill,
    /// Mark (`bid + ask`) at the fill.
    pub mark2: i64,
    /// Lots ahead of our order in its queue when it was placed (exact on our venue, the queue
    /// model's estimate elsewhere; 0 for taker fills).
    pub queue_ahead: i64,
}

/// Time series sampled every `sample_ms`, as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Sample time, ns.
    pub ts_ns: Vec<i64>,
    /// Mark `bid + ask` of the quoted venue (0 when unknown).
    pub mark2: Vec<i64>,
    /// Inventory, lots.
    pub inventory: Vec<i64>,
    /// Total PnL, money units.
    pub pnl: Vec<i128>,
    /// Spread capture, money units.
    pub spread: Vec<i128>,
    /// Inventory mark-to-market, money units.
    pub mtm: Vec<i128>,
    /// Fees and rebates, money units.
    pub fees: Vec<i128>,
    /// Hedge slippage, money units.
    pub hedge: Vec<i128>,
    /// Our quoted spread on the quoted venue, ticks (−1: not two-sided).
    pub quoted_spread: Vec<i64>,
    /// The quoted venue's spread, ticks (−1: not two-sided).
    pub market_spread: Vec<i64>,
}

impl Series {
    /// Appends one sample.
    pub fn push(&mut self, ts_ns: i64, ledger: &Ledger, quoted_spread: i64, market_spread: i64) {
        self.ts_ns.push(ts_ns);
        self.mark2.push(ledger.mark2);
        self.inventory.push(ledger.inventory);
        self.pnl.push(ledger.total());
        self.spread.push(ledger.spread);
        self.mtm.push(ledger.mtm);
        self.fees.push(ledger.fees);
        self.hedge.push(ledger.hedge);
        self.quoted_spread.push(quoted_spread);
        self.market_spread.push(market_spread);
    }
}

/// Markouts at one horizon: `s·(mid(t+h) − p)/p` in basis points over maker fills.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Markout {
    /// Horizon, ms.
    pub horizon_ms: i64,
    /// Fills measured (those with a sample at t + h).
    pub n: u64,
    /// Mean, bps.
    pub mean_bps: f64,
    /// Half width of the 95% confidence interval of the mean (1.96·sd/√n), bps.
    pub ci95_bps: f64,
}

/// Markouts of `fills` at each horizon against the sampled mark.
pub fn markouts(fills: &[FillRecord], series: &Series, horizons_ms: &[i64]) -> Vec<Markout> {
    horizons_ms
        .iter()
        .map(|&h| {
            let mut xs = Vec::new();
            for f in fills.iter().filter(|f| f.fill.liquidity == Liquidity::Maker) {
                let at = f.fill.ts_ns + h * 1_000_000;
                let i = series.ts_ns.partition_point(|&t| t < at);
                let Some(&m2) = series.mark2.get(i) else { continue };
                if m2 == 0 {
                    continue;
                }
                let s = if f.fill.side == Side::Buy { 1.0 } else { -1.0 };
                let p = f.fill.price as f64;
                xs.push(s * (m2 as f64 / 2.0 - p) / p * 1e4);
            }
            let n = xs.len() as f64;
            let mean = if xs.is_empty() { 0.0 } else { xs.iter().sum::<f64>() / n };
            let var = if xs.len() < 2 { 0.0 } else { xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) };
            let ci = if xs.is_empty() { 0.0 } else { 1.96 * (var / n).sqrt() };
            Markout { horizon_ms: h, n: xs.len() as u64, mean_bps: mean, ci95_bps: ci }
        })
        .collect()
}

/// Fee schedule of one venue: parts per million of notional (negative: a rebate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    /// Resting (maker) fills.
    pub maker_ppm: i64,
    /// Taking (taker) fills.
    pub taker_ppm: i64,
}

impl FeeSchedule {
    /// The fee of a fill, exact (`notional · ppm / 10^6`, and notional carries `MONEY_SCALE` =
    /// 10^6, so this is an integer).
    pub fn fee(&self, price: i64, qty: i64, liquidity: Liquidity) -> Money {
        let ppm = match liquidity {
            Liquidity::Maker => self.maker_ppm,
            Liquidity::Taker => self.taker_ppm,
        };
        notional(price, qty) / MONEY_SCALE * ppm as i128
    }
}

/// Counters of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Market-data events applied at the venues (tape events).
    pub md_events: u64,
    /// Events handled by the loop (tape at the venue, tape seen by us, scheduled actions).
    pub loop_events: u64,
    /// Orders we sent (places and takes).
    pub orders: u64,
    /// Amends we sent.
    pub amends: u64,
    /// Cancels we sent.
    pub cancels: u64,
    /// Lots quoted (sum of placed quantities).
    pub quoted_lots: i64,
    /// Our fills.
    pub fills: u64,
    /// Lots filled as maker.
    pub maker_lots: i64,
    /// Lots filled as taker (hedges).
    pub taker_lots: i64,
    /// Orders rejected by the venue (post-only crossing, unknown order).
    pub rejects: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples at which we had both a bid and an ask working on the quoted venue.
    pub two_sided_samples: u64,
    /// Samples at which our best bid or ask was at the venue's touch.
    pub at_touch_samples: u64,
    /// Trades between other participants on our venue.
    pub participant_trades: u64,
}

/// Where a fill came from, for the digest.
pub fn venue_code(venue: VenueId) -> u64 {
    match venue {
        VenueId::Ours => 255,
        VenueId::External(v) => v as u64,
    }
}
