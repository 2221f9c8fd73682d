//! Evidence: clips and full-resolution snapshots tied to alerts, cut from a
//! camera's main stream without decoding it (see `docs/evidence.md`).
//!
//! Owns the `[evidence]` section ([`config`]), the in-memory [`ring`] of
//! each camera's encoded stream, clip writing ([`clip`]), the
//! full-resolution snapshot ([`picture`]) and the per-camera [`Recorder`]
//! that ties them to alerts and announces the files through the alert sink
//! (an `update` of the incident carrying [`Evidence`](crate::alert::Evidence)).
//! It sits after `alert` in the flow: it imports `base`, `settings`,
//! `ingest` (encoded units, the supervisor) and `alert` (the alert model and
//! the submit seam), and nothing imports it but `config` and `daemon`.
//!
//! # Layout of the evidence folder (`[evidence] dir`)
//!
//! ```text
//! <dir>/<camera>/<event>/clip.mp4       the clip, as the camera encoded it
//! <dir>/<camera>/<event>/snapshot.jpg   the full-resolution snapshot
//! ```
//!
//! `<event>` is the incident's `event` id (UUIDv7). Invariants:
//! 1. A file is written as `<name>.part`, synced, then renamed to `<name>`
//!    (and the folder synced): a `<name>` file is always complete.
//! 2. Only renamed files are announced, with their sha256 taken from the
//!    renamed file; a file is never changed after it is announced.
//! 3. A `.part` file is never announced; after a crash the ones left are
//!    removed when the daemon starts ([`clean_stale_parts`]).
//! 4. A clip is never re-encoded: its frames are the camera's own bytes.

pub mod clip;
pub mod config;
pub mod picture;
mod recorder;
pub mod ring;

pub use config::EvidenceConfig;
pub use recorder::Recorder;

use gstreamer as gst;
use std::io::Read;
use std::path::{Path, PathBuf};

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
