//! Other participants on our venue: seeded noise takers, informed takers and other makers, so that
//! a market maker running against our matching engine meets real flow, adverse selection included.
//!
//! Everyone is driven by one **latent price** ([`LatentPrice`]: the fair value of the instrument,
//! in ticks of our grid, as a function of time; [`LatentTicks`] puts the synthetic market's
//! [`LatentPath`] on our grid, so our venue and the synthetic external venues follow the same
//! price). [`Participants`] is a deterministic generator of timestamped commands for our matching
//! engine ([`TimedCommand`]: a [`wintermute_core::Command`] with its time and who sent it):
//!
//! - **noise takers** arrive as a Poisson process (`rate_per_s`), pick a side at random and send
//!   a market order or an IOC limit at the touch (plus `ioc_offset_ticks` of slack), of a uniform
//!   size in `min_qty..=max_qty`. They know nothing: on average the price does not move their way
//!   after they trade.
//! - **informed takers** look at the market as a Poisson process too, but they see the latent
//!   price `horizon_ns` **ahead**. When it will be at least `min_edge_ticks` past the touch (above
//!   the best ask: buy; below the best bid: sell), they take the touch with an IOC limit at it.
//!   Whoever they trade with is adversely selected: the price moves their way afterwards (their
//!   markout at `horizon_ns` is positive), which a market maker's markouts then show.
//! - **other makers** (`count` of them) each keep one bid and one ask at the latent price
//!   `-/+ (half_spread_ticks + k * step_ticks)` for maker `k`, checked every `check_ns` and
//!   requoted (cancel, then a new order) when the latent price moved `requote_ticks` or more from
//!   where they quoted, or `requote_ns` passed.
//!
//! The touch the takers aim at is whatever the caller passes to [`Participants::step`] (our book's
//! best bid and ask); without one, the makers' own quotes around the latent price stand in.
//! [`run_on_book`] drives an [`OrderBook`] directly, which is what the tests and a simple
//! backtest loop need.
//!
//! Each kind trades from its own account: noise takers `first_account`, informed takers
//! `first_account + 1`, maker `k` `first_account + 2 + k`; order ids count up from
//! `first_order_id`. The same seed and the same latent path give the same commands, byte for byte.

use wintermute_core::rng::SplitMix64;
use wintermute_core::{
    AccountId, Command, Event, InstrumentSpec, NewOrder, OrderBook, OrderError, OrderId, Price, Qty, Side, TimeInForce,
};
use wintermute_feeds::synthetic::latent::LatentPath;

/// The latent price (fair value) in ticks of our grid at a time (ns). Callers ask at
/// non-decreasing times per instance; [`Participants`] keeps one instance for "now" and one for
/// "ahead".
pub trait LatentPrice {
    /// The price in ticks at `ts_ns`.
    fn ticks_at(&mut self, ts_ns: i64) -> i64;
}

impl<F: FnMut(i64) -> i64> LatentPrice for F {
    fn ticks_at(&mut self, ts_ns: i64) -> i64 {
        self(ts_ns)
    }
}

/// The synthetic market's [`LatentPath`] on our tick grid: `ticks = round(units / units_per_tick)`
/// at elapsed time `ts_ns - origin_ns`.
#[derive(Debug, Clone)]
pub struct LatentTicks {
    path: LatentPath,
    origin_ns: i64,
    units_per_tick: i64,
}

impl LatentTicks {
    /// `units_per_tick`: our tick in the path's units (1e-8 of the quote currency: a 0.01 tick is
    /// 1,000,000 units); must be > 0.
    pub fn new(path: LatentPath, origin_ns: i64, units_per_tick: i64) -> Result<Self, ParticipantsError> {
        if units_per_tick <= 0 {
            return Err(bad("units_per_tick", "expected > 0"));
        }
        Ok(LatentTicks { path, origin_ns, units_per_tick })
    }
}

impl LatentPrice for LatentTicks {
    fn ticks_at(&mut self, ts_ns: i64) -> i64 {
        let units = self.path.price_at(ts_ns - self.origin_ns);
        (units + self.units_per_tick / 2).div_euclid(self.units_per_tick)
    }
}

/// Why a participants configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParticipantsError {
    /// A field is out of range.
    #[error("participants config field={field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What was expected.
        reason: &'static str,
    },
}

fn bad(field: &'static str, reason: &'static str) -> ParticipantsError {
    ParticipantsError::Config { field, reason }
}

/// Noise takers (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseTakers {
    /// Orders per second (> 0).
    pub rate_per_s: f64,
    /// Smallest order, lots.
    pub min_qty: Qty,
    /// Largest order, lots.
    pub max_qty: Qty,
    /// Share of IOC limit orders (the rest are market orders), 0..=1.
    pub ioc_share: f64,
    /// An IOC limit goes this many ticks through the touch (>= 0).
    pub ioc_offset_ticks: i64,
}

/// Informed takers (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InformedTakers {
    /// Looks per second (> 0); a look trades only when the edge is there.
    pub rate_per_s: f64,
    /// How far ahead they see the latent price, ns (> 0).
    pub horizon_ns: i64,
    /// How far past the touch the future price must be, ticks (>= 0).
    pub min_edge_ticks: i64,
    /// Order size, lots.
    pub qty: Qty,
}

/// Other makers (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OtherMakers {
    /// How many (1..=64).
    pub count: u32,
    /// Half spread of maker 0 around the latent price, ticks (>= 1).
    pub half_spread_ticks: i64,
    /// Extra half spread per maker index, ticks (>= 0).
    pub step_ticks: i64,
    /// Size of each quote, lots.
    pub qty: Qty,
    /// How often they look, ns (> 0).
    pub check_ns: i64,
    /// Requote when the latent price moved this many ticks from the quoted center (>= 1).
    pub requote_ticks: i64,
    /// Requote at least this often, ns (> 0).
    pub requote_ns: i64,
}

/// Who is on our venue besides us.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParticipantsConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Time of the first possible event, ns.
    pub start_ns: i64,
    /// Noise takers trade from this account, informed takers from the next, makers after.
    pub first_account: AccountId,
    /// Order ids count up from here (keep them apart from ours).
    pub first_order_id: OrderId,
    /// Noise takers, if any.
    pub noise: Option<NoiseTakers>,
    /// Informed takers, if any.
    pub informed: Option<InformedTakers>,
    /// Other makers, if any.
    pub makers: Option<OtherMakers>,
}

impl ParticipantsConfig {
    /// A busy default: noise takers 5/s of 1..=5 lots, informed takers looking 2/s one second
    /// ahead with a 1-tick edge and 3 lots, 3 makers at 2, 3, 4 ticks with 10 lots, checking every
    /// 10 ms, requoting on a 1-tick move or every second. Accounts from 1,000, order ids from 2^40.
    pub fn new(seed: u64, start_ns: i64) -> Self {
        ParticipantsConfig {
            seed,
            start_ns,
            first_account: 1_000,
            first_order_id: 1 << 40,
            noise: Some(NoiseTakers { rate_per_s: 5.0, min_qty: 1, max_qty: 5, ioc_share: 0.5, ioc_offset_ticks: 1 }),
            informed: Some(InformedTakers { rate_per_s: 2.0, horizon_ns: 1_000_000_000, min_edge_ticks: 1, qty: 3 }),
            makers: Some(OtherMakers {
                count: 3,
                half_spread_ticks: 2,
                step_ticks: 1,
                qty: 10,
                check_ns: 10_000_000,
                requote_ticks: 1,
                requote_ns: 1_000_000_000,
            }),
        }
    }

    fn check(&self, spec: &InstrumentSpec) -> Result<(), ParticipantsError> {
        let qty_ok = |q: Qty| q >= spec.min_qty && q <= spec.max_qty;
        if let Some(n) = &self.noise {
            if !(n.rate_per_s > 0.0 && n.rate_per_s.is_finite()) {
                return Err(bad("noise.rate_per_s", "expected a finite rate > 0"));
            }
            if !(qty_ok(n.min_qty) && qty_ok(n.max_qty) && n.min_qty <= n.max_qty) {
                return Err(bad("noise.min_qty/max_qty", "expected min <= max, both within the instrument's limits"));
            }
            if !(0.0..=1.0).contains(&n.ioc_share) || n.ioc_offset_ticks < 0 {
                return Err(bad("noise.ioc_share/ioc_offset_ticks", "expected a share in 0..=1 and an offset >= 0"));
            }
        }
        if let Some(i) = &self.informed {
            if !(i.rate_per_s > 0.0 && i.rate_per_s.is_finite()) || i.horizon_ns <= 0 || i.min_edge_ticks < 0 {
                return Err(bad("informed", "expected rate_per_s > 0, horizon_ns > 0, min_edge_ticks >= 0"));
            }
            if !qty_ok(i.qty) {
                return Err(bad("informed.qty", "expected within the instrument's limits"));
            }
        }
        if let Some(m) = &self.makers {
            if !(1..=64).contains(&m.count) || m.half_spread_ticks < 1 || m.step_ticks < 0 {
                return Err(bad("makers", "expected count in 1..=64, half_spread_ticks >= 1, step_ticks >= 0"));
            }
            if m.check_ns <= 0 || m.requote_ns <= 0 || m.requote_ticks < 1 || !qty_ok(m.qty) {
                return Err(bad("makers", "expected check_ns, requote_ns > 0, requote_ticks >= 1, qty in limits"));
            }
        }
        Ok(())
    }
}

/// Who sent a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantKind {
    /// A noise taker.
    Noise,
    /// An informed taker.
    Informed,
    /// Other maker number `k`.
    Maker(u32),
}

/// A command for our matching engine, with its time and sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedCommand {
    /// When it is sent, ns.
    pub ts_ns: i64,
    /// Who sends it.
    pub kind: ParticipantKind,
    /// What.
    pub command: Command,
}

/// One maker's live quotes.
#[derive(Debug, Clone, Copy, Default)]
struct MakerQuotes {
    bid: Option<OrderId>,
    ask: Option<OrderId>,
    center: i64,
    quoted_ns: i64,
}

/// The generator (see the module docs).
#[derive(Debug, Clone)]
pub struct Participants<P> {
    cfg: ParticipantsConfig,
    spec: InstrumentSpec,
    now: P,
    ahead: P,
    rng: SplitMix64,
    next_noise: i64,
    next_informed: i64,
    next_makers: i64,
    makers: Vec<MakerQuotes>,
    next_id: OrderId,
}

fn poisson_gap(rng: &mut SplitMix64, rate_per_s: f64) -> i64 {
    (rng.exp(1e9 / rate_per_s)).max(1)
}

impl<P: LatentPrice + Clone> Participants<P> {
    /// A generator for `cfg` on the instrument `spec`, following `latent`.
    pub fn new(cfg: ParticipantsConfig, spec: &InstrumentSpec, latent: P) -> Result<Self, ParticipantsError> {
        cfg.check(spec)?;
        let mut rng = SplitMix64::new(cfg.seed);
        let never = i64::MAX;
        let next_noise = cfg.noise.map_or(never, |n| cfg.start_ns + poisson_gap(&mut rng, n.rate_per_s));
        let next_informed = cfg.informed.map_or(never, |i| cfg.start_ns + poisson_gap(&mut rng, i.rate_per_s));
        let next_makers = cfg.makers.map_or(never, |_| cfg.start_ns);
        let makers = vec![MakerQuotes::default(); cfg.makers.map_or(0, |m| m.count as usize)];
        Ok(Participants {
            cfg,
            spec: spec.clone(),
            ahead: latent.clone(),
            now: latent,
            rng,
            next_noise,
            next_informed,
            next_makers,
            makers,
            next_id: cfg.first_order_id,
        })
    }

    /// Time of the next event (`i64::MAX`: none configured).
    pub fn next_event_ns(&self) -> i64 {
        self.next_noise.min(self.next_informed).min(self.next_makers)
    }

    /// Who trades from `account`, if one of ours.
    pub fn kind_of(&self, account: AccountId) -> Option<ParticipantKind> {
        match account.checked_sub(self.cfg.first_account)? {
            0 => self.cfg.noise.map(|_| ParticipantKind::Noise),
            1 => self.cfg.informed.map(|_| ParticipantKind::Informed),
            k => Some(ParticipantKind::Maker(k - 2)).filter(|_| (k - 2) < self.makers.len() as u32),
        }
    }

    /// The latent price in ticks at `ts_ns` (the "now" view; non-decreasing times are cheap).
    pub fn latent_ticks(&mut self, ts_ns: i64) -> i64 {
        self.now.ticks_at(ts_ns)
    }

    fn id(&mut self) -> OrderId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn clamp_price(&self, p: Price) -> Price {
        p.clamp(self.spec.min_price, self.spec.max_price)
    }

    /// Runs the next event (at [`Participants::next_event_ns`]) and appends its commands to `out`
    /// (possibly none: an informed look without an edge). `touch`: our book's best bid and ask
    /// now (`None` for a missing side: the makers' quotes around the latent price stand in).
    /// Returns the event's time.
    pub fn step(&mut self, touch: (Option<Price>, Option<Price>), out: &mut Vec<TimedCommand>) -> i64 {
        let t = self.next_event_ns();
        if t == i64::MAX {
            return t;
        }
        let latent = self.now.ticks_at(t);
        let half = self.cfg.makers.map_or(1, |m| m.half_spread_ticks);
        let bid = touch.0.unwrap_or(latent - half);
        let ask = touch.1.unwrap_or(latent + half);
        let account = self.cfg.first_account;
        if t == self.next_noise {
            let n = self.cfg.noise.expect("scheduled only when configured");
            self.next_noise = t + poisson_gap(&mut self.rng, n.rate_per_s);
            let side = self.rng.side();
            let qty = self.rng.range(n.min_qty, n.max_qty);
            let id = self.id();
            let order = if self.rng.chance(n.ioc_share) {
                let limit = match side {
                    Side::Buy => ask + n.ioc_offset_ticks,
                    Side::Sell => bid - n.ioc_offset_ticks,
                };
                NewOrder::limit(id, account, side, self.clamp_price(limit), qty).with_tif(TimeInForce::Ioc)
            } else {
                NewOrder::market(id, account, side, qty)
            };
            out.push(TimedCommand { ts_ns: t, kind: ParticipantKind::Noise, command: Command::New(order) });
        } else if t == self.next_informed {
            let i = self.cfg.informed.expect("scheduled only when configured");
            self.next_informed = t + poisson_gap(&mut self.rng, i.rate_per_s);
            let future = self.ahead.ticks_at(t + i.horizon_ns);
            let take = if future >= ask + i.min_edge_ticks {
                Some((Side::Buy, ask))
            } else if future <= bid - i.min_edge_ticks {
                Some((Side::Sell, bid))
            } else {
                None
            };
            if let Some((side, price)) = take {
                let id = self.id();
                let order = NewOrder::limit(id, account + 1, side, self.clamp_price(price), i.qty);
                let command = Command::New(order.with_tif(TimeInForce::Ioc));
                out.push(TimedCommand { ts_ns: t, kind: ParticipantKind::Informed, command });
            }
        } else {
            self.requote_makers(t, latent, out);
        }
        t
    }

    fn requote_makers(&mut self, t: i64, latent: i64, out: &mut Vec<TimedCommand>) {
        let m = self.cfg.makers.expect("scheduled only when configured");
        self.next_makers = t + m.check_ns;
        for k in 0..self.makers.len() {
            let q = self.makers[k];
            let due =
                q.bid.is_none() || (latent - q.center).abs() >= m.requote_ticks || t - q.quoted_ns >= m.requote_ns;
            if !due {
                continue;
            }
            let kind = ParticipantKind::Maker(k as u32);
            for order_id in [q.bid, q.ask].into_iter().flatten() {
                out.push(TimedCommand { ts_ns: t, kind, command: Command::Cancel { order_id } });
            }
            let half = m.half_spread_ticks + k as i64 * m.step_ticks;
            let account = self.cfg.first_account + 2 + k as AccountId;
            let (bid_id, ask_id) = (self.id(), self.id());
            let bid = NewOrder::limit(bid_id, account, Side::Buy, self.clamp_price(latent - half), m.qty);
            let ask = NewOrder::limit(ask_id, account, Side::Sell, self.clamp_price(latent + half), m.qty);
            out.push(TimedCommand { ts_ns: t, kind, command: Command::New(bid) });
            out.push(TimedCommand { ts_ns: t, kind, command: Command::New(ask) });
            self.makers[k] = MakerQuotes { bid: Some(bid_id), ask: Some(ask_id), center: latent, quoted_ns: t };
        }
    }
}

/// What [`run_on_book`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Commands sent.
    pub commands: u64,
    /// Commands the book refused (a maker canceling a quote that was filled meanwhile).
    pub refused: u64,
    /// Trades.
    pub trades: u64,
}

/// Drives `book` with the participants' commands until `until_ns` (inclusive): each event's
/// commands are executed in order, and `on_command` sees each command with the events it produced
/// (an empty slice when the book refused it).
pub fn run_on_book<P: LatentPrice + Clone>(
    participants: &mut Participants<P>,
    book: &mut OrderBook,
    until_ns: i64,
    mut on_command: impl FnMut(&TimedCommand, &[Event]),
) -> RunSummary {
    let mut summary = RunSummary::default();
    let (mut commands, mut events) = (Vec::new(), Vec::new());
    while participants.next_event_ns() <= until_ns {
        commands.clear();
        let touch = (book.best_bid().map(|b| b.0), book.best_ask().map(|a| a.0));
        participants.step(touch, &mut commands);
        for c in &commands {
            events.clear();
            summary.commands += 1;
            let result: Result<(), OrderError> = book.execute(&c.command, &mut events);
            if result.is_err() {
                summary.refused += 1;
            }
            summary.trades += events.iter().filter(|e| matches!(e, Event::Trade { .. })).count() as u64;
            on_command(c, &events);
        }
    }
    summary
}
