//! A clip rendered as the `scenegen` command renders it, for tests that need
//! one. The scene generator is a dev-dependency of the daemon; its binaries
//! are in another package, so the tests call its library as `scenegen` does.
//! [`replay_camera`] turns the replay config's camera into one that reads a
//! stream.

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
    let truth = render_clip(&spec, dir, 1).unwrap_or_else(|e| panic!("scenegen failed: {e}"));
    if configs {
        camera_config::write_replay_config(&truth, dir).unwrap();
    }
    truth
}

/// The `[[cameras]]` part of the replay config [`scenegen`] writes with
/// `configs`, with its `url = ` line (the clip) replaced by `url_lines`
/// (e.g. an RTSP `url` and a `transport`).
pub fn replay_camera(replay_toml: &Path, url_lines: &str) -> String {
    let text = std::fs::read_to_string(replay_toml)
        .unwrap_or_else(|e| panic!("{}: {e}", replay_toml.display()));
    let start = text.find("[[cameras]]").expect("a camera section");
    text[start..]
        .lines()
        .map(|l| {
            if l.starts_with("url = ") {
                url_lines.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
