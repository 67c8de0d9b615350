//! Our venue in a backtest: the matching engine itself ([`wintermute_core::Engine`]), run in
//! the backtester's thread, with the other participants of [`crate::participants`] (noise
//! takers, informed takers who see the latent price ahead, other makers) sending their orders
//! into the same book.
//!
//! Our fills come from the engine's own trade events, so they are exact: the price, the
//! quantity and the FIFO position are the engine's, not a model's. The lots ahead of each of our
//! orders when it rests come from [`wintermute_core::OrderBook::queue_position`].

use wintermute_core::{Engine, Event, InstrumentId, InstrumentSpec, NewOrder, OrderBook, Side, TimeInForce};

use super::queue_truth::QueueTruth;
use super::record::VenueFill;
use super::synthetic::{LatentPath, Participants as ParticipantsSettings};
use crate::fees::FeeSchedule;
use crate::participants::{
    InformedTakers, LatentPrice, NoiseTakers, OtherMakers, Participants, ParticipantsConfig, TimedCommand,
};
use crate::types::Liquidity;

/// Our account on our venue.
pub const OUR_ACCOUNT: u32 = 1;
/// Our order ids start here (the participants' ids are below).
pub const OUR_FIRST_ID: u64 = 1 << 40;

/// The synthetic market's latent price on our grid, for the participants.
#[derive(Debug, Clone)]
pub struct Latent(pub std::sync::Arc<LatentPath>);

impl LatentPrice for Latent {
    fn ticks_at(&mut self, ts_ns: i64) -> i64 {
        self.0.at(ts_ns).round() as i64
    }
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
    participants: Participants<Latent>,
    commands: Vec<TimedCommand>,
    /// Lots ahead of each of our resting orders when it was placed (order id, lots).
    ahead: Vec<(u64, i64)>,
    /// The L2 queue estimators run on our resting orders, against the truth.
    queue: QueueTruth,
    /// The venue's fees.
    pub fees: FeeSchedule,
}

impl OurVenue {
    /// Our venue with participants `cfg` following `latent`, seeded, from `start_ns`; fill
    /// probabilities predicted over `fill_horizon_ns` ([`QueueTruth`]).
    pub fn new(
        cfg: &ParticipantsSettings,
        latent: Latent,
        fees: FeeSchedule,
        seed: u64,
        start_ns: i64,
        fill_horizon_ns: i64,
    ) -> Result<Self, String> {
        let spec = InstrumentSpec::from_units("MM", "1", "1", 1, 1 << 40, 1, 1 << 40).map_err(|e| e.to_string())?;
        let mut engine = Engine::new();
        let id = engine.add_book(OrderBook::with_capacity(spec.clone(), 4_096)).map_err(|e| e.to_string())?;
        let p = ParticipantsConfig {
            seed: seed.wrapping_mul(0x9E37_79B9).wrapping_add(0x5EED),
            start_ns,
            first_account: 1_000,
            first_order_id: 1,
            noise: (cfg.noise_per_s > 0.0).then_some(NoiseTakers {
                rate_per_s: cfg.noise_per_s,
                min_qty: 1,
                max_qty: cfg.taker_max_lots,
                ioc_share: 0.5,
                ioc_offset_ticks: 1,
            }),
            informed: (cfg.informed_per_s > 0.0).then_some(InformedTakers {
                rate_per_s: cfg.informed_per_s,
                horizon_ns: cfg.informed_lead_ms * 1_000_000,
                min_edge_ticks: 1,
                qty: cfg.taker_max_lots,
            }),
            makers: (cfg.makers > 0).then_some(OtherMakers {
                count: cfg.makers,
                half_spread_ticks: cfg.maker_half_spread_ticks,
                step_ticks: 1,
                qty: cfg.maker_size_lots,
                check_ns: 10_000_000,
                requote_ticks: 1,
                requote_ns: cfg.maker_refresh_ms * 1_000_000,
            }),
        };
        let participants = Participants::new(p, &spec, latent).map_err(|e| e.to_string())?;
        Ok(OurVenue {
            engine,
            id,
            events: Vec::with_capacity(256),
            participants,
            commands: Vec::with_capacity(64),
            ahead: Vec::new(),
            queue: QueueTruth::new(fill_horizon_ns, super::queue_truth::VOLUME_WINDOW_NS),
            fees,
        })
    }

    /// The book.
    pub fn book(&self) -> &OrderBook {
        self.engine.book(self.id)
    }

    /// When the participants act next, ns (`i64::MAX`: never).
    pub fn next_event_ns(&self) -> i64 {
        self.participants.next_event_ns()
    }

    /// The time of the commands that follow, ns (for the queue estimators' fill predictions).
    pub fn set_now(&mut self, now_ns: i64) {
        self.queue.set_now(now_ns);
    }

    /// The participants' next event: their commands go into the book; events to `out`.
    pub fn act(&mut self, out: &mut Outcome) {
        let book = self.engine.book(self.id);
        let touch = (book.best_bid().map(|b| b.0), book.best_ask().map(|a| a.0));
        let mut commands = std::mem::take(&mut self.commands);
        self.participants.step(touch, &mut commands);
        let book = self.engine.book_mut(self.id);
        for c in commands.drain(..) {
            // A cancel of an order that already traded away fails and changes nothing.
            let _ = book.execute(&c.command, &mut self.events);
        }
        self.commands = commands;
        self.drain(out);
    }

    /// Our post-only order (or IOC when `ioc`) arrives.
    pub fn place(&mut self, id: u64, side: Side, price: i64, qty: i64, ioc: bool, out: &mut Outcome) {
        let book = self.engine.book_mut(self.id);
        let mut order = NewOrder::limit(id, OUR_ACCOUNT, side, price, qty);
        if ioc {
            order = order.with_tif(TimeInForce::Ioc);
        } else {
            order = order.post_only();
        }
        if book.submit(&order, &mut self.events).is_err() {
            out.gone.push(id);
        } else if let Some(q) = book.queue_position(id) {
            self.ahead.push((id, q.qty_ahead));
            self.queue.on_rest(book, id);
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
                Event::Trade {
                    maker_order_id,
                    taker_order_id,
                    maker_account,
                    taker_account,
                    price,
                    qty,
                    aggressor,
                    maker_remaining,
                    taker_remaining,
                    ..
                } => {
                    out.trades.push((price, qty, aggressor));
                    let maker_side = if aggressor == Side::Buy { Side::Sell } else { Side::Buy };
                    self.queue.on_trade(maker_side, price, qty);
                    if maker_account == OUR_ACCOUNT {
                        self.queue.on_our_fill(maker_order_id);
                        let side = if aggressor == Side::Buy { Side::Sell } else { Side::Buy };
                        let queue_ahead = self.ahead_of(maker_order_id, maker_remaining == 0);
                        out.fills.push(VenueFill {
                            order_id: maker_order_id,
                            side,
                            price,
                            qty,
                            liquidity: Liquidity::Maker,
                            remaining: maker_remaining,
                            queue_ahead,
                        });
                    }
                    if taker_account == OUR_ACCOUNT {
                        out.fills.push(VenueFill {
                            order_id: taker_order_id,
                            side: aggressor,
                            price,
                            qty,
                            liquidity: Liquidity::Taker,
                            remaining: taker_remaining,
                            queue_ahead: 0,
                        });
                    }
                }
                Event::BookDelta { side, price, .. } => self.queue.on_delta(side, price),
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
        self.queue.after_command(self.engine.book(self.id));
    }

    /// The queue estimators' errors against the truth so far.
    pub fn queue_truth(&mut self) -> &mut QueueTruth {
        &mut self.queue
    }

    /// Our resting orders as (side, price).
    pub fn our_orders(&self) -> impl Iterator<Item = (Side, i64)> + '_ {
        let book = self.engine.book(self.id);
        self.ahead.iter().filter_map(move |&(id, _)| book.order(id).map(|o| (o.side, o.price)))
    }
}
