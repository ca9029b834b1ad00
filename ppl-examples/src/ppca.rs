//! Probabilistic PCA (InferPy's probzoo) on MNIST digits 0, 1, 2, fitted with AutoNormal.
//!
//! `w ~ N(0, 1)` `[k, 784]`, `δ ~ N(0, 1)` `[784]`; per image `z_n ~ N(0, I_k)` and
//! `x_n ~ N(z_n·w + δ, 1)`, k = 2. AutoNormal gives every image its own variational
//! parameters for `z_n` (plate-local); the figure is the posterior mean of z coloured by digit
//! (the three digits separate without labels).

use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data};
use ppl_data::load_data;
use ppl_dist::Normal;
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, Elbo, Svi, SviConfig};

use crate::cli::ExampleArgs;
use crate::plot;
use crate::summary::Summary;

/// Latent dimension.
pub const K: usize = 2;

/// The model: images bound as `x` `[n, 784]`.
pub fn model<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([K, 784]), 1.0));
    let delta = ctx.sample("delta", Normal::new(ctx.zeros([1, 784]), 1.0));
    ctx.datamodel(|ctx| {
        let z = ctx.sample("z", Normal::new(ctx.zeros([1, K]), 1.0));
        ctx.sample("x", Normal::new(z.matmul(w) + delta, 1.0));
    });
}

/// PPCA's defaults: 1 000 training images, 1 500 full-batch steps, lr 0.05, `out/ppca`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 1500,
        lr: 0.05,
        num_instances: Some(1000),
        num_instances_test: Some(1),
        out_dir: "out/ppca".into(),
        ..Default::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct PpcaReport {
    /// Final loss (−ELBO) per image.
    pub loss_per_image: f64,
    /// Images fitted.
    pub images: usize,
    /// Nearest-class-centroid accuracy of the posterior means of z (a measure of how well
    /// the unsupervised 2-d projection separates the digits).
    pub centroid_accuracy: f64,
}

/// Fit and report; writes `latent_space.png`, `loss_curve.png` and `summary.json`.
///
/// # Errors
/// Missing data, fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<PpcaReport, String> {
    let (train, _) = load_data::<B>(&args.mnist_options(&[0, 1, 2]), device).map_err(|e| e.to_string())?;
    let n = train.len();
    let data = Data::new().with("x", train.images_flat());
    let guide = AutoNormal::new(&model::<B>, &data, device).map_err(|e| e.to_string())?;
    let config = SviConfig {
        batch_size: usize::MAX,
        shuffle: false,
        ..args.svi_config(Elbo::MeanField { particles: 1 })
    };
    let mut svi = Svi::new(model_fn(model::<B>), guide, config, device);
    let fit = svi.fit(&data).map_err(|e| e.to_string())?;
    let z: Vec<f64> = svi.param("z.loc").ok_or("AutoNormal's z.loc")?.to_vec();
    let points: Vec<(f64, f64)> = z.chunks(K).map(|c| (c[0], c[1])).collect();
    let labels: Vec<usize> = train.label_values.iter().map(|&l| l as usize).collect();
    // Nearest class centroid in the latent space.
    let mut cent = [(0.0, 0.0, 0usize); 3];
    for (&(a, b), &l) in points.iter().zip(&labels) {
        cent[l] = (cent[l].0 + a, cent[l].1 + b, cent[l].2 + 1);
    }
    let cent: Vec<(f64, f64)> = cent
        .iter()
        .map(|&(a, b, c)| (a / c.max(1) as f64, b / c.max(1) as f64))
        .collect();
    let hits = points
        .iter()
        .zip(&labels)
        .filter(|(&(a, b), &l)| {
            let d = |k: usize| (a - cent[k].0).powi(2) + (b - cent[k].1).powi(2);
            (0..3).min_by(|&i, &j| d(i).total_cmp(&d(j))) == Some(l)
        })
        .count();
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(&model::<B>, &data, device, &args.out_dir, "model")?;
    plot::write(
        plot::scatter_panels(
            &[plot::ScatterPanel {
                title: "training images",
                points: &points,
                classes: &labels,
            }],
            &plot::DIGIT_CLASSES,
            "Probabilistic PCA: posterior means of z",
            ("z₁", "z₂"),
            480,
        ),
        &args.out_dir,
        "latent_space.png",
    )?;
    plot::write_loss_curve(
        svi.losses(),
        "Probabilistic PCA: loss during SVI",
        "−ELBO (nats, all images)",
        25,
        &args.out_dir,
    )?;
    let report = PpcaReport {
        loss_per_image: fit.epoch_losses.last().copied().unwrap_or(f64::NAN) / n as f64,
        images: n,
        centroid_accuracy: hits as f64 / n as f64,
    };
    Summary::new()
        .num("elbo_per_image", -report.loss_per_image, "nats per image")
        .num(
            "latent_centroid_accuracy",
            report.centroid_accuracy,
            "fraction of the images nearest their digit's latent centroid",
        )
        .int("images", n, "images")
        .write::<B>(&args.out_dir, args, device)?;
    Ok(report)
}
