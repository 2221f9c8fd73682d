//! Evidence: the files an incident leaves on the gateway (the detect-size
//! composite, the full-resolution snapshot, the clip), the folder that holds
//! them, and fetching them.
//!
//! # Layout
//!
//! ```text
//! <evidence.dir>/<camera>/<event>/snapshot-detect.jpg   the detect-size composite (boxes drawn)
//!                                 snapshot.jpg          full resolution
//!                                 clip.mp4              the incident's clip
//! ```
//!
//! `<event>` is the incident's `event` UUID (lowercase, hyphenated), so every
//! message of an incident points into the same folder.
//!
//! # Invariants
//!
//! 1. A file is written as `<name>.part` and renamed to `<name>` only when
//!    complete (and synced); only renamed files are announced, served or
//!    hashed. A crash leaves at most a `.part`, which nothing announces.
//! 2. A file, once renamed, is never rewritten: the sha256 an alert carries
//!    stays true for as long as the file exists. Later messages of an
//!    incident that carry a picture do not replace `snapshot-detect.jpg`.
//! 3. Files are removed only by the store's sweep ([`store`]), a whole event
//!    folder at a time, oldest first, and never the folder of an incident that
//!    is open or has an alert not yet delivered (the outbox says which), nor
//!    a folder written in the last [`store::GRACE`].
//! 4. Only the names above are served, and only to callers with the token
//!    ([`serve`]).
//!
//! # The rooms
//!
//! - [`config`]: the `[evidence]` section (folder, cap, free-space floor,
//!   retention, `[evidence.http]` token).
//! - [`sink`]: the evidence stage in front of delivery: writes each video
//!   alert's composite into its event folder, adds the stored files' paths,
//!   URLs and sha256 to the alert, and publishes the latest picture on the
//!   retained snapshot topic. One thread, in alert order, so no camera
//!   thread waits for the disk.
//! - [`store`]: the folder's size, the sweep (retention, cap, free-space
//!   floor) and its figures for `/metrics` and the stats topic.
//! - [`serve`]: `GET /evidence/<event>/<file>` on the health endpoint.
//! - [`service`]: the above started together for `estatewatch run`
//!   ([`Evidence`]).
//! - Clips and full-resolution snapshots cut from a camera's main stream
//!   without decoding it (`docs/evidence.md`): the in-memory [`ring`] of each
//!   camera's encoded stream, clip writing ([`clip`]), the full-resolution
//!   picture ([`picture`]) and the per-camera [`Recorder`] that ties them to
//!   alerts and announces the files through the alert sink (an `update` of
//!   the incident carrying [`alert::Evidence`](crate::alert::Evidence)).
//!   A clip is never re-encoded: its frames are the camera's own bytes.
//!   `.part` files left by a crash are removed when the daemon starts
//!   ([`clean_stale_parts`]).
//!
//! `evidence` reads [`crate::alert`] (what it stores) and [`crate::ingest`]
//! (encoded units, the supervisor), and asks
//! [`crate::delivery`] which incidents are protected and to publish the
//! snapshot topic; `monitor` and `daemon` read it.

pub mod clip;
pub mod config;
pub mod picture;
mod recorder;
pub mod ring;
pub mod serve;
pub mod service;
pub mod sink;
pub mod store;

pub use config::EvidenceConfig;
pub use recorder::{Recorder, RecorderStats};
pub use service::Evidence;

use gstreamer as gst;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The detect-size composite the analyzers draw (boxes, trajectory).
pub const SNAPSHOT_DETECT: &str = "snapshot-detect.jpg";
/// The full-resolution snapshot.
pub const SNAPSHOT: &str = "snapshot.jpg";
/// The incident's clip.
pub const CLIP: &str = "clip.mp4";
/// Every name an event folder may hold once complete (and the only names served).
pub const FILE_NAMES: [&str; 3] = [SNAPSHOT_DETECT, SNAPSHOT, CLIP];
/// Suffix of a file being written.
pub const PART_SUFFIX: &str = ".part";

/// The MIME type of an evidence file name.
pub fn content_type(name: &str) -> &'static str {
    if name.ends_with(".mp4") {
        "video/mp4"
    } else {
        "image/jpeg"
    }
}

/// True when `camera` can be a folder name inside the evidence folder
/// (config ids allow `.` and `..`, which are not).
pub fn camera_dir_ok(camera: &str) -> bool {
    !camera.is_empty()
        && camera != "."
        && camera != ".."
        && camera
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `<dir>/<camera>/<event>`.
pub fn event_dir(dir: &Path, camera: &str, event: uuid::Uuid) -> PathBuf {
    dir.join(camera).join(event.to_string())
}

/// Writes `bytes` to `path` the evidence way: into `<path>.part`, synced,
/// then renamed (invariant 1). Never replaces an existing `path`
/// (invariant 2): returns `Ok(false)` when it exists.
pub fn write_once(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut part = path.as_os_str().to_owned();
    part.push(PART_SUFFIX);
    let part = PathBuf::from(part);
    let result = (|| {
        let mut f = std::fs::File::create(&part)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&part, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result.map(|()| true)
}

/// What can go wrong writing evidence. None of it stops an alert: the
/// announcement then says which file is missing and why.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("clip {path}: {detail}")]
    Clip { path: PathBuf, detail: String },
    #[error("snapshot {path}: {detail}")]
    Snapshot { path: PathBuf, detail: String },
    #[error("evidence folder {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` with `.part` appended to its name.
pub fn part_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".part");
    PathBuf::from(s)
}

/// Syncs `part`, renames it to `path` and syncs the folder (invariant 1).
pub(crate) fn commit(part: &Path, path: &Path) -> Result<(), EvidenceError> {
    std::fs::File::open(part)
        .and_then(|f| f.sync_all())
        .map_err(io(part))?;
    std::fs::rename(part, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        // Not every filesystem lets a folder be synced; the rename stands anyway.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Writes `bytes` to `path` by way of `path.part` (invariant 1).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let part = part_path(path);
    std::fs::write(&part, bytes).map_err(io(&part))?;
    commit(&part, path)
}

/// The sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, EvidenceError> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `(width, height)` of video caps, when they say.
pub(crate) fn caps_size(caps: &gst::Caps) -> Option<(u32, u32)> {
    let s = caps.structure(0)?;
    Some((
        u32::try_from(s.get::<i32>("width").ok()?).ok()?,
        u32::try_from(s.get::<i32>("height").ok()?).ok()?,
    ))
}

/// Removes every `.part` file under `<dir>/<camera>/<event>/` (left by a
/// crash while writing; never announced) and returns how many there were.
pub fn clean_stale_parts(dir: &Path) -> usize {
    let mut removed = 0;
    let Ok(cameras) = std::fs::read_dir(dir) else {
        return 0;
    };
    for cam in cameras.flatten() {
        let Ok(events) = std::fs::read_dir(cam.path()) else {
            continue;
        };
        for ev in events.flatten() {
            let Ok(files) = std::fs::read_dir(ev.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "part") && std::fs::remove_file(&p).is_ok() {
                    tracing::info!(file = %p.display(), "removed an unfinished evidence file left by a crash");
                    removed += 1;
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_once_renames_and_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cam").join("ev").join(SNAPSHOT_DETECT);
        assert!(write_once(&p, b"first").unwrap());
        assert!(!write_once(&p, b"second").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [SNAPSHOT_DETECT], "no .part left");
        assert_eq!(
            sha256_file(&p).unwrap(),
            "a7937b64b8caa58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e"
        );
    }

    #[test]
    fn camera_names_that_are_not_folders_are_refused() {
        assert!(camera_dir_ok("tower-a.south_1"));
        for bad in ["", ".", "..", "a/b", "a b"] {
            assert!(!camera_dir_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn stale_parts_are_removed_and_finished_files_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ev = dir.path().join("gate").join("0190-e");
        std::fs::create_dir_all(&ev).unwrap();
        std::fs::write(ev.join("clip.mp4.part"), b"half").unwrap();
        write_file(&ev.join("snapshot.jpg"), b"jpeg").unwrap();
        assert_eq!(clean_stale_parts(dir.path()), 1);
        assert!(!ev.join("clip.mp4.part").exists());
        assert_eq!(std::fs::read(ev.join("snapshot.jpg")).unwrap(), b"jpeg");
        assert!(!part_path(&ev.join("snapshot.jpg")).exists());
        assert_eq!(
            sha256_file(&ev.join("snapshot.jpg")).unwrap(),
            sha256_hex(b"jpeg")
        );
    }

    fn sha256_hex(b: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(b)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
