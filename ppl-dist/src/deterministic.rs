//! The deterministic (Delta) distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::dist_common;
use crate::{Constraint, DistError, Distribution, RngKey};

/// A point mass at `value` (Pyro's `Delta`): `ln p(x) = 0` where `x = value`, −∞ elsewhere.
/// `rsample` returns `value` itself, so gradients flow to it (used by MAP guides).
#[derive(Debug, Clone)]
pub struct Deterministic<B: Backend, const D: usize> {
    value: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Deterministic<B, D> {
    /// A point mass at `value` (any values, no checks needed).
    pub fn new(value: Tensor<B, D>) -> Self {
        let shape = value.dims();
        Deterministic { value, shape }
    }

    /// The point.
    pub fn value(&self) -> &Tensor<B, D> {
        &self.value
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Deterministic<B, D> {
    dist_common!(
        "Deterministic",
        event_dims = 0,
        support = Constraint::Singleton,
        device = value
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let value = crate::param::expand_value("Deterministic", value, self.shape);
        let same = value.clone().equal(self.value.clone().expand(value.dims()));
        value.zeros_like().mask_fill(same.bool_not(), f64::NEG_INFINITY)
    }
    fn sample_expanded(&self, shape: [usize; D], _rng: &mut RngKey) -> Tensor<B, D> {
        self.value.clone().detach().expand(shape)
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn rsample_expanded(&self, shape: [usize; D], _rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(self.value.clone().expand(shape))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.value.clone())
    }
    fn median(&self) -> Option<Tensor<B, D>> {
        Some(self.value.clone())
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        Some(self.value.zeros_like())
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(self.value.zeros_like())
    }
}
