//! Transforms (issue 21), the element-wise, stick-breaking and lower-Cholesky ones: round trips, `ln |det J|` against a finite-difference Jacobian in
//! f64 on seeded random points for every transform, the transformed distribution against
//! closed forms, and `biject_to`'s refusals.

use burn::tensor::backend::AutodiffBackend;
use ppl_dist::transforms::{biject_to, Transform, TransformedDistribution};
use ppl_dist::{Constraint, DistError, Distribution, LogNormal, LogitNormal, Normal, RngKey};

use crate::common::{backend_suite, host, is_f64, t2, uniform_in};

backend_suite!(
    every_transform_round_trips_into_its_codomain,
    log_abs_det_jacobian_matches_finite_differences,
    transformed_distribution_matches_closed_forms,
    biject_to_covers_continuous_supports_and_refuses_the_rest,
    cholesky_transforms_round_trip_and_match_finite_differences,
);

/// Every transform, with the width of the unconstrained input it takes (rows of 4 values).
fn all_transforms() -> Vec<Transform> {
    vec![
        Transform::Identity,
        Transform::Exp,
        Transform::Softplus,
        Transform::Sigmoid,
        Transform::Affine { loc: 0.7, scale: -2.5 },
        Transform::StickBreaking,
        Transform::interval(-1.0, 3.0).unwrap(),
        // bounds per element of a row of 4: two finite, one lower, one upper, none
        Transform::Bounded {
            low: vec![-1.0, 2.0, f64::NEG_INFINITY, f64::NEG_INFINITY],
            high: vec![3.0, f64::INFINITY, 0.5, f64::INFINITY],
        },
        Transform::Compose(vec![Transform::Softplus, Transform::Affine { loc: 1.0, scale: 0.5 }]),
        Transform::Compose(vec![
            Transform::Affine { loc: 0.5, scale: 2.0 },
            Transform::StickBreaking,
        ]),
    ]
}

const ROWS: usize = 5;
const COLS: usize = 4;

fn every_transform_round_trips_into_its_codomain<B: AutodiffBackend>(dev: &B::Device) {
    let x = uniform_in(&mut RngKey::new(21), ROWS * COLS, -3.0, 3.0);
    // f32: logit near σ(±3) loses ~ε/σ(−3) relative, then the affine map scales it
    let tol: f64 = if is_f64::<B>() { 1e-10 } else { 2e-4 };
    for t in all_transforms() {
        let y = t.forward(t2::<B>(&x, ROWS, COLS, dev));
        assert_eq!(
            y.dims().to_vec(),
            t.forward_shape(&[ROWS, COLS]),
            "{t:?}: forward shape"
        );
        if let Some(inside) = t.codomain().check(y.clone()) {
            assert!(
                host(inside.float()).iter().all(|v| *v == 1.0),
                "{t:?}: a value outside {:?}",
                t.codomain()
            );
        }
        if t.codomain() == Constraint::Simplex {
            for s in host(y.clone().sum_dim(1)) {
                assert!((s - 1.0).abs() < tol.max(1e-6), "{t:?}: a simplex row sums to {s}");
            }
        }
        let back = host(t.inverse(y));
        for (i, (a, b)) in back.iter().zip(&x).enumerate() {
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "{t:?}: element {i} came back as {a}, was {b}"
            );
        }
    }
}

/// `ln |det|` of a small square matrix (Gaussian elimination with partial pivoting).
fn log_abs_det(mut m: Vec<Vec<f64>>) -> f64 {
    let n = m.len();
    let mut acc = 0.0;
    for c in 0..n {
        let p = (c..n).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs())).unwrap();
        m.swap(c, p);
        let pivot = m[c][c];
        acc += pivot.abs().ln();
        let (upper, lower) = m.split_at_mut(c + 1);
        for row in lower {
            let f = row[c] / pivot;
            for (x, p) in row[c..].iter_mut().zip(&upper[c][c..]) {
                *x -= f * p;
            }
        }
    }
    acc
}

fn log_abs_det_jacobian_matches_finite_differences<B: AutodiffBackend>(dev: &B::Device) {
    if !is_f64::<B>() {
        return; // finite differences need f64
    }
    let x = uniform_in(&mut RngKey::new(22), ROWS * COLS, -2.5, 2.5);
    let h = 1e-6;
    for t in all_transforms() {
        let ladj = host(t.log_abs_det_jacobian(t2::<B>(&x, ROWS, COLS, dev)));
        let f = |v: &[f64]| host(t.forward(t2::<B>(v, 1, COLS, dev)));
        if t.event_dims() == 0 {
            assert_eq!(ladj.len(), ROWS * COLS, "{t:?}: element-wise shape");
            for (i, l) in ladj.iter().enumerate() {
                let (r, c) = (i / COLS, i % COLS);
                let mut row: Vec<f64> = x[r * COLS..(r + 1) * COLS].to_vec();
                row[c] += h;
                let up = f(&row)[c];
                row[c] -= 2.0 * h;
                let down = f(&row)[c];
                let fd = ((up - down) / (2.0 * h)).abs().ln();
                assert!(
                    (l - fd).abs() < 1e-6,
                    "{t:?}: element {i}: ln|J| = {l}, finite differences {fd}"
                );
            }
        } else {
            assert_eq!(ladj.len(), ROWS, "{t:?}: one value per row");
            for (r, l) in ladj.iter().enumerate() {
                // the Jacobian of the first K − 1 outputs (the last one is determined by them)
                let row = &x[r * COLS..(r + 1) * COLS];
                let mut jac = vec![vec![0.0; COLS]; COLS];
                for c in 0..COLS {
                    let mut p = row.to_vec();
                    p[c] += h;
                    let up = f(&p);
                    p[c] -= 2.0 * h;
                    let down = f(&p);
                    for (o, j) in jac.iter_mut().enumerate() {
                        j[c] = (up[o] - down[o]) / (2.0 * h);
                    }
                }
                let fd = log_abs_det(jac);
                assert!(
                    (l - fd).abs() < 1e-6,
                    "{t:?}: row {r}: ln|J| = {l}, finite differences {fd}"
                );
            }
        }
    }
}

fn transformed_distribution_matches_closed_forms<B: AutodiffBackend>(dev: &B::Device) {
    let y = uniform_in(&mut RngKey::new(23), 8, 0.05, 0.95);
    let tol = if is_f64::<B>() { 1e-10 } else { 1e-4 };
    let close = |what: &str, a: Vec<f64>, b: Vec<f64>| {
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!(
                (p - q).abs() <= tol * q.abs().max(1.0),
                "{what}: element {i}: {p} against {q}"
            );
        }
    };
    let base = || Normal::<B, 2>::new_unchecked(0.3, 1.4);
    let at = t2::<B>(&y, 2, 4, dev);
    close(
        "exp of a Normal = LogNormal",
        host(TransformedDistribution::new(base(), Transform::Exp).log_prob(at.clone())),
        host(LogNormal::<B, 2>::new_unchecked(0.3, 1.4).log_prob(at.clone())),
    );
    close(
        "sigmoid of a Normal = LogitNormal",
        host(TransformedDistribution::new(base(), Transform::Sigmoid).log_prob(at.clone())),
        host(LogitNormal::<B, 2>::new_unchecked(0.3, 1.4).log_prob(at.clone())),
    );
    close(
        "an affine map of a Normal = a Normal",
        host(TransformedDistribution::new(base(), Transform::Affine { loc: -1.0, scale: -2.0 }).log_prob(at.clone())),
        host(Normal::<B, 2>::new_unchecked(-1.0 - 2.0 * 0.3, 2.0 * 1.4).log_prob(at)),
    );

    // stick-breaking a standard normal: draws on the simplex, one log-density per row, −∞ off it
    let sb = TransformedDistribution::new(
        Normal::<B, 2>::new_unchecked(t2::<B>(&[0.0; 3], 1, 3, dev), 1.0),
        Transform::StickBreaking,
    );
    assert_eq!(sb.value_shape(), [1, 4]);
    assert_eq!(sb.event_dims(), 1);
    let draws = sb.sample_expanded([6, 4], &mut RngKey::new(24));
    for s in host(draws.clone().sum_dim(1)) {
        assert!((s - 1.0).abs() < 1e-5, "a draw sums to {s}");
    }
    let lp = host(sb.log_prob(draws));
    assert_eq!(lp.len(), 6);
    assert!(lp.iter().all(|v| v.is_finite()), "{lp:?}");
    let off = t2::<B>(&[0.5, 0.5, 0.5, -0.5, 0.2, 0.2, 0.2, 0.2], 2, 4, dev);
    assert!(
        host(sb.log_prob(off)).iter().all(|v| *v == f64::NEG_INFINITY),
        "values off the simplex score −∞"
    );
    let neg = t2::<B>(&[-1.0, 2.0], 1, 2, dev);
    let lp = host(TransformedDistribution::new(Normal::<B, 2>::new_unchecked(0.0, 1.0), Transform::Exp).log_prob(neg));
    assert_eq!(lp, vec![f64::NEG_INFINITY, lp[1]]);
    assert!(lp[1].is_finite());
}

fn biject_to_covers_continuous_supports_and_refuses_the_rest<B: AutodiffBackend>(_dev: &B::Device) {
    assert_eq!(biject_to(Constraint::Real).unwrap(), Transform::Identity);
    assert_eq!(biject_to(Constraint::Positive).unwrap(), Transform::Exp);
    assert_eq!(biject_to(Constraint::UnitInterval).unwrap(), Transform::Sigmoid);
    assert_eq!(biject_to(Constraint::Simplex).unwrap(), Transform::StickBreaking);
    assert_eq!(biject_to(Constraint::LowerCholesky).unwrap(), Transform::LowerCholesky);
    // an interval needs its bounds
    use ppl_dist::transforms::transform_to_support;
    assert!(matches!(
        biject_to(Constraint::Interval),
        Err(DistError::NoTransform { .. })
    ));
    assert_eq!(
        transform_to_support(Constraint::Interval, Some((vec![0.0], vec![2.0]))).unwrap(),
        Transform::Bounded {
            low: vec![0.0],
            high: vec![2.0]
        }
    );
    assert!(transform_to_support(Constraint::Interval, Some((vec![1.0], vec![1.0]))).is_err());
    assert_eq!(
        transform_to_support(Constraint::Positive, None).unwrap(),
        Transform::Exp
    );
    assert_eq!(biject_to(Constraint::CorrCholesky).unwrap(), Transform::CorrCholesky);
    for c in [Constraint::Boolean, Constraint::CategoricalIndex, Constraint::Interval] {
        let err = biject_to(c).unwrap_err();
        assert!(matches!(err, DistError::NoTransform { .. }), "{c:?}: {err}");
        println!("{err}");
    }
    assert!(Transform::interval(1.0, 1.0).is_err());
    assert!(Transform::interval(0.0, f64::INFINITY).is_err());
}

/// The lower-triangular matrix transforms on `[ROWS, 1, M]` packed rows (K = 4): shapes, the
/// codomain (lower-triangular, positive diagonal; unit rows for CorrCholesky), the round trip,
/// and `ln |det J|` against finite differences of the free outputs (the lower triangle with or
/// without the diagonal) in f64.
fn cholesky_transforms_round_trip_and_match_finite_differences<B: AutodiffBackend>(dev: &B::Device) {
    use burn::tensor::{Tensor, TensorData};
    let k = 4;
    let tol: f64 = if is_f64::<B>() { 1e-10 } else { 1e-4 };
    for (t, m, with_diag) in [
        (Transform::LowerCholesky, 10, true),
        (Transform::CorrCholesky, 6, false),
    ] {
        assert_eq!(t.forward_shape(&[ROWS, 1, m]), vec![ROWS, k, k], "{t:?}");
        assert_eq!(t.inverse_shape(&[ROWS, k, k]), vec![ROWS, 1, m], "{t:?}");
        let x = uniform_in(&mut RngKey::new(25), ROWS * m, -2.0, 2.0);
        let packed = |v: &[f64], rows: usize| {
            Tensor::<B, 3>::from_data(
                TensorData::new(v.to_vec(), [rows, 1, m]),
                ppl_dist::param::float_options::<B>(dev),
            )
        };
        let (y, ladj) = t.forward_with_log_abs_det_jacobian(packed(&x, ROWS));
        assert_eq!(y.dims(), [ROWS, k, k]);
        assert_eq!(ladj.dims(), [ROWS, 1, 1]);
        let yv = host(y.clone());
        for (r, mat) in yv.chunks(k * k).enumerate() {
            for i in 0..k {
                assert!(mat[i * k + i] > 0.0, "{t:?}: row {r}: diagonal {i} not positive");
                for j in i + 1..k {
                    assert_eq!(mat[i * k + j], 0.0, "{t:?}: row {r}: ({i}, {j}) above the diagonal");
                }
                if !with_diag {
                    let len: f64 = (0..k).map(|j| mat[i * k + j].powi(2)).sum();
                    assert!(
                        (len - 1.0).abs() < tol.max(1e-6),
                        "{t:?}: row {r}: row {i} has length² {len}"
                    );
                }
            }
        }
        let back = host(t.inverse(y));
        for (i, (a, b)) in back.iter().zip(&x).enumerate() {
            assert!(
                (a - b).abs() <= tol * b.abs().max(1.0),
                "{t:?}: element {i} came back as {a}, was {b}"
            );
        }
        if !is_f64::<B>() {
            continue; // finite differences need f64
        }
        let free: Vec<usize> = (0..k)
            .flat_map(|i| (0..if with_diag { i + 1 } else { i }).map(move |j| i * k + j))
            .collect();
        assert_eq!(free.len(), m);
        let ladj = host(ladj);
        let h = 1e-6;
        for r in 0..ROWS {
            let row = &x[r * m..(r + 1) * m];
            let f = |v: &[f64]| host(t.forward(packed(v, 1)));
            let mut jac = vec![vec![0.0; m]; m];
            for c in 0..m {
                let mut p = row.to_vec();
                p[c] += h;
                let up = f(&p);
                p[c] -= 2.0 * h;
                let down = f(&p);
                for (o, &pos) in free.iter().enumerate() {
                    jac[o][c] = (up[pos] - down[pos]) / (2.0 * h);
                }
            }
            let fd = log_abs_det(jac);
            assert!(
                (ladj[r] - fd).abs() < 1e-6,
                "{t:?}: row {r}: ln|J| = {}, finite differences {fd}",
                ladj[r]
            );
        }
    }
}
