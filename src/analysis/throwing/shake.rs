//! How the analyzer follows the camera's shake and drift: each frame's
//! shift against the background ([`motion`]) is undone in whole pixels,
//! its slow part (drift) moves the background models instead, and the
//! sub-pixel rest widens the background's envelope.

use super::motion;
use super::ThrowingAnalyzer;

/// Time constant (seconds) of the slow part of the camera's shift: a drift
/// the background follows by moving itself, where the fast part (shake) is
/// undone frame by frame.
const DRIFT_S: f32 = 1.0;
/// Time constants (seconds) of the measured sub-pixel shake: it rises
/// quickly when the camera starts shaking and settles slowly.
const SUBPIXEL_RISE_S: f32 = 0.5;
const SUBPIXEL_FALL_S: f32 = 3.0;

impl ThrowingAnalyzer {
    /// Measures the frame's shift against the background ([`motion`]) and
    /// shifts luma and chroma into line (`luma_aligned`, `chroma_aligned`)
    /// to the nearest pixel. The slow part of the shift (a
    /// drift) is handed to the background models in whole pixels instead, so
    /// the shift undone per frame stays about the size of the shake; live
    /// tracks move with them.
    pub(super) fn compensate_motion(&mut self, dt: f32) {
        let mut d = self
            .motion
            .estimate(&self.luma, self.background.background());
        let k = (dt / DRIFT_S).clamp(0.0, 1.0);
        self.drift.0 += (d.0 - self.drift.0) * k;
        self.drift.1 += (d.1 - self.drift.1) * k;
        let whole = (self.drift.0.round() as i32, self.drift.1.round() as i32);
        if whole != (0, 0) {
            // What the background showed at p is now at p + whole.
            self.background.translate(whole);
            self.chroma_background.translate(whole);
            let by = (whole.0 as f32, whole.1 as f32);
            self.motion.rebase(by);
            self.drift = (self.drift.0 - by.0, self.drift.1 - by.1);
            d = (d.0 - by.0, d.1 - by.1);
            for track in &mut self.tracker.tracks {
                for o in &mut track.obs {
                    o.x += by.0;
                    o.y += by.1;
                }
            }
            tracing::debug!(
                dx = whole.0,
                dy = whole.1,
                "throwing: background follows the camera's drift"
            );
        }
        // Undone in whole pixels (a plain copy); the background's envelope
        // (`shake_px`) takes the sub-pixel rest. Resampling to a fraction of
        // a pixel smooths sensor noise and small dim objects with it: on
        // the default suite's IR clips that delayed alerts by up to 0.8 s
        // (docs/throwing-motion.md).
        let rounded = (d.0.round(), d.1.round());
        let rest = (d.0 - rounded.0).abs().max((d.1 - rounded.1).abs());
        let tau = if rest > self.subpixel {
            SUBPIXEL_RISE_S
        } else {
            SUBPIXEL_FALL_S
        };
        self.subpixel += (rest - self.subpixel) * (dt / tau).clamp(0.0, 1.0);
        let shake = self.subpixel * self.headroom_gain;
        self.background.set_subpixel_shake(shake);
        self.chroma_background.set_subpixel_shake(shake);
        tracing::trace!(
            dx = d.0,
            dy = d.1,
            subpixel = self.subpixel,
            headroom_gain = self.headroom_gain,
            "throwing: measured shift"
        );
        let d = rounded;
        self.last_shift = d;
        if d == (0.0, 0.0) {
            return;
        }
        let w = self.width as usize;
        self.luma_aligned.resize(self.luma.len(), 0);
        self.chroma_aligned.resize(self.chroma.len(), 0);
        motion::shift_plane(&self.luma, &mut self.luma_aligned, w, d.0, d.1);
        motion::shift_plane(&self.chroma, &mut self.chroma_aligned, w, d.0, d.1);
        self.last_shift = d;
    }
}
