//! Bayesian dense layers (ppl-nn) under SVI: Bayesian linear regression (Flipout layer)
//! recovers the conjugate posterior of the weight; Flipout and reparameterization estimate the same ELBO,
//! Flipout with lower gradient variance.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data, Model};
use ppl_dist::testkit::{host, t2};
use ppl_dist::{statistical_suite, Normal, RngKey};
use ppl_infer::elbo::{Batch, Objective, ObjectiveInput, TraceElbo};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, Elbo, LrSchedule, Svi, SviConfig};
use ppl_nn::{BayesianDenseConfig, DenseFlipout, DenseReparameterization};

statistical_suite!(
    bayesian_regression_recovers_the_conjugate_posterior,
    flipout_matches_the_elbo_with_lower_gradient_variance
);

/// y ~ N(layer(x), σ) over the data plate; `$layer` is either Bayesian dense layer.
macro_rules! regression {
    ($name:ident, $layer:ident) => {
        #[derive(Module, Debug)]
        struct $name<B: Backend> {
            fc: $layer<B>,
            #[module(skip)]
            sigma: f64,
        }

        impl<B: Backend> Model<B> for $name<B> {
            fn model(&self, ctx: &mut Ctx<B>) {
                ctx.datamodel(|ctx| {
                    let x = ctx.data::<2>("x");
                    let m = self.fc.forward(ctx, x);
                    ctx.sample("y", Normal::new(m, self.sigma));
                });
            }
        }
    };
}

regression!(ReparamRegression, DenseReparameterization);
regression!(FlipoutRegression, DenseFlipout);

fn no_guide<B: Backend>(_: &mut Ctx<B>) {}

fn bayesian_regression_recovers_the_conjugate_posterior<B: TrainingBackend>(dev: &B::Device) {
    // y = 2x + 1 + ε, σ = 0.1, N = 500, x ~ U(−1, 1); prior N(0, 1) on weight and bias.
    let (n, sigma) = (500, 0.1);
    let mut key = RngKey::new(21);
    let x: Vec<f64> = key.uniform(n).into_iter().map(|u| 2.0 * u - 1.0).collect();
    let eps = key.standard_normal(n);
    let y: Vec<f64> = x.iter().zip(&eps).map(|(x, e)| 2.0 * x + 1.0 + sigma * e).collect();
    // Exact posterior of (w, b): Λ = XᵀX/σ² + I, mean Λ⁻¹Xᵀy/σ².
    let (sxx, sx, sxy, sy) = (
        x.iter().map(|v| v * v).sum::<f64>(),
        x.iter().sum::<f64>(),
        x.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>(),
        y.iter().sum::<f64>(),
    );
    let s2 = sigma * sigma;
    let (a, c, d) = (sxx / s2 + 1.0, sx / s2, n as f64 / s2 + 1.0);
    let det = a * d - c * c;
    let w_mean = (d * sxy / s2 - c * sy / s2) / det;
    let w_sd = (d / det).sqrt();
    let fc = BayesianDenseConfig::new("fc", 1, 1)
        .with_init_scale(0.05)
        .with_seed(3)
        .init_flipout::<B>(dev);
    let steps = 3000;
    let config = SviConfig {
        epochs: steps,
        batch_size: n,
        shuffle: false,
        lr: 0.05,
        schedule: LrSchedule::Exponential {
            gamma: 0.1f64.powf(1.0 / steps as f64),
        },
        elbo: Elbo::Trace { particles: 8 },
        progress: false,
        seed: 8,
        ..Default::default()
    };
    let mut svi = Svi::new(FlipoutRegression { fc, sigma }, model_fn(no_guide::<B>), config, dev);
    let data = Data::new()
        .with("x", t2::<B>(&x, n, 1, dev))
        .with("y", t2::<B>(&y, n, 1, dev));
    svi.fit(&data).unwrap();
    let w = &svi.model().fc.weights;
    let loc = host(w.kernel_loc.val())[0];
    let sd = host(w.kernel_scale())[0];
    println!("Bayesian regression (Flipout): weight mean {loc:.4} (exact {w_mean:.4}), sd {sd:.5} (exact {w_sd:.5})");
    assert!(
        (loc - 2.0).abs() < 0.05,
        "posterior mean of the weight {loc} (exact {w_mean})"
    );
    let ratio = sd / w_sd;
    assert!(
        (0.75..=1.25).contains(&ratio),
        "posterior sd {sd} vs exact {w_sd} (ratio {ratio})"
    );
}

fn flipout_matches_the_elbo_with_lower_gradient_variance<B: TrainingBackend>(dev: &B::Device) {
    // One minibatch of 128 rows, 16 inputs → 1 output, both layers with identical posterior
    // parameters (posterior sd 0.3, so weight noise dominates the gradient noise).
    // 300 single-particle evaluations each: ELBO means within 4 standard errors; the total
    // variance of ∂ELBO/∂(kernel loc) lower with Flipout.
    let (m, d) = (128, 16);
    let mut key = RngKey::new(5);
    let x = key.standard_normal(m * d);
    let y: Vec<f64> = (0..m)
        .map(|i| x[i * d..(i + 1) * d].iter().sum::<f64>() * 0.3)
        .collect();
    let data = Data::new()
        .with("x", t2::<B>(&x, m, d, dev))
        .with("y", t2::<B>(&y, m, 1, dev));
    let cfg = BayesianDenseConfig::new("fc", d, 1).with_init_scale(0.3).with_seed(6);
    let rep = ReparamRegression {
        fc: cfg.init_reparameterization::<B>(dev),
        sigma: 0.5,
    };
    let flip = FlipoutRegression {
        fc: cfg.init_flipout::<B>(dev),
        sigma: 0.5,
    };
    let batch = Batch::new(&data, 1000);
    let (e_rep, se_rep, gv_rep) = elbo_and_gradient_stats(&rep, || rep.fc.weights.kernel_loc.val(), &batch, dev);
    let (e_flip, se_flip, gv_flip) = elbo_and_gradient_stats(&flip, || flip.fc.weights.kernel_loc.val(), &batch, dev);
    println!(
        "batch {m}: ELBO reparam {e_rep:.2} ± {se_rep:.2}, flipout {e_flip:.2} ± {se_flip:.2}; \
         total gradient variance (kernel loc) reparam {gv_rep:.4e}, flipout {gv_flip:.4e} (ratio {:.3})",
        gv_flip / gv_rep
    );
    let se = (se_rep * se_rep + se_flip * se_flip).sqrt();
    assert!((e_rep - e_flip).abs() < 4.0 * se, "ELBO {e_rep} vs {e_flip} (se {se})");
    assert!(
        gv_flip < gv_rep,
        "Flipout gradient variance {gv_flip} vs reparameterization {gv_rep}"
    );
}

/// Over 300 single-particle evaluations: the ELBO's mean and standard error, and the total
/// variance of its gradient with respect to `loc()`.
fn elbo_and_gradient_stats<B: TrainingBackend, M: Model<B>>(
    model: &M,
    loc: impl Fn() -> Tensor<B, 2>,
    batch: &Batch<'_, B>,
    dev: &B::Device,
) -> (f64, f64, f64) {
    let reps = 300;
    let (mut elbos, mut grads) = (Vec::new(), Vec::new());
    for r in 0..reps {
        let key = RngKey::new(900 + r as u64);
        let est = TraceElbo::new(1)
            .estimate(ObjectiveInput::new(model, &no_guide::<B>, batch.clone(), &key, dev))
            .unwrap();
        elbos.push(est.elbo);
        let g = est.surrogate_loss.backward();
        grads.push(host(loc().grad(&g).expect("kernel loc gradient")));
    }
    let mean = elbos.iter().sum::<f64>() / reps as f64;
    let var = elbos.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (reps - 1) as f64;
    let d = grads[0].len();
    let grad_var: f64 = (0..d)
        .map(|j| {
            let mu = grads.iter().map(|g| g[j]).sum::<f64>() / reps as f64;
            grads.iter().map(|g| (g[j] - mu).powi(2)).sum::<f64>() / (reps - 1) as f64
        })
        .sum();
    (mean, (var / reps as f64).sqrt(), grad_var)
}
