//! Bayesian linear and logistic regression with autoguides (AutoNormal and
//! AutoMultivariateNormal), on seeded synthetic data, with posterior predictive intervals.
//!
//! Linear: `w, b ~ N(0, 10²)`, `y_n ~ N(w·x_n + b, 0.8²)`, 50 points from
//! `y = 1.5x + 0.5 + ε`: the posterior is Gaussian and known in closed form, so each guide's
//! means and sds are printed next to the exact ones (AutoNormal's sds are the conditional
//! ones, 1/√precision; AutoMultivariateNormal also captures the w–b correlation).
//! Logistic: `w, b ~ N(0, 10²)`, `y_n ~ Bernoulli(logits = w·x_n + b)`, 200 points from
//! `logit P(y = 1) = 2x − 0.5`.

use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use ppl_core::{Ctx, Data};
use ppl_dist::param::upload;
use ppl_dist::{Bernoulli, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoMultivariateNormal, AutoNormal, Elbo, Svi};

use crate::cli::ExampleArgs;
use crate::plot;
use crate::summary::Summary;

/// Noise sd of the linear model.
pub const SIGMA: f64 = 0.8;

/// The linear model (x bound as data `[n, 1]`, y observed when bound).
pub fn linear<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 10.0));
    let b = ctx.sample("b", Normal::new(ctx.zeros([1, 1]), 10.0));
    ctx.datamodel(|ctx| {
        let x = ctx.data::<2>("x");
        ctx.sample("y", Normal::new(x * w + b, SIGMA));
    });
}

/// The logistic model (x bound as data `[n, 1]`); `p` is P(y = 1 | x) per row.
pub fn logistic<B: Backend>(ctx: &mut Ctx<B>) {
    let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 10.0));
    let b = ctx.sample("b", Normal::new(ctx.zeros([1, 1]), 10.0));
    ctx.datamodel(|ctx| {
        let logits = ctx.data::<2>("x") * w + b;
        ctx.deterministic("p", sigmoid(logits.clone()));
        ctx.sample("y", Bernoulli::from_logits(logits));
    });
}

/// The regression example's defaults: 2000 steps (epochs of one full batch), lr 0.05.
pub fn defaults() -> ExampleArgs {
    ExampleArgs {
        epochs: 2000,
        lr: 0.05,
        out_dir: "out/regression".into(),
        ..Default::default()
    }
}

/// Seeded synthetic data: `n` inputs in [−3, 3] and outputs `f(x, ε, u)` from a standard
/// normal ε and a uniform u per point.
fn synthetic(n: usize, key: &RngKey, f: impl Fn(f64, f64, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
    let mut k = key.clone();
    let x: Vec<f64> = k.uniform(n).into_iter().map(|u| 6.0 * u - 3.0).collect();
    let e = k.standard_normal(n);
    let u = k.uniform(n);
    let y = (0..n).map(|i| f(x[i], e[i], u[i])).collect();
    (x, y)
}

/// Posterior (mean, sd) of w and b under one guide.
#[derive(Debug, Clone, Copy)]
pub struct Fitted {
    /// (mean, sd) of w.
    pub w: (f64, f64),
    /// (mean, sd) of b.
    pub b: (f64, f64),
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct RegressionReport {
    /// Exact posterior of the linear model.
    pub exact: Fitted,
    /// Linear model: AutoNormal, AutoMultivariateNormal.
    pub linear: [Fitted; 2],
    /// Logistic model: AutoNormal, AutoMultivariateNormal.
    pub logistic: [Fitted; 2],
    /// Fraction of the linear data inside the AutoMVN 90 % predictive interval.
    pub coverage: f64,
}

/// Draws of a target for every row of the given data, `[sample][row]`, from a fitted model.
type Predictor<B> = Box<dyn Fn(&Data<B>, usize, &str) -> Result<Vec<Vec<f64>>, String>>;

/// Fit `model` on `data` with AutoNormal (`mvn = false`) or AutoMultivariateNormal; return the
/// posterior moments of w and b (from 1000 posterior draws) and the fitted SVI.
fn fit<B: TrainingBackend>(
    model: fn(&mut Ctx<B>),
    data: &Data<B>,
    mvn: bool,
    args: &ExampleArgs,
    device: &B::Device,
) -> Result<(Fitted, Predictor<B>), String> {
    let config = args.full_batch_config(Elbo::Trace { particles: 4 });
    macro_rules! finish {
        ($guide:expr) => {{
            let mut svi = Svi::new(model_fn(model), $guide, config, device);
            svi.fit(data).map_err(|e| e.to_string())?;
            let draws = svi
                .posterior_predictive_samples(&["w", "b"], &data.clone(), 1000)
                .map_err(|e| e.to_string())?;
            let moments = |name: &str| {
                let v: Vec<f64> = draws
                    .iter()
                    .map(|q| q.sample(name).expect("drawn").to_vec()[0])
                    .collect();
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (
                    m,
                    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt(),
                )
            };
            let fitted = Fitted {
                w: moments("w"),
                b: moments("b"),
            };
            let predict = move |d: &Data<B>, n: usize, target: &str| -> Result<Vec<Vec<f64>>, String> {
                let qs = svi
                    .posterior_predictive_samples(&[target], d, n)
                    .map_err(|e| e.to_string())?;
                Ok(qs.iter().map(|q| q.sample(target).expect("drawn").to_vec()).collect())
            };
            Ok((fitted, Box::new(predict) as Predictor<B>))
        }};
    }
    if mvn {
        finish!(AutoMultivariateNormal::new(&model, data, device).map_err(|e| e.to_string())?)
    } else {
        finish!(AutoNormal::new(&model, data, device).map_err(|e| e.to_string())?)
    }
}

/// The (5 %, 50 %, 95 %) quantiles per grid point of `draws` (`[sample][point]`), and the mean.
fn bands(draws: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let points = draws[0].len();
    let (mut lo, mut mid, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..points {
        let mut v: Vec<f64> = draws.iter().map(|d| d[j]).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        lo.push(q(0.05));
        mid.push(v.iter().sum::<f64>() / v.len() as f64);
        hi.push(q(0.95));
    }
    (lo, mid, hi)
}

/// Fit both models with both guides; write `linear_predictive.png`, `logistic_predictive.png`
/// and `summary.json`.
///
/// # Errors
/// Fitting errors, unwritable output.
pub fn run<B: TrainingBackend>(args: &ExampleArgs, device: &B::Device) -> Result<RegressionReport, String> {
    let key = RngKey::new(args.seed).fold_in("regression");
    let n = args.num_instances.unwrap_or(50);
    let (x, y) = synthetic(n, &key.fold_in("linear"), |x, e, _| 1.5 * x + 0.5 + SIGMA * e);
    let lin_data = Data::new()
        .with("x", upload::<B, 2>(x.to_vec(), [n, 1], device))
        .with("y", upload::<B, 2>(y.to_vec(), [n, 1], device));
    // Exact posterior: precision Λ = XᵀX/σ² + I/100 over (w, b).
    let s2 = SIGMA * SIGMA;
    let (sxx, sx, sxy, sy) = (
        x.iter().map(|v| v * v).sum::<f64>(),
        x.iter().sum::<f64>(),
        x.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>(),
        y.iter().sum::<f64>(),
    );
    let (a, c, d) = (sxx / s2 + 0.01, sx / s2, n as f64 / s2 + 0.01);
    let det = a * d - c * c;
    let exact = Fitted {
        w: ((d * sxy - c * sy) / s2 / det, (d / det).sqrt()),
        b: ((a * sy - c * sxy) / s2 / det, (a / det).sqrt()),
    };
    let (lin_an, _) = fit::<B>(linear::<B>, &lin_data, false, args, device)?;
    let (lin_mvn, lin_predict) = fit::<B>(linear::<B>, &lin_data, true, args, device)?;

    let m = args.num_instances.map_or(200, |k| 4 * k);
    let (xl, yl) = synthetic(m, &key.fold_in("logistic"), |x, _, u| {
        f64::from(u < 1.0 / (1.0 + (0.5 - 2.0 * x).exp()))
    });
    let log_data = Data::new()
        .with("x", upload::<B, 2>(xl.to_vec(), [m, 1], device))
        .with("y", upload::<B, 2>(yl.to_vec(), [m, 1], device));
    let (log_an, _) = fit::<B>(logistic::<B>, &log_data, false, args, device)?;
    let (log_mvn, log_predict) = fit::<B>(logistic::<B>, &log_data, true, args, device)?;

    // Figures: 90 % posterior predictive bands over a grid (AutoMVN).
    std::fs::create_dir_all(&args.out_dir).map_err(|e| format!("{}: {e}", args.out_dir.display()))?;
    crate::model_graph::write(&linear::<B>, &lin_data, device, &args.out_dir, "linear_model")?;
    crate::model_graph::write(&logistic::<B>, &log_data, device, &args.out_dir, "logistic_model")?;
    let grid: Vec<f64> = (0..121).map(|i| -3.2 + 6.4 * i as f64 / 120.0).collect();
    let grid_data = Data::new().with("x", upload::<B, 2>(grid.to_vec(), [grid.len(), 1], device));
    let (lo, mid, hi) = bands(&lin_predict(&grid_data, 400, "y")?);
    let pts: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    plot::write(
        plot::band_plot(
            &pts,
            &grid,
            &lo,
            &mid,
            &hi,
            "90 % predictive interval",
            plot::Labels {
                title: "Bayesian linear regression (AutoNormal): posterior predictive of y",
                x: "x",
                y: "y",
            },
            (640, 420),
        ),
        &args.out_dir,
        "linear_predictive.png",
    )?;
    let (plo, pmid, phi) = bands(&log_predict(&grid_data, 400, "p")?);
    let lpts: Vec<(f64, f64)> = xl.iter().copied().zip(yl.iter().copied()).collect();
    plot::write(
        plot::band_plot(
            &lpts,
            &grid,
            &plo,
            &pmid,
            &phi,
            "90 % posterior interval",
            plot::Labels {
                title: "Bayesian logistic regression (AutoNormal): P(y = 1 | x)",
                x: "x",
                y: "P(y = 1)  (data: observed y)",
            },
            (640, 420),
        ),
        &args.out_dir,
        "logistic_predictive.png",
    )?;
    // Coverage of the linear data by the 90 % interval at their own x.
    let (dlo, _, dhi) = bands(&lin_predict(
        &Data::new().with("x", upload::<B, 2>(x.to_vec(), [n, 1], device)),
        400,
        "y",
    )?);
    let inside = (0..n).filter(|&i| dlo[i] <= y[i] && y[i] <= dhi[i]).count();
    let report = RegressionReport {
        exact,
        linear: [lin_an, lin_mvn],
        logistic: [log_an, log_mvn],
        coverage: inside as f64 / n as f64,
    };
    let f = |p: &Fitted| serde_json::json!({"w": [p.w.0, p.w.1], "b": [p.b.0, p.b.1]});
    let unit = "posterior [mean, sd] of w and of b";
    Summary::new()
        .value("linear_exact", f(&report.exact), unit)
        .value("linear_auto_normal", f(&report.linear[0]), unit)
        .value("linear_auto_mvn", f(&report.linear[1]), unit)
        .value("logistic_auto_normal", f(&report.logistic[0]), unit)
        .value("logistic_auto_mvn", f(&report.logistic[1]), unit)
        .num(
            "linear_90pct_coverage",
            report.coverage,
            "fraction of the data inside the 90 % predictive interval",
        )
        .write::<B>(&args.out_dir, args, device)?;
    Ok(report)
}
