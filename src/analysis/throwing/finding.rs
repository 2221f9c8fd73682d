//! The alert a passing fall raises: its `details` (the origin with the
//! floor's odds, the trajectory, sizes, the second opinion), its box
//! around the whole path, its severity, and the picture of the trajectory
//! drawn over the frame where the fall started.

use super::calibration::{self, Calibration};
use super::second_opinion::crop_around;
use super::tracker;
use super::trajectory::Fall;
use super::ThrowingAnalyzer;
use crate::alert::snapshot;
use crate::alert::{AlertKind, AlertState, BBox, Severity};
use crate::analysis::Finding;
use crate::ingest::Frame;
use image::{Rgb, RgbImage};

impl ThrowingAnalyzer {
    pub(super) fn finding(
        &mut self,
        frame: &Frame,
        track_id: u64,
        obs: &[tracker::Obs],
        fall: &Fall,
    ) -> Option<Finding> {
        let cal = &self.calibration;
        let cell = cal.cell_at(fall.origin_x, fall.origin_y);
        let used = &obs[fall.start..];
        let last = used[used.len() - 1];
        let (w, h) = (self.width as f32, self.height as f32);
        let mean_y = used.iter().map(|o| o.y).sum::<f32>() / used.len() as f32;
        let size_m = fall.size_px / cal.px_per_metre(mean_y).max(1e-3);
        let mut confidence = fall.confidence;
        if !cell.within {
            confidence *= 0.8;
        }
        let (floor_confidence, second_floor) = floor_odds(
            cal,
            fall.origin_x,
            fall.origin_y,
            fall.origin_sigma_px,
            cell.floor,
        );
        let mut details = serde_json::json!({
            "origin": {
                "floor": cell.floor,
                "column": cell.column,
                "column_label": cell.column_label,
                "unit_label": cell.unit_label,
                "x": fall.origin_x / w,
                "y": fall.origin_y / h,
                "within_calibration": cell.within,
                "extrapolated_s": round4(fall.extrapolated_s as f64),
                "floor_confidence": round4(floor_confidence as f64),
                "second_floor": second_floor,
            },
            "acceleration_px_s2": fall.accel_px,
            "acceleration_g": fall.accel_g,
            "fall_duration_s": fall.duration_s,
            "trajectory": std::iter::once([fall.origin_t * 1000.0, (fall.origin_x / w) as f64, (fall.origin_y / h) as f64])
                .chain(used.iter().map(|o| [o.t * 1000.0, (o.x / w) as f64, (o.y / h) as f64]))
                .map(|[t, x, y]| serde_json::json!([t.round() as i64, round4(x), round4(y)]))
                .collect::<Vec<_>>(),
            "confidence": confidence,
            "object_size_px": fall.size_px,
            "object_size_m": size_m,
            "track": track_id,
        });
        if let Some(second) = &self.second_opinion {
            let crop = crop_around(frame, last.x, last.y, (3.0 * last.side as f32).max(32.0));
            match crop.map(|c| second.scorer.bird_probability(&c)) {
                Some(Ok(p)) => {
                    details["second_opinion"] =
                        serde_json::json!({ "model": second.scorer.name(), "bird": p });
                    if second.veto_at.is_some_and(|v| p >= v) {
                        tracing::info!(
                            track = track_id,
                            bird = p,
                            "throwing: candidate vetoed as a bird"
                        );
                        return None;
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "throwing: second opinion failed; alerting without it")
                }
                None => {}
            }
        }
        // Box around the whole path so far, from the origin.
        let pad = fall.size_px / 2.0 + 1.0;
        let xs = used.iter().map(|o| o.x).chain([fall.origin_x]);
        let ys = used.iter().map(|o| o.y).chain([fall.origin_y]);
        let (x0, x1) = xs.fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (y0, y1) = ys.fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let bx0 = ((x0 - pad) / w).clamp(0.0, 1.0);
        let by0 = ((y0 - pad) / h).clamp(0.0, 1.0);
        let bbox = BBox {
            x: bx0,
            y: by0,
            w: ((x1 + pad) / w).clamp(0.0, 1.0) - bx0,
            h: ((y1 + pad) / h).clamp(0.0, 1.0) - by0,
        };
        let severity = if size_m >= self.critical_size_m {
            Severity::Critical
        } else {
            Severity::Major
        };
        let picture = self.composite(frame, used, fall, &cell);
        self.incidents += 1;
        tracing::info!(
            floor = cell.floor,
            unit = %cell.unit_label,
            accel_g = fall.accel_g,
            confidence,
            "throwing: falling object"
        );
        Some(Finding {
            kind: AlertKind::Throwing,
            severity,
            state: AlertState::New,
            incident: self.incidents,
            score: confidence,
            zone: Some("facade".into()),
            bbox: Some(bbox),
            details,
            picture,
        })
    }

    /// The trajectory drawn over the frame where the fall started, with the
    /// origin window boxed.
    fn composite(
        &self,
        frame: &Frame,
        used: &[tracker::Obs],
        fall: &Fall,
        cell: &calibration::FacadeCell,
    ) -> Option<RgbImage> {
        let base = self
            .history
            .iter()
            .min_by(|a, b| {
                (a.0 - fall.origin_t)
                    .abs()
                    .total_cmp(&(b.0 - fall.origin_t).abs())
            })
            .map(|(_, rgb)| rgb.clone())
            .unwrap_or_else(|| frame.rgb.clone());
        let mut img = snapshot::to_image(&base, self.width, self.height).ok()?;
        const WINDOW: Rgb<u8> = Rgb([255, 220, 0]);
        const PATH: Rgb<u8> = Rgb([255, 140, 0]);
        if let Some(b) = self.calibration.cell_box(cell.floor, cell.column) {
            snapshot::draw_box(&mut img, b, WINDOW, 2);
        }
        // Fitted path from the origin to the last observation, thin.
        let t_end = used[used.len() - 1].t;
        let steps = (((t_end - fall.origin_t) * 60.0).ceil() as usize).max(1);
        let at = |t: f64| -> (f32, f32) {
            let x = if t < used[0].t {
                fall.fit_x.at(used[0].t) + fall.fit_x.rate(used[0].t) * (t - used[0].t)
            } else {
                fall.fit_x.at(t)
            };
            (x as f32, fall.fit_y.at(t) as f32)
        };
        let mut prev = at(fall.origin_t);
        for s in 1..=steps {
            let p = at(fall.origin_t + (t_end - fall.origin_t) * s as f64 / steps as f64);
            snapshot::draw_line(&mut img, prev, p, PATH, 2);
            prev = p;
        }
        // Observed points, with a cross at each.
        for o in used {
            snapshot::draw_line(
                &mut img,
                (o.x - 2.0, o.y),
                (o.x + 2.0, o.y),
                snapshot::ALERT_RED,
                1,
            );
            snapshot::draw_line(
                &mut img,
                (o.x, o.y - 2.0),
                (o.x, o.y + 2.0),
                snapshot::ALERT_RED,
                1,
            );
        }
        let last = used[used.len() - 1];
        let r = last.side as f32 / 2.0 + 2.0;
        snapshot::draw_box(
            &mut img,
            BBox {
                x: (last.x - r) / self.width as f32,
                y: (last.y - r) / self.height as f32,
                w: 2.0 * r / self.width as f32,
                h: 2.0 * r / self.height as f32,
            },
            snapshot::ALERT_RED,
            1,
        );
        Some(img)
    }
}

/// How sure the floor of an origin at (x, y) is, given the origin row's
/// standard uncertainty `sigma_px`: the share of a normal distribution
/// around `y` that falls in `floor`'s band, and the floor with the next
/// largest share (`None` when no other floor gets any).
fn floor_odds(cal: &Calibration, x: f32, y: f32, sigma_px: f32, floor: i32) -> (f32, Option<i32>) {
    let sigma = sigma_px.max(0.25);
    let mut shares: Vec<(i32, f32)> = Vec::new();
    const STEPS: i32 = 64;
    for k in -STEPS..=STEPS {
        let z = 4.0 * k as f32 / STEPS as f32;
        let weight = (-0.5 * z * z).exp();
        let f = cal.cell_at(x, y + z * sigma).floor;
        match shares.iter_mut().find(|(g, _)| *g == f) {
            Some((_, s)) => *s += weight,
            None => shares.push((f, weight)),
        }
    }
    let total: f32 = shares.iter().map(|(_, s)| s).sum::<f32>().max(1e-6);
    let own = shares
        .iter()
        .find(|(g, _)| *g == floor)
        .map_or(0.0, |(_, s)| *s);
    let second = shares
        .iter()
        .filter(|(g, s)| *g != floor && *s > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(g, _)| *g);
    (own / total, second)
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}
