//! The Dirichlet distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::macros::{dist_common, sample_via_rsample};
use crate::param::{check_param, positive};
use crate::special::{digamma, lgamma, xlogy};
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Dirichlet distribution over the simplex, with `concentration` α (last dimension = K):
/// `ln p(x) = Σᵢ (αᵢ − 1) ln xᵢ + lnΓ(Σα) − Σ lnΓ(αᵢ)`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Dirichlet_distribution)).
///
/// # Shapes
/// `concentration`: `[batch…, K]`; value `[batch…, K]`; `log_prob` `[batch…, 1]`.
/// A value is inside the support when every entry is in `[0, 1]` and the entries sum to 1
/// within `1e−4` (f32 rounding).
///
/// # Gradients
/// `rsample` normalises implicitly reparameterized Gamma draws in log space.
#[derive(Debug, Clone)]
pub struct Dirichlet<B: Backend, const D: usize> {
    concentration: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Dirichlet<B, D> {
    /// A validated Dirichlet distribution (every concentration finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `concentration`.
    pub fn new(concentration: Tensor<B, D>) -> Result<Self, DistError> {
        check_param(
            "Dirichlet",
            "concentration",
            &concentration,
            "must be finite and > 0",
            positive,
        )?;
        Ok(Self::new_unchecked(concentration))
    }

    /// Without parameter checks.
    pub fn new_unchecked(concentration: Tensor<B, D>) -> Self {
        let shape = concentration.dims();
        Dirichlet { concentration, shape }
    }

    /// The concentration α.
    pub fn concentration(&self) -> &Tensor<B, D> {
        &self.concentration
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Dirichlet<B, D> {
    dist_common!(
        "Dirichlet",
        event_dims = 1,
        support = Constraint::Simplex,
        device = concentration
    );
    sample_via_rsample!();

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let a = self.concentration.clone();
        let last = D - 1;
        let in_unit = value
            .clone()
            .greater_equal_elem(0.0)
            .bool_and(value.clone().lower_equal_elem(1.0));
        let k = value.dims()[last] as f64;
        let all_in = crate::param::mask_to_float(in_unit).sum_dim(last).equal_elem(k);
        let sums_to_one = (value.clone().sum_dim(last) - 1.0).abs().lower_equal_elem(1e-4);
        let x = value.clamp(0.0, 1.0);
        let lp = xlogy(a.clone() - 1.0, x).sum_dim(last) + lgamma(a.clone().sum_dim(last)) - lgamma(a).sum_dim(last);
        crate::constraint::mask_outside(lp, all_in.bool_and(sums_to_one))
    }
    fn rsample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Result<Tensor<B, D>, DistError> {
        Ok(noise::simplex_rsample(self.concentration.clone(), shape, rng))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone();
        Some(a.clone() / a.sum_dim(D - 1))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone();
        let a0 = a.clone().sum_dim(D - 1);
        Some(a.clone() * (a0.clone() - a) / (a0.clone().powi_scalar(2) * (a0 + 1.0)))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        let a = self.concentration.clone();
        let k = a.dims()[D - 1] as f64;
        let a0 = a.clone().sum_dim(D - 1);
        let log_b = lgamma(a.clone()).sum_dim(D - 1) - lgamma(a0.clone());
        Some(log_b + (a0.clone() - k) * digamma(a0) - ((a.clone() - 1.0) * digamma(a)).sum_dim(D - 1))
    }
}
