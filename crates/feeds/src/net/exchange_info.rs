//! Binance instruments' tick and lot sizes from `GET /api/v3/exchangeInfo`, for the integer books.
//!
//! The integer Binance books ([`BinanceTickFeed`](crate::sync::BinanceTickFeed)) need each
//! symbol's tick size and lot size. They can be given ([`FeedConfig::binance_scales`]) or, with
//! [`FeedConfig::binance_fetch_scales`], fetched before connecting: one request for the
//! subscribed symbols that have no scale yet,
//! `GET {rest_base}/api/v3/exchangeInfo?symbols=["BTCUSDT","ETHUSDT"]` (URL-encoded), whose
//! `symbols[].filters[]` carry `PRICE_FILTER.tickSize` and `LOT_SIZE.stepSize`. A symbol the
//! answer does not describe is an error naming it (never a guessed scale).
//!
//! The replay server answers the same request from the scales it is given
//! ([`ReplayOptions::binance_exchange_info`](super::replay_server::ReplayOptions)), so the path is
//! tested on 127.0.0.1 like the rest of the connector.
//!
//! ```
//! use wintermute_feeds::net::exchange_info::{exchange_info_body, scales_from_exchange_info};
//! let body = exchange_info_body(&[("BTCUSDT".into(), "0.01".into(), "0.00001".into())]);
//! let scales = scales_from_exchange_info(&body).unwrap();
//! assert_eq!(scales[0].0, "BTCUSDT");
//! assert_eq!(scales[0].1.tick_size().as_str(), "0.01000000");
//! ```

use std::sync::Arc;

use serde_json::Value;

use super::client::FeedConfig;
use super::{http, tls};
use crate::binance_ticks::TickScale;
use crate::error::FeedError;
use crate::message::Venue;

fn err(reason: String) -> FeedError {
    FeedError::Config { field: "binance_exchange_info", reason }
}

/// The exchangeInfo URL for `symbols` (`symbols=["A","B"]`, URL-encoded as Binance documents).
pub fn exchange_info_url(rest_base: &str, symbols: &[String]) -> String {
    let list: Vec<String> = symbols.iter().map(|s| format!("%22{}%22", s.to_ascii_uppercase())).collect();
    format!("{}/api/v3/exchangeInfo?symbols=%5B{}%5D", rest_base.trim_end_matches('/'), list.join(","))
}

/// Each described symbol's scale (`PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`), in the order
/// of the answer. A symbol lacking either filter is an error naming it.
pub fn scales_from_exchange_info(body: &str) -> Result<Vec<(String, TickScale)>, FeedError> {
    let v: Value = serde_json::from_str(body).map_err(|e| err(format!("exchangeInfo is not JSON: {e}")))?;
    let symbols =
        v.get("symbols").and_then(Value::as_array).ok_or_else(|| err("exchangeInfo has no symbols".into()))?;
    let mut out = Vec::with_capacity(symbols.len());
    for s in symbols {
        let name = s.get("symbol").and_then(Value::as_str).ok_or_else(|| err("a symbol without a name".into()))?;
        let filters = s.get("filters").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let field = |kind: &str, key: &str| {
            filters
                .iter()
                .find(|f| f.get("filterType").and_then(Value::as_str) == Some(kind))
                .and_then(|f| f.get(key))
                .and_then(Value::as_str)
                .ok_or_else(|| err(format!("symbol={name}: no {kind}.{key}")))
        };
        let scale = TickScale::new(field("PRICE_FILTER", "tickSize")?, field("LOT_SIZE", "stepSize")?)
            .map_err(|e| err(format!("symbol={name}: {e}")))?;
        out.push((name.to_string(), scale));
    }
    Ok(out)
}

/// An exchangeInfo body in Binance's shape describing `(symbol, tick_size, lot_size)` (what the
/// replay server serves).
pub fn exchange_info_body(scales: &[(String, String, String)]) -> String {
    let symbols: Vec<Value> = scales
        .iter()
        .map(|(symbol, tick, lot)| {
            serde_json::json!({
                "symbol": symbol.to_ascii_uppercase(),
                "status": "TRADING",
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "0", "tickSize": padded(tick)},
                    {"filterType": "LOT_SIZE", "minQty": lot, "maxQty": "0", "stepSize": padded(lot)},
                ],
            })
        })
        .collect();
    serde_json::json!({"timezone": "UTC", "serverTime": 0, "symbols": symbols}).to_string()
}

/// Binance writes sizes with 8 decimals (`0.01000000`).
fn padded(size: &str) -> String {
    let frac = size.split_once('.').map_or(0, |(_, f)| f.len());
    match (size.contains('.'), frac < 8) {
        (true, true) => format!("{size}{}", "0".repeat(8 - frac)),
        (false, _) => format!("{size}.00000000"),
        _ => size.to_string(),
    }
}

/// With [`FeedConfig::binance_fetch_scales`]: fetches the scales of the subscribed symbols that
/// have none yet and adds them to [`FeedConfig::binance_scales`] (then clears the flag). Errors:
/// another venue, the request failing, or a symbol the answer does not describe.
pub async fn fill_binance_scales(config: &mut FeedConfig) -> Result<(), FeedError> {
    if !config.binance_fetch_scales {
        return Ok(());
    }
    if config.venue != Venue::Binance {
        return Err(err(format!("exchangeInfo is Binance's, not venue={}", config.venue.name())));
    }
    let have: Vec<String> = config.binance_scales.iter().map(|(s, _)| s.to_ascii_uppercase()).collect();
    let missing: Vec<String> =
        config.symbols.iter().map(|s| s.to_ascii_uppercase()).filter(|s| !have.contains(s)).collect();
    if !missing.is_empty() {
        let url = exchange_info_url(&config.rest_base, &missing);
        let tls = tls::client_config(config.tls_ca_file.as_deref())?;
        let body = http::get(&url, config.http_timeout, &Arc::clone(&tls)).await?;
        let fetched = scales_from_exchange_info(&body)?;
        for symbol in &missing {
            let scale = fetched
                .iter()
                .find(|(s, _)| s.eq_ignore_ascii_case(symbol))
                .map(|(_, scale)| *scale)
                .ok_or_else(|| err(format!("symbol={symbol}: not described by {url}")))?;
            config.binance_scales.push((symbol.clone(), scale));
        }
    }
    config.binance_fetch_scales = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_and_errors_name_the_symbol() {
        let body = exchange_info_body(&[
            ("btcusdt".into(), "0.01".into(), "0.00001".into()),
            ("DOTUSDT".into(), "0.0001".into(), "1".into()),
        ]);
        let scales = scales_from_exchange_info(&body).unwrap();
        assert_eq!(scales.len(), 2);
        assert_eq!(scales[0], ("BTCUSDT".to_string(), TickScale::new("0.01", "0.00001").unwrap()));
        assert_eq!(scales[1].1.price("43.5083").unwrap(), 435_083);
        assert_eq!(scales[1].1.lot_size().as_str(), "1.00000000");
        let no_lot = r#"{"symbols":[{"symbol":"X","filters":[{"filterType":"PRICE_FILTER","tickSize":"0.1"}]}]}"#;
        let e = scales_from_exchange_info(no_lot).unwrap_err().to_string();
        assert!(e.contains("symbol=X: no LOT_SIZE.stepSize"), "{e}");
        assert!(scales_from_exchange_info("{").is_err());
        assert_eq!(
            exchange_info_url("http://h/", &["btcusdt".into(), "ETHUSDT".into()]),
            "http://h/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D"
        );
    }
}
