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
            Command::Amend { .. } | Command::AmendTotal { .. } => s.amend += 1,
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

/// The generators' documented shapes, measured by replaying their streams.
#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn pct(n: usize, d: usize) -> f64 {
        100.0 * n as f64 / d as f64
    }

    #[test]
    fn exchange_core_mix_has_the_documented_shape() {
        let w = exchange_core_mix(42, 200_000);
        assert_eq!(w.warmup.len(), EXCHANGE_CORE_ORDERS);
        let warm = w.warmed_book();
        let levels = warm.depth(Side::Buy, usize::MAX).len() + warm.depth(Side::Sell, usize::MAX).len();
        assert_eq!(levels, 2 * EXCHANGE_CORE_DEPTH as usize);
        let s = mix_stats(&w);
        println!(
            "exchange_core: move {:.2}% gtc {:.2}% ioc {:.2}% cancel {:.2}% | trading commands {:.2}% ({} trades) | live mean {:.0} min {} max {} | levels at end {} | events/cmd {:.2}",
            pct(s.amend, s.commands),
            pct(s.gtc, s.commands),
            pct(s.ioc, s.commands),
            pct(s.cancel, s.commands),
            pct(s.trading, s.commands),
            s.trades,
            s.live_mean,
            s.live_min,
            s.live_max,
            s.levels_end,
            s.events as f64 / s.commands as f64
        );
        assert!((81.0..83.0).contains(&pct(s.amend, s.commands)));
        assert!((8.0..10.0).contains(&pct(s.gtc, s.commands)));
        assert!((2.5..3.5).contains(&pct(s.ioc, s.commands)));
        assert!((5.0..7.0).contains(&pct(s.cancel, s.commands)));
        assert!((4.5..7.5).contains(&pct(s.trading, s.commands)), "trade ratio {}", pct(s.trading, s.commands));
        assert!((800.0..1200.0).contains(&s.live_mean), "book size {}", s.live_mean);
    }

    #[test]
    fn feed_and_python_mixes_have_the_documented_shape() {
        let w = feed_mix(42, 200_000);
        let s = mix_stats(&w);
        println!("feed: {s:?}");
        assert!((48.0..52.0).contains(&pct(s.gtc, s.commands)));
        assert!((38.0..42.0).contains(&pct(s.cancel, s.commands)));
        assert!((9.0..11.0).contains(&pct(s.trading, s.commands)));
        let w = python_mix(42, 200_000);
        let s = mix_stats(&w);
        println!("python: {s:?}");
        assert!((29.5..30.5).contains(&pct(s.cancel, s.commands)));
        assert!((9.5..10.5).contains(&pct(s.trading, s.commands)));
    }

    #[test]
    fn worst_cases_run() {
        let w = sweep_levels(1_000);
        let mut book = w.warmed_book();
        let mut ev = Vec::new();
        book.execute(&w.commands[0], &mut ev).unwrap();
        assert_eq!(ev.iter().filter(|e| matches!(e, Event::Trade { .. })).count(), 1_000);
        assert_eq!(book.order_count(), 0);
        let w = deep_queue(1_000);
        let s = mix_stats(&w);
        assert_eq!(s.cancel, 500);
        let w = big_book(1, 20_000, 2_000);
        assert_eq!(w.warmed_book().order_count(), 20_000);
        mix_stats(&w);
    }
}
