//! The console seen from a browser.

use crate::browser::{screenshot_dir, Browser};
use crate::site::Site;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chromium_reaches_the_gateway() {
    let site = tokio::task::block_in_place(|| Site::start(""));
    let b = Browser::start("en-GB").await;
    b.goto(&site.url("/healthz")).await;
    let body = b.text("body").await;
    assert!(body.contains("\"healthy\""), "{body}");
    let shot = b.screenshot("healthz").await;
    assert!(shot.starts_with(screenshot_dir()));
    b.close().await;
}
