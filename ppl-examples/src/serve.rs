//! Serving the exported digit classifier: read images (IDX or CSV, from a file or stdin),
//! load the posterior that `digits --export DIR` wrote on a plain backend (no autodiff), and
//! write each image's class probabilities as CSV or JSON lines, with the accuracy when labels
//! are given. The `digits-serve` binary is a thin `main` around [`serve`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use ppl_infer::Posterior;

use crate::digits::{build, classify, DigitModel, DigitQ, CLASSES};

/// Pixels per image.
pub const PIXELS: usize = 28 * 28;

/// How `digits-serve` writes its predictions (`--format csv|jsonl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `index,p0,p1,p2,predicted[,label]` with a header line.
    Csv,
    /// One JSON object per image: `{"index":…,"probs":[…],"predicted":…[,"label":…]}`.
    #[value(name = "jsonl")]
    JsonLines,
}

/// What `digits-serve` was asked to do: its command line (clap; the first line of each
/// field's documentation is the flag's help).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "digits-serve")]
pub struct ServeArgs {
    /// The export directory that `digits --export DIR` wrote
    #[arg(value_name = "EXPORT_DIR")]
    pub export_dir: PathBuf,
    /// Images: an IDX file (`*-images-idx3-ubyte`, optionally gzipped) or CSV (784 pixels 0–255 per line, optionally after a label); `-` is stdin (default: stdin)
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Labels for IDX images (`*-labels-idx1-ubyte`; default: none, no accuracy)
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Keep only images with these labels, comma-separated (needs labels; default: all)
    #[arg(long, value_name = "0,1,2", value_delimiter = ',')]
    pub digits: Vec<u8>,
    /// Output format: csv (a header, then `index,p0,p1,p2,predicted[,label]`) or jsonl
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv, hide_possible_values = true)]
    pub format: OutputFormat,
}

/// What a serve run measured.
#[derive(Debug, Clone)]
pub struct ServeReport {
    /// Images classified.
    pub images: usize,
    /// Accuracy against the labels, when there were labels.
    pub accuracy: Option<f64>,
    /// Seconds from the start of [`serve`] until the posterior was loaded.
    pub load_seconds: f64,
    /// Seconds from the start of [`serve`] until the predictions were computed.
    pub first_prediction_seconds: f64,
    /// Seconds spent classifying.
    pub classify_seconds: f64,
}

/// Images as `[n × 784]` pixels in [0, 1] (scaled exactly as `ppl-data` scales MNIST), with
/// their labels when the input has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// Row-major pixels.
    pub pixels: Vec<f32>,
    /// One label per image, if known.
    pub labels: Option<Vec<u8>>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / PIXELS
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// Keep the images whose label is in `digits` (all when empty).
    ///
    /// # Errors
    /// When `digits` is not empty and there are no labels.
    pub fn keep_digits(self, digits: &[u8]) -> Result<Images, String> {
        if digits.is_empty() {
            return Ok(self);
        }
        let labels = self
            .labels
            .ok_or("--digits needs labels (--labels FILE, or a label column in the CSV)")?;
        let keep: Vec<usize> = (0..labels.len()).filter(|&i| digits.contains(&labels[i])).collect();
        Ok(Images {
            pixels: keep
                .iter()
                .flat_map(|&i| self.pixels[i * PIXELS..(i + 1) * PIXELS].iter().copied())
                .collect(),
            labels: Some(keep.iter().map(|&i| labels[i]).collect()),
        })
    }
}

fn scale(p: f64) -> f32 {
    // ppl-data's MNIST scaling: value as f32 times (1/255 as f32).
    p as f32 * (1.0f64 / 255.0) as f32
}

/// Read images from `path` (`None` or `-`: stdin): IDX when the bytes start with the IDX
/// magic of unsigned bytes (or gzip), CSV otherwise (read through ppl-data's CSV loader on
/// `B`); IDX labels from `labels`.
///
/// # Errors
/// Unreadable input, an IDX file that is not `[n, 28, 28]` bytes, CSV lines that are not
/// 784 or 785 numbers, labels of another count.
pub fn read_images<B: Backend>(
    path: Option<&Path>,
    labels: Option<&Path>,
    device: &B::Device,
) -> Result<Images, String> {
    let stdin = path.is_none_or(|p| p == Path::new("-"));
    let (name, bytes) = if stdin {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("stdin: {e}"))?;
        (PathBuf::from("<stdin>"), b)
    } else {
        let p = path.expect("not stdin");
        let b = ppl_data::idx::read_bytes(p).map_err(|e| e.to_string())?;
        (p.to_path_buf(), b)
    };
    let idx = bytes.len() >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0x08;
    let mut images = if idx {
        let a = ppl_data::idx::parse(&name, &bytes).map_err(|e| e.to_string())?;
        if a.dims.len() != 3 || a.dims[1] * a.dims[2] != PIXELS {
            return Err(format!(
                "{}: IDX images of shape {:?}, expected [n, 28, 28]",
                name.display(),
                a.dims
            ));
        }
        Images {
            pixels: a.data.iter().map(|&p| scale(f64::from(p))).collect(),
            labels: None,
        }
    } else {
        read_csv::<B>(&name, &bytes, device)?
    };
    if let Some(lp) = labels {
        let a = ppl_data::idx::read(lp).map_err(|e| e.to_string())?;
        if a.dims.len() != 1 || a.dims[0] != images.len() {
            return Err(format!(
                "{}: {:?} labels for {} images",
                lp.display(),
                a.dims,
                images.len()
            ));
        }
        images.labels = Some(a.data);
    }
    Ok(images)
}

/// CSV images: 784 pixel columns, or a label column then 784 pixel columns; a header line
/// is allowed (ppl-data's CSV loader reads the numbers).
fn read_csv<B: Backend>(name: &Path, bytes: &[u8], device: &B::Device) -> Result<Images, String> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(format!("{}: neither IDX nor UTF-8 CSV", name.display()));
    }
    // The width of the first record (the csv crate: quoting, blank lines).
    let fields = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .next()
        .and_then(Result::ok)
        .map_or(0, |r| r.len());
    let labelled = match fields {
        PIXELS => false,
        f if f == PIXELS + 1 => true,
        f => {
            return Err(format!(
                "{}: CSV lines of {f} fields; expected {PIXELS} pixels, optionally after a label",
                name.display()
            ))
        }
    };
    let cols: Vec<String> = (0..fields).map(|i| i.to_string()).collect();
    let col = |r: std::ops::Range<usize>| cols[r].iter().map(String::as_str).collect::<Vec<_>>();
    let first = usize::from(labelled);
    let mut loader = ppl_data::CsvLoader::new(name).var("x", &col(first..fields));
    if labelled {
        loader = loader.var("label", &col(0..1));
    }
    let data = loader.load_bytes::<B>(bytes, device).map_err(|e| e.to_string())?;
    let pixels = data.get("x").expect("bound above").to_vec();
    let labels = if labelled {
        let l = data.get("label").expect("bound above").to_vec();
        if let Some(bad) = l.iter().find(|v| v.fract() != 0.0 || **v < 0.0 || **v > 255.0) {
            return Err(format!("{}: label {bad} is not a class", name.display()));
        }
        Some(l.iter().map(|&v| v as u8).collect())
    } else {
        None
    };
    Ok(Images {
        pixels: pixels.into_iter().map(scale).collect(),
        labels,
    })
}

/// Load the exported classifier from `args.export_dir` on backend `B` (any backend; no
/// autodiff), classify `images` the way the main job does, and write one line per image to
/// `out`.
///
/// # Errors
/// Export errors (missing, corrupt or mismatched files, as `InferError::Export` text) and
/// output errors.
pub fn serve<B: Backend>(
    args: &ServeArgs,
    images: &Images,
    device: &B::Device,
    out: &mut impl Write,
) -> Result<ServeReport, String> {
    let start = Instant::now();
    let (model, guide) = build::<B>(0, device); // skeletons: their weights are replaced
    let post: Posterior<B, DigitModel<B>, DigitQ<B>> =
        Posterior::load(&args.export_dir, model, guide, device).map_err(|e| e.to_string())?;
    let load_seconds = start.elapsed().as_secs_f64();
    let n = images.len();
    let x = Tensor::<B, 2>::from_data(
        TensorData::new(images.pixels.clone(), [n, PIXELS]),
        ppl_dist::param::float_options::<B>(device),
    );
    let t = Instant::now();
    let probs = classify(post.model(), post.guide(), x, post.seed(), device);
    let classify_seconds = t.elapsed().as_secs_f64();
    let first_prediction_seconds = start.elapsed().as_secs_f64();
    let write_err = |e: std::io::Error| format!("output: {e}");
    if args.format == OutputFormat::Csv {
        let label_col = if images.labels.is_some() { ",label" } else { "" };
        writeln!(out, "index,p0,p1,p2,predicted{label_col}").map_err(write_err)?;
    }
    for (i, p) in probs.chunks(CLASSES).enumerate() {
        let predicted = argmax(p);
        let label = images.labels.as_ref().map(|l| l[i]);
        match args.format {
            OutputFormat::Csv => {
                let label = label.map(|l| format!(",{l}")).unwrap_or_default();
                writeln!(out, "{i},{:.6},{:.6},{:.6},{predicted}{label}", p[0], p[1], p[2]).map_err(write_err)?;
            }
            OutputFormat::JsonLines => {
                let mut v = serde_json::json!({ "index": i, "probs": p, "predicted": predicted });
                if let Some(l) = label {
                    v["label"] = l.into();
                }
                writeln!(out, "{v}").map_err(write_err)?;
            }
        }
    }
    // Labels outside the classifier's classes count as wrong.
    let accuracy = images.labels.as_ref().map(|l| {
        let right = probs
            .chunks(CLASSES)
            .zip(l)
            .filter(|(p, &l)| argmax(p) == usize::from(l))
            .count();
        right as f64 / n.max(1) as f64
    });
    Ok(ServeReport {
        images: n,
        accuracy,
        load_seconds,
        first_prediction_seconds,
        classify_seconds,
    })
}

/// The predicted class, with ties broken as `ClassifierMetrics` breaks them.
fn argmax(p: &[f64]) -> usize {
    (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0)
}
