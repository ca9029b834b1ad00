//! The semi-supervised digit classifier: Kingma et al. (2014)'s M2 on MNIST (all ten digits,
//! as in the paper), with labels kept for only a few training images.
//!
//! P-model, per image n: `y_n ~ OneHotCategorical(1/10, …)`, `z_n ~ N(0, I₁₀)`,
//! `x_n ~ Bernoulli(logits = decoder([z_n, y_n]))`, decoder = Dense(256, relu) → Dense(784).
//! Q-model: `q(y | x)` = OneHotCategorical(logits = classifier(x)), classifier =
//! Dense(256, relu) → Dense(10); `q(z | x, y)` = Normal from encoder([x, y]) =
//! Dense(256, relu) → Dense(20) and a softplus scale.
//!
//! Each minibatch holds unlabelled images and a few labelled ones, y bound with
//! `Data::with_partial`: `Elbo::TraceEnum` takes the label where it is known and sums y out
//! exactly where it is not (the minibatch scored once per class, each weighted by q(y | x)).
//! On the known rows the Q-model adds Kingma's classification term α · ln q(y | x) (α =
//! [`ALPHA`]), and z's KL term is weighted by β = [`BETA`] (see there why). The objective is
//! a per-batch sum, as in Pyro's SS-VAE. The classifier is q(y | x); it is compared with the
//! same network trained on the labelled images alone.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_data::load_data;
use ppl_dist::param::{host_values, upload};
use ppl_dist::{Bernoulli, Categorical, Normal, OneHotCategorical, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, Elbo, Locality, Svi, VariationalFamily};
use ppl_nn::{Activation, Mlp, MlpConfig, NormalHead};

use crate::cli::ExampleArgs;
use crate::metrics::ClassifierMetrics;
use crate::plot;
use crate::summary::Summary;
use crate::vae::binarize;

/// Classes: the digits 0–9.
pub const CLASSES: usize = 10;
/// Labelled images in each minibatch (beside `--batch-size` unlabelled ones), taken in turn
/// from a shuffle of the labelled set.
pub const LABELLED_PER_BATCH: usize = 16;
/// Dimension of z.
pub const Z: usize = 10;
/// Weight α of the classification term α · ln q(y | x) per labelled image in a minibatch
/// (Kingma et al. use α = 0.1·N for the term over all labelled images; Pyro's SS-VAE example,
/// with per-batch sums, 46). Measured with 100 labels, 3 epochs, all ten digits (test
/// accuracy of q(y | x); labelled-only 74.6 %): with β = 3, α = 100: 78.2 %;
/// 1 000: 82.5 %; 10 000: 79.5 %. With β = 1: α = 100: 56.2 %, 1 000: 66.7 %, 10 000: 74.7 %.
pub const ALPHA: f64 = 1000.0;
/// Weight β of z's KL term, KL(q(z | x, y) ‖ p(z)) · β, as in a β-VAE: the model adds the
/// factor (β − 1) · ln p(z) and the Q-model (β − 1) · ln q(z | x, y), per image. With β = 1
/// (plain M2) the 10-dimensional z carries the digit and the decoder ignores y (every row of
/// `samples.png` draws the same digits), so the unlabelled images teach the classifier
/// nothing (see [`ALPHA`]); z made dearer, the digit goes through y and z keeps the style.
/// β = 5 (α = 1 000, 3 epochs): 81.8 %.
pub const BETA: f64 = 3.0;
/// Labelled training images by default.
pub const LABELS: usize = 100;

/// The P-model: the decoder.
#[derive(Module, Debug)]
pub struct M2Model<B: Backend> {
    decoder: Mlp<B>,
}

impl<B: Backend> Model<B> for M2Model<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let prior = OneHotCategorical::new(ctx.full([1, CLASSES], 1.0 / CLASSES as f64));
            let y = ctx.sample("y", prior);
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, Z]), 1.0));
            // (β − 1) · ln p(z), the model's half of z's extra KL weight (see [`BETA`]).
            let log_p =
                (z.clone().powi_scalar(2) * -0.5).sum_dim(1) - 0.5 * Z as f64 * (2.0 * std::f64::consts::PI).ln();
            ctx.factor("z_kl_weight", log_p * (BETA - 1.0));
            let logits = self.decoder.forward(Tensor::cat(vec![z, y], 1));
            ctx.sample("x", Bernoulli::from_logits(logits));
        });
    }
}

/// The Q-model: the classifier q(y | x) and the encoder q(z | x, y).
#[derive(Module, Debug)]
pub struct M2Guide<B: Backend> {
    classifier: Mlp<B>,
    encoder: Mlp<B>,
    head: NormalHead,
}

impl<B: Backend> M2Guide<B> {
    /// Class probabilities `[n, 3]` of images `x` `[n, 784]` (binarized).
    pub fn classify(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        burn::tensor::activation::softmax(self.classifier.forward(x), 1)
    }
}

impl<B: Backend> Model<B> for M2Guide<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            let logits = self.classifier.forward(x.clone());
            if let Some((labels, known)) = ctx.partial_data::<2>("y") {
                // The labelled rows: the classification term enters the objective as −(a guide
                // factor), i.e. + α · ln q(y | x); 0 in the unlabelled rows.
                let rows = known.dims()[0];
                let log_q = (log_softmax(logits.clone(), 1) * labels).sum_dim(1) * known.reshape([rows, 1]);
                ctx.factor("classification", log_q * -ALPHA);
            }
            let y = ctx.sample("y", OneHotCategorical::from_logits_unchecked(logits));
            let out = self.encoder.forward(Tensor::cat(vec![x, y], 1));
            let qz = self.head.normal(out);
            let z = ctx.sample("z", qz.clone());
            if let Ok(qz) = qz {
                // (β − 1) · ln q(z | x, y), the Q-model's half (a guide factor is subtracted).
                let log_q = ppl_dist::Distribution::log_prob(&qz, z).sum_dim(1);
                ctx.factor("z_kl_weight", log_q * (BETA - 1.0));
            }
        });
    }
}

/// An inference network: every latent is per row.
impl<B: Backend> VariationalFamily<B> for M2Guide<B> {
    fn locality(&self) -> Locality {
        Locality::Local
    }
}

/// Build the P- and Q-models with seeded weights.
pub fn build<B: Backend>(seed: u64, device: &B::Device) -> (M2Model<B>, M2Guide<B>) {
    let mlp = |sizes: &[usize], s: u64| {
        MlpConfig::new(sizes)
            .with_hidden(Activation::Relu)
            .with_seed(seed + s)
            .init(device)
    };
    (
        M2Model {
            decoder: mlp(&[Z + CLASSES, 256, 784], 0),
        },
        M2Guide {
            classifier: classifier_network(seed, device),
            encoder: mlp(&[784 + CLASSES, 256, 2 * Z], 2),
            head: NormalHead::new(Z),
        },
    )
}

/// The classifier network, 784 → 256 (relu) → 10, seeded: M2's q(y | x) and the
/// labelled-only baseline start from the same weights.
fn classifier_network<B: Backend>(seed: u64, device: &B::Device) -> Mlp<B> {
    MlpConfig::new(&[784, 256, CLASSES])
        .with_hidden(Activation::Relu)
        .with_seed(seed + 1)
        .init(device)
}

/// The labelled-only baseline: `y ~ Categorical(logits = classifier(x))`, fitted by maximum
/// likelihood (no latents; an empty Q-model).
#[derive(Module, Debug)]
pub struct LabelledOnly<B: Backend> {
    classifier: Mlp<B>,
}

impl<B: Backend> Model<B> for LabelledOnly<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let logits = self.classifier.forward(ctx.data::<2>("x"));
            ctx.sample("y", Categorical::from_logits(logits));
        });
    }
}

/// The M2 example's defaults: 10 epochs (passes over the unlabelled images), batch 128,
/// lr 0.001, `out/ssvae`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 10,
        lr: 1e-3,
        out_dir: "out/ssvae".into(),
        ..Default::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct SsvaeReport {
    /// Test accuracy of M2's classifier q(y | x).
    pub accuracy: f64,
    /// Test accuracy of the same network trained on the labelled images alone.
    pub accuracy_labelled_only: f64,
    /// M2's confusion matrix, `[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Labelled training images.
    pub labels: usize,
    /// Labelled training images per class (0–9).
    pub label_counts: Vec<usize>,
    /// SVI steps (minibatches of unlabelled and labelled images).
    pub steps: usize,
    /// Seconds fitting M2.
    pub fit_seconds: f64,
    /// (train, test) images.
    pub sizes: (usize, usize),
}

/// `n` training indices with their labels kept: the first `n / 3` (or one more) images of
/// each class in a seeded shuffle, so the classes are balanced (as in Kingma et al.).
fn labelled_indices(labels: &[u8], n: usize, key: &RngKey) -> Vec<usize> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    let mut k = key.clone();
    for i in (1..order.len()).rev() {
        order.swap(i, k.index(i + 1));
    }
    let mut taken = [0usize; CLASSES];
    let mut out = Vec::new();
    for i in order {
        let c = labels[i] as usize;
        let quota = n / CLASSES + usize::from(c < n % CLASSES);
        if taken[c] < quota {
            taken[c] += 1;
            out.push(i);
        }
    }
    out.sort_unstable();
    out
}

/// One-hot rows `[n, 10]` for labels.
fn one_hot<B: Backend>(labels: &[u8], device: &B::Device) -> Tensor<B, 2> {
    let mut v = vec![0.0; labels.len() * CLASSES];
    for (i, &l) in labels.iter().enumerate() {
        v[i * CLASSES + l as usize] = 1.0;
    }
    upload::<B, 2>(v, [labels.len(), CLASSES], device)
}

/// Test accuracy of class probabilities `probs` (host, row-major `[n, 10]`).
fn metrics(probs: &[f64], labels: &[u8]) -> ClassifierMetrics {
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    ClassifierMetrics::from_probs(probs, CLASSES, &labels)
}

/// Fit M2 and the labelled-only baseline, evaluate both on the test images, write
/// `loss_curve.png`, `samples.png` (images decoded per class: the same z in each column),
/// `model.dot`/`model.svg` and `summary.json`.
///
/// # Errors
/// Missing data, fitting errors, unwritable output (as text).
pub fn run<B: TrainingBackend>(args: &ExampleArgs, labels: usize, device: &B::Device) -> Result<SsvaeReport, String> {
    let digits: Vec<u8> = (0..CLASSES as u8).collect();
    let opts = args.mnist_options(&digits);
    let (train, test) = load_data::<B>(&opts, device).map_err(|e| e.to_string())?;
    let key = RngKey::new(args.seed);
    let x_train = binarize(train.images_flat(), &key.fold_in("binarize").fold_in("train"));
    let x_test = binarize(test.images_flat(), &key.fold_in("binarize").fold_in("test"));
    let n = train.len();
    if labels == 0 || labels >= n {
        return Err(format!(
            "labels: {labels} labelled images of {n}; choose 1 to {}",
            n - 1
        ));
    }
    let kept = labelled_indices(&train.label_values, labels, &key.fold_in("labels"));
    let unlabelled: Vec<usize> = {
        let mut is_kept = vec![false; n];
        kept.iter().for_each(|&i| is_kept[i] = true);
        (0..n).filter(|&i| !is_kept[i]).collect()
    };
    let to_idx = |v: &[usize]| {
        Tensor::<B, 1, burn::tensor::Int>::from_ints(v.iter().map(|&i| i as i64).collect::<Vec<_>>().as_slice(), device)
    };
    let kept_labels: Vec<u8> = kept.iter().map(|&i| train.label_values[i]).collect();
    let x_lab = x_train.clone().select(0, to_idx(&kept));
    let y_lab = one_hot::<B>(&kept_labels, device);
    let x_unl = x_train.select(0, to_idx(&unlabelled));
    let nu = unlabelled.len();

    // M2: each minibatch, `m` unlabelled images and `l` labelled ones, y known in the latter.
    let start = Instant::now();
    let (p, q) = build::<B>(args.seed, device);
    let mut svi = Svi::new(p, q, args.svi_config(Elbo::TraceEnum { particles: 1 }), device);
    let m = args.batch_size.min(nu);
    let l = LABELLED_PER_BATCH.min(labels);
    let per_epoch = nu.div_ceil(m);
    let total = args.steps.unwrap_or(args.epochs * per_epoch);
    let progress = ppl_infer::progress::bar(total as u64, args.progress);
    let shuffle = |n: usize, key: &mut RngKey| {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, key.index(i + 1));
        }
        order
    };
    let (mut order_key, mut label_key) = (key.fold_in("minibatches"), key.fold_in("labelled-minibatches"));
    let (mut order, mut label_order, mut cursor) = (Vec::new(), Vec::new(), labels);
    let mut losses = Vec::new();
    let mut batch = Data::new();
    for step in 0..total {
        let b = step % per_epoch;
        if b == 0 {
            order = shuffle(nu, &mut order_key);
        }
        let rows = &order[b * m..((b + 1) * m).min(nu)];
        let mut lab = Vec::with_capacity(l);
        while lab.len() < l {
            if cursor == labels {
                label_order = shuffle(labels, &mut label_key);
                cursor = 0;
            }
            lab.push(label_order[cursor]);
            cursor += 1;
        }
        let n = rows.len() + l;
        let known: Vec<f64> = (0..n).map(|i| f64::from(i >= rows.len())).collect();
        let lab = to_idx(&lab);
        let y = Tensor::cat(
            vec![
                Tensor::zeros([rows.len(), CLASSES], device),
                y_lab.clone().select(0, lab.clone()),
            ],
            0,
        );
        let x = Tensor::cat(
            vec![x_unl.clone().select(0, to_idx(rows)), x_lab.clone().select(0, lab)],
            0,
        );
        batch = Data::new()
            .with("x", x)
            .with_partial("y", y, upload::<B, 1>(known, [n], device));
        let loss = svi.step(&batch, n).map_err(|e| e.to_string())?;
        losses.push(loss / n as f64);
        progress.inc(1);
        if step % 20 == 1 {
            let recent = &losses[losses.len().saturating_sub(20)..];
            let mean = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
            let rate = (step + 1) as f64 / start.elapsed().as_secs_f64().max(1e-9);
            progress.set_message(ppl_infer::progress::message(step / per_epoch, mean, None, rate));
        }
    }
    progress.finish_and_clear();
    let fit_seconds = start.elapsed().as_secs_f64();
    let fitted = svi.to_posterior();
    let probs = host_values(&fitted.guide().classify(x_test.clone()).detach());
    let m2 = metrics(&probs, &test.label_values);

    // The baseline: the same classifier network, from the same weights, trained by maximum
    // likelihood on the labelled images alone (full batch, as many steps as M2's).
    let base = LabelledOnly {
        classifier: classifier_network::<B>(args.seed, device),
    };
    let labelled_ints = Data::new().with("x", x_lab).with(
        "y",
        Tensor::<B, 1, burn::tensor::Int>::from_ints(
            kept_labels.iter().map(|&l| l as i64).collect::<Vec<_>>().as_slice(),
            device,
        ),
    );
    let mut only = Svi::new(
        base,
        model_fn(|_: &mut Ctx<B>| {}),
        ppl_infer::SviConfig {
            progress: false,
            ..args.svi_config(Elbo::Trace { particles: 1 })
        },
        device,
    );
    for _ in 0..total {
        only.step(&labelled_ints, labels).map_err(|e| e.to_string())?;
    }
    let only_fit = only.to_posterior();
    let logits = only_fit.model().classifier.forward(x_test.clone());
    let base_probs = host_values(&burn::tensor::activation::softmax(logits, 1).detach());
    let baseline = metrics(&base_probs, &test.label_values);

    // Figures.
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    crate::model_graph::write(svi.model(), &batch, device, dir, "model")?;
    plot::write_loss_curve(
        &losses,
        "M2: loss per minibatch",
        "−ELBO (nats per image, y summed out where unknown)",
        50,
        dir,
    )?;
    // 8 draws of z (columns), decoded once per class (rows): style held, digit changed.
    let cols = 8;
    let z = key.fold_in("samples").standard_normal(cols * Z);
    let mut zs = Vec::new();
    let mut ys = Vec::new();
    for c in 0..CLASSES {
        zs.extend_from_slice(&z);
        for _ in 0..cols {
            let mut row = [0.0; CLASSES];
            row[c] = 1.0;
            ys.extend_from_slice(&row);
        }
    }
    let zy = Tensor::cat(
        vec![
            upload::<B, 2>(zs, [CLASSES * cols, Z], device),
            upload::<B, 2>(ys, [CLASSES * cols, CLASSES], device),
        ],
        1,
    );
    let decoded = host_values(&burn::tensor::activation::sigmoid(fitted.model().decoder.forward(zy)).detach());
    let images: Vec<Vec<f64>> = decoded.chunks(784).map(<[f64]>::to_vec).collect();
    plot::write(
        plot::image_grid(
            &images,
            (CLASSES, cols),
            (28, 28),
            "Decoded per class (rows 0–9) from the same 8 draws of z (columns)",
        ),
        dir,
        "samples.png",
    )?;

    let report = SsvaeReport {
        accuracy: m2.accuracy,
        accuracy_labelled_only: baseline.accuracy,
        confusion: m2.confusion,
        labels,
        label_counts: (0..CLASSES)
            .map(|c| kept_labels.iter().filter(|&&l| l as usize == c).count())
            .collect(),
        steps: svi.steps(),
        fit_seconds,
        sizes: (n, test.len()),
    };
    Summary::new()
        .num(
            "accuracy",
            report.accuracy,
            "fraction of the test images, M2's q(y | x)",
        )
        .num(
            "accuracy_labelled_only",
            report.accuracy_labelled_only,
            "fraction of the test images, the same network trained on the labelled images alone",
        )
        .value(
            "confusion",
            &report.confusion,
            "test images; rows: true digit 0–9; columns: predicted",
        )
        .int("labelled_images", report.labels, "images")
        .value("labelled_per_class", &report.label_counts, "images of digit 0–9")
        .num(
            "alpha",
            ALPHA,
            "weight of α · ln q(y | x) per labelled image in a minibatch",
        )
        .num("beta", BETA, "weight of z's KL term")
        .int("labelled_per_batch", LABELLED_PER_BATCH.min(report.labels), "images")
        .int("steps", report.steps, "SVI steps")
        .num("fit_seconds", report.fit_seconds, "seconds")
        .int("train_images", report.sizes.0, "images")
        .int("test_images", report.sizes.1, "images")
        .write::<B>(dir, args, device)?;
    Ok(report)
}
