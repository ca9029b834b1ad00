//! The beta distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, positive, resolve2, ParamArg};
use crate::special::{digamma, log_beta, xlog1py, xlogy};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Beta distribution with concentrations `α = concentration1`, `β = concentration0`:
/// `ln p(x) = (α − 1) ln x + (β − 1) ln(1 − x) − ln B(α, β)` on `[0, 1]`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Beta_distribution)).
///
/// # Gradients
/// `rsample` = `X/(X + Y)` with `X ~ Gamma(α)`, `Y ~ Gamma(β)`, each implicitly
/// reparameterized, so gradients flow to both concentrations.
#[derive(Debug, Clone)]
pub struct Beta<B: Backend, const D: usize> {
    alpha: Tensor<B, D>,
    beta: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Beta<B, D> {
    /// A validated beta distribution (both concentrations finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `concentration1` (α) or `concentration0` (β);
    /// [`DistError::ShapeMismatch`].
    pub fn new(
        concentration1: impl Into<ParamArg<B, D>>,
        concentration0: impl Into<ParamArg<B, D>>,
    ) -> Result<Self, DistError> {
        let (a, b) = resolve2(concentration1.into(), concentration0.into());
        check_param("Beta", "concentration1", &a, "must be finite and > 0", positive)?;
        check_param("Beta", "concentration0", &b, "must be finite and > 0", positive)?;
        Self::build(a, b)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(concentration1: impl Into<ParamArg<B, D>>, concentration0: impl Into<ParamArg<B, D>>) -> Self {
        let (a, b) = resolve2(concentration1.into(), concentration0.into());
        Self::build(a, b).expect("Beta::new_unchecked: shapes do not broadcast")
    }

    fn build(alpha: Tensor<B, D>, beta: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params(
            "Beta",
            "concentration1 and concentration0",
            &[alpha.dims(), beta.dims()],
        )?;
        Ok(Beta { alpha, beta, shape })
    }

    /// α, the exponent of `x`.
    pub fn concentration1(&self) -> &Tensor<B, D> {
        &self.alpha
    }

    /// β, the exponent of `1 − x`.
    pub fn concentration0(&self) -> &Tensor<B, D> {
        &self.beta
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Beta<B, D> {
    dist_common!(
        "Beta",
        event_dims = 0,
        support = Constraint::UnitInterval,
        device = alpha
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (a, b) = (self.alpha.clone(), self.beta.clone());
        let inside = value
            .clone()
            .greater_equal_elem(0.0)
            .bool_and(value.clone().lower_equal_elem(1.0));
        let x = value.mask_fill(inside.clone().bool_not(), 0.5);
        let lp = xlogy(a.clone() - 1.0, x.clone()) + xlog1py(b.clone() - 1.0, x.neg()) - log_beta(a, b);
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(noise::beta_rsample(self.alpha.clone(), self.beta.clone(), shape, rng))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some((self.alpha.clone() / (self.alpha.clone() + self.beta.clone())).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let (a, b) = (self.alpha.clone(), self.beta.clone());
        let s = a.clone() + b.clone();
        Some((a * b / (s.clone().powi_scalar(2) * (s + 1.0))).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let (a, b) = (self.alpha.clone(), self.beta.clone());
        let s = a.clone() + b.clone();
        let h = log_beta(a.clone(), b.clone()) - (a.clone() - 1.0) * digamma(a) - (b.clone() - 1.0) * digamma(b)
            + (s.clone() - 2.0) * digamma(s);
        Some(h.expand(self.shape))
    }
}
