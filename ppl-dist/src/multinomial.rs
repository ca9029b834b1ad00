//! The multinomial distribution.

use burn::tensor::{backend::Backend, Tensor};

use crate::categorical::{log_probs_from_logits, log_probs_from_probs};
use crate::constraint::mask_outside;
use crate::macros::dist_common;
use crate::param::{host_values, upload};
use crate::special::lgamma;
use crate::{Constraint, DistError, Distribution, RngKey};

/// Multinomial distribution: counts of `total_count` draws over K categories (last
/// dimension): `ln p(x) = lnΓ(n+1) − Σ lnΓ(xᵢ+1) + Σ xᵢ ln pᵢ`
/// ([Wikipedia](https://en.wikipedia.org/wiki/Multinomial_distribution)).
///
/// # Shapes
/// `probs`/`logits` and values `[batch…, K]`; `log_prob` `[batch…, 1]`.
#[derive(Debug, Clone)]
pub struct Multinomial<B: Backend, const D: usize> {
    total_count: usize,
    log_probs: Tensor<B, D>,
    shape: [usize; D],
}

impl<B: Backend, const D: usize> Multinomial<B, D> {
    /// From a number of trials and probabilities along the last dimension (normalised).
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `probs`.
    pub fn new(total_count: usize, probs: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::build(total_count, log_probs_from_probs("Multinomial", probs)?))
    }

    /// From a number of trials and logits along the last dimension.
    ///
    /// # Errors
    /// [`DistError::InvalidParameter`] naming `logits` if one is NaN.
    pub fn from_logits(total_count: usize, logits: Tensor<B, D>) -> Result<Self, DistError> {
        Ok(Self::build(total_count, log_probs_from_logits("Multinomial", logits)?))
    }

    /// From logits, without checks.
    pub fn from_logits_unchecked(total_count: usize, logits: Tensor<B, D>) -> Self {
        Self::build(total_count, crate::categorical::normalize_logits(logits))
    }

    fn build(total_count: usize, log_probs: Tensor<B, D>) -> Self {
        let shape = log_probs.dims();
        Multinomial {
            total_count,
            log_probs,
            shape,
        }
    }

    /// Probabilities `[batch…, K]`.
    pub fn probs(&self) -> Tensor<B, D> {
        self.log_probs.clone().exp()
    }
}

impl<B: Backend, const D: usize> Distribution<B, D> for Multinomial<B, D> {
    dist_common!(
        "Multinomial",
        event_dims = 1,
        support = Constraint::MultinomialCounts,
        device = log_probs
    );

    fn log_prob(&self, value: Tensor<B, D>) -> Tensor<B, D> {
        let last = D - 1;
        let n = self.total_count as f64;
        let k = value.dims()[last] as f64;
        let counts = Constraint::MultinomialCounts.check(value.clone()).expect("count check");
        let all_counts = crate::param::mask_to_float(counts).sum_dim(last).equal_elem(k);
        let inside = all_counts.bool_and(value.clone().sum_dim(last).equal_elem(n));
        let x = value.clamp_min(0.0);
        let zero = x.clone().equal_elem(0.0);
        let terms = (x.clone() * self.log_probs.clone()).mask_fill(zero, 0.0).sum_dim(last);
        let lp = terms - lgamma(x + 1.0).sum_dim(last) + crate::special::lgamma_f64(n + 1.0);
        mask_outside(lp, inside)
    }
    fn sample_expanded(&self, shape: [usize; D], rng: &mut RngKey) -> Tensor<B, D> {
        // Sequential conditional binomials per row.
        let k = shape[D - 1];
        let p = host_values(&self.probs().expand(shape));
        let mut out = Vec::with_capacity(p.len());
        for row in p.chunks(k) {
            let mut left = self.total_count as u64;
            let mut mass = 1.0;
            for (i, &pi) in row.iter().enumerate() {
                let c = if i + 1 == k || mass <= 0.0 {
                    left as f64
                } else {
                    rng.binomial(left, (pi / mass).min(1.0))
                };
                out.push(c);
                left -= c as u64;
                mass -= pi;
            }
        }
        upload(out, shape, &self.device())
    }
    fn mean(&self) -> Option<Tensor<B, D>> {
        Some(self.probs() * self.total_count as f64)
    }
    fn variance(&self) -> Option<Tensor<B, D>> {
        let p = self.probs();
        Some(p.clone() * (p.neg() + 1.0) * self.total_count as f64)
    }
}
