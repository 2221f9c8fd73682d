//! The trajectory test: is a track something falling freely, and where did
//! it start?
//!
//! The vertical position is fitted by least squares to
//! `y = y0 + v0·t + ½·a·t²` and the horizontal one likewise. A fall is
//! accepted when the track moves mostly downwards, the fit is tight (birds,
//! insects and leaves wander), the vertical acceleration is clearly above
//! zero (rain, lifts and gliding birds move at constant speed) and within
//! `[min_g, max_g]` of free fall at the local pixel scale, and the sideways
//! acceleration is small (leaves zig-zag, laundry swings). The start is traced
//! back along the fitted path: to the first observation, or earlier (by at
//! most `max_backtrack_s`) to where the fitted vertical speed was zero, for an
//! object first seen already moving.

use super::tracker::Obs;

/// A fitted quadratic `v(t) = c0 + c1·dt + c2·dt²` with `dt = t − t0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad {
    pub t0: f64,
    pub c0: f64,
    pub c1: f64,
    pub c2: f64,
    /// RMS of the residuals.
    pub rms: f64,
    /// Standard error of `c2`.
    pub sigma_c2: f64,
}

impl Quad {
    /// Value at absolute time `t`.
    pub fn at(&self, t: f64) -> f64 {
        let dt = t - self.t0;
        self.c0 + self.c1 * dt + self.c2 * dt * dt
    }
    /// Rate of change at absolute time `t`.
    pub fn rate(&self, t: f64) -> f64 {
        self.c1 + 2.0 * self.c2 * (t - self.t0)
    }
    /// The acceleration, `2·c2`.
    pub fn accel(&self) -> f64 {
        2.0 * self.c2
    }
}

/// Least-squares fit of `vs` against times `ts` (same length, at least 4
/// points spread over time). `noise_floor` bounds the residual spread used
/// for `sigma_c2` from below (measurement noise of a centroid).
pub fn fit_quadratic(ts: &[f64], vs: &[f64], noise_floor: f64) -> Option<Quad> {
    let n = ts.len();
    if n < 4 || vs.len() != n {
        return None;
    }
    let t0 = ts.iter().sum::<f64>() / n as f64;
    // Normal equations: sums of dt^k and dt^k·v.
    let mut s = [0.0f64; 5];
    let mut r = [0.0f64; 3];
    for (t, v) in ts.iter().zip(vs) {
        let dt = t - t0;
        let mut p = 1.0;
        for k in 0..5 {
            if k < 3 {
                r[k] += p * v;
            }
            s[k] += p;
            p *= dt;
        }
    }
    let m = [[s[0], s[1], s[2]], [s[1], s[2], s[3]], [s[2], s[3], s[4]]];
    let inv = invert3(&m)?;
    let c: Vec<f64> = (0..3)
        .map(|i| (0..3).map(|j| inv[i][j] * r[j]).sum())
        .collect();
    let mut rss = 0.0;
    for (t, v) in ts.iter().zip(vs) {
        let dt = t - t0;
        let e = v - (c[0] + c[1] * dt + c[2] * dt * dt);
        rss += e * e;
    }
    let rms = (rss / n as f64).sqrt();
    let var = (rss / (n as f64 - 3.0)).max(noise_floor * noise_floor);
    Some(Quad {
        t0,
        c0: c[0],
        c1: c[1],
        c2: c[2],
        rms,
        sigma_c2: (var * inv[2][2]).max(0.0).sqrt(),
    })
}

fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-12 {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (i, row) in inv.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            // Cofactor of m[j][i] (transpose for the adjugate).
            let (r0, r1) = ((j + 1) % 3, (j + 2) % 3);
            let (c0, c1) = ((i + 1) % 3, (i + 2) % 3);
            *v = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
    }
    Some(inv)
}

/// Thresholds of the test (from the config).
#[derive(Debug, Clone)]
pub struct Params {
    pub min_g: f32,
    pub max_g: f32,
    pub max_lateral_g: f32,
    pub min_track_s: f32,
    pub min_points: u32,
    pub min_drop_px: f32,
    pub max_residual_px: f32,
    pub max_backtrack_s: f32,
    /// Usual time between frames, seconds (for the coverage test).
    pub frame_s: f32,
}

/// An accepted fall.
#[derive(Debug, Clone)]
pub struct Fall {
    /// Index of the first observation used (after dropping a still prefix).
    pub start: usize,
    pub fit_x: Quad,
    pub fit_y: Quad,
    /// Fitted vertical acceleration, pixels/s², and as a fraction of free fall.
    pub accel_px: f32,
    pub accel_g: f32,
    /// Where and when the fall started (pixels, stream seconds).
    pub origin_t: f64,
    pub origin_x: f32,
    pub origin_y: f32,
    /// Seconds from the start to the last observation.
    pub duration_s: f32,
    /// 0..=1, from fit tightness, closeness to free fall, significance and length.
    pub confidence: f32,
    /// Mean blob side, pixels.
    pub size_px: f32,
}

/// The test's answer for a track so far.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Not enough track yet.
    Wait,
    /// Not a free fall (so far), with the reason.
    Reject(&'static str),
    Fall(Fall),
}

/// Distance from the first observation beyond which an object counts as
/// having started to move.
const SETTLE_PX: f32 = 2.0;
/// Centroid noise assumed for tiny blobs, pixels.
const NOISE_FLOOR_PX: f64 = 0.4;
/// The fitted acceleration must be this many standard errors above zero.
const SIGNIFICANCE: f32 = 4.0;
/// Fraction of the frames in a track's span that must have an observation:
/// gaps are tolerated, a chain of chance matches (rain, noise) is not.
const MIN_COVERAGE: f32 = 0.6;

/// Judges a track's observations. `gravity_px(y)` is free fall at row y.
pub fn judge(obs: &[Obs], gravity_px: impl Fn(f32) -> f32, p: &Params) -> Verdict {
    let Some(first) = obs.first() else {
        return Verdict::Wait;
    };
    // Drop a still prefix (an object held in a window, a light): the fall
    // starts at the last still observation before it moved.
    let Some(moved) = obs
        .iter()
        .position(|o| (o.x - first.x).hypot(o.y - first.y) > SETTLE_PX)
    else {
        return Verdict::Wait;
    };
    let start = moved.saturating_sub(1);
    let pts = &obs[start..];
    let n = pts.len();
    let (t_first, t_last) = (pts[0].t, pts[n - 1].t);
    if n < p.min_points as usize || ((t_last - t_first) as f32) < p.min_track_s {
        return Verdict::Wait;
    }
    let frames_spanned = ((t_last - t_first) as f32 / p.frame_s.max(1e-3)).round() + 1.0;
    if (n as f32) < MIN_COVERAGE * frames_spanned {
        return Verdict::Reject("too many gaps");
    }
    let ts: Vec<f64> = pts.iter().map(|o| o.t).collect();
    let xs: Vec<f64> = pts.iter().map(|o| o.x as f64).collect();
    let ys: Vec<f64> = pts.iter().map(|o| o.y as f64).collect();
    let (Some(fy), Some(fx)) = (
        fit_quadratic(&ts, &ys, NOISE_FLOOR_PX),
        fit_quadratic(&ts, &xs, NOISE_FLOOR_PX),
    ) else {
        return Verdict::Wait;
    };
    let drop = (fy.at(t_last) - fy.at(t_first)) as f32;
    let dx = (fx.at(t_last) - fx.at(t_first)) as f32;
    if drop < -p.min_drop_px {
        return Verdict::Reject("rising");
    }
    if drop < p.min_drop_px {
        return Verdict::Wait;
    }
    if dx.abs() > drop {
        return Verdict::Reject("more sideways than down");
    }
    let size = pts.iter().map(|o| o.side as f32).sum::<f32>() / n as f32;
    let allowance = p.max_residual_px + 0.1 * size;
    if fy.rms as f32 > allowance {
        return Verdict::Reject("erratic vertical path");
    }
    if fx.rms as f32 > allowance {
        return Verdict::Reject("erratic sideways path");
    }
    let mean_y = (ys.iter().sum::<f64>() / n as f64) as f32;
    let g = gravity_px(mean_y).max(1e-3);
    let accel = fy.accel() as f32;
    let sigma = 2.0 * fy.sigma_c2 as f32;
    let accel_g = accel / g;
    if accel < SIGNIFICANCE * sigma || accel_g < p.min_g {
        return Verdict::Reject("too little acceleration (constant speed)");
    }
    if accel_g > p.max_g {
        return Verdict::Reject("too much acceleration");
    }
    let lateral = fx.accel().abs() as f32;
    if lateral - 2.0 * 2.0 * fx.sigma_c2 as f32 > p.max_lateral_g * g {
        return Verdict::Reject("sideways acceleration");
    }
    // Trace back to the start.
    let t_rest = fy.t0 - fy.c1 / (2.0 * fy.c2);
    let origin_t = if t_rest < t_first {
        t_rest.max(t_first - p.max_backtrack_s as f64)
    } else {
        t_first
    };
    let origin_y = fy.at(origin_t) as f32;
    let origin_x = (fx.at(t_first) + fx.rate(t_first) * (origin_t - t_first)) as f32;
    // Confidence.
    let q_fit = 1.0 - (fy.rms.max(fx.rms) as f32 / allowance).min(1.0);
    let q_g = (-accel_g.ln().abs()).exp();
    let q_sig = ((accel / sigma.max(1e-3) - SIGNIFICANCE) / 4.0).clamp(0.0, 1.0);
    let q_n = (n as f32 / 10.0).min(1.0);
    let confidence = 0.4 + 0.6 * (0.25 * q_fit + 0.35 * q_g + 0.25 * q_sig + 0.15 * q_n);
    Verdict::Fall(Fall {
        start,
        fit_x: fx,
        fit_y: fy,
        accel_px: accel,
        accel_g,
        origin_t,
        origin_x,
        origin_y,
        duration_s: (t_last - origin_t) as f32,
        confidence,
        size_px: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            min_g: 0.5,
            max_g: 2.5,
            max_lateral_g: 0.5,
            min_track_s: 0.5,
            min_points: 5,
            min_drop_px: 6.0,
            max_residual_px: 1.5,
            max_backtrack_s: 0.3,
            frame_s: 0.1,
        }
    }

    /// Observations at 10 fps of a path `f(t) -> (x, y)`, with a fixed
    /// pseudo-random jitter of up to ±`jitter` px.
    fn track(n: usize, jitter: f32, f: impl Fn(f64) -> (f64, f64)) -> Vec<Obs> {
        let mut s = 7u32;
        (0..n)
            .map(|k| {
                let t = 10.0 + k as f64 * 0.1;
                let (x, y) = f(t - 10.0);
                let mut j = || {
                    s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    ((s >> 16) % 1000) as f32 / 1000.0 * 2.0 * jitter - jitter
                };
                Obs {
                    t,
                    x: x as f32 + j(),
                    y: y as f32 + j(),
                    area: 16,
                    side: 4,
                }
            })
            .collect()
    }

    const G: f32 = 80.0;

    #[test]
    fn quadratic_fit_recovers_coefficients() {
        let ts: Vec<f64> = (0..10).map(|k| k as f64 * 0.1).collect();
        let vs: Vec<f64> = ts.iter().map(|t| 3.0 + 2.0 * t + 20.0 * t * t).collect();
        let q = fit_quadratic(&ts, &vs, 0.0).unwrap();
        assert!((q.accel() - 40.0).abs() < 1e-6);
        assert!((q.at(0.0) - 3.0).abs() < 1e-6 && (q.rate(0.0) - 2.0).abs() < 1e-6);
        assert!(q.rms < 1e-6);
    }

    #[test]
    fn a_drop_is_accepted_and_traced_to_its_start() {
        let obs = track(8, 0.4, |t| (100.0, 50.0 + 0.5 * G as f64 * t * t));
        match judge(&obs, |_| G, &params()) {
            Verdict::Fall(f) => {
                assert!((f.accel_g - 1.0).abs() < 0.35, "{f:?}");
                assert!((f.origin_y - 50.0).abs() < 1.0, "{f:?}");
                assert!((f.origin_t - 10.0).abs() < 0.05);
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn an_object_first_seen_falling_is_traced_back_to_rest() {
        // Seen from 0.2 s after release: origin is traced back to y = 50.
        let obs = track(8, 0.3, |t| {
            let t = t + 0.2;
            (100.0, 50.0 + 0.5 * G as f64 * t * t)
        });
        match judge(&obs, |_| G, &params()) {
            Verdict::Fall(f) => {
                assert!((f.origin_y - 50.0).abs() < 1.5, "{f:?}");
                assert!((f.origin_t - 9.8).abs() < 0.07, "{f:?}");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn constant_speed_is_rejected() {
        let obs = track(10, 0.4, |t| (100.0, 50.0 + 30.0 * t));
        assert!(matches!(judge(&obs, |_| G, &params()), Verdict::Reject(_)));
    }

    #[test]
    fn level_rising_and_zigzag_paths_are_rejected() {
        let level = track(10, 0.4, |t| (100.0 + 60.0 * t, 50.0));
        assert!(!matches!(judge(&level, |_| G, &params()), Verdict::Fall(_)));
        let rising = track(10, 0.4, |t| (100.0, 80.0 - 40.0 * t));
        assert!(matches!(
            judge(&rising, |_| G, &params()),
            Verdict::Reject(_)
        ));
        let leaf = track(15, 0.3, |t| {
            (100.0 + 8.0 * (t * 9.0).sin(), 50.0 + 15.0 * t + 5.0 * t * t)
        });
        assert!(matches!(judge(&leaf, |_| G, &params()), Verdict::Reject(_)));
    }

    #[test]
    fn a_still_prefix_is_dropped() {
        let obs = track(14, 0.3, |t| {
            let t = (t - 0.5).max(0.0);
            (100.0, 50.0 + 0.5 * G as f64 * t * t)
        });
        match judge(&obs, |_| G, &params()) {
            Verdict::Fall(f) => {
                assert!(f.start >= 3, "{f:?}");
                assert!((f.origin_y - 50.0).abs() < 1.5);
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn short_tracks_wait() {
        let obs = track(3, 0.0, |t| (100.0, 50.0 + 0.5 * G as f64 * t * t));
        assert!(matches!(judge(&obs, |_| G, &params()), Verdict::Wait));
    }
}
