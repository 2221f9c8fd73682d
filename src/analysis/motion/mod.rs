//! The motion analyzer: the simplest analyzer, raising a `motion` alert when
//! enough of a zone changes between frames. It proves the chain from camera to
//! broker end to end and is a tuning aid; the incident analyzers are separate.
//! Its config table, `[cameras.analyzers.motion]`, is [`MotionConfig`].

pub mod config;

pub use config::MotionConfig;

use super::{luma, Analyzer, Finding, ZoneMask};
use crate::alert::{AlertKind, AlertState, BBox, Severity};
use crate::ingest::Frame;
use std::time::Duration;

/// See the module doc.
pub struct MotionAnalyzer {
    zones: Vec<ZoneMask>,
    threshold: u8,
    min_fraction: f32,
    cooldown: Duration,
    previous: Option<Vec<u8>>,
    /// Pixels that changed on the last frame (for debug drawing).
    last_changed: Vec<bool>,
    /// Stream time of the last alert per zone.
    last_alert: Vec<Option<Duration>>,
    incidents: u64,
}

impl MotionAnalyzer {
    pub fn new(cfg: &MotionConfig, width: u32, height: u32) -> MotionAnalyzer {
        let zones: Vec<ZoneMask> = if cfg.zones.is_empty() {
            vec![ZoneMask::full("frame", width, height)]
        } else {
            cfg.zones
                .iter()
                .map(|z| ZoneMask::from_polygon(&z.name, &z.polygon, width, height))
                .collect()
        };
        MotionAnalyzer {
            last_alert: vec![None; zones.len()],
            zones,
            threshold: cfg.pixel_threshold,
            min_fraction: cfg.min_changed_fraction,
            cooldown: Duration::from_secs(cfg.cooldown_s),
            previous: None,
            last_changed: Vec::new(),
            incidents: 0,
        }
    }
}

impl Analyzer for MotionAnalyzer {
    fn name(&self) -> &'static str {
        "motion"
    }

    fn draw_debug(&self, img: &mut image::RgbImage) {
        const CHANGED: image::Rgb<u8> = image::Rgb([255, 0, 255]);
        const ZONE: image::Rgb<u8> = image::Rgb([255, 220, 0]);
        let w = img.width() as usize;
        if self.last_changed.len() == w * img.height() as usize {
            for (i, _) in self.last_changed.iter().enumerate().filter(|(_, c)| **c) {
                img.put_pixel((i % w) as u32, (i / w) as u32, CHANGED);
            }
        }
        for zone in &self.zones {
            zone.draw_outline(img, ZONE);
        }
    }

    fn process(&mut self, frame: &Frame) -> Vec<Finding> {
        let now = frame.pts.unwrap_or_default();
        let cur = luma(&frame.rgb);
        let Some(prev) = self.previous.replace(cur) else {
            return Vec::new();
        };
        let cur = self.previous.as_deref().unwrap_or(&[]);
        if prev.len() != cur.len() {
            return Vec::new();
        }
        let w = frame.width as usize;
        self.last_changed.clear();
        self.last_changed.extend(
            prev.iter()
                .zip(cur)
                .map(|(a, b)| a.abs_diff(*b) >= self.threshold),
        );
        let mut out = Vec::new();
        for (zi, zone) in self.zones.iter().enumerate() {
            if zone.area == 0 || zone.inside.len() != cur.len() {
                continue;
            }
            let (mut changed, mut x0, mut y0, mut x1, mut y1) =
                (0usize, usize::MAX, usize::MAX, 0, 0);
            for (i, (a, b)) in prev.iter().zip(cur).enumerate() {
                if zone.inside[i] && a.abs_diff(*b) >= self.threshold {
                    changed += 1;
                    let (x, y) = (i % w, i / w);
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
            let fraction = changed as f32 / zone.area as f32;
            if fraction < self.min_fraction {
                continue;
            }
            if let Some(last) = self.last_alert[zi] {
                if now.saturating_sub(last) < self.cooldown {
                    continue;
                }
            }
            self.last_alert[zi] = Some(now);
            self.incidents += 1;
            let (fw, fh) = (frame.width as f32, frame.height as f32);
            out.push(Finding {
                kind: AlertKind::Motion,
                severity: Severity::Info,
                state: AlertState::New,
                incident: self.incidents,
                score: (fraction / self.min_fraction / 4.0).min(1.0),
                zone: Some(zone.name.clone()),
                bbox: Some(BBox {
                    x: x0 as f32 / fw,
                    y: y0 as f32 / fh,
                    w: (x1 + 1 - x0) as f32 / fw,
                    h: (y1 + 1 - y0) as f32 / fh,
                }),
                details: serde_json::json!({ "changed_fraction": fraction }),
                picture: None,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn frame(pts_ms: u64, rgb: Vec<u8>) -> Frame {
        Frame {
            camera: "c".into(),
            seq: pts_ms,
            pts: Some(Duration::from_millis(pts_ms)),
            captured_at: std::time::SystemTime::now(),
            width: 8,
            height: 8,
            rgb: Arc::new(rgb),
        }
    }

    #[test]
    fn raises_on_change_then_respects_cooldown() {
        let cfg: MotionConfig = toml::from_str("cooldown_s = 10").unwrap();
        let mut m = MotionAnalyzer::new(&cfg, 8, 8);
        let dark = vec![0u8; 8 * 8 * 3];
        let mut lit = dark.clone();
        for p in lit.iter_mut().take(3 * 16) {
            *p = 200; // top two rows brighten
        }
        assert!(m.process(&frame(0, dark.clone())).is_empty());
        let f = m.process(&frame(100, lit.clone()));
        assert_eq!(f.len(), 1);
        let b = f[0].bbox.unwrap();
        assert_eq!((b.y, b.h), (0.0, 0.25));
        assert!(m.process(&frame(200, dark.clone())).is_empty(), "cooldown");
        assert_eq!(m.process(&frame(10_300, lit)).len(), 1);
        assert!(m.process(&frame(10_400, vec![200; 8 * 8 * 3])).len() <= 1);
    }

    #[test]
    fn ignores_noise_below_threshold() {
        let cfg: MotionConfig = toml::from_str("").unwrap();
        let mut m = MotionAnalyzer::new(&cfg, 8, 8);
        m.process(&frame(0, vec![100; 192]));
        assert!(m.process(&frame(100, vec![110; 192])).is_empty());
    }
}
