//! The beta-binomial distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::param::{
    broadcast_params, check_param, check_param_each, expand_value, host_values, positive, upload, ParamArg,
};
use crate::special::log_beta;
use crate::{Constraint, DistError, Distribution, RngKey};

/// Beta-binomial distribution: `n` Bernoulli trials whose success probability is drawn once
/// from `Beta(α, β)`:
/// `ln p(k) = ln C(n, k) + ln B(k + α, n − k + β) − ln B(α, β)` for `k ∈ {0, …, n}`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Beta-binomial_distribution)).
///
/// Sampling is on the host (a Beta draw, then a binomial draw); a discrete distribution has
/// no `rsample`.
///
/// # Shapes
/// `total_count`, `concentration1` (α) and `concentration0` (β) broadcast to the value shape.
#[derive(Debug, Clone)]
pub struct BetaBinomial<B: Backend, const D: usize> {
    total_count: Tensor<B, D>,
    concentration1: Tensor<B, D>,
    concentration0: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> BetaBinomial<B, D> {
    /// A validated beta-binomial distribution (`total_count` a non-negative integer, both
    /// concentrations finite and > 0).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming the parameter; [`DistError::ShapeMismatch`].
    pub fn new(
        total_count: impl Into<ParamArg<B, D>>,
        concentration1: impl Into<ParamArg<B, D>>,
        concentration0: impl Into<ParamArg<B, D>>,
    ) -> Result<Self, DistError> {
        let a = concentration1.into().into_tensor(&Default::default());
        let device = a.device();
        let n = total_count.into().into_tensor(&device);
        let b = concentration0.into().into_tensor(&device);
        check_param_each(
            "BetaBinomial",
            "total_count",
            &n,
            "must be a non-negative integer",
            |v| v.is_finite() && v >= 0.0 && v.fract() == 0.0,
        )?;
        check_param("BetaBinomial", "concentration1", &a, "must be finite and > 0", positive)?;
        check_param("BetaBinomial", "concentration0", &b, "must be finite and > 0", positive)?;
        Self::build(n, a, b)
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(
        total_count: impl Into<ParamArg<B, D>>,
        concentration1: impl Into<ParamArg<B, D>>,
        concentration0: impl Into<ParamArg<B, D>>,
    ) -> Self {
        let a = concentration1.into().into_tensor(&Default::default());
        let device = a.device();
        let n = total_count.into().into_tensor(&device);
        let b = concentration0.into().into_tensor(&device);
        Self::build(n, a, b).expect("BetaBinomial::new_unchecked: shapes do not broadcast")
    }

    fn build(n: Tensor<B, D>, a: Tensor<B, D>, b: Tensor<B, D>) -> Result<Self, DistError> {
        let shape = broadcast_params(
            "BetaBinomial",
            "total_count, concentration1 and concentration0",
            &[n.dims(), a.dims(), b.dims()],
        )?;
        Ok(BetaBinomial {
            total_count: n,
            concentration1: a,
            concentration0: b,
            shape,
        })
    }

    /// The number of trials n.
    pub fn total_count(&self) -> &Tensor<B, D> {
        &self.total_count
    }

    /// α, the Beta's first concentration.
    pub fn concentration1(&self) -> &Tensor<B, D> {
        &self.concentration1
    }

    /// β, the Beta's second concentration.
    pub fn concentration0(&self) -> &Tensor<B, D> {
        &self.concentration0
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for BetaBinomial<B, D> {
    dist_common!(
        "BetaBinomial",
        event_dims = 0,
        support = Constraint::IntegerInterval,
        device = total_count
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let value = expand_value("BetaBinomial", value, self.shape);
        let (n, a, b) = (
            self.total_count.clone(),
            self.concentration1.clone(),
            self.concentration0.clone(),
        );
        let (k, inside, log_choose) = crate::binomial::counts_of(value, n.clone());
        let lp = log_choose + log_beta(k.clone() + a.clone(), n - k + b.clone()) - log_beta(a, b);
        mask_outside(lp, inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let n = host_values(&self.total_count.clone().expand(shape));
        let a = host_values(&self.concentration1.clone().expand(shape));
        let b = host_values(&self.concentration0.clone().expand(shape));
        let draws = (0..n.len())
            .map(|i| {
                let ga = rng.standard_gamma(a[i]);
                let gb = rng.standard_gamma(b[i]);
                let p = if ga + gb > 0.0 { ga / (ga + gb) } else { 0.5 };
                rng.binomial(n[i] as u64, p)
            })
            .collect();
        upload(draws, shape, &self.device())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let (a, b) = (self.concentration1.clone(), self.concentration0.clone());
        Some((self.total_count.clone() * a.clone() / (a + b)).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        // n α β (α + β + n) / ((α + β)² (α + β + 1))
        let (n, a, b) = (
            self.total_count.clone(),
            self.concentration1.clone(),
            self.concentration0.clone(),
        );
        let s = a.clone() + b.clone();
        let v = n.clone() * a * b * (s.clone() + n) / (s.clone().powi_scalar(2) * (s + 1.0));
        Some(v.expand(self.shape))
    }
}
