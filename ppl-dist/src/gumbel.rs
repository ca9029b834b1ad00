//! The Gumbel distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{broadcast_params, check_param, finite, positive, resolve2, ParamArg};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// The Euler–Mascheroni constant γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Gumbel (type-I extreme value) distribution: with `z = (x − μ)/β`,
/// `ln p(x) = −ln β − z − e^(−z)` ([Wikipedia](https://en.wikipedia.org/wiki/Gumbel_distribution)).
///
/// # Shapes
/// `loc` and `scale` broadcast together to the value shape; no event dimensions.
///
/// # Errors
/// [`Gumbel::new`] rejects a non-finite `loc` and a `scale` that is not finite and > 0.
#[derive(Debug, Clone)]
pub struct Gumbel<B: Backend, const D: usize> {
    loc: Tensor<B, D>,
    scale: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Gumbel<B, D> {
    /// A validated Gumbel distribution.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `loc` or `scale`; [`DistError::ShapeMismatch`]
    /// if the shapes do not broadcast.
    pub fn new(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        check_param("Gumbel", "loc", &loc, "must be finite", finite)?;
        check_param("Gumbel", "scale", &scale, "must be finite and > 0", positive)?;
        Self::build(loc, scale)
    }

    /// A Gumbel distribution without the (host-synchronising) parameter checks.
    ///
    /// # Panics
    /// If the shapes of `loc` and `scale` do not broadcast.
    pub fn new_unchecked(loc: impl Into<ParamArg<B, D>>, scale: impl Into<ParamArg<B, D>>) -> Self {
        let (loc, scale) = resolve2(loc.into(), scale.into());
        Self::build(loc, scale).expect("Gumbel::new_unchecked: shapes of loc and scale do not broadcast")
    }

    fn build(loc: Tensor<B, D>, scale: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params("Gumbel", "loc and scale", &[loc.dims(), scale.dims()])?;
        Ok(Gumbel { loc, scale, shape })
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

impl<B: Backend, const D: usize> Distribution<B, D> for Gumbel<B, D> {
    dist_common!("Gumbel", event_dims = 0, support = Constraint::Real, device = loc);
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        let z = (value - loc) / scale.clone();
        z.clone().neg() - z.neg().exp() - scale.log()
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        let eps = noise::from_open_uniform::<B, D>(
            shape,
            rng,
            &self.device(),
            |u| -(-u.ln()).ln(),
            |u| u.log().neg().log().neg(),
        );
        Ok(self.loc.clone() + self.scale.clone() * eps)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let (loc, scale) = (self.loc.clone(), self.scale.clone());
        let _ = (&loc, &scale);
        Some((loc + scale * EULER_GAMMA).expand(self.shape))
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        // F(x) = exp(−exp(−(x − μ)/β)) = 1/2  ⇒  x = μ − β·ln(ln 2).
        let ln_ln_2 = std::f64::consts::LN_2.ln();
        Some((self.loc.clone() - self.scale.clone() * ln_ln_2).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        let _ = &scale;
        Some((scale.powi_scalar(2) * (std::f64::consts::PI.powi(2) / 6.0)).expand(self.shape))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let scale = self.scale.clone();
        Some((scale.log() + (1.0 + EULER_GAMMA)).expand(self.shape))
    }
}
