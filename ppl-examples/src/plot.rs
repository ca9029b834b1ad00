//! Minimal PNG figures (no fonts needed): scatter plots coloured by class, line plots and
//! image grids, drawn on an RGB canvas and written with the `png` crate.

use std::path::Path;

/// Ten distinguishable colours (tab10).
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// An RGB image.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Set one pixel (ignored outside the canvas).
    pub fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A filled disc.
    pub fn disc(&mut self, x: f64, y: f64, r: f64, c: [u8; 3]) {
        let ri = r.ceil() as i64;
        for dy in -ri..=ri {
            for dx in -ri..=ri {
                if (dx * dx + dy * dy) as f64 <= r * r {
                    self.put(x as i64 + dx, y as i64 + dy, c);
                }
            }
        }
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.put(x as i64, y as i64, c);
            }
        }
    }

    /// A line segment.
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3]) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let t = i as f64 / n as f64;
            self.put(
                (x0 + t * (x1 - x0)).round() as i64,
                (y0 + t * (y1 - y0)).round() as i64,
                c,
            );
        }
    }

    /// Write as PNG.
    ///
    /// # Errors
    /// File or encoder errors.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(std::io::Error::other)?;
        w.write_image_data(&self.pixels).map_err(std::io::Error::other)
    }
}

/// Bounds of 2-D points with a 5 % margin.
fn bounds(points: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let (mx, my) = (((x1 - x0) * 0.05).max(1e-9), ((y1 - y0) * 0.05).max(1e-9));
    (x0 - mx, x1 + mx, y0 - my, y1 + my)
}

/// One scatter panel: 2-D points and their classes.
pub type Panel<'a> = (&'a [(f64, f64)], &'a [usize]);

/// Scatter panels side by side (one per `(points, classes)` set, sharing axes), points
/// coloured by class, with a colour key (one square per class, in class order) at the top.
pub fn scatter_panels(panels: &[Panel<'_>], size: usize) -> Canvas {
    let all: Vec<(f64, f64)> = panels.iter().flat_map(|(p, _)| p.iter().copied()).collect();
    let (x0, x1, y0, y1) = bounds(&all);
    let top = 24;
    let mut c = Canvas::new(size * panels.len(), size + top);
    let classes = panels.iter().flat_map(|(_, k)| k.iter().copied()).max().unwrap_or(0) + 1;
    for k in 0..classes {
        c.rect(8 + k * 20, 6, 12, 12, PALETTE[k % 10]);
    }
    for (i, (pts, cls)) in panels.iter().enumerate() {
        let ox = (i * size) as f64;
        let frame = [120, 120, 120];
        c.line((ox + 1.0, top as f64), (ox + 1.0, (top + size - 1) as f64), frame);
        c.line(
            (ox + 1.0, (top + size - 1) as f64),
            (ox + size as f64 - 1.0, (top + size - 1) as f64),
            frame,
        );
        for (&(x, y), &k) in pts.iter().zip(cls.iter()) {
            let px = ox + 4.0 + (x - x0) / (x1 - x0) * (size as f64 - 8.0);
            let py = top as f64 + 4.0 + (y1 - y) / (y1 - y0) * (size as f64 - 8.0);
            c.disc(px, py, 1.5, PALETTE[k % 10]);
        }
    }
    c
}

/// A line plot of `values` (and, in a darker colour, their moving average over `window`).
pub fn line_plot(values: &[f64], width: usize, height: usize, window: usize) -> Canvas {
    let mut c = Canvas::new(width, height);
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return c;
    }
    let smooth: Vec<f64> = (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(window.max(1) - 1);
            let w: Vec<f64> = values[lo..=i].iter().copied().filter(|v| v.is_finite()).collect();
            w.iter().sum::<f64>() / w.len().max(1) as f64
        })
        .collect();
    // Scale to the smoothed curve's range so the early transient does not flatten the rest.
    let (lo, hi) = smooth
        .iter()
        .skip(smooth.len() / 20)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1e-9);
    let map = |i: usize, v: f64| {
        (
            6.0 + i as f64 / (values.len() - 1) as f64 * (width as f64 - 12.0),
            6.0 + (hi + 0.1 * span - v) / (1.2 * span) * (height as f64 - 12.0),
        )
    };
    let axis = [120, 120, 120];
    c.line((5.0, 5.0), (5.0, height as f64 - 5.0), axis);
    c.line(
        (5.0, height as f64 - 5.0),
        (width as f64 - 5.0, height as f64 - 5.0),
        axis,
    );
    for i in 1..values.len() {
        if values[i - 1].is_finite() && values[i].is_finite() {
            c.line(map(i - 1, values[i - 1]), map(i, values[i]), [170, 200, 230]);
        }
    }
    for i in 1..smooth.len() {
        c.line(map(i - 1, smooth[i - 1]), map(i, smooth[i]), PALETTE[0]);
    }
    c
}

/// A 1-D regression figure: observed `points`, and over the sorted grid `xs` a shaded band
/// from `lo` to `hi` (e.g. a 90 % predictive interval) with the line `mid` (the predictive
/// mean). Axes span everything shown.
pub fn band_plot(
    points: &[(f64, f64)],
    xs: &[f64],
    lo: &[f64],
    mid: &[f64],
    hi: &[f64],
    size: (usize, usize),
) -> Canvas {
    let (w, h) = size;
    let all: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .chain(xs.iter().zip(lo).map(|(&x, &y)| (x, y)))
        .chain(xs.iter().zip(hi).map(|(&x, &y)| (x, y)))
        .collect();
    let (x0, x1, y0, y1) = bounds(&all);
    let map = |x: f64, y: f64| {
        (
            6.0 + (x - x0) / (x1 - x0) * (w as f64 - 12.0),
            6.0 + (y1 - y) / (y1 - y0) * (h as f64 - 12.0),
        )
    };
    let mut c = Canvas::new(w, h);
    for i in 0..xs.len() {
        let (px, top) = map(xs[i], hi[i]);
        let (_, bottom) = map(xs[i], lo[i]);
        c.line((px, top), (px, bottom), [200, 220, 240]);
        let step = if i + 1 < xs.len() {
            map(xs[i + 1], hi[i]).0 - px
        } else {
            0.0
        };
        for k in 1..step.ceil() as i64 {
            c.line((px + k as f64, top), (px + k as f64, bottom), [200, 220, 240]);
        }
    }
    for i in 1..xs.len() {
        c.line(map(xs[i - 1], mid[i - 1]), map(xs[i], mid[i]), PALETTE[0]);
    }
    for &(x, y) in points {
        let (px, py) = map(x, y);
        c.disc(px, py, 2.0, PALETTE[1]);
    }
    c
}

/// A grid of grey images (`rows × cols` images of `h × w` pixels in [0, 1]).
pub fn image_grid(images: &[Vec<f64>], rows: usize, cols: usize, h: usize, w: usize) -> Canvas {
    let mut c = Canvas::new(cols * (w + 1) + 1, rows * (h + 1) + 1);
    for (k, img) in images.iter().enumerate().take(rows * cols) {
        let (r, col) = (k / cols, k % cols);
        for y in 0..h {
            for x in 0..w {
                let v = (255.0 * (1.0 - img[y * w + x].clamp(0.0, 1.0))) as u8;
                c.put((1 + col * (w + 1) + x) as i64, (1 + r * (h + 1) + y) as i64, [v, v, v]);
            }
        }
    }
    c
}
