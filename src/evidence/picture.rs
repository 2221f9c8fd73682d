//! The full-resolution snapshot: a short-lived decoder over the evidence
//! units from the keyframe before the alert up to its moment (`appsrc !
//! parse ! avdec ! videoconvert ! RGB appsink`), run only for an alert; the
//! alert drawn on the last frame: its box scaled up, for a throw the
//! trajectory and the floor and unit label, and the caption (camera display
//! name, site-local time; [`crate::alert::caption`]).

use super::clip::{element, parser_for};
use super::EvidenceError;
use crate::alert::caption::{Caption, THROW_LABEL_COLOUR};
use crate::alert::snapshot::{self, ALERT_RED};
use crate::alert::{Alert, AlertKind};
use crate::ingest::EncodedUnit;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use image::{Rgb, RgbImage};
use std::path::Path;

fn err(path: &Path, e: impl std::fmt::Display) -> EvidenceError {
    EvidenceError::Snapshot {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

/// Decodes `units` (a keyframe first) and returns the last frame, full size.
/// `path` only names the snapshot in errors.
pub fn decode_last(units: &[EncodedUnit], path: &Path) -> Result<RgbImage, EvidenceError> {
    let first = units
        .first()
        .ok_or_else(|| err(path, "no video around the alert"))?;
    let parser = parser_for(&first.caps).ok_or_else(|| err(path, "unknown codec"))?;
    let decoder = if parser == "h264parse" {
        "avdec_h264"
    } else {
        "avdec_h265"
    };
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder()
        .caps(&first.caps)
        .format(gst::Format::Time)
        .build();
    let parse = element(parser, path)?;
    let dec = element(decoder, path)?;
    // One thread: this runs next to the cameras' own decoders.
    dec.set_property("max-threads", 1i32);
    let convert = element("videoconvert", path)?;
    let sink = gst_app::AppSink::builder()
        .caps(
            &gst_video::VideoCapsBuilder::new()
                .format(gst_video::VideoFormat::Rgb)
                .build(),
        )
        .sync(false)
        .max_buffers(1)
        .drop(true)
        .build();
    let chain = [
        src.upcast_ref::<gst::Element>(),
        &parse,
        &dec,
        &convert,
        sink.upcast_ref(),
    ];
    pipeline.add_many(chain).map_err(|e| err(path, e))?;
    gst::Element::link_many(chain).map_err(|e| err(path, e))?;
    let result = (|| {
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| err(path, e))?;
        for u in units {
            src.push_buffer(u.buffer.clone())
                .map_err(|e| err(path, format!("{e:?}")))?;
        }
        let _ = src.end_of_stream();
        let mut last = None;
        // Until end of stream (the decoder flushes every frame it holds).
        while let Some(s) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
            last = Some(s);
        }
        let sample = last.ok_or_else(|| err(path, "the decoder gave no frame"))?;
        let info = sample
            .caps()
            .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
            .ok_or_else(|| err(path, "decoded frame without video caps"))?;
        let buffer = sample
            .buffer()
            .ok_or_else(|| err(path, "decoded frame without data"))?;
        let map = buffer.map_readable().map_err(|e| err(path, e))?;
        let (w, h) = (info.width(), info.height());
        let stride = info.stride()[0] as usize;
        let mut rgb = Vec::with_capacity(w as usize * h as usize * 3);
        for row in 0..h as usize {
            let start = row * stride;
            rgb.extend_from_slice(&map[start..start + w as usize * 3]);
        }
        RgbImage::from_raw(w, h, rgb).ok_or_else(|| err(path, "decoded frame has the wrong size"))
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Draws `alert` on a full-size frame: its box (thickness scaled to the
/// frame), for a throw the trajectory and the floor and unit label (in the
/// site's language), and the caption (the camera's display name and the
/// alert's site-local time, bottom left; [`Caption`]).
pub fn annotate(img: &mut RgbImage, alert: &Alert, caption: &Caption) {
    let scale = (img.width() / 640).max(1);
    if alert.kind == AlertKind::Throwing {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let points: Vec<(f32, f32)> = alert.details["trajectory"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        let x = p.get(1)?.as_f64()? as f32 * w;
                        let y = p.get(2)?.as_f64()? as f32 * h;
                        Some((x, y))
                    })
                    .collect()
            })
            .unwrap_or_default();
        const PATH: Rgb<u8> = Rgb([255, 140, 0]);
        for pair in points.windows(2) {
            snapshot::draw_line(img, pair[0], pair[1], PATH, scale);
        }
        let origin = &alert.details["origin"];
        if let Some(floor) = origin["floor"].as_i64() {
            let label = caption
                .text
                .throw_label(floor, origin["unit_label"].as_str());
            // Beside the first trajectory point, clear of the alert's box.
            let (x, y) = points
                .first()
                .map(|p| (p.0 as i64 + 8 * scale as i64, p.1 as i64))
                .unwrap_or((8, 8));
            let x = alert
                .bbox
                .map_or(x, |b| x.max(((b.x + b.w) * w) as i64 + 4 * scale as i64));
            crate::base::font::draw_text(img, x, y, &label, THROW_LABEL_COLOUR, scale * 2);
        }
    }
    if let Some(b) = alert.bbox {
        snapshot::draw_box(img, b, ALERT_RED, 2 * scale);
    }
    caption.draw(img, alert.detected_at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::caption::PictureText;
    use crate::alert::{BBox, Severity};
    use crate::settings::SiteLang;
    use image::GenericImageView;

    fn throw() -> Alert {
        let mut a = Alert::new(AlertKind::Throwing, Severity::Major, "s", "g");
        a.camera = Some("tower".into());
        a.bbox = Some(BBox {
            x: 0.5,
            y: 0.2,
            w: 0.05,
            h: 0.3,
        });
        a.detected_at = "2026-12-04T01:12:45Z".parse().expect("RFC 3339");
        a.details = serde_json::json!({
            "trajectory": [[0, 0.5, 0.2], [100, 0.52, 0.4]],
            "origin": {"floor": 12, "unit_label": "1203"},
        });
        a
    }

    /// Bright yellow pixels (the throw label) in rows `y0..y1`.
    fn yellow(img: &RgbImage, y0: u32, y1: u32) -> usize {
        (y0..y1)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = img.get_pixel(x, y).0;
                p[0] > 200 && p[1] > 170 && p[2] < 80
            })
            .count()
    }

    #[test]
    fn a_full_size_throw_gets_its_label_and_caption_in_the_site_language() {
        let text = PictureText {
            timezone: "Asia/Shanghai".parse().expect("a zone"),
            lang: SiteLang::ZhCn,
        };
        let caption = Caption::new("3号楼南侧", text);
        let mut zh = RgbImage::from_pixel(1920, 1080, Rgb([110, 120, 130]));
        annotate(&mut zh, &throw(), &caption);
        // The floor and unit label beside the first trajectory point.
        assert!(yellow(&zh, 200, 300) > 200, "no throw label");
        // The caption, bottom left: white text on a darkened box.
        let (x, y, lh) = Caption::position(1920, 1080);
        let white = (y as u32..y as u32 + lh)
            .flat_map(|py| (x as u32..900).map(move |px| (px, py)))
            .filter(|&(px, py)| zh.get_pixel(px, py).0.iter().all(|&c| c > 200))
            .count();
        assert!(white > 300, "caption text pixels: {white}");
        // In English the label is another text.
        let mut en = RgbImage::from_pixel(1920, 1080, Rgb([110, 120, 130]));
        let en_caption = Caption::new(
            "3号楼南侧",
            PictureText {
                lang: SiteLang::En,
                ..text
            },
        );
        annotate(&mut en, &throw(), &en_caption);
        assert_ne!(
            zh.view(900, 200, 1020, 100).to_image(),
            en.view(900, 200, 1020, 100).to_image(),
            "the label follows [site] lang"
        );
    }
}
