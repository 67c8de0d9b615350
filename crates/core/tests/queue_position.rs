//! `OrderBook::queue_position` against the reference model's per-level FIFO vectors: random
//! command streams (GTC limits, icebergs, IOC and market takers, cancels, amends that keep or
//! lose priority, mass cancels) run through both; after every command each live order's
//! position in the book equals the position read off the reference level's queue (visible lots
//! and orders in front, the level's totals), and dead ids have no position.

mod common;

use proptest::prelude::*;
use wintermute_core::{Command, NewOrder, OrderBook, OrderId, QueuePosition, Side, TimeInForce};

use common::reference_model::ReferenceBook;
use common::{test_spec, MAX_PRICE, MIN_PRICE};

/// The position of `order_id` read off the reference model's FIFO vector of its level.
fn reference_position(model: &ReferenceBook, order_id: OrderId) -> Option<QueuePosition> {
    let order = model.order(order_id)?;
    let queue = model.orders_at(order.side, order.price);
    let index = queue.iter().position(|o| o.order_id == order_id).expect("a live order is in its level's queue");
    Some(QueuePosition {
        side: order.side,
        price: order.price,
        qty_ahead: queue[..index].iter().map(|o| o.visible).sum(),
        orders_ahead: index as u32,
        own_visible: order.visible,
        level_qty: queue.iter().map(|o| o.visible).sum(),
        level_orders: queue.len() as u32,
    })
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// Commands that mostly rest (so queues grow several orders deep) with takers, cancels and
/// amends mixed in. Prices stay inside the band; ids come from a small pool so cancels and
/// amends hit live orders.
fn command() -> impl Strategy<Value = Command> {
    let id = 1..=30u64;
    let price = MIN_PRICE..=MAX_PRICE;
    let qty = 2..=12i64;
    prop_oneof![
        6 => (id.clone(), 1..=3u32, side(), price.clone(), qty.clone())
            .prop_map(|(i, a, s, p, q)| Command::New(NewOrder::limit(i, a, s, p, q))),
        2 => (id.clone(), 1..=3u32, side(), price.clone(), 4..=12i64, 2..=4i64)
            .prop_map(|(i, a, s, p, q, d)| Command::New(NewOrder::limit(i, a, s, p, q).iceberg(d))),
        1 => (id.clone(), 1..=3u32, side(), price.clone(), qty.clone())
            .prop_map(|(i, a, s, p, q)| Command::New(NewOrder::limit(i, a, s, p, q).with_tif(TimeInForce::Ioc))),
        1 => (id.clone(), 1..=3u32, side(), qty.clone())
            .prop_map(|(i, a, s, q)| Command::New(NewOrder::market(i, a, s, q))),
        2 => id.clone().prop_map(|order_id| Command::Cancel { order_id }),
        2 => (id.clone(), proptest::option::of(price), proptest::option::of(qty))
            .prop_map(|(order_id, price, qty)| Command::Amend { order_id, price, qty }),
        1 => (proptest::option::of(1..=3u32), proptest::option::of(side()))
            .prop_map(|(account, side)| Command::MassCancel { account, side }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_live_orders_queue_position_matches_the_reference_fifo(
        commands in proptest::collection::vec(command(), 1..200)
    ) {
        let mut book = OrderBook::new(test_spec());
        let mut model = ReferenceBook::new(test_spec());
        let mut events = Vec::new();
        for (step, command) in commands.iter().enumerate() {
            events.clear();
            let book_result = book.execute(command, &mut events);
            let model_result = model.execute(command);
            prop_assert_eq!(book_result.is_ok(), model_result.is_ok(), "step {} {:?}", step, command);
            for order_id in 1..=30u64 {
                prop_assert_eq!(
                    book.queue_position(order_id),
                    reference_position(&model, order_id),
                    "step {} order_id {} after {:?}", step, order_id, command
                );
            }
        }
    }
}

#[test]
fn a_size_decrease_keeps_the_place_and_a_size_increase_goes_to_the_back() {
    let mut book = OrderBook::new(test_spec());
    let mut events = Vec::new();
    for (id, qty) in [(1, 5), (2, 7), (3, 4)] {
        book.submit(&NewOrder::limit(id, 1, Side::Buy, 100, qty), &mut events).unwrap();
    }
    let second = book.queue_position(2).unwrap();
    assert_eq!((second.qty_ahead, second.orders_ahead, second.level_qty, second.level_orders), (5, 1, 16, 3));
    assert_eq!(second.qty_behind(), 4);

    book.execute(&Command::Amend { order_id: 2, price: None, qty: Some(3) }, &mut events).unwrap();
    let second = book.queue_position(2).unwrap();
    assert_eq!((second.qty_ahead, second.orders_ahead, second.own_visible), (5, 1, 3));

    book.execute(&Command::Amend { order_id: 2, price: None, qty: Some(9) }, &mut events).unwrap();
    let second = book.queue_position(2).unwrap();
    assert_eq!((second.qty_ahead, second.orders_ahead, second.qty_behind()), (9, 2, 0));

    // A taker eats the head: everyone moves up.
    book.submit(&NewOrder::market(10, 2, Side::Sell, 6), &mut events).unwrap();
    let third = book.queue_position(3).unwrap();
    assert_eq!((third.qty_ahead, third.orders_ahead, third.own_visible), (0, 0, 3));
    assert_eq!(book.queue_position(1), None);
}
