//! The normal (Gaussian) distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::kernels::{normal_log_prob_composed, normal_log_prob_fixed_scale_composed};
use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, finite, positive, resolve2, scalar_of, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

use crate::special::HALF_LN_2PI;

/// Normal distribution `N(loc, scale²)`:
/// `ln p(x) = −½((x − μ)/σ)² − ln σ − ½ ln 2π`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Normal_distribution)).
///
/// # Shapes
/// `loc` and `scale` broadcast together to the value shape; no event dimensions.
///
/// # Example
/// ```
/// use burn::backend::NdArray;
/// use burn::tensor::Tensor;
/// use ppl_dist::{Distribution, Normal, RngKey};
/// let dev = Default::default();
/// let loc = Tensor::<NdArray<f32>, 2>::full([1, 2], 0.1, &dev);
/// let d = Normal::new(loc, 1.0).unwrap();
/// let z = d.sample_n(5, &mut RngKey::new(0)).unwrap();   // [5, 2]
/// assert_eq!(d.log_prob(z).dims(), [5, 2]);
/// assert!(Normal::<NdArray<f32>, 1>::new(0.0, -1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Normal<B: Backend, const D: usize> {
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    /// `Some(σ)` when the scale was given as one number (`Normal::new(loc, 1.0)`): the density
    /// then takes 4 elementwise passes instead of 6 (a constant scale needs no tensor ops).
    scale_const: Option<f64>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Normal<B, D> {
    /// A normal distribution; `scale` must be finite and > 0, `loc` finite.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`]
    /// if the shapes do not broadcast.
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        Self::new_as("Normal", loc, scale)
    }

    /// [`Normal::new`] with errors reported under `dist`, for distributions built on a normal
    /// (LogNormal, LogitNormal, MultivariateNormalDiag).
    pub(crate) fn new_as(
        dist: &'static str,
        loc: impl Into<ParamArg<B, D>>,
        scale: impl Into<ParamArg<B, D>>,
    ) -> Result<Self, DistError> {
        let (loc, scale) = (loc.into(), scale.into());
        let scale_const = scalar_of(&scale);
        let (loc, scale) = resolve2(loc, scale);
        check_param(dist, "loc", &loc, "must be finite", finite)?;
        check_param(dist, "scale", &scale, "must be finite and > 0", positive)?;
        Self::build(loc, scale, scale_const)
    }

    /// A normal distribution without the (host-synchronising) parameter checks.
    ///
    /// # Panics
    /// If the shapes of `loc` and `scale` do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        let (loc, scale) = (loc.into(), scale.into());
        let scale_const = scalar_of(&scale);
        let (loc, scale) = resolve2(loc, scale);
        Self::build(loc, scale, scale_const).expect("Normal::new_unchecked: shapes of loc and scale do not broadcast")
    }

    fn build(loc: Tensor<B, D>, scale: Tensor<B, D>, scale_const: Option<f64>) -> Result<Self, DistError> {
        let shape = broadcast_params("Normal", "loc and scale", &[loc.dims(), scale.dims()])?;
        Ok(Normal {
            loc,
            scale,
            scale_const,
            shape,
        })
    }

    /// The mean parameter.
    pub fn loc(&self) -> &Tensor<B, D> {
        &self.loc
    }

    /// The standard-deviation parameter.
    pub fn scale(&self) -> &Tensor<B, D> {
        &self.scale
    }

    /// The scale when it was given as one number (`Normal::new(loc, 1.0)`).
    pub(crate) fn scale_const(&self) -> Option<f64> {
        self.scale_const
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Normal<B, D> {
    dist_common!("Normal", event_dims = 0, support = Constraint::Real, device = loc);
    sample_via_rsample!();
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        // The formulas live with the fused kernels (`Svi` scores through them), so both
        // paths compute the same numbers.
        match self.scale_const {
            Some(s) => normal_log_prob_fixed_scale_composed(value, self.loc.clone(), s),
            None => normal_log_prob_composed(value, self.loc.clone(), self.scale.clone()),
        }
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let eps = noise::normal::<B, D>(shape, rng, &self.device());
        Ok(match self.scale_const {
            Some(s) => self.loc.clone() + eps * s,
            None => self.loc.clone() + self.scale.clone() * eps,
        })
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.loc.clone().expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.scale.clone().powi_scalar(2).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some((self.scale.clone().log() + 0.5 + HALF_LN_2PI).expand(self.shape))
    }
}
