//! Fixed suites of clips, rendered in parallel into a folder that doubles as
//! a cache, and real footage entered with hand-written (empty) truth.
//!
//! The `default` suite has at least 20 positives and 20 negatives for each of
//! throwing, fire/smoke and garbage, over varied seeds, sizes, floors and
//! lighting. `smoke` is a three-clip suite for quick checks. A clip is reused
//! when its truth file names the same [`GENERATOR_VERSION`] and spec and its
//! video is present; anything else is rendered again.

use super::{
    render_clip, write_truth, Calibration, ClipSpec, Hints, Kind, Scene, SceneError, Truth,
    Variant, Zone, GENERATOR_VERSION,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn spec(kind: Kind, seed: u64, variant: Variant) -> ClipSpec {
    let mut s = ClipSpec::new(kind, seed);
    s.variant = variant;
    s
}

/// The garbage dwell the default suite is made for (the analyzer's default is
/// about 60 s; the suite's replay config sets this instead to keep clips short).
pub const SUITE_DWELL_S: f32 = 20.0;

/// The clips of a named suite (`default`, `hard` or `smoke`).
pub fn suite(name: &str) -> Result<Vec<ClipSpec>, SceneError> {
    match name {
        "default" => Ok(default_suite()),
        "hard" => Ok(super::hard::suite()),
        "smoke" => Ok(smoke_suite()),
        other => Err(SceneError::UnknownSuite(other.to_string())),
    }
}

fn smoke_suite() -> Vec<ClipSpec> {
    let mut t = spec(Kind::Throwing, 1, Variant::Day);
    t.params.size_px = Some(12.0);
    t.params.duration_s = Some(4.0);
    let mut f = spec(Kind::FireSmoke, 1, Variant::Night);
    f.params.duration_s = Some(8.0);
    let mut g = spec(Kind::Garbage, 1, Variant::Day);
    g.params.dwell_s = Some(5.0);
    vec![t, f, g]
}

fn default_suite() -> Vec<ClipSpec> {
    use Variant::*;
    let mut v = Vec::new();
    // Throws: 24 positives; sizes 4..=40 px (a third under 8 px), all lighting,
    // drops and tosses, some at 1280x720, some with a distractor.
    let sizes = [
        4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0, 20.0, 25.0, 30.0, 40.0,
    ];
    for i in 0..24u64 {
        let var = [Day, Day, Night, Ir][(i % 4) as usize];
        let mut s = spec(Kind::Throwing, 1000 + i, var);
        s.params.size_px = Some(sizes[(i % 12) as usize] + if i >= 12 { 0.5 } else { 0.0 });
        s.params.style = Some(if i % 2 == 0 { "drop" } else { "toss" }.into());
        if i % 6 == 5 {
            s.width = 1280;
            s.height = 720;
        }
        if i % 5 == 3 {
            s.with.push(Kind::BirdLevel);
        }
        if i % 7 == 6 {
            s.with.push(Kind::Rain);
        }
        v.push(s);
    }
    // Tower negatives: 24.
    let tower_neg = [
        Kind::BirdLevel,
        Kind::BirdRising,
        Kind::BirdFlapping,
        Kind::BirdGlidingDown,
        Kind::Leaves,
        Kind::Rain,
        Kind::Laundry,
        Kind::WindowLights,
        Kind::Lift,
    ];
    for i in 0..22u64 {
        let k = tower_neg[(i % 9) as usize];
        let var = [Day, Night, Ir, Day][(i % 4) as usize];
        let mut s = spec(k, 2000 + i, var);
        if i >= 18 {
            s.with.push(tower_neg[((i + 4) % 9) as usize]);
        }
        v.push(s);
    }
    v.push(spec(Kind::TowerEmpty, 2100, Day));
    v.push(spec(Kind::TowerEmpty, 2101, Night));
    // Fire and smoke: 12 fire, 10 smoke, 8 both = 30 positives.
    for i in 0..30u64 {
        let k = if i < 12 {
            Kind::Fire
        } else if i < 22 {
            Kind::Smoke
        } else {
            Kind::FireSmoke
        };
        let var = [Night, Night, Ir, Day][(i % 4) as usize];
        let mut s = spec(k, 3000 + i, var);
        if i % 5 == 2 {
            s.with.push(Kind::OrangeJacket);
        }
        v.push(s);
    }
    // Shed negatives: 24.
    let shed_neg = [
        (Kind::OrangeJacket, 5),
        (Kind::FlashingLight, 5),
        (Kind::Headlights, 4),
        (Kind::OrangeBike, 4),
        (Kind::Sunlight, 4),
        (Kind::ShedEmpty, 2),
    ];
    let mut seed = 4000;
    for (k, n) in shed_neg {
        for j in 0..n {
            let var = if k == Kind::Sunlight {
                Day
            } else {
                [Night, Ir, Night, Day][j % 4]
            };
            v.push(spec(k, seed, var));
            seed += 1;
        }
    }
    // Garbage: 22 positives, 4 of them picked up again later.
    for i in 0..22u64 {
        let var = [Day, Day, Night, Ir][(i % 4) as usize];
        let mut s = spec(Kind::Garbage, 5000 + i, var);
        s.params.dwell_s = Some(SUITE_DWELL_S);
        if i % 6 == 4 {
            s.params.removed_after_s = Some(SUITE_DWELL_S + 10.0);
        }
        if i % 3 == 1 {
            s.with.push(Kind::PassersBy);
        }
        v.push(s);
    }
    // Bin-room negatives: 24.
    let bin_neg = [
        (Kind::PersonStanding, 6),
        (Kind::BagCarried, 5),
        (Kind::BinMoved, 4),
        (Kind::LightingChange, 4),
        (Kind::ParkedBicycle, 3),
        (Kind::PassersBy, 2),
    ];
    let mut seed = 6000;
    for (k, n) in bin_neg {
        for j in 0..n {
            let mut s = spec(k, seed, [Day, Night, Ir, Day][j % 4]);
            s.params.dwell_s = Some(SUITE_DWELL_S);
            v.push(s);
            seed += 1;
        }
    }
    v
}

/// Whether `out_dir` already holds this spec rendered by this generator version.
pub fn is_cached(spec: &ClipSpec, out_dir: &Path) -> bool {
    let truth = out_dir.join(format!("{}.json", spec.name));
    let video = out_dir.join(format!("{}.mp4", spec.name));
    match super::Truth::load(&truth) {
        Ok(t) => {
            t.generator == GENERATOR_VERSION
                && t.spec.as_ref() == Some(spec)
                && std::fs::metadata(&video)
                    .map(|m| m.len() > 0)
                    .unwrap_or(false)
        }
        Err(_) => false,
    }
}

/// What [`render_all`] did.
#[derive(Debug, Clone, Default)]
pub struct RenderReport {
    pub rendered: usize,
    pub cached: usize,
    pub frames_rendered: u64,
}

/// Renders every spec not already cached in `out_dir`, `jobs` at a time.
/// Stops at the first error and returns it (other workers finish their clip).
pub fn render_all(
    specs: &[ClipSpec],
    out_dir: &Path,
    jobs: usize,
    force: bool,
    progress: &(dyn Fn(&ClipSpec, bool) + Sync),
) -> Result<RenderReport, SceneError> {
    std::fs::create_dir_all(out_dir).map_err(|source| SceneError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let next = AtomicUsize::new(0);
    let report = Mutex::new(RenderReport::default());
    let failure: Mutex<Option<SceneError>> = Mutex::new(None);
    let jobs = jobs.clamp(1, 16);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(spec) = specs.get(i) else {
                    return;
                };
                if !force && is_cached(spec, out_dir) {
                    progress(spec, true);
                    if let Ok(mut r) = report.lock() {
                        r.cached += 1;
                    }
                    continue;
                }
                match render_clip(spec, out_dir, 1) {
                    Ok(t) => {
                        progress(spec, false);
                        if let Ok(mut r) = report.lock() {
                            r.rendered += 1;
                            r.frames_rendered += t.frames;
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(report.into_inner().unwrap_or_default())
}

/// Negatives seen in the real clips this project knows (by file name).
fn real_negatives(file_name: &str) -> Vec<String> {
    let tags: &[&str] = match file_name {
        "vtest.avi" => &[
            "pedestrians",
            "traffic_cones",
            "parked_cars",
            "litter_on_grass",
        ],
        "tree.avi" => &["tree_foliage", "window_frame"],
        _ => &["real_scene"],
    };
    tags.iter().map(|s| s.to_string()).collect()
}

/// Enters a real clip with no incidents into `out_dir`: copies the video there
/// and writes its truth (no incidents, whole-frame zone). Probes the file for
/// its size, rate and frame count.
/// With `all_analyzers`, its replay config turns on every incident analyzer
/// over the whole frame (see [`Hints::all_analyzers`](super::Hints)).
pub fn add_real_clip(
    video: &Path,
    out_dir: &Path,
    all_analyzers: bool,
) -> Result<Truth, SceneError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SceneError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let file_name = video
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .ok_or_else(|| SceneError::BadParam {
            key: "real".into(),
            message: format!("{} is not a file name", video.display()),
        })?;
    let stem = file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(&file_name);
    let ext = file_name.rsplit_once('.').map(|(_, e)| e).unwrap_or("mp4");
    let clip = format!("real-{stem}.{ext}");
    let dest: PathBuf = out_dir.join(&clip);
    if dest != video {
        std::fs::copy(video, &dest).map_err(io(video))?;
    }
    let (mut w, mut h, mut last_pts, mut rate) = (0, 0, 0, 0.0);
    let frames = super::encode::decode_file(&dest, |f| {
        w = f.width;
        h = f.height;
        last_pts = f.pts_ms;
        rate = f.fps;
    })?;
    let fps = if rate > 0.0 {
        rate.round().max(1.0) as u32
    } else if frames > 1 && last_pts > 0 {
        ((frames - 1) as f64 * 1000.0 / last_pts as f64)
            .round()
            .max(1.0) as u32
    } else {
        10
    };
    let whole = Zone {
        name: "frame".into(),
        polygon: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
    };
    let truth = Truth {
        generator: "real".into(),
        clip,
        seed: 0,
        scene: Scene::Real,
        variant: Variant::Day,
        fps,
        width: w,
        height: h,
        frames,
        duration_ms: last_pts + 1000 / u64::from(fps.max(1)),
        incidents: Vec::new(),
        negatives: real_negatives(&file_name),
        calibration: Calibration {
            facade: None,
            zones: vec![whole],
            exclude: Vec::new(),
            lights: Vec::new(),
        },
        hints: Hints {
            garbage_dwell_s: Some(SUITE_DWELL_S),
            all_analyzers,
        },
        spec: None,
    };
    write_truth(&truth, &out_dir.join(format!("real-{stem}.json")))?;
    Ok(truth)
}

/// Loads every truth file (`*.json`) in a folder, sorted by clip name.
pub fn load_truths(dir: &Path) -> Result<Vec<Truth>, SceneError> {
    let rd = std::fs::read_dir(dir).map_err(|source| SceneError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| SceneError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        if p.extension().and_then(|e| e.to_str()) == Some("json") {
            out.push(Truth::load(&p)?);
        }
    }
    out.sort_by(|a, b| a.clip.cmp(&b.clip));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_suite_has_twenty_of_each_and_unique_names() {
        let s = default_suite();
        let mut names: Vec<&str> = s.iter().map(|c| c.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), s.len(), "clip names must be unique");
        for (scene, kinds) in [
            (Scene::Tower, &[Kind::Throwing][..]),
            (Scene::Shed, &[Kind::Fire, Kind::Smoke, Kind::FireSmoke][..]),
            (Scene::Binroom, &[Kind::Garbage][..]),
        ] {
            let pos = s.iter().filter(|c| kinds.contains(&c.kind)).count();
            let neg = s
                .iter()
                .filter(|c| c.kind.scene() == scene && !c.kind.is_incident())
                .count();
            assert!(
                pos >= 20 && neg >= 20,
                "{scene:?}: {pos} positives, {neg} negatives"
            );
        }
        for c in &s {
            c.validate().unwrap();
        }
    }
}
