//! Login sessions, kept in a small SQLite file so a daemon restart (an
//! upgrade, a reload that needs one, a crash) does not log staff out, and
//! the failed-login limiter (in memory).
//!
//! A session id is 32 random bytes (base64url) sent in the `ew_session`
//! cookie (`HttpOnly; SameSite=Strict; Path=/`, plus `Secure` under TLS).
//! The sessions file (`[console] sessions_db`, default `sessions.db` beside
//! the users file, mode 0600) keeps per session only the sha256 of the id
//! (a copy of the file lets nobody in), the user, role, language, a CSRF
//! token (32 random bytes), the sha256 of the user's password hash at login
//! and the expiry (Unix ms). A session ends when it expires (rows are
//! deleted at start and at each login), at logout, and when the users file
//! gives its user another password or role or removes them
//! ([`Sessions::keep_valid`], checked on the first request after the file
//! changed, also after a restart). When the file cannot be opened, sessions
//! are kept in memory for this run only, with a warning.
//!
//! # The file
//!
//! `PRAGMA application_id` "EWSS", `user_version` the schema (1); one table
//! `sessions`, WAL, `synchronous = NORMAL` (a power cut may log out the last
//! logins, nothing else). A file of a newer build is left untouched (and
//! sessions stay in memory).
//!
//! Failed logins are counted per client IP and per user name over
//! [`FAIL_WINDOW`]: after [`MAX_FAILS_PER_IP`] from one address or
//! [`MAX_FAILS_PER_USER`] for one name, further attempts are answered 429
//! until the window has passed since the first counted failure. A
//! successful login clears the user's count (not the address's).

use super::users::Role;
use crate::base::lock;
use base64::Engine;
use rand::RngCore;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "ew_session";
/// Window over which failed logins are counted.
pub const FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins from one address within [`FAIL_WINDOW`] before 429.
pub const MAX_FAILS_PER_IP: u32 = 10;
/// Failed logins for one user name within [`FAIL_WINDOW`] before 429.
pub const MAX_FAILS_PER_USER: u32 = 5;
/// Most sessions kept at once; the one closest to expiry is dropped beyond it.
pub const MAX_SESSIONS: usize = 10_000;
/// `PRAGMA application_id` of a sessions file ("EWSS").
pub const APPLICATION_ID: i64 = 0x4557_5353;
/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 TEXT    PRIMARY KEY,  -- hex sha256 of the cookie's id
        user         TEXT    NOT NULL,
        role         TEXT    NOT NULL,     -- viewer, operator, admin
        lang         TEXT,                 -- en, zh-CN; NULL: the browser's
        csrf         TEXT    NOT NULL,
        hash_sha256  TEXT    NOT NULL,     -- hex sha256 of the password hash at login
        expires_ms   INTEGER NOT NULL      -- Unix ms, UTC
    );
    CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_ms);
    CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user);
";

/// 32 random bytes as base64url (no padding).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Hex sha256 of `text`.
fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A logged-in user's session, as handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The cookie's value (only its sha256 is stored).
    pub id: String,
    pub user: String,
    pub role: Role,
    /// `en` or `zh-CN`; `None`: the browser's choice.
    pub lang: Option<String>,
    /// Must come back with every state-changing request.
    pub csrf: String,
    /// When it ends, Unix ms UTC.
    pub expires_ms: i64,
    /// sha256 of the user's password hash at login: a new password (or
    /// role, or the user's removal) in the users file ends the session.
    pub hash: String,
}

/// Why the sessions file cannot be used (sessions are then kept in memory).
#[derive(Debug, thiserror::Error)]
#[error("console sessions file {path}: {detail}")]
pub struct SessionsError {
    pub path: PathBuf,
    pub detail: String,
}

/// The server-side session store; see the module doc.
#[derive(Debug)]
pub struct Sessions {
    lifetime: Duration,
    /// `None` only if not even an in-memory database could be made (then
    /// nobody can log in; logged).
    db: Mutex<Option<Connection>>,
    /// The file, or `None` when sessions are kept in memory.
    path: Option<PathBuf>,
}

impl Sessions {
    /// Sessions in memory only (lost at restart): tests, and the fallback
    /// when the file cannot be used.
    pub fn in_memory(lifetime: Duration) -> Sessions {
        let conn = Connection::open_in_memory().and_then(|c| c.execute_batch(SCHEMA).map(|()| c));
        if let Err(e) = &conn {
            tracing::error!(error = %e, "console: no session store at all; nobody can log in");
        }
        Sessions {
            lifetime,
            db: Mutex::new(conn.ok()),
            path: None,
        }
    }

    /// Opens (creating it, mode 0600) the sessions file at `path` and drops
    /// the sessions that have expired.
    pub fn open(path: &Path, lifetime: Duration) -> Result<Sessions, SessionsError> {
        let fail = |detail: String| SessionsError {
            path: path.to_path_buf(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its folder: {e}")))?;
        }
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(e.to_string()))?;
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| fail(format!("cannot make it private (0600): {e}")))?;
        }
        let db = |e: rusqlite::Error| fail(e.to_string());
        conn.busy_timeout(Duration::from_secs(2)).map_err(db)?;
        let (version, app_id): (i64, i64) = (
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(db)?,
            conn.query_row("PRAGMA application_id", [], |r| r.get(0))
                .map_err(db)?,
        );
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(db)?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(fail(format!(
                "not a console sessions file (application_id {app_id:#x}); give [console] sessions_db a file of its own"
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(fail(format!(
                "written by a newer estatewatch (schema {version}, this build knows up to {SCHEMA_VERSION}); left untouched"
            )));
        }
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db)?;
        conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms()])
            .map_err(db)?;
        Ok(Sessions {
            lifetime,
            db: Mutex::new(Some(conn)),
            path: Some(path.to_path_buf()),
        })
    }

    /// [`open`](Self::open), or in memory with a warning when the file
    /// cannot be used.
    pub fn open_or_memory(path: &Path, lifetime: Duration) -> Sessions {
        match Sessions::open(path, lifetime) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "console: sessions kept in memory; a restart logs everyone out");
                Sessions::in_memory(lifetime)
            }
        }
    }

    /// The file sessions are kept in; `None` when in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Logs a failed statement (a session is then refused, never a panic).
    fn failed(&self, what: &str, e: &rusqlite::Error) {
        tracing::error!(
            file = %self.path.as_deref().map_or_else(|| "memory".into(), |p| p.display().to_string()),
            error = %e,
            "console: sessions {what} failed"
        );
    }

    /// Opens a session for `user`, whose password hash is `hash`.
    pub fn create(&self, user: &str, role: Role, lang: Option<String>, hash: &str) -> Session {
        let now = now_ms();
        let life = i64::try_from(self.lifetime.as_millis()).unwrap_or(i64::MAX / 2);
        let s = Session {
            id: random_token(),
            user: user.into(),
            role,
            lang,
            csrf: random_token(),
            expires_ms: now.saturating_add(life),
            hash: sha256_hex(hash),
        };
        let mut guard = lock(&self.db);
        let Some(conn) = guard.as_mut() else {
            return s;
        };
        let result = (|| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now])?;
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))?;
            if n >= MAX_SESSIONS as i64 {
                tx.execute(
                    "DELETE FROM sessions WHERE token_sha256 IN
                     (SELECT token_sha256 FROM sessions ORDER BY expires_ms LIMIT ?1)",
                    [n - MAX_SESSIONS as i64 + 1],
                )?;
            }
            tx.execute(
                "INSERT INTO sessions (token_sha256, user, role, lang, csrf, hash_sha256, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    sha256_hex(&s.id),
                    s.user,
                    s.role.as_str(),
                    s.lang,
                    s.csrf,
                    s.hash,
                    s.expires_ms
                ],
            )?;
            tx.commit()
        })();
        if let Err(e) = result {
            // The cookie then names no session: the user is asked to log in again.
            self.failed("write", &e);
        }
        s
    }

    /// The live session with `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let key = sha256_hex(id);
        let guard = lock(&self.db);
        let conn = guard.as_ref()?;
        let row = conn
            .query_row(
                "SELECT user, role, lang, csrf, hash_sha256, expires_ms FROM sessions
                 WHERE token_sha256 = ?1",
                [&key],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional();
        let (user, role, lang, csrf, hash, expires_ms) = match row {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                self.failed("read", &e);
                return None;
            }
        };
        let role = role.parse::<Role>().ok();
        match role {
            Some(role) if expires_ms > now_ms() => Some(Session {
                id: id.to_string(),
                user,
                role,
                lang,
                csrf,
                expires_ms,
                hash,
            }),
            _ => {
                if let Err(e) = conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", [&key])
                {
                    self.failed("delete", &e);
                }
                None
            }
        }
    }

    /// Sets the language of session `id`.
    pub fn set_lang(&self, id: &str, lang: Option<String>) {
        let guard = lock(&self.db);
        let Some(conn) = guard.as_ref() else { return };
        if let Err(e) = conn.execute(
            "UPDATE sessions SET lang = ?1 WHERE token_sha256 = ?2",
            params![lang, sha256_hex(id)],
        ) {
            self.failed("write", &e);
        }
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        let guard = lock(&self.db);
        let Some(conn) = guard.as_ref() else { return };
        if let Err(e) = conn.execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            [sha256_hex(id)],
        ) {
            self.failed("delete", &e);
        }
    }

    /// Ends every session of `user`.
    pub fn remove_user(&self, user: &str) {
        let guard = lock(&self.db);
        let Some(conn) = guard.as_ref() else { return };
        if let Err(e) = conn.execute("DELETE FROM sessions WHERE user = ?1", [user]) {
            self.failed("delete", &e);
        }
    }

    /// Ends the sessions whose user is gone from `users`, or has another
    /// password or role there now.
    pub fn keep_valid(&self, users: &super::users::Users) {
        let mut guard = lock(&self.db);
        let Some(conn) = guard.as_mut() else { return };
        let result = (|| {
            let tx = conn.transaction()?;
            let rows: Vec<(String, String, String, String)> = {
                let mut stmt =
                    tx.prepare("SELECT token_sha256, user, role, hash_sha256 FROM sessions")?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut ended = 0;
            for (key, user, role, hash) in rows {
                let valid = users
                    .get(&user)
                    .is_some_and(|u| sha256_hex(&u.hash) == hash && u.role.as_str() == role);
                if !valid {
                    ended += tx.execute("DELETE FROM sessions WHERE token_sha256 = ?1", [key])?;
                }
            }
            tx.commit()?;
            Ok::<_, rusqlite::Error>(ended)
        })();
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                sessions = n,
                "console: sessions ended by a users file change"
            ),
            Err(e) => self.failed("check", &e),
        }
    }

    /// The number of live sessions.
    pub fn len(&self) -> usize {
        let guard = lock(&self.db);
        let Some(conn) = guard.as_ref() else { return 0 };
        conn.query_row(
            "SELECT COUNT(*) FROM sessions WHERE expires_ms > ?1",
            [now_ms()],
            |r| r.get::<_, i64>(0),
        )
        .map_or(0, |n| usize::try_from(n).unwrap_or(0))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    first: Instant,
    fails: u32,
}

/// Failed logins per address and per user name (see the module doc).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    by_ip: Mutex<HashMap<IpAddr, Count>>,
    by_user: Mutex<HashMap<String, Count>>,
}

fn blocked<K: std::hash::Hash + Eq>(
    m: &Mutex<HashMap<K, Count>>,
    k: &K,
    max: u32,
    now: Instant,
) -> Option<Duration> {
    let m = lock(m);
    let c = m.get(k)?;
    let left = FAIL_WINDOW.checked_sub(now.duration_since(c.first))?;
    (c.fails >= max && !left.is_zero()).then_some(left)
}

fn count<K: std::hash::Hash + Eq>(m: &Mutex<HashMap<K, Count>>, k: K, now: Instant) {
    let mut m = lock(m);
    m.retain(|_, c| now.duration_since(c.first) < FAIL_WINDOW);
    let c = m.entry(k).or_insert(Count {
        first: now,
        fails: 0,
    });
    c.fails += 1;
}

impl LoginLimiter {
    /// `Some(wait)` when a login from `ip` as `user` must be refused now.
    pub fn check(&self, ip: IpAddr, user: &str) -> Option<Duration> {
        let now = Instant::now();
        let a = blocked(&self.by_ip, &ip, MAX_FAILS_PER_IP, now);
        let b = blocked(&self.by_user, &user.to_string(), MAX_FAILS_PER_USER, now);
        a.max(b)
    }

    /// Counts a failed login.
    pub fn failed(&self, ip: IpAddr, user: &str) {
        let now = Instant::now();
        count(&self.by_ip, ip, now);
        count(&self.by_user, user.to_string(), now);
    }

    /// A successful login clears the user's count.
    pub fn succeeded(&self, user: &str) {
        lock(&self.by_user).remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wang(hash: &str) -> super::super::users::Users {
        let mut users = super::super::users::Users::default();
        users.users.push(super::super::users::User {
            name: "wang".into(),
            role: Role::Viewer,
            hash: hash.into(),
            lang: None,
        });
        users
    }

    #[test]
    fn sessions_expire_and_are_unguessable() {
        let s = Sessions::in_memory(Duration::from_millis(0));
        let a = s.create("wang", Role::Viewer, None, "h");
        assert!(s.get(&a.id).is_none(), "expired at once");
        let s = Sessions::in_memory(Duration::from_secs(60));
        let a = s.create("wang", Role::Viewer, None, "h");
        let b = s.create("wang", Role::Viewer, None, "h");
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, a.id);
        assert_eq!(a.id.len(), 43);
        assert_eq!(s.get(&a.id).map(|x| x.user), Some("wang".into()));
        s.remove(&a.id);
        assert!(s.get(&a.id).is_none());
        let users = wang("h");
        s.keep_valid(&users);
        assert!(s.get(&b.id).is_some(), "same hash and role: kept");
        s.keep_valid(&wang("new"));
        assert!(s.get(&b.id).is_none(), "new password: ended");
    }

    #[test]
    fn sessions_survive_reopening_the_file_which_holds_no_cookie() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("sessions.db");
        let life = Duration::from_secs(3600);
        let s = Sessions::open(&path, life).expect("opens");
        let a = s.create("wang", Role::Operator, Some("zh-CN".into()), "h");
        drop(s);
        assert_eq!(
            std::fs::metadata(&path)
                .expect("a file")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let s = Sessions::open(&path, life).expect("reopens");
        let back = s.get(&a.id).expect("the session is still there");
        assert_eq!(back, a);
        // Only the id's digest is stored.
        let conn = Connection::open(&path).expect("readable");
        let stored: String = conn
            .query_row("SELECT token_sha256 FROM sessions", [], |r| r.get(0))
            .expect("one row");
        assert_eq!(stored, sha256_hex(&a.id));
        let raw = std::fs::read(&path).expect("readable");
        assert!(!raw.windows(a.id.len()).any(|w| w == a.id.as_bytes()));
        // A new password ends it, also in the file.
        s.keep_valid(&wang("other"));
        drop(s);
        let s = Sessions::open(&path, life).expect("reopens");
        assert!(s.get(&a.id).is_none());
        // Another program's file is refused, not used.
        let other = dir.path().join("other.db");
        Connection::open(&other)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x)"))
            .expect("a foreign file");
        let e = Sessions::open(&other, life).expect_err("refused");
        assert!(e.to_string().contains("sessions_db"), "{e}");
    }

    #[test]
    fn failed_logins_block_per_user_and_per_ip() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        for _ in 0..MAX_FAILS_PER_USER {
            assert!(l.check(ip, "wang").is_none());
            l.failed(ip, "wang");
        }
        assert!(l.check(ip, "wang").is_some());
        // Another user from the same address still may, until the address's cap.
        assert!(l.check(ip, "li").is_none());
        for _ in MAX_FAILS_PER_USER..MAX_FAILS_PER_IP {
            l.failed(ip, "li");
        }
        assert!(l.check(ip, "zhao").is_some());
        assert!(l.check("10.0.0.6".parse().unwrap(), "zhao").is_none());
    }
}
