//! The config schema: defaults equal to the Rust builder's, one error per bad value naming its
//! key, and a resolved document that reads back to itself.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use wintermute_core::InstrumentSpec;

use super::*;
use crate::journal::{FsyncPolicy, JournalConfig};
use crate::risk::{AccountLimits, PriceBand};

fn btc() -> Value {
    json!({"symbol": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
           "max_qty": "100", "min_price": "1", "max_price": "1000000"})
}

fn btc_spec() -> InstrumentSpec {
    InstrumentSpec::from_decimals("BTC-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").unwrap()
}

fn with(extra: Value) -> Value {
    let mut doc = json!({"instruments": [btc()]});
    if let (Value::Object(doc), Value::Object(extra)) = (&mut doc, extra) {
        doc.extend(extra);
    }
    doc
}

fn config(doc: Value, cores: usize) -> Result<PipelineConfig, ConfigError> {
    PipelineSettings::from_value(doc)?.to_config(cores, None)
}

/// The engine's config has no `PartialEq` (journal paths, instrument specs): its debug text
/// says everything it holds.
fn same(a: &PipelineConfig, b: &PipelineConfig) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn a_document_with_only_instruments_is_the_builders_default_on_every_core_count() {
    for cores in [1, 2, 3, 4, 8, 64] {
        same(&config(with(json!({})), cores).unwrap(), &PipelineConfig::for_cores(vec![btc_spec()], cores));
    }
}

#[test]
fn given_keys_are_the_builders_methods() {
    let doc = with(json!({
        "gateways": {"count": 4},
        "subscriptions": {"count": 2, "capacity": 1024},
        "topology": "split",
        "journal": {"dir": "/tmp/j", "fsync": "none", "sync": "background", "sync_interval_ms": 5},
        "risk": {"accounts": {"7": {"max_order_qty": 10, "price_band_bps": 500}}},
    }));
    let built = PipelineConfig::for_cores(vec![btc_spec()], 2)
        .gateways(4)
        .subscriptions(2, 1024)
        .topology(Topology::Split)
        .journal(JournalConfig::new("/tmp/j").fsync(FsyncPolicy::None))
        .background_sync(Duration::from_millis(5))
        .risk(RiskConfig::permissive().account(
            7,
            AccountLimits { max_order_qty: 10, price_band: Some(PriceBand::Bps(500)), ..AccountLimits::UNLIMITED },
        ));
    same(&config(doc, 2).unwrap(), &built);
}

#[test]
fn every_bad_value_is_one_error_naming_its_key() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "instruments", "non-empty list"),
        (with(json!({"gateway": {}})), "gateway", "unknown key"),
        (json!({"instruments": [{"symbol": "X", "tick": "1"}]}), "instruments[0].tick", "unknown key"),
        (json!({"instruments": [{"symbol": "X"}]}), "instruments[0].tick_size", "missing"),
        (json!({"instruments": [{"symbol": "", "tick_size": "1"}]}), "instruments[0].symbol", "non-empty"),
        (json!({"instruments": [btc(), btc()]}), "instruments[1].symbol", "duplicate"),
        (with(json!({"gateways": {"count": 0}})), "gateways.count", "0 is out of range [1, 65536]"),
        (with(json!({"gateways": {"count": "4"}})), "gateways.count", "expected an integer"),
        (with(json!({"gateways": {"backpressure": "drop"}})), "gateways.backpressure", "block"),
        (with(json!({"topology": "ring"})), "topology", "merged"),
        (with(json!({"threads": {"risk": {"wait": "nap"}}})), "threads.risk.wait", "park"),
        (
            with(json!({"threads": {"risk": {"wait": {"kind": "park", "timeout_us": 0}}}})),
            "threads.risk.wait.timeout_us",
            "range",
        ),
        (with(json!({"threads": {"io": {}}})), "threads.io", "unknown key"),
        (with(json!({"threads": {"risk": {"core": -1}}})), "threads.risk.core", "range"),
        (
            with(json!({"subscriptions": {"count": 2, "book_deltas": [true]}})),
            "subscriptions.book_deltas",
            "one per subscription",
        ),
        (
            with(json!({"subscriptions": {"count": 2, "book_deltas": [true, null]}})),
            "subscriptions.book_deltas[1]",
            "true or false",
        ),
        (with(json!({"journal": {"fsync": "none"}})), "journal.dir", "directory"),
        (with(json!({"journal": {"dir": "j", "segment_size": 10}})), "journal.segment_size", "range"),
        (with(json!({"journal": {"dir": "j", "archive_dir": "a"}})), "journal.archive_dir", "needs prune_segments"),
        (with(json!({"risk": {"accounts": {"x": {}}}})), "risk.accounts.x", "integer"),
        (with(json!({"risk": {"accounts": {"7": {"max_position": -1}}}})), "risk.accounts.7.max_position", "range"),
        (
            with(json!({"risk": {"default_limits": {"order_rate_burst": 5}}})),
            "risk.default_limits.order_rate_burst",
            "needs",
        ),
        (
            with(json!({"risk": {"reject_unknown_accounts": true, "default_limits": {}}})),
            "risk.reject_unknown_accounts",
            "not both",
        ),
        (
            with(json!({"risk": {"reference_prices": {"ETH-USD": "1"}}})),
            "risk.reference_prices.ETH-USD",
            "unknown instrument",
        ),
        (
            with(json!({"risk": {"reference_prices": {"BTC-USD": "1.005"}}})),
            "risk.reference_prices.BTC-USD",
            "not a price",
        ),
        (
            with(json!({"risk": {"reference_prices": {"BTC-USD": "2000000"}}})),
            "risk.reference_prices.BTC-USD",
            "not a price",
        ),
        (with(json!({"risk": {"notional_scale": 4}})), "risk.notional_scale", "notional units"),
    ];
    for (doc, key, message) in cases {
        let e = config(doc.clone(), 2).expect_err(&doc.to_string());
        assert_eq!(e.key, key, "{doc}: {e}");
        assert!(e.message.contains(message), "{doc}: {e}");
        assert_eq!(e.to_string(), format!("config key {key}: {}", e.message));
    }
    let e = config(with(json!({"gateways": {"count": "4"}})), 2).unwrap_err();
    assert_eq!(e.message, "expected an integer, got string \"4\"");
    let e = PipelineSettings::from_json("{").unwrap_err();
    assert_eq!(e.key, "<top>");
    assert_eq!(PipelineSettings::default().resolve(0, None).unwrap_err().key, "cores");
}

#[test]
fn the_resolved_document_reads_back_to_itself_and_to_the_same_config() {
    let doc = with(json!({
        "threads": {"risk": {"wait": "park", "core": 1}},
        "gateways": {"count": 3, "backpressure": "reject"},
        "subscriptions": {"count": 2, "book_deltas": [true, false]},
        "journal": {"dir": "journal", "snapshot_every_records": 100, "prune_segments": true, "archive_dir": "old"},
        "risk": {"reject_unknown_accounts": true, "reference_prices": {"BTC-USD": "64000.5"},
                 "accounts": {"10": {"max_order_qty": 1}, "7": {}}},
    }));
    let settings = PipelineSettings::from_value(doc).unwrap();
    let resolved = settings.resolve(2, Some(Path::new("/etc/wm"))).unwrap();
    let journal = resolved.journal.as_ref().unwrap();
    assert_eq!(journal.dir.as_ref().unwrap().as_str(), "/etc/wm/journal");
    assert_eq!(journal.archive_dir.as_ref().unwrap().as_str(), "/etc/wm/old");
    let text = serde_json::to_string(&resolved).unwrap();
    let again = PipelineSettings::from_json(&text).unwrap();
    assert_eq!(again, resolved);
    assert_eq!(again.resolve(16, None).unwrap(), resolved, "a resolved document no longer depends on the machine");
    let config = again.to_config(2, None).unwrap();
    same(&config, &settings.to_config(2, Some(Path::new("/etc/wm"))).unwrap());
    let risk = config.risk.unwrap();
    assert_eq!(risk.default_limits, None);
    assert_eq!(risk.reference_prices, vec![(0, 6_400_050)]);
    assert_eq!(risk.accounts.iter().map(|a| a.0).collect::<Vec<_>>(), vec![7, 10]);
    assert_eq!(config.subscriptions.iter().map(|s| s.book_deltas).collect::<Vec<_>>(), vec![true, false]);
    assert_eq!(config.gateways, vec![GatewayConfig { capacity: 1 << 14, backpressure: Backpressure::Reject }; 3]);
    assert_eq!(config.snapshots.every_records, Some(100));
}

#[test]
fn limits_alone_name_their_keys_under_a_prefix() {
    let limits =
        LimitsSettings::from_json(r#"{"max_order_qty": 5, "order_rate_per_second": 10}"#, "limits[7]").unwrap();
    let l = limits.limits();
    assert_eq!(l.max_order_qty, 5);
    assert_eq!(l.order_rate.map(|r| (r.per_second, r.burst)), Some((10, 10)));
    let e = LimitsSettings::from_json(r#"{"max_order_qty": -5}"#, "limits[7]").unwrap_err();
    assert_eq!(e.key, "limits[7].max_order_qty");
    let e = LimitsSettings::from_json(r#"{"max_qty": 5}"#, "default_limits").unwrap_err();
    assert_eq!(e.key, "default_limits.max_qty");
    assert!(e.message.starts_with("unknown key"), "{e}");
}

#[test]
fn limits_read_back_from_the_engines_form_as_they_were_written() {
    for doc in [
        r#"{}"#,
        r#"{"max_order_qty": 5, "order_rate_per_second": 10, "order_rate_burst": 3}"#,
        r#"{"max_order_notional": 9000000, "max_open_orders": 0, "price_band_bps": 250}"#,
        r#"{"max_position": 40, "max_gross_exposure": 1, "max_net_exposure": 2, "price_band_ticks": 7}"#,
    ] {
        let written = LimitsSettings::from_json(doc, "limits").unwrap();
        let mut expected = written;
        // A rate without a burst gets the engine's burst, which reads back given.
        if expected.order_rate_per_second.is_some() && expected.order_rate_burst.is_none() {
            expected.order_rate_burst = expected.order_rate_per_second;
        }
        assert_eq!(LimitsSettings::from_limits(&written.limits()), expected, "{doc}");
        assert_eq!(written.canonical(), expected, "{doc}");
        assert_eq!(expected.canonical(), expected, "{doc}");
    }
    assert_eq!(LimitsSettings::from_limits(&AccountLimits::UNLIMITED), LimitsSettings::default());
    // Beyond what a document can say: no limit.
    let huge = AccountLimits { max_order_notional: i128::from(i64::MAX) + 1, ..AccountLimits::UNLIMITED };
    assert_eq!(LimitsSettings::from_limits(&huge).max_order_notional, None);
    let band = AccountLimits { price_band: Some(PriceBand::Ticks(12)), ..AccountLimits::UNLIMITED };
    let text = serde_json::to_string(&band).unwrap();
    assert_eq!(LimitsSettings::from_limits_json(&text, "x").unwrap(), LimitsSettings::from_limits(&band));
    assert_eq!(LimitsSettings::from_limits_json("{}", "control.limits").unwrap_err().key, "control.limits");
    assert_eq!(LimitsSettings::from_limits(&band).price_band_ticks.map(|t| t.get()), Some(12));
}
