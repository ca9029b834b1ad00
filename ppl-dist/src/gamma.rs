//! The gamma distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, positive, resolve2, ParamArg};
use crate::special::{digamma, lgamma, xlogy};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Gamma distribution with shape `concentration` α and `rate` β:
/// `ln p(x) = α ln β + (α − 1) ln x − βx − lnΓ(α)` for `x ≥ 0` (at `x = 0` the density is
/// +∞ for α < 1, β for α = 1 and 0 for α > 1, as in torch and statrs)
/// ([Wikipedia](https://en.wikipedia.org/wiki/Gamma_distribution)).
///
/// # Gradients
/// `rsample` is pathwise in both parameters: in β through `z/β`, in α by implicit
/// reparameterization (Figurnov et al. 2018), so `∂E[z]/∂α = 1/β` holds in expectation.
///
/// # Shapes
/// `concentration` and `rate` broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct Gamma<B: Backend, const D: usize> {
    concentration: Tensor<B, D>,
    rate: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Gamma<B, D> {
    /// A validated gamma distribution (both parameters finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `concentration` or `rate`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(concentration: impl Into<ParamArg<B, D>>, rate: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (c, r) = resolve2(concentration.into(), rate.into());
        check_param("Gamma", "concentration", &c, "must be finite and > 0", positive)?;
        check_param("Gamma", "rate", &r, "must be finite and > 0", positive)?;
        Self::build(c, r)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(concentration: impl Into<ParamArg<B, D>>, rate: impl Into<ParamArg<B, D>>) -> Self {
        let (c, r) = resolve2(concentration.into(), rate.into());
        Self::build(c, r).expect("Gamma::new_unchecked: shapes do not broadcast")
    }

    fn build(concentration: Tensor<B, D>, rate: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Gamma", "concentration and rate", &[concentration.dims(), rate.dims()])?;
        Ok(Gamma {
            concentration,
            rate,
            shape,
        })
    }

    /// The shape parameter α.
    pub fn concentration(&self) -> &Tensor<B, D> {
        &self.concentration
    }

    /// The rate parameter β.
    pub fn rate(&self) -> &Tensor<B, D> {
        &self.rate
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Gamma<B, D> {
    dist_common!(
        "Gamma",
        event_dims = 0,
        support = Constraint::NonNegative,
        device = rate
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (a, b) = (self.concentration.clone(), self.rate.clone());
        let inside = value.clone().greater_equal_elem(0.0);
        let x = value.mask_fill(inside.clone().bool_not(), 1.0);
        let lp = a.clone() * b.clone().log() + xlogy(a.clone() - 1.0, x.clone()) - b * x - lgamma(a);
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(noise::standard_gamma_rsample(self.concentration.clone(), shape, rng) / self.rate.clone())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some((self.concentration.clone() / self.rate.clone()).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some((self.concentration.clone() / self.rate.clone().powi_scalar(2)).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone();
        let h = a.clone() - self.rate.clone().log() + lgamma(a.clone()) + (a.clone().neg() + 1.0) * digamma(a);
        Some(h.expand(self.shape))
    }
}
