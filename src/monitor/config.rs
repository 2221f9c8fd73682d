//! The `[health]` section of the config file: where the monitor's
//! `/healthz` + `/metrics` endpoint listens, how often it publishes the
//! stats topic, and when a silent analysis worker counts as hung.

use crate::settings::{push, ConfigProblem};
use serde::Deserialize;

/// `[health]`: the HTTP endpoint (`/healthz`, Prometheus `/metrics`) and the
/// retained JSON stats on `<prefix>/<gateway>/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Address the HTTP endpoint listens on; an empty string turns it off.
    /// Default: `127.0.0.1:9807` (local only: it has no authentication).
    #[serde(default = "default_health_listen")]
    pub listen: String,
    /// Seconds between retained stats messages; 0 turns them off. Default: 60.
    #[serde(default = "default_stats_interval")]
    pub stats_interval_s: u64,
    /// An analysis worker that has not ticked for this many seconds makes
    /// `/healthz` answer 503, 1..=3600. Default: 15.
    #[serde(default = "default_hung_after")]
    pub hung_after_s: u64,
    /// The MQTT broker unreachable for more than this many seconds makes
    /// `/healthz` answer 503, 0..=86400; 0 never does. Default: 60.
    #[serde(default = "default_broker_down_after")]
    pub broker_down_after_s: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            listen: default_health_listen(),
            stats_interval_s: default_stats_interval(),
            hung_after_s: default_hung_after(),
            broker_down_after_s: default_broker_down_after(),
        }
    }
}

fn default_health_listen() -> String {
    "127.0.0.1:9807".into()
}
fn default_stats_interval() -> u64 {
    60
}
fn default_broker_down_after() -> u64 {
    60
}
fn default_hung_after() -> u64 {
    15
}

impl HealthConfig {
    /// The listen address, or `None` when the endpoint is off.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }

    /// Checks the section; problems are reported under `health.`.
    pub fn check(&self, p: &mut Vec<ConfigProblem>) {
        let listen = self.listen.trim();
        if !listen.is_empty() && listen.parse::<std::net::SocketAddr>().is_err() {
            push(
                p,
                "health.listen",
                format!("must be IP:PORT such as 127.0.0.1:9807, or \"\" to turn it off; got {listen:?}"),
            );
        }
        if !(1..=3600).contains(&self.hung_after_s) {
            push(
                p,
                "health.hung_after_s",
                format!("must be 1..=3600, got {}", self.hung_after_s),
            );
        }
        if self.stats_interval_s > 86_400 {
            push(
                p,
                "health.stats_interval_s",
                format!("must be 0..=86400, got {}", self.stats_interval_s),
            );
        }
        if self.broker_down_after_s > 86_400 {
            push(
                p,
                "health.broker_down_after_s",
                format!("must be 0..=86400, got {}", self.broker_down_after_s),
            );
        }
    }
}
