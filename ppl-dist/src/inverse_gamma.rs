//! The inverse-gamma distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, positive, resolve2, ParamArg};
use crate::special::{digamma, lgamma};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Inverse-gamma distribution with shape `concentration` α and `scale` β (if
/// `X ~ Gamma(α, rate β)` then `1/X ~ InverseGamma(α, β)`):
/// `ln p(x) = α ln β − lnΓ(α) − (α + 1) ln x − β/x` for `x > 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Inverse-gamma_distribution)).
///
/// `mean` is NaN where α ≤ 1 and `variance` NaN where α ≤ 2 (they do not exist there).
#[derive(Debug, Clone)]
pub struct InverseGamma<B: Backend, const D: usize> {
    concentration: Tensor<B, D>,
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> InverseGamma<B, D> {
    /// A validated inverse-gamma distribution (both parameters finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `concentration` or `scale`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(concentration: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (c, s) = resolve2(concentration.into(), scale.into());
        check_param("InverseGamma", "concentration", &c, "must be finite and > 0", positive)?;
        check_param("InverseGamma", "scale", &s, "must be finite and > 0", positive)?;
        Self::build(c, s)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(concentration: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        let (c, s) = resolve2(concentration.into(), scale.into());
        Self::build(c, s).expect("InverseGamma::new_unchecked: shapes do not broadcast")
    }

    fn build(concentration: Tensor<B, D>, scale: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params(
            "InverseGamma",
            "concentration and scale",
            &[concentration.dims(), scale.dims()],
        )?;
        Ok(InverseGamma {
            concentration,
            scale,
            shape,
        })
    }
}

/// NaN where `undefined`, `t` elsewhere.
fn nan_where<B: Backend, const D: usize>(
    t: Tensor<B, D>,
    undefined: burn::tensor::Tensor<B, D, burn::tensor::Bool>,
) -> Tensor<B, D> {
    t.mask_fill(undefined, f64::NAN)
}

impl<B: Backend, const D: usize> Distribution<B, D> for InverseGamma<B, D> {
    dist_common!(
        "InverseGamma",
        event_dims = 0,
        support = Constraint::Positive,
        device = scale
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (a, b) = (self.concentration.clone(), self.scale.clone());
        let inside = value.clone().greater_elem(0.0);
        let x = value.mask_fill(inside.clone().bool_not(), 1.0);
        let lp = a.clone() * b.clone().log() - lgamma(a.clone()) - (a + 1.0) * x.clone().log() - b / x;
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(self.scale.clone() / noise::standard_gamma_rsample(self.concentration.clone(), shape, rng))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone().expand(self.shape);
        let m = self.scale.clone() / (a.clone() - 1.0);
        Some(nan_where(m, a.lower_equal_elem(1.0)))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone().expand(self.shape);
        let v = self.scale.clone().powi_scalar(2) / ((a.clone() - 1.0).powi_scalar(2) * (a.clone() - 2.0));
        Some(nan_where(v, a.lower_equal_elem(2.0)))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone();
        let h = a.clone() + self.scale.clone().log() + lgamma(a.clone()) - (a.clone() + 1.0) * digamma(a);
        Some(h.expand(self.shape))
    }
}
