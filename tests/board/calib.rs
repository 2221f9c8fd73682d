//! The calibration page in headless Chromium, against the real daemon
//! running the throw camera from its config file (issue 15,
//! "Calibration"):
//!
//! an admin opens `/cameras/<camera>/calibrate`, sees the camera's live
//! frame with its facade grid, draws an excluded area by clicking points on
//! the picture, names it and saves: the config file then holds the new
//! polygon, keeps its comments, a backup of the old file exists, and the
//! daemon applied the reload (it says so on the page and restarts the
//! camera, in its log). The first floor's number and the unit label are
//! edited and saved the same way. A two-point polygon, a bow-tie and a unit
//! label without `{floor}` are refused with check-config's messages and the
//! file stays as it was. The page speaks Chinese and fits a
//! phone. A viewer gets 403 on the page and on a save. Screenshots go to
//! `target/console-screenshots/calibrate*.png`.

use crate::browser::Browser;
use crate::site::{Site, User, CAMERA};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ADMIN: User = ("root", "admin", "admin password 123");
const VIEWER: User = ("vera", "viewer", "viewer password 123");

/// A comment in the config file the page must keep.
const COMMENT: &str = "# calibration test: the page must keep this comment";

/// Logs `user` in through the login form.
async fn log_in(b: &Browser, site: &Site, (name, _, password): User) {
    b.goto(&site.url("/login")).await;
    let form = b.find("form[action='/login']").await;
    for (field, value) in [("user", name), ("password", password)] {
        form.clone()
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .expect("a login field")
            .send_keys(value)
            .await
            .expect("typing");
    }
    form.find(Locator::Css("button[type=submit]"))
        .await
        .expect("a log-in button")
        .click()
        .await
        .expect("the login form submits");
    b.find("#incidents").await;
}

/// The config file's backups (`<file>.bak-…`).
fn backups(config: &Path) -> Vec<PathBuf> {
    let prefix = format!(
        "{}.bak-",
        config.file_name().expect("a file name").to_string_lossy()
    );
    let mut v: Vec<PathBuf> = std::fs::read_dir(config.parent().expect("a folder"))
        .expect("the config folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// The camera's `exclude` zones in the config file: name and polygon.
fn excludes(config: &Path) -> Vec<(String, Vec<[f64; 2]>)> {
    let text = std::fs::read_to_string(config).expect("the config file");
    let v: toml::Value = text.parse().expect("the config is TOML");
    let cam = v["cameras"]
        .as_array()
        .expect("cameras")
        .iter()
        .find(|c| c["name"].as_str() == Some(CAMERA))
        .expect("the camera");
    cam["analyzers"]["throwing"]
        .get("exclude")
        .and_then(|e| e.as_array())
        .map(|zones| {
            zones
                .iter()
                .map(|z| {
                    let poly = z["polygon"]
                        .as_array()
                        .expect("a polygon")
                        .iter()
                        .map(|p| {
                            let xy = p.as_array().expect("a point");
                            [xy[0].as_float().expect("x"), xy[1].as_float().expect("y")]
                        })
                        .collect();
                    (z["name"].as_str().unwrap_or_default().to_string(), poly)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Clicks the picture at each point given in pixels from its centre, and
/// returns the points normalised as the page records them.
async fn click_points(b: &Browser, offsets: &[(f64, f64)]) -> Vec<[f64; 2]> {
    let svg = b.find("#calib-svg").await;
    let rect = b
        .eval("const r = document.getElementById('calib-svg').getBoundingClientRect(); return [r.width, r.height];")
        .await;
    let (w, h) = (
        rect[0].as_f64().expect("a width"),
        rect[1].as_f64().expect("a height"),
    );
    let mut mouse = MouseActions::new("mouse".into());
    for (x, y) in offsets {
        mouse = mouse
            .then(PointerAction::MoveToElement {
                element: svg.clone(),
                duration: None,
                x: *x,
                y: *y,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
    }
    b.client
        .perform_actions(mouse)
        .await
        .expect("the clicks on the picture");
    // Element clicks after an action sequence need its input state released.
    b.client
        .release_actions()
        .await
        .expect("the pointer released");
    offsets
        .iter()
        .map(|(x, y)| [(w / 2.0 + x) / w, (h / 2.0 + y) / h])
        .collect()
}

/// Clicks Save and waits for the page's answer: its outcome
/// (`reloaded`, `refused`, …) and its text.
async fn save(b: &Browser) -> (String, String) {
    b.eval("document.getElementById('calib-result').dataset.outcome = ''; return null;")
        .await;
    b.find("#calib-save")
        .await
        .click()
        .await
        .expect("Save clicks");
    b.until("the save's answer", Duration::from_secs(120), || async {
        let v = b
            .eval("const r = document.getElementById('calib-result'); return r.dataset.outcome ? [r.dataset.outcome, r.innerText] : null;")
            .await;
        v.as_array().map(|a| {
            (
                a[0].as_str().unwrap_or_default().to_string(),
                a[1].as_str().unwrap_or_default().to_string(),
            )
        })
    })
    .await
}

/// Picks the list or grid the page edits (`throwing.exclude`, `floors`, …).
async fn pick_layer(b: &Browser, value: &str) {
    b.find("#calib-layer")
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("the layer {value}: {e}"));
}

/// Clicks Save and checks that check-config refused the config with `want`
/// among its messages, and that the file and its backups are as they were;
/// with `shot`, a screenshot of the answer under that name.
async fn save_refused(b: &Browser, config: &Path, want: &str, shot: Option<&str>) {
    let text = std::fs::read_to_string(config).expect("the config");
    let before = backups(config);
    let (outcome, said) = save(b).await;
    if let Some(name) = shot {
        b.screenshot(name).await;
    }
    assert_eq!(outcome, "refused", "{said}");
    assert!(
        said.contains(want),
        "check-config's message {want:?} in:\n{said}"
    );
    assert_eq!(
        std::fs::read_to_string(config).expect("the config"),
        text,
        "a refused save leaves the file"
    );
    assert_eq!(backups(config), before, "and makes no backup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_draws_a_zone_saves_it_and_the_daemon_reloads_it() {
    let site =
        tokio::task::block_in_place(|| Site::start(&[ADMIN, VIEWER], &format!("{COMMENT}\n")));
    let config = site.config();
    let original = std::fs::read_to_string(&config).expect("the config");
    assert!(original.contains(COMMENT));
    let zones_before = excludes(&config);
    let b = Browser::start("en-GB").await;
    log_in(&b, &site, ADMIN).await;

    // The camera page links to the calibration page for an admin.
    b.goto(&site.url("/cameras")).await;
    b.find(&format!("a.calibrate[href='/cameras/{CAMERA}/calibrate']"))
        .await
        .click()
        .await
        .expect("the calibrate link");
    b.find("#calib").await;
    // The camera's live frame, at its detect size, under the facade grid.
    let size = b
        .until("the camera's frame", Duration::from_secs(60), || async {
            let v = b
                .eval("const i = document.getElementById('calib-still'); return i.complete && i.naturalWidth > 0 ? [i.naturalWidth, Number(document.getElementById('calib').dataset.width)] : null;")
                .await;
            v.as_array().map(|a| (a[0].as_u64(), a[1].as_u64()))
        })
        .await;
    assert_eq!(size.0, size.1, "the still is at detect size");
    let floors = b.all("#calib-svg text.floor-label").await.len();
    assert!(floors >= 2, "the floor labels are drawn ({floors})");
    assert!(
        !b.all("#calib-svg text.unit-label").await.is_empty(),
        "unit labels are drawn"
    );

    // Draw an excluded area: four clicks, then Finish, then its name.
    pick_layer(&b, "throwing.exclude").await;
    b.find("#calib-new").await.click().await.expect("New zone");
    let drawn = click_points(
        &b,
        &[
            (-120.0, -90.0),
            (-20.0, -90.0),
            (-20.0, -20.0),
            (-120.0, -20.0),
        ],
    )
    .await;
    let drawn_points = b
        .eval("return document.querySelectorAll('#calib-svg circle.drawn').length;")
        .await;
    assert_eq!(drawn_points.as_u64(), Some(4), "the four clicks are points");
    b.find("#calib-finish").await.click().await.expect("Finish");
    let listed = b.all("#calib-shapes li").await.len();
    assert_eq!(listed, zones_before.len() + 1, "the new zone is listed");
    let name = b.find("#calib-name").await;
    name.clear().await.expect("clearing the name");
    name.send_keys("tree-test").await.expect("typing the name");
    // The readout names the floor, column and unit under the pointer.
    click_points(&b, &[(0.0, 0.0)]).await;
    let readout = b.text("#calib-readout").await;
    assert!(readout.starts_with("x 0."), "{readout}");

    let (outcome, said) = save(&b).await;
    b.screenshot("calibrate").await;
    assert_eq!(outcome, "reloaded", "{said}");
    assert!(said.contains("Reloaded"), "{said}");

    // The file: the new polygon, the comment kept, a backup of the old text.
    let zones = excludes(&config);
    assert_eq!(zones.len(), zones_before.len() + 1, "{zones:?}");
    let (zname, poly) = zones.last().expect("the new zone");
    assert_eq!(zname, "tree-test");
    assert_eq!(poly.len(), 4, "{poly:?}");
    for (got, want) in poly.iter().zip(&drawn) {
        for k in 0..2 {
            assert!(
                (got[k] - want[k]).abs() < 0.01,
                "saved {poly:?}, clicked {drawn:?}"
            );
        }
    }
    let now = std::fs::read_to_string(&config).expect("the config");
    assert!(now.contains(COMMENT), "the comment is kept:\n{now}");
    let saved_backups = backups(&config);
    assert_eq!(saved_backups.len(), 1, "{saved_backups:?}");
    assert_eq!(
        std::fs::read_to_string(&saved_backups[0]).expect("the backup"),
        original
    );
    // The reload was applied: the daemon restarted the camera with it.
    site.daemon.wait_log(
        "camera restarted with its new config",
        Duration::from_secs(30),
    );

    // The first floor's number and the unit label: fields beside the
    // picture; the labels follow as they are typed, and they are saved.
    pick_layer(&b, "floors").await;
    let first = b.find("#calib-first").await;
    assert_eq!(
        first.prop("value").await.expect("its value").as_deref(),
        Some("0"),
        "the config's floors.first"
    );
    first.clear().await.expect("clearing the first floor");
    first.send_keys("1.5").await.expect("typing a fraction");
    let valid = b
        .eval("return document.getElementById('calib-first').validity.valid;")
        .await;
    assert_eq!(valid.as_bool(), Some(false), "a fraction is marked invalid");
    first.clear().await.expect("clearing the first floor");
    first.send_keys("5").await.expect("typing the first floor");
    let floor_labels = b
        .eval("return [...document.querySelectorAll('#calib-svg text.floor-label')].map(t => t.textContent);")
        .await;
    assert!(
        matches!(floor_labels[0].as_str(), Some("floor 5" | "5")),
        "the lowest floor is renumbered: {floor_labels}"
    );
    pick_layer(&b, "columns").await;
    let unit = b.find("#calib-unit-label").await;
    unit.clear().await.expect("clearing the unit label");
    unit.send_keys("{floor}-{column}")
        .await
        .expect("typing the unit label");
    let units = b
        .eval("return [...document.querySelectorAll('#calib-svg text.unit-label')].map(t => t.textContent);")
        .await;
    let units: Vec<&str> = units
        .as_array()
        .expect("the unit labels")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    // `{floor}-{column}`, floors counted from 5.
    let from_template = |u: &&str| {
        u.split_once('-').is_some_and(|(f, c)| {
            f.parse::<i32>().is_ok_and(|f| f >= 5) && c.len() == 2 && c.parse::<u32>().is_ok()
        })
    };
    assert!(
        !units.is_empty() && units.iter().all(from_template),
        "unit labels from the new template: {units:?}"
    );
    let (outcome, said) = save(&b).await;
    b.screenshot("calibrate-floors").await;
    assert_eq!(outcome, "reloaded", "{said}");
    let text = std::fs::read_to_string(&config).expect("the config");
    let v: toml::Value = text.parse().expect("the config is TOML");
    let throwing = &v["cameras"][0]["analyzers"]["throwing"];
    assert_eq!(throwing["floors"]["first"].as_integer(), Some(5), "{text}");
    assert_eq!(
        throwing["unit_label"].as_str(),
        Some("{floor}-{column}"),
        "{text}"
    );
    assert!(text.contains(COMMENT), "the comment is kept:\n{text}");
    // A unit label without the floor is refused with check-config's message.
    unit.clear().await.expect("clearing the unit label");
    unit.send_keys("A{column}")
        .await
        .expect("typing the unit label");
    save_refused(
        &b,
        &config,
        "cameras[0].analyzers.throwing.unit_label: must contain {floor}, got \"A{column}\"",
        None,
    )
    .await;
    b.find("#calib-reset")
        .await
        .click()
        .await
        .expect("Discard changes");
    pick_layer(&b, "throwing.exclude").await;

    // A polygon of two points is refused with check-config's message; the
    // file is not touched.
    b.find("#calib-new").await.click().await.expect("New zone");
    click_points(&b, &[(60.0, -60.0), (120.0, -30.0)]).await;
    b.find("#calib-finish").await.click().await.expect("Finish");
    let polygon = format!(
        "cameras[0].analyzers.throwing.exclude[{}].polygon",
        zones.len()
    );
    save_refused(
        &b,
        &config,
        &format!("{polygon}: needs at least 3 points, got 2"),
        Some("calibrate-refused"),
    )
    .await;

    // So is a bow-tie: a polygon whose edges cross.
    b.find("#calib-reset")
        .await
        .click()
        .await
        .expect("Discard changes");
    b.find("#calib-new").await.click().await.expect("New zone");
    // Corners 0 top left, 1 top right, 2 bottom left, 3 bottom right.
    click_points(
        &b,
        &[(60.0, -60.0), (120.0, -60.0), (60.0, -20.0), (120.0, -20.0)],
    )
    .await;
    b.find("#calib-finish").await.click().await.expect("Finish");
    save_refused(
        &b,
        &config,
        &format!("{polygon}: edges 1-2 and 3-0 cross; expected a simple polygon"),
        Some("calibrate-bow-tie"),
    )
    .await;
    let now = std::fs::read_to_string(&config).expect("the config");

    // In Chinese, on a phone-sized screen.
    b.find("#lang-switch button[value=zh-CN]")
        .await
        .click()
        .await
        .expect("the language switch");
    b.until("the page in Chinese", Duration::from_secs(30), || async {
        b.eval("const s = document.getElementById('calib-save'); return s && s.textContent === '保存并重新加载' ? true : null;")
            .await
            .as_bool()
    })
    .await;
    b.client
        .set_window_size(390, 844)
        .await
        .expect("a phone-sized window");
    b.until("the frame on a phone", Duration::from_secs(60), || async {
        b.eval("const i = document.getElementById('calib-still'); return i.complete && i.naturalWidth > 0 ? true : null;")
            .await
            .as_bool()
    })
    .await;
    let fits = b
        .eval("const c = document.getElementById('calib').getBoundingClientRect(); return c.left >= 0 && c.right <= window.innerWidth + 1;")
        .await;
    assert_eq!(fits.as_bool(), Some(true), "the page fits a phone's width");
    b.screenshot("calibrate-phone-zh").await;
    b.client
        .set_window_size(1280, 900)
        .await
        .expect("the window back");

    // A viewer: 403 on the page and on a save; the file stays.
    b.find("#logout").await.click().await.expect("log out");
    b.find("form[action='/login']").await;
    log_in(&b, &site, VIEWER).await;
    b.goto(&site.url(&format!("/cameras/{CAMERA}/calibrate")))
        .await;
    let page = b.text("main").await;
    assert!(
        b.all("#calib").await.is_empty(),
        "no calibration page: {page}"
    );
    let status = b
        .eval(&format!(
            "return fetch('/cameras/{CAMERA}/calibrate').then(r => r.status);"
        ))
        .await;
    assert_eq!(status.as_u64(), Some(403));
    let status = b
        .eval(&format!(
            "return fetch('/cameras/{CAMERA}/calibrate', {{ method: 'POST', headers: {{ 'X-CSRF-Token': window.estatewatch.csrf(), 'Content-Type': 'application/x-www-form-urlencoded' }}, body: 'geometry=%7B%22layers%22%3A%5B%5D%2C%22facade%22%3Anull%7D&version=x' }}).then(r => r.status);"
        ))
        .await;
    assert_eq!(status.as_u64(), Some(403));
    assert_eq!(std::fs::read_to_string(&config).expect("the config"), now);
    b.close().await;
}
