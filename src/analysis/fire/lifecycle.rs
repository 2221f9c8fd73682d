//! Confirmation and incident lifecycle, one [`Tracker`] per zone and kind.
//!
//! - **Confirmation**: a zone's frame is a *hit* when some region in it holds
//!   every required cue. An incident opens (`new`) when at least N of the last
//!   M frames were hits (`confirm_frames` of `confirm_window` for flames,
//!   `smoke_confirm_frames` of it for smoke).
//! - **Ongoing**: while open, every hit (judged with relaxed thresholds)
//!   refreshes the incident; there is never a second `new` for it. An
//!   `update` is sent when the area has grown by `update_growth` since the
//!   last message and `update_interval_s` has passed since then.
//! - **End**: `end_after_s` seconds with no hit close it (`end`), carrying the
//!   last box seen. The next sighting after that starts a fresh confirmation.

use crate::alert::{AlertState, BBox};
use std::collections::VecDeque;

/// What a zone showed in one frame.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Area of the hit regions, frame pixels.
    pub area: f32,
    pub bbox: BBox,
    pub score: f32,
    /// Cue measurements for the alert's `details`.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Timing and confirmation settings.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleConfig {
    pub confirm_frames: usize,
    pub confirm_window: usize,
    pub update_growth: f32,
    pub update_interval_s: f64,
    pub end_after_s: f64,
}

#[derive(Debug, Clone)]
struct Open {
    incident: u64,
    started: f64,
    last_hit: f64,
    last_report_t: f64,
    last_report_area: f32,
    first_area: f32,
    peak_area: f32,
    last: Observation,
}

/// One zone's confirmation window and open incident for one kind.
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: LifecycleConfig,
    window: VecDeque<bool>,
    /// Area at the first hit of the current run of sightings.
    first_area: Option<f32>,
    open: Option<Open>,
}

/// A message the tracker wants sent.
#[derive(Debug, Clone)]
pub struct Message {
    pub state: AlertState,
    pub incident: u64,
    pub obs: Observation,
}

impl Tracker {
    pub fn new(cfg: LifecycleConfig) -> Tracker {
        Tracker {
            cfg,
            window: VecDeque::with_capacity(cfg.confirm_window),
            first_area: None,
            open: None,
        }
    }

    /// Whether an incident is open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// True when a hit in this frame would open an incident: the gate for a
    /// second opinion, asked only then.
    pub fn would_open(&self) -> bool {
        self.open.is_none()
            && self
                .window
                .iter()
                .rev()
                .take(self.cfg.confirm_window - 1)
                .filter(|h| **h)
                .count()
                + 1
                >= self.cfg.confirm_frames
    }

    /// Feeds one frame at stream time `t`; `hit` is the zone's observation
    /// when it hit. `next_incident` numbers new incidents.
    pub fn step(
        &mut self,
        t: f64,
        hit: Option<Observation>,
        next_incident: &mut u64,
    ) -> Option<Message> {
        if self.window.len() == self.cfg.confirm_window {
            self.window.pop_front();
        }
        self.window.push_back(hit.is_some());
        if !self.window.iter().any(|h| *h) {
            self.first_area = None;
        }
        match (&mut self.open, hit) {
            (Some(open), Some(obs)) => {
                open.last_hit = t;
                open.peak_area = open.peak_area.max(obs.area);
                let grown = obs.area >= open.last_report_area * self.cfg.update_growth;
                let due = t - open.last_report_t >= self.cfg.update_interval_s;
                let obs = with_growth(obs, open.first_area, t - open.started);
                open.last = obs.clone();
                if grown && due {
                    open.last_report_t = t;
                    open.last_report_area = obs.area;
                    return Some(Message {
                        state: AlertState::Update,
                        incident: open.incident,
                        obs,
                    });
                }
                None
            }
            (Some(open), None) => {
                if t - open.last_hit < self.cfg.end_after_s {
                    return None;
                }
                let mut obs = open.last.clone();
                obs.details
                    .insert("duration_s".into(), round2(open.last_hit - open.started));
                obs.details.insert(
                    "peak_area_px".into(),
                    serde_json::json!(open.peak_area.round()),
                );
                let msg = Message {
                    state: AlertState::End,
                    incident: open.incident,
                    obs,
                };
                self.open = None;
                self.window.clear();
                self.first_area = None;
                Some(msg)
            }
            (None, Some(obs)) => {
                let first = *self.first_area.get_or_insert(obs.area);
                let hits = self.window.iter().filter(|h| **h).count();
                if hits < self.cfg.confirm_frames {
                    return None;
                }
                *next_incident += 1;
                let obs = with_growth(obs, first, 0.0);
                self.open = Some(Open {
                    incident: *next_incident,
                    started: t,
                    last_hit: t,
                    last_report_t: t,
                    last_report_area: obs.area,
                    first_area: first,
                    peak_area: obs.area,
                    last: obs.clone(),
                });
                Some(Message {
                    state: AlertState::New,
                    incident: *next_incident,
                    obs,
                })
            }
            (None, None) => None,
        }
    }

    /// Closes an open incident at once (stream restarted, analyzer reset).
    pub fn force_end(&mut self) -> Option<Message> {
        self.window.clear();
        self.first_area = None;
        self.open.take().map(|open| Message {
            state: AlertState::End,
            incident: open.incident,
            obs: open.last,
        })
    }
}

fn with_growth(mut obs: Observation, first_area: f32, since_s: f64) -> Observation {
    let growth = obs.area / first_area.max(1.0);
    obs.details
        .insert("area_growth".into(), round2(growth as f64));
    obs.details.insert("since_new_s".into(), round2(since_s));
    obs
}

/// A number rounded to two decimals, as JSON.
pub fn round2(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!((v * 100.0).round() / 100.0)
    } else {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(area: f32) -> Observation {
        Observation {
            area,
            bbox: BBox {
                x: 0.0,
                y: 0.0,
                w: 0.1,
                h: 0.1,
            },
            score: 0.9,
            details: serde_json::Map::new(),
        }
    }

    fn cfg() -> LifecycleConfig {
        LifecycleConfig {
            confirm_frames: 3,
            confirm_window: 5,
            update_growth: 1.5,
            update_interval_s: 1.0,
            end_after_s: 2.0,
        }
    }

    #[test]
    fn n_of_m_then_updates_then_end() {
        let mut tr = Tracker::new(cfg());
        let mut id = 0;
        let mut msgs = Vec::new();
        // hit, miss, hit, hit -> opens on the 4th frame (3 of the last 5).
        let script: Vec<(f64, Option<f32>)> = vec![
            (0.0, Some(100.0)),
            (0.1, None),
            (0.2, Some(100.0)),
            (0.3, Some(120.0)),
            (0.4, Some(200.0)), // grown but too soon for an update
            (1.5, Some(200.0)), // grown and due
            (1.6, Some(210.0)),
            (3.0, None),
            (3.7, None), // 2.1 s after the last hit
        ];
        for (t, a) in script {
            if let Some(m) = tr.step(t, a.map(obs), &mut id) {
                msgs.push((t, m.state, m.incident, m.obs));
            }
        }
        let states: Vec<_> = msgs.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(
            states,
            vec![
                (0.3, AlertState::New),
                (1.5, AlertState::Update),
                (3.7, AlertState::End)
            ]
        );
        assert!(msgs.iter().all(|m| m.2 == 1));
        assert_eq!(msgs[0].3.details["area_growth"], 1.2);
        assert_eq!(msgs[2].3.details["peak_area_px"], 210.0);
    }

    #[test]
    fn scattered_hits_never_confirm() {
        let mut tr = Tracker::new(cfg());
        let mut id = 0;
        for i in 0..50 {
            let hit = (i % 3 == 0).then(|| obs(100.0));
            assert!(tr.step(i as f64 * 0.1, hit, &mut id).is_none());
        }
    }
}
