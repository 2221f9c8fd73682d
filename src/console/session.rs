//! Login sessions and the failed-login limiter, both kept in memory (a
//! restart logs everyone out).
//!
//! A session id is 32 random bytes (base64url) sent in the `ew_session`
//! cookie (`HttpOnly; SameSite=Strict; Path=/`, plus `Secure` under TLS);
//! the server keeps, per id, the user, role, language, a CSRF token (32
//! random bytes) and the expiry. Expired sessions are dropped when met and
//! swept at each login.
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
use std::collections::HashMap;
use std::net::IpAddr;
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
/// Most sessions kept at once; the oldest is dropped beyond it.
pub const MAX_SESSIONS: usize = 10_000;

/// 32 random bytes as base64url (no padding).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A logged-in user's session, as handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user: String,
    pub role: Role,
    /// `en` or `zh-CN`; `None`: the browser's choice.
    pub lang: Option<String>,
    /// Must come back with every state-changing request.
    pub csrf: String,
    pub expires: Instant,
    /// The user's password hash at login: a new password (or role, or the
    /// user's removal) in the users file ends the session.
    pub hash: String,
}

/// The server-side session store.
#[derive(Debug)]
pub struct Sessions {
    lifetime: Duration,
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Sessions {
        Sessions {
            lifetime,
            map: Mutex::default(),
        }
    }

    /// Opens a session for `user`.
    pub fn create(&self, user: &str, role: Role, lang: Option<String>, hash: &str) -> Session {
        let now = Instant::now();
        let s = Session {
            id: random_token(),
            user: user.into(),
            role,
            lang,
            csrf: random_token(),
            expires: now + self.lifetime,
            hash: hash.to_string(),
        };
        let mut m = lock(&self.map);
        m.retain(|_, s| s.expires > now);
        if m.len() >= MAX_SESSIONS {
            if let Some(oldest) = m.values().min_by_key(|s| s.expires).map(|s| s.id.clone()) {
                m.remove(&oldest);
            }
        }
        m.insert(s.id.clone(), s.clone());
        s
    }

    /// The live session with `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut m = lock(&self.map);
        match m.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                m.remove(id);
                None
            }
            None => None,
        }
    }

    /// Sets the language of session `id`.
    pub fn set_lang(&self, id: &str, lang: Option<String>) {
        if let Some(s) = lock(&self.map).get_mut(id) {
            s.lang = lang;
        }
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        lock(&self.map).remove(id);
    }

    /// Ends every session of `user`.
    pub fn remove_user(&self, user: &str) {
        lock(&self.map).retain(|_, s| s.user != user);
    }

    /// Ends the sessions whose user is gone from `users`, or has another
    /// password or role there now.
    pub fn keep_valid(&self, users: &super::users::Users) {
        lock(&self.map).retain(|_, s| {
            users
                .get(&s.user)
                .is_some_and(|u| u.hash == s.hash && u.role == s.role)
        });
    }

    /// The number of live sessions.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        lock(&self.map).values().filter(|s| s.expires > now).count()
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

    #[test]
    fn sessions_expire_and_are_unguessable() {
        let s = Sessions::new(Duration::from_millis(0));
        let a = s.create("wang", Role::Viewer, None, "h");
        assert!(s.get(&a.id).is_none(), "expired at once");
        let s = Sessions::new(Duration::from_secs(60));
        let a = s.create("wang", Role::Viewer, None, "h");
        let b = s.create("wang", Role::Viewer, None, "h");
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, a.id);
        assert_eq!(a.id.len(), 43);
        assert_eq!(s.get(&a.id).map(|x| x.user), Some("wang".into()));
        s.remove(&a.id);
        assert!(s.get(&a.id).is_none());
        let mut users = super::super::users::Users::default();
        users.users.push(super::super::users::User {
            name: "wang".into(),
            role: Role::Viewer,
            hash: "h".into(),
            lang: None,
        });
        s.keep_valid(&users);
        assert!(s.get(&b.id).is_some(), "same hash and role: kept");
        users.users[0].hash = "new".into();
        s.keep_valid(&users);
        assert!(s.get(&b.id).is_none(), "new password: ended");
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
