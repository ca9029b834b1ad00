//! Student's t distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, finite, positive, ParamArg};
use crate::special::{digamma, lgamma, log_beta};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Student's t distribution with `df` ν, `loc` μ, `scale` σ: with `z = (x − μ)/σ`,
/// `ln p(x) = lnΓ((ν+1)/2) − lnΓ(ν/2) − ½ ln(νπ) − ln σ − (ν+1)/2 · ln(1 + z²/ν)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Student%27s_t-distribution)).
///
/// `mean` is NaN where ν ≤ 1; `variance` is +∞ for 1 < ν ≤ 2 and NaN for ν ≤ 1.
///
/// # Gradients
/// `rsample = μ + σ·Z·√(ν / (2G))`, `G ~ Gamma(ν/2)` implicitly reparameterized, so
/// gradients reach `df` too.
#[derive(Debug, Clone)]
pub struct StudentT<B: Backend, const D: usize> {
    df: Tensor<B, D>,
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> StudentT<B, D> {
    /// A validated Student's t distribution (`df`, `scale` finite and > 0; `loc` finite).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `df`, `loc` or `scale`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(
        df: impl Into<ParamArg<B, D>>,
        loc: impl Into<ParamArg<B, D>>,
        scale: impl Into<ParamArg<B, D>>,
    ) -> Result<Self, DistError> {
        let d = Self::resolve(df.into(), loc.into(), scale.into())?;
        check_param("StudentT", "df", &d.df, "must be finite and > 0", positive)?;
        check_param("StudentT", "loc", &d.loc, "must be finite", finite)?;
        check_param("StudentT", "scale", &d.scale, "must be finite and > 0", positive)?;
        Ok(d)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(
        df: impl Into<ParamArg<B, D>>,
        loc: impl Into<ParamArg<B, D>>,
        scale: impl Into<ParamArg<B, D>>,
    ) -> Self {
        Self::resolve(df.into(), loc.into(), scale.into()).expect("StudentT::new_unchecked: shapes do not broadcast")
    }

    fn resolve(df: ParamArg<B, D>, loc: ParamArg<B, D>, scale: ParamArg<B, D>) -> Result<Self, DistError> {
        let dev = crate::param::common_device(&[&df, &loc, &scale]);
        let (df, loc, scale) = (df.into_tensor(&dev), loc.into_tensor(&dev), scale.into_tensor(&dev));
        let shape = broadcast_params("StudentT", "df, loc and scale", &[df.dims(), loc.dims(), scale.dims()])?;
        Ok(StudentT { df, loc, scale, shape })
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for StudentT<B, D> {
    dist_common!("StudentT", event_dims = 0, support = Constraint::Real, device = loc);
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let nu = self.df.clone();
        let z = (value - self.loc.clone()) / self.scale.clone();
        let half_nu1 = (nu.clone() + 1.0) / 2.0;
        lgamma(half_nu1.clone())
            - lgamma(nu.clone() / 2.0)
            - (nu.clone() * std::f64::consts::PI).log() / 2.0
            - self.scale.clone().log()
            - half_nu1 * crate::special::log1p_square(z / nu.sqrt())
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let dev = self.device();
        let z = noise::normal::<B, D>(shape, rng, &dev);
        let g = noise::standard_gamma_rsample(self.df.clone() / 2.0, shape, rng);
        let t = z * (self.df.clone() / (g * 2.0)).sqrt();
        Ok(self.loc.clone() + self.scale.clone() * t)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let nu = self.df.clone().expand(self.shape);
        Some(
            self.loc
                .clone()
                .expand(self.shape)
                .mask_fill(nu.lower_equal_elem(1.0), f64::NAN),
        )
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let nu = self.df.clone().expand(self.shape);
        let v = self.scale.clone().powi_scalar(2) * nu.clone() / (nu.clone() - 2.0);
        let v = v.mask_fill(nu.clone().lower_equal_elem(2.0), f64::INFINITY);
        Some(v.mask_fill(nu.lower_equal_elem(1.0), f64::NAN))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let nu = self.df.clone();
        let half = nu.clone().zeros_like() + 0.5;
        let h = (nu.clone() + 1.0) / 2.0 * (digamma((nu.clone() + 1.0) / 2.0) - digamma(nu.clone() / 2.0))
            + nu.clone().log() / 2.0
            + log_beta(nu / 2.0, half)
            + self.scale.clone().log();
        Some(h.expand(self.shape))
    }
}
