//! The confirmation code as a QR code, on the order page and its printout: a box office
//! scans it rather than typing ten characters while the line waits.
//!
//! It is drawn as one SVG path of the symbol's dark modules, inline in the page: no
//! image to request or cache, nothing for the Content-Security-Policy to allow. The
//! template paints it dark on white whatever the page's colours, because scanners read
//! dark modules on a light ground.

use std::fmt::Write;

use qrcode::{Color, EcLevel, QrCode};

/// A QR code ready for a template: its size in modules, quiet zone included (the
/// SVG's view box), and the path that draws its dark modules.
#[derive(Debug, Clone)]
pub struct Qr {
    pub size: usize,
    pub path: String,
}

/// The light margin the standard asks for around the symbol, in modules: without it a
/// scanner can take the page around it for part of the code.
const QUIET_ZONE: usize = 4;

impl Qr {
    /// `None` only for text too long for any QR code, which a confirmation code is not.
    pub fn new(text: &str) -> Option<Self> {
        // Medium error correction (15 % of the symbol can be lost): a phone's screen
        // under a scanner's glare, a crease in a printout.
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
        let width = code.width();
        let colors = code.to_colors();
        let mut path = String::new();
        for (y, row) in colors.chunks(width).enumerate() {
            // One rectangle per run of dark modules in a row, not one per module: a
            // third of the length, and no hairlines between neighbours when scaled.
            let mut x = 0;
            while x < width {
                if row[x] == Color::Light {
                    x += 1;
                    continue;
                }
                let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
                let (left, top) = (x + QUIET_ZONE, y + QUIET_ZONE);
                write!(path, "M{left} {top}h{run}v1h-{run}z").expect("writing to a String");
                x += run;
            }
        }
        Some(Self {
            size: width + 2 * QUIET_ZONE,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paints the path the way a browser does (each `M x y h n v1 h-n z` fills a row of
    /// `n` modules), one pixel per module scaled up, dark on white.
    fn raster(qr: &Qr, scale: u32) -> image::GrayImage {
        let side = qr.size as u32 * scale;
        let mut img = image::GrayImage::from_pixel(side, side, image::Luma([255]));
        for rect in qr.path.split('z').filter(|r| !r.is_empty()) {
            let numbers: Vec<u32> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().expect("a number"))
                .collect();
            let [left, top, run, one, back] = numbers[..] else {
                panic!("unexpected path segment {rect:?}");
            };
            assert_eq!((one, back), (1, run), "a row one module high: {rect:?}");
            for x in left * scale..(left + run) * scale {
                for y in top * scale..(top + 1) * scale {
                    img.put_pixel(x, y, image::Luma([0]));
                }
            }
        }
        img
    }

    fn scanned(qr: &Qr) -> String {
        let mut prepared = rqrr::PreparedImage::prepare(raster(qr, 4));
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one code found");
        grids[0].decode().expect("a readable code").1
    }

    #[test]
    fn a_confirmation_code_scans_back_to_itself() {
        let qr = Qr::new("9KPK7B9TEY").expect("a code");
        // Version 1 (21 modules) and the quiet zone on both sides.
        assert_eq!(qr.size, 21 + 2 * QUIET_ZONE);
        assert_eq!(scanned(&qr), "9KPK7B9TEY");
    }

    #[test]
    fn longer_text_takes_a_larger_code_that_still_scans() {
        let text = "https://cinema.example/orders/9KPK7B9TEY";
        let qr = Qr::new(text).expect("a code");
        assert!(qr.size > 21 + 2 * QUIET_ZONE, "{}", qr.size);
        assert_eq!(scanned(&qr), text);
    }

    #[test]
    fn no_module_is_drawn_in_the_quiet_zone() {
        let qr = Qr::new("9KPK7B9TEY").expect("a code");
        let img = raster(&qr, 1);
        let side = qr.size as u32;
        let margin = QUIET_ZONE as u32;
        for (x, y, pixel) in img.enumerate_pixels() {
            let inside =
                (margin..side - margin).contains(&x) && (margin..side - margin).contains(&y);
            assert!(inside || pixel.0 == [255], "dark module at ({x}, {y})");
        }
    }
}
