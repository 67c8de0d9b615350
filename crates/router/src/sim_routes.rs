//! The simulators of a live config's hedge routes, served on 127.0.0.1 for another process to
//! reach as it would the venues: plain HTTP, or behind a TLS front with a certificate the caller
//! gives (a private authority's), each with a fresh key the caller can write to key files.
//!
//! This is what `wintermute mm --live` and `wintermute route kill` are tested against end to
//! end from Python (`wintermute._core.RouteSimulators`): the CLI's routes point at
//! [`RouteSimulators::urls`] and [`RouteSimulators::ws_urls`] (`[hedge.live.<venue>] url`,
//! `ws_url`, `ca_file`, `keys_file`), and
//! [`RouteSimulators::place_resting`] leaves open orders for a kill switch to find. Each
//! simulator serves the route's symbol on the config's grid with an empty book (so a limit
//! order rests; an IOC finds nothing), as [`crate::paper`] starts them but without following
//! any feed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use wintermute_mm::live_config::LiveSetup;

use crate::binance::client::BinanceRestClient;
use crate::coinbase::client::CoinbaseRestClient;
use crate::kraken::client::KrakenRestClient;
use crate::order::{NewOrder, OrderType, TimeInForce};
use crate::order_state::Side;
use crate::paper::{plan, serve_with, PaperError, Plan, Served, Sim};
use crate::signing::BinanceSigner;
use crate::venue::VenueClient;

/// A client of one route's simulator with the route's key, as another process would hold.
enum OtherClient {
    Binance(BinanceRestClient),
    Coinbase(CoinbaseRestClient),
    Kraken(KrakenRestClient),
}

/// One served route.
struct Route {
    venue: &'static str,
    symbol: String,
    sim: Sim,
    /// Behind TLS: the front's address and the WebSocket front's.
    front: Option<(SocketAddr, Option<SocketAddr>)>,
    keys: String,
    coinbase_pkcs8: Option<Vec<u8>>,
}

/// The simulators of a config's routes (see the module docs). Dropping it stops them.
pub struct RouteSimulators {
    routes: Vec<Route>,
    clients: Mutex<Vec<OtherClient>>,
    runtime: tokio::runtime::Runtime,
    served: Mutex<Option<Served>>,
}

impl std::fmt::Debug for RouteSimulators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSimulators").field("urls", &self.urls()).finish_non_exhaustive()
    }
}

impl Drop for RouteSimulators {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

impl RouteSimulators {
    /// Starts a simulator for each of `setup`'s hedge routes, behind a TLS front when `tls`
    /// gives a certificate chain and key (PEM).
    pub fn start(setup: &LiveSetup, tls: Option<(&str, &str)>) -> Result<Self, PaperError> {
        let start_err = |e: String| PaperError::Start { venue: "tls", source: std::io::Error::other(e) };
        let tls =
            tls.map(|(chain, key)| crate::sim::tls_front::server_config(chain, key)).transpose().map_err(start_err)?;
        let mut plans = Vec::new();
        let mut routes = Vec::new();
        let mut clients = Vec::new();
        for &i in &setup.hedge_routes {
            let (mut plan, symbol, config) = plan(setup, i)?;
            if let Plan::Coinbase(cfg, ..) = &mut plan {
                cfg.host = "127.0.0.1".into(); // the host the routes' tokens name (their URL's)
            }
            let venue = setup.streams[i].venue.name();
            routes.push((venue, symbol, config));
            plans.push(plan);
        }
        let (sims, served) = serve_with(&plans, tls)?;
        let mut out = Vec::new();
        for ((plan, (sim, front)), (venue, symbol, config)) in plans.into_iter().zip(sims).zip(routes) {
            let addr = sim.addr();
            let (keys, coinbase_pkcs8, client) = match plan {
                Plan::Binance(_, secret) => {
                    let text = String::from_utf8_lossy(&secret).into_owned();
                    let keys = format!(
                        "WINTERMUTE_BINANCE_API_KEY={}\nWINTERMUTE_BINANCE_API_SECRET={text}\n",
                        crate::paper::API_KEY
                    );
                    let signer = BinanceSigner::hmac_sha256(secret);
                    let client = BinanceRestClient::new(addr, crate::paper::API_KEY, signer, vec![config.instrument]);
                    (keys, None, OtherClient::Binance(client))
                }
                Plan::Coinbase(cfg, signer, product, pkcs8) => {
                    let keys =
                        format!("WINTERMUTE_COINBASE_KEY_NAME=organizations/paper/apiKeys/{}\n", crate::paper::API_KEY);
                    let client = CoinbaseRestClient::new(addr, &cfg.host, signer, vec![product]);
                    (keys, Some(pkcs8), OtherClient::Coinbase(client))
                }
                Plan::Kraken(cfg, signer, pair) => {
                    let secret = cfg.keys.first().map(|k| k.1.clone()).unwrap_or_default();
                    let keys = format!(
                        "WINTERMUTE_KRAKEN_API_KEY={}\nWINTERMUTE_KRAKEN_API_SECRET={secret}\n",
                        crate::paper::API_KEY
                    );
                    let client = KrakenRestClient::new(addr, crate::paper::API_KEY, signer, vec![pair], cfg.tier);
                    (keys, None, OtherClient::Kraken(client))
                }
            };
            clients.push(client);
            out.push(Route { venue, symbol, sim, front, keys, coinbase_pkcs8 });
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| PaperError::Start { venue: "runtime", source })?;
        Ok(RouteSimulators { routes: out, clients: Mutex::new(clients), runtime, served: Mutex::new(Some(served)) })
    }

    /// Each route's venue and URL (`https://127.0.0.1:PORT` behind TLS, else `http://`).
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        self.routes
            .iter()
            .map(|r| match r.front {
                Some((front, _)) => (r.venue, format!("https://{front}")),
                None => (r.venue, format!("http://{}", r.sim.addr())),
            })
            .collect()
    }

    /// The WebSocket URL of each route that has one (Kraken's v2 order entry,
    /// `ws://127.0.0.1:PORT/v2`, and Coinbase's `user` channel; `wss://` behind TLS), for
    /// `[hedge.live.<venue>] ws_url`.
    pub fn ws_urls(&self) -> Vec<(&'static str, String)> {
        self.routes
            .iter()
            .filter_map(|r| match r.front {
                Some((_, ws)) => ws.map(|ws| (r.venue, r.sim.ws_url(ws, true))),
                None => r.sim.ws_addr().map(|ws| (r.venue, r.sim.ws_url(ws, false))),
            })
            .collect()
    }

    /// Writes each route's key file (`<venue>.keys`, owner-only; Coinbase's private key beside
    /// it as `coinbase.pem`) into `dir`; returns (venue, path).
    pub fn write_key_files(&self, dir: &Path) -> std::io::Result<Vec<(&'static str, PathBuf)>> {
        let mut out = Vec::new();
        for r in &self.routes {
            let mut keys = r.keys.clone();
            if let Some(pkcs8) = &r.coinbase_pkcs8 {
                let pem_path = dir.join("coinbase.pem");
                write_private(&pem_path, &pem("PRIVATE KEY", pkcs8))?;
                keys.push_str(&format!("WINTERMUTE_COINBASE_PRIVATE_KEY_FILE={}\n", pem_path.display()));
            }
            let path = dir.join(format!("{}.keys", r.venue));
            write_private(&path, &keys)?;
            out.push((r.venue, path));
        }
        Ok(out)
    }

    /// The open orders `venue`'s simulator holds on the route's symbol (`None`: no such route).
    pub fn open_orders(&self, venue: &str) -> Option<usize> {
        let r = self.routes.iter().find(|r| r.venue == venue)?;
        Some(match &r.sim {
            Sim::Binance(s) => s.open_order_count(&r.symbol),
            Sim::Coinbase(s) => s.open_order_count(),
            Sim::Kraken(s) => s.open_order_count(),
        })
    }

    /// Places `n` resting limit buys (100 lots at 10,000 ticks: 0.1 at 100.00 on a cent and
    /// 0.001 grid, above the simulators' minimum notional) on `venue` with the route's key, as another
    /// process would (a kill switch must find them); returns how many the venue took.
    pub fn place_resting(&self, venue: &str, n: usize) -> Result<usize, String> {
        let k = self.routes.iter().position(|r| r.venue == venue).ok_or_else(|| format!("no route to {venue}"))?;
        let symbol = self.routes[k].symbol.clone();
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let client = &mut clients[k];
        self.runtime.block_on(async {
            let mut placed = 0;
            for id in 0..n {
                placed += match client {
                    OtherClient::Binance(c) => rest(c, &symbol, id).await?,
                    OtherClient::Coinbase(c) => rest(c, &symbol, id).await?,
                    OtherClient::Kraken(c) => rest(c, &symbol, id).await?,
                };
            }
            Ok(placed)
        })
    }

    /// Stops the simulators. Idempotent.
    pub fn stop(&self) {
        if let Some(served) = self.served.lock().unwrap_or_else(PoisonError::into_inner).take() {
            served.end();
        }
    }
}

async fn rest<C: VenueClient>(client: &mut C, symbol: &str, id: usize) -> Result<usize, String> {
    let order = NewOrder {
        symbol: symbol.to_owned(),
        client_order_id: client.client_order_id(1_000 + id as u64, 0),
        side: Side::Buy,
        qty: 100,
        order_type: OrderType::Limit { price: 10_000, tif: TimeInForce::Gtc },
    };
    let reports = client.place(&order).await.map_err(|e| e.to_string())?;
    Ok(usize::from(!reports.iter().any(|r| matches!(r.kind, crate::order_state::ReportKind::Rejected { .. }))))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_block_wraps_at_64_columns() {
        let text = pem("PRIVATE KEY", &[7u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN PRIVATE KEY-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last().copied(), Some("-----END PRIVATE KEY-----"));
    }
}
