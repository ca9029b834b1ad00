//! The chi-squared distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::param::{check_param, positive, ParamArg};
use crate::{Constraint, DistError, Distribution, Gamma, RngKey};

/// Chi-squared distribution with `df` degrees of freedom ν: `Gamma(ν/2, rate ½)`,
/// `ln p(x) = (ν/2 − 1) ln x − x/2 − (ν/2) ln 2 − lnΓ(ν/2)` for `x ≥ 0`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Chi-squared_distribution)).
///
/// # Gradients
/// As [`Gamma`]'s: `rsample` is pathwise in `df` by implicit reparameterization.
///
/// # Shapes
/// The value shape is the shape of `df`.
#[derive(Debug, Clone)]
pub struct Chi2<B: Backend, const D: usize> {
    df: Tensor<B, D>,
    gamma: Gamma<B, D>,
}

impl<B: Backend, const D: usize> Chi2<B, D> {
    /// A validated chi-squared distribution (`df` finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `df`.
    pub fn new(df: impl Into<ParamArg<B, D>>) -> Result<Self, DistError> {
        let df = df.into().into_tensor(&Default::default());
        check_param("Chi2", "df", &df, "must be finite and > 0", positive)?;
        Ok(Self::new_unchecked(df))
    }

    /// Without parameter checks.
    pub fn new_unchecked(df: impl Into<ParamArg<B, D>>) -> Self {
        let df = df.into().into_tensor(&Default::default());
        let gamma = Gamma::new_unchecked(df.clone() / 2.0, 0.5);
        Chi2 { df, gamma }
    }

    /// The degrees of freedom ν.
    pub fn df(&self) -> &Tensor<B, D> {
        &self.df
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Chi2<B, D> {
    fn name(&self) -> &'static str {
        "Chi2"
    }
    fn value_shape(&self) -> [usize; D] {
        self.gamma.value_shape()
    }
    fn event_dims(&self) -> usize {
        0
    }
    fn support(&self) -> Constraint {
        Constraint::NonNegative
    }
    fn device(&self) -> B::Device {
        self.df.device()
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        self.gamma.log_prob(value)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        self.gamma.sample_expanded(shape, rng)
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        self.gamma.rsample_expanded(shape, rng)
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.df.clone())
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.df.clone() * 2.0)
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        self.gamma.entropy()
    }
}
