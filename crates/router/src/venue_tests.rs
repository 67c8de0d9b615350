//! The reconciliation and the kill switch over a fake venue that records each step it is asked
//! for, with the orders it is given.

use std::collections::{HashMap, HashSet};

use wintermute_core::decimal::Decimal;

use super::*;
use crate::order_state::{FillReport, OrderStatus, ReportKind, Side};

/// What the venue knows of one of our orders.
struct AtVenue {
    venue_id: String,
    open: bool,
    /// (trade id, lots), and from which fetch of the fills on the venue shows each.
    trades: Vec<(u64, i64, usize)>,
}

/// A venue whose queries are per symbol (like Binance's); trades name orders by venue id.
#[derive(Default)]
struct FakeVenue {
    orders: OrderTable,
    symbols: HashMap<String, String>,
    venue: HashMap<String, AtVenue>,
    fetches: usize,
    steps: Vec<String>,
}

impl FakeVenue {
    /// An order we sent on `symbol`; `venue_id_known` if its answer arrived.
    fn sent(&mut self, id: &str, symbol: &str, venue_id_known: bool, at_venue: Option<AtVenue>) {
        self.orders.insert(OrderState::new(id, Side::Buy, 10));
        self.symbols.insert(id.to_owned(), symbol.to_owned());
        if venue_id_known {
            let venue_id = at_venue.as_ref().map(|v| v.venue_id.clone());
            self.orders.apply(&self.answer(id, venue_id, ReportKind::New, None)).unwrap();
        }
        if let Some(at_venue) = at_venue {
            self.venue.insert(id.to_owned(), at_venue);
        }
    }

    fn answer(&self, id: &str, venue_id: Option<String>, kind: ReportKind, cum_qty: Option<i64>) -> ExecutionReport {
        let symbol = self.symbols.get(id).map_or("", String::as_str);
        ExecutionReport { cum_qty, ..ExecutionReport::answered(Venue::Binance, symbol, id, venue_id, kind, 1) }
    }

    fn record(&mut self, step: &str, ids: &[String]) {
        let mut ids = ids.to_vec();
        ids.sort();
        self.steps.push(format!("{step} {}", ids.join(",")).trim_end().to_owned());
    }

    fn executed(&self, id: &str) -> i64 {
        self.venue.get(id).map_or(0, |v| v.trades.iter().map(|t| t.1).sum())
    }
}

impl VenueClient for FakeVenue {
    type Error = std::io::Error;

    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn error_kind(_: &std::io::Error) -> ErrorKind {
        ErrorKind::Other
    }

    fn orders(&self) -> &OrderTable {
        &self.orders
    }

    async fn place(&mut self, _: &NewOrder) -> Result<Vec<ExecutionReport>, std::io::Error> {
        Ok(Vec::new())
    }

    async fn cancel(&mut self, _: &str, _: &str) -> Result<Vec<ExecutionReport>, std::io::Error> {
        Ok(Vec::new())
    }

    fn reconciles(&self, symbol: &str, client_order_id: &str) -> bool {
        self.symbols.get(client_order_id).is_some_and(|s| s == symbol)
    }

    async fn settle_unanswered(
        &mut self,
        _: &str,
        ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), std::io::Error> {
        self.record("unanswered", ids);
        for id in ids {
            let report = match self.venue.get(id) {
                Some(v) => self.answer(id, Some(v.venue_id.clone()), ReportKind::New, None),
                None => ExecutionReport::never_reached_the_book(Venue::Binance, "", id, 1),
            };
            summary.merge(&mut self.orders, &[report]);
        }
        Ok(())
    }

    async fn merge_missed_fills(&mut self, _: &str, summary: &mut ReconcileSummary) -> Result<(), std::io::Error> {
        self.record("fills", &[]);
        let mut reports = Vec::new();
        for (id, at_venue) in &self.venue {
            // Trades name the order by venue id: an order whose id the table lacks gets none.
            let known = self.orders.get(id).and_then(|o| o.venue_order_id.as_deref()) == Some(&at_venue.venue_id);
            for &(trade_id, qty, _) in at_venue.trades.iter().filter(|t| known && t.2 <= self.fetches) {
                let fill = FillReport {
                    trade_id,
                    price: 100,
                    qty,
                    fee: Decimal::new(0, 0),
                    fee_currency: "USDT".into(),
                    is_maker: true,
                };
                reports.push(self.answer(id, Some(at_venue.venue_id.clone()), ReportKind::Trade(fill), None));
            }
        }
        self.fetches += 1;
        summary.merge(&mut self.orders, &reports);
        Ok(())
    }

    async fn merge_open_orders(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, std::io::Error> {
        self.record("open", &[]);
        let listed: HashSet<String> = self
            .venue
            .iter()
            .filter(|(id, v)| v.open && self.symbols.get(*id).is_some_and(|s| s == symbol))
            .map(|(id, _)| id.clone())
            .collect();
        let reports: Vec<_> = listed
            .iter()
            .map(|id| self.answer(id, Some(self.venue[id].venue_id.clone()), ReportKind::New, None))
            .collect();
        summary.merge(&mut self.orders, &reports);
        Ok(listed)
    }

    async fn settle_unlisted(
        &mut self,
        _: &str,
        ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), std::io::Error> {
        self.record("unlisted", ids);
        for id in ids {
            let venue_id = self.venue.get(id).map(|v| v.venue_id.clone());
            let report = self.answer(id, venue_id, ReportKind::Canceled, Some(self.executed(id)));
            summary.merge(&mut self.orders, &[report]);
        }
        Ok(())
    }

    async fn cancel_open(&mut self, symbol: &str) -> Result<usize, std::io::Error> {
        let open: Vec<String> = self
            .venue
            .iter()
            .filter(|(id, v)| v.open && self.symbols.get(*id).is_some_and(|s| s == symbol))
            .map(|(id, _)| id.clone())
            .collect();
        self.record("cancel", &open);
        for id in &open {
            self.venue.get_mut(id).unwrap().open = false;
        }
        Ok(open.len())
    }
}

/// `lost`: its answer was lost, it rests and traded 3 (trade 7); `rest`: rests; `gone`: canceled
/// at the venue after trading 2 (trade 8, which the venue lists only from the second fetch on);
/// `elsewhere`: on another symbol, its answer lost too.
fn venue() -> FakeVenue {
    let mut v = FakeVenue::default();
    let at = |venue_id: &str, open, trades: Vec<(u64, i64, usize)>| AtVenue { venue_id: venue_id.into(), open, trades };
    v.sent("lost", "BTCUSDT", false, Some(at("v1", true, vec![(7, 3, 0)])));
    v.sent("rest", "BTCUSDT", true, Some(at("v2", true, vec![])));
    v.sent("gone", "BTCUSDT", true, Some(at("v3", false, vec![(8, 2, 1)])));
    v.sent("elsewhere", "ETHUSDT", false, None);
    v
}

fn run<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

#[test]
fn each_step_sees_what_the_steps_before_it_settled_and_fills_are_fetched_again_while_some_are_missing() {
    let mut v = venue();
    let summary = run(reconcile(&mut v, "BTCUSDT")).unwrap();
    assert_eq!(v.steps, ["unanswered lost", "fills", "open", "unlisted gone", "fills"]);
    assert_eq!(summary.new_fills, 2, "{summary:?}");
    let lost = v.orders.get("lost").unwrap();
    assert_eq!((lost.status(), lost.filled_qty()), (OrderStatus::PartiallyFilled, 3), "attributed after its id");
    let gone = v.orders.get("gone").unwrap();
    assert_eq!((gone.status(), gone.filled_qty(), gone.missing_qty()), (OrderStatus::Canceled, 2, 0));
    assert_eq!(v.orders.get("elsewhere").unwrap().status(), OrderStatus::PendingNew, "another symbol's");
}

#[test]
fn reconciling_twice_changes_nothing_and_asks_only_for_fills_and_open_orders() {
    let mut v = venue();
    run(reconcile(&mut v, "BTCUSDT")).unwrap();
    v.steps.clear();
    let again = run(reconcile(&mut v, "BTCUSDT")).unwrap();
    assert_eq!(again, ReconcileSummary::default());
    assert_eq!(v.steps, ["fills", "open"]);
}

#[test]
fn the_kill_switch_cancels_before_it_reconciles_and_counts_what_the_venue_canceled() {
    let mut v = venue();
    assert_eq!(run(kill_switch(&mut v, "BTCUSDT")).unwrap(), 2);
    assert_eq!(v.steps, ["cancel lost,rest", "unanswered lost", "fills", "open", "unlisted gone,lost,rest", "fills"]);
    assert!(["lost", "rest", "gone"].iter().all(|id| v.orders.get(id).unwrap().status().is_terminal()));
    assert_eq!(v.orders.get("elsewhere").unwrap().status(), OrderStatus::PendingNew);
}
