//! Supports of distributions (and domains of parameters).

use burn::tensor::{backend::Backend, Bool, Tensor};

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
    /// A single point (the value of a Deterministic distribution).
    Singleton,
    /// Whatever the wrapped distribution allows (mixtures, empirical distributions).
    Dependent,
}

impl Constraint {
    /// Element-wise membership for the constraints that need no parameters; `None` for the
    /// parameter-dependent ones (`Interval`, `IntegerInterval`, `Singleton`, `Dependent`).
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
            Constraint::Interval | Constraint::IntegerInterval | Constraint::Singleton | Constraint::Dependent => {
                return None
            }
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
