//! A deliberately small HTTP/1.1 responder for `/healthz`, `/metrics` and
//! `/evidence/...`: one request per connection (`Connection: close`),
//! `GET`/`HEAD` only, request head at most [`MAX_HEAD`] bytes and read
//! within [`READ_TIMEOUT`], a text answer written within [`WRITE_TIMEOUT`],
//! a file answer (evidence) streamed in chunks, each within
//! [`WRITE_TIMEOUT`]. Meant for a local scraper or a reverse proxy, not for
//! the internet.
//!
//! At most [`MAX_CONNECTIONS`] connections are open at once, so idle or slow
//! clients cannot use up the daemon's file descriptors (which its cameras
//! and the MQTT link need). When all are taken, the oldest connection that
//! has not yet sent its request head is closed to make room for the new
//! one; connections already being answered are never cut.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

/// Longest request head accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a client has to take the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections open at once (see the module doc).
pub const MAX_CONNECTIONS: usize = 64;

/// A request as the handler sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD`.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The query string (after `?`), possibly empty.
    pub query: String,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// A file, streamed from disk (404 if it is gone by then).
    File(std::path::PathBuf),
}

/// What a handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Body::Text(body.into()),
        }
    }

    /// A response with a text body of another type (JSON, Prometheus text).
    pub fn typed(status: u16, content_type: &'static str, body: String) -> Response {
        Response {
            status,
            content_type,
            body: Body::Text(body),
        }
    }
}

/// Answers a request. Called on a blocking thread.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// Accepts connections on `listener` until the task is aborted, at most
/// [`MAX_CONNECTIONS`] at once.
pub async fn serve(listener: TcpListener, handler: Handler) {
    serve_with_cap(listener, handler, MAX_CONNECTIONS).await
}

/// Connections still sending their request head, oldest first.
type Waiting = Arc<Mutex<VecDeque<(u64, AbortHandle)>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// [`serve`] with at most `cap` connections open at once (at least 1).
pub async fn serve_with_cap(listener: TcpListener, handler: Handler, cap: usize) {
    let slots = Arc::new(Semaphore::new(cap.max(1)));
    let waiting: Waiting = Arc::default();
    let mut next_id: u64 = 0;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "health endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Full: close the oldest idle connection, then wait for its
                // slot (or for an answer in progress to finish).
                if let Some((_, idle)) = lock(&waiting).pop_front() {
                    tracing::debug!(
                        cap,
                        "health endpoint: connection limit reached; closing the oldest idle one"
                    );
                    idle.abort();
                }
                match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
        };
        next_id += 1;
        let id = next_id;
        // Held across the spawn so the task cannot look for its entry
        // before it is there.
        let mut queue = lock(&waiting);
        let task = tokio::spawn(answer(
            stream,
            handler.clone(),
            Slot {
                id,
                waiting: waiting.clone(),
                _permit: permit,
            },
        ));
        queue.push_back((id, task.abort_handle()));
    }
}

/// A connection's place: frees its slot and leaves the idle queue when
/// dropped (also when the task is aborted).
struct Slot {
    id: u64,
    waiting: Waiting,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    /// The request head has arrived: no longer idle, never evicted.
    fn busy(&self) {
        lock(&self.waiting).retain(|(id, _)| *id != self.id);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.busy();
    }
}

async fn answer(mut stream: TcpStream, handler: Handler, slot: Slot) {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await;
    slot.busy();
    let resp = match head {
        Ok(Ok(head)) => match parse_request(&head) {
            Ok(req) => {
                let head_only = req.method == "HEAD";
                let range = req.header("range").map(str::to_string);
                let r = tokio::task::spawn_blocking(move || handler(&req))
                    .await
                    .unwrap_or_else(|_| Response::text(500, "internal error\n"));
                Some((r, head_only, range))
            }
            Err(r) => Some((r, false, None)),
        },
        Ok(Err(_)) | Err(_) => None,
    };
    if let Some((r, head_only, range)) = resp {
        match &r.body {
            Body::Text(_) => {
                let _ = tokio::time::timeout(WRITE_TIMEOUT, async {
                    stream.write_all(&encode(&r, head_only)).await?;
                    stream.shutdown().await
                })
                .await;
            }
            Body::File(path) => send_file(&mut stream, &r, path, head_only, range.as_deref()).await,
        }
    }
    drop(slot);
}

/// What a `Range` header asks of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole file: no header, or one this server does not handle
    /// (several ranges, another unit).
    Whole,
    /// The first and last byte, inclusive.
    Part(u64, u64),
    /// Starts at or past the end: 416.
    Unsatisfiable,
}

/// What a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) asks of a
/// `len`-byte file.
pub fn byte_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(first), Ok(last)) if first <= last => (first, last.min(len.saturating_sub(1))),
        (Ok(first), Err(_)) if b.is_empty() => (first, len.saturating_sub(1)),
        (Err(_), Ok(suffix)) if a.is_empty() && suffix > 0 => {
            (len.saturating_sub(suffix), len.saturating_sub(1))
        }
        _ => return ByteRange::Whole,
    };
    if len == 0 || range.0 >= len {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part(range.0, range.1)
}

/// Streams a file answer: the head with its length, then the bytes in
/// chunks, each written within [`WRITE_TIMEOUT`] (a stalled client is cut).
/// A single `Range: bytes=…` is answered with 206 and that part (video
/// players seek with it).
async fn send_file(
    stream: &mut TcpStream,
    r: &Response,
    path: &std::path::Path,
    head_only: bool,
    range: Option<&str>,
) {
    use tokio::io::AsyncSeekExt;
    let opened = async {
        let f = tokio::fs::File::open(path).await?;
        let len = f.metadata().await?.len();
        Ok::<_, std::io::Error>((f, len))
    }
    .await;
    let (mut file, len) = match opened {
        Ok(x) => x,
        Err(_) => {
            let gone = Response::text(404, "no such evidence\n");
            let _ =
                tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&encode(&gone, head_only)))
                    .await;
            return;
        }
    };
    let (status, first, count, extra) = match byte_range(range, len) {
        ByteRange::Whole => (r.status, 0, len, String::new()),
        ByteRange::Part(a, b) => (
            206,
            a,
            b - a + 1,
            format!("Content-Range: bytes {a}-{b}/{len}\r\n"),
        ),
        ByteRange::Unsatisfiable => {
            let head = head_bytes_with(
                416,
                "text/plain; charset=utf-8",
                0,
                &format!("Content-Range: bytes */{len}\r\n"),
            );
            let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&head)).await;
            return;
        }
    };
    if first > 0 && file.seek(std::io::SeekFrom::Start(first)).await.is_err() {
        return;
    }
    let head = head_bytes_with(
        status,
        r.content_type,
        count,
        &format!("Accept-Ranges: bytes\r\n{extra}"),
    );
    if !matches!(
        tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&head)).await,
        Ok(Ok(()))
    ) {
        return;
    }
    if !head_only {
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = count;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match file.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            left -= n as u64;
            if !matches!(
                tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&buf[..n])).await,
                Ok(Ok(()))
            ) {
                return;
            }
        }
    }
    let _ = tokio::time::timeout(WRITE_TIMEOUT, stream.shutdown()).await;
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

/// The request of a request head (line and headers), or the error
/// response to send.
pub fn parse_request(head: &str) -> Result<Request, Response> {
    let (method, target) = parse_request_line_target(head)?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    let headers = head
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    Ok(Request {
        method,
        path,
        query,
        headers,
    })
}

/// `(method, path)` of a request head, or the error response to send.
pub fn parse_request_line(head: &str) -> Result<(String, String), Response> {
    let (method, target) = parse_request_line_target(head)?;
    let path = target.split('?').next().unwrap_or_default().to_string();
    Ok((method, path))
}

/// `(method, target)` of a request head, or the error response to send.
fn parse_request_line_target(head: &str) -> Result<(String, String), Response> {
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
    Ok((method.to_string(), target.to_string()))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        416 => "Range Not Satisfiable",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// The head of a response whose body is `len` bytes.
fn head_bytes(status: u16, content_type: &str, len: u64) -> Vec<u8> {
    head_bytes_with(status, content_type, len, "")
}

/// [`head_bytes`] with `extra` header lines (each ending in CRLF).
fn head_bytes_with(status: u16, content_type: &str, len: u64, extra: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        status,
        reason(status),
        content_type,
        len
    );
    if status == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    if status == 401 {
        out.push_str("WWW-Authenticate: Bearer realm=\"estatewatch evidence\"\r\n");
    }
    out.push_str(extra);
    out.push_str("\r\n");
    out.into_bytes()
}

/// The bytes of a text response (no body for `HEAD`); a file body is
/// streamed by the server instead and encodes as its head only.
pub fn encode(r: &Response, head_only: bool) -> Vec<u8> {
    let text = match &r.body {
        Body::Text(t) => t.as_str(),
        Body::File(_) => "",
    };
    let mut bytes = head_bytes(r.status, r.content_type, text.len() as u64);
    if !head_only {
        bytes.extend_from_slice(text.as_bytes());
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
    fn byte_ranges_are_parsed_like_rfc_9110() {
        use ByteRange::*;
        assert_eq!(byte_range(None, 100), Whole);
        assert_eq!(byte_range(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(byte_range(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(byte_range(Some("bytes=90-500"), 100), Part(90, 99));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(byte_range(Some("bytes=-500"), 100), Part(0, 99));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(byte_range(Some("bytes=9-2"), 100), Whole);
        assert_eq!(byte_range(Some("items=0-1"), 100), Whole);
    }

    #[test]
    fn requests_carry_query_and_headers() {
        let r = parse_request(
            "GET /evidence/x/clip.mp4?token=a%2B HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer t0k\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.path, "/evidence/x/clip.mp4");
        assert_eq!(r.query, "token=a%2B");
        assert_eq!(r.header("authorization"), Some("Bearer t0k"));
        assert_eq!(r.header("HOST"), Some("gw"));
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

    /// Idle connections beyond the cap are closed, oldest first, and a real
    /// request is still answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_connections_beyond_the_cap_make_room_for_requests() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler: Handler = Arc::new(|r| Response::text(200, format!("at {}\n", r.path)));
        let server = tokio::spawn(serve_with_cap(listener, handler, 4));
        let mut idle = Vec::new();
        for _ in 0..10 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let mut got = String::new();
        tokio::time::timeout(Duration::from_secs(60), client.read_to_string(&mut got))
            .await
            .expect("no answer while idle connections hold the cap")
            .unwrap();
        assert!(
            got.starts_with("HTTP/1.1 200 OK") && got.ends_with("at /healthz\n"),
            "{got}"
        );
        // The oldest idle connections were closed by the server (EOF).
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(60), idle[0].read(&mut buf))
            .await
            .expect("the oldest idle connection is still open")
            .unwrap_or(0);
        assert_eq!(n, 0);
        server.abort();
    }
}
