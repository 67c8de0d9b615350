//! The simulators' generic WebSocket front (`sim::ws`) over 127.0.0.1, with a toy venue: a
//! shared counter that both an HTTP front (`POST /add?n=3`) and the WebSocket front
//! (`add 3`, `count`, `subscribe`) change and read. Sessions are per connection; a change made
//! on any connection, on the HTTP front or by a test hook reaches every subscribed session once.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};
use wintermute_router::sim::ws::WsVenue;
use wintermute_router::sim::{Params, SimAnswer, SimRequest, SimServer, SimVenue};

/// The toy venue: a counter and the log of every addition (who added how much).
#[derive(Debug, Default)]
struct Counter {
    total: i64,
    log: Vec<String>,
    lose: u32,
    closed: u32,
}

#[derive(Debug)]
struct Session {
    name: String,
    subscribed: bool,
    cursor: usize,
}

impl SimVenue for Counter {
    fn handle(&mut self, request: &SimRequest<'_>) -> SimAnswer {
        let params = Params::parse([request.query]);
        let answer = |status, body: String| SimAnswer { status, headers: vec![], body };
        match (request.method, request.path, params.get("n").map(str::parse::<i64>)) {
            ("POST", "/add", Some(Ok(n))) => {
                self.total += n;
                self.log.push(format!("http+{n}"));
                answer(200, self.total.to_string())
            }
            ("GET", "/count", _) => answer(200, self.total.to_string()),
            _ => answer(400, "bad request".into()),
        }
    }

    fn responses_to_lose(&mut self) -> &mut u32 {
        &mut self.lose
    }
}

impl WsVenue for Counter {
    type Session = Session;

    fn open_session(&mut self, path_and_query: &str) -> Option<Session> {
        let name = path_and_query.strip_prefix("/counter?name=")?;
        Some(Session { name: name.to_owned(), subscribed: false, cursor: 0 })
    }

    fn on_text(&mut self, session: &mut Session, text: &str) -> Vec<String> {
        match text.split_once(' ') {
            Some(("add", n)) => match n.parse::<i64>() {
                Ok(n) => {
                    self.total += n;
                    self.log.push(format!("{}+{n}", session.name));
                    vec![format!("ok {}", self.total)]
                }
                Err(_) => vec![format!("error: not a number: {n}")],
            },
            None if text == "count" => vec![format!("count {}", self.total)],
            None if text == "subscribe" => {
                session.subscribed = true;
                session.cursor = self.log.len();
                vec!["subscribed".into()]
            }
            _ => vec![format!("error: unknown request: {}", text.chars().take(20).collect::<String>())],
        }
    }

    fn pushes(&mut self, session: &mut Session) -> Vec<String> {
        if !session.subscribed {
            return vec![];
        }
        let new = self.log[session.cursor..].iter().map(|e| format!("event {e}")).collect();
        session.cursor = self.log.len();
        new
    }

    fn close_session(&mut self, _session: Session) {
        self.closed += 1;
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn run<F: std::future::Future<Output = ()>>(body: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), body).await.expect("finished within 20 s") });
}

async fn start() -> SimServer<Counter> {
    let mut sim = SimServer::serve(Counter::default()).await.unwrap();
    sim.start_ws().await.unwrap();
    sim
}

async fn connect(sim: &SimServer<Counter>, name: &str) -> Ws {
    let url = format!("ws://{}/counter?name={name}", sim.ws_addr().unwrap());
    connect_async(url).await.unwrap().0
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// The next text frame, or `None` if the connection closed.
async fn next(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a frame within 5 s") {
            Some(Ok(Message::Text(t))) => return Some(t.as_str().to_owned()),
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// No frame arrives within 200 ms.
async fn silent(ws: &mut Ws) {
    assert!(tokio::time::timeout(Duration::from_millis(200), ws.next()).await.is_err(), "no frame expected");
}

async fn http_add(sim: &SimServer<Counter>, n: i64) -> String {
    let mut stream = TcpStream::connect(sim.addr()).await.unwrap();
    let request = format!("POST /add?n={n} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[test]
fn each_connection_has_its_own_session_and_its_answers_come_in_order() {
    run(async {
        let sim = start().await;
        let mut a = connect(&sim, "a").await;
        let mut b = connect(&sim, "b").await;
        send(&mut a, "add 2").await;
        send(&mut a, "count").await;
        send(&mut a, "add x").await;
        assert_eq!(next(&mut a).await.unwrap(), "ok 2");
        assert_eq!(next(&mut a).await.unwrap(), "count 2");
        assert_eq!(next(&mut a).await.unwrap(), "error: not a number: x");
        send(&mut b, "subscribe").await;
        assert_eq!(next(&mut b).await.unwrap(), "subscribed");
        send(&mut a, "add 5").await;
        assert_eq!(next(&mut a).await.unwrap(), "ok 7");
        silent(&mut a).await; // a did not subscribe: no pushes
        assert_eq!(next(&mut b).await.unwrap(), "event a+5");
        assert_eq!(sim.ws_connections(), 2);
    });
}

#[test]
fn a_change_made_over_http_or_by_a_test_hook_is_pushed_once_to_every_subscribed_session() {
    run(async {
        let sim = start().await;
        let mut subs = [connect(&sim, "s1").await, connect(&sim, "s2").await];
        for ws in &mut subs {
            send(ws, "subscribe").await;
            assert_eq!(next(ws).await.unwrap(), "subscribed");
        }
        assert!(http_add(&sim, 3).await.ends_with("3"));
        {
            let mut state = sim.shared().lock();
            state.total += 10;
            state.log.push("hook+10".into());
        }
        for ws in &mut subs {
            assert_eq!(next(ws).await.unwrap(), "event http+3");
            assert_eq!(next(ws).await.unwrap(), "event hook+10");
            silent(ws).await;
        }
    });
}

#[test]
fn a_path_the_venue_does_not_serve_is_refused_at_the_handshake() {
    run(async {
        let sim = start().await;
        let refused = connect_async(format!("ws://{}/nowhere", sim.ws_addr().unwrap())).await;
        let err = refused.expect_err("the handshake is refused").to_string();
        assert!(err.contains("404"), "{err}");
        assert_eq!(sim.ws_connections(), 0);
    });
}

#[test]
fn a_lost_answer_is_processed_and_the_connection_closed_and_hang_up_closes_every_connection() {
    run(async {
        let sim = start().await;
        let mut a = connect(&sim, "a").await;
        sim.lose_next_responses(1);
        send(&mut a, "add 4").await;
        assert_eq!(next(&mut a).await, None, "closed without the answer");
        let mut b = connect(&sim, "b").await;
        send(&mut b, "count").await;
        assert_eq!(next(&mut b).await.unwrap(), "count 4", "the lost request was processed");
        let mut c = connect(&sim, "c").await;
        send(&mut c, "count").await;
        assert_eq!(next(&mut c).await.unwrap(), "count 4");
        sim.drop_ws_connections();
        assert_eq!(next(&mut b).await, None);
        assert_eq!(next(&mut c).await, None);
        let mut d = connect(&sim, "d").await;
        send(&mut d, "count").await;
        assert_eq!(next(&mut d).await.unwrap(), "count 4", "the front still accepts connections");
        drop(d);
        for _ in 0..100 {
            if sim.shared().lock_quietly().closed == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(sim.shared().lock_quietly().closed, 4, "every session was closed");
    });
}

#[test]
fn binary_and_garbage_frames_are_read_as_text_and_answered() {
    run(async {
        let sim = start().await;
        let mut a = connect(&sim, "a").await;
        a.send(Message::binary(vec![0xff, 0x00, b'z'])).await.unwrap();
        assert!(next(&mut a).await.unwrap().starts_with("error: unknown request: \u{fffd}"));
        a.send(Message::binary(b"count".to_vec())).await.unwrap();
        assert_eq!(next(&mut a).await.unwrap(), "count 0");
    });
}
