//! Replays recordings and prints the verify report as JSON, one file per line.
//!
//! ```text
//! cargo run --release -p wintermute-feeds --example verify -- data/kraken/*.cfraw.txt
//! ```

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        match wintermute_feeds::verify_path(Path::new(&arg)) {
            Ok(report) => println!("{}", report.to_json()),
            Err(e) => {
                eprintln!("{arg}: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
