//! `GET /evidence/<event>/<file>`: evidence files for callers with the
//! token, on the daemon's HTTP server (`crate::console`; a console session
//! is accepted instead of the token there).
//!
//! - No token configured (`[evidence.http]`): every evidence request is
//!   refused (403) and the start-up log says evidence is not served.
//! - The token goes in `Authorization: Bearer <token>` (preferred) or the
//!   query `?token=<token>` (for a browser link; it may end up in a proxy's
//!   logs). Missing or wrong: 401, whatever the path.
//! - Only `<event>` as a canonical UUID and `<file>` one of
//!   [`FILE_NAMES`](super::FILE_NAMES) are looked up, as a regular file (no
//!   symlink) in `<dir>/<camera>/<event>/`; anything else is 404. So no
//!   path can leave the evidence folder.

use super::FILE_NAMES;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// What an evidence request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200 with this file.
    File {
        path: PathBuf,
        content_type: &'static str,
    },
    /// An error status and a one-line reason.
    Refused { status: u16, reason: &'static str },
}

/// Answers evidence requests for one folder and token.
#[derive(Clone)]
pub struct EvidenceServer {
    dir: PathBuf,
    token: Option<String>,
}

impl std::fmt::Debug for EvidenceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceServer")
            .field("dir", &self.dir)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The path prefix served.
pub const PREFIX: &str = "/evidence/";

impl EvidenceServer {
    /// `token`: `None` refuses every request.
    pub fn new(dir: &Path, token: Option<String>) -> EvidenceServer {
        EvidenceServer {
            dir: dir.to_path_buf(),
            token,
        }
    }

    /// True when evidence is served at all.
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }

    /// Answers `path` (starting with [`PREFIX`]) with the query string and
    /// the `Authorization` header as received.
    pub fn answer(&self, path: &str, query: &str, authorization: Option<&str>) -> Answer {
        let Some(token) = &self.token else {
            return Answer::Refused {
                status: 403,
                reason: "evidence is not served: no evidence.http token is configured\n",
            };
        };
        let presented = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| rest.trim().to_string())
            })
            .or_else(|| query_param(query, "token"));
        if !presented.is_some_and(|p| same(p.as_bytes(), token.as_bytes())) {
            return Answer::Refused {
                status: 401,
                reason: "a valid evidence token is required (Authorization: Bearer <token>)\n",
            };
        }
        self.lookup(path)
    }

    /// Answers `path` for a caller already authenticated another way (a
    /// console session): the same layout rules as [`Self::answer`], no token.
    pub fn lookup(&self, path: &str) -> Answer {
        let not_found = Answer::Refused {
            status: 404,
            reason: "no such evidence\n",
        };
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return not_found;
        };
        let mut parts = rest.split('/');
        let (Some(event), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return not_found;
        };
        let Some(event) = Uuid::parse_str(event)
            .ok()
            .filter(|u| u.to_string() == event)
        else {
            return not_found;
        };
        let Some(name) = FILE_NAMES.iter().find(|n| **n == name) else {
            return not_found;
        };
        match self.locate(event, name) {
            Some(path) => Answer::File {
                path,
                content_type: super::content_type(name),
            },
            None => not_found,
        }
    }

    /// `<dir>/<camera>/<event>/<name>` for whichever camera has it, when it
    /// is a regular file.
    fn locate(&self, event: Uuid, name: &str) -> Option<PathBuf> {
        let cameras = std::fs::read_dir(&self.dir).ok()?;
        for cam in cameras.flatten() {
            let Some(camera) = cam.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !super::camera_dir_ok(&camera) {
                continue;
            }
            let p = super::event_dir(&self.dir, &camera, event).join(name);
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                return Some(p);
            }
        }
        None
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The percent-decoded value of `name` in a query string.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hexval = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let decoded = (b[i] == b'%' && i + 2 < b.len())
            .then(|| Some(hexval(b[i + 1])? * 16 + hexval(b[i + 2])?))
            .flatten();
        match decoded {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(if b[i] == b'+' { b' ' } else { b[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef-token";

    fn server() -> (tempfile::TempDir, EvidenceServer, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let event = Uuid::now_v7();
        let d = super::super::event_dir(dir.path(), "gate", event);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("snapshot-detect.jpg"), b"jpeg").unwrap();
        std::fs::write(d.join("notes.txt"), b"x").unwrap();
        let s = EvidenceServer::new(dir.path(), Some(TOKEN.into()));
        (dir, s, event)
    }

    #[test]
    fn token_is_required_and_checked() {
        let (_d, s, ev) = server();
        let p = format!("/evidence/{ev}/snapshot-detect.jpg");
        let status = |a: Answer| match a {
            Answer::File { .. } => 200,
            Answer::Refused { status, .. } => status,
        };
        assert_eq!(status(s.answer(&p, "", None)), 401);
        assert_eq!(status(s.answer(&p, "", Some("Bearer nope"))), 401);
        assert_eq!(
            status(s.answer(&p, "", Some(&format!("Bearer {TOKEN}")))),
            200
        );
        assert_eq!(
            status(s.answer(&p, &format!("a=1&token={TOKEN}"), None)),
            200
        );
        let auth = Some(format!("bearer {TOKEN}"));
        for bad in [
            format!("/evidence/{ev}/notes.txt"),
            format!("/evidence/{ev}/../{ev}/snapshot-detect.jpg"),
            format!("/evidence/../gate/{ev}/snapshot-detect.jpg"),
            format!(
                "/evidence/{}/snapshot-detect.jpg",
                ev.to_string().to_uppercase()
            ),
            format!("/evidence/{ev}/clip.mp4"),
            format!("/evidence/{ev}/snapshot-detect.jpg/"),
        ] {
            assert_eq!(status(s.answer(&bad, "", auth.as_deref())), 404, "{bad}");
        }
        let off = EvidenceServer::new(_d.path(), None);
        assert_eq!(
            status(off.answer(&p, "", Some(&format!("Bearer {TOKEN}")))),
            403
        );
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            query_param("x=1&token=a%2Bb%3D", "token").as_deref(),
            Some("a+b=")
        );
        assert_eq!(query_param("token=", "token").as_deref(), Some(""));
        assert_eq!(query_param("x=1", "token"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
