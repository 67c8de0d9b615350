//! The link between the live runner and a strategy thread allocates nothing per event after
//! warm-up, answers included: events pushed past a flooded ring (conflated, kept aside,
//! dropped), the answers to cancels and amends on their own ring, the feed's batches and the
//! commands back, both ends driven on this thread under a counting allocator that must count
//! zero.

use std::convert::Infallible;

use wintermute_mm::batched::{Batch, BatchSink, Command, CommandBuffer, StrategyEvent};
use wintermute_mm::live_strategy::{link, LiveStrategyConfig, StrategyFeed, StrategyPort};
use wintermute_mm::types::{Fill, Level, Liquidity, Side, Top, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Cancels and amends order 1 after each batch; counts the answers.
#[derive(Default)]
struct Sink {
    answers: u64,
}

impl BatchSink for Sink {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        self.answers += batch.events.iter().filter(|e| matches!(e, StrategyEvent::Answer { .. })).count() as u64;
        let last = batch.events.len() - 1;
        out.push(last, Command::Amend { venue: VenueId::Ours, order_id: 1, qty: 2 });
        out.push(last, Command::Cancel { venue: VenueId::Ours, order_id: 1 });
        Ok(())
    }

    fn takes_answers(&self) -> bool {
        true
    }
}

fn rounds(port: &mut StrategyPort, feed: &mut StrategyFeed, sink: &mut Sink, n: i64) -> u64 {
    let mut commands = 0;
    for i in 0..n {
        // A burst past the ring: tops, trades, fills, timers.
        for k in 0..40 {
            let top = Top { bid: Level { price: 100 + k, qty: 1 }, ask: Level { price: 102 + k, qty: 1 }, ts_ns: i };
            port.push(StrategyEvent::Book { venue: VenueId::External((k % 3) as u8), top, live: true }, i);
            let trade = wintermute_mm::strategy::PublicTrade {
                ts_ns: i,
                venue: VenueId::External(0),
                price: 100,
                qty: 1,
                aggressor: Side::Buy,
            };
            port.push(StrategyEvent::Trade(trade), i);
            let fill = Fill {
                ts_ns: i,
                venue: VenueId::Ours,
                order_id: 1,
                side: Side::Buy,
                price: 100,
                qty: 1,
                liquidity: Liquidity::Maker,
                fee: 0,
            };
            port.push(StrategyEvent::Fill { fill, remaining: 1, position: k }, i);
            port.push(StrategyEvent::Timer, i);
        }
        feed.step(sink).unwrap();
        port.flush_pending();
        while port.pop_command().is_some() {
            commands += 1;
            port.push_answer(VenueId::Ours, 1, 0, i);
        }
    }
    commands
}

#[test]
fn events_answers_and_commands_through_the_link_allocate_nothing_after_warm_up() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 64, queue: 16, first_order_id: 1, unanswered: 64 });
    let mut sink = Sink::default();
    rounds(&mut port, &mut feed, &mut sink, 200);
    alloc::reset();
    alloc::arm_thread();
    let commands = rounds(&mut port, &mut feed, &mut sink, 2_000);
    alloc::disarm_thread();
    let allocations = alloc::allocations();
    let s = port.stats();
    assert!(commands >= 4_000 && s.dropped > 0 && s.answers > 4_000 && sink.answers > 4_000, "did work: {s:?}");
    assert_eq!(s.lost_answers, 0);
    assert_eq!(allocations, 0, "allocations on the link: {s:?}");
}
