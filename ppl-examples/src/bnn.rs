//! A Bayesian neural network classifier on real MNIST digits 0, 1, 2 (ppl-nn's Flipout layers,
//! InferPy's `inf.layers` example).
//!
//! Model, per image n: `y_n ~ Categorical(logits = f_W(x_n))` with `f_W` = Flipout dense
//! 784 → 64 (relu) → 64 (relu) → 3 and a `N(0, 1)` prior on every weight; the layers hold a
//! mean-field normal posterior over W and add its `−KL` to the ELBO. No Q-model: the weights'
//! posterior lives in the layers. Prediction averages the softmax over 20 weight draws; the
//! predictive entropy measures uncertainty (higher on the images it gets wrong).

use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_data::load_data;
use ppl_dist::{Categorical, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, Elbo, Svi};
use ppl_nn::{BayesianDenseConfig, DenseFlipout};

use crate::cli::ExampleArgs;
use crate::metrics::ClassifierMetrics;
use crate::plot;
use crate::summary::Summary;

/// The BNN: three Flipout layers.
#[derive(Module, Debug)]
pub struct BnnClassifier<B: Backend> {
    fc1: DenseFlipout<B>,
    fc2: DenseFlipout<B>,
    out: DenseFlipout<B>,
}

impl<B: Backend> BnnClassifier<B> {
    /// `[n, 784]` images → `[n, 3]` logits under one draw of the weights (records the KL
    /// factors in `ctx`).
    pub fn logits(&self, ctx: &mut Ctx<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = relu(self.fc1.forward(ctx, x));
        let h = relu(self.fc2.forward(ctx, h));
        self.out.forward(ctx, h)
    }

    /// Predictive class probabilities `[n, 3]`: the softmax averaged over `draws` weight draws.
    pub fn predict(&self, x: Tensor<B, 2>, draws: usize, key: &RngKey) -> Tensor<B, 2> {
        let device = x.device();
        let mut probs: Option<Tensor<B, 2>> = None;
        for s in 0..draws {
            let mut ctx = Ctx::new(Data::new(), key.fold_in_u64(s as u64), &device);
            let p = softmax(self.logits(&mut ctx, x.clone()), 1).detach();
            probs = Some(match probs {
                Some(acc) => acc + p,
                None => p,
            });
        }
        probs.expect("at least one draw") / draws.max(1) as f64
    }
}

impl<B: Backend> Model<B> for BnnClassifier<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            let logits = self.logits(ctx, x);
            ctx.sample("y", Categorical::from_logits(logits));
        });
    }
}

/// Build the classifier with seeded posterior means (initial posterior sd 0.05, prior N(0, 1)).
pub fn build<B: Backend>(seed: u64, device: &B::Device) -> BnnClassifier<B> {
    let layer = |name: &str, d_in, d_out, s| BayesianDenseConfig::new(name, d_in, d_out).with_seed(seed + s);
    BnnClassifier {
        fc1: layer("fc1", 784, 64, 0).init_flipout(device),
        fc2: layer("fc2", 64, 64, 1).init_flipout(device),
        out: layer("out", 64, 3, 2).init_flipout(device),
    }
}

/// The BNN's defaults: 10 epochs, batch 128, lr 0.005, `out/bnn`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 10,
        lr: 0.005,
        out_dir: "out/bnn".into(),
        ..Default::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BnnReport {
    /// Test metrics of the predictive (20 weight draws).
    pub metrics: ClassifierMetrics,
    /// Mean loss of the last epoch.
    pub final_loss: f64,
    /// SVI steps.
    pub steps: usize,
    /// Steps per second.
    pub steps_per_second: f64,
    /// Whole run, seconds (data loading excluded).
    pub seconds: f64,
    /// (train, test) images.
    pub sizes: (usize, usize),
}

/// Fit and evaluate; writes `loss_curve.png`, `most_uncertain.png` (the 48 test images with
/// the highest predictive entropy) and `summary.json` into `args.out_dir`.
///
/// # Errors
/// Missing data, fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<BnnReport, String> {
    let opts = args.mnist_options(&[0, 1, 2]);
    let (train, test) = load_data::<B>(&opts, device).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let config = args.svi_config(Elbo::Trace { particles: 1 });
    let mut svi = Svi::new(
        build::<B>(args.seed, device),
        model_fn(|_: &mut Ctx<B>| {}),
        config,
        device,
    );
    let fit = svi.fit(&train.to_data()).map_err(|e| e.to_string())?;
    let probs = svi
        .model()
        .predict(test.images_flat(), 20, &RngKey::new(args.seed).fold_in("predict"));
    let labels: Vec<usize> = test.label_values.iter().map(|&l| l as usize).collect();
    let metrics = ClassifierMetrics::from_probs(&ppl_dist::param::host_values(&probs), 3, &labels);

    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(svi.model(), &train.to_data(), device, &args.out_dir, "model")?;
    plot::write_loss_curve(
        svi.losses(),
        "Bayesian neural network: loss during SVI",
        "−ELBO (nats, all training images)",
        25,
        &args.out_dir,
    )?;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| metrics.entropies[b].total_cmp(&metrics.entropies[a]));
    let pixels = ppl_dist::param::host_values(&test.images_flat());
    let uncertain: Vec<Vec<f64>> = order
        .iter()
        .take(48)
        .map(|&i| pixels[i * 784..(i + 1) * 784].to_vec())
        .collect();
    let rows = uncertain.len().div_ceil(8);
    plot::write(
        plot::image_grid(
            &uncertain,
            (rows, 8),
            (28, 28),
            "The 48 test images with the most uncertain predictions (highest entropy first)",
        ),
        &args.out_dir,
        "most_uncertain.png",
    )?;
    let report = BnnReport {
        metrics,
        final_loss: fit.epoch_losses.last().copied().unwrap_or(f64::NAN),
        steps: fit.steps,
        steps_per_second: fit.steps_per_second,
        seconds: start.elapsed().as_secs_f64(),
        sizes: (train.len(), test.len()),
    };
    Summary::new()
        .num("accuracy", report.metrics.accuracy, "fraction of the test images")
        .value(
            "confusion",
            &report.metrics.confusion,
            "test images; rows: true digit; columns: predicted",
        )
        .num(
            "entropy_correct",
            report.metrics.entropy_correct,
            "nats, mean predictive entropy of correct predictions",
        )
        .num(
            "entropy_wrong",
            report.metrics.entropy_wrong,
            "nats, mean predictive entropy of wrong predictions",
        )
        .num(
            "final_elbo",
            -report.final_loss,
            "nats, summed over all training images",
        )
        .num(
            "final_elbo_per_image",
            -report.final_loss / report.sizes.0.max(1) as f64,
            "nats per training image",
        )
        .int("steps", report.steps, "SVI steps taken")
        .num(
            "steps_per_second",
            report.steps_per_second,
            "SVI steps per second of fitting",
        )
        .num("elapsed_seconds", report.seconds, "seconds")
        .int("train_images", report.sizes.0, "images")
        .int("test_images", report.sizes.1, "images")
        .write::<B>(&args.out_dir, args, device)?;
    Ok(report)
}
