//! The log-normal distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::{Constraint, DistError, Distribution, Normal, ParamArg, RngKey};

/// Log-normal distribution: `ln X ~ N(loc, scale²)`, so
/// `ln p(x) = N(ln x; μ, σ) − ln x` for `x > 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Log-normal_distribution)).
///
/// # Shapes
/// As [`Normal`]: `loc` and `scale` broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct LogNormal<B: Backend, const D: usize> {
    base: Normal<B, D>,
    base_loc: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> LogNormal<B, D> {
    /// A validated log-normal distribution (`loc` finite, `scale` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale` (reported as `Normal`'s
    /// parameters under the name `LogNormal`); [`DistError::ShapeMismatch`].
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let base = Normal::new_as("LogNormal", loc, scale)?;
        Ok(Self::from_base(base))
    }

    /// The location of `ln X`.
    pub fn loc(&self) -> &Tensor<B, D> {
        self.base.loc()
    }

    /// The scale of `ln X`.
    pub fn scale(&self) -> &Tensor<B, D> {
        self.base.scale()
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        Self::from_base(Normal::new_unchecked(loc, scale))
    }

    /// The scale of `ln X` when it was given as a number (see `Normal`'s).
    pub(crate) fn scale_const(&self) -> Option<f64> {
        self.base.scale_const()
    }

    fn from_base(base: Normal<B, D>) -> Self {
        let shape = base.value_shape();
        let base_loc = base.loc().clone();
        LogNormal { base, base_loc, shape }
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for LogNormal<B, D> {
    dist_common!(
        "LogNormal",
        event_dims = 0,
        support = Constraint::Positive,
        device = base_loc
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        if self.base.scale_const().is_none() {
            // The formula lives with the fused kernel (`Svi` scores through it).
            return crate::kernels::log_normal_log_prob_composed(
                value,
                self.base.loc().clone(),
                self.base.scale().clone(),
            );
        }
        let inside = value.clone().greater_elem(0.0);
        let safe = value.mask_fill(inside.clone().bool_not(), 1.0);
        let log_x = safe.log();
        mask_outside(self.base.log_prob(log_x.clone()) - log_x, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(self.base.rsample_expanded(shape, rng)?.exp())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let (mu, s) = (self.base.loc().clone(), self.base.scale().clone());
        Some((mu + s.powi_scalar(2) / 2.0).exp().expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.base.loc().clone().exp().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let (mu, s2) = (self.base.loc().clone(), self.base.scale().clone().powi_scalar(2));
        Some(((s2.clone().exp() - 1.0) * (mu * 2.0 + s2).exp()).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some((self.base.entropy()? + self.base.loc().clone()).expand(self.shape))
    }
}
