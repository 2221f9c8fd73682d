//! The machine endpoints, as they were before the console: `/healthz`
//! (200 or 503 JSON verdict), `/metrics` (Prometheus text) and
//! `/evidence/<event>/<file>` (token in `Authorization: Bearer` or
//! `?token=`, or a console session), plus [`file`], which streams a file
//! with byte ranges (video players seek with them).

use super::auth::session_of;
use super::ConsoleState;
use crate::evidence::serve::Answer;
use crate::monitor;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

/// `GET /healthz`: 200 when healthy, else 503, with the problems.
pub async fn healthz(State(state): State<ConsoleState>) -> Response {
    let st = state.clone();
    let Ok((s, v)) = tokio::task::spawn_blocking(move || {
        let s = (st.sources.snapshot)();
        let v = monitor::verdict(&s, &st.sources.limits);
        (s, v)
    })
    .await
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
    };
    let body = serde_json::json!({
        "status": if v.healthy { "ok" } else { "unhealthy" },
        "problems": v.problems,
        "cameras": s.cameras.len(),
        "outbox_writable": s.outbox.writable,
        "mqtt_connected": s.mqtt.connected,
    });
    (
        if v.healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// `GET /metrics`: the Prometheus text.
pub async fn metrics(State(state): State<ConsoleState>) -> Response {
    let st = state.clone();
    let Ok(text) = tokio::task::spawn_blocking(move || {
        let s = (st.sources.snapshot)();
        let healthy = monitor::verdict(&s, &st.sources.limits).healthy;
        monitor::prometheus::render(&s, healthy)
    })
    .await
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /evidence/<event>/<file>`: with a console session, or the token.
pub async fn evidence(
    State(state): State<ConsoleState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let ev = state.sources.evidence.clone();
    let logged_in = session_of(&headers, &state).is_some();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer = tokio::task::spawn_blocking(move || {
        if logged_in {
            ev.lookup(&path)
        } else {
            ev.answer(&path, &query, auth.as_deref())
        }
    })
    .await
    .unwrap_or(Answer::Refused {
        status: 500,
        reason: "internal error\n",
    });
    match answer {
        Answer::File { path, content_type } => file(&path, content_type, &headers).await,
        Answer::Refused { status, reason } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = (status, reason).into_response();
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"estatewatch evidence\""),
                );
            }
            r
        }
    }
}

/// What a `Range` header asks of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole file: no header, or one not handled (several ranges,
    /// another unit).
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

/// A file's bytes, read in chunks as the client takes them.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buf: Box<[u8]>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let me = &mut *self;
        let want = me
            .buf
            .len()
            .min(usize::try_from(me.left).unwrap_or(usize::MAX));
        let mut rb = ReadBuf::new(&mut me.buf[..want]);
        match Pin::new(&mut me.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    me.left = 0;
                    return Poll::Ready(None);
                }
                me.left -= n as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::copy_from_slice(
                    rb.filled(),
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

/// Streams the file at `path`, honouring one `Range: bytes=…` (206, or
/// 416 past the end); 404 when it is gone.
pub async fn file(
    path: &std::path::Path,
    content_type: &'static str,
    headers: &HeaderMap,
) -> Response {
    let opened = async {
        let f = tokio::fs::File::open(path).await?;
        let len = f.metadata().await?.len();
        Ok::<_, std::io::Error>((f, len))
    }
    .await;
    let Ok((mut f, len)) = opened else {
        return (StatusCode::NOT_FOUND, "no such evidence\n").into_response();
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, first, count, content_range) = match byte_range(range, len) {
        ByteRange::Whole => (StatusCode::OK, 0, len, None),
        ByteRange::Part(a, b) => (
            StatusCode::PARTIAL_CONTENT,
            a,
            b - a + 1,
            Some(format!("bytes {a}-{b}/{len}")),
        ),
        ByteRange::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
    };
    if first > 0 && f.seek(std::io::SeekFrom::Start(first)).await.is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file\n").into_response();
    }
    let body = Body::new(FileBody {
        file: f,
        left: count,
        buf: vec![0u8; 64 * 1024].into_boxed_slice(),
    });
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if let Some(cr) = content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_RANGE, cr);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
