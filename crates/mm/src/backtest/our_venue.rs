//! Our venue in a backtest: the matching engine itself ([`wintermute_core::Engine`]), run in
//! the backtester's thread, with the other participants' orders of the synthetic market.
//!
//! Our fills come from the engine's own trade events, so they are exact: the price, the
//! quantity and the FIFO position are the engine's, not a model's.

use wintermute_core::rng::SplitMix64;
use wintermute_core::{Engine, Event, InstrumentId, InstrumentSpec, NewOrder, OrderBook, Side, TimeInForce};

use super::external::VenueFill;
use super::ledger::FeeSchedule;
use super::synthetic::{LatentPath, Participants};
use crate::types::Liquidity;

/// Our account on our venue.
pub const OUR_ACCOUNT: u32 = 1;
const MAKER_ACCOUNT: u32 = 2;
const NOISE_ACCOUNT: u32 = 3;
const INFORMED_ACCOUNT: u32 = 4;
/// Our order ids start here (the participants' ids are below).
pub const OUR_FIRST_ID: u64 = 1 << 40;

/// Which participant acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participant {
    /// The other maker refreshes its ladder.
    Maker,
    /// A noise taker sends a market order.
    Noise,
    /// An informed taker looks ahead and maybe trades.
    Informed,
}

/// What an engine command did that the backtester must pass on.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Our fills.
    pub fills: Vec<VenueFill>,
    /// Our orders that left without a fill (rejected, or an IOC remainder).
    pub gone: Vec<u64>,
    /// Public trades (price, qty, aggressor).
    pub trades: Vec<(i64, i64, Side)>,
}

impl Outcome {
    /// Empties the outcome, keeping its memory.
    pub fn clear(&mut self) {
        self.fills.clear();
        self.gone.clear();
        self.trades.clear();
    }
}

/// Our venue (see the module docs).
#[derive(Debug)]
pub struct OurVenue {
    engine: Engine,
    id: InstrumentId,
    events: Vec<Event>,
    rng: SplitMix64,
    cfg: Participants,
    maker_orders: Vec<u64>,
    next_id: u64,
    /// Lots ahead of each of our resting orders when it was placed (order id, lots).
    ahead: Vec<(u64, i64)>,
    /// The venue's fees.
    pub fees: FeeSchedule,
}

impl OurVenue {
    /// Our venue with participants `cfg`, seeded.
    pub fn new(cfg: Participants, fees: FeeSchedule, seed: u64) -> Result<Self, String> {
        let spec = InstrumentSpec::from_units("MM", "1", "1", 1, 1 << 40, 1, 1 << 40).map_err(|e| e.to_string())?;
        let mut engine = Engine::new();
        let id = engine.add_book(OrderBook::with_capacity(spec, 4_096)).map_err(|e| e.to_string())?;
        Ok(OurVenue {
            engine,
            id,
            events: Vec::with_capacity(256),
            rng: SplitMix64::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(0x5EED)),
            cfg,
            maker_orders: Vec::new(),
            next_id: 1,
            ahead: Vec::new(),
            fees,
        })
    }

    /// The book.
    pub fn book(&self) -> &OrderBook {
        self.engine.book(self.id)
    }

    /// The mean time until `who` acts next, ns (None: that participant is off).
    pub fn next_gap_ns(&mut self, who: Participant) -> Option<i64> {
        let per_s = match who {
            Participant::Maker => {
                return (self.cfg.maker_refresh_ms > 0).then_some(self.cfg.maker_refresh_ms * 1_000_000)
            }
            Participant::Noise => self.cfg.noise_per_s,
            Participant::Informed => self.cfg.informed_per_s,
        };
        (per_s > 0.0).then(|| 1 + self.rng.exp(1e9 / per_s))
    }

    /// `who` acts at `now_ns` given the latent price; events go to `out`.
    pub fn act(&mut self, who: Participant, now_ns: i64, latent: &LatentPath, out: &mut Outcome) {
        match who {
            Participant::Maker => {
                let center = latent.at(now_ns).round() as i64;
                let book = self.engine.book_mut(self.id);
                for id in self.maker_orders.drain(..) {
                    // Orders already filled are gone: the error says so and changes nothing.
                    let _ = book.cancel(id, &mut self.events);
                }
                for j in 0..3 {
                    for side in [Side::Buy, Side::Sell] {
                        let off = self.cfg.maker_half_spread_ticks + j;
                        let price = if side == Side::Buy { center - off } else { center + off };
                        let qty = self.cfg.maker_size_lots + self.rng.range(0, self.cfg.maker_size_lots);
                        let order = NewOrder::limit(self.next_id, MAKER_ACCOUNT, side, price, qty).post_only();
                        self.maker_orders.push(self.next_id);
                        self.next_id += 1;
                        let _ = book.submit(&order, &mut self.events);
                    }
                }
            }
            Participant::Noise => {
                let side = self.rng.side();
                let qty = self.rng.range(1, self.cfg.taker_max_lots);
                self.market(NOISE_ACCOUNT, side, qty);
            }
            Participant::Informed => {
                let ahead = latent.at(now_ns + self.cfg.informed_lead_ms * 1_000_000);
                let book = self.engine.book(self.id);
                let qty = self.rng.range(1, self.cfg.taker_max_lots);
                if book.best_ask().is_some_and(|(a, _)| ahead > a as f64) {
                    self.market(INFORMED_ACCOUNT, Side::Buy, qty);
                } else if book.best_bid().is_some_and(|(b, _)| ahead < b as f64) {
                    self.market(INFORMED_ACCOUNT, Side::Sell, qty);
                }
            }
        }
        self.drain(out);
    }

    fn market(&mut self, account: u32, side: Side, qty: i64) {
        let order = NewOrder::market(self.next_id, account, side, qty);
        self.next_id += 1;
        let _ = self.engine.book_mut(self.id).submit(&order, &mut self.events);
    }

    /// Our post-only order (or IOC when `ioc`) arrives.
    pub fn place(&mut self, id: u64, side: Side, price: i64, qty: i64, ioc: bool, out: &mut Outcome) {
        let book = self.engine.book_mut(self.id);
        let mut order = NewOrder::limit(id, OUR_ACCOUNT, side, price, qty);
        if ioc {
            order = order.with_tif(TimeInForce::Ioc);
        } else {
            order = order.post_only();
            let ahead: i64 = book.orders_at(side, price).iter().map(|o| o.remaining).sum();
            self.ahead.push((id, ahead));
        }
        if book.submit(&order, &mut self.events).is_err() {
            out.gone.push(id);
        }
        self.drain(out);
    }

    /// Our amend (quantity down) arrives.
    pub fn amend(&mut self, id: u64, qty: i64, out: &mut Outcome) {
        // An order that is already gone cannot be amended: nothing changes.
        let _ = self.engine.book_mut(self.id).amend(id, None, Some(qty), &mut self.events);
        self.drain(out);
    }

    /// Our cancel arrives.
    pub fn cancel(&mut self, id: u64, out: &mut Outcome) {
        let _ = self.engine.book_mut(self.id).cancel(id, &mut self.events);
        self.drain(out);
    }

    fn ahead_of(&mut self, id: u64, done: bool) -> i64 {
        let Some(i) = self.ahead.iter().position(|&(o, _)| o == id) else { return 0 };
        let lots = self.ahead[i].1;
        if done {
            self.ahead.swap_remove(i);
        }
        lots
    }

    fn drain(&mut self, out: &mut Outcome) {
        let mut events = std::mem::take(&mut self.events);
        for e in events.drain(..) {
            match e {
                Event::Trade { maker_order_id, taker_order_id, maker_account, taker_account, price, qty, aggressor, maker_remaining, taker_remaining, .. } => {
                    out.trades.push((price, qty, aggressor));
                    if maker_account == OUR_ACCOUNT {
                        let side = if aggressor == Side::Buy { Side::Sell } else { Side::Buy };
                        let queue_ahead = self.ahead_of(maker_order_id, maker_remaining == 0);
                        out.fills.push(VenueFill { order_id: maker_order_id, side, price, qty, liquidity: Liquidity::Maker, remaining: maker_remaining, queue_ahead });
                    }
                    if taker_account == OUR_ACCOUNT {
                        out.fills.push(VenueFill { order_id: taker_order_id, side: aggressor, price, qty, liquidity: Liquidity::Taker, remaining: taker_remaining, queue_ahead: 0 });
                    }
                }
                Event::Rejected { order_id, .. } if order_id >= OUR_FIRST_ID => {
                    self.ahead_of(order_id, true);
                    out.gone.push(order_id);
                }
                Event::Canceled { order_id, remaining_qty: 0, .. } if order_id >= OUR_FIRST_ID => {
                    self.ahead_of(order_id, true);
                }
                _ => {}
            }
        }
        self.events = events;
    }

    /// Our resting orders as (side, price).
    pub fn our_orders(&self) -> impl Iterator<Item = (Side, i64)> + '_ {
        let book = self.engine.book(self.id);
        self.ahead.iter().filter_map(move |&(id, _)| book.order(id).map(|o| (o.side, o.price)))
    }
}
