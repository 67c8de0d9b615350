//! The timed feed replays on the recorded Binance and Kraken sessions in `data/`.

use std::path::Path;

use wintermute_bench::feed_replay::{replay_binance_ticks, replay_venue, Message, Scale};
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::FeedError;
use wintermute_feeds::Venue;

fn messages(file: &str) -> Vec<Message> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(file);
    let text = read_recording(&path).unwrap();
    records(&text)
        .filter_map(|r| match r.unwrap() {
            Record::Received { payload, .. } => Some((None, payload.into_owned())),
            Record::Http { url, body, .. } => Some((Some(url.into_owned()), body.into_owned())),
            _ => None,
        })
        .collect()
}

const BINANCE: &str = "binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt";

fn scales() -> Vec<Scale> {
    [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")]
        .map(|(s, tick)| (s.to_owned(), tick.to_owned(), "0.00000001".to_owned()))
        .to_vec()
}

#[test]
fn binance_decimal_and_integer_builders_end_on_the_same_tops() {
    let msgs = messages(BINANCE);
    let decimal = replay_venue(Venue::Binance, None, 65_536, &msgs, 2).unwrap();
    let ticks = replay_venue(Venue::Binance, Some(&scales()), 65_536, &msgs, 2).unwrap();
    assert_eq!(decimal.messages, 2 * msgs.len());
    assert_eq!(decimal.errors, 0);
    assert!(decimal.updates > 0);
    let sorted = |mut t: Vec<(String, Option<String>, Option<String>)>| {
        t.sort();
        t
    };
    let (d, t) = (sorted(decimal.tops), sorted(ticks.tops));
    assert_eq!(d.len(), 3, "{d:?}");
    // The integer handler prints its prices at the instrument's scale: compare as numbers.
    let num = |p: &Option<String>| p.as_deref().map(|p| p.parse::<f64>().unwrap());
    for (a, b) in d.iter().zip(&t) {
        assert_eq!((&a.0, num(&a.1), num(&a.2)), (&b.0, num(&b.1), num(&b.2)));
    }

    let router = replay_binance_ticks(&scales(), 65_536, &msgs, 1).unwrap();
    assert_eq!(router.messages, msgs.len());
    assert_eq!(router.tops.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["BTCUSDT", "ETHUSDT", "DOTUSDT"]);
    let btc = d.iter().find(|t| t.0 == "BTCUSDT").unwrap();
    let bid_ticks = router.tops[0].1.unwrap();
    assert_eq!(bid_ticks as f64 * 0.01, num(&btc.1).unwrap());
}

#[test]
fn kraken_replays_without_errors_and_refuses_tick_scales() {
    let msgs = messages("kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt");
    let r = replay_venue(Venue::Kraken, None, 65_536, &msgs, 1).unwrap();
    assert_eq!(r.errors, 0);
    assert!(r.updates > 0 && !r.tops.is_empty());
    let err = replay_venue(Venue::Kraken, Some(&scales()), 65_536, &msgs, 1).unwrap_err();
    assert!(matches!(err, FeedError::Config { field: "scales", .. }), "{err}");
    assert!(err.to_string().contains("venue=kraken"), "{err}");
}

#[test]
fn a_bad_tick_scale_is_a_feed_error() {
    let bad = vec![("BTCUSDT".to_owned(), "zero".to_owned(), "1".to_owned())];
    assert!(replay_binance_ticks(&bad, 1024, &[], 1).is_err());
    assert!(replay_venue(Venue::Binance, Some(&bad), 1024, &[], 1).is_err());
}
