//! D3/D4: seeded goodness-of-fit of every sampler at α = 0.001 with n = 10⁴ draws,
//! 3 parameter sets × 2 seeds each.
//!
//! Continuous: one-sample KS against statrs's CDF (reject if D ≥ 1.95/√n). Discrete: Pearson
//! χ² over cells with expected count ≥ 5 (reject if p ≤ 0.001). Dirichlet: KS of every
//! Beta(αᵢ, α₀ − αᵢ) marginal, and a density-based two-sample KS of log p(x) against an
//! independent reference sampler. MVN: KS of the squared Mahalanobis distance against χ²ₖ (a
//! function of the density) and of a projection against its normal law.

use burn::tensor::{backend::AutodiffBackend, backend::Backend, Tensor};
use ppl_dist::sampling::{with_sampling, Sampling};
use ppl_dist::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, Dirichlet, Distribution, Empirical, Exponential, Gamma, Gumbel,
    HalfCauchy, HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, MixtureGaussian, Multinomial,
    MultivariateNormal, NegativeBinomial, Normal, OneHotCategorical, Poisson, RngKey, StudentT, Uniform,
};
use statrs::distribution::{ContinuousCDF, Discrete};

use crate::common::{backend_suite, chi2_pvalue, host, ks_critical, ks_statistic, t1, t2};

backend_suite!(
    continuous_samplers_pass_ks,
    discrete_samplers_pass_chi_square,
    dirichlet_and_mvn_samplers_pass_density_based_checks,
    samplers_pass_every_check_in_device_mode,
);

/// D3/D4 again with the noise drawn by burn's device RNG and transformed on the device
/// ([`Sampling::Device`]; the Gamma-based samplers — Gamma, InverseGamma, Chi2, StudentT,
/// Beta, Dirichlet — draw by Marsaglia–Tsang in tensor operations; the counting samplers draw
/// on the host in either mode, so for them this repeats the host checks).
fn samplers_pass_every_check_in_device_mode<B: AutodiffBackend>(dev: &B::Device) {
    with_sampling(Sampling::Device, || {
        // The mode is in force: a device draw is not the host draw of the same key.
        let d = Normal::new(t1::<B>(&[0.0; 8], dev), 1.0).unwrap();
        let device = host(d.sample(&mut RngKey::new(1)));
        let on_host = with_sampling(Sampling::Host, || host(d.sample(&mut RngKey::new(1))));
        assert_ne!(device, on_host, "device mode drew the host's numbers");
        continuous_samplers_pass_ks::<B>(dev);
        discrete_samplers_pass_chi_square::<B>(dev);
        dirichlet_and_mvn_samplers_pass_density_based_checks::<B>(dev);
    });
}

const N: usize = 10_000;
const SEEDS: [u64; 2] = [101, 202];

fn draws<B: Backend>(d: &dyn Distribution<B, 1>, seed: u64) -> Vec<f64> {
    host(d.sample_n(N, &mut RngKey::new(seed)).expect("scalar distribution"))
}

fn ks<B: Backend>(name: &str, d: &dyn Distribution<B, 1>, cdf: impl Fn(f64) -> f64) {
    for seed in SEEDS {
        let stat = ks_statistic(draws(d, seed), &cdf);
        assert!(
            stat < ks_critical(N),
            "{name} (seed {seed}): KS D = {stat:.5} ≥ {:.5}",
            ks_critical(N)
        );
    }
}

fn chi2<B: Backend>(name: &str, d: &dyn Distribution<B, 1>, pmf: impl Fn(i64) -> f64, hi: i64) {
    for seed in SEEDS {
        let p = chi2_pvalue(&draws(d, seed), &pmf, 0..=hi);
        assert!(p > 0.001, "{name} (seed {seed}): χ² p = {p:.2e} ≤ 0.001");
    }
}

fn s<B: Backend>(v: f64, dev: &B::Device) -> Tensor<B, 1> {
    t1::<B>(&[v], dev)
}

fn continuous_samplers_pass_ks<B: AutodiffBackend>(dev: &B::Device) {
    use statrs::distribution as sd;
    for &(m, sc) in &[(0.0, 1.0), (1e-6, 1e-7), (-50.0, 20.0)] {
        let n = sd::Normal::new(m, sc).unwrap();
        ks("Normal", &Normal::new(s::<B>(m, dev), sc).unwrap(), |x| n.cdf(x));
        let l = sd::Laplace::new(m, sc).unwrap();
        ks("Laplace", &Laplace::new(s::<B>(m, dev), sc).unwrap(), |x| l.cdf(x));
        let c = sd::Cauchy::new(m, sc).unwrap();
        ks("Cauchy", &Cauchy::new(s::<B>(m, dev), sc).unwrap(), |x| c.cdf(x));
        let g = sd::Gumbel::new(m, sc).unwrap();
        ks("Gumbel", &Gumbel::new(s::<B>(m, dev), sc).unwrap(), |x| g.cdf(x));
        ks("Logistic", &Logistic::new(s::<B>(m, dev), sc).unwrap(), |x| {
            1.0 / (1.0 + (-(x - m) / sc).exp())
        });
        ks("HalfCauchy", &HalfCauchy::new(s::<B>(sc, dev)).unwrap(), |x| {
            2.0 / std::f64::consts::PI * (x / sc).max(0.0).atan()
        });
        let hn = sd::Normal::new(0.0, sc).unwrap();
        ks("HalfNormal", &HalfNormal::new(s::<B>(sc, dev)).unwrap(), |x| {
            2.0 * hn.cdf(x) - 1.0
        });
        ks("Uniform", &Uniform::new(s::<B>(m, dev), m + sc).unwrap(), |x| {
            ((x - m) / sc).clamp(0.0, 1.0)
        });
    }
    for &(m, sc) in &[(0.0, 1.0), (2.0, 0.1), (-1.0, 2.5)] {
        let ln = sd::LogNormal::new(m, sc).unwrap();
        ks("LogNormal", &LogNormal::new(s::<B>(m, dev), sc).unwrap(), |x| ln.cdf(x));
    }
    for &(a, b) in &[(0.3, 1.0), (2.5, 0.5), (40.0, 3.0)] {
        let g = sd::Gamma::new(a, b).unwrap();
        ks("Gamma", &Gamma::new(s::<B>(a, dev), b).unwrap(), |x| g.cdf(x));
        let ig = sd::InverseGamma::new(a + 1.0, b).unwrap();
        ks(
            "InverseGamma",
            &InverseGamma::new(s::<B>(a + 1.0, dev), b).unwrap(),
            |x| ig.cdf(x),
        );
        let be = sd::Beta::new(a, b).unwrap();
        ks("Beta", &Beta::new(s::<B>(a, dev), b).unwrap(), |x| be.cdf(x));
        let e = sd::Exp::new(b).unwrap();
        ks("Exponential", &Exponential::new(s::<B>(b, dev)).unwrap(), |x| e.cdf(x));
        let w = sd::Weibull::new(a, b).unwrap();
        ks("Weibull", &ppl_dist::Weibull::new(s::<B>(b, dev), a).unwrap(), |x| {
            w.cdf(x)
        });
        let pa = sd::Pareto::new(b, a).unwrap();
        ks("Pareto", &ppl_dist::Pareto::new(s::<B>(b, dev), a).unwrap(), |x| {
            pa.cdf(x)
        });
        let c = sd::ChiSquared::new(a).unwrap();
        ks("Chi2", &ppl_dist::Chi2::new(s::<B>(a, dev)).unwrap(), |x| c.cdf(x));
        let t = sd::StudentsT::new(1.0, 2.0, a).unwrap();
        ks("StudentT", &StudentT::new(s::<B>(a, dev), 1.0, 2.0).unwrap(), |x| {
            t.cdf(x)
        });
    }
    // A Gaussian mixture: CDF = Σ wₖ Φ((x − μₖ)/σₖ).
    let (w, mu, sg) = ([0.2, 0.5, 0.3], [-3.0, 0.0, 4.0], [0.5, 1.0, 2.0]);
    let logits = t2::<B>(&w.map(f64::ln), 1, 3, dev);
    let mix = MixtureGaussian::gaussian(logits, t2::<B>(&mu, 1, 3, dev), t2::<B>(&sg, 1, 3, dev)).unwrap();
    for seed in SEEDS {
        let x = host(mix.sample_n(N, &mut RngKey::new(seed)).unwrap());
        let cdf = |x: f64| {
            (0..3)
                .map(|k| w[k] * sd::Normal::new(mu[k], sg[k]).unwrap().cdf(x))
                .sum::<f64>()
        };
        let stat = ks_statistic(x, cdf);
        assert!(stat < ks_critical(N), "MixtureGaussian (seed {seed}): KS D = {stat:.5}");
    }
}

fn discrete_samplers_pass_chi_square<B: AutodiffBackend>(dev: &B::Device) {
    use statrs::distribution as sd;
    for &p in &[0.03, 0.5, 0.9] {
        let b = sd::Bernoulli::new(p).unwrap();
        chi2(
            "Bernoulli",
            &Bernoulli::new(s::<B>(p, dev)).unwrap(),
            |k| b.pmf(k as u64),
            1,
        );
        let logit = (p / (1.0 - p)).ln();
        chi2(
            "Bernoulli(logits)",
            &Bernoulli::from_logits(s::<B>(logit, dev)).unwrap(),
            |k| b.pmf(k as u64),
            1,
        );
        let g = sd::Geometric::new(p).unwrap();
        chi2(
            "Geometric",
            &ppl_dist::Geometric::new(s::<B>(p, dev)).unwrap(),
            |k| g.pmf(k as u64 + 1),
            400,
        );
        // BetaBinomial(20, α, β) with mean 20p: the pmf in f64 from statrs's ln Γ
        let (a, bb) = (2.0 * p / (1.0 - p).max(0.1), 2.0);
        let lb = |x: f64, y: f64| {
            use statrs::function::gamma::ln_gamma;
            ln_gamma(x) + ln_gamma(y) - ln_gamma(x + y)
        };
        chi2(
            "BetaBinomial",
            &ppl_dist::BetaBinomial::new(20.0, s::<B>(a, dev), bb).unwrap(),
            |k| {
                use statrs::function::factorial::ln_binomial;
                (ln_binomial(20, k as u64) + lb(k as f64 + a, 20.0 - k as f64 + bb) - lb(a, bb)).exp()
            },
            20,
        );
        let bi = sd::Binomial::new(p, 30).unwrap();
        chi2(
            "Binomial",
            &Binomial::new(30.0, s::<B>(p, dev)).unwrap(),
            |k| bi.pmf(k as u64),
            30,
        );
        let q = p.min(0.8);
        let nb = sd::NegativeBinomial::new(4.5, 1.0 - q).unwrap();
        chi2(
            "NegativeBinomial",
            &NegativeBinomial::new(4.5, s::<B>(q, dev)).unwrap(),
            |k| nb.pmf(k as u64),
            400,
        );
    }
    for &rate in &[0.3, 4.0, 150.0] {
        let po = sd::Poisson::new(rate).unwrap();
        chi2(
            "Poisson",
            &Poisson::new(s::<B>(rate, dev)).unwrap(),
            |k| po.pmf(k as u64),
            400,
        );
    }
    // Categorical and OneHotCategorical over K = 5, Multinomial through its first count.
    for probs in [[0.2; 5], [0.01, 0.09, 0.3, 0.4, 0.2], [0.6, 0.1, 0.1, 0.1, 0.1]] {
        let pt = t2::<B>(&probs, 1, 5, dev);
        let cat = Categorical::new(pt.clone()).unwrap();
        let oh = OneHotCategorical::new(pt.clone()).unwrap();
        let mn = Multinomial::new(12, pt).unwrap();
        for seed in SEEDS {
            let x = host(cat.sample_n(N, &mut RngKey::new(seed)).unwrap());
            let p = chi2_pvalue(&x, |k| probs[k as usize], 0..=4);
            assert!(p > 0.001, "Categorical (seed {seed}): p = {p:.2e}");
            let x = host(oh.sample_n(N, &mut RngKey::new(seed)).unwrap());
            let idx: Vec<f64> = x
                .chunks(5)
                .map(|r| r.iter().position(|v| *v == 1.0).unwrap() as f64)
                .collect();
            let p = chi2_pvalue(&idx, |k| probs[k as usize], 0..=4);
            assert!(p > 0.001, "OneHotCategorical (seed {seed}): p = {p:.2e}");
            let x = host(mn.sample_n(N, &mut RngKey::new(seed)).unwrap());
            assert!(
                x.chunks(5).all(|r| r.iter().sum::<f64>() == 12.0),
                "Multinomial rows sum to n"
            );
            let first: Vec<f64> = x.chunks(5).map(|r| r[1]).collect();
            let b = sd::Binomial::new(probs[1], 12).unwrap();
            let p = chi2_pvalue(&first, |k| b.pmf(k as u64), 0..=12);
            assert!(p > 0.001, "Multinomial marginal (seed {seed}): p = {p:.2e}");
        }
    }
    // Empirical with weights: indices drawn ∝ weight.
    let samples = t1::<B>(&[10.0, 20.0, 30.0], dev);
    let w = [0.5f64, 0.2, 0.3];
    let emp = Empirical::with_log_weights(samples, w.iter().map(|v| v.ln()).collect()).unwrap();
    for seed in SEEDS {
        let x: Vec<f64> = host(emp.sample_n(N, &mut RngKey::new(seed)).unwrap())
            .iter()
            .map(|v| v / 10.0 - 1.0)
            .collect();
        let p = chi2_pvalue(&x, |k| w[k as usize], 0..=2);
        assert!(p > 0.001, "Empirical (seed {seed}): p = {p:.2e}");
    }
}

fn dirichlet_and_mvn_samplers_pass_density_based_checks<B: AutodiffBackend>(dev: &B::Device) {
    use statrs::distribution as sd;
    for alpha in [[0.3, 0.5, 2.0], [1.0, 1.0, 1.0], [20.0, 5.0, 0.8]] {
        let d = Dirichlet::new(t2::<B>(&alpha, 1, 3, dev)).unwrap();
        let a0: f64 = alpha.iter().sum();
        for seed in SEEDS {
            let x = host(d.sample_n(N, &mut RngKey::new(seed)).unwrap());
            for (i, &ai) in alpha.iter().enumerate() {
                let marginal: Vec<f64> = x.chunks(3).map(|r| r[i]).collect();
                let be = sd::Beta::new(ai, a0 - ai).unwrap();
                let stat = ks_statistic(marginal, |v| be.cdf(v));
                assert!(
                    stat < ks_critical(N),
                    "Dirichlet {alpha:?} marginal {i} (seed {seed}): D = {stat:.5}"
                );
            }
        }
    }
    // Density-based (D4): the log-densities of our draws must be distributed like those of an
    // independent reference sampler (rand_distr Gammas normalised on the host, ChaCha8 seeded
    // apart from ours): two-sample KS, reject if D ≥ 1.95·√(2/n) (α = 0.001).
    for alpha in [[0.3, 0.5, 2.0], [20.0, 5.0, 0.8]] {
        use rand::SeedableRng;
        use rand_distr::Distribution as _;
        let d = Dirichlet::new(t2::<B>(&alpha, 1, 3, dev)).unwrap();
        let ours = host(d.log_prob(d.sample_n(N, &mut RngKey::new(77)).unwrap()));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4242);
        let gammas: Vec<rand_distr::Gamma<f64>> =
            alpha.iter().map(|&a| rand_distr::Gamma::new(a, 1.0).unwrap()).collect();
        let reference: Vec<f64> = (0..N)
            .flat_map(|_| {
                let g: Vec<f64> = gammas.iter().map(|gd| gd.sample(&mut rng)).collect();
                let s: f64 = g.iter().sum();
                g.into_iter().map(move |v| v / s)
            })
            .collect();
        let theirs = host(d.log_prob(t2::<B>(&reference, N, 3, dev)));
        let keep = |v: Vec<f64>| v.into_iter().filter(|x| x.is_finite()).collect::<Vec<_>>();
        let (mut a_, mut b_) = (keep(ours), keep(theirs));
        a_.sort_by(f64::total_cmp);
        b_.sort_by(f64::total_cmp);
        let (n, m) = (a_.len() as f64, b_.len() as f64);
        let (mut i, mut j, mut stat) = (0, 0, 0.0f64);
        while i < a_.len() && j < b_.len() {
            if a_[i] <= b_[j] {
                i += 1;
            } else {
                j += 1;
            }
            stat = stat.max((i as f64 / n - j as f64 / m).abs());
        }
        let crit = 1.95 * ((n + m) / (n * m)).sqrt();
        assert!(
            n > 0.99 * N as f64 && m > 0.99 * N as f64,
            "Dirichlet {alpha:?}: too many non-finite densities"
        );
        assert!(
            stat < crit,
            "Dirichlet {alpha:?}: log-density two-sample KS D = {stat:.5} ≥ {crit:.5}"
        );
    }
    let l = [1.0, 0.0, 0.0, 0.5, 0.8, 0.0, -0.3, 0.2, 1.5];
    let loc = [1.0, -2.0, 0.5];
    let mvn = MultivariateNormal::new(t2::<B>(&loc, 1, 3, dev), t2::<B>(&l, 3, 3, dev).reshape([1, 3, 3])).unwrap();
    let chi = sd::ChiSquared::new(3.0).unwrap();
    for seed in SEEDS {
        let x = host(mvn.sample_n(N, &mut RngKey::new(seed)).unwrap());
        // Squared Mahalanobis distance: solve L y = x − μ.
        let maha: Vec<f64> = x
            .chunks(3)
            .map(|r| {
                let d: Vec<f64> = (0..3).map(|i| r[i] - loc[i]).collect();
                let y0 = d[0] / l[0];
                let y1 = (d[1] - l[3] * y0) / l[4];
                let y2 = (d[2] - l[6] * y0 - l[7] * y1) / l[8];
                y0 * y0 + y1 * y1 + y2 * y2
            })
            .collect();
        let stat = ks_statistic(maha, |v| chi.cdf(v));
        assert!(stat < ks_critical(N), "MVN Mahalanobis (seed {seed}): D = {stat:.5}");
        // Projection on a = (1, −1, 2): N(aᵀμ, aᵀΣa).
        let a = [1.0, -1.0, 2.0];
        let la: Vec<f64> = (0..3).map(|j| (0..3).map(|i| a[i] * l[i * 3 + j]).sum()).collect();
        let var: f64 = la.iter().map(|v| v * v).sum();
        let mean: f64 = (0..3).map(|i| a[i] * loc[i]).sum();
        let proj: Vec<f64> = x.chunks(3).map(|r| (0..3).map(|i| a[i] * r[i]).sum()).collect();
        let nrm = sd::Normal::new(mean, var.sqrt()).unwrap();
        let stat = ks_statistic(proj, |v| nrm.cdf(v));
        assert!(stat < ks_critical(N), "MVN projection (seed {seed}): D = {stat:.5}");
    }
}
