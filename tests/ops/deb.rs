//! The Debian package, built by `scripts/build-deb.sh` (debhelper) around the
//! test binary, installed, upgraded and purged with the real `dpkg` into a
//! throw-away root (`--root` with `--force-script-chrootless`: no container,
//! no chroot; the maintainer scripts and `deb-systemd-helper` honour
//! `$DPKG_ROOT`). Also: the installed binary finds ONNX Runtime and the
//! models only where the package puts them, the packaged default config
//! starts and says what to fill in, the unit starts without hand-made files
//! and passes `systemd-analyze`, and `lintian` finds no error.
//!
//! Skipped where `dpkg` is missing (not Debian); needs debhelper
//! (`scripts/setup.sh` installs it). On a host where systemd runs, the
//! debhelper snippets also run `systemctl daemon-reload` on the host (they
//! look at `/run/systemd/system`, not at `$DPKG_ROOT`).

use crate::common::daemon::{http_get, wait_for, Daemon};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_estatewatch");
const ROOT_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether the package tests can run here; `false` (skip) only without dpkg.
fn can_run() -> bool {
    if !have("dpkg-deb") || !have("dpkg") {
        eprintln!("dpkg not found; skipping the package test");
        return false;
    }
    assert!(
        have("dpkg-buildpackage") && Path::new("/usr/bin/dh").exists(),
        "debhelper is missing: run scripts/setup.sh"
    );
    true
}

fn build(out: &Path, version: &str) -> PathBuf {
    let o = Command::new(Path::new(ROOT_DIR).join("scripts/build-deb.sh"))
        .arg(out)
        .env("ESTATEWATCH_BIN", BIN)
        .env("VERSION", version)
        // xz of the debug binary takes minutes; gzip is enough to test.
        .env("DEB_COMPRESS", "gzip")
        .output()
        .unwrap();
    assert!(o.status.success(), "build-deb.sh failed: {}", text(&o));
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// Versions 0.1.0 and 0.1.1, built once for all tests of this file.
struct Packages {
    _dir: tempfile::TempDir,
    v1: PathBuf,
    v2: PathBuf,
}

fn packages() -> &'static Packages {
    static P: OnceLock<Packages> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let v1 = build(&dir.path().join("v1"), "0.1.0");
        let v2 = build(&dir.path().join("v2"), "0.1.1");
        Packages { _dir: dir, v1, v2 }
    })
}

/// `dpkg` acting on the fake root `root`.
fn dpkg(root: &Path, args: &[&str]) -> Output {
    Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-script-chrootless",
            "--force-not-root",
            "--force-depends",
            "--force-confold",
            "--log=/dev/null",
        ])
        .args(args)
        // dpkg wants ldconfig and start-stop-daemon on PATH.
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap()
}

fn status(root: &Path) -> String {
    let o = dpkg(root, &["-s", "estatewatch"]);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An empty dpkg root at `root`.
fn new_root(root: &Path) {
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    // The accounts of a system with only root, where the postinst adds the
    // service's user.
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
}

/// `(uid, gid)` of the user `estatewatch` in the root's `/etc/passwd`.
fn service_ids(root: &Path) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"estatewatch")).then(|| (f[2].parse().unwrap(), f[3].parse().unwrap()))
    })
}

/// As root: the postinst made the service's user, gave it the config file,
/// and let it create files in /etc/estatewatch with the sticky bit (so the
/// calibration page can save), leaving `credential` (root's, 0600) alone.
fn assert_service_may_write_the_config(root: &Path, credential: Option<&Path>) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // SAFETY: getuid() has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("not root: the postinst makes no user; not checked");
        return;
    }
    let (uid, gid) = service_ids(root).expect("the postinst adds the user estatewatch");
    assert!(uid > 0 && uid < 1000, "a system user: {uid}");
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    assert!(
        group.lines().any(|l| {
            let f: Vec<&str> = l.split(':').collect();
            f.len() >= 3 && f[0] == "estatewatch" && f[2] == gid.to_string()
        }),
        "{group}"
    );
    let dir = std::fs::metadata(root.join("etc/estatewatch")).unwrap();
    assert_eq!((dir.uid(), dir.gid()), (0, gid));
    assert_eq!(dir.permissions().mode() & 0o7777, 0o1775);
    let conf = std::fs::metadata(root.join("etc/estatewatch/estatewatch.toml")).unwrap();
    assert_eq!((conf.uid(), conf.gid()), (uid, gid));
    let state = std::fs::metadata(root.join("var/lib/estatewatch")).unwrap();
    assert_eq!((state.uid(), state.gid()), (uid, gid));
    if let Some(c) = credential {
        let m = std::fs::metadata(c).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.permissions().mode() & 0o777),
            (0, 0, 0o600)
        );
    }
}

/// A fresh root with `deb` installed.
fn installed(dir: &Path, deb: &Path) -> PathBuf {
    let root = dir.join("root");
    new_root(&root);
    let o = dpkg(&root, &["-i", deb.to_str().unwrap()]);
    assert!(o.status.success(), "install: {}", text(&o));
    root
}

#[test]
fn package_installs_upgrades_and_purges() {
    if !can_run() {
        return;
    }
    let p = packages();
    let dir = tempfile::tempdir().unwrap();
    let root = installed(dir.path(), &p.v1);
    let st = status(&root);
    assert!(
        st.contains("Status: install ok installed") && st.contains("Version: 0.1.0"),
        "{st}"
    );
    assert!(st.contains("Suggests: gstreamer1.0-plugins-ugly"), "{st}");
    let bin = root.join("usr/bin/estatewatch");
    let conf = root.join("etc/estatewatch/estatewatch.toml");
    let wants = root.join("etc/systemd/system/multi-user.target.wants/estatewatch.service");
    for p in [
        bin.clone(),
        conf.clone(),
        root.join("lib/systemd/system/estatewatch.service"),
        root.join("usr/share/estatewatch/models/nanodet-g-coco/model.toml"),
        root.join("usr/share/estatewatch/models/nanodet-g-coco/nanodet-g-coco.onnx"),
        root.join("usr/share/estatewatch/models/nanodet-g-coco/LICENSE.md"),
        root.join("usr/share/doc/estatewatch/operations.md"),
        root.join("usr/share/doc/estatewatch/alert-v1.schema.json"),
        root.join("usr/share/doc/estatewatch/copyright"),
        root.join("usr/share/doc/estatewatch/examples/estatewatch.toml"),
        root.join("usr/share/man/man1/estatewatch.1.gz"),
        root.join("usr/share/man/man1/estatewatch-run.1.gz"),
    ] {
        assert!(p.is_file(), "{} not installed", p.display());
    }
    if Path::new(ROOT_DIR)
        .join(".ort/libonnxruntime.so.1.32.0")
        .is_file()
    {
        let ort = root.join("usr/lib/estatewatch/libonnxruntime.so.1.32.0");
        assert!(ort.is_file(), "{} not installed", ort.display());
    }
    // Machine-readable copyright (DEP-5).
    let copyright =
        std::fs::read_to_string(root.join("usr/share/doc/estatewatch/copyright")).unwrap();
    assert!(
        copyright.starts_with(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        ),
        "{copyright}"
    );
    // The man page comes from the clap definitions: it lists the commands.
    let o = Command::new("zcat")
        .arg(root.join("usr/share/man/man1/estatewatch.1.gz"))
        .output()
        .unwrap();
    let man = String::from_utf8_lossy(&o.stdout);
    assert!(
        man.contains("check\\-config") && man.contains("send\\-test\\-alert"),
        "{man}"
    );
    // dh_installsystemd: enabled through deb-systemd-helper (in the root).
    assert!(wants.symlink_metadata().is_ok(), "service not enabled");
    assert!(
        root.join("var/lib/estatewatch").is_dir(),
        "no state directory"
    );
    // The installed binary accepts the installed default config.
    let o = Command::new(&bin)
        .arg("check-config")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "default config: {}", text(&o));
    assert_service_may_write_the_config(&root, None);
    // The unit runs as that user and may write the config's folder.
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/estatewatch.service")).unwrap();
    assert_eq!(unit_values(&unit, "User"), ["estatewatch"], "{unit}");
    assert!(
        unit_values(&unit, "ReadWritePaths")
            .iter()
            .any(|v| v.split_whitespace().any(|p| p == "/etc/estatewatch")),
        "{unit}"
    );
    // No maintainer script calls systemctl itself (lintian's
    // maintainer-script-calls-systemctl); debhelper's snippets do it.
    for s in ["postinst", "postrm"] {
        let script =
            std::fs::read_to_string(root.join(format!("var/lib/dpkg/info/estatewatch.{s}")))
                .unwrap();
        assert!(script.contains("deb-systemd-helper"), "{s}:\n{script}");
    }

    // Upgrade: the installer's config edits and the outbox survive.
    let edited = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("example-site", "upgrade-test");
    assert!(edited.contains("upgrade-test"));
    std::fs::write(&conf, &edited).unwrap();
    std::fs::write(root.join("var/lib/estatewatch/outbox.db"), "queued alerts").unwrap();
    // A credential of root's beside the config: left as it is.
    let credential = root.join("etc/estatewatch/mqtt-password");
    std::fs::write(&credential, "secret\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&credential, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let o = dpkg(&root, &["-i", p.v2.to_str().unwrap()]);
    assert!(o.status.success(), "upgrade: {}", text(&o));
    assert_service_may_write_the_config(&root, Some(&credential));
    assert!(status(&root).contains("Version: 0.1.1"));
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), edited);
    assert!(root.join("var/lib/estatewatch/outbox.db").is_file());
    assert!(bin.is_file());

    // Remove keeps config and state; purge deletes everything.
    let o = dpkg(&root, &["--remove", "estatewatch"]);
    assert!(o.status.success(), "remove: {}", text(&o));
    assert!(!bin.exists() && conf.exists());
    assert!(root.join("var/lib/estatewatch/outbox.db").exists());
    let o = dpkg(&root, &["--purge", "estatewatch"]);
    assert!(o.status.success(), "purge: {}", text(&o));
    assert!(!conf.exists() && !root.join("etc/estatewatch").exists());
    assert!(!root.join("var/lib/estatewatch").exists());
    assert!(!root.join("usr/share/estatewatch").exists());
    assert!(
        wants.symlink_metadata().is_err(),
        "still enabled after purge"
    );
    assert!(!status(&root).contains("Status: install ok installed"));
}

/// `KEY=value` lines of a unit file for `key`.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn fresh_install_starts_and_says_what_to_fill_in() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = installed(dir.path(), &packages().v1);

    // Every credential the unit loads either ships with the package or has
    // a SetCredential= default: systemd starts the unit on a fresh install.
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/estatewatch.service")).unwrap();
    let defaults: Vec<&str> = unit_values(&unit, "SetCredential")
        .into_iter()
        .filter_map(|v| v.split_once(':').map(|(id, _)| id))
        .collect();
    for load in unit_values(&unit, "LoadCredential") {
        let (id, path) = load.split_once(':').unwrap_or((load, ""));
        let shipped = !path.is_empty() && root.join(path.trim_start_matches('/')).exists();
        assert!(
            shipped || defaults.contains(&id),
            "LoadCredential={load}: {path} is not in the package and {id} has no SetCredential= default"
        );
    }
    assert!(!unit_values(&unit, "LimitNOFILE").is_empty(), "{unit}");

    // The daemon on the packaged default config (only the outbox and the
    // port moved into the test's folder) runs, and says once, in one line,
    // which file to edit and what to fill in.
    let packaged = std::fs::read_to_string(root.join("etc/estatewatch/estatewatch.toml")).unwrap();
    let http = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let outbox = dir.path().join("outbox.db");
    let cfg_text = packaged
        .replace(
            "\"/var/lib/estatewatch/outbox.db\"",
            &format!("{:?}", outbox.display().to_string()),
        )
        .replace("127.0.0.1:9807", &format!("127.0.0.1:{http}"));
    assert!(
        cfg_text.contains(&outbox.display().to_string()) && cfg_text.contains(&format!(":{http}")),
        "{cfg_text}"
    );
    let cfg = dir.path().join("estatewatch.toml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let mut d = Daemon::start(&cfg, &outbox, &dir.path().join("daemon.log"));
    let hint = format!("estatewatch is not set up yet: edit {}", cfg.display());
    d.wait_log(&hint, Duration::from_secs(30));
    let log = d.log();
    let line = log.lines().find(|l| l.contains(&hint)).unwrap();
    for needle in ["[site] id", "[gateway] id", "[[cameras]]", "check-config"] {
        assert!(line.contains(needle), "no {needle:?} in {line}");
    }
    assert_eq!(d.log_count(&hint), 1, "{log}");
    // /healthz does not pretend all is well.
    let logf = || d.log();
    let body = wait_for("/healthz", Duration::from_secs(30), &logf, || {
        http_get(http, "/healthz")
    });
    assert_eq!(body.0, 503, "{}", body.1);
    assert!(body.1.contains("no cameras configured"), "{}", body.1);
    assert!(d.term(), "daemon did not stop cleanly");
}

#[test]
fn installed_binary_looks_only_in_the_packaged_folders() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = installed(dir.path(), &packages().v1);
    let bin = root.join("usr/bin/estatewatch");

    // No path of the build checkout is compiled in.
    let bytes = std::fs::read(&bin).unwrap();
    for built in [format!("{ROOT_DIR}/.ort"), format!("{ROOT_DIR}/models")] {
        assert!(
            !bytes.windows(built.len()).any(|w| w == built.as_bytes()),
            "the packaged binary contains {built}"
        );
    }

    let image = dir.path().join("grey.png");
    image::RgbImage::from_pixel(64, 48, image::Rgb([90, 90, 90]))
        .save(&image)
        .unwrap();
    let detect = |extra: &[&Path]| {
        let mut c = Command::new(&bin);
        c.args(["detect", "--model", "nanodet-g-coco"]);
        if let [ort, rest @ ..] = extra {
            c.arg("--onnxruntime").arg(ort);
            if let [models] = rest {
                c.arg("--models-dir").arg(models);
            }
        }
        c.arg(&image)
            .env("ESTATEWATCH_LOG", "warn")
            .output()
            .unwrap()
    };
    let ort = root.join("usr/lib/estatewatch/libonnxruntime.so.1.32.0");
    let models = root.join("usr/share/estatewatch/models");
    if !Path::new("/usr/lib/estatewatch").exists() {
        // Run from <root>/usr/bin: only /usr/lib/estatewatch is tried (no
        // <root>/.ort, no checkout).
        let o = detect(&[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{}", text(&o));
        assert!(
            err.contains(
                "ONNX Runtime library not found; looked for /usr/lib/estatewatch/libonnxruntime.so.1.32.0 ("
            ),
            "{}",
            text(&o)
        );
    }
    if ort.is_file() && !Path::new("/usr/share/estatewatch/models").exists() {
        let o = detect(&[&ort]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("models folder not found; looked in /usr/share/estatewatch/models ("),
            "{}",
            text(&o)
        );
    }
    if ort.is_file() {
        // The packaged runtime and models work together.
        let o = detect(&[&ort, &models]);
        assert!(o.status.success(), "{}", text(&o));
    }
}

#[test]
fn unit_passes_systemd_analyze() {
    if !can_run() {
        return;
    }
    if !have("systemd-analyze") {
        eprintln!("systemd-analyze not found; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = installed(dir.path(), &packages().v1);
    let unit = root.join("lib/systemd/system/estatewatch.service");
    // verify checks that ExecStart= exists: point it at the installed binary
    // (`--root` would also want a whole systemd installation in the root).
    let unit_text = std::fs::read_to_string(&unit).unwrap();
    let bin = root.join("usr/bin/estatewatch");
    assert!(
        unit_text.contains("ExecStart=/usr/bin/estatewatch "),
        "{unit_text}"
    );
    let checked = dir.path().join("estatewatch.service");
    std::fs::write(
        &checked,
        unit_text.replace("/usr/bin/estatewatch", bin.to_str().unwrap()),
    )
    .unwrap();
    let o = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&checked)
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&o)
    );
    let o = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    assert!(o.status.success(), "systemd-analyze security: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Overall exposure level for estatewatch.service: 1."),
        "{out}"
    );
}

#[test]
fn lintian_finds_no_error() {
    if !can_run() {
        return;
    }
    if !have("lintian") {
        eprintln!("lintian not found (scripts/setup.sh --deb installs it); skipping");
        return;
    }
    let o = Command::new("lintian")
        .arg(&packages().v1)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("E:")).collect();
    assert!(
        errors.is_empty() && o.status.success(),
        "lintian:\n{out}\n{}",
        text(&o)
    );
}
