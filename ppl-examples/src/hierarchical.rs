//! A hierarchical model with nested plates (groups × observations), fitted with AutoNormal.
//!
//! `μ ~ N(0, 5²)`, `τ ~ HalfNormal(2)`; for each of J groups `θ_j ~ N(μ, τ²)`; for each of
//! n observations of group j, `y_jk ~ N(θ_j, 1)`. The data (seeded) give each group a
//! different number of informative observations, so the posterior group means shrink
//! towards μ by the amount the data leave open; the exact conditional posterior of θ_j given
//! (μ, τ) is printed next to the fitted one.

use ppl_core::{Ctx, Data, FixedPlate};
use ppl_dist::param::upload;
use ppl_dist::{HalfNormal, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoNormal, Elbo, Svi};

use crate::cli::ExampleArgs;
use crate::summary::Summary;

/// Groups.
pub const J: usize = 8;
/// Observations per group.
pub const N: usize = 5;

/// The model: `y` bound as `[J, N]` data.
pub fn model<B: burn::tensor::backend::Backend>(ctx: &mut Ctx<B>) {
    let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, 1]), 5.0));
    let tau = ctx.sample("tau", HalfNormal::new(ctx.full([1, 1], 2.0)));
    ctx.plate(&FixedPlate::new("groups", J), |ctx| {
        let theta = ctx.sample("theta", Normal::new(mu.clone(), tau.clone())); // [J, 1]
        ctx.plate(&FixedPlate::new("obs", N), |ctx| {
            ctx.sample("y", Normal::new(theta, 1.0)); // [J, N]
        });
    });
}

/// The hierarchical example's defaults: 3000 steps, lr 0.02, `out/hierarchical`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 3000,
        lr: 0.02,
        out_dir: "out/hierarchical".into(),
        ..Default::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct HierarchicalReport {
    /// Sample mean of each group's observations.
    pub group_means: Vec<f64>,
    /// Posterior mean of each θ_j (AutoNormal).
    pub theta: Vec<f64>,
    /// θ_j's conditional posterior mean given the fitted μ and τ (closed form).
    pub theta_conditional: Vec<f64>,
    /// Posterior means of μ and τ.
    pub mu_tau: (f64, f64),
}

/// Fit and report; writes `summary.json`.
///
/// # Errors
/// Fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<HierarchicalReport, String> {
    // True group means spread around 1 with sd 2; observations with unit noise.
    let mut key = RngKey::new(args.seed).fold_in("hierarchical");
    let truth: Vec<f64> = key.standard_normal(J).into_iter().map(|e| 1.0 + 2.0 * e).collect();
    let noise = key.standard_normal(J * N);
    let y: Vec<f64> = (0..J * N).map(|i| truth[i / N] + noise[i]).collect();
    let data = Data::new().with("y", upload::<B, 2>(y.to_vec(), [J, N], device));
    let guide = AutoNormal::new(&model::<B>, &data, device).map_err(|e| e.to_string())?;
    let config = args.full_batch_config(Elbo::Trace { particles: 8 });
    let mut svi = Svi::new(model_fn(model::<B>), guide, config, device);
    // The data have no `datamodel` plate: one "row" is the whole [J, N] table.
    svi.fit(&data).map_err(|e| e.to_string())?;
    let draws = svi
        .posterior_predictive_samples(&["mu", "tau", "theta"], &Data::new(), 500)
        .map_err(|e| e.to_string())?;
    let mean_of = |name: &str| -> Vec<f64> {
        let all: Vec<Vec<f64>> = draws.iter().map(|q| q.sample(name).expect("drawn").to_vec()).collect();
        (0..all[0].len())
            .map(|j| all.iter().map(|v| v[j]).sum::<f64>() / all.len() as f64)
            .collect()
    };
    let (mu, tau) = (mean_of("mu")[0], mean_of("tau")[0]);
    let theta = mean_of("theta");
    let group_means: Vec<f64> = (0..J)
        .map(|j| y[j * N..(j + 1) * N].iter().sum::<f64>() / N as f64)
        .collect();
    // θ_j | μ, τ, y: precision 1/τ² + N, mean (μ/τ² + N·ȳ_j)/precision.
    let theta_conditional = group_means
        .iter()
        .map(|ybar| (mu / (tau * tau) + N as f64 * ybar) / (1.0 / (tau * tau) + N as f64))
        .collect();
    let report = HierarchicalReport {
        group_means,
        theta,
        theta_conditional,
        mu_tau: (mu, tau),
    };
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(&model::<B>, &data, device, &args.out_dir, "model")?;
    Summary::new()
        .num("mu", mu, "posterior mean of the population mean")
        .num("tau", tau, "posterior mean of the population scale")
        .value("theta", &report.theta, "posterior mean of each group's mean")
        .value("group_means", &report.group_means, "each group's sample mean")
        .write::<B>(&args.out_dir, args, device)?;
    Ok(report)
}
