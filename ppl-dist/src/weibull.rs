//! The Weibull distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, positive, resolve2, ParamArg};
use crate::special::{lgamma, xlogy};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Weibull distribution with `scale` λ and shape `concentration` k:
/// `ln p(x) = ln k − ln λ + (k − 1) ln(x/λ) − (x/λ)^k` for `x ≥ 0` (at `x = 0`: +∞ for
/// k < 1, `−ln λ` for k = 1, −∞ for k > 1, as in statrs)
/// ([Wikipedia](https://en.wikipedia.org/wiki/Weibull_distribution)).
///
/// # Gradients
/// `rsample` is `λ · E^{1/k}` with `E ~ Exp(1)`: pathwise in both parameters.
///
/// # Shapes
/// `scale` and `concentration` broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct Weibull<B: Backend, const D: usize> {
    scale: Tensor<B, D>,
    concentration: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Weibull<B, D> {
    /// A validated Weibull distribution (both parameters finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `scale` or `concentration`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(scale: impl Into<ParamArg<B, D>>, concentration: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (s, k) = resolve2(scale.into(), concentration.into());
        check_param("Weibull", "scale", &s, "must be finite and > 0", positive)?;
        check_param("Weibull", "concentration", &k, "must be finite and > 0", positive)?;
        Self::build(s, k)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(scale: impl Into<ParamArg<B, D>>, concentration: impl Into<ParamArg<B, D>>) -> Self {
        let (s, k) = resolve2(scale.into(), concentration.into());
        Self::build(s, k).expect("Weibull::new_unchecked: shapes do not broadcast")
    }

    fn build(scale: Tensor<B, D>, concentration: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params(
            "Weibull",
            "scale and concentration",
            &[scale.dims(), concentration.dims()],
        )?;
        Ok(Weibull {
            scale,
            concentration,
            shape,
        })
    }

    /// The scale λ.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }

    /// The shape parameter k.
    pub fn concentration(&self) -> &Tensor<B, D> {
        &self.concentration
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Weibull<B, D> {
    dist_common!(
        "Weibull",
        event_dims = 0,
        support = Constraint::NonNegative,
        device = scale
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (l, k) = (self.scale.clone(), self.concentration.clone());
        let inside = value.clone().greater_equal_elem(0.0);
        let z = value.mask_fill(inside.clone().bool_not(), 1.0) / l.clone();
        // (x/λ)^k as exp(k ln(x/λ)), which is 0 at x = 0
        let zk = (k.clone() * z.clone().log()).exp();
        let lp = k.clone().log() - l.log() + xlogy(k - 1.0, z) - zk;
        mask_outside(lp, inside)
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        // ln E for E ~ Exp(1), then λ·exp(ln E / k)
        let log_e =
            noise::from_open_uniform::<B, D>(shape, rng, &self.device(), |u| (-u.ln()).ln(), |u| u.log().neg().log());
        Ok((log_e / self.concentration.clone()).exp() * self.scale.clone())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let inv_k = crate::param::recip(self.concentration.clone());
        Some((lgamma(inv_k + 1.0).exp() * self.scale.clone()).expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        let inv_k = crate::param::recip(self.concentration.clone());
        Some(((inv_k * std::f64::consts::LN_2.ln()).exp() * self.scale.clone()).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let inv_k = crate::param::recip(self.concentration.clone());
        let g1 = lgamma(inv_k.clone() + 1.0).exp();
        let g2 = lgamma(inv_k * 2.0 + 1.0).exp();
        Some(((g2 - g1.powi_scalar(2)) * self.scale.clone().powi_scalar(2)).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        // γ(1 − 1/k) + ln(λ/k) + 1
        const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
        let k = self.concentration.clone();
        let h = (crate::param::recip(k.clone()).neg() + 1.0) * EULER_GAMMA + (self.scale.clone() / k).log() + 1.0;
        Some(h.expand(self.shape))
    }
}
