//! Router-level tests of the console's access rules (requests go through
//! the real router, guard and handlers with `tower::ServiceExt::oneshot`;
//! the real-socket tests with a running daemon are in `tests/ops/console.rs`).

use super::users::{Role, Users};
use super::*;
use crate::monitor::tests::{cam, quiet_snapshot};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use tower::ServiceExt;

const PASS: &str = "correct horse battery";
const TOKEN: &str = "evidence-token-0123456789";

struct Fixture {
    _dir: tempfile::TempDir,
    app: Router,
    event: uuid::Uuid,
}

fn fixture() -> Fixture {
    fixture_with(None)
}

/// The fixture, with the calibration page's sources when given.
fn fixture_with(calibrate: Option<calibrate::CalibrateSources>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let users_file = dir.path().join("users.toml");
    let mut users = Users::default();
    users.add("eve", Role::Viewer, PASS).unwrap();
    users.add("wang", Role::Operator, PASS).unwrap();
    users.add("root", Role::Admin, PASS).unwrap();
    users.save(&users_file).unwrap();
    let evidence_dir = dir.path().join("evidence");
    let event = uuid::Uuid::now_v7();
    let ev = crate::evidence::event_dir(&evidence_dir, "gate", event);
    std::fs::create_dir_all(&ev).unwrap();
    std::fs::write(ev.join(crate::evidence::SNAPSHOT_DETECT), b"jpeg bytes").unwrap();
    let sources = Sources {
        snapshot: Arc::new(|| {
            let mut s = quiet_snapshot();
            let mut c = cam("gate", 100, 0);
            c.fps_in = 10.0;
            c.last_outage = Some("stream error: connection refused".into());
            c.display_name = Some("东大门".into());
            c.zones = vec![
                ("lawn".into(), Some("南草坪".into())),
                ("bins".into(), None),
            ];
            c.selftest = Some(crate::monitor::selftest::SelftestResult {
                at: "2026-12-04T01:00:00Z".parse().unwrap(),
                passed: true,
                checks: Vec::new(),
                reference: "compared",
                frames: 30,
                cpu_ms: 1.0,
            });
            s.cameras.push(c);
            s
        }),
        limits: crate::monitor::Limits::of(&crate::monitor::config::HealthConfig::default()),
        evidence: EvidenceServer::new(&evidence_dir, Some(TOKEN.into())),
        evidence_dir,
        timezone: "Asia/Shanghai".parse().unwrap(),
        site_name: "海景花园".into(),
        board: None,
        calibrate,
    };
    let config = ConsoleConfig {
        users_file,
        ..ConsoleConfig::default()
    };
    // A stand-in for an operator action (the desk's handling routes).
    let extra = Router::new().route(
        "/test/handle",
        post(|u: RequireRole<Operator>| async move { format!("handled by {}", u.name) }),
    );
    Fixture {
        app: router_with(ConsoleState::new(config, sources), extra),
        _dir: dir,
        event,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = r.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path).header(header::HOST, "gw.local");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

fn form(path: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(path)
        .header(header::HOST, "gw.local")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// Logs in; the session cookie (`ew_session=…`) and the page's CSRF token.
async fn login(app: &Router, user: &str) -> (String, String) {
    let (status, headers, _) = send(
        app,
        form(
            "/login",
            None,
            &format!("user={user}&password={}", PASS.replace(' ', "+")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "login of {user}");
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let (_, _, page) = send(app, get("/cameras", Some(&cookie))).await;
    let csrf = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page carries the CSRF token")
        .to_string();
    (cookie, csrf)
}

#[tokio::test]
async fn no_page_works_without_a_session() {
    let f = fixture();
    let (status, headers, _) = send(&f.app, get("/cameras", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/login?next=%2Fcameras");
    let (status, _, _) = send(&f.app, get("/cameras/gate/latest.jpg", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = send(&f.app, form("/test/handle", None, "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(&f.app, get("/cameras", Some("ew_session=made-up"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The machine endpoints stay open (local scrapers).
    let (status, _, body) = send(&f.app, get("/metrics", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("estatewatch_up"), "{body}");
}

#[tokio::test]
async fn a_viewer_cannot_do_an_operator_action_and_csrf_is_required() {
    let f = fixture();
    let (viewer, vcsrf) = login(&f.app, "eve").await;
    let (status, _, body) = send(
        &f.app,
        form("/test/handle", Some(&viewer), &format!("csrf={vcsrf}")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Your role may not do this"), "{body}");

    let (op, csrf) = login(&f.app, "wang").await;
    let (status, _, body) = send(
        &f.app,
        form("/test/handle", Some(&op), &format!("csrf={csrf}")),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "handled by wang"));
    // No token, a wrong one, another session's: refused.
    for body in ["", "csrf=nope", &format!("csrf={vcsrf}")] {
        let (status, _, page) = send(&f.app, form("/test/handle", Some(&op), body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(page.contains("expired or came from another site"), "{page}");
    }
    // The header works for scripts; a foreign Origin is refused even with the token.
    let with_header = |origin: &str| {
        Request::post("/test/handle")
            .header(header::HOST, "gw.local")
            .header(header::ORIGIN, origin)
            .header(header::COOKIE, &op)
            .header("x-csrf-token", &csrf)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&f.app, with_header("http://gw.local")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&f.app, with_header("http://evil.example")).await.0,
        StatusCode::FORBIDDEN
    );
    // Logout needs the token too, then the session is gone.
    assert_eq!(
        send(&f.app, form("/logout", Some(&op), "")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&f.app, form("/logout", Some(&op), &format!("csrf={csrf}")))
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        send(&f.app, get("/cameras", Some(&op))).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited_with_a_clear_page() {
    let f = fixture();
    for _ in 0..session::MAX_FAILS_PER_USER {
        let (status, _, page) = send(
            &f.app,
            form("/login", None, "user=wang&password=wrong-guess"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("Wrong user name or password"), "{page}");
    }
    // Even the right password is refused now, with 429 and when to retry.
    let right = format!("user=wang&password={}", PASS.replace(' ', "+"));
    let (status, headers, page) = send(&f.app, form("/login", None, &right)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(page.contains("Too many failed logins"), "{page}");
    // Another user is not locked out by it.
    login(&f.app, "eve").await;
}

#[tokio::test]
async fn evidence_needs_a_token_or_a_session() {
    let f = fixture();
    let path = format!("/evidence/{}/snapshot-detect.jpg", f.event);
    let (status, headers, _) = send(&f.app, get(&path, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let (status, _, body) = send(&f.app, get(&format!("{path}?token={TOKEN}"), None)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "jpeg bytes"));
    let (cookie, _) = login(&f.app, "eve").await;
    let (status, _, body) = send(&f.app, get(&path, Some(&cookie))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "jpeg bytes"));
    let ranged = Request::get(&path)
        .header(header::COOKIE, &cookie)
        .header(header::RANGE, "bytes=0-3")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = send(&f.app, ranged).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::PARTIAL_CONTENT, "jpeg")
    );
    let (status, _, _) = send(
        &f.app,
        get(&format!("/evidence/{}/../x", f.event), Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_camera_page_shows_state_in_the_users_language_and_site_time() {
    let f = fixture();
    let (cookie, csrf) = login(&f.app, "eve").await;
    let (status, _, page) = send(&f.app, get("/cameras", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-camera=\"gate\""), "{page}");
    // Staff read the display names; the ids stay, small, for integrators.
    assert!(
        page.contains("<span class=\"display-name\">东大门</span>")
            && page.contains("<code class=\"id camera-id\">gate</code>"),
        "{page}"
    );
    assert!(
        page.contains("data-zone=\"lawn\">南草坪 <code>lawn</code></span>")
            && page.contains("data-zone=\"bins\">bins</span>"),
        "{page}"
    );
    assert!(
        page.contains("10.0") && page.contains("connection refused"),
        "{page}"
    );
    assert!(
        page.contains("2026-12-04 09:00:00 CST"),
        "self-test time in Asia/Shanghai: {page}"
    );
    let (status, _, pic) = send(&f.app, get("/cameras/gate/latest.jpg", Some(&cookie))).await;
    assert_eq!((status, pic.as_str()), (StatusCode::OK, "jpeg bytes"));
    // Switch to Chinese: stored, and the page speaks it.
    let (status, _, _) = send(
        &f.app,
        form(
            "/lang",
            Some(&cookie),
            &format!("lang=zh-CN&csrf={csrf}&next=%2Fcameras"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = send(&f.app, get("/cameras", Some(&cookie))).await;
    assert!(
        page.contains("<html lang=\"zh-CN\">") && page.contains("摄像头") && page.contains("在线"),
        "{page}"
    );
    // Without a preference, the browser's language is used on the login page.
    let zh = Request::get("/login")
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
        .body(Body::empty())
        .unwrap();
    let (_, _, page) = send(&f.app, zh).await;
    assert!(page.contains("用户名"), "{page}");
}

#[tokio::test]
async fn only_an_admin_reaches_the_calibration_page_and_its_save() {
    let f = fixture();
    let (status, headers, _) = send(&f.app, get("/cameras/gate/calibrate", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=%2Fcameras%2Fgate%2Fcalibrate"
    );
    for user in ["eve", "wang"] {
        let (cookie, csrf) = login(&f.app, user).await;
        for path in [
            "/cameras/gate/calibrate",
            "/cameras/gate/calibrate/still.jpg",
        ] {
            let (status, _, _) = send(&f.app, get(path, Some(&cookie))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{user} {path}");
        }
        let body = format!("csrf={csrf}&geometry=%7B%7D&version=x");
        let (status, _, _) = send(
            &f.app,
            form("/cameras/gate/calibrate", Some(&cookie), &body),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user} saves");
    }
    // An admin passes the role check; this console was started without a
    // config file, so the page says calibration is unavailable.
    let (cookie, _) = login(&f.app, "root").await;
    let (status, _, page) = send(&f.app, get("/cameras/gate/calibrate", Some(&cookie))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("run --config"), "{page}");
    // The camera page links to it for the admin only.
    let (_, _, cameras) = send(&f.app, get("/cameras", Some(&cookie))).await;
    assert!(cameras.contains("/cameras/gate/calibrate"), "{cameras}");
    let (viewer, _) = login(&f.app, "eve").await;
    let (_, _, cameras) = send(&f.app, get("/cameras", Some(&viewer))).await;
    assert!(!cameras.contains("/calibrate"), "{cameras}");
}

/// A save the daemon may not write (its config's folder read-only) is
/// refused (409, not 500) with a message naming the file and the fix, the
/// page warns before any save, and the file stays as it was. Root may write
/// anywhere, so as root this checks nothing (run the test binary as another
/// user, e.g. `setpriv --reuid 65534 --regid 65534 --clear-groups`).
#[tokio::test]
async fn a_save_into_a_read_only_folder_names_the_file_and_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid() has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("running as root, whom a read-only folder does not stop: not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    let config = etc.join("estatewatch.toml");
    let text = "[site]\nid = \"s\"\n[gateway]\nid = \"g\"\n\n[[cameras]]\nname = \"gate\"\nurl = \"rtsp://h/s\"\n\n[cameras.analyzers.motion]\n";
    std::fs::write(&config, text).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (reload, _requests) = tokio::sync::mpsc::channel(1);
    let f = fixture_with(Some(calibrate::CalibrateSources {
        config_path: config.clone(),
        check: Arc::new(|_, _| Ok(Vec::new())),
        still: Arc::new(|_, _| None),
        reload,
    }));
    let (cookie, csrf) = login(&f.app, "root").await;
    let (status, _, page) = send(&f.app, get("/cameras/gate/calibrate", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("calib-readonly"),
        "no warning on the page:\n{page}"
    );
    let version: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let geometry = r#"{"layers":[{"analyzer":"motion","key":"zones","shapes":[{"name":"door","polygon":[[0.1,0.1],[0.5,0.1],[0.5,0.5]]}]}],"facade":null}"#;
    let body = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("geometry", geometry),
        ("version", version.as_str()),
    ])
    .unwrap();
    let (status, _, answer) = send(
        &f.app,
        form("/cameras/gate/calibrate", Some(&cookie), &body),
    )
    .await;
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let a: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let message = a["message"].as_str().unwrap_or_default();
    let real = std::fs::canonicalize(&config).unwrap();
    for part in [
        format!("may not write {}", real.display()),
        "Permission denied".to_string(),
        format!("sudo chmod 1775 {}", real.parent().unwrap().display()),
    ] {
        assert!(message.contains(&part), "{part:?} in {message:?}");
    }
    assert_eq!(a["saved"], serde_json::json!(false));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}
