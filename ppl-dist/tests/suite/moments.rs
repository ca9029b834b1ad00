//! D5/D6: closed-form moments against 10⁵ draws and against statrs.
//!
//! D5 accepts `|mean_hat − μ| < 4σ/√n` and `|s² − σ²| < 4·√((m₄ − s⁴)/n)` (the standard
//! error of the sample variance, from the sample's own fourth moment): α ≈ 6e−5 per check.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{
    Bernoulli, Beta, Binomial, Cauchy, Dirichlet, Distribution, Exponential, Gamma, Geometric, Gumbel, HalfCauchy,
    HalfNormal, InverseGamma, Laplace, LogNormal, Logistic, NegativeBinomial, Normal, Poisson, RngKey, StudentT,
    Uniform,
};
use statrs::statistics::Distribution as _;

use crate::common::{backend_suite, host, is_f64, t1, t2};

backend_suite!(sample_moments_match_closed_forms, closed_form_moments_match_statrs);

const N: usize = 100_000;

fn check_moments<B: AutodiffBackend>(name: &str, d: &dyn Distribution<B, 1>, seed: u64) {
    let x = host(d.sample_n(N, &mut RngKey::new(seed)).unwrap());
    let mu = host(d.mean().expect("mean"))[0];
    let var = host(d.variance().expect("variance"))[0];
    let n = N as f64;
    let m = x.iter().sum::<f64>() / n;
    let s2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / n;
    assert!(
        (m - mu).abs() < 4.0 * (var / n).sqrt(),
        "{name}: sample mean {m} vs {mu} (sd {var})"
    );
    let se_var = ((m4 - s2 * s2).max(0.0) / n).sqrt();
    assert!(
        (s2 - var).abs() < 4.0 * se_var,
        "{name}: sample variance {s2} vs {var} (se {se_var})"
    );
}

fn sample_moments_match_closed_forms<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    check_moments("Normal", &Normal::new(s(1.5), 0.7).unwrap(), 1);
    check_moments("LogNormal", &LogNormal::new(s(0.2), 0.4).unwrap(), 2);
    check_moments("HalfNormal", &HalfNormal::new(s(2.0)).unwrap(), 3);
    check_moments("Exponential", &Exponential::new(s(0.5)).unwrap(), 4);
    check_moments("Gamma", &Gamma::new(s(3.0), 2.0).unwrap(), 5);
    check_moments("InverseGamma", &InverseGamma::new(s(9.0), 2.0).unwrap(), 6);
    check_moments("Beta", &Beta::new(s(2.0), 5.0).unwrap(), 7);
    check_moments("Uniform", &Uniform::new(s(-1.0), 3.0).unwrap(), 8);
    check_moments("StudentT", &StudentT::new(s(9.0), 1.0, 2.0).unwrap(), 9);
    check_moments("Laplace", &Laplace::new(s(1.0), 0.5).unwrap(), 10);
    check_moments("Logistic", &Logistic::new(s(-2.0), 0.3).unwrap(), 11);
    check_moments("Gumbel", &Gumbel::new(s(0.5), 1.5).unwrap(), 12);
    check_moments("Weibull", &ppl_dist::Weibull::new(s(2.0), 1.5).unwrap(), 18);
    check_moments("Pareto", &ppl_dist::Pareto::new(s(1.0), 9.0).unwrap(), 19);
    check_moments("Chi2", &ppl_dist::Chi2::new(s(4.0)).unwrap(), 20);
    check_moments(
        "BetaBinomial",
        &ppl_dist::BetaBinomial::new(s(12.0), 2.0, 3.0).unwrap(),
        21,
    );
    check_moments("Bernoulli", &Bernoulli::new(s(0.3)).unwrap(), 13);
    check_moments("Poisson", &Poisson::new(s(3.5)).unwrap(), 14);
    check_moments("Binomial", &Binomial::new(20.0, s(0.35)).unwrap(), 15);
    check_moments("Geometric", &Geometric::new(s(0.4)).unwrap(), 16);
    check_moments("NegativeBinomial", &NegativeBinomial::new(3.5, s(0.6)).unwrap(), 17);
    // Cauchy has no moments; StudentT(ν ≤ 1) has no mean.
    assert!(Cauchy::new(s(0.0), 1.0).unwrap().mean().is_none());
    assert!(host(StudentT::new(s(0.8), 0.0, 1.0).unwrap().mean().unwrap())[0].is_nan());
    // Dirichlet: per-coordinate moments.
    let alpha = [2.0, 3.0, 5.0];
    let d = Dirichlet::new(t2::<B>(&alpha, 1, 3, dev)).unwrap();
    let x = host(d.sample_n(N, &mut RngKey::new(18)).unwrap());
    let (mu, var) = (host(d.mean().unwrap()), host(d.variance().unwrap()));
    for i in 0..3 {
        let m = x.chunks(3).map(|r| r[i]).sum::<f64>() / N as f64;
        assert!(
            (m - mu[i]).abs() < 4.0 * (var[i] / N as f64).sqrt(),
            "Dirichlet mean {i}"
        );
    }
}

fn closed_form_moments_match_statrs<B: AutodiffBackend>(dev: &B::Device) {
    // D6: relative 1e−12 on f64; on f32 1e−5 (entropies cancel terms of ~20× their size).
    let tol = if is_f64::<B>() { 1e-12 } else { 1e-5 };
    let s = |v: f64| t1::<B>(&[v], dev);
    let check = |name: &str, d: &dyn Distribution<B, 1>, mean: Option<f64>, var: Option<f64>, ent: Option<f64>| {
        let close = |what: &str, a: f64, b: f64| {
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "{name} {what}: ours {a} vs statrs {b}"
            );
        };
        if let Some(m) = mean {
            close("mean", host(d.mean().unwrap())[0], m);
        }
        if let Some(v) = var {
            close("variance", host(d.variance().unwrap())[0], v);
        }
        if let Some(e) = ent {
            close("entropy", host(d.entropy().unwrap())[0], e);
        }
    };
    use statrs::distribution as sd;
    let n = sd::Normal::new(1.5, 0.7).unwrap();
    check(
        "Normal",
        &Normal::new(s(1.5), 0.7).unwrap(),
        n.mean(),
        n.variance(),
        n.entropy(),
    );
    let l = sd::LogNormal::new(0.2, 0.4).unwrap();
    check(
        "LogNormal",
        &LogNormal::new(s(0.2), 0.4).unwrap(),
        l.mean(),
        l.variance(),
        l.entropy(),
    );
    let e = sd::Exp::new(0.5).unwrap();
    check(
        "Exponential",
        &Exponential::new(s(0.5)).unwrap(),
        e.mean(),
        e.variance(),
        e.entropy(),
    );
    let g = sd::Gamma::new(3.0, 2.0).unwrap();
    check(
        "Gamma",
        &Gamma::new(s(3.0), 2.0).unwrap(),
        g.mean(),
        g.variance(),
        g.entropy(),
    );
    let ig = sd::InverseGamma::new(9.0, 2.0).unwrap();
    check(
        "InverseGamma",
        &InverseGamma::new(s(9.0), 2.0).unwrap(),
        ig.mean(),
        ig.variance(),
        ig.entropy(),
    );
    let b = sd::Beta::new(2.0, 5.0).unwrap();
    check(
        "Beta",
        &Beta::new(s(2.0), 5.0).unwrap(),
        b.mean(),
        b.variance(),
        b.entropy(),
    );
    let u = sd::Uniform::new(-1.0, 3.0).unwrap();
    check(
        "Uniform",
        &Uniform::new(s(-1.0), 3.0).unwrap(),
        u.mean(),
        u.variance(),
        u.entropy(),
    );
    let t = sd::StudentsT::new(1.0, 2.0, 9.0).unwrap();
    check(
        "StudentT",
        &StudentT::new(s(9.0), 1.0, 2.0).unwrap(),
        t.mean(),
        t.variance(),
        t.entropy(),
    );
    let la = sd::Laplace::new(1.0, 0.5).unwrap();
    check(
        "Laplace",
        &Laplace::new(s(1.0), 0.5).unwrap(),
        la.mean(),
        la.variance(),
        la.entropy(),
    );
    let gu = sd::Gumbel::new(0.5, 1.5).unwrap();
    check(
        "Gumbel",
        &Gumbel::new(s(0.5), 1.5).unwrap(),
        gu.mean(),
        gu.variance(),
        gu.entropy(),
    );
    let c = sd::Cauchy::new(0.0, 1.3).unwrap();
    check("Cauchy", &Cauchy::new(s(0.0), 1.3).unwrap(), None, None, c.entropy());
    // HalfCauchy: folding a symmetric density halves the support and doubles the density, so
    // the entropy is the Cauchy's less ln 2; no mean, no variance.
    check(
        "HalfCauchy",
        &HalfCauchy::new(s(1.3)).unwrap(),
        None,
        None,
        c.entropy().map(|h| h - std::f64::consts::LN_2),
    );
    let be = sd::Bernoulli::new(0.3).unwrap();
    check(
        "Bernoulli",
        &Bernoulli::new(s(0.3)).unwrap(),
        be.mean(),
        be.variance(),
        be.entropy(),
    );
    let po = sd::Poisson::new(3.5).unwrap();
    check(
        "Poisson",
        &Poisson::new(s(3.5)).unwrap(),
        po.mean(),
        po.variance(),
        None,
    );
    let bi = sd::Binomial::new(0.35, 20).unwrap();
    check(
        "Binomial",
        &Binomial::new(20.0, s(0.35)).unwrap(),
        bi.mean(),
        bi.variance(),
        None,
    );
    // statrs's Geometric counts trials (support 1, 2, …): our mean is one less.
    let ge = sd::Geometric::new(0.4).unwrap();
    check(
        "Geometric",
        &Geometric::new(s(0.4)).unwrap(),
        ge.mean().map(|m| m - 1.0),
        ge.variance(),
        ge.entropy(),
    );
    // HalfNormal: mean σ√(2/π), variance σ²(1 − 2/π), entropy ½ ln(πσ²/2) + ½.
    let sg: f64 = 2.0;
    let hn = HalfNormal::new(s(sg)).unwrap();
    let pi = std::f64::consts::PI;
    check(
        "HalfNormal",
        &hn,
        Some(sg * (2.0 / pi).sqrt()),
        Some(sg * sg * (1.0 - 2.0 / pi)),
        Some(0.5 * (pi * sg * sg / 2.0).ln() + 0.5),
    );
    let di = sd::Dirichlet::new(vec![2.0, 3.0, 5.0]).unwrap();
    let d = Dirichlet::new(t2::<B>(&[2.0, 3.0, 5.0], 1, 3, dev)).unwrap();
    let ours = host(d.entropy().unwrap())[0];
    let theirs = di.entropy().unwrap();
    assert!(
        (ours - theirs).abs() <= tol * theirs.abs().max(1.0),
        "Dirichlet entropy {ours} vs {theirs}"
    );
}
