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
//!
//! `evidence` reads [`crate::alert`] (what it stores) and asks
//! [`crate::delivery`] which incidents are protected and to publish the
//! snapshot topic; `monitor` and `daemon` read it.

pub mod config;
pub mod serve;
pub mod service;
pub mod sink;
pub mod store;

pub use service::{Evidence, EvidenceError};

use std::io::Write;
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

/// SHA-256 of a file, lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
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
}
