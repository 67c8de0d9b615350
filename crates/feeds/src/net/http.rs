//! A minimal HTTP/1.1 `GET`, plain or over TLS: just what a Binance REST depth snapshot needs.
//!
//! One request per connection (`Connection: close`), the response read to its end (bounded by
//! [`MAX_RESPONSE`]), `Content-Length` or `chunked` bodies, a status other than 200 is an error.
//! `http://` and `https://` URLs; TLS is [rustls](super::tls) with verified certificates.
//!
//! The server side ([`read_request_head`], [`write_response`]) is the replay server's.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tls;
use crate::error::FeedError;

/// Largest response accepted (a 5000-level snapshot is about 250 KB).
pub const MAX_RESPONSE: usize = 32 << 20;
/// Largest request head the server reads.
pub const MAX_REQUEST_HEAD: usize = 16 << 10;

fn http_err(url: &str, status: u16, message: impl Into<String>) -> FeedError {
    FeedError::Http { url: url.to_string(), status, message: message.into() }
}

/// The parts of an `http://` or `https://` URL a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `https://`.
    pub secure: bool,
    /// `host:port` or `host`.
    pub authority: &'a str,
    /// `/path?query`.
    pub path: &'a str,
}

impl UrlParts<'_> {
    /// `host:port`, with the scheme's default port when the URL has none.
    pub fn address(&self) -> String {
        let has_port = match self.authority.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => self.authority.contains(':'),
        };
        if has_port {
            self.authority.to_string()
        } else {
            format!("{}:{}", self.authority, if self.secure { 443 } else { 80 })
        }
    }
}

/// Splits `http(s)://host:port/path?query`.
pub fn split_url(url: &str) -> Result<UrlParts<'_>, FeedError> {
    let (secure, rest) = if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        return Err(http_err(url, 0, "not an http:// or https:// url"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(http_err(url, 0, "no host"));
    }
    Ok(UrlParts { secure, authority, path })
}

/// `GET url`, returning the body of a 200 response; the whole exchange is bounded by `timeout`.
/// `https://` URLs use `tls`.
pub async fn get(url: &str, timeout: Duration, tls: &Arc<ClientConfig>) -> Result<String, FeedError> {
    match tokio::time::timeout(timeout, get_inner(url, tls)).await {
        Ok(r) => r,
        Err(_) => Err(http_err(url, 0, format!("timed out after {timeout:?}"))),
    }
}

async fn get_inner(url: &str, tls_config: &Arc<ClientConfig>) -> Result<String, FeedError> {
    let parts = split_url(url)?;
    let tcp = TcpStream::connect(parts.address()).await.map_err(|e| http_err(url, 0, e.to_string()))?;
    let raw = if parts.secure {
        let host = tls::host_of(parts.authority);
        let stream = tls::connect(tls_config, host, tcp, url).await.map_err(|e| http_err(url, 0, e.to_string()))?;
        exchange(url, &parts, stream).await?
    } else {
        exchange(url, &parts, tcp).await?
    };
    parse_response(url, &raw)
}

/// Writes the request and reads the whole response.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    parts: &UrlParts<'_>,
    mut stream: S,
) -> Result<Vec<u8>, FeedError> {
    let UrlParts { authority, path, .. } = parts;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: wintermute-feeds\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| http_err(url, 0, e.to_string()))?;
    let mut raw = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE as u64 + 1);
    match limited.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A TLS server that closes without close_notify after a complete response: the body's
        // length (checked by `parse_response`) says whether anything is missing.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(http_err(url, 0, e.to_string())),
    }
    if raw.len() > MAX_RESPONSE {
        return Err(http_err(url, 0, format!("response larger than {MAX_RESPONSE} bytes")));
    }
    Ok(raw)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a whole HTTP/1.1 response; the body of a 200, or an error with the status.
pub fn parse_response(url: &str, raw: &[u8]) -> Result<String, FeedError> {
    let head_end = find(raw, b"\r\n\r\n").ok_or_else(|| http_err(url, 0, "no end of headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| http_err(url, 0, "headers are not utf-8"))?;
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| http_err(url, 0, format!("bad status line: {status_line:.60}")))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(url, body)?
    } else if let Some(n) = length {
        body.get(..n).ok_or_else(|| http_err(url, status, "body shorter than content-length"))?.to_vec()
    } else {
        body.to_vec()
    };
    let body = String::from_utf8(body).map_err(|_| http_err(url, status, "body is not utf-8"))?;
    if status != 200 {
        return Err(http_err(url, status, format!("body={body:.200}")));
    }
    Ok(body)
}

fn dechunk(url: &str, mut body: &[u8]) -> Result<Vec<u8>, FeedError> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = find(body, b"\r\n").ok_or_else(|| http_err(url, 0, "chunk size line not terminated"))?;
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| http_err(url, 0, "bad chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or_else(|| http_err(url, 0, "chunk shorter than its size"))?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).unwrap_or(&[]);
    }
}

/// Reads a request head (up to the blank line) and returns its request line, e.g.
/// `GET /api/v3/depth?symbol=BTCUSDT HTTP/1.1`.
pub async fn read_request_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while find(&head, b"\r\n\r\n").is_none() {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "request head incomplete or too long"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    Ok(text.split("\r\n").next().unwrap_or("").to_string())
}

/// Writes a complete response with a JSON body and closes the write side.
pub async fn write_response(stream: &mut TcpStream, status: u16, reason: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_bodies() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}\r\nextra";
        assert_eq!(parse_response("u", r).unwrap(), "{}\r\n");
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2;x\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n";
        assert_eq!(parse_response("u", r).unwrap(), "{\"a\":1}");
        let r = b"HTTP/1.1 429 Too Many\r\nContent-Length: 2\r\n\r\n{}";
        assert!(matches!(parse_response("u", r), Err(FeedError::Http { status: 429, .. })));
        assert!(matches!(parse_response("u", b"garbage"), Err(FeedError::Http { status: 0, .. })));
        let plain = split_url("http://127.0.0.1:80/a?b").unwrap();
        assert_eq!((plain.secure, plain.authority, plain.path), (false, "127.0.0.1:80", "/a?b"));
        let secure = split_url("https://api.binance.com/api/v3/depth").unwrap();
        assert_eq!((secure.secure, secure.address().as_str()), (true, "api.binance.com:443"));
        assert_eq!(split_url("http://h").unwrap().address(), "h:80");
        assert!(split_url("ftp://h/x").is_err());
        assert!(split_url("https:///x").is_err());
    }
}
