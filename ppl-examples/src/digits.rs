//! The InferPy digit classifier (InferPy paper, Fig. 1–5) on real MNIST digits 0, 1, 2.
//!
//! P-model, per image n: `z_n ~ N(0.1·1, I)` (k = 2), `x_n ~ N(NN1(z_n), I)` with NN1 =
//! Dense(100, relu) → Dense(784), `y_n ~ Categorical(logits = NN2(z_n))` with NN2 = Dense(3).
//! Q-model: an encoder Dense(100, relu) → Dense(2k) on `x_n`; loc = first k outputs, scale =
//! softplus(rest) + 0.01. Fit by SVI on minibatches (scaled by N/M); then the posterior of z
//! given x alone and the posterior predictive of y given z classify the test images.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_data::load_data;
use ppl_dist::{Categorical, Normal, RngKey};
use ppl_infer::collective::Peers;
use ppl_infer::TrainingBackend;
use ppl_infer::{
    AutoAmortizedNormal, AutoAmortizedNormalConfig, Elbo, FitReport, InferError, Locality, Svi, SviConfig, SviGuide,
    VariationalFamily,
};
use ppl_nn::{Activation, Mlp, MlpConfig, NormalHead};

use crate::cli::ExampleArgs;
use crate::metrics::ClassifierMetrics;
use crate::plot;
use crate::summary::Summary;

/// The P-model.
#[derive(Module, Debug)]
pub struct DigitModel<B: Backend> {
    nn1: Mlp<B>,
    nn2: Mlp<B>,
    k: usize,
}

impl<B: Backend> Model<B> for DigitModel<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.full([1, self.k], 0.1), 1.0)); // one instance, broadcast
            ctx.sample("x", Normal::new(self.nn1.forward(z.clone()), 1.0));
            ctx.sample("y", Categorical::from_logits(self.nn2.forward(z)));
        });
    }
}

/// The Q-model (an inference network on x).
#[derive(Module, Debug)]
pub struct DigitQ<B: Backend> {
    encoder: Mlp<B>,
    head: NormalHead,
}

/// A Q-model of the digit classifier: a guide whose z, for images `x` `[n, 784]`, is normal
/// with `(loc, scale)`, each `[n, k]`, computed from x alone. [`classify`] and the figures
/// need only that. The hand-written [`DigitQ`] is one; so is the amortized autoguide
/// ([`AutoAmortizedNormal`], `digits --autoguide`).
pub trait DigitGuide<B: Backend> {
    /// The posterior parameters of z for images `x` `[n, 784]`: `(loc, scale)`, each `[n, k]`.
    fn encode(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>);
}

impl<B: Backend> DigitGuide<B> for DigitQ<B> {
    fn encode(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        self.head
            .params(self.encoder.forward(x))
            .expect("the encoder's last layer has the head's width 2k")
    }
}

/// The autoguide built on the digit model by [`autoguide`]: its one per-row latent is z,
/// real, so the encoder's normal is z's.
impl<B: Backend> DigitGuide<B> for AutoAmortizedNormal<B> {
    fn encode(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        assert!(
            matches!(self.sites(), [s] if s.name == "z"),
            "a digit guide covers z alone; this one covers {:?}",
            self.sites().iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        AutoAmortizedNormal::encode(self, x).remove(0)
    }
}

impl<B: Backend> Model<B> for DigitQ<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let out = self.encoder.forward(ctx.data::<2>("x"));
            ctx.sample("z", self.head.normal(out));
        });
    }
}

/// An inference network: every latent is per row, so particles may be vectorized.
impl<B: Backend> VariationalFamily<B> for DigitQ<B> {
    fn locality(&self) -> Locality {
        Locality::Local
    }
}

/// Build the P-model and Q-model (k = 2, d0 = 100, dx = 784, dy = 3) with seeded weights.
pub fn build<B: Backend>(seed: u64, device: &B::Device) -> (DigitModel<B>, DigitQ<B>) {
    let (k, d0, dx, dy) = (2, 100, 784, 3);
    let nn1 = MlpConfig::new(&[k, d0, dx])
        .with_hidden(Activation::Relu)
        .with_seed(seed)
        .init(device);
    let nn2 = MlpConfig::new(&[k, dy]).with_seed(seed + 1).init(device);
    let encoder = MlpConfig::new(&[dx, d0, 2 * k])
        .with_hidden(Activation::Relu)
        .with_seed(seed + 2)
        .init(device);
    let head = NormalHead::new(k).with_floor(0.01);
    (DigitModel { nn1, nn2, k }, DigitQ { encoder, head })
}

/// The amortized autoguide for the digit model (`digits --autoguide`): found from the model
/// and `data` (it reads `x`, covers z), shaped like [`DigitQ`] — one hidden layer of 100
/// ReLU units, scale floor 0.01, seeded by `seed + 2` — so no hand-written guide is needed.
///
/// # Errors
/// As [`AutoAmortizedNormalConfig::init`].
pub fn autoguide<B: Backend>(
    model: &DigitModel<B>,
    data: &Data<B>,
    seed: u64,
    device: &B::Device,
) -> Result<AutoAmortizedNormal<B>, InferError> {
    AutoAmortizedNormalConfig::new()
        .with_hidden(&[100])
        .with_activation(Activation::Relu)
        .with_floor(0.01)
        .with_seed(seed + 2)
        .init(model, data, device)
}

/// The classes: digits 0, 1, 2.
pub const CLASSES: usize = 3;

/// Draws of z per image that [`classify`] averages over.
pub const CLASSIFIER_DRAWS: usize = 32;

/// The classifier's class probabilities for images `x` `[n, 784]` (pixels in [0, 1]): the
/// posterior predictive of y averaged over [`CLASSIFIER_DRAWS`] draws of z from the guide;
/// `n × 3` host values, row-major. The main job and `digits-serve` both call it, so the same
/// weights and seed give the same numbers.
///
/// Each image's draws come from a key of its own, derived from `seed` and the image's pixels,
/// so an image gets the same probabilities wherever it sits in the input, alone or in a batch:
/// the served classifier is a function of the image.
pub fn classify<B: Backend>(
    model: &DigitModel<B>,
    guide: &impl DigitGuide<B>,
    x: Tensor<B, 2>,
    seed: u64,
    device: &B::Device,
) -> Vec<f64> {
    let [n, d] = x.dims();
    let k = model.k;
    let pixels = ppl_dist::param::host_values(&x);
    let base = RngKey::new(seed).fold_in("classifier");
    // eps[s] holds draw s for every image: [n, k].
    let mut eps = vec![vec![0.0; n * k]; CLASSIFIER_DRAWS];
    for (i, image) in pixels.chunks(d.max(1)).enumerate() {
        let mut key = base.fold_in_u64(content_hash(image));
        let draws = key.standard_normal(CLASSIFIER_DRAWS * k);
        for (s, e) in eps.iter_mut().enumerate() {
            e[i * k..(i + 1) * k].copy_from_slice(&draws[s * k..(s + 1) * k]);
        }
    }
    let (loc, scale) = guide.encode(x);
    let mut probs = Tensor::<B, 2>::zeros([n, CLASSES], ppl_dist::param::float_options::<B>(device));
    for e in eps {
        let eps = ppl_dist::param::upload::<B, 2>(e, [n, k], device);
        let z = loc.clone() + scale.clone() * eps;
        probs = probs + softmax(model.nn2.forward(z), 1);
    }
    ppl_dist::param::host_values(&(probs / CLASSIFIER_DRAWS as f64).detach())
}

/// FNV-1a over the bits of an image's pixel values (as the backend holds them).
fn content_hash(pixels: &[f64]) -> u64 {
    pixels.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ v.to_bits()).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The digit classifier's settings: [`ExampleArgs`] with its defaults (15 epochs, batch 128,
/// lr 0.01, `out/digits`).
pub type DigitsArgs = ExampleArgs;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct DigitsReport {
    /// Test accuracy of the posterior-predictive classifier (32 draws of z per image).
    pub accuracy: f64,
    /// Accuracy of single posterior-predictive draws of y (the InferPy recipe, literally).
    pub accuracy_sampled: f64,
    /// Confusion matrix, `[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Mean predictive entropy (nats) of correctly classified test images.
    pub entropy_correct: f64,
    /// Mean predictive entropy (nats) of misclassified test images.
    pub entropy_wrong: f64,
    /// Mean loss (−ELBO) of the last epoch, per data set.
    pub final_loss: f64,
    /// SVI steps.
    pub steps: usize,
    /// SVI steps per second.
    pub steps_per_second: f64,
    /// Seconds spent fitting.
    pub fit_seconds: f64,
    /// Seconds in all (data loading excluded).
    pub total_seconds: f64,
    /// Training and test images.
    pub sizes: (usize, usize),
}

/// Run the digit classifier end to end on backend `B` and write figures and a summary to
/// `args.out_dir`.
///
/// # Errors
/// Data loading, inference and I/O errors (as text).
pub fn run<B: TrainingBackend>(args: &DigitsArgs, device: &B::Device) -> Result<DigitsReport, String> {
    let opts = args.mnist_options(&[0, 1, 2]);
    let (train, test) = load_data::<B>(&opts, device).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let (p, q) = build::<B>(args.seed, device);
    if args.autoguide {
        let q = autoguide(&p, &train.to_data(), args.seed, device).map_err(|e| e.to_string())?;
        fit_and_report(args, device, (train, test), start, p, q)
    } else {
        fit_and_report(args, device, (train, test), start, p, q)
    }
}

/// The digit classifier's SVI engine with Q-model `Q`.
type DigitSvi<B, Q> = Svi<B, DigitModel<B>, Q>;

/// Fit, on `args.peers` data-parallel peers when more than one ([`ppl_infer::collective`]):
/// with `--orchestrator`, this process is peer `--peer-id` of that many processes; otherwise
/// this thread is peer 0 (its `Svi` is returned) and the others are threads with copies of
/// the same modules, each fitting its share of every minibatch.
///
/// # Errors
/// The fit's error, or a peer's; `--peer-id` without `--orchestrator`.
fn fit_peers<B: TrainingBackend, Q: SviGuide<B> + DigitGuide<B>>(
    p: DigitModel<B>,
    q: Q,
    config: SviConfig,
    data: &Data<B>,
    args: &DigitsArgs,
    device: &B::Device,
) -> Result<(DigitSvi<B, Q>, FitReport), String> {
    let peers = args.peers;
    let svi = Svi::new(p.clone(), q.clone(), config.clone(), device);
    if let Some(address) = &args.orchestrator {
        let mut svi = svi
            .with_peers(Peers::processes(args.peer_id, peers, address.as_str()))
            .map_err(|e| e.to_string())?;
        let report = svi.fit(data).map_err(|e| e.to_string())?;
        return Ok((svi, report));
    }
    if args.peer_id != 0 {
        return Err(format!(
            "--peer-id {} needs --orchestrator (peers as processes); without it the --peers are threads of this process",
            args.peer_id
        ));
    }
    if peers <= 1 {
        let mut svi = svi;
        let report = svi.fit(data).map_err(|e| e.to_string())?;
        return Ok((svi, report));
    }
    let mut svi = svi.with_peers(Peers::threads(0, peers)).map_err(|e| e.to_string())?;
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..peers)
            .map(|k| {
                let (p, q, config) = (p.clone(), q.clone(), config.clone());
                scope.spawn(move || -> Result<(), String> {
                    let mut svi = Svi::new(p, q, config, device)
                        .with_peers(Peers::threads(k, peers))
                        .map_err(|e| e.to_string())?;
                    svi.fit(data).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        let fitted = svi.fit(data).map_err(|e| e.to_string());
        for (k, h) in helpers.into_iter().enumerate() {
            h.join().map_err(|_| format!("peer {} panicked", k + 1))??;
        }
        fitted
    })
    .map(|report| (svi, report))
}

/// [`run`] from the fit on, for either Q-model.
fn fit_and_report<B: TrainingBackend, Q: SviGuide<B> + DigitGuide<B>>(
    args: &DigitsArgs,
    device: &B::Device,
    (train, test): (ppl_data::MnistSplit<B>, ppl_data::MnistSplit<B>),
    start: Instant,
    p: DigitModel<B>,
    q: Q,
) -> Result<DigitsReport, String> {
    let config = args.svi_config(Elbo::MeanField { particles: 1 });
    let (svi, report) = fit_peers(p, q, config, &train.to_data(), args, device)?;

    // Posterior of z for the training and test images (any number of rows, in chunks).
    let post_train = svi
        .posterior(&["z"], &Data::new().with("x", train.images.clone()))
        .map_err(|e| e.to_string())?;
    let post_test = svi
        .posterior(&["z"], &Data::new().with("x", test.images.clone()))
        .map_err(|e| e.to_string())?;
    // The InferPy recipe: z from the posterior given x alone, then y from the posterior
    // predictive given z.
    let z_test = post_test.sample("z").expect("z drawn").clone();
    let y_hat = svi
        .posterior_predictive(&["y"], &Data::new().with("z", z_test))
        .map_err(|e| e.to_string())?;
    let y_sampled = y_hat.sample("y").expect("y drawn").to_vec();

    // The classifier: average the predictive probabilities over 32 draws of z per image.
    // On the fitted posterior (modules without gradient tracking: no autodiff graph is built).
    let fitted = svi.to_posterior();
    let probs = classify(fitted.model(), fitted.guide(), test.images_flat(), args.seed, device);
    let n = test.len();
    // Peer processes other than peer 0 hold the same parameters; they write nothing.
    let writes = args.peer_id == 0;
    if let (Some(dir), true) = (&args.export, writes) {
        // One test image: the manifest records each site's shape and support as traced on it.
        let example = Data::new().with("x", test.images_flat().narrow(0, 0, 1));
        fitted.export(dir, &example).map_err(|e| e.to_string())?;
    }
    let labels: Vec<usize> = test.label_values.iter().map(|&l| l as usize).collect();
    let metrics = ClassifierMetrics::from_probs(&probs, 3, &labels);
    let sampled_ok = y_sampled
        .iter()
        .zip(&labels)
        .filter(|(y, l)| **y as usize == **l)
        .count();

    let report_at = |total: f64| DigitsReport {
        accuracy: metrics.accuracy,
        accuracy_sampled: sampled_ok as f64 / n as f64,
        confusion: metrics.confusion.clone(),
        entropy_correct: metrics.entropy_correct,
        entropy_wrong: metrics.entropy_wrong,
        final_loss: report.epoch_losses.last().copied().unwrap_or(f64::NAN),
        steps: report.steps,
        steps_per_second: report.steps_per_second,
        fit_seconds: report.seconds,
        total_seconds: total,
        sizes: (train.len(), test.len()),
    };
    if !writes {
        return Ok(report_at(start.elapsed().as_secs_f64()));
    }

    // Figures.
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(svi.model(), &train.to_data(), device, &args.out_dir, "model")?;
    let points = |v: &[f64]| v.chunks(2).map(|c| (c[0], c[1])).collect::<Vec<_>>();
    let zt = points(&post_train.mean("z").expect("Normal mean").to_vec());
    let zs = points(&post_test.mean("z").expect("Normal mean").to_vec());
    let ct: Vec<usize> = train.label_values.iter().map(|&l| l as usize).collect();
    let dir = &args.out_dir;
    let panel = |title, points, classes| plot::ScatterPanel { title, points, classes };
    plot::write(
        plot::scatter_panels(
            &[panel("training images", &zt, &ct), panel("test images", &zs, &labels)],
            &plot::DIGIT_CLASSES,
            "Posterior means of z (the Q-model's encoder)",
            ("z₁", "z₂"),
            480,
        ),
        dir,
        "latent_space.png",
    )?;
    plot::write_loss_curve(
        svi.losses(),
        "Digit classifier: loss during SVI",
        "−ELBO (nats, all training images)",
        25,
        dir,
    )?;
    // Images decoded from a 15 × 15 lattice over the range of the posterior means.
    let (lo0, hi0, lo1, hi1) = zt.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY),
        |a, &(x, y)| (a.0.min(x), a.1.max(x), a.2.min(y), a.3.max(y)),
    );
    let g = 15;
    let lattice: Vec<f64> = (0..g * g)
        .flat_map(|i| {
            let (r, c) = (i / g, i % g);
            [
                lo0 + (hi0 - lo0) * c as f64 / (g - 1) as f64,
                hi1 - (hi1 - lo1) * r as f64 / (g - 1) as f64,
            ]
        })
        .collect();
    let decoded = ppl_dist::param::host_values(
        &svi.model()
            .nn1
            .forward(ppl_dist::param::upload::<B, 2>(lattice, [g * g, 2], device))
            .detach(),
    );
    let images: Vec<Vec<f64>> = decoded.chunks(784).map(<[f64]>::to_vec).collect();
    plot::write(
        plot::image_grid(
            &images,
            (g, g),
            (28, 28),
            "NN1 decoded over a 15 × 15 lattice of z (z₁ left to right, z₂ bottom to top)",
        ),
        dir,
        "decoded_lattice.png",
    )?;

    let out = report_at(start.elapsed().as_secs_f64());
    std::fs::write(args.out_dir.join("summary.json"), summary_json::<B>(&out, args, device))
        .map_err(|e| format!("summary.json: {e}"))?;
    Ok(out)
}

/// The machine-readable summary: results, settings, and what produced them.
pub fn summary_json<B: Backend>(r: &DigitsReport, a: &DigitsArgs, device: &B::Device) -> String {
    Summary::new()
        .num(
            "accuracy",
            r.accuracy,
            "fraction of the test images, posterior predictive (32 draws)",
        )
        .num(
            "accuracy_sampled_y",
            r.accuracy_sampled,
            "fraction of the test images, one sampled label each",
        )
        .value(
            "confusion",
            &r.confusion,
            "test images; rows: true digit 0, 1, 2; columns: predicted",
        )
        .num(
            "entropy_correct",
            r.entropy_correct,
            "nats, mean predictive entropy of correct predictions",
        )
        .num(
            "entropy_wrong",
            r.entropy_wrong,
            "nats, mean predictive entropy of wrong predictions",
        )
        .num(
            "final_elbo",
            -r.final_loss,
            "nats, summed over all training images (mean of the last steps)",
        )
        .num(
            "final_elbo_per_image",
            -r.final_loss / r.sizes.0.max(1) as f64,
            "nats per training image",
        )
        .int("steps", r.steps, "SVI steps taken")
        .num(
            "steps_per_second",
            r.steps_per_second,
            "SVI steps per second of fitting",
        )
        .num("fit_seconds", r.fit_seconds, "seconds")
        .num("elapsed_seconds", r.total_seconds, "seconds, data loading to figures")
        .int("train_images", r.sizes.0, "images")
        .int("test_images", r.sizes.1, "images")
        .finish::<B>(a, device)
}
