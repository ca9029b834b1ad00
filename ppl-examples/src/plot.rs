//! PNG figures drawn with `plotters` (bitmap backend, text in DejaVu Sans embedded through the
//! `dejavu` crate, so nothing depends on the system's fonts): scatter panels coloured by class,
//! loss curves, predictive bands and image grids, each with a title, axes with ticks and
//! numbers, axis labels and a legend. The pixels are written with the `png` crate.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

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

/// The font family every figure's text uses (registered once per process).
const FONT: &str = "sans-serif";

/// An RGB image.
#[derive(Debug, Clone)]
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    /// Width and height in pixels.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The RGB value at `(x, y)` (row-major, top-left origin).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * self.width + x);
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Write as an 8-bit RGB PNG.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(std::io::Error::other)?;
        w.write_image_data(&self.pixels).map_err(std::io::Error::other)
    }
}

/// Write `figure` as `dir/name` (PNG); errors name the file.
///
/// # Errors
/// The figure failed to draw, or the file cannot be written.
pub fn write(figure: Result<Canvas, String>, dir: &Path, name: &str) -> Result<(), String> {
    figure
        .and_then(|c| c.save(&dir.join(name)).map_err(|e| e.to_string()))
        .map_err(|e| format!("{name}: {e}"))
}

/// Write the loss curve of a fit (`values` per step, [`line_plot`] with a moving average of
/// `window` steps, 720 × 400) as `dir/loss_curve.png`, titled `title`, x axis "step", y axis
/// `y_label` (say what the loss is and over what: "−ELBO (nats per image)").
///
/// # Errors
/// As [`write()`].
pub fn write_loss_curve(values: &[f64], title: &str, y_label: &str, window: usize, dir: &Path) -> Result<(), String> {
    let labels = Labels {
        title,
        x: "step",
        y: y_label,
    };
    write(line_plot(values, labels, window, (720, 400)), dir, "loss_curve.png")
}

/// The class names of the three-digit data sets (digits 0, 1 and 2), for legends.
pub const DIGIT_CLASSES: [&str; 3] = ["digit 0", "digit 1", "digit 2"];

/// A figure's title and axis labels.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Title above the chart.
    pub title: &'a str,
    /// Label under the x axis.
    pub x: &'a str,
    /// Label beside the y axis.
    pub y: &'a str,
}

/// One scatter panel: a title, 2-D points and their classes (indices into the class names).
#[derive(Debug, Clone, Copy)]
pub struct ScatterPanel<'a> {
    /// The panel's title (`train`, `test`, …).
    pub title: &'a str,
    /// The points.
    pub points: &'a [(f64, f64)],
    /// Each point's class.
    pub classes: &'a [usize],
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// A line chart's curve: its points, its legend text and its stroke.
type Curve = (Vec<(f64, f64)>, String, ShapeStyle);

fn colour(k: usize) -> RGBColor {
    let [r, g, b] = PALETTE[k % PALETTE.len()];
    RGBColor(r, g, b)
}

/// Register the embedded font under [`FONT`] (once per process).
fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the embedded DejaVu Sans font does not load".to_string())
        })
        .clone()
}

/// Draw onto a white `width × height` bitmap.
fn render(
    width: usize,
    height: usize,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> PlotResult,
) -> Result<Canvas, String> {
    ensure_font()?;
    let mut pixels = vec![255u8; width * height * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| format!("drawing a figure: {e}"))?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Canvas { width, height, pixels })
}

/// A tick label with as many decimals as ticks `span / 12` apart need (scientific notation
/// from 10⁵ on, so long totals stay short).
fn tick(v: f64, span: f64) -> String {
    let step = (span.abs() / 12.0).max(f64::MIN_POSITIVE);
    if v.abs() >= 1e5 {
        let digits = (v.abs().log10() - step.log10()).ceil().clamp(1.0, 8.0) as usize;
        format!("{:.*e}", digits - 1, v)
    } else {
        let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// The range of the finite values, widened by 5 % (and to a non-empty span).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 * (1.0 + lo.abs()));
    (lo - pad, hi + pad)
}

/// Scatter panels side by side sharing both axes (e.g. a latent space on the training and
/// the test images), points coloured by class, a legend with `class_names`.
///
/// # Errors
/// The font or the drawing fails (a message).
pub fn scatter_panels(
    panels: &[ScatterPanel<'_>],
    class_names: &[&str],
    title: &str,
    axes: (&str, &str),
    size: usize,
) -> Result<Canvas, String> {
    let xr = range(panels.iter().flat_map(|p| p.points.iter().map(|q| q.0)));
    let yr = range(panels.iter().flat_map(|p| p.points.iter().map(|q| q.1)));
    let top = 40;
    render(size * panels.len().max(1), size + top, |root| {
        let (head, body) = root.split_vertically(top as u32);
        head.titled(title, (FONT, 22))?;
        for (area, panel) in body.split_evenly((1, panels.len().max(1))).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, (FONT, 18))
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(axes.0)
                .y_desc(axes.1)
                .x_label_formatter(&|x| tick(*x, xr.1 - xr.0))
                .y_label_formatter(&|y| tick(*y, yr.1 - yr.0))
                .label_style((FONT, 13))
                .draw()?;
            for (k, name) in class_names.iter().enumerate() {
                let pts = panel
                    .points
                    .iter()
                    .zip(panel.classes)
                    .filter(|(q, &c)| c == k && q.0.is_finite() && q.1.is_finite())
                    .map(|(q, _)| Circle::new(*q, 2, colour(k).filled()));
                chart
                    .draw_series(pts)?
                    .label(*name)
                    .legend(move |(x, y)| Circle::new((x + 5, y), 4, colour(k).filled()));
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}

/// A loss curve: the value at every step (light) and its moving average over `window`
/// steps (dark), with a legend. The y axis is logarithmic when every value is positive and
/// they span more than a factor of 20; otherwise linear over every value, or over the values
/// after the first 5 % of steps when those stretch the range more than 3× (the early
/// transient is then cut at the top edge), so the raw trace stays inside the frame.
///
/// # Errors
/// The font or the drawing fails (a message).
pub fn line_plot(values: &[f64], labels: Labels<'_>, window: usize, size: (usize, usize)) -> Result<Canvas, String> {
    let window = window.max(1);
    let smooth: Vec<f64> = (0..values.len())
        .map(|i| {
            let lo = i.saturating_sub(window - 1);
            let w: Vec<f64> = values[lo..=i].iter().copied().filter(|v| v.is_finite()).collect();
            w.iter().sum::<f64>() / w.len().max(1) as f64
        })
        .collect();
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (min, max) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let log = !finite.is_empty() && min > 0.0 && max / min > 20.0;
    let n = values.len().max(2) as f64;
    let points = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, &y)| ((i + 1) as f64, y))
            .collect()
    };
    let mut curves = [
        (
            points(values),
            "per step".to_string(),
            RGBColor(170, 200, 230).stroke_width(1),
        ),
        (
            points(&smooth),
            format!("moving average of {window} steps"),
            colour(0).stroke_width(2),
        ),
    ];
    render(size.0, size.1, |root| {
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(labels.title, (FONT, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80);
        if log {
            let chart = builder.build_cartesian_2d(1.0..n, (min / 1.2..max * 1.2).log_scale())?;
            draw_curves(chart, labels.x, &format!("{} (log scale)", labels.y), &curves)
        } else {
            // Every value, unless the first 5 % of steps stretch the range more than 3×.
            let all = range(values.iter().copied());
            let tail = range(values[values.len() / 20..].iter().copied());
            let clipped = all.1 - all.0 > 3.0 * (tail.1 - tail.0);
            let yr = if clipped { tail } else { all };
            let chart = builder.build_cartesian_2d(1.0..n, yr.0..yr.1)?;
            if clipped {
                curves[0].1 = "per step (the first steps run above the frame)".into();
            }
            draw_curves(chart, labels.x, labels.y, &curves)
        }
    })
}

/// Mesh, labelled curves and legend of a line chart with any y coordinate (linear or log).
fn draw_curves<'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    x_desc: &str,
    y_desc: &str,
    curves: &[Curve],
) -> PlotResult
where
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let y_span = {
        let r = chart.y_range();
        r.end - r.start
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| tick(*y, y_span))
        .label_style((FONT, 13))
        .draw()?;
    for (pts, name, style) in curves {
        let style = *style;
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), style))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// The legend of `chart`'s labelled series, in one style for every figure, at `position`.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> PlotResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

/// A 1-D regression figure: observed `points`, and over the sorted grid `xs` a shaded band
/// from `lo` to `hi` (`band_name`, e.g. a 90 % predictive interval) with the line `mid` (the
/// predictive mean), a legend, and axes spanning everything shown.
///
/// # Errors
/// The font or the drawing fails (a message).
#[allow(clippy::too_many_arguments)]
pub fn band_plot(
    points: &[(f64, f64)],
    xs: &[f64],
    lo: &[f64],
    mid: &[f64],
    hi: &[f64],
    band_name: &str,
    labels: Labels<'_>,
    size: (usize, usize),
) -> Result<Canvas, String> {
    let xr = range(points.iter().map(|p| p.0).chain(xs.iter().copied()));
    let yr = range(
        points
            .iter()
            .map(|p| p.1)
            .chain(lo.iter().copied())
            .chain(hi.iter().copied()),
    );
    render(size.0, size.1, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(labels.title, (FONT, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        chart
            .configure_mesh()
            .x_desc(labels.x)
            .y_desc(labels.y)
            .x_label_formatter(&|x| tick(*x, xr.1 - xr.0))
            .y_label_formatter(&|y| tick(*y, yr.1 - yr.0))
            .label_style((FONT, 13))
            .draw()?;
        let band_colour = RGBColor(200, 220, 240);
        let outline: Vec<(f64, f64)> = xs
            .iter()
            .zip(hi)
            .map(|(&x, &y)| (x, y))
            .chain(xs.iter().zip(lo).rev().map(|(&x, &y)| (x, y)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(outline, band_colour.filled())))?
            .label(band_name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], band_colour.filled()));
        let mean_style = colour(0).stroke_width(2);
        chart
            .draw_series(LineSeries::new(xs.iter().zip(mid).map(|(&x, &y)| (x, y)), mean_style))?
            .label("predictive mean")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], mean_style));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour(1).filled())))?
            .label("data")
            .legend(move |(x, y)| Circle::new((x + 9, y), 4, colour(1).filled()));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// A grid of grey images (`rows × cols` images of `h × w` pixels in [0, 1], drawn dark on
/// white, each pixel 2 × 2) under a title; as wide as the wider of the two.
///
/// # Errors
/// The font or the drawing fails (a message).
pub fn image_grid(
    images: &[Vec<f64>],
    (rows, cols): (usize, usize),
    (h, w): (usize, usize),
    title: &str,
) -> Result<Canvas, String> {
    let scale = 2;
    let top = 36;
    let (cell_w, cell_h) = (w * scale + 2, h * scale + 2);
    // Wide enough for the title as well as the grid.
    ensure_font()?;
    let title_width = FontDesc::new(FontFamily::Name(FONT), 18.0, FontStyle::Normal)
        .box_size(title)
        .map_or(10 * title.chars().count(), |(tw, _)| tw as usize);
    let width = (cols * cell_w + 2).max(title_width + 24);
    let left = (width - cols * cell_w) / 2;
    render(width, top + rows * cell_h + 2, |root| {
        let (head, body) = root.split_vertically(top as u32);
        head.titled(title, (FONT, 18))?;
        for (k, img) in images.iter().enumerate().take(rows * cols) {
            let (r, c) = (k / cols, k % cols);
            let (x0, y0) = ((left + c * cell_w + 1) as i32, (r * cell_h + 1) as i32);
            for y in 0..h {
                for x in 0..w {
                    let v = (255.0 * (1.0 - img[y * w + x].clamp(0.0, 1.0))) as u8;
                    let (px, py) = (x0 + (x * scale) as i32, y0 + (y * scale) as i32);
                    body.draw(&Rectangle::new(
                        [(px, py), (px + scale as i32, py + scale as i32)],
                        RGBColor(v, v, v).filled(),
                    ))?;
                }
            }
        }
        Ok(())
    })
}

/// One panel of [`marginals`]: a quantity's name and its draws under each method.
#[derive(Debug, Clone, Copy)]
pub struct MarginalPanel<'a> {
    /// The quantity (`μ`, `τ`, `θ₁`): the panel's title and x label.
    pub name: &'a str,
    /// `(method, draws)` pairs, one curve each.
    pub draws: &'a [(&'a str, &'a [f64])],
    /// Clip the x axis to these quantiles of the pooled draws (heavy tails, e.g. τ's).
    pub clip: (f64, f64),
}

/// Histogram densities (40 bins over the panel's clipped range, as step lines) of each
/// method's draws, panels side by side: how well approximate posteriors match a reference.
///
/// # Errors
/// The font or the drawing fails (a message).
pub fn marginals(panels: &[MarginalPanel<'_>], title: &str, size: (usize, usize)) -> Result<Canvas, String> {
    const BINS: usize = 40;
    let top = 40;
    render(size.0 * panels.len().max(1), size.1 + top, |root| {
        let (head, body) = root.split_vertically(top as u32);
        head.titled(title, (FONT, 22))?;
        for (area, panel) in body.split_evenly((1, panels.len().max(1))).iter().zip(panels) {
            let mut pooled: Vec<f64> = panel
                .draws
                .iter()
                .flat_map(|(_, d)| d.iter().copied())
                .filter(|v| v.is_finite())
                .collect();
            pooled.sort_by(f64::total_cmp);
            let at = |q: f64| {
                pooled
                    .get(((pooled.len().max(1) - 1) as f64 * q) as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            let (lo, hi) = (at(panel.clip.0), at(panel.clip.1));
            let hi = if hi > lo { hi } else { lo + 1.0 };
            let width = (hi - lo) / BINS as f64;
            let curves: Vec<Vec<(f64, f64)>> = panel
                .draws
                .iter()
                .map(|(_, d)| {
                    let mut counts = [0usize; BINS];
                    for v in d.iter().filter(|v| **v >= lo && **v < hi) {
                        counts[(((v - lo) / width) as usize).min(BINS - 1)] += 1;
                    }
                    let norm = d.len().max(1) as f64 * width;
                    let mut pts = vec![(lo, 0.0)];
                    for (b, c) in counts.iter().enumerate() {
                        let y = *c as f64 / norm;
                        pts.push((lo + b as f64 * width, y));
                        pts.push((lo + (b + 1) as f64 * width, y));
                    }
                    pts.push((hi, 0.0));
                    pts
                })
                .collect();
            let ymax = curves.iter().flatten().map(|p| p.1).fold(0.0, f64::max).max(1e-12) * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(panel.name, (FONT, 18))
                .margin(8)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(lo..hi, 0.0..ymax)?;
            chart
                .configure_mesh()
                .light_line_style(WHITE)
                .x_desc(panel.name)
                .y_desc("density")
                .x_label_formatter(&|x| tick(*x, hi - lo))
                .y_label_formatter(&|y| tick(*y, ymax))
                .label_style((FONT, 13))
                .draw()?;
            for (k, ((method, _), pts)) in panel.draws.iter().zip(&curves).enumerate() {
                let style = colour(k).stroke_width(2);
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), style))?
                    .label(*method)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
