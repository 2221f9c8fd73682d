//! Text on pictures (snapshot captions, throw labels, `still` labels): drawn
//! with a TrueType font that covers Chinese, so display names such as
//! "3号楼南侧" read as written.
//!
//! The font is looked up once per process: the file named by the
//! `ESTATEWATCH_FONT` environment variable, else the first of [`FONT_PATHS`]
//! that exists (WenQuanYi Micro Hei from Debian's `fonts-wqy-microhei`, which
//! `scripts/setup.sh` installs and the package depends on, then Droid Sans
//! Fallback and Noto CJK). Without any, text falls back to a built-in 5×7
//! bitmap font (ASCII capitals, digits and a little punctuation; other
//! characters show as `?`) and one warning is logged.
//!
//! Sizes are given as a `scale`: a line is [`line_height`] pixels tall
//! (12 per scale step with the TrueType font, so Chinese stays legible; 9
//! with the bitmap font).

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the font is looked for, in order, after `ESTATEWATCH_FONT`.
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// The font in use, with the file it came from.
pub struct TextFont {
    font: FontVec,
    /// The file the font was read from.
    pub path: PathBuf,
}

/// The process's font, or `None` when no font file was found (then the
/// bitmap font is used).
pub fn text_font() -> Option<&'static TextFont> {
    static FONT: OnceLock<Option<TextFont>> = OnceLock::new();
    FONT.get_or_init(|| {
        let wanted: Vec<PathBuf> = std::env::var_os("ESTATEWATCH_FONT")
            .map(PathBuf::from)
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from))
            .collect();
        for path in &wanted {
            match load(path) {
                Ok(Some(font)) => return Some(font),
                Ok(None) => {}
                Err(e) => tracing::warn!(font = %path.display(), "cannot use font: {e}"),
            }
        }
        tracing::warn!(
            "no CJK font found (install fonts-wqy-microhei or set ESTATEWATCH_FONT); \
             text on pictures uses a 5x7 ASCII font"
        );
        None
    })
    .as_ref()
}

fn load(path: &Path) -> Result<Option<TextFont>, String> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    // A .ttc holds several faces; the first is the regular one.
    let font = FontVec::try_from_vec_and_index(data, 0).map_err(|e| e.to_string())?;
    Ok(Some(TextFont {
        font,
        path: path.to_path_buf(),
    }))
}

/// Height in pixels of one line of text at `scale` (including its margin).
pub fn line_height(scale: u32) -> u32 {
    let per_step = if text_font().is_some() { 12 } else { 9 };
    per_step * scale.max(1)
}

/// Glyph size in pixels for the TrueType font at `scale`: the CJK glyphs
/// fill most of the line; Latin capitals come out about as tall as the
/// bitmap font's.
fn px(scale: u32) -> PxScale {
    PxScale::from(line_height(scale) as f32)
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    match text_font() {
        Some(f) => {
            let sf = f.font.as_scaled(px(scale));
            text.chars()
                .map(|c| sf.h_advance(f.font.glyph_id(c)))
                .sum::<f32>()
                .ceil() as u32
        }
        None => text.chars().count() as u32 * 6 * scale.max(1),
    }
}

/// Draws `text` with its top-left corner at (x, y), on a darkened box so it
/// reads on any background. A label asked for beyond an edge is moved onto
/// the picture; parts that still fall outside are clipped.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, colour: Rgb<u8>, scale: u32) {
    let s = scale.max(1) as i64;
    let (tw, th) = (
        text_width(text, scale) as i64,
        line_height(scale) as i64 - 2 * s,
    );
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x = x.clamp(0, (w - tw - s).max(0));
    let y = y.clamp(0, (h - th - s).max(0));
    for py in (y - s).max(0)..(y + th + s).min(h) {
        for px in (x - s).max(0)..(x + tw).min(w) {
            let p = img.get_pixel_mut(px as u32, py as u32);
            for c in p.0.iter_mut() {
                *c /= 3;
            }
        }
    }
    match text_font() {
        Some(f) => draw_ttf(img, f, x, y, th, text, colour, scale),
        None => draw_bitmap(img, x, y, text, colour, s),
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_ttf(
    img: &mut RgbImage,
    f: &TextFont,
    x: i64,
    y: i64,
    th: i64,
    text: &str,
    colour: Rgb<u8>,
    scale: u32,
) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let sf = f.font.as_scaled(px(scale));
    // Put the baseline so that the glyphs' body sits in the box: the
    // descent hangs into the bottom margin.
    let baseline = y as f32 + th as f32 - sf.descent().abs() * 0.5;
    let mut pen = x as f32;
    for c in text.chars() {
        let id = f.font.glyph_id(c);
        let glyph = id.with_scale_and_position(sf.scale(), ab_glyph::point(pen, baseline));
        pen += sf.h_advance(id);
        let Some(outline) = f.font.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, cov| {
            let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
            if cov <= 0.0 || px < 0 || py < 0 || px >= w || py >= h {
                return;
            }
            let p = img.get_pixel_mut(px as u32, py as u32);
            for (c, want) in p.0.iter_mut().zip(colour.0) {
                *c = (*c as f32 * (1.0 - cov) + want as f32 * cov).round() as u8;
            }
        });
    }
}

fn draw_bitmap(img: &mut RgbImage, x: i64, y: i64, text: &str, colour: Rgb<u8>, s: i64) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for (i, ch) in text.chars().enumerate() {
        let rows = glyph(ch);
        let gx = x + i as i64 * 6 * s;
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..s {
                    for dx in 0..s {
                        let (px, py) = (gx + col * s + dx, y + row as i64 * s + dy);
                        if px >= 0 && py >= 0 && px < w && py < h {
                            img.put_pixel(px as u32, py as u32, colour);
                        }
                    }
                }
            }
        }
    }
}

/// The 5×7 bitmap of a character, one byte per row, bit 4 = left column.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        ' ' => [0x00; 7],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(img: &RgbImage, colour: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0 == colour).count()
    }

    /// The bitmap path, which machines without a font use.
    #[test]
    fn bitmap_text_is_drawn_inside_its_box_and_clipped_at_the_edge() {
        let mut img = RgbImage::from_pixel(40, 20, Rgb([120, 120, 120]));
        draw_bitmap(&mut img, 2, 2, "0.1", Rgb([255, 255, 255]), 1);
        // '0' has 19 lit pixels, '.' 4, '1' 10.
        assert_eq!(lit(&img, [255; 3]), 33);
        assert_eq!(img.get_pixel(35, 15).0, [120; 3]);
    }

    /// The font `scripts/setup.sh` installs is found, and Chinese names come
    /// out as distinct glyphs, not as the fallback's `?`.
    #[test]
    fn chinese_text_is_drawn_with_a_real_font() {
        let f = text_font().expect(
            "a CJK font (scripts/setup.sh installs fonts-wqy-microhei; or set ESTATEWATCH_FONT)",
        );
        assert!(f.path.exists());
        let draw = |t: &str| {
            let mut img = RgbImage::from_pixel(120, 40, Rgb([90, 90, 90]));
            draw_text(&mut img, 4, 4, t, Rgb([255, 255, 255]), 2);
            img
        };
        let a = draw("号");
        let b = draw("楼");
        let ink = |img: &RgbImage| img.pixels().filter(|p| p.0[0] > 200).count();
        assert!(
            ink(&a) > 20 && ink(&b) > 20,
            "glyphs have ink: {} {}",
            ink(&a),
            ink(&b)
        );
        assert_ne!(a, b, "two different characters draw differently");
        // A CJK character is most of a line wide (a digit half that); the
        // bitmap fallback would give 12 px a character, 60 in all.
        let w = text_width("3号楼南侧", 2);
        assert!(
            w > 3 * line_height(2),
            "5 characters at scale 2 are {w} px wide"
        );
        // A label asked for beyond the right edge is moved onto the picture.
        let mut img = RgbImage::from_pixel(60, 30, Rgb([0, 0, 0]));
        draw_text(&mut img, 100, 100, "楼", Rgb([255, 0, 0]), 1);
        assert!(img.pixels().any(|p| p.0[0] > 200));
    }
}
