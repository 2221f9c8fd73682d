//! Page rendering: the templates (compiled into the binary from
//! `src/console/templates/`, rendered with minijinja), the embedded assets
//! (`src/console/assets/`), the headers every answer gets, and the camera
//! page.
//!
//! Every template extends `layout.html` and sees: `lang` (`en`/`zh-CN`),
//! `langs` (the switch), `user` (`name`, `role`; absent when logged out),
//! `csrf`, `site`, `timezone`, `path`, plus what the handler passes. In
//! templates, `t("key")` is the word in the page's language
//! ([`super::i18n`]) and `x|local_time` shows an RFC 3339 time or Unix
//! seconds in the site's time zone. A new page adds its template to
//! [`TEMPLATES`] and its words to the catalog.

use super::auth::{CurrentUser, RequireRole, Viewer};
use super::i18n::{Lang, LANGS};
use super::ConsoleState;
use crate::settings::SiteTimezone;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Kwargs;
use minijinja::{context, Environment, Value};
use serde::Serialize;

/// Every template: `(name, source)`.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("login.html", include_str!("templates/login.html")),
    ("message.html", include_str!("templates/message.html")),
    ("cameras.html", include_str!("templates/cameras.html")),
    ("board.html", include_str!("templates/board.html")),
    ("incident.html", include_str!("templates/incident.html")),
    (
        "incident_row.html",
        include_str!("templates/incident_row.html"),
    ),
    ("calibrate.html", include_str!("templates/calibrate.html")),
    (
        "notifications.html",
        include_str!("templates/notifications.html"),
    ),
];

/// Every asset under `/assets/`: `(name, content type, bytes)`.
pub const ASSETS: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    (
        "board.css",
        "text/css; charset=utf-8",
        include_str!("assets/board.css"),
    ),
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/board.js"),
    ),
    (
        "calibrate.css",
        "text/css; charset=utf-8",
        include_str!("assets/calibrate.css"),
    ),
    (
        "calibrate.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/calibrate.js"),
    ),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

/// `t("key", name=value…)`: the page language's text, `{name}` replaced.
fn translate(
    state: &minijinja::State,
    key: &str,
    kwargs: Kwargs,
) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En);
    let mut text = lang.text(key);
    for arg in kwargs.args() {
        let v: Value = kwargs.get(arg)?;
        text = text.replace(&format!("{{{arg}}}"), &v.to_string());
    }
    Ok(text)
}

/// `value|local_time`: RFC 3339 text or Unix seconds, in the site's zone.
fn local_time(tz: SiteTimezone, v: &Value) -> String {
    let t = if let Some(s) = v.as_str() {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    } else {
        i64::try_from(v.clone())
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    };
    t.map_or_else(|| v.to_string(), |t| tz.human(t))
}

impl Templates {
    /// Loads every template of [`TEMPLATES`]; times shown in `tz`.
    pub fn new(tz: SiteTimezone) -> Templates {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                // Checked by this module's tests; never at run time.
                tracing::error!(template = name, error = %e, "console: template does not compile");
            }
        }
        env.add_function("t", translate);
        env.add_filter("local_time", move |v: Value| local_time(tz, &v));
        env.add_global("timezone", tz.name());
        Templates { env }
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// Who a page is rendered for.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    pub user: Option<CurrentUser>,
}

impl Page {
    /// A page for a logged-in user.
    pub fn of(user: &CurrentUser) -> Page {
        Page {
            lang: user.lang,
            user: Some(user.clone()),
        }
    }

    /// A page for nobody in particular (login, errors).
    pub fn anonymous(lang: Lang) -> Page {
        Page { lang, user: None }
    }
}

#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    role: &'a str,
}

impl ConsoleState {
    /// Renders template `name` for `page` with the handler's values
    /// `extra` (e.g. `minijinja::context! { cameras => list }`).
    pub fn render(&self, name: &str, page: &Page, extra: Value) -> Response {
        let langs: Vec<(&str, &str)> = LANGS.iter().map(|l| (l.tag(), l.native())).collect();
        let ctx = context! {
            lang => page.lang.tag(),
            langs => langs,
            user => page.user.as_ref().map(|u| UserView { name: &u.name, role: u.role.as_str() }),
            csrf => page.user.as_ref().map(|u| u.csrf.as_str()),
            site => self.sources.site_name,
            path => page.user.as_ref().map_or("/", |u| u.path.as_str()),
            ..extra
        };
        match self.templates.render(name, ctx) {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "console: page failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "page failed to render; see the daemon log\n",
                )
                    .into_response()
            }
        }
    }
}

/// A page with one message (`key` in the catalog) and `status`.
pub fn message(state: &ConsoleState, page: &Page, status: StatusCode, key: &str) -> Response {
    let mut r = state.render(
        "message.html",
        page,
        context! { title_key => key, text => page.lang.text(key) },
    );
    *r.status_mut() = status;
    r
}

/// Headers on every answer: no caching unless the handler said otherwise,
/// and for pages a strict content security policy (own scripts and styles
/// only, no framing).
pub async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
    }
    r
}

/// `/assets/<name>`: an embedded asset.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, ct, body)) => (
            [
                (header::CONTENT_TYPE, *ct),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

/// Anything else: 404 (plain text for machines).
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found; try /healthz, /metrics or /login\n",
    )
        .into_response()
}

/// A zone as the camera page shows it.
#[derive(Debug, Serialize)]
struct ZoneLabel {
    /// The config name (what alerts carry in `zone`).
    name: String,
    /// Its `display_name`, or the name.
    display: String,
}

/// One row of the camera page.
#[derive(Debug, Serialize)]
struct CameraRow {
    /// The config name (shown small, for integrators).
    name: String,
    /// The `display_name`, or the name (the heading staff read).
    display: String,
    zones: Vec<ZoneLabel>,
    online: bool,
    fps_in: String,
    fps_analysed: String,
    skipped: u64,
    reconnects: u64,
    /// `none`, `passed` or `failed`.
    selftest: &'static str,
    selftest_at: Option<String>,
    selftest_failed: Vec<String>,
    outage: Option<String>,
    picture: bool,
}

/// The newest stored detect-size picture of `camera` in the evidence
/// folder (event folders are UUID v7, so the greatest name is the newest).
pub fn latest_picture(dir: &std::path::Path, camera: &str) -> Option<std::path::PathBuf> {
    if !crate::evidence::camera_dir_ok(camera) {
        return None;
    }
    let mut events: Vec<_> = std::fs::read_dir(dir.join(camera))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| uuid::Uuid::parse_str(n).is_ok())
        .collect();
    events.sort();
    events.iter().rev().find_map(|e| {
        let p = dir
            .join(camera)
            .join(e)
            .join(crate::evidence::SNAPSHOT_DETECT);
        std::fs::symlink_metadata(&p)
            .is_ok_and(|m| m.is_file())
            .then_some(p)
    })
}

/// `GET /cameras` (viewer+): each camera's state and figures, headed by
/// its display name (its config name small beneath, for integrators), with
/// its zones the same way.
pub async fn cameras(State(state): State<ConsoleState>, user: RequireRole<Viewer>) -> Response {
    let st = state.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let snap = (st.sources.snapshot)();
        snap.cameras
            .iter()
            .map(|c| CameraRow {
                name: c.camera.clone(),
                display: c.display_name.clone().unwrap_or_else(|| c.camera.clone()),
                zones: c
                    .zones
                    .iter()
                    .map(|(name, display)| ZoneLabel {
                        name: name.clone(),
                        display: display.clone().unwrap_or_else(|| name.clone()),
                    })
                    .collect(),
                online: c.online,
                fps_in: format!("{:.1}", c.fps_in),
                fps_analysed: format!("{:.1}", c.fps_analysed),
                skipped: c.frames_skipped,
                reconnects: c.reconnects,
                selftest: match &c.selftest {
                    None => "none",
                    Some(r) if r.passed => "passed",
                    Some(_) => "failed",
                },
                selftest_at: c.selftest.as_ref().map(|r| st.sources.timezone.human(r.at)),
                selftest_failed: c
                    .selftest
                    .iter()
                    .flat_map(|r| {
                        r.checks
                            .iter()
                            .filter(|k| !k.passed)
                            .map(|k| k.name.to_string())
                    })
                    .collect(),
                outage: c.last_outage.clone(),
                picture: latest_picture(&st.sources.evidence_dir, &c.camera).is_some(),
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    state.render(
        "cameras.html",
        &Page::of(&user),
        context! { cameras => rows },
    )
}

/// `GET /cameras/<name>/latest.jpg` (viewer+): the camera's newest stored picture.
pub async fn camera_picture(
    State(state): State<ConsoleState>,
    _user: RequireRole<Viewer>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let dir = state.sources.evidence_dir.clone();
    let found = tokio::task::spawn_blocking(move || latest_picture(&dir, &name))
        .await
        .ok()
        .flatten();
    match found {
        Some(p) => super::endpoints::file(&p, "image/jpeg", &headers).await,
        None => (
            StatusCode::NOT_FOUND,
            "no stored picture of this camera yet\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_speaks_both_languages() {
        let t = Templates::new("Asia/Shanghai".parse().unwrap());
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let html = t
            .render(
                "message.html",
                context! { lang => "zh-CN", title_key => "login.title", text => "x", langs => Vec::<(String, String)>::new() },
            )
            .unwrap();
        assert!(html.contains("登录"), "{html}");
        // Every word a template asks for, `t("key")`, is in the catalog in
        // both languages.
        let mut asked = 0;
        for (name, src) in TEMPLATES {
            for (at, _) in src.match_indices("t(") {
                let before = src[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &src[at + 2..];
                let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                    continue;
                };
                let key = &rest[1..rest[1..].find(q).map_or(1, |e| e + 1)];
                if key.ends_with('.') {
                    // A prefix completed at render time (`t("role." ~ role)`).
                    continue;
                }
                for lang in [Lang::En, Lang::ZhCn] {
                    assert_ne!(
                        lang.text(key),
                        key,
                        "{name}: t({key:?}) is not in the catalog"
                    );
                }
                asked += 1;
            }
        }
        assert!(asked > 50, "only {asked} words found in the templates");
        let tz: SiteTimezone = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            local_time(tz, &Value::from("2026-12-04T01:00:00Z")),
            "2026-12-04 09:00:00 CST"
        );
    }
}
