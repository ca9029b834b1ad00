//! The [`Distribution`] trait: the contract every distribution in this crate keeps.
//!
//! # Shape convention
//!
//! Tensors carry their rank in the type (`Tensor<B, D>`), so a distribution of rank `D`
//! takes and returns values of rank `D`:
//!
//! * `value_shape() = batch_shape ++ event_shape` is the shape of one draw. Univariate
//!   distributions have no event dimensions; vector distributions (MVN, Dirichlet,
//!   Multinomial, OneHotCategorical) have one; [`Categorical`](crate::Categorical) stores its
//!   class index in a trailing dimension of size 1, which counts as its event dimension.
//! * `log_prob(x)` broadcasts `x` against the parameters and **sums the event dimensions,
//!   keeping them as size 1**: the result has rank `D`, shape `batch ++ [1; event_dims]`.
//! * `sample_expanded(shape)` draws with the parameters broadcast to `shape` (a shape that
//!   `value_shape()` broadcasts to). That is how a plate turns a `[1, k]` prior into `M` rows,
//!   and how [`Distribution::sample_n`] draws `n` rows.
//! * `mean`, `variance` have the value shape; `entropy` has the `log_prob` shape.
//!
//! # Gradients
//!
//! `sample` never carries gradients (it is detached). `rsample` (where
//! [`Distribution::has_rsample`] is true) is a pathwise sample: gradients flow from the value
//! to the parameters, including the implicit-reparameterization gradients of Gamma, Beta,
//! Dirichlet and the distributions built on them.
//!
//! # Out of support
//!
//! `log_prob` of a value outside [`Distribution::support`] is −∞, never NaN.

use std::any::Any;

use burn::tensor::{backend::Backend, Tensor};

use crate::{Constraint, DistError, RngKey};

/// Access to the concrete type behind a trait object (used by the KL registry).
pub trait AsAny: Any {
    /// `self` as [`Any`].
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A probability distribution over rank-`D` tensors on backend `B`.
///
/// See the [module docs](self) for the shape convention. The trait is object safe:
/// models hold `Box<dyn Distribution<B, D>>`.
pub trait Distribution<B: Backend, const D: usize>: AsAny + std::fmt::Debug + Send + Sync {
    /// The distribution's name, as used in error messages (`"Normal"`).
    fn name(&self) -> &'static str;

    /// Shape of one draw: `batch_shape ++ event_shape`.
    fn value_shape(&self) -> [usize; D];

    /// How many trailing dimensions form one event (summed by `log_prob`).
    fn event_dims(&self) -> usize;

    /// The set values live in.
    fn support(&self) -> Constraint;

    /// The device the parameters live on.
    fn device(&self) -> B::Device;

    /// Log-density (or log-mass) of `value`, event dimensions summed and kept as size 1.
    ///
    /// # Shapes
    /// * `value`: broadcastable with `value_shape()`.
    /// * returns: the broadcast shape with the event dimensions set to 1.
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D>;

    /// A draw with the parameters broadcast to `shape`, without gradients.
    ///
    /// # Panics
    /// If `value_shape()` does not broadcast to `shape` (use [`Distribution::sample_n`] or
    /// [`Expanded`](crate::Expanded) for a checked version).
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D>;

    /// For a support that is an interval set by the parameters ([`Constraint::Interval`]):
    /// the lower and upper bounds broadcast to [`Distribution::value_shape`] (either may be
    /// infinite). `None` for every other support. MCMC and the autoguides map unconstrained
    /// space onto the interval with them
    /// ([`transform_to_support`](crate::transforms::transform_to_support)).
    fn support_bounds(&self) -> Option<(Tensor<B, D>, Tensor<B, D>)> {
        None
    }

    /// Whether [`Distribution::rsample_expanded`] gives pathwise gradients.
    fn has_rsample(&self) -> bool {
        false
    }

    /// A reparameterized draw with the parameters broadcast to `shape`: gradients flow to
    /// the parameters.
    ///
    /// # Errors
    /// [`DistError::NotReparameterized`] for distributions without a pathwise sampler
    /// (the discrete ones, Empirical, mixtures).
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let _ = (shape, rng);
        Err(DistError::NotReparameterized { dist: self.name() })
    }

    /// The mean, where it exists in closed form (shape: `value_shape()`).
    fn mean(&self) -> Option<Tensor<B, D>> {
        None
    }

    /// The median (per element; the marginal median of each coordinate for a multivariate
    /// distribution), where it exists in closed form (shape: `value_shape()`). Posterior
    /// point estimates use it: it maps through monotone transforms (the median of a
    /// LogNormal is `exp` of its Normal's), where the mean does not.
    fn median(&self) -> Option<Tensor<B, D>> {
        None
    }

    /// The variance (per element), where it exists in closed form.
    fn variance(&self) -> Option<Tensor<B, D>> {
        None
    }

    /// The entropy, where it exists in closed form (shape: `batch ++ [1; event_dims]`).
    fn entropy(&self) -> Option<Tensor<B, D>> {
        None
    }

    /// How many values the support has, when it is finite and the same for every batch
    /// element: what an enumerating estimator sums over (Bernoulli 2, Categorical and
    /// OneHotCategorical K). `None` for every other distribution.
    fn enumerate_size(&self) -> Option<usize> {
        (self.support() == Constraint::Boolean).then_some(2)
    }

    /// Batch dimensions of [`Distribution::value_shape`].
    fn batch_shape(&self) -> Vec<usize> {
        let s = self.value_shape();
        s[..D - self.event_dims()].to_vec()
    }

    /// Event dimensions of [`Distribution::value_shape`].
    fn event_shape(&self) -> Vec<usize> {
        let s = self.value_shape();
        s[D - self.event_dims()..].to_vec()
    }

    /// One draw of shape `value_shape()`, without gradients.
    fn sample(&self, rng: &mut RngKey) -> Tensor<B, D> {
        self.sample_expanded(self.value_shape(), rng)
    }

    /// One reparameterized draw of shape `value_shape()`.
    ///
    /// # Errors
    /// [`DistError::NotReparameterized`] where no pathwise sampler exists.
    fn rsample(&self, rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        self.rsample_expanded(self.value_shape(), rng)
    }

    /// `n` independent draws stacked along dimension 0.
    ///
    /// The distribution's dimension 0 must have size 1 (it is broadcast to `n`), or
    /// already be `n`.
    ///
    /// # Errors
    /// [`DistError::ShapeMismatch`] if dimension 0 is neither 1 nor `n`.
    fn sample_n(&self, n: usize, rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let mut shape = self.value_shape();
        if D == 0 || (shape[0] != 1 && shape[0] != n) {
            return Err(DistError::ShapeMismatch {
                dist: self.name(),
                what: "sample_n (dimension 0 is broadcast to n)",
                expected: vec![1],
                actual: shape.to_vec(),
                hint: "; give the parameters a leading dimension of size 1".into(),
            });
        }
        shape[0] = n;
        Ok(self.sample_expanded(shape, rng))
    }
}

/// A distribution, or the `Result` of a checked constructor: what model statements such as
/// `ctx.sample(name, Normal::new(loc, scale))` accept, so the model body needs no `?`.
pub trait IntoDistribution<B: Backend, const D: usize> {
    /// The distribution type.
    type Dist: Distribution<B, D> + 'static;
    /// The distribution, or its construction error.
    ///
    /// # Errors
    /// The constructor's [`DistError`].
    fn into_distribution(self) -> Result<Self::Dist, DistError>;
}

/// Implement [`IntoDistribution`] for a distribution type of your own (the crate's own types
/// all have it): `ppl_dist::impl_into_distribution!(MyDist<B, D>);`.
#[macro_export]
macro_rules! impl_into_distribution {
    // A type generic over the backend and the rank.
    ($ty:ident<B, D>) => {
        impl<B: burn::tensor::backend::Backend, const D: usize> $crate::IntoDistribution<B, D> for $ty<B, D> {
            type Dist = Self;
            fn into_distribution(self) -> Result<Self, $crate::DistError> {
                Ok(self)
            }
        }
    };
    // A type generic over the backend only, with a fixed rank.
    ($ty:ident<B>, $d:literal) => {
        impl<B: burn::tensor::backend::Backend> $crate::IntoDistribution<B, $d> for $ty<B> {
            type Dist = Self;
            fn into_distribution(self) -> Result<Self, $crate::DistError> {
                Ok(self)
            }
        }
    };
}

impl<B: Backend, const D: usize, T: Distribution<B, D> + 'static> IntoDistribution<B, D> for Result<T, DistError> {
    type Dist = T;
    fn into_distribution(self) -> Result<T, DistError> {
        self
    }
}
