//! A clip rendered as the `scenegen` command renders it, for tests that need
//! one. The scene generator is a dev-dependency of the daemon; its binaries
//! are in another package, so the tests call its library as `scenegen` does.

use estatewatch_scenes::{camera_config, render_clip, ClipSpec, Kind, Params, Truth};
use std::path::Path;

/// What `scenegen --kind KIND --seed SEED [--size WxH] [--params PARAMS]
/// [--configs] --out DIR` writes: `DIR/<kind>-<seed>.mp4` and `.json`, and with
/// `configs` its replay config `DIR/<kind>-<seed>.toml`. Returns the truth.
pub fn scenegen(
    dir: &Path,
    kind: &str,
    seed: u64,
    size: Option<(u32, u32)>,
    params: &str,
    configs: bool,
) -> Truth {
    let kind: Kind = kind.parse().unwrap();
    let mut spec = ClipSpec::new(kind, seed);
    if let Some((w, h)) = size {
        spec.width = w;
        spec.height = h;
    }
    if !params.is_empty() {
        spec.params = Params::parse(params).unwrap();
    }
    let truth = render_clip(&spec, dir, 2).unwrap_or_else(|e| panic!("scenegen failed: {e}"));
    if configs {
        camera_config::write_replay_config(&truth, dir).unwrap();
    }
    truth
}
