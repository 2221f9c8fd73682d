//! Config reload: re-reading the file, telling what changed (cameras,
//! sensors, sections that need a restart) and applying it to the running
//! cameras and sensor inputs.

use super::unit::{camera_changed, secret_digest, CameraUnit, Pipeline, UnitContext};
use crate::alert::fusion::FusedSink;
use crate::analysis::config::CameraConfig;
use crate::base::lock;
use crate::config::Config;
use crate::delivery::config::MqttConfig;
use crate::ingest::{CameraEvent, CameraStatus};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Whether two broker configs differ (`Debug` hides the password, so it is
/// compared separately).
fn mqtt_changed(a: &MqttConfig, b: &MqttConfig) -> bool {
    format!("{a:?}") != format!("{b:?}") || a.password.password != b.password.password
}

/// Whether a reload from `old` to `new` must restart the sensor inputs.
pub fn sensors_changed(old: &Config, new: &Config) -> bool {
    let broker_changed = match (&old.sensor_broker, &new.sensor_broker) {
        (None, None) => false,
        (Some(a), Some(b)) => mqtt_changed(a, b),
        _ => true,
    };
    old.sensors != new.sensors || broker_changed
}

/// Applies the `[fusion]`, `[[sensors]]` and `[sensor_broker]` sections of
/// `new` (already validated and checked by [`reload`]) over `old`: the
/// fusion settings go to the shared sink; changed sensor settings restart the
/// inputs (unchanged sensors keep their monitor, removed or changed ones
/// end their open incidents). Unchanged sensors are not touched.
pub(super) async fn apply_sensor_sections(
    old: &Config,
    new: &Config,
    sensors: &mut Option<crate::sensors::Sensors>,
    alerts: &FusedSink,
) {
    if old.fusion != new.fusion {
        alerts.set_fusion(&new.fusion);
        tracing::info!(
            enabled = new.fusion.enabled,
            window_s = new.fusion.window_s,
            "fusion settings applied"
        );
    }
    if !sensors_changed(old, new) {
        if !new.sensors.is_empty() {
            tracing::info!(
                sensors = new.sensors.len(),
                "sensors unchanged; their inputs keep running"
            );
        }
        return;
    }
    let kept = match sensors.take() {
        Some(s) => s.stop_monitors().await,
        None => Vec::new(),
    };
    match crate::sensors::restart(&new.sensor_sections(), alerts.clone(), kept) {
        Ok((s, report)) => {
            *sensors = s;
            tracing::info!(
                kept = ?report.kept,
                started = ?report.started,
                stopped = ?report.stopped,
                "sensor inputs restarted with the new config"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "sensor inputs could not be restarted; running without sensors");
        }
    }
}

/// Applies `[[notifiers]]` and `[[profiles]]` of `new` (validated by
/// [`reload`], which also checked that every notifier builds): the
/// profiles are replaced at once (the next alert is mapped with them);
/// notifiers whose table or credentials file changed are restarted from
/// their cursor, removed ones stop and release their rows, new ones start
/// at the newest row, unchanged ones keep running
/// ([`crate::delivery::notify::NotifierControl::reload`]). Both write with
/// the new config's camera names from now on. A notifier that cannot be
/// built now (its credentials file went away since the check) leaves the
/// running notifiers as they are.
pub(super) async fn apply_notify_sections(
    old: &Config,
    new: &Config,
    delivery: &crate::delivery::Delivery,
    profiles: &crate::delivery::profile::ProfileSet,
) {
    let ctx = new.notify_context();
    let in_force = profiles.replace(&new.profiles, ctx.clone());
    if format!("{:?}", old.profiles) != format!("{:?}", new.profiles) {
        tracing::info!(profiles = ?in_force, "platform profiles reloaded");
    }
    let specs = match crate::delivery::notify::specs(&new.notifiers, &ctx) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "new [[notifiers]] cannot be built; the running notifiers stay");
            return;
        }
    };
    let control = delivery.notifier_control();
    match tokio::task::spawn_blocking(move || control.reload(specs, ctx)).await {
        Ok(Ok(c)) if c.started.is_empty() && c.stopped.is_empty() => {}
        Ok(Ok(c)) => tracing::info!(
            kept = ?c.kept,
            started = ?c.started,
            stopped = ?c.stopped,
            "notifiers reloaded (a new one starts at the newest row)"
        ),
        Ok(Err(e)) => tracing::error!(error = %e, "notifiers could not be restarted"),
        Err(e) => tracing::error!(error = %e, "notifier reload failed"),
    }
}

/// What [`Pipeline::apply`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    /// Cameras that could not be (re)started, with the reason.
    pub failed: Vec<(String, String)>,
}

impl Pipeline {
    /// Makes the running cameras match `wanted` (the enabled cameras of a
    /// new config): stops removed cameras, starts added ones, restarts
    /// changed ones, leaves the rest alone. A changed camera whose new
    /// analyzers cannot be built keeps running with its old config.
    pub fn apply(&mut self, wanted: &[CameraConfig], ctx: &UnitContext) -> ReloadReport {
        let mut report = ReloadReport::default();
        let wanted_names: Vec<&str> = wanted.iter().map(|c| c.name.as_str()).collect();
        let gone: Vec<String> = self
            .cameras
            .keys()
            .filter(|n| !wanted_names.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(unit) = self.cameras.remove(&name) {
                if let Some(w) = &self.watchdog {
                    w.remove(&name);
                }
                unit.stop();
                // After the stop, so no late event from its ingest follows it.
                let _ = ctx.events.send(CameraEvent {
                    camera: name.clone(),
                    at: std::time::SystemTime::now(),
                    status: CameraStatus::Removed,
                });
                tracing::info!(camera = %name, "camera removed");
                report.removed.push(name);
            }
        }
        for cam in wanted {
            let name = cam.name.clone();
            match self.cameras.get(&name) {
                Some(unit)
                    if !camera_changed(&unit.config, cam) && unit.secret == secret_digest(cam) =>
                {
                    report.unchanged.push(name);
                    continue;
                }
                _ => {}
            }
            // Check the new analyzers before stopping anything.
            if let Err(e) = crate::analysis::build_analyzers_with(cam, ctx.models.as_deref()) {
                tracing::error!(camera = %name, error = %e, "camera config not applied; keeping the running one");
                report.failed.push((name, e.to_string()));
                continue;
            }
            let existed = match self.cameras.remove(&name) {
                Some(old) => {
                    old.stop();
                    true
                }
                None => false,
            };
            match CameraUnit::start(cam, ctx) {
                Ok(unit) => {
                    if let Some(w) = &self.watchdog {
                        w.add(&name, unit.heartbeat.clone());
                    }
                    self.cameras.insert(name.clone(), unit);
                    if existed {
                        tracing::info!(camera = %name, "camera restarted with its new config");
                        report.restarted.push(name);
                    } else {
                        tracing::info!(camera = %name, "camera added");
                        report.added.push(name);
                    }
                }
                Err(e) => {
                    if let Some(w) = &self.watchdog {
                        w.remove(&name);
                    }
                    tracing::error!(camera = %name, error = %e, "camera could not be started");
                    report.failed.push((name, e.to_string()));
                }
            }
        }
        report
    }
}

/// What a reload needs to start cameras: the running daemon's sink and
/// camera-event channel.
pub(super) struct ReloadTarget {
    ctx: UnitContext,
}

impl ReloadTarget {
    pub(super) fn of(
        sink: &FusedSink,
        events: tokio::sync::mpsc::UnboundedSender<CameraEvent>,
        config: &Config,
    ) -> ReloadTarget {
        ReloadTarget {
            ctx: UnitContext {
                site: config.site.id.clone(),
                gateway: config.gateway.id.clone(),
                sink: sink.clone(),
                events,
                evidence_dir: config.evidence.dir.clone(),
                models: crate::analysis::load_wanted_models(
                    &config.runtime,
                    config.enabled_cameras(),
                )
                .map(Arc::new),
                pictures: super::unit::picture_text(config),
            },
        }
    }
}

/// Re-reads `path`; when valid, applies its cameras and returns the config
/// now in force: the old one with the new `[[cameras]]`, `[[sensors]]`,
/// `[sensor_broker]`, `[fusion]`, `[[notifiers]]` and `[[profiles]]` (the
/// caller applies the last five, see [`apply_sensor_sections`] and
/// [`apply_notify_sections`]). Other sections need a restart: a change there
/// is logged and not applied. New sensor settings whose inputs cannot be set
/// up (say, an unreadable CA file) are not taken: the running sensors stay.
/// With the config it returns what [`Pipeline::apply`] did to the cameras.
/// Returns the error (nothing changed) when the file is unreadable or invalid.
pub(super) fn reload(
    path: &Path,
    old: &Config,
    pipeline: &Mutex<Pipeline>,
    target: &ReloadTarget,
) -> Result<(Config, ReloadReport), String> {
    tracing::info!(config = %path.display(), "reloading the config");
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "new config rejected; the running config stays");
            return Err(e.to_string());
        }
    };
    let sections = [
        (
            "site",
            format!("{:?}", old.site) != format!("{:?}", new.site),
        ),
        (
            "gateway",
            format!("{:?}", old.gateway) != format!("{:?}", new.gateway),
        ),
        ("mqtt", mqtt_changed(&old.mqtt, &new.mqtt)),
        (
            "outbox",
            format!("{:?}", old.outbox) != format!("{:?}", new.outbox),
        ),
        (
            "runtime",
            format!("{:?}", old.runtime) != format!("{:?}", new.runtime),
        ),
        ("health", old.health != new.health),
        ("evidence", old.evidence != new.evidence),
    ];
    for (section, changed) in sections {
        if changed {
            tracing::warn!(
                section,
                "changes to [{section}] take effect only after a restart; not applied"
            );
        }
    }
    let wanted: Vec<CameraConfig> = new.enabled_cameras().cloned().collect();
    let report = lock(pipeline).apply(&wanted, &target.ctx);
    tracing::info!(
        added = ?report.added,
        removed = ?report.removed,
        restarted = ?report.restarted,
        unchanged = report.unchanged.len(),
        failed = ?report.failed,
        "config reloaded"
    );
    let mut in_force = old.clone();
    in_force.cameras = new.cameras;
    in_force.fusion = new.fusion;
    in_force.notifiers = new.notifiers;
    in_force.profiles = new.profiles;
    let mut with_sensors = in_force.clone();
    with_sensors.sensors = new.sensors;
    with_sensors.sensor_broker = new.sensor_broker;
    match crate::sensors::check(&with_sensors.sensor_sections()) {
        Ok(()) => Ok((with_sensors, report)),
        Err(e) => {
            tracing::error!(error = %e, "sensor config not applied; the running sensors stay");
            Ok((in_force, report))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_sensors(extra: &str) -> Config {
        Config::parse(&format!(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n\
             [[sensors]]\nname = \"t\"\ntopic = \"z/t\"\nbroker = \"local\"\n\
             [[sensors.rules]]\ntype = \"threshold\"\nabove = 60.0\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn sensor_and_sensor_broker_changes_restart_the_inputs_fusion_does_not() {
        let base = with_sensors("[sensor_broker]\nport = 1883\n");
        assert!(!sensors_changed(&base, &base.clone()));
        let mut rule = base.clone();
        rule.sensors[0].topic = "z/u".into();
        assert!(sensors_changed(&base, &rule));
        let broker = with_sensors("[sensor_broker]\nport = 1884\n");
        assert!(sensors_changed(&base, &broker));
        let fusion = with_sensors("[sensor_broker]\nport = 1883\n[fusion]\nwindow_s = 5\n");
        assert!(!sensors_changed(&base, &fusion));
    }
}
