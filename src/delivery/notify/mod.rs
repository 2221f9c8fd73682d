//! Notifiers: alerts, escalations and handling steps sent to people's phones
//! (WeCom, DingTalk and Feishu group bots) and to HTTP webhooks, through the
//! same SQLite outbox as MQTT (`docs/notifications.md`).
//!
//! Each notifier keeps its own cursor over the outbox, so a dead webhook
//! never holds back MQTT, and MQTT never holds back a webhook; a row is
//! deleted only when MQTT and every notifier have it (outbox schema
//! invariant 9, ADR 0004).
//!
//! - [`config`]: the `[[notifiers]]` tables (each notifier gets only its own).
//! - [`adapter`]: the seam between durable sending (which rows, retries,
//!   rate limits, cursors) and a vendor's format (which HTTP requests carry
//!   a message, and what the vendor's answer means).
//! - [`route`]: which messages a notifier takes (kind, state, severity,
//!   camera, local hours, escalations, handling steps).
//! - [`message`]: the text people read, in zh-CN and en (the template).
//! - [`credentials`]: a notifier's credentials file (`url`, `secret`).
//! - [`vendor`]: building a chat-bot adapter from its table, what the
//!   three share (answer codes, HMAC, the stored picture);
//!   [`wecom`], [`dingtalk`], [`feishu`]: each vendor's request shape.
//! - [`sender`]: the durable side: one thread per notifier, its cursor,
//!   retries, the rate limit and merging.
//! - [`webhook`]: the generic HTTP webhook adapter (and the credentials file).
//! - this file: [`build`] (a notifier's config to its adapter), [`check`]
//!   (what `check-config` and `run` verify of `[[notifiers]]`) and
//!   [`NotifierControl`] (starting them, and applying a reload).

pub mod adapter;
pub mod config;
pub mod credentials;
pub mod dingtalk;
pub mod feishu;
pub mod message;
pub mod route;
pub mod sender;
pub mod vendor;
pub mod webhook;
pub mod wecom;

use crate::settings::ConfigProblem;
use adapter::{Adapter, Context};
use config::{NotifierConfig, NotifierKind};
use sender::NotifierSpec;
use std::sync::Arc;
use std::time::Duration;

/// Why a notifier cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The credentials file is missing, unreadable or wrong.
    #[error(transparent)]
    Credentials(#[from] credentials::CredentialsError),
    /// A WeCom, DingTalk or Feishu notifier cannot be built (the message
    /// names the field, e.g. `notifiers[2].credentials_file`).
    #[error(transparent)]
    Vendor(#[from] vendor::VendorError),
    /// A field of the notifier's table is not usable.
    #[error("{field}: {detail}")]
    Field { field: &'static str, detail: String },
}

impl BuildError {
    /// The field the problem is about, under the notifier's table.
    pub fn field(&self) -> &'static str {
        match self {
            BuildError::Credentials(_) => "credentials_file",
            BuildError::Field { field, .. } => field,
            BuildError::Vendor(_) => "",
        }
    }
}

/// The name of a kind, as in the config.
pub fn kind_name(kind: NotifierKind) -> &'static str {
    match kind {
        NotifierKind::Webhook => "webhook",
        NotifierKind::Wecom => "wecom",
        NotifierKind::Dingtalk => "dingtalk",
        NotifierKind::Feishu => "feishu",
    }
}

/// The adapter for one notifier, the `index`-th of `[[notifiers]]`: reads
/// its credentials file, parses its route.
pub fn build(
    config: &NotifierConfig,
    index: usize,
    _ctx: &Context,
) -> Result<Box<dyn Adapter>, BuildError> {
    match config.kind {
        NotifierKind::Webhook => Ok(Box::new(webhook::Webhook::new(config, index)?)),
        _ => Ok(vendor::build(config, index)?),
    }
}

/// [`build`], ready for [`sender::Senders`].
pub fn spec(
    config: &NotifierConfig,
    index: usize,
    ctx: &Context,
) -> Result<NotifierSpec, BuildError> {
    Ok(NotifierSpec {
        name: config.name.clone(),
        kind: kind_name(config.kind).to_string(),
        adapter: Arc::from(build(config, index, ctx)?),
        timeout: Duration::from_secs(config.timeout_s),
        fingerprint: fingerprint(config),
    })
}

/// What a notifier is built from: its table and the sha256 of its
/// credentials file (so a new key in the same file counts as a change).
pub fn fingerprint(config: &NotifierConfig) -> String {
    use sha2::{Digest, Sha256};
    let creds = std::fs::read(&config.credentials_file).unwrap_or_default();
    let digest: String = Sha256::digest(&creds)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{config:?} credentials sha256 {digest}")
}

/// Checks `[[notifiers]]`: names (set, allowed characters, unique), limits,
/// and that each one builds (credentials file readable and valid, its URL
/// parses, its kind is built). Problems name the field, e.g.
/// `notifiers[1].credentials_file`.
pub fn check(notifiers: &[NotifierConfig], ctx: &Context, problems: &mut Vec<ConfigProblem>) {
    let mut seen = std::collections::HashMap::new();
    for (i, n) in notifiers.iter().enumerate() {
        let path = format!("notifiers[{i}]");
        let mut push = |field: &str, message: String| {
            problems.push(ConfigProblem {
                path: format!("{path}.{field}"),
                message,
            })
        };
        let name_ok = !n.name.is_empty()
            && n.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            push(
                "name",
                format!("{:?}: use letters, digits, '-' and '_' only", n.name),
            );
        }
        if let Some(first) = seen.insert(n.name.clone(), i) {
            push(
                "name",
                format!(
                    "duplicate notifier name {:?} (also notifiers[{first}])",
                    n.name
                ),
            );
        }
        if n.per_minute == Some(0) {
            push("per_minute", "must be at least 1".into());
        }
        if !(1..=300).contains(&n.timeout_s) {
            push(
                "timeout_s",
                format!("{} is not between 1 and 300", n.timeout_s),
            );
        }
        // Route problems are reported by `route::check` (with the cameras).
        match build(n, i, ctx) {
            Ok(_) | Err(BuildError::Vendor(vendor::VendorError::Route(_))) => {}
            Err(BuildError::Vendor(v)) => {
                // The vendor's message starts with its field path.
                let text = v.to_string();
                let (at, message) = text.split_once(": ").unwrap_or((path.as_str(), &text));
                problems.push(ConfigProblem {
                    path: at.to_string(),
                    message: message.to_string(),
                });
            }
            Err(e) => push(e.field(), e.to_string()),
        }
    }
}

/// Every notifier of `[[notifiers]]` built (in order); the first that
/// cannot be is the error, naming its index and name.
pub fn specs(
    notifiers: &[NotifierConfig],
    ctx: &Context,
) -> Result<Vec<NotifierSpec>, super::DeliveryError> {
    notifiers
        .iter()
        .enumerate()
        .map(|(index, n)| {
            spec(n, index, ctx).map_err(|source| super::DeliveryError::Notifier {
                index,
                name: n.name.clone(),
                source,
            })
        })
        .collect()
}

/// A handle that (re)starts the notifiers from any thread (the daemon's
/// reload runs it on a blocking thread): [`Delivery::notifier_control`](super::Delivery::notifier_control).
#[derive(Clone)]
pub struct NotifierControl {
    store: Arc<std::sync::Mutex<super::store::Store>>,
    wake: Arc<sender::Wake>,
    notifiers: Arc<std::sync::Mutex<Option<sender::Senders>>>,
}

impl NotifierControl {
    /// Starts the notifiers: the outbox's cursors are made to match
    /// `specs` (a new notifier starts at the newest row, a removed one
    /// releases its rows), then one sender thread each.
    pub fn start(&self, specs: Vec<NotifierSpec>, ctx: Context) -> std::io::Result<()> {
        let names = specs.iter().map(|s| s.name.clone()).collect();
        crate::base::lock(&self.store).set_sinks(names);
        let senders =
            sender::Senders::start(specs, Arc::new(ctx), self.store.clone(), self.wake.clone())?;
        *crate::base::lock(&self.notifiers) = Some(senders);
        Ok(())
    }

    /// Applies a reloaded `[[notifiers]]` ([`sender::Senders::apply`]):
    /// unchanged notifiers keep running, removed ones stop and release
    /// their rows, changed ones restart from their cursor, new ones start
    /// at the newest row. Blocks while stopped ones finish a request (at
    /// most their `timeout_s`). Without running notifiers yet, this starts
    /// them.
    pub fn reload(
        &self,
        specs: Vec<NotifierSpec>,
        ctx: Context,
    ) -> std::io::Result<sender::NotifierChanges> {
        // Taken out while stopping threads, so `/metrics` does not wait.
        let running = crate::base::lock(&self.notifiers).take();
        let Some(mut senders) = running else {
            let started = specs.iter().map(|s| s.name.clone()).collect();
            self.start(specs, ctx)?;
            return Ok(sender::NotifierChanges {
                started,
                ..Default::default()
            });
        };
        let out = senders.apply(specs, Arc::new(ctx));
        *crate::base::lock(&self.notifiers) = Some(senders);
        out
    }
}

impl super::Delivery {
    /// Starts the notifiers (the daemon calls it once after
    /// [`start`](super::Delivery::start), also with none, so that notifiers
    /// removed from the config release their rows): the outbox's cursors are
    /// made to match `specs` (a new notifier starts at the newest row), then
    /// one sender thread each. A reload goes through
    /// [`notifier_control`](Self::notifier_control).
    pub fn start_notifiers(&self, specs: Vec<NotifierSpec>, ctx: Context) -> std::io::Result<()> {
        self.notifier_control().start(specs, ctx)
    }

    /// The handle that restarts the notifiers on a reload.
    pub fn notifier_control(&self) -> NotifierControl {
        NotifierControl {
            store: self.store.clone(),
            wake: self.wake.clone(),
            notifiers: self.notifiers.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn check_names_fields() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("hook.toml");
        std::fs::write(&good, "url = \"http://127.0.0.1:9/x\"\n").unwrap();
        let parse = |text: &str| -> NotifierConfig { toml::from_str(text).unwrap() };
        let ok = parse(&format!(
            "name = \"a\"\nkind = \"webhook\"\ncredentials_file = \"{}\"\n",
            good.display()
        ));
        let dup = ok.clone();
        let missing = parse(
            "name = \"b c\"\nkind = \"webhook\"\ncredentials_file = \"/nonexistent/x.toml\"\n",
        );
        // DingTalk signs every request: a file without `secret` will not do.
        let dingtalk = parse(&format!(
            "name = \"d\"\nkind = \"dingtalk\"\ncredentials_file = \"{}\"\n",
            good.display()
        ));
        let ctx = Context {
            site_name: "s".into(),
            timezone: crate::settings::SiteTimezone::default(),
            cameras: BTreeMap::new(),
            console_url: None,
            evidence_dir: "/nonexistent".into(),
        };
        let mut p = Vec::new();
        check(&[ok, dup, missing, dingtalk], &ctx, &mut p);
        let text: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(p.len(), 4, "{text:#?}");
        assert!(
            text[0].starts_with("notifiers[1].name: duplicate"),
            "{text:#?}"
        );
        assert!(text[1].starts_with("notifiers[2].name:"), "{text:#?}");
        assert!(
            text[2].starts_with("notifiers[2].credentials_file:")
                && text[2].contains("/nonexistent/x.toml"),
            "{text:#?}"
        );
        assert!(
            text[3].starts_with("notifiers[3].credentials_file:") && text[3].contains("secret"),
            "{text:#?}"
        );
    }
}
