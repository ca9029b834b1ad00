//! The Cauchy distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, finite, positive, resolve2, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Cauchy distribution: `ln p(x) = −ln π − ln γ − ln(1 + ((x − x₀)/γ)²)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Cauchy_distribution)). Mean and variance do
/// not exist (`None`).
///
/// # Shapes
/// `loc` and `scale` broadcast together to the value shape; no event dimensions.
///
/// # Errors
/// [`Cauchy::new`] rejects a non-finite `loc` and a `scale` that is not finite and > 0.
#[derive(Debug, Clone)]
pub struct Cauchy<B: Backend, const D: usize> {
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Cauchy<B, D> {
    /// A validated Cauchy distribution.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`]
    /// if the shapes do not broadcast.
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        check_param("Cauchy", "loc", &loc, "must be finite", finite)?;
        check_param("Cauchy", "scale", &scale, "must be finite and > 0", positive)?;
        Self::build(loc, scale)
    }

    /// A Cauchy distribution without the (host-synchronising) parameter checks.
    ///
    /// # Panics
    /// If the shapes of `loc` and `scale` do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        Self::build(loc, scale).expect("Cauchy::new_unchecked: shapes of loc and scale do not broadcast")
    }

    fn build(loc: Tensor<B, D>, scale: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Cauchy", "loc and scale", &[loc.dims(), scale.dims()])?;
        Ok(Cauchy { loc, scale, shape })
    }

    /// The location parameter.
    pub fn loc(&self) -> &Tensor<B, D> {
        &self.loc
    }

    /// The scale parameter.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Cauchy<B, D> {
    dist_common!("Cauchy", event_dims = 0, support = Constraint::Real, device = loc);
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        crate::special::log1p_square((value - loc) / scale.clone()).neg() - scale.log() - std::f64::consts::PI.ln()
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let eps = noise::from_open_uniform::<B, D>(
            shape,
            rng,
            &self.device(),
            |u| (std::f64::consts::PI * (u - 0.5)).tan(),
            |u| ((u - 0.5) * std::f64::consts::PI).tan(),
        );
        Ok(self.loc.clone() + self.scale.clone() * eps)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        let _ = (&loc, &scale);
        None
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        let _ = &scale;
        None
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        Some(((scale * (4.0 * std::f64::consts::PI)).log()).expand(self.shape))
    }
}
