//! The continuous uniform distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, expand_value, finite, host_values, resolve2, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Uniform distribution on `[low, high]`: `ln p(x) = −ln(high − low)` inside
/// ([Wikipedia](https://en.wikipedia.org/wiki/Continuous_uniform_distribution)).
///
/// # Shapes
/// `low` and `high` broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct Uniform<B: Backend, const D: usize> {
    low: Tensor<B, D>,
    high: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Uniform<B, D> {
    /// A validated uniform distribution (finite bounds, `low < high`).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `low` or `high`; [`DistError::ShapeMismatch`].
    pub fn new(low: impl Into<ParamArg<B, D>>, high: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (low, high) = resolve2(low.into(), high.into());
        check_param("Uniform", "low", &low, "must be finite", finite)?;
        check_param("Uniform", "high", &high, "must be finite", finite)?;
        let d = Self::build(low, high)?;
        let width = host_values(&(d.high.clone() - d.low.clone()));
        if let Some(w) = width.into_iter().find(|w| w.is_nan() || *w <= 0.0) {
            return Err(DistError::invalid("Uniform", "high", w, "high − low must be > 0"));
        }
        Ok(d)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(low: impl Into<ParamArg<B, D>>, high: impl Into<ParamArg<B, D>>) -> Self {
        let (low, high) = resolve2(low.into(), high.into());
        Self::build(low, high).expect("Uniform::new_unchecked: shapes of low and high do not broadcast")
    }

    fn build(low: Tensor<B, D>, high: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Uniform", "low and high", &[low.dims(), high.dims()])?;
        Ok(Uniform { low, high, shape })
    }

    /// The lower bound.
    pub fn low(&self) -> &Tensor<B, D> {
        &self.low
    }

    /// The upper bound.
    pub fn high(&self) -> &Tensor<B, D> {
        &self.high
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Uniform<B, D> {
    dist_common!("Uniform", event_dims = 0, support = Constraint::Interval, device = low);
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let value = expand_value("Uniform", value, self.shape);
        let dims = value.dims();
        let inside = crate::constraint::within(value.clone(), &self.low, &self.high);
        let lp = (self.high.clone() - self.low.clone()).log().neg().expand(dims);
        mask_outside(lp, inside)
    }
    fn support_bounds(&self) -> Option<(Tensor<B, D>, Tensor<B, D>)> {
        Some((
            self.low.clone().expand(self.shape),
            self.high.clone().expand(self.shape),
        ))
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let u = noise::uniform::<B, D>(shape, rng, &self.device());
        Ok(self.low.clone() + (self.high.clone() - self.low.clone()) * u)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(((self.low.clone() + self.high.clone()) / 2.0).expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(((self.low.clone() + self.high.clone()) / 2.0).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(((self.high.clone() - self.low.clone()).powi_scalar(2) / 12.0).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some((self.high.clone() - self.low.clone()).log().expand(self.shape))
    }
}
