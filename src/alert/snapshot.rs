//! Snapshot rendering: boxes and lines drawn onto frames, encoded as JPEG.

use super::{BBox, Snapshot};
use image::{Rgb, RgbImage};

/// Errors turning a picture into a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("frame buffer has {got} bytes, expected {expected} for {width}x{height} RGB")]
    BadFrame {
        got: usize,
        expected: usize,
        width: u32,
        height: u32,
    },
    #[error("JPEG encoding failed: {0}")]
    Encode(#[from] image::ImageError),
}

/// Colour used for the primary box.
pub const ALERT_RED: Rgb<u8> = Rgb([255, 40, 40]);

/// Copies a packed RGB buffer into an image.
pub fn to_image(rgb: &[u8], width: u32, height: u32) -> Result<RgbImage, SnapshotError> {
    let expected = width as usize * height as usize * 3;
    RgbImage::from_raw(width, height, rgb.to_vec()).ok_or(SnapshotError::BadFrame {
        got: rgb.len(),
        expected,
        width,
        height,
    })
}

/// Draws a rectangle outline `thickness` pixels wide around a normalised box.
pub fn draw_box(img: &mut RgbImage, b: BBox, colour: Rgb<u8>, thickness: u32) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = (b.x * w).floor().max(0.0) as i64;
    let y0 = (b.y * h).floor().max(0.0) as i64;
    let x1 = ((b.x + b.w) * w).ceil().min(w - 1.0) as i64;
    let y1 = ((b.y + b.h) * h).ceil().min(h - 1.0) as i64;
    for t in 0..thickness as i64 {
        for x in (x0 - t)..=(x1 + t) {
            put(img, x, y0 - t, colour);
            put(img, x, y1 + t, colour);
        }
        for y in (y0 - t)..=(y1 + t) {
            put(img, x0 - t, y, colour);
            put(img, x1 + t, y, colour);
        }
    }
}

/// Draws a line between two pixel points (Bresenham), `thickness` pixels wide.
pub fn draw_line(
    img: &mut RgbImage,
    a: (f32, f32),
    b: (f32, f32),
    colour: Rgb<u8>,
    thickness: u32,
) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as i64).max(1);
    let r = thickness as i64 / 2;
    for s in 0..=steps {
        let t = s as f32 / steps as f32;
        let x = (a.0 + (b.0 - a.0) * t).round() as i64;
        let y = (a.1 + (b.1 - a.1) * t).round() as i64;
        for dy in -r..=r {
            for dx in -r..=r {
                put(img, x + dx, y + dy, colour);
            }
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// Encodes an image as a JPEG snapshot (quality 85).
pub fn encode(img: &RgbImage) -> Result<Snapshot, SnapshotError> {
    let mut data = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut data, 85);
    enc.encode_image(img)?;
    Ok(Snapshot {
        content_type: "image/jpeg".into(),
        width: img.width(),
        height: img.height(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_is_drawn_and_jpeg_decodes() {
        let mut img = to_image(&vec![0; 40 * 20 * 3], 40, 20).unwrap();
        draw_box(
            &mut img,
            BBox {
                x: 0.25,
                y: 0.25,
                w: 0.5,
                h: 0.5,
            },
            ALERT_RED,
            1,
        );
        assert_eq!(img.get_pixel(10, 5), &ALERT_RED);
        assert_eq!(img.get_pixel(20, 10), &Rgb([0, 0, 0]), "inside stays");
        let snap = encode(&img).unwrap();
        let back = image::load_from_memory(&snap.data).unwrap();
        assert_eq!((back.width(), back.height()), (40, 20));
    }

    #[test]
    fn wrong_buffer_size_is_an_error() {
        assert!(matches!(
            to_image(&[0; 5], 2, 2),
            Err(SnapshotError::BadFrame { .. })
        ));
    }
}
