//! Shared helpers: backend instantiation, host conversions, tolerances, KS and χ² tests.

#![allow(dead_code)]

use burn::tensor::{backend::AutodiffBackend, Tensor};
use ppl_dist::RngKey;
use statrs::distribution::{ChiSquared, ContinuousCDF};

pub(crate) use ppl_dist::backend_suite;
pub use ppl_dist::testkit::{host, is_f64, round, t1, t2, tol32};

/// The machine epsilon and the smallest positive normal number of `B`'s float type (f32 or
/// f64), as f64: the unit of a rounding tolerance and the level below which a backend may
/// flush results to zero.
pub fn float_limits<B: burn::tensor::backend::Backend>() -> (f64, f64) {
    if is_f64::<B>() {
        (f64::EPSILON, f64::MIN_POSITIVE)
    } else {
        (f64::from(f32::EPSILON), f64::from(f32::MIN_POSITIVE))
    }
}

/// Gradient of `f(θ).sum()` w.r.t. θ (a [n] tensor), on the host.
pub fn grad<B: AutodiffBackend>(theta: &[f64], dev: &B::Device, f: impl Fn(Tensor<B, 1>) -> Tensor<B, 1>) -> Vec<f64> {
    let t = t1::<B>(theta, dev).require_grad();
    let y = f(t.clone());
    host(t.grad(&y.sum().backward()).expect("gradient"))
}

/// `n` log-uniform draws in `[lo, hi]`.
pub fn log_uniform(key: &mut RngKey, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    key.uniform(n)
        .into_iter()
        .map(|u| (lo.ln() + u * (hi.ln() - lo.ln())).exp())
        .collect()
}

/// `n` uniform draws in `[lo, hi]`.
pub fn uniform_in(key: &mut RngKey, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    key.uniform(n).into_iter().map(|u| lo + u * (hi - lo)).collect()
}

/// Tolerance for a log-density: f64 `rel·max(|ref|, 1)` (plus the f64 analogue of tol32 for
/// cancellation), f32 `max(1e−5·max(|ref|, 1), tol32(terms))`.
pub use ppl_dist::testkit::tolerance as lp_tolerance;

/// Assert two log-densities agree; −∞ must match −∞ exactly.
pub fn assert_lp(what: &str, i: usize, ours: f64, reference: f64, tol: f64, context: &str) {
    if ours == reference {
        return; // includes matching infinities
    }
    if reference == f64::NEG_INFINITY || ours == f64::NEG_INFINITY {
        assert_eq!(ours, reference, "{what}[{i}]: −∞ mismatch ({context})");
        return;
    }
    assert!(
        (ours - reference).abs() <= tol,
        "{what}[{i}]: ours {ours} vs reference {reference} (|Δ| = {:e} > tol {tol:e}) at {context}",
        (ours - reference).abs()
    );
}

/// One-sample Kolmogorov–Smirnov statistic of `xs` against `cdf`.
pub fn ks_statistic(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).expect("NaN sample"));
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// KS critical value at α = 0.001: `1.95/√n`.
pub fn ks_critical(n: usize) -> f64 {
    1.95 / (n as f64).sqrt()
}

/// Pearson χ² goodness-of-fit p-value for observed integer outcomes against a pmf; cells with
/// expected count < 5 are pooled into one.
pub fn chi2_pvalue(samples: &[f64], pmf: impl Fn(i64) -> f64, support: std::ops::RangeInclusive<i64>) -> f64 {
    let n = samples.len() as f64;
    let mut cells: Vec<(f64, f64)> = Vec::new(); // (observed, expected)
    let mut pooled = (0.0, 0.0);
    let mut covered = 0.0;
    for k in support {
        let p = pmf(k);
        covered += p;
        let obs = samples.iter().filter(|&&s| s == k as f64).count() as f64;
        if p * n >= 5.0 {
            cells.push((obs, p * n));
        } else {
            pooled.0 += obs;
            pooled.1 += p * n;
        }
    }
    // Everything outside the enumerated support joins the pool.
    let inside: f64 = cells.iter().map(|c| c.0).sum::<f64>() + pooled.0;
    pooled.0 += n - inside;
    pooled.1 += (1.0 - covered).max(0.0) * n;
    if pooled.1 > 0.0 {
        cells.push(pooled);
    }
    let stat: f64 = cells.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
    let df = (cells.len() - 1) as f64;
    1.0 - ChiSquared::new(df).expect("df > 0").cdf(stat)
}
