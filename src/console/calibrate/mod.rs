//! The calibration page (admin only): `/cameras/<name>/calibrate` shows a
//! fresh frame of the running camera with its zones, masks, exclusions and
//! the throwing facade grid (floor lines, column edges, with floor, column
//! and unit labels) drawn over it, edited in the browser
//! (`assets/calibrate.js`), and saves them into the config file.
//!
//! - `GET /cameras/<name>/calibrate`: the page; the geometry comes from the
//!   config file as it is now ([`edit::read`]), with a version (the file's
//!   sha256) so a save over a file changed meanwhile is refused.
//! - `GET /cameras/<name>/calibrate/still.jpg`: the camera's next analysed
//!   frame, at detect size ([`CalibrateSources::still`]); when the camera
//!   gives none within [`STILL_TIMEOUT`], its newest stored picture.
//! - `POST /cameras/<name>/calibrate` (form fields `geometry`, JSON, and
//!   `version`; CSRF as every POST): the new geometry is written into the
//!   file's text ([`edit::apply`]), checked with `check-config`'s checks
//!   ([`CalibrateSources::check`]; refused with their messages, the file
//!   untouched), written with a backup ([`file::save`]; when the daemon may
//!   not write the file or its folder, refused (409) with the file and the
//!   fix, [`denied_answer`]), then the daemon
//!   is asked to reload through the same path as SIGHUP
//!   ([`CalibrateSources::reload`]). The answer is JSON ([`SaveAnswer`]).
//!
//! Saves are one at a time. The daemon fills [`CalibrateSources`] only when
//! it runs from a config file (`estatewatch run --config`).

pub mod edit;
pub mod file;

use super::auth::{Admin, RequireRole};
use super::pages::{latest_picture, message, Page};
use super::ConsoleState;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How long the still waits for the camera's next analysed frame.
pub const STILL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a save waits for the daemon to apply the reload.
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A frame of a running camera: `width * height * 3` bytes of RGB.
#[derive(Clone)]
pub struct RawFrame {
    pub width: u32,
    pub height: u32,
    pub rgb: Arc<Vec<u8>>,
}

/// The cameras a reload added, removed, restarted or left alone, and those
/// whose new config could not be started (with the reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// What the daemon did when asked to reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The file was read and applied.
    Applied(ReloadSummary),
    /// The file was refused (the reason); the running config stays.
    Rejected(String),
}

/// A request to the daemon's main loop to reload its config file, answered
/// on `reply`.
pub struct ReloadRequest {
    pub reply: tokio::sync::oneshot::Sender<ReloadOutcome>,
}

/// `check-config`'s checks over a config text at a path: the warnings, or
/// every problem (one line each, with its field path).
pub type CheckFn = dyn Fn(&Path, &str) -> Result<Vec<String>, Vec<String>> + Send + Sync;

/// The next analysed frame of a running camera, within a timeout.
pub type StillFn = dyn Fn(&str, Duration) -> Option<RawFrame> + Send + Sync;

/// What the calibration page needs from the daemon.
#[derive(Clone)]
pub struct CalibrateSources {
    /// The config file the daemon runs from (and reloads).
    pub config_path: PathBuf,
    /// `check-config`'s checks ([`crate::config::check_text`] in the daemon).
    pub check: Arc<CheckFn>,
    /// A fresh frame of a running camera (called on a blocking thread).
    pub still: Arc<StillFn>,
    /// Asks the daemon's main loop to reload (the SIGHUP path).
    pub reload: tokio::sync::mpsc::Sender<ReloadRequest>,
}

/// The calibration routes.
pub fn routes() -> axum::Router<ConsoleState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/cameras/{name}/calibrate", get(page).post(save))
        .route("/cameras/{name}/calibrate/still.jpg", get(still))
}

/// Saves run one at a time (read, check, write, reload).
static SAVING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The sha256 of a text, hex: the page's `version` of the file.
fn version(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads the config file (at most the config size cap).
fn read_config(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 1024 * 1024 {
        return Err(format!(
            "{}: {} bytes; a config file may be at most 1 MiB",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// One zone list as the page lists it.
#[derive(Serialize)]
struct LayerView {
    id: String,
    label: String,
    color: &'static str,
}

/// Each list's colour on the page (the `still` picture's colours where it
/// has one).
fn layer_color(analyzer: &str, key: &str) -> &'static str {
    match (analyzer, key) {
        ("motion", _) => "#ffd400",
        ("fire", "zones") => "#ff6a00",
        ("fire", _) => "#b0b4ba",
        ("garbage", _) => "#2ecc71",
        _ => "#c77dff",
    }
}

/// The words `calibrate.js` shows, by short key (`floor`, `new`, …): the
/// catalog's `calib.<key>` in `lang`.
pub fn script_words(lang: super::i18n::Lang) -> std::collections::BTreeMap<&'static str, String> {
    [
        "floor",
        "column",
        "unit",
        "finish",
        "new",
        "saving",
        "no_picture",
        "whole_frame",
        "zone.name",
        "zone.display_name",
        "layer.facade",
        "layer.floors",
        "layer.columns",
        "not_integer",
    ]
    .into_iter()
    .map(|k| (k, lang.text(&format!("calib.{k}"))))
    .collect()
}

/// `GET /cameras/<name>/calibrate` (admin).
pub async fn page(
    State(state): State<ConsoleState>,
    user: RequireRole<Admin>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let p = Page::of(&user);
    let Some(cal) = state.sources.calibrate.clone() else {
        return message(
            &state,
            &p,
            StatusCode::SERVICE_UNAVAILABLE,
            "calib.unavailable",
        );
    };
    let (path, cam) = (cal.config_path.clone(), name.clone());
    let read = tokio::task::spawn_blocking(move || {
        let text = read_config(&path)?;
        let view = edit::read(&text, &cam).map_err(|e| e.to_string())?;
        // Probed, not written: says whether a save can write.
        let writable = file::writable(&path);
        Ok::<_, String>((version(&text), view, writable))
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    let (version, view, writable) = match read {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!(camera = %name, error = %e, "console: calibration page cannot read the config");
            let mut r = state.render(
                "message.html",
                &p,
                minijinja::context! { title_key => "calib.title", text => e },
            );
            *r.status_mut() = StatusCode::NOT_FOUND;
            return r;
        }
    };
    let lang = user.lang;
    let layers: Vec<LayerView> = view
        .geometry
        .layers
        .iter()
        .map(|l| LayerView {
            id: format!("{}.{}", l.analyzer, l.key),
            label: lang.text(&format!("calib.layer.{}.{}", l.analyzer, l.key)),
            color: layer_color(&l.analyzer, &l.key),
        })
        .collect();
    let geometry = serde_json::to_string(&view.geometry).unwrap_or_else(|_| "{}".into());
    let words = serde_json::to_string(&script_words(lang)).unwrap_or_else(|_| "{}".into());
    state.render(
        "calibrate.html",
        &p,
        minijinja::context! {
            camera => view.name,
            display_name => view.display_name,
            width => view.width,
            height => view.height,
            layers => layers,
            throwing => view.geometry.facade.is_some(),
            geometry => geometry,
            version => version,
            words => words,
            config_file => cal.config_path.display().to_string(),
            writable => writable,
        },
    )
}

/// `GET /cameras/<name>/calibrate/still.jpg` (admin): the camera's next
/// analysed frame, else its newest stored picture.
pub async fn still(
    State(state): State<ConsoleState>,
    _user: RequireRole<Admin>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let Some(cal) = state.sources.calibrate.clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "calibration unavailable\n").into_response();
    };
    let dir = state.sources.evidence_dir.clone();
    let cam = name.clone();
    let found = tokio::task::spawn_blocking(move || {
        if let Some(f) = (cal.still)(&cam, STILL_TIMEOUT) {
            use image::ImageEncoder;
            let mut jpeg = Vec::new();
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
            if enc
                .write_image(&f.rgb, f.width, f.height, image::ExtendedColorType::Rgb8)
                .is_ok()
            {
                return Some(Ok(jpeg));
            }
        }
        latest_picture(&dir, &cam).map(Err)
    })
    .await
    .ok()
    .flatten();
    match found {
        Some(Ok(jpeg)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::HeaderName::from_static("x-still"), "live"),
            ],
            jpeg,
        )
            .into_response(),
        Some(Err(stored)) => {
            let mut r =
                super::endpoints::file(&stored, "image/jpeg", &axum::http::HeaderMap::new()).await;
            r.headers_mut().insert(
                header::HeaderName::from_static("x-still"),
                header::HeaderValue::from_static("stored"),
            );
            r
        }
        None => (
            StatusCode::NOT_FOUND,
            "no frame from this camera now, and no stored picture\n",
        )
            .into_response(),
    }
}

/// The save form: the page's geometry (JSON) and the file version it was
/// read from.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    geometry: String,
    version: String,
}

/// The answer to a save, for the page's script.
#[derive(Debug, Default, Serialize)]
pub struct SaveAnswer {
    /// The file was written.
    pub saved: bool,
    /// What happened, in the user's language.
    pub message: String,
    /// `check-config`'s problems, when it refused the new config.
    pub problems: Vec<String>,
    /// `check-config`'s warnings (models the cameras would run without).
    pub warnings: Vec<String>,
    /// The backup of the file as it was.
    pub backup: Option<String>,
    /// The reload: applied to this camera (`true`), or not.
    pub reloaded: bool,
    /// What the reload did or why it failed, in the user's language.
    pub reload: Option<String>,
    /// The file's new version, for the next save.
    pub version: Option<String>,
}

fn answer(status: StatusCode, a: &SaveAnswer) -> Response {
    let body = serde_json::to_string(a).unwrap_or_else(|_| "{}".into());
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// What a save did before the reload.
enum Written {
    Unchanged,
    Saved {
        backup: PathBuf,
        warnings: Vec<String>,
        version: String,
    },
}

/// Why a save stopped before the reload.
enum Refused {
    /// `check-config` refused the new text (its problems).
    Check(Vec<String>),
    /// The file changed since the page read it.
    Stale,
    /// The daemon may not write the file or its folder.
    Denied(file::SaveError),
    /// Reading, editing or writing the file failed.
    Failed(String),
}

/// The answer to a save the daemon was not allowed to write (see
/// [`file::SaveError::denied`]): which file, why, and what to do, in the
/// user's language. The file is unchanged.
pub fn denied_answer(config: &Path, e: &file::SaveError, lang: super::i18n::Lang) -> SaveAnswer {
    let file = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let dir = file.parent().unwrap_or_else(|| Path::new("/"));
    SaveAnswer {
        message: lang
            .text("calib.no_permission")
            .replace("{file}", &file.display().to_string())
            .replace("{dir}", &dir.display().to_string())
            .replace("{why}", &e.io().to_string()),
        ..SaveAnswer::default()
    }
}

/// `POST /cameras/<name>/calibrate` (admin): see the module doc.
pub async fn save(
    State(state): State<ConsoleState>,
    user: RequireRole<Admin>,
    UrlPath(name): UrlPath<String>,
    axum::Form(form): axum::Form<SaveForm>,
) -> Response {
    let span = tracing::info_span!("camera", name = %name);
    save_in(state, user, name, form).instrument(span).await
}

async fn save_in(
    state: ConsoleState,
    user: RequireRole<Admin>,
    name: String,
    form: SaveForm,
) -> Response {
    let lang = user.lang;
    let Some(cal) = state.sources.calibrate.clone() else {
        let a = SaveAnswer {
            message: lang.text("calib.unavailable"),
            ..SaveAnswer::default()
        };
        return answer(StatusCode::SERVICE_UNAVAILABLE, &a);
    };
    let geometry: edit::Geometry = match serde_json::from_str(&form.geometry) {
        Ok(g) => g,
        Err(e) => {
            let a = SaveAnswer {
                message: format!("geometry: {e}"),
                ..SaveAnswer::default()
            };
            return answer(StatusCode::BAD_REQUEST, &a);
        }
    };
    let _one_at_a_time = SAVING.lock().await;
    let (c, cam, want) = (cal.clone(), name.clone(), form.version.clone());
    let span = tracing::Span::current();
    let written = tokio::task::spawn_blocking(move || {
        let _enter = span.enter();
        let path = &c.config_path;
        let text = read_config(path).map_err(Refused::Failed)?;
        if version(&text) != want {
            return Err(Refused::Stale);
        }
        let new =
            edit::apply(&text, &cam, &geometry).map_err(|e| Refused::Failed(e.to_string()))?;
        if new == text {
            return Ok(Written::Unchanged);
        }
        let warnings = (c.check)(path, &new).map_err(Refused::Check)?;
        let backup = file::save(path, &new).map_err(|e| {
            if e.denied() {
                Refused::Denied(e)
            } else {
                Refused::Failed(e.to_string())
            }
        })?;
        Ok(Written::Saved {
            backup,
            warnings,
            version: version(&new),
        })
    })
    .await
    .unwrap_or_else(|e| Err(Refused::Failed(e.to_string())));
    let (backup, warnings, new_version) = match written {
        Ok(Written::Saved {
            backup,
            warnings,
            version,
        }) => (backup, warnings, version),
        Ok(Written::Unchanged) => {
            let a = SaveAnswer {
                message: lang.text("calib.unchanged"),
                version: Some(form.version),
                ..SaveAnswer::default()
            };
            return answer(StatusCode::OK, &a);
        }
        Err(Refused::Check(problems)) => {
            tracing::info!(user = %user.name, problems = ?problems, "console: calibration refused by check-config; file unchanged");
            let a = SaveAnswer {
                message: lang.text("calib.refused"),
                problems,
                ..SaveAnswer::default()
            };
            return answer(StatusCode::UNPROCESSABLE_ENTITY, &a);
        }
        Err(Refused::Stale) => {
            let a = SaveAnswer {
                message: lang.text("calib.stale"),
                ..SaveAnswer::default()
            };
            return answer(StatusCode::CONFLICT, &a);
        }
        Err(Refused::Denied(e)) => {
            tracing::error!(user = %user.name, config = %cal.config_path.display(), error = %e, "console: calibration not saved: the daemon may not write its config file or folder");
            return answer(
                StatusCode::CONFLICT,
                &denied_answer(&cal.config_path, &e, lang),
            );
        }
        Err(Refused::Failed(e)) => {
            tracing::error!(user = %user.name, error = %e, "console: calibration not saved");
            let a = SaveAnswer {
                message: format!("{}: {e}", lang.text("calib.failed")),
                ..SaveAnswer::default()
            };
            return answer(StatusCode::INTERNAL_SERVER_ERROR, &a);
        }
    };
    tracing::info!(user = %user.name, config = %cal.config_path.display(), backup = %backup.display(), "console: calibration saved; asking the daemon to reload");
    let (reloaded, reload) = ask_reload(&cal, &name, lang).await;
    let a = SaveAnswer {
        saved: true,
        message: lang
            .text("calib.saved")
            .replace("{backup}", &backup.display().to_string()),
        problems: Vec::new(),
        warnings,
        backup: Some(backup.display().to_string()),
        reloaded,
        reload: Some(reload),
        version: Some(new_version),
    };
    answer(StatusCode::OK, &a)
}

/// Asks the daemon to reload and says what it did to camera `name`.
async fn ask_reload(cal: &CalibrateSources, name: &str, lang: super::i18n::Lang) -> (bool, String) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if cal.reload.send(ReloadRequest { reply: tx }).await.is_err() {
        return (false, lang.text("calib.reload.timeout"));
    }
    let outcome = match tokio::time::timeout(RELOAD_TIMEOUT, rx).await {
        Ok(Ok(o)) => o,
        _ => return (false, lang.text("calib.reload.timeout")),
    };
    reload_text(&outcome, name, lang)
}

/// Whether a reload `outcome` applied camera `name`'s new config, and
/// what to tell the user.
pub fn reload_text(outcome: &ReloadOutcome, name: &str, lang: super::i18n::Lang) -> (bool, String) {
    match outcome {
        ReloadOutcome::Rejected(e) => {
            (false, format!("{} {e}", lang.text("calib.reload.rejected")))
        }
        ReloadOutcome::Applied(s) => {
            if let Some((_, why)) = s.failed.iter().find(|(n, _)| n == name) {
                (false, format!("{} {why}", lang.text("calib.reload.failed")))
            } else if s.restarted.iter().chain(&s.added).any(|n| n == name) {
                (true, lang.text("calib.reload.restarted"))
            } else if s.unchanged.iter().any(|n| n == name) {
                (true, lang.text("calib.reload.unchanged"))
            } else {
                (true, lang.text("calib.reload.disabled"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::Lang;

    #[test]
    fn the_script_gets_its_words_from_the_catalog() {
        let w = script_words(Lang::ZhCn);
        assert_eq!(w["floor"], "楼层");
        for (k, v) in &w {
            assert_ne!(*v, format!("calib.{k}"), "calib.{k} is not in the catalog");
        }
    }

    #[test]
    fn a_denied_save_names_the_file_its_folder_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("estatewatch.toml");
        std::fs::write(&config, "x\n").unwrap();
        let e = file::SaveError::Backup {
            path: dir.path().join("estatewatch.toml.bak-1"),
            error: std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem),
        };
        let real = std::fs::canonicalize(&config).unwrap();
        let folder = real.parent().unwrap().display().to_string();
        let a = denied_answer(&config, &e, Lang::En);
        assert!(!a.saved);
        for part in [
            format!("may not write {}", real.display()),
            e.io().to_string(),
            format!("sudo chown estatewatch: {}", real.display()),
            format!("sudo chmod 1775 {folder}"),
            "the file is unchanged".to_string(),
        ] {
            assert!(a.message.contains(&part), "{part:?} in {:?}", a.message);
        }
        let zh = denied_answer(&config, &e, Lang::ZhCn);
        assert!(zh.message.starts_with("未保存"), "{}", zh.message);
        assert!(zh.message.contains(&real.display().to_string()));
    }
}
