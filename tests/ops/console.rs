//! The console on the real `estatewatch run` binary, over real sockets: a
//! user added with `estatewatch user add` (password on stdin) logs in, sees
//! the camera page with the camera's latest stored picture, and loses the
//! old password (and the session opened with it) to `user passwd`; a login
//! outlives a daemon restart but not a new password; pages
//! need a session, `/evidence` a token or a session; `HEAD` works as
//! before. A console bound to the LAN without any user is refused by
//! `check-config` and `run` until one is added. Over TLS the console
//! answers HTTPS only, with `Secure` cookies, and `check-config` names a
//! missing key file. (The access rules in detail — roles, CSRF, rate
//! limits — are tested at router level in `src/console/tests.rs`.)

use super::monitor::clip;
use crate::common::daemon::{wait_for, Daemon, BIN};
use crate::common::mosquitto::{config_text, free_port, Broker};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// One HTTP/1.1 exchange: status, head and body bytes.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Option<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head, raw[split + 4..].to_vec()))
}

/// The value of header `name` (any case) in a head from [`request`].
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `estatewatch user ARGS…` with `stdin` piped in.
fn user_cmd(args: &[&str], stdin: &str) -> Output {
    let mut c = Command::new(BIN)
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

/// Logs in; the `ew_session=…` cookie, or the status when refused.
fn login(port: u16, user: &str, password: &str) -> Result<String, u16> {
    let form = format!("user={user}&password={password}");
    let (status, head, _) = request(
        port,
        "POST",
        "/login",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &form,
    )
    .expect("the console answers");
    if status != 303 {
        return Err(status);
    }
    let set = header(&head, "set-cookie").expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    Ok(set.split(';').next().unwrap().to_string())
}

fn console_config(dir: &Path, broker: u16, console: &str, cameras: &str) -> PathBuf {
    let mut text = config_text(broker, &dir.join("outbox.db"), "", "");
    text.push_str(&format!(
        "[health]\nstats_interval_s = 0\n[console]\nusers_file = \"{}\"\n{console}\n{cameras}",
        dir.join("users.toml").display()
    ));
    let path = dir.join("estatewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_user_added_on_the_command_line_logs_in_and_sees_the_cameras() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start();
    let clip = clip(dir.path());
    let http = free_port();
    let camera = format!(
        "[[cameras]]\nname = \"gate\"\nurl = \"file://{}\"\n\
         [cameras.detect]\nwidth = 160\nheight = 120\nfps = 5\n\
         [cameras.analyzers.motion]\nmin_changed_fraction = 0.0005\npixel_threshold = 20\ncooldown_s = 0\n",
        clip.display()
    );
    let cfg = console_config(
        dir.path(),
        broker.port(),
        &format!("bind = \"127.0.0.1:{http}\""),
        &camera,
    );
    let cfg_s = cfg.to_str().unwrap();

    // The password comes from stdin, never from the command line.
    let out = user_cmd(
        &[
            "add",
            "wang",
            "--role",
            "operator",
            "--config",
            cfg_s,
            "hunter2hunter2",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = user_cmd(
        &["add", "wang", "--role", "operator", "--config", cfg_s],
        "first-pass-123\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users = dir.path().join("users.toml");
    assert_eq!(
        std::fs::metadata(&users).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.contains("$argon2id$") && !text.contains("first-pass-123"),
        "{text}"
    );
    let out = user_cmd(&["list", "--config", cfg_s], "");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "wang\toperator\t-\n");

    let d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    wait_for("the console", Duration::from_secs(30), &log, || {
        request(http, "GET", "/healthz", "", "")
    });
    // HEAD as before: the head, no body.
    let (status, head, body) = request(http, "HEAD", "/metrics", "", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        header(&head, "content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4")),
        "{head}"
    );
    assert!(body.is_empty());

    // No page without a session; no evidence without a token or session.
    let (status, head, _) = request(http, "GET", "/cameras", "", "").unwrap();
    assert_eq!(status, 303);
    assert_eq!(header(&head, "location"), Some("/login?next=%2Fcameras"));
    let ev = format!("/evidence/{}/snapshot-detect.jpg", uuid::Uuid::now_v7());
    assert_eq!(
        request(http, "GET", &ev, "", "").unwrap().0,
        403,
        "no token configured: refused"
    );

    assert_eq!(login(http, "wang", "wrong-pass-123"), Err(401));
    let cookie = login(http, "wang", "first-pass-123").expect("the new user logs in");
    let auth = format!("Cookie: {cookie}\r\n");
    // With a session, /evidence looks the file up (none such: 404, not 403).
    assert_eq!(request(http, "GET", &ev, &auth, "").unwrap().0, 404);

    // The camera page: online, and the latest stored picture once motion
    // alerts have stored one.
    let page = wait_for(
        "the camera online with a picture",
        Duration::from_secs(60),
        &log,
        || {
            let (status, _, body) = request(http, "GET", "/cameras", &auth, "")?;
            assert_eq!(status, 200);
            let page = String::from_utf8_lossy(&body).into_owned();
            (page.contains("camera online") && page.contains("/cameras/gate/latest.jpg"))
                .then_some(page)
        },
    );
    assert!(page.contains("data-camera=\"gate\""), "{page}");
    let (status, head, jpeg) = request(http, "GET", "/cameras/gate/latest.jpg", &auth, "").unwrap();
    assert_eq!(status, 200, "{head}");
    let img = image::load_from_memory(&jpeg).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (160, 120));

    // A new password: the old one no longer works, the new one does.
    let out = user_cmd(&["passwd", "wang", "--config", cfg_s], "second-pass-456\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(login(http, "wang", "first-pass-123"), Err(401));
    // The session opened with the old password has ended.
    assert_eq!(request(http, "GET", "/cameras", &auth, "").unwrap().0, 303);
    login(http, "wang", "second-pass-456").expect("the new password works");
    drop(d);
}

/// The CSRF token in a page (`<meta name="csrf-token" content="…">`).
fn csrf_of(page: &str) -> Option<String> {
    let needle = "name=\"csrf-token\" content=\"";
    let at = page.find(needle)? + needle.len();
    let end = page[at..].find('"')?;
    Some(page[at..at + end].to_string())
}

#[test]
fn a_login_survives_a_restart_and_ends_with_a_new_password() {
    let dir = tempfile::tempdir().unwrap();
    let http = free_port();
    let cfg = console_config(
        dir.path(),
        free_port(),
        &format!("bind = \"127.0.0.1:{http}\""),
        "",
    );
    let cfg_s = cfg.to_str().unwrap();
    let out = user_cmd(
        &["add", "wang", "--role", "operator", "--config", cfg_s],
        "first-pass-123\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = dir.path().join("daemon.log");
    let start = || {
        let d = Daemon::start_with(&cfg, &log, &[], &[]);
        wait_for("the console", Duration::from_secs(30), &|| d.log(), || {
            request(http, "GET", "/healthz", "", "")
        });
        d
    };
    let d = start();
    let cookie = login(http, "wang", "first-pass-123").expect("logs in");
    let auth = format!("Cookie: {cookie}\r\n");
    let (status, _, body) = request(http, "GET", "/cameras", &auth, "").unwrap();
    assert_eq!(status, 200);
    let csrf = csrf_of(&String::from_utf8_lossy(&body)).expect("a CSRF token in the page");
    // The sessions file beside the users file holds no cookie value.
    let sessions = dir.path().join("sessions.db");
    let raw = std::fs::read(&sessions).expect("the sessions file");
    let id = cookie.trim_start_matches("ew_session=");
    assert!(!raw.windows(id.len()).any(|w| w == id.as_bytes()));
    drop(d);

    // A new process: the same cookie and CSRF token still work.
    let d = start();
    let (status, _, body) = request(http, "GET", "/cameras", &auth, "").unwrap();
    assert_eq!(
        status,
        200,
        "the session outlived the restart:\n{}",
        d.log()
    );
    assert_eq!(
        csrf_of(&String::from_utf8_lossy(&body)).as_deref(),
        Some(csrf.as_str())
    );
    let form = format!("lang=zh-CN&next=%2Fcameras&csrf={csrf}");
    let (status, _, _) = request(
        http,
        "POST",
        "/lang",
        &format!("{auth}Content-Type: application/x-www-form-urlencoded\r\n"),
        &form,
    )
    .unwrap();
    assert_eq!(status, 303, "the CSRF token outlived the restart");
    drop(d);

    // A new password set while the daemon is down ends the session at the
    // next start.
    let out = user_cmd(&["passwd", "wang", "--config", cfg_s], "second-pass-456\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = start();
    assert_eq!(request(http, "GET", "/cameras", &auth, "").unwrap().0, 303);
    login(http, "wang", "second-pass-456").expect("the new password works");
    drop(d);
}

#[test]
fn a_lan_bind_without_users_is_refused_until_one_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = console_config(
        dir.path(),
        free_port(),
        &format!("bind = \"0.0.0.0:{}\"", free_port()),
        "",
    );
    let cfg_s = cfg.to_str().unwrap();
    let out = Command::new(BIN)
        .args(["check-config", cfg_s])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("console.bind") && said.contains("user add"),
        "{said}"
    );
    let out = Command::new(BIN)
        .args(["run", "--config", cfg_s])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first user is added to the not-yet-valid config; then it passes.
    let out = user_cmd(
        &["add", "boss", "--role", "admin", "--config", cfg_s],
        "admin-pass-789\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .args(["check-config", cfg_s])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One HTTPS exchange trusting only `ca`: status and head.
fn https_request(
    port: u16,
    ca: &Path,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("a TLS handshake with the console's certificate");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        // A server may close without close_notify after the answer.
        let _ = tls.read_to_end(&mut raw).await;
        let head = String::from_utf8_lossy(&raw).into_owned();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, head)
    })
}

#[test]
fn the_console_speaks_https_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::common::mosquitto::make_pki(&dir.path().join("pki"), "console");
    let http = free_port();
    let tls = format!(
        "bind = \"127.0.0.1:{http}\"\ntls_cert = \"{}\"\ntls_key = \"{}\"",
        pki.server_cert.display(),
        pki.server_key.display()
    );
    let cfg = console_config(dir.path(), free_port(), &tls, "");
    let cfg_s = cfg.to_str().unwrap();
    let out = user_cmd(
        &["add", "li", "--role", "viewer", "--config", cfg_s],
        "viewer-pass-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Daemon::start_with(&cfg, &dir.path().join("daemon.log"), &[], &[]);
    let log = || d.log();
    wait_for(
        "the console over TLS",
        Duration::from_secs(30),
        &log,
        || TcpStream::connect(("127.0.0.1", http)).ok(),
    );
    let (status, _) = https_request(http, &pki.ca_cert, "GET", "/healthz", "", "");
    assert!(status == 200 || status == 503, "{status}");
    // Plain HTTP gets no HTTP answer.
    assert!(request(http, "GET", "/healthz", "", "").is_none());
    let (status, head) = https_request(
        http,
        &pki.ca_cert,
        "POST",
        "/login",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "user=li&password=viewer-pass-1",
    );
    assert_eq!(status, 303, "{head}");
    let cookie = header(&head, "set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{head}"
    );
    drop(d);

    // A key that does not exist is named by check-config.
    let bad = console_config(
        dir.path(),
        free_port(),
        &format!(
            "tls_cert = \"{}\"\ntls_key = \"/nonexistent/console.key\"",
            pki.server_cert.display()
        ),
        "",
    );
    let out = Command::new(BIN)
        .args(["check-config"])
        .arg(&bad)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("/nonexistent/console.key"), "{said}");
}
