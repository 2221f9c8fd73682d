//! WeCom (企业微信) group robot (群机器人), as its "群机器人配置说明" documents
//! it (developer.work.weixin.qq.com, written from what we know of it: this
//! machine cannot reach the vendor's pages; checked against a local stand-in
//! in `tests/delivery/vendors.rs`):
//!
//! - `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<key>` (the
//!   whole address is the credentials file's `url`), `Content-Type:
//!   application/json`.
//! - Text as `{"msgtype":"markdown","markdown":{"content":"…"}}`; the content
//!   is at most 4096 bytes of UTF-8 (longer text is cut).
//! - Then, with `snapshots`, the stored picture as
//!   `{"msgtype":"image","image":{"base64":"…","md5":"…"}}`: base64 of the
//!   JPEG or PNG bytes and the hex MD5 of those bytes (before base64). The
//!   picture may be at most 2 MB: a larger one is scaled down and re-encoded
//!   as JPEG until it fits.
//! - The answer: `{"errcode":0,"errmsg":"ok"}`; `45009` is the rate limit
//!   (20 messages a minute per robot), `-1` "system busy" (retried); any
//!   other code (`93000` invalid key, `40008` bad message type, …) rejects
//!   the request.

use super::adapter::{Adapter, AdapterError, Context, HttpRequest, Outgoing, RateLimit, Reply};
use super::message::Message;
use super::vendor::{classify, json_post, Codes, Common};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

/// WeCom's documented limit: 20 messages a minute per robot.
pub const PER_MINUTE: u32 = 20;
/// Largest markdown content, bytes.
pub const MAX_MARKDOWN_BYTES: usize = 4096;
/// Largest image, bytes before base64.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

const CODES: Codes = Codes {
    code: &["errcode"],
    message: &["errmsg"],
    rate_limited: &[45009],
    retry: &[-1],
};

/// A WeCom group robot notifier.
#[derive(Debug, Clone)]
pub struct Wecom {
    c: Common,
}

impl Wecom {
    /// The adapter for a checked notifier.
    pub fn new(c: Common) -> Wecom {
        Wecom { c }
    }
}

impl Adapter for Wecom {
    fn requests(
        &self,
        msg: &Outgoing<'_>,
        ctx: &Context,
        _now: DateTime<Utc>,
    ) -> Result<Vec<HttpRequest>, AdapterError> {
        if !self.c.route.takes(msg, ctx) {
            return Ok(Vec::new());
        }
        let m = Message::build(msg, ctx, self.c.lang)?;
        let content = Message::fit(m.markdown(self.c.lang), MAX_MARKDOWN_BYTES);
        let mut out = vec![json_post(
            &self.c.url,
            &json!({"msgtype": "markdown", "markdown": {"content": content}}),
        )];
        if self.c.wants_picture(msg) {
            if let Some(bytes) = self.c.picture(msg, ctx) {
                match fit_image(bytes, MAX_IMAGE_BYTES) {
                    Ok(img) => out.push(image_message(&self.c.url, &img)),
                    Err(e) => {
                        tracing::warn!(notifier = %self.c.name, seq = msg.seq, error = %e, "picture cannot be made small enough for WeCom; sent without it")
                    }
                }
            }
        }
        Ok(out)
    }

    fn classify(&self, status: u16, body: &[u8]) -> Reply {
        classify(status, body, &CODES)
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        self.c.rate_limit()
    }
}

/// The image message carrying `img` (JPEG or PNG bytes).
pub fn image_message(url: &str, img: &[u8]) -> HttpRequest {
    use md5::Digest;
    let md5: String = md5::Md5::digest(img)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(img);
    json_post(
        url,
        &json!({"msgtype": "image", "image": {"base64": b64, "md5": md5}}),
    )
}

/// `bytes` as they are when they are a JPEG or PNG of at most `max` bytes;
/// otherwise decoded, scaled down and re-encoded as JPEG (quality 85) until
/// they fit (full size first, then 20 % smaller a round).
pub fn fit_image(bytes: Vec<u8>, max: usize) -> Result<Vec<u8>, String> {
    let jpeg_or_png = bytes.starts_with(&[0xff, 0xd8, 0xff]) || bytes.starts_with(b"\x89PNG");
    if jpeg_or_png && bytes.len() <= max {
        return Ok(bytes);
    }
    let img = image::load_from_memory(&bytes).map_err(|e| format!("not a picture: {e}"))?;
    let (w, h) = (img.width().max(1), img.height().max(1));
    // Full size at quality 85 first (a camera's full-resolution snapshot
    // usually fits so), then 20 % smaller each round: the largest picture
    // that fits, within ten encodes.
    let mut scale = 1.0f64;
    for _ in 0..10 {
        let (sw, sh) = (
            ((w as f64 * scale) as u32).max(1),
            ((h as f64 * scale) as u32).max(1),
        );
        let small = img
            .resize(sw, sh, image::imageops::FilterType::Triangle)
            .to_rgb8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&small)
            .map_err(|e| format!("cannot encode JPEG: {e}"))?;
        if out.len() <= max {
            return Ok(out);
        }
        scale *= 0.8;
    }
    Err(format!("still over {max} bytes after scaling down"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_pictures_go_as_they_are_and_large_ones_are_scaled_to_fit() {
        let img = image::RgbImage::from_fn(640, 360, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .expect("jpeg");
        assert_eq!(
            fit_image(jpeg.clone(), MAX_IMAGE_BYTES).expect("fits"),
            jpeg
        );
        let limit = jpeg.len() / 3;
        let small = fit_image(jpeg.clone(), limit).expect("scaled");
        assert!(small.len() <= limit, "{} > {limit}", small.len());
        let back = image::load_from_memory(&small).expect("a JPEG");
        assert!(back.width() < 640 && back.height() < 360);
        assert!(fit_image(b"not a picture".to_vec(), 4).is_err());
    }

    #[test]
    fn image_message_carries_base64_and_md5_of_the_bytes() {
        let r = image_message(
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
            b"abc",
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(body["msgtype"], "image");
        assert_eq!(body["image"]["base64"], "YWJj");
        assert_eq!(body["image"]["md5"], "900150983cd24fb0d6963f7d28e17f72");
    }
}
