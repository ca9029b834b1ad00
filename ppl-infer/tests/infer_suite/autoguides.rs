//! Conjugate models recover their exact posteriors with autoguides: S1 (Normal–Normal,
//! AutoNormal), S3 (Beta–Bernoulli, logit-normal), S4 (Gamma–Poisson, log-normal); AutoDelta
//! finds the MAP.

use burn::tensor::backend::AutodiffBackend;
use ppl_core::{Ctx, Data};
use ppl_dist::testkit::{t1, t2};
use ppl_dist::{backend_suite, Bernoulli, Beta, Gamma, Normal, Poisson};
use ppl_infer::{model_fn, AutoDelta, AutoNormal, Elbo, LrSchedule, Svi, SviConfig};

backend_suite!(
    auto_normal_recovers_the_normal_normal_posterior,
    auto_normal_recovers_the_beta_bernoulli_posterior,
    auto_normal_recovers_the_gamma_poisson_posterior,
    auto_delta_finds_the_map,
);

fn config(steps: usize, rows: usize, particles: usize) -> SviConfig {
    SviConfig {
        epochs: steps,
        batch_size: rows,
        shuffle: false,
        lr: 0.01,
        schedule: LrSchedule::Exponential {
            gamma: 0.05f64.powf(1.0 / steps as f64),
        },
        elbo: Elbo::Trace { particles },
        progress: false,
        seed: 11,
        ..Default::default()
    }
}

/// `E[f(u)]` for `u ~ N(loc, scale)` by the trapezoid rule on ±8 sd (host).
fn normal_expectation(loc: f64, scale: f64, f: impl Fn(f64) -> f64) -> f64 {
    let n = 4001;
    let (a, h) = (-8.0, 16.0 / (n - 1) as f64);
    let mut acc = 0.0;
    for i in 0..n {
        let t = a + h * i as f64;
        let w = if i == 0 || i == n - 1 { 0.5 } else { 1.0 };
        acc += w * f(loc + scale * t) * (-t * t / 2.0).exp();
    }
    acc * h / (2.0 * std::f64::consts::PI).sqrt()
}

fn auto_normal_recovers_the_normal_normal_posterior<B: AutodiffBackend>(dev: &B::Device) {
    let x = [-0.1, 0.3, 0.0, 0.4, 0.2, 0.5, 0.1, 0.7];
    let p = |ctx: &mut Ctx<B>| {
        let loc0 = t2::<B>(&[0.0, 0.5], 1, 2, ctx.device());
        let mu = ctx.sample("mu", Normal::new(loc0, 1.0 / 0.1f64.sqrt()));
        let noise = t2::<B>(&[1.0 / 6f64.sqrt(), 0.5], 1, 2, ctx.device());
        ctx.datamodel(|ctx| {
            ctx.sample("x", Normal::new(mu, noise));
        });
    };
    let data = Data::new().with("x", t2::<B>(&x, 4, 2, dev));
    let guide = AutoNormal::new(&p, &data, dev).unwrap();
    assert_eq!(guide.sites().len(), 1);
    let mut svi = Svi::new(
        model_fn(p),
        guide,
        SviConfig {
            elbo: Elbo::MeanField { particles: 8 },
            ..config(3000, 4, 8)
        },
        dev,
    );
    svi.fit(&data).unwrap();
    let loc = svi.param("mu.loc").unwrap().to_vec();
    let scale = svi.param("mu.scale").unwrap().to_vec();
    for (d, (lam, loc0)) in [(6.0, 0.0), (4.0, 0.5)].into_iter().enumerate() {
        let lam_n = 0.1 + 4.0 * lam;
        let sum: f64 = (0..4).map(|i| x[i * 2 + d]).sum();
        let (mu_n, sd_n) = ((0.1 * loc0 + lam * sum) / lam_n, 1.0 / lam_n.sqrt());
        assert!((loc[d] - mu_n).abs() <= 0.05 * sd_n, "dim {d}: {} vs {mu_n}", loc[d]);
        assert!(
            (0.95..=1.05).contains(&(scale[d] / sd_n)),
            "dim {d}: sd ratio {}",
            scale[d] / sd_n
        );
    }
}

fn auto_normal_recovers_the_beta_bernoulli_posterior<B: AutodiffBackend>(dev: &B::Device) {
    // S3: 8 ones and 2 zeros, Beta(1, 1) prior: posterior Beta(9, 3), mean 0.75, sd 0.1201.
    let p = |ctx: &mut Ctx<B>| {
        let prob = ctx.sample("p", Beta::new(ctx.ones([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Bernoulli::new(prob));
        });
    };
    let data = Data::new().with("x", t1::<B>(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], dev));
    let guide = AutoNormal::new(&p, &data, dev).unwrap();
    let mut svi = Svi::new(model_fn(p), guide, config(3000, 10, 8), dev);
    svi.fit(&data).unwrap();
    let (loc, scale) = (
        svi.param("p.loc").unwrap().to_vec()[0],
        svi.param("p.scale").unwrap().to_vec()[0],
    );
    let sig = |u: f64| 1.0 / (1.0 + (-u).exp());
    let mean = normal_expectation(loc, scale, sig);
    let sd = (normal_expectation(loc, scale, |u| sig(u).powi(2)) - mean * mean).sqrt();
    let sd_exact = (9.0f64 * 3.0 / (144.0 * 13.0)).sqrt();
    assert!((mean - 0.75).abs() < 0.02, "E_q[p] = {mean}");
    assert!((0.9..=1.1).contains(&(sd / sd_exact)), "sd ratio {}", sd / sd_exact);
}

fn auto_normal_recovers_the_gamma_poisson_posterior<B: AutodiffBackend>(dev: &B::Device) {
    // S4: data [1, 2, 3], Gamma(1, 1) prior: posterior Gamma(7, 4), mean 1.75, sd √7/4.
    let p = |ctx: &mut Ctx<B>| {
        let rate = ctx.sample("rate", Gamma::new(ctx.ones([1]), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Poisson::new_unchecked(rate));
        });
    };
    let data = Data::new().with("x", t1::<B>(&[1.0, 2.0, 3.0], dev));
    let guide = AutoNormal::new(&p, &data, dev).unwrap();
    let mut svi = Svi::new(model_fn(p), guide, config(3000, 3, 8), dev);
    svi.fit(&data).unwrap();
    let (loc, scale) = (
        svi.param("rate.loc").unwrap().to_vec()[0],
        svi.param("rate.scale").unwrap().to_vec()[0],
    );
    let mean = (loc + scale * scale / 2.0).exp();
    let sd = ((scale * scale).exp() - 1.0).sqrt() * mean;
    assert!((mean - 1.75).abs() < 0.05, "E_q[λ] = {mean}");
    let ratio = sd / (7f64.sqrt() / 4.0);
    assert!((0.9..=1.15).contains(&ratio), "sd ratio {ratio}");
}

fn auto_delta_finds_the_map<B: AutodiffBackend>(dev: &B::Device) {
    // Gamma(2, 1) prior, Poisson data [1, 2, 3]: posterior Gamma(8, 4), mode 7/4.
    let p = |ctx: &mut Ctx<B>| {
        let rate = ctx.sample("rate", Gamma::new(ctx.full([1], 2.0), 1.0));
        ctx.datamodel(|ctx| {
            ctx.sample("x", Poisson::new_unchecked(rate));
        });
    };
    let data = Data::new().with("x", t1::<B>(&[1.0, 2.0, 3.0], dev));
    let guide = AutoDelta::new(&p, &data, dev).unwrap();
    let mut svi = Svi::new(
        model_fn(p),
        guide,
        SviConfig {
            lr: 0.05,
            ..config(1500, 3, 1)
        },
        dev,
    );
    svi.fit(&data).unwrap();
    // The MAP of ln p(x, λ) in λ (the Delta guide has no Jacobian term): (α − 1 + Σx)/(β + n) = 7/4.
    let v = ppl_core::transform::to_constrained(
        ppl_dist::Constraint::Positive,
        svi.param("rate.value").unwrap().tensor::<1>().unwrap(),
    );
    let lam = ppl_dist::testkit::host(v)[0];
    assert!((lam - 1.75).abs() < 0.01, "MAP {lam}");
}
