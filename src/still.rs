//! `estatewatch still`: one calibration picture from a live camera.
//!
//! Connects to a configured camera through the daemon's own ingest code
//! ([`spawn_camera`]), lets a few frames go by (so the picture is not a grey
//! key-frame start), keeps the next one and stops. The picture is written
//! twice: plainly (`--raw`, optional) and with everything the camera's config
//! places on it: each analyzer's [`draw_debug`](crate::analysis::Analyzer::draw_debug)
//! view, every zone, mask and exclusion with its name, the throwing facade
//! grid with floor and column labels, a light grid of normalised
//! coordinates (every 0.1, labelled) so integrators can read config
//! coordinates straight off the picture, and the caption every picture of
//! the gateway has (display name, site-local time; [`crate::alert::caption`]).

use crate::alert::snapshot;
use crate::analysis;
use crate::analysis::config::CameraConfig;
use crate::analysis::detector::config::RuntimeConfig;
use crate::analysis::throwing::config::ThrowingConfig;
use crate::base::font::{draw_text, line_height, text_width};
use crate::base::{redact, UrlPaths, MASK};
use crate::ingest::config::camera_names;
use crate::ingest::{spawn_camera, CameraStatus, Frame, FrameSlot, IngestError, Take};
use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Frames let go by before the one that is kept.
pub const WARM_UP_FRAMES: u64 = 5;

/// What went wrong taking a still.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    #[error("camera {0:?} is not in the config (cameras: {1})")]
    NoSuchCamera(String, String),
    #[error("camera {camera}: {source}")]
    Ingest { camera: String, source: IngestError },
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    #[error("camera {camera}: no frame within {secs} s ({what})")]
    NoFrame {
        camera: String,
        secs: u64,
        what: String,
    },
    #[error("cannot write {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

/// Options for [`still`].
#[derive(Debug, Clone)]
pub struct StillOptions {
    /// The annotated picture (PNG, or any format `image` writes by extension).
    pub out: PathBuf,
    /// The plain frame, when wanted.
    pub raw: Option<PathBuf>,
    /// How long to wait for the camera's frames.
    pub timeout: Duration,
    /// The caption's time zone and language (`[site] timezone`, `lang`):
    /// the camera's display name and the frame's local time, bottom left.
    pub text: crate::alert::caption::PictureText,
}

/// What [`still`] wrote; its `Display` is the line the command prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillSummary {
    pub camera: String,
    pub width: u32,
    pub height: u32,
    pub out: PathBuf,
    pub raw: Option<PathBuf>,
}

impl std::fmt::Display for StillSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wrote {}", self.out.display())?;
        if let Some(raw) = &self.raw {
            write!(f, " and {} (plain frame)", raw.display())?;
        }
        write!(
            f,
            ": {}x{} from camera {}",
            self.width, self.height, self.camera
        )
    }
}

/// Takes one frame from `camera` (one of `cameras`) and writes the
/// calibration picture; analyzers that use models load them with `runtime`.
pub fn still(
    cameras: &[CameraConfig],
    runtime: &RuntimeConfig,
    camera: &str,
    options: &StillOptions,
) -> Result<StillSummary, StillError> {
    let cam = cameras
        .iter()
        .find(|c| c.name == camera)
        .ok_or_else(|| StillError::NoSuchCamera(camera.to_string(), camera_names(cameras)))?;
    // Fail on an unwritable path before waiting for the camera.
    check_writable(&options.out)?;
    if let Some(raw) = &options.raw {
        check_writable(raw)?;
    }
    // Built as the daemon builds them: an analyzer that needs a model (the
    // throwing second opinion) fails here as it would fail at start.
    let models = analysis::load_wanted_models(runtime, [cam]);
    let mut analyzers = analysis::build_analyzers_with(cam, models.as_ref())?;
    let frame = grab(cam, options.timeout)?;
    let raw = snapshot::to_image(&frame.rgb, frame.width, frame.height).map_err(|e| {
        StillError::NoFrame {
            camera: cam.name.clone(),
            secs: options.timeout.as_secs(),
            what: e.to_string(),
        }
    })?;
    for a in analyzers.iter_mut() {
        a.process(&frame);
    }
    let mut img = raw.clone();
    let mut labels = Labels::default();
    draw_normalised_grid(&mut img, &mut labels);
    for a in &analyzers {
        a.draw_debug(&mut img);
    }
    draw_config(&mut img, cam, &mut labels);
    labels.draw(&mut img);
    crate::alert::caption::Caption::new(
        cam.display_name.clone().unwrap_or_else(|| cam.name.clone()),
        options.text,
    )
    .draw(
        &mut img,
        chrono::DateTime::<chrono::Utc>::from(frame.captured_at),
    );
    if let Some(path) = &options.raw {
        save(&raw, path)?;
    }
    save(&img, &options.out)?;
    Ok(StillSummary {
        camera: cam.name.clone(),
        width: frame.width,
        height: frame.height,
        out: options.out.clone(),
        raw: options.raw.clone(),
    })
}

/// Runs the camera's ingest until the first frame after the warm-up, or
/// until `timeout`; the camera is stopped either way.
fn grab(cam: &CameraConfig, timeout: Duration) -> Result<Frame, StillError> {
    let slot = FrameSlot::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle =
        spawn_camera(cam.stream(), slot.clone(), tx).map_err(|source| StillError::Ingest {
            camera: cam.name.clone(),
            source,
        })?;
    let deadline = Instant::now() + timeout;
    let mut last_problem: Option<String> = None;
    let mut frames = 0u64;
    let result = loop {
        while let Ok(ev) = rx.try_recv() {
            if let CameraStatus::Offline { reason } = ev.status {
                tracing::debug!(camera = %cam.name, %reason, "camera offline");
                last_problem = Some(reason);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        match slot.take((deadline - now).min(Duration::from_millis(200))) {
            Take::Frame(f) => {
                frames += 1;
                if frames > WARM_UP_FRAMES || f.seq >= WARM_UP_FRAMES {
                    break Some(f);
                }
            }
            Take::Timeout => {}
            Take::Closed => break None,
        }
    };
    let stats = handle.stats();
    handle.stop();
    match result {
        Some(f) => Ok(f),
        None => {
            let what = match (frames, last_problem.or(stats.last_error)) {
                (0, Some(e)) => format!("the camera could not be read: {e}"),
                (0, None) => "connected, but no frame arrived".to_string(),
                (n, _) => format!("only {n} frames arrived, fewer than the warm-up"),
            };
            Err(StillError::NoFrame {
                camera: cam.name.clone(),
                secs: timeout.as_secs(),
                what: scrub(&what, cam),
            })
        }
    }
}

/// Removes the camera's password (configured, or written into the URL as
/// `user:password@`) and secret URL parameters (`password=…`) from a
/// message, in case a lower layer quoted a URL it was given (ingest messages
/// are already redacted).
fn scrub(text: &str, cam: &CameraConfig) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Ok(Some(pw)) = cam.password.resolve() {
        secrets.push(pw);
    }
    let authority = cam
        .url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if let Some((_, pw)) = userinfo.split_once(':') {
            secrets.push(pw.to_string());
        }
    }
    let text = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), MASK));
    redact(&text, UrlPaths::Keep)
}

fn check_writable(path: &Path) -> Result<(), StillError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StillError::Write {
            path: path.to_path_buf(),
            detail: format!("{} is not a directory", dir.display()),
        });
    }
    if path.is_dir() {
        return Err(StillError::Write {
            path: path.to_path_buf(),
            detail: "it is a directory".into(),
        });
    }
    if image::ImageFormat::from_path(path).is_err() {
        return Err(StillError::Write {
            path: path.to_path_buf(),
            detail: "unknown picture format: use a .png (or .jpg) file name".into(),
        });
    }
    // Opening for append neither truncates an existing file nor leaves
    // anything but an empty file behind; the real write replaces it.
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| StillError::Write {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn save(img: &RgbImage, path: &Path) -> Result<(), StillError> {
    img.save(path).map_err(|e| StillError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Text size: 1 below 800 px wide, 2 up to 1600, and so on.
fn text_scale(img: &RgbImage) -> u32 {
    1 + img.width() / 800
}

const GRID_LABEL: Rgb<u8> = Rgb([255, 255, 255]);

/// Lightens every 0.1 line of the normalised grid and labels it: x values
/// along the top edge, y values down the left edge.
pub fn draw_normalised_grid(img: &mut RgbImage, labels: &mut Labels) {
    let (w, h) = (img.width(), img.height());
    if w < 2 || h < 2 {
        return;
    }
    let scale = text_scale(img);
    for i in 1..10 {
        let t = i as f32 / 10.0;
        let x = grid_px(t, w);
        let y = grid_px(t, h);
        for yy in 0..h {
            lighten(img, x, yy);
        }
        for xx in 0..w {
            if xx != x {
                lighten(img, xx, y);
            }
        }
    }
    for i in 1..10 {
        let label = format!("0.{i}");
        let t = i as f32 / 10.0;
        let x = grid_px(t, w) as i64 + 2;
        labels.pin(img, x, 1, &label, GRID_LABEL, scale);
        let y = grid_px(t, h) as i64 + 2;
        labels.pin(img, 1, y, &label, GRID_LABEL, scale);
    }
}

/// The pixel column (or row) of normalised coordinate `t` along `n` pixels.
pub fn grid_px(t: f32, n: u32) -> u32 {
    ((t * n as f32).round() as u32).min(n - 1)
}

/// Blends a pixel 45 % of the way to white.
fn lighten(img: &mut RgbImage, x: u32, y: u32) {
    let p = img.get_pixel_mut(x, y);
    for c in p.0.iter_mut() {
        *c = (*c as u32 + (255 - *c as u32) * 45 / 100) as u8;
    }
}

const MOTION: Rgb<u8> = Rgb([255, 220, 0]);
const FIRE_ZONE: Rgb<u8> = Rgb([255, 120, 0]);
const FIRE_MASK: Rgb<u8> = Rgb([0, 230, 230]);
const GARBAGE: Rgb<u8> = Rgb([60, 255, 60]);
const FACADE: Rgb<u8> = Rgb([90, 160, 255]);
const EXCLUDE: Rgb<u8> = Rgb([200, 200, 200]);

/// Draws the camera's configured areas with their names, and the throwing
/// facade's floor and column labels.
pub fn draw_config(img: &mut RgbImage, cam: &CameraConfig, placed: &mut Labels) {
    let an = &cam.analyzers;
    let mut labels: Vec<(String, (f32, f32), Rgb<u8>)> = Vec::new();
    // A zone is labelled with the name the config uses, and the name staff
    // see beside it when they differ.
    let named = |name: &str, display: &Option<String>| match display {
        Some(d) if d != name => format!("{name} {d}"),
        _ => name.to_string(),
    };
    let mut zone = |img: &mut RgbImage,
                    prefix: &str,
                    name: &str,
                    display: &Option<String>,
                    poly: &[[f32; 2]],
                    c| {
        if let Some(at) = draw_polygon(img, poly, c) {
            let text = format!("{prefix}{}", named(name, display));
            if !labels.iter().any(|(t, ..)| *t == text) {
                labels.push((text, at, c));
            }
        }
    };
    if let Some(m) = &an.motion {
        for z in &m.zones {
            zone(img, "motion:", &z.name, &z.display_name, &z.polygon, MOTION);
        }
    }
    if let Some(f) = &an.fire {
        for z in &f.zones {
            zone(
                img,
                "fire:",
                &z.name,
                &z.display_name,
                &z.polygon,
                FIRE_ZONE,
            );
        }
        for z in &f.masks {
            zone(
                img,
                "fire mask:",
                &z.name,
                &z.display_name,
                &z.polygon,
                FIRE_MASK,
            );
        }
    }
    if let Some(g) = &an.garbage {
        for z in &g.zones {
            zone(
                img,
                "garbage:",
                &z.name,
                &z.display_name,
                &z.polygon,
                GARBAGE,
            );
        }
    }
    if let Some(t) = &an.throwing {
        if t.facade.len() >= 3 {
            zone(img, "throwing:", "facade", &None, &t.facade, FACADE);
        }
        for z in &t.exclude {
            zone(
                img,
                "exclude:",
                &z.name,
                &z.display_name,
                &z.polygon,
                EXCLUDE,
            );
        }
    }
    let scale = text_scale(img);
    if let Some(t) = &an.throwing {
        draw_facade_labels(img, t, scale, placed);
    }
    for (text, (x, y), c) in labels {
        placed.place(img, x as i64 + 3, y as i64 + 3, &text, c, scale);
    }
}

/// Floor numbers left of each floor band, column labels under the lowest
/// floor line (the grid itself is the throwing analyzer's `draw_debug`).
fn draw_facade_labels(img: &mut RgbImage, t: &ThrowingConfig, scale: u32, placed: &mut Labels) {
    use crate::analysis::throwing::calibration::Calibration;
    let (w, h) = (img.width(), img.height());
    let Ok(cal) = Calibration::new(t, w, h) else {
        return;
    };
    let (first, n_cols) = (cal.first_floor(), cal.columns());
    let (fw, fh) = (w as f32, h as f32);
    for i in 0..cal.floors() {
        let floor = first + i as i32;
        let Some(b) = cal.cell_box(floor, 0) else {
            continue;
        };
        let text = floor.to_string();
        let tw = text_width(&text, scale) as f32;
        let x = (b.x * fw - tw - 3.0).max(0.0);
        let y = (b.y + b.h / 2.0) * fh - 3.5 * scale as f32;
        placed.pin(img, x as i64, y as i64, &text, FACADE, scale);
    }
    for col in 0..n_cols {
        let Some(b) = cal.cell_box(first, col) else {
            continue;
        };
        let label = cal
            .cell_at((b.x + b.w / 2.0) * fw, (b.y + b.h / 2.0) * fh)
            .column_label;
        let tw = text_width(&label, scale) as f32;
        let x = (b.x + b.w / 2.0) * fw - tw / 2.0;
        let y = (b.y + b.h) * fh + 2.0;
        placed.pin(img, x as i64, y as i64, &label, FACADE, scale);
    }
}

/// Outlines a normalised polygon; returns its top-left-most vertex (pixels)
/// for the label, or `None` when it has fewer than two points.
fn draw_polygon(img: &mut RgbImage, poly: &[[f32; 2]], colour: Rgb<u8>) -> Option<(f32, f32)> {
    if poly.len() < 2 {
        return None;
    }
    let (w, h) = (img.width() as f32, img.height() as f32);
    let px: Vec<(f32, f32)> = poly
        .iter()
        .map(|p| ((p[0] * w).min(w - 1.0), (p[1] * h).min(h - 1.0)))
        .collect();
    for (i, a) in px.iter().enumerate() {
        let b = px[(i + 1) % px.len()];
        snapshot::draw_line(img, *a, b, colour, 1);
    }
    px.iter()
        .copied()
        .min_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)))
}

/// Labels placed so far, drawn last over every line. A label is either
/// pinned (a floor or column number, a grid value: left out when its spot is
/// taken, since anywhere else it would mislead) or movable (a zone name:
/// moved to the nearest free spot).
#[derive(Default)]
pub struct Labels {
    /// Text, colour, scale and the box (x, y, w, h) in pixels.
    placed: Vec<(String, Rgb<u8>, u32, [i64; 4])>,
}

impl Labels {
    /// Places a pinned label at (x, y) (moved only onto the picture); returns
    /// false, and leaves it out, when it would cover an earlier label.
    pub fn pin(
        &mut self,
        img: &RgbImage,
        x: i64,
        y: i64,
        text: &str,
        colour: Rgb<u8>,
        scale: u32,
    ) -> bool {
        let b = self.fit(img, x, y, text, scale);
        if self.overlaps(b) {
            return false;
        }
        self.placed.push((text.to_string(), colour, scale, b));
        true
    }

    /// Places a movable label at (x, y), or at the nearest spot that covers
    /// no earlier label (at (x, y) anyway when the picture is full).
    pub fn place(
        &mut self,
        img: &RgbImage,
        x: i64,
        y: i64,
        text: &str,
        colour: Rgb<u8>,
        scale: u32,
    ) {
        let first = self.fit(img, x, y, text, scale);
        let (step_x, step_y) = (12 * scale.max(1) as i64, first[3]);
        let (nx, ny) = (
            img.width() as i64 / step_x + 1,
            img.height() as i64 / step_y + 1,
        );
        let mut candidates: Vec<(i64, [i64; 4])> = Vec::new();
        for j in -ny..=ny {
            for i in -nx..=nx {
                let b = self.fit(img, x + i * step_x, y + j * step_y, text, scale);
                let dist = (b[0] - first[0]).abs() + (b[1] - first[1]).abs();
                candidates.push((dist, b));
            }
        }
        candidates.sort_by_key(|(d, _)| *d);
        let b = candidates
            .into_iter()
            .map(|(_, b)| b)
            .find(|b| !self.overlaps(*b))
            .unwrap_or(first);
        self.placed.push((text.to_string(), colour, scale, b));
    }

    /// The label's box at (x, y), moved onto the picture.
    fn fit(&self, img: &RgbImage, x: i64, y: i64, text: &str, scale: u32) -> [i64; 4] {
        let s = scale.max(1) as i64;
        let (w, h) = (img.width() as i64, img.height() as i64);
        let (tw, th) = (text_width(text, scale) as i64, line_height(scale) as i64);
        [
            x.clamp(0, (w - tw - s).max(0)),
            y.clamp(0, (h - th).max(0)),
            tw,
            th,
        ]
    }

    fn overlaps(&self, a: [i64; 4]) -> bool {
        self.placed.iter().any(|(.., b)| {
            a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3]
        })
    }

    /// Draws every placed label.
    pub fn draw(&self, img: &mut RgbImage) {
        for (text, colour, scale, b) in &self.placed {
            draw_text(img, b[0], b[1] + *scale as i64, text, *colour, *scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_a_password_written_into_the_url() {
        let cfg = crate::config::Config::parse(
            "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n[[cameras]]\nname = \"c\"\nurl = \"rtsp://admin:hunter2@10.0.0.9/live\"\n",
        )
        .unwrap();
        let msg = scrub(
            "failed: rtsp://admin:hunter2@10.0.0.9/live",
            &cfg.cameras[0],
        );
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn grid_lines_are_lightened_at_each_tenth() {
        let mut img = RgbImage::from_pixel(100, 50, Rgb([0, 0, 0]));
        let mut labels = Labels::default();
        draw_normalised_grid(&mut img, &mut labels);
        labels.draw(&mut img);
        // x = 0.5 is column 50; rows away from labels are lightened.
        assert!(img.get_pixel(50, 40).0[0] > 100);
        assert_eq!(img.get_pixel(55, 43).0, [0; 3]);
    }
}
