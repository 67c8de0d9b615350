//! Shared set-up of the end-to-end tests: a simulator serving BTCUSDT from the recorded
//! Binance depth snapshot, and clients with HMAC or Ed25519 keys; what reports, a client's
//! order table and the simulator's trades say, in the tests' terms.
#![allow(dead_code)]

pub mod raw_http;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_router::binance::client::{BinanceOrderType, BinanceRestClient, NewOrder, TimeInForce};
use wintermute_router::binance::reports::BinanceInstrument;
use wintermute_router::binance::sim::{BinanceSim, SimConfig, SimKey, SimSymbol};
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::order_state::{ExecutionReport, ReportKind, Side};
use wintermute_router::signing::BinanceSigner;
use wintermute_router::sim::ws::WsVenue;
use wintermute_router::sim::{SimAnswer, SimRequest, SimServer, SimVenue};
use wintermute_router::venue::VenueClient;

pub const HMAC_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
pub const HMAC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
pub const ED_KEY: &str = "ed25519-test-key";
pub const ED_SEED: [u8; 32] = [11; 32];

/// The recorded BTCUSDT depth snapshot (limit=1000, 2021-04-04).
pub fn recorded_btcusdt_snapshot() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../data/binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt",
    );
    let text = read_recording(&path).expect("the recorded Binance session is readable");
    records(&text)
        .filter_map(Result::ok)
        .find_map(|r| match r {
            Record::Http { url, body, .. } if url.contains("symbol=BTCUSDT") => Some(body.into_owned()),
            _ => None,
        })
        .expect("the recording holds a BTCUSDT depth snapshot")
}

pub fn btcusdt() -> SimSymbol {
    SimSymbol::from_depth_snapshot("BTCUSDT", ("BTC", "USDT"), ("0.01", "0.000001"), &recorded_btcusdt_snapshot())
        .unwrap()
}

pub fn instrument() -> BinanceInstrument {
    BinanceInstrument::new("BTCUSDT", "0.01", "0.000001").unwrap()
}

pub fn keys() -> Vec<SimKey> {
    let ed = BinanceSigner::ed25519_seed(&ED_SEED).unwrap();
    vec![
        SimKey::Hmac { api_key: HMAC_KEY.into(), secret: HMAC_SECRET.as_bytes().to_vec() },
        SimKey::Ed25519 { api_key: ED_KEY.into(), public_key: ed.ed25519_public_key().unwrap() },
    ]
}

/// Both keys in one account (as two API keys of one Binance account): each sees the other's
/// orders.
pub fn one_account(cfg: &mut SimConfig) {
    cfg.shared_accounts = [HMAC_KEY, ED_KEY].iter().map(|k| ((*k).to_owned(), "main".to_owned())).collect();
}

pub async fn sim_with(config: impl FnOnce(&mut SimConfig)) -> BinanceSim {
    let mut cfg = SimConfig::new(vec![btcusdt()], keys());
    config(&mut cfg);
    BinanceSim::start(cfg).await.unwrap()
}

pub fn hmac_client(sim: &BinanceSim) -> BinanceRestClient {
    BinanceRestClient::new(
        sim.addr(),
        HMAC_KEY,
        BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec()),
        vec![instrument()],
    )
}

pub fn ed25519_client(sim: &BinanceSim) -> BinanceRestClient {
    BinanceRestClient::new(sim.addr(), ED_KEY, BinanceSigner::ed25519_seed(&ED_SEED).unwrap(), vec![instrument()])
}

/// Runs a test body on a current-thread runtime, bounded to 30 s.
pub fn run<F: Future<Output = ()>>(body: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), body).await.expect("the test finished within 30 s");
    });
}

pub fn ticks(price: &str) -> i64 {
    instrument().tick_size.units_of(price).unwrap()
}

pub fn lots(qty: &str) -> i64 {
    instrument().step_size.units_of(qty).unwrap()
}

pub fn order(id: &str, side: Side, qty: &str, order_type: BinanceOrderType) -> NewOrder {
    NewOrder { symbol: "BTCUSDT".into(), client_order_id: id.into(), side, qty: lots(qty), order_type }
}

pub fn limit(price: &str, tif: TimeInForce) -> BinanceOrderType {
    BinanceOrderType::Limit { price: ticks(price), tif }
}

pub fn ws_hmac_client(sim: &BinanceSim) -> BinanceWsClient {
    BinanceWsClient::new(
        &sim.ws_url(),
        HMAC_KEY,
        BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec()),
        vec![instrument()],
    )
}

/// A WebSocket API venue on 127.0.0.1 that answers each request with the server time, after
/// the frames `before` gives for the request's id (noise, events); its REST side answers 404.
#[derive(Debug)]
pub struct AnswersAfter {
    lose: u32,
    before: fn(u64) -> Vec<String>,
}

impl SimVenue for AnswersAfter {
    fn handle(&mut self, _: &SimRequest<'_>) -> SimAnswer {
        SimAnswer { status: 404, headers: vec![], body: String::new() }
    }

    fn responses_to_lose(&mut self) -> &mut u32 {
        &mut self.lose
    }
}

impl WsVenue for AnswersAfter {
    type Session = ();

    fn open_session(&mut self, _: &str) -> Option<()> {
        Some(())
    }

    fn on_text(&mut self, _: &mut (), text: &str) -> Vec<String> {
        let request: Value = serde_json::from_str(text).unwrap();
        let id = request["id"].as_u64().unwrap();
        let now = wintermute_router::order::local_ms();
        let mut frames = (self.before)(id);
        frames.push(format!(r#"{{"id":{id},"status":200,"result":{{"serverTime":{now}}},"rateLimits":[]}}"#));
        frames
    }

    fn pushes(&mut self, _: &mut ()) -> Vec<String> {
        vec![]
    }
}

/// An [`AnswersAfter`] venue serving, and a WebSocket API client (HMAC key, BTCUSDT) of it.
pub async fn ws_client_answered_after(before: fn(u64) -> Vec<String>) -> (SimServer<AnswersAfter>, BinanceWsClient) {
    let mut venue = SimServer::serve(AnswersAfter { lose: 0, before }).await.unwrap();
    let addr = venue.start_ws().await.unwrap();
    let signer = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
    let client = BinanceWsClient::new(&format!("ws://{addr}/ws-api/v3"), HMAC_KEY, signer, vec![instrument()]);
    (venue, client)
}

/// `path?params&timestamp=..&signature=..`, signed with the HMAC key's secret.
pub fn signed_path(path: &str, params: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let params = format!("{params}&timestamp={now}");
    let sig = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec()).sign(&params);
    format!("{path}?{params}&signature={sig}")
}

/// One raw request to a simulator's Binance REST API, with `api_key`'s header (none without
/// a key): (status, the response head lowercased, the body as JSON, `Null` when it is not).
pub async fn raw(addr: SocketAddr, method: &str, target: &str, api_key: Option<&str>) -> (u16, String, Value) {
    let headers: Vec<(&str, &str)> = api_key.map(|key| ("X-MBX-APIKEY", key)).into_iter().collect();
    let (status, head, body) = raw_http::request(addr, method, target, &headers).await;
    (status, head, serde_json::from_str(&body).unwrap_or(Value::Null))
}

pub fn ws_ed25519_client(sim: &BinanceSim) -> BinanceWsClient {
    BinanceWsClient::new(&sim.ws_url(), ED_KEY, BinanceSigner::ed25519_seed(&ED_SEED).unwrap(), vec![instrument()])
}

/// Each report's client order id and kind.
pub fn kinds(reports: &[ExecutionReport]) -> Vec<(&str, &ReportKind)> {
    reports.iter().map(|r| (r.client_order_id.as_str(), &r.kind)).collect()
}

/// The fills among `reports`: (price ticks, lots).
pub fn fills(reports: &[ExecutionReport]) -> Vec<(i64, i64)> {
    reports
        .iter()
        .filter_map(|r| match &r.kind {
            ReportKind::Trade(f) => Some((f.price, f.qty)),
            _ => None,
        })
        .collect()
}

/// The venue's code of a refusal.
pub fn code(kind: &ReportKind) -> Option<i64> {
    match kind {
        ReportKind::Rejected { code, .. } | ReportKind::CancelRejected { code, .. } => *code,
        _ => None,
    }
}

/// Every fill the client holds, by trade id: (client order id, lots).
pub fn client_fills(client: &impl VenueClient) -> BTreeMap<u64, (String, i64)> {
    client
        .orders()
        .iter()
        .flat_map(|o| o.fills().map(move |f| (f.trade_id, (o.client_order_id.clone(), f.qty))))
        .collect()
}

/// Every trade the venue made, by trade id.
pub fn venue_trades(sim: &BinanceSim) -> BTreeMap<u64, (String, i64)> {
    sim.trades().into_iter().map(|(id, client, qty)| (id, (client, qty))).collect()
}
