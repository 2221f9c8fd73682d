//! The web console: the daemon's one HTTP server (axum on hyper, optional
//! rustls), serving staff pages behind a login and the machine endpoints
//! `/healthz`, `/metrics` and `/evidence/...`.
//!
//! - [`config`]: `[console]` (address, users file, TLS, session lifetime).
//! - [`server`]: the listener, its connection cap and timeouts, TLS.
//! - [`users`]: the users file, roles, argon2 hashes.
//! - [`session`]: sessions (in their own SQLite file, so they outlive a
//!   restart) and the failed-login limiter.
//! - [`auth`]: the extractors handlers use ([`auth::CurrentUser`],
//!   [`auth::RequireRole`]), the login and logout pages, the CSRF guard
//!   every state-changing request passes, the language switch.
//! - [`i18n`]: the en / zh-CN message catalog and language choice.
//! - [`pages`]: templates (compiled into the binary, rendered with
//!   minijinja), embedded assets, the camera page.
//! - [`endpoints`]: `/healthz`, `/metrics`, `/evidence/...` (files with
//!   byte ranges).
//! - [`board`]: the incident board (`/`, live over Server-Sent Events) and
//!   the incident page with its handling forms, on the desk.
//! - [`notifications`]: the notifications page (`/notifications`): MQTT,
//!   each notifier and each platform profile with its backlog, failures,
//!   last error and last success, from the monitor's snapshot.
//! - [`calibrate`]: the admin's calibration page (`/cameras/<name>/calibrate`):
//!   zones and the facade grid drawn on a live frame, saved into the config
//!   file (checked as `check-config` checks, backed up) and reloaded.
//!
//! The console reads the running daemon through [`Sources`], which the
//! daemon fills (it never sees the daemon itself): a function returning
//! monitor's [`Snapshot`](crate::monitor::Snapshot), the health limits, the
//! evidence folder. See `docs/console.md`.

pub mod auth;
pub mod board;
pub mod calibrate;
pub mod config;
pub mod endpoints;
pub mod i18n;
pub mod notifications;
pub mod pages;
pub mod server;
pub mod session;
pub mod users;

#[cfg(test)]
mod tests;

use crate::evidence::serve::EvidenceServer;
use crate::monitor::{Limits, Snapshot};
use crate::settings::SiteTimezone;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use auth::{Admin, CurrentUser, Operator, RequireRole, Viewer};
pub use config::ConsoleConfig;
pub use users::Role;

/// Where a logged-in user lands after login: the incident board.
pub const HOME: &str = "/";

/// What the console reads from the running daemon.
#[derive(Clone)]
pub struct Sources {
    /// The daemon's figures now (called on a blocking thread).
    pub snapshot: Arc<dyn Fn() -> Snapshot + Send + Sync>,
    /// What `/healthz` holds them against.
    pub limits: Limits,
    /// Answers token-authenticated `/evidence/...`.
    pub evidence: EvidenceServer,
    /// The evidence folder (the camera page's latest pictures).
    pub evidence_dir: PathBuf,
    /// Every time shown is in this zone.
    pub timezone: SiteTimezone,
    /// The estate's name for page titles.
    pub site_name: String,
    /// The incident desk and what its pages list; `None` when the daemon
    /// runs without a desk (`[desk] enabled = false`).
    pub board: Option<board::BoardSources>,
    /// The config file, its checks, live frames and the reload request, for
    /// the calibration page; `None` when the daemon runs without a config
    /// file.
    pub calibrate: Option<calibrate::CalibrateSources>,
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct ConsoleState(Arc<Inner>);

/// What [`ConsoleState`] holds.
pub struct Inner {
    pub config: ConsoleConfig,
    pub sources: Sources,
    pub sessions: session::Sessions,
    pub limiter: session::LoginLimiter,
    pub templates: pages::Templates,
    /// Cookies get `Secure` (the console is served over TLS).
    pub secure: bool,
    /// The users file's modification time and size when last read (`None`
    /// for no file), to notice `user passwd|remove` (see
    /// [`ConsoleState::recheck_users`]); `None` before the first check, so
    /// the sessions a restart kept are checked against the file as it is.
    #[allow(clippy::type_complexity)]
    users_stamp: std::sync::Mutex<Option<Option<(std::time::SystemTime, u64)>>>,
}

impl std::ops::Deref for ConsoleState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl ConsoleState {
    pub fn new(config: ConsoleConfig, sources: Sources) -> ConsoleState {
        let secure = config.tls();
        let lifetime = Duration::from_secs(config.session_hours.saturating_mul(3600));
        let templates = pages::Templates::new(sources.timezone);
        let sessions = session::Sessions::open_or_memory(&config.sessions_path(), lifetime);
        ConsoleState(Arc::new(Inner {
            config,
            sources,
            sessions,
            limiter: session::LoginLimiter::default(),
            templates,
            secure,
            users_stamp: std::sync::Mutex::new(None),
        }))
    }

    /// When the users file changed since last seen, ends the sessions of
    /// users removed or given a new password or role there. One `stat` per
    /// request that carries a session cookie.
    pub fn recheck_users(&self) {
        let path = &self.config.users_file;
        let stamp = std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut seen = crate::base::lock(&self.users_stamp);
        if *seen == Some(stamp) {
            return;
        }
        match users::Users::load(path) {
            Ok(users) => {
                self.sessions.keep_valid(&users);
                *seen = Some(stamp);
            }
            Err(e) => tracing::warn!(error = %e, "console: users file unreadable; sessions kept"),
        }
    }
}

/// Every route of the console, with the CSRF guard and the security
/// headers around them. New pages add their routes in [`routes`].
pub fn router(state: ConsoleState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] plus `extra` routes (tests add protected routes this way),
/// under the same guard and headers.
pub fn router_with(state: ConsoleState, extra: Router<ConsoleState>) -> Router {
    routes()
        .merge(extra)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_guard,
        ))
        .layer(axum::middleware::map_response(pages::security_headers))
        .with_state(state)
}

/// The routes, before the shared layers.
fn routes() -> Router<ConsoleState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/healthz", get(endpoints::healthz))
        .route("/metrics", get(endpoints::metrics))
        .route("/evidence/{*rest}", get(endpoints::evidence))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/lang", post(auth::set_lang))
        .route("/assets/{name}", get(pages::asset))
        .route("/cameras", get(pages::cameras))
        .route("/cameras/{name}/latest.jpg", get(pages::camera_picture))
        .route("/notifications", get(notifications::page))
        .merge(board::routes())
        .merge(calibrate::routes())
        .fallback(pages::not_found)
}

/// Errors starting the console, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("console.bind {addr}: cannot listen: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] server::TlsError),
}

/// The running console.
pub struct Console {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Binds `addr` and serves the console there.
    pub async fn start(
        config: ConsoleConfig,
        addr: SocketAddr,
        sources: Sources,
    ) -> Result<Console, ConsoleError> {
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(c), Some(k)) => Some(server::tls_acceptor(c, k)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| ConsoleError::Bind { addr, error })?;
        let addr = listener.local_addr().unwrap_or(addr);
        let https = tls.is_some();
        let app = router(ConsoleState::new(config, sources));
        tracing::info!(
            listen = %addr,
            scheme = if https { "https" } else { "http" },
            "console: pages, /healthz, /metrics, /evidence"
        );
        let task = tokio::spawn(server::serve(listener, app, tls));
        Ok(Console { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}
