//! The running evidence side of the daemon: the store, its sweeper, the
//! evidence stage in front of delivery, and the HTTP answerer, started
//! together from `[evidence]`.

use super::config::EvidenceConfig;
use super::serve::EvidenceServer;
use super::sink::{EvidenceSink, EvidenceStage};
use super::store::{EvidenceLink, EvidenceStore, Limits, Sweeper};
use crate::alert::submit::AlertSubmit;
use std::sync::Arc;
use std::time::Duration;

/// Why the evidence side could not start.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{0}")]
    Token(crate::settings::ConfigProblem),
    #[error("cannot start an evidence thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The evidence store, sweeper, stage and server of a running daemon.
pub struct Evidence {
    store: Arc<EvidenceStore>,
    stage: EvidenceStage,
    sweeper: Sweeper,
    server: EvidenceServer,
}

impl Evidence {
    /// Starts with `[evidence]`, asking `link` (delivery) which incidents are
    /// protected, and handing alerts on to `next` (delivery's sink). A
    /// folder that cannot be created is logged and reported, not fatal.
    pub fn start(
        cfg: &EvidenceConfig,
        link: Arc<dyn EvidenceLink>,
        next: impl AlertSubmit + 'static,
    ) -> Result<Evidence, EvidenceError> {
        let token = cfg.http.resolve_token().map_err(EvidenceError::Token)?;
        if let Err(e) = std::fs::create_dir_all(&cfg.dir) {
            tracing::error!(dir = %cfg.dir.display(), error = %e, "cannot create the evidence folder (evidence.dir); alerts go on without stored evidence");
        }
        let store = Arc::new(EvidenceStore::new(&cfg.dir, Limits::of(cfg)));
        let sweeper = Sweeper::start(
            store.clone(),
            link.clone(),
            Duration::from_secs(cfg.sweep_interval_s),
        )?;
        let stage =
            EvidenceStage::start(store.clone(), link, cfg.http.public_url.as_deref(), next)?;
        let server = EvidenceServer::new(&cfg.dir, token);
        if server.enabled() {
            tracing::info!(dir = %cfg.dir.display(), "evidence served on the health endpoint at /evidence/<event>/<file> to callers with the evidence token");
        } else {
            tracing::info!(dir = %cfg.dir.display(), "evidence is NOT served over HTTP: no evidence.http token is configured (token_file, token_env or token)");
        }
        tracing::info!(
            dir = %cfg.dir.display(),
            max_gb = cfg.max_gb,
            min_free_mb = cfg.min_free_mb,
            retention_days = cfg.retention_days,
            "evidence store started"
        );
        Ok(Evidence {
            store,
            stage,
            sweeper,
            server,
        })
    }

    /// Where producers submit alerts (fusion in front of it).
    pub fn sink(&self) -> EvidenceSink {
        self.stage.sink()
    }

    pub fn store(&self) -> Arc<EvidenceStore> {
        self.store.clone()
    }

    pub fn server(&self) -> EvidenceServer {
        self.server.clone()
    }

    /// Handles the alerts already queued, then stops the threads (before
    /// delivery shuts down).
    pub fn shutdown(self) {
        self.stage.shutdown();
        self.sweeper.stop();
    }
}
