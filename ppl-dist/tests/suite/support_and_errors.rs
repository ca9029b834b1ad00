//! D10/D11: samples lie in the support, out-of-support values score −∞ (never NaN), and
//! invalid parameters are errors that name the distribution and the parameter.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{
    Bernoulli, Beta, Binomial, Categorical, Cauchy, Constraint, Dirichlet, DistError, Distribution, Exponential, Gamma,
    Geometric, Gumbel, HalfCauchy, HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, Multinomial,
    MultivariateNormal, NegativeBinomial, Normal, Poisson, RngKey, StudentT, Uniform,
};

use crate::common::{backend_suite, host, t1, t2};

backend_suite!(
    samples_lie_in_support_and_outside_scores_neg_inf,
    invalid_parameters_are_named_errors
);

fn check_support<B: AutodiffBackend>(d: &dyn Distribution<B, 1>, outside: &[f64], seed: u64) {
    let x = d.sample_n(10_000, &mut RngKey::new(seed)).unwrap();
    if let Some(inside) = d.support().check(x.clone()) {
        assert!(
            host(inside.int().float()).iter().all(|v| *v == 1.0),
            "{}: a sample left the support",
            d.name()
        );
    }
    let lp = host(d.log_prob(x));
    assert!(lp.iter().all(|v| !v.is_nan()), "{}: NaN log_prob at a sample", d.name());
    if outside.is_empty() {
        // (An empty value tensor is not scored: burn-tch 0.21 panics broadcasting [1] into [0].)
        return;
    }
    let out = host(d.log_prob(t1::<B>(outside, &d.device())));
    for (v, x) in out.iter().zip(outside) {
        assert_eq!(
            *v,
            f64::NEG_INFINITY,
            "{}: log_prob({x}) outside the support = {v}",
            d.name()
        );
    }
}

fn samples_lie_in_support_and_outside_scores_neg_inf<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    // Extreme but valid parameters included.
    check_support(&Exponential::new(s(1e-4)).unwrap(), &[-1.0, -1e-30], 1);
    check_support(&Gamma::new(s(1e-3), 1e3).unwrap(), &[-1.0, -1e-30], 2);
    check_support(&Gamma::new(s(1e4), 1e-3).unwrap(), &[-5.0], 3);
    check_support(&InverseGamma::new(s(0.5), 2.0).unwrap(), &[0.0, -1.0], 4);
    check_support(&Beta::new(s(1e-3), 1e-3).unwrap(), &[-0.1, 1.1], 5);
    check_support(&Beta::new(s(1e3), 2.0).unwrap(), &[-0.1, 1.1], 6);
    check_support(&LogNormal::new(s(0.0), 3.0).unwrap(), &[0.0, -1.0], 7);
    check_support(&HalfNormal::new(s(1e-6)).unwrap(), &[-1e-3], 8);
    check_support(&HalfCauchy::new(s(1e3)).unwrap(), &[-1e-3], 15);
    check_support(&Uniform::new(s(-2.0), 5.0).unwrap(), &[-2.001, 5.001], 9);
    check_support(&Bernoulli::new(s(1e-9)).unwrap(), &[-1.0, 0.5, 2.0], 10);
    check_support(&Poisson::new(s(1e3)).unwrap(), &[-1.0, 0.5], 11);
    check_support(&Binomial::new(7.0, s(0.999)).unwrap(), &[-1.0, 8.0, 2.5], 12);
    check_support(&Geometric::new(s(0.01)).unwrap(), &[-1.0, 1.5], 13);
    check_support(&NegativeBinomial::new(0.5, s(0.9)).unwrap(), &[-1.0, 0.25], 14);
    for d in [
        &Normal::new(s(0.0), 1e-6).unwrap() as &dyn Distribution<B, 1>,
        &Cauchy::new(s(0.0), 1e3).unwrap(),
        &Laplace::new(s(0.0), 1.0).unwrap(),
        &Logistic::new(s(0.0), 1.0).unwrap(),
        &Gumbel::new(s(0.0), 1.0).unwrap(),
        &StudentT::new(s(0.5), 0.0, 1.0).unwrap(),
    ] {
        check_support(d, &[], 15);
    }
    // Simplex-valued and index-valued distributions.
    let d = Dirichlet::new(t2::<B>(&[1e-2, 0.5, 3.0], 1, 3, dev)).unwrap();
    let x = d.sample_n(1000, &mut RngKey::new(16)).unwrap();
    let rows = host(x.clone());
    assert!(rows
        .chunks(3)
        .all(|r| r.iter().all(|v| (0.0..=1.0).contains(v)) && (r.iter().sum::<f64>() - 1.0).abs() < 1e-4));
    let bad = host(d.log_prob(t2::<B>(&[0.5, 0.6, 0.1, -0.1, 0.6, 0.5], 2, 3, dev)));
    assert!(
        bad.iter().all(|v| *v == f64::NEG_INFINITY),
        "Dirichlet off the simplex: {bad:?}"
    );
    let c = Categorical::new(t2::<B>(&[0.2, 0.3, 0.5], 1, 3, dev)).unwrap();
    assert_eq!(c.support(), Constraint::CategoricalIndex);
    let bad = host(c.log_prob(t2::<B>(&[-1.0, 3.0, 1.5], 3, 1, dev)));
    assert!(
        bad.iter().all(|v| *v == f64::NEG_INFINITY),
        "Categorical outside 0..K: {bad:?}"
    );
    let m = Multinomial::new(5, t2::<B>(&[0.2, 0.3, 0.5], 1, 3, dev)).unwrap();
    let bad = host(m.log_prob(t2::<B>(&[1.0, 1.0, 1.0, 6.0, -1.0, 0.0], 2, 3, dev)));
    assert!(
        bad.iter().all(|v| *v == f64::NEG_INFINITY),
        "Multinomial counts must sum to n: {bad:?}"
    );
}

fn expect_invalid(result: Result<(), DistError>, dist: &str, param: &str) {
    match result {
        Err(e @ DistError::InvalidParameter { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(dist) && msg.contains(param),
                "message `{msg}` must name {dist} and {param}"
            );
        }
        other => panic!("{dist}.{param}: expected InvalidParameter, got {other:?}"),
    }
}

fn invalid_parameters_are_named_errors<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        expect_invalid(Normal::new(s(0.0), s(bad)).map(|_| ()), "Normal", "scale");
        expect_invalid(LogNormal::new(s(0.0), s(bad)).map(|_| ()), "LogNormal", "scale");
        expect_invalid(HalfNormal::new(s(bad)).map(|_| ()), "HalfNormal", "scale");
        expect_invalid(HalfCauchy::new(s(bad)).map(|_| ()), "HalfCauchy", "scale");
        expect_invalid(Laplace::new(s(0.0), s(bad)).map(|_| ()), "Laplace", "scale");
        expect_invalid(Cauchy::new(s(0.0), s(bad)).map(|_| ()), "Cauchy", "scale");
        expect_invalid(Logistic::new(s(0.0), s(bad)).map(|_| ()), "Logistic", "scale");
        expect_invalid(Gumbel::new(s(0.0), s(bad)).map(|_| ()), "Gumbel", "scale");
        expect_invalid(StudentT::new(s(bad), 0.0, 1.0).map(|_| ()), "StudentT", "df");
        expect_invalid(Exponential::new(s(bad)).map(|_| ()), "Exponential", "rate");
        expect_invalid(ppl_dist::Weibull::new(s(bad), 1.0).map(|_| ()), "Weibull", "scale");
        expect_invalid(
            ppl_dist::Weibull::new(s(1.0), s(bad)).map(|_| ()),
            "Weibull",
            "concentration",
        );
        expect_invalid(ppl_dist::Pareto::new(s(bad), 1.0).map(|_| ()), "Pareto", "scale");
        expect_invalid(ppl_dist::Pareto::new(s(1.0), s(bad)).map(|_| ()), "Pareto", "alpha");
        expect_invalid(ppl_dist::Chi2::new(s(bad)).map(|_| ()), "Chi2", "df");
        expect_invalid(
            ppl_dist::BetaBinomial::new(s(5.0), s(bad), 1.0).map(|_| ()),
            "BetaBinomial",
            "concentration1",
        );
        expect_invalid(
            ppl_dist::BetaBinomial::new(s(5.0), 1.0, s(bad)).map(|_| ()),
            "BetaBinomial",
            "concentration0",
        );
        expect_invalid(Gamma::new(s(bad), 1.0).map(|_| ()), "Gamma", "concentration");
        expect_invalid(Gamma::new(s(1.0), s(bad)).map(|_| ()), "Gamma", "rate");
        expect_invalid(
            InverseGamma::new(s(bad), 1.0).map(|_| ()),
            "InverseGamma",
            "concentration",
        );
        expect_invalid(Beta::new(s(bad), 1.0).map(|_| ()), "Beta", "concentration1");
        expect_invalid(Beta::new(s(1.0), s(bad)).map(|_| ()), "Beta", "concentration0");
        expect_invalid(
            Dirichlet::new(t2::<B>(&[1.0, bad], 1, 2, dev)).map(|_| ()),
            "Dirichlet",
            "concentration",
        );
    }
    expect_invalid(Normal::new(s(f64::NAN), 1.0).map(|_| ()), "Normal", "loc");
    for bad in [-0.1, 1.1, f64::NAN] {
        expect_invalid(Bernoulli::new(s(bad)).map(|_| ()), "Bernoulli", "probs");
        expect_invalid(Binomial::new(3.0, s(bad)).map(|_| ()), "Binomial", "probs");
    }
    expect_invalid(Bernoulli::from_logits(s(f64::NAN)).map(|_| ()), "Bernoulli", "logits");
    expect_invalid(
        Categorical::new(t2::<B>(&[0.5, -0.1], 1, 2, dev)).map(|_| ()),
        "Categorical",
        "probs",
    );
    expect_invalid(
        Categorical::from_logits(t2::<B>(&[0.5, f64::NAN], 1, 2, dev)).map(|_| ()),
        "Categorical",
        "logits",
    );
    expect_invalid(Poisson::new(s(-1.0)).map(|_| ()), "Poisson", "rate");
    expect_invalid(Binomial::new(2.5, s(0.5)).map(|_| ()), "Binomial", "total_count");
    expect_invalid(Uniform::new(s(1.0), 1.0).map(|_| ()), "Uniform", "high");
    expect_invalid(Geometric::new(s(0.0)).map(|_| ()), "Geometric", "probs");
    expect_invalid(
        NegativeBinomial::new(0.0, s(0.5)).map(|_| ()),
        "NegativeBinomial",
        "total_count",
    );
    let bad_tril = t2::<B>(&[1.0, 0.0, 0.3, -1.0], 2, 2, dev).reshape([1, 2, 2]);
    expect_invalid(
        MultivariateNormal::new(t2::<B>(&[0.0, 0.0], 1, 2, dev), bad_tril).map(|_| ()),
        "MultivariateNormal",
        "scale_tril",
    );
    // The unchecked constructor does not validate.
    let _ = Normal::new_unchecked(s(0.0), s(-1.0));
    // Shape errors name the distribution.
    let e = Normal::new(t1::<B>(&[0.0, 1.0], dev), t1::<B>(&[1.0, 1.0, 1.0], dev)).unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { dist: "Normal", .. }), "{e}");
}
