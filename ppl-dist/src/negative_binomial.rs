//! The negative binomial distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::param::{broadcast_params, check_param, host_values, positive, upload, ParamArg};
use crate::probs::BinaryParam;
use crate::special::lgamma;
use crate::{Constraint, DistError, Distribution, RngKey};

/// Negative binomial distribution (Pyro/torch convention): the number of successes, each
/// with probability `p`, before `total_count` = r failures:
/// `ln p(k) = lnΓ(k + r) − lnΓ(k + 1) − lnΓ(r) + r ln(1 − p) + k ln p`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Negative_binomial_distribution)).
/// `r` may be any positive real (a Gamma–Poisson mixture).
#[derive(Debug, Clone)]
pub struct NegativeBinomial<B: Backend, const D: usize> {
    total_count: Tensor<B, D>,
    param: BinaryParam<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> NegativeBinomial<B, D> {
    /// From `total_count` r > 0 and `probs` in `[0, 1)`.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `total_count` or `probs`;
    /// [`DistError::ShapeMismatch`].
    pub fn new(total_count: impl Into<ParamArg<B, D>>, probs: Tensor<B, D>) -> Result<Self, DistError> {
        check_param("NegativeBinomial", "probs", &probs, "must be in [0, 1)", |v| {
            (0.0..1.0).contains(&v)
        })?;
        Self::checked(total_count.into(), BinaryParam::Probs(probs))
    }

    /// From `total_count` r > 0 and `logits`.
    ///
    /// # Errors
    /// As [`NegativeBinomial::new`], naming `logits`.
    pub fn from_logits(total_count: impl Into<ParamArg<B, D>>, logits: Tensor<B, D>) -> Result<Self, DistError> {
        Self::checked(total_count.into(), BinaryParam::Logits(logits))
    }

    /// Without parameter checks.
    ///
    /// # Panics
    /// If the shapes do not broadcast.
    pub fn new_unchecked(total_count: impl Into<ParamArg<B, D>>, param: BinaryParam<B, D>) -> Self {
        let r = total_count.into().into_tensor(&param.device());
        let shape = broadcast_params(
            "NegativeBinomial",
            "total_count and probs",
            &[r.dims(), param.tensor().dims()],
        )
        .expect("NegativeBinomial::new_unchecked: shapes do not broadcast");
        NegativeBinomial {
            total_count: r,
            param,
            shape,
        }
    }

    fn checked(total_count: ParamArg<B, D>, param: BinaryParam<B, D>) -> Result<Self, DistError> {
        let r = total_count.into_tensor(&param.device());
        check_param(
            "NegativeBinomial",
            "total_count",
            &r,
            "must be finite and > 0",
            positive,
        )?;
        param.validate("NegativeBinomial")?;
        let shape = broadcast_params(
            "NegativeBinomial",
            "total_count and probs",
            &[r.dims(), param.tensor().dims()],
        )?;
        Ok(NegativeBinomial {
            total_count: r,
            param,
            shape,
        })
    }

    /// The success probability.
    pub fn probs(&self) -> Tensor<B, D> {
        self.param.probs()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for NegativeBinomial<B, D> {
    dist_common!(
        "NegativeBinomial",
        event_dims = 0,
        support = Constraint::NonNegativeInteger,
        device = total_count
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let r = self.total_count.clone();
        let inside = Constraint::NonNegativeInteger
            .check(value.clone())
            .expect("integer check");
        let k = value.mask_fill(inside.clone().bool_not(), 0.0);
        let log_choose = lgamma(k.clone() + r.clone()) - lgamma(k.clone() + 1.0) - lgamma(r.clone());
        mask_outside(log_choose + self.param.weighted_log(k, r), inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        // Gamma–Poisson mixture: λ ~ Gamma(r, rate (1 − p)/p), k ~ Poisson(λ).
        let r = host_values(&self.total_count.clone().expand(shape));
        let p = host_values(&self.probs().expand(shape));
        let draws = r
            .iter()
            .zip(&p)
            .map(|(&r, &p)| {
                let lambda = rng.standard_gamma(r) * p / (1.0 - p);
                rng.poisson(lambda)
            })
            .collect();
        upload(draws, shape, &self.device())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some((self.total_count.clone() * p.clone() / (p.neg() + 1.0)).expand(self.shape))
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some((self.total_count.clone() * p.clone() / (p.neg() + 1.0).powi_scalar(2)).expand(self.shape))
    }
}
