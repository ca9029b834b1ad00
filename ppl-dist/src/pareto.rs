//! The Pareto distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, positive, resolve2, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Pareto (type I) distribution with `scale` x_m and tail index `alpha` α:
/// `ln p(x) = ln α + α ln x_m − (α + 1) ln x` for `x ≥ x_m`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Pareto_distribution)).
///
/// The support starts at the `scale` parameter, so [`Distribution::support`] is
/// [`Constraint::Dependent`]; values below `scale` score −∞.
///
/// # Gradients
/// `rsample` is `x_m · e^{E/α}` with `E ~ Exp(1)`: pathwise in both parameters.
///
/// # Shapes
/// `scale` and `alpha` broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct Pareto<B: Backend, const D: usize> {
    scale: Tensor<B, D>,
    alpha: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Pareto<B, D> {
    /// A validated Pareto distribution (both parameters finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `scale` or `alpha`; [`DistError::ShapeMismatch`].
    pub fn new(scale: impl Into<ParamArg<B, D>>, alpha: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (s, a) = resolve2(scale.into(), alpha.into());
        check_param("Pareto", "scale", &s, "must be finite and > 0", positive)?;
        check_param("Pareto", "alpha", &a, "must be finite and > 0", positive)?;
        Self::build(s, a)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(scale: impl Into<ParamArg<B, D>>, alpha: impl Into<ParamArg<B, D>>) -> Self {
        let (s, a) = resolve2(scale.into(), alpha.into());
        Self::build(s, a).expect("Pareto::new_unchecked: shapes do not broadcast")
    }

    fn build(scale: Tensor<B, D>, alpha: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Pareto", "scale and alpha", &[scale.dims(), alpha.dims()])?;
        Ok(Pareto { scale, alpha, shape })
    }

    /// The scale x_m (the smallest value).
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }

    /// The tail index α.
    pub fn alpha(&self) -> &Tensor<B, D> {
        &self.alpha
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Pareto<B, D> {
    dist_common!(
        "Pareto",
        event_dims = 0,
        support = Constraint::Dependent,
        device = scale
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (s, a) = (self.scale.clone(), self.alpha.clone());
        let inside = value.clone().greater_equal(s.clone().expand(value.dims()));
        let x = value.mask_where(inside.clone().bool_not(), s.clone().expand(inside.dims()));
        let lp = a.clone().log() + a.clone() * s.log() - (a + 1.0) * x.log();
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let e = noise::from_open_uniform::<B, D>(shape, rng, &self.device(), |u| -u.ln(), |u| u.log().neg());
        Ok((e / self.alpha.clone()).exp() * self.scale.clone())
    }
    /// `α x_m / (α − 1)` for α > 1, +∞ otherwise.
    fn mean(&self) -> Option<Tensor<B, D>> {
        let a = self.alpha.clone();
        let m = a.clone() * self.scale.clone() / (a.clone() - 1.0);
        Some(m.mask_fill(a.lower_equal_elem(1.0), f64::INFINITY).expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        let inv_a = crate::param::recip(self.alpha.clone());
        Some(((inv_a * std::f64::consts::LN_2).exp() * self.scale.clone()).expand(self.shape))
    }
    /// `x_m² α / ((α − 1)² (α − 2))` for α > 2, +∞ otherwise.
    fn variance(&self) -> Option<Tensor<B, D>> {
        let a = self.alpha.clone();
        let v = self.scale.clone().powi_scalar(2) * a.clone() / ((a.clone() - 1.0).powi_scalar(2) * (a.clone() - 2.0));
        Some(v.mask_fill(a.lower_equal_elem(2.0), f64::INFINITY).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        // ln(x_m/α) + 1/α + 1
        let a = self.alpha.clone();
        Some(((self.scale.clone() / a.clone()).log() + crate::param::recip(a) + 1.0).expand(self.shape))
    }
}
