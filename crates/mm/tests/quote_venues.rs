//! The live market maker quoting on two external venues at once: the inventory limit holds for
//! both venues' ladders together (the inventory plus every venue's resting bids never passes
//! `max_inventory_lots`, the asks likewise), and a side at the limit is quoted on neither venue.

mod support;

use std::sync::{Arc, Mutex};

use support::rig_with;
use wintermute_core::Side;
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution};
use wintermute_mm::types::{Fill, Level, Liquidity, Top, VenueId};

/// Two venues, fixed spread 3 ticks each side, 10 lots on one level, no skew, inventory limit 30.
const PRICING: &str = r#"{
  "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
  "venues": [
    {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000},
    {"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000}
  ],
  "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0},
  "volatility": {"fixed": {"sigma": 1.0}},
  "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
  "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
              "max_spread_ticks": 100, "max_inventory_lots": 30, "inventory_unit_lots": 10,
              "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}
}"#;

/// One order resting at a [`Desk`].
#[derive(Debug, Clone, Copy)]
struct Resting {
    client_id: u64,
    side: Side,
    price: i64,
    qty: i64,
}

#[derive(Debug, Default)]
struct DeskState {
    open: Vec<Resting>,
    answers: Vec<ExecEvent>,
}

/// An external venue the test fills by hand: it accepts every order, cancels and amends at
/// once, and keeps what rests there.
#[derive(Clone)]
struct Desk {
    venue: VenueId,
    state: Arc<Mutex<DeskState>>,
}

impl Desk {
    fn new(i: u8) -> Self {
        Desk { venue: VenueId::External(i), state: Arc::default() }
    }

    /// Lots resting on `side`.
    fn lots(&self, side: Side) -> i64 {
        self.state.lock().unwrap().open.iter().filter(|o| o.side == side).map(|o| o.qty).sum()
    }

    /// Fills our whole resting order on `side` (one must rest there); returns it.
    fn fill(&self, side: Side) -> Resting {
        let mut s = self.state.lock().unwrap();
        let k = s.open.iter().position(|o| o.side == side).expect("an order rests on that side");
        let o = s.open.swap_remove(k);
        let fill = Fill {
            ts_ns: 0,
            venue: self.venue,
            order_id: o.client_id,
            side,
            price: o.price,
            qty: o.qty,
            liquidity: Liquidity::Maker,
            fee: 0,
        };
        s.answers.push(ExecEvent::Filled { client_id: o.client_id, fill, open_qty: 0 });
        o
    }
}

impl Execution for Desk {
    fn venue(&self) -> VenueId {
        self.venue
    }

    fn submit(&mut self, _now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        let mut s = self.state.lock().unwrap();
        match *command {
            ExecCommand::New(o) => {
                s.open.push(Resting { client_id: o.client_id, side: o.side, price: o.price, qty: o.qty });
                s.answers.push(ExecEvent::Accepted { client_id: o.client_id, ts_ns: 0 });
            }
            ExecCommand::Cancel { client_id } => {
                if let Some(k) = s.open.iter().position(|o| o.client_id == client_id) {
                    let o = s.open.swap_remove(k);
                    s.answers.push(ExecEvent::Canceled { client_id, canceled_qty: o.qty, ts_ns: 0 });
                }
            }
            ExecCommand::Amend { client_id, new_qty } => {
                if let Some(o) = s.open.iter_mut().find(|o| o.client_id == client_id) {
                    o.qty = new_qty;
                    s.answers.push(ExecEvent::Amended { client_id, open_qty: new_qty, ts_ns: 0 });
                }
            }
        }
        Ok(())
    }

    fn poll(&mut self, _now_ns: i64, out: &mut ExecEvents) {
        for e in self.state.lock().unwrap().answers.drain(..) {
            out.push(e).unwrap();
        }
    }
}

fn top(bid: i64, ask: i64, now: i64) -> Top {
    Top { bid: Level { price: bid, qty: 5 }, ask: Level { price: ask, qty: 5 }, ts_ns: now }
}

#[test]
fn the_inventory_limit_holds_for_both_venues_ladders_together() {
    let mut r = rig_with(PRICING, false);
    let desks = [Desk::new(0), Desk::new(1)];
    for d in &desks {
        r.mm.add_quote_route(Box::new(d.clone())).unwrap();
    }
    let now = r.now();
    r.mm.on_top(now, VenueId::External(0), top(1_000, 1_002, now)).unwrap();
    r.mm.on_top(now, VenueId::External(1), top(1_000, 1_002, now)).unwrap();
    let max = 30;
    // After every step: the inventory plus what rests on both venues' bids is within the limit,
    // and so is what both venues' asks could sell.
    let check = |r: &support::Rig, step: &str| {
        let inv = r.mm.inventory();
        let bids: i64 = desks.iter().map(|d| d.lots(Side::Buy)).sum();
        let asks: i64 = desks.iter().map(|d| d.lots(Side::Sell)).sum();
        assert!(inv + bids <= max, "{step}: inventory {inv} + bids {bids} > {max}");
        assert!(asks - inv <= max, "{step}: asks {asks} - inventory {inv} > {max}");
        [desks[0].lots(Side::Buy), desks[1].lots(Side::Buy), desks[0].lots(Side::Sell), desks[1].lots(Side::Sell)]
    };
    // Flat: coinbase decides first (room 30), kraken gets what it leaves (30 - 10 = 20): 10
    // lots a side on each venue.
    assert_eq!(check(&r, "flat"), [10, 10, 10, 10]);

    // A bid fills on coinbase: inventory 10; coinbase's room is 30 - 10 - kraken's 10 = 10.
    desks[0].fill(Side::Buy);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert_eq!(r.mm.inventory(), 10);
    assert_eq!(check(&r, "one fill"), [10, 10, 10, 10]);

    // A bid fills on kraken: inventory 20. Coinbase decides first and keeps its 10; kraken's
    // room is 30 - 20 - coinbase's 10 = 0: its bid is not placed again. Each venue alone would
    // have had room for 10 (40 lots in all could have been bought).
    desks[1].fill(Side::Buy);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert_eq!(r.mm.inventory(), 20);
    assert_eq!(check(&r, "two fills"), [10, 0, 10, 10]);

    // The last bid fills on coinbase: inventory 30, the limit. No venue bids; both still offer.
    desks[0].fill(Side::Buy);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert_eq!(r.mm.inventory(), max);
    assert_eq!(check(&r, "at the limit"), [0, 0, 10, 10]);
    // The fair value moves (a requote on each venue): still no bid anywhere.
    let now = r.now();
    r.mm.on_top(now, VenueId::External(0), top(1_010, 1_012, now)).unwrap();
    r.mm.on_top(now, VenueId::External(1), top(1_010, 1_012, now)).unwrap();
    r.mm.poll(r.now()).unwrap();
    assert_eq!(check(&r, "moved at the limit"), [0, 0, 10, 10]);

    // An ask fills on kraken: inventory 20, room for 10 bids again (on the first venue).
    desks[1].fill(Side::Sell);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert_eq!(r.mm.inventory(), 20);
    assert_eq!(check(&r, "sold 10"), [10, 0, 10, 10]);
    r.pipeline.shutdown().unwrap();
}

/// Lots of ours resting at our venue's touch: (bid, ask).
fn ours_at_touch(r: &support::Rig) -> (i64, i64) {
    let t = r.mm.venue().our_top();
    (t.bid.qty, t.ask.qty)
}

#[test]
fn our_venue_and_an_external_venue_quote_together_under_one_limit_and_one_kill_switch() {
    use wintermute_core::{Command, NewOrder};
    // quote_on = ["ours", "kraken"]: our venue's ladder first, then kraken's.
    let mut r = rig_with(PRICING, false);
    let kraken = Desk::new(1);
    r.mm.quote_on_ours().unwrap();
    r.mm.add_quote_route(Box::new(kraken.clone())).unwrap();
    assert!(r.mm.quote_on_ours().is_err(), "ours named twice");
    assert!(r.mm.quotes_on(VenueId::Ours) && r.mm.quotes_on(VenueId::External(1)));
    assert!(!r.mm.quotes_on(VenueId::External(0)));
    assert_eq!(r.mm.ours_at(), Some(0));
    let now = r.now();
    r.mm.on_top(now, VenueId::External(0), top(1_000, 1_002, now)).unwrap();
    r.mm.on_top(now, VenueId::External(1), top(1_000, 1_002, now)).unwrap();
    r.settle();
    let max = 30;
    let check = |r: &support::Rig, step: &str| {
        let inv = r.mm.inventory();
        let (ours_bid, ours_ask) = ours_at_touch(r);
        let (bids, asks) = (ours_bid + kraken.lots(Side::Buy), ours_ask + kraken.lots(Side::Sell));
        assert!(inv + bids <= max, "{step}: inventory {inv} + bids {bids} > {max}");
        assert!(asks - inv <= max, "{step}: asks {asks} - inventory {inv} > {max}");
        [ours_bid, kraken.lots(Side::Buy), ours_ask, kraken.lots(Side::Sell)]
    };
    // Flat: fair value 1001, 3 ticks each side on both venues, 10 lots a side each.
    assert_eq!(check(&r, "flat"), [10, 10, 10, 10]);
    let t = r.mm.venue().our_top();
    assert_eq!((t.bid.price, t.ask.price), (998, 1_004));
    assert_eq!(r.mm.open_quote_orders(), 4);

    // Another trader sells into our venue's bid: our fill, inventory 10, fee booked; both
    // ladders requote with room 30 - 10 - the other's 10 = 10.
    r.other(Command::New(NewOrder::market(1, support::OTHER, Side::Sell, 10)));
    r.poll_until(|m| m.inventory() == 10);
    r.settle();
    let ours = r.mm.ours_stats();
    assert_eq!((ours.fills, ours.filled_qty), (1, 10));
    assert_eq!(ours.fees, -998_000, "our venue's 100 ppm rebate on 998 x 10 tick-lots");
    assert_eq!(check(&r, "filled on ours"), [10, 10, 10, 10]);

    // Kraken's bid fills: inventory 20. Ours decides first and keeps its 10; kraken's room is
    // 30 - 20 - ours 10 = 0.
    kraken.fill(Side::Buy);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert_eq!(r.mm.inventory(), 20);
    r.settle();
    assert_eq!(check(&r, "filled on kraken"), [10, 0, 10, 10]);
    assert_eq!(r.mm.quote_routes()[0].stats().fills, 1);

    // Our bid fills again: inventory 30, the limit: no bid on either venue.
    r.other(Command::New(NewOrder::market(2, support::OTHER, Side::Sell, 10)));
    r.poll_until(|m| m.inventory() == max);
    r.settle();
    assert_eq!(check(&r, "at the limit"), [0, 0, 10, 10]);
    assert_eq!(r.mm.counters().fills, 3);

    // The kill switch on our account: the next requote's orders are refused by risk, and the
    // pull cancels on both venues.
    r.pipeline.control().set_account_kill(support::MM, true).unwrap();
    let now = r.now();
    r.mm.on_top(now, VenueId::External(0), top(1_010, 1_012, now)).unwrap();
    r.mm.on_top(now, VenueId::External(1), top(1_010, 1_012, now)).unwrap();
    r.poll_until(|m| m.is_halted() && m.venue().in_flight() == 0);
    let now = r.now();
    r.mm.poll(now).unwrap();
    assert!(r.mm.counters().risk_rejections >= 1);
    assert_eq!(check(&r, "killed"), [0, 0, 0, 0]);
    assert_eq!(r.mm.venue().open_orders(), 0);
    assert_eq!(r.mm.open_quote_orders(), 0);
    let now = r.now();
    r.mm.on_top(now, VenueId::External(0), top(1_020, 1_022, now)).unwrap();
    assert!(r.mm.sent().is_empty(), "halted: no quote on either venue until resume");
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!((done.engine.book(0).best_bid(), done.engine.book(0).best_ask()), (None, None));
}

#[test]
fn a_ladder_takes_what_rests_elsewhere_out_of_its_room() {
    use wintermute_mm::config::PricingConfig;
    use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
    use wintermute_mm::quoter::{QuoteContext, Quoter};
    let cfg = PricingConfig::from_json(PRICING).unwrap();
    let model = wintermute_mm::models::QuoteModel::from_config(&cfg.model).unwrap();
    let mut q = Quoter::new(&cfg.quoting).unwrap();
    let mut out = ActionBuffer::for_levels(1);
    let intensity = wintermute_mm::models::Intensity { a: 1.0, k: 1.0 };
    let ctx = |inventory_lots| QuoteContext {
        now_ns: 0,
        fair_value: Some(1_001.0),
        inventory_lots,
        sigma: 1.0,
        bid_intensity: intensity,
        ask_intensity: intensity,
        our_top: None,
    };
    // Inventory 15, 10 bid elsewhere: 30 - 15 - 10 = 5 lots left for this ladder's bid; 30 + 15
    // - 40 asked elsewhere = 5 for its ask.
    q.set_elsewhere(10, 40);
    q.decide(&ctx(15), &model, &mut out).unwrap();
    let placed: Vec<(Side, i64)> = out
        .as_slice()
        .iter()
        .filter_map(|a| match *a {
            QuoteAction::Place { side, qty, .. } => Some((side, qty)),
            _ => None,
        })
        .collect();
    assert_eq!(placed, vec![(Side::Buy, 5), (Side::Sell, 5)]);
    assert_eq!((q.resting_lots(Side::Buy), q.resting_lots(Side::Sell)), (5, 5));
}

mod runner {
    //! The runner quoting on both venues: each fill's markout against the mid of the venue it
    //! filled on, per venue in `quote_venues` and all of them together in `markouts`.

    use std::sync::LazyLock;
    use std::time::Duration;

    use super::support::{two_venue_config, wait_snapshot, ManualBooks};
    use super::Desk;
    use wintermute_core::{InstrumentSpec, Side};
    use wintermute_engine::pipeline::{Pipeline, PipelineConfig, Topology};
    use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
    use wintermute_mm::live_config::LiveSetup;
    use wintermute_mm::live_hedge::HedgeRoute;
    use wintermute_mm::live_runner::{LiveRunner, LiveSnapshot, RunnerOptions};

    /// Both venues quoted on, without skew.
    static CONFIG: LazyLock<String> = LazyLock::new(|| {
        let config = two_venue_config(
            r#""timer_ms": 20, "quote_on": ["coinbase", "kraken"],
  "fees": {"ours": {"maker_ppm": 0, "taker_ppm": 0}},
  "interlock": {"stale_after_ms": 60000, "cross_threshold_ticks": 50}"#,
        );
        let unskewed = config.replace(r#""skew_ticks_per_unit": 1.0"#, r#""skew_ticks_per_unit": 0.0"#);
        assert_ne!(unskewed, config, "the two-venue pricing has a skew to take out");
        unskewed
    });

    fn wait(runner: &LiveRunner, what: &str, done: impl Fn(&LiveSnapshot) -> bool) -> LiveSnapshot {
        wait_snapshot(runner, what, Duration::from_secs(10), done)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn each_fills_markout_is_against_the_mid_of_the_venue_it_filled_on() {
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 10_000_000).unwrap();
        let (pipeline, mut handles) =
            Pipeline::start(PipelineConfig::new(vec![spec]).topology(Topology::Merged).gateways(1)).unwrap();
        let setup = LiveSetup::from_json(&CONFIG, "0.01", "0.0001").unwrap();
        assert_eq!(setup.quote_venues, vec![0, 1]);
        let venue = EngineVenue::new(
            EngineVenueConfig::new(1, 0, setup.our_fees),
            handles.gateways.pop().unwrap(),
            handles.subscriptions.pop().unwrap(),
        );
        let books = ManualBooks::new(2);
        let desks = [Desk::new(0), Desk::new(1)];
        let routes = desks.iter().map(|d| HedgeRoute { venue: d.venue, execution: Box::new(d.clone()) }).collect();
        let options = RunnerOptions::default();
        let runner = LiveRunner::start_routed(setup, venue, Box::new(books.clone()), options, vec![], routes).unwrap();
        // Coinbase's mid 10001 ticks, Kraken's 20 ticks higher: the fair value 10011 between.
        let mids = [10_001.0, 10_021.0];
        books.live(0, 10_000, 10_002);
        books.live(1, 10_020, 10_022);
        wait(&runner, "both venues bid", |_| desks.iter().all(|d| d.lots(Side::Buy) == 10));
        let fills = [desks[0].fill(Side::Buy), desks[1].fill(Side::Buy)];
        let s = wait(&runner, "both fills' +100 ms markouts", |s| s.markouts[0].count == 2);
        assert_eq!(s.inventory, 20);
        let fair = s.fair_value.unwrap();
        assert_eq!(fair, 10_011.0);
        // bps of a buy at `p` against `x`.
        let bps = |x: f64, p: i64| (x - p as f64) / p as f64 * 1e4;
        for (k, (fill, mid)) in fills.iter().zip(mids).enumerate() {
            let m = s.quote_venues[k].markouts[0];
            assert_eq!((m.horizon_ms, m.count), (100, 1), "{k}: {m:?}");
            assert!(close(m.vs_mid_bps, bps(mid, fill.price)), "{k}: {m:?} against mid {mid}, fill {fill:?}");
            assert!(close(m.vs_fair_bps, bps(fair, fill.price)), "{k}: {m:?}");
        }
        // Kraken's fill against Coinbase's mid (the first venue's) would have been another figure.
        assert!((bps(mids[0], fills[1].price) - bps(mids[1], fills[1].price)).abs() > 1.0);
        // Together: the mean of both.
        let both = (bps(mids[0], fills[0].price) + bps(mids[1], fills[1].price)) / 2.0;
        assert!(close(s.markouts[0].vs_mid_bps, both), "{:?}", s.markouts[0]);
        assert_eq!(s.markouts.len(), s.quote_venues[1].markouts.len());
        runner.stop();
        pipeline.shutdown().unwrap();
    }
}
