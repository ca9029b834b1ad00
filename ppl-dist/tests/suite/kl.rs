//! D16: every registered KL against a Monte-Carlo estimate (10⁶ draws, within 4 standard
//! errors), KL(p, p) = 0, KL ≥ 0, the registry's "no analytic KL" answer and user
//! registration.

use burn::tensor::{backend::AutodiffBackend, backend::Backend, Tensor};
use ppl_dist::{
    kl_divergence, register_kl, Bernoulli, Beta, Categorical, Cauchy, Dirichlet, DistError, Distribution, Exponential,
    Gamma, Independent, LogNormal, MultivariateNormalDiag, Normal, RngKey, Uniform,
};

use crate::common::{backend_suite, host, is_f64, t1, t2};

backend_suite!(
    analytic_kl_matches_monte_carlo,
    kl_of_a_distribution_with_itself_is_zero,
    registry_answers_and_extends
);

const N: usize = 1_000_000;

/// Monte-Carlo KL(p‖q) = E_p[ln p(x) − ln q(x)] over rows of a [N, …] draw; (estimate, se).
fn mc_kl<B: Backend, const D: usize>(p: &dyn Distribution<B, D>, q: &dyn Distribution<B, D>, seed: u64) -> (f64, f64) {
    let x = p.sample_n(N, &mut RngKey::new(seed)).unwrap();
    let diff = host(p.log_prob(x.clone()) - q.log_prob(x));
    let n = diff.len() as f64;
    let m = diff.iter().sum::<f64>() / n;
    let v = diff.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (v / n).sqrt())
}

fn check<B: Backend, const D: usize>(name: &str, p: &dyn Distribution<B, D>, q: &dyn Distribution<B, D>, seed: u64) {
    let kl = host(kl_divergence(p, q).unwrap());
    assert_eq!(kl.len(), 1, "{name}: one KL value");
    let (m, se) = mc_kl(p, q, seed);
    // 4 standard errors, plus f32 accumulation slack.
    let slack = if is_f64::<B>() {
        1e-9
    } else {
        1e-5 * (1.0 + kl[0].abs())
    };
    assert!(
        (kl[0] - m).abs() < 4.0 * se + slack,
        "{name}: analytic {} vs MC {m} ± {se}",
        kl[0]
    );
    assert!(kl[0] >= -1e-6, "{name}: KL < 0");
}

fn analytic_kl_matches_monte_carlo<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    check(
        "Normal",
        &Normal::new(s(0.3), 1.2).unwrap(),
        &Normal::new(s(-0.5), 0.8).unwrap(),
        1,
    );
    check(
        "LogNormal",
        &LogNormal::new(s(0.1), 0.5).unwrap(),
        &LogNormal::new(s(0.4), 0.9).unwrap(),
        2,
    );
    check(
        "Exponential",
        &Exponential::new(s(2.0)).unwrap(),
        &Exponential::new(s(0.7)).unwrap(),
        3,
    );
    check(
        "Gamma",
        &Gamma::new(s(3.0), 2.0).unwrap(),
        &Gamma::new(s(1.5), 0.8).unwrap(),
        4,
    );
    check(
        "Beta",
        &Beta::new(s(2.0), 3.0).unwrap(),
        &Beta::new(s(0.8), 1.5).unwrap(),
        5,
    );
    check(
        "Uniform",
        &Uniform::new(s(0.2), 0.9).unwrap(),
        &Uniform::new(s(0.0), 1.5).unwrap(),
        6,
    );
    check(
        "Bernoulli",
        &Bernoulli::new(s(0.3)).unwrap(),
        &Bernoulli::from_logits(s(1.1)).unwrap(),
        7,
    );
    let c = |p: &[f64]| Categorical::new(t2::<B>(p, 1, 3, dev)).unwrap();
    check("Categorical", &c(&[0.2, 0.5, 0.3]), &c(&[0.6, 0.1, 0.3]), 8);
    let d = |a: &[f64]| Dirichlet::new(t2::<B>(a, 1, 3, dev)).unwrap();
    check("Dirichlet", &d(&[2.0, 1.0, 3.0]), &d(&[1.0, 1.5, 0.7]), 9);
    let m = |l: &[f64], sc: &[f64]| MultivariateNormalDiag::new(t2::<B>(l, 1, 2, dev), t2::<B>(sc, 1, 2, dev)).unwrap();
    check(
        "MultivariateNormalDiag",
        &m(&[0.0, 1.0], &[1.0, 0.5]),
        &m(&[0.5, 0.0], &[2.0, 1.0]),
        10,
    );
    let i = |l: &[f64], sc: &[f64]| {
        Independent::new(Normal::new(t2::<B>(l, 1, 2, dev), t2::<B>(sc, 1, 2, dev)).unwrap(), 1).unwrap()
    };
    check(
        "Independent(Normal)",
        &i(&[0.0, 1.0], &[1.0, 0.5]),
        &i(&[0.5, 0.0], &[2.0, 1.0]),
        11,
    );
}

fn kl_of_a_distribution_with_itself_is_zero<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    let dists: Vec<Box<dyn Distribution<B, 1>>> = vec![
        Box::new(Normal::new(s(0.3), 1.2).unwrap()),
        Box::new(Gamma::new(s(3.0), 2.0).unwrap()),
        Box::new(Beta::new(s(2.0), 3.0).unwrap()),
        Box::new(Exponential::new(s(2.0)).unwrap()),
        Box::new(Uniform::new(s(0.2), 0.9).unwrap()),
        Box::new(Bernoulli::new(s(0.3)).unwrap()),
        Box::new(Bernoulli::new(s(0.0)).unwrap()),
    ];
    for d in &dists {
        let kl = host(kl_divergence(d.as_ref(), d.as_ref()).unwrap())[0];
        assert!(kl.abs() < 1e-6, "KL({0}, {0}) = {kl}", d.name());
    }
    let d = Dirichlet::new(t2::<B>(&[2.0, 1.0, 3.0], 1, 3, dev)).unwrap();
    assert!(host(kl_divergence(&d, &d).unwrap())[0].abs() < 1e-6);
    let c = Categorical::new(t2::<B>(&[0.0, 0.4, 0.6], 1, 3, dev)).unwrap();
    assert!(
        host(kl_divergence(&c, &c).unwrap())[0].abs() < 1e-6,
        "zero-probability classes contribute 0"
    );
}

fn registry_answers_and_extends<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    let (p, q) = (Normal::new(s(0.0), 1.0).unwrap(), Cauchy::new(s(0.0), 1.0).unwrap());
    match kl_divergence::<B, 1>(&p, &q) {
        Err(e @ DistError::NoAnalyticKl { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("Normal") && msg.contains("Cauchy"), "{msg}");
        }
        other => panic!("expected NoAnalyticKl, got {other:?}"),
    }
    // A user-registered pair (here a closed form for KL(Cauchy ‖ Cauchy) with equal scales:
    // ln(1 + ((μp − μq)/(2γ))²), Chyzak & Nielsen 2019).
    register_kl::<B, 1, Cauchy<B, 1>, Cauchy<B, 1>>(|p, q| {
        let z: Tensor<B, 1> = (p.loc().clone() - q.loc().clone()) / (p.scale().clone() * 2.0);
        z.powi_scalar(2).log1p()
    });
    let q2 = Cauchy::new(s(1.0), 1.0).unwrap();
    let kl = host(kl_divergence::<B, 1>(&q, &q2).unwrap())[0];
    assert!((kl - 1.25f64.ln()).abs() < 1e-6, "registered KL = {kl}");
}
