//! Edward's inference-network VAE on binarized MNIST (all ten digits).
//!
//! P-model, per image n: `z_n ~ N(0, I₁₀)`, `x_n ~ Bernoulli(logits = decoder(z_n))` with
//! decoder = Dense(256, relu) → Dense(784). Q-model: `z_n ~ N(loc, scale)` from an encoder
//! Dense(256, relu) → Dense(20) on `x_n` and a [`NormalHead`] (softplus scale). Images are
//! binarized once by sampling each pixel as Bernoulli(intensity) with the run's seed. The
//! report is the test-set ELBO in nats per image (analytic KL; a lower bound on ln p(x)).

use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_data::load_data;
use ppl_dist::param::{host_values, mask_to_float, upload};
use ppl_dist::{Bernoulli, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{Elbo, Locality, Svi, VariationalFamily};
use ppl_nn::{Activation, Mlp, MlpConfig, NormalHead};

use crate::cli::ExampleArgs;
use crate::plot;
use crate::summary::Summary;

/// Latent dimension.
pub const K: usize = 10;

/// The P-model (decoder).
#[derive(Module, Debug)]
pub struct VaeModel<B: Backend> {
    decoder: Mlp<B>,
}

impl<B: Backend> VaeModel<B> {
    /// Pixel probabilities `[n, 784]` for latents `z` `[n, 10]`.
    pub fn decode(&self, z: Tensor<B, 2>) -> Tensor<B, 2> {
        sigmoid(self.decoder.forward(z))
    }
}

impl<B: Backend> Model<B> for VaeModel<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let z = ctx.sample("z", Normal::new(ctx.zeros([1, K]), 1.0));
            ctx.sample("x", Bernoulli::from_logits(self.decoder.forward(z)));
        });
    }
}

/// The Q-model (inference network): encoder + head.
#[derive(Module, Debug)]
pub struct VaeGuide<B: Backend> {
    encoder: Mlp<B>,
    head: NormalHead,
}

impl<B: Backend> Model<B> for VaeGuide<B> {
    fn model(&self, ctx: &mut Ctx<B>) {
        ctx.datamodel(|ctx| {
            let out = self.encoder.forward(ctx.data::<2>("x"));
            ctx.sample("z", self.head.normal(out));
        });
    }
}

/// An inference network: every latent is per row, so particles may be vectorized.
impl<B: Backend> VariationalFamily<B> for VaeGuide<B> {
    fn locality(&self) -> Locality {
        Locality::Local
    }
}

/// Build the two networks (784–256–20 encoder, 10–256–784 decoder) with seeded weights.
pub fn build<B: Backend>(seed: u64, device: &B::Device) -> (VaeModel<B>, VaeGuide<B>) {
    let decoder = MlpConfig::new(&[K, 256, 784])
        .with_hidden(Activation::Relu)
        .with_seed(seed)
        .init(device);
    let encoder = MlpConfig::new(&[784, 256, 2 * K])
        .with_hidden(Activation::Relu)
        .with_seed(seed + 1)
        .init(device);
    (
        VaeModel { decoder },
        VaeGuide {
            encoder,
            head: NormalHead::new(K),
        },
    )
}

/// The VAE's defaults: 20 epochs, batch 128, lr 0.001, `out/vae`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 20,
        lr: 1e-3,
        out_dir: "out/vae".into(),
        ..Default::default()
    }
}

/// Binarize `[n, 784]` intensities in [0, 1]: pixel ~ Bernoulli(intensity), in chunks of rows
/// so the uniforms never exceed a few MB.
pub fn binarize<B: Backend>(images: Tensor<B, 2>, key: &RngKey) -> Tensor<B, 2> {
    let [n, d] = images.dims();
    let device = images.device();
    let chunk = 2048;
    let parts: Vec<Tensor<B, 2>> = (0..n.div_ceil(chunk))
        .map(|c| {
            let rows = chunk.min(n - c * chunk);
            let u = upload::<B, 2>(key.fold_in_u64(c as u64).uniform(rows * d), [rows, d], &device);
            mask_to_float(images.clone().narrow(0, c * chunk, rows).greater(u))
        })
        .collect();
    Tensor::cat(parts, 0)
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct VaeReport {
    /// Test-set ELBO, nats per image.
    pub test_elbo: f64,
    /// Training ELBO of the last epoch, nats per image.
    pub train_elbo: f64,
    /// SVI steps.
    pub steps: usize,
    /// Steps per second.
    pub steps_per_second: f64,
    /// Whole run, seconds (data loading excluded).
    pub seconds: f64,
    /// (train, test) images.
    pub sizes: (usize, usize),
}

/// Fit and evaluate; writes `loss_curve.png`, `reconstructions.png` (test images above their
/// reconstructions), `samples.png` (decoded prior draws) and `summary.json`.
///
/// # Errors
/// Missing data, fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<VaeReport, String> {
    let opts = args.mnist_options(&[]);
    let (train, test) = load_data::<B>(&opts, device).map_err(|e| e.to_string())?;
    let key = RngKey::new(args.seed).fold_in("binarize");
    let x_train = binarize(train.images_flat(), &key.fold_in("train"));
    let x_test = binarize(test.images_flat(), &key.fold_in("test"));
    let start = Instant::now();
    let (p, q) = build::<B>(args.seed, device);
    let config = args.svi_config(Elbo::MeanField { particles: 1 });
    let mut svi = Svi::new(p, q, config, device);
    let n = train.len();
    let train_data = Data::new().with("x", x_train);
    let fit = svi.fit(&train_data).map_err(|e| e.to_string())?;
    // Test ELBO: each chunk evaluated as a whole data set (scale 1), summed over chunks.
    let (nt, chunk) = (test.len(), 1000);
    let mut total = 0.0;
    for c in 0..nt.div_ceil(chunk) {
        let rows = chunk.min(nt - c * chunk);
        let batch = Data::new().with("x", x_test.clone().narrow(0, c * chunk, rows));
        let key = RngKey::new(args.seed).fold_in("test-elbo").fold_in_u64(c as u64);
        total += svi.evaluate(&batch, rows, &key).map_err(|e| e.to_string())?.elbo;
    }
    let test_elbo = total / nt as f64;

    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(svi.model(), &train_data, device, &args.out_dir, "model")?;
    let per_image: Vec<f64> = svi.losses().iter().map(|l| l / n as f64).collect();
    plot::write_loss_curve(
        &per_image,
        "VAE: loss during SVI",
        "−ELBO (nats per image)",
        50,
        &args.out_dir,
    )?;
    // Reconstructions: 10 test images (row 1) and the decoded posterior means (row 2), twice.
    let shown = 20.min(nt);
    let originals = x_test.clone().narrow(0, 0, shown);
    let post = svi
        .posterior(&["z"], &Data::new().with("x", originals.clone()))
        .map_err(|e| e.to_string())?;
    let z_mean = post
        .mean("z")
        .and_then(|v| v.tensor::<2>())
        .ok_or("posterior mean of z")?;
    let recon = host_values(&svi.model().decode(z_mean).detach());
    let orig = host_values(&originals);
    let img = |v: &[f64], i: usize| v[i * 784..(i + 1) * 784].to_vec();
    let half = shown.div_ceil(2);
    let mut grid = Vec::new();
    for block in 0..2 {
        let idx: Vec<usize> = (block * half..((block + 1) * half).min(shown)).collect();
        grid.extend(idx.iter().map(|&i| img(&orig, i)));
        grid.extend(idx.iter().map(|&i| img(&recon, i)));
    }
    plot::write(
        plot::image_grid(
            &grid,
            (4, half),
            (28, 28),
            "Test images (rows 1, 3) and their reconstructions (rows 2, 4)",
        ),
        &args.out_dir,
        "reconstructions.png",
    )?;
    // Samples: pixel probabilities decoded from 64 prior draws.
    let z = upload::<B, 2>(
        RngKey::new(args.seed).fold_in("samples").standard_normal(64 * K),
        [64, K],
        device,
    );
    let samples = host_values(&svi.model().decode(z).detach());
    let samples: Vec<Vec<f64>> = (0..64).map(|i| img(&samples, i)).collect();
    plot::write(
        plot::image_grid(
            &samples,
            (8, 8),
            (28, 28),
            "Pixel probabilities decoded from 64 prior draws of z",
        ),
        &args.out_dir,
        "samples.png",
    )?;

    let report = VaeReport {
        test_elbo,
        train_elbo: -fit.epoch_losses.last().copied().unwrap_or(f64::NAN) / n as f64,
        steps: fit.steps,
        steps_per_second: fit.steps_per_second,
        seconds: start.elapsed().as_secs_f64(),
        sizes: (n, nt),
    };
    Summary::new()
        .num("test_elbo_nats_per_image", report.test_elbo, "nats per test image")
        .num(
            "train_elbo_nats_per_image",
            report.train_elbo,
            "nats per training image, last epoch",
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
