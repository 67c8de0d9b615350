//! Serves a recording on 127.0.0.1 with the replay server and watches it with the live connector,
//! in one process; prints the connector's report (the `verify` shape plus connection counters)
//! and whether it equals the offline `verify` of the same file.
//!
//! ```text
//! cargo run -p wintermute-feeds --example serve_watch -- data/kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt fast
//! cargo run -p wintermute-feeds --example serve_watch -- data/coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt 10
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use wintermute_feeds::net::blocking::{
    recorded_subscription, replay_serve_blocking, watch_blocking, ServeLimits, WatchLimits,
};
use wintermute_feeds::net::client::FeedConfig;
use wintermute_feeds::net::replay_server::{Pace, ReplayOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: serve_watch FILE [fast|recorded|SPEED]");
        return ExitCode::FAILURE;
    };
    match run(path, args.get(1).map(String::as_str).unwrap_or("fast")) {
        Ok(same) if same => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: PathBuf, pace: &str) -> Result<bool, wintermute_feeds::FeedError> {
    let pace: Pace = pace.parse()?;
    let (venue, symbols) = recorded_subscription(&path)?;
    let offline = wintermute_feeds::verify_path(&path)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let serve_path = path.clone();
    let server = std::thread::spawn(move || {
        let options = ReplayOptions { pace, ..Default::default() };
        let limits = ServeLimits { duration: Some(Duration::from_secs(600)), exit_when_drained: true };
        replay_serve_blocking(&serve_path, options, limits, |ws, rest| {
            let _ = tx.send((ws.to_string(), rest.to_string()));
        })
    });
    let Ok((ws, rest)) = rx.recv_timeout(Duration::from_secs(10)) else {
        return Err(wintermute_feeds::FeedError::Config { field: "server", reason: "did not start".into() });
    };
    eprintln!("serving {} ({venue:?}) on {ws} (REST {rest})", path.display());
    let mut config = FeedConfig::new(venue, symbols);
    config.ws_base = ws;
    config.rest_base = rest;
    config.max_attempts = Some(3);
    let total = offline_frames(&path)?;
    let report = watch_blocking(&config, WatchLimits { duration: Duration::from_secs(600), max_frames: Some(total) })?;
    println!("{}", report.to_json());
    let mut want = offline;
    want.streams.retain(|s| s.venue == venue);
    let same = report.verify_report() == want;
    eprintln!("network report equals offline verify: {same}");
    if let Ok(Ok(stats)) = server.join() {
        eprintln!("server: {stats:?}");
    }
    Ok(same)
}

fn offline_frames(path: &std::path::Path) -> Result<u64, wintermute_feeds::FeedError> {
    let text = wintermute_feeds::recording::read_recording(path)?;
    let mut n = 0;
    for r in wintermute_feeds::recording::records(&text) {
        if matches!(r?, wintermute_feeds::recording::Record::Received { .. }) {
            n += 1;
        }
    }
    Ok(n)
}
