//! A whole gateway for the browser tests: a rendered throw scene served by
//! the in-process RTSP server as the camera `throwing-61` (shown as
//! "3号楼南侧"), a real mosquitto with a subscriber on everything the
//! gateway publishes, and the real `estatewatch run` with its web console
//! on a free port, in the site time zone Asia/Shanghai, with console users
//! made by `estatewatch user add` and the incident desk in its default
//! place (beside the outbox).

use crate::common::daemon::{http_get, wait_for, Daemon, BIN};
use crate::common::mosquitto::{config_text, free_port, Broker, Subscriber};
use crate::common::scenegen::scenegen;
use estatewatch::ingest::RtspServer;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The camera's display name in the test config.
pub const CAMERA_DISPLAY: &str = "3号楼南侧";

/// The camera's name.
pub const CAMERA: &str = "throwing-61";

/// The floor and column the rendered object is thrown from.
pub const FLOOR: i64 = 6;
pub const COLUMN: i64 = 1;

/// A console user: name, role, password.
pub type User = (&'static str, &'static str, &'static str);

/// `estatewatch user add NAME --role ROLE --users-file FILE`, the password
/// on stdin.
pub fn add_user(users_file: &Path, (name, role, password): User) {
    let mut child = Command::new(BIN)
        .args(["user", "add", name, "--role", role, "--users-file"])
        .arg(users_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("estatewatch user add starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("the password is written");
    let out = child.wait_with_output().expect("user add ends");
    assert!(
        out.status.success(),
        "user add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The running gateway. Dropping it stops the daemon, the broker and the
/// RTSP server.
pub struct Site {
    pub sub: Subscriber,
    pub daemon: Daemon,
    pub http: u16,
    _broker: Broker,
    _rtsp: RtspServer,
    _dir: tempfile::TempDir,
}

/// The replay config's camera (from `scenegen --configs`), reading `url`
/// over TCP, shown as [`CAMERA_DISPLAY`], with clips cut from its own
/// stream (`[cameras.evidence]` without a URL).
fn camera(replay_toml: &Path, url: &str) -> String {
    let text = std::fs::read_to_string(replay_toml).expect("the replay config");
    let start = text.find("[[cameras]]").expect("a camera section");
    let camera = text[start..]
        .lines()
        .map(|l| {
            if l.starts_with("url = ") {
                format!("url = \"{url}\"\ntransport = \"tcp\"\ndisplay_name = \"{CAMERA_DISPLAY}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{camera}\n[cameras.evidence]\npre_s = 2\npost_s = 2\n")
}

impl Site {
    /// Renders the throw (a 16 px object from [`FLOOR`], [`COLUMN`]),
    /// serves it looping, adds `users` to the console's users file, and
    /// starts the broker, the subscriber (`estatewatch/#`) and the daemon.
    /// `extra` is appended to the config (before the camera).
    pub fn start(users: &[User], extra: &str) -> Site {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let sub_dir = dir.path().join("scene");
        scenegen(
            &sub_dir,
            "throwing",
            61,
            None,
            &format!("size_px=16,floor={FLOOR},column={COLUMN}"),
            true,
        );
        let rtsp = RtspServer::start(0, None).expect("the RTSP server");
        rtsp.add_file_loop("/tower", &sub_dir.join("throwing-61.mp4"));
        let broker = Broker::start();
        let sub = Subscriber::connect(broker.port(), "estatewatch/#");
        sub.wait_subscribed(1, Duration::from_secs(10));
        let http = free_port();
        let users_file = dir.path().join("users.toml");
        for u in users {
            add_user(&users_file, *u);
        }
        let outbox = dir.path().join("outbox.db");
        let config = dir.path().join("estatewatch.toml");
        let base = config_text(broker.port(), &outbox, "", "").replacen(
            "[gateway]",
            "timezone = \"Asia/Shanghai\"\nname = \"海景花园\"\n[gateway]",
            1,
        );
        std::fs::write(
            &config,
            format!(
                "{base}\n[health]\nlisten = \"127.0.0.1:{http}\"\n[console]\nusers_file = \"{}\"\n{extra}\n{}",
                users_file.display(),
                camera(&sub_dir.join("throwing-61.toml"), &rtsp.url("/tower"))
            ),
        )
        .expect("the config is written");
        let daemon = Daemon::start(&config, &outbox, &dir.path().join("daemon.log"));
        wait_for(
            "the daemon's HTTP listener",
            Duration::from_secs(30),
            &|| daemon.log(),
            || http_get(http, "/healthz"),
        );
        Site {
            sub,
            daemon,
            http,
            _broker: broker,
            _rtsp: rtsp,
            _dir: dir,
        }
    }

    /// The config file the daemon runs from.
    pub fn config(&self) -> std::path::PathBuf {
        self._dir.path().join("estatewatch.toml")
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }
}
