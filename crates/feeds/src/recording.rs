//! Recorded exchange sessions: reading three formats, writing ours.
//!
//! A recording is the traffic of one or more WebSocket connections (plus the REST responses a book
//! needs) in arrival order. Each line becomes a [`Record`]:
//!
//! | record | meaning |
//! |---|---|
//! | [`Record::Connect`] | a connection to `url` opened |
//! | [`Record::Sent`] | a frame we sent (subscribe messages) |
//! | [`Record::Received`] | a frame the exchange sent, its exact text |
//! | [`Record::Http`] | a REST response body (Binance depth snapshots) |
//!
//! Timestamps are local receive times in integer nanoseconds since the Unix epoch, read exactly
//! from the decimal text (no floats). Payloads borrow from the file text where they can.
//!
//! # Formats read ([`RecordingFormat::detect`] picks one from the first non-blank line)
//!
//! **cryptofeed raw text** (`*.cfraw.txt`):
//! ```text
//! configuration: {...}                        (skipped)
//! wss://ws.kraken.com <-> 1617666422.653664   connect
//! wss://ws.kraken.com <- 1617666423.1233: {…} sent
//! 1617666424.207714: [320,{…},"book-1000",…]  received
//! https://api/depth?... -> 1617566592.3: {…}  REST response
//! ```
//! The payload starts after the first `: ` following the timestamp and is kept verbatim.
//!
//! **cryptofeed JSON lines**: a `{"t":"header",…}` line, then one object per line with
//! `"t"` = `"connect"` | `"send"` | `"recv"` | `"http"`, `"conn"`, `"ts"` (epoch seconds, number or
//! string), `"data"` (exact frame text as a JSON string) and `"url"` or `"addr"`.
//!
//! **Wintermute recording** (written by [`RecordingWriter`]), JSON lines:
//! ```text
//! {"format":"wintermute.recording","version":1}
//! {"t":"connect","conn":0,"ts_ns":1617666422653664000,"url":"wss://ws.kraken.com"}
//! {"t":"send","conn":0,"ts_ns":1617666423123373000,"url":"wss://ws.kraken.com","data":"{…}"}
//! {"t":"recv","conn":0,"ts_ns":1617666424207714000,"data":"[320,{…}]"}
//! {"t":"http","conn":0,"ts_ns":1617566592339385000,"url":"https://…","data":"{…}"}
//! ```
//! `conn` numbers the connections of the session; `ts_ns` is an integer, so a round trip through
//! this format loses nothing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::FeedError;
use crate::timestamp::parse_epoch_seconds;

/// The header line of a Wintermute recording.
pub const WINTERMUTE_HEADER: &str = r#"{"format":"wintermute.recording","version":1}"#;

/// One line of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A connection opened.
    Connect {
        /// Connection number within the recording.
        conn: u32,
        /// WebSocket URL.
        url: Cow<'a, str>,
        /// Local time, ns since the epoch.
        ts: i64,
    },
    /// A frame the client sent.
    Sent {
        /// Connection number.
        conn: u32,
        /// WebSocket URL.
        url: Cow<'a, str>,
        /// Local time, ns since the epoch.
        ts: i64,
        /// Exact frame text.
        payload: Cow<'a, str>,
    },
    /// A frame the exchange sent.
    Received {
        /// Connection number.
        conn: u32,
        /// Local receive time, ns since the epoch.
        ts: i64,
        /// Exact frame text.
        payload: Cow<'a, str>,
    },
    /// A REST response.
    Http {
        /// Connection number (the WebSocket session it belongs to).
        conn: u32,
        /// Request URL.
        url: Cow<'a, str>,
        /// Local receive time, ns since the epoch.
        ts: i64,
        /// Exact response body.
        body: Cow<'a, str>,
    },
}

impl Record<'_> {
    /// Local timestamp in ns since the epoch.
    pub fn ts(&self) -> i64 {
        match self {
            Record::Connect { ts, .. }
            | Record::Sent { ts, .. }
            | Record::Received { ts, .. }
            | Record::Http { ts, .. } => *ts,
        }
    }
}

/// The three recording formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingFormat {
    /// cryptofeed's `*.cfraw.txt`.
    CryptofeedText,
    /// cryptofeed's JSON-lines variant.
    CryptofeedJsonl,
    /// This crate's own JSON lines.
    Wintermute,
}

impl RecordingFormat {
    /// Guesses the format from the first non-blank line.
    pub fn detect(text: &str) -> RecordingFormat {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let first = first.trim_start();
        if first.starts_with('{') && first.contains("wintermute.recording") {
            RecordingFormat::Wintermute
        } else if first.starts_with('{') {
            RecordingFormat::CryptofeedJsonl
        } else {
            RecordingFormat::CryptofeedText
        }
    }
}

/// Reads a whole recording file into memory (records then borrow from it).
pub fn read_recording(path: &Path) -> Result<String, FeedError> {
    std::fs::read_to_string(path)
        .map_err(|e| FeedError::Io { path: path.display().to_string(), message: e.to_string() })
}

/// Iterates over the records of a recording text, whatever its format.
pub fn records(text: &str) -> RecordReader<'_> {
    RecordReader {
        format: RecordingFormat::detect(text),
        lines: text.lines().enumerate(),
        conns: 0,
        conn_names: HashMap::new(),
    }
}

/// Iterator returned by [`records`]: one `Result` per non-blank, non-header line.
pub struct RecordReader<'a> {
    format: RecordingFormat,
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    conns: u32,
    conn_names: HashMap<String, u32>,
}

impl<'a> RecordReader<'a> {
    /// The detected format.
    pub fn format(&self) -> RecordingFormat {
        self.format
    }

    fn text_line(&mut self, line: usize, s: &'a str) -> Result<Option<Record<'a>>, FeedError> {
        let bad = |reason: &str| FeedError::Recording { line, reason: reason.to_string() };
        if s.starts_with("configuration: ") {
            return Ok(None);
        }
        let conn = self.conns.saturating_sub(1);
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            let (ts, payload) = s.split_once(": ").ok_or_else(|| bad("no ': ' after timestamp"))?;
            let ts = parse_epoch_seconds(ts).map_err(|e| bad(&e.to_string()))?;
            return Ok(Some(Record::Received { conn, ts, payload: Cow::Borrowed(payload) }));
        }
        let (url, rest) = s.split_once(' ').ok_or_else(|| bad("no space after url"))?;
        if !url.contains("://") {
            return Err(bad("line starts with neither a timestamp nor a url"));
        }
        let url = Cow::Borrowed(url);
        if let Some(ts) = rest.strip_prefix("<-> ") {
            let ts = parse_epoch_seconds(ts).map_err(|e| bad(&e.to_string()))?;
            self.conns += 1;
            return Ok(Some(Record::Connect { conn: self.conns - 1, url, ts }));
        }
        let (arrow, rest) = rest.split_once(' ').ok_or_else(|| bad("no space after arrow"))?;
        let (ts, payload) = rest.split_once(": ").ok_or_else(|| bad("no ': ' after timestamp"))?;
        let ts = parse_epoch_seconds(ts).map_err(|e| bad(&e.to_string()))?;
        let payload = Cow::Borrowed(payload);
        match arrow {
            "<-" => Ok(Some(Record::Sent { conn, url, ts, payload })),
            "->" => Ok(Some(Record::Http { conn, url, ts, body: payload })),
            _ => Err(bad("unknown arrow (expected <->, <- or ->)")),
        }
    }

    fn json_line(&mut self, line: usize, s: &'a str) -> Result<Option<Record<'a>>, FeedError> {
        let bad = |reason: String| FeedError::Recording { line, reason };
        let j: JsonLine<'a> = serde_json::from_str(s).map_err(|e| bad(e.to_string()))?;
        let Some(t) = j.t.as_deref() else {
            if j.format.is_some() {
                return Ok(None);
            }
            return Err(bad("missing field \"t\"".into()));
        };
        if t == "header" {
            return Ok(None);
        }
        let ts = match (j.ts_ns, j.ts) {
            (Some(ns), _) => ns,
            (None, Some(raw)) => {
                let text = raw.get().trim_matches('"');
                parse_epoch_seconds(text).map_err(|e| bad(format!("ts: {e}")))?
            }
            (None, None) => return Err(bad("missing field \"ts\"".into())),
        };
        let conn = match j.conn {
            None => 0,
            Some(raw) => {
                let text = raw.get();
                match text.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        let next = self.conn_names.len() as u32;
                        *self.conn_names.entry(text.to_string()).or_insert(next)
                    }
                }
            }
        };
        let url = j.url.or(j.addr);
        let need =
            |v: Option<Cow<'a, str>>, field: &str| v.ok_or_else(|| bad(format!("missing field \"{field}\" for t={t}")));
        Ok(Some(match t {
            "connect" => Record::Connect { conn, url: need(url, "url")?, ts },
            "send" => Record::Sent { conn, url: url.unwrap_or(Cow::Borrowed("")), ts, payload: need(j.data, "data")? },
            "recv" => Record::Received { conn, ts, payload: need(j.data, "data")? },
            "http" => Record::Http { conn, url: need(url, "url")?, ts, body: need(j.data, "data")? },
            other => return Err(bad(format!("unknown record type t={other}"))),
        }))
    }
}

#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default)]
    t: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    format: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    conn: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ts: Option<&'a RawValue>,
    #[serde(default)]
    ts_ns: Option<i64>,
    #[serde(borrow, default)]
    data: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    addr: Option<Cow<'a, str>>,
}

impl<'a> Iterator for RecordReader<'a> {
    type Item = Result<Record<'a>, FeedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (idx, line) = self.lines.next()?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed = match self.format {
                RecordingFormat::CryptofeedText => self.text_line(idx + 1, line),
                _ => self.json_line(idx + 1, line),
            };
            match parsed {
                Ok(None) => continue,
                Ok(Some(r)) => return Some(Ok(r)),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[derive(Serialize)]
struct OutLine<'r> {
    t: &'static str,
    conn: u32,
    ts_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'r str>,
}

/// Writes a session in the Wintermute recording format (see the module docs).
pub struct RecordingWriter<W: Write> {
    out: W,
}

impl<W: Write> RecordingWriter<W> {
    /// Writes the header line and returns the writer.
    pub fn new(mut out: W) -> Result<Self, FeedError> {
        writeln!(out, "{WINTERMUTE_HEADER}").map_err(io_err)?;
        Ok(RecordingWriter { out })
    }

    /// Appends one record as one line.
    pub fn write(&mut self, record: &Record<'_>) -> Result<(), FeedError> {
        let line = match record {
            Record::Connect { conn, url, ts } => {
                OutLine { t: "connect", conn: *conn, ts_ns: *ts, url: Some(url), data: None }
            }
            Record::Sent { conn, url, ts, payload } => {
                OutLine { t: "send", conn: *conn, ts_ns: *ts, url: Some(url), data: Some(payload) }
            }
            Record::Received { conn, ts, payload } => {
                OutLine { t: "recv", conn: *conn, ts_ns: *ts, url: None, data: Some(payload) }
            }
            Record::Http { conn, url, ts, body } => {
                OutLine { t: "http", conn: *conn, ts_ns: *ts, url: Some(url), data: Some(body) }
            }
        };
        serde_json::to_writer(&mut self.out, &line)
            .map_err(|e| FeedError::Io { path: "<recording>".into(), message: e.to_string() })?;
        self.out.write_all(b"\n").map_err(io_err)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, FeedError> {
        self.out.flush().map_err(io_err)?;
        Ok(self.out)
    }
}

fn io_err(e: std::io::Error) -> FeedError {
    FeedError::Io { path: "<recording>".into(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFRAW: &str = "configuration: {\"x\":1}\n\
        wss://ws.kraken.com <-> 1617666422.653664\n\
        wss://ws.kraken.com <- 1617666423.123373: {\"event\":\"subscribe\"}\n\
        1617666424.207714: [320,{\"a\":1},\"book-10\",\"XBT/USD\"]\n\
        https://x/depth?symbol=A -> 1617566592.1065369: {\"lastUpdateId\":1,\"t\":\"a: b\"}\n\n\n";

    #[test]
    fn reads_cryptofeed_text() {
        let recs: Vec<_> = records(CFRAW).collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 4);
        assert!(
            matches!(&recs[0], Record::Connect { url, ts: 1_617_666_422_653_664_000, .. } if url == "wss://ws.kraken.com")
        );
        assert!(matches!(&recs[1], Record::Sent { payload, .. } if payload == "{\"event\":\"subscribe\"}"));
        assert!(
            matches!(&recs[2], Record::Received { payload, .. } if payload == "[320,{\"a\":1},\"book-10\",\"XBT/USD\"]")
        );
        assert!(matches!(&recs[3], Record::Http { body, .. } if body == "{\"lastUpdateId\":1,\"t\":\"a: b\"}"));
    }

    /// The line numbers of the recording errors reading `text` reports.
    fn error_lines(text: &str) -> Vec<usize> {
        records(text)
            .filter_map(|r| match r {
                Err(FeedError::Recording { line, .. }) => Some(line),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reports_line_numbers() {
        let text = "wss://a <-> 1.0\n1.5: ok\nnonsense here\n";
        let errs: Vec<_> = records(text).filter_map(Result::err).collect();
        assert_eq!(errs.len(), 1);
        assert!(matches!(errs[0], FeedError::Recording { line: 3, .. }), "{:?}", errs[0]);
        let text = "wss://a <-> 1.0\nabc: x\nwss://a <= 1.0: x\n12x: y\n";
        assert_eq!(error_lines(text), [2, 3, 4]);
    }

    #[test]
    fn reads_cryptofeed_jsonl() {
        let text = r#"{"t":"header","v":1}
{"t":"connect","conn":1,"ts":1617666422.653664,"addr":"wss://ws.kraken.com"}
{"t":"send","conn":1,"ts":"1617666423.5","data":"{\"event\":\"subscribe\"}"}
{"t":"recv","conn":1,"ts":1617666424.207714,"data":"[1,{\"a\":[]}]"}
{"t":"http","conn":1,"ts":1.0,"url":"https://x","data":"{}"}
"#;
        let mut reader = records(text);
        assert_eq!(reader.format(), RecordingFormat::CryptofeedJsonl);
        let recs: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(recs.len(), 4);
        assert!(
            matches!(&recs[2], Record::Received { payload, conn: 1, ts: 1_617_666_424_207_714_000 } if payload == "[1,{\"a\":[]}]")
        );
        let bad = "{\"t\":\"header\"}\n{\"t\":\"recv\",\"ts\":1}\n{\"t\":\"nope\",\"ts\":1}\n{oops\n";
        assert_eq!(error_lines(bad), [2, 3, 4]);
    }

    #[test]
    fn wintermute_format_round_trips() {
        let original: Vec<_> = records(CFRAW).collect::<Result<_, _>>().unwrap();
        let mut w = RecordingWriter::new(Vec::new()).unwrap();
        for r in &original {
            w.write(r).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(WINTERMUTE_HEADER));
        let mut reader = records(&text);
        assert_eq!(reader.format(), RecordingFormat::Wintermute);
        let back: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, original);
    }
}
