//! The Debian package, built by `scripts/build-deb.sh` around the test
//! binary, installed, upgraded and purged with the real `dpkg` into a
//! throw-away root (`--root` with `--force-script-chrootless`: no container,
//! no chroot; the maintainer scripts honour `$DPKG_ROOT`). Skipped where
//! `dpkg-deb` is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

#[test]
fn package_installs_upgrades_and_purges() {
    if !have("dpkg-deb") || !have("dpkg") {
        eprintln!("dpkg-deb not found; skipping the package test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v1 = build(&dir.path().join("v1"), "0.1.0");
    let v2 = build(&dir.path().join("v2"), "0.1.1");
    let root = dir.path().join("root");
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();

    // Install.
    let o = dpkg(&root, &["-i", v1.to_str().unwrap()]);
    assert!(o.status.success(), "install: {}", text(&o));
    let st = status(&root);
    assert!(
        st.contains("Status: install ok installed") && st.contains("Version: 0.1.0"),
        "{st}"
    );
    let bin = root.join("usr/bin/estatewatch");
    let conf = root.join("etc/estatewatch/estatewatch.toml");
    for p in [
        bin.clone(),
        conf.clone(),
        root.join("lib/systemd/system/estatewatch.service"),
        root.join("usr/share/estatewatch/models/nanodet-g-coco/model.toml"),
        root.join("usr/share/estatewatch/models/nanodet-g-coco/nanodet-g-coco.onnx"),
        root.join("usr/share/doc/estatewatch/operations.md"),
    ] {
        assert!(p.is_file(), "{} not installed", p.display());
    }
    assert!(
        root.join("var/lib/estatewatch").is_dir(),
        "no state directory"
    );
    // The installed binary accepts the installed example config.
    let o = Command::new(&bin)
        .arg("check-config")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "example config: {}", text(&o));

    // Upgrade: the installer's config edits and the outbox survive.
    let edited = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("harbour-view", "upgrade-test");
    std::fs::write(&conf, &edited).unwrap();
    std::fs::write(root.join("var/lib/estatewatch/outbox.db"), "queued alerts").unwrap();
    let o = dpkg(&root, &["-i", v2.to_str().unwrap()]);
    assert!(o.status.success(), "upgrade: {}", text(&o));
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
    assert!(!status(&root).contains("Status: install ok installed"));
}
