use super::*;

const NOW: u64 = 1_000;

/// An output record of command `seq` on `gateway`: event `e` with `outcome`.
fn record(gateway: u16, seq: u64, e: OrderEvent, outcome: u8, last: bool) -> Vec<u8> {
    let mut r = vec![0u8; OUTPUT_SIZE];
    r[8..16].copy_from_slice(&e.order_id.to_le_bytes());
    r[16..24].copy_from_slice(&e.other_id.to_le_bytes());
    r[24..32].copy_from_slice(&e.price.to_le_bytes());
    r[32..40].copy_from_slice(&e.qty.to_le_bytes());
    r[40..48].copy_from_slice(&e.remaining.to_le_bytes());
    r[64..68].copy_from_slice(&e.instrument.to_le_bytes());
    r[72] = e.kind;
    r[73] = e.side;
    r[74] = e.reason;
    r[80..88].copy_from_slice(&seq.to_le_bytes());
    r[112..114].copy_from_slice(&gateway.to_le_bytes());
    r[114] = outcome;
    r[115] = u8::from(last);
    r
}

/// A command's event records on gateway 0, the last one marked.
fn command(seq: u64, events: &[OrderEvent]) -> Vec<u8> {
    let n = events.len();
    events.iter().enumerate().flat_map(|(i, e)| record(0, seq, *e, OUTCOME_EVENT, i + 1 == n)).collect()
}

fn accepted(id: u64) -> OrderEvent {
    OrderEvent { kind: kind::ACCEPTED, order_id: id, ..OrderEvent::default() }
}

fn trade(maker: u64, taker: u64, price: i64, qty: i64) -> OrderEvent {
    OrderEvent { kind: kind::TRADE, order_id: maker, other_id: taker, price, qty, ..OrderEvent::default() }
}

fn canceled(id: u64, reason: CancelReason) -> OrderEvent {
    OrderEvent { kind: kind::CANCELED, order_id: id, reason: reason as u8, ..OrderEvent::default() }
}

fn amended(id: u64, price: i64, left: i64) -> OrderEvent {
    OrderEvent { kind: kind::AMENDED, order_id: id, price, qty: left, ..OrderEvent::default() }
}

fn limit(account: u32, cid: Option<&str>, side: u8, price: i64, qty: i64) -> NewOrder<'_> {
    NewOrder {
        account,
        client_order_id: cid,
        instrument: 0,
        side,
        order_type: OrderType::Limit,
        tif: Tif::Gtc,
        price: Some(price),
        qty,
        held: hold_units(side, qty, price),
        now_ns: NOW,
    }
}

fn apply(t: &mut VenueOrders, batch: &[u8]) -> Vec<Effect> {
    let mut effects = Vec::new();
    t.apply(batch, NOW + 1, &mut effects).unwrap();
    effects
}

fn answers(effects: &[Effect]) -> Vec<(u64, &Answer)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Answer { command_seq, answer, .. } => Some((*command_seq, answer)),
            _ => None,
        })
        .collect()
}

fn unlocked(effects: &[Effect]) -> i128 {
    effects.iter().map(|e| if let Effect::Unlock { units, .. } = e { *units } else { 0 }).sum()
}

/// Places and accepts a resting order as command `seq`.
fn rest(t: &mut VenueOrders, seq: u64, o: &NewOrder<'_>) -> u64 {
    let id = t.place(o).unwrap();
    t.expect(seq, CommandKind::Place, Some(id), false).unwrap();
    let effects = apply(t, &command(seq, &[accepted(id)]));
    assert!(matches!(answers(&effects)[..], [(s, Answer::Order(ref o))] if s == seq && o.status == Status::New));
    id
}

#[test]
fn a_client_order_id_names_one_order_per_account_and_a_repeat_is_refused_unchanged() {
    let mut t = VenueOrders::new(1, 0, 100);
    let a = t.place(&limit(7, Some("c1"), BUY, 100, 5)).unwrap();
    let err = t.place(&limit(7, Some("c1"), BUY, 100, 5)).unwrap_err();
    assert_eq!(err.code, "DUPLICATE_CLIENT_ORDER_ID");
    assert_eq!(t.next_id(), a + 1, "a refused place takes no id");
    let other_account = t.place(&limit(8, Some("c1"), BUY, 100, 5)).unwrap();
    assert_ne!(other_account, a);
    assert_eq!(t.by_client(7, "c1").map(|o| o.order_id), Some(a));
    assert_eq!(t.by_client(8, "c1").map(|o| o.order_id), Some(other_account));
    // A venue-named id steps aside for a client's choice of the same name.
    let taken = format!("wm-{}", t.next_id() + 1);
    t.place(&limit(9, Some(&taken), BUY, 100, 5)).unwrap();
    let named = t.place(&limit(9, None, BUY, 100, 5)).unwrap();
    assert_eq!(format!("wm-{named}"), taken);
    assert_eq!(t.order(named).unwrap().client_order_id, format!("{taken}-"));
}

#[test]
fn pending_orders_are_unknown_to_find_until_the_engine_accepts_them() {
    let mut t = VenueOrders::new(1, 0, 100);
    let id = t.place(&limit(7, Some("c1"), SELL, 100, 5)).unwrap();
    assert_eq!(t.find(7, Some(id), None, false).unwrap_err().code, "UNKNOWN_ORDER");
    t.expect(1, CommandKind::Place, Some(id), false).unwrap();
    assert_eq!(t.expect(1, CommandKind::Place, Some(id), false).unwrap_err().code, "DUPLICATE_COMMAND");
    let effects = apply(&mut t, &command(1, &[accepted(id)]));
    assert_eq!(answers(&effects).len(), 1);
    assert_eq!(t.find(7, None, Some("c1"), true).unwrap().status, Status::New);
    assert_eq!(t.find(8, Some(id), None, false).unwrap_err().code, "UNKNOWN_ORDER", "another account's");
    assert_eq!(t.find(7, None, None, false).unwrap_err().code, "INVALID_ORDER");
    assert_eq!(t.open_orders(7).map(|o| o.order_id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(t.waiting().count(), 0);
}

#[test]
fn fills_use_the_hold_and_end_the_order_with_its_remainder_given_back() {
    let mut t = VenueOrders::new(1, 0, 100);
    t.watch(7, true);
    let bid = rest(&mut t, 1, &limit(7, None, BUY, 100, 5));
    assert_eq!(t.order(bid).unwrap().held, 500);
    // Another gateway's sell trades 2 then 3 lots against it, at the bid's price and better.
    let mut batch = record(1, 1, trade(bid, 99, 100, 2), OUTCOME_EVENT, true);
    batch.extend(record(1, 2, trade(bid, 98, 99, 3), OUTCOME_EVENT, true));
    let effects = apply(&mut t, &batch);
    let fills: Vec<(i64, i64, bool, i128)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Fill { order_id, qty, price, maker, from_hold, .. } if *order_id == bid => {
                Some((*qty, *price, *maker, *from_hold))
            }
            _ => None,
        })
        .collect();
    assert_eq!(fills, vec![(2, 100, true, 200), (3, 99, true, 300)]);
    let o = t.order(bid).unwrap();
    assert_eq!((o.status, o.filled, o.cum_quote, o.held), (Status::Filled, 5, 2 * 100 + 3 * 99, 0));
    assert_eq!(unlocked(&effects), 0, "a limit buy's hold is used up at its limit price");
    assert_eq!(t.open_count(), 0);
    let states: Vec<&str> =
        effects.iter().filter_map(|e| if let Effect::State(o) = e { Some(o.status.name()) } else { None }).collect();
    assert_eq!(states, vec!["partially_filled", "filled"], "one state per command for a watched account");
    assert!(answers(&effects).is_empty(), "other gateways' commands are nobody's here");
}

#[test]
fn an_ioc_remainder_expires_a_cancel_cancels_and_both_give_the_hold_back() {
    let mut t = VenueOrders::new(1, 0, 100);
    let mut ioc = limit(7, None, SELL, 100, 5);
    ioc.tif = Tif::Ioc;
    let id = t.place(&ioc).unwrap();
    t.expect(1, CommandKind::Place, Some(id), false).unwrap();
    let effects =
        apply(&mut t, &command(1, &[accepted(id), trade(42, id, 100, 2), canceled(id, CancelReason::Unfilled)]));
    let o = t.order(id).unwrap();
    assert_eq!((o.status, o.filled, o.held), (Status::Expired, 2, 0));
    assert_eq!(unlocked(&effects), 3, "the unfilled 3 lots come back");
    assert!(matches!(answers(&effects)[..], [(1, Answer::Order(ref o))] if o.status == Status::Expired));

    let ask = rest(&mut t, 2, &limit(7, None, SELL, 101, 4));
    t.expect(3, CommandKind::Cancel, Some(ask), false).unwrap();
    let effects = apply(&mut t, &command(3, &[canceled(ask, CancelReason::User)]));
    assert_eq!(t.order(ask).unwrap().status, Status::Canceled);
    assert_eq!(unlocked(&effects), 4);
    assert_eq!(t.find(7, Some(ask), None, true).unwrap_err().code, "UNKNOWN_ORDER");
    // A cancel the engine did not carry out (no event): the order is still open.
    let bid = rest(&mut t, 4, &limit(7, None, BUY, 90, 1));
    t.expect(5, CommandKind::Cancel, Some(bid), false).unwrap();
    let effects = apply(&mut t, &record(0, 5, OrderEvent::default(), OUTCOME_NO_EVENTS, true));
    assert!(matches!(
        answers(&effects)[..],
        [(5, Answer::Failed { ref error, counted: false, .. })] if error.code == "UNKNOWN_ORDER"
    ));
    assert_eq!(t.order(bid).unwrap().status, Status::New);
}

#[test]
fn a_mass_cancel_answers_with_every_order_it_canceled() {
    let mut t = VenueOrders::new(1, 0, 100);
    let a = rest(&mut t, 1, &limit(7, None, BUY, 99, 1));
    let b = rest(&mut t, 2, &limit(7, None, SELL, 101, 1));
    t.expect(3, CommandKind::Mass, None, false).unwrap();
    let effects =
        apply(&mut t, &command(3, &[canceled(a, CancelReason::MassCancel), canceled(b, CancelReason::MassCancel)]));
    let [(3, Answer::Canceled(done))] = &answers(&effects)[..] else { panic!("{effects:?}") };
    assert_eq!(
        done.iter().map(|o| (o.order_id, o.status)).collect::<Vec<_>>(),
        vec![(a, Status::Canceled), (b, Status::Canceled)]
    );
    assert_eq!(t.open_count(), 0);
}

#[test]
fn an_amend_moves_the_price_and_quantity_and_adjusts_the_hold() {
    let mut t = VenueOrders::new(1, 0, 100);
    let bid = rest(&mut t, 1, &limit(7, None, BUY, 100, 5));
    t.expect(2, CommandKind::Amend, Some(bid), false).unwrap();
    let effects = apply(&mut t, &command(2, &[amended(bid, 98, 3)]));
    let o = t.order(bid).unwrap();
    assert_eq!((o.price, o.qty, o.held), (Some(98), 3, 294));
    assert_eq!(unlocked(&effects), 500 - 294);
    assert!(matches!(answers(&effects)[..], [(2, Answer::Order(ref o))] if o.price == Some(98)));
    // Up again: a negative give-back (the hold grows).
    t.expect(3, CommandKind::Amend, Some(bid), false).unwrap();
    let effects = apply(&mut t, &command(3, &[amended(bid, 100, 6)]));
    assert_eq!(unlocked(&effects), 294 - 600);
}

#[test]
fn refused_and_risk_rejected_places_are_rejected_their_hold_back_and_their_client_id_free() {
    let mut t = VenueOrders::new(1, 0, 100);
    let id = t.place(&limit(7, Some("c1"), SELL, 100, 5)).unwrap();
    t.expect(1, CommandKind::Place, Some(id), false).unwrap();
    let reason = OrderEvent {
        kind: kind::REJECTED,
        order_id: id,
        reason: RejectReason::PostOnlyWouldCross as u8,
        ..OrderEvent::default()
    };
    let effects = apply(&mut t, &record(0, 1, reason, OUTCOME_REFUSED, true));
    let [(1, Answer::Failed { error, order: Some(o), counted: true })] = &answers(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!((error.code, error.reason.as_deref()), ("BOOK_REJECTED", Some("POST_ONLY_WOULD_CROSS")));
    assert_eq!((o.status, o.reject_reason.as_deref()), (Status::Rejected, Some("POST_ONLY_WOULD_CROSS")));
    assert_eq!(unlocked(&effects), 5);
    assert!(t.by_client(7, "c1").is_none(), "a rejected order's client id is free again");

    let id = t.place(&limit(7, Some("c1"), SELL, 100, 5)).unwrap();
    t.expect(2, CommandKind::Place, Some(id), false).unwrap();
    let kill = OrderEvent { kind: kind::REJECTED, reason: 2, ..OrderEvent::default() };
    let effects = apply(&mut t, &record(0, 2, kill, OUTCOME_RISK, true));
    let [(2, Answer::Failed { error, .. })] = &answers(&effects)[..] else { panic!("{effects:?}") };
    assert_eq!((error.code, error.reason.as_deref()), ("KILL_SWITCH", Some(RISK_CODES[1])));

    // A FOK that cannot fill expires (not an error).
    let mut fok = limit(7, None, BUY, 100, 5);
    fok.tif = Tif::Fok;
    let id = t.place(&fok).unwrap();
    t.expect(3, CommandKind::Place, Some(id), false).unwrap();
    let no = OrderEvent { kind: kind::REJECTED, reason: RejectReason::FokNotFillable as u8, ..OrderEvent::default() };
    let effects = apply(&mut t, &record(0, 3, no, OUTCOME_REFUSED, true));
    assert!(matches!(answers(&effects)[..], [(3, Answer::Order(ref o))] if o.status == Status::Expired));
    assert_eq!(unlocked(&effects), 500);
}

#[test]
fn unknown_ids_and_other_gateways_change_nothing() {
    let mut t = VenueOrders::new(1, 0, 100);
    let bid = rest(&mut t, 1, &limit(7, None, BUY, 100, 5));
    let before = t.order(bid).unwrap().clone();
    let mut batch = command(9, &[trade(12345, 777, 100, 1), canceled(4242, CancelReason::User), amended(999, 1, 1)]);
    batch.extend(record(3, 1, accepted(bid), OUTCOME_EVENT, true));
    let effects = apply(&mut t, &batch);
    assert_eq!(effects, vec![Effect::Trade { instrument: 0, price: 100, qty: 1, side: 0 }]);
    assert_eq!(t.order(bid), Some(&before));
    assert!(t.apply(&[0u8; OUTPUT_SIZE + 1], NOW, &mut Vec::new()).is_err());
    assert_eq!(t.order(bid), Some(&before));
}

#[test]
fn the_oldest_final_orders_are_forgotten_beyond_the_history_size() {
    let mut t = VenueOrders::new(1, 0, 2);
    let mut ids = Vec::new();
    for seq in 1..=4 {
        let id = t.place(&limit(7, Some(&format!("c{seq}")), SELL, 100, 1)).unwrap();
        t.expect(seq, CommandKind::Place, Some(id), false).unwrap();
        apply(&mut t, &command(seq, &[accepted(id), trade(id, 50, 100, 1)]));
        ids.push(id);
    }
    assert!(t.order(ids[0]).is_none() && t.order(ids[1]).is_none());
    assert!(t.by_client(7, "c1").is_none());
    assert_eq!(t.history(7).map(|o| o.order_id).collect::<Vec<_>>(), ids[2..].to_vec());
}

#[test]
fn a_forgotten_order_leaves_its_accounts_history_behind_an_older_open_one() {
    // Account 7 rests an order (open for good), then trades orders that close and are
    // forgotten beyond the history size: none of them may stay named in its history (a saved
    // state names only orders it holds).
    let mut t = VenueOrders::new(1, 0, 2);
    let open = rest(&mut t, 1, &limit(7, Some("rest"), BUY, 90, 1));
    let mut filled = Vec::new();
    for seq in 2..=6 {
        let id = t.place(&limit(7, Some(&format!("c{seq}")), SELL, 100, 1)).unwrap();
        t.expect(seq, CommandKind::Place, Some(id), false).unwrap();
        apply(&mut t, &command(seq, &[accepted(id), trade(id, 50, 100, 1)]));
        filled.push(id);
    }
    let history: Vec<u64> = t.history(7).map(|o| o.order_id).collect();
    assert_eq!(history, [open, filled[3], filled[4]]);
    assert_eq!(t.history.get(&7).map(|d| d.iter().copied().collect::<Vec<_>>()), Some(history));
    let mut back = VenueOrders::new(1, 0, 2);
    back.load_state(&t.to_state()).expect("the saved table loads");
    assert_eq!(back.to_state(), t.to_state());
}

#[test]
fn a_traced_command_reports_its_events_and_engine_record() {
    let mut t = VenueOrders::new(1, 0, 100);
    let id = t.place(&limit(7, None, SELL, 100, 5)).unwrap();
    t.expect(1, CommandKind::Place, Some(id), true).unwrap();
    let mut batch = command(1, &[accepted(id)]);
    batch[88..96].copy_from_slice(&55u64.to_le_bytes());
    batch[116..120].copy_from_slice(&2u32.to_le_bytes());
    let effects = apply(&mut t, &batch);
    let Some(Effect::Answer { trace: Some(trace), .. }) = effects.last() else { panic!("{effects:?}") };
    assert_eq!(
        (trace.events.clone(), trace.journal_seq, trace.book_deltas, trace.command_seq),
        (vec![kind::ACCEPTED], 55, 2, 1)
    );
}

#[test]
fn a_place_never_sent_is_rejected_and_one_sent_waits_for_its_answer() {
    let mut t = VenueOrders::new(1, 0, 100);
    let a = t.place(&limit(7, Some("a"), SELL, 100, 5)).unwrap();
    let mut effects = Vec::new();
    t.give_up(a, "UNAVAILABLE", NOW, &mut effects);
    assert_eq!(t.order(a).unwrap().status, Status::Rejected);
    assert_eq!(unlocked(&effects), 5);
    let b = t.place(&limit(7, Some("a"), SELL, 100, 5)).unwrap();
    t.expect(1, CommandKind::Place, Some(b), false).unwrap();
    let mut effects = Vec::new();
    t.give_up(b, "UNAVAILABLE", NOW, &mut effects);
    assert_eq!(t.order(b).unwrap().status, Status::Pending);
    assert!(effects.is_empty());
    assert!(t.forget(1) && !t.forget(1));
}

#[test]
fn a_command_answers_with_every_order_it_ended_even_past_the_history_size() {
    let mut t = VenueOrders::new(1, 0, 1);
    let a = rest(&mut t, 1, &limit(7, None, BUY, 99, 1));
    let b = rest(&mut t, 2, &limit(7, None, SELL, 101, 1));
    t.expect(3, CommandKind::Mass, None, false).unwrap();
    let effects =
        apply(&mut t, &command(3, &[canceled(a, CancelReason::MassCancel), canceled(b, CancelReason::MassCancel)]));
    let [(3, Answer::Canceled(done))] = &answers(&effects)[..] else { panic!("{effects:?}") };
    assert_eq!(done.iter().map(|o| o.order_id).collect::<Vec<_>>(), vec![a, b]);
    assert!(t.order(a).is_none(), "forgotten once the command ended");
    assert_eq!(t.order(b).map(|o| o.status), Some(Status::Canceled));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Random tables (orders placed, accepted, partly or wholly traded, canceled, or never
    /// sent; some forgotten beyond a small history) load back from their binary document the
    /// same as from their JSON one, byte for byte.
    #[test]
    fn a_random_table_loads_back_from_its_binary_document(
        steps in proptest::collection::vec((0u8..5, 1u32..4, 0u8..2, 1i64..50, 1i64..9), 0..40),
    ) {
        let mut t = VenueOrders::new(1, 0, 4);
        let mut seq = 0;
        for (i, (what, account, side, price, qty)) in steps.into_iter().enumerate() {
            let cid = format!("c{i}");
            let id = t.place(&limit(account, (i % 3 != 0).then_some(cid.as_str()), side, price, qty)).unwrap();
            if what == 4 {
                continue; // registered, never sent: pending
            }
            seq += 1;
            t.expect(seq, CommandKind::Place, Some(id), false).unwrap();
            let events = match what {
                0 => vec![accepted(id)],
                1 => vec![accepted(id), trade(id, 99, price, qty / 2 + 1)],
                2 => vec![accepted(id), trade(id, 99, price, qty)],
                _ => vec![accepted(id), canceled(id, CancelReason::User)],
            };
            apply(&mut t, &command(seq, &events));
        }
        let (json, bin) = (t.to_state(), t.to_state_bin());
        let mut from_bin = VenueOrders::new(1, 0, 4);
        from_bin.load_state_bin(&bin).unwrap();
        let mut from_json = VenueOrders::new(1, 0, 4);
        from_json.load_state(&json).unwrap();
        proptest::prop_assert_eq!(from_bin.to_state(), json.clone());
        proptest::prop_assert_eq!(from_bin.to_state_bin(), bin.clone());
        proptest::prop_assert_eq!(from_json.to_state_bin(), bin);
        proptest::prop_assert_eq!(from_bin.unsent(), t.unsent());
    }
}

#[test]
fn another_gateways_answer_goes_to_its_waiter_not_to_the_effects() {
    use std::sync::mpsc;
    let mut t = VenueOrders::new(1, 0, 10);
    let id = t.place(&limit(1, None, BUY, 100, 5)).unwrap();
    let (tx, rx) = mpsc::channel();
    t.expect_answer(3, 1, CommandKind::Place, Some(id), AnswerWaiter::new(move |a| tx.send(a).unwrap())).unwrap();
    // Command 1 of the venue's gateway (0) is another command: not this one's answer.
    assert!(apply(&mut t, &command(1, &[accepted(99)])).is_empty());
    assert!(rx.try_recv().is_err());
    let effects = apply(&mut t, &record(3, 1, accepted(id), OUTCOME_EVENT, true));
    assert!(answers(&effects).is_empty(), "the venue's Python side gets no answer of gateway 3");
    match rx.try_recv().unwrap() {
        Answer::Order(o) => assert_eq!((o.order_id, o.status), (id, Status::New)),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.waiting().count(), 0);
}

#[test]
fn the_venues_gateway_cannot_be_given_a_waiter_and_a_forgotten_one_is_never_called() {
    let mut t = VenueOrders::new(1, 0, 10);
    let never = || AnswerWaiter::new(|_| panic!("called"));
    assert_eq!(t.expect_answer(0, 1, CommandKind::Cancel, Some(1), never()).unwrap_err().code, "DUPLICATE_COMMAND");
    t.expect_answer(2, 1, CommandKind::Cancel, Some(1), never()).unwrap();
    assert_eq!(t.expect_answer(2, 1, CommandKind::Cancel, Some(1), never()).unwrap_err().code, "DUPLICATE_COMMAND");
    t.expect(1, CommandKind::Cancel, Some(1), false).unwrap(); // the venue's command 1: another key
    assert!(t.forget_on(2, 1));
    assert!(apply(&mut t, &record(2, 1, accepted(1), OUTCOME_NO_EVENTS, true)).is_empty());
    assert_eq!(t.waiting().collect::<Vec<_>>(), vec![1]);
}
