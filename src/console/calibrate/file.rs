//! Writing the config file for the calibration page: a backup of the file
//! as it was (`<file>.bak-<UTC timestamp>`, e.g.
//! `estatewatch.toml.bak-20261204T210501.123456Z`, the newest [`KEEP_BACKUPS`]
//! kept), then the new text written to a temporary file beside it (same
//! permissions: the file may hold passwords), flushed to disk and renamed
//! over the old one, so the daemon, `check-config` or an editor never read
//! half a file. A config file that is a symbolic link is written where the
//! link points. So the daemon's user must be able to write the file and
//! create files in its folder ([`writable`]); the packaged unit and the
//! package's installation give it that (see `docs/console.md`, "Saving the
//! config").

use std::io::Write;
use std::path::{Path, PathBuf};

/// Backups kept per config file; older ones are removed after a save.
pub const KEEP_BACKUPS: usize = 5;

/// A failed write, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot back up {path}: {error}")]
    Backup {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl SaveError {
    /// Whether the daemon was not allowed to write (permission denied, or a
    /// read-only file system, as under the unit's `ProtectSystem=strict`
    /// without `ReadWritePaths=`): the installation, not the save, is at fault.
    pub fn denied(&self) -> bool {
        let (SaveError::Backup { error, .. } | SaveError::Write { error, .. }) = self;
        matches!(
            error.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    }

    /// The underlying error.
    pub fn io(&self) -> &std::io::Error {
        let (SaveError::Backup { error, .. } | SaveError::Write { error, .. }) = self;
        error
    }
}

/// Whether this process may write the config file `path` and create files
/// beside it (the backup, the temporary file renamed over it): what a save
/// needs. Changes nothing.
pub fn writable(path: &Path) -> bool {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_ok = std::fs::OpenOptions::new().append(true).open(&path).is_ok();
    file_ok && may_write(dir)
}

/// `access(dir, W_OK)`: whether this process may create files in `dir`
/// (its mode, owner and group, and a read-only mount).
fn may_write(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a NUL-terminated path that outlives the call; access()
    // only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// `<name>.bak-` for the file `path`: the prefix of its backups.
fn backup_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    format!("{name}.bak-")
}

/// The backups of `path`, oldest first (their names sort by time).
pub fn backups(path: &Path) -> Vec<PathBuf> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let prefix = backup_prefix(path);
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Writes `text` to the config file `path` (see the module doc) after
/// backing up its current content; returns the backup's path.
pub fn save(path: &Path, text: &str) -> Result<PathBuf, SaveError> {
    let path = std::fs::canonicalize(path).map_err(|error| SaveError::Write {
        path: path.to_path_buf(),
        error,
    })?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let stamp = chrono::Utc::now();
    let prefix = backup_prefix(&path);
    // Microseconds: two saves never share a name, and names sort by time.
    let backup = dir.join(format!("{prefix}{}", stamp.format("%Y%m%dT%H%M%S%.6fZ")));
    std::fs::copy(&path, &backup).map_err(|error| SaveError::Backup {
        path: backup.clone(),
        error,
    })?;
    let write_err = |error| SaveError::Write {
        path: path.clone(),
        error,
    };
    let perms = std::fs::metadata(&path).map_err(write_err)?.permissions();
    let tmp = dir.join(format!(
        ".{}.calibrate-{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.set_permissions(perms)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // The rename itself reaches the disk with the folder.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(error));
    }
    let all = backups(&path);
    for old in all.iter().take(all.len().saturating_sub(KEEP_BACKUPS)) {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(backup = %old.display(), error = %e, "console: old config backup not removed");
        }
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saves_keep_a_backup_of_each_old_text_the_newest_five_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("estatewatch.toml");
        std::fs::write(&file, "v0\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut made = Vec::new();
        for i in 1..=7 {
            let b = save(&file, &format!("v{i}\n")).unwrap();
            assert_eq!(
                std::fs::read_to_string(&b).unwrap(),
                format!("v{}\n", i - 1),
                "the backup holds the text before the save"
            );
            made.push(b);
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "v7\n");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let left = backups(&file);
        assert_eq!(left, made[2..].to_vec(), "the newest five are kept");
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        assert!(left[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("estatewatch.toml.bak-20"));
    }

    #[test]
    fn a_linked_config_is_written_where_the_link_points() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("estatewatch.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, "new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new\n");
    }

    #[test]
    fn a_denied_write_is_told_apart_from_other_failures() {
        let err = |kind| SaveError::Backup {
            path: PathBuf::from("/etc/estatewatch/x.bak-1"),
            error: std::io::Error::from(kind),
        };
        assert!(err(std::io::ErrorKind::PermissionDenied).denied());
        assert!(err(std::io::ErrorKind::ReadOnlyFilesystem).denied());
        assert!(!err(std::io::ErrorKind::StorageFull).denied());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("estatewatch.toml");
        std::fs::write(&file, "x\n").unwrap();
        assert!(writable(&file));
        assert!(!writable(&dir.path().join("missing.toml")));
    }
}
