//! The Poisson distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::param::{check_param, host_values, upload, ParamArg};
use crate::special::{lgamma, xlogy};
use crate::{Constraint, DistError, Distribution, RngKey};

/// Poisson distribution with `rate` λ: `ln p(k) = k ln λ − λ − lnΓ(k + 1)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Poisson_distribution)).
#[derive(Debug, Clone)]
pub struct Poisson<B: Backend, const D: usize> {
    rate: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Poisson<B, D> {
    /// A validated Poisson distribution (`rate` finite and ≥ 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `rate`.
    pub fn new(rate: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let rate = rate.into().into_tensor(&Default::default());
        check_param("Poisson", "rate", &rate, "must be finite and ≥ 0", |v| {
            v.is_finite() && v >= 0.0
        })?;
        Ok(Self::new_unchecked(rate))
    }

    /// Without parameter checks.
    pub fn new_unchecked(rate: impl Into<ParamArg<B, D>>) -> Self {
        let rate = rate.into().into_tensor(&Default::default());
        let shape = rate.dims();
        Poisson { rate, shape }
    }

    /// The rate λ.
    pub fn rate(&self) -> &Tensor<B, D> {
        &self.rate
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Poisson<B, D> {
    dist_common!(
        "Poisson",
        event_dims = 0,
        support = Constraint::NonNegativeInteger,
        device = rate
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let inside = Constraint::NonNegativeInteger
            .check(value.clone())
            .expect("integer check");
        let k = value.mask_fill(inside.clone().bool_not(), 0.0);
        let lp = xlogy(k.clone(), self.rate.clone()) - self.rate.clone() - lgamma(k + 1.0);
        mask_outside(lp, inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let rate = host_values(&self.rate.clone().expand(shape));
        upload(
            rate.into_iter().map(|r| rng.poisson(r)).collect(),
            shape,
            &self.device(),
        )
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.rate.clone())
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.rate.clone())
    }
}
