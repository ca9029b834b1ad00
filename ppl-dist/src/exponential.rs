//! The exponential distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{check_param, positive, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Exponential distribution with `rate` λ: `ln p(x) = ln λ − λx` for `x ≥ 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Exponential_distribution)).
///
/// # Shapes
/// The value shape is the shape of `rate`.
#[derive(Debug, Clone)]
pub struct Exponential<B: Backend, const D: usize> {
    rate: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Exponential<B, D> {
    /// A validated exponential distribution (`rate` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `rate`.
    pub fn new(rate: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let rate = rate.into().into_tensor(&Default::default());
        check_param("Exponential", "rate", &rate, "must be finite and > 0", positive)?;
        Ok(Self::new_unchecked(rate))
    }

    /// Without parameter checks.
    pub fn new_unchecked(rate: impl Into<ParamArg<B, D>>) -> Self {
        let rate = rate.into().into_tensor(&Default::default());
        let shape = rate.dims();
        Exponential { rate, shape }
    }

    /// The rate parameter λ.
    pub fn rate(&self) -> &Tensor<B, D> {
        &self.rate
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Exponential<B, D> {
    dist_common!(
        "Exponential",
        event_dims = 0,
        support = Constraint::NonNegative,
        device = rate
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let inside = value.clone().greater_equal_elem(0.0);
        mask_outside(self.rate.clone().log() - self.rate.clone() * value, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(
            noise::from_open_uniform::<B, D>(shape, rng, &self.device(), |u| -u.ln(), |u| u.log().neg())
                / self.rate.clone(),
        )
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(crate::param::recip(self.rate.clone()))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some((crate::param::recip(self.rate.clone()) * std::f64::consts::LN_2).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(crate::param::recip(self.rate.clone().powi_scalar(2)))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(self.rate.clone().log().neg() + 1.0)
    }
}
