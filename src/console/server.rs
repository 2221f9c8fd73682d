//! The console's listener: accepts TCP (optionally TLS) connections and
//! serves the router over HTTP/1.1 with hyper, within limits that keep a
//! slow or hostile client from hurting the daemon.
//!
//! - At most [`MAX_CONNECTIONS`] connections are open at once, so idle or
//!   slow clients cannot use up the daemon's file descriptors (which its
//!   cameras and the MQTT link need). When all are taken, the connection
//!   idle longest (no request in progress: never sent one, or between
//!   keep-alive requests) is closed to make room; connections being answered
//!   (a file download, a live event stream) are never cut.
//! - A request head must arrive within [`READ_TIMEOUT`] (hyper's header
//!   timeout), a TLS handshake too.
//! - Every write must make progress within [`WRITE_TIMEOUT`]; a client
//!   that stops reading is disconnected.

use axum::body::Body;
use axum::Router;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tower::ServiceExt;

use crate::base::lock;

/// Time a client has to send its request head (and to finish a TLS handshake).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a write to a client may stall before the connection is cut.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections open at once (see the module doc).
pub const MAX_CONNECTIONS: usize = 128;

/// Errors setting up TLS, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate {path}: {error}")]
    Cert { path: String, error: String },
    #[error("cannot read TLS key {path}: {error}")]
    Key { path: String, error: String },
    #[error("TLS certificate {cert} and key {key} do not make a server configuration: {error}")]
    Config {
        cert: String,
        key: String,
        error: String,
    },
}

/// A TLS acceptor for the PEM certificate chain and key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Cert {
            path: cert.display().to_string(),
            error: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Cert {
            path: cert.display().to_string(),
            error: "no certificate in the file".into(),
        });
    }
    let k = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.display().to_string(),
        error: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, k))
        .map_err(|e| TlsError::Config {
            cert: cert.display().to_string(),
            key: key.display().to_string(),
            error: e.to_string(),
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Connections with no request in progress, longest idle first.
type Idle = Arc<Mutex<VecDeque<(u64, AbortHandle)>>>;

/// One connection's bookkeeping: its place in the idle queue and its
/// requests in progress.
struct Track {
    id: u64,
    idle: Idle,
    abort: OnceLock<AbortHandle>,
    active: AtomicUsize,
}

impl Track {
    fn begin(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        lock(&self.idle).retain(|(id, _)| *id != self.id);
    }

    fn end(&self) {
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(a) = self.abort.get() {
                lock(&self.idle).push_back((self.id, a.clone()));
            }
        }
    }
}

impl Drop for Track {
    fn drop(&mut self) {
        lock(&self.idle).retain(|(id, _)| *id != self.id);
    }
}

/// Ends a request when the response body is finished or dropped.
struct Busy(Arc<Track>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// A response body that marks its connection busy while it lives.
struct Guarded {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A stream whose writes must progress within [`WRITE_TIMEOUT`].
struct TimedIo<T> {
    inner: T,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> TimedIo<T> {
    fn new(inner: T) -> Self {
        TimedIo { inner, stall: None }
    }

    /// Turns a pending write into an error once it has waited too long.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        if r.is_ready() {
            self.stall = None;
            return r;
        }
        let sleep = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_TIMEOUT)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

use std::future::Future;

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, r)
    }
}

/// Serves `app` on `listener` until the task is aborted, at most
/// [`MAX_CONNECTIONS`] connections at once; HTTPS when `tls` is given.
pub async fn serve(listener: TcpListener, app: Router, tls: Option<tokio_rustls::TlsAcceptor>) {
    serve_with_cap(listener, app, tls, MAX_CONNECTIONS).await
}

/// [`serve`] with at most `cap` connections open at once (at least 1).
pub async fn serve_with_cap(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cap: usize,
) {
    let slots = Arc::new(Semaphore::new(cap.max(1)));
    let idle: Idle = Arc::default();
    let mut next_id: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "console: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if let Some((_, oldest)) = lock(&idle).pop_front() {
                    tracing::debug!(
                        cap,
                        "console: connection limit reached; closing the longest idle one"
                    );
                    oldest.abort();
                }
                match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
        };
        next_id += 1;
        let track = Arc::new(Track {
            id: next_id,
            idle: idle.clone(),
            abort: OnceLock::new(),
            active: AtomicUsize::new(0),
        });
        let (app, tls, t) = (app.clone(), tls.clone(), track.clone());
        // Held across the spawn so the task cannot look for its entry
        // before it is there.
        let mut queue = lock(&idle);
        let task = tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            match tls {
                None => connection(TimedIo::new(stream), peer, app, t).await,
                Some(acceptor) => {
                    match tokio::time::timeout(READ_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => connection(TimedIo::new(s), peer, app, t).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "console: TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "console: TLS handshake timed out"),
                    }
                }
            }
        });
        let _ = track.abort.set(task.abort_handle());
        queue.push_back((track.id, task.abort_handle()));
    }
}

/// Serves one connection.
async fn connection<IO>(io: IO, peer: SocketAddr, app: Router, track: Arc<Track>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        track.begin();
        let busy = Busy(track.clone());
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let app = app.clone();
        async move {
            let resp = match app.oneshot(req.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            Ok::<_, std::convert::Infallible>(
                resp.map(|inner| Body::new(Guarded { inner, _busy: busy })),
            )
        }
    });
    let result = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(READ_TIMEOUT)
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
        .await;
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "console: connection ended");
    }
}
