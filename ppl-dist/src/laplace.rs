//! The Laplace distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, finite, positive, resolve2, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Laplace (double exponential) distribution: `ln p(x) = −ln(2b) − |x − μ|/b`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Laplace_distribution)).
///
/// # Shapes
/// `loc` and `scale` broadcast together to the value shape; no event dimensions.
///
/// # Errors
/// [`Laplace::new`] rejects a non-finite `loc` and a `scale` that is not finite and > 0.
#[derive(Debug, Clone)]
pub struct Laplace<B: Backend, const D: usize> {
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Laplace<B, D> {
    /// A validated Laplace distribution.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`]
    /// if the shapes do not broadcast.
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        check_param("Laplace", "loc", &loc, "must be finite", finite)?;
        check_param("Laplace", "scale", &scale, "must be finite and > 0", positive)?;
        Self::build(loc, scale)
    }

    /// A Laplace distribution without the (host-synchronising) parameter checks.
    ///
    /// # Panics
    /// If the shapes of `loc` and `scale` do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        Self::build(loc, scale).expect("Laplace::new_unchecked: shapes of loc and scale do not broadcast")
    }

    fn build(loc: Tensor<B, D>, scale: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Laplace", "loc and scale", &[loc.dims(), scale.dims()])?;
        Ok(Laplace { loc, scale, shape })
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

impl<B: Backend, const D: usize> Distribution<B, D> for Laplace<B, D> {
    dist_common!("Laplace", event_dims = 0, support = Constraint::Real, device = loc);
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        (value - loc).abs().div(scale.clone()).neg() - (scale * 2.0).log()
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let eps = noise::from_open_uniform::<B, D>(
            shape,
            rng,
            &self.device(),
            |u| {
                let v = u - 0.5;
                -v.signum() * (1.0 - 2.0 * v.abs()).ln()
            },
            |u| {
                let v = u - 0.5;
                v.clone().sign().neg() * (v.abs() * -2.0 + 1.0).log()
            },
        );
        Ok(self.loc.clone() + self.scale.clone() * eps)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        let _ = (&loc, &scale);
        Some((loc).expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        let _ = &scale;
        Some((scale.powi_scalar(2) * 2.0).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        Some(((scale * 2.0).log() + 1.0).expand(self.shape))
    }
}
