//! AutoMultivariateNormal learns a correlated Gaussian posterior exactly: Bayesian linear
//! regression with correlated inputs, known noise.

use ppl_core::{Ctx, Data};
use ppl_dist::testkit::t2;
use ppl_dist::{statistical_suite, Normal, RngKey};
use ppl_infer::TrainingBackend;
use ppl_infer::{model_fn, AutoMultivariateNormal, Elbo, LrSchedule, Svi, SviConfig};

use crate::decaying_config;

/// Fit `guide` to `model` with `config`, then 600 posterior draws of `site` (its values per draw).
fn fit_and_draw<B: TrainingBackend, P: ppl_infer::SviModel<B>, Q: ppl_infer::SviGuide<B>>(
    model: P,
    guide: Q,
    config: SviConfig,
    data: &Data<B>,
    site: &str,
    dev: &B::Device,
) -> (Svi<B, P, Q>, Vec<Vec<f64>>) {
    let mut svi = Svi::new(model, guide, config, dev);
    svi.fit(data).unwrap();
    let q = svi.posterior_predictive_samples(&[site], data, 600).unwrap();
    let draws = q.iter().map(|q| q.sample(site).unwrap().to_vec()).collect();
    (svi, draws)
}

statistical_suite!(
    auto_mvn_recovers_a_correlated_posterior,
    auto_mvn_under_the_mean_field_elbo_recovers_it_too
);

fn auto_mvn_recovers_a_correlated_posterior<B: TrainingBackend>(dev: &B::Device) {
    fit_and_check::<B>(Elbo::Trace { particles: 8 }, dev);
}

/// `Elbo::MeanField` must count the guide's joint (auxiliary) site: it has no model site to
/// pair with, and leaving its `ln q` out drops the entropy (the fit collapses to the mode).
fn auto_mvn_under_the_mean_field_elbo_recovers_it_too<B: TrainingBackend>(dev: &B::Device) {
    fit_and_check::<B>(Elbo::MeanField { particles: 8 }, dev);
}

fn fit_and_check<B: TrainingBackend>(elbo: Elbo, dev: &B::Device) {
    // y = X w + ε, σ = 0.5, w ~ N(0, I₂); columns of X correlated (ρ ≈ 0.9), n = 40.
    let (n, sigma) = (40, 0.5);
    let mut key = RngKey::new(3);
    let a = key.standard_normal(n);
    let b = key.standard_normal(n);
    let e = key.standard_normal(n);
    let x: Vec<f64> = (0..n).flat_map(|i| [a[i], 0.9 * a[i] + 0.436 * b[i]]).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1.0 * x[2 * i] - 0.5 * x[2 * i + 1] + sigma * e[i])
        .collect();
    let p = |ctx: &mut Ctx<B>| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([2, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x = ctx.data::<2>("x");
            ctx.sample("y", Normal::new(x.matmul(w), 0.5));
        });
    };
    let data = Data::new()
        .with("x", t2::<B>(&x, n, 2, dev))
        .with("y", t2::<B>(&y, n, 1, dev));
    let guide = AutoMultivariateNormal::new(&p, &data, dev).unwrap();
    assert_eq!(guide.dim(), 2);
    let steps = 3000;
    let config = SviConfig {
        epochs: steps,
        batch_size: n,
        shuffle: false,
        lr: 0.01,
        schedule: LrSchedule::Exponential {
            gamma: 0.05f64.powf(1.0 / steps as f64),
        },
        elbo,
        progress: false,
        seed: 2,
        ..Default::default()
    };
    let mut svi = Svi::new(model_fn(p), guide, config, dev);
    svi.fit(&data).unwrap();
    // Exact posterior: Σ = (XᵀX/σ² + I)⁻¹, μ = Σ Xᵀy/σ².
    let (mut s00, mut s01, mut s11, mut t0, mut t1) = (1.0, 0.0, 1.0, 0.0, 0.0);
    for i in 0..n {
        let (x0, x1) = (x[2 * i], x[2 * i + 1]);
        s00 += x0 * x0 / (sigma * sigma);
        s01 += x0 * x1 / (sigma * sigma);
        s11 += x1 * x1 / (sigma * sigma);
        t0 += x0 * y[i] / (sigma * sigma);
        t1 += x1 * y[i] / (sigma * sigma);
    }
    let det = s00 * s11 - s01 * s01;
    let cov = [s11 / det, -s01 / det, s00 / det];
    let mu = [cov[0] * t0 + cov[1] * t1, cov[1] * t0 + cov[2] * t1];
    let loc = svi.param("_auto_latent.loc").unwrap().to_vec();
    let raw = svi.param("_auto_latent.scale_tril").unwrap().to_vec();
    let sp = |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p();
    let (l00, l10, l11) = (sp(raw[0]), raw[2], sp(raw[3]));
    let q = [l00 * l00, l00 * l10, l10 * l10 + l11 * l11];
    for d in 0..2 {
        let sd = [cov[0], cov[2]][d].sqrt();
        assert!(
            (loc[d] - mu[d]).abs() < 0.1 * sd,
            "mean {d}: {} vs {} (sd {sd})",
            loc[d],
            mu[d]
        );
    }
    for (i, name) in ["var0", "cov01", "var1"].iter().enumerate() {
        assert!(
            (q[i] - cov[i]).abs() <= 0.1 * cov[i].abs().max(1e-3),
            "{name}: {} vs exact {}",
            q[i],
            cov[i]
        );
    }
    assert!(
        cov[1] < 0.0 && q[1] < 0.0,
        "the posterior correlation (negative here) is learned"
    );
}

mod positive {
    use super::*;
    use ppl_dist::testkit::t1;
    use ppl_dist::{Gamma, Poisson};

    statistical_suite!(auto_mvn_fits_a_positive_latent_through_its_transform);

    /// λ ~ Gamma(2, rate 0.5), 12 Poisson counts: the posterior is Gamma(a, b) with a = 2 + Σy,
    /// b = 0.5 + n. AutoMultivariateNormal puts a normal on u = ln λ (exp from `biject_to`,
    /// `−ln|J| = −u` as a guide factor); the best such normal under KL(q ‖ p) has scale
    /// `1/√a` and location `ln(a/b) − 1/(2a)` (stationary point of `a·m − b·e^{m+s²/2} + ln s`).
    /// Without the Jacobian term the optimum would be the same with `a − 1` for `a`: a location
    /// 0.023 lower, 1.5× the tolerance below.
    fn auto_mvn_fits_a_positive_latent_through_its_transform<B: TrainingBackend>(dev: &B::Device) {
        let counts = [3.0, 5.0, 2.0, 4.0, 6.0, 1.0, 3.0, 4.0, 2.0, 5.0, 3.0, 4.0];
        let p = |ctx: &mut Ctx<B>| {
            let lam = ctx.sample("lambda", Gamma::new(ctx.full([1], 2.0), 0.5));
            ctx.datamodel(|ctx| {
                ctx.sample("y", Poisson::new(lam));
            });
        };
        let data = Data::new().with("y", t1::<B>(&counts, dev));
        let guide = AutoMultivariateNormal::new(&p, &data, dev).unwrap();
        let steps = 2000;
        let config = SviConfig {
            epochs: steps,
            batch_size: counts.len(),
            shuffle: false,
            lr: 0.01,
            schedule: LrSchedule::Exponential {
                gamma: 0.05f64.powf(1.0 / steps as f64),
            },
            elbo: Elbo::Trace { particles: 8 },
            progress: false,
            seed: 4,
            ..Default::default()
        };
        let mut svi = Svi::new(model_fn(p), guide, config, dev);
        svi.fit(&data).unwrap();
        let a = 2.0 + counts.iter().sum::<f64>();
        let b = 0.5 + counts.len() as f64;
        let (m, s) = ((a / b).ln() - 0.5 / a, a.powf(-0.5));
        let loc = svi.param("_auto_latent.loc").unwrap().to_vec()[0];
        let raw = svi.param("_auto_latent.scale_tril").unwrap().to_vec()[0];
        let scale = raw.max(0.0) + (-raw.abs()).exp().ln_1p();
        assert!(
            (loc - m).abs() < 0.1 * s,
            "location {loc} against the optimum {m} (0.1 sd = {})",
            0.1 * s
        );
        assert!((scale - s).abs() < 0.1 * s, "scale {scale} against the optimum {s}");
    }
}

mod simplex {
    use super::*;
    use ppl_dist::{Dirichlet, Multinomial};
    use ppl_infer::AutoNormal;

    statistical_suite!(autoguides_fit_a_simplex_latent_by_stick_breaking);

    /// p ~ Dirichlet([1, 2, 3]), counts [7, 4, 9] ~ Multinomial(20, p): the posterior is
    /// Dirichlet([8, 6, 12]) (means 0.308, 0.231, 0.462; sd ≈ 0.09). AutoNormal and
    /// AutoMultivariateNormal put a normal on the 2 stick-breaking coordinates; the
    /// approximation's mean (600 guide draws, Monte-Carlo sd ≈ 0.004) lies within 0.02 of
    /// the exact one, and every draw is on the simplex.
    fn autoguides_fit_a_simplex_latent_by_stick_breaking<B: TrainingBackend>(dev: &B::Device) {
        let p = |ctx: &mut Ctx<B>| {
            let alpha = t2::<B>(&[1.0, 2.0, 3.0], 1, 3, ctx.device());
            let probs = ctx.sample("p", Dirichlet::new(alpha));
            ctx.sample("counts", Multinomial::new(20, probs));
        };
        let data = Data::new().with_whole("counts", t2::<B>(&[7.0, 4.0, 9.0], 1, 3, dev));
        let exact = [8.0 / 26.0, 6.0 / 26.0, 12.0 / 26.0];
        let config = decaying_config(1200, 1, 8, 0.02, 6);
        let check = |name: &str, draws: Vec<Vec<f64>>| {
            let n = draws.len() as f64;
            for (k, e) in exact.iter().enumerate() {
                let mean = draws.iter().map(|d| d[k]).sum::<f64>() / n;
                assert!(
                    (mean - e).abs() < 0.02,
                    "{name}: p[{k}] mean {mean:.4} against the exact {e:.4}"
                );
            }
            for d in &draws {
                assert!(
                    (d.iter().sum::<f64>() - 1.0).abs() < 1e-5 && d.iter().all(|v| *v >= 0.0),
                    "{name}: {d:?}"
                );
            }
        };
        let guide = AutoNormal::new(&p, &data, dev).unwrap();
        let (svi, draws) = fit_and_draw(model_fn(p), guide, config.clone(), &data, "p", dev);
        assert_eq!(svi.param("p.loc").unwrap().dims(), vec![1, 2], "K − 1 free coordinates");
        check("AutoNormal", draws);

        let guide = AutoMultivariateNormal::new(&p, &data, dev).unwrap();
        assert_eq!(guide.dim(), 2);
        check(
            "AutoMultivariateNormal",
            fit_and_draw(model_fn(p), guide, config, &data, "p", dev).1,
        );
    }
}

mod correlation {
    use super::*;
    use burn::tensor::Tensor;
    use ppl_dist::{default_backend_suite, LkjCholesky, MultivariateNormal};
    use ppl_infer::mcmc::{Nuts, NutsConfig};
    use ppl_infer::AutoNormal;

    default_backend_suite!(autoguides_fit_a_correlation_factor_as_nuts_does);

    /// The three correlations of `[3, 3]` factors given row-major.
    fn correlations(l: &[f64]) -> [f64; 3] {
        let r = |i: usize, j: usize| (0..3).map(|c| l[i * 3 + c] * l[j * 3 + c]).sum::<f64>();
        [r(1, 0), r(2, 0), r(2, 1)]
    }

    fn mean_correlations<'a>(draws: impl Iterator<Item = &'a [f64]>) -> [f64; 3] {
        let (mut sum, mut n) = ([0.0; 3], 0.0);
        for d in draws {
            let c = correlations(d);
            (0..3).for_each(|k| sum[k] += c[k]);
            n += 1.0;
        }
        sum.map(|s| s / n)
    }

    /// L ~ LkjCholesky(3, η = 2), 100 points y ~ MVN(0, LLᵀ) drawn with correlations
    /// (0.6, 0.3, −0.2): AutoNormal and AutoMultivariateNormal, through the CorrCholesky
    /// transform of the 3 packed partial correlations, find posterior mean correlations within
    /// 0.03 of NUTS's (2 chains × 500 draws; posterior sds ≈ 0.06–0.09, Monte-Carlo errors
    /// ≈ 0.004), and every guide draw is a correlation factor.
    fn autoguides_fit_a_correlation_factor_as_nuts_does<B: TrainingBackend>(dev: &B::Device) {
        let n = 100;
        // the Cholesky factor of [[1, .6, .3], [.6, 1, −.2], [.3, −.2, 1]]
        let l21: f64 = (-0.2 - 0.3 * 0.6) / 0.8;
        let truth = [1.0, 0.0, 0.0, 0.6, 0.8, 0.0, 0.3, l21, (1.0 - 0.09 - l21 * l21).sqrt()];
        let eps = RngKey::new(8).standard_normal(3 * n);
        let y: Vec<f64> = eps
            .chunks(3)
            .flat_map(|e| {
                (0..3)
                    .map(|i| (0..3).map(|c| truth[i * 3 + c] * e[c]).sum::<f64>())
                    .collect::<Vec<_>>()
            })
            .collect();
        let model = move |ctx: &mut Ctx<B>| {
            let l: Tensor<B, 3> = ctx.sample("L", LkjCholesky::<B, 3>::new(3, 2.0));
            let loc = ctx.zeros([n, 3]);
            ctx.sample("y", MultivariateNormal::new(loc, l));
        };
        let data = Data::new().with_whole("y", t2::<B>(&y, n, 3, dev));
        let cfg = NutsConfig::default()
            .with_num_warmup(300)
            .with_num_samples(500)
            .with_num_chains(2)
            .with_seed(9)
            .with_progress(false);
        let draws = Nuts::new(cfg).run(&model, &data, dev).unwrap();
        assert_eq!(draws.divergences(), 0, "{:?}", draws.chain_stats());
        let reference = mean_correlations(draws.values("L").unwrap().chunks(9));
        let config = decaying_config(1500, 1, 4, 0.02, 10);
        let check = |name: &str, svi_draws: Vec<Vec<f64>>| {
            for d in &svi_draws {
                for r in 0..3 {
                    let len: f64 = (0..3).map(|c| d[r * 3 + c].powi(2)).sum();
                    assert!((len - 1.0).abs() < 1e-4 && d[r * 3 + r] > 0.0, "{name}: {d:?}");
                }
            }
            let ours = mean_correlations(svi_draws.iter().map(|d| d.as_slice()));
            for k in 0..3 {
                assert!(
                    (ours[k] - reference[k]).abs() < 0.03,
                    "{name}: correlation {k}: {:.4} against NUTS's {:.4}",
                    ours[k],
                    reference[k]
                );
            }
        };
        let guide = AutoNormal::new(&model, &data, dev).unwrap();
        let (svi, draws) = fit_and_draw(model_fn(model), guide, config.clone(), &data, "L", dev);
        assert_eq!(
            svi.param("L.loc").unwrap().dims(),
            vec![1, 1, 3],
            "3 packed partial correlations"
        );
        check("AutoNormal", draws);

        let guide = AutoMultivariateNormal::new(&model, &data, dev).unwrap();
        assert_eq!(guide.dim(), 3);
        check(
            "AutoMultivariateNormal",
            fit_and_draw(model_fn(model), guide, config, &data, "L", dev).1,
        );
    }
}

mod interval {
    use super::*;
    use ppl_dist::{default_backend_suite, Bernoulli, Uniform};
    use ppl_infer::{AutoDelta, AutoNormal};

    default_backend_suite!(autoguides_fit_a_uniform_latent_within_its_bounds);

    /// p ~ Uniform(0.2, 0.9), 10 of 15 flips: the posterior is Beta(11, 6) truncated to
    /// [0.2, 0.9] (mean ≈ 0.643, by quadrature below). AutoNormal and AutoMultivariateNormal
    /// (a normal through `low + (high − low)·σ(x)`) find the mean within 0.02, every guide draw
    /// inside the bounds; AutoDelta finds the MAP 10/15 within 10⁻³.
    fn autoguides_fit_a_uniform_latent_within_its_bounds<B: TrainingBackend>(dev: &B::Device) {
        let flips: Vec<f64> = (0..15).map(|i| if i % 3 == 2 { 0.0 } else { 1.0 }).collect();
        let model = |ctx: &mut Ctx<B>| {
            let p = ctx.sample("p", Uniform::new(ctx.full([1], 0.2), 0.9));
            ctx.datamodel(|ctx| {
                let rows = ctx.data::<1>("y").dims()[0];
                ctx.sample("y", Bernoulli::new(p.expand([rows])));
            });
        };
        let data = Data::new().with("y", ppl_dist::testkit::t1::<B>(&flips, dev));
        // the exact mean: ∫ p·p¹⁰(1 − p)⁵ / ∫ p¹⁰(1 − p)⁵ over [0.2, 0.9], midpoint rule
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..100_000 {
            let p = 0.2 + 0.7 * (i as f64 + 0.5) / 100_000.0;
            let w = p.powi(10) * (1.0 - p).powi(5);
            num += p * w;
            den += w;
        }
        let exact = num / den;
        let config = decaying_config(1500, 15, 8, 0.02, 12);
        let check = |name: &str, draws: Vec<f64>| {
            assert!(
                draws.iter().all(|p| (0.2..=0.9).contains(p)),
                "{name}: a draw outside [0.2, 0.9]"
            );
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            assert!(
                (mean - exact).abs() < 0.02,
                "{name}: mean {mean:.4} against the exact {exact:.4}"
            );
        };
        let first = |d: Vec<Vec<f64>>| d.into_iter().map(|v| v[0]).collect::<Vec<f64>>();
        let guide = AutoNormal::new(&model, &data, dev).unwrap();
        check(
            "AutoNormal",
            first(fit_and_draw(model_fn(model), guide, config.clone(), &data, "p", dev).1),
        );
        let guide = AutoMultivariateNormal::new(&model, &data, dev).unwrap();
        let draws = fit_and_draw(model_fn(model), guide, config.clone(), &data, "p", dev).1;
        check("AutoMultivariateNormal", first(draws));
        let guide = AutoDelta::new(&model, &data, dev).unwrap();
        let (svi, _) = fit_and_draw(model_fn(model), guide, config, &data, "p", dev);
        let u = svi.param("p.value").unwrap().to_vec()[0];
        let map = 0.2 + 0.7 / (1.0 + (-u).exp());
        assert!((map - 10.0 / 15.0).abs() < 1e-3, "AutoDelta: MAP {map:.5}");
    }
}
