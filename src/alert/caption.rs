//! Text the gateway draws on its pictures for people: the caption (the
//! camera's display name and the site-local time of the picture, bottom
//! left) and a throw's origin label (floor and unit), in the site's
//! language (`[site] lang`) and time zone (`[site] timezone`), drawn with the
//! CJK TrueType font of [`crate::base::font`].
//!
//! The detect-size composite (`snapshot-detect.jpg`, the picture alerts
//! carry), the full-resolution snapshot (`snapshot.jpg`) and `estatewatch
//! still` all caption through [`Caption`], so they read the same. Alert
//! payloads keep their UTC times; only the drawn text is local.

use crate::base::font::{draw_text, line_height};
use crate::settings::{SiteLang, SiteTimezone};
use chrono::{DateTime, Utc};
use image::{Rgb, RgbImage};

/// Colour of the caption text (on a darkened box).
pub const CAPTION_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);
/// Colour of a throw's floor and unit label.
pub const THROW_LABEL_COLOUR: Rgb<u8> = Rgb([255, 220, 0]);

/// How text on pictures speaks: the site's time zone and language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PictureText {
    /// `[site] timezone`.
    pub timezone: SiteTimezone,
    /// `[site] lang`.
    pub lang: SiteLang,
}

impl PictureText {
    /// A throw's origin as staff read it: `12层 1203室` (zh-CN) or
    /// `Floor 12 · Unit 1203` (en); the floor alone when the unit is unknown.
    pub fn throw_label(&self, floor: i64, unit: Option<&str>) -> String {
        let unit = unit.map(str::trim).filter(|u| !u.is_empty());
        match (self.lang, unit) {
            (SiteLang::ZhCn, Some(u)) => format!("{floor}层 {u}室"),
            (SiteLang::ZhCn, None) => format!("{floor}层"),
            (SiteLang::En, Some(u)) => format!("Floor {floor} · Unit {u}"),
            (SiteLang::En, None) => format!("Floor {floor}"),
        }
    }
}

/// One camera's caption: its name as staff know it, and how to write times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caption {
    /// The camera's `display_name`, or its name.
    pub place: String,
    pub text: PictureText,
}

/// Text size on a picture `width` pixels wide: 1 (12 px lines) up to 959
/// px, 2 up to 1919, 3 at 1080p, and so on.
pub fn text_scale(width: u32) -> u32 {
    1 + width / 960
}

impl Caption {
    /// The caption of camera `place` (its display name) in `text`'s zone
    /// and language.
    pub fn new(place: impl Into<String>, text: PictureText) -> Caption {
        Caption {
            place: place.into(),
            text,
        }
    }

    /// The caption's words for a picture taken at `at`:
    /// `3号楼南侧  2026-12-04 09:12:45 CST`.
    pub fn line(&self, at: DateTime<Utc>) -> String {
        let time = self.text.timezone.human(at);
        if self.place.trim().is_empty() {
            time
        } else {
            format!("{}  {time}", self.place)
        }
    }

    /// Where [`draw`](Self::draw) puts the caption on a `width`×`height`
    /// picture: `(x, y, line height)` of its top-left corner.
    pub fn position(width: u32, height: u32) -> (i64, i64, u32) {
        let scale = text_scale(width);
        let lh = line_height(scale);
        let margin = 2 * scale as i64;
        (margin, height as i64 - lh as i64 - margin, lh)
    }

    /// Draws the caption for a picture taken at `at` in the bottom-left
    /// corner, on a darkened box.
    pub fn draw(&self, img: &mut RgbImage, at: DateTime<Utc>) {
        let (x, y, _) = Caption::position(img.width(), img.height());
        let scale = text_scale(img.width());
        draw_text(img, x, y, &self.line(at), CAPTION_COLOUR, scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-12-04T01:12:45Z".parse().expect("RFC 3339")
    }

    #[test]
    fn throw_labels_follow_the_site_language() {
        let zh = PictureText {
            timezone: SiteTimezone::default(),
            lang: SiteLang::ZhCn,
        };
        assert_eq!(zh.throw_label(12, Some("1203")), "12层 1203室");
        assert_eq!(zh.throw_label(12, None), "12层");
        assert_eq!(zh.throw_label(3, Some(" ")), "3层");
        let en = PictureText {
            lang: SiteLang::En,
            ..zh
        };
        assert_eq!(en.throw_label(12, Some("1203")), "Floor 12 · Unit 1203");
        assert_eq!(en.throw_label(12, None), "Floor 12");
        assert_eq!(PictureText::default().lang, SiteLang::ZhCn);
    }

    #[test]
    fn the_caption_names_the_camera_in_site_local_time() {
        let c = Caption::new(
            "3号楼南侧",
            PictureText {
                timezone: "Asia/Shanghai".parse().expect("a zone"),
                lang: SiteLang::ZhCn,
            },
        );
        assert_eq!(c.line(at()), "3号楼南侧  2026-12-04 09:12:45 CST");
        let utc = Caption::new("", PictureText::default());
        assert_eq!(utc.line(at()), "2026-12-04 01:12:45 UTC");
    }

    #[test]
    fn the_caption_is_drawn_bottom_left() {
        let grey = Rgb([128, 128, 128]);
        let mut img = RgbImage::from_pixel(640, 360, grey);
        Caption::new("3号楼南侧", PictureText::default()).draw(&mut img, at());
        let (x, y, lh) = Caption::position(640, 360);
        let (mut ink, mut dark) = (0, 0);
        for py in y.max(0) as u32..(y as u32 + lh).min(360) {
            for px in x as u32..300 {
                let p = img.get_pixel(px, py).0;
                ink += usize::from(p.iter().all(|&c| c > 150));
                dark += usize::from(p.iter().all(|&c| c < 60));
            }
        }
        assert!(ink > 60, "caption text pixels: {ink}");
        assert!(dark > 600, "darkened box pixels: {dark}");
        // The top of the picture is untouched.
        assert!(img.rows().take(300).flatten().all(|p| *p == grey));
    }
}
