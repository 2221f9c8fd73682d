//! Console users and their roles, kept in the users file (`[console]
//! users_file`): TOML, written with mode 0600, one `[[user]]` table each
//! with `name`, `role`, an argon2id `hash` (PHC string) and an optional
//! `lang`. `estatewatch user add|passwd|list` edit it; the running daemon
//! reads it at every login, so a new user or password works at once.
//!
//! ```toml
//! [[user]]
//! name = "wang"
//! role = "operator"       # viewer | operator | admin
//! hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! lang = "zh-CN"           # optional: en | zh-CN
//! ```

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a user may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the board, incidents, cameras and evidence.
    Viewer,
    /// Also handles incidents: acknowledge, assign, note, resolve.
    Operator,
    /// Also changes the configuration (calibration) and manages users.
    Admin,
}

impl Role {
    /// `viewer`, `operator` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role {s:?}; expected viewer, operator or admin"
            )),
        }
    }
}

/// One console user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name: 1..=64 letters, digits, `-`, `_`, `.`.
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub hash: String,
    /// Preferred language (`en` or `zh-CN`); absent: the browser's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Errors reading or writing the users file, naming it.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read users file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("users file {path} is not valid: {error}")]
    Parse { path: PathBuf, error: String },
    #[error("cannot write users file {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("users file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    #[error("user {0:?} already exists; use `estatewatch user passwd {0}`")]
    Exists(String),
    #[error("user name {0:?} must be 1..=64 letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error("password must be at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Shortest password accepted by `user add` and `user passwd`.
pub const MIN_PASSWORD: usize = 8;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    user: Vec<User>,
}

/// The users of one users file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    pub users: Vec<User>,
}

/// Whether `name` is an acceptable login name.
pub fn name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Users {
    /// Reads `path`; a missing file is no users.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
            Err(error) => {
                return Err(UsersError::Read {
                    path: path.into(),
                    error,
                })
            }
        };
        let file: File = toml::from_str(&text).map_err(|e| UsersError::Parse {
            path: path.into(),
            error: e.to_string(),
        })?;
        let invalid = |message: String| UsersError::Invalid {
            path: path.into(),
            message,
        };
        for (i, u) in file.user.iter().enumerate() {
            if !name_ok(&u.name) {
                return Err(invalid(format!(
                    "user[{i}].name {:?} is not a valid name",
                    u.name
                )));
            }
            if PasswordHash::new(&u.hash).is_err() {
                return Err(invalid(format!(
                    "user[{i}].hash is not an argon2 PHC string"
                )));
            }
            if file.user[..i].iter().any(|o| o.name == u.name) {
                return Err(invalid(format!(
                    "user[{i}].name {:?} appears twice",
                    u.name
                )));
            }
        }
        Ok(Users { users: file.user })
    }

    /// Writes the file atomically (temporary file, then rename) with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let write_err = |error| UsersError::Write {
            path: path.into(),
            error,
        };
        let text = toml::to_string_pretty(&File {
            user: self.users.clone(),
        })
        .map_err(|e| write_err(std::io::Error::other(e)))?;
        let tmp = path.with_extension("toml.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(write_err)?;
        f.write_all(
            b"# estatewatch console users: `estatewatch user add|passwd|list`. Keep mode 0600.\n",
        )
        .and_then(|_| f.write_all(text.as_bytes()))
        .and_then(|_| f.sync_all())
        .map_err(write_err)?;
        // Run as root (`sudo estatewatch user add`), the file takes the
        // owner of its folder, so the service's own user (the unit's
        // User=, which owns /var/lib/estatewatch) can read it.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::MetadataExt;
            if let Ok(m) = std::fs::metadata(dir) {
                if m.uid() != f.metadata().map(|f| f.uid()).unwrap_or(m.uid()) {
                    let _ = std::os::unix::fs::chown(&tmp, Some(m.uid()), Some(m.gid()));
                }
            }
        }
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds a user with a fresh hash of `password`.
    pub fn add(&mut self, name: &str, role: Role, password: &str) -> Result<(), UsersError> {
        if !name_ok(name) {
            return Err(UsersError::BadName(name.into()));
        }
        if self.get(name).is_some() {
            return Err(UsersError::Exists(name.into()));
        }
        self.users.push(User {
            name: name.into(),
            role,
            hash: hash_password(password)?,
            lang: None,
        });
        Ok(())
    }

    /// Replaces a user's password.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), UsersError> {
        let hash = hash_password(password)?;
        let u = self
            .users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| UsersError::NoSuchUser(name.into()))?;
        u.hash = hash;
        Ok(())
    }

    /// The user when `password` is theirs. Takes the same time whether or
    /// not the user exists (a dummy hash is checked for unknown names).
    pub fn verify(&self, name: &str, password: &str) -> Option<&User> {
        match self.get(name) {
            Some(u) => verify_password(&u.hash, password).then_some(u),
            None => {
                let _ = verify_password(dummy_hash(), password);
                None
            }
        }
    }
}

/// An argon2id PHC string of `password` (default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String, UsersError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(UsersError::ShortPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UsersError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_round_trip_with_private_mode_and_verify() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        assert!(Users::load(&path).unwrap().is_empty());
        let mut u = Users::default();
        u.add("wang", Role::Operator, "correct horse").unwrap();
        assert!(matches!(
            u.add("wang", Role::Admin, "another pass"),
            Err(UsersError::Exists(_))
        ));
        assert!(matches!(
            u.add("li", Role::Admin, "short"),
            Err(UsersError::ShortPassword)
        ));
        assert!(matches!(
            u.add("bad name", Role::Admin, "long enough"),
            Err(UsersError::BadName(_))
        ));
        u.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let back = Users::load(&path).unwrap();
        assert_eq!(back, u);
        assert_eq!(
            back.verify("wang", "correct horse").map(|u| u.role),
            Some(Role::Operator)
        );
        assert!(back.verify("wang", "wrong horse").is_none());
        assert!(back.verify("nobody", "correct horse").is_none());
        std::fs::write(
            &path,
            "[[user]]\nname = \"x\"\nrole = \"boss\"\nhash = \"h\"\n",
        )
        .unwrap();
        let e = Users::load(&path).unwrap_err().to_string();
        assert!(e.contains("users.toml") && e.contains("boss"), "{e}");
    }
}
