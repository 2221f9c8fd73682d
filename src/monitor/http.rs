//! A deliberately small HTTP/1.1 responder for `/healthz` and `/metrics`:
//! one request per connection (`Connection: close`), `GET`/`HEAD` only,
//! request head at most [`MAX_HEAD`] bytes and read within [`READ_TIMEOUT`].
//! Meant for a local scraper, not for the internet.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Longest request head accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// Answers a path (the query string removed). Called on a blocking thread.
pub type Handler = Arc<dyn Fn(&str) -> Response + Send + Sync>;

/// Accepts connections on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, handler: Handler) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, handler.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "health endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, handler: Handler) {
    let resp = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => match parse_request_line(&head) {
            Ok((method, path)) => {
                let head_only = method == "HEAD";
                let r = tokio::task::spawn_blocking(move || handler(&path))
                    .await
                    .unwrap_or_else(|_| Response::text(500, "internal error\n"));
                Some((r, head_only))
            }
            Err(r) => Some((r, false)),
        },
        Ok(Err(_)) | Err(_) => None,
    };
    if let Some((r, head_only)) = resp {
        let _ = stream.write_all(&encode(&r, head_only)).await;
        let _ = stream.shutdown().await;
    }
}

/// Reads until the blank line that ends the head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_HEAD {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `(method, path)` of a request head, or the error response to send.
pub fn parse_request_line(head: &str) -> Result<(String, String), Response> {
    if head.len() > MAX_HEAD {
        return Err(Response::text(431, "request head too large\n"));
    }
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::text(400, "bad request\n"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::text(505, "HTTP/1.x only\n"));
    }
    if method != "GET" && method != "HEAD" {
        return Err(Response::text(405, "GET or HEAD only\n"));
    }
    let path = target.split('?').next().unwrap_or_default().to_string();
    Ok((method.to_string(), path))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// The bytes of a response (no body for `HEAD`).
pub fn encode(r: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    if r.status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(r.body.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_checked() {
        assert_eq!(
            parse_request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").unwrap(),
            ("GET".to_string(), "/metrics".to_string())
        );
        assert_eq!(
            parse_request_line("POST / HTTP/1.1\r\n\r\n")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(parse_request_line("GET /\r\n\r\n").unwrap_err().status, 400);
        assert_eq!(
            parse_request_line("GET / HTTP/2\r\n\r\n")
                .unwrap_err()
                .status,
            505
        );
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = Response::text(503, "no\n");
        let s = String::from_utf8(encode(&r, false)).unwrap();
        assert!(s.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{s}");
        assert!(s.contains("Content-Length: 3\r\n") && s.contains("Connection: close\r\n"));
        assert!(s.ends_with("\r\n\r\nno\n"));
        let h = String::from_utf8(encode(&r, true)).unwrap();
        assert!(h.ends_with("\r\n\r\n"));
    }
}
