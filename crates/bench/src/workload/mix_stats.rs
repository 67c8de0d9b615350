//! What a generated stream does when replayed: the shares of command kinds and of trading
//! commands, and the book's size along the way (how the tests check each mix's documented shape).

use wintermute_core::{Command, Event, OrderType, Side, TimeInForce};

use super::Workload;

/// What a stream does when replayed: shares of command kinds and of trading commands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MixStats {
    pub commands: usize,
    pub gtc: usize,
    pub ioc: usize,
    pub market: usize,
    pub cancel: usize,
    pub amend: usize,
    /// Commands that emitted at least one trade.
    pub trading: usize,
    pub trades: usize,
    pub events: usize,
    /// Live orders: mean / min / max after each command.
    pub live_mean: f64,
    pub live_min: usize,
    pub live_max: usize,
    /// Price levels (both sides) after the last command.
    pub levels_end: usize,
}

/// Replays `w` on a fresh book and counts what its measured commands do.
pub fn mix_stats(w: &Workload) -> MixStats {
    let mut book = w.warmed_book();
    let mut events = Vec::new();
    let mut s = MixStats { live_min: usize::MAX, ..MixStats::default() };
    let mut live_sum = 0usize;
    for cmd in &w.commands {
        events.clear();
        book.execute(cmd, &mut events).expect("valid");
        s.commands += 1;
        match cmd {
            Command::New(o) if o.order_type == OrderType::Market => s.market += 1,
            Command::New(o) if o.tif == TimeInForce::Gtc => s.gtc += 1,
            Command::New(_) => s.ioc += 1,
            Command::Cancel { .. } => s.cancel += 1,
            Command::Amend { .. } => s.amend += 1,
            Command::MassCancel { .. } => {}
        }
        let trades = events.iter().filter(|e| matches!(e, Event::Trade { .. })).count();
        s.trades += trades;
        s.trading += (trades > 0) as usize;
        s.events += events.len();
        let live = book.order_count();
        live_sum += live;
        s.live_min = s.live_min.min(live);
        s.live_max = s.live_max.max(live);
    }
    s.live_mean = live_sum as f64 / s.commands.max(1) as f64;
    s.levels_end = book.depth(Side::Buy, usize::MAX).len() + book.depth(Side::Sell, usize::MAX).len();
    s
}
