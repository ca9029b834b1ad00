//! Bijections between unconstrained space and the supports of distributions, with the
//! log-determinant of their Jacobians: what MCMC needs to sample a positive or simplex latent
//! in ℝⁿ, and what a guide needs to put a Normal on a constrained site.
//!
//! A [`Transform`] maps `x` (its [`Transform::domain`]) to `y = f(x)` (its
//! [`Transform::codomain`]); [`Transform::log_abs_det_jacobian`] is `ln |det ∂y/∂x|`, and the
//! density of `y` is `p_Y(y) = p_X(f⁻¹(y)) · |det ∂y/∂x|⁻¹` ([`TransformedDistribution`]).
//! [`biject_to`] picks the standard bijection onto a [`Constraint`] (as Pyro's and NumPyro's
//! `biject_to`).
//!
//! # Shapes
//! Every transform keeps the rank `D`. Element-wise transforms keep the shape, and their
//! `log_abs_det_jacobian` has the shape of `x`. [`Transform::StickBreaking`] maps
//! `[…, K − 1]` to `[…, K]` (one event dimension), and its `log_abs_det_jacobian` has shape
//! `[…, 1]`. The matrix transforms [`Transform::LowerCholesky`] and [`Transform::CorrCholesky`]
//! map a packed row `[…, 1, M]` (the lower triangle in row-major order) to `[…, K, K]` (two
//! event dimensions, so they need `D ≥ 2`), and their `log_abs_det_jacobian` has shape
//! `[…, 1, 1]`. A [`Transform::Compose`] sums its parts down to its largest event rank.

mod bounded;
mod cholesky;
mod elementwise;
mod stick_breaking;
mod transformed;

use burn::tensor::{backend::Backend, Tensor};

use crate::{Constraint, DistError};

pub use transformed::TransformedDistribution;

/// A bijection with a tractable Jacobian (see the [module docs](self) for the shapes).
///
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::transforms::{biject_to, Transform};
/// use ppl_dist::Constraint;
///
/// let t = biject_to(Constraint::Simplex).unwrap(); // stick-breaking
/// let x = Tensor::<NdArray<f64>, 2>::from_floats([[0.0, 0.0]], &Default::default());
/// let y: Vec<f64> = t.forward(x.clone()).into_data().to_vec().unwrap();
/// // x = 0 maps to the centre of the simplex
/// assert!(y.iter().all(|p| (p - 1.0 / 3.0).abs() < 1e-12));
/// assert_eq!(t.log_abs_det_jacobian(x).dims(), [1, 1]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// `y = x` (ℝ → ℝ).
    Identity,
    /// `y = eˣ` (ℝ → (0, ∞)); `ln |J| = x`.
    Exp,
    /// `y = ln(1 + eˣ)` (ℝ → (0, ∞)); `ln |J| = ln σ(x)`.
    Softplus,
    /// `y = σ(x) = 1 / (1 + e⁻ˣ)` (ℝ → (0, 1)); `ln |J| = ln σ(x) + ln σ(−x)`.
    Sigmoid,
    /// `y = loc + scale · x` (ℝ → ℝ, `scale ≠ 0`); `ln |J| = ln |scale|`.
    Affine {
        /// The shift.
        loc: f64,
        /// The factor (non-zero).
        scale: f64,
    },
    /// Stick-breaking, `ℝ^{K−1}` → the simplex in `ℝ^K` along the last dimension:
    /// `zᵢ = σ(xᵢ − ln(K − 1 − i))`, `yᵢ = zᵢ · (1 − Σ_{j<i} yⱼ)`, `y_K = 1 − Σ_{j<K} yⱼ`
    /// (the offset makes `x = 0` the simplex's centre, as in Stan and Pyro);
    /// `ln |J| = Σᵢ [ln zᵢ + ln(1 − zᵢ) + ln(1 − Σ_{j<i} yⱼ)]`.
    StickBreaking,
    /// Element-wise onto per-element intervals `[lowᵢ, highᵢ]` (the support of a Uniform or a
    /// TruncatedNormal, see [`transform_to_support`]): `low + (high − low)·σ(x)` between two
    /// finite bounds (`ln |J| = ln(high − low) + ln σ(x) + ln σ(−x)`), `low + eˣ` above a
    /// lower bound alone, `high − eˣ` below an upper bound alone (`ln |J| = x`), `x` with
    /// neither. `low` and `high` hold one value per element of `x` (row-major), or per element
    /// of its trailing dimensions (repeated over the leading ones, as broadcasting does), or one
    /// for all.
    Bounded {
        /// Lower bounds (may be −∞).
        low: Vec<f64>,
        /// Upper bounds (may be +∞).
        high: Vec<f64>,
    },
    /// A packed row `[…, 1, K(K + 1)/2]` onto the lower-triangular matrices `[…, K, K]` with a
    /// positive diagonal: the off-diagonal entries as they are, `Lᵢᵢ = exp(xᵢᵢ)`;
    /// `ln |J| = Σᵢ xᵢᵢ` (Jacobian w.r.t. the lower triangle).
    LowerCholesky,
    /// A packed row `[…, 1, K(K − 1)/2]` onto Cholesky factors of correlation matrices
    /// `[…, K, K]` (lower-triangular, positive diagonal, rows of unit length), as in Stan and
    /// NumPyro: `zᵢⱼ = tanh(xᵢⱼ)` are partial correlations, then row by row
    /// `Lᵢⱼ = zᵢⱼ·√(1 − Σ_{l<j} L²ᵢₗ)` and `Lᵢᵢ = √(1 − Σ_{l<i} L²ᵢₗ)`;
    /// `ln |J| = Σ_{i>j} [ln(1 − z²ᵢⱼ) + ½ ln(1 − Σ_{l<j} L²ᵢₗ)]` (Jacobian w.r.t. the strict
    /// lower triangle, which determines the rest).
    CorrCholesky,
    /// The parts applied in order (`Compose(vec![a, b])` is `b ∘ a`).
    Compose(Vec<Transform>),
}

impl Transform {
    /// An affine map onto the open interval `(low, high)`: a sigmoid, then `low + (high − low)·y`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] unless `low < high`, both finite.
    pub fn interval(low: f64, high: f64) -> Result<Transform, DistError> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(DistError::invalid(
                "Transform::interval",
                "high - low",
                high - low,
                "bounds must be finite with low < high",
            ));
        }
        Ok(Transform::Compose(vec![
            Transform::Sigmoid,
            Transform::Affine {
                loc: low,
                scale: high - low,
            },
        ]))
    }

    /// The set `x` lives in.
    pub fn domain(&self) -> Constraint {
        match self {
            Transform::StickBreaking | Transform::LowerCholesky | Transform::CorrCholesky => Constraint::RealVector,
            Transform::Compose(parts) => parts.first().map_or(Constraint::Real, Transform::domain),
            _ => Constraint::Real,
        }
    }

    /// The set `y` lives in (an affine map's image is reported as `Real`).
    pub fn codomain(&self) -> Constraint {
        match self {
            Transform::Identity | Transform::Affine { .. } => Constraint::Real,
            Transform::Bounded { .. } => Constraint::Interval,
            Transform::Exp | Transform::Softplus => Constraint::Positive,
            Transform::Sigmoid => Constraint::UnitInterval,
            Transform::StickBreaking => Constraint::Simplex,
            Transform::LowerCholesky => Constraint::LowerCholesky,
            Transform::CorrCholesky => Constraint::CorrCholesky,
            Transform::Compose(parts) => parts.last().map_or(Constraint::Real, Transform::codomain),
        }
    }

    /// How many trailing dimensions form one event (0 for element-wise transforms).
    pub fn event_dims(&self) -> usize {
        match self {
            Transform::StickBreaking => 1,
            Transform::LowerCholesky | Transform::CorrCholesky => 2,
            Transform::Compose(parts) => parts.iter().map(Transform::event_dims).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// The shape of `y` for an `x` of shape `x_shape` (stick-breaking adds one to the last
    /// dimension; the matrix transforms unpack `[…, 1, M]` to `[…, K, K]`).
    ///
    /// # Panics
    /// For a matrix transform, if `M` is not a triangular number (no `K` packs to it).
    pub fn forward_shape(&self, x_shape: &[usize]) -> Vec<usize> {
        match self {
            Transform::LowerCholesky | Transform::CorrCholesky => {
                let mut s = x_shape.to_vec();
                let n = s.len();
                if n >= 2 {
                    let k = self.tri().side(s[n - 1]);
                    s[n - 2] = k;
                    s[n - 1] = k;
                }
                s
            }
            Transform::StickBreaking => {
                let mut s = x_shape.to_vec();
                if let Some(last) = s.last_mut() {
                    *last += 1;
                }
                s
            }
            Transform::Compose(parts) => parts.iter().fold(x_shape.to_vec(), |s, t| t.forward_shape(&s)),
            _ => x_shape.to_vec(),
        }
    }

    /// The shape of `x` for a `y` of shape `y_shape` (the inverse of [`Transform::forward_shape`];
    /// a simplex of size 0 has no preimage and keeps size 0).
    pub fn inverse_shape(&self, y_shape: &[usize]) -> Vec<usize> {
        match self {
            Transform::LowerCholesky | Transform::CorrCholesky => {
                let mut s = y_shape.to_vec();
                let n = s.len();
                if n >= 2 {
                    s[n - 1] = self.tri().packed_len(s[n - 1]);
                    s[n - 2] = 1;
                }
                s
            }
            Transform::StickBreaking => {
                let mut s = y_shape.to_vec();
                if let Some(last) = s.last_mut() {
                    *last = last.saturating_sub(1);
                }
                s
            }
            Transform::Compose(parts) => parts.iter().rev().fold(y_shape.to_vec(), |s, t| t.inverse_shape(&s)),
            _ => y_shape.to_vec(),
        }
    }

    /// Whether an element-wise transform is increasing (all are but an affine map with a
    /// negative scale; a composition is when an even number of its parts decrease).
    pub fn is_increasing(&self) -> bool {
        match self {
            Transform::Affine { scale, .. } => *scale > 0.0,
            Transform::Compose(parts) => parts.iter().filter(|t| !t.is_increasing()).count() % 2 == 0,
            _ => true,
        }
    }

    /// `y = f(x)`.
    pub fn forward<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Transform::StickBreaking => stick_breaking::forward(x),
            Transform::LowerCholesky | Transform::CorrCholesky | Transform::Bounded { .. } => {
                self.forward_with_log_abs_det_jacobian(x).0
            }
            Transform::Compose(parts) => parts.iter().fold(x, |x, t| t.forward(x)),
            t => elementwise::forward(t, x),
        }
    }

    /// `x = f⁻¹(y)`.
    pub fn inverse<B: Backend, const D: usize>(&self, y: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Transform::StickBreaking => stick_breaking::inverse(y),
            Transform::LowerCholesky => cholesky::lower_inverse(y),
            Transform::CorrCholesky => cholesky::corr_inverse(y),
            Transform::Bounded { low, high } => bounded::inverse(low, high, y),
            Transform::Compose(parts) => parts.iter().rev().fold(y, |y, t| t.inverse(y)),
            t => elementwise::inverse(t, y),
        }
    }

    /// `ln |det ∂f(x)/∂x|` at `x`, with the shape given in the [module docs](self).
    pub fn log_abs_det_jacobian<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.forward_with_log_abs_det_jacobian(x).1
    }

    /// `f(x)` and `ln |det ∂f(x)/∂x|` in one pass (a composition needs the intermediate values).
    pub fn forward_with_log_abs_det_jacobian<B: Backend, const D: usize>(
        &self,
        x: Tensor<B, D>,
    ) -> (Tensor<B, D>, Tensor<B, D>) {
        match self {
            Transform::StickBreaking => stick_breaking::forward_with_ladj(x),
            Transform::LowerCholesky => cholesky::lower_forward_with_ladj(x),
            Transform::CorrCholesky => cholesky::corr_forward_with_ladj(x),
            Transform::Bounded { low, high } => bounded::forward_with_ladj(low, high, x),
            Transform::Compose(parts) => {
                let events = self.event_dims();
                let mut total: Option<Tensor<B, D>> = None;
                let mut y = x;
                for t in parts {
                    let (next, ladj) = t.forward_with_log_abs_det_jacobian(y);
                    let ladj = sum_trailing(ladj, events - t.event_dims().min(events), t.event_dims());
                    total = Some(match total {
                        Some(acc) => acc + ladj,
                        None => ladj,
                    });
                    y = next;
                }
                let ladj = total.unwrap_or_else(|| y.zeros_like());
                (y, ladj)
            }
            t => elementwise::forward_with_ladj(t, x),
        }
    }
}

impl Transform {
    fn tri(&self) -> cholesky::Tri {
        match self {
            Transform::LowerCholesky => cholesky::Tri::WithDiagonal,
            _ => cholesky::Tri::Strict,
        }
    }
}

/// Sum `extra` more trailing dimensions (keeping them as size 1) of a log-Jacobian that
/// already has `done` trailing dimensions of size 1.
fn sum_trailing<B: Backend, const D: usize>(mut t: Tensor<B, D>, extra: usize, done: usize) -> Tensor<B, D> {
    for k in 0..extra {
        t = t.sum_dim(D - 1 - done - k);
    }
    t
}

/// The standard bijection from unconstrained space onto `constraint`: identity for real
/// values, `exp` for positive ones (as Pyro, NumPyro and Stan), the sigmoid for the unit
/// interval, stick-breaking for the simplex, [`Transform::LowerCholesky`] and
/// [`Transform::CorrCholesky`] for the two kinds of Cholesky factor.
///
/// # Errors
/// [`DistError::NoTransform`] for discrete supports and for supports whose bounds live in a
/// distribution's parameters (`Interval`: use [`Transform::interval`] with the bounds).
pub fn biject_to(constraint: Constraint) -> Result<Transform, DistError> {
    match constraint {
        Constraint::Real | Constraint::RealVector => Ok(Transform::Identity),
        Constraint::Positive | Constraint::NonNegative => Ok(Transform::Exp),
        Constraint::UnitInterval => Ok(Transform::Sigmoid),
        Constraint::Simplex => Ok(Transform::StickBreaking),
        Constraint::LowerCholesky => Ok(Transform::LowerCholesky),
        Constraint::CorrCholesky => Ok(Transform::CorrCholesky),
        c => Err(DistError::NoTransform {
            constraint: format!("{c:?}"),
            reason: if c.is_discrete() {
                "a discrete support has no bijection from real space (sum it out or give it a guide)"
            } else {
                "its bounds are parameters of the distribution (build one with Transform::interval)"
            },
        }),
    }
}

/// The bijection from unconstrained space onto `support`, given the per-element `bounds`
/// (host values, one per element or one for all) where the support is an
/// [`Constraint::Interval`] whose bounds are the distribution's parameters
/// ([`Distribution::support_bounds`](crate::Distribution::support_bounds)):
/// [`Transform::Bounded`] there, [`biject_to`] otherwise.
///
/// # Errors
/// [`DistError::NoTransform`] as [`biject_to`] (an `Interval` without bounds), and for bounds
/// with `low ≥ high` or NaN.
pub fn transform_to_support(support: Constraint, bounds: Option<(Vec<f64>, Vec<f64>)>) -> Result<Transform, DistError> {
    match (support, bounds) {
        (Constraint::Interval, Some((low, high))) => {
            if low.is_empty() || high.is_empty() {
                return Err(DistError::NoTransform {
                    constraint: "Interval".into(),
                    reason: "no bounds were given",
                });
            }
            let n = low.len().max(high.len());
            let at = |v: &[f64], i: usize| v[i % v.len()];
            if (0..n).any(|i| at(&low, i).is_nan() || at(&high, i).is_nan() || at(&low, i) >= at(&high, i)) {
                return Err(DistError::NoTransform {
                    constraint: "Interval".into(),
                    reason: "its bounds are NaN or not increasing",
                });
            }
            Ok(Transform::Bounded { low, high })
        }
        (c, _) => biject_to(c),
    }
}
