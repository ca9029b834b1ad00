//! LkjCholesky (issue 21): the density against statrs's Beta for K = 2 (the one correlation is
//! `2·Beta(η, η) − 1`); for K = 3, normalisation by a midpoint rule over the partial
//! correlations (f64, 60³ cells) and reference values (the formula as NumPyro states it,
//! checked to integrate to 1 with `scipy.integrate.tplquad` to 1e−12); the onion sampler by KS
//! of the marginal correlations against `2·Beta(η − 1 + K/2, ·) − 1` (α = 0.001, n = 10⁴, two
//! η, three pairs); support and errors.

use burn::tensor::{backend::AutodiffBackend, Tensor, TensorData};
use ppl_dist::param::float_options;
use ppl_dist::{DistError, Distribution, LkjCholesky, RngKey};
use statrs::distribution::{Beta, Continuous, ContinuousCDF};

use crate::common::{backend_suite, host, is_f64, ks_critical, ks_statistic, lp_tolerance};

backend_suite!(
    density_matches_beta_for_two_and_integrates_to_one_for_three,
    onion_sampler_has_the_right_marginals,
    support_and_invalid_parameters,
);

/// `n` factors `[n, K, K]` from row-major host values.
fn factors<B: AutodiffBackend>(v: Vec<f64>, n: usize, k: usize, dev: &B::Device) -> Tensor<B, 3> {
    Tensor::from_data(TensorData::new(v, [n, k, k]), float_options::<B>(dev))
}

/// The factor of a 3 × 3 correlation matrix from partial correlations `(z10, z20, z21)`.
fn from_partials(z10: f64, z20: f64, z21: f64) -> [f64; 9] {
    let l21 = z21 * (1.0 - z20 * z20).sqrt();
    [
        1.0,
        0.0,
        0.0,
        z10,
        (1.0 - z10 * z10).sqrt(),
        0.0,
        z20,
        l21,
        (1.0 - z20 * z20 - l21 * l21).sqrt(),
    ]
}

fn density_matches_beta_for_two_and_integrates_to_one_for_three<B: AutodiffBackend>(dev: &B::Device) {
    // K = 2
    let rs: [f64; 5] = [-0.95, -0.3, 0.0, 0.4, 0.9];
    for eta in [0.5, 1.0, 3.7] {
        let d = LkjCholesky::<B, 3>::new(2, eta).unwrap();
        let v: Vec<f64> = rs.iter().flat_map(|&r| [1.0, 0.0, r, (1.0 - r * r).sqrt()]).collect();
        let lp = host(d.log_prob(factors::<B>(v, rs.len(), 2, dev)));
        for (i, &r) in rs.iter().enumerate() {
            let want = Beta::new(eta, eta).unwrap().ln_pdf((r + 1.0) / 2.0) - std::f64::consts::LN_2;
            let tol = lp_tolerance::<B>(want, want.abs() + 2.0, 1e-10);
            assert!(
                (lp[i] - want).abs() <= tol,
                "K = 2, η = {eta}, r = {r}: {} vs {want}",
                lp[i]
            );
        }
    }
    // K = 3: reference values at one factor
    let l = from_partials(0.3, -0.5, 0.2 / (1.0f64 - 0.25).sqrt());
    for (eta, want) in [
        (0.7, -2.000318423326798),
        (1.0, -1.6434679308744755),
        (2.5, -0.9953344974754628),
    ] {
        let lp = host(
            LkjCholesky::<B, 3>::new(3, eta)
                .unwrap()
                .log_prob(factors::<B>(l.to_vec(), 1, 3, dev)),
        )[0];
        let tol = lp_tolerance::<B>(want, 10.0, 1e-10);
        assert!((lp - want).abs() <= tol, "K = 3, η = {eta}: {lp} vs {want}");
    }
    if !is_f64::<B>() {
        return; // the quadrature below sums 2·10⁵ terms: an f64 check
    }
    // K = 3: ∫ p(L(z)) |∂L/∂z| dz = 1 over the cube of partial correlations (|∂L/∂z| = √(1 − z20²))
    let n = 60;
    let h = 2.0 / n as f64;
    let mid = |i: usize| -1.0 + h * (i as f64 + 0.5);
    for eta in [1.5, 3.0] {
        let mut v = Vec::with_capacity(n * n * n * 9);
        let mut jac = Vec::with_capacity(n * n * n);
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    let (z10, z20, z21) = (mid(a), mid(b), mid(c));
                    v.extend(from_partials(z10, z20, z21));
                    jac.push((1.0 - z20 * z20).sqrt());
                }
            }
        }
        let lp = host(
            LkjCholesky::<B, 3>::new(3, eta)
                .unwrap()
                .log_prob(factors::<B>(v, n * n * n, 3, dev)),
        );
        let total: f64 = lp.iter().zip(&jac).map(|(l, j)| l.exp() * j).sum::<f64>() * h * h * h;
        assert!(
            (total - 1.0).abs() < 2e-3,
            "η = {eta}: the K = 3 density integrates to {total}"
        );
    }
}

fn onion_sampler_has_the_right_marginals<B: AutodiffBackend>(dev: &B::Device) {
    let (k, n) = (4, 10_000);
    for (eta, seed) in [(0.8, 11), (2.0, 12)] {
        let d = LkjCholesky::<B, 3>::new(k, eta).unwrap();
        let l = d.sample_expanded([n, k, k], &mut RngKey::new(seed));
        assert!(
            host(d.log_prob(l.clone())).iter().all(|v| v.is_finite()),
            "every draw is in the support"
        );
        let l = host(l);
        let b = eta - 1.0 + k as f64 / 2.0;
        let beta = Beta::new(b, b).unwrap();
        for (i, j) in [(1, 0), (3, 2), (3, 0)] {
            let r: Vec<f64> = l
                .chunks(k * k)
                .map(|m| (0..k).map(|c| m[i * k + c] * m[j * k + c]).sum::<f64>())
                .collect();
            let stat = ks_statistic(r, |x| beta.cdf(((x + 1.0) / 2.0).clamp(0.0, 1.0)));
            assert!(stat < ks_critical(n), "η = {eta}, R[{i}, {j}]: KS D = {stat:.5}");
        }
    }
    let _ = dev;
}

fn support_and_invalid_parameters<B: AutodiffBackend>(dev: &B::Device) {
    let d = LkjCholesky::<B, 3>::new(3, 1.5).unwrap();
    assert_eq!(d.value_shape(), [1, 3, 3]);
    assert_eq!(d.event_dims(), 2);
    let good = from_partials(0.3, -0.5, 0.1);
    let mut upper = good;
    upper[1] = 0.1; // above the diagonal
    let mut long = good;
    long[3] = 0.5; // row 1 no longer of unit length
    let mut negative = good;
    negative[8] = -negative[8];
    let v: Vec<f64> = [good, upper, long, negative].concat();
    let lp = host(d.log_prob(factors::<B>(v, 4, 3, dev)));
    assert!(lp[0].is_finite(), "{lp:?}");
    assert!(
        lp[1..].iter().all(|v| *v == f64::NEG_INFINITY),
        "off the support: {lp:?}"
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        match LkjCholesky::<B, 3>::new(3, bad) {
            Err(e @ DistError::InvalidParameter { .. }) => assert!(e.to_string().contains("concentration"), "{e}"),
            other => panic!("η = {bad}: {other:?}"),
        }
    }
    assert!(matches!(
        LkjCholesky::<B, 3>::new(0, 1.0),
        Err(DistError::InvalidParameter { .. })
    ));
    let wrong = Tensor::<B, 3>::ones([2, 3, 1], float_options::<B>(dev));
    assert!(matches!(
        LkjCholesky::<B, 3>::new(3, wrong),
        Err(DistError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        LkjCholesky::<B, 1>::new(3, 1.0),
        Err(DistError::ShapeMismatch { .. })
    ));
    // K = 1: the one factor [[1]] has density 1
    let one = LkjCholesky::<B, 2>::new(1, 2.0).unwrap();
    assert_eq!(
        host(one.log_prob(Tensor::<B, 2>::ones([1, 1], float_options::<B>(dev)))),
        vec![0.0]
    );
}
