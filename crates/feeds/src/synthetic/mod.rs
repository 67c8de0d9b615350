//! A seeded synthetic market that speaks Binance's, Coinbase's and Kraken's own protocols: for
//! the demo, for long runs, and as an oracle for the book builders.
//!
//! The market ([`model`]) is a random walk of a reference price with a realistic depth profile
//! (sizes grow away from the touch, with noise), bursts of heavy activity (many levels changed per
//! message, faster clock, more trades) and trades that take part of the best level. Each step is
//! written as the venue would send it ([`protocols`]): Binance `depthUpdate` diffs with chained
//! update ids plus a REST snapshot, Coinbase `snapshot`/`l2update`/`match`, Kraken v1 book
//! snapshot/updates truncated to the subscribed depth (levels that enter the window are
//! republished, as Kraken does) with correct CRC-32 checksums, and trades.
//!
//! **Injected gaps.** With probability `gap_rate` per step (at least `gap_spacing` steps apart), a step is
//! made a *gap*: a single-level message that the replay server is told to lose
//! ([`Synthetic::faults`]: a dropped frame on Binance and Kraken; on Coinbase, whose `level2`
//! channel has no sequence number, so a silently lost update cannot be detected by any client, a
//! frame cut in half, which the builder detects). The gap message changes the best bid's size, and
//! the next message neither touches that level nor changes more than 9 levels, so the loss is
//! always detected at the next book message: a `U` gap on Binance, a checksum mismatch on Kraken
//! (the changed level stays in the checksummed top 10), a malformed frame on Coinbase. Each gap
//! therefore costs exactly one resync, which the tests check.
//!
//! ```
//! use wintermute_feeds::synthetic::{generate, SyntheticConfig};
//! use wintermute_feeds::{verify_str, Venue};
//! let market = generate(&SyntheticConfig { steps: 300, ..SyntheticConfig::new(Venue::Kraken, 7) }).unwrap();
//! let report = verify_str(&market.recording); // the clean recording: every checksum verifies
//! let stream = report.stream(Venue::Kraken, "XBT/USD").unwrap();
//! assert_eq!((stream.checksum_bad, stream.resyncs), (0, 0));
//! assert!(stream.checksum_ok > 100);
//! ```

pub mod latent;
pub mod model;
pub mod protocols;

use std::collections::BTreeMap;

use crate::book::{L2Book, Side};
use crate::error::FeedError;
use crate::message::Venue;
use crate::net::replay_server::Fault;
use crate::recording::{Record, RecordingWriter};
use latent::{LatentFeed, LatentView};
use model::{Change, Model, ModelParams};
use protocols::Format;
use wintermute_core::decimal::Decimal;

const KRAKEN_BOOK_CHANNEL: u32 = 336;
const KRAKEN_TRADE_CHANNEL: u32 = 337;
/// Least number of steps between two gaps.
pub const MIN_GAP_SPACING: usize = 10;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Venue whose protocol is spoken.
    pub venue: Venue,
    /// Symbol as the venue writes it (default `BTCUSDT`, `BTC-USD`, `XBT/USD`).
    pub symbol: String,
    /// Seed: the same seed gives the same market, byte for byte.
    pub seed: u64,
    /// Messages (steps of the model) after the snapshot.
    pub steps: usize,
    /// Levels per side in the model's book.
    pub depth: usize,
    /// Kraken: the subscribed book depth (the model keeps more, so levels move in and out).
    pub kraken_depth: usize,
    /// Probability that a step is an injected gap (see the module docs).
    pub gap_rate: f64,
    /// Least number of steps between two gaps (at least [`MIN_GAP_SPACING`]).
    pub gap_spacing: usize,
    /// Probability that a step starts a burst.
    pub burst_rate: f64,
    /// Probability of a trade per step (four times higher in bursts).
    pub trade_rate: f64,
    /// Exchange time of the first message, ns since the epoch.
    pub start_ns: i64,
    /// Follow one latent price (shared by every venue with the same path seed) instead of a
    /// random walk of the venue's own: see [`latent`]. `None` (the default): the walk.
    pub latent: Option<LatentFeed>,
}

impl SyntheticConfig {
    /// Defaults for `venue`: 2,000 steps, 40 levels per side, Kraken depth 25, no gaps.
    pub fn new(venue: Venue, seed: u64) -> Self {
        let symbol = match venue {
            Venue::Binance => "BTCUSDT",
            Venue::Coinbase => "BTC-USD",
            Venue::Kraken => "XBT/USD",
        };
        SyntheticConfig {
            venue,
            symbol: symbol.to_string(),
            seed,
            steps: 2_000,
            depth: 40,
            kraken_depth: 25,
            gap_rate: 0.0,
            gap_spacing: MIN_GAP_SPACING,
            burst_rate: 0.01,
            trade_rate: 0.1,
            start_ns: 1_700_000_000_000_000_000,
            latent: None,
        }
    }

    /// The same configuration following the latent price seeded with `path_seed`, with this
    /// venue's default lag, noise and spread ([`LatentFeed::for_venue`]).
    pub fn with_latent(mut self, path_seed: u64) -> Self {
        self.latent = Some(LatentFeed::for_venue(self.venue, path_seed));
        self
    }

    fn check(&self) -> Result<(), FeedError> {
        let bad = |field, reason: &str| Err(FeedError::Config { field, reason: reason.to_string() });
        if self.symbol.is_empty() || self.symbol.len() > 31 || self.symbol.contains(['"', '\\']) {
            return bad("symbol", "expected 1 to 31 characters without quotes or backslashes");
        }
        if !(2..=5_000).contains(&self.depth) {
            return bad("depth", "expected 2..=5000 levels per side");
        }
        if ![10, 25, 100, 500, 1000].contains(&self.kraken_depth) {
            return bad("kraken_depth", "expected one of 10, 25, 100, 500, 1000");
        }
        for (field, p) in
            [("gap_rate", self.gap_rate), ("burst_rate", self.burst_rate), ("trade_rate", self.trade_rate)]
        {
            if !(0.0..=1.0).contains(&p) {
                return bad(field, "expected a probability in 0..=1");
            }
        }
        if let Some(l) = &self.latent {
            if l.path.step_ns <= 0 || l.path.step_units < 0 || l.path.start_units <= 0 {
                return bad("latent.path", "expected step_ns > 0, step_units >= 0, start_units > 0");
            }
            if l.lag_ns < 0 || l.noise_units < 0 || l.half_spread_units < 0 {
                return bad("latent", "expected lag_ns, noise_units and half_spread_units >= 0");
            }
            if l.dislocation.is_some_and(|d| d.duration_ns < 0) {
                return bad("latent.dislocation", "expected duration_ns >= 0");
            }
        }
        Ok(())
    }
}

/// One frame the venue sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Local receive time (exchange time plus a small network delay), ns since the epoch.
    pub receive_ns: i64,
    /// The frame text.
    pub text: String,
    /// An injected gap: the replay server is to lose this frame.
    pub gap: bool,
}

/// A generated session (see [`generate`]).
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Venue.
    pub venue: Venue,
    /// Symbol.
    pub symbol: String,
    /// The session in the Wintermute recording format, all frames included (the truth).
    pub recording: String,
    /// Received frames in the recording.
    pub frames: usize,
    /// Indices (among received frames) of the injected gaps.
    pub gaps: Vec<usize>,
    /// What the replay server must do to inject the gaps.
    pub faults: Vec<Fault>,
    /// Trades generated.
    pub trades: usize,
    /// Receive time of the first received frame (ns since the epoch).
    pub first_receive_ns: i64,
    /// The final book as the venue publishes it (Kraken: the top `kraken_depth` levels).
    pub truth: L2Book,
}

/// The generator, one step at a time (what [`generate`] drives; tests drive it directly to answer
/// resync requests with the snapshot of the moment).
#[derive(Debug, Clone)]
pub struct Generator {
    cfg: SyntheticConfig,
    format: Format,
    model: Model,
    clock_ns: i64,
    update_id: u64,
    trade_id: u64,
    step: usize,
    last_gap: Option<usize>,
    avoid: Vec<(Side, i64)>,
    view: [BTreeMap<i64, i64>; 2],
    latent: Option<LatentView>,
    /// The price the venue saw at its last step (latent only), in latent units.
    seen_units: Option<i64>,
}

fn format_of(venue: Venue) -> Format {
    match venue {
        Venue::Binance => Format { price_decimals: 8, tick_units: 1_000_000 },
        Venue::Coinbase => Format { price_decimals: 2, tick_units: 1 },
        Venue::Kraken => Format { price_decimals: 5, tick_units: 10_000 },
    }
}

impl Generator {
    /// A generator for `cfg`; fails on an invalid configuration.
    pub fn new(cfg: &SyntheticConfig) -> Result<Self, FeedError> {
        cfg.check()?;
        let format = format_of(cfg.venue);
        // 60,000.00 in ticks, or the latent price at the start.
        let mut latent = cfg.latent.map(LatentView::new);
        let tick = format.tick_in_units();
        let seen_units = latent.as_mut().map(|l| l.seen(0));
        let start = match seen_units {
            Some(seen) => seen.div_euclid(tick),
            None => 60_000 * 10i64.pow(format.price_decimals) / format.tick_units,
        };
        let params = ModelParams {
            depth: cfg.depth,
            base_lots: 10_000_000,
            burst_rate: cfg.burst_rate,
            trade_rate: cfg.trade_rate,
        };
        let mut g = Generator {
            cfg: cfg.clone(),
            format,
            model: Model::new(params, cfg.seed, start),
            clock_ns: cfg.start_ns,
            update_id: 1_000_000 + cfg.seed % 1_000_000,
            trade_id: 1,
            step: 0,
            last_gap: None,
            avoid: Vec::new(),
            view: [BTreeMap::new(), BTreeMap::new()],
            latent,
            seen_units,
        };
        g.view = g.kraken_view();
        Ok(g)
    }

    /// The configuration.
    pub fn config(&self) -> &SyntheticConfig {
        &self.cfg
    }

    /// The WebSocket URL a client of the real venue would open.
    pub fn connect_url(&self) -> String {
        match self.cfg.venue {
            Venue::Binance => {
                let s = self.cfg.symbol.to_ascii_lowercase();
                format!("wss://stream.binance.com:9443/stream?streams={s}@depth@100ms/{s}@aggTrade")
            }
            Venue::Coinbase => "wss://ws-feed.exchange.coinbase.com".to_string(),
            Venue::Kraken => "wss://ws.kraken.com".to_string(),
        }
    }

    /// The subscribe frame a client sends (none for Binance: the streams are in the URL).
    pub fn subscribe_frame(&self) -> Option<String> {
        let s = &self.cfg.symbol;
        match self.cfg.venue {
            Venue::Binance => None,
            Venue::Coinbase => {
                Some(format!(r#"{{"type":"subscribe","product_ids":["{s}"],"channels":["level2","matches"]}}"#))
            }
            Venue::Kraken => Some(protocols::kraken_subscribe(s, self.cfg.kraken_depth)),
        }
    }

    /// Binance's REST snapshot URL.
    pub fn snapshot_url(&self) -> String {
        format!("https://api.binance.com/api/v3/depth?symbol={}&limit=5000", self.cfg.symbol)
    }

    fn texts(&self, levels: impl Iterator<Item = (i64, i64)>) -> Vec<(String, String)> {
        levels.map(|(p, q)| (self.format.price(p), protocols::qty(q))).collect()
    }

    /// The venue's snapshot of the book now: Binance's REST body, Coinbase's `snapshot` frame,
    /// Kraken's v1 snapshot frame (top `kraken_depth`).
    pub fn snapshot(&self) -> String {
        let s = &self.cfg.symbol;
        match self.cfg.venue {
            Venue::Binance => protocols::binance_snapshot(
                self.update_id,
                &self.texts(self.model.bids()),
                &self.texts(self.model.asks()),
            ),
            Venue::Coinbase => {
                protocols::coinbase_snapshot(s, &self.texts(self.model.bids()), &self.texts(self.model.asks()))
            }
            Venue::Kraken => {
                let bids = self.texts(self.view[0].iter().rev().map(|(p, q)| (*p, *q)));
                let asks = self.texts(self.view[1].iter().map(|(p, q)| (*p, *q)));
                protocols::kraken_snapshot(KRAKEN_BOOK_CHANNEL, s, self.cfg.kraken_depth, self.clock_ns, &bids, &asks)
            }
        }
    }

    /// Frames the venue sends right after the subscription (Kraken's status and snapshot,
    /// Coinbase's snapshot; nothing on Binance, whose snapshot comes over REST).
    pub fn preamble(&self) -> Vec<Frame> {
        let receive_ns = self.clock_ns + 1_000_000;
        let frame = |text: String| Frame { receive_ns, text, gap: false };
        match self.cfg.venue {
            Venue::Binance => Vec::new(),
            Venue::Coinbase => vec![frame(self.snapshot())],
            Venue::Kraken => vec![
                frame(protocols::kraken_subscribed(KRAKEN_BOOK_CHANNEL, &self.cfg.symbol, self.cfg.kraken_depth)),
                frame(self.snapshot()),
            ],
        }
    }

    /// The book as the venue publishes it now (Kraken: its top `kraken_depth` levels).
    pub fn truth(&self) -> L2Book {
        let mut book = L2Book::new();
        let mut add = |side, p: &str, q: &str| {
            if let (Ok(p), Ok(q)) = (Decimal::parse_unsigned(p), Decimal::parse_unsigned(q)) {
                book.apply(side, p, q);
            }
        };
        let (bids, asks) = if self.cfg.venue == Venue::Kraken {
            (
                self.texts(self.view[0].iter().map(|(p, q)| (*p, *q))),
                self.texts(self.view[1].iter().map(|(p, q)| (*p, *q))),
            )
        } else {
            (self.texts(self.model.bids()), self.texts(self.model.asks()))
        };
        for (p, q) in &bids {
            add(Side::Buy, p, q);
        }
        for (p, q) in &asks {
            add(Side::Sell, p, q);
        }
        book
    }

    /// Steps taken.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Exchange time of the last step (of the start before the first), ns since the epoch.
    pub fn clock_ns(&self) -> i64 {
        self.clock_ns
    }

    /// The venue's tick in latent units (1e-8 of the quote currency).
    pub fn tick_units(&self) -> i64 {
        self.format.tick_in_units()
    }

    /// Best bid and best ask now, in latent units (1e-8 of the quote currency), as the venue
    /// publishes them (the model's book).
    pub fn top_units(&self) -> (Option<i64>, Option<i64>) {
        let tick = self.format.tick_in_units();
        (self.model.bids().next().map(|(p, _)| p * tick), self.model.asks().next().map(|(p, _)| p * tick))
    }

    /// With a latent feed: the price the venue saw at its last step (lagged latent price plus
    /// basis, noise and dislocation), in latent units.
    pub fn seen_units(&self) -> Option<i64> {
        self.seen_units
    }

    /// With a latent feed: where the references go this step (`None`: random walk).
    fn latent_target(&mut self) -> Option<(i64, i64)> {
        let view = self.latent.as_mut()?;
        let elapsed = self.clock_ns - self.cfg.start_ns;
        let feed = *view.feed();
        let noise = self.model.rng().range(-feed.noise_units, feed.noise_units);
        let seen = view.seen(elapsed) + noise;
        self.seen_units = Some(seen);
        let tick = self.format.tick_in_units();
        let bid = (seen - feed.half_spread_units).div_euclid(tick);
        let ask = -(-(seen + feed.half_spread_units)).div_euclid(tick);
        Some((bid, ask))
    }

    fn kraken_view(&self) -> [BTreeMap<i64, i64>; 2] {
        let d = self.cfg.kraken_depth;
        [self.model.bids().take(d).collect(), self.model.asks().take(d).collect()]
    }

    /// The next message(s): a book message (absent on Kraken when nothing in the subscribed
    /// window changed) and a trade, if any.
    pub fn step(&mut self) -> Vec<Frame> {
        let burst = self.model.in_burst();
        self.clock_ns += if burst { 2_000_000 + self.model.rng().below(8_000_000) as i64 } else { 100_000_000 };
        let receive_ns = self.clock_ns + 1_000_000 + self.model.rng().below(3_000_000) as i64;
        let last_steps = self.cfg.steps.saturating_sub(3);
        let spacing = self.cfg.gap_spacing.max(MIN_GAP_SPACING);
        let spaced = self.last_gap.is_none_or(|g| self.step >= g + spacing);
        let gap = spaced
            && self.step >= 2
            && self.step < last_steps
            && self.cfg.gap_rate > 0.0
            && self.model.rng().chance(self.cfg.gap_rate);
        let mut avoid_kept = Vec::new();
        let (changes, trade) = if gap {
            self.last_gap = Some(self.step);
            (self.gap_change(), None)
        } else {
            avoid_kept = std::mem::take(&mut self.avoid);
            let max = if avoid_kept.is_empty() { usize::MAX } else { 8 };
            let target = self.latent_target();
            self.model.step_towards(target, &avoid_kept, max)
        };
        self.step += 1;
        let mut frames = Vec::new();
        let s = self.cfg.symbol.clone();
        if let Some(t) = trade {
            self.trade_id += 1;
            let (price, qty) = (self.format.price(t.price), protocols::qty(t.qty));
            let text = match self.cfg.venue {
                Venue::Binance => {
                    protocols::binance_trade(&s, self.clock_ns / 1_000_000, self.trade_id, &price, &qty, t.aggressor)
                }
                Venue::Coinbase => {
                    protocols::coinbase_match(&s, self.clock_ns, self.trade_id, &price, &qty, t.aggressor)
                }
                Venue::Kraken => {
                    protocols::kraken_trade(KRAKEN_TRADE_CHANNEL, &s, self.clock_ns, &price, &qty, t.aggressor)
                }
            };
            frames.push(Frame { receive_ns, text, gap: false });
        }
        match self.book_message(&changes) {
            Some(text) => frames.push(Frame { receive_ns, text, gap }),
            // The level a gap changed stays protected until a book message is actually sent.
            None if !gap && self.avoid.is_empty() => self.avoid = avoid_kept,
            None => {}
        }
        frames
    }

    /// A gap message: the best bid's size changes, and the next step leaves that level alone.
    fn gap_change(&mut self) -> Vec<Change> {
        let Some((price, old)) = self.model.bids().next() else {
            return Vec::new();
        };
        let qty = old + 1 + self.model.rng().below(1_000_000) as i64;
        self.model.set_level(Side::Buy, price, qty);
        self.avoid = vec![(Side::Buy, price)];
        vec![Change { side: Side::Buy, price, qty }]
    }

    fn book_message(&mut self, changes: &[Change]) -> Option<String> {
        let s = self.cfg.symbol.clone();
        let text = |c: &Change| (self.format.price(c.price), protocols::qty(c.qty));
        match self.cfg.venue {
            Venue::Binance => {
                if changes.is_empty() {
                    return None;
                }
                let bids: Vec<_> = changes.iter().filter(|c| c.side == Side::Buy).map(text).collect();
                let asks: Vec<_> = changes.iter().filter(|c| c.side == Side::Sell).map(text).collect();
                let first = self.update_id + 1;
                self.update_id += changes.len() as u64;
                Some(protocols::binance_diff(&s, self.clock_ns / 1_000_000, first, self.update_id, &bids, &asks))
            }
            Venue::Coinbase => {
                if changes.is_empty() {
                    return None;
                }
                let out: Vec<_> = changes
                    .iter()
                    .map(|c| {
                        let (p, q) = text(c);
                        (c.side, p, q)
                    })
                    .collect();
                Some(protocols::coinbase_update(&s, self.clock_ns, &out))
            }
            Venue::Kraken => self.kraken_update(),
        }
    }

    /// Kraken's update: the change of the subscribed window (deleted levels with volume 0,
    /// changed and newly entered levels with their volume; levels pushed out of the window are
    /// not sent, the client truncates them), and the checksum of the new window.
    fn kraken_update(&mut self) -> Option<String> {
        let new = self.kraken_view();
        let mut sides: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
        for (i, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
            for (&p, _) in self.view[i].iter().filter(|(p, _)| !new[i].contains_key(p)) {
                if self.model.qty(side, p) == 0 {
                    sides[i].push((self.format.price(p), protocols::qty(0)));
                }
            }
            for (&p, &q) in new[i].iter().filter(|(p, q)| self.view[i].get(p) != Some(q)) {
                sides[i].push((self.format.price(p), protocols::qty(q)));
            }
        }
        self.view = new;
        if sides[0].is_empty() && sides[1].is_empty() {
            return None;
        }
        let checksum = protocols::kraken_checksum(&self.truth());
        let d = self.cfg.kraken_depth;
        let s = &self.cfg.symbol;
        Some(protocols::kraken_update(KRAKEN_BOOK_CHANNEL, s, d, self.clock_ns, &sides[0], &sides[1], checksum))
    }
}

/// Generates a whole session: the recording (connect, subscribe, snapshot, then `steps`
/// messages, gaps included, as the truth), and the faults that make the replay server lose the
/// gap frames.
pub fn generate(cfg: &SyntheticConfig) -> Result<Synthetic, FeedError> {
    let mut g = Generator::new(cfg)?;
    let mut w = RecordingWriter::new(Vec::new())?;
    let url = g.connect_url();
    let t0 = cfg.start_ns;
    w.write(&Record::Connect { conn: 0, url: url.as_str().into(), ts: t0 })?;
    if let Some(sub) = g.subscribe_frame() {
        w.write(&Record::Sent { conn: 0, url: url.as_str().into(), ts: t0, payload: sub.into() })?;
    }
    if cfg.venue == Venue::Binance {
        let (url, body) = (g.snapshot_url(), g.snapshot());
        w.write(&Record::Http { conn: 0, url: url.into(), ts: t0, body: body.into() })?;
    }
    let (mut frames, mut gaps, mut trades, mut first_receive_ns) = (0usize, Vec::new(), 0usize, None);
    let preamble = g.preamble();
    let mut write = |w: &mut RecordingWriter<Vec<u8>>, f: &Frame| -> Result<(), FeedError> {
        if f.gap {
            gaps.push(frames);
        }
        first_receive_ns.get_or_insert(f.receive_ns);
        frames += 1;
        w.write(&Record::Received { conn: 0, ts: f.receive_ns, payload: f.text.as_str().into() })
    };
    for f in &preamble {
        write(&mut w, f)?;
    }
    for _ in 0..cfg.steps {
        let step = g.step();
        trades += step.iter().filter(|f| is_trade(cfg.venue, &f.text)).count();
        for f in &step {
            write(&mut w, f)?;
        }
    }
    let bytes = w.into_inner()?;
    let recording = String::from_utf8(bytes).map_err(|e| FeedError::Recording { line: 0, reason: e.to_string() })?;
    let faults =
        gaps.iter().map(|&k| if cfg.venue == Venue::Coinbase { Fault::Corrupt(k) } else { Fault::Drop(k) }).collect();
    Ok(Synthetic {
        venue: cfg.venue,
        symbol: cfg.symbol.clone(),
        recording,
        frames,
        gaps,
        faults,
        trades,
        first_receive_ns: first_receive_ns.unwrap_or(cfg.start_ns),
        truth: g.truth(),
    })
}

fn is_trade(venue: Venue, text: &str) -> bool {
    match venue {
        Venue::Binance => text.contains(r#""e":"aggTrade""#),
        Venue::Coinbase => text.starts_with(r#"{"type":"match""#),
        Venue::Kraken => text.contains(r#","trade","#),
    }
}
