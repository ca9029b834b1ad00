//! Supports of distributions (and domains of parameters).

use burn::tensor::{backend::Backend, Bool, Tensor, TensorData};

/// The set a distribution's values live in.
///
/// Used to mask out-of-support values in `log_prob` (they score −∞) and, by autoguides, to
/// pick a transform from unconstrained space (`Positive` ↔ softplus/exp, `UnitInterval` ↔
/// sigmoid, `Simplex` ↔ stick-breaking).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Constraint {
    /// All real numbers.
    Real,
    /// `x > 0`.
    Positive,
    /// `x ≥ 0`.
    NonNegative,
    /// `0 ≤ x ≤ 1` (closed, as in Pyro).
    UnitInterval,
    /// `low ≤ x ≤ high`, with bounds given by the distribution's parameters.
    Interval,
    /// `{0, 1}`.
    Boolean,
    /// `{0, 1, 2, …}`.
    NonNegativeInteger,
    /// `{0, 1, …, n}` with `n` given by the distribution's parameters.
    IntegerInterval,
    /// A class index `{0, …, K−1}`.
    CategoricalIndex,
    /// One-hot vectors along the last dimension.
    OneHot,
    /// Non-negative vectors that sum to 1 along the last dimension.
    Simplex,
    /// Non-negative integer vectors with a fixed sum along the last dimension.
    MultinomialCounts,
    /// Real vectors (an event of real numbers).
    RealVector,
    /// Lower-triangular matrices with a positive diagonal (the last two dimensions).
    LowerCholesky,
    /// Cholesky factors of correlation matrices: lower-triangular, positive diagonal, each
    /// row of unit length (the last two dimensions).
    CorrCholesky,
    /// A single point (the value of a Deterministic distribution).
    Singleton,
    /// Whatever the wrapped distribution allows (mixtures, empirical distributions).
    Dependent,
}

impl Constraint {
    /// Element-wise membership for the constraints that need no parameters; `None` for the
    /// parameter-dependent ones (`Interval`, `IntegerInterval`, `Singleton`, `Dependent`) and
    /// the matrix ones (`LowerCholesky`, `CorrCholesky`: a property of the whole matrix).
    pub fn check<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Option<Tensor<B, D, Bool>> {
        let integer = |x: Tensor<B, D>| x.clone().equal(x.floor());
        Some(match self {
            Constraint::Real | Constraint::RealVector => x.clone().equal(x), // false for NaN
            Constraint::Positive => x.greater_elem(0.0),
            Constraint::NonNegative => x.greater_equal_elem(0.0),
            Constraint::UnitInterval | Constraint::Simplex => {
                x.clone().greater_equal_elem(0.0).bool_and(x.lower_equal_elem(1.0))
            }
            Constraint::Boolean | Constraint::OneHot => x.clone().equal_elem(0.0).bool_or(x.equal_elem(1.0)),
            Constraint::NonNegativeInteger | Constraint::CategoricalIndex | Constraint::MultinomialCounts => {
                integer(x.clone()).bool_and(x.greater_equal_elem(0.0))
            }
            Constraint::Interval
            | Constraint::IntegerInterval
            | Constraint::Singleton
            | Constraint::Dependent
            | Constraint::LowerCholesky
            | Constraint::CorrCholesky => return None,
        })
    }

    /// Whether values under this constraint are discrete.
    pub fn is_discrete(&self) -> bool {
        matches!(
            self,
            Constraint::Boolean
                | Constraint::NonNegativeInteger
                | Constraint::IntegerInterval
                | Constraint::CategoricalIndex
                | Constraint::OneHot
                | Constraint::MultinomialCounts
        )
    }
}

/// Replace the entries of `lp` where `inside` is false by −∞.
///
/// `inside` may have size 1 where `lp` is larger (it is broadcast), never the reverse.
pub fn mask_outside<B: Backend, const D: usize>(lp: Tensor<B, D>, inside: Tensor<B, D, Bool>) -> Tensor<B, D> {
    let (lp_dims, in_dims) = (lp.dims(), inside.dims());
    let inside = if lp_dims == in_dims {
        inside
    } else {
        inside.expand(lp_dims)
    };
    lp.mask_fill(inside.bool_not(), f64::NEG_INFINITY)
}

/// Zero the entries of a gradient `grad` where `outside` is true (no gradient flows from
/// values outside a density's support).
///
/// `outside` may have size 1 where `grad` is larger (it is broadcast), never the reverse.
pub fn zero_outside<B: Backend, const D: usize>(grad: Tensor<B, D>, outside: Tensor<B, D, Bool>) -> Tensor<B, D> {
    let (grad_dims, out_dims) = (grad.dims(), outside.dims());
    let outside = if grad_dims == out_dims {
        outside
    } else {
        outside.expand(grad_dims)
    };
    grad.mask_fill(outside, 0.0)
}

/// `low ≤ value ≤ high` element-wise, the bounds broadcast to `value`'s shape (the support
/// test of the interval distributions).
pub fn within<B: Backend, const D: usize>(
    value: Tensor<B, D>,
    low: &Tensor<B, D>,
    high: &Tensor<B, D>,
) -> Tensor<B, D, Bool> {
    let dims = value.dims();
    value
        .clone()
        .greater_equal(low.clone().expand(dims))
        .bool_and(value.lower_equal(high.clone().expand(dims)))
}

/// A `[1, …, 1, K, K]` matrix of 1 where `keep(row, column)` holds and 0 elsewhere (the
/// diagonal, triangle and other masks of the matrix distributions and transforms).
pub fn matrix_pattern<B: Backend, const D: usize>(
    k: usize,
    device: &B::Device,
    keep: impl Fn(usize, usize) -> bool,
) -> Tensor<B, D> {
    let v: Vec<f64> = (0..k * k).map(|n| if keep(n / k, n % k) { 1.0 } else { 0.0 }).collect();
    let mut s = [1; D];
    s[D - 2] = k;
    s[D - 1] = k;
    Tensor::<B, 2>::from_data(TensorData::new(v, [k, k]), crate::param::float_options::<B>(device)).reshape(s)
}

/// Whether each `[…, K, K]` matrix of `y` is lower-triangular with a positive diagonal and,
/// with `unit_rows = Some(tol)`, rows whose squared length is within `tol` of 1 (a correlation
/// Cholesky factor), as a `[…, 1, 1]` mask: the membership test of
/// [`Constraint::LowerCholesky`] and [`Constraint::CorrCholesky`].
///
/// # Panics
/// If `D < 2` or the last two dimensions differ (a broken caller invariant).
pub fn cholesky_inside<B: Backend, const D: usize>(y: Tensor<B, D>, unit_rows: Option<f64>) -> Tensor<B, D, Bool> {
    let dims = y.dims();
    let k = dims[D - 1];
    assert!(
        D >= 2 && dims[D - 2] == k,
        "cholesky_inside: {dims:?} is no stack of square matrices"
    );
    let dev = y.device();
    // per row ([…, K, 1]): a non-positive diagonal, anything above it, a wrong length
    let diag = (y.clone() * matrix_pattern::<B, D>(k, &dev, |i, j| i == j)).sum_dim(D - 1);
    let above = (y.clone().abs() * matrix_pattern::<B, D>(k, &dev, |i, j| j > i)).sum_dim(D - 1);
    // (written so that NaN counts as bad)
    let mut bad = diag
        .greater_elem(0.0)
        .bool_not()
        .bool_or(above.equal_elem(0.0).bool_not());
    if let Some(tol) = unit_rows {
        let len = y.powi_scalar(2).sum_dim(D - 1);
        bad = bad.bool_or((len - 1.0).abs().lower_equal_elem(tol).bool_not());
    }
    crate::param::mask_to_float(bad).sum_dim(D - 2).equal_elem(0.0)
}
