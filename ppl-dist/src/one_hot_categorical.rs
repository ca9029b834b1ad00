//! The one-hot categorical distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::categorical::{log_probs_from_logits, log_probs_from_probs, neg_entropy};
use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::{noise, Constraint, DistError, Distribution, RngKey};

/// Categorical distribution whose values are one-hot vectors along the last dimension:
/// `ln p(x) = Σᵢ xᵢ log_softmax(logits)ᵢ`.
///
/// # Shapes
/// `logits`/`probs` and values `[batch…, K]`; `log_prob` `[batch…, 1]`.
#[derive(Debug, Clone)]
pub struct OneHotCategorical<B: Backend, const D: usize> {
    log_probs: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> OneHotCategorical<B, D> {
    /// From probabilities along the last dimension (normalised).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `probs`.
    pub fn new(probs: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::from_log_probs(log_probs_from_probs("OneHotCategorical", probs)?))
    }

    /// From logits along the last dimension.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `logits` if one is NaN.
    pub fn from_logits(logits: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::from_log_probs(log_probs_from_logits(
            "OneHotCategorical",
            logits,
        )?))
    }

    /// From logits, without checks.
    pub fn from_logits_unchecked(logits: Tensor<B, D>) -> Self {
        Self::from_log_probs(crate::categorical::normalize_logits(logits))
    }

    fn from_log_probs(log_probs: Tensor<B, D>) -> Self {
        let shape = log_probs.dims();
        OneHotCategorical { log_probs, shape }
    }

    /// Probabilities `[batch…, K]`.
    pub fn probs(&self) -> Tensor<B, D> {
        self.log_probs.clone().exp()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for OneHotCategorical<B, D> {
    dist_common!(
        "OneHotCategorical",
        event_dims = 1,
        support = Constraint::OneHot,
        device = log_probs
    );

    fn enumerate_size(&self) -> Option<usize> {
        Some(self.log_probs.dims()[D - 1])
    }
    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let last = D - 1;
        let k = value.dims()[last] as f64;
        let binary = Constraint::OneHot.check(value.clone()).expect("one-hot check");
        let all_binary = crate::param::mask_to_float(binary).sum_dim(last).equal_elem(k);
        let one_hot = all_binary.bool_and(value.clone().sum_dim(last).equal_elem(1.0));
        let zero = value.clone().equal_elem(0.0);
        let lp = (value * self.log_probs.clone()).mask_fill(zero, 0.0).sum_dim(last);
        mask_outside(lp, one_hot)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        let g = noise::gumbel::<B, D>(shape, rng, &self.device());
        let scores = self.log_probs.clone().detach().expand(shape) + g;
        let best = scores.clone().max_dim(D - 1);
        crate::param::mask_to_float(scores.greater_equal(best))
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.probs())
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some(p.clone() * (p.neg() + 1.0))
    }
    fn entropy(&self) -> Option<Tensor<B, D>> {
        Some(neg_entropy(self.log_probs.clone()).neg())
    }
}
