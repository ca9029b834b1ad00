//! The logit-normal distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::special::sigmoid;
use crate::{Constraint, DistError, Distribution, Normal, ParamArg, RngKey};

/// Logit-normal distribution on `(0, 1)`: `logit X ~ N(loc, scale²)`, so
/// `ln p(x) = N(logit x; μ, σ) − ln x − ln(1 − x)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Logit-normal_distribution)). The variational
/// family autoguides use for unit-interval latents.
#[derive(Debug, Clone)]
pub struct LogitNormal<B: Backend, const D: usize> {
    base: Normal<B, D>,
    base_loc: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> LogitNormal<B, D> {
    /// A validated logit-normal distribution (`loc` finite, `scale` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`].
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let base = Normal::new_as("LogitNormal", loc, scale)?;
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
        let base_loc = base.loc().clone();
        LogitNormal { base, base_loc, shape }
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for LogitNormal<B, D> {
    dist_common!(
        "LogitNormal",
        event_dims = 0,
        support = Constraint::UnitInterval,
        device = base_loc
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let inside = value.clone().greater_elem(0.0).bool_and(value.clone().lower_elem(1.0));
        let x = value.mask_fill(inside.clone().bool_not(), 0.5);
        let (log_x, log_1mx) = (x.clone().log(), x.neg().log1p());
        mask_outside(
            self.base.log_prob(log_x.clone() - log_1mx.clone()) - log_x - log_1mx,
            inside,
        )
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(sigmoid(self.base.rsample_expanded(shape, rng)?))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        // sigmoid is monotone, so the median is sigmoid of the Normal's.
        Some(sigmoid(self.base_loc.clone()).expand(self.shape))
    }
}
