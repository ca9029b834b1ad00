//! The multivariate normal distribution with diagonal covariance.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::ParamArg;
use crate::{Constraint, DistError, Distribution, Normal, RngKey};

/// Multivariate normal with diagonal covariance `diag(scale²)` over the last dimension:
/// the sum of independent normals along it
/// ([Wikipedia](https://en.wikipedia.org/wiki/Multivariate_normal_distribution)).
///
/// # Shapes
/// `loc`, `scale`: broadcast to `[batch…, k]`; value `[batch…, k]`; `log_prob` `[batch…, 1]`.
#[derive(Debug, Clone)]
pub struct MultivariateNormalDiag<B: Backend, const D: usize> {
    base: Normal<B, D>,
    loc: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> MultivariateNormalDiag<B, D> {
    /// A validated diagonal MVN (`loc` finite, `scale` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`].
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let base = Normal::new_as("MultivariateNormalDiag", loc, scale)?;
        Ok(Self::from_base(base))
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        Self::from_base(Normal::new_unchecked(loc, scale))
    }

    fn from_base(base: Normal<B, D>) -> Self {
        let shape = base.value_shape();
        let loc = base.loc().clone();
        MultivariateNormalDiag { base, loc, shape }
    }

    /// The mean vector.
    pub fn loc(&self) -> &Tensor<B, D> {
        self.base.loc()
    }

    /// The per-coordinate standard deviations.
    pub fn scale(&self) -> &Tensor<B, D> {
        self.base.scale()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for MultivariateNormalDiag<B, D> {
    dist_common!(
        "MultivariateNormalDiag",
        event_dims = 1,
        support = Constraint::RealVector,
        device = loc
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        self.base.log_prob(value).sum_dim(D - 1)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        self.base.rsample_expanded(shape, rng)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        self.base.mean()
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        self.base.median()
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        self.base.variance()
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(self.base.entropy()?.sum_dim(D - 1))
    }
}
