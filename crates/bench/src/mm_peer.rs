//! The tape side of `wintermute bench backtest-peer`: the market-data events a backtest
//! configuration replays on the venue it quotes on, as plain integer rows, so that the bench can
//! hand the very same events to another backtester (hftbacktest) in the same run.
//!
//! One row per tape event of the quoted venue, in venue-time order:
//! `[ts_exch, ts_recv, kind, side, price, qty]` with `kind` 0 = level set (`qty == 0` deletes
//! it), 1 = trade (`side` the aggressor's), 2 = book cleared (a snapshot's levels follow),
//! 3 = book invalid (cleared, down until the next clear); `side` 0 = buy, 1 = sell; `price` in
//! ticks and `qty` in lots of the configuration's grid.

use wintermute_core::Side;
use wintermute_mm::backtest::tape::MdKind;
use wintermute_mm::backtest::{BacktestConfig, BacktestError};
use wintermute_mm::types::VenueId;

/// Integers per row.
pub const ROW: usize = 6;

/// The quoted venue's tape.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerTape {
    /// `ROW` integers per event (see the module docs).
    pub rows: Vec<[i64; ROW]>,
    /// Tick size of the grid, in the quote currency.
    pub tick_size: f64,
    /// Lot size of the grid, in the base currency.
    pub lot_size: f64,
    /// The quoted venue's name (`binance`, or `venue:symbol` for a recording).
    pub venue: String,
}

/// Builds the market of `config_json` and returns the tape of the venue it quotes on (an
/// external venue: our own venue is a matching engine, not an L2 tape).
pub fn quoted_tape(config_json: &str) -> Result<PeerTape, BacktestError> {
    let built = BacktestConfig::from_json(config_json)?.build()?;
    let [VenueId::External(v)] = built.quote_venues[..] else {
        return Err(BacktestError::Config {
            field: "quote_on",
            why: "must be one external venue (an L2 tape) to be replayed by another backtester".into(),
        });
    };
    let rows = built
        .tape
        .events
        .iter()
        .filter(|e| e.venue == v)
        .map(|e| {
            let kind = match e.kind {
                MdKind::Level => 0,
                MdKind::Trade => 1,
                MdKind::Clear => 2,
                MdKind::Invalid => 3,
            };
            let side = match e.side {
                Side::Buy => 0,
                Side::Sell => 1,
            };
            [e.ts_exch, e.ts_recv, kind, side, e.price, e.qty]
        })
        .collect();
    let (tick_size, lot_size) = built.grid;
    Ok(PeerTape { rows, tick_size, lot_size, venue: built.tape.venues[v as usize].clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(quote_on: &str) -> String {
        format!(
            r#"{{"seed": 5, "quote_on": "{quote_on}",
              "market": {{"kind": "synthetic", "duration_s": 2.0, "venues": [
                {{"name": "binance", "spread_ticks": 2}}, {{"name": "kraken", "spread_ticks": 3}}]}}}}"#
        )
    }

    #[test]
    fn the_quoted_venues_rows_are_its_tape_events_in_venue_time_order() {
        let all = BacktestConfig::from_json(&config("kraken")).unwrap().build().unwrap().tape;
        let tape = quoted_tape(&config("kraken")).unwrap();
        assert_eq!(tape.venue, "kraken");
        assert_eq!(tape.rows.len(), all.events.iter().filter(|e| e.venue == 1).count());
        assert!(tape.rows.len() > 100);
        assert_eq!(tape.rows[0][2], 2, "a synthetic venue starts with a clear");
        assert!(tape.rows.windows(2).all(|w| w[0][0] <= w[1][0]));
        assert!(tape.rows.iter().all(|r| r[1] >= r[0] && r[3] <= 1 && r[2] <= 3 && r[5] >= 0));
        assert!(tape.rows.iter().any(|r| r[2] == 1), "trades are on the tape");
        assert_eq!((tape.tick_size, tape.lot_size), (0.1, 0.0001));
    }

    #[test]
    fn quoting_on_our_venue_has_no_l2_tape_to_hand_over() {
        let err = quoted_tape(&config("ours")).unwrap_err();
        assert!(err.to_string().contains("quote_on"), "{err}");
    }
}
