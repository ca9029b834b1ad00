//! The half-normal distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{check_param, positive, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Half-normal distribution, `|N(0, scale²)|`:
/// `ln p(x) = ½ ln(2/π) − ln σ − x²/(2σ²)` for `x ≥ 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Half-normal_distribution)).
///
/// # Shapes
/// The value shape is the shape of `scale`.
#[derive(Debug, Clone)]
pub struct HalfNormal<B: Backend, const D: usize> {
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> HalfNormal<B, D> {
    /// A validated half-normal distribution (`scale` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `scale`.
    pub fn new(scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let scale = scale.into().into_tensor(&Default::default());
        check_param("HalfNormal", "scale", &scale, "must be finite and > 0", positive)?;
        Ok(Self::new_unchecked(scale))
    }

    /// Without parameter checks.
    pub fn new_unchecked(scale: impl Into<ParamArg<B, D>>) -> Self {
        let scale = scale.into().into_tensor(&Default::default());
        let shape = scale.dims();
        HalfNormal { scale, shape }
    }

    /// The scale parameter.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for HalfNormal<B, D> {
    dist_common!(
        "HalfNormal",
        event_dims = 0,
        support = Constraint::NonNegative,
        device = scale
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let inside = value.clone().greater_equal_elem(0.0);
        let z = value / self.scale.clone();
        let lp = z.powi_scalar(2) * -0.5 - self.scale.clone().log() + 0.5 * (2.0 / std::f64::consts::PI).ln();
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(self.scale.clone() * noise::normal::<B, D>(shape, rng, &self.device()).abs())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.scale.clone() * (2.0 / std::f64::consts::PI).sqrt())
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        // σ·√2·erf⁻¹(1/2) (the 3/4 quantile of the standard normal).
        Some((self.scale.clone() * 0.674_489_750_196_081_7).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.scale.clone().powi_scalar(2) * (1.0 - 2.0 / std::f64::consts::PI))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(self.scale.clone().log() + 0.5 * (std::f64::consts::PI / 2.0).ln() + 0.5)
    }
}
