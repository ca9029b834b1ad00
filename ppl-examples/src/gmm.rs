//! A Gaussian mixture model with discrete assignments, summed out exactly (`Elbo::TraceEnum`).
//!
//! `μ_k ~ N(0, 10²)` for K = 3 components; per point `c_n ~ Categorical(1/K)` and
//! `x_n ~ N(μ_{c_n}, 0.7²)`. The Q-model has a normal per mean (initialised at the data's
//! 1/6, 3/6, 5/6 quantiles) and nothing for the assignments: the ELBO sums each point's
//! assignment out of the model (ln Σ_k p(x_n, c_n = k | μ)), and each point's posterior over
//! its component comes from `Svi::enumerated_posterior` after the fit. Sampling the
//! assignments instead (a categorical per point in the Q-model, score-function gradients)
//! took 3000 steps to get as far; enumeration needs 300.
//! Seeded synthetic data: 300 points from components at −4, 0, 4.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use ppl_core::{Ctx, Data};
use ppl_dist::param::{mask_to_float, upload};
use ppl_dist::{Categorical, Constraint, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{Elbo, Svi};

use crate::cli::ExampleArgs;
use crate::plot;
use crate::summary::Summary;

/// Components.
pub const K: usize = 3;
/// Component sd.
pub const SIGMA: f64 = 0.7;
/// True component means.
pub const TRUE_MEANS: [f64; K] = [-4.0, 0.0, 4.0];

/// `μ[c]` per row: `c` `[n, 1]` component indices, `mu` `[1, K]`.
fn select_mean<B: Backend>(c: Tensor<B, 2>, mu: Tensor<B, 2>) -> Tensor<B, 2> {
    (0..K)
        .map(|k| mask_to_float(c.clone().equal_elem(k as f64)) * mu.clone().narrow(1, k, 1))
        .reduce(|a, b| a + b)
        .expect("K > 0")
}

/// The P-model: `μ ~ N(0, 10²)` `[1, K]`; per row of `x` `[n, 1]`, `c ~ Categorical(1/K)` and
/// `x ~ N(μ_c, SIGMA²)`.
pub fn model<B: Backend>(ctx: &mut Ctx<B>) {
    let mu = ctx.sample("mu", Normal::new(ctx.zeros([1, K]), 10.0));
    ctx.datamodel(|ctx| {
        let c = ctx.sample("c", Categorical::from_logits(ctx.zeros([1, K])));
        ctx.sample("x", Normal::new(select_mean(c, mu), SIGMA));
    });
}

/// `n` seeded points, point `i` from component `i mod K`: `(x, true components)`.
pub fn points(n: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let truth: Vec<usize> = (0..n).map(|i| i % K).collect();
    let noise = RngKey::new(seed).fold_in("gmm").standard_normal(n);
    let x = (0..n).map(|i| TRUE_MEANS[truth[i]] + SIGMA * noise[i]).collect();
    (x, truth)
}

/// The GMM's defaults: 300 full-batch steps, lr 0.2 (decayed ×0.1), `out/gmm`.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 300,
        lr: 0.2,
        out_dir: "out/gmm".into(),
        ..Default::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct GmmReport {
    /// Posterior means of the component means, sorted.
    pub means: Vec<f64>,
    /// Fraction of points whose most probable component is their true one (components
    /// matched by sorted means).
    pub assignment_accuracy: f64,
    /// The mean of the points drawn from each true component: what the fitted means should
    /// match (the data's own noise moves them off the true locations by ≈ 0.7/√100).
    pub sample_means: Vec<f64>,
}

/// Fit and report; writes `assignments.png` and `summary.json`.
///
/// # Errors
/// Fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<GmmReport, String> {
    let n = args.num_instances.unwrap_or(300);
    let (x, truth) = points(n, args.seed);
    let mut key = RngKey::new(args.seed).fold_in("gmm").fold_in("jitter");
    let mut sorted = x.clone();
    sorted.sort_by(f64::total_cmp);
    let init: Vec<f64> = (0..K).map(|k| sorted[(2 * k + 1) * n / (2 * K)]).collect();
    let p = model::<B>;
    let q = move |ctx: &mut Ctx<B>| {
        let loc = ctx.param(
            "mu.loc",
            upload::<B, 2>(init.to_vec(), [1, K], ctx.device()),
            Constraint::Real,
        );
        let scale = ctx.param("mu.scale", ctx.full([1, K], 0.1), Constraint::Positive);
        ctx.sample("mu", Normal::new(loc, scale));
    };
    let config = args.full_batch_config(Elbo::TraceEnum { particles: 1 });
    let mut svi = Svi::from_fns(p, q, config, device);
    let data = Data::new().with("x", upload::<B, 2>(x.to_vec(), [n, 1], device));
    svi.fit(&data).map_err(|e| e.to_string())?;
    let mut means = svi.param("mu.loc").ok_or("mu.loc")?.to_vec();
    // p(c_n = k | x_n, μ) per point, [n, K].
    let (_, posterior) = svi.enumerated_posterior(&data).map_err(|e| e.to_string())?;
    let logits = ppl_dist::param::host_values(&posterior);
    // Components in order of their fitted means; each point's most probable component.
    let mut order: Vec<usize> = (0..K).collect();
    order.sort_by(|&a, &b| means[a].total_cmp(&means[b]));
    let rank: Vec<usize> = (0..K)
        .map(|k| order.iter().position(|&o| o == k).expect("a permutation"))
        .collect();
    let assigned: Vec<usize> = logits
        .chunks(K)
        .map(|row| rank[(0..K).max_by(|&a, &b| row[a].total_cmp(&row[b])).expect("K > 0")])
        .collect();
    let hits = assigned.iter().zip(&truth).filter(|(a, t)| a == t).count();
    means.sort_by(f64::total_cmp);
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(svi.model(), &data, device, &args.out_dir, "model")?;
    let jitter = key.uniform(n);
    let points: Vec<(f64, f64)> = x.iter().zip(&jitter).map(|(&a, &j)| (a, j)).collect();
    let names: Vec<String> = (0..K).map(|k| format!("component {}", k + 1)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    plot::write(
        plot::scatter_panels(
            &[plot::ScatterPanel {
                title: "each point coloured by its most probable component",
                points: &points,
                classes: &assigned,
            }],
            &names,
            "Gaussian mixture: assignments",
            ("x", "jitter (for visibility only)"),
            480,
        ),
        &args.out_dir,
        "assignments.png",
    )?;
    let sample_means: Vec<f64> = (0..K)
        .map(|k| {
            let xs: Vec<f64> = x.iter().zip(&truth).filter(|(_, &t)| t == k).map(|(&v, _)| v).collect();
            xs.iter().sum::<f64>() / xs.len().max(1) as f64
        })
        .collect();
    let report = GmmReport {
        means,
        assignment_accuracy: hits as f64 / n as f64,
        sample_means,
    };
    Summary::new()
        .value(
            "component_means",
            &report.means,
            "posterior mean of each component's location",
        )
        .value(
            "sample_means",
            &report.sample_means,
            "mean of the points drawn from each true component",
        )
        .num(
            "assignment_accuracy",
            report.assignment_accuracy,
            "fraction of the points assigned to their true component",
        )
        .write::<B>(&args.out_dir, args, device)?;
    Ok(report)
}
