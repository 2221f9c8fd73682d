//! The `[[sensors]]` and `[sensor_broker]` sections of the config file, and
//! their validation (with that of `[fusion]`, whose section is
//! [`FusionConfig`]). See `docs/sensors.md` for worked examples.

use crate::alert::fusion::FusionConfig;
use crate::alert::Severity;
use crate::delivery::config::MqttConfig;
use crate::settings::ConfigProblem;
use serde::Deserialize;

/// `[[sensors]]`: one sensor reading published on an MQTT topic.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    /// Unique name, used in alerts (`details.sensor`) and logs. Required.
    pub name: String,
    /// MQTT topic filter to subscribe to, e.g. `zigbee2mqtt/shed-a-smoke`. Required.
    pub topic: String,
    /// Which broker carries the topic: `delivery` (the `[mqtt]` broker) or
    /// `local` (the `[sensor_broker]`). Default: `delivery`.
    #[serde(default)]
    pub broker: SensorBroker,
    /// Where the reading is in a JSON payload, as a dotted path
    /// (`temperature`, `state.smoke`, `values.0`). Default: none, meaning the
    /// whole payload is the reading (`21.5`, `true`, `ON`).
    #[serde(default)]
    pub value: Option<String>,
    /// Unit of the reading, for people (`°C`, `A`, `bool`). Default: none.
    #[serde(default)]
    pub unit: Option<String>,
    /// Where the sensor is, for staff (`Block A bike shed`). Default: none.
    #[serde(default)]
    pub area: Option<String>,
    /// The camera that watches over the sensor's place; fusion rules pair the
    /// sensor with this camera's alerts, and the sensor's alerts carry it.
    /// Default: none (no fusion).
    #[serde(default)]
    pub camera: Option<String>,
    /// Narrows `camera` to one of its zones. Default: none (any zone).
    #[serde(default)]
    pub zone: Option<String>,
    /// Raise `sensor_offline` when nothing arrives for this many minutes
    /// (fractions allowed, > 0). Default: none (never).
    #[serde(default)]
    pub stale_after_min: Option<f64>,
    /// The rules evaluated on each reading. Default: none.
    #[serde(default)]
    pub rules: Vec<SensorRule>,
}

/// Which broker a sensor's topic is on.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SensorBroker {
    /// The broker in `[mqtt]`, which also receives alerts.
    #[default]
    Delivery,
    /// The broker in `[sensor_broker]`.
    Local,
}

/// `[[sensors.rules]]`: one rule, chosen by `type`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SensorRule {
    /// Fires when the reading goes above `above` (or below `below`), and
    /// clears only once it is back past the limit by `hysteresis`.
    Threshold {
        /// Fire when the reading is above this. Default: none. One of `above`
        /// and `below` is required.
        #[serde(default)]
        above: Option<f64>,
        /// Fire when the reading is below this. Default: none.
        #[serde(default)]
        below: Option<f64>,
        /// How far back past the limit the reading must go to clear, >= 0.
        /// Default: 0.
        #[serde(default)]
        hysteresis: f64,
        /// Severity of the alert. Default: `warning`.
        #[serde(default = "default_severity")]
        severity: Severity,
    },
    /// Fires when the reading rises by `rise` or more within `within_s`
    /// seconds (for example +8 °C in 60 s); clears when the rise over the
    /// window falls below half of `rise`.
    RateOfRise {
        /// The rise that fires the rule, > 0. Required.
        rise: f64,
        /// The window in seconds, 1..=86400. Default: 60.
        #[serde(default = "default_within_s")]
        within_s: u64,
        /// Severity of the alert. Default: `warning`.
        #[serde(default = "default_severity")]
        severity: Severity,
    },
}

fn default_severity() -> Severity {
    Severity::Warning
}

fn default_within_s() -> u64 {
    60
}

fn problem(p: &mut Vec<ConfigProblem>, path: String, message: impl Into<String>) {
    p.push(ConfigProblem {
        path,
        message: message.into(),
    });
}

/// Checks the sensor sections; `cameras` are the configured camera names and
/// `has_local_broker` whether `[sensor_broker]` is present.
pub fn check(
    sensors: &[SensorConfig],
    fusion: &FusionConfig,
    cameras: &[&str],
    has_local_broker: bool,
    p: &mut Vec<ConfigProblem>,
) {
    let mut seen = std::collections::HashMap::new();
    for (i, s) in sensors.iter().enumerate() {
        let base = format!("sensors[{i}]");
        if s.name.trim().is_empty() {
            problem(p, format!("{base}.name"), "must not be empty");
        } else if let Some(first) = seen.insert(s.name.clone(), i) {
            problem(
                p,
                format!("{base}.name"),
                format!("duplicate sensor name {:?} (also sensors[{first}])", s.name),
            );
        }
        if s.topic.trim().is_empty() {
            problem(p, format!("{base}.topic"), "must not be empty");
        } else if let Err(why) = check_topic_filter(&s.topic) {
            problem(p, format!("{base}.topic"), why);
        }
        if s.broker == SensorBroker::Local && !has_local_broker {
            problem(
                p,
                format!("{base}.broker"),
                "is `local` but there is no [sensor_broker] section",
            );
        }
        if let Some(path) = &s.value {
            if path.is_empty() || path.split('.').any(str::is_empty) {
                problem(
                    p,
                    format!("{base}.value"),
                    format!(
                        "expected a dotted JSON path such as `state.temperature`, got {path:?}"
                    ),
                );
            }
        }
        if let Some(cam) = &s.camera {
            if !cameras.contains(&cam.as_str()) {
                problem(
                    p,
                    format!("{base}.camera"),
                    format!("no camera named {cam:?} (cameras: {})", cameras.join(", ")),
                );
            }
        }
        if s.zone.is_some() && s.camera.is_none() {
            problem(p, format!("{base}.zone"), "needs `camera` as well");
        }
        if let Some(m) = s.stale_after_min {
            if !(m.is_finite() && m > 0.0 && m <= 525_600.0) {
                problem(
                    p,
                    format!("{base}.stale_after_min"),
                    format!("must be > 0 minutes (at most a year), got {m}"),
                );
            }
        }
        for (j, r) in s.rules.iter().enumerate() {
            let rbase = format!("{base}.rules[{j}]");
            match r {
                SensorRule::Threshold {
                    above,
                    below,
                    hysteresis,
                    ..
                } => {
                    if above.is_none() && below.is_none() {
                        problem(p, rbase.clone(), "a threshold needs `above` or `below`");
                    }
                    for (key, v) in [("above", above), ("below", below)] {
                        if v.is_some_and(|v| !v.is_finite()) {
                            problem(p, format!("{rbase}.{key}"), "must be a finite number");
                        }
                    }
                    if !(hysteresis.is_finite() && *hysteresis >= 0.0) {
                        problem(
                            p,
                            format!("{rbase}.hysteresis"),
                            format!("must be >= 0, got {hysteresis}"),
                        );
                    }
                }
                SensorRule::RateOfRise { rise, within_s, .. } => {
                    if !(rise.is_finite() && *rise > 0.0) {
                        problem(
                            p,
                            format!("{rbase}.rise"),
                            format!("must be > 0, got {rise}"),
                        );
                    }
                    if !(1..=86_400).contains(within_s) {
                        problem(
                            p,
                            format!("{rbase}.within_s"),
                            format!("must be 1..=86400, got {within_s}"),
                        );
                    }
                }
            }
        }
    }
    for (key, message) in fusion.problems() {
        problem(p, format!("fusion.{key}"), message);
    }
}

/// Checks an MQTT topic filter: `+` and `#` only as whole levels, `#` last.
fn check_topic_filter(topic: &str) -> Result<(), String> {
    let levels: Vec<&str> = topic.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(format!(
                "`#` must be a whole level at the end of the filter, got {topic:?}"
            ));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("`+` must be a whole level, got {topic:?}"));
        }
    }
    Ok(())
}

/// The broker settings a sensor on `broker` uses.
pub fn broker_for<'a>(
    broker: SensorBroker,
    delivery: &'a MqttConfig,
    local: Option<&'a MqttConfig>,
) -> &'a MqttConfig {
    match broker {
        SensorBroker::Delivery => delivery,
        SensorBroker::Local => local.unwrap_or(delivery),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensors(text: &str) -> Vec<SensorConfig> {
        #[derive(Deserialize)]
        struct F {
            sensors: Vec<SensorConfig>,
        }
        toml::from_str::<F>(text).unwrap().sensors
    }

    #[test]
    fn rules_parse_with_their_defaults() {
        let s = sensors(
            r#"
            [[sensors]]
            name = "t"
            topic = "z2m/shed"
            value = "temperature"
            [[sensors.rules]]
            type = "threshold"
            above = 60.0
            [[sensors.rules]]
            type = "rate_of_rise"
            rise = 8.0
            "#,
        );
        assert_eq!(s[0].broker, SensorBroker::Delivery);
        assert_eq!(
            s[0].rules[0],
            SensorRule::Threshold {
                above: Some(60.0),
                below: None,
                hysteresis: 0.0,
                severity: Severity::Warning
            }
        );
        assert_eq!(
            s[0].rules[1],
            SensorRule::RateOfRise {
                rise: 8.0,
                within_s: 60,
                severity: Severity::Warning
            }
        );
    }

    #[test]
    fn unknown_rule_keys_are_refused() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct F {
            sensors: Vec<SensorConfig>,
        }
        let err = toml::from_str::<F>(
            "[[sensors]]\nname='a'\ntopic='t'\n[[sensors.rules]]\ntype='threshold'\nabove=1\nabvoe=2\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("abvoe"), "{err}");
    }

    #[test]
    fn problems_name_the_field() {
        let s = sensors(
            r#"
            [[sensors]]
            name = "a"
            topic = "x/#/y"
            broker = "local"
            camera = "nope"
            stale_after_min = 0.0
            value = "a..b"
            [[sensors.rules]]
            type = "threshold"
            hysteresis = -1.0
            [[sensors.rules]]
            type = "rate_of_rise"
            rise = 0.0
            within_s = 0
            [[sensors]]
            name = "a"
            topic = "ok/+"
            zone = "z"
            "#,
        );
        let mut p = Vec::new();
        let fusion = FusionConfig {
            enabled: true,
            window_s: 0,
        };
        check(&s, &fusion, &["shed"], false, &mut p);
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "sensors[0].topic",
            "sensors[0].broker",
            "sensors[0].camera",
            "sensors[0].stale_after_min",
            "sensors[0].value",
            "sensors[0].rules[0]",
            "sensors[0].rules[0].hysteresis",
            "sensors[0].rules[1].rise",
            "sensors[0].rules[1].within_s",
            "sensors[1].name",
            "sensors[1].zone",
            "fusion.window_s",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
    }
}
