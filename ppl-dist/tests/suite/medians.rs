//! Closed-form medians against statrs's `Median` (Normal, LogNormal, Laplace, Cauchy,
//! StudentT, Uniform, Exponential, Gumbel) and against the CDF at ½ where statrs has no
//! median (HalfNormal, HalfCauchy, LogitNormal, Logistic). Deterministic checks: relative
//! 1e−12 on f64, 1e−6 on f32.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{
    Cauchy, Distribution, Exponential, Gamma, Gumbel, HalfCauchy, HalfNormal, Laplace, LogNormal, Logistic,
    LogitNormal, MultivariateNormal, Normal, StudentT, Uniform,
};
use statrs::distribution as sd;
use statrs::statistics::Median;

use crate::common::{backend_suite, host, is_f64, t1, t2};

backend_suite!(medians_match_statrs_and_the_cdf);

fn medians_match_statrs_and_the_cdf<B: AutodiffBackend>(dev: &B::Device) {
    let tol = if is_f64::<B>() { 1e-12 } else { 1e-6 };
    let s = |v: f64| t1::<B>(&[v], dev);
    let check = |name: &str, d: &dyn Distribution<B, 1>, reference: f64| {
        let ours = host(d.median().unwrap_or_else(|| panic!("{name} has a median")))[0];
        assert!(
            (ours - reference).abs() <= tol * reference.abs().max(1.0),
            "{name}: median {ours} vs {reference}"
        );
    };
    let st = |d: &dyn Median<f64>| d.median();
    check(
        "Normal",
        &Normal::new(s(1.5), 0.7).unwrap(),
        st(&sd::Normal::new(1.5, 0.7).unwrap()),
    );
    check(
        "LogNormal",
        &LogNormal::new(s(0.2), 0.4).unwrap(),
        st(&sd::LogNormal::new(0.2, 0.4).unwrap()),
    );
    check(
        "Laplace",
        &Laplace::new(s(1.0), 0.5).unwrap(),
        st(&sd::Laplace::new(1.0, 0.5).unwrap()),
    );
    check(
        "Cauchy",
        &Cauchy::new(s(-0.3), 2.0).unwrap(),
        st(&sd::Cauchy::new(-0.3, 2.0).unwrap()),
    );
    check(
        "StudentT",
        &StudentT::new(s(3.0), 1.0, 2.0).unwrap(),
        st(&sd::StudentsT::new(1.0, 2.0, 3.0).unwrap()),
    );
    check(
        "Uniform",
        &Uniform::new(s(-1.0), 3.0).unwrap(),
        st(&sd::Uniform::new(-1.0, 3.0).unwrap()),
    );
    check(
        "Exponential",
        &Exponential::new(s(0.5)).unwrap(),
        st(&sd::Exp::new(0.5).unwrap()),
    );
    check(
        "Gumbel",
        &Gumbel::new(s(0.5), 1.5).unwrap(),
        st(&sd::Gumbel::new(0.5, 1.5).unwrap()),
    );
    // Where statrs has no median: the CDF at our median is ½.
    let half = |name: &str, d: &dyn Distribution<B, 1>, cdf: &dyn Fn(f64) -> f64| {
        let m = host(d.median().unwrap_or_else(|| panic!("{name} has a median")))[0];
        let f32_slack = if is_f64::<B>() { 0.0 } else { 1e-6 };
        assert!((cdf(m) - 0.5).abs() <= 1e-12 + f32_slack, "{name}: F({m}) = {}", cdf(m));
    };
    use statrs::distribution::ContinuousCDF;
    let n01 = sd::Normal::new(0.0, 1.0).unwrap();
    half("HalfNormal", &HalfNormal::new(s(2.0)).unwrap(), &|x| {
        2.0 * n01.cdf(x / 2.0) - 1.0
    });
    half("HalfCauchy", &HalfCauchy::new(s(1.7)).unwrap(), &|x| {
        2.0 / std::f64::consts::PI * (x / 1.7).atan()
    });
    half("LogitNormal", &LogitNormal::new(s(0.8), 0.5).unwrap(), &|x| {
        sd::Normal::new(0.8, 0.5).unwrap().cdf((x / (1.0 - x)).ln())
    });
    half("Logistic", &Logistic::new(s(-2.0), 0.3).unwrap(), &|x| {
        1.0 / (1.0 + (-(x + 2.0) / 0.3).exp())
    });
    // A multivariate normal's marginal medians are its mean; Gamma has no closed form.
    let mvn = MultivariateNormal::new(
        t2::<B>(&[1.0, -2.0], 1, 2, dev),
        t2::<B>(&[1.0, 0.0, 0.5, 2.0], 2, 2, dev).reshape([1, 2, 2]),
    )
    .unwrap();
    assert_eq!(host(mvn.median().unwrap()), vec![1.0, -2.0]);
    assert!(Gamma::new(s(2.0), 1.0).unwrap().median().is_none());
}
