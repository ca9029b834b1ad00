//! NUTS (issue 21): conjugate models whose exact posterior is known — one per kind of
//! support, so each transform's Jacobian is exercised (real: Normal–Normal; positive:
//! Gamma–Poisson; unit interval: Beta–Bernoulli; simplex: Dirichlet–Multinomial; correlation
//! Cholesky factors: the LKJ prior's Beta marginals) — recover the
//! posterior mean and standard deviation within 4 Monte-Carlo standard errors (from the
//! run's own bulk ESS), over 4 chains, with R-hat < 1.01 and no divergences; reproducibility
//! from the seed; and the errors a user can cause. The sampler checks run on the default
//! backend only (`default_backend_suite!`): NUTS itself is backend-independent, and the
//! densities and gradients beneath it are checked per backend by the conformance suites.
//!
//! α: with the Monte-Carlo error approximately normal, a 4-MCSE bound fails with probability
//! ≈ 6·10⁻⁵ per checked number (≈ 10⁻³ over the suite); the seeds are fixed, so a run either
//! always passes or always fails.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ElementConversion;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{t1, t2};
use ppl_dist::{
    default_backend_suite, Bernoulli, Beta, Dirichlet, Distribution, Exponential, Gamma, LkjCholesky, Multinomial,
    Normal, Poisson, TruncatedNormal, Uniform,
};
use ppl_infer::mcmc::{ChainMethod, McmcSamples, Nuts, NutsConfig};
use ppl_infer::InferError;

default_backend_suite!(
    normal_normal_posterior_is_recovered,
    gamma_poisson_posterior_is_recovered,
    beta_bernoulli_posterior_is_recovered,
    dirichlet_multinomial_posterior_is_recovered,
    lkj_correlations_have_their_beta_marginals,
    interval_latents_are_sampled_within_their_bounds,
    same_seed_same_draws,
    posterior_predictive_from_the_draws_matches_the_exact_one,
);
mod errors {
    use super::*;
    ppl_dist::backend_suite!(
        a_discrete_latent_is_refused_by_name,
        a_model_with_no_finite_starting_point_names_the_site,
        interval_bounds_that_move_with_other_latents_are_refused,
        invalid_settings_are_refused,
    );
}

fn config(seed: u64) -> NutsConfig {
    NutsConfig::default()
        .with_num_warmup(300)
        .with_num_samples(600)
        .with_seed(seed)
        .with_progress(false)
}

/// The summary row `label` (`"mu"`, `"p[0, 2]"`): the posterior mean and sd within 4
/// Monte-Carlo standard errors of `(mean, sd)`, R-hat < 1.01, and no divergences.
fn assert_posterior<B: AutodiffBackend>(draws: &McmcSamples<B>, label: &str, mean: f64, sd: f64) {
    let summary = draws.summary();
    let row = summary
        .row(label)
        .unwrap_or_else(|| panic!("no row {label} in\n{summary}"));
    println!("{row:?}");
    let mcse_mean = sd / row.ess_bulk.sqrt();
    // the standard error of a standard deviation estimated from ESS near-normal draws
    let mcse_sd = sd / (2.0 * row.ess_bulk).sqrt();
    assert!(
        (row.mean - mean).abs() < 4.0 * mcse_mean,
        "{label}: mean {} against the exact {mean} (4 MCSE = {:.2e}, ESS {:.0})",
        row.mean,
        4.0 * mcse_mean,
        row.ess_bulk
    );
    assert!(
        (row.sd - sd).abs() < 4.0 * mcse_sd,
        "{label}: sd {} against the exact {sd} (4 MCSE = {:.2e})",
        row.sd,
        4.0 * mcse_sd
    );
    assert!(row.r_hat < 1.01, "{label}: R-hat {}", row.r_hat);
    assert!(row.ess_bulk > 400.0, "{label}: bulk ESS {} of 2400 draws", row.ess_bulk);
    assert_eq!(draws.divergences(), 0, "divergences: {:?}", draws.chain_stats());
}

const Y_NORMAL: [f64; 10] = [1.9, 0.4, 2.7, 1.2, 0.8, 2.2, 1.5, 3.1, 0.1, 1.6];

fn normal_normal_posterior_is_recovered<B: AutodiffBackend>(dev: &B::Device) {
    // μ ~ N(1, 2), yᵢ ~ N(μ, 0.8): the posterior is N(m, s) with 1/s² = 1/4 + n/0.64
    let model = |ctx: &mut Ctx<B>| {
        let mu = ctx.sample("mu", Normal::new(ctx.full([1], 1.0), 2.0));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Normal::new(mu, 0.8));
        });
    };
    let data = Data::new().with("y", t1::<B>(&Y_NORMAL, dev));
    let draws = Nuts::new(config(1)).run(&model, &data, dev).unwrap();
    let precision = 0.25 + Y_NORMAL.len() as f64 / 0.64;
    let mean = (1.0 * 0.25 + Y_NORMAL.iter().sum::<f64>() / 0.64) / precision;
    assert_posterior(&draws, "mu", mean, precision.powf(-0.5));
    assert_eq!(draws.get::<3>("mu").unwrap().dims(), [4, 600, 1]);
}

const Y_COUNTS: [f64; 12] = [3.0, 5.0, 2.0, 4.0, 6.0, 1.0, 3.0, 4.0, 2.0, 5.0, 3.0, 4.0];

fn gamma_poisson_posterior_is_recovered<B: AutodiffBackend>(dev: &B::Device) {
    // λ ~ Gamma(2, rate 0.5), yᵢ ~ Poisson(λ): the posterior is Gamma(2 + Σy, 0.5 + n)
    let model = |ctx: &mut Ctx<B>| {
        let lam = ctx.sample("lambda", Gamma::new(ctx.full([1], 2.0), 0.5));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Poisson::new(lam));
        });
    };
    let data = Data::new().with("y", t1::<B>(&Y_COUNTS, dev));
    let draws = Nuts::new(config(2)).run(&model, &data, dev).unwrap();
    let (a, b) = (2.0 + Y_COUNTS.iter().sum::<f64>(), 0.5 + Y_COUNTS.len() as f64);
    assert_posterior(&draws, "lambda", a / b, a.sqrt() / b);
}

const FLIPS: [f64; 15] = [
    1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0,
];

fn beta_bernoulli_posterior_is_recovered<B: AutodiffBackend>(dev: &B::Device) {
    // p ~ Beta(2, 3), yᵢ ~ Bernoulli(p): the posterior is Beta(2 + s, 3 + n − s)
    let model = |ctx: &mut Ctx<B>| {
        let p = ctx.sample("p", Beta::new(ctx.full([1], 2.0), 3.0));
        ctx.datamodel(|ctx| {
            let rows = ctx.data::<1>("y").dims()[0];
            ctx.sample("y", Bernoulli::new(p.expand([rows])));
        });
    };
    let data = Data::new().with("y", t1::<B>(&FLIPS, dev));
    let draws = Nuts::new(config(3)).run(&model, &data, dev).unwrap();
    let s: f64 = FLIPS.iter().sum();
    let (a, b) = (2.0 + s, 3.0 + FLIPS.len() as f64 - s);
    let var = a * b / ((a + b).powi(2) * (a + b + 1.0));
    assert_posterior(&draws, "p", a / (a + b), var.sqrt());
}

fn dirichlet_multinomial_posterior_is_recovered<B: AutodiffBackend>(dev: &B::Device) {
    // p ~ Dirichlet([1, 2, 3]), counts ~ Multinomial(20, p): the posterior is Dirichlet(α + counts)
    let counts = [7.0, 4.0, 9.0];
    let model = |ctx: &mut Ctx<B>| {
        let alpha = t2::<B>(&[1.0, 2.0, 3.0], 1, 3, ctx.device());
        let p = ctx.sample("p", Dirichlet::new(alpha));
        ctx.sample("counts", Multinomial::new(20, p));
    };
    let data = Data::new().with_whole("counts", t2::<B>(&counts, 1, 3, dev));
    let draws = Nuts::new(config(4)).run(&model, &data, dev).unwrap();
    assert_eq!(draws.dims("p"), Some(&[1, 3][..]));
    let alpha = [1.0 + counts[0], 2.0 + counts[1], 3.0 + counts[2]];
    let a0: f64 = alpha.iter().sum();
    for (k, a) in alpha.iter().enumerate() {
        let var = a * (a0 - a) / (a0 * a0 * (a0 + 1.0));
        assert_posterior(&draws, &format!("p[0, {k}]"), a / a0, var.sqrt());
    }
    // every draw lies on the simplex
    for (i, row) in draws.values("p").unwrap().chunks(3).enumerate() {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "draw {i}: {row:?}");
    }
}

fn lkj_correlations_have_their_beta_marginals<B: AutodiffBackend>(_dev: &B::Device) {
    // L ~ LkjCholesky(K = 3, η = 2) through the CorrCholesky transform: each correlation
    // R[i, j] is 2·Beta(b, b) − 1 with b = η − 1 + K/2 = 2.5, so mean 0 and variance
    // 1/(2b + 1); R[1, 0] = L[1, 0] and R[2, 0] = L[2, 0] (L[0, 0] = 1).
    let model = |ctx: &mut Ctx<B>| {
        ctx.sample("L", LkjCholesky::<B, 2>::new(3, 2.0));
    };
    let draws = Nuts::new(config(6)).run(&model, &Data::new(), _dev).unwrap();
    assert_eq!(draws.dims("L"), Some(&[3, 3][..]));
    let sd = (1.0f64 / 6.0).sqrt();
    assert_posterior(&draws, "L[1, 0]", 0.0, sd);
    assert_posterior(&draws, "L[2, 0]", 0.0, sd);
    // every draw is a correlation factor: unit rows
    for (i, m) in draws.values("L").unwrap().chunks(9).enumerate() {
        for r in 0..3 {
            let len: f64 = (0..3).map(|c| m[r * 3 + c].powi(2)).sum();
            assert!((len - 1.0).abs() < 1e-5, "draw {i}: row {r} has length² {len}");
        }
    }
}

fn interval_latents_are_sampled_within_their_bounds<B: AutodiffBackend>(dev: &B::Device) {
    // Interval supports set by the parameters, through Transform::Bounded:
    // p ~ Uniform(0, 1), yᵢ ~ Bernoulli(p): the posterior is Beta(1 + s, 1 + n − s);
    // μ ~ TruncatedNormal(0, 1, 0.5, 3), xᵢ ~ N(μ, 1): the posterior is N(Σx/(n + 1), 1/(n + 1))
    // truncated to [0.5, 3] (its mean and sd from TruncatedNormal, checked against SciPy), with
    // much of its mass against the lower bound.
    const X: [f64; 4] = [0.3, 1.1, -0.2, 0.6];
    let model = |ctx: &mut Ctx<B>| {
        let p = ctx.sample("p", Uniform::new(ctx.zeros([1]), 1.0));
        let mu = ctx.sample("mu", TruncatedNormal::new(ctx.zeros([1]), 1.0, 0.5, 3.0));
        ctx.datamodel(|ctx| {
            let rows = ctx.data::<1>("y").dims()[0];
            ctx.sample("y", Bernoulli::new(p.expand([rows])));
        });
        let x = ctx.data::<1>("x");
        let n = x.dims()[0];
        ctx.sample("x", Normal::new(mu.expand([n]), 1.0));
    };
    let data = Data::new()
        .with("y", t1::<B>(&FLIPS, dev))
        .with_whole("x", t1::<B>(&X, dev));
    let draws = Nuts::new(config(7)).run(&model, &data, dev).unwrap();
    let s: f64 = FLIPS.iter().sum();
    let (a, b) = (1.0 + s, 1.0 + FLIPS.len() as f64 - s);
    assert_posterior(
        &draws,
        "p",
        a / (a + b),
        (a * b / ((a + b).powi(2) * (a + b + 1.0))).sqrt(),
    );
    let n = X.len() as f64;
    let post = TruncatedNormal::<B, 1>::new(
        t1::<B>(&[X.iter().sum::<f64>() / (n + 1.0)], dev),
        (n + 1.0).powf(-0.5),
        0.5,
        3.0,
    )
    .unwrap();
    let mean = post.mean().unwrap().into_scalar().elem::<f64>();
    let sd = post.variance().unwrap().into_scalar().elem::<f64>().sqrt();
    assert_posterior(&draws, "mu", mean, sd);
    assert!(
        draws.values("mu").unwrap().iter().all(|m| (0.5..=3.0).contains(m)),
        "a draw of mu outside [0.5, 3]"
    );
}

fn same_seed_same_draws<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let lam = ctx.sample("lambda", Gamma::new(ctx.full([1], 2.0), 0.5));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Poisson::new(lam));
        });
    };
    let data = Data::new().with("y", t1::<B>(&Y_COUNTS, dev));
    let small = |seed, method| {
        let cfg = config(seed)
            .with_num_warmup(50)
            .with_num_samples(20)
            .with_num_chains(2)
            .with_chain_method(method);
        Nuts::new(cfg).run(&model, &data, dev).unwrap()
    };
    let (a, b, c) = (
        small(7, ChainMethod::Sequential),
        small(7, ChainMethod::Sequential),
        small(8, ChainMethod::Sequential),
    );
    assert_eq!(
        a.values("lambda"),
        b.values("lambda"),
        "the same seed must give the same draws"
    );
    let threads = small(7, ChainMethod::Parallel);
    assert_eq!(
        a.values("lambda"),
        threads.values("lambda"),
        "chains on threads must give the draws of chains one after the other"
    );
    assert_eq!(a.chain_stats(), threads.chain_stats());
    assert_ne!(
        a.values("lambda"),
        c.values("lambda"),
        "another seed must give other draws"
    );
    assert_eq!(a.seed(), 7);
}

fn a_discrete_latent_is_refused_by_name<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        let z = ctx.sample("coin", Bernoulli::new(ctx.full([1], 0.3)));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Normal::new(z, 1.0));
        });
    };
    let data = Data::new().with("y", t1::<B>(&[0.2, 1.1], dev));
    let err = Nuts::new(config(0)).run(&model, &data, dev).unwrap_err();
    println!("{err}");
    assert!(matches!(err, InferError::Mcmc { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("`coin`") && text.contains("discrete") && text.contains("TraceEnum"),
        "{text}"
    );
}

fn a_model_with_no_finite_starting_point_names_the_site<B: AutodiffBackend>(dev: &B::Device) {
    // an exponential likelihood of a negative observation: −∞ whatever the rate
    let model = |ctx: &mut Ctx<B>| {
        let rate = ctx.sample("rate", Gamma::new(ctx.full([1], 1.0), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("y", Exponential::new(rate));
        });
    };
    let data = Data::new().with("y", t1::<B>(&[0.5, -1.0], dev));
    let err = Nuts::new(config(0)).run(&model, &data, dev).unwrap_err();
    println!("{err}");
    let text = err.to_string();
    assert!(matches!(err, InferError::Mcmc { chain: Some(_), .. }), "{err:?}");
    assert!(
        text.contains("observed site `y`") && text.contains("no starting point"),
        "{text}"
    );
}

fn interval_bounds_that_move_with_other_latents_are_refused<B: AutodiffBackend>(dev: &B::Device) {
    // x ~ Uniform(0, τ) with τ a latent: no fixed bounds to map x onto
    let model = |ctx: &mut Ctx<B>| {
        let tau = ctx.sample("tau", Exponential::new(ctx.full([1], 1.0)));
        ctx.sample("x", Uniform::new(ctx.zeros([1]), tau));
    };
    let err = Nuts::new(config(0)).run(&model, &Data::new(), dev).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`x`") && msg.contains("bounds"), "{msg}");
}

fn invalid_settings_are_refused<B: AutodiffBackend>(dev: &B::Device) {
    let model = |ctx: &mut Ctx<B>| {
        ctx.sample("mu", Normal::new(ctx.full([1], 0.0), 1.0));
    };
    for cfg in [
        config(0).with_num_chains(0),
        config(0).with_num_samples(2),
        config(0).with_target_accept(1.0),
        config(0).with_max_tree_depth(0),
    ] {
        let err = Nuts::new(cfg).run(&model, &Data::new(), dev).unwrap_err();
        assert!(matches!(err, InferError::Config(_)), "{err:?}");
    }
}

mod network {
    use super::*;
    use burn::tensor::{activation::tanh, Tensor};

    default_backend_suite!(a_small_neural_network_samples);

    const H: usize = 5;

    /// A 1–5–1 tanh network whose weights are latents (`w1`, `b1`, `w2`, `b2` ~ N(0, 1)), 20
    /// noisy points of sin(x) (σ = 0.1): NUTS samples it (2 chains × 40 draws after 80
    /// warm-up, trees of depth ≤ 7 to bound the cost; a multimodal posterior, so no
    /// convergence is claimed) and the posterior mean of the network's output fits the data.
    fn a_small_neural_network_samples<B: AutodiffBackend>(dev: &B::Device) {
        let n = 20;
        let xs: Vec<f64> = (0..n).map(|i| -2.0 + 4.0 * i as f64 / (n - 1) as f64).collect();
        let noise = ppl_dist::RngKey::new(9).standard_normal(n);
        let ys: Vec<f64> = xs.iter().zip(&noise).map(|(x, e)| x.sin() + 0.1 * e).collect();
        let model = |ctx: &mut Ctx<B>| {
            let w1 = ctx.sample("w1", Normal::new(ctx.zeros([1, H]), 1.0));
            let b1 = ctx.sample("b1", Normal::new(ctx.zeros([1, H]), 1.0));
            let w2 = ctx.sample("w2", Normal::new(ctx.zeros([H, 1]), 1.0));
            let b2 = ctx.sample("b2", Normal::new(ctx.zeros([1, 1]), 1.0));
            ctx.datamodel(|ctx| {
                let x: Tensor<B, 2> = ctx.data("x");
                let f = tanh(x.matmul(w1) + b1).matmul(w2) + b2;
                ctx.sample("y", Normal::new(f, 0.1));
            });
        };
        let data = Data::new()
            .with("x", t2::<B>(&xs, n, 1, dev))
            .with("y", t2::<B>(&ys, n, 1, dev));
        let cfg = config(11)
            .with_num_warmup(80)
            .with_num_samples(40)
            .with_num_chains(2)
            .with_max_tree_depth(7);
        let draws = Nuts::new(cfg).run(&model, &data, dev).unwrap();
        assert_eq!(draws.get::<4>("w1").unwrap().dims(), [2, 40, 1, H]);
        // the posterior mean prediction at each x, from the draws on the host
        let (w1, b1, w2, b2) = (
            draws.values("w1").unwrap(),
            draws.values("b1").unwrap(),
            draws.values("w2").unwrap(),
            draws.values("b2").unwrap(),
        );
        let total = 80;
        let mut sq = 0.0;
        for (x, y) in xs.iter().zip(&ys) {
            let mut mean = 0.0;
            for d in 0..total {
                let hidden = (0..H).map(|h| (x * w1[d * H + h] + b1[d * H + h]).tanh() * w2[d * H + h]);
                mean += (hidden.sum::<f64>() + b2[d]) / total as f64;
            }
            sq += (mean - y).powi(2);
        }
        let rmse = (sq / n as f64).sqrt();
        println!("posterior-mean RMSE {rmse:.3}; {:?}", draws.chain_stats());
        assert!(rmse < 0.2, "the sampled network fits the data: RMSE {rmse}");
    }
}

fn posterior_predictive_from_the_draws_matches_the_exact_one<B: AutodiffBackend>(dev: &B::Device) {
    // w ~ N(0, 1), yᵢ ~ N(w·xᵢ, 0.5): w | y ~ N(m, s²) with 1/s² = 1 + Σx²/0.25, m = s²·Σxy/0.25;
    // the predictive of y at x* is N(m·x*, s²x*² + 0.25)
    let xs = [-1.0, -0.5, 0.0, 0.4, 0.8, 1.2, 1.5, 2.0];
    let ys = [-0.9, -0.2, 0.3, 0.1, 0.9, 0.8, 1.6, 1.7];
    let model = |ctx: &mut Ctx<B>| {
        let w = ctx.sample("w", Normal::new(ctx.zeros([1, 1]), 1.0));
        ctx.datamodel(|ctx| {
            let x: burn::tensor::Tensor<B, 2> = ctx.data("x");
            ctx.sample("y", Normal::new(x.matmul(w), 0.5));
        });
    };
    let data = Data::new()
        .with("x", t2::<B>(&xs, 8, 1, dev))
        .with("y", t2::<B>(&ys, 8, 1, dev));
    let draws = Nuts::new(config(5)).run(&model, &data, dev).unwrap();
    let post = draws.to_posterior(model);
    let n = 2000;
    let queries = post
        .posterior_predictive_samples(&["y", "w"], &Data::new().with("x", t2::<B>(&[2.0], 1, 1, dev)), n)
        .unwrap();
    let pooled = draws.values("w").unwrap();
    let ys_new: Vec<f64> = queries.iter().map(|q| q.sample("y").unwrap().to_vec()[0]).collect();
    for q in queries.iter().take(20) {
        let w = q.sample("w").unwrap().to_vec()[0];
        assert!(pooled.contains(&w), "w = {w} is one of the MCMC draws");
    }
    let prec = 1.0 + xs.iter().map(|x| x * x).sum::<f64>() / 0.25;
    let m = xs.iter().zip(&ys).map(|(x, y)| x * y).sum::<f64>() / 0.25 / prec;
    let (mean, var) = (2.0 * m, 4.0 / prec + 0.25);
    let got = ys_new.iter().sum::<f64>() / n as f64;
    let got_var = ys_new.iter().map(|y| (y - got).powi(2)).sum::<f64>() / (n - 1) as f64;
    // 5 standard errors: the predictive draws resample 4000 correlated MCMC draws
    assert!(
        (got - mean).abs() < 5.0 * (var / n as f64).sqrt(),
        "predictive mean {got} against {mean}"
    );
    assert!(
        (got_var - var).abs() < 5.0 * var * (2.0 / n as f64).sqrt(),
        "predictive variance {got_var} against {var}"
    );
}
