//! Reference books set by hand, step by step: a [`BookSource`] for the live runner whose
//! every read returns what the caller set last. Tests and benchmarks drive the live market
//! maker with it through exact, repeatable market states (a stepped synthetic market), where the
//! feeds' live books would move on their own.

use std::sync::{Arc, Mutex, PoisonError};

use wintermute_core::decimal::{Decimal, DecimalError, MAX_SCALE};
use wintermute_feeds::sync::SyncState;

use crate::live_config::StreamKey;
use crate::live_runner::{BookSource, RefBook};

/// Books set by hand (see the module docs); clones share them.
#[derive(Debug, Clone)]
pub struct SteppedBooks(Arc<Mutex<Vec<RefBook>>>);

/// Decimal text in units of 10^-18, as [`RefBook`] holds prices and quantities.
fn raw(text: &str) -> Result<i128, DecimalError> {
    let d = Decimal::parse(text)?;
    Ok(d.mantissa() * 10i128.pow(MAX_SCALE - d.scale()))
}

impl SteppedBooks {
    /// `streams` reference books, none seen yet.
    pub fn new(streams: usize) -> Self {
        SteppedBooks(Arc::new(Mutex::new(vec![RefBook::default(); streams])))
    }

    /// Sets stream `i`'s book (ignored past the streams given to [`SteppedBooks::new`]).
    pub fn set(&self, i: usize, book: RefBook) {
        if let Some(b) = self.0.lock().unwrap_or_else(PoisonError::into_inner).get_mut(i) {
            *b = book;
        }
    }

    /// Sets stream `i` live with a best bid and ask of (price, quantity) as decimal text (an
    /// empty side: `None`); a bad decimal changes nothing.
    pub fn set_live(&self, i: usize, bid: Option<(&str, &str)>, ask: Option<(&str, &str)>) -> Result<(), DecimalError> {
        let level =
            |side: Option<(&str, &str)>| side.map(|(p, q)| Ok::<_, DecimalError>((raw(p)?, raw(q)?))).transpose();
        let (bid, ask) = (level(bid)?, level(ask)?);
        let mut books = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = books.get_mut(i) {
            *b = RefBook { state: Some(SyncState::Live), bid, ask, ..*b };
        }
        Ok(())
    }

    /// Stream `i` saw a sequence gap and resyncs (its book is not live until the next
    /// [`SteppedBooks::set_live`]).
    pub fn resync(&self, i: usize) {
        if let Some(b) = self.0.lock().unwrap_or_else(PoisonError::into_inner).get_mut(i) {
            b.gaps += 1;
            b.state = Some(SyncState::Resyncing);
        }
    }
}

impl BookSource for SteppedBooks {
    fn read(&mut self, _streams: &[StreamKey], out: &mut [RefBook]) {
        let books = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (o, b) in out.iter_mut().zip(books.iter()) {
            *o = *b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_step_is_read_back_exactly_and_bad_text_changes_nothing() {
        let books = SteppedBooks::new(2);
        books.set_live(1, Some(("100.01", "0.5")), None).unwrap();
        assert!(books.set_live(1, Some(("1e3", "1")), None).is_err());
        let mut out = [RefBook::default(); 2];
        books.clone().read(&[], &mut out);
        assert_eq!(out[0], RefBook::default());
        assert_eq!(out[1].state, Some(SyncState::Live));
        assert_eq!(out[1].bid, Some((100_010_000_000_000_000_000, 500_000_000_000_000_000)));
        assert_eq!(out[1].ask, None);
    }
}
