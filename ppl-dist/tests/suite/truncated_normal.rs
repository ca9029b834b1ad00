//! TruncatedNormal (issue 21): log-density, mean, variance and entropy against SciPy 1.17.1's
//! `truncnorm` (entropy by quadrature of `−p ln p` with `scipy.integrate.quad`, as SciPy's own
//! closed form returns NaN with an infinite bound), including intervals 10 and 30 standard
//! deviations out; KS goodness of fit of the sampler (α = 0.001, n = 10⁴, 4 parameter sets × 2
//! seeds); pathwise gradients of `E[x]` against finite differences of the exact mean (4 SE,
//! n = 10⁵); log-density gradients in the far tail against finite differences of an f64
//! reference built on `statrs`'s `erfc`; and the errors.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::{DistError, Distribution, RngKey, TruncatedNormal};
use statrs::function::erf::erfc;

use crate::common::{assert_lp, backend_suite, grad, host, is_f64, ks_critical, ks_statistic, lp_tolerance, t1};

backend_suite!(
    log_density_and_moments_match_scipy,
    sampler_passes_ks,
    pathwise_gradients_of_the_mean_are_unbiased,
    log_density_gradients_hold_in_the_far_tail,
    invalid_parameters_and_values_are_handled,
);

const INF: f64 = f64::INFINITY;

/// `(loc, scale, low, high, x, logpdf(x), mean, variance, entropy)` from SciPy.
#[allow(clippy::type_complexity)]
const SCIPY: [(f64, f64, f64, f64, f64, f64, f64, f64, f64); 9] = [
    (
        0.0,
        1.0,
        -1.0,
        2.0,
        0.5,
        -0.84377223888021,
        0.22963717909132902,
        0.5197625392115339,
        1.0050201254964888,
    ),
    (
        1.5,
        0.7,
        -INF,
        1.0,
        0.2,
        -0.8492720904497342,
        0.5890198973919186,
        0.11560530395621017,
        0.08956806116814259,
    ),
    (
        -2.0,
        3.0,
        0.0,
        INF,
        4.0,
        -2.6411772368997117,
        1.795534022026132,
        2.1849895316943977,
        1.5629032393470597,
    ),
    (
        0.0,
        1.0,
        10.0,
        11.0,
        10.3,
        -0.7326283076215532,
        10.098068374933055,
        0.009420771901972325,
        -1.3221688540160983,
    ),
    (
        0.0,
        1.0,
        -30.0,
        -29.0,
        -29.9,
        -23.13651862347416,
        -29.034401237740227,
        0.0011806603708919283,
        -2.3696634293538184,
    ),
    (
        5.0,
        2.0,
        4.9,
        5.1,
        5.05,
        1.6095420096618387,
        5.0,
        0.0033322223545178,
        -1.6094379818675248,
    ),
    (
        0.0,
        1.0,
        -INF,
        INF,
        0.7,
        -1.1639385332046726,
        0.0,
        1.0,
        1.4189385332046727,
    ),
    (
        0.3,
        0.05,
        1.0,
        2.0,
        1.01,
        2.8198281477992926,
        1.0035358816092639,
        1.2380414760585214e-05,
        -4.644804722506396,
    ),
    (
        0.0,
        1.0,
        3.0,
        3.5,
        3.2,
        0.75792947347876,
        3.1855943984006756,
        0.018228721911109025,
        -0.7948092769623297,
    ),
];

fn dist<B: AutodiffBackend>(p: (f64, f64, f64, f64), dev: &B::Device) -> TruncatedNormal<B, 1> {
    TruncatedNormal::new(t1::<B>(&[p.0], dev), p.1, p.2, p.3).unwrap()
}

/// The largest finite standardised bound (how far into a tail the interval lies).
fn reach(mu: f64, s: f64, lo: f64, hi: f64) -> f64 {
    [lo, hi]
        .iter()
        .filter(|b| b.is_finite())
        .map(|b| ((b - mu) / s).abs())
        .fold(1.0, f64::max)
}

fn log_density_and_moments_match_scipy<B: AutodiffBackend>(dev: &B::Device) {
    for (i, &(mu, s, lo, hi, x, lp, mean, var, ent)) in SCIPY.iter().enumerate() {
        let d = dist::<B>((mu, s, lo, hi), dev);
        let k = reach(mu, s, lo, hi);
        let ours = host(d.log_prob(t1::<B>(&[x], dev)))[0];
        // terms: z²/2, ln σ and ln Z ≈ −k²/2
        let terms = ((x - mu) / s).powi(2) / 2.0 + s.ln().abs() + k * k / 2.0 + 1.0;
        let ctx = format!("({mu}, {s}, [{lo}, {hi}]) at {x}");
        assert_lp(
            "TruncatedNormal.log_prob",
            i,
            ours,
            lp,
            lp_tolerance::<B>(lp, terms, 1e-10),
            &ctx,
        );
        // the moments are exponentials of differences of terms of size k²/2
        let (rel, eps) = if is_f64::<B>() {
            (1e-9, f64::EPSILON)
        } else {
            (1e-5, f32::EPSILON as f64)
        };
        let m = host(d.mean().unwrap())[0];
        let tol = s * (rel + 16.0 * eps * k * k);
        assert!((m - mean).abs() <= tol, "mean {ctx}: {m} vs {mean} (tol {tol:e})");
        // the entropy adds ln Z ≈ −k²/2 to a term ≈ k²/2 known to a relative k²·ε (documented)
        let h = host(d.entropy().unwrap())[0];
        let tol = rel * ent.abs().max(1.0) + 4.0 * eps * k.powi(4);
        assert!((h - ent).abs() <= tol, "entropy {ctx}: {h} vs {ent} (tol {tol:e})");
        // the variance loses about 2 log₁₀ k digits to cancellation (documented)
        if is_f64::<B>() || k <= 3.0 {
            let v = host(d.variance().unwrap())[0];
            let tol = var * rel + s * s * 16.0 * eps * k.powi(4);
            assert!((v - var).abs() <= tol, "variance {ctx}: {v} vs {var} (tol {tol:e})");
        }
    }
}

/// `Φ(z)` in f64 from statrs's `erfc` (accurate in both tails as `1 − Φ(−z)` is not needed).
fn ndtr(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn sampler_passes_ks<B: AutodiffBackend>(dev: &B::Device) {
    let n = 10_000;
    for &(mu, s, lo, hi) in &[
        (0.0, 1.0, -1.0, 2.0),
        (1.5, 0.7, -INF, 1.0),
        (0.0, 1.0, 3.0, 3.5),
        (0.0, 1.0, 10.0, 11.0),
    ] {
        let d = dist::<B>((mu, s, lo, hi), dev);
        let (a, b) = ((lo - mu) / s, (hi - mu) / s);
        // in the upper tail use survival functions, which keep their precision there
        let upper = a + b > 0.0;
        let cdf = |x: f64| {
            let z = (x - mu) / s;
            if upper {
                (ndtr(-z.max(a)) - ndtr(-b)).mul_add(-1.0 / (ndtr(-a) - ndtr(-b)), 1.0)
            } else {
                (ndtr(z.min(b)) - ndtr(a)) / (ndtr(b) - ndtr(a))
            }
        };
        for seed in [101, 202] {
            let x = host(d.sample_n(n, &mut RngKey::new(seed)).unwrap());
            assert!(x.iter().all(|v| *v >= lo && *v <= hi), "draws leave [{lo}, {hi}]");
            let stat = ks_statistic(x, cdf);
            assert!(
                stat < ks_critical(n),
                "({mu}, {s}, [{lo}, {hi}]) seed {seed}: KS D = {stat:.5}"
            );
        }
    }
}

/// The exact mean in f64 (upper-tail intervals by reflection).
fn exact_mean(mu: f64, s: f64, lo: f64, hi: f64) -> f64 {
    let (a, b) = ((lo - mu) / s, (hi - mu) / s);
    if a + b > 0.0 {
        return -exact_mean(-mu, s, -hi, -lo);
    }
    let phi = |z: f64| {
        if z.is_finite() {
            (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
        } else {
            0.0
        }
    };
    mu + s * (phi(a) - phi(b)) / (ndtr(b) - ndtr(a))
}

fn pathwise_gradients_of_the_mean_are_unbiased<B: AutodiffBackend>(dev: &B::Device) {
    let n = 100_000;
    for &p in &[(0.3, 1.2, -1.0, 2.0), (0.0, 1.0, 3.0, INF), (1.0, 0.5, -INF, -0.5)] {
        let base = [p.0, p.1, p.2, p.3];
        for which in 0..4 {
            if !base[which].is_finite() {
                continue;
            }
            let h = 1e-5;
            let at = |v: f64| {
                let mut q = base;
                q[which] = v;
                exact_mean(q[0], q[1], q[2], q[3])
            };
            let want = (at(base[which] + h) - at(base[which] - h)) / (2.0 * h);
            let g = grad::<B>(&vec![base[which]; n], dev, |t| {
                let full = |j: usize| -> ppl_dist::param::ParamArg<B, 1> {
                    if j == which {
                        t.clone().into()
                    } else {
                        base[j].into()
                    }
                };
                TruncatedNormal::new(full(0), full(1), full(2), full(3))
                    .unwrap()
                    .rsample(&mut RngKey::new(31 + which as u64))
                    .unwrap()
            });
            let m = g.iter().sum::<f64>() / n as f64;
            let se = (g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n as f64 - 1.0) / n as f64).sqrt();
            assert!(
                (m - want).abs() < 4.0 * se + 1e-6,
                "{p:?}: ∂E[x]/∂(parameter {which}) = {m} ± {se}, want {want}"
            );
        }
    }
}

/// `ln p(x)` in f64 from statrs's `erfc` (upper-tail intervals by reflection).
fn reference_log_prob(mu: f64, s: f64, lo: f64, hi: f64, x: f64) -> f64 {
    let (a, b) = ((lo - mu) / s, (hi - mu) / s);
    let log_z = if a + b > 0.0 {
        (ndtr(-a) - ndtr(-b)).ln()
    } else {
        (ndtr(b) - ndtr(a)).ln()
    };
    let z = (x - mu) / s;
    -0.5 * z * z - 0.5 * (2.0 * std::f64::consts::PI).ln() - s.ln() - log_z
}

fn log_density_gradients_hold_in_the_far_tail<B: AutodiffBackend>(dev: &B::Device) {
    if !is_f64::<B>() {
        return; // finite differences of an f64 reference; f32 would only test rounding
    }
    for &(mu, s, lo, hi, x) in &[
        (0.0, 1.0, 10.0, 11.0, 10.3),
        (1.0, 2.0, -30.0, -25.0, -28.0),
        (0.0, 1.0, -2.5, 1.0, 0.0),
    ] {
        let h = 1e-6;
        let want_mu = (reference_log_prob(mu + h, s, lo, hi, x) - reference_log_prob(mu - h, s, lo, hi, x)) / (2.0 * h);
        let want_s = (reference_log_prob(mu, s + h, lo, hi, x) - reference_log_prob(mu, s - h, lo, hi, x)) / (2.0 * h);
        let g_mu = grad::<B>(&[mu], dev, |m| {
            TruncatedNormal::new(m, s, lo, hi).unwrap().log_prob(t1::<B>(&[x], dev))
        })[0];
        let g_s = grad::<B>(&[s], dev, |sd| {
            TruncatedNormal::new(mu, sd, lo, hi)
                .unwrap()
                .log_prob(t1::<B>(&[x], dev))
        })[0];
        for (what, got, want) in [("μ", g_mu, want_mu), ("σ", g_s, want_s)] {
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "∂ln p/∂{what} at ({mu}, {s}, [{lo}, {hi}], {x}): {got} vs {want}"
            );
        }
    }
}

fn expect_invalid(r: Result<TruncatedNormal<impl burn::tensor::backend::Backend, 1>, DistError>, param: &str) {
    match r {
        Err(e @ DistError::InvalidParameter { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("TruncatedNormal") && msg.contains(param),
                "`{msg}` must name {param}"
            );
        }
        other => panic!("{param}: expected InvalidParameter, got {other:?}"),
    }
}

fn invalid_parameters_and_values_are_handled<B: AutodiffBackend>(dev: &B::Device) {
    let s = |v: f64| t1::<B>(&[v], dev);
    expect_invalid(TruncatedNormal::new(s(0.0), 0.0, -1.0, 1.0), "scale");
    expect_invalid(TruncatedNormal::new(s(f64::NAN), 1.0, -1.0, 1.0), "loc");
    expect_invalid(TruncatedNormal::new(s(0.0), 1.0, f64::NAN, 1.0), "low");
    expect_invalid(TruncatedNormal::new(s(0.0), 1.0, 1.0, 1.0), "high");
    expect_invalid(TruncatedNormal::new(s(0.0), 1.0, 2.0, 1.0), "high");
    assert!(matches!(
        TruncatedNormal::new(t1::<B>(&[0.0, 1.0], dev), 1.0, t1::<B>(&[0.0, 1.0, 2.0], dev), 5.0),
        Err(DistError::ShapeMismatch { .. })
    ));
    // outside the interval: −∞; on the bounds: finite
    let d = TruncatedNormal::new(s(0.0), 1.0, -1.0, 2.0).unwrap();
    let lp = host(d.log_prob(t1::<B>(&[-1.5, -1.0, 2.0, 2.5], dev)));
    assert_eq!((lp[0], lp[3]), (f64::NEG_INFINITY, f64::NEG_INFINITY));
    assert!(lp[1].is_finite() && lp[2].is_finite(), "{lp:?}");
    // infinite bounds: the normal's value and gradient, no NaN
    let g = grad::<B>(&[0.4], dev, |m| {
        TruncatedNormal::new(m, 1.0, -INF, INF)
            .unwrap()
            .log_prob(t1::<B>(&[1.0], dev))
    });
    assert!((g[0] - 0.6).abs() < 1e-5, "∂ln p/∂μ = {} with no truncation", g[0]);
}
