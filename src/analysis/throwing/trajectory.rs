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
//! most `max_backtrack_s`) to where the vertical speed was zero, for an
//! object first seen already moving (picked up late, behind a ledge or too
//! faint at first). Beyond the first point the path is extrapolated as free
//! fall at the local pixel scale (from the floor lines), starting from the
//! fitted position and speed there; the fitted parabola's own rest point is
//! kept as a check, and how far the two disagree widens the origin's
//! uncertainty (`origin_sigma_px`), from which the alert's floor confidence
//! and second-best floor come.

use super::tracker::Obs;
use crate::analysis::explain::Cue;

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
    /// Seconds the origin lies before the first observation used (the path
    /// extrapolated back over a late pick-up); 0 when seen from the start.
    pub extrapolated_s: f32,
    /// Where the fitted parabola alone puts the origin's row (the check on
    /// the free-fall back-trace), pixels.
    pub origin_y_fit: f32,
    /// Standard uncertainty of the origin's row, pixels.
    pub origin_sigma_px: f32,
}

/// What the test measured on a run of observations, for explanations
/// (`replay --explain`); `None` where the test stopped before measuring it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measures {
    pub points: usize,
    pub span_s: f32,
    /// Share of the frames in the span with an observation.
    pub coverage: f32,
    pub drop_px: Option<f32>,
    pub rms_y_px: Option<f32>,
    pub rms_x_px: Option<f32>,
    /// The residual allowed for this object size, pixels.
    pub allowance_px: Option<f32>,
    pub accel_g: Option<f32>,
    /// Fitted acceleration over its standard error.
    pub significance: Option<f32>,
    pub lateral_g: Option<f32>,
    /// The weaker fit without an end point that stands apart after a gap
    /// (none when no end does): acceleration as a fraction of free fall,
    /// and its significance.
    pub held_g: Option<f32>,
    pub held_significance: Option<f32>,
}

impl Measures {
    /// Each measured cue with the threshold it was compared with.
    pub fn cues(&self, p: &Params) -> Vec<Cue> {
        let mut v = vec![
            Cue::at_least("points", self.points as f64, p.min_points as f64),
            Cue::at_least("track_s", self.span_s as f64, p.min_track_s as f64),
            Cue::at_least("coverage", self.coverage as f64, MIN_COVERAGE as f64),
        ];
        if let Some(d) = self.drop_px {
            v.push(Cue::at_least("drop_px", d as f64, p.min_drop_px as f64));
        }
        let allowance = self.allowance_px.unwrap_or(p.max_residual_px) as f64;
        if let Some(r) = self.rms_y_px {
            v.push(Cue::at_most("residual_y_px", r as f64, allowance));
        }
        if let Some(r) = self.rms_x_px {
            v.push(Cue::at_most("residual_x_px", r as f64, allowance));
        }
        if let Some(a) = self.significance {
            v.push(Cue::at_least(
                "accel_significance",
                a as f64,
                SIGNIFICANCE as f64,
            ));
        }
        if let Some(g) = self.accel_g {
            v.push(Cue::at_least("min_g", g as f64, p.min_g as f64));
            v.push(Cue::at_most("max_g", g as f64, p.max_g as f64));
        }
        if let Some(g) = self.held_g {
            v.push(Cue::at_least("held_g", g as f64, p.min_g as f64));
        }
        if let Some(s) = self.held_significance {
            v.push(Cue::at_least(
                "held_significance",
                s as f64,
                HELD_SIGNIFICANCE as f64,
            ));
        }
        if let Some(l) = self.lateral_g {
            v.push(Cue::at_most(
                "max_lateral_g",
                l as f64,
                p.max_lateral_g as f64,
            ));
        }
        v
    }
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

/// Distance within which an object counts as not moving, pixels (at
/// least; a quarter of its size if larger).
const SETTLE_PX: f32 = 2.0;
/// Centroid noise assumed for tiny blobs, pixels.
const NOISE_FLOOR_PX: f64 = 0.4;
/// Observations that must lie clearly away from where the fall started.
const MIN_MOVING_POINTS: usize = 3;
/// Steps the fit expects to be at least this long (pixels) are checked for stalls.
const STALL_MIN_STEP_PX: f32 = 3.0;
/// The fitted acceleration must be this many standard errors above zero.
const SIGNIFICANCE: f32 = 5.0;
/// Without an end point that stands apart (after a gap), a run's fitted
/// acceleration must still be this many standard errors above zero (and at
/// least `min_g`).
const HELD_SIGNIFICANCE: f32 = 3.0;
/// Fraction of the frames in a track's span that must have an observation:
/// gaps are tolerated, a chain of chance matches (rain, noise) is not.
const MIN_COVERAGE: f32 = 0.6;

/// An object counts as still at an observation when it stayed within
/// `SETTLE_PX` (or a quarter of its size) over this many seconds before it.
const STILL_WINDOW_S: f64 = 0.25;
/// Most start points tried per judgement.
const MAX_STARTS: usize = 6;

/// Judges a track's observations. `gravity_px(y)` is free fall at row y.
///
/// The fall may not start at the track's first point: an object is often
/// held in a window, or a hand moves it about, before it drops. So after
/// the track's first point, the end of each still stretch (an object held
/// still, then let go) is tried as a start, latest first, and the first
/// run that passes the test is taken; a leaf or bird followed while moving
/// all along is only ever judged over its whole path. The fitted path
/// is then extended back over earlier points that lie on it.
pub fn judge(obs: &[Obs], gravity_px: impl Fn(f32) -> f32, p: &Params) -> Verdict {
    judge_measured(obs, gravity_px, p).0
}

/// [`judge`], with what was measured on the run the verdict is about (the
/// accepted one, the longest rejected one, or else the longest waiting one).
pub fn judge_measured(
    obs: &[Obs],
    gravity_px: impl Fn(f32) -> f32,
    p: &Params,
) -> (Verdict, Measures) {
    let mut m = Measures::default();
    let v = judge_inner(obs, gravity_px, p, &mut m);
    (v, m)
}

fn judge_inner(
    obs: &[Obs],
    gravity_px: impl Fn(f32) -> f32,
    p: &Params,
    measures: &mut Measures,
) -> Verdict {
    let Some(first) = obs.first() else {
        return Verdict::Wait;
    };
    let settle = |o: &Obs| SETTLE_PX.max(0.25 * o.side as f32);
    if obs
        .iter()
        .all(|o| (o.x - first.x).hypot(o.y - first.y) <= settle(first))
    {
        return Verdict::Wait; // nothing moved: a light, a sign, laundry at rest
    }
    let min_points = p.min_points.max(4) as usize;
    if obs.len() < min_points {
        return Verdict::Wait;
    }
    // Where a fall may start: where the track began, or where the object
    // was last still (held in a window) before it moved.
    let still = |i: usize| -> bool {
        let o = &obs[i];
        let r = settle(o);
        let mut earlier = 0;
        for q in obs[..i].iter().rev() {
            if o.t - q.t > STILL_WINDOW_S {
                break;
            }
            if (q.x - o.x).hypot(q.y - o.y) > r {
                return false;
            }
            earlier += 1;
        }
        earlier >= 1
    };
    let last_start = obs.len() - min_points;
    let mut starts = vec![0];
    let mut prev_still = false;
    for i in 1..=last_start + 1 {
        let now = i < obs.len() && still(i);
        if prev_still && !now && i - 1 <= last_start {
            starts.push(i - 1);
        }
        prev_still = now;
    }
    if starts.len() > MAX_STARTS {
        starts.drain(1..starts.len() - MAX_STARTS + 1);
    }
    let mut verdict = Verdict::Wait;
    // Latest start first: the fall begins when the object was last still.
    for &s in starts.iter().rev() {
        let mut m = Measures::default();
        match test_suffix(&obs[s..], &gravity_px, p, &mut m) {
            Verdict::Fall(mut fall) => {
                *measures = m;
                // Take in earlier points that lie on the fitted path.
                let tol = p.max_residual_px + 0.1 * fall.size_px + 1.0;
                let mut start = s;
                while start > 0 {
                    let o = &obs[start - 1];
                    let ex = (fall.fit_x.at(o.t) as f32 - o.x).abs();
                    let ey = (fall.fit_y.at(o.t) as f32 - o.y).abs();
                    if ex > tol || ey > tol {
                        break;
                    }
                    start -= 1;
                }
                fall.start = start;
                trace_origin(
                    &mut fall,
                    obs[start].t,
                    obs[obs.len() - 1].t,
                    &gravity_px,
                    p,
                );
                return Verdict::Fall(fall);
            }
            // Report the reason for the longest run.
            Verdict::Reject(why) => {
                verdict = Verdict::Reject(why);
                *measures = m;
            }
            // What a waiting run lacks (for the trace log): the longest one.
            Verdict::Wait => {
                if matches!(verdict, Verdict::Wait) {
                    *measures = m;
                }
            }
        }
    }
    verdict
}

/// The free-fall test on one run of observations.
fn test_suffix(
    pts: &[Obs],
    gravity_px: &impl Fn(f32) -> f32,
    p: &Params,
    m: &mut Measures,
) -> Verdict {
    let n = pts.len();
    let (t_first, t_last) = (pts[0].t, pts[n - 1].t);
    m.points = n;
    m.span_s = (t_last - t_first) as f32;
    if n < p.min_points as usize || ((t_last - t_first) as f32) < p.min_track_s {
        return Verdict::Wait;
    }
    let frames_spanned = ((t_last - t_first) as f32 / p.frame_s.max(1e-3)).round() + 1.0;
    m.coverage = n as f32 / frames_spanned;
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
    m.drop_px = Some(drop);
    if drop < -p.min_drop_px {
        return Verdict::Reject("rising");
    }
    if drop < p.min_drop_px {
        return Verdict::Wait;
    }
    // Mostly downwards: by now it is heading down more than sideways.
    let (vx_end, vy_end) = (fx.rate(t_last) as f32, fy.rate(t_last) as f32);
    if vy_end < 0.75 * vx_end.abs() || drop < 0.5 * dx.abs() {
        return Verdict::Reject("more sideways than down");
    }
    let size = pts.iter().map(|o| o.side as f32).sum::<f32>() / n as f32;
    // The drop must be seen over several points, not made by one: a still
    // (or slowly drifting) blob that takes a passing bird as its last point
    // fits a parabola too. Count the points clearly below the start.
    let y0 = pts[0].y;
    let away = SETTLE_PX.max(0.25 * size).max(0.2 * drop);
    let moving = pts.iter().filter(|o| o.y - y0 > away).count();
    if moving < MIN_MOVING_POINTS {
        return Verdict::Wait;
    }
    // Once it moves, a falling object is seen in most frames: a blob seen
    // still for a while and then only now and then (clouds, noise at the
    // facade's edge) passes the coverage test over its whole span only
    // thanks to its still part.
    if let Some(first_away) = pts.iter().position(|o| o.y - y0 > away) {
        let m = first_away.saturating_sub(1);
        let spanned = ((t_last - pts[m].t) as f32 / p.frame_s.max(1e-3)).round() + 1.0;
        if ((n - m) as f32) < MIN_COVERAGE * spanned {
            return Verdict::Reject("too many gaps while falling");
        }
    }
    // A falling object never stops: where the fit expects a clear step down
    // between two observations, the object must have made most of it (a lift
    // car seen through slit windows moves in steps).
    let mut stalls = 0;
    let mut steps = 0;
    for pair in pts.windows(2) {
        let expected = (fy.at(pair[1].t) - fy.at(pair[0].t)) as f32;
        if expected >= STALL_MIN_STEP_PX {
            steps += 1;
            if pair[1].y - pair[0].y < 0.3 * expected {
                stalls += 1;
            }
        }
    }
    if stalls >= 2 || (steps > 0 && stalls * 4 > steps) {
        return Verdict::Reject("stops and starts");
    }
    let allowance = p.max_residual_px + 0.1 * size;
    m.allowance_px = Some(allowance);
    m.rms_y_px = Some(fy.rms as f32);
    m.rms_x_px = Some(fx.rms as f32);
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
    m.accel_g = Some(accel_g);
    m.significance = Some(accel / sigma.max(1e-6));
    if accel < SIGNIFICANCE * sigma || accel_g < p.min_g {
        return Verdict::Reject("too little acceleration (constant speed)");
    }
    if accel_g > p.max_g {
        return Verdict::Reject("too much acceleration");
    }
    // The acceleration must be carried by the run, not by one end point
    // standing apart from it: a leaf sinking at its steady speed after a
    // chance blob (seen once, then a gap) fits a parabola over all its
    // points, but not without that first one. An end point after a gap has
    // the most leverage on the fit, so without it the fit must still find
    // acceleration.
    if let Some(held) = held_without_ends(&ts, &ys, g, p.frame_s) {
        m.held_g = Some(held.0);
        m.held_significance = Some(held.1);
        if held.0 < p.min_g || held.1 < HELD_SIGNIFICANCE {
            return Verdict::Reject("acceleration made by one end point");
        }
    }
    let lateral = fx.accel().abs() as f32;
    m.lateral_g = Some((lateral - 2.0 * 2.0 * fx.sigma_c2 as f32).max(0.0) / g);
    if lateral - 2.0 * 2.0 * fx.sigma_c2 as f32 > p.max_lateral_g * g {
        return Verdict::Reject("sideways acceleration");
    }
    let q_fit = 1.0 - (fy.rms.max(fx.rms) as f32 / allowance).min(1.0);
    let q_g = (-accel_g.ln().abs()).exp();
    let q_sig = ((accel / sigma.max(1e-3) - SIGNIFICANCE) / 4.0).clamp(0.0, 1.0);
    let q_n = (n as f32 / 10.0).min(1.0);
    let confidence = 0.4 + 0.6 * (0.25 * q_fit + 0.35 * q_g + 0.25 * q_sig + 0.15 * q_n);
    Verdict::Fall(Fall {
        start: 0,
        fit_x: fx,
        fit_y: fy,
        accel_px: accel,
        accel_g,
        origin_t: t_first,
        origin_x: fx.at(t_first) as f32,
        origin_y: fy.at(t_first) as f32,
        duration_s: (t_last - t_first) as f32,
        confidence,
        size_px: size,
        extrapolated_s: 0.0,
        origin_y_fit: fy.at(t_first) as f32,
        origin_sigma_px: 1.0 + 0.1 * size,
    })
}

/// The weaker of the leave-one-out fits of the vertical path without an
/// end point that stands apart from the rest (a frame or more missing
/// between it and its neighbour): (acceleration as a fraction of free fall
/// `g`, its significance). An end point seen next to its neighbour is
/// kept: the fit rests on a run of neighbours there, and leaving the newest
/// point out would only delay every alert by a frame. `None` when no end
/// stands apart.
fn held_without_ends(ts: &[f64], ys: &[f64], g: f32, frame_s: f32) -> Option<(f32, f32)> {
    let n = ts.len();
    let apart = (1.5 * frame_s.max(1e-3)) as f64;
    let mut weakest: Option<(f32, f32)> = None;
    for (isolated, range) in [
        (ts[1] - ts[0] > apart, 1..n),
        (ts[n - 1] - ts[n - 2] > apart, 0..n - 1),
    ] {
        if !isolated {
            continue;
        }
        let (accel_g, significance) =
            match fit_quadratic(&ts[range.clone()], &ys[range], NOISE_FLOOR_PX) {
                Some(f) => {
                    let accel = f.accel() as f32;
                    (accel / g, accel / (2.0 * f.sigma_c2 as f32).max(1e-6))
                }
                // Too few points left to fit: nothing holds.
                None => (0.0, 0.0),
            };
        let w = weakest.get_or_insert((accel_g, significance));
        *w = (w.0.min(accel_g), w.1.min(significance));
    }
    weakest
}

/// Traces the path back from its first point (`t_first`) to where the
/// fall started: there, when the fitted vertical speed there is not
/// downwards (a toss seen from the hand), or up to `max_backtrack_s` earlier
/// where the speed was zero, integrating free fall at the local scale
/// (`gravity_px(y)`) backwards from the fitted position and speed at
/// `t_first`. Sets the origin, `extrapolated_s`, `origin_y_fit` (the
/// parabola's own rest point) and `origin_sigma_px`.
fn trace_origin(
    fall: &mut Fall,
    t_first: f64,
    t_last: f64,
    gravity_px: &impl Fn(f32) -> f32,
    p: &Params,
) {
    let (fx, fy) = (&fall.fit_x, &fall.fit_y);
    let limit = p.max_backtrack_s.max(0.0) as f64;
    let base_sigma = 1.0 + 0.1 * fall.size_px;
    let v_first = fy.rate(t_first);
    let t_rest_fit = if fy.c2 > 0.0 {
        fy.t0 - fy.c1 / (2.0 * fy.c2)
    } else {
        t_first
    };
    if v_first <= 0.0 || t_rest_fit >= t_first || limit <= 0.0 {
        fall.origin_t = t_first;
        fall.origin_y = fy.at(t_first) as f32;
        fall.origin_y_fit = fall.origin_y;
        fall.origin_x = fx.at(t_first) as f32;
        fall.extrapolated_s = 0.0;
        fall.origin_sigma_px = base_sigma;
        fall.duration_s = (t_last - t_first) as f32;
        return;
    }
    // Free fall backwards: v shrinks by g(y)·h per step until it is zero.
    const STEP_S: f64 = 1.0 / 480.0;
    let (mut y, mut v, mut back) = (fy.at(t_first), v_first, 0.0f64);
    while v > 0.0 && back < limit {
        let g = gravity_px(y as f32).max(1e-3) as f64;
        let h = STEP_S.min(v / g).min(limit - back);
        y -= v * h - 0.5 * g * h * h;
        v -= g * h;
        back += h;
    }
    let t_fit = t_rest_fit.max(t_first - limit);
    let y_fit = fy.at(t_fit);
    let origin_t = t_first - back;
    fall.origin_t = origin_t;
    fall.origin_y = y as f32;
    fall.origin_y_fit = y_fit as f32;
    fall.origin_x = (fx.at(t_first) + fx.rate(t_first) * (origin_t - t_first)) as f32;
    fall.extrapolated_s = back as f32;
    // The two back-traces agree when the scale and the fit do; where they
    // do not, the truth is most likely between them.
    let disagreement = (y - y_fit).abs() as f32;
    fall.origin_sigma_px = base_sigma.hypot(0.5 * disagreement);
    fall.duration_s = (t_last - origin_t) as f32;
}

#[cfg(test)]
mod tests;
