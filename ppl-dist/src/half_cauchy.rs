//! The half-Cauchy distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{check_param, positive, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Half-Cauchy distribution, `|Cauchy(0, scale)|`, the usual weakly informative prior on a
/// group-level standard deviation (Gelman 2006; the `tau` of eight schools):
/// `ln p(x) = ln 2 − ln π − ln σ − ln(1 + (x/σ)²)` for `x ≥ 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Cauchy_distribution#Related_distributions)).
/// It has no mean and no variance (`mean()`/`variance()` are `None`); its entropy is
/// `ln(2πσ)`.
///
/// # Shapes
/// The value shape is the shape of `scale`.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use ppl_dist::{Distribution, HalfCauchy, RngKey};
/// let d = HalfCauchy::<NdArray<f64>, 1>::new(5.0).unwrap();
/// let tau = d.sample_n(1000, &mut RngKey::new(0)).unwrap();   // [1000]
/// assert!(ppl_dist::param::host_values(&tau).iter().all(|&t| t >= 0.0));
/// assert!(HalfCauchy::<NdArray<f64>, 1>::new(-1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct HalfCauchy<B: Backend, const D: usize> {
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> HalfCauchy<B, D> {
    /// A validated half-Cauchy distribution (`scale` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `scale`.
    pub fn new(scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let scale = scale.into().into_tensor(&Default::default());
        check_param("HalfCauchy", "scale", &scale, "must be finite and > 0", positive)?;
        Ok(Self::new_unchecked(scale))
    }

    /// Without parameter checks.
    pub fn new_unchecked(scale: impl Into<ParamArg<B, D>>) -> Self {
        let scale = scale.into().into_tensor(&Default::default());
        let shape = scale.dims();
        HalfCauchy { scale, shape }
    }

    /// The scale parameter.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for HalfCauchy<B, D> {
    dist_common!(
        "HalfCauchy",
        event_dims = 0,
        support = Constraint::NonNegative,
        device = scale
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        // The formula lives with the fused kernel (`Svi` scores through it).
        crate::kernels::half_cauchy_log_prob_composed(value, self.scale.clone())
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        // σ·tan(πu/2), u ~ U(0, 1): the inverse of the CDF (2/π)·atan(x/σ).
        let eps = noise::from_open_uniform::<B, D>(
            shape,
            rng,
            &self.device(),
            |u| (std::f64::consts::FRAC_PI_2 * u).tan(),
            |u| (u * std::f64::consts::FRAC_PI_2).tan(),
        );
        Ok(self.scale.clone() * eps)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        None
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        // F(x) = (2/π)·atan(x/γ) = 1/2  ⇒  x = γ.
        Some(self.scale.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        None
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some((self.scale.clone() * (2.0 * std::f64::consts::PI)).log())
    }
}
