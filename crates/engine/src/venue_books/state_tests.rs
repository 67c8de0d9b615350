//! The book mirrors' state document (`to_state` / `load_state`).

use wintermute_core::records::kind;

use crate::venue_books::{BookEvent, VenueBooks, SELL};

fn book_ev(kind: u8, order_id: u64, side: u8, price: i64, qty: i64, remaining: i64) -> BookEvent {
    BookEvent { kind, order_id, side, price, qty, remaining, ..BookEvent::default() }
}

#[test]
fn book_mirrors_load_back_with_their_queues_and_sequence_numbers() {
    let mut books = VenueBooks::new(2);
    for (id, qty) in [(1, 5), (2, 3), (3, 4)] {
        books.event(1, &book_ev(kind::ACCEPTED, id, SELL, 101, qty, qty));
        books.event(1, &book_ev(kind::BOOK_DELTA, 0, SELL, 101, 5 + 3 + 4, 3));
        books.command_done(1);
    }
    books.event(1, &book_ev(kind::CANCELED, 1, SELL, 101, 0, 0));
    books.event(1, &book_ev(kind::BOOK_DELTA, 0, SELL, 101, 7, 2));
    books.command_done(1);
    let mut loaded = VenueBooks::new(2);
    loaded.load_state(&books.to_state()).unwrap();
    assert_eq!(loaded.to_state(), books.to_state());
    let (a, b) = (books.book(1).unwrap(), loaded.book(1).unwrap());
    assert_eq!((b.seq(), b.queue_ahead(3), b.depth(SELL, 5)), (a.seq(), Some(3), vec![(101, 7)]));
    // The next order queues behind them in both.
    for m in [&mut books, &mut loaded] {
        m.event(1, &book_ev(kind::ACCEPTED, 4, SELL, 101, 1, 1));
        m.command_done(1);
        assert_eq!(m.book(1).unwrap().queue_ahead(4), Some(7));
    }
    assert_eq!(loaded.to_state(), books.to_state());
    let before = VenueBooks::new(3).to_state();
    let e = VenueBooks::new(3).load_state(&books.to_state()).unwrap_err();
    assert_eq!(e.to_string(), "venue state (books): 2 books, this venue has 3");
    let mut two = VenueBooks::new(2);
    let e = two.load_state(&books.to_state().replace("[[1,101,", "[[3,101,")).unwrap_err();
    assert_eq!(e.to_string(), "venue state (books): book 1: side 3");
    assert_eq!(two.to_state(), VenueBooks::new(2).to_state());
    assert_eq!(VenueBooks::new(3).to_state(), before);
}

#[test]
fn book_mirrors_load_back_from_their_binary_document() {
    let mut books = VenueBooks::new(2);
    for (id, qty) in [(1, 5), (2, 3)] {
        books.event(1, &book_ev(kind::ACCEPTED, id, SELL, 101, qty, qty));
        books.event(1, &book_ev(kind::BOOK_DELTA, 0, SELL, 101, 5 + 3, 3));
        books.command_done(1);
    }
    let mut loaded = VenueBooks::new(2);
    loaded.load_state_bin(&books.to_state_bin()).unwrap();
    assert_eq!((loaded.to_state(), loaded.to_state_bin()), (books.to_state(), books.to_state_bin()));
    assert_eq!(loaded.book(1).unwrap().queue_ahead(2), Some(5));
    let e = VenueBooks::new(3).load_state_bin(&books.to_state_bin()).unwrap_err();
    assert_eq!(e.to_string(), "venue state (books): 2 books, this venue has 3");
    let bin = books.to_state_bin();
    let e = VenueBooks::new(2).load_state_bin(&bin[..bin.len() - 1]).unwrap_err();
    assert!(e.to_string().starts_with("venue state (books): damaged"), "{e}");
}
