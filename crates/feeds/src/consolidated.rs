//! A consolidated book: several venues' L2 books for one instrument, merged by price.
//!
//! Each consolidated level keeps the quantity of every venue at that price (exact decimals) and
//! their sum, so a strategy sees both the aggregate depth and where it sits. From it come:
//!
//! - the consolidated BBO ([`ConsolidatedBook::bbo`]): highest bid and lowest ask over all venues;
//! - a fair value, the **microprice** ([`ConsolidatedBook::microprice`]):
//!   `(bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty)` on the consolidated top, which leans
//!   towards the side with less quantity (the side more likely to be taken out next);
//! - whether the venues are **crossed or locked between them** ([`ConsolidatedBook::cross`]):
//!   one venue's bid at or above another venue's ask, an arbitrage or a stale book.
//!
//! [`ConsolidatedBook::rebuild`] merges the top `depth` levels of each venue book; it reuses its
//! buffers, so after the first call it does not allocate. All arithmetic is on the exact
//! fixed-point values (`i128`), never floats.
//!
//! ```
//! use wintermute_feeds::book::{L2Book, Side};
//! use wintermute_feeds::consolidated::{ConsolidatedBook, Cross};
//! use wintermute_core::decimal::Decimal;
//! use wintermute_feeds::Venue;
//! let d = |s| Decimal::parse_unsigned(s).unwrap();
//! let (mut a, mut b) = (L2Book::new(), L2Book::new());
//! a.apply(Side::Buy, d("100"), d("1"));
//! a.apply(Side::Sell, d("102"), d("1"));
//! b.apply(Side::Buy, d("101"), d("3"));
//! b.apply(Side::Sell, d("102"), d("2"));
//! let mut c = ConsolidatedBook::new();
//! c.rebuild(&[(Venue::Binance, &a), (Venue::Kraken, &b)], 10);
//! let bbo = c.bbo().unwrap();
//! assert_eq!((bbo.bid.price.as_str(), bbo.ask.total().to_string()), ("101", "3".to_string()));
//! assert_eq!(c.microprice().unwrap().as_str(), "101.5");
//! assert_eq!(c.cross(), Cross::None);
//! ```

use crate::book::{L2Book, Level, Side};
use crate::message::Venue;
use wintermute_core::decimal::Decimal;

const VENUES: usize = Venue::ALL.len();

/// One consolidated price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsolidatedLevel {
    /// Price.
    pub price: Decimal,
    /// Quantity per venue (indexed by [`Venue::index`]).
    pub per_venue: [Option<Decimal>; VENUES],
    total_raw: i128,
}

impl ConsolidatedLevel {
    fn from_level(venue: Venue, level: &Level) -> Self {
        let mut per_venue = [None; VENUES];
        per_venue[venue.index()] = Some(level.qty);
        ConsolidatedLevel { price: level.price, per_venue, total_raw: level.qty.raw() }
    }

    /// Total quantity over venues, exact.
    pub fn total(&self) -> Decimal {
        Decimal::from_raw(self.total_raw).unwrap_or(Decimal::ZERO)
    }

    /// Total quantity in units of 10^-18.
    pub fn total_raw(&self) -> i128 {
        self.total_raw
    }

    /// Quantity of one venue at this price.
    pub fn qty(&self, venue: Venue) -> Option<Decimal> {
        self.per_venue[venue.index()]
    }

    /// Venues with quantity at this price.
    pub fn venues(&self) -> impl Iterator<Item = Venue> + '_ {
        Venue::ALL.into_iter().filter(|v| self.per_venue[v.index()].is_some())
    }
}

/// Consolidated best bid and offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bbo {
    /// Best bid level.
    pub bid: ConsolidatedLevel,
    /// Best ask level.
    pub ask: ConsolidatedLevel,
}

/// How the venues' tops relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cross {
    /// Best bid below best ask (or a side is empty).
    None,
    /// A venue's bid equals another venue's ask.
    Locked {
        /// Venue with the bid.
        bid: Venue,
        /// Venue with the ask.
        ask: Venue,
    },
    /// A venue's bid is above another venue's ask.
    Crossed {
        /// Venue with the bid.
        bid: Venue,
        /// Venue with the ask.
        ask: Venue,
    },
}

/// The merged book of one instrument.
#[derive(Debug, Clone, Default)]
pub struct ConsolidatedBook {
    bids: Vec<ConsolidatedLevel>,
    asks: Vec<ConsolidatedLevel>,
    tops: [(Option<Level>, Option<Level>); VENUES],
}

impl ConsolidatedBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds from the venues' books, merging the best `depth` levels of each.
    pub fn rebuild(&mut self, books: &[(Venue, &L2Book)], depth: usize) {
        self.tops = [(None, None); VENUES];
        for (venue, book) in books {
            self.tops[venue.index()] = (book.best_bid().copied(), book.best_ask().copied());
        }
        merge(&mut self.bids, books, Side::Buy, depth);
        merge(&mut self.asks, books, Side::Sell, depth);
    }

    /// Bids, best first.
    pub fn bids(&self) -> &[ConsolidatedLevel] {
        &self.bids
    }

    /// Asks, best first.
    pub fn asks(&self) -> &[ConsolidatedLevel] {
        &self.asks
    }

    /// Consolidated best bid and ask, when both sides have a level.
    pub fn bbo(&self) -> Option<Bbo> {
        Some(Bbo { bid: *self.bids.first()?, ask: *self.asks.first()? })
    }

    /// Microprice of the consolidated top (see the module docs), truncated to 10^-18.
    pub fn microprice(&self) -> Option<Decimal> {
        let Bbo { bid, ask } = self.bbo()?;
        let (bq, aq) = (bid.total_raw, ask.total_raw);
        let sum = bq.checked_add(aq).filter(|s| *s > 0)?;
        // Weight of the ask price = bid qty share, in units of 10^-9, to stay inside i128.
        const W: i128 = 1_000_000_000;
        let w = bq.checked_mul(W)? / sum;
        let p = ask.price.raw().checked_mul(w)?.checked_add(bid.price.raw().checked_mul(W - w)?)?;
        Decimal::from_raw(p / W).ok()
    }

    /// Mid price of the consolidated top.
    pub fn mid(&self) -> Option<Decimal> {
        let Bbo { bid, ask } = self.bbo()?;
        Decimal::from_raw(bid.price.raw() / 2 + ask.price.raw() / 2 + (bid.price.raw() % 2 + ask.price.raw() % 2) / 2)
            .ok()
    }

    /// Whether one venue's bid is at or above another venue's ask (the most crossed pair).
    pub fn cross(&self) -> Cross {
        let mut worst = Cross::None;
        let mut worst_gap = i128::MIN;
        for bv in Venue::ALL {
            let Some(bid) = self.tops[bv.index()].0 else {
                continue;
            };
            for av in Venue::ALL {
                if av == bv {
                    continue;
                }
                let Some(ask) = self.tops[av.index()].1 else {
                    continue;
                };
                let gap = bid.price.raw() - ask.price.raw();
                if gap >= 0 && gap > worst_gap {
                    worst_gap = gap;
                    worst =
                        if gap == 0 { Cross::Locked { bid: bv, ask: av } } else { Cross::Crossed { bid: bv, ask: av } };
                }
            }
        }
        worst
    }
}

fn merge(out: &mut Vec<ConsolidatedLevel>, books: &[(Venue, &L2Book)], side: Side, depth: usize) {
    out.clear();
    for (venue, book) in books {
        out.extend(book.levels(side).take(depth).map(|l| ConsolidatedLevel::from_level(*venue, l)));
    }
    match side {
        Side::Buy => out.sort_unstable_by_key(|l| std::cmp::Reverse(l.price.raw())),
        Side::Sell => out.sort_unstable_by_key(|l| l.price.raw()),
    }
    // Fold equal prices into the first level of each run.
    let mut w = 0;
    for r in 0..out.len() {
        if w > 0 && out[w - 1].price == out[r].price {
            let extra = out[r];
            let into = &mut out[w - 1];
            for (slot, q) in into.per_venue.iter_mut().zip(extra.per_venue) {
                if let Some(q) = q {
                    let sum = slot.map_or(0, |s| s.raw()).saturating_add(q.raw());
                    *slot = Some(if slot.is_some() { Decimal::from_raw(sum).unwrap_or(q) } else { q });
                }
            }
            into.total_raw = into.total_raw.saturating_add(extra.total_raw);
        } else {
            out[w] = out[r];
            w += 1;
        }
    }
    out.truncate(w.min(depth));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse_unsigned(s).unwrap()
    }

    fn book(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> L2Book {
        let mut b = L2Book::new();
        for (p, q) in bids {
            b.apply(Side::Buy, d(p), d(q));
        }
        for (p, q) in asks {
            b.apply(Side::Sell, d(p), d(q));
        }
        b
    }

    #[test]
    fn merges_levels_per_venue() {
        let binance = book(&[("100.0", "1"), ("99.5", "2")], &[("101", "1.5")]);
        let kraken = book(&[("100", "0.25"), ("99", "4")], &[("100.5", "2"), ("101.00", "1")]);
        let coinbase = book(&[], &[("102", "7")]);
        let mut c = ConsolidatedBook::new();
        c.rebuild(&[(Venue::Binance, &binance), (Venue::Kraken, &kraken), (Venue::Coinbase, &coinbase)], 10);
        let bids: Vec<(String, String)> =
            c.bids().iter().map(|l| (l.price.to_string(), l.total().to_string())).collect();
        assert_eq!(bids, [("100.0".into(), "1.25".into()), ("99.5".into(), "2".into()), ("99".into(), "4".into())]);
        let top = c.bids()[0];
        assert_eq!(top.qty(Venue::Binance).unwrap().as_str(), "1");
        assert_eq!(top.qty(Venue::Kraken).unwrap().as_str(), "0.25");
        assert_eq!(top.qty(Venue::Coinbase), None);
        assert_eq!(top.venues().collect::<Vec<_>>(), [Venue::Binance, Venue::Kraken]);
        let asks: Vec<String> = c.asks().iter().map(|l| format!("{}={}", l.price, l.total())).collect();
        assert_eq!(asks, ["100.5=2", "101=2.5", "102=7"]);
        c.rebuild(&[(Venue::Binance, &binance), (Venue::Kraken, &kraken)], 1);
        assert_eq!((c.bids().len(), c.asks().len()), (1, 1));
    }

    #[test]
    fn microprice_leans_to_the_thin_side() {
        let a = book(&[("100", "3")], &[("102", "1")]);
        let mut c = ConsolidatedBook::new();
        c.rebuild(&[(Venue::Coinbase, &a)], 5);
        // (100 * 1 + 102 * 3) / 4 = 101.5
        assert_eq!(c.microprice().unwrap().as_str(), "101.5");
        assert_eq!(c.mid().unwrap().as_str(), "101");
        let big = book(&[("58000.12", "12.5")], &[("58000.13", "0.00001")]);
        c.rebuild(&[(Venue::Kraken, &big)], 5);
        let m = c.microprice().unwrap();
        assert!(m.raw() > d("58000.129").raw() && m.raw() < d("58000.13").raw(), "{m}");
        c.rebuild(&[(Venue::Kraken, &book(&[("1", "1")], &[]))], 5);
        assert_eq!((c.bbo(), c.microprice()), (None, None));
    }

    #[test]
    fn detects_crossed_and_locked_venues() {
        let a = book(&[("100", "1")], &[("101", "1")]);
        let b = book(&[("101", "1")], &[("102", "1")]);
        let c_ = book(&[("101.5", "1")], &[("103", "1")]);
        let mut c = ConsolidatedBook::new();
        c.rebuild(&[(Venue::Binance, &a), (Venue::Kraken, &b)], 5);
        assert_eq!(c.cross(), Cross::Locked { bid: Venue::Kraken, ask: Venue::Binance });
        c.rebuild(&[(Venue::Binance, &a), (Venue::Kraken, &b), (Venue::Coinbase, &c_)], 5);
        assert_eq!(c.cross(), Cross::Crossed { bid: Venue::Coinbase, ask: Venue::Binance });
        c.rebuild(&[(Venue::Binance, &a)], 5);
        assert_eq!(c.cross(), Cross::None);
    }
}
