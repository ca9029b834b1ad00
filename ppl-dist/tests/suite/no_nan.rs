//! N6: no NaN over 256 seeded random cases per distribution with extreme valid parameters
//! (the D2 ranges): `sample(20)` then `log_prob` of the samples. log_prob may be −∞ only for
//! values on the boundary of the support.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, Dirichlet, Distribution, Exponential, Gamma, Geometric, Gumbel,
    HalfCauchy, HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, NegativeBinomial, Normal, Poisson, RngKey,
    StudentT,
};

use crate::common::{backend_suite, host, log_uniform, round, t1, t2, uniform_in};

backend_suite!(no_nan_over_extreme_parameters);

const CASES: usize = 256;

fn check<B: AutodiffBackend>(d: &dyn Distribution<B, 1>, key: &mut RngKey, boundary: &[f64]) {
    let x = d.sample_n(20, key).unwrap();
    let xs = host(x.clone());
    assert!(xs.iter().all(|v| !v.is_nan()), "{}: NaN sample", d.name());
    let lp = host(d.log_prob(x));
    for (v, x) in lp.iter().zip(&xs) {
        assert!(!v.is_nan(), "{}: NaN log_prob at {x}", d.name());
        if *v == f64::NEG_INFINITY {
            assert!(
                boundary.contains(x) || x.is_infinite(),
                "{}: −∞ log_prob at interior point {x}",
                d.name()
            );
        }
    }
}

fn no_nan_over_extreme_parameters<B: AutodiffBackend>(dev: &B::Device) {
    let key = &mut RngKey::new(2024);
    let s = |v: f64| t1::<B>(&[v], dev);
    for _ in 0..CASES {
        let scale = log_uniform(key, 1, 1e-6, 1e6)[0];
        let loc = uniform_in(key, 1, -1e3, 1e3)[0];
        let (c1, c2) = (log_uniform(key, 1, 1e-3, 1e4)[0], log_uniform(key, 1, 1e-3, 1e4)[0]);
        let p = log_uniform(key, 1, 1e-12, 1.0 - 1e-7)[0];
        let l = uniform_in(key, 1, -50.0, 50.0)[0];
        check(&Normal::new(s(loc), scale).unwrap(), key, &[]);
        check(
            &LogNormal::new(s(loc.clamp(-50.0, 50.0)), scale.min(10.0)).unwrap(),
            key,
            &[0.0],
        );
        check(&HalfNormal::new(s(scale)).unwrap(), key, &[]);
        check(&HalfCauchy::new(s(scale)).unwrap(), key, &[]);
        check(&Laplace::new(s(loc), scale).unwrap(), key, &[]);
        check(&Cauchy::new(s(loc), scale).unwrap(), key, &[]);
        check(&Logistic::new(s(loc), scale).unwrap(), key, &[]);
        check(&Gumbel::new(s(loc), scale).unwrap(), key, &[]);
        check(&StudentT::new(s(c1), loc, scale).unwrap(), key, &[]);
        check(&Exponential::new(s(c1)).unwrap(), key, &[]);
        check(&Gamma::new(s(c1), c2).unwrap(), key, &[0.0]);
        check(&InverseGamma::new(s(c1), c2).unwrap(), key, &[0.0]);
        check(&Beta::new(s(c1), c2).unwrap(), key, &[0.0, 1.0]);
        check(&Bernoulli::new(s(p)).unwrap(), key, &[]);
        check(&Bernoulli::from_logits(s(l)).unwrap(), key, &[]);
        check(&Poisson::new(s(c1)).unwrap(), key, &[]);
        check(&Binomial::new(50.0, s(p)).unwrap(), key, &[]);
        check(&Geometric::new(s(p.max(1e-6))).unwrap(), key, &[]);
        check(&NegativeBinomial::new(c1.min(100.0), s(p.min(0.95))).unwrap(), key, &[]);
        check(&ppl_dist::Weibull::new(s(scale), c1.max(0.05)).unwrap(), key, &[0.0]);
        check(&ppl_dist::Pareto::new(s(scale), c1).unwrap(), key, &[scale]);
        check(&ppl_dist::Chi2::new(s(c1)).unwrap(), key, &[0.0]);
        check(&ppl_dist::BetaBinomial::new(50.0, s(c1), c2).unwrap(), key, &[]);
        // bounds anywhere from 50 sd below to 50 above the mean, widths 10⁻³ to 10² sd
        let low = loc + scale * uniform_in(key, 1, -50.0, 50.0)[0];
        // (at least 8 f32 ulps wide, so the interval survives rounding to f32)
        let high = (low + scale * log_uniform(key, 1, 1e-3, 1e2)[0]).max(low + 1e-6 * low.abs().max(1.0));
        let (low, high) = (round::<B>(low), round::<B>(high));
        check(
            &ppl_dist::TruncatedNormal::new(s(loc), scale, low, high).unwrap(),
            key,
            &[low, high],
        );
        let cat = Categorical::from_logits(t2::<B>(&[l, 0.0, -l], 1, 3, dev)).unwrap();
        let y = cat.sample_n(20, key).unwrap();
        assert!(host(cat.log_prob(y)).iter().all(|v| !v.is_nan()));
        let dir = Dirichlet::new(t2::<B>(&[c1, c2, 1.0], 1, 3, dev)).unwrap();
        let x = dir.sample_n(20, key).unwrap();
        assert!(host(x.clone()).iter().all(|v| !v.is_nan()), "Dirichlet NaN sample");
        assert!(
            host(dir.log_prob(x)).iter().all(|v| !v.is_nan()),
            "Dirichlet NaN log_prob"
        );
    }
}
